"""Shared parts of the reliability soaks: real processes, content comparison, the result line.

Every soak starts a real ``localhub serve`` as the remote (and, where faults are wanted, the
fault proxy from ``tests/support/faultproxy.py`` in front of it), drives local stores and
``localhub`` processes against it, then compares what the remote holds with what it should.
Each soak prints one line::

    <name>: runs=50 converged=50 duplicates=0 lost=0 silent_overwrites=0

and ``Tally.ok`` says whether that line is clean; ``main`` exits 1 when it is not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from localhub.store import SQLiteStore
from localhub.types import ModelVersion, RegisteredModel

from tests.support.processes import FAULTPROXY, free_port, start_serve, stop, wait_healthy

__all__ = ["Stack", "Tally", "content", "compare", "duplicates_in", "localhub_cmd"]


@dataclass
class Tally:
    """The figures one soak reports."""

    name: str
    runs: int = 0
    converged: int = 0
    duplicates: int = 0
    lost: int = 0
    silent_overwrites: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.converged == self.runs and self.duplicates == 0 and self.lost == 0
                and self.silent_overwrites == 0)

    def line(self) -> str:
        return (f"{self.name}: runs={self.runs} converged={self.converged} "
                f"duplicates={self.duplicates} lost={self.lost} "
                f"silent_overwrites={self.silent_overwrites}")


def content(store: Any) -> dict[str, Any]:
    """Models, versions and artifacts by name with their content fields (ids left out)."""
    out: dict[str, Any] = {}
    for rm in store.list_page(RegisteredModel).items:
        versions: dict[str, Any] = {}
        out[rm.name] = (rm.description, rm.owner, rm.state.value, rm.custom_properties,
                        versions)
        for mv in store.list_page(ModelVersion, parent_id=rm.id).items:
            arts = {a.name: (a.uri, a.model_format_name, a.storage_key, a.state.value)
                    for a in store.version_artifacts(mv.id)}
            versions[mv.name] = (mv.description, mv.author, mv.state.value,
                                 mv.custom_properties, arts)
    return out


def _flatten(tree: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    flat: dict[tuple[str, ...], Any] = {}
    for model, (*fields, versions) in tree.items():
        flat[(model,)] = tuple(fields)
        for version, (*vfields, arts) in versions.items():
            flat[(model, version)] = tuple(vfields)
            for art, afields in arts.items():
                flat[(model, version, art)] = afields
    return flat


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> tuple[int, int]:
    """(lost, extra): entities missing or with other content; entities nobody asked for."""
    want, have = _flatten(expected), _flatten(actual)
    lost = sum(1 for key, value in want.items() if have.get(key) != value)
    extra = sum(1 for key in have if key not in want)
    return lost, extra


def duplicates_in(db: Path) -> int:
    """Rows sharing a natural key in a registry file (see ``natural_key_duplicates``). A
    unique index forbids them; they are counted from the tables anyway, so a broken index or
    a write path around it would show."""
    return natural_key_duplicates(db)


def localhub_cmd(*args: str) -> list[str]:
    """The ``localhub`` command line, run with this interpreter."""
    return [sys.executable, "-m", "localhub.cli", *args]


class Stack:
    """A temp folder with a running remote (``localhub serve``) and, optionally, the proxy.

    ``url`` is what clients should sync against (the proxy when there is one), ``remote_url``
    the server itself, ``remote_db`` its file. Use as a context manager.
    """

    def __init__(self, *, proxy: bool = False, keep: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="localhub-soak-"))
        self.keep = keep
        self.home = self.dir / "home"
        self.env = {**os.environ, "LOCALHUB_HOME": str(self.home)}
        self.env.pop("LOCALHUB_DB", None)
        self.remote_db = self.dir / "remote.db"
        self._procs: list[subprocess.Popen[bytes]] = []
        self.server, port = start_serve(self.dir, self.remote_db, self.dir / "serve.log")
        self._procs.append(self.server)
        self.remote_url = f"http://127.0.0.1:{port}"
        self.url = self.remote_url
        self.proxy_url: str | None = None
        if proxy:
            pport = free_port()
            with open(self.dir / "proxy.log", "wb") as out:
                proc = subprocess.Popen([sys.executable, str(FAULTPROXY), "--target",
                                         self.remote_url, "--port", str(pport)],
                                        stdout=out, stderr=subprocess.STDOUT)
            self._procs.append(proc)
            self.proxy_url = f"http://127.0.0.1:{pport}"
            wait_healthy(self.proxy_url + "/readyz/health", proc, self.dir / "proxy.log")
            self.proxy_reset()
            self.url = self.proxy_url

    # -- the proxy ------------------------------------------------------------------------
    def _proxy(self, what: str, body: Any = None) -> Any:
        assert self.proxy_url, "this stack has no proxy"
        if body is None and what == "log":
            return requests.get(f"{self.proxy_url}/__proxy__/log", timeout=10).json()
        return requests.post(f"{self.proxy_url}/__proxy__/{what}", json=body, timeout=10).json()

    def proxy_rules(self, *rules: dict[str, Any]) -> None:
        self._proxy("rules", list(rules))

    def proxy_mode(self, **mode: Any) -> None:
        self._proxy("mode", mode)

    def proxy_reset(self) -> None:
        self._proxy("reset", {})

    def proxy_log(self) -> list[list[Any]]:
        return list(self._proxy("log"))

    # -- the remote -------------------------------------------------------------------------
    def remote_content(self) -> dict[str, Any]:
        store = SQLiteStore(self.remote_db)
        try:
            return content(store)
        finally:
            store.close()

    def remote_duplicates(self) -> int:
        return duplicates_in(self.remote_db)

    def store(self, name: str) -> SQLiteStore:
        return SQLiteStore(self.dir / f"{name}.db")

    def close(self) -> None:
        for proc in reversed(self._procs):
            stop(proc)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def finish(tally: Tally) -> int:
    """Print the result line (and notes to stderr); the exit code for it."""
    for note in tally.notes:
        print(f"  {note}", file=sys.stderr)
    print(tally.line(), flush=True)
    return 0 if tally.ok else 1


def natural_key_duplicates(db: Path) -> int:
    """Rows sharing a natural key under the registry's uniqueness rules: models, versions
    and serving entities by kind, parent and name; artifacts by kind, version and name --
    top-level artifacts excepted, whose names the Model Registry never makes unique (it
    stores them as ``<uuid>:<name>``; see the reference's "Uniqueness and stored names")."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        total = 0
        for table, parent, where in (("contexts", "parent_id", "1"),
                                     ("artifacts", "version_id", "version_id != 0"),
                                     ("executions", "parent_id", "1")):
            total += conn.execute(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM {table} "
                f"WHERE {where} GROUP BY kind, {parent}, name HAVING n > 1)").fetchone()[0]
        return int(total)
    finally:
        conn.close()
