"""One sync of a database with a configured remote, as ``localhub sync`` and the web page's
**Sync now** run it: which remote, the engine's errors as an exit code and a message (the
remote's credentials redacted), and the run recorded in the history (:mod:`.sync_history`).

Exit codes: 0 all synced, 1 error, 2 usage, 3 conflicts remain, 4 remote unreachable (changes
kept), 130 interrupted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from . import config as cfg
from .credentials import redact_text
from .errors import (
    DatabaseError,
    LocalHubError,
    RemoteAuthError,
    RemoteCertificateError,
    RemoteUnavailableError,
    RemoteUnreachableError,
    SyncLockedError,
)
from .plain import to_data
from .registry import ModelRegistry
from .rest_answers import unreachable_reason
from .store import SQLiteStore
from .sync.upstream import UPSTREAM_KEY
from .sync_history import record_run

if TYPE_CHECKING:
    from .sync.engine import Policy

__all__ = ["EXIT_CONFLICTS", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_UNREACHABLE",
           "EXIT_USAGE", "UPSTREAM_REASON", "SyncOutcome", "auth_hint", "existing_store",
           "open_registry", "pick_remote", "read_upstream", "report_dict", "resolve_remote",
           "run_sync", "unreachable_message"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFLICTS, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C

UPSTREAM_REASON = "the upstream of this database"


@contextmanager
def open_registry(db: Path, *, custom_ca: str | None = None) -> Iterator[ModelRegistry]:
    """The registry facade over the database ``db`` (created if missing), closed when the
    block ends; ``custom_ca`` verifies a sync."""
    registry = ModelRegistry("", author="", path=db, custom_ca=custom_ca)
    try:
        yield registry
    finally:
        registry.store.close()


@contextmanager
def existing_store(path: Path) -> Iterator[SQLiteStore | None]:
    """The store over an existing database (None when there is none): looking something up
    must never create a database."""
    if not path.exists():
        yield None
        return
    store = SQLiteStore(path)
    try:
        yield store
    finally:
        store.close()


def read_upstream(path: Path) -> str | None:
    """The remote this database syncs with (pinned by its first sync), or None."""
    with existing_store(path) as store:
        if store is None:
            return None
        try:
            return store.get_meta(UPSTREAM_KEY)
        except DatabaseError:
            return None


def pick_remote(flag: str | None, db: Path) -> tuple[cfg.Remote, str]:
    """The remote of a sync and why it was chosen: --remote, else $LOCALHUB_REMOTE, else the
    configured default, else the upstream this database already syncs with."""
    config = cfg.load_config()
    if flag:
        return cfg.resolve_remote(config, flag), "--remote"
    if os.environ.get("LOCALHUB_REMOTE"):
        return cfg.resolve_remote(config), "$LOCALHUB_REMOTE"
    if config.default_remote:
        return cfg.resolve_remote(config), "the default remote"
    upstream = read_upstream(db)
    if upstream is None:
        return cfg.resolve_remote(config), ""  # raises: no remote configured
    for remote in config.remotes.values():
        if remote.url == upstream:
            return remote, UPSTREAM_REASON
    return cfg.Remote(name=upstream, url=upstream), UPSTREAM_REASON


def resolve_remote(flag: str | None, db: Path | None = None) -> cfg.Remote:
    """The remote of --remote (a name or URL), else $LOCALHUB_REMOTE, else the default, else
    (given the database ``db``) the upstream that database already syncs with."""
    if db is None:
        return cfg.resolve_remote(cfg.load_config(), flag)
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
    return redact_text(text, remote.url)


def _host(remote: cfg.Remote) -> str:
    """``host:port`` of the remote (the port its scheme implies when the URL has none)."""
    parts = urlsplit(remote.url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return remote.shown_url
    host = parts.hostname or remote.shown_url
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def unreachable_message(remote: cfg.Remote, reason: str) -> str:
    """The one line of a remote that did not answer: host:port, why in a few words
    ("connection refused") and that the changes are kept."""
    return (f"{_host(remote)} is unreachable ({reason}); changes are kept "
            "in the local queue: run `localhub sync` again when it is reachable")


def _name(remote: cfg.Remote) -> str:
    """The remote's configured name, ``NAME`` for an ad-hoc URL."""
    return "NAME" if "://" in remote.name else remote.name


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


def run_sync(db: Path, remote: cfg.Remote, *, dry_run: bool = False,
             **options: Any) -> SyncOutcome:
    """One sync of the database ``db`` with ``remote``; errors become an exit code and a
    message. Each run that is not a dry run is recorded in the history that `localhub log`
    lists."""
    started = int(time.time() * 1000)
    outcome = _run_once(db, remote, dry_run=dry_run, **options)
    if not dry_run:
        try:
            with open_registry(db) as registry:
                record_run(registry.store, remote.url, outcome.code, outcome.data or None,
                           outcome.error, started)
        except LocalHubError:
            pass  # the history is a convenience: a busy or read-only file must not fail a run
    return outcome


def _failed(exc: LocalHubError, remote: cfg.Remote) -> SyncOutcome:
    """A run that raised: its exit code and its one line (the remote's credentials redacted)."""
    if isinstance(exc, RemoteAuthError):
        text = f"{_host(remote)} refused the token (HTTP {exc.status}); {auth_hint(remote)}"
    elif isinstance(exc, RemoteUnreachableError | RemoteUnavailableError):
        return SyncOutcome(None, EXIT_UNREACHABLE,
                           unreachable_message(remote, exc.reason or unreachable_reason(str(exc))))
    elif isinstance(exc, RemoteCertificateError):
        text = (f"cannot verify the TLS certificate of {_host(remote)} ({exc.reason}); give the "
                f"CA that signed it: `localhub remote add {_name(remote)} {remote.shown_url} "
                "--ca PATH`")
    elif isinstance(exc, SyncLockedError):
        text = f"{exc} (a `localhub sync --every` loop may be running)"
    else:
        text = str(exc)
    return SyncOutcome(None, EXIT_ERROR, _redact(text, remote))


def _run_once(db: Path, remote: cfg.Remote, *, push: bool = True, pull: bool = True,
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
    try:
        with open_registry(db, custom_ca=remote.ca) as registry:
            report = registry.sync(remote.url, push=push, pull=pull,
                                   on_conflict=cast("Policy", on_conflict), dry_run=dry_run,
                                   token=_token(remote), **options)
    except LocalHubError as exc:
        return _failed(exc, remote)
    if dry_run:
        return SyncOutcome(report, EXIT_OK)
    if getattr(report, "stopped", None):
        return SyncOutcome(report, EXIT_UNREACHABLE,
                           unreachable_message(remote, unreachable_reason(str(report.stopped))))
    if getattr(report, "open_conflicts", None):
        n = len(report.open_conflicts)
        return SyncOutcome(report, EXIT_CONFLICTS,
                           f"{n} conflict(s) remain; see `localhub conflicts` and settle each "
                           "with `localhub resolve ID --ours|--theirs` (or "
                           "`--field NAME=ours|theirs|VALUE` for each field)")
    if getattr(report, "held", None):
        return SyncOutcome(report, EXIT_ERROR,
                           f"{len(report.held)} remote change(s) could not be applied locally "
                           "and are held (see the messages above); the rest was pulled; fix "
                           "the local entities in the way and run sync again")
    if getattr(report, "set_aside", 0):
        return SyncOutcome(report, EXIT_ERROR,
                           f"{report.set_aside} change(s) were refused by the remote, or kept "
                           "failing there while other requests succeeded, and were set aside "
                           "(see the messages above); fix them and run sync again")
    return SyncOutcome(report, EXIT_OK)
