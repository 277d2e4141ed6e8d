"""A sync conflict as plain values: its entity's label and, per field, the base, local and
remote values (a custom property's typed cell as its plain value). ``localhub conflicts`` prints
it; the web's Conflicts page shows it."""

from __future__ import annotations

from typing import Any

from .types import CP

__all__ = ["conflict_data"]


def _label(store: Any, conflict: Any) -> str:
    """``model m``, ``version m:v`` or ``artifact m:v/a`` for a conflict's entity."""
    from localhub.sync.plan import label_of

    table = ("contexts" if conflict.entity_kind in ("registered-model", "model-version")
             else "artifacts")
    with store.db.read() as conn:
        return label_of(store, conn, table, conflict.entity_uid)[0]


def conflict_data(store: Any, conflict: Any) -> dict[str, Any]:
    """A conflict as JSON-ready data, with a readable ``entity`` label."""
    from .plain import to_data

    data: dict[str, Any] = to_data(conflict)
    data["fields"] = list(conflict.fields)
    data["entity"] = _label(store, conflict)
    data["open"] = conflict.resolved_at is None
    data["values"] = [{"field": f, "base": _value(conflict.base, f),
                       "local": _value(conflict.local, f),
                       "remote": _value(conflict.remote_values, f)} for f in conflict.fields]
    return data


def _value(snap: dict[str, Any], field: str) -> Any:
    """A field's value in a conflict side: keyed by the field name (or nested in a snapshot);
    a custom property's typed cell becomes its plain value."""
    if field in snap:
        value = snap[field]
    elif field.startswith(CP + "."):
        value = (snap.get(CP) or {}).get(field[len(CP) + 1:])
    else:
        value = snap.get(field)
    if isinstance(value, dict) and "type" in value:
        from .codec import decode_properties

        cell = {("metadataType" if k == "type" else k): v for k, v in value.items()}
        try:
            return decode_properties({"k": cell}, request=False).get("k")
        except Exception:  # noqa: BLE001 - show the raw cell rather than fail
            return value
    return value
