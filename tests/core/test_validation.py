"""Input rules: valid names, URIs and metadata round-trip; invalid ones fail cleanly, unwritten."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import localhub
from localhub import ModelRegistryClient
from localhub.validation import (
    INT_PROPERTY_MAX,
    INT_PROPERTY_MIN,
    MAX_NAME_LENGTH,
    owned_name_limit,
)

from tests.support.tables import snapshot

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

TEXT_CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
URI_CHARS = st.characters(blacklist_categories=("Cs", "Cc"))
CONTROL = st.characters(whitelist_categories=["Cc"])

#: Names that fit whatever the parent id: register_model also names the artifact after the
#: model, and the server stores an owned name after "<parent id>:" (ten digits at most).
FITS = owned_name_limit(10)
names = st.text(TEXT_CHARS, min_size=1, max_size=FITS).filter(lambda s: s.strip())
uris = st.text(URI_CHARS, min_size=1, max_size=300).filter(lambda s: s.strip() == s and s != "")
values = st.one_of(
    st.booleans(),
    st.integers(INT_PROPERTY_MIN, INT_PROPERTY_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(TEXT_CHARS, max_size=100),
)
metadata = st.dictionaries(st.text(TEXT_CHARS, min_size=1, max_size=40), values, max_size=8)

_counter = itertools.count()


def unique(prefix: str) -> str:
    """A version name never used before in this process."""
    return f"{prefix}-{next(_counter)}"


@pytest.fixture
def seeded(client: ModelRegistryClient) -> ModelRegistryClient:
    """A client whose file already holds one model (so snapshots can be taken)."""
    client.register_model("base", "s3://base", version="v1")
    return client


def assert_invalid(client: ModelRegistryClient, db_path: Path, field: str,
                   rule_words: tuple[str, ...], **kwargs: object) -> localhub.InvalidInputError:
    """register_model(**kwargs) raises InvalidInputError on ``field`` and writes nothing."""
    before, pending = snapshot(db_path), client.pending()
    call = {"name": "ok", "uri": "s3://ok", "version": unique("v")} | kwargs
    with pytest.raises(localhub.InvalidInputError) as info:
        client.register_model(**call)  # type: ignore[arg-type]
    error = info.value
    assert isinstance(error, localhub.LocalHubError)
    assert isinstance(error, ValueError)
    assert error.field.startswith(field), error.field
    assert any(word in error.rule for word in rule_words), error.rule
    assert str(error) == f"invalid {error.field}: {error.rule}"
    assert snapshot(db_path) == before
    assert client.pending() == pending
    return error


# -- valid inputs round-trip ------------------------------------------------------------------


@SETTINGS
@given(model=names, version=names)
@example(model="  padded  ", version="a:b/c%_")
@example(model="x" * FITS, version="ü" * FITS)
def test_valid_names_round_trip(seeded: ModelRegistryClient, model: str, version: str) -> None:
    """Any non-blank name without NUL up to the limit is stored and found exactly."""
    try:
        seeded.get_model_version(model, version)
        assume(False)  # already registered by an earlier example
    except (localhub.StoreError, ValueError):
        pass
    seeded.register_model(model, "s3://x", version=version)
    assert seeded.get_model(model).name == model
    assert seeded.get_model_version(model, version).name == version
    assert seeded.get_model_artifact(model, version).name == model


@SETTINGS
@given(uri=uris)
@example(uri="file:///data/models/a b/ü.onnx")
@example(uri="s3://b/" + "k" * 5000)
def test_valid_uris_round_trip(seeded: ModelRegistryClient, uri: str) -> None:
    """Any URI without control characters or surrounding white space is stored exactly."""
    version = unique("u")
    seeded.register_model("m", uri, version=version)
    assert seeded.get_model_artifact("m", version).uri == uri


@SETTINGS
@given(meta=metadata)
@example(meta={"min": INT_PROPERTY_MIN, "max": INT_PROPERTY_MAX, "neg0": -0.0, "big": 1e308,
               "t": True, "f": False, "one": 1.0, "empty": "", " ": "blank key"})
def test_valid_metadata_round_trips(seeded: ModelRegistryClient,
                                    meta: dict[str, object]) -> None:
    """bool, nine-digit int, finite float and str values come back equal and same-typed."""
    version = unique("meta")
    seeded.register_model("m", "s3://x", version=version, metadata=meta)  # type: ignore[arg-type]
    stored = seeded.get_model_version("m", version).custom_properties
    assert stored == (meta or None)
    for key, value in meta.items():
        assert stored is not None and type(stored[key]) is type(value)
        if isinstance(value, float):
            assert math.copysign(1, value) == math.copysign(1, stored[key])  # type: ignore[arg-type]


# -- invalid inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "words"), [
    ("", ("empty",)),
    ("   ", ("blank",)),
    ("\t\n\u3000", ("blank",)),
    ("a\x00b", ("NUL",)),
    ("x" * (MAX_NAME_LENGTH + 1), ("at most",)),
    (42, ("string",)),
    (None, ("string",)),
])
def test_invalid_model_names(seeded: ModelRegistryClient, db_path: Path, name: object,
                             words: tuple[str, ...]) -> None:
    """Empty, blank, NUL, too long and non-str model names are refused."""
    assert_invalid(seeded, db_path, "RegisteredModel.name", words, name=name)


@pytest.mark.parametrize(("version", "words"), [
    ("", ("empty",)), (" ", ("blank",)), ("v\x00", ("NUL",)),
    ("v" * (MAX_NAME_LENGTH + 1), ("at most",)),
])
def test_invalid_version_names(seeded: ModelRegistryClient, db_path: Path, version: str,
                               words: tuple[str, ...]) -> None:
    """Invalid version names are refused before anything (not even the model) is written."""
    assert_invalid(seeded, db_path, "ModelVersion.name", words, name="brand-new",
                   version=version)
    with pytest.raises(ValueError):
        seeded.get_model("brand-new")


@SETTINGS
@given(uri=uris, bad=CONTROL, where=st.integers(min_value=0))
def test_uris_with_control_characters(seeded: ModelRegistryClient, db_path: Path, uri: str,
                                      bad: str, where: int) -> None:
    """A control character anywhere in a URI (C0, DEL, C1) is refused."""
    cut = where % (len(uri) + 1)
    broken = uri[:cut] + bad + uri[cut:]
    assert_invalid(seeded, db_path, "ModelArtifact.uri",
                   ("control", "white space", "NUL", "blank"), uri=broken)


@SETTINGS
@given(uri=uris, pad=st.sampled_from([" ", "\t", "\n", "\u00a0", "\u2003", "\u3000"]),
       side=st.sampled_from(["left", "right", "both"]))
def test_uris_with_surrounding_white_space(seeded: ModelRegistryClient, db_path: Path,
                                           uri: str, pad: str, side: str) -> None:
    """A URI starting or ending with white space is refused (never silently stripped)."""
    broken = (pad if side != "right" else "") + uri + (pad if side != "left" else "")
    assert_invalid(seeded, db_path, "ModelArtifact.uri", ("white space", "control"), uri=broken)


@pytest.mark.parametrize("uri", ["", "   ", None])
def test_missing_or_blank_uri(seeded: ModelRegistryClient, db_path: Path, uri: object) -> None:
    """An empty, blank or missing URI is refused."""
    assert_invalid(seeded, db_path, "ModelArtifact.uri", ("empty", "blank", "required"), uri=uri)


@SETTINGS
@given(number=st.one_of(st.integers(max_value=INT_PROPERTY_MIN - 1),
                        st.integers(min_value=INT_PROPERTY_MAX + 1)))
def test_ints_outside_int32_pattern(seeded: ModelRegistryClient, db_path: Path,
                                    number: int) -> None:
    """Ints outside ±999,999,999 are refused, naming the key and the range."""
    error = assert_invalid(seeded, db_path, "ModelVersion.custom_properties", ("range",),
                           metadata={"n": number})
    assert error.field == "ModelVersion.custom_properties['n']"


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_floats(seeded: ModelRegistryClient, db_path: Path, number: float) -> None:
    """NaN and infinities are refused."""
    assert_invalid(seeded, db_path, "ModelVersion.custom_properties['x']", ("finite",),
                   metadata={"x": number})


@pytest.mark.parametrize(("meta", "field", "words"), [
    ({1: "a"}, "ModelVersion.custom_properties", ("keys must be strings",)),
    ({None: "a"}, "ModelVersion.custom_properties", ("keys must be strings",)),
    ({("t",): "a"}, "ModelVersion.custom_properties", ("keys must be strings",)),
    ({"": "a"}, "ModelVersion.custom_properties", ("empty",)),
    ({"k\x00": "a"}, "ModelVersion.custom_properties", ("NUL",)),
    ({"k" * 256: "a"}, "ModelVersion.custom_properties", ("at most",)),
    ({"l": [1, 2]}, "ModelVersion.custom_properties['l']", ("list",)),
    ({"b": b"bytes"}, "ModelVersion.custom_properties['b']", ("bytes",)),
    ({"d": {"a": 1}}, "ModelVersion.custom_properties['d']", ("dict",)),
    ({"s": "a\x00b"}, "ModelVersion.custom_properties['s']", ("NUL",)),
    ("not a mapping", "ModelVersion.custom_properties", ("mapping",)),
])
def test_invalid_metadata(seeded: ModelRegistryClient, db_path: Path, meta: object, field: str,
                          words: tuple[str, ...]) -> None:
    """Non-str keys, empty keys and unsupported value types are refused, naming the key."""
    assert_invalid(seeded, db_path, field, words, metadata=meta)


@SETTINGS
@given(bad=st.one_of(st.lists(st.integers(), max_size=2), st.binary(max_size=4),
                     st.sets(st.integers(), max_size=2), st.complex_numbers(allow_nan=False)))
def test_unsupported_value_types(seeded: ModelRegistryClient, db_path: Path,
                                 bad: object) -> None:
    """Values that are not bool, int, float or str are refused."""
    assert_invalid(seeded, db_path, "ModelVersion.custom_properties['v']",
                   ("bool, int, float or str",), metadata={"v": bad})


@pytest.mark.parametrize(("attr", "value", "field"), [
    ("description", "a\x00b", "RegisteredModel.description"),
    ("owner", "o\x00", "RegisteredModel.owner"),
    ("external_id", "e" * 256, "RegisteredModel.external_id"),
    ("state", "DELETED", "RegisteredModel.state"),
    ("custom_properties", {"n": 10**10}, "RegisteredModel.custom_properties['n']"),
])
def test_invalid_update_writes_nothing(seeded: ModelRegistryClient, db_path: Path, attr: str,
                                       value: object, field: str) -> None:
    """An update breaking a rule raises InvalidInputError and leaves the stored model as it was."""
    model = seeded.get_model("base")
    before, pending = snapshot(db_path), seeded.pending()
    setattr(model, attr, value)
    with pytest.raises(localhub.InvalidInputError) as info:
        seeded.update_model(model)
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert snapshot(db_path) == before
    assert seeded.pending() == pending
    assert getattr(seeded.get_model("base"), attr) != value
