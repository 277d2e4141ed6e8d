"""Three-way merge of snapshots, per field and per custom-property key. Pure functions.

``merge(base, local, remote)`` decides every field (and every ``custom_properties`` key, an
absent key being a value of its own) independently:

* both sides equal                 -> that value
* only one side changed from base  -> that side's value
* both changed, to different values -> a conflict: the remote keeps its value, the local side
  keeps its own, and the field is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localhub.types import CP

__all__ = ["ABSENT", "CP", "Merge", "diff", "merge", "override"]


class _Absent:
    """A custom property key that is not set (distinct from any value, JSON null included)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass
class Merge:
    """The outcome: what the remote and the local copy should become, and the conflicts.

    ``conflicts`` maps a field name (``custom_properties.<key>`` for a property) to
    ``(base, local, remote)``, ABSENT standing for a missing property.
    """

    to_remote: dict[str, Any]
    to_local: dict[str, Any]
    conflicts: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)


def _pick(base: Any, local: Any, remote: Any) -> tuple[Any, Any, bool]:
    """(value for remote, value for local, conflict?) of one field."""
    if local == remote:
        return local, local, False
    if local == base:
        return remote, remote, False
    if remote == base:
        return local, local, False
    return remote, local, True


def merge(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> Merge:
    """Merge two snapshots that both descend from ``base``."""
    to_remote: dict[str, Any] = {}
    to_local: dict[str, Any] = {}
    conflicts: dict[str, tuple[Any, Any, Any]] = {}
    for name in sorted(set(base) | set(local) | set(remote)):
        if name == CP:
            continue
        b, lo, r = base.get(name), local.get(name), remote.get(name)
        to_remote[name], to_local[name], conflict = _pick(b, lo, r)
        if conflict:
            conflicts[name] = (b, lo, r)
    if CP in base or CP in local or CP in remote:
        bp, lp, rp = base.get(CP) or {}, local.get(CP) or {}, remote.get(CP) or {}
        rmap: dict[str, Any] = {}
        lmap: dict[str, Any] = {}
        for key in sorted(set(bp) | set(lp) | set(rp)):
            b, lo, r = bp.get(key, ABSENT), lp.get(key, ABSENT), rp.get(key, ABSENT)
            rv, lv, conflict = _pick(b, lo, r)
            if rv is not ABSENT:
                rmap[key] = rv
            if lv is not ABSENT:
                lmap[key] = lv
            if conflict:
                conflicts[f"{CP}.{key}"] = (b, lo, r)
        to_remote[CP] = rmap
        to_local[CP] = lmap
    return Merge(to_remote, to_local, conflicts)


def diff(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """Top-level fields whose values differ."""
    return {name for name in set(old) | set(new) if old.get(name) != new.get(name)}


def override(snap: dict[str, Any], conflicts: dict[str, tuple[Any, Any, Any]], side: int
             ) -> dict[str, Any]:
    """``snap`` with each conflicting field (or property key) set to one side of its
    ``(base, local, remote)`` triple: ``side`` 1 local (policy ours), 2 remote (theirs)."""
    out = dict(snap)
    props = dict(out.get(CP) or {})
    for name, triple in conflicts.items():
        value = triple[side]
        if name.startswith(CP + "."):
            key = name[len(CP) + 1:]
            if value is ABSENT or value is None:
                props.pop(key, None)
            else:
                props[key] = value
        else:
            out[name] = value
    if CP in out or props:
        out[CP] = props
    return out
