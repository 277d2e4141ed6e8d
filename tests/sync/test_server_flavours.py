"""The suite's server flavour reaches the servers it starts: ``[go]`` emulates the Go server
(no ETag, LIKE name lookups, a PATCH without ``state`` resets it), ``[own]`` is our serve."""

from __future__ import annotations

import requests

from tests.support.flavours import GO_QUIRKS
from tests.support.servers import Server


def test_the_server_fixture_has_the_flavour_of_the_run(server_flavour: str,
                                                       server: Server) -> None:
    """Under [go] the remote sends no ETag, finds ``m_1`` by ``m%`` and resets an omitted
    state; under [own] it sends ETags, matches names exactly and keeps the state."""
    go = server_flavour == "go"
    model = server.register("m_1")
    reply = requests.get(server.api + f"/registered_models/{model['id']}", timeout=10)
    assert reply.status_code == 200
    assert ("ETag" not in reply.headers) == go, reply.headers
    like = requests.get(server.api + "/registered_model", params={"name": "m%"}, timeout=10)
    assert like.status_code == (200 if go else 404), like.text
    server.patch(f"/registered_models/{model['id']}", {"state": "ARCHIVED"})
    after = server.patch(f"/registered_models/{model['id']}", {"description": "d"})
    assert after["state"] == ("LIVE" if go else "ARCHIVED")
    assert ("emulating a quirky server for tests" in server.log()) == go
    if go:
        assert all(q in server.log() for q in GO_QUIRKS.split(","))
