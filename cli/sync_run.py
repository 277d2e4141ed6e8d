"""What ``localhub sync`` adds around one run: which remote it uses and why, the requests it
sends (``--verbose``), the models it was limited to, and the summary of an interrupted run."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import click

from localhub import config as cfg

UPSTREAM_REASON = "the upstream of this database"

__all__ = ["UPSTREAM_REASON", "RequestLog", "count_queued", "describe_remote", "describe_unknown",
           "interrupted_summary", "pick_remote", "read_upstream", "remote_label",
           "unknown_models"]


def _read_only(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to an existing database (None when there is none): looking
    something up must never create a database."""
    if not path.exists():
        return None
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None


def read_upstream(path: Path) -> str | None:
    """The remote this database syncs with (pinned by its first sync), or None."""
    from localhub.sync.upstream import UPSTREAM_KEY

    conn = _read_only(path)
    if conn is None:
        return None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (UPSTREAM_KEY,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None else str(row[0])


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


def remote_label(remote: cfg.Remote) -> str:
    """``prod (https://...)`` for a configured remote, the URL alone for an ad-hoc one."""
    shown = remote.shown_url
    return shown if remote.name == remote.url else f"{remote.name} ({shown})"


def count_queued(path: Path) -> int:
    """Entities with queued changes (0 when there is no database)."""
    conn = _read_only(path)
    if conn is None:
        return 0
    try:
        from localhub import outbox

        return outbox.queued_entities(conn)
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def unknown_models(path: Path, names: tuple[str, ...]) -> list[str]:
    """The names among ``names`` that are no registered model in the database."""
    conn = _read_only(path)
    if conn is None:
        return list(names)
    try:
        known = {str(r[0]) for r in conn.execute(
            "SELECT name FROM contexts WHERE kind = 'registered-model'")}
    finally:
        conn.close()
    return [name for name in names if name not in known]


class RequestLog:
    """Counts the answers of a run and, when verbose, prints each on stderr: method, path,
    status and time (no header and no query string, so never a token)."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.count = 0
        self._lock = threading.Lock()  # answers arrive from the push's worker threads

    def __call__(self, method: str, path: str, status: int, seconds: float) -> None:
        with self._lock:
            self.count += 1
        if self.verbose:
            click.echo(f"  {method:<5} {path} {status} {seconds * 1000:.0f} ms", err=True)


def interrupted_summary(sent: int, queued_before: int, queued_now: int) -> str:
    """The one line printed when Ctrl-C stops a one-shot sync."""
    acknowledged = max(0, queued_before - queued_now)
    return (f"interrupted: {sent} request(s) answered, {acknowledged} change(s) acknowledged "
            f"by the remote, {queued_now} still queued (kept for the next `localhub sync`)")


def describe_unknown(names: list[str], remote: cfg.Remote) -> str:
    """The error for --model names that match no model, here or on the remote."""
    shown = ", ".join(repr(n) for n in names)
    return (f"no model named {shown} here or on {remote_label(remote)}; see `localhub models` "
            "for the names")


def describe_remote(remote: cfg.Remote, why: str) -> str:
    """``remote: prod (https://...), the default remote``: which remote a run uses."""
    return f"remote: {remote_label(remote)}" + (f", {why}" if why else "")

