"""Server flavours: the sync suites run against our own ``serve`` and its Go-server emulation.

A suite's ``conftest.py`` imports :func:`pytest_generate_tests` and :func:`server_flavour`.
Every test of the suite then runs once per flavour (ids end in ``[own]`` / ``[go]``), with
``LOCALHUB_SERVE_QUIRKS`` set for the whole module under ``go``, so every server a test
starts (``start_serve``, ``serving``, the ``server`` fixture, the soaks' ``Stack``) inherits
it. A test marked ``own_server`` runs once, against our own server: it checks our server's
extensions (ETags, If-Match), starts its own emulated server, or starts no server at all;
so do the modules in :data:`ONCE` (the quirks do not reach what they test).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localhub.server.quirks import ENV

__all__ = ["FLAVOURS", "GO_QUIRKS", "ONCE", "pytest_generate_tests", "server_flavour"]

#: The upstream Go server's quirks that every sync run must survive.
GO_QUIRKS = "no-etag,patch-resets-state,like-names"
#: Flavour -> the ``LOCALHUB_SERVE_QUIRKS`` value (None: the variable unset).
FLAVOURS: dict[str, str | None] = {"own": None, "go": GO_QUIRKS}
#: Modules that run once although not marked: the Go quirks touch updates and name look-ups
#: (ETags, PATCH, ``?name=``); these push only fresh creates, to seed the remote, and test the
#: pull, the identity probe or an upgrade, so a second run costs CI time and tests nothing new.
ONCE: dict[str, str] = {
    "test_identity.py": "the identity probe reads one entity by id",
    "test_pull_requests.py": "pull request counts: listings only",
    "test_pull_progress.py": "pull progress: listings only",
    "test_interrupted_pulls.py": "pulls cut by faults: listings only",
    "test_wire_cells_upgrade.py": "a local database upgrade",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test not marked ``own_server`` nor in :data:`ONCE`: once per flavour (grouped by
    module)."""
    if "server_flavour" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("own_server") is not None:
        return
    if metafunc.definition.path.name in ONCE:
        return
    metafunc.parametrize("server_flavour", list(FLAVOURS), indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def server_flavour(request: pytest.FixtureRequest) -> Iterator[str]:
    """The flavour of every server started in this module ("own" unless parametrized)."""
    flavour: str = getattr(request, "param", "own")
    quirks = FLAVOURS[flavour]
    with pytest.MonkeyPatch.context() as patch:
        if quirks is None:
            patch.delenv(ENV, raising=False)
        else:
            patch.setenv(ENV, quirks)
        yield flavour
