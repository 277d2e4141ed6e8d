"""Tests for localhub.filterquery: parsing, error reporting and SQL compiled onto real SQLite."""

from __future__ import annotations

import json
import operator
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localhub.errors import FilterQueryError
from localhub.filterquery import ENTITIES, And, Comparison, Node, Or, compile_filter, parse

CP1 = {
    "accuracy": {"double_value": 0.93},
    "epochs": {"int_value": 10},
    "ok": {"bool_value": True},
    "team": {"string_value": "vision"},
    "my.prop": {"string_value": "x"},
}
# Registered models: create_time = id * 1000, update_time = 10000 - id * 1000.
CONTEXT_ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "alpha", "state": "LIVE", "owner": "ann", "cp": CP1},
    {"id": 2, "name": "Alpha", "state": "ARCHIVED", "owner": "bob", "cp": {
        "accuracy": {"double_value": 0.85}, "epochs": {"int_value": 5},
        "ok": {"bool_value": False}, "team": {"string_value": "nlp"},
        "team name": {"string_value": "core"}}},
    {"id": 3, "name": "a*b", "state": "LIVE", "owner": "ann", "cp": {
        "team": {"string_value": "Vision"}, "epochs": {"string_value": "10"},
        "ok": {"bool_value": True}}},
    {"id": 4, "name": "a%b", "state": "LIVE", "owner": None, "cp": {
        "accuracy": {"int_value": 1}, 'we"ird$.key': {"string_value": "y"},
        "it's": {"string_value": "q"}}},
    {"id": 5, "name": "a_b", "state": "ARCHIVED", "owner": "cy", "cp": {
        "description": {"string_value": "custom"}}},
    {"id": 6, "name": "beta", "state": None, "owner": "dan", "cp": None},
    {"id": 7, "name": "x' OR 1=1 --", "state": "LIVE", "owner": "eve", "cp": {
        "accuracy": {"double_value": 1.0}, "epochs": {"double_value": 10.0}}},
    {"id": 8, "name": "a[c]", "state": "LIVE", "owner": "ann", "cp": {
        "struct": {"struct_value": '{"a": 1}'}, "plain": "not-an-object"}},
]
ARTIFACT_ROWS: list[tuple[Any, ...]] = [
    (10, "model-artifact", 2, "model.onnx", "LIVE", "s3://b/m.onnx",
     {"model_format_name": "onnx", "storage_key": "k"}, {"size": {"int_value": 100}}),
    (11, "doc-artifact", 2, "README", "LIVE", "https://x/readme", {}, {}),
    (12, "metric", 2, "acc", "LIVE", None, {"value": 0.93, "step": 3}, {}),
]


def _make_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.executescript("""
        CREATE TABLE contexts (id INTEGER PRIMARY KEY, kind TEXT, parent_id INTEGER, name TEXT,
            external_id TEXT, description TEXT, state TEXT, owner TEXT, author TEXT, attrs TEXT,
            custom_properties TEXT, create_time INTEGER, update_time INTEGER);
        CREATE TABLE artifacts (id INTEGER PRIMARY KEY, kind TEXT, version_id INTEGER, name TEXT,
            external_id TEXT, description TEXT, state TEXT, uri TEXT, attrs TEXT,
            custom_properties TEXT, create_time INTEGER, update_time INTEGER);
    """)
    for r in CONTEXT_ROWS:
        db.execute(
            "INSERT INTO contexts (id, kind, name, external_id, description, state, owner, attrs,"
            " custom_properties, create_time, update_time) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (r["id"], "registered-model", r["name"], f"ext-{r['id']}", "first", r["state"],
             r["owner"], "{}", None if r["cp"] is None else json.dumps(r["cp"]),
             r["id"] * 1000, 10000 - r["id"] * 1000))
    svc = {"registered_model_id": "1", "serving_environment_id": "9",
           "model_version_id": "2", "desired_state": "DEPLOYED", "runtime": "ovms"}
    db.execute("INSERT INTO contexts (id, kind, parent_id, name, attrs, custom_properties) "
               "VALUES (20, 'inference-service', 9, 'svc', ?, '{}')", (json.dumps(svc),))
    for a in ARTIFACT_ROWS:
        db.execute("INSERT INTO artifacts (id, kind, version_id, name, state, uri, attrs,"
                   " custom_properties, create_time, update_time) VALUES (?,?,?,?,?,?,?,?,0,0)",
                   (*a[:6], json.dumps(a[6]), json.dumps(a[7])))
    return db


DB = _make_db()


def ids(query: str, entity: str = "registered-model") -> list[int]:
    """Run ``query`` for ``entity`` and return the matching ids in order."""
    sql, params = compile_filter(query, entity)
    table, kind = ("artifacts", "%") if entity == "artifact" else ("contexts", entity)
    cur = DB.execute(f"SELECT t.id FROM {table} AS t WHERE t.kind LIKE ? AND {sql} ORDER BY t.id",
                     [kind, *params])
    return [row[0] for row in cur]


ALL = [r["id"] for r in CONTEXT_ROWS]


@pytest.mark.parametrize("query", ["", "   ", " \n\t "])
def test_blank_query_matches_everything(query: str) -> None:
    """A blank query compiles to the always-true expression."""
    assert compile_filter(query, "registered-model") == ("1", [])
    assert ids(query) == ALL


@pytest.mark.parametrize("query, expected", [
    ("name = 'alpha'", [1]),
    ('name = "Alpha"', [2]),
    ("name != 'alpha'", [2, 3, 4, 5, 6, 7, 8]),
    ("name <> 'alpha'", [2, 3, 4, 5, 6, 7, 8]),
    ("state != 'LIVE'", [2, 5]),
    ("externalId = 'ext-3'", [3]),
    ("owner = 'ann'", [1, 3, 8]),
    ("createTimeSinceEpoch > 3000", [4, 5, 6, 7, 8]),
    ("createTimeSinceEpoch >= 3000", [3, 4, 5, 6, 7, 8]),
    ("createTimeSinceEpoch < 3000", [1, 2]),
    ("createTimeSinceEpoch <= 3000", [1, 2, 3]),
    ("createTimeSinceEpoch = '2000'", [2]),
    ("lastUpdateTimeSinceEpoch < 5000", [6, 7, 8]),
    ("createTimeSinceEpoch > 1500.5", [2, 3, 4, 5, 6, 7, 8]),
])
def test_comparison_operators(query: str, expected: list[int]) -> None:
    """Every comparison operator on well-known text, id and timestamp columns."""
    assert ids(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("name = 'beta' OR state = 'LIVE' AND owner = 'bob'", [6]),
    ("state = 'ARCHIVED' AND owner = 'bob' OR name = 'alpha'", [1, 2]),
    ("(name = 'beta' OR state = 'LIVE') AND owner = 'ann'", [1, 3, 8]),
    ("name = 'beta' OR (state = 'LIVE' AND owner = 'ann')", [1, 3, 6, 8]),
    ("((id = 1) OR ((id = 2)))", [1, 2]),
    ("id > 1 AND id < 5 AND state = 'LIVE' OR id = 8", [3, 4, 8]),
])
def test_precedence_and_parentheses(query: str, expected: list[int]) -> None:
    """AND binds tighter than OR; parentheses override it."""
    assert ids(query) == expected


def test_keywords_are_case_insensitive() -> None:
    """AND/OR/LIKE/ILIKE/IN/TRUE/FALSE work in any case."""
    assert ids("name = 'beta' or state = 'LIVE' and owner = 'bob'") == [6]
    assert ids("name like 'al%' Or name iLike 'BETA'") == [1, 6]
    assert ids("id in (1, 2) aNd ok = True") == [1]
    assert ids("ok = FALSE") == [2]


@pytest.mark.parametrize("query, expected", [
    ("name LIKE 'al%'", [1]),
    ("name LIKE 'A%'", [2]),
    ("name ILIKE 'al%'", [1, 2]),
    ("name ILIKE 'ALPHA'", [1, 2]),
    ("name LIKE 'a_b'", [3, 4, 5]),
    ("name LIKE '%a'", [1, 2, 6]),
    (r"name LIKE 'a\_b'", [5]),
    (r"name LIKE 'a\%b'", [4]),
    (r"name ILIKE 'A\_%'", [5]),
    ("name LIKE 'a*%'", [3]),
    ("name LIKE 'a*b'", [3]),
    ("name LIKE 'a?b'", []),
    ("name LIKE 'a[c]'", [8]),
    ("name LIKE 'a[%'", [8]),
    ("name ILIKE 'A*B'", [3]),
    ("name ILIKE 'A[C]'", [8]),
    ("team LIKE 'V%'", [3]),
    ("team ILIKE 'vision'", [1, 3]),
    ("team.string_value ILIKE '%N%'", [1, 2, 3]),
])
def test_like_and_ilike(query: str, expected: list[int]) -> None:
    """LIKE is case-sensitive, ILIKE is not; wildcards, escapes and GLOB metacharacters."""
    assert ids(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("id IN (1, 3, 5)", [1, 3, 5]),
    ("id IN ('2', '4')", [2, 4]),
    ("name IN ('alpha', 'beta')", [1, 6]),
    ("name in ('nope')", []),
    ("epochs IN (5, 10)", [1, 2]),
    ("team IN ('vision', 'nlp')", [1, 2]),
    ("accuracy.double_value IN (1, 0.85)", [2, 7]),
])
def test_in_lists(query: str, expected: list[int]) -> None:
    """IN matches any listed literal, with the same typing as '='."""
    assert ids(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("accuracy.double_value > 0.9", [1, 7]),
    ("epochs.int_value = 10", [1]),
    ("epochs.string_value = '10'", [3]),
    ("epochs.string_value = 10", [3]),
    ("epochs.double_value = 10", [7]),
    ("epochs.int_value = '10'", [1]),
    ("ok.bool_value = true", [1, 3]),
    ("ok.bool_value = 'false'", [2]),
    ("accuracy.int_value = 1", [4]),
    ("name.string_value = 'alpha'", [1]),
    ("id.int_value = 2", [2]),
])
def test_typed_suffixes(query: str, expected: list[int]) -> None:
    """An explicit type suffix picks the custom value kind; it is ignored on well-known props."""
    assert ids(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("`my.prop` = 'x'", [1]),
    ("`my.prop`.string_value = 'x'", [1]),
    ("my.prop = 'x'", [1]),
    ("my.prop.string_value = 'x'", [1]),
    ("`team name` = 'core'", [2]),
    ("`we\"ird$.key` = 'y'", [4]),
    ("`it's` = 'q'", [4]),
    ("`name` = 'alpha'", [1]),
])
def test_backquoted_and_dotted_names(query: str, expected: list[int]) -> None:
    """Back-quoted names may hold dots, spaces and quotes; bare dotted names are one property."""
    assert ids(query) == expected


@pytest.mark.parametrize("query, expected", [
    ("epochs = 10", [1]),
    ("epochs = '10'", [3]),
    ("epochs = 10.0", [7]),
    ("accuracy > 0.9", [1, 7]),
    ("accuracy = 1", [4]),
    ("ok = true", [1, 3]),
    ("team = 'vision'", [1]),
    ("missing = 1", []),
    ("plain = 'not-an-object'", []),
    ("struct = 1", []),
    ("description = 'first'", []),
    ("description = 'custom'", [5]),
])
def test_inferred_custom_types(query: str, expected: list[int]) -> None:
    """Without a suffix the literal's type picks the value kind; other kinds never match."""
    assert ids(query) == expected


def test_ids_given_as_strings() -> None:
    """The REST API sends ids as strings: integer-looking strings compare as numbers."""
    assert ids("id = '3'") == [3]
    assert ids("id > '5'") == [6, 7, 8]
    with pytest.raises(FilterQueryError, match="'id' expects a number at position 5"):
        compile_filter("id = 'abc'", "registered-model")


def test_other_entities() -> None:
    """Artifact attrs, inference-service string ids, model-version and serve-model columns."""
    assert ids("uri LIKE 's3://%'", "artifact") == [10]
    assert ids("modelFormatName = 'onnx'", "artifact") == [10]
    assert ids("storageKey = 'k' AND artifactType = 'model-artifact'", "artifact") == [10]
    assert ids("artifactType = 'doc-artifact'", "artifact") == [11]
    assert ids("value > 0.9 OR size = 100", "artifact") == [10, 12]
    assert ids("step = 3 AND state = 'LIVE'", "artifact") == [12]
    assert ids("uri ILIKE 'HTTPS:%'", "artifact") == [11]
    assert ids("registeredModelId = 1", "inference-service") == [20]
    assert ids("registeredModelId = '1' AND desiredState = 'DEPLOYED'", "inference-service") == [20]
    assert ids("servingEnvironmentId IN (9, 10)", "inference-service") == [20]
    assert ids("runtime = 'other'", "inference-service") == []
    assert compile_filter("registeredModelId = '5'", "model-version") == ("(t.parent_id = ?)", [5])
    assert compile_filter("author = 'me'", "model-version") == ("(t.author = ?)", ["me"])
    assert compile_filter("lastKnownState = 'RUNNING'", "serve-model") == (
        "(t.state = ?)", ["RUNNING"])
    assert compile_filter("modelVersionId = 4", "serve-model") == (
        "(json_extract(t.attrs, '$.model_version_id') = ?)", ["4"])
    sql, params = compile_filter("state = 'LIVE'", "serving-environment")
    assert "custom_properties" in sql and params == ["state", "LIVE"]


def test_entities_alias_and_programming_errors() -> None:
    """ENTITIES lists the six kinds; alias is used; a bad entity or alias is a ValueError."""
    assert ENTITIES == {"registered-model", "model-version", "artifact", "serving-environment",
                        "inference-service", "serve-model"}
    assert compile_filter("name = 'a'", "artifact", alias="a2") == ("(a2.name = ?)", ["a"])
    assert "json_each(m.custom_properties)" in compile_filter("k = 1", "artifact", alias="m")[0]
    with pytest.raises(ValueError, match="unknown entity"):
        compile_filter("name = 'a'", "experiment")
    with pytest.raises(ValueError, match="alias"):
        compile_filter("name = 'a'", "artifact", alias="t; DROP TABLE x")


@pytest.mark.parametrize("query", [
    "name = 'x'' OR 1=1 --'",
    "`a'); DROP TABLE contexts; --` = 1",
    "name = '\\'; DROP TABLE contexts; --'",
    "`x') OR 1=1 --`.string_value = 'a'",
    "name = 'a' OR 1=1",
    "name = 'a'; DROP TABLE contexts",
    "`$.accuracy` = 0.93",
    '`"accuracy"` = 0.93',
    "`accuracy\"` = 0.93",
    "name = \"alpha\" /* c */",
    "name LIKE '%' OR '1'='1'",
    "name = 'a' UNION SELECT 1",
    "id = '1 OR 1=1'",
])
def test_sql_injection_is_inert(query: str) -> None:
    """Injection attempts match nothing or raise FilterQueryError; the tables survive."""
    try:
        assert ids(query) == []
    except FilterQueryError:
        pass
    tables = {r[0] for r in DB.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"contexts", "artifacts"} <= tables
    assert ids("name = 'x\\' OR 1=1 --'") == [7]  # the literal is matched verbatim


@pytest.mark.parametrize("query, position, message", [
    ("name foo", 5, "expected an operator after 'name' at position 5, found \"foo\""),
    ("name = ", 7, "expected a value after '=' at position 7, found end of query"),
    ("name = 'abc", 7, "unterminated string at position 7: expected a closing '"),
    ("id IN ()", 7, "expected a value in the IN list at position 7, found \")\""),
    ("()", 1, "expected a property name or '(' at position 1, found \")\""),
    ("name = 'a' extra", 11, "expected AND, OR or end of query at position 11, found \"extra\""),
    ("(name = 'a'", 11, "expected AND, OR or ')' at position 11, found end of query"),
    ("name == 'a'", 6, "expected a value after '=' at position 6, found \"=\""),
    ("name IS NULL", 5, "expected an operator after 'name' at position 5, found \"IS\""),
    ("name BETWEEN 1 AND 2", 5, "expected an operator after 'name' at position 5"),
    ("NOT name = 'a'", 4, "expected an operator after 'NOT' at position 4, found \"name\""),
    ("id IN (1,", 9, "expected a value after ',' in the IN list at position 9"),
    ("id IN 1", 6, "expected '(' after 'IN' at position 6, found \"1\""),
    ("`x`.foo = 1", 3, "expected a type suffix"),
    ("`x = 1", 0, "unterminated back-quoted name at position 0"),
    ("name = 'a' AND", 14, "expected a property name or '(' at position 14, found end of query"),
    ("AND = 1", 0, "expected a property name or '(' at position 0, found \"AND\""),
    ("name ~ 'a'", 5, "expected an operator after 'name' at position 5, found \"~\""),
    ("name LIKE 5", 10, "'name' expects a string pattern for LIKE at position 10"),
    ("id = 99999999999999999999", 5, "integer out of 64-bit range at position 5"),
    ("x = 1e999", 4, "number out of range at position 4"),
    ("ok.bool_value = 2", 16, "'ok' expects a boolean at position 16"),
])
def test_error_messages(query: str, position: int, message: str) -> None:
    """Malformed queries raise FilterQueryError naming what was expected, found, and where."""
    with pytest.raises(FilterQueryError) as info:
        compile_filter(query, "registered-model")
    assert info.value.position == position
    assert info.value.query == query
    assert str(info.value).startswith("filterQuery: ")
    assert message in str(info.value)


def test_length_and_nesting_limits() -> None:
    """Queries over 4096 characters or nested deeper than 100 are rejected."""
    assert ids("(" * 100 + "id = 1" + ")" * 100) == [1]
    with pytest.raises(FilterQueryError, match="nesting deeper than 100") as info:
        parse("(" * 101 + "id = 1" + ")" * 101)
    assert info.value.position == 100
    assert ids("id = 1" + " " * 4090) == [1]
    with pytest.raises(FilterQueryError, match="longer than 4096") as info:
        compile_filter("id = 1" + " " * 4091, "registered-model")
    assert info.value.position == 4096


def test_render_round_trip() -> None:
    """render() gives canonical text that parses back to an equal AST."""
    node = parse("`my prop`.int_value <> 3 or NAME = \"it's\" AND (x IN (1, -2.5e3, true))")
    assert str(node) == node.render() == (
        "`my prop`.int_value != 3 OR (NAME = 'it\\'s' AND x IN (1, -2500.0, true))")
    assert parse(node.render()) == node
    assert Comparison("and", None, "=", 1).render() == "`and` = 1"
    assert Comparison("a.int_value", None, "=", "\\").render() == "`a.int_value` = '\\\\'"
    assert parse(Comparison("a.int_value", None, "=", "\\").render()) == Comparison(
        "a.int_value", None, "=", "\\")
    with pytest.raises(ValueError):
        Comparison("a`b", None, "=", 1).render()


# ------------------------------------------------------------------------ property-based tests

GRAMMARISH = st.text(alphabet="()`'\"\\=<>!,.-_ aAnNdDoOrRiIlLkKeEtTuUfFsS0123456789\t%*",
                     max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), GRAMMARISH))
def test_arbitrary_text_only_raises_filterqueryerror(text: str) -> None:
    """Any string parses or raises FilterQueryError; ASTs round-trip; compiled SQL runs."""
    try:
        node = parse(text)
    except FilterQueryError as exc:
        assert exc.position is not None and 0 <= exc.position <= max(len(text), 4096)
    else:
        assert isinstance(node, Node)
        assert parse(node.render()) == node
    for entity in ("registered-model", "artifact"):
        try:
            ids(text, entity)  # whatever compiles also runs on SQLite
        except FilterQueryError:
            pass


KNOWN = {"id": ("id", True), "createTimeSinceEpoch": ("create_time", True),
         "name": ("name", False), "state": ("state", False), "owner": ("owner", False)}
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}


def _sql_cmp(stored: Any, op: str, lit: Any) -> bool:
    """Compare like SQLite: NULL never matches, numbers sort before text."""
    if stored is None:
        return False
    a, b = (isinstance(stored, str), stored), (isinstance(lit, str), lit)
    return OPS[op](a, b) if a[0] != b[0] else OPS[op](stored, lit)


def _like_regex(pattern: str) -> str:
    """LIKE pattern to regex: % and _ are wildcards, a backslash makes the next char literal."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return "".join(out)


def _kind_of(v: Any) -> str:
    if isinstance(v, bool):
        return "bool_value"
    return "int_value" if isinstance(v, int) else (
        "double_value" if isinstance(v, float) else "string_value")


def _coerce(kind: str, v: Any) -> Any:
    if kind in ("text", "string_value"):
        return ("true" if v else "false") if isinstance(v, bool) else str(v)
    if isinstance(v, bool) or kind == "bool_value":
        return int(v)
    v = int(v) if isinstance(v, str) else v
    return float(v) if kind == "double_value" else v


def evaluate(node: Node, row: dict[str, Any]) -> bool:
    """Pure-Python reference semantics of a filter AST over one registered-model row."""
    if isinstance(node, And):
        return all(evaluate(n, row) for n in node.items)
    if isinstance(node, Or):
        return any(evaluate(n, row) for n in node.items)
    assert isinstance(node, Comparison)
    values = node.value if isinstance(node.value, tuple) else (node.value,)
    if node.prop in KNOWN:
        column, numeric = KNOWN[node.prop]
        stored = row["id"] * 1000 if column == "create_time" else row[column]
        kind = "int" if numeric else "text"
    else:
        kind = node.suffix or _kind_of(values[0])
        entry = (row["cp"] or {}).get(node.prop)
        stored = entry.get(kind) if isinstance(entry, dict) else None
        stored = int(stored) if isinstance(stored, bool) else stored
    if node.op in ("LIKE", "ILIKE"):
        if not isinstance(stored, str):
            return False
        pattern, text = _like_regex(str(node.value)), stored
        if node.op == "ILIKE":
            return re.fullmatch(pattern, text.lower(), re.S | re.I) is not None
        return re.fullmatch(pattern, text, re.S) is not None
    if node.op == "IN":
        return any(_sql_cmp(stored, "=", _coerce(kind, v)) for v in values)
    return _sql_cmp(stored, node.op, _coerce(kind, node.value))


WORDS = st.sampled_from(["alpha", "Alpha", "beta", "a*b", "a_b", "vision", "Vision", "x", "10",
                         "nlp", "LIVE", "ann", "", "it's", "a\\b"])
LIKE_PATTERNS = st.lists(st.sampled_from(
    ["a", "A", "b", "B", "pha", "%", "_", "*", "?", "[", "c]", "a[", "a*", "a?", "\\", "\\%",
     "\\_", "\\*", "'", "o", "n"]), max_size=4).map("".join)
INTS = st.integers(-2, 12)
FLOATS = st.sampled_from([0.5, 0.85, 0.9, 0.93, 1.0, 10.0, -1.5, 1e-3])
CMP = st.sampled_from(list(OPS))
CUSTOM = st.sampled_from(["accuracy", "epochs", "ok", "team", "my.prop", "team name", "missing",
                          "description", "it's", 'we"ird$.key'])


def _cmp(prop: Any, suffix: Any, op: Any, value: Any) -> Any:
    return st.builds(Comparison, prop, suffix, op, value)


def _tuples(s: Any) -> Any:
    return st.lists(s, min_size=1, max_size=3).map(tuple)


LEAVES = st.one_of(
    _cmp(st.just("id"), st.none(), CMP, INTS | INTS.map(str)),
    _cmp(st.just("id"), st.none(), st.just("IN"), _tuples(INTS)),
    _cmp(st.just("createTimeSinceEpoch"), st.none(), CMP, st.sampled_from([0, 3000, 5000, 9000])),
    _cmp(st.sampled_from(["name", "state", "owner"]), st.none(), CMP, WORDS),
    _cmp(st.sampled_from(["name", "state"]), st.none(), st.just("IN"), _tuples(WORDS)),
    _cmp(st.sampled_from(["name", "owner", "team", "my.prop"]), st.none(),
         st.sampled_from(["LIKE", "ILIKE"]), LIKE_PATTERNS),
    _cmp(CUSTOM, st.none(), CMP, st.one_of(INTS, FLOATS, st.booleans(), WORDS)),
    _cmp(CUSTOM, st.none(), st.just("IN"), st.one_of(_tuples(INTS), _tuples(WORDS))),
    _cmp(CUSTOM, st.sampled_from(["int_value", "double_value"]), CMP, INTS | FLOATS),
    _cmp(CUSTOM, st.just("string_value"), CMP, WORDS),
    _cmp(CUSTOM, st.just("bool_value"), st.sampled_from(["=", "!="]), st.booleans()),
)
ASTS = st.recursive(LEAVES, lambda kids: st.one_of(
    st.builds(And, st.lists(kids, min_size=2, max_size=3).map(tuple)),
    st.builds(Or, st.lists(kids, min_size=2, max_size=3).map(tuple))), max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ASTS)
def test_compiled_sql_agrees_with_python_evaluator(node: Node) -> None:
    """Random ASTs render, re-parse equal, and select on SQLite exactly what the evaluator does."""
    text = node.render()
    assert parse(text) == node
    expected = [row["id"] for row in CONTEXT_ROWS if evaluate(node, row)]
    assert ids(text) == expected


@settings(max_examples=300, deadline=None)
@given(_cmp(st.sampled_from(["name", "team", "owner"]), st.none(),
            st.sampled_from(["LIKE", "ILIKE"]), LIKE_PATTERNS))
def test_like_patterns_agree_with_regex_reference(node: Comparison) -> None:
    """LIKE/ILIKE patterns with wildcards, escapes and GLOB metacharacters match like a regex."""
    assert ids(node.render()) == [row["id"] for row in CONTEXT_ROWS if evaluate(node, row)]
