"""Bad-input soak: hypothesis over the Python API and the CLI, schemathesis over ``serve``.

Three parts, each a stream of generated cases:

1. **api**: hypothesis draws calls of ``localhub.ModelRegistryClient`` (register, update, get,
   list, archive, restore, delete) and of ``SQLiteStore`` (get, find, list, create, update)
   with odd text (control characters, NUL, lone surrogates, 70 kB strings, empty), odd URIs,
   metadata of any shape (nested, None, NaN, inf, huge ints, keys that are not strings) and
   garbage ids, on one database.
2. **cli**: hypothesis draws argument lists for ``localhub`` (register, show, update, archive,
   sync with bad remotes or a bad ``--every``, import of damaged bundles, ``--db`` at a folder
   or a foreign file, ...), run in-process with click's ``CliRunner``; a handful more run as
   real ``python -m localhub.cli`` processes.
3. **serve**: schemathesis (positive and negative cases of every operation of the official
   OpenAPI spec in /work/shared/reference) and hand-made malformed requests (bad JSON, huge
   bodies, bad ids, unknown fields, wrong types) against a real ``localhub serve`` process.

A case ends acceptably when the call succeeded and changed exactly what it was asked to, or
was refused in the documented way (an exception of the ``LocalHubError`` tree, ``ValueError``
or ``TypeError``; exit code 1, 2, 3 or 4 with a message on stderr; a 4xx answer with a
``{code, message}`` JSON body) with a clear message -- non-empty, no traceback, no raw
sqlite/Python internals, naming the field or the value -- and left the database as it was
(every table: entities, outbox, meta, sync bookkeeping; byte for byte for foreign files given
as ``--db``; for ``sync`` and ``remote reset`` the entities and the outbox only, since a
failed sync may record its attempt).

Run from the repository root::

    python -m tests.soak.soak_badinput            # full: ~7,000 cases, ~4 min
    python -m tests.soak.soak_badinput --quick    # ~600 cases, ~20 s
    python -m tests.soak.soak_badinput --api 500 --cli 0 --serve 0 --seed 3

The result line ``badinput: runs=N converged=N duplicates=N lost=N silent_overwrites=N``:

- runs: generated cases executed, over the three parts;
- converged: cases that ended acceptably (see above);
- duplicates: rows sharing a natural key in the three databases after the run (kind, parent
  and name; top-level artifacts excepted: the Model Registry never makes their names unique);
- lost: refused cases that changed a database anyway, or made a queued change disappear;
- silent_overwrites: accepted cases that changed other data than they were asked to, or
  stored something else than was given.

Stderr gets the counts of crashes (unexpected exception types, tracebacks, exit codes outside
0-4, 5xx answers), unclear messages, answers that do not match the spec and invalid input that
was accepted, with the first examples of each.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import requests

from localhub import (
    LocalHubError,
    ModelArtifact,
    ModelRegistryClient,
    ModelVersion,
    RegisteredModel,
    SQLiteStore,
    StorageConfig,
    StructValue,
)
from localhub.types import Artifact

from tests.soak._soak import Stack, Tally, finish, natural_key_duplicates
from tests.support.official_spec import SPEC, load_spec

NAME = "badinput"
API = "/api/model_registry/v1"
#: Seconds one case may take before it counts as a hang (a crash).
CASE_TIMEOUT = 60
#: Kinds of failure kept (with an example and a count) per part and verdict.
KEEP_EXAMPLES = 8

# -- verdicts -------------------------------------------------------------------------------

OK, CRASH, UNCLEAR, LOST, OVERWRITE, NONCONFORMING, ACCEPTED_INVALID = (
    "ok", "crash", "unclear", "lost", "overwrite", "nonconforming", "accepted-invalid")


@dataclass
class BadInputTally(Tally):
    """The result line's figures plus this soak's own counts (printed to stderr)."""

    crashes: int = 0
    unclear: int = 0
    nonconforming: int = 0
    accepted_invalid: int = 0
    #: Per part: runs, accepted (success), rejected (refused as documented), and extras.
    parts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Per "part verdict": a few kinds of failure (by signature): [count, first example].
    examples: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def count(self, part: str, key: str, n: int = 1) -> None:
        bucket = self.parts.setdefault(part, {})
        bucket[key] = bucket.get(key, 0) + n

    def record(self, part: str, verdict: str, accepted: bool, what: str, why: str = "") -> None:
        """One case: its verdict, and whether the call was accepted (else refused)."""
        self.runs += 1
        self.count(part, "runs")
        self.count(part, "accepted" if accepted else "rejected")
        if verdict == OK:
            self.converged += 1
            return
        attr = {CRASH: "crashes", UNCLEAR: "unclear", LOST: "lost",
                OVERWRITE: "silent_overwrites", NONCONFORMING: "nonconforming",
                ACCEPTED_INVALID: "accepted_invalid"}[verdict]
        setattr(self, attr, getattr(self, attr) + 1)
        kinds = self.examples.setdefault(f"{part} {verdict}", {})
        key = _signature(what)[:30] + _signature(why)
        if key in kinds:
            kinds[key][0] += 1
        elif len(kinds) < KEEP_EXAMPLES:
            kinds[key] = [1, f"{_short(what, 300)} -> {_short(why, 400)}"]

    def summary(self) -> list[str]:
        """Lines for stderr: the extra counts, per-part figures and examples."""
        lines = [(f"crashes={self.crashes} unclear={self.unclear} "
                  f"nonconforming={self.nonconforming} "
                  f"accepted_invalid={self.accepted_invalid}")]
        for part, figures in self.parts.items():
            lines.append(f"{part}: " + " ".join(f"{k}={v}" for k, v in sorted(figures.items())))
        for key, kinds in self.examples.items():
            lines.extend(f"{key} (x{n}): {example}" for n, example in kinds.values())
        return lines


def _signature(why: str) -> str:
    """A failure's kind: its message without quoted values and numbers."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "_", why)
    return text[:70]


def _short(value: object, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"...({len(text)} chars)"


#: Raw internals a user-facing message must not show.
_INTERNAL = re.compile(
    r"traceback \(most recent|sqlite3|operationalerror|integrityerror|interfaceerror|"
    r"programmingerror|sqlalchemy|pydantic|validation errors? for|has no attribute|"
    r"not supported between|is not subscriptable|unhashable type|object is not iterable|"
    r"invalid literal for|codec can't|list index out of range|keyerror|"
    r"internal server error|error binding parameter|too large to convert|maximum recursion|"
    r"unexpected keyword argument|<built-in|<function |object at 0x", re.IGNORECASE)


#: From the first " (" to the last ")": the detail a clear statement may carry.
_PARENS = re.compile(r" \(.*\)", re.DOTALL)


def unclear_reason(message: str, hints: Iterable[object]) -> str | None:
    """Why ``message`` is not a clear refusal (None when it is clear)."""
    text = message.strip()
    if not text:
        return "empty message"
    # Technical detail in parentheses after a clear statement is fine: judge the statement.
    text = _PARENS.sub("", text).strip() or text
    found = _INTERNAL.search(text)
    if found:
        return f"shows internals ({found.group(0)!r})"
    if not mentions(text, hints):
        return "names neither the field nor the value"
    return None


def mentions(text: str, hints: Iterable[object]) -> bool:
    """Whether ``text`` names one of ``hints`` (a field name or a value, maybe escaped)."""
    low = text.casefold()
    for hint in hints:
        raw = hint if isinstance(hint, str) else repr(hint)
        forms = {raw, repr(raw)[1:-1], ascii(raw)[1:-1], raw.strip()}
        if re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)+", raw):  # customProperties, artifactType
            words = re.findall(r"[A-Z]?[a-z]+", raw)
            forms |= {"_".join(words).lower(), " ".join(words).lower()}
        if "\x00" in raw or "%00" in raw:
            forms.add("NUL")
        for form in forms:
            cut = form[:24].casefold()
            if len(cut.strip()) >= 3 and cut in low:
                return True
            # A quoted value (only its start when it is long).
            quoted = [f"'{cut}", f'"{cut}'] if len(form) > 24 else [f"'{cut}'", f'"{cut}"']
            if any(q in low for q in quoted):
                return True
            if cut.strip() and re.search(rf"(?<!\w){re.escape(cut.strip())}(?!\w)", low):
                return True
    return False


# -- database snapshots ----------------------------------------------------------------------

TABLES = ("contexts", "artifacts", "executions", "outbox", "meta", "sync_links",
          "sync_conflicts", "sync_state", "sync_items")
ENTITY_TABLES = ("contexts", "artifacts", "executions")
Snap = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def snapshot(db: Path, tables: Iterable[str] = TABLES) -> Snap:
    """Every row of ``tables`` keyed by primary key (read-only; {} when there is no file)."""
    if not db.is_file():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out: Snap = {}
        for table in tables:
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()
            if not info:
                continue
            names = [col[1] for col in info]
            pk = [col[1] for col in sorted(info, key=lambda c: c[5]) if col[5]] or ["rowid"]
            select = "SELECT * FROM" if pk != ["rowid"] else "SELECT rowid AS rowid, * FROM"
            if pk == ["rowid"]:
                names = ["rowid", *names]
            rows: dict[tuple[Any, ...], dict[str, Any]] = {}
            for row in conn.execute(f"{select} {table}"):
                rec = dict(zip(names, row, strict=True))
                rows[tuple(rec[k] for k in pk)] = rec
            out[table] = rows
        return out
    finally:
        conn.close()


@dataclass
class Delta:
    """What changed between two snapshots, per table."""

    added: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    removed: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    changed: dict[str, dict[tuple[Any, ...], set[str]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def describe(self) -> str:
        parts = [f"{t}: +{sorted(k)[:3]}" for t, k in self.added.items()]
        parts += [f"{t}: -{sorted(k)[:3]}" for t, k in self.removed.items()]
        parts += [f"{t}: ~{ {k: sorted(c) for k, c in list(v.items())[:3]} }"
                  for t, v in self.changed.items()]
        return "; ".join(parts)


def delta(before: Snap, after: Snap) -> Delta:
    """Rows added, removed and changed (with the changed columns)."""
    out = Delta()
    for table in set(before) | set(after):
        old, new = before.get(table, {}), after.get(table, {})
        if added := set(new) - set(old):
            out.added[table] = added
        if removed := set(old) - set(new):
            out.removed[table] = removed
        changed = {key: {c for c in new[key] if new[key][c] != old[key].get(c)}
                   for key in set(old) & set(new) if new[key] != old[key]}
        if changed:
            out.changed[table] = changed
    return out


def unexpected(d: Delta, *, add: Mapping[str, int] | None = None,
               change: Mapping[str, Iterable[tuple[Any, ...]]] | None = None,
               remove: Mapping[str, Iterable[tuple[Any, ...]]] | None = None,
               columns: Iterable[str] | None = None) -> str | None:
    """What in ``d`` goes beyond the allowed additions, changes and removals (None: nothing)."""
    add, change, remove = add or {}, change or {}, remove or {}
    allowed_cols = None if columns is None else set(columns) | {"update_time"}
    for table, keys in d.added.items():
        if len(keys) > add.get(table, 0):
            return f"{len(keys)} row(s) added to {table}"
    for table, keys in d.removed.items():
        extra = keys - set(remove.get(table, ()))
        if extra:
            return f"row(s) {sorted(extra)[:3]} removed from {table}"
    for table, rows in d.changed.items():
        for key, cols in rows.items():
            if key not in set(change.get(table, ())):
                return f"{table} row {key} changed ({sorted(cols)})"
            if allowed_cols is not None and table in ENTITY_TABLES and cols - allowed_cols:
                return f"{table} row {key}: columns {sorted(cols - allowed_cols)} changed"
    return None


def rows_of(snap: Snap, table: str, kind: str) -> list[dict[str, Any]]:
    return [row for row in snap.get(table, {}).values() if row.get("kind") == kind]


def _model_id(snap: Snap, name: Any) -> Any:
    """The row id of the registered model named ``name`` (None when there is none)."""
    return next((r["id"] for r in rows_of(snap, "contexts", "registered-model")
                 if r["name"] == name), None)


# -- value comparison ------------------------------------------------------------------------

def same(a: Any, b: Any) -> bool:
    """Equal, and of the same scalar type (True is not 1, 1.0 is not 1)."""
    if isinstance(a, Enum):
        a = a.value
    if isinstance(b, Enum):
        b = b.value
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    kinds = (bool, int, float)
    if isinstance(a, kinds) or isinstance(b, kinds):
        return type(a) is type(b) and a == b
    return bool(a == b)


def clean_props(value: Any) -> dict[str, Any] | None:
    """Custom properties as they read back: None values dropped, empty as None."""
    if not value:
        return None
    return {k: v for k, v in value.items() if v is not None} or None


def id_text(value: Any) -> str:
    return str(int(value))


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise ``TimeoutError`` in the main thread after ``seconds`` (a hang is a crash)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(_sig: int, _frame: Any) -> None:
        raise TimeoutError(f"case still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def one_in(data: Any, n: int, label: str) -> bool:
    """True about once in ``n`` draws (hypothesis favours small integers: 0 is not rare)."""
    from hypothesis import strategies as st

    return bool(data.draw(st.sampled_from([False] * (n - 1) + [True]), label=label))


def run_hypothesis(body: Callable[[Any], None], strategy: Any, examples: int, seed: int) -> None:
    """Run ``body`` on ``examples`` drawn values; ``body`` records verdicts and never fails."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, given, settings

    if examples <= 0:
        return

    @hypothesis.seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategy)
    def inner(value: Any) -> None:
        body(value)

    inner()


# -- generated values ------------------------------------------------------------------------

ODD_TEXT = ["", " ", "\t", "\n", "\r\n", "\x00", "a\x00b", "\ud800", "x\udcff", "\u202eevil",
            "\x7f", "\x85", "\u2028", "\ufeff", "🙂", "'", '"', "\\", "%", "_", "*",
            "' OR 1=1 --", "null", "None", "NaN", "-1", "0", "²", "٣", "ﬁ", "A" * 200,
            "A" * 201, "é" * 256, "x" * 70_000, "é" * 40_000, "a\tb", "..", "/", "-x", "--x"]
ODD_URIS = ["", " ", "s3://", "s3://b/k", "file:///tmp/x", "http://[::1", " s3://x", "s3://x ",
            "s3://x\ny", "s3://x\x85y", "s3://\x00", "hdfs://ä/ö", "../../etc/passwd",
            "C:\\m\\x", "%00", "s3://b/" + "k" * 70_000, "🙂://x", "s3://b/k?x=1#y", "\u200b"]
BAD_IDS = ["", "0", "-1", "abc", "1e9", "1.0", "2147483647", "2147483648", "9" * 30, " 1", "1 ",
           "+1", "0x1", "²", "٣", "1\x00", "01", "1_0"]
BIG_INTS = [2**31, 2**63, 10**100, -(10**9), 999_999_999, -999_999_999, 1_000_000_000, -0]
FILTERS = ["", " ", "name", "name =", "name = 'x", "name = 'x' AND", "((((", "))",
           "name LIKE '%'", "auc.double_value > 'a'", "auc.int_value > 1e999", "state IN ()",
           "state = 'BOGUS'", "x = 1", "name = 1", "id = -1", "id = 99999999999999999999",
           "name = '\x00'", "'; DROP TABLE contexts; --", "name IN ('a',", "a" * 5000,
           "(" * 300 + "name = 'x'" + ")" * 300, "NOT NOT name = 'x'", "externalId = null",
           'name = "x"', "auc.bogus_value = 1", "auc.double_value > 0.5", "name != 'model-1'",
           "description ILIKE '%x%'", "name = 'a' OR" * 50, "1 = 1", "epochs.int_value = 1e3"]


def strategies() -> dict[str, Any]:
    """The hypothesis strategies every part draws from."""
    from hypothesis import strategies as st

    long = st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "é", "🙂", " ", "\x01"]),
                     st.sampled_from([199, 200, 201, 255, 256, 21_845, 65_535, 65_536, 70_000]))
    text = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=12),
                     st.text(st.characters(exclude_categories=()), max_size=12), long,
                     st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True))
    wrong = st.one_of(st.none(), st.integers(), st.floats(), st.booleans(), st.binary(max_size=6),
                      st.lists(st.integers(), max_size=2),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    prop_values = st.one_of(
        st.none(), st.booleans(), st.integers(), st.integers(-10**9, 10**9),
        st.sampled_from(BIG_INTS), st.floats(), text, st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers() | st.none(), max_size=2),
        st.binary(max_size=4), st.just(StructValue('{"a": 1}')), st.just(StructValue("not json")))
    prop_keys = st.one_of(text, text, st.integers(), st.none(), st.booleans(),
                          st.tuples(st.integers()))
    metadata = st.one_of(st.none(), st.just({}),
                         st.dictionaries(prop_keys, prop_values, max_size=4),
                         st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True),
                                         prop_values, max_size=3),
                         st.lists(st.integers(), max_size=2), text, st.integers())
    ids = st.one_of(st.sampled_from(BAD_IDS), st.integers(), text, st.none(), st.floats(),
                    st.booleans())
    return {
        "text": text,
        "wrong": wrong,
        "maybe_text": st.one_of(text, text, text, wrong),
        "opt_text": st.one_of(st.none(), st.none(), text, text, wrong),
        "uri": st.one_of(st.sampled_from(ODD_URIS), text, st.sampled_from(ODD_URIS), wrong),
        "metadata": metadata,
        "ids": ids,
        "filter": st.one_of(st.none(), st.sampled_from(FILTERS), text),
        "order_by": st.one_of(st.none(), st.sampled_from(["ID", "CREATE_TIME",
                                                          "LAST_UPDATE_TIME", "id", "name"]),
                              text),
        "page_size": st.one_of(st.none(), st.integers(-3, 5),
                               st.sampled_from([10**20, 2**63, 2**31, 0])),
        "state": st.one_of(st.sampled_from(["LIVE", "ARCHIVED", "UNKNOWN", "DELETED", "live",
                                            ""]), text, wrong),
        "str_list": st.one_of(st.none(), st.lists(text, max_size=3), wrong),
    }


# -- part 1: the Python API ------------------------------------------------------------------

@dataclass
class Call:
    """One generated API call: what to run, what may change when it succeeds."""

    label: str
    fn: Callable[[], Any]
    hints: list[Any]
    #: For an accepted call: the problem with what it changed (None: as asked).
    check: Callable[[Snap, Snap, Any], str | None]


_MUTABLE_SKIP = {"id", "name", "create_time_since_epoch", "last_update_time_since_epoch",
                 "registered_model_id"}
_GARBLE = {
    RegisteredModel: ("description", "external_id", "custom_properties", "owner", "state",
                      "readme", "maturity", "language", "tasks", "provider", "logo", "license",
                      "license_link", "library_name", "name", "id"),
    ModelVersion: ("description", "external_id", "custom_properties", "author", "state",
                   "registered_model_id", "name", "id"),
    ModelArtifact: ("description", "external_id", "custom_properties", "uri", "state",
                    "model_format_name", "model_format_version", "storage_key", "storage_path",
                    "service_account_name", "model_source_kind", "model_source_id", "name",
                    "id"),
}
_TABLE = {RegisteredModel: "contexts", ModelVersion: "contexts", ModelArtifact: "artifacts"}
_KIND = {RegisteredModel: "registered-model", ModelVersion: "model-version",
         ModelArtifact: "model-artifact"}


def _mutable_fields(cls: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name not in _MUTABLE_SKIP]


def _field_strategy(st_: dict[str, Any], name: str) -> Any:
    if name == "custom_properties":
        return st_["metadata"]
    if name == "state":
        return st_["state"]
    if name in ("language", "tasks"):
        return st_["str_list"]
    if name in ("id", "registered_model_id"):
        return st_["ids"]
    if name == "uri":
        return st_["uri"]
    return st_["opt_text"]


class ApiPart:
    """Generated calls of ``ModelRegistryClient`` and ``SQLiteStore`` on one database."""

    AUTHOR = "soak"

    def __init__(self, root: Path, tally: BadInputTally) -> None:
        self.tally = tally
        self.db = root / "api.db"
        self.client = ModelRegistryClient("http://127.0.0.1:9", path=self.db, author=self.AUTHOR)
        self.store = self.client.store
        for m in range(3):
            for v in range(2):
                self.client.register_model(
                    f"model-{m}", f"s3://bucket/m{m}/v{v}", version=f"v{v}",
                    model_format_name="onnx", model_format_version="1",
                    metadata={"auc": 0.9, "epochs": 3, "tuned": True, "note": "x"})
        self.st = strategies()

    def close(self) -> None:
        self.store.close()

    # -- driving ------------------------------------------------------------------------------

    def run(self, examples: int, seed: int) -> None:
        from hypothesis import strategies as st

        run_hypothesis(self.case, st.data(), examples, seed)

    def case(self, data: Any) -> None:
        before = snapshot(self.db)
        if not all(rows_of(before, t, k) for t, k in (("contexts", "model-version"),
                                                       ("artifacts", "model-artifact"))):
            # Deletes emptied the pools: register again (not a case).
            self.client.register_model(f"reseed-{self.tally.runs}", "s3://b/reseed",
                                       version="v0", metadata={"auc": 0.5})
            before = snapshot(self.db)
        builders = [self.register] * 4 + [self.get] * 2 + [self.listing] * 2 + \
            [self.update] * 3 + [self.set_state] * 2 + [self.delete, self.store_read,
                                                          self.store_list] + \
            [self.store_create] * 2 + [self.store_update] * 2
        from hypothesis import strategies as st

        build = data.draw(st.sampled_from(builders), label="op")
        call = build(data, before)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            verdict, accepted, why = self.execute(call, before)
        self.tally.record("api", verdict, accepted, call.label, why)

    def execute(self, call: Call, before: Snap) -> tuple[str, bool, str]:
        try:
            with time_limit(CASE_TIMEOUT):
                result = call.fn()
        except (LocalHubError, ValueError, TypeError) as exc:
            after = snapshot(self.db)
            message = str(exc)
            d = delta(before, after)
            if not d.empty:
                return LOST, False, f"refused ({type(exc).__name__}: {message}) but {d.describe()}"
            reason = unclear_reason(message, call.hints)
            if reason:
                return UNCLEAR, False, f"{type(exc).__name__}: {message} ({reason})"
            return OK, False, ""
        except Exception as exc:  # noqa: BLE001 - any other type is the finding
            after = snapshot(self.db)
            d = delta(before, after)
            extra = "" if d.empty else f"; and it changed {d.describe()}"
            if not d.empty:
                self.tally.lost += 1
            return CRASH, False, f"{type(exc).__name__}: {exc}{extra}"
        after = snapshot(self.db)
        try:
            problem = call.check(before, after, result)
        except Exception as exc:  # noqa: BLE001 - reading back failed: report it
            problem = f"reading the result back failed: {type(exc).__name__}: {exc}"
        if problem:
            return OVERWRITE, True, problem
        return OK, True, ""

    # -- helpers ------------------------------------------------------------------------------

    def _pick(self, data: Any, items: list[Any]) -> Any:
        from hypothesis import strategies as st

        # Always draw, so that the draws never depend on the database (hypothesis checks).
        index = data.draw(st.integers(0, 10**6), label="pick")
        return items[index % len(items)] if items else None

    def _model_name(self, data: Any, before: Snap) -> Any:
        from hypothesis import strategies as st

        names = [r["name"] for r in rows_of(before, "contexts", "registered-model")]
        existing = data.draw(st.booleans(), label="existing model")
        picked = self._pick(data, names)
        drawn = data.draw(self.st["maybe_text"], label="model name")
        return picked if existing and names else drawn

    def _version_name(self, data: Any, before: Snap, model: Any) -> Any:
        from hypothesis import strategies as st

        models = {r["id"]: r["name"] for r in rows_of(before, "contexts", "registered-model")}
        names = [r["name"] for r in rows_of(before, "contexts", "model-version")
                 if models.get(r["parent_id"]) == model]
        existing = data.draw(st.booleans(), label="existing version")
        picked = self._pick(data, names)
        drawn = data.draw(self.st["maybe_text"], label="version name")
        return picked if existing and names else drawn

    @staticmethod
    def _reads_only(before: Snap, after: Snap, _result: Any) -> str | None:
        d = delta(before, after)
        return None if d.empty else f"a read changed {d.describe()}"

    # -- ModelRegistryClient ------------------------------------------------------------------

    def register(self, data: Any, before: Snap) -> Call:
        s = self.st
        name = self._model_name(data, before)
        version = self._version_name(data, before, name)
        uri = data.draw(s["uri"], label="uri")
        kwargs = {
            "model_format_name": data.draw(s["opt_text"], label="format"),
            "model_format_version": data.draw(s["opt_text"], label="format version"),
            "author": data.draw(s["opt_text"], label="author"),
            "owner": data.draw(s["opt_text"], label="owner"),
            "version_description": data.draw(s["opt_text"], label="description"),
            "metadata": data.draw(s["metadata"], label="metadata"),
        }
        storage = StorageConfig(storage_key=data.draw(s["opt_text"]),
                                storage_path=data.draw(s["opt_text"]),
                                service_account_name=data.draw(s["opt_text"]))
        model_existed = any(r["name"] == name
                            for r in rows_of(before, "contexts", "registered-model"))

        def check(before: Snap, after: Snap, _result: Any) -> str | None:
            problem = unexpected(delta(before, after),
                                 add={"contexts": 1 if model_existed else 2, "artifacts": 1,
                                      "outbox": 3, "meta": 1 + DEFAULTED_ROWS})
            if problem:
                return problem
            model = self.store.find(RegisteredModel, name=name)
            if model is None:
                return "the model is not there"
            mv = self.client.get_model_version(name, version)
            art = self.client.get_model_artifact(name, version)
            want: list[tuple[str, Any, Any]] = [
                ("version.author", mv.author, kwargs["author"] or self.AUTHOR),
                ("version.description", mv.description, kwargs["version_description"]),
                ("version.custom_properties", mv.custom_properties,
                 clean_props(kwargs["metadata"])),
                ("artifact.uri", art.uri, uri),
                ("artifact.model_format_name", art.model_format_name,
                 kwargs["model_format_name"]),
                ("artifact.model_format_version", art.model_format_version,
                 kwargs["model_format_version"]),
                ("artifact.storage_key", art.storage_key, storage.storage_key),
                ("artifact.storage_path", art.storage_path, storage.storage_path),
                ("artifact.service_account_name", art.service_account_name,
                 storage.service_account_name),
            ]
            if not model_existed:
                want.append(("model.owner", model.owner, kwargs["owner"] or self.AUTHOR))
            for label, got, expected in want:
                if not same(got, expected):
                    return f"{label} stored {_short(got)} for {_short(expected)}"
            return None

        return Call(
            f"register_model({_short(name)}, {_short(uri)}, version={_short(version)}, "
            f"{', '.join(f'{k}={_short(v)}' for k, v in kwargs.items())}, {storage})",
            lambda: self.client.register_model(name, uri, version=version,
                                               storage_config=storage, **kwargs),
            ["name", "uri", "version", "metadata", "custom_properties", "author", "owner",
             "description", "format", "storage", "service_account", name, version, uri,
             *kwargs.values(), *(kwargs["metadata"] or {} if isinstance(kwargs["metadata"],
                                                                        dict) else [])],
            check)

    def get(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        name = self._model_name(data, before)
        version = self._version_name(data, before, name)
        which = data.draw(st.sampled_from(["get_model", "get_model_version",
                                           "get_model_artifact"]))
        args = (name,) if which == "get_model" else (name, version)
        fn = getattr(self.client, which)
        return Call(f"{which}{_short(args, 200)}", lambda: fn(*args),
                    ["name", "version", "model", *args], self._reads_only)

    def listing(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        kwargs = {"filter_query": data.draw(self.st["filter"], label="filter"),
                  "order_by": data.draw(self.st["order_by"], label="order_by"),
                  "descending": data.draw(st.booleans()),
                  "page_size": data.draw(self.st["page_size"], label="page_size")}
        versions = data.draw(st.booleans(), label="versions")
        name = self._model_name(data, before) if versions else None

        def fn() -> list[Any]:
            items = (self.client.list_model_versions(name, **kwargs) if versions
                     else self.client.list_models(**kwargs))
            out = []
            for item in items:
                out.append(item)
                if len(out) >= 500:
                    break
            return out

        label = (f"list_model_versions({_short(name)}, " if versions else "list_models(") + \
            ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items()) + ")"
        return Call(label, fn, ["filter", "query", "order", "page", "size", "name", "model",
                                *kwargs.values(), name], self._reads_only)

    def _existing(self, data: Any, before: Snap, cls: type[Any]) -> Any:
        ids = [r["id"] for r in rows_of(before, _TABLE[cls], _KIND[cls])]
        picked = self._pick(data, ids)
        return None if picked is None else self.store.get(cls, picked)

    def _garble(self, data: Any, obj: Any) -> tuple[Any, dict[str, Any]]:
        from hypothesis import strategies as st

        cls = type(obj)
        names = data.draw(st.lists(st.sampled_from(_GARBLE[cls]), max_size=4, unique=True),
                          label="fields")
        changes = {n: data.draw(_field_strategy(self.st, n), label=n) for n in names}
        if "id" in changes and data.draw(st.booleans(), label="another existing id"):
            changes["id"] = str(data.draw(st.integers(1, 40)))
        return dataclasses.replace(obj, **changes), changes

    def _update_check(self, cls: type[Any], obj: Any, facade: bool
                      ) -> Callable[[Snap, Snap, Any], str | None]:
        """An accepted update changes its target row only, to the values passed."""

        def check(before: Snap, after: Snap, _result: Any) -> str | None:
            target = (int(id_text(obj.id)),)
            problem = unexpected(delta(before, after), change={_TABLE[cls]: [target]},
                                 add={"outbox": 1, "meta": 1})
            if problem:
                return problem
            stored_before = before[_TABLE[cls]][target]
            got = self.store.get(cls, obj.id)
            if got is None:
                return "the entity is gone"
            if got.name != stored_before["name"]:
                return f"immutable name changed to {got.name!r}"
            for name in _mutable_fields(cls):
                value = getattr(obj, name)
                if name == "custom_properties":
                    if facade and not value:
                        continue
                    expected: Any = clean_props(value)
                elif value is None and facade:
                    continue
                else:
                    expected = value
                if not same(getattr(got, name), expected):
                    return f"{name} stored {_short(getattr(got, name))} for {_short(expected)}"
            return None

        return check

    def update(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        cls = data.draw(st.sampled_from([RegisteredModel, ModelVersion, ModelArtifact]))
        method: Any = {RegisteredModel: self.client.update_model,
                  ModelVersion: self.client.update_model_version,
                  ModelArtifact: self.client.update_model_artifact}[cls]
        if one_in(data, 10, "wrong object"):
            obj: Any = data.draw(st.sampled_from([None, {"id": "1"}, "1", 1,
                                                  ModelVersion(name="v", id="1"),
                                                  RegisteredModel(name="m", id="1")]))
            return Call(f"{method.__name__}({obj!r})", lambda: method(obj),
                        [cls.__name__, type(obj).__name__, "model", "id"], self._reads_only)
        current = self._existing(data, before, cls)
        obj, changes = self._garble(data, current)
        return Call(f"{method.__name__}({cls.__name__} #{current.id} with {_short(changes, 400)})",
                    lambda: method(obj), [cls.__name__, "id", *changes, *changes.values()],
                    self._update_check(cls, obj, facade=True))

    def set_state(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        name = self._model_name(data, before)
        op = data.draw(st.sampled_from(["archive_model", "restore_model",
                                        "archive_model_version", "restore_model_version"]))
        args: tuple[Any, ...] = (name,)
        if op.endswith("version"):
            args = (name, self._version_name(data, before, name))

        def check(before: Snap, after: Snap, _result: Any) -> str | None:
            target = _model_id(before, name)
            if len(args) == 2:
                target = next((r["id"] for r in rows_of(before, "contexts", "model-version")
                               if r["parent_id"] == target and r["name"] == args[1]), None)
            return unexpected(delta(before, after), change={"contexts": [(target,)]},
                              add={"outbox": 1}, columns={"state"})

        fn = getattr(self.client, op)
        return Call(f"{op}{_short(args, 200)}", lambda: fn(*args),
                    ["name", "version", "model", *args], check)

    def delete(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        name = self._model_name(data, before)
        whole = data.draw(st.booleans(), label="whole model")
        args: tuple[Any, ...] = (name,) if whole else (name, self._version_name(data, before,
                                                                                  name))

        def check(before: Snap, after: Snap, _result: Any) -> str | None:
            model = _model_id(before, name)
            doomed = {model} if whole else set()
            for r in rows_of(before, "contexts", "model-version"):
                if r["parent_id"] == model and (whole or r["name"] == args[1]):
                    doomed.add(r["id"])
            arts = {r["id"] for r in before.get("artifacts", {}).values()
                    if r["version_id"] in doomed}
            uids = {r["uid"] for r in before.get("contexts", {}).values() if r["id"] in doomed}
            uids |= {r["uid"] for r in before.get("artifacts", {}).values() if r["id"] in arts}
            queued = {k for k, r in before.get("outbox", {}).items() if r["entity_uid"] in uids}
            return unexpected(delta(before, after),
                              remove={"contexts": [(i,) for i in doomed],
                                      "artifacts": [(i,) for i in arts], "outbox": queued})

        op = "delete_model" if whole else "delete_model_version"
        fn = getattr(self.client, op)
        return Call(f"{op}{_short(args, 200)}", lambda: fn(*args),
                    ["name", "version", "model", *args], check)

    # -- SQLiteStore --------------------------------------------------------------------------

    def store_read(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        cls = data.draw(st.sampled_from([RegisteredModel, ModelVersion, ModelArtifact, Artifact]))
        op = data.draw(st.sampled_from(["get", "find", "version_artifacts",
                                        "artifact_version_id"]))
        entity_id = data.draw(self.st["ids"], label="id")
        args: dict[str, Any]
        if op == "find":
            args = {"name": data.draw(st.one_of(st.none(), self.st["maybe_text"])),
                    "parent_id": data.draw(st.one_of(st.none(), self.st["ids"])),
                    "external_id": data.draw(st.one_of(st.none(), self.st["maybe_text"]))}
            fn: Callable[[], Any] = functools.partial(self.store.find, cls, **args)
        elif op == "get":
            args = {"entity_id": entity_id}
            fn = functools.partial(self.store.get, cls, entity_id)
        else:
            args = {"id": entity_id}
            fn = functools.partial(getattr(self.store, op), entity_id)
        return Call(f"store.{op}({cls.__name__}, {_short(args, 300)})", fn,
                    ["id", "name", "external", "parent", *args.values()], self._reads_only)

    def store_list(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        cls = data.draw(st.sampled_from([RegisteredModel, ModelVersion, ModelArtifact, Artifact]))
        kwargs = {
            "parent_id": data.draw(st.one_of(st.none(), self.st["ids"])),
            "filter_query": data.draw(self.st["filter"]),
            "order_by": data.draw(self.st["order_by"]),
            "sort_order": data.draw(st.one_of(st.none(), st.sampled_from(["ASC", "DESC",
                                                                          "desc"]),
                                              self.st["text"])),
            "page_size": data.draw(self.st["page_size"]),
            "page_token": data.draw(st.one_of(
                st.none(), self.st["text"],
                st.sampled_from([base64.b64encode(b"1:abc").decode(),
                                 base64.b64encode(b"x:1").decode(),
                                 base64.b64encode(b"99999999999999999999999:1").decode(),
                                 base64.b64encode("1:²".encode()).decode(), "=" * 8,
                                 "A" * 2000]))),
        }
        return Call(f"store.list_page({cls.__name__}, {_short(kwargs, 400)})",
                    lambda: self.store.list_page(cls, **kwargs),
                    ["filter", "query", "order", "sort", "page", "token", "size", "id",
                     *kwargs.values()], self._reads_only)

    def store_create(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        cls = data.draw(st.sampled_from([RegisteredModel, ModelVersion, ModelArtifact]))
        names = [n for n in _GARBLE[cls] if n != "id"]
        chosen = data.draw(st.lists(st.sampled_from(names), max_size=5, unique=True))
        kwargs = {n: data.draw(_field_strategy(self.st, n), label=n) for n in chosen}
        if cls is not ModelArtifact and "name" not in kwargs:
            kwargs["name"] = data.draw(self.st["maybe_text"], label="name")
        if cls is ModelVersion and "registered_model_id" not in kwargs:
            models = [r["id"] for r in rows_of(before, "contexts", "registered-model")]
            kwargs["registered_model_id"] = str(self._pick(data, models))
        version_id = None
        if cls is ModelArtifact and data.draw(st.booleans(), label="in a version"):
            versions = [r["id"] for r in rows_of(before, "contexts", "model-version")]
            version_id = data.draw(st.one_of(st.just(self._pick(data, versions)),
                                             self.st["ids"]))
        entity = cls(**kwargs)

        def check(before: Snap, after: Snap, result: Any) -> str | None:
            problem = unexpected(delta(before, after), add={_TABLE[cls]: 1, "outbox": 1})
            if problem:
                return problem
            got = self.store.get(cls, result.id)
            if got is None:
                return "the new entity is not there"
            for name, value in kwargs.items():
                expected = value
                if name == "custom_properties":
                    expected = clean_props(value)
                elif name == "registered_model_id":
                    expected = id_text(value)
                elif value is None:
                    continue
                if not same(getattr(got, name), expected):
                    return f"{name} stored {_short(getattr(got, name))} for {_short(expected)}"
            return None

        return Call(f"store.create({cls.__name__}({_short(kwargs, 400)}), "
                    f"version_id={version_id!r})",
                    lambda: self.store.create(entity, version_id=version_id),
                    [cls.__name__, "version", "id", *kwargs, *kwargs.values(), version_id],
                    check)

    def store_update(self, data: Any, before: Snap) -> Call:
        from hypothesis import strategies as st

        cls = data.draw(st.sampled_from([RegisteredModel, ModelVersion, ModelArtifact]))
        current = self._existing(data, before, cls)
        obj, changes = self._garble(data, current)
        return Call(f"store.update({cls.__name__} #{current.id} with {_short(changes, 400)})",
                    lambda: self.store.update(obj), [cls.__name__, "id", *changes,
                                                     *changes.values()],
                    self._update_check(cls, obj, facade=False))


def _only(snap: Snap, core: bool) -> Snap:
    """The entity tables and the outbox (``core``), else every table."""
    if not core:
        return snap
    return {t: rows for t, rows in snap.items() if t in (*ENTITY_TABLES, "outbox")}


# -- part 2: the command line ----------------------------------------------------------------

BAD_REMOTES = ["http://127.0.0.1:1", "ftp://x", "not a url", "", "http://", "https://",
               "http://[::1", "http://127.0.0.1:99999", "file:///etc/passwd", "://", "-",
               "http://user:pw@127.0.0.1:1/x", "http://127.0.0.1:1/../..", "prod", "\x00",
               "https://exa mple.com", "http://%zz", "HTTP://127.0.0.1:1", "javascript:alert(1)"]
BAD_DURATIONS = ["", "0", "0s", "-5s", "abc", "1x", "1h-", "nan", "inf", "1e400", "5 m", "m",
                 "1.5.5s", "99999999999999999999999d", "-0", "0ms", "1s1", "s1", "\x00",
                 "١s", "1h 30m", "++1s"]
META_FORMS = ["k", "=v", "k=", "k==v", "k='q'", 'k="q', "k=1e400", "k=nan", "k=inf",
              "k=99999999999", "k=-0", "k=true", "k=TRUE", "k=0x10", "k=1_000", "\x00=1",
              "k=\x00", "é=ü", " =1", "k=" + "x" * 70_000, "k" * 300 + "=1"]
#: Rows a registration may add to ``meta``: which of the model's owner and the version's
#: author were filled in from the login name rather than given (``defaulted:<uid>``).
DEFAULTED_ROWS = 2
#: Exit codes docs/cli.md defines.
EXIT_CODES = {0, 1, 2, 3, 4}


#: Field names the library's messages use for what register and update set.
_FIELD_HINTS = ["name", "version", "uri", "meta", "custom_properties", "description",
                "author", "owner", "model_format_name", "model_format_version"]


def _meta_keys(args: list[str]) -> list[str]:
    """The keys of the --meta KEY=VALUE pairs of a command line."""
    return [args[i + 1].partition("=")[0] for i, a in enumerate(args[:-1])
            if a in ("--meta", "--unset-meta")]


@dataclass
class CliCase:
    """One generated command line and what it may change."""

    #: Arguments; bytes only for real processes (an argument that is not UTF-8).
    args: list[Any]
    kind: str
    hints: list[Any]
    db: Path | None
    debug: bool = False
    #: The model (and version) an update, archive or restore names.
    name: str | None = None
    version: str | None = None


class CliPart:
    """Generated ``localhub`` command lines, in-process (CliRunner) and as real processes."""

    def __init__(self, root: Path, tally: BadInputTally, *, slow_cap: int) -> None:
        from click.testing import CliRunner

        self.tally = tally
        self.root = root / "cli"
        self.home = self.root / "home"
        self.home.mkdir(parents=True)
        self.db = self.root / "cli.db"
        client = ModelRegistryClient("http://127.0.0.1:9", path=self.db, author="soak")
        for m in range(3):
            for v in range(2):
                client.register_model(f"model-{m}", f"s3://b/m{m}/v{v}", version=f"v{v}",
                                      model_format_name="onnx", model_format_version="1",
                                      metadata={"auc": 0.9, "note": "x"})
        client.store.close()
        self.bad_dbs = self._bad_dbs()
        self.files = self._import_files()
        self.out = self.root / "out"
        self.out.mkdir()
        self.runner = CliRunner()
        self.env = {"LOCALHUB_HOME": str(self.home), "LOCALHUB_DB": None,
                    "LOCALHUB_CONFIG": None, "LOCALHUB_REMOTE": None,
                    "KF_PIPELINES_SA_TOKEN_PATH": None, "NO_COLOR": "1"}
        self.slow_left = slow_cap
        #: Whether the case being drawn uses plain text (a "mostly valid" case).
        self.clean = False
        self.st = strategies()
        self.check_store = SQLiteStore(self.db)

    def close(self) -> None:
        self.check_store.close()

    def _bad_dbs(self) -> dict[str, Path]:
        folder = self.root / "folder.db"
        folder.mkdir()
        garbage = self.root / "garbage.db"
        garbage.write_bytes(b"\x00\xffnot a database\x13" * 300)
        text = self.root / "text.db"
        text.write_text("hello, I am not SQLite\n")
        foreign = self.root / "foreign.sqlite"
        conn = sqlite3.connect(foreign)
        conn.execute("CREATE TABLE foo (x)")
        conn.commit()
        conn.close()
        newer = self.root / "newer.db"
        store = SQLiteStore(newer)
        store.get_meta("x")
        store.close()
        conn = sqlite3.connect(newer)
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
        conn.close()
        header = self.root / "header.db"
        header.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
        return {"folder": folder, "garbage": garbage, "text": text, "foreign": foreign,
                "newer": newer, "header": header, "under-file": garbage / "x.db"}

    def _import_files(self) -> dict[str, Path]:
        from localhub.bundle import export_bundle

        store = SQLiteStore(self.db)
        try:
            export_bundle(store, self.root / "valid.json")
        finally:
            store.close()
        raw = (self.root / "valid.json").read_bytes()
        files = {"valid": self.root / "valid.json"}
        samples = {"garbage": b"\x00\xff\xfe garbage", "empty": b"", "text": b"hello",
                   "json-list": b"[1, 2]", "json-null": b"null",
                   "not-bundle": b'{"format": "other"}', "truncated": raw[: len(raw) // 2],
                   "bad-checksum": raw.replace(b'"payload_sha256": "', b'"payload_sha256": "0'),
                   "newer": raw.replace(b'"format_version": 1', b'"format_version": 99'),
                   "deep": b"[" * 100_000, "bad-utf8": b'{"format": "\xff"}'}
        for name, content in samples.items():
            path = self.root / f"{name}.json"
            path.write_bytes(content)
            files[name] = path
        files["missing"] = self.root / "missing.json"
        files["folder"] = self.bad_dbs["folder"]
        return files

    # -- generation ---------------------------------------------------------------------------

    def run(self, examples: int, seed: int) -> None:
        from hypothesis import strategies as st

        run_hypothesis(self.case, st.data(), examples, seed)

    def case(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.clean = one_in(data, 3, "mostly valid")
        build = data.draw(st.sampled_from(
            [self.g_register] * 3 + [self.g_update] * 2 + [self.g_read] * 3 +
            [self.g_state, self.g_sync, self.g_sync, self.g_every, self.g_import,
             self.g_import, self.g_export, self.g_remote, self.g_misc, self.g_conflicts]))
        case = build(data)
        if one_in(data, 10, "bad --db"):
            bad = data.draw(st.sampled_from(sorted(self.bad_dbs)))
            case.db = self.bad_dbs[bad]
            case.hints.append(str(case.db))
        prefix = ["--db", str(case.db or self.db)]
        extra = data.draw(st.sampled_from([[], [], [], ["-q"], ["--debug"]]))
        case.debug = "--debug" in extra
        case.args = prefix + extra + case.args
        self.tally.record("cli", *self.execute(case))

    def _text(self, data: Any, label: str) -> str:
        """Odd text, or plain text in a "mostly valid" case (so that some calls succeed)."""
        from hypothesis import strategies as st

        plain = st.from_regex(r"[a-z][a-z0-9.-]{0,8}", fullmatch=True)
        return str(data.draw(plain if self.clean else self.st["text"], label=label))

    def _name(self, data: Any) -> str:
        from hypothesis import strategies as st

        if data.draw(st.booleans(), label="known name"):
            return str(data.draw(st.sampled_from(["model-0", "model-1", "model-2"])))
        return self._text(data, "name")

    def _version(self, data: Any) -> str:
        from hypothesis import strategies as st

        if data.draw(st.booleans(), label="known version"):
            return str(data.draw(st.sampled_from(["v0", "v1"])))
        return self._text(data, "version")

    def g_register(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        name = self._name(data)
        uri = "s3://b/" + self._text(data, "uri") if self.clean else str(data.draw(
            st.one_of(st.sampled_from(ODD_URIS), self.st["text"])))
        args = ["register", name, uri]
        if not one_in(data, 10, "no --version"):
            args += ["--version", self._version(data)]
        for opt in ("--format", "--format-version", "--author", "--owner", "--description"):
            if data.draw(st.booleans(), label=opt):
                args += [opt, self._text(data, opt)]
        for _ in range(data.draw(st.integers(0, 3), label="metas")):
            args += ["--meta", data.draw(st.one_of(
                st.sampled_from(META_FORMS),
                st.builds(lambda k, v: f"{k}={v}", self.st["text"], self.st["text"])))]
        if data.draw(st.booleans()):
            args.append("--json")
        return CliCase(args, "register", [*args, *_FIELD_HINTS, *_meta_keys(args)], None)

    def g_update(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        name = self._name(data)
        version = self._version(data) if data.draw(st.booleans(), label="with version") \
            else None
        args = ["update", name] + ([version] if version is not None else [])
        for opt in ("--description", "--uri", "--format", "--format-version"):
            if data.draw(st.booleans(), label=opt):
                args += [opt, self._text(data, opt) if opt != "--uri" else
                         str(data.draw(st.sampled_from(ODD_URIS)))]
        for _ in range(data.draw(st.integers(0, 2), label="metas")):
            args += ["--meta", data.draw(st.sampled_from(META_FORMS))]
        if data.draw(st.booleans(), label="unset"):
            args += ["--unset-meta", data.draw(st.sampled_from(["auc", "note", "nope", ""]))]
        return CliCase(args, "update", [*args, *_FIELD_HINTS, *_meta_keys(args)], None,
                       name=name, version=version)

    def g_read(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        which = data.draw(st.sampled_from(["models", "versions", "show", "pending", "kserve",
                                           "doctor", "status"]))
        args = [which]
        if which in ("versions", "show", "kserve"):
            args.append(self._name(data))
        if which in ("show", "kserve") and data.draw(st.booleans()):
            args.append(self._version(data))
        if which in ("models", "versions"):
            if data.draw(st.booleans()):
                args += ["--filter", str(data.draw(st.one_of(st.sampled_from(FILTERS),
                                                             self.st["text"])))]
            if data.draw(st.booleans()):
                args += ["--order", data.draw(st.sampled_from(["id", "update-time", "name",
                                                               "", "ID"]))]
            if data.draw(st.booleans()):
                args.append(data.draw(st.sampled_from(["--archived", "--desc"])))
        if which == "kserve":
            for opt in ("-n", "--runtime", "--name"):
                if data.draw(st.booleans(), label=opt):
                    args += [opt, self._text(data, opt)]
        if which in ("doctor", "status"):
            args.append("--offline")
        if data.draw(st.booleans()):
            args.append("--json")
        return CliCase(args, "read", [*args, "filter", "name", "version", "order", "model"],
                       None)

    def g_state(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        name = self._name(data)
        version = self._version(data) if data.draw(st.booleans()) else None
        args = [data.draw(st.sampled_from(["archive", "restore"])), name]
        args += [version] if version is not None else []
        return CliCase(args, "state", [*args, "name", "version"], None, name=name,
                       version=version)

    def _remote(self, data: Any) -> str:
        from hypothesis import strategies as st

        remote = str(data.draw(st.one_of(st.sampled_from(BAD_REMOTES), self.st["text"]),
                               label="remote"))
        if "127.0.0.1:1" in remote:
            # Unreachable remotes cost the engine's retries (seconds): only a few of them.
            if self.slow_left <= 0:
                return "ftp://x"
            self.slow_left -= 1
        return remote

    def g_sync(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        which = data.draw(st.sampled_from(["sync", "sync", "status"]))
        args = [which]
        if which == "status" or not one_in(data, 6, "no --remote"):
            args += ["--remote", self._remote(data)]
        if which == "sync":
            for flag in ("--push-only", "--pull-only", "--dry-run", "--json"):
                if one_in(data, 4, "option"):
                    args.append(flag)
            if one_in(data, 4, "option"):
                args += ["--on-conflict", data.draw(st.sampled_from(["ours", "mine", ""]))]
            if one_in(data, 4, "option"):
                args += ["--model", self._name(data)]
        return CliCase(args, "sync", [*args, "remote", "url", "push", "pull", "conflict"], None)

    def g_every(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        duration = str(data.draw(st.one_of(st.sampled_from(BAD_DURATIONS), self.st["text"])))
        # --dry-run makes any duration that parses a usage error too: the loop never starts.
        args = ["sync", "--every", duration, "--dry-run", "--remote", "ftp://x"]
        if data.draw(st.booleans()):
            args.append("--watch")
        return CliCase(args, "usage", [*args, "every", "duration", "dry-run"], None)

    def g_import(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        if one_in(data, 3, "fixed file"):
            path = self.files[data.draw(st.sampled_from(sorted(self.files)))]
        else:
            path = self._mutated_bundle(data)
        args = ["import", str(path)]
        if data.draw(st.booleans()):
            args.append("--json")
        return CliCase(args, "import", [*args, "bundle", "file", path.name], None)

    def _mutated_bundle(self, data: Any) -> Path:
        """The valid bundle with one value replaced by garbage, usually re-checksummed."""
        from hypothesis import strategies as st

        bundle = json.loads(self.files["valid"].read_text(encoding="utf-8"))
        spots: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    spots.append((node, key))
                    walk(value)
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    spots.append((node, i))
                    walk(value)

        walk(bundle["payload"])
        leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                           st.sampled_from(ODD_TEXT[:30]), st.text(max_size=5))
        nested = st.lists(leaves, max_size=3) | st.dictionaries(st.text(max_size=4), leaves,
                                                                max_size=3)
        json_garbage = st.one_of(leaves, nested, st.lists(nested, max_size=2),
                                 st.dictionaries(st.text(max_size=4), nested, max_size=2))
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            node, key = spots[data.draw(st.integers(0, len(spots) - 1), label="spot")]
            node[key] = data.draw(json_garbage, label="garbage")
        if not one_in(data, 5, "bad checksum"):
            canonical = json.dumps(bundle["payload"], sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False).encode("utf-8", "surrogatepass")
            bundle["payload_sha256"] = hashlib.sha256(canonical).hexdigest()
        path = self.out / "mutated.json"
        path.write_bytes(json.dumps(bundle, ensure_ascii=False).encode("utf-8",
                                                                        "surrogatepass"))
        return path

    def g_export(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        target = data.draw(st.one_of(
            st.sampled_from([str(self.out / "e.json"), str(self.bad_dbs["folder"]),
                             "/nonexistent/dir/x.json", str(self.bad_dbs["garbage"] / "x.json"),
                             "/dev/full", "", "/proc/version"]),
            st.builds(lambda t: str(self.out / t), self.st["text"])))
        args = ["export", target]
        if data.draw(st.booleans()):
            args += data.draw(st.sampled_from([["--pending"], ["--model", "model-0"],
                                               ["--model", "nope"],
                                               ["--pending", "--model", "model-1"]]))
        return CliCase(args, "read", [*args, "file", "model", "pending"], None)

    def g_remote(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        which = data.draw(st.sampled_from(["add", "add", "remove", "set-default", "list",
                                           "reset"]))
        args = ["remote", which]
        if which == "add":
            args += [self._text(data, "remote name"), self._remote(data)]
            if data.draw(st.booleans()):
                args += data.draw(st.sampled_from([
                    ["--token-env", "1BAD"], ["--token-env", ""], ["--token-file", "/nope"],
                    ["--ca", "/nope.pem"], ["--uri-map", "noequals"], ["--uri-map", "=x"],
                    ["--token-env", "A", "--token-file", "/x"], ["--uri-map", "file:///=s3://"]]))
        elif which in ("remove", "set-default"):
            args.append(self._text(data, "remote name"))
        elif which == "reset":
            args.append(self._remote(data))
            if data.draw(st.booleans()):
                args.append("--requeue")
        return CliCase(args, "reset" if which == "reset" else "config",
                       [*args, "remote", "url", "token", "uri", "ca"], None)

    def g_conflicts(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        bad_id = data.draw(st.one_of(st.sampled_from(BAD_IDS), self.st["text"]))
        if data.draw(st.booleans()):
            args = ["conflicts", str(bad_id)]
        else:
            args = ["resolve", str(bad_id)] + data.draw(st.sampled_from(
                [["--ours"], ["--theirs"], ["--value", "description=x"], ["--value", "x"],
                 [], ["--ours", "--theirs"]]))
        return CliCase(args, "resolve", [*args, "conflict", "id", "value"], None)

    def g_misc(self, data: Any) -> CliCase:
        from hypothesis import strategies as st

        args = data.draw(st.one_of(
            st.lists(self.st["text"], min_size=1, max_size=3),
            st.sampled_from([["serve", "--port", "abc"], ["serve", "--port", "99999"],
                             ["serve", "--port", "-1"], ["watch", "/nonexistent", "--once"],
                             ["watch", str(self.bad_dbs["garbage"]), "--once"],
                             ["watch", str(self.root), "--once", "--settle", "-1"],
                             ["register"], ["--version"], ["bogus-command"],
                             ["models", "--bogus"], ["-x"], ["show"]])))
        return CliCase([str(a) for a in args], "usage", [*args, "command", "option", "port",
                                                       "dir", "settle"], None)

    # -- checking -----------------------------------------------------------------------------

    def _files_state(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, path in self.bad_dbs.items():
            if path.is_dir():
                out[name] = sorted(p.name for p in path.iterdir())
            elif path.exists():
                out[name] = path.read_bytes()
            else:
                out[name] = None
        return out

    def execute(self, case: CliCase) -> tuple[str, bool, str, str]:
        from localhub.cli import main as cli_main

        before, files_before = snapshot(self.db), self._files_state()
        what = "localhub " + " ".join(_short(a, 60) for a in case.args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                with time_limit(CASE_TIMEOUT):
                    result = self.runner.invoke(cli_main, case.args, env=self.env,
                                                catch_exceptions=True)
            except TimeoutError as exc:
                return CRASH, False, what, str(exc)
        after, files_after = snapshot(self.db), self._files_state()
        code, stderr = result.exit_code, result.stderr
        error = result.exception
        if error is not None and not isinstance(error, SystemExit):
            return CRASH, False, what, f"{type(error).__name__}: {error}"
        self.tally.count("cli", f"exit{code}")
        verdict, accepted, why = self.judge(case, code, result.stdout, stderr, before, after,
                                            files_before != files_after)
        return verdict, accepted, what, why

    def judge(self, case: CliCase, code: int, stdout: str, stderr: str, before: Snap,
              after: Snap, files_changed: bool) -> tuple[str, bool, str]:
        """The verdict on one finished command (shared by in-process and real processes)."""
        if code not in EXIT_CODES:
            return CRASH, False, f"exit code {code}: {stderr[-300:]}"
        if "Traceback (most recent call last)" in stderr and not case.debug:
            return CRASH, code in (0, 3), f"traceback on stderr: {stderr[-400:]}"
        d = delta(before, after)
        if files_changed:
            return LOST, code in (0, 3), "a foreign file given as --db was changed"
        if code in (1, 2, 4):
            core_only = case.kind in ("sync", "reset")
            check = delta(_only(before, core_only), _only(after, core_only))
            if not check.empty:
                return LOST, False, f"exit {code} but {check.describe()}"
            lines = [ln for ln in stderr.splitlines() if ln.strip()]
            if code == 1 and "doctor" in case.args and not lines:
                # The doctor reports a failed check on stdout (its documented exit 1).
                return (OK, False, "") if "FAIL" in stdout else (
                    UNCLEAR, False, f"doctor exit 1 without a FAIL: {stdout[-300:]}")
            if not lines:
                return UNCLEAR, False, f"exit {code} with nothing on stderr"
            if code == 2:
                message = stderr
                if "Error" not in stderr and "error:" not in stderr:
                    return UNCLEAR, False, f"usage error without a message: {stderr[-300:]}"
            else:
                if not any(ln.startswith("error:") for ln in lines):
                    return UNCLEAR, False, f"exit {code} without an 'error:' line: {stderr[-300:]}"
                # From the error line on: a value in it may hold a newline.
                start = re.search(r"(?m)^error:", stderr)
                message = stderr[start.start() if start else 0:]
            hints = [*case.hints, *case.args]
            reason = unclear_reason(message, hints)
            if reason:
                return UNCLEAR, False, f"{_short(message, 300)} ({reason})"
            return OK, False, ""
        problem = self.accepted_problem(case, before, d)
        if problem:
            return OVERWRITE, True, problem
        return OK, True, ""

    def accepted_problem(self, case: CliCase, before: Snap, d: Delta) -> str | None:
        """What an accepted (exit 0/3) command changed beyond what it was asked to."""
        if case.db is not None:
            return None if d.empty else f"a command on another --db changed {d.describe()}"
        if case.kind in ("read", "usage", "config"):
            return None if d.empty else f"changed {d.describe()}"
        if case.kind == "register":
            return unexpected(d, add={"contexts": 2, "artifacts": 1, "outbox": 3,
                                      "meta": DEFAULTED_ROWS})
        if case.kind == "import":
            # New entities only: what exists here differently is a conflict, left unchanged.
            return unexpected(d, add={"contexts": 10**6, "artifacts": 10**6, "outbox": 10**6})
        sync_tables = ("sync_state", "sync_items", "sync_links", "sync_conflicts")
        if case.kind in ("sync", "reset", "resolve"):
            return unexpected(d, add={"outbox": 10**6, **{t: 10**6 for t in sync_tables}},
                              change={t: list(d.changed.get(t, {})) for t in sync_tables},
                              remove={t: list(d.removed.get(t, set())) for t in sync_tables})
        # update, archive, restore: only the named model or version (and its artifacts).
        target = _model_id(before, case.name)
        if case.version is not None:
            target = next((r["id"] for r in rows_of(before, "contexts", "model-version")
                           if r["parent_id"] == target and r["name"] == case.version), None)
        arts = [(r["id"],) for r in before.get("artifacts", {}).values()
                if r["version_id"] == target] if case.version is not None else []
        return unexpected(d, change={"contexts": [(target,)], "artifacts": arts},
                          add={"outbox": 2},
                          columns={"state"} if case.kind == "state" else None)

    # -- real processes -----------------------------------------------------------------------

    def process_cases(self) -> list[CliCase]:
        """Hand-picked bad command lines run as real ``python -m localhub.cli`` processes
        (each must be refused); the unreachable remote (~4 s of retries) comes last."""
        db, bad, files = str(self.db), self.bad_dbs, self.files
        cases = [
            CliCase(["--db", str(bad["folder"]), "models"], "read", ["folder.db"], bad["folder"]),
            CliCase(["--db", db, "register", b"\xff\xfebad", "s3://x", "--version", "1"],
                    "register", ["name", "unicode"], None),
            CliCase(["--db", db, "sync", "--every", "0s"], "usage", ["--every", "0s"], None),
            CliCase(["--db", str(bad["garbage"]), "show", "model-0"], "read", ["garbage.db"],
                    bad["garbage"]),
            CliCase(["--db", db, "import", str(files["truncated"])], "import",
                    ["truncated.json"], None),
            CliCase(["--db", db, "update", "model-0", "--meta", "noequals"], "update",
                    ["--meta", "noequals"], None, name="model-0"),
            CliCase(["--db", db, "register", "m", "s3://x\ny", "--version", "1"], "register",
                    ["uri"], None),
            CliCase(["--db", db, "sync", "--remote", "http://127.0.0.1:1"], "sync",
                    ["127.0.0.1:1"], None),
        ]
        return cases

    def run_processes(self, count: int) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("LOCALHUB_DB", "LOCALHUB_CONFIG", "LOCALHUB_REMOTE",
                            "KF_PIPELINES_SA_TOKEN_PATH")}
        env["LOCALHUB_HOME"] = str(self.home)
        for case in self.process_cases()[:count]:
            before, files_before = snapshot(self.db), self._files_state()
            cmd: list[Any] = [sys.executable, "-m", "localhub.cli", *case.args]
            what = "process: localhub " + " ".join(_short(a, 60) for a in case.args)
            try:
                proc = subprocess.run(cmd, env=env, capture_output=True, timeout=CASE_TIMEOUT,
                                      check=False)
            except subprocess.TimeoutExpired:
                self.tally.record("cli-process", CRASH, False, what, "hung")
                continue
            stderr = proc.stderr.decode("utf-8", "replace")
            self.tally.count("cli-process", f"exit{proc.returncode}")
            stdout = proc.stdout.decode("utf-8", "replace")
            verdict, accepted, why = self.judge(case, proc.returncode, stdout, stderr, before,
                                                snapshot(self.db),
                                                files_before != self._files_state())
            if verdict == OK and proc.returncode == 0:  # every one of them must be refused
                verdict, why = ACCEPTED_INVALID, "exit 0 for a command meant to be refused"
            self.tally.record("cli-process", verdict, accepted, what, why)


# -- part 3: serve ---------------------------------------------------------------------------

_COLLECTION_TABLE = {"registered_models": "contexts", "model_versions": "contexts",
                     "serving_environments": "contexts", "inference_services": "contexts",
                     "model_artifacts": "artifacts", "artifacts": "artifacts",
                     "serves": "executions"}
_GENERIC_HINTS = ["json", "body", "route", "method", "token", "artifactType", "field", "id",
                  "pageSize", "orderBy", "sortOrder", "filterQuery", "nextPageToken", "name",
                  "externalId", "parentResourceId", "customProperties", "If-Match"]


def _spec_fields() -> list[str]:
    """Every property and parameter name of the spec: a message may name a missing one."""
    if not SPEC.exists():
        return []
    names = set(re.findall(r"^\s+([a-z][A-Za-z]+):\s*$", SPEC.read_text(encoding="utf-8"),
                           re.MULTILINE))
    names |= set(re.findall(r"name:\s*([a-z][A-Za-z]+)", SPEC.read_text(encoding="utf-8")))
    schema_words = {"additionalProperties", "allOf", "oneOf", "requestBody", "securitySchemes",
                    "stepIds"}
    plain = {"name", "uri", "state", "owner", "author", "value", "tasks", "language", "readme",
             "logo", "license", "maturity", "provider", "runtime", "digest", "source",
             "profile", "step", "timestamp", "id"}
    return sorted(n for n in names - schema_words if n in plain or not n.islower())


def _excluded_checks() -> list[Any]:
    from schemathesis import checks

    names = ("status_code_conformance", "content_type_conformance",
             "response_headers_conformance", "negative_data_rejection",
             "positive_data_acceptance", "use_after_free", "ensure_resource_availability",
             "missing_required_header", "unsupported_method", "ignored_auth",
             "max_response_time")
    return [getattr(checks, n) for n in names if hasattr(checks, n)]


def _flat_hints(value: Any, depth: int = 0) -> list[Any]:
    """Keys and scalar values of a request part, two levels deep."""
    out: list[Any] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            out.append(key)
            if depth < 2:
                out.extend(_flat_hints(item, depth + 1))
    elif isinstance(value, (list, tuple)):
        for item in list(value)[:5]:
            if depth < 2:
                out.extend(_flat_hints(item, depth + 1))
    elif value is not None:
        out.append(value)
    return out


class ServePart:
    """schemathesis and hand-made malformed requests against a real ``localhub serve``."""

    def __init__(self, stack: Stack, tally: BadInputTally) -> None:
        self.stack = stack
        self.tally = tally
        self.db = stack.remote_db
        self.api = stack.url + API
        self.session = requests.Session()
        self.fields = _spec_fields()
        api = self.api
        post = self.session.post
        self.rm = post(f"{api}/registered_models", json={"name": "seed"}, timeout=10).json()
        self.mv = post(f"{api}/model_versions", json={"name": "v1",
                                                      "registeredModelId": self.rm["id"]},
                       timeout=10).json()
        self.ma = post(f"{api}/model_versions/{self.mv['id']}/artifacts",
                       json={"artifactType": "model-artifact", "uri": "s3://seed"},
                       timeout=10).json()
        se = post(f"{api}/serving_environments", json={"name": "seed"}, timeout=10).json()
        post(f"{api}/inference_services",
             json={"registeredModelId": self.rm["id"], "servingEnvironmentId": se["id"]},
             timeout=10)

    def close(self) -> None:
        self.session.close()

    # -- schemathesis -------------------------------------------------------------------------

    def run_schemathesis(self, examples: int, seed: int) -> None:
        from schemathesis import GenerationMode

        if examples <= 0:
            return
        schema = load_spec()
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    strategy = operation.as_strategy(generation_mode=mode)
                    run_hypothesis(functools.partial(self.one, mode=mode), strategy, examples,
                                   seed)
                except Exception as exc:  # noqa: BLE001 - e.g. no negative case possible
                    self.tally.count("serve", "generation-skipped")
                    if os.environ.get("SOAK_VERBOSE"):
                        print(f"  skipped {operation.label} {mode.value}: {exc!r}",
                              file=sys.stderr)

    def one(self, case: Any, mode: Any) -> None:
        from schemathesis import GenerationMode
        from schemathesis.checks import response_schema_conformance

        method = case.method.upper()
        before = snapshot(self.db) if method != "GET" else None
        what = f"{mode.value} {method} {case.formatted_path} query={_short(case.query, 150)} " \
               f"body={_short(getattr(case, 'body', None), 200)}"
        try:
            with time_limit(CASE_TIMEOUT):
                response = case.call(base_url=self.stack.url, session=self.session, timeout=30)
        except (requests.ConnectionError, requests.Timeout, TimeoutError) as exc:
            self.tally.record("serve", CRASH, False, what, f"no answer: {exc}")
            return
        except Exception:  # noqa: BLE001 - the client could not even send it (bad header...)
            self.tally.count("serve", "unsendable")
            return
        self.tally.count("serve", f"{response.status_code // 100}xx")
        hints = [*_GENERIC_HINTS, *self.fields, *_flat_hints(case.path_parameters),
                 *_flat_hints(case.query), *_flat_hints(getattr(case, "body", None)),
                 *_flat_hints(case.headers)]
        verdict, why = self.judge(method, case.formatted_path, response.status_code,
                                  response.content, before, hints)
        if verdict == OK and response.status_code < 400 and mode == GenerationMode.POSITIVE:
            try:
                case.validate_response(response, checks=[response_schema_conformance],
                                       excluded_checks=_excluded_checks())
            except Exception as exc:  # noqa: BLE001 - a schema mismatch
                verdict, why = NONCONFORMING, _short(str(exc), 400)
        self.tally.record("serve", verdict, response.status_code < 400, what, why)

    def judge(self, method: str, path: str, status: int, content: bytes,
              before: Snap | None, hints: list[Any]) -> tuple[str, str]:
        """The verdict on one answer; ``before`` is the database before a write."""
        if status >= 500:
            return CRASH, f"{status}: {content[:300]!r}"
        d = delta(before, snapshot(self.db)) if before is not None else Delta()
        if status >= 400:
            try:
                body = json.loads(content)
            except ValueError:
                return UNCLEAR, f"{status} without a JSON body: {content[:200]!r}"
            if not isinstance(body, dict) or not isinstance(body.get("message"), str) \
                    or not isinstance(body.get("code"), str):
                # 412 answers the current entity, by design.
                if status == 412:
                    return (OK, "") if d.empty else (LOST, f"412 but {d.describe()}")
                return UNCLEAR, f"{status} body is not {{code, message}}: {_short(body, 200)}"
            if not d.empty:
                return LOST, f"{status} {body['message'][:200]} but {d.describe()}"
            message = body["message"]
            generic = message.rsplit(":", 1)[0].strip().casefold() in (
                "", "bad request", "not found", "conflict", "unprocessable entity")
            reason = "only the status phrase" if generic else unclear_reason(message, hints)
            if reason:
                return UNCLEAR, f"{status} {_short(message, 300)} ({reason})"
            return OK, ""
        if before is None:
            return OK, ""
        parts = [p for p in path.split("/") if p]
        ids = [(i, p) for i, p in enumerate(parts) if p.isdigit()]
        change: dict[str, list[tuple[Any, ...]]] = {}
        if method == "PATCH" and ids:
            i, raw = ids[-1]
            change = {_COLLECTION_TABLE.get(parts[i - 1], "contexts"): [(int(raw),)]}
        elif method == "POST" and parts[-1] == "artifacts" and ids:
            # The upsert: by id or (metric, parameter) by name, within that version.
            version = int(ids[-1][1])
            change = {"artifacts": [(r["id"],) for r in (before or {}).get("artifacts",
                                                                           {}).values()
                                    if r["version_id"] == version]}
        problem = unexpected(d, add={"contexts": 1, "artifacts": 1, "executions": 1,
                                     "outbox": 1} if method == "POST" else {"outbox": 1},
                             change=change)
        if problem:
            return OVERWRITE, f"{status}: {problem}"
        return OK, ""

    # -- hand-made requests -------------------------------------------------------------------

    def malformed(self) -> list[tuple[str, str, bytes | None, dict[str, str], bool]]:
        """(method, path, body, headers, must_refuse) of hand-made bad requests."""
        rm, mv, ma = self.rm["id"], self.mv["id"], self.ma["id"]
        js = {"Content-Type": "application/json"}
        out: list[tuple[str, str, bytes | None, dict[str, str], bool]] = []

        def add(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                refuse: bool = True, raw: bool = False) -> None:
            data = body if raw or body is None else json.dumps(body).encode()
            out.append((method, path, data, headers if headers is not None else js, refuse))

        for raw_body in (b"{", b"", b"null", b"[]", b"1", b'"x"', b"\xff\xfe", b"[" * 100_000,
                       b'{"name": NaN}', b'{"name": "x", "description": 1e400}',
                       b'{"name": Infinity}', b"\xef\xbb\xbf{\"name\": \"bom\"}",
                       b'{"name": "dup", "name": 5}', b'{"name": "' + b"\\ud800" + b'"}',
                       b'{"name": "x\\u0000y"}', b"{" * 50_000 + b"}" * 50_000):
            # A UTF-8 byte order mark may be ignored (RFC 8259), so that one is fine either way.
            add("POST", "/registered_models", raw_body, raw=True,
                refuse=not raw_body.startswith(b"\xef"))
        # A body that is not JSON by its type is refused (415): no cross-site form can post one.
        add("POST", "/registered_models", {"name": "ctype-text"}, {"Content-Type": "text/plain"})
        add("POST", "/registered_models", b"name=x", {"Content-Type":
                                                      "application/x-www-form-urlencoded"},
            raw=True)
        add("POST", "/registered_models", {"name": "huge", "description": "x" * 10_000_000})
        add("POST", "/registered_models", {"name": "h" * 100_000})
        payload: Any
        for payload in ({"name": 5}, {"name": None}, {"name": ""}, {"name": " "},
                     {"name": "cp", "customProperties": []},
                     {"name": "cp", "customProperties": {"a": 1}},
                     {"name": "cp", "customProperties": {"a": {"metadataType": "MetadataIntValue",
                                                               "int_value": "abc"}}},
                     {"name": "cp", "customProperties": {"a": {"metadataType": "MetadataIntValue",
                                                               "int_value": "9" * 20}}},
                     {"name": "cp", "customProperties": {"a": {"metadataType": "Bogus"}}},
                     {"name": "cp", "customProperties": {"a": {"metadataType":
                                                               "MetadataDoubleValue",
                                                               "double_value": "NaN"}}},
                     {"name": "cp", "customProperties": {"": {"metadataType": "MetadataBoolValue",
                                                              "bool_value": True}}},
                     {"name": "st", "state": "BOGUS"}, {"name": "uf", "bogusField": 1},
                     {"name": "ro", "id": "5"}, {"name": ["a"]}, {"name": {"a": 1}},
                     {"name": "tasks", "tasks": "x"},
                     {"name": "lang", "language": [1, 2]}):
            add("POST", "/registered_models", payload)
        for bad in ("-1", "abc", "1e9", "0", "2147483648", "%C2%B2", "%D9%A3", "1%20", "%00",
                    "99999999999999999999", "1.0", "+1", "0x10", "%E2%80%AE1"):
            add("GET", f"/registered_models/{bad}")
            add("PATCH", f"/model_versions/{bad}", {"description": "x"})
            add("GET", f"/model_versions/{bad}/artifacts")
        for query in ("pageSize=abc", "pageSize=1e9", "pageSize=99999999999",
                      "orderBy=bogus", "sortOrder=up", "nextPageToken=garbage",
                      "nextPageToken=" + base64.b64encode(b"1:abc").decode(),
                      "nextPageToken=" + "A" * 5000, "filterQuery=((((",
                      "filterQuery=name%20%3D%20%27x", "filterQuery=" + "a" * 20_000,
                      "filterQuery=%00",
                      "pageSize=%00", "orderBy=", "pageSize=1&pageSize=abc"):
            add("GET", f"/registered_models?{query}", refuse=not query.endswith("orderBy="))
        # Lenient on purpose (as the Go server): a page size <= 0 means the default, a
        # dotted name that is no typed suffix is a property name.
        for query in ("pageSize=-1", "pageSize=0", "filterQuery=x.bogus_value%20%3D%201"):
            add("GET", f"/registered_models?{query}", refuse=False)
        for query in ("", "name=x", "externalId=", "name=v1", "parentResourceId=abc&name=x",
                      "name=%00"):
            add("GET", f"/model_version?{query}")
        for payload in ({"name": "other"}, {"state": "BOGUS"}, {"customProperties": "x"},
                     {"id": "99"}, {"registeredModelId": "1"}, {"bogus": 1}, [],
                     {"description": 5}):
            add("PATCH", f"/registered_models/{rm}", payload)
        # As the Go server: an empty externalId is a value, a description is MEDIUMTEXT.
        add("POST", "/registered_models", {"name": "ext", "externalId": ""}, refuse=False)
        add("PATCH", f"/registered_models/{rm}", {"description": "x" * 70_000}, refuse=False)
        add("PATCH", f"/registered_models/{rm}", {"description": "im"}, {**js,
                                                                         "If-Match": "garbage"})
        add("PATCH", f"/registered_models/{rm}", {}, refuse=False)
        for payload in ({"registeredModelId": "²", "name": "v"},
                     {"registeredModelId": "999999", "name": "v"},
                     {"registeredModelId": -1, "name": "v"},
                     {"registeredModelId": 1.5, "name": "v"},
                     {"registeredModelId": rm, "name": "v1"},
                     {"registeredModelId": rm}):
            add("POST", "/model_versions", payload)
        for payload in ({"artifactType": "bogus"}, {"uri": "s3://x"},
                     {"artifactType": "model-artifact", "id": "abc"},
                     {"artifactType": "model-artifact", "id": 99_999_999_999},
                     {"artifactType": "model-artifact", "id": ma, "uri": " s3://x"},
                     {"artifactType": "metric", "value": "x"},
                     {"artifactType": "parameter", "parameterType": "bogus"},
                     {"artifactType": "model-artifact", "uri": "s3://x\n"},
                     {"artifactType": "doc-artifact", "id": ma}):
            add("POST", f"/model_versions/{mv}/artifacts", payload)
        add("PATCH", f"/artifacts/{ma}", {"artifactType": "doc-artifact"})
        add("PATCH", f"/artifacts/{ma}", {"uri": "s3://no-type"})
        add("POST", "/inference_services", {"registeredModelId": "abc",
                                            "servingEnvironmentId": "1"})
        add("POST", "/inference_services", {"registeredModelId": rm,
                                            "servingEnvironmentId": "999999"})
        add("DELETE", f"/registered_models/{rm}")
        add("PUT", f"/registered_models/{rm}", {"name": "put"})
        add("GET", "/bogus")
        add("POST", "/registered_models/", {"name": "slash"}, refuse=False)
        return out

    def run_malformed(self) -> None:
        for method, path, body, headers, refuse in self.malformed():
            url = self.api + path
            before = snapshot(self.db) if method != "GET" else None
            what = f"{method} {path[:120]} body={_short(body, 120)} headers={headers}"
            try:
                response = self.session.request(method, url, data=body, headers=headers,
                                                timeout=60)
            except requests.RequestException as exc:
                self.tally.record("serve-malformed", CRASH, False, what, f"no answer: {exc}")
                continue
            self.tally.count("serve-malformed", f"{response.status_code // 100}xx")
            hints = [*_GENERIC_HINTS, *self.fields, *path.replace("?", "/").replace("&", "/")
                     .replace("=", "/").split("/")]
            try:
                hints += _flat_hints(json.loads(body or b"null"))
            except (ValueError, RecursionError):
                pass
            verdict, why = self.judge(method, path.split("?")[0], response.status_code,
                                      response.content, before, hints)
            if verdict == OK and refuse and response.status_code < 400:
                verdict = ACCEPTED_INVALID
                why = f"{response.status_code}: {response.content[:200]!r}"
            self.tally.record("serve-malformed", verdict, response.status_code < 400, what, why)


# -- the soak --------------------------------------------------------------------------------

def run(*, api_examples: int = 3000, cli_examples: int = 1500, processes: int = 8,
        serve_examples: int = 30, malformed: bool = True, slow_remotes: int = 6, seed: int = 0,
        keep: bool = False) -> BadInputTally:
    """Run the three parts; ``serve_examples`` is per operation and generation mode."""
    tally = BadInputTally(NAME)
    root = Path(tempfile.mkdtemp(prefix="localhub-badinput-"))
    dbs: list[tuple[str, Path]] = []
    try:
        if api_examples > 0:
            started = time.monotonic()
            api = ApiPart(root, tally)
            try:
                api.run(api_examples, seed)
            finally:
                api.close()
            dbs.append(("api", api.db))
            tally.count("api", "seconds", round(time.monotonic() - started))
        if cli_examples > 0 or processes > 0:
            started = time.monotonic()
            cli = CliPart(root, tally, slow_cap=slow_remotes)
            try:
                cli.run(cli_examples, seed)
                cli.run_processes(processes)
            finally:
                cli.close()
            dbs.append(("cli", cli.db))
            tally.count("cli", "seconds", round(time.monotonic() - started))
        if serve_examples > 0 or malformed:
            if not SPEC.exists() and serve_examples > 0:
                tally.notes.append(f"official spec not found at {SPEC}: schemathesis skipped")
                serve_examples = 0
            started = time.monotonic()
            with Stack(keep=keep) as stack:
                serve = ServePart(stack, tally)
                try:
                    serve.run_schemathesis(serve_examples, seed)
                    if malformed:
                        serve.run_malformed()
                finally:
                    serve.close()
                found = natural_key_duplicates(stack.remote_db)
                tally.duplicates += found
                tally.count("serve", "duplicates", found)
            tally.count("serve", "seconds", round(time.monotonic() - started))
        for part, db in dbs:
            found = natural_key_duplicates(db)
            tally.duplicates += found
            tally.count(part, "duplicates", found)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            tally.notes.append(f"kept {root}")
    tally.notes[:0] = tally.summary()
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (~30 s)")
    parser.add_argument("--api", type=int, help="hypothesis cases over the Python API")
    parser.add_argument("--cli", type=int, help="hypothesis cases over the CLI (in-process)")
    parser.add_argument("--processes", type=int, help="CLI cases run as real processes (<= 8)")
    parser.add_argument("--serve", type=int,
                        help="schemathesis examples per operation and generation mode")
    parser.add_argument("--no-malformed", action="store_true",
                        help="skip the hand-made malformed requests")
    parser.add_argument("--slow-remotes", type=int,
                        help="in-process syncs against an unreachable remote (each ~3 s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    chosen = {"api_examples": args.api, "cli_examples": args.cli, "processes": args.processes,
              "serve_examples": args.serve, "slow_remotes": args.slow_remotes}
    sizes = {**sizes, **{k: v for k, v in chosen.items() if v is not None}}
    start = time.monotonic()
    tally = run(**sizes, malformed=not args.no_malformed, seed=args.seed, keep=args.keep)
    tally.notes.append(f"wall time {time.monotonic() - start:.1f} s")
    sys.exit(finish(tally))


FULL: dict[str, int] = {"api_examples": 3000, "cli_examples": 1500, "processes": 8,
                        "serve_examples": 30, "slow_remotes": 6}
QUICK: dict[str, int] = {"api_examples": 200, "cli_examples": 100, "processes": 3,
                         "serve_examples": 1, "slow_remotes": 1}


if __name__ == "__main__":
    main()
