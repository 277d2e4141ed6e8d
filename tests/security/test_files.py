"""Items 9-11: private file modes, export through a fresh temporary file, strict import."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localhub.bundle import _canonical, import_bundle, read_bundle
from localhub.errors import BundleError
from localhub.store import SQLiteStore

from tests.support.cli import Invoke


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this umask."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_private_modes_whatever_the_umask(invoke: Invoke, home: Path, tmp_path: Path,
                                          umask: int) -> None:
    """Data folder 0700; database, -wal, -shm, config and bundles 0600."""
    db = home / "registry.db"
    store = SQLiteStore(db)
    store.register_model("m", "s3://b/m", version="1")
    assert _mode(home) == 0o700
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert path.exists() and _mode(path) == 0o600, (path, oct(_mode(path)))
    store.close()
    invoke("remote", "add", "r", "https://registry.example.com")
    assert _mode(home / "config.toml") == 0o600
    out = tmp_path / "b.json"
    assert invoke("--db", str(db), "export", str(out)).exit_code == 0
    assert _mode(out) == 0o600


def test_export_replaces_a_symlink_and_ignores_a_planted_tmp(invoke: Invoke, tmp_path: Path,
                                                             store: SQLiteStore) -> None:
    """export never writes through a symlink at the target or at a predictable temp name."""
    store.register_model("m", "s3://b/m", version="1")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "bundle.json"
    os.symlink(victim, tmp_path / "bundle.json.tmp")
    os.symlink(victim, out)
    assert invoke("export", str(out)).exit_code == 0
    assert victim.read_text() == "precious"
    assert not out.is_symlink() and json.loads(out.read_text())["format"] == "localhub-bundle"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bundle.json")] == []


@pytest.fixture
def store(db: Path) -> SQLiteStore:
    """The database of the CLI (--db)."""
    return SQLiteStore(db)


def _bundle(path: Path, models: list[dict[str, Any]]) -> Path:
    payload = {"models": models}
    path.write_text(json.dumps({
        "format": "localhub-bundle", "format_version": 1, "created_at": "2024-01-01T00:00:00Z",
        "source_database_uid": "x", "scope": "all",
        "payload_sha256": hashlib.sha256(_canonical(payload)).hexdigest(),
        "payload": payload}))
    return path


def _model(**fields: Any) -> dict[str, Any]:
    return {"name": "m", "versions": [{"name": "1", "artifacts": [
        {"artifact_type": "model-artifact", "name": "a", "uri": "s3://b/m"}]}], **fields}


def test_import_refuses_what_is_not_a_regular_file(tmp_path: Path, store: SQLiteStore) -> None:
    """FIFOs, devices, folders and symlinks to them are refused without blocking."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    os.symlink(fifo, link)
    folder = tmp_path / "folder"
    folder.mkdir()
    for path in (fifo, link, Path("/dev/zero"), folder):
        # In a child process: reading a FIFO without a writer would block this one forever.
        code = ("import sys; from pathlib import Path; from localhub.bundle import read_bundle\n"
                "from localhub.errors import BundleError\n"
                "try:\n    read_bundle(Path(sys.argv[1]))\n"
                "except BundleError as exc:\n    print(exc)")
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                              text=True, timeout=30)
        assert ("not a regular file" in done.stdout or "Is a directory" in done.stdout), (
            path, done.stdout, done.stderr)


def test_import_size_cap(tmp_path: Path) -> None:
    """A bundle over the size cap is refused before it is parsed."""
    path = _bundle(tmp_path / "b.json", [_model(description="x" * 5000)])
    with pytest.raises(BundleError, match="more than the 1000 bytes"):
        read_bundle(path, max_bytes=1000)
    assert read_bundle(path)["models"][0]["name"] == "m"


BAD_PROPERTIES = [
    {"flag": {"bool_value": "false"}},
    {"n": {"int_value": 1.9}},
    {"n": {"int_value": "12"}, "m": {"int_value": True}},
    {"s": {"string_value": {"a": 1}}},
    {"d": {"double_value": "1.5"}},
    {"j": {"struct_value": "[1, 2]"}},
    {"x": {"bool_value": True, "int_value": 1}},
    {"x": "plain"},
]


@pytest.mark.parametrize("props", BAD_PROPERTIES)
def test_import_checks_property_types_as_the_rest_api(tmp_path: Path, store: SQLiteStore,
                                                      props: dict[str, Any]) -> None:
    """Wrongly typed custom property values are refused, nothing is written."""
    path = _bundle(tmp_path / "b.json", [_model(custom_properties=props)])
    with pytest.raises(BundleError, match="not imported"):
        import_bundle(store, path)
    assert store.pending() == []


@pytest.mark.parametrize("fields", [{"description": {"a": 1}}, {"owner": 3},
                                    {"state": "GONE"}, {"tasks": "one"}, {"surprise": 1}])
def test_import_checks_entity_fields(tmp_path: Path, store: SQLiteStore,
                                     fields: dict[str, Any]) -> None:
    """Entity fields of the wrong type or unknown to the API are refused."""
    with pytest.raises(BundleError):
        import_bundle(store, _bundle(tmp_path / "b.json", [_model(**fields)]))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.booleans(), st.integers(-10**9 + 1, 10**9 - 1),
                       st.floats(allow_nan=False, allow_infinity=False),
                       st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)))
def test_import_keeps_valid_values_exactly(tmp_path_factory: pytest.TempPathFactory,
                                           value: Any) -> None:
    """A value the API accepts comes back with the same type and value."""
    folder = tmp_path_factory.mktemp("ok")
    cell = ({"bool_value": value} if isinstance(value, bool) else
            {"int_value": value} if isinstance(value, int) else
            {"double_value": value} if isinstance(value, float) else {"string_value": value})
    store = SQLiteStore(folder / "r.db")
    import_bundle(store, _bundle(folder / "b.json", [_model(custom_properties={"k": cell})]))
    from localhub.types import RegisteredModel

    got = store.find(RegisteredModel, name="m")
    assert got is not None and got.custom_properties is not None
    assert type(got.custom_properties["k"]) is type(value) and got.custom_properties["k"] == value
    store.close()


@pytest.mark.parametrize(("models", "named"), [
    ([_model(), _model()], "model 'm' appears twice"),
    ([{"name": "m", "versions": [{"name": "1"}, {"name": "1"}]}], "version 'm:1' appears twice"),
])
def test_duplicate_entries_are_named(tmp_path: Path, store: SQLiteStore,
                                     models: list[dict[str, Any]], named: str) -> None:
    """A bundle holding the same entity twice names it; nothing is written."""
    with pytest.raises(BundleError, match=named):
        import_bundle(store, _bundle(tmp_path / "b.json", models))
    assert store.pending() == []
