"""The web page's own protections: same origin, CSRF token, login when a token is required."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localhub.registry import ModelRegistry

from tests.support.processes import free_port
from tests.support.servers import Server, serving_in

TOKEN = "web-test-token-0123456789"


@pytest.fixture
def other_site(tmp_path: Path, local: Server) -> Iterator[str]:
    """Another origin (a plain http.server on another port) whose form posts to serve."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(
        f'<!doctype html><form method="post" action="{local.url}/models/target">'
        '<input name="csrf" value="guessed"><input name="action" value="edit">'
        '<input name="description" value="hijacked"><button>Go</button></form>')
    port = free_port()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_a_form_posted_from_another_origin_is_refused(local: Server, other_site: str,
                                                      page: Any) -> None:
    """A page of another origin that posts the edit form changes nothing (403)."""
    local.register("target", description="original")
    page.goto(local.url + "/models/target")  # the user has the real page open too
    before = ModelRegistry("", author="", path=local.db).pending()
    page.goto(other_site)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Go").click()
    assert answer.value.status == 403
    assert local.model("target")["description"] == "original"
    assert ModelRegistry("", author="", path=local.db).pending() == before


def test_a_form_without_its_csrf_token_is_refused(local: Server) -> None:
    """A same-origin post with a missing or wrong CSRF token is refused (403)."""
    local.register("guarded", description="original")
    session = requests.Session()
    session.get(local.url + "/models/guarded", timeout=10)
    for token in ("", "wrong"):
        reply = session.post(local.url + "/models/guarded", timeout=10,
                             data={"csrf": token, "action": "edit", "description": "x"},
                             headers={"Origin": local.url})
        assert reply.status_code == 403
        assert "security token" in reply.text
    assert local.model("guarded")["description"] == "original"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Server]:
    """A serve that requires a bearer token."""
    with serving_in(tmp_path / "guarded", {"WEB_TOKEN": TOKEN},
                    ["--token-env", "WEB_TOKEN"]) as server:
        yield server


def test_login_form_opens_the_pages_when_serve_requires_a_token(guarded: Server,
                                                                page: Any) -> None:
    """Pages send you to /login; the right token sets an HttpOnly SameSite=Strict cookie
    that opens them; the REST API still wants the Authorization header."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    reply = requests.post(guarded.api + "/registered_models", json={"name": "secret"},
                          headers=auth, timeout=10)
    assert reply.status_code == 201
    page.goto(guarded.url + "/models/secret")
    page.wait_for_url("**/login?next=%2Fmodels%2Fsecret")
    page.get_by_label("Token").fill("not the token")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 401
    assert "not the server's token" in page.get_by_role("alert").inner_text()
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(guarded.url + "/models/secret")
    assert page.get_by_role("heading", level=1).inner_text() == "secret"
    (session,) = [c for c in page.context.cookies() if c["name"] == "localhub_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    cookie = {"Cookie": f"localhub_session={session['value']}"}
    assert requests.get(guarded.api + "/registered_models", headers=cookie,
                        timeout=10).status_code == 401
    assert requests.get(guarded.url + "/", timeout=10,
                        allow_redirects=False).status_code == 303
    assert TOKEN not in guarded.log()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto(guarded.url + "/")
    page.wait_for_url("**/login?next=%2F")
