"""The sync token is found where the official client looks for it, at sync time."""

from __future__ import annotations

from pathlib import Path

import pytest

from localhub import ModelRegistry, StoreError


def test_token_read_from_file_named_by_envvar(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """user_token_envvar names a variable holding the PATH of the token file."""
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    monkeypatch.setenv("MY_TOKEN_PATH", str(token_file))
    registry = ModelRegistry("https://r.example", author="a", user_token_envvar="MY_TOKEN_PATH",
                             path=tmp_path / "r.db")
    assert registry._token_from_file() == "s3cret"


def test_default_envvar_and_unreadable_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """KF_PIPELINES_SA_TOKEN_PATH is the default; a named file that is missing is a StoreError."""
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(tmp_path / "missing"))
    registry = ModelRegistry("https://r.example", author="a", path=tmp_path / "r.db")
    with pytest.raises(StoreError, match="Unable to read the user token"):
        registry._token_from_file()
    (tmp_path / "missing").write_text("tok")
    assert registry._token_from_file() == "tok"


def test_explicit_token_wins_and_constructor_reads_nothing(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """An unset user_token_envvar is a ValueError at construction, as in the original."""
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(ValueError, match="NOPE"):
        ModelRegistry("https://r.example", author="a", user_token_envvar="NOPE",
                      path=tmp_path / "r.db")
