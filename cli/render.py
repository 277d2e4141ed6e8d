"""All printing of the CLI: tables for people, stable JSON for programs."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from enum import Enum
from typing import Any

import click

from localhub.plain import to_data

__all__ = [
    "emit_conflict",
    "emit_json",
    "emit_json_line",
    "emit_plan",
    "emit_record",
    "emit_status",
    "emit_sync_summary",
    "emit_table",
    "local_time",
    "progress_line",
    "sync_log_line",
    "terminal_width",
    "to_data",
]


def emit_json(data: Any) -> None:
    """Print JSON (sorted keys, two-space indent)."""
    click.echo(json.dumps(to_data(data), indent=2, sort_keys=True, ensure_ascii=False))


def emit_json_line(data: Any) -> None:
    """Print one compact JSON object on one line (for streams of events)."""
    click.echo(json.dumps(to_data(data), sort_keys=True, ensure_ascii=False))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def terminal_width() -> int | None:
    """Columns to fit tables in: the terminal's (or $COLUMNS), None when piped (no cut)."""
    try:
        tty = sys.stdout.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty and not os.environ.get("COLUMNS"):
        return None
    return shutil.get_terminal_size().columns


def local_time(ms: Any) -> str:
    """Epoch milliseconds (int or str) as a date and time in the local zone."""
    try:
        when = dt.datetime.fromtimestamp(int(ms) / 1000, dt.timezone.utc).astimezone()
    except (TypeError, ValueError, OverflowError, OSError):
        return "" if ms is None else str(ms)
    return when.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _fit(widths: list[int], columns: Sequence[str], shrink: Sequence[str],
         limit: int) -> list[int]:
    """Narrow the ``shrink`` columns, widest first, until the row fits ``limit``."""
    out = list(widths)
    narrowable = [i for i, col in enumerate(columns) if col in shrink]
    while sum(out) + 2 * (len(out) - 1) > limit and narrowable:
        i = max(narrowable, key=lambda k: out[k])
        floor = max(len(columns[i]), 8)
        if out[i] <= floor:
            narrowable.remove(i)
            continue
        out[i] -= 1
    return out


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def emit_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
               shrink: Sequence[str] = ()) -> None:
    """Print rows as an aligned text table with a header line; on a terminal the ``shrink``
    columns are cut (with '…') so that each line fits its width."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    limit = terminal_width() if shrink else None
    if limit is not None:
        widths = _fit(widths, columns, shrink, limit)
        cells = [[_clip(c, w) for c, w in zip(r, widths, strict=False)] for r in cells]
    header = "  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=False))
    click.echo(header.rstrip())
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())


def emit_record(title: str, obj: Any) -> None:
    """Print one entity as 'field: value' lines under a title."""
    click.secho(title, bold=True)
    data = asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else dict(obj)
    for key, value in data.items():
        if value in (None, {}, []):
            continue
        if key.endswith("_time_since_epoch"):
            # People read dates in their own zone; --json keeps the epoch milliseconds.
            key, value = key[: -len("_since_epoch")], local_time(value)
        click.echo(f"  {key}: {_cell(value)}")


# -- sync ---------------------------------------------------------------------------------------
# click strips the colour codes of click.style() when the output is not a terminal.


def progress_line(phase: str, done: int, total: int,
                  counts: Mapping[str, int] | None = None) -> str:
    """One progress line (drawn on stderr, on a terminal only): ``push  [#####.....] 5/10``;
    a pull, whose total the remote does not give, as a running count with its per-kind
    ``counts``: ``pull  1,234 entities (models 40, versions 1,100, artifacts 94)``."""
    if total > 0 or phase == "push":
        width = 20
        filled = int(width * done / total) if total else width
        return f"{phase:<5} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
    line = f"{phase:<5} {done:,} entities"
    shown = [f"{kind} {n:,}" for kind, n in (counts or {}).items() if n]
    return line + (f" ({', '.join(shown)})" if shown else "")


def _counts(report: Mapping[str, Any]) -> str:
    return (f"created {report.get('created', 0)}, adopted {report.get('adopted', 0)}, "
            f"updated {report.get('updated', 0)}, pulled {report.get('pulled', 0)}, "
            f"conflicts {report.get('conflicts', 0)}, set aside {report.get('set_aside', 0)}, "
            f"remaining {report.get('remaining', 0)}")


def emit_sync_summary(report: Mapping[str, Any], remote: str) -> None:
    """The summary of one sync run, with the messages of what was set aside."""
    open_conflicts = list(report.get("open_conflicts") or [])
    if report.get("stopped"):
        head, tail, colour = "sync stopped", " (changes kept)", "yellow"
    elif open_conflicts:
        head, tail, colour = "synced", ", conflicts remain", "yellow"
    elif report.get("set_aside"):
        head, tail, colour = "synced", ", some changes set aside", "yellow"
    else:
        head, tail, colour = "synced", "", "green"
    click.echo(click.style(head, fg=colour, bold=True)
               + f" with {remote}{tail}: {_counts(report)}")
    for message in report.get("errors") or []:
        click.echo(f"  set aside: {message}")
    for message in report.get("held") or []:
        click.echo(f"  held: {message}")
    if open_conflicts:
        ids = ", ".join(f"#{i}" for i in open_conflicts)
        click.echo(f"  open conflicts: {ids} (see `localhub conflicts`)")


def emit_plan(plan: Mapping[str, Any]) -> None:
    """A dry-run plan: each operation with its requests and notes; nothing was sent."""
    ops = list(plan.get("plan") or [])
    click.secho(f"dry run against {plan.get('remote', '')}: {len(ops)} operation(s), "
                "nothing sent or written", bold=True)
    for op in ops:
        fields_ = ", ".join(op.get("fields") or [])
        click.echo(f"{op.get('op', '?')} {op.get('entity', '?')}"
                   + (f" [{fields_}]" if fields_ else ""))
        for request in op.get("requests") or []:
            click.echo(f"    {request}")
        rewrite = op.get("uri_rewrite")
        if rewrite:
            click.echo(f"    uri rewrite: {rewrite.get('from')} -> {rewrite.get('to')}")
        for note in op.get("notes") or []:
            if not (rewrite and note.startswith("uri rewritten")):
                click.echo(f"    note: {note}")
    open_conflicts = list(plan.get("open_conflicts") or [])
    if open_conflicts:
        click.echo("open conflicts: " + ", ".join(f"#{i}" for i in open_conflicts)
                   + " (their fields are not pushed until resolved)")


def emit_status(status: Mapping[str, Any]) -> None:
    """``localhub status`` for people (keys of ``localhub.sync.sync_status``)."""
    queued = status.get("queued") or {}
    by_kind = queued.get("by_kind") or {}
    detail = "; ".join(f"{kind}: " + ", ".join(f"{op} {n}" for op, n in ops.items())
                       for kind, ops in by_kind.items())
    click.echo(f"database: {status.get('database', '')}")
    click.echo(f"queued: {queued.get('changes', 0)} change(s) of {queued.get('entities', 0)} "
               "entity(ies)" + (f" ({detail})" if detail else ""))
    n_conflicts = int(status.get("conflicts_open") or 0)
    text = f"open conflicts: {n_conflicts}"
    click.echo(click.style(text, fg="yellow") + " (see `localhub conflicts`)"
               if n_conflicts else text)
    for item in status.get("mismatched") or []:
        click.echo(click.style(f"link in doubt: {item.get('entity')}", fg="yellow")
                   + f": the remote's id {item.get('remote_id')} no longer holds this entity "
                   f"({item.get('message')}). Nothing is written to it until you choose: "
                   f"`localhub resolve {item.get('conflict')} --ours` re-links by name or "
                   "re-creates it, `--theirs` drops the link and keeps the local copy")
    set_aside = status.get("set_aside") or []
    click.echo(f"set aside: {len(set_aside)}")
    for item in set_aside:
        click.echo(f"  {item.get('entity')}: {item.get('message') or ''}")
    for item in status.get("not_synced") or []:
        click.echo(f"not synced: {item.get('changes')} queued {item.get('kind')} change(s), "
                   f"{item.get('reason')}")
    held = status.get("held") or []
    if held:
        click.echo(f"held (pulled, not applied): {len(held)}")
        for item in held:
            click.echo(f"  {item.get('message') or item.get('entity')}")
    if status.get("upstream"):
        click.echo(f"upstream: {status['upstream']}")
    for url, info in (status.get("remotes") or {}).items():
        click.echo(f"remote {url}: last push {info.get('last_push') or 'never'}, "
                   f"last pull {info.get('last_pull') or 'never'}, "
                   f"{info.get('links', 0)} linked, "
                   f"{info.get('conflicts_open', 0)} open conflict(s)")
    remote = status.get("remote")
    if remote:
        where = (f"{remote.get('name')} ({remote.get('url')})"
                 if remote.get("name") != remote.get("url") else str(remote.get("url")))
        if "reachable" not in remote:
            click.echo(f"remote: {where}, reachability not checked (--offline)")
        elif remote["reachable"] is True and remote.get("status") == "OK":
            click.echo(f"remote: {where}, " + click.style("reachable", fg="green"))
        elif remote["reachable"] is False:
            click.echo(f"remote: {where}, " + click.style("unreachable", fg="yellow")
                       + " (changes stay queued)")
        else:
            click.echo(f"remote: {where}, " + click.style(str(remote.get("message")), fg="red")
                       + (f"; {remote['fix']}" if remote.get("fix") else ""))
    elif not status.get("remotes"):
        click.echo("remote: none configured (`localhub remote add NAME URL`)")


def emit_conflict(conflict: Mapping[str, Any]) -> None:
    """One conflict in detail: base, local and remote value of each field side by side."""
    state = "open" if conflict.get("open") else f"resolved ({conflict.get('resolution')})"
    click.secho(f"conflict #{conflict.get('id')} {conflict.get('kind')}: "
                f"{conflict.get('entity')} [{state}]", bold=True)
    click.echo(f"  remote: {conflict.get('remote')}"
               + (f" (id {conflict['remote_id']})" if conflict.get("remote_id") else ""))
    if conflict.get("summary"):
        click.echo(f"  {conflict['summary']}")
    if conflict.get("message"):
        click.echo(f"  message: {conflict['message']}")
    rows = [{"field": v["field"], "base": _side(v["base"]), "local": _side(v["local"]),
             "remote": _side(v["remote"])} for v in conflict.get("values") or []]
    if rows:
        emit_table(rows, ["field", "base", "local", "remote"])
    if conflict.get("open"):
        per_field = len(rows) > 1 and conflict.get("kind") in (
            "update-update", "archived-vs-edit", "create-different")
        click.echo(f"resolve: localhub resolve {conflict.get('id')} --ours | --theirs"
                   + (" | --value FIELD=VALUE" if len(rows) == 1 else "")
                   + (" | --field NAME=ours|theirs|VALUE (each field)" if per_field else ""))


def _side(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def sync_log_line(when: str, kind: str, report: Mapping[str, Any] | None,
                  error: str | None, next_in: float | None) -> str:
    """One line per run of the ``sync --every`` loop."""
    parts = [when, kind]
    if report:
        pushed = sum(int(report.get(k) or 0) for k in ("created", "adopted", "updated"))
        parts.append(f"pushed {pushed} pulled {report.get('pulled', 0)} "
                     f"conflicts {len(report.get('open_conflicts') or [])} "
                     f"set-aside {report.get('set_aside', 0)} "
                     f"remaining {report.get('remaining', 0)}")
    if error:
        parts.append(f"error: {error}")
    if next_in is not None:
        parts.append(f"next in {next_in:.0f}s" if next_in >= 1 else f"next in {next_in:.1f}s")
    return " ".join(parts)
