"""``localhub sync`` and ``localhub status``: thin wrappers of the sync engine.

Exit codes of ``sync``: 0 all synced, 1 error, 2 usage, 3 conflicts remain, 4 remote unreachable
(changes kept). One run is :func:`localhub.sync_run.run_sync` (the web's **Sync now** runs it
too); the long-running ``sync --every`` loop lives in :mod:`.sync_loop`; ``conflicts`` and
``resolve`` in :mod:`.conflict_cmds`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from localhub import config as cfg
from localhub.credentials import diagnose, redact_url
from localhub.doctor import check_remote
from localhub.errors import LocalHubError
from localhub.sync import sync_status
from localhub.sync_run import (
    EXIT_CONFLICTS,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    SyncOutcome,
    resolve_remote,
    run_sync,
)

from .complete import complete_model, complete_remote
from .context import Settings, pass_settings
from .render import emit_json, emit_plan, emit_status, emit_sync_summary, progress_line
from .sync_run import (
    UPSTREAM_REASON,
    RequestLog,
    count_queued,
    describe_remote,
    describe_unknown,
    first_pull,
    first_pull_note,
    interrupted_summary,
    pick_remote,
    unknown_models,
)

__all__ = [
    "COMMANDS",
    "EXIT_CONFLICTS",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "SyncOutcome",
    "resolve_remote",
    "run_sync",
    "status",
    "sync",
]


# -- helpers ------------------------------------------------------------------------------------


def stderr_is_tty() -> bool:
    """Whether stderr is a terminal (progress lines and colour only then)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def secret_warnings(remote: cfg.Remote) -> None:
    """Print the diagnosis of the remote's secrets (:func:`localhub.credentials.diagnose`)
    on stderr: the same findings ``remote add``, ``status`` and ``doctor`` report."""
    for finding in diagnose(remote):
        click.echo(f"warning: {finding.message}; {finding.fix}", err=True)


class _Progress:
    """A one-line progress display on stderr, redrawn in place (``draw``: terminal only). It
    takes the pull's per-kind counts too (:class:`localhub.sync.run.PullCounts`), and prints
    ``note`` on its own line when the pull starts (the first pull's notice)."""

    #: Redraws at most this often (s): a pull reports every batch of entities.
    EVERY = 0.1

    def __init__(self, *, draw: bool = True, note: str | None = None) -> None:
        self.draw = draw
        self.shown = False
        self._note = note
        self._counts: dict[str, int] = {}
        self._phase = ""
        self._drawn = 0.0

    def pull_counts(self, counts: Mapping[str, int]) -> None:
        self._counts = dict(counts)

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase == "pull" and self._note is not None:
            self.close()
            click.echo(self._note, err=True)
            self._note = None
        if not self.draw:
            return
        now = time.monotonic()
        if phase == self._phase and now - self._drawn < self.EVERY and done != total:
            return
        self._phase, self._drawn = phase, now
        counts = self._counts if phase == "pull" else None
        # \033[K: a shorter line leaves nothing of the longer one before it.
        click.echo("\r" + progress_line(phase, done, total, counts) + "\033[K", err=True,
                   nl=False)
        self.shown = True

    def close(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)
            self.shown = False


def _progress(db: Path, remote: cfg.Remote, *, full_pull: bool, shown: bool
              ) -> _Progress | None:
    """The run's progress display: drawn on a terminal; before a device's first pull from
    ``remote`` (a full mirror), a line saying so and how to limit it. Neither when the output
    is JSON or quiet (``shown`` False)."""
    if not shown:
        return None
    note = first_pull_note(remote) if full_pull and first_pull(db, remote) else None
    draw = stderr_is_tty()
    return _Progress(draw=draw, note=note) if draw or note else None


# -- sync ---------------------------------------------------------------------------------------


def _parse_every(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    # the sync loop imports watchdog: it loads only for --every
    from .sync_loop import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.command()
@click.option("--remote", "remote_flag", metavar="NAME|URL", shell_complete=complete_remote,
              help="Remote name from config.toml or a URL (env LOCALHUB_REMOTE; default: the "
                   "default remote).")
@click.option("--push-only", is_flag=True, help="Only push local changes.")
@click.option("--pull-only", is_flag=True, help="Only pull the remote's changes.")
@click.option("--dry-run", is_flag=True,
              help="Print the plan (requests, adoptions, conflicts); send and write nothing.")
@click.option("--on-conflict", type=click.Choice(["manual", "ours", "theirs"]),
              default="manual", show_default=True,
              help="manual: record conflicts for `localhub resolve`; ours/theirs: apply.")
@click.option("--model", "models", multiple=True, metavar="NAME", shell_complete=complete_model,
              help="Sync only these models (repeatable).")
@click.option("--every", callback=_parse_every, metavar="DURATION",
              help="Run forever, syncing every DURATION (30s, 15m, 1h) until SIGINT/SIGTERM.")
@click.option("--watch", is_flag=True,
              help="With --every: also push ~2 s after local changes to the database.")
@click.option("--workers", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Creates sent at once (1: one request at a time).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report (or plan) as JSON; with --every one JSON line per run.")
@click.option("--verbose", "-v", is_flag=True,
              help="Print each request on stderr: method, path, status, time (never a token); "
              "with --watch, also each local change that starts no run.")
@pass_settings
def sync(settings: Settings, remote_flag: str | None, push_only: bool, pull_only: bool,
         dry_run: bool, on_conflict: str, models: tuple[str, ...], every: float | None,
         watch: bool, workers: int, as_json: bool, verbose: bool) -> None:
    """Push queued local changes to the remote and pull its changes (exit 3: conflicts
    remain, 4: remote unreachable, changes kept)."""
    if push_only and pull_only:
        raise click.UsageError("give --push-only or --pull-only, not both")
    if watch and every is None:
        raise click.UsageError("--watch needs --every DURATION (e.g. --every 15m --watch)")
    if watch and pull_only:
        raise click.UsageError("--watch pushes local changes: it cannot go with --pull-only")
    if every is not None and dry_run:
        raise click.UsageError("--dry-run runs once: it cannot go with --every")
    db = settings.db_path()
    remote, why = pick_remote(remote_flag, db)
    secret_warnings(remote)
    if why == UPSTREAM_REASON and not settings.quiet and not as_json:
        # The one choice the user did not make: say which remote it is (the summary and the
        # errors name it too).
        click.echo(describe_remote(remote, why), err=True)
    requests_log = RequestLog(verbose)
    if every is not None:
        from .sync_loop import SyncLoop

        loop = SyncLoop(settings, remote, every=every, watch=watch, push=not pull_only,
                        pull=not push_only, on_conflict=on_conflict, models=models,
                        as_json=as_json, workers=workers,
                        on_request=requests_log if verbose else None, verbose=verbose)
        sys.exit(loop.run())
    progress = _progress(db, remote, full_pull=not (push_only or dry_run or models),
                         shown=not (as_json or settings.quiet))
    queued_before = count_queued(db)
    try:
        outcome = run_sync(db, remote, push=not pull_only, pull=not push_only,
                           on_conflict=on_conflict, dry_run=dry_run, models=models,
                           progress=progress, workers=workers, on_request=requests_log)
    except KeyboardInterrupt:
        # Each operation commits on its own: what the remote acknowledged is kept, the rest
        # stays queued. Say so, and exit 130 as shells expect of Ctrl-C.
        if progress is not None:
            progress.close()
        click.echo(interrupted_summary(requests_log.count, queued_before, count_queued(db)),
                   err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # Worker threads may still wait on the remote: exit without joining them.
        os._exit(EXIT_INTERRUPTED)
    finally:
        if progress is not None:
            progress.close()
    outcome = _check_models(db, models, remote, outcome, dry_run)
    if outcome.report is not None:
        if as_json:
            emit_json(outcome.data)
        elif dry_run:
            emit_plan(outcome.data)
        elif not settings.quiet or outcome.code:
            emit_sync_summary(outcome.data, remote.name)
    if outcome.error:
        click.echo(f"error: {outcome.error}", err=True)
    sys.exit(outcome.code)


def _check_models(db: Path, models: tuple[str, ...], remote: cfg.Remote, outcome: SyncOutcome,
                  dry_run: bool) -> SyncOutcome:
    """A run limited to --model names that match no model, here or (after the pull) on the
    remote, did nothing: make it an error naming them (a note for a dry run)."""
    unknown = unknown_models(db, models) if models and outcome.report is not None else []
    if unknown and dry_run:
        click.echo(f"note: {describe_unknown(unknown, remote)} (in this database; a sync "
                   "pulls them if the remote has them)", err=True)
    elif unknown and outcome.code == EXIT_OK:
        return SyncOutcome(outcome.report, EXIT_ERROR, describe_unknown(unknown, remote))
    return outcome


# -- status -------------------------------------------------------------------------------------


def _iso(ms: Any) -> Any:
    """Epoch milliseconds as UTC ISO 8601 (other values unchanged)."""
    if not isinstance(ms, int):
        return ms
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def reachable(remote: cfg.Remote, timeout: float = 2.0) -> dict[str, Any]:
    """One GET with a short timeout: {"reachable": bool, "message": str}."""
    check = check_remote(remote, network=True, timeout=timeout)
    reached: bool | None
    if "unreachable" in check.message:
        reached = False
    elif check.status == "OK" or "HTTP" in check.message:
        reached = True  # it answered (maybe refusing the token: see message)
    else:
        reached = None  # a local problem (token, CA) stopped the check
    return {"reachable": reached, "status": check.status, "message": check.message,
            "fix": check.fix}


@click.command()
@click.option("--remote", "remote_flag", metavar="NAME|URL", shell_complete=complete_remote,
              help="The remote to check (default: the default remote, if any).")
@click.option("--offline", is_flag=True, help="Do not check whether the remote is reachable.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_settings
def status(settings: Settings, remote_flag: str | None, offline: bool, as_json: bool) -> None:
    """Queued changes by kind, open conflicts, set-aside items, last push/pull per remote and
    whether the remote is reachable (2 s timeout)."""
    registry = settings.registry(create=False)
    data: dict[str, Any] = {"database": str(Path(registry.store.path))}
    data.update(sync_status(registry.store))
    remote: cfg.Remote | None
    try:
        remote = resolve_remote(remote_flag, settings.db_path())
    except LocalHubError:
        if remote_flag:
            raise
        remote = None
    if remote is not None:
        check: dict[str, Any] = {"name": remote.name, "url": remote.shown_url}
        if not offline:
            check.update(reachable(remote))
        check["warnings"] = [f"{f.message}; {f.fix}" for f in diagnose(remote)]
        data["remote"] = check
    data["remotes"] = {redact_url(url): info for url, info in (data.get("remotes") or {}).items()}
    if data.get("upstream"):
        data["upstream"] = redact_url(str(data["upstream"]))
    if as_json:
        emit_json(data)
        return
    for info in data.get("remotes", {}).values():
        for key in ("last_push", "last_pull"):
            info[key] = _iso(info.get(key))
    emit_status(data)
    for warning in (data.get("remote") or {}).get("warnings", []):
        click.echo(f"warning: {warning}", err=True)


COMMANDS = [sync, status]
