"""What sync tests compare: a store's content by name, and a store against the remote after
quiescence (equal except for fields of open conflicts)."""

from __future__ import annotations

from typing import Any

from localhub.rest_client import RemoteRegistry
from localhub.store import SQLiteStore
from localhub.sync import list_conflicts
from localhub.sync.snapshot import snapshot
from localhub.types import Artifact, ModelVersion, RegisteredModel

from .sync_env import Env

__all__ = ["check_converged", "content"]


def content(store: Any) -> dict[str, Any]:
    """Models, versions and artifacts by name with their content fields."""
    out: dict[str, Any] = {}
    for rm in store.list_page(RegisteredModel).items:
        out[rm.name] = (rm.description, rm.owner, rm.state.value, rm.custom_properties,
                        {})
        for mv in store.list_page(ModelVersion, parent_id=rm.id).items:
            arts = {a.name: (a.uri, a.model_format_name, a.storage_key, a.state.value)
                    for a in store.version_artifacts(mv.id)}
            out[rm.name][4][mv.name] = (mv.description, mv.author, mv.state.value,
                                        mv.custom_properties, arts)
    return out


def check_converged(env: Env, store: SQLiteStore) -> None:
    """Every linked entity of ``store`` equals its remote copy except for the fields of its
    open conflicts; an unlinked one is blocked by a create conflict (its own or a parent's)."""
    remote = RemoteRegistry(env.server.url)
    frozen: dict[str, set[str]] = {}
    blocked: set[str] = set()
    for c in list_conflicts(store):
        if c.kind in ("create-different", "remote-missing"):
            blocked.add(c.entity_uid)
        frozen.setdefault(c.entity_uid, set()).update(f.split(".")[0] for f in c.fields)
    with store.db.read() as conn:
        links = {r["entity_uid"]: (r["entity_table"], r["remote_id"])
                 for r in conn.execute("SELECT * FROM sync_links")}
        uids = {r["uid"]: r["kind"] for t in ("contexts", "artifacts")
                for r in conn.execute(f"SELECT uid, kind FROM {t}")}
    for uid, kind in uids.items():
        if uid not in links:
            assert uid in blocked or _blocked_parent(store, uid, blocked), (kind, uid)
            continue
        table, remote_id = links[uid]
        cls: Any = Artifact if table == "artifacts" else (
            RegisteredModel if kind == "registered-model" else ModelVersion)
        mine = snapshot(_local(store, table, uid))
        theirs = snapshot(remote.fetch(cls, remote_id).entity)
        differ = {k for k in mine if mine[k] != theirs[k]}
        assert differ <= frozen.get(uid, set()), (kind, differ, mine, theirs)
    remote.close()


def _local(store: SQLiteStore, table: str, uid: str) -> Any:
    with store.db.read() as conn:
        local = store.load(conn, table, uid)
    assert local is not None
    return local.entity


def _blocked_parent(store: SQLiteStore, uid: str, blocked: set[str]) -> bool:
    with store.db.read() as conn:
        for table in ("contexts", "artifacts"):
            local = store.load(conn, table, uid)
            while local is not None and local.parent_uid is not None:
                if local.parent_uid in blocked:
                    return True
                local = store.load(conn, "contexts", local.parent_uid)
    return False
