"""One cell format (issue #10 part 4): a database whose sync tables hold custom properties in
the older snapshot cell (``{"type": ..., "int_value": ...}``) is rewritten once, on open,
to the wire cell, and its next sync sees no spurious change."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from localhub.conflict_view import conflict_data
from localhub.db import SCHEMA_VERSION
from localhub.sync import list_conflicts
from localhub.sync.snapshot import content_hash, update_body
from localhub.types import ModelVersion

from tests.support.sync_env import Env


def _old_cell(cell: Any) -> Any:
    """A wire cell as the older snapshot cell."""
    return {"type": cell["metadataType"], **{k: v for k, v in cell.items()
                                             if k != "metadataType"}}


def _old_side(side: dict[str, Any]) -> dict[str, Any]:
    out = dict(side)
    for name, value in side.items():
        if name == "custom_properties":
            out[name] = {k: _old_cell(c) for k, c in value.items()}
        elif name.startswith("custom_properties.") and value is not None:
            out[name] = _old_cell(value)
    return out


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _downgrade(path: Path, uid: str) -> None:
    """Rewrite the sync tables as an older localhub left them: old cells (with their hashes),
    an old conflict and an old sent content, schema version 3."""
    conn = sqlite3.connect(path)
    with conn:
        for remote, entity_uid, base in conn.execute(
                "SELECT remote, entity_uid, base FROM sync_links").fetchall():
            old = _text(_old_side(json.loads(base)))
            conn.execute("UPDATE sync_links SET base = ?, base_hash = ? WHERE remote = ? AND "
                         "entity_uid = ?", (old, hashlib.sha256(old.encode()).hexdigest(),
                                            remote, entity_uid))
        remote = conn.execute("SELECT remote FROM sync_links").fetchone()[0]
        cell = {"metadataType": "MetadataIntValue", "int_value": "3"}
        conn.execute(
            "INSERT INTO sync_conflicts (remote, entity_uid, entity_table, entity_kind, kind, "
            "fields, base, local, remote_values, remote_id, message, created_at, resolved_at, "
            "resolution) VALUES (?, ?, 'contexts', 'model-version', 'update-update', ?, ?, ?, "
            "?, '2', 'old', 1, 1, 'theirs')",
            (remote, uid, _text(["custom_properties.n"]),
             _text(_old_side({"custom_properties.n": None})),
             _text(_old_side({"custom_properties.n": cell})),
             _text(_old_side({"custom_properties.n": {**cell, "int_value": "4"}}))))
        conn.execute("INSERT INTO sync_items (remote, entity_uid, sent) VALUES (?, 'x', ?)",
                     (remote, _text([_old_side({"custom_properties": {"n": cell}})])))
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_wire_cells'")
        conn.execute("PRAGMA user_version = 3")
    conn.close()


def test_old_cells_upgrade_and_sync_quietly(env: Env) -> None:
    """After the upgrade the old database syncs a remote change of one property and a local
    change of another with no conflict and one write; stored JSON is wire cells with
    matching hashes."""
    a = env.store("a")
    _rm, mv, _art = a.register_model("m", "s3://m/1", version="v1",
                                     metadata={"auc": 0.5, "n": 3, "tag": "x", "ok": True})
    assert env.sync("a").created == 3
    with a.db.read() as conn:
        uid = conn.execute("SELECT uid FROM contexts WHERE id = ?", (int(mv.id or 0),)
                           ).fetchone()[0]
    a.close()
    env.stores.pop("a")
    path = env.tmp_path / "a.db"
    _downgrade(path, uid)

    a = env.store("a")  # opening upgrades
    with a.db.read() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        for base, base_hash in conn.execute("SELECT base, base_hash FROM sync_links"):
            assert base_hash == content_hash(json.loads(base))
            assert '"type"' not in base
        (sent,) = conn.execute("SELECT sent FROM sync_items WHERE entity_uid = 'x'").fetchone()
        assert json.loads(sent) == [{"custom_properties": {"n": {
            "metadataType": "MetadataIntValue", "int_value": "3"}}}]
    (old,) = list_conflicts(a, include_resolved=True)
    assert [(v["local"], v["remote"]) for v in conflict_data(a, old)["values"]] == [(3, 4)]

    # Another user changes a property; we edit the description: a clean three-way merge.
    remote = env.remote()
    try:
        theirs = remote.fetch(ModelVersion, "2").entity
        theirs.custom_properties = {**(theirs.custom_properties or {}), "auc": 0.75}
        remote.patch(ModelVersion, "2", update_body(theirs, {"custom_properties", "state"}))
    finally:
        remote.close()
    version = a.get(ModelVersion, mv.id)
    version.description = "mine"
    version.custom_properties = {**(version.custom_properties or {}), "tag": "y"}
    a.update(version)
    env.proxy.reset()
    report = env.sync("a")
    assert (report.conflicts, report.created, report.updated) == (0, 0, 1)
    # One write (an If-Match probe answered 412 writes nothing).
    writes = [m for m, _path, status in env.proxy.log() if m in ("PATCH", "POST")
              and status == 200]
    assert writes == ["PATCH"]
    remote = env.remote()
    try:
        assert remote.fetch(ModelVersion, "2").entity.custom_properties == {
            "auc": 0.75, "n": 3, "tag": "y", "ok": True}
    finally:
        remote.close()
    assert a.get(ModelVersion, mv.id).custom_properties == {"auc": 0.75, "n": 3, "tag": "y",
                                                            "ok": True}
    assert env.sync("a").updated == 0


def test_new_cells_are_left_as_they_are(env: Env) -> None:
    """The upgrade rewrites only old cells: links already in the wire form keep their text."""
    a = env.store("a")
    a.register_model("m", "s3://m/1", version="v1", metadata={"n": 3})
    env.sync("a")
    with a.db.read() as conn:
        before = conn.execute("SELECT * FROM sync_links ORDER BY entity_uid").fetchall()
    a.close()
    env.stores.pop("a")
    conn = sqlite3.connect(env.tmp_path / "a.db")
    with conn:
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_wire_cells'")
        conn.execute("PRAGMA user_version = 3")
    conn.close()
    a = env.store("a")
    with a.db.read() as conn:
        after = conn.execute("SELECT * FROM sync_links ORDER BY entity_uid").fetchall()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
