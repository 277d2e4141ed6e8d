"""Bad input anywhere (a request body, a CLI argument, a lookup by name or id, a remote URL,
a bundle) is a clear error with the right exit code or status: never a 500, a traceback or
codec internals, and it writes nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from localhub import (
    InvalidInputError,
    LocalHubError,
    ModelRegistryClient,
    ModelVersion,
    RegisteredModel,
)
from localhub.cli import main as cli_main
from localhub.server.http import ApiError, Ctx

pytestmark = pytest.mark.own_server  # no sync server: local API, CLI and serve's codec


def _ctx(body: bytes) -> Ctx:
    return Ctx(store=None, params={}, query={}, body=body, headers={},  # type: ignore[arg-type]
               lock=threading.Lock())


def test_deeply_nested_json_body_is_a_400_not_a_500() -> None:
    """A JSON body nested 100,000 deep is refused with 400, never answered with 500."""
    with pytest.raises(ApiError) as caught:
        _ctx(b"[" * 100_000).json()
    assert caught.value.status == 400
    assert "nested too deeply" in caught.value.message


def test_body_that_is_not_utf8_is_named_without_codec_internals() -> None:
    """A body that is not UTF-8 is refused with a message naming it, without codec internals."""
    with pytest.raises(ApiError) as caught:
        _ctx(b'{"name": "\xff"}').json()
    assert caught.value.status == 400
    assert "not UTF-8" in caught.value.message and "\\xff" in caught.value.message
    assert "codec" not in caught.value.message


def _cli_db(tmp_path: Path) -> tuple[Path, dict[str, str | None]]:
    db = tmp_path / "r.db"
    client = ModelRegistryClient("http://127.0.0.1:9", path=db, author="t")
    client.register_model("m", "s3://b/1", version="1", model_format_name="onnx",
                          model_format_version="1")
    client.store.close()
    return db, {"LOCALHUB_HOME": str(tmp_path / "home"), "LOCALHUB_DB": None}


def _rows(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [*conn.execute("SELECT * FROM contexts ORDER BY id"),
                *conn.execute("SELECT * FROM artifacts ORDER BY id"),
                *conn.execute("SELECT * FROM outbox ORDER BY seq")]
    finally:
        conn.close()


def test_update_with_a_bad_uri_changes_nothing(tmp_path: Path) -> None:
    """`update NAME VERSION --description D --uri BAD` exits 1 and changes and queues nothing."""
    db, env = _cli_db(tmp_path)
    before = _rows(db)
    result = CliRunner().invoke(cli_main, ["--db", str(db), "update", "m", "1",
                                           "--description", "new", "--uri", " s3://bad"],
                                env=env)
    assert result.exit_code == 1, result.output
    assert "ModelArtifact.uri" in result.stderr
    assert _rows(db) == before


def test_export_to_an_empty_path_is_a_usage_error(tmp_path: Path) -> None:
    """`export ""` is a usage error, not a traceback."""
    db, env = _cli_db(tmp_path)
    result = CliRunner().invoke(cli_main, ["--db", str(db), "export", ""], env=env)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "path is empty" in result.stderr


def test_export_to_a_path_with_nul_is_a_usage_error(tmp_path: Path) -> None:
    """A NUL in the export path is a usage error, not a traceback."""
    db, env = _cli_db(tmp_path)
    result = CliRunner().invoke(cli_main, ["--db", str(db), "export", str(tmp_path / "a\x00b")],
                                env=env)
    assert result.exit_code == 2, result.output
    assert "NUL" in result.stderr


def test_argument_that_is_not_utf8_is_an_error_line_not_a_traceback(tmp_path: Path) -> None:
    """An argument that is not UTF-8 (`localhub show $'\\xff'`) is an error line, no
    traceback."""
    db, env = _cli_db(tmp_path)
    result = CliRunner().invoke(cli_main, ["--db", str(db), "show", "a\udcff", "1"], env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error:")
    assert "UTF-8" in result.stderr or "Unicode" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_import_of_deeply_nested_json_is_refused_as_a_bad_bundle(tmp_path: Path) -> None:
    """`localhub import` of a file nested 100,000 deep is refused as a bad bundle."""
    db, env = _cli_db(tmp_path)
    bundle = tmp_path / "deep.json"
    bundle.write_text("[" * 100_000)
    before = _rows(db)
    result = CliRunner().invoke(cli_main, ["--db", str(db), "import", str(bundle)], env=env)
    assert result.exit_code == 1, result.output
    assert "nested too deeply" in result.stderr
    assert _rows(db) == before


# -- store.py, _entities.py, bundle.py, config.py, doctor.py (not fixed here) ---------------

def test_import_bundle_of_deeply_nested_json_raises_bundle_error(tmp_path: Path) -> None:
    """import_bundle of JSON nested 100,000 deep raises BundleError."""
    from localhub.bundle import import_bundle
    from localhub.errors import BundleError

    bundle = tmp_path / "deep.json"
    bundle.write_text("[" * 100_000)
    client = ModelRegistryClient("http://127.0.0.1:9", path=tmp_path / "r.db", author="t")
    with pytest.raises(BundleError):
        import_bundle(client.store, bundle)


@pytest.fixture
def client(tmp_path: Path) -> ModelRegistryClient:
    c = ModelRegistryClient("http://127.0.0.1:9", path=tmp_path / "r.db", author="t")
    c.register_model("m", "s3://b/1", version="1")
    return c


@pytest.mark.parametrize("name", [[], {}, 10**30], ids=["list", "dict", "huge-int"])
def test_lookup_by_a_name_of_the_wrong_type_is_a_value_or_type_error(
        client: ModelRegistryClient, name: object) -> None:
    """A lookup by a name that is not a string raises a ValueError or TypeError, as the official
    client does, never a sqlite3 error."""
    with pytest.raises((LocalHubError, ValueError, TypeError)) as caught:
        client.get_model(name)  # type: ignore[arg-type]
    assert not isinstance(caught.value, sqlite3.Error)
    with pytest.raises((LocalHubError, ValueError, TypeError)):
        client.get_model_version("m", name)  # type: ignore[arg-type]


def test_lookup_by_a_name_with_a_lone_surrogate_is_a_clear_refusal(
        client: ModelRegistryClient) -> None:
    """A lookup by a name holding a lone surrogate is a LocalHubError without codec internals."""
    with pytest.raises(LocalHubError) as caught:
        client.get_model("\ud800")
    assert "codec" not in str(caught.value)


def test_ids_with_non_ascii_digits_are_invalid_ids(client: ModelRegistryClient) -> None:
    """Ids of non-ASCII digits ("²") are not found by get and are invalid ids for create."""
    assert client.store.get(RegisteredModel, "²") is None
    with pytest.raises(InvalidInputError) as caught:
        client.store.create(ModelVersion(name="v", registered_model_id="²"))
    assert caught.value.field == "ModelVersion.registered_model_id"


def test_remote_url_with_a_broken_ipv6_host_is_a_config_error() -> None:
    """A remote URL with a broken IPv6 host is a ConfigError."""
    from localhub.config import Config, resolve_remote
    from localhub.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        resolve_remote(Config(), "http://[::1")
    assert "http://[::1" in str(caught.value)


@pytest.mark.parametrize("args", [["sync", "--remote", "http://[::1"],
                                  ["status", "--offline", "--remote", "http://[::1"],
                                  ["remote", "add", "x", "http://[::1"]],
                         ids=["sync", "status", "remote-add"])
def test_cli_with_a_broken_ipv6_remote_url_is_an_error_line(tmp_path: Path,
                                                            args: list[str]) -> None:
    """`sync`, `status` and `remote add` with a broken IPv6 remote URL exit 1 with an error line."""
    db, env = _cli_db(tmp_path)
    result = CliRunner().invoke(cli_main, ["--db", str(db), *args], env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error:") and "http://[::1" in result.stderr


def test_reachability_check_of_a_url_with_a_space_in_the_host_is_a_warning() -> None:
    """The reachability check of a URL with a space in its host is a warning, not a crash."""
    from localhub.config import Remote
    from localhub.doctor import check_remote

    check = check_remote(Remote(name="x", url="https://exa mple.com"), timeout=1.0)
    assert check.status in ("WARN", "FAIL")
    assert "exa mple.com" in check.message


def test_a_page_size_beyond_sqlite_integers_lists_everything(
        client: ModelRegistryClient) -> None:
    """A page size beyond SQLite's integers lists every model."""
    assert [m.name for m in client.list_models(page_size=10**20)] == ["m"]
    assert [v.name for v in client.list_model_versions("m", page_size=10**20)] == ["1"]
