"""Two-device conflict soak: two local stores edit the same models at random and sync at random
against one real ``localhub serve``; every difference left must be a listed conflict.

Per run (one seed): a fresh remote; store A registers a few models and syncs, store B pulls
them. Then, for ``steps`` random steps, one of:

* A or B edits offline: model / version / artifact description, owner, author, URI, custom
  property keys (add, change, remove), version and model state (archive / unarchive), a new
  version of a shared model (same names on both devices now and then), a new model, and now
  and then the *same new model name on both devices* (a ``create-different`` conflict when
  the content differs);
* A or B syncs: ``SyncEngine`` in-process (full, push-only or pull-only) or ``localhub sync``
  as a process;
* a third party edits the remote directly, with the official ``model_registry`` client or a
  plain HTTP GET + PATCH against ``serve`` (blind writes, no ``If-Match``).

Conflicts are never resolved during these steps. Then both devices sync once more and:

* every field-level difference (model / version / artifact fields and each custom property
  key) between a device and the remote must be covered by an open conflict listed for that
  device (``localhub.sync.list_conflicts``) on that entity (and that field when the conflict
  names fields), or sit on an entity held back by a ``create-different`` / ``remote-missing``
  conflict on itself or an ancestor (its changes stay queued);
* every value a device wrote must have reached the remote (seen there after one of its
  syncs), or be kept locally under such a conflict.

While the steps run, every change of a remote value made by a device's sync is checked
against what that device had *seen*: a device may replace a remote value only when it had
seen that value (it was on the remote at the end of the device's previous sync, its pull
or its own write: the three-way merge base; for a field of a resolved conflict, the remote
value the conflict showed). Replacing a value it had not seen, another device's or the
third party's, without recording a conflict is a silent overwrite. And right after every
pull, each difference between the device and the remote must be explained by a listed
conflict or by the device's own queued writes (a pull that missed a remote change).

Finally every conflict is resolved by a policy (``theirs`` on one device, ``ours`` on the
other, chosen per seed; resolutions that raise new conflicts are resolved the same way), both
devices sync until quiet, and A, B and the remote must hold the same content.

Run::

    python -m tests.soak.soak_devices              # 20 seeds x 100 steps
    python -m tests.soak.soak_devices --quick      # 3 seeds x 25 steps
    python -m tests.soak.soak_devices --runs 5 --steps 200 --seed 7 -v

Figures of the line ``devices: runs=N converged=N duplicates=N lost=N silent_overwrites=N``:

* ``runs``: seeds run; ``converged``: runs whose A, B and remote were equal after resolving
  every conflict and syncing until quiet;
* ``duplicates``: rows sharing a kind, parent and name, on the remote and in both stores;
* ``lost``: values a device wrote that are neither on the remote nor kept locally under a
  listed conflict (or a change queued behind one);
* ``silent_overwrites``: differences between a device and the remote that no listed conflict
  covers, at the end and (each once) right after any pull, plus remote values replaced by a
  device's sync that the device had not seen, without a conflict recorded for that field in
  that sync.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from localhub.codec import decode_properties
from localhub.store import SQLiteStore
from localhub.sync import Conflict, SyncEngine, list_conflicts, resolve
from localhub.types import (
    ArtifactState,
    ModelVersion,
    ModelVersionState,
    RegisteredModel,
    RegisteredModelState,
)

from tests.soak._soak import Stack, Tally, duplicates_in, finish, localhub_cmd

NAME = "devices"
API = "/api/model_registry/v1"
CP = "custom_properties"
EXISTS = "_exists"
#: Conflict kinds that hold a whole entity (and its children) back from the remote.
BLOCKING = ("create-different", "remote-missing")

Key = tuple[str, ...]  # ("m", model) | ("v", model, version) | ("a", model, version, artifact)
Flat = dict[Key, dict[str, Any]]


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()

_FIELDS: dict[str, tuple[str, ...]] = {
    "m": ("description", "owner", "state"),
    "v": ("description", "author", "state"),
    "a": ("description", "uri", "state", "model_format_name"),
}


# -- content as (entity, field) -> value ---------------------------------------------------------

def _cells(entity: Any, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {EXISTS: True}
    for name in _FIELDS[kind]:
        value = getattr(entity, name, None)
        out[name] = getattr(value, "value", value)
    for key, value in (entity.custom_properties or {}).items():
        out[f"{CP}.{key}"] = (type(value).__name__, value)  # 1, 1.0 and True stay distinct
    return out


def flat(store: SQLiteStore) -> Flat:
    """Every model, version and artifact of ``store`` by natural key, with its fields."""
    out: Flat = {}
    models: list[Any] = store.list_page(RegisteredModel).items
    for rm in models:
        out[("m", rm.name)] = _cells(rm, "m")
        versions: list[Any] = store.list_page(ModelVersion, parent_id=rm.id).items
        for mv in versions:
            out[("v", rm.name, mv.name)] = _cells(mv, "v")
            for art in store.version_artifacts(str(mv.id)):
                out[("a", rm.name, mv.name, str(art.name))] = _cells(art, "a")
    return out


def _ancestry(key: Key) -> list[Key]:
    """The model, version and artifact keys down to ``key`` (itself included)."""
    out: list[Key] = [("m", key[1])]
    if len(key) >= 3:
        out.append(("v", key[1], key[2]))
    if len(key) == 4:
        out.append(key)
    return out


def _key_of(store: SQLiteStore, conflict: Conflict) -> Key | None:
    """The natural key of a conflict's local entity."""
    with store.db.read() as conn:
        if conflict.entity_kind in ("registered-model", "model-version"):
            row = conn.execute("SELECT c.kind, c.name, p.name FROM contexts c LEFT JOIN contexts "
                               "p ON p.id = c.parent_id WHERE c.uid = ?",
                               (conflict.entity_uid,)).fetchone()
            if row is None:
                return None
            return ("m", row[1]) if row[0] == "registered-model" else ("v", row[2], row[1])
        row = conn.execute("SELECT a.name, v.name, m.name FROM artifacts a JOIN contexts v ON "
                           "v.id = a.version_id JOIN contexts m ON m.id = v.parent_id "
                           "WHERE a.uid = ?", (conflict.entity_uid,)).fetchone()
        return None if row is None else ("a", row[2], row[1], row[0])


def _covers(conflict: Conflict, field_: str) -> bool:
    """Does this conflict (on the entity) speak for ``field_``?"""
    if conflict.kind in BLOCKING or not conflict.fields:
        return True
    return field_ in conflict.fields or (field_.startswith(CP + ".") and CP in conflict.fields)


@dataclass
class Listed:
    """A device's conflicts by natural key."""

    by_key: dict[Key, list[Conflict]] = field(default_factory=dict)

    @classmethod
    def of(cls, store: SQLiteStore, conflicts: Iterable[Conflict]) -> Listed:
        out = cls()
        for c in conflicts:
            key = _key_of(store, c)
            if key is not None:
                out.by_key.setdefault(key, []).append(c)
        return out

    def blocked(self, key: Key) -> bool:
        return any(c.kind in BLOCKING for k in _ancestry(key) for c in self.by_key.get(k, []))

    def covers(self, key: Key, field_: str) -> bool:
        return self.blocked(key) or any(_covers(c, field_) for c in self.by_key.get(key, []))


# -- devices --------------------------------------------------------------------------------------

@dataclass
class Device:
    """One local store, what it wrote that the remote has not confirmed, and what it has seen."""

    name: str
    path: Path
    store: SQLiteStore
    #: (key, field) -> the last value written here and not yet seen on the remote.
    pending: dict[tuple[Key, str], Any] = field(default_factory=dict)
    #: The remote's content as this device last saw it (entities it knows).
    seen: Flat = field(default_factory=dict)
    #: Entities created here and not pushed since.
    unpushed: set[Key] = field(default_factory=set)

    def note_write(self, key: Key, field_: str, value: Any) -> None:
        known = self.seen.get(key)
        if known is not None and known.get(field_, ABSENT) == value:
            self.pending.pop((key, field_), None)  # back to what the remote has: no change
        else:
            self.pending[(key, field_)] = value


@dataclass
class Run:
    """Everything one seed needs."""

    stack: Stack
    rng: random.Random
    remote: SQLiteStore
    devices: dict[str, Device]
    stats: Counter[str]
    notes: list[str]
    cli_rate: float
    third_party_rate: float
    verbose: bool
    silent: int = 0
    step: int = 0
    #: (key, field) -> who put the remote's current value there (for messages).
    author: dict[tuple[Key, str], str] = field(default_factory=dict)
    #: The remote's content after the previous step.
    snap: Flat = field(default_factory=dict)
    official: Any = None
    #: Differences already counted by the mirror check: (device, key, field, local, remote).
    diverged: set[tuple[str, Key, str, str, str]] = field(default_factory=set)
    #: The report of the last sync (None when the ``localhub`` process failed).
    report: dict[str, Any] | None = None

    def note(self, text: str) -> None:
        self.notes.append(text)
        if self.verbose:
            print(f"  ! {text}", file=sys.stderr)


# -- offline edits --------------------------------------------------------------------------------

def _tag(dev: Device, run: Run) -> str:
    return f"{dev.name}{run.step}"


def _model(store: SQLiteStore, name: str) -> RegisteredModel:
    rm = store.find(RegisteredModel, name=name)
    assert rm is not None, name
    return rm


def _version(store: SQLiteStore, model: str, version: str) -> ModelVersion:
    mv = store.find(ModelVersion, name=version, parent_id=_model(store, model).id)
    assert mv is not None, (model, version)
    return mv


def _entity(store: SQLiteStore, key: Key) -> Any:
    if key[0] == "m":
        return _model(store, key[1])
    mv = _version(store, key[1], key[2])
    if key[0] == "v":
        return mv
    return next(a for a in store.version_artifacts(str(mv.id)) if a.name == key[3])


#: A change to make: ("property", key) | ("state", "") | ("field", name).
Change = tuple[str, str]
_OTHER_FIELD = {"m": "owner", "v": "author", "a": "uri"}


def _choose_change(rng: random.Random, key: Key) -> Change:
    roll = rng.random()
    if roll < 0.4:
        return ("property", f"k{rng.randint(0, 2)}")
    if roll < 0.6:
        return ("state", "")
    return ("field", rng.choice(("description", _OTHER_FIELD[key[0]])))


def _apply_change(run: Run, dev: Device, key: Key, change: Change) -> str:
    """Make ``change`` to ``key`` in ``dev`` (offline); record what it wrote."""
    rng, store = run.rng, dev.store
    before = flat(store)
    entity = _entity(store, key)
    value = _tag(dev, run)
    what, name = change
    if what == "property":
        props = dict(entity.custom_properties or {})
        roll = rng.random()
        if roll < 0.25 and name in props:
            props.pop(name)
        elif roll < 0.4:
            props[name] = rng.randint(0, 3)
        else:
            props[name] = value
        entity.custom_properties = props or None
    elif what == "state" and key[0] == "a":
        entity.state = rng.choice([ArtifactState.LIVE, ArtifactState.PENDING])
    elif what == "state":
        archived = entity.state.value == "ARCHIVED"
        if key[0] == "m":
            entity.state = RegisteredModelState.LIVE if archived else RegisteredModelState.ARCHIVED
        else:
            entity.state = ModelVersionState.LIVE if archived else ModelVersionState.ARCHIVED
    else:
        setattr(entity, name, f"s3://{value}" if name == "uri" else value)
    store.update(entity)
    _record_writes(dev, before, flat(store))
    return f"{dev.name} edits {'/'.join(key[1:])} {what} {name}".rstrip()


def _pick_key(run: Run, keys: set[Key]) -> Key:
    """Mostly the models everybody shares (conflicts come from there), else anything."""
    shared = sorted(k for k in keys if k[1].startswith("m") and (len(k) < 3 or k[2] == "v1"))
    if shared and run.rng.random() < 0.6:
        return run.rng.choice(shared)
    return run.rng.choice(sorted(keys))


def _register(dev: Device, model: str, version: str, uri: str,
              owner: str | None = None) -> str:
    store = dev.store
    if store.find(RegisteredModel, name=model) is not None:
        found = store.find(ModelVersion, name=version,
                           parent_id=_model(store, model).id)
        if found is not None:
            return f"skip: {model}/{version} exists"
    store.register_model(model, uri, version=version, owner=owner)
    for key in (("m", model), ("v", model, version), ("a", model, version, model)):
        if key not in dev.seen:
            dev.unpushed.add(key)
    return f"register {model}/{version}"


def _device_edit(run: Run, dev: Device) -> str:
    rng = run.rng
    local = flat(dev.store)
    roll = rng.random()
    if roll < 0.75 and local:
        key = _pick_key(run, set(local))
        return _apply_change(run, dev, key, _choose_change(rng, key))
    before = local
    models = sorted(k[1] for k in local if k[0] == "m")
    if roll < 0.9 and models:
        model = rng.choice(models)
        did = _register(dev, model, f"v{rng.randint(2, 5)}",
                        f"s3://{model}/{rng.choice(['x', _tag(dev, run)])}")
    else:
        name = f"p{rng.randint(0, 9)}"  # a small pool: the other device may take it too
        did = _register(dev, name, "v1",
                        f"s3://{name}/{rng.choice(['x', _tag(dev, run)])}",
                        owner=rng.choice([None, dev.name]))
    _record_writes(dev, before, flat(dev.store))
    return f"{dev.name}: {did}"


def _both_edit(run: Run) -> str:
    """Both devices change the same thing of the same entity, each its own way."""
    a, b = run.devices["a"], run.devices["b"]
    keys = set(flat(a.store)) & set(flat(b.store))
    if not keys:
        return "both edit: nothing shared"
    key = _pick_key(run, keys)
    change = _choose_change(run.rng, key)
    return "; ".join(_apply_change(run, dev, key, change) for dev in (a, b))


def _both_register(run: Run) -> str:
    """The same new model name on both devices (equal or different content)."""
    name = f"n{run.step}"
    same = run.rng.random() < 0.3
    for dev in run.devices.values():
        before = flat(dev.store)
        _register(dev, name, "v1", f"s3://{name}/{'same' if same else dev.name}")
        _record_writes(dev, before, flat(dev.store))
    return f"both register {name} ({'same' if same else 'different'} content)"


def _record_writes(dev: Device, before: Flat, after: Flat) -> None:
    for key in before.keys() | after.keys():
        old, new = before.get(key, {}), after.get(key, {})
        for name in old.keys() | new.keys():
            if old.get(name, ABSENT) != new.get(name, ABSENT):
                dev.note_write(key, name, new.get(name, ABSENT))


# -- the third party ------------------------------------------------------------------------------

def _third_party(run: Run) -> str:
    """A blind write straight on the remote: the official client or HTTP GET + PATCH."""
    rng = run.rng
    remote = flat(run.remote)
    key = rng.choice(sorted(remote))
    value = f"t{run.step}"
    what = rng.choice(["description", "property", "property", "state"])
    if key[0] != "a" and rng.random() < 0.4:
        return _third_party_official(run, key, what, value)
    api = run.stack.remote_url + API
    http = requests.Session()
    try:
        model = http.get(f"{api}/registered_model", params={"name": key[1]}, timeout=10).json()
        data, path = model, f"/registered_models/{model['id']}"
        if key[0] != "m":
            data = http.get(f"{api}/model_version", params={
                "name": key[2], "parentResourceId": model["id"]}, timeout=10).json()
            path = f"/model_versions/{data['id']}"
        if key[0] == "a":
            data = http.get(f"{api}/artifact", params={
                "name": key[3], "parentResourceId": data["id"]}, timeout=10).json()
            path = f"/artifacts/{data['id']}"
        body: dict[str, Any] = {"state": data["state"]}
        if key[0] == "a":
            body["artifactType"] = data["artifactType"]
        if what == "description":
            body["description"] = value
        elif what == "property":
            props = dict(data.get("customProperties") or {})
            prop = f"k{rng.randint(0, 2)}"
            if prop in props and rng.random() < 0.3:
                props.pop(prop)
            else:
                props[prop] = {"metadataType": "MetadataStringValue", "string_value": value}
            body["customProperties"] = props
        elif key[0] == "a":
            body["state"] = rng.choice(["LIVE", "PENDING"])
        else:
            body["state"] = "LIVE" if data["state"] == "ARCHIVED" else "ARCHIVED"
        reply = http.patch(api + path, json=body, timeout=10)
        if reply.status_code != 200:
            run.note(f"third party PATCH {path}: {reply.status_code} {reply.text[:200]}")
    finally:
        http.close()
    run.stats["third_party_http"] += 1
    return f"third party (http) {'/'.join(key[1:])} {what}"


def _third_party_official(run: Run, key: Key, what: str, value: str) -> str:
    if run.official is None:
        import logging

        from model_registry import ModelRegistry

        port = int(run.stack.remote_url.rsplit(":", 1)[1])
        run.official = ModelRegistry("http://127.0.0.1", port, author="third-party",
                                     is_secure=False, user_token="unused",
                                     log_level=logging.ERROR)  # not "port is not 80"
    mr = run.official
    entity = (mr.get_registered_model(key[1]) if key[0] == "m"
              else mr.get_model_version(key[1], key[2]))
    if what == "description":
        entity.description = value
    elif what == "property":
        props = dict(entity.custom_properties or {})
        props[f"k{run.rng.randint(0, 2)}"] = value
        entity.custom_properties = props
    else:
        archived = entity.state.value == "ARCHIVED"
        entity.state = type(entity.state)("LIVE" if archived else "ARCHIVED")
    mr.update(entity)
    run.stats["third_party_official"] += 1
    return f"third party (official client) {'/'.join(key[1:])} {what}"


# -- syncing --------------------------------------------------------------------------------------

def _engine_sync(run: Run, dev: Device, push: bool, pull: bool) -> dict[str, Any]:
    with SyncEngine(dev.store, run.stack.url, sleep=lambda _s: None) as engine:
        report = engine.run(push=push, pull=pull)
    if report.stopped or report.set_aside:
        run.note(f"step {run.step}: sync {dev.name} stopped={report.stopped} "
                 f"errors={report.errors}")
    out: dict[str, Any] = report.to_dict()
    return out


def _cli_sync(run: Run, dev: Device) -> dict[str, Any] | None:
    proc = subprocess.run(localhub_cmd("--db", str(dev.path), "sync", "--remote",
                                       run.stack.url, "--json"),
                          env=run.stack.env, capture_output=True, text=True, timeout=120,
                          check=False)
    if proc.returncode not in (0, 3):  # 3: conflicts remain, expected here
        run.note(f"step {run.step}: localhub sync ({dev.name}) exit {proc.returncode}: "
                 f"{proc.stderr.strip()[-300:]}")
        return None
    report: dict[str, Any] = json.loads(proc.stdout)
    if report["stopped"] or report["set_aside"]:
        run.note(f"step {run.step}: localhub sync ({dev.name}) {report}")
    return report


def _pushed_keys(store: SQLiteStore) -> set[Key]:
    out: set[Key] = set()
    for change in store.pending():
        if change.model is None:
            continue
        if change.entity == RegisteredModel.kind:
            out.add(("m", change.model))
        elif change.entity == ModelVersion.kind:
            out.add(("v", change.model, str(change.version)))
        else:
            out.add(("a", change.model, str(change.version), str(change.artifact)))
    return out


def sync(run: Run, dev: Device, how: str) -> str:
    """Sync ``dev``; check what its sync changed on the remote against what it had seen."""
    before = flat(run.remote)
    seen_before = dict(dev.seen)
    known_ids = {c.id for c in list_conflicts(dev.store, include_resolved=True)}
    queued = _pushed_keys(dev.store)
    push, pull = how != "pull-only", how != "push-only"
    if how == "cli":
        run.report = _cli_sync(run, dev)
        run.stats["syncs_cli"] += 1
    else:
        run.report = _engine_sync(run, dev, push, pull)
        run.stats["syncs_engine"] += 1
    after = flat(run.remote)
    new = [c for c in list_conflicts(dev.store, include_resolved=True) if c.id not in known_ids]
    listed = Listed.of(dev.store, new)
    run.stats["conflicts_recorded"] += len(new)
    for c in new:
        run.stats[f"conflict:{c.kind}"] += 1
    for key in before.keys() & after.keys():
        old, now = before[key], after[key]
        for name in old.keys() | now.keys():
            was, became = old.get(name, ABSENT), now.get(name, ABSENT)
            if was == became:
                continue
            run.stats["remote_values_replaced"] += 1
            knew = seen_before.get(key)
            if knew is not None and knew.get(name, ABSENT) == was:
                pass
            elif listed.covers(key, name):
                run.stats["replaced_with_conflict"] += 1
            else:
                run.silent += 1
                run.note(f"step {run.step}: sync of {dev.name} replaced {'/'.join(key[1:])} "
                         f"{name} = {was!r} (written by "
                         f"{run.author.get((key, name), 'the seed')}) with {became!r}; "
                         f"{dev.name} had seen "
                         f"{'nothing' if knew is None else repr(knew.get(name, ABSENT))}")
            run.author[(key, name)] = dev.name
    for key in after.keys() - before.keys():
        for name in after[key]:
            run.author[(key, name)] = dev.name
    _after_sync(run, dev, after, push, pull, queued)
    return f"sync {dev.name} ({how})"


def _after_sync(run: Run, dev: Device, remote: Flat, push: bool, pull: bool,
                queued: set[Key]) -> None:
    """Update what ``dev`` has seen and which of its writes the remote now holds."""
    if push:
        dev.unpushed.clear()
    local = flat(dev.store)
    listed = Listed.of(dev.store, list_conflicts(dev.store))
    for key in local.keys() & remote.keys():
        if listed.blocked(key) or any(k in dev.unpushed for k in _ancestry(key)):
            dev.seen.pop(key, None)
        elif pull or key in queued:
            dev.seen[key] = remote[key]
    for (key, name), value in list(dev.pending.items()):
        if remote.get(key, {}).get(name, ABSENT) == value and (push or name != EXISTS):
            del dev.pending[(key, name)]
    if pull:
        _check_mirror(run, dev, local, remote, listed)


def _differences(local: Flat, remote: Flat) -> Iterator[tuple[Key, str]]:
    """(entity, field) where they differ; a missing entity is one difference (EXISTS)."""
    for key in sorted(local.keys() | remote.keys()):
        mine, theirs = local.get(key), remote.get(key)
        if mine is None or theirs is None:
            yield key, EXISTS
            continue
        for name in sorted(mine.keys() | theirs.keys()):
            if mine.get(name, ABSENT) != theirs.get(name, ABSENT):
                yield key, name


def _check_mirror(run: Run, dev: Device, local: Flat, remote: Flat, listed: Listed) -> None:
    """Right after a pull, the device mirrors the remote except where a listed conflict or
    its own queued writes explain it. A difference unexplained now is a remote value the
    device missed (or a write of its own lost), even if a later sync papers over it."""
    for key, name in _differences(local, remote):
        here = local.get(key, {}).get(name, ABSENT)
        queued = (key, name) in dev.pending and dev.pending[(key, name)] == here
        if (listed.covers(key, name) or queued
                or any(k in dev.unpushed for k in _ancestry(key))):
            continue
        there = remote.get(key, {}).get(name, ABSENT)
        if (dev.name, key, name, repr(here), repr(there)) in run.diverged:
            continue
        run.diverged.add((dev.name, key, name, repr(here), repr(there)))
        run.silent += 1
        run.note(f"step {run.step}: after a pull {dev.name} has {_label(key)} {name} = "
                 f"{here!r}, the remote {there!r}, and no listed conflict or queued write "
                 "explains it")


def _value(name: str, wire: Any) -> Any:
    """A conflict's value of ``name`` (snapshot form) as :func:`flat` shows it."""
    if not name.startswith(CP + "."):
        return wire
    if wire is None:
        return ABSENT
    value = decode_properties({"x": wire}, request=False)["x"]
    return (type(value).__name__, value)


def _shown(dev: Device, conflict: Conflict) -> None:
    """Resolving a conflict is a decision against the remote values it shows: from now on,
    they are what the device has seen of those fields (a push may replace them, not others)."""
    key = _key_of(dev.store, conflict)
    if key is None:
        return
    if conflict.kind == "create-different":
        snap = conflict.remote_values
        cells = {EXISTS: True, **{n: snap.get(n) for n in _FIELDS[key[0]]}}
        cells.update({f"{CP}.{k}": _value(f"{CP}.{k}", v)
                      for k, v in (snap.get(CP) or {}).items()})
        dev.seen[key] = cells
        return
    cells = dict(dev.seen.get(key, {}))
    for name in conflict.fields:
        value = _value(name, conflict.remote_values.get(name))
        if value is ABSENT:
            cells.pop(name, None)
        else:
            cells[name] = value
    dev.seen[key] = cells


# -- checks ---------------------------------------------------------------------------------------

def _label(key: Key) -> str:
    return {"m": "model", "v": "version", "a": "artifact"}[key[0]] + " " + "/".join(key[1:])


def _check_end(run: Run, dev: Device) -> tuple[int, int]:
    """(uncovered differences, lost writes) of ``dev`` against the remote."""
    local, remote = flat(dev.store), flat(run.remote)
    conflicts = list_conflicts(dev.store, remote=run.stack.url)
    listed = Listed.of(dev.store, conflicts)
    run.stats["conflicts_open_at_end"] += len(conflicts)
    uncovered = lost = 0
    for key, name in _differences(local, remote):
        run.stats["differences"] += 1
        if listed.covers(key, name):
            run.stats["differences_covered"] += 1
            continue
        uncovered += 1
        run.note(f"{dev.name}: {_label(key)} {name}: local "
                 f"{local.get(key, {}).get(name, ABSENT)!r} != remote "
                 f"{remote.get(key, {}).get(name, ABSENT)!r}, no listed conflict")
    for (key, name), value in sorted(dev.pending.items(), key=repr):
        here = local.get(key, {}).get(name, ABSENT)
        if listed.covers(key, name) and here == value:
            run.stats["writes_held_by_conflict"] += 1
            continue
        lost += 1
        run.note(f"{dev.name}: wrote {_label(key)} {name} = {value!r}; the remote has "
                 f"{remote.get(key, {}).get(name, ABSENT)!r}, locally {here!r}, and no "
                 "listed conflict holds it")
    return uncovered, lost


def converge(run: Run, policies: dict[str, str], rounds: int = 12) -> bool:
    """Resolve every conflict by policy and sync until quiet; then A == B == remote."""
    for _ in range(rounds):
        for dev in run.devices.values():
            for c in list_conflicts(dev.store, remote=run.stack.url):
                _shown(dev, c)
                if run.rng.random() < run.cli_rate:
                    proc = subprocess.run(
                        localhub_cmd("--db", str(dev.path), "resolve", str(c.id),
                                     f"--{policies[dev.name]}"),
                        env=run.stack.env, capture_output=True, text=True, timeout=60,
                        check=False)
                    if proc.returncode != 0:
                        run.note(f"localhub resolve {c.id} --{policies[dev.name]}: exit "
                                 f"{proc.returncode} {proc.stderr.strip()[-300:]}")
                    run.stats["resolved_cli"] += 1
                else:
                    resolve(dev.store, c.id, policies[dev.name])
                    run.stats["resolved"] += 1
        quiet = True
        for dev in run.devices.values():
            sync(run, dev, "full")
            report = run.report or {"stopped": "failed"}
            if any(report[k] for k in ("created", "adopted", "updated", "pulled", "conflicts",
                                       "remaining", "open_conflicts", "stopped", "set_aside")):
                quiet = False
        run.stats["converge_rounds"] += 1
        if quiet:
            break
    remote = flat(run.remote)
    ok = True
    for dev in run.devices.values():
        local = flat(dev.store)
        if local != remote:
            ok = False
            for key in sorted(local.keys() | remote.keys()):
                if local.get(key) != remote.get(key):
                    run.note(f"not converged: {dev.name} {_label(key)}: local "
                             f"{local.get(key)} remote {remote.get(key)}")
    return ok


# -- one run --------------------------------------------------------------------------------------

@contextmanager
def session(stack: Stack, seed: int, stats: Counter[str] | None = None, *,
            cli_rate: float = 0.1, third_party_rate: float = 0.08,
            verbose: bool = False) -> Iterator[Run]:
    """Devices A and B (stores ``a.db``, ``b.db`` in the stack) and the remote, ready to go."""
    devices = {n: Device(n, stack.dir / f"{n}.db", stack.store(n)) for n in "ab"}
    remote = SQLiteStore(stack.remote_db)
    try:
        yield Run(stack, random.Random(seed), remote, devices,
                  Counter() if stats is None else stats, [], cli_rate, third_party_rate,
                  verbose)
    finally:
        for dev in devices.values():
            dev.store.close()
        remote.close()


def seed_models(run: Run, models: int) -> None:
    """A registers ``models`` models and syncs; B pulls them."""
    a, b = run.devices["a"], run.devices["b"]
    for m in range(models):
        before = flat(a.store)
        _register(a, f"m{m}", "v1", f"s3://m{m}/1")
        if m % 2:
            _apply_change(run, a, ("v", f"m{m}", "v1"), ("property", "k0"))
        _record_writes(a, before, flat(a.store))
    sync(run, a, "full")
    sync(run, b, "full")
    run.snap = flat(run.remote)


def third_party(run: Run) -> str:
    """A blind write on the remote by someone who is neither A nor B."""
    did = _third_party(run)
    after = flat(run.remote)
    for key, name in _changed(run.snap, after):
        run.author[(key, name)] = f"the third party at step {run.step}"
    run.snap = after
    return did


def random_step(run: Run) -> str:
    """One random step: an edit, both devices editing, a sync, or a third-party write."""
    rng, stats = run.rng, run.stats
    run.step += 1
    roll = rng.random()
    if roll < run.third_party_rate:
        did = third_party(run)
    elif roll < run.third_party_rate + 0.04:
        did = _both_register(run)
        stats["edits"] += 2
    elif roll < run.third_party_rate + 0.12:
        did = _both_edit(run)
        stats["edits"] += 2
    elif roll < 0.6:
        did = _device_edit(run, rng.choice(list(run.devices.values())))
        stats["edits"] += 1
    else:
        how = ("cli" if rng.random() < run.cli_rate else
               rng.choice(["full", "full", "full", "push-only", "pull-only"]))
        did = sync(run, rng.choice(list(run.devices.values())), how)
    run.snap = flat(run.remote)
    stats["steps"] += 1
    if run.verbose:
        print(f"  [{run.step}] {did}", file=sys.stderr)
    return did


def settle(run: Run) -> tuple[int, int]:
    """Sync both once more (no resolution); (uncovered differences, lost writes)."""
    for dev in (*run.devices.values(), *run.devices.values()):
        sync(run, dev, "full")  # twice round: B's push may change what A should pull
    uncovered = lost = 0
    for dev in run.devices.values():
        u, lo = _check_end(run, dev)
        uncovered, lost = uncovered + u, lost + lo
    return uncovered, lost


def _one(seed: int, steps: int, tally: Tally, stats: Counter[str], *, cli_rate: float,
         third_party_rate: float, models: int, verbose: bool) -> None:
    with Stack() as stack, session(stack, seed, stats, cli_rate=cli_rate,
                                   third_party_rate=third_party_rate,
                                   verbose=verbose) as run:
        seed_models(run, models)
        for _ in range(steps):
            random_step(run)
        uncovered, lost = settle(run)
        policies = dict(zip("ab", run.rng.choice([("theirs", "ours"), ("ours", "theirs")]),
                            strict=True))
        converged = converge(run, policies)
        duplicates = stack.remote_duplicates() + sum(duplicates_in(d.path)
                                                     for d in run.devices.values())
    tally.runs += 1
    tally.converged += int(converged)
    tally.duplicates += duplicates
    tally.lost += lost
    tally.silent_overwrites += uncovered + run.silent
    tally.notes.extend(f"seed {seed}: {n}" for n in run.notes)


def _changed(before: Flat, after: Flat) -> list[tuple[Key, str]]:
    out: list[tuple[Key, str]] = []
    for key in after:
        old, new = before.get(key, {}), after[key]
        out.extend((key, n) for n in old.keys() | new.keys()
                   if old.get(n, ABSENT) != new.get(n, ABSENT))
    return out


def run(*, runs: int = 20, steps: int = 100, seed: int = 1, seeds: Sequence[int] | None = None,
        cli_rate: float = 0.1, third_party_rate: float = 0.08, models: int = 3,
        verbose: bool = False, stats: Counter[str] | None = None) -> Tally:
    """``runs`` seeds (``seed``, ``seed + 1``, ..., or the given ``seeds``) of ``steps``
    random steps each.

    ``stats`` (optional) receives what was exercised: edits, syncs, conflicts by kind, ...
    """
    tally = Tally(NAME)
    stats = Counter() if stats is None else stats
    for one in seeds if seeds is not None else range(seed, seed + runs):
        _one(one, steps, tally, stats, cli_rate=cli_rate,
             third_party_rate=third_party_rate, models=models, verbose=verbose)
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds x 25 steps")
    parser.add_argument("--runs", type=int, default=20, help="seeds to run (default 20)")
    parser.add_argument("--steps", type=int, default=100, help="random steps per seed")
    parser.add_argument("--seed", type=int, default=1, help="first seed")
    parser.add_argument("--cli-rate", type=float, default=0.1,
                        help="share of syncs and resolutions run as `localhub` processes")
    parser.add_argument("--third-party-rate", type=float, default=0.08,
                        help="share of steps that edit the remote directly")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every step")
    args = parser.parse_args()
    runs, steps = (3, 25) if args.quick else (args.runs, args.steps)
    stats: Counter[str] = Counter()
    started = time.monotonic()
    tally = run(runs=runs, steps=steps, seed=args.seed, cli_rate=args.cli_rate,
                third_party_rate=args.third_party_rate, verbose=args.verbose, stats=stats)
    print(f"  exercised: {dict(sorted(stats.items()))} in {time.monotonic() - started:.1f}s",
          file=sys.stderr)
    sys.exit(finish(tally))


if __name__ == "__main__":
    main()
