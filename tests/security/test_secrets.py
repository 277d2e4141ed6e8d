"""Items 6 and 7: no credentials in URLs, token sources diagnosed the same way everywhere."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localhub.credentials import looks_like_token, redact_url
from localhub.errors import ConfigError
from localhub.rest_client import RemoteRegistry

from tests.support.cli import Invoke
from tests.support.processes import free_port
from tests.support.stubs import Stub

SECRET = "hunter2-s3cret"


@pytest.mark.parametrize("url", [
    f"https://alice:{SECRET}@registry.example.com",
    f"https://{SECRET}@registry.example.com",
    f"https://registry.example.com/?access_token={SECRET}",
    f"https://registry.example.com/?token={SECRET}",
])
def test_remote_add_refuses_credentials_in_the_url(invoke: Invoke, home: Path, url: str) -> None:
    """remote add and --remote URL refuse credentials, point to --token-env, never echo them."""
    result = invoke("remote", "add", "r", url)
    assert result.exit_code == 1 and "--token-env" in result.stderr
    assert "--token-file" in result.stderr and SECRET not in result.output
    assert not (home / "config.toml").exists()
    adhoc = invoke("status", "--remote", url)
    assert adhoc.exit_code == 1 and SECRET not in adhoc.output


def test_stored_credentials_are_redacted_everywhere(invoke: Invoke, home: Path) -> None:
    """A config written with a password in the URL never shows it: list, status, doctor, sync."""
    home.mkdir(parents=True)
    url = f"http://alice:{SECRET}@127.0.0.1:{free_port()}/?access_token={SECRET}x"
    (home / "config.toml").write_text(f'default_remote = "old"\n[remotes.old]\nurl = "{url}"\n')
    invoke("register", "m", "s3://b/m", "--version", "1")
    outputs = [invoke("remote", "list"), invoke("remote", "list", "--json"),
               invoke("status"), invoke("status", "--json"),
               invoke("doctor"), invoke("doctor", "--json"),
               invoke("sync"), invoke("sync", "--json"), invoke("sync", "--dry-run", "--json")]
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr, result.stdout + result.stderr
    listed = json.loads(outputs[1].stdout)
    assert listed[0]["url"].startswith("http://***@127.0.0.1:")
    doctor = {c["name"]: c for c in json.loads(outputs[5].stdout)}
    assert "--token-env" in doctor["remote.old.auth"]["fix"]
    assert outputs[6].exit_code == 4  # unreachable, reported without the password


@settings(max_examples=50, deadline=None)
@given(user=st.text(st.characters(min_codepoint=48, max_codepoint=122,
                                  blacklist_characters="@:/?#[]\\`^"), min_size=1),
       password=st.text(st.characters(min_codepoint=48, max_codepoint=122,
                                      blacklist_characters="@:/?#[]\\`^"), min_size=4))
def test_redact_url_hides_any_user_info(user: str, password: str) -> None:
    """Whatever the user and password, the redacted URL contains neither."""
    shown = redact_url(f"https://{user}:{password}@h.example:8443/p")
    assert shown == "https://***@h.example:8443/p"


@pytest.mark.parametrize("value", [
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "sha256~abcdefghijklmnopqrstuvwxyz0123456789",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
    "3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
])
def test_token_given_to_token_env_is_refused_unechoed(invoke: Invoke, home: Path,
                                                      value: str) -> None:
    """A token passed as --token-env is refused and never printed or stored."""
    result = invoke("remote", "add", "r", "https://registry.example.com", "--token-env", value)
    assert result.exit_code == 1 and "variable" in result.stderr
    assert value not in result.output
    assert not (home / "config.toml").exists()


@pytest.mark.parametrize("name", ["REGISTRY_TOKEN", "MR_TOKEN_2", "kf_token", "TOKEN"])
def test_variable_names_are_accepted(name: str) -> None:
    """Ordinary variable names are not mistaken for tokens."""
    assert not looks_like_token(name)


def _warned_everywhere(invoke: Invoke, needle: str) -> None:
    """``needle`` appears in remote add's warning, sync's stderr, status and doctor."""
    sync = invoke("sync")
    status = invoke("status", "--json")
    doctor = invoke("doctor", "--json")
    assert needle in sync.stderr, sync.stderr
    assert any(needle in w for w in json.loads(status.stdout)["remote"]["warnings"])
    assert any(needle in c["message"] for c in json.loads(doctor.stdout))


def test_unset_token_variable_same_diagnosis_everywhere(
        invoke: Invoke, stubs: Callable[..., Stub], monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset --token-env variable: a warning at add, the same words in sync/status/doctor."""
    monkeypatch.delenv("NEVER_SET_TOKEN", raising=False)
    stub = stubs("list")
    added = invoke("remote", "add", "r", stub.url, "--token-env", "NEVER_SET_TOKEN")
    assert added.exit_code == 0
    needle = "token variable NEVER_SET_TOKEN is not set"
    assert f"warning: {needle}" in added.stderr
    invoke("register", "m", "s3://b/m", "--version", "1")
    _warned_everywhere(invoke, needle)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_readable_token_file_same_diagnosis_everywhere(
        invoke: Invoke, stubs: Callable[..., Stub], tmp_path: Path, mode: int) -> None:
    """A token file others can read: a warning at add, the same words in sync/status/doctor."""
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    os.chmod(token, mode)
    stub = stubs("list")
    added = invoke("remote", "add", "r", stub.url, "--token-file", str(token))
    needle = f"token file {token} is readable by other users"
    assert added.exit_code == 0 and needle in added.stderr and "chmod 600" in added.stderr
    invoke("register", "m", "s3://b/m", "--version", "1")
    _warned_everywhere(invoke, needle)
    os.chmod(token, 0o600)
    assert needle not in invoke("remote", "add", "r", stub.url, "--token-file",
                                str(token)).stderr


def test_token_not_sent_over_plain_http_to_another_machine(
        invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """http:// to a non-loopback host with a token: refused before any connection."""
    monkeypatch.setenv("REG_TOKEN", SECRET)
    invoke("remote", "add", "far", "http://192.0.2.10:8080", "--token-env", "REG_TOKEN")
    invoke("register", "m", "s3://b/m", "--version", "1")
    result = invoke("sync")
    assert result.exit_code == 1 and "--allow-insecure-token" in result.stderr
    assert SECRET not in result.output
    doctor = {c["name"]: c for c in json.loads(invoke("doctor", "--json").stdout)}
    assert doctor["remote.far.auth"]["status"] == "FAIL"
    with pytest.raises(ConfigError, match="allow-insecure-token"):
        RemoteRegistry("http://192.0.2.10:8080", token=SECRET)
    opted = invoke("remote", "add", "far", "http://192.0.2.10:8080", "--token-env",
                   "REG_TOKEN", "--allow-insecure-token")
    assert "plain http" not in opted.stderr
    assert "allow_insecure_token = true" in (Path(os.environ["LOCALHUB_HOME"])
                                             / "config.toml").read_text()
    RemoteRegistry("http://192.0.2.10:8080", token=SECRET, allow_insecure_token=True).close()
    RemoteRegistry("http://localhost:8080", token=SECRET).close()  # loopback: allowed
