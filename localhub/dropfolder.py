"""The drop-folder watcher behind ``localhub watch DIR``.

A model version appears in the drop folder either as a folder holding a ``localhub.json``
manifest (``DIR/<any>/localhub.json`` or ``DIR/<model>/<version>/localhub.json``) or, by
convention, as ``DIR/<model>/<version>/`` with the model files inside. A folder is registered
once its files have stopped changing for ``settle`` seconds and two scans in a row saw the same
tree (names, sizes and mtimes of every entry: a copy that keeps old mtimes is still seen
growing), and only once: the folder is
remembered in the database's ``meta`` table (key ``watch:<absolute folder>``), and a version
that already exists with the same URI is adopted silently.

The drop folder may be writable by others, so nothing in it is trusted to stay inside it: a
symlink leading out of ``DIR`` is never followed (a folder holding one is refused), a model or
version folder that is a link into ``DIR`` is skipped (its target registers under its own name),
a dangling link is skipped with a message, and a manifest's ``file://`` URI must point inside
``DIR``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from .drop_manifest import MANIFEST, Entry, parse_manifest
from .errors import DuplicateError, InvalidInputError, LocalHubError, ManifestError
from .formats import guess_format
from .registration import Registration
from .store import SQLiteStore
from .types import ModelArtifact, ModelVersion, RegisteredModel

__all__ = ["MANIFEST", "Candidate", "FolderWatcher", "Report", "parse_manifest"]

ReportKind = Literal["registered", "exists", "waiting", "skipped", "error"]


@dataclass(frozen=True)
class Candidate:
    """A folder that looks like one model version."""

    folder: Path
    manifest: Path | None
    name: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Report:
    """What happened to one folder during a scan."""

    kind: ReportKind
    folder: str
    message: str
    model: str | None = None
    version: str | None = None
    uri: str | None = None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def shown(path: Path) -> str:
    """A path as text that prints anywhere: bytes that are not UTF-8 show as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def link_problem(link: Path, root: Path) -> str | None:
    """Why the symlink ``link`` may not be used in drop folder ``root`` (resolved), or None."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return f"{shown(link)}: dangling symbolic link; skipped"
    if not _inside(target, root):
        return (f"{shown(link)}: symbolic link to {shown(target)}, outside the drop folder "
                f"{shown(root)}; not followed (copy the files into the drop folder instead)")
    return None


def _visible_dirs(folder: Path, root: Path, skipped: list[str]) -> list[Path]:
    out: list[Path] = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for p in entries:
        if p.name.startswith("."):
            continue
        if p.is_symlink():
            problem = link_problem(p, root)
            if problem is None and p.is_dir():
                # A link to a folder inside DIR (``latest -> v3``) would register that folder
                # under the link's name in place of its own.
                problem = (f"{shown(p)}: symbolic link to {shown(p.resolve())}; skipped (that "
                           "folder is registered under its own name)")
            if problem is not None:
                skipped.append(problem)
            continue
        if p.is_dir():
            out.append(p)
    return out


def find_candidates(root: Path, skipped: list[str] | None = None) -> list[Candidate]:
    """Every folder under ``root`` that stands for a model version (manifest or convention);
    symlinks that dangle or lead out of ``root`` are left out (and described in ``skipped``)."""
    real = root.resolve()
    notes: list[str] = [] if skipped is None else skipped
    out: list[Candidate] = []
    for first in _visible_dirs(root, real, notes):
        if (first / MANIFEST).is_file():
            out.append(Candidate(first, first / MANIFEST))
            continue
        for second in _visible_dirs(first, real, notes):
            manifest = second / MANIFEST
            out.append(Candidate(second, manifest if manifest.is_file() else None,
                                 name=first.name, version=second.name))
    return out


def _walk(folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of a folder and everything under it, links not followed."""
    yield "", folder.lstat()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, folder)
            try:
                yield rel, os.lstat(full)
            except OSError:  # vanished while we looked: the folder is still changing
                yield rel, os.stat_result((0,) * 7 + (0, time.time(), time.time()))


def signature(folder: Path) -> tuple[int, int, float, str]:
    """(entries, total size, newest mtime, digest of every entry's name, size and mtime) of a
    folder tree: any file written, renamed or added changes it."""
    count = size = 0
    newest = 0.0
    digest = hashlib.sha256()
    for rel, st in _walk(folder):
        count += 1
        size += st.st_size
        newest = max(newest, st.st_mtime)
        digest.update(f"{rel}\0{stat.S_IFMT(st.st_mode)}\0{st.st_size}\0{st.st_mtime_ns}\n"
                      .encode("utf-8", "surrogateescape"))
    return count, size, newest, digest.hexdigest()


def tree_links(folder: Path, root: Path) -> tuple[list[str], list[str]]:
    """(refusals, skips) for the symlinks in a folder tree: links out of ``root`` refuse the
    folder; dangling links are skipped."""
    refused: list[str] = []
    skipped: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                problem = link_problem(path, root)
                if problem is None:
                    continue
                (skipped if "dangling" in problem else refused).append(problem)
    return refused, skipped


def _entry(candidate: Candidate) -> Entry:
    if candidate.manifest is not None:
        return parse_manifest(candidate.manifest, name=candidate.name, version=candidate.version)
    assert candidate.name is not None and candidate.version is not None
    return Entry(name=candidate.name, version=candidate.version,
                 uri=candidate.folder.resolve().as_uri(),
                 model_format_name=guess_format(candidate.folder))


class FolderWatcher:
    """Scans a drop folder and registers the versions that have settled."""

    def __init__(self, store: SQLiteStore, root: Path, *, settle: float = 5.0,
                 author: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.root = root
        self.settle = settle
        self.author = author
        self.clock = clock
        self._real_root = root.resolve()
        self._seen: dict[Path, tuple[int, int, float, str]] = {}
        self._reported: dict[str, tuple[str, str]] = {}
        self._waiting: set[Path] = set()
        self._stop = threading.Event()
        self._wake = threading.Event()

    @property
    def waiting(self) -> int:
        """How many folders were still changing at the last scan."""
        return len(self._waiting)

    def scan(self) -> list[Report]:
        """One pass over the drop folder; returns what changed since the previous pass."""
        reports: list[Report] = []
        self._waiting.clear()
        skipped: list[str] = []
        candidates = find_candidates(self.root, skipped)
        for note in skipped:
            where = note.partition(": ")[0]
            if self._reported.get(where) != ("skipped", note):
                self._reported[where] = ("skipped", note)
                reports.append(Report("skipped", where, note))
        for candidate in candidates:
            try:
                report = self._handle(candidate)
            except LocalHubError as exc:  # e.g. a locked database: report, retry next scan
                report = Report("error", str(candidate.folder.resolve()), str(exc),
                                candidate.name, candidate.version)
            if report is None:
                continue
            last = self._reported.get(report.folder)
            if last != (report.kind, report.message):
                self._reported[report.folder] = (report.kind, report.message)
                reports.append(report)
        return reports

    def _state(self, folder: Path) -> Literal["empty", "changing", "settled"]:
        sig = signature(folder)
        previous = self._seen.get(folder)
        self._seen[folder] = sig
        if sig[0] <= 1:
            return "empty"
        quiet_for = self.clock() - sig[2]
        # Two identical scans in a row, whatever the mtimes say: a copy that keeps the
        # sources' old mtimes looks settled from its first file on.
        if quiet_for >= self.settle and previous == sig:
            return "settled"
        return "changing"

    def _handle(self, candidate: Candidate) -> Report | None:
        folder = candidate.folder.resolve()
        if shown(folder) != str(folder):  # bytes that are not UTF-8: no name, no meta key
            return Report("error", shown(folder), f"{shown(folder)}: the name is not valid "
                          "UTF-8; rename the folder in UTF-8 (it was not registered)")
        key = f"watch:{folder}"
        if self.store.get_meta(key) is not None:
            return None
        refused, dangling = tree_links(candidate.folder, self._real_root)
        if refused:
            return Report("error", str(folder), refused[0] + "; the folder was not registered",
                          candidate.name, candidate.version)
        state = self._state(candidate.folder)
        if state == "empty":
            return None
        if state == "changing":
            self._waiting.add(candidate.folder)
            return Report("waiting", str(folder), "files still changing", candidate.name,
                          candidate.version)
        try:
            entry = _entry(candidate)
            problem = self._uri_problem(entry.uri)
            if problem is not None:
                return Report("error", str(folder), f"{folder}: {problem}", entry.name,
                              entry.version)
            report = self._register(key, folder, entry)
            if dangling and report.kind == "registered":
                report = dataclasses.replace(
                    report, message=report.message + " (" + "; ".join(dangling) + ")")
            return report
        except ManifestError as exc:
            return Report("error", str(folder), str(exc))
        except InvalidInputError as exc:
            return Report("error", str(folder), f"{folder}: {exc}; rename the folder or fix "
                          "the manifest", candidate.name, candidate.version)

    def _uri_problem(self, uri: str) -> str | None:
        """Why a ``file://`` URI may not be registered from this drop folder, or None."""
        if not uri.lower().startswith("file:"):
            return None
        parts = urlsplit(uri)
        target = Path(unquote(parts.path)).resolve()
        if parts.netloc not in ("", "localhost") or not _inside(target, self._real_root):
            return (f"uri {uri} points outside the drop folder {self._real_root}; a drop "
                    "folder may only register files inside it (or give a remote URI such as "
                    "s3://...)")
        return None

    def _register(self, key: str, folder: Path, entry: Entry) -> Report:
        existing = self._existing_uri(entry.name, entry.version)
        if existing is None:
            try:
                Registration(
                    entry.name, entry.uri, entry.version,
                    model_format_name=entry.model_format_name,
                    model_format_version=entry.model_format_version,
                    author=entry.author, owner=entry.author,
                    version_description=entry.description, metadata=entry.metadata,
                ).by(self.author).write(self.store)
            except DuplicateError:  # another process registered it meanwhile
                existing = self._existing_uri(entry.name, entry.version)
                if existing is None:
                    raise
            else:
                self._remember(key, entry)
                fmt = f" ({entry.model_format_name})" if entry.model_format_name else ""
                return Report("registered", str(folder),
                              f"registered {entry.name} {entry.version}{fmt} -> {entry.uri}",
                              entry.name, entry.version, entry.uri)
        if existing == entry.uri:
            self._remember(key, entry)
            return Report("exists", str(folder), f"{entry.name} {entry.version} already "
                          "registered", entry.name, entry.version, entry.uri)
        return Report("error", str(folder),
                      f"{folder}: {entry.name} {entry.version} is already registered with URI "
                      f"{existing}, not {entry.uri}; rename the version folder (or set "
                      "\"version\" in its localhub.json)", entry.name, entry.version, entry.uri)

    def _existing_uri(self, name: str, version: str) -> str | None:
        model = self.store.find(RegisteredModel, name=name)
        if model is None or model.id is None:
            return None
        mv = self.store.find(ModelVersion, name=version, parent_id=model.id)
        if mv is None or mv.id is None:
            return None
        artifact = self.store.find(ModelArtifact, name=name, parent_id=mv.id)
        if artifact is None:
            items = self.store.list_page(ModelArtifact, parent_id=mv.id, page_size=1).items
            artifact = items[0] if items else None
        return (getattr(artifact, "uri", None) or "") if artifact is not None else ""

    def _remember(self, key: str, entry: Entry) -> None:
        self.store.set_meta(key, json.dumps({"model": entry.name, "version": entry.version,
                                             "uri": entry.uri}))

    # -- scanning until done, or forever ------------------------------------------------------

    def run_once(self, on_report: Callable[[Report], None], *, timeout: float | None = None
                 ) -> None:
        """Scan, waiting for changing folders to settle (at most ``timeout`` seconds)."""
        limit = timeout if timeout is not None else max(10 * self.settle, 30.0)
        deadline = time.monotonic() + limit
        while True:
            for report in self.scan():
                on_report(report)
            if not self._waiting or time.monotonic() >= deadline or self._stop.is_set():
                break
            self._stop.wait(min(max(self.settle / 2, 0.05), 1.0))
        for folder in sorted(self._waiting):
            on_report(Report("error", str(folder.resolve()),
                             f"{folder}: still changing after {limit:g}s; skipped (run again "
                             "once the copy has finished)"))

    def run(self, on_report: Callable[[Report], None],
            on_ready: Callable[[], None] | None = None) -> None:
        """Watch until :meth:`stop`: watchdog events wake a debounced rescan; ``on_ready`` is
        called once the folder is watched (a change from then on is seen)."""
        # watchdog loads only when watching; a one-off scan does not need it
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        wake = self._wake

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                wake.set()

        observer = Observer()
        observer.schedule(_Handler(), str(self.root), recursive=True)
        observer.start()
        if on_ready is not None:
            on_ready()
        try:
            while not self._stop.is_set():
                for report in self.scan():
                    on_report(report)
                # Changing folders need a rescan after the settle time even with no event;
                # otherwise sleep until something happens (with a slow safety rescan).
                timeout = min(max(self.settle / 2, 0.05), 1.0) if self._waiting else 30.0
                self._wake.wait(timeout)
                self._wake.clear()
                self._stop.wait(min(0.1, self.settle))  # debounce bursts of events
        finally:
            observer.stop()
            observer.join(timeout=5)

    def stop(self) -> None:
        """Ask :meth:`run` / :meth:`run_once` to return soon (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

