"""Opening the SQLite file: pragmas, schema version check, transactions, error translation.

Foreign ``sqlite3`` errors are translated here, once, into the ``DatabaseError`` family.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from .errors import (
    DatabaseCorruptError,
    DatabaseError,
    DatabaseLockedError,
    DatabasePermissionError,
    SchemaTooNewError,
)
from .paths import create_private_file, private_dir

__all__ = ["Database", "SCHEMA_VERSION", "APPLICATION_ID", "Synchronous", "translate_error"]

#: Schema version this code writes; ``PRAGMA user_version`` of a migrated file.
SCHEMA_VERSION = 4
#: ``PRAGMA application_id`` of a localhub database ("LHub").
APPLICATION_ID = 0x4C487562

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

DEFAULT_BUSY_TIMEOUT = 30.0


def translate_error(exc: sqlite3.Error, path: str) -> DatabaseError:
    """Map a ``sqlite3`` error to the matching localhub error with advice."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return DatabaseLockedError(
            f"database {path} is locked by another process for longer than the busy timeout; "
            "wait for the other writer to finish (or raise LOCALHUB_BUSY_TIMEOUT) and retry",
            path=path,
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return DatabaseCorruptError(
            f"{path} is not a usable localhub database ({exc}); restore it from a backup or "
            "point --db / LOCALHUB_DB at another file",
            path=path,
        )
    if any(word in text for word in ("readonly", "read-only", "unable to open", "permission")):
        return DatabasePermissionError(
            f"cannot write {path} ({exc}); check that the file and its folder are writable, "
            "or choose another location with --db / LOCALHUB_DB",
            path=path,
        )
    return DatabaseError(f"database error on {path}: {exc}", path=path)


class Database:
    """One SQLite file, opened lazily with localhub's pragmas and migrated on first use.

    A single connection is shared by the threads of a process under a lock; processes
    coordinate through SQLite's own locking (WAL, ``busy_timeout``, ``BEGIN IMMEDIATE``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float | None = None,
    ) -> None:
        text = os.fspath(path)
        # "~" must reach sqlite3 expanded, as it does the folder creation below.
        self.path = text if text == ":memory:" else os.path.expanduser(text)
        self.synchronous: Synchronous = synchronous
        if busy_timeout is None:
            busy_timeout = float(os.environ.get("LOCALHUB_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT))
        self.busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self.lock = threading.RLock()
        self._batch_depth = 0

    # -- opening ------------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """The open connection, opening and migrating the file on first call."""
        if self._conn is None:
            with self.lock:
                if self._conn is None:
                    self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            try:
                private_dir(parent)
            except OSError as exc:
                raise DatabasePermissionError(
                    f"cannot create the folder {parent} for the database ({exc.strerror}); "
                    "choose another location with --db / LOCALHUB_DB or LOCALHUB_HOME",
                    path=self.path,
                ) from exc
            if os.path.isdir(self.path):
                raise DatabaseError(
                    f"{self.path} is a directory, not a database file; pass a file path",
                    path=self.path,
                )
            try:
                # 0600 whatever the umask; SQLite gives its -wal and -shm files the mode of
                # the database file.
                create_private_file(Path(self.path))
            except OSError:
                pass  # not creatable here: sqlite3.connect reports why, in its words
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise translate_error(exc, self.path) from exc
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            self._check_identity(conn)
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal" and self.path != ":memory:":
                # Switching to WAL needs an exclusive lock and SQLite answers SQLITE_BUSY
                # at once, without the busy handler, while another process opens the file.
                self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._retry_busy(lambda: self._migrate(conn))
        except sqlite3.Error as exc:
            conn.close()
            raise translate_error(exc, self.path) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _retry_busy(self, action: Callable[[], object]) -> None:
        """Run ``action`` again while SQLite reports busy, up to the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.005
        while True:
            try:
                action()
                return
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def _check_identity(self, conn: sqlite3.Connection) -> None:
        """Refuse files that another program owns or a newer localhub wrote."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise DatabaseCorruptError(
                f"{self.path} belongs to another application (application_id {app_id:#x}); "
                "point --db / LOCALHUB_DB at a localhub database",
                path=self.path,
            )
        if app_id == 0:
            tables = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
            if tables:
                raise DatabaseCorruptError(
                    f"{self.path} is an SQLite database of another application; "
                    "point --db / LOCALHUB_DB at a localhub database",
                    path=self.path,
                )
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"{self.path} has schema version {version}, newer than this localhub "
                f"understands ({SCHEMA_VERSION}); upgrade localhub. The file was not changed.",
                path=self.path,
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        from . import migrations  # imports sqlite-utils and sqlmodel: only when needed

        # IMMEDIATE serialises concurrent first opens: one process migrates, the rest wait
        # for it and then find nothing left to do.
        conn.execute("BEGIN IMMEDIATE")
        try:
            migrations.apply(conn)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        with self.lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): everything inside commits or nothing.

        Inside :meth:`batch` it is a savepoint instead: it still succeeds or fails as a whole,
        and becomes durable when the batch commits.
        """
        conn = self.connection()
        with self.lock:
            if self._batch_depth:
                with self._savepoint(conn):
                    yield conn
                return
            self._begin_immediate(conn)
            try:
                yield conn
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise translate_error(exc, self.path) from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._commit(conn)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group every write inside into one transaction, hence one durable commit.

        Each write keeps its own all-or-nothing (a savepoint): one that fails leaves the
        others in the batch. An exception that escapes the batch rolls all of it back. Other
        threads and processes wait until the batch ends; nested batches join the outer one.
        """
        conn = self.connection()
        with self.lock:
            if self._batch_depth:
                self._batch_depth += 1
                try:
                    yield
                finally:
                    self._batch_depth -= 1
                return
            self._begin_immediate(conn)
            self._batch_depth = 1
            try:
                yield
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise translate_error(exc, self.path) from exc
                raise
            finally:
                self._batch_depth = 0
            self._commit(conn)

    @contextmanager
    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("SAVEPOINT localhub_write")
        try:
            yield
        except BaseException as exc:
            conn.execute("ROLLBACK TO localhub_write")
            conn.execute("RELEASE localhub_write")
            if isinstance(exc, sqlite3.Error):
                raise translate_error(exc, self.path) from exc
            raise
        conn.execute("RELEASE localhub_write")

    def _commit(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise translate_error(exc, self.path) from exc

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        # SQLite's busy handler already waits up to busy_timeout; this loop only covers the
        # rare SQLITE_BUSY returned without waiting (e.g. during WAL recovery by another
        # process).
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise translate_error(exc, self.path) from exc
                if time.monotonic() >= deadline:
                    raise translate_error(exc, self.path) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row of ONE statement: its own snapshot, no explicit transaction needed."""
        conn = self.connection()
        with self.lock:
            try:
                row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from exc
            return row

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read: one snapshot for every statement inside."""
        conn = self.connection()
        with self.lock:
            if self._batch_depth:  # inside this thread's batch: read its uncommitted writes
                yield conn
                return
            try:
                conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise translate_error(exc, self.path) from exc
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
