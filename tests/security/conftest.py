"""Fixtures of the security suite: scripted server processes, TLS material, the CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from localhub.cli.main import main

from tests.support.cli import Invoke
from tests.support.processes import free_port, stop
from tests.support.stubs import Stub, Tls

STUB = Path(__file__).with_name("stubserver.py")


@pytest.fixture
def stubs(tmp_path: Path) -> Iterator[Callable[..., Stub]]:
    """Start stub server processes: ``stubs("list")``, ``stubs("redirect", URL)``, ..."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(mode: str, arg: str = "", *, tls: tuple[Path, Path] | None = None,
              host: str = "127.0.0.1") -> Stub:
        port = free_port()
        log = tmp_path / f"stub-{port}.jsonl"
        cmd = [sys.executable, str(STUB), str(port), str(log), mode]
        if arg:
            cmd.append(arg)
        if tls is not None:
            cmd += ["--tls", str(tls[0]), str(tls[1])]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        procs.append(proc)
        assert proc.stdout is not None
        ready = proc.stdout.readline().strip()
        proc.stdout.close()
        assert ready == b"ready"
        scheme = "https" if tls is not None else "http"
        return Stub(f"{scheme}://{host}:{port}", log)

    yield start
    for proc in procs:
        stop(proc)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """CA and server certificate made with the openssl command line."""
    d = tmp_path_factory.mktemp("tls")
    for name in ("ca", "other"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", f"/CN=localhub test {name} CA", "-keyout", f"{name}.key",
                 "-out", f"{name}.pem", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem",
             cwd=d)
    return Tls(d / "ca.pem", d / "server.pem", d / "server.key", d / "other.pem")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LOCALHUB_HOME (config.toml lives there) with no remote in the environment."""
    path = tmp_path / "home"
    monkeypatch.setenv("LOCALHUB_HOME", str(path))
    for var in ("LOCALHUB_CONFIG", "LOCALHUB_REMOTE", "LOCALHUB_DB", "REQUESTS_CA_BUNDLE",
                "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The database the CLI tests use (--db)."""
    return tmp_path / "reg.db"


@pytest.fixture
def invoke(home: Path, db: Path) -> Invoke:
    """Run ``localhub --db DB ARGS...`` in-process (exceptions escape: a traceback fails)."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(main, ["--db", str(db), *args], env=env, catch_exceptions=False)

    return run
