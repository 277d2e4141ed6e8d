"""``localhub conflicts`` and ``localhub resolve``: list sync conflicts and settle them.

A conflict's data (labels, per-field values) is :func:`localhub.conflict_view.conflict_data`,
which the web's Conflicts page shows too.
"""

from __future__ import annotations

import json
from typing import Any

import click

from localhub.conflict_view import conflict_data
from localhub.errors import InvalidInputError, NotFoundError
from localhub.sync.conflicts import FIELD_KINDS, Value, field_word, match_field
from localhub.types import CP

from .complete import complete_conflict
from .context import Settings, pass_settings
from .params import parse_meta_value
from .render import emit_conflict, emit_json, emit_table

__all__ = ["COMMANDS", "conflicts", "resolve"]


@click.command()
@click.argument("conflict_id", metavar="[ID]", type=int, required=False,
                shell_complete=complete_conflict)
@click.option("--all", "show_all", is_flag=True, help="Include resolved conflicts.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: a list of conflicts (one object with ID).")
@pass_settings
def conflicts(settings: Settings, conflict_id: int | None, show_all: bool,
              as_json: bool) -> None:
    """List sync conflicts, or show conflict ID with base, local and remote values."""
    registry = settings.registry(create=False)
    items = registry.conflicts(include_resolved=show_all or conflict_id is not None)
    if conflict_id is not None:
        found = [c for c in items if c.id == conflict_id]
        if not found:
            raise NotFoundError(f"no conflict with id {conflict_id}; see `localhub conflicts`",
                                entity="conflict", key=str(conflict_id))
        data = conflict_data(registry.store, found[0])
        if as_json:
            emit_json(data)
        else:
            emit_conflict(data)
        return
    rows = [conflict_data(registry.store, c) for c in items]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        if not settings.quiet:
            click.echo("no open conflicts" if not show_all else "no conflicts")
        return
    table = []
    for row in rows:
        for i, v in enumerate(row["values"] or [{"field": "", "base": None, "local": None,
                                                  "remote": None}]):
            first = i == 0
            table.append({"id": row["id"] if first else "", "kind": row["kind"] if first else "",
                          "entity": row["entity"] if first else "", "field": v["field"],
                          "base": _show(v["base"]), "local": _show(v["local"]),
                          "remote": _show(v["remote"]),
                          "resolution": (row["resolution"] or "") if first else ""})
    columns = ["id", "kind", "entity", "field", "base", "local", "remote"]
    emit_table(table, columns + (["resolution"] if show_all else []))
    click.echo("")
    for row in rows:
        click.echo(f"#{row['id']} {row['summary']}")


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


@click.command()
@click.argument("conflict_id", metavar="ID", type=int, shell_complete=complete_conflict)
@click.option("--ours", is_flag=True, help="Keep the local values; push them on the next sync.")
@click.option("--theirs", is_flag=True, help="Take the remote's values locally.")
@click.option("--value", "value", metavar="FIELD=VALUE",
              help="Set FIELD to VALUE (typed like --meta for custom properties) and push it.")
@click.option("--field", "field_choices", metavar="NAME=ours|theirs|VALUE", multiple=True,
              help="Decide one field (a property by its key): ours, theirs, or a value typed "
                   "like --meta (value:TEXT for TEXT itself, e.g. value:ours). Repeat it for "
                   "every field of the conflict.")
@click.option("--json", "as_json", is_flag=True, help="Print the resolved conflict as JSON.")
@pass_settings
def resolve(settings: Settings, conflict_id: int, ours: bool, theirs: bool, value: str | None,
            field_choices: tuple[str, ...], as_json: bool) -> None:
    """Resolve conflict ID with --ours, --theirs, --value FIELD=VALUE, or field by field
    with --field NAME=ours|theirs|VALUE for each of its fields."""
    if sum((ours, theirs, value is not None, bool(field_choices))) != 1:
        raise click.UsageError("give exactly one of --ours, --theirs, --value FIELD=VALUE, "
                               "--field NAME=ours|theirs|VALUE (repeated)")
    registry = settings.registry(create=False)
    if field_choices:
        conflict = _open_conflict(registry, conflict_id)
        resolved = registry.resolve(conflict_id, fields=_field_picks(conflict, field_choices))
    elif value is None:
        resolved = registry.resolve(conflict_id, "ours" if ours else "theirs")
    else:
        field, sep, text = value.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"expected FIELD=VALUE, got {value!r}",
                                     param_hint="--value")
        conflict = _open_conflict(registry, conflict_id)
        name = _match_field(conflict, field)
        typed: Any = parse_meta_value(text) if name.startswith(CP + ".") else text
        resolved = registry.resolve(conflict_id, "value", typed)
    if as_json:
        emit_json(conflict_data(registry.store, resolved))
    elif not settings.quiet:
        how = {"ours": "kept the local values (queued for the next sync)",
               "theirs": "took the remote's values",
               "value": "set the value (queued for the next sync)"}.get(
                   str(resolved.resolution), str(resolved.resolution))
        if str(resolved.resolution).startswith("fields:"):
            how = ("decided field by field: " + str(resolved.resolution)[7:].replace(",", ", ")
                   + " (ours and values queued for the next sync)")
        click.echo(f"resolved conflict #{conflict_id}: {how}")


def _open_conflict(registry: Any, conflict_id: int) -> Any:
    """The open conflict ``conflict_id`` (a usage error when it is missing or resolved)."""
    found = [c for c in registry.conflicts(include_resolved=True) if c.id == conflict_id]
    if not found:
        raise NotFoundError(f"no conflict with id {conflict_id}; see `localhub conflicts`",
                            entity="conflict", key=str(conflict_id))
    conflict = found[0]
    if conflict.resolved_at is not None:
        raise InvalidInputError("conflict", f"#{conflict_id} is already resolved "
                                            f"({conflict.resolution})")
    return conflict


def _field_picks(conflict: Any, given: tuple[str, ...]) -> dict[str, Any]:
    """``--field NAME=CHOICE`` options as the library's per-field choices, every field of
    ``conflict`` covered."""
    if conflict.kind not in FIELD_KINDS:
        raise click.UsageError(f"conflict #{conflict.id} is {conflict.kind}: it has no fields "
                               "to choose; resolve it with --ours or --theirs")
    picks: dict[str, Any] = {}
    for option in given:
        field, sep, text = option.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"expected NAME=ours|theirs|VALUE, got {option!r}",
                                     param_hint="--field")
        name = _match_field(conflict, field, "--field")
        if name in picks:
            raise click.BadParameter(f"{field!r} is given twice", param_hint="--field")
        if text in ("ours", "theirs"):
            picks[name] = text
            continue
        if name == CP:
            raise click.BadParameter("the custom properties as a whole take ours or theirs",
                                     param_hint="--field")
        literal = text[len("value:"):] if text.startswith("value:") else text
        picks[name] = Value(parse_meta_value(literal) if name.startswith(CP + ".")
                            else literal)
    missing = [field_word(f) for f in conflict.fields if f not in picks]
    if missing:
        raise click.UsageError(
            f"conflict #{conflict.id} has fields {', '.join(map(field_word, conflict.fields))};"
            f" missing: {', '.join(missing)}; add --field NAME=ours|theirs|VALUE for each, or "
            "resolve every field with --ours or --theirs")
    return picks


def _match_field(conflict: Any, field: str, hint: str = "--value") -> str:
    """The conflict's field named ``field`` (a property key alone is accepted)."""
    name = match_field(conflict, field)
    if name is not None:
        return name
    names = list(conflict.fields)
    raise click.BadParameter(f"conflict #{conflict.id} is about {', '.join(names) or 'no field'}"
                             f", not {field!r}", param_hint=hint)


COMMANDS = [conflicts, resolve]
