"""Shell completion of names: models, versions, remotes and open conflict ids.

Completion runs before any command, on every Tab: it reads the database read-only (a missing
file completes nothing and is not created) and never fails (an error completes nothing).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from localhub import config as cfg
from localhub.errors import LocalHubError
from localhub.paths import default_db_path
from localhub.sync.ledger import conflict_rows

__all__ = ["complete_conflict", "complete_model", "complete_remote", "complete_version"]


def _db_path(ctx: click.Context) -> Path:
    """The database the command line names (--db), else $LOCALHUB_DB, else the default."""
    db = ctx.find_root().params.get("db")
    if db:
        return Path(db)
    env = os.environ.get("LOCALHUB_DB")
    return Path(env) if env else Path(default_db_path())


@contextmanager
def _reader(ctx: click.Context) -> Iterator[sqlite3.Connection | None]:
    path = _db_path(ctx)
    conn = None
    if path.is_file():
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        except sqlite3.Error:
            conn = None
    try:
        yield conn
    finally:
        if conn is not None:
            conn.close()


def _query(ctx: click.Context, sql: str, params: tuple[object, ...]) -> list[str]:
    try:
        with _reader(ctx) as conn:
            if conn is None:
                return []
            return [str(row[0]) for row in conn.execute(sql, params)]
    except sqlite3.Error:
        return []


def _prefix(incomplete: str) -> str:
    """A LIKE pattern for names starting with ``incomplete`` (its wildcards escaped)."""
    escaped = incomplete.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def complete_model(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    """Registered model names starting with ``incomplete``."""
    names = _query(ctx, "SELECT name FROM contexts WHERE kind = 'registered-model' AND name "
                        "LIKE ? ESCAPE '\\' ORDER BY name LIMIT 200", (_prefix(incomplete),))
    return [CompletionItem(name) for name in names]


def complete_version(ctx: click.Context, param: click.Parameter,
                     incomplete: str) -> list[CompletionItem]:
    """Version names of the model given before this argument."""
    model = ctx.params.get("name") or ctx.params.get("model_name")
    if not model:
        return []
    names = _query(ctx, "SELECT v.name FROM contexts v JOIN contexts m ON m.id = v.parent_id "
                        "WHERE v.kind = 'model-version' AND m.kind = 'registered-model' AND "
                        "m.name = ? AND v.name LIKE ? ESCAPE '\\' ORDER BY v.id LIMIT 200",
                   (str(model), _prefix(incomplete)))
    return [CompletionItem(name) for name in names]


def complete_conflict(ctx: click.Context, param: click.Parameter,
                      incomplete: str) -> list[CompletionItem]:
    """Ids of the open sync conflicts."""
    try:
        with _reader(ctx) as conn:
            if conn is None:
                return []
            conn.row_factory = sqlite3.Row  # the ledger reads columns by name
            rows = [(row["id"], row["entity_kind"], row["fields"])
                    for row in conflict_rows(conn)]
    except sqlite3.Error:
        return []
    return [CompletionItem(str(row[0]), help=f"{row[1]}: {row[2]}") for row in rows
            if str(row[0]).startswith(incomplete)]


def complete_remote(ctx: click.Context, param: click.Parameter,
                    incomplete: str) -> list[CompletionItem]:
    """Names of the configured remotes."""
    try:
        config = cfg.load_config()
    except LocalHubError:
        return []
    return [CompletionItem(name, help=remote.shown_url)
            for name, remote in sorted(config.remotes.items()) if name.startswith(incomplete)]
