"""``localhub sync --every DURATION [--watch]``: sync on a schedule until SIGINT/SIGTERM.

* A run every DURATION (the first at once). One log line per run on stdout; a run that fails
  as the one before gets a short line (``still unreachable after 3 attempts; retrying in 8 s``),
  the full error only when it changes (``--json`` lines always carry it whole).
* While the remote is unreachable: retries back off exponentially (from 2 s, doubling, capped at
  DURATION, with jitter); the queue is kept.
* ``--watch``: watchdog on the database file and its ``-wal``; a push-only run ~2 s after the
  last event (debounced), only when the outbox holds changes newer than the last run saw (the
  loop's own writes wake it but do not start a run; ``--verbose`` says so on stderr).
* SIGINT/SIGTERM: the current run finishes, then the loop exits 0; a second signal abandons the
  run (the engine commits each operation atomically and the sync lock dies with the process).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click
from watchdog.events import FileSystemEvent, FileSystemEventHandler

from localhub import config as cfg
from localhub.sync.backoff import Backoff
from localhub.sync_run import EXIT_UNREACHABLE, run_sync

from .context import Settings
from .render import emit_json_line, sync_log_line

__all__ = ["SyncLoop", "backoff_delay", "parse_duration", "repeat_line"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """``30s``, ``15m``, ``1h``, ``1h30m``, ``500ms`` (a bare number is seconds) -> seconds."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)
    elif value and _PART.sub("", value) == "" and _PART.match(value):
        seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(value))
    else:
        raise ValueError(f"invalid duration {text!r}: use a number with a unit, e.g. 30s, 15m, "
                         "1h or 1h30m")
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be more than zero")
    return seconds


def backoff_delay(failures: int, every: float, rng: random.Random, base: float = 2.0) -> float:
    """Delay before retry number ``failures`` (1, 2, ...): the sync retry policy
    (:class:`localhub.sync.backoff.Backoff`), capped at ``every``."""
    return Backoff(base=base, cap=every, rng=rng).delay(failures)


def repeat_line(code: int, failures: int, next_in: float | None) -> str:
    """The short line of a run that failed as the one before (whose full text is above)."""
    when = "" if next_in is None else (
        f"{next_in:.0f} s" if next_in >= 1 else f"{next_in:.1f} s")
    if code == EXIT_UNREACHABLE:
        return f"still unreachable after {failures} attempts; retrying in {when}"
    return f"the same error as above; next run in {when}"


class _Changes(FileSystemEventHandler):
    """Watchdog handler: remembers when the database or its WAL last changed."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.names = {db.name, db.name + "-wal"}
        self.lock = threading.Lock()
        self.last: float | None = None
        self.wake = threading.Event()

    def dispatch(self, event: FileSystemEvent) -> None:
        paths = [getattr(event, "src_path", ""), getattr(event, "dest_path", "")]
        if any(p and Path(str(p)).name in self.names for p in paths):
            with self.lock:
                self.last = time.monotonic()
            self.wake.set()

    def take(self, debounce: float) -> bool:
        """True once the last change is ``debounce`` seconds old (then forgotten)."""
        with self.lock:
            if self.last is None or time.monotonic() - self.last < debounce:
                return False
            self.last = None
            return True

    def pending(self, debounce: float) -> float | None:
        """Seconds until ``take`` becomes true, None when nothing changed."""
        with self.lock:
            if self.last is None:
                return None
            return max(0.0, self.last + debounce - time.monotonic())


class SyncLoop:
    """The scheduling loop of ``localhub sync --every``."""

    def __init__(self, settings: Settings, remote: cfg.Remote, *, every: float, watch: bool,
                 push: bool, pull: bool, on_conflict: str, models: tuple[str, ...],
                 as_json: bool, debounce: float = 2.0, rng: random.Random | None = None,
                 workers: int = 4,
                 on_request: Callable[[str, str, int, float], None] | None = None,
                 verbose: bool = False) -> None:
        self.settings = settings
        self.verbose = verbose
        self.on_request = on_request
        #: True while a run is in progress (a first Ctrl-C then lets it finish).
        self.running = False
        self.workers = workers
        self.remote = remote
        self.every = every
        self.watch = watch
        self.push = push
        self.pull = pull
        self.on_conflict = on_conflict
        self.models = models
        self.as_json = as_json
        self.debounce = debounce
        self.rng = rng or random.Random()
        self.stop = threading.Event()
        self.failures = 0
        #: The error text last printed in full: the same condition again prints a short line.
        self.last_error: str | None = None
        #: Highest outbox seq that existed when the last push started.
        self.seen_seq = 0
        self._signals = 0

    # -- signals ------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        self.stop.set()
        if self._signals > 1:
            raise KeyboardInterrupt
        if self.running:
            self._info("finishing the current run; Ctrl-C again to stop now")

    # -- helpers ------------------------------------------------------------------------------

    def _max_seq(self) -> int:
        with self.settings.open_registry() as registry:
            pending = registry.pending()
        return max((change.seq for change in pending), default=0)

    def _info(self, text: str) -> None:
        if not self.settings.quiet:
            click.echo(text, err=True)

    def _log(self, kind: str, outcome: Any, next_in: float | None) -> None:
        when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = outcome.data if outcome is not None else None
        if self.as_json:
            emit_json_line({"time": when, "run": kind, "exit_code": outcome.code,
                            "report": data or None, "error": outcome.error,
                            "next_in": None if next_in is None else round(next_in, 3)})
        elif outcome.error is not None and outcome.error == self.last_error:
            click.echo(f"{when} {kind} {repeat_line(outcome.code, self.failures, next_in)}")
        else:
            click.echo(sync_log_line(when, kind, data, outcome.error, next_in))
        self.last_error = outcome.error

    def _once(self, kind: str) -> Any:
        if self.push:
            with contextlib.suppress(Exception):  # a missing database: the run reports it
                self.seen_seq = self._max_seq()
        push_only = kind == "watch"
        extra: dict[str, Any] = {} if self.on_request is None else {
            "on_request": self.on_request}
        self.running = True
        try:
            outcome = run_sync(self.settings.db_path(), self.remote, push=self.push,
                               pull=self.pull and not push_only, on_conflict=self.on_conflict,
                               models=self.models, max_attempts=3, backoff_cap=2.0,
                               workers=self.workers, **extra)
        finally:
            self.running = False
        if outcome.code == EXIT_UNREACHABLE:
            self.failures += 1
        else:
            self.failures = 0
        return outcome

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> int:
        """Sync until a signal; returns the exit code (0)."""
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        observer = None
        changes: _Changes | None = None
        try:
            if self.watch:
                # the observer (threads, inotify/FSEvents) loads only with --watch
                from watchdog.observers import Observer

                db = self.settings.db_path()
                db.parent.mkdir(parents=True, exist_ok=True)
                changes = _Changes(db)
                observer = Observer()
                observer.schedule(changes, str(db.parent), recursive=False)
                observer.daemon = True
                observer.start()
            self._info(f"syncing with {self.remote.url} every {self.every:g}s"
                       + (" and on local changes" if self.watch else "")
                       + "; Ctrl-C to stop")
            self._loop(changes)
        except KeyboardInterrupt:
            self._info("interrupted: the current run was abandoned (committed work is kept)")
        finally:
            if observer is not None:
                observer.stop()
                observer.join(5)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._info("stopped")
        return 0

    def _loop(self, changes: _Changes | None) -> None:
        next_due = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            kind = None
            if now >= next_due:
                kind = "sync"
            elif changes is not None and self.failures == 0 and changes.take(self.debounce):
                try:
                    if self._max_seq() > self.seen_seq:
                        kind = "watch"
                    elif self.verbose:
                        # The loop's own writes: an event a test (or a user) can see.
                        click.echo("watch: local change seen, nothing new queued; no run",
                                   err=True)
                except Exception:  # noqa: BLE001
                    kind = "watch"
            if kind is None:
                wait = next_due - now
                if changes is not None:
                    soon = changes.pending(self.debounce)
                    if soon is not None and self.failures == 0:
                        wait = min(wait, soon)
                    changes.wake.clear()
                # Short slices keep the loop responsive to signals and file events.
                deadline = time.monotonic() + max(0.0, wait)
                while not self.stop.is_set() and time.monotonic() < deadline:
                    slice_ = min(0.2, deadline - time.monotonic())
                    if changes is not None:
                        if changes.wake.wait(max(0.0, slice_)):
                            break
                    else:
                        time.sleep(max(0.0, slice_))
                continue
            outcome = self._once(kind)
            if kind == "sync" or self.failures:
                delay = (backoff_delay(self.failures, self.every, self.rng) if self.failures
                         else self.every)
                next_due = time.monotonic() + delay
            self._log(kind, outcome, max(0.0, next_due - time.monotonic()))
