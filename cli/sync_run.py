"""What ``localhub sync`` adds around one run: which remote it uses and why, the requests it
sends (``--verbose``), the models it was limited to, and the summary of an interrupted run."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from localhub import config as cfg
from localhub.errors import DatabaseError, InvalidInputError
from localhub.store import SQLiteStore
from localhub.sync.ledger import remote_summary
from localhub.sync.plan import queued_entities
from localhub.sync_run import UPSTREAM_REASON, existing_store, pick_remote, read_upstream
from localhub.types import RegisteredModel

__all__ = ["UPSTREAM_REASON", "RequestLog", "count_queued", "describe_remote", "describe_unknown",
           "first_pull", "first_pull_note", "interrupted_summary", "pick_remote",
           "read_upstream", "remote_label", "unknown_models"]


def remote_label(remote: cfg.Remote) -> str:
    """``prod (https://...)`` for a configured remote, the URL alone for an ad-hoc one."""
    shown = remote.shown_url
    return shown if remote.name == remote.url else f"{remote.name} ({shown})"


def count_queued(path: Path) -> int:
    """Entities with queued changes (0 when there is no database)."""
    with existing_store(path) as store:
        if store is None:
            return 0
        try:
            return queued_entities(store)
        except DatabaseError:
            return 0


def unknown_models(path: Path, names: tuple[str, ...]) -> list[str]:
    """The names among ``names`` that are no registered model in the database."""
    with existing_store(path) as store:
        if store is None:
            return list(names)
        return [name for name in names if not _is_model(store, name)]


def _is_model(store: SQLiteStore, name: str) -> bool:
    """Whether ``name`` is a registered model (a name SQLite cannot bind is none)."""
    try:
        return store.find(RegisteredModel, name=name) is not None
    except InvalidInputError:
        return False


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


def first_pull(path: Path, remote: cfg.Remote) -> bool:
    """Whether no full pull from ``remote`` has completed into the database yet (the first
    mirrors everything the remote holds; a pull limited by ``--model`` does not count)."""
    with existing_store(path) as store:
        if store is None:
            return True
        try:
            with store.db.read() as conn:
                state, _links = remote_summary(conn, remote.url.rstrip("/"))
        except DatabaseError:
            return False  # not readable here: the run reports why
        # A full pull's own watermarks also mark one made before "last_full_pull" was kept.
        return "last_full_pull" not in state and not any(k.startswith("watermark:")
                                                          for k in state)


def first_pull_note(remote: cfg.Remote) -> str:
    """The line printed before the first pull from ``remote``: what it does, how to limit it."""
    return (f"first sync with {remote_label(remote)}: mirroring its models into this database "
            "(this may take a while); to limit it, use --model NAME (pull only these models) "
            "or --push-only (send local changes, pull nothing)")
