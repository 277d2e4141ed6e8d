"""``localhub sync``, ``status``, ``conflicts`` and ``resolve``: thin wrappers of the sync engine.

Exit codes of ``sync``: 0 all synced, 1 error, 2 usage, 3 conflicts remain, 4 remote unreachable
(changes kept). The long-running ``sync --every`` loop lives in :mod:`.sync_loop`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from localhub import config as cfg
from localhub.errors import (
    InvalidInputError,
    LocalHubError,
    NotFoundError,
    RemoteAuthError,
    RemoteUnavailableError,
    RemoteUnreachableError,
    SyncLockedError,
)
from localhub.types import CP

if TYPE_CHECKING:
    from localhub.sync.engine import Policy

from .complete import complete_conflict, complete_model, complete_remote
from .context import Settings, pass_settings
from .params import parse_meta_value
from .render import (
    emit_conflict,
    emit_json,
    emit_plan,
    emit_status,
    emit_sync_summary,
    emit_table,
    progress_line,
)

__all__ = [
    "COMMANDS",
    "EXIT_CONFLICTS",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "SyncOutcome",
    "conflicts",
    "resolve",
    "run_sync",
    "status",
    "sync",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFLICTS, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C


# -- helpers ------------------------------------------------------------------------------------


def stderr_is_tty() -> bool:
    """Whether stderr is a terminal (progress lines and colour only then)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def resolve_remote(flag: str | None, db: Path | None = None) -> cfg.Remote:
    """The remote of --remote (a name or URL), else $LOCALHUB_REMOTE, else the default, else
    (given the database ``db``) the upstream that database already syncs with."""
    if db is None:
        return cfg.resolve_remote(cfg.load_config(), flag)
    from .sync_run import pick_remote

    return pick_remote(flag, db)[0]


def _token(remote: cfg.Remote) -> str | None:
    """The configured token; '' (no token) for a configured remote without one.

    An ad-hoc URL returns None: the library then looks for a token file as the official
    client does (``$KF_PIPELINES_SA_TOKEN_PATH``, the Kubernetes service-account token).
    """
    if remote.token_env or remote.token_file:
        return remote.token() or ""
    return None if "://" in remote.name else ""


def _redact(text: str, remote: cfg.Remote) -> str:
    """``text`` with the remote's URL credentials (if any) replaced by ``***``."""
    from localhub.credentials import redact_text

    return redact_text(text, remote.url)


def secret_warnings(remote: cfg.Remote) -> None:
    """Print the diagnosis of the remote's secrets (:func:`localhub.credentials.diagnose`)
    on stderr: the same findings ``remote add``, ``status`` and ``doctor`` report."""
    from localhub.credentials import diagnose

    for finding in diagnose(remote):
        click.echo(f"warning: {finding.message}; {finding.fix}", err=True)


def auth_hint(remote: cfg.Remote) -> str:
    """How to fix the token of ``remote``."""
    if remote.token_env:
        return (f"set ${remote.token_env} to a valid token (export {remote.token_env}=...) "
                "and run sync again")
    if remote.token_file:
        return f"put a valid token in {remote.token_file} and run sync again"
    if "://" in remote.name:
        return ("add the remote with a token: `localhub remote add NAME URL --token-env VAR` "
                "and sync with --remote NAME")
    return (f"give remote {remote.name!r} a token: `localhub remote add {remote.name} "
            f"{remote.url} --token-env VAR` (or --token-file PATH)")


def report_dict(report: Any) -> dict[str, Any]:
    """The report (or dry-run plan) as plain data."""
    for name in ("to_dict", "as_dict"):
        fn = getattr(report, name, None)
        if callable(fn):
            data: dict[str, Any] = fn()
            return data
    from .render import to_data

    out: dict[str, Any] = to_data(report)
    return out


class SyncOutcome:
    """One sync run: its report (None when it failed before reporting), exit code, error."""

    def __init__(self, report: Any, code: int, error: str | None = None) -> None:
        self.report = report
        self.code = code
        self.error = error

    @property
    def data(self) -> dict[str, Any]:
        return report_dict(self.report) if self.report is not None else {}


def run_sync(settings: Settings, remote: cfg.Remote, *, dry_run: bool = False,
             **options: Any) -> SyncOutcome:
    """One sync of the database with ``remote``; errors become an exit code and a message.
    Each run that is not a dry run is recorded in the history that `localhub log` lists."""
    import time

    started = int(time.time() * 1000)
    outcome = _run_once(settings, remote, dry_run=dry_run, **options)
    if not dry_run:
        from .log_cmd import record_run

        try:
            with settings.open_registry() as registry:
                record_run(registry.store, remote.url, outcome.code, outcome.data or None,
                           outcome.error, started)
        except LocalHubError:
            pass  # the history is a convenience: a busy or read-only file must not fail a run
    return outcome


def _run_once(settings: Settings, remote: cfg.Remote, *, push: bool = True, pull: bool = True,
              on_conflict: str = "manual", dry_run: bool = False,
              models: tuple[str, ...] = (),
              progress: Callable[[str, int, int], None] | None = None,
              **engine_options: Any) -> SyncOutcome:
    """One sync of the database with ``remote`` (see :func:`run_sync`)."""
    options: dict[str, Any] = dict(engine_options)
    if models:
        options["models"] = list(models)
    if remote.uri_map:
        options["uri_map"] = [tuple(pair) for pair in remote.uri_map]
    if progress is not None:
        options["progress"] = progress
    if remote.ca:
        options["verify"] = remote.ca
    if remote.allow_insecure_token:
        options["allow_insecure_token"] = True
    shown = remote.shown_url
    try:
        with settings.open_registry(custom_ca=remote.ca) as registry:
            report = registry.sync(remote.url, push=push, pull=pull,
                                   on_conflict=cast("Policy", on_conflict), dry_run=dry_run,
                                   token=_token(remote), **options)
    except RemoteAuthError as exc:
        return SyncOutcome(None, EXIT_ERROR, _redact(f"{exc}; {auth_hint(remote)}", remote))
    except (RemoteUnreachableError, RemoteUnavailableError) as exc:
        return SyncOutcome(None, EXIT_UNREACHABLE, _redact(
            f"{shown} is unreachable: your changes are kept in the local queue; run `localhub "
            f"sync` again when it is reachable ({exc})", remote))
    except SyncLockedError as exc:
        return SyncOutcome(None, EXIT_ERROR, _redact(
            f"{exc} (a `localhub sync --every` loop may be running)", remote))
    except LocalHubError as exc:
        return SyncOutcome(None, EXIT_ERROR, _redact(str(exc), remote))
    if dry_run:
        return SyncOutcome(report, EXIT_OK)
    if getattr(report, "stopped", None):
        return SyncOutcome(report, EXIT_UNREACHABLE, _redact(
            f"{shown} is unreachable: your changes are kept in the local queue; run `localhub "
            f"sync` again later ({report.stopped})", remote))
    if getattr(report, "open_conflicts", None):
        n = len(report.open_conflicts)
        return SyncOutcome(report, EXIT_CONFLICTS,
                           f"{n} conflict(s) remain; see `localhub conflicts` and settle each "
                           "with `localhub resolve ID --ours|--theirs|--value FIELD=VALUE`")
    if getattr(report, "set_aside", 0):
        return SyncOutcome(report, EXIT_ERROR,
                           f"{report.set_aside} change(s) were refused by the remote and set "
                           "aside (see the messages above); fix them and run sync again")
    return SyncOutcome(report, EXIT_OK)


class _Progress:
    """A one-line progress display on stderr, redrawn in place (terminal only)."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        click.echo("\r" + progress_line(phase, done, total), err=True, nl=False)
        self.shown = True

    def close(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)
            self.shown = False


# -- sync ---------------------------------------------------------------------------------------


def _parse_every(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
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
              help="Print each request on stderr: method, path, status, time (never a token).")
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
    from .sync_run import (
        UPSTREAM_REASON,
        RequestLog,
        count_queued,
        describe_remote,
        interrupted_summary,
        pick_remote,
    )

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
                        on_request=requests_log if verbose else None)
        sys.exit(loop.run())
    progress = _Progress() if stderr_is_tty() and not as_json and not settings.quiet else None
    queued_before = count_queued(db)
    try:
        outcome = run_sync(settings, remote, push=not pull_only, pull=not push_only,
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
    from .sync_run import describe_unknown, unknown_models

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
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def reachable(remote: cfg.Remote, timeout: float = 2.0) -> dict[str, Any]:
    """One GET with a short timeout: {"reachable": bool, "message": str}."""
    from localhub.doctor import check_remote

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
    from localhub.sync import sync_status

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
    from localhub.credentials import diagnose, redact_url

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


# -- conflicts and resolve ----------------------------------------------------------------------


def _label(store: Any, conflict: Any) -> str:
    """``model m``, ``version m:v`` or ``artifact m:v/a`` for a conflict's entity."""
    from localhub.sync.plan import label_of

    table = ("contexts" if conflict.entity_kind in ("registered-model", "model-version")
             else "artifacts")
    with store.db.read() as conn:
        return label_of(store, conn, table, conflict.entity_uid)[0]


def conflict_data(store: Any, conflict: Any) -> dict[str, Any]:
    """A conflict as JSON-ready data, with a readable ``entity`` label."""
    from .render import to_data

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
        from localhub.codec import decode_properties

        cell = {("metadataType" if k == "type" else k): v for k, v in value.items()}
        try:
            return decode_properties({"k": cell}, request=False).get("k")
        except Exception:  # noqa: BLE001 - show the raw cell rather than fail
            return value
    return value


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


def _show(value: Any) -> str:
    import json

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
@click.option("--json", "as_json", is_flag=True, help="Print the resolved conflict as JSON.")
@pass_settings
def resolve(settings: Settings, conflict_id: int, ours: bool, theirs: bool, value: str | None,
            as_json: bool) -> None:
    """Resolve conflict ID with --ours, --theirs or --value FIELD=VALUE."""
    if sum((ours, theirs, value is not None)) != 1:
        raise click.UsageError("give exactly one of --ours, --theirs, --value FIELD=VALUE")
    registry = settings.registry(create=False)
    if value is None:
        resolved = registry.resolve(conflict_id, "ours" if ours else "theirs")
    else:
        field, sep, text = value.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"expected FIELD=VALUE, got {value!r}",
                                     param_hint="--value")
        found = [c for c in registry.conflicts(include_resolved=True) if c.id == conflict_id]
        if not found:
            raise NotFoundError(f"no conflict with id {conflict_id}; see `localhub conflicts`",
                                entity="conflict", key=str(conflict_id))
        conflict = found[0]
        if conflict.resolved_at is not None:
            raise InvalidInputError("conflict", f"#{conflict_id} is already resolved "
                                                f"({conflict.resolution})")
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
        click.echo(f"resolved conflict #{conflict_id}: {how}")


def _match_field(conflict: Any, field: str) -> str:
    """The conflict's field named ``field`` (a property key alone is accepted)."""
    names = list(conflict.fields)
    if field in names:
        return field
    if f"{CP}.{field}" in names:
        return f"{CP}.{field}"
    raise click.BadParameter(f"conflict #{conflict.id} is about {', '.join(names) or 'no field'}"
                             f", not {field!r}", param_hint="--value")


COMMANDS = [sync, status, conflicts, resolve]
