"""pytest plugin: the ``localhub_server`` fixture, a real Model Registry for every test.

Registered through the ``pytest11`` entry point of ``localhub[server]``. It is inert until a
test asks for the fixture: this module imports only pytest and the standard library, and no
server starts before that.

One ``localhub serve`` runs per session (per worker under pytest-xdist) and per token option;
the fixture empties its registry before each test. Options, by marker on a test, class or
module (``pytestmark``)::

    @pytest.mark.localhub_server(token=True)          # require a random bearer token
    @pytest.mark.localhub_server(token="s3cret")      # require this token
    @pytest.mark.localhub_server(bundle="data/models.json")  # start from a bundle file
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from localhub.testing import LocalhubServer

__all__ = ["localhub_server"]

MARKER = "localhub_server"
#: Where the official clients look for a token file when given none (a pipeline pod's).
TOKEN_PATH_ENV = "KF_PIPELINES_SA_TOKEN_PATH"
_OPTIONS = frozenset({"token", "bundle"})


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so ``--strict-markers`` suites accept it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(token=False, bundle=None): options of the localhub_server fixture: "
        "token=True (random) or a string requires a bearer token; bundle=PATH (a file "
        "written by 'localhub export', relative to the test file) is loaded before the test",
    )


class ServerPool:
    """The session's servers, one per token option, started on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._servers: dict[str | None, LocalhubServer] = {}
        self._random_token: str | None = None
        self._token_files: dict[str, Path] = {}

    def token_for(self, option: object) -> str | None:
        """The token a marker's ``token=`` option asks for (True: one random per session)."""
        if option is None or option is False:
            return None
        if option is True:
            if self._random_token is None:
                from localhub.testing import new_token

                self._random_token = new_token()
            return self._random_token
        if isinstance(option, str) and option:
            return option
        pytest.fail(f"error: {MARKER}(token=...) takes True, False or a non-empty "
                                "string; fix the marker", pytrace=False)

    def get(self, token: str | None) -> LocalhubServer:
        """The running server for ``token``, started (or restarted, if it died) on demand."""
        server = self._servers.get(token)
        if server is None or not server.running():
            from localhub.testing import start_server

            folder = self.folder / f"server-{len(self._servers)}"
            folder.mkdir(parents=True, exist_ok=True)
            server = start_server(folder / "registry.db", token=token,
                                  log_path=folder / "serve.log")
            self._servers[token] = server
        return server

    def token_file(self, token: str) -> Path:
        """A file (mode 0600) that holds ``token``."""
        path = self.folder / f"token-{len(self._token_files)}"
        if token not in self._token_files:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(token)
            self._token_files[token] = path
        return self._token_files[token]

    def close(self) -> None:
        """Stop every server."""
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The marker options of this test; the closest marker wins per option."""
    options: dict[str, Any] = {}
    for marker in request.node.iter_markers(MARKER):  # closest first
        if marker.args:
            pytest.fail(f"error: {MARKER} takes keyword options only "
                                    "(token=..., bundle=...); fix the marker", pytrace=False)
        unknown = set(marker.kwargs) - _OPTIONS
        if unknown:
            pytest.fail(f"error: {MARKER} has no option {sorted(unknown)[0]!r}; "
                                    "use token= or bundle=", pytrace=False)
        for key, value in marker.kwargs.items():
            options.setdefault(key, value)
    return options


def _bundle_path(request: pytest.FixtureRequest, option: object) -> Path:
    if not isinstance(option, (str, os.PathLike)):
        pytest.fail(f"error: {MARKER}(bundle=...) takes a path; fix the marker", pytrace=False)
    path = Path(option)
    if not path.is_absolute():
        path = Path(request.path).parent / path
    if not path.is_file():
        pytest.fail(f"error: bundle {path} not found; give a path relative to "
                                "the test file, or an absolute one", pytrace=False)
    return path


@pytest.fixture(scope="session")
def localhub_server_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """The session's ``localhub serve`` processes (used by ``localhub_server``)."""
    pool = ServerPool(tmp_path_factory.mktemp("localhub"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def localhub_server(request: pytest.FixtureRequest,
                    localhub_server_pool: ServerPool) -> Iterator[LocalhubServer]:
    """A running ``localhub serve`` with an empty registry (or the marker's bundle).

    Attributes: ``url``, ``host``, ``port``, ``db_path``, ``token`` (None unless the marker
    asks for one) and ``client`` (a ``localhub.ModelRegistryClient`` on the same registry).
    With a token, ``$KF_PIPELINES_SA_TOKEN_PATH`` names a file holding it during the test,
    as in a Kubeflow pipeline pod, so the official clients find it unchanged.
    """
    options = _options(request)
    server = localhub_server_pool.get(localhub_server_pool.token_for(options.get("token")))
    server.reset()
    if options.get("bundle") is not None:
        server.load_bundle(_bundle_path(request, options["bundle"]))
    with pytest.MonkeyPatch.context() as patch:
        if server.token is not None:
            patch.setenv(TOKEN_PATH_ENV, str(localhub_server_pool.token_file(server.token)))
        yield server
