"""The web page's pure parts: the name filter, property text round trip, origin check."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localhub.server.web.queries import like_filter
from localhub.server.web.render import format_meta_value, parse_props_text
from localhub.server.web.security import Secrets, same_origin
from localhub.store import SQLiteStore
from localhub.types import RegisteredModel

ASCII = st.text(alphabet=string.printable.strip() + " ", min_size=1, max_size=6)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(ASCII.filter(lambda s: s.strip() == s), min_size=1, max_size=6,
                      unique_by=str.lower), query=ASCII)
def test_name_filter_is_a_plain_substring_match(tmp_path: Path, names: list[str],
                                                query: str) -> None:
    """The filter box keeps exactly the names containing the text, wildcards and quotes
    taken literally, in any case."""
    store = SQLiteStore(tmp_path / f"f{abs(hash((tuple(names), query)))}.db")
    try:
        with store.batch():
            for name in names:
                store.create(RegisteredModel(name=name))
        page = store.list_page(RegisteredModel, filter_query=like_filter(query))
        found = {getattr(m, "name", None) for m in page.items}
        assert found == {n for n in names if query.lower() in n.lower()}
    finally:
        store.close()


VALUES = st.one_of(st.booleans(), st.integers(-10**12, 10**12),
                   st.floats(allow_nan=False, allow_infinity=False),
                   st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]),
                           max_size=12))


@settings(deadline=None)
@given(props=st.dictionaries(st.text(alphabet=string.ascii_letters + "_.", min_size=1,
                                     max_size=8), VALUES, max_size=5))
def test_property_text_round_trips(props: dict[str, object]) -> None:
    """Properties shown in the edit box and saved unchanged keep their values and types."""
    text = "\n".join(f"{k}={format_meta_value(v)}" for k, v in props.items())
    assert parse_props_text(text, {}) == props
    assert all(type(parse_props_text(text, {})[k]) is type(v) for k, v in props.items())


def test_origin_check_and_csrf_token() -> None:
    """Only this host's origin passes; a CSRF token matches its own cookie only."""
    host = {"host": "127.0.0.1:8080"}
    assert same_origin({**host, "origin": "http://127.0.0.1:8080"}, "http")
    assert not same_origin({**host, "origin": "http://localhost:8080"}, "http")
    assert not same_origin({**host, "origin": "null"}, "http")
    assert not same_origin({**host, "sec-fetch-site": "same-site"}, "http")
    assert same_origin({**host, "sec-fetch-site": "same-origin"}, "http")
    keys = Secrets()
    assert keys.csrf_ok("abc", keys.csrf_token("abc"))
    assert not keys.csrf_ok("abd", keys.csrf_token("abc"))
    assert not Secrets().csrf_ok("abc", keys.csrf_token("abc"))
    assert keys.session_ok(keys.new_session()) and not keys.session_ok("x.y")
