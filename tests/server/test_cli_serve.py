"""The ``localhub serve`` command line (without starting a server)."""

from __future__ import annotations

from click.testing import CliRunner

from localhub.cli.main import main
from localhub.cli.serve import _is_loopback


def test_token_env_must_be_set(monkeypatch: object) -> None:
    """--token-env naming an unset variable is a usage error before anything starts."""
    result = CliRunner().invoke(main, ["serve", "--token-env", "LOCALHUB_SURELY_UNSET_VAR"],
                                env={"LOCALHUB_SURELY_UNSET_VAR": ""})
    assert result.exit_code == 2
    assert "LOCALHUB_SURELY_UNSET_VAR" in result.output


def test_help_lists_options() -> None:
    """serve --help documents host, port, db and token-env."""
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--token-env"):
        assert option in result.output


def test_loopback_detection() -> None:
    """Loopback hosts are recognised; others trigger the no-token warning."""
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("example.com")


def test_import_is_lazy_and_extra_is_reported() -> None:
    """import localhub does not load FastAPI; without it create_app names the extra."""
    import subprocess
    import sys

    code = ("import sys, localhub, localhub.server; assert 'fastapi' not in sys.modules; "
            "sys.modules['fastapi'] = None\n"
            "from localhub.errors import ServerExtraMissingError\n"
            "try:\n    localhub.server.create_app(None)\n"
            "except ServerExtraMissingError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert "pip install 'localhub[server]'" in out.stdout
