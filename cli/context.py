"""What every command shares: the global options and the one way to open the registry.

Commands import this module, never :mod:`.main` (which imports the commands).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from localhub.errors import DatabaseError
from localhub.paths import default_db_path
from localhub.registry import ModelRegistry

__all__ = ["Settings", "pass_settings"]


@dataclass
class Settings:
    """What the global options chose."""

    db: Path | None
    quiet: bool
    debug: bool

    def db_path(self) -> Path:
        """The chosen database file (--db, else the default location)."""
        return Path(self.db) if self.db is not None else Path(default_db_path())

    def require_db(self) -> Path:
        """The database file of a read-only command, which must exist: reading never creates
        a database (nor its folders), so a mistyped --db is reported, not silently made."""
        path = self.db_path()
        if not path.exists():
            raise DatabaseError(f"no database at {path}; check --db / LOCALHUB_DB, or create "
                                "it with a first `localhub register`", path=str(path))
        return path

    def registry(self, *, create: bool = True, custom_ca: str | None = None) -> ModelRegistry:
        """The registry facade over the chosen database (no network); ``create=False`` for
        read-only commands (a missing database is an error); ``custom_ca`` verifies a sync."""
        path = self.db_path() if create else self.require_db()
        return ModelRegistry("", author="", path=path, custom_ca=custom_ca)

    @contextmanager
    def open_registry(self, *, create: bool = True, custom_ca: str | None = None
                      ) -> Iterator[ModelRegistry]:
        """:meth:`registry`, closed when the block ends (for a process that lives on)."""
        registry = self.registry(create=create, custom_ca=custom_ca)
        try:
            yield registry
        finally:
            registry.store.close()


pass_settings = click.make_pass_decorator(Settings)
