"""The suite's server flavour reaches the soaks' remote (``Stack``)."""

from __future__ import annotations

import requests

from tests.soak._soak import Stack

API = "/api/model_registry/v1"


def test_the_soak_stack_has_the_flavour_of_the_run(server_flavour: str) -> None:
    """Under [go] the soaks' remote sends no ETag; under [own] it sends one."""
    with Stack() as stack:
        created = requests.post(stack.remote_url + API + "/registered_models",
                                json={"name": "m"}, timeout=10)
        assert created.status_code == 201, created.text
        reply = requests.get(stack.remote_url + API + f"/registered_models/{created.json()['id']}",
                             timeout=10)
        assert ("ETag" not in reply.headers) == (server_flavour == "go"), reply.headers
