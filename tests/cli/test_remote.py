"""`localhub remote ...` and the config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localhub import config as cfg
from localhub.errors import ConfigError

from tests.support.cli import Invoke


def test_add_list_default_remove(invoke: Invoke, isolated_home: Path) -> None:
    """add writes config.toml, the first remote is the default, list shows it, remove drops it."""
    assert invoke("remote", "add", "prod", "https://reg.example.com/", "--token-env",
                  "REG_TOKEN", "--uri-map", "file:///data/=s3://team/").exit_code == 0
    assert invoke("remote", "add", "lab", "http://127.0.0.1:8080").exit_code == 0
    data = cfg.parse_toml((isolated_home / "config.toml").read_text())
    assert data["default_remote"] == "prod"
    assert data["remotes"]["prod"] == {"url": "https://reg.example.com", "token_env": "REG_TOKEN",
                                       "uri_map": ["file:///data/=s3://team/"]}
    listing = invoke("remote", "list")
    assert "* prod" in listing.stdout and "env REG_TOKEN" in listing.stdout
    assert invoke("remote", "set-default", "lab").exit_code == 0
    rows = json.loads(invoke("remote", "list", "--json").stdout)
    assert [(r["name"], r["default"]) for r in rows] == [("lab", True), ("prod", False)]
    assert invoke("remote", "remove", "lab").exit_code == 0
    config = cfg.load_config()
    assert list(config.remotes) == ["prod"] and config.default_remote is None


def test_token_is_never_written(invoke: Invoke, isolated_home: Path, tmp_path: Path) -> None:
    """Only the variable name or the token file's path reach the config file."""
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    invoke("remote", "add", "a", "https://a.example.com", "--token-file", str(token))
    invoke("remote", "add", "b", "https://b.example.com", "--token-env", "B_TOKEN",
           env={"B_TOKEN": "other-s3cr3t"})
    text = (isolated_home / "config.toml").read_text()
    assert "s3cr3t" not in text and str(token.resolve()) in text
    assert cfg.load_config().remotes["a"].token() == "s3cr3t-token"


def test_both_token_options_is_a_usage_error(invoke: Invoke) -> None:
    """--token-env and --token-file together exit 2."""
    result = invoke("remote", "add", "a", "https://a", "--token-env", "X", "--token-file", "f")
    assert result.exit_code == 2 and "not both" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["remote", "add", "a", "ftp://x"], "'ftp://x' is not a URL; expected http(s)://host[:port]"),
    (["remote", "add", "bad name", "https://x"], "invalid remote name 'bad name'"),
    (["remote", "add", "a", "https://x", "--token-env", "eyJhbGciOi.x-y"],
     "is not an environment variable name"),
    (["remote", "add", "a", "https://x", "--uri-map", "nothing"], "is not FROM=TO"),
    (["remote", "remove", "nope"], "no remote named 'nope'; see `localhub remote list`"),
    (["remote", "set-default", "nope"], "no remote named 'nope'"),
])
def test_errors_are_one_line(invoke: Invoke, args: list[str], message: str) -> None:
    """Bad URLs, names, token options and unknown remotes: one error line, exit 1."""
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_broken_config_is_reported(invoke: Invoke, isolated_home: Path) -> None:
    """A config file that is not TOML: exit 1 naming the file."""
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.toml").write_text("[remotes.prod\nurl=")
    result = invoke("remote", "list")
    assert result.exit_code == 1 and "config.toml is not valid TOML" in result.stderr


@pytest.mark.parametrize(("text", "message"), [
    ('[remotes.a]\nurl = "https://a"\ntoken = "x"\n', "unknown key(s) token"),
    ('[remotes.a]\ntoken_env = "X"\n', "needs url"),
    ('default_remote = "b"\n[remotes.a]\nurl = "https://a"\n', "default_remote 'b'"),
    ('colour = "red"\n', "unknown key(s) colour"),
])
def test_config_is_checked(isolated_home: Path, text: str, message: str) -> None:
    """Unknown keys, missing URLs and dangling defaults are ConfigErrors."""
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cfg.load_config()


def test_quoted_names_and_values_round_trip(tmp_path: Path) -> None:
    """Remote names and values needing quotes survive save and load."""
    config = cfg.add_remote(cfg.Config(), "eu.prod", 'https://x.example.com/a"b',
                            uri_map=('file:///d a/=s3://b\\c/',))
    path = cfg.save_config(config, tmp_path / "c.toml")
    assert cfg.load_config(path).remotes == config.remotes


def test_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag beats LOCALHUB_REMOTE, which beats default_remote; URLs work ad hoc."""
    config = cfg.add_remote(cfg.add_remote(cfg.Config(), "a", "https://a"), "b", "https://b")
    assert cfg.resolve_remote(config).name == "a"
    monkeypatch.setenv("LOCALHUB_REMOTE", "b")
    assert cfg.resolve_remote(config).name == "b"
    assert cfg.resolve_remote(config, "a").name == "a"
    assert cfg.resolve_remote(config, "https://c.example.com").url == "https://c.example.com"
    monkeypatch.delenv("LOCALHUB_REMOTE")
    with pytest.raises(ConfigError, match="no remote configured"):
        cfg.resolve_remote(cfg.Config())


def test_config_path_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """LOCALHUB_CONFIG points at another config file."""
    monkeypatch.setenv("LOCALHUB_CONFIG", str(tmp_path / "other.toml"))
    assert cfg.config_path() == tmp_path / "other.toml"
