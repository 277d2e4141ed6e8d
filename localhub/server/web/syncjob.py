"""**Sync now**: one sync at a time in a background thread of the serve process.

The run is the one ``localhub sync`` makes (:func:`localhub.sync_run.run_sync`) with the
remote it would pick without ``--remote`` (``$LOCALHUB_REMOTE``, else the default remote of
config.toml, else the upstream the database already syncs with), so the report and its exit
code mean the same as ``localhub sync``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EXIT_WORDS", "SyncJob", "SyncRun", "configured_remote"]

#: What each exit code of ``localhub sync`` means, in words.
EXIT_WORDS = {
    0: "Everything is synced.",
    1: "The sync failed, or the remote refused some changes (set aside).",
    2: "The sync could not start: a usage error.",
    3: "The sync ran, but conflicts remain: settle them on the Conflicts page.",
    4: "The remote is unreachable: your changes are kept in the local queue.",
}


@dataclass
class SyncRun:
    """One run: its progress while it runs, its outcome when it ends."""

    remote: str
    started: float = field(default_factory=time.time)
    phase: str = "starting"
    done: int = 0
    total: int = 0
    finished: float | None = None
    code: int | None = None
    error: str | None = None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.finished is None

    def as_dict(self) -> dict[str, Any]:
        """JSON for the progress endpoint."""
        return {"running": self.running, "remote": self.remote, "phase": self.phase,
                "done": self.done, "total": self.total, "code": self.code,
                "meaning": EXIT_WORDS.get(self.code, "") if self.code is not None else None,
                "error": self.error, "report": self.report}


def configured_remote(db_path: str | Path) -> Any:
    """The remote ``localhub sync`` would use; ConfigError when none is configured."""
    # sync_run (and the sync package) loads on first use, not when the server starts
    from ...sync_run import resolve_remote

    return resolve_remote(None, Path(db_path))


class SyncJob:
    """Starts runs (never two at once) and keeps the last one."""

    def __init__(self, db_path: str) -> None:
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        self.last: SyncRun | None = None

    def start(self) -> SyncRun:
        """Start a run with the configured remote; the running one if a run is going on.

        Raises ConfigError when no remote is configured.
        """
        remote = configured_remote(self.db_path)
        with self._lock:
            if self.last is not None and self.last.running:
                return self.last
            run = SyncRun(remote=remote.url)
            self.last = run
        thread = threading.Thread(target=self._run, args=(run, remote),
                                  name="localhub-web-sync", daemon=True)
        thread.start()
        return run

    def _run(self, run: SyncRun, remote: Any) -> None:
        from ...sync_run import run_sync

        def progress(phase: str, done: int, total: int) -> None:
            run.phase, run.done, run.total = phase, done, total

        try:
            outcome = run_sync(self.db_path, remote, progress=progress)
            run.report, run.error = outcome.data, outcome.error
            run.code = outcome.code
        except Exception as exc:  # noqa: BLE001 - any failure is the run's report
            run.error, run.code = f"{type(exc).__name__}: {exc}", 1
        finally:
            run.phase = "finished"
            run.finished = time.time()
