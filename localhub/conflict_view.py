"""A sync conflict as plain values: its entity's label, what happened in one sentence
(``summary``) and, per field, the base, local and remote values (a custom property's typed cell
as its plain value). ``localhub conflicts`` prints it; the web's Conflicts page shows it."""

from __future__ import annotations

import re
from typing import Any

from localhub.sync.plan import label_of

from .codec import decode_properties
from .plain import to_data
from .types import CP

__all__ = ["conflict_data", "field_word", "summary"]


def _label(store: Any, conflict: Any) -> str:
    """``model m``, ``version m:v`` or ``artifact m:v/a`` for a conflict's entity."""
    table = ("contexts" if conflict.entity_kind in ("registered-model", "model-version")
             else "artifacts")
    with store.db.read() as conn:
        return label_of(store, conn, table, conflict.entity_uid)[0]


def conflict_data(store: Any, conflict: Any) -> dict[str, Any]:
    """A conflict as JSON-ready data, with a readable ``entity`` label."""
    data: dict[str, Any] = to_data(conflict)
    data["fields"] = list(conflict.fields)
    data["entity"] = _label(store, conflict)
    data["summary"] = summary(conflict, data["entity"])
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
    if isinstance(value, dict) and "metadataType" in value:
        try:
            return decode_properties({"k": value}, request=False).get("k")
        except Exception:  # noqa: BLE001 - show the raw cell rather than fail
            return value
    return value


def field_word(name: str) -> str:
    """A conflict field as the user names it: a property by its key."""
    if name == CP:
        return "custom properties"
    return name[len(CP) + 1:] if name.startswith(CP + ".") else name


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _kind_word(entity_kind: str) -> str:
    if entity_kind == "registered-model":
        return "model"
    if entity_kind == "model-version":
        return "version"
    return "artifact" if entity_kind.endswith("artifact") else entity_kind.replace("-", " ")


def _edits(conflict: Any) -> str:
    """``changed description and removed auc``: what the local side did to the fields."""
    changed = [field_word(f) for f in conflict.fields if _value(conflict.local, f) is not None]
    removed = [field_word(f) for f in conflict.fields if _value(conflict.local, f) is None]
    parts = ([f"changed {_and(changed)}"] if changed else []) + (
        [f"removed {_and(removed)}"] if removed else [])
    return " and ".join(parts) or "edited it"


def summary(conflict: Any, label: str) -> str:
    """What happened, in one sentence built from the conflict's kind, entity and fields."""
    fields = [field_word(f) for f in conflict.fields]
    them = "it" if len(fields) == 1 else "them"
    kind, message = conflict.kind, conflict.message or ""
    if kind == "update-update":
        again = re.search(r"before conflict #(\d+) was resolved", message)
        if again:
            return (f"{label}: the remote changed {_and(fields)} again after conflict "
                    f"#{again.group(1)} was listed; your decision there waits for this one")
        return (f"{label}: you {_edits(conflict)}; the remote changed {them} too since the "
                "last sync")
    if kind == "archived-vs-edit":
        edited = f"edited its {_and(fields)}" if fields else "edited it"
        return f"the remote archived {label} while you {edited}"
    if kind == "create-different":
        name = conflict.local.get("name")
        theirs = conflict.remote_values.get("name", name)
        if theirs != name:
            return (f"the remote's match for {label} is another "
                    f"{_kind_word(conflict.entity_kind)} (`{theirs}`, id {conflict.remote_id}):"
                    " ours sends the local one under its own name")
        what = (f"the model name `{name}`" if conflict.entity_kind == "registered-model"
                else label)
        differs = f" with another {_and(fields)}" if fields else ""
        sentence = f"{what} was registered on the remote by someone else{differs}"
        group = re.search(r"registration in conflict #(\d+)", message)
        if group:
            sentence += f" (resolving #{group.group(1)} settles it too)"
        return sentence
    if kind == "remote-mismatch":
        ours = (conflict.base or {}).get("name")
        theirs = (conflict.remote_values or {}).get("name")
        word = _kind_word(conflict.entity_kind)
        if theirs is not None and theirs != ours:
            held = f"another {word} (`{theirs}`)"
        else:
            held = f"another {word} under the same name"
        return (f"the linked remote id {conflict.remote_id} of {label} now holds {held}: a "
                "restored or reused server")
    if kind == "remote-missing":
        return (f"{label} was synced before, but the remote no longer has it (id "
                f"{conflict.remote_id}): deleted there, or another server")
    return f"{label}: a {kind} conflict" + (f" ({message})" if message else "")
