r"""Parse the Model Registry ``filterQuery`` language and compile it to parameterised SQLite SQL.

Grammar (keywords case-insensitive)::

    expr  := and ("OR" and)*
    and   := term ("AND" term)*
    term  := "(" expr ")" | prop OP value
    OP    := =  !=  <>  <  <=  >  >=  LIKE  ILIKE  IN
    value := 'str' | "str" | int | float | true | false      IN takes "(" value ("," value)* ")"
    prop  := name("."name)* | `any text`   optionally ending in .string_value, .double_value,
             .int_value or .bool_value (the type of a custom property)

Every literal and custom-property key becomes a ``?`` parameter; every identifier in the SQL
comes from the fixed tables below. ``LIKE`` is case-sensitive (compiled to ``GLOB``), ``ILIKE``
is not; in both patterns ``\x`` stands for a literal ``x`` (so ``\%`` and ``\_`` are literal).
In quoted strings ``\'``, ``\"`` and ``\\`` are escapes and any other backslash is kept.

Size: one recursive-descent parser and its compiler; the grammar reads best in one place.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple, NoReturn

from localhub.codec import camel
from localhub.errors import FilterQueryError
from localhub.types import (
    ARTIFACT_TYPES,
    BaseResource,
    InferenceService,
    ModelVersion,
    RegisteredModel,
    ServeModel,
    ServingEnvironment,
    facts,
)

__all__ = ["Value", "Node", "Comparison", "And", "Or", "ENTITIES", "SUFFIXES", "MAX_LENGTH",
           "MAX_DEPTH", "parse", "compile_filter"]

MAX_LENGTH = 4096
MAX_DEPTH = 100
SUFFIXES = ("string_value", "double_value", "int_value", "bool_value")
_KEYWORDS = frozenset({"AND", "OR", "LIKE", "ILIKE", "IN", "TRUE", "FALSE"})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SUFFIX_TOKEN = re.compile(r"\.[A-Za-z0-9_]*")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1

Value = str | int | float | bool
"""A literal: bool is checked before int wherever both matter."""


def _fail(query: str, pos: int, message: str) -> NoReturn:
    raise FilterQueryError(f"filterQuery: {message}", query=query, position=pos)


def _quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _render_value(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot render non-finite float {v!r}")
        return repr(v)
    return str(v) if isinstance(v, int) else _quote(v)


class Node:
    """Base of the filter AST; ``render()`` / ``str()`` give query text that parses back to it."""

    __slots__ = ()

    def render(self) -> str:
        """Return query text for this node."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    """``prop[.suffix] op value``; ``op`` is upper-case with ``<>`` stored as ``!=``."""

    prop: str
    suffix: str | None
    op: str
    value: Value | tuple[Value, ...]
    pos: int = field(default=0, compare=False, repr=False)  # where the value starts

    def render(self) -> str:
        """Return ``prop op value`` text."""
        head, _, last = self.prop.rpartition(".")
        safe = (_IDENT.fullmatch(self.prop) is not None and self.prop.upper() not in _KEYWORDS
                and not (head and last in SUFFIXES))
        if not safe and ("`" in self.prop or not self.prop):
            raise ValueError(f"property name {self.prop!r} cannot be written in a filterQuery")
        name = self.prop if safe else f"`{self.prop}`"
        if self.suffix:
            name += "." + self.suffix
        if isinstance(self.value, tuple):
            return f"{name} {self.op} ({', '.join(_render_value(v) for v in self.value)})"
        return f"{name} {self.op} {_render_value(self.value)}"


class _Group(Node):
    """AND / OR of ``items``; rendered with every compound item in parentheses."""

    __slots__ = ()
    items: tuple[Node, ...]
    word: ClassVar[str] = ""

    def render(self) -> str:
        """Return the items joined by the group's keyword."""
        return f" {self.word} ".join(n.render() if isinstance(n, Comparison) else f"({n})"
                                     for n in self.items)


@dataclass(frozen=True, slots=True)
class And(_Group):
    """All of ``items`` hold."""

    items: tuple[Node, ...]
    word: ClassVar[str] = "AND"


@dataclass(frozen=True, slots=True)
class Or(_Group):
    """At least one of ``items`` holds."""

    items: tuple[Node, ...]
    word: ClassVar[str] = "OR"


class _Tok(NamedTuple):
    kind: str  # ident bq suffix str num op ( ) , bad eof
    text: str
    pos: int
    value: Value | None = None


def _lex_string(q: str, start: int) -> tuple[_Tok, int]:
    quote, i = q[start], start + 1
    out: list[str] = []
    while i < len(q):
        c = q[i]
        if c == quote:
            return _Tok("str", q[start:i + 1], start, "".join(out)), i + 1
        if c == "\\" and i + 1 < len(q):
            nxt = q[i + 1]
            out.append(nxt if nxt in "\\'\"" else c + nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    _fail(q, start, f"unterminated string at position {start}: expected a closing {quote}, "
                    "found end of query")


def _lex_number(q: str, m: re.Match[str]) -> _Tok:
    text, pos = m.group(), m.start()
    if any(c in text for c in ".eE"):
        if not math.isfinite(f := float(text)):
            _fail(q, pos, f"number out of range at position {pos}, found \"{text[:30]}\"")
        return _Tok("num", text, pos, f)
    if not _INT_MIN <= (n := int(text) if len(text) <= 21 else _INT_MAX + 1) <= _INT_MAX:
        _fail(q, pos, f"integer out of 64-bit range at position {pos}, found \"{text[:30]}\"")
    return _Tok("num", text, pos, n)


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            toks.append(_Tok(c, c, i))
            i += 1
        elif c in "=<>!":
            two = q[i:i + 2]
            text = two if two in ("!=", "<>", "<=", ">=") else c
            toks.append(_Tok("bad" if text == "!" else "op", text, i))
            i += len(text)
        elif c in "'\"":
            tok, i = _lex_string(q, i)
            toks.append(tok)
        elif c == "`":
            end = q.find("`", i + 1)
            if end < 0:
                _fail(q, i, f"unterminated back-quoted name at position {i}: expected a "
                            "closing `, found end of query")
            if end == i + 1:
                _fail(q, i, f"expected a property name inside `` at position {i}, found \"``\"")
            toks.append(_Tok("bq", q[i:end + 1], i, q[i + 1:end]))
            i = end + 1
            if i < n and q[i] == ".":
                m = _SUFFIX_TOKEN.match(q, i)
                assert m is not None
                toks.append(_Tok("suffix", m.group(), i))
                i = m.end()
        elif (m := _NUMBER.match(q, i)) is not None:
            toks.append(_lex_number(q, m))
            i = m.end()
        elif (m := _IDENT.match(q, i)) is not None:
            toks.append(_Tok("ident", m.group(), i))
            i = m.end()
        else:
            toks.append(_Tok("bad", c, i))
            i += 1
    toks.append(_Tok("eof", "", n))
    return toks


class _Parser:
    def __init__(self, query: str) -> None:
        self.q = query
        self.toks = _lex(query)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        self.i += 1
        return self.toks[self.i - 1]

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "ident" and tok.text.upper() == word

    def expected(self, what: str, tok: _Tok, note: str = "") -> NoReturn:
        found = "end of query" if tok.kind == "eof" else f"\"{tok.text[:30]}\""
        _fail(self.q, tok.pos, f"expected {what} at position {tok.pos}, found {found}{note}")

    def expr(self, depth: int, word: str = "OR") -> Node:
        """An OR of ANDs (``word="OR"``) or an AND of terms (``word="AND"``)."""
        items = [self.expr(depth, "AND") if word == "OR" else self.term(depth)]
        while self.keyword(word):
            self.take()
            items.append(self.expr(depth, "AND") if word == "OR" else self.term(depth))
        return items[0] if len(items) == 1 else (Or if word == "OR" else And)(tuple(items))

    def term(self, depth: int) -> Node:
        tok = self.take()
        if tok.kind == "(":
            if depth >= MAX_DEPTH:
                _fail(self.q, tok.pos, f"nesting deeper than {MAX_DEPTH} at position {tok.pos}")
            node = self.expr(depth + 1)
            if self.peek().kind != ")":
                self.expected("AND, OR or ')'", self.peek(), f" (for the '(' at {tok.pos})")
            self.take()
            return node
        if tok.kind == "bq":
            assert isinstance(tok.value, str)
            prop, suffix = tok.value, None
            if self.peek().kind == "suffix":
                stok = self.take()
                if stok.text[1:] not in SUFFIXES:
                    self.expected("a type suffix (.string_value, .double_value, .int_value or "
                                  ".bool_value)", stok)
                suffix = stok.text[1:]
        elif tok.kind == "ident" and tok.text.upper() not in _KEYWORDS:
            prop, suffix = tok.text, None
            head, _, last = tok.text.rpartition(".")
            if head and last in SUFFIXES:
                prop, suffix = head, last
        else:
            self.expected("a property name or '('", tok)
        optok = self.take()
        op = optok.text.upper()
        if not (optok.kind == "op" or (optok.kind == "ident" and op in ("LIKE", "ILIKE", "IN"))):
            self.expected(f"an operator after '{tok.text}'", optok)
        op = "!=" if op == "<>" else op
        if op != "IN":
            vtok = self.peek()
            return Comparison(prop, suffix, op, self.value(f"a value after '{optok.text}'",
                                                           f"{tok.text} {optok.text} "),
                              vtok.pos)
        lparen = self.take()
        if lparen.kind != "(":
            self.expected(f"'(' after '{optok.text}'", lparen)
        values = [self.value(f"a value in the {optok.text} list")]
        while self.peek().kind == ",":
            self.take()
            values.append(self.value(f"a value after ',' in the {optok.text} list"))
        if self.peek().kind != ")":
            self.expected(f"',' or ')' in the {optok.text} list", self.peek())
        self.take()
        return Comparison(prop, suffix, op, tuple(values), lparen.pos)

    def value(self, what: str, left: str = "") -> Value:
        """A literal; ``left`` (``name = ``) shows the quoting hint in its place."""
        tok = self.take()
        if tok.kind in ("str", "num"):
            assert tok.value is not None
            return tok.value
        if tok.kind == "ident" and tok.text.upper() in ("TRUE", "FALSE"):
            return tok.text.upper() == "TRUE"
        # A bare word is the usual slip for a string: say how to write it.
        note = (f"; quote a string value: {left}{_quote(tok.text)}" if tok.kind == "ident"
                else "")
        self.expected(what, tok, note)


def parse(query: str) -> Node:
    """Parse ``query`` into an AST; any syntax problem raises ``FilterQueryError``."""
    if not isinstance(query, str):
        raise TypeError(f"filterQuery must be a str, not {type(query).__name__}")
    if len(query) > MAX_LENGTH:
        _fail(query, MAX_LENGTH, f"query longer than {MAX_LENGTH} characters "
                                 f"(found {len(query)})")
    p = _Parser(query)
    node = p.expr(0)
    if p.peek().kind != "eof":
        p.expected("AND, OR or end of query", p.peek())
    return node


# Well-known properties: name -> (SQL template with {a} = alias, kind).  Kinds: "int" (integer
# column, numeric strings converted), "text" (compared as text), "json" (attrs value as stored).
_Field = tuple[str, str]


def _filterable(classes: tuple[type[BaseResource], ...]) -> dict[str, _Field]:
    """The filterable fields of ``classes`` (their facts' ``filter``), by wire name."""
    out: dict[str, _Field] = {}
    for cls in classes:
        for name, fact in facts(cls).items():
            if fact.filter is None:
                continue
            where = (f"{{a}}.{fact.column}" if fact.column is not None
                     else f"json_extract({{a}}.attrs, '$.{name}')")
            out[camel(name)] = (where, fact.filter)
    return out


_FIELDS: dict[str, dict[str, _Field]] = {
    RegisteredModel.kind: _filterable((RegisteredModel,)),
    ModelVersion.kind: _filterable((ModelVersion,)),
    "artifact": {**_filterable(tuple(ARTIFACT_TYPES.values())),
                 "artifactType": ("{a}.kind", "text")},
    ServingEnvironment.kind: _filterable((ServingEnvironment,)),
    InferenceService.kind: _filterable((InferenceService,)),
    ServeModel.kind: _filterable((ServeModel,)),
}
ENTITIES: frozenset[str] = frozenset(_FIELDS)


def _infer_kind(v: Value) -> str:
    if isinstance(v, bool):
        return "bool_value"
    return "int_value" if isinstance(v, int) else (
        "double_value" if isinstance(v, float) else "string_value")


def _like_pieces(pattern: str) -> list[tuple[bool, str]]:
    """Split a LIKE pattern into (is_wildcard, char); ``\\x`` is a literal ``x``."""
    out: list[tuple[bool, str]] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append((False, pattern[i + 1]))
            i += 2
        else:
            out.append((c in "%_", c))
            i += 1
    return out


def _glob(pieces: list[tuple[bool, str]]) -> str:
    return "".join(("*" if c == "%" else "?") if wild else (f"[{c}]" if c in "*?[" else c)
                   for wild, c in pieces)


def _like(pieces: list[tuple[bool, str]]) -> str:
    return "".join(c if wild or c not in "%_\\" else "\\" + c for wild, c in pieces)


class _Compiler:
    def __init__(self, query: str, fields: dict[str, _Field], alias: str) -> None:
        self.q, self.fields, self.alias = query, fields, alias
        self.params: list[object] = []

    def sql(self, node: Node) -> str:
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, _Group):
            return "(" + f" {node.word} ".join(self.sql(n) for n in node.items) + ")"
        raise TypeError(f"not a filter node: {node!r}")

    def coerce(self, kind: str, v: Value, node: Comparison) -> object:
        """Convert a literal to what the column of ``kind`` holds."""
        if kind in ("text", "string_value"):
            return ("true" if v else "false") if isinstance(v, bool) else str(v)
        if kind == "json":
            return int(v) if isinstance(v, bool) else v
        if kind == "bool_value":
            if isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)):
                return int(v)
            if isinstance(v, str) and v.strip().lower() in ("true", "false"):
                return int(v.strip().lower() == "true")
            self.wrong(node, "a boolean", v)
        if isinstance(v, str) and _NUMBER.fullmatch(v.strip()):
            text = v.strip()
            v = float(text) if any(c in text for c in ".eE") else int(text)
            if not (math.isfinite(v) if isinstance(v, float) else _INT_MIN <= v <= _INT_MAX):
                self.wrong(node, "a number in range", text)
        if isinstance(v, bool) or isinstance(v, str):
            self.wrong(node, "a number", v)
        return float(v) if kind == "double_value" else v

    def wrong(self, node: Comparison, what: str, v: Value) -> NoReturn:
        found = _render_value(v) if not isinstance(v, float) or math.isfinite(v) else str(v)
        _fail(self.q, node.pos, f"'{node.prop}' expects {what} at position {node.pos}, "
                                f"found {found}")

    def comparison(self, node: Comparison) -> str:
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        known = self.fields.get(node.prop)
        if known is not None:
            col, kind = known[0].format(a=self.alias), known[1]
        else:
            kind = node.suffix or _infer_kind(values[0])
            col = (f"CASE WHEN fq_cp.type = 'object' THEN json_extract(fq_cp.value, '$.{kind}') "
                   "END")
            self.params.append(node.prop)
        if node.op in ("LIKE", "ILIKE"):
            if not isinstance(node.value, str):
                self.wrong(node, f"a string pattern for {node.op}", values[0])
            pieces = _like_pieces(node.value)
            if node.op == "LIKE":
                pred = f"{col} GLOB ?"
                self.params.append(_glob(pieces))
            else:
                pred = f"lower({col}) LIKE lower(?) ESCAPE '\\'"
                self.params.append(_like(pieces))
        elif node.op == "IN":
            pred = f"{col} IN ({', '.join('?' * len(values))})"
            self.params.extend(self.coerce(kind, v, node) for v in values)
        elif node.op in ("=", "!=", "<", "<=", ">", ">="):
            pred = f"{col} {node.op} ?"
            self.params.append(self.coerce(kind, values[0], node))
        else:
            _fail(self.q, node.pos, f"unknown operator {node.op!r}")
        if known is not None:
            return f"({pred})"
        return (f"(EXISTS (SELECT 1 FROM json_each({self.alias}.custom_properties) AS fq_cp "
                f"WHERE fq_cp.key = ? AND {pred}))")


def compile_filter(query: str, entity: str, *, alias: str = "t") -> tuple[str, list[object]]:
    """Compile ``query`` for ``entity`` to ``(sql_boolean_expression, params)`` for SQLite.

    An empty or blank query gives ``("1", [])``. Unknown ``entity`` or a bad ``alias`` is a
    programming error (``ValueError``); a bad query raises ``FilterQueryError``.
    """
    fields = _FIELDS.get(entity)
    if fields is None:
        raise ValueError(f"unknown entity {entity!r}; expected one of {sorted(ENTITIES)}")
    if not _ALIAS.fullmatch(alias) or alias.lower() == "fq_cp":
        raise ValueError(f"invalid table alias {alias!r}")
    if len(query) <= MAX_LENGTH and not query.strip():
        return "1", []
    compiler = _Compiler(query, fields, alias)
    sql = compiler.sql(parse(query))
    return sql, compiler.params

