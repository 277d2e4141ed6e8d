"""``localhub log``: the last sync runs of this database (when, remote, counts, outcome).

The history itself (what each run records, how many runs are kept) is
:mod:`localhub.sync_history`.
"""

from __future__ import annotations

import click

from localhub.sync_history import HISTORY_KEY, KEEP, load_history, record_run

from .context import Settings, pass_settings
from .render import emit_json, emit_table, local_time

__all__ = ["HISTORY_KEY", "KEEP", "load_history", "log", "record_run"]


@click.command()
@click.option("-n", "--limit", type=click.IntRange(1, KEEP), default=10, show_default=True,
              help="How many of the last runs to show.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: a list of runs, newest first (times in epoch milliseconds).")
@pass_settings
def log(settings: Settings, limit: int, as_json: bool) -> None:
    """List the last sync runs: when, remote, counts and outcome (newest first)."""
    settings.require_db()
    runs = list(reversed(load_history(settings.registry(create=False).store)))[:limit]
    if as_json:
        emit_json(runs)
        return
    if not runs:
        if not settings.quiet:
            click.echo("no sync recorded yet (`localhub sync` records each run)")
        return
    rows = [{"when": local_time(r.get("time"))[:19], "remote": r.get("remote"),
             "outcome": r.get("outcome"),
             "pushed": sum(int(r.get(k) or 0) for k in ("created", "adopted", "updated")),
             "pulled": r.get("pulled", 0), "conflicts": r.get("conflicts", 0),
             "set_aside": r.get("set_aside", 0), "queued": r.get("remaining", 0),
             "error": r.get("error") or ""} for r in runs]
    emit_table(rows, ["when", "remote", "outcome", "pushed", "pulled", "conflicts",
                      "set_aside", "queued", "error"], shrink=("error", "remote"))
