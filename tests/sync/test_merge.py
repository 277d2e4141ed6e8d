"""Three-way merge: properties (hypothesis) and worked examples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localhub.sync.merge import CP, merge

pytestmark = pytest.mark.own_server  # no server: the merge function alone

FIELDS = ["description", "owner", "state"]
values = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "LIVE", "ARCHIVED"]))
cells = st.sampled_from([{"type": "MetadataStringValue", "string_value": "x"},
                         {"type": "MetadataStringValue", "string_value": "y"},
                         {"type": "MetadataIntValue", "int_value": "1"},
                         {"type": "MetadataDoubleValue", "double_value": 1.0}])
props = st.dictionaries(st.sampled_from(["k1", "k2", "k3"]), cells, max_size=3)


@st.composite
def snapshots(draw: Any) -> dict[str, Any]:
    snap = {name: draw(values) for name in FIELDS}
    snap[CP] = draw(props)
    return snap


@given(snapshots(), snapshots())
def test_one_sided_changes_win(base: dict[str, Any], other: dict[str, Any]) -> None:
    m = merge(base, other, base)
    assert m.to_remote == other and m.to_local == other and not m.conflicts
    m = merge(base, base, other)
    assert m.to_remote == other and m.to_local == other and not m.conflicts


@given(snapshots(), snapshots())
def test_same_change_both_sides_is_no_conflict(base: dict[str, Any], same: dict[str, Any]
                                               ) -> None:
    m = merge(base, same, same)
    assert m.to_remote == same == m.to_local and not m.conflicts


@given(snapshots(), snapshots(), snapshots())
def test_symmetry(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> None:
    a, b = merge(base, local, remote), merge(base, remote, local)
    assert set(a.conflicts) == set(b.conflicts)
    for name, (bv, lv, rv) in a.conflicts.items():
        assert b.conflicts[name] == (bv, rv, lv)
    # Away from conflicts, both directions agree.
    for name in FIELDS:
        if name not in a.conflicts:
            assert a.to_remote[name] == a.to_local[name] == b.to_remote[name]


@given(snapshots(), snapshots(), snapshots())
def test_every_value_comes_from_a_side_and_conflicts_are_exact(
        base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> None:
    m = merge(base, local, remote)
    for name in FIELDS:
        changed_both = local[name] != base[name] and remote[name] != base[name] \
            and local[name] != remote[name]
        assert (name in m.conflicts) == changed_both
        if changed_both:
            assert m.to_remote[name] == remote[name] and m.to_local[name] == local[name]
        else:
            assert m.to_remote[name] == m.to_local[name] in (local[name], remote[name])
    keys = set(base[CP]) | set(local[CP]) | set(remote[CP])
    for key in keys:
        b, lo, r = (s[CP].get(key) for s in (base, local, remote))
        changed_both = lo != b and r != b and lo != r
        assert (f"{CP}.{key}" in m.conflicts) == changed_both
        if not changed_both:
            assert m.to_remote[CP].get(key) == m.to_local[CP].get(key)


@given(snapshots(), snapshots(), snapshots())
def test_merge_is_idempotent(base: dict[str, Any], local: dict[str, Any],
                             remote: dict[str, Any]) -> None:
    """Merging the outcome again against the remote's new state changes nothing more."""
    m = merge(base, local, remote)
    again = merge(remote, m.to_local, m.to_remote)
    assert again.to_remote == m.to_local if not m.conflicts else True
    assert merge(m.to_remote, m.to_remote, m.to_remote).to_remote == m.to_remote


def test_worked_examples() -> None:
    base = {"description": "d0", "state": "LIVE", CP: {"a": 1, "b": 2}}
    local = {"description": "mine", "state": "LIVE", CP: {"a": 1, "b": 2, "new": 3}}
    remote = {"description": "d0", "state": "ARCHIVED", CP: {"b": 2}}
    m = merge(base, local, remote)
    assert not m.conflicts
    assert m.to_remote == {"description": "mine", "state": "ARCHIVED", CP: {"b": 2, "new": 3}}
    local2 = {"description": "mine", "state": "LIVE", CP: {"a": 5, "b": 2}}
    remote2 = {"description": "theirs", "state": "LIVE", CP: {"b": 2}}
    m = merge(base, local2, remote2)
    assert set(m.conflicts) == {"description", f"{CP}.a"}
    assert m.to_remote["description"] == "theirs" and m.to_local["description"] == "mine"
    assert m.to_remote[CP] == {"b": 2} and m.to_local[CP] == {"a": 5, "b": 2}
