"""A real headless Chromium on a page of another origin cannot write to ``localhub serve``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.browser import CHROMIUM, chromium
from tests.support.processes import free_port, stop, wait_healthy
from tests.support.servers import API, Server

#: A DNS rebinding, made certain: this name resolves to the loopback address.
REBIND = "--host-resolver-rules=MAP rebind.test 127.0.0.1"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium")

PAGE = """<!doctype html><html><body>
<form id="f" method="POST" enctype="text/plain" target="sink" action="{api}/registered_models">
<input name='{{"name": "evil-form", "x": "' value='"}}'></form>
<iframe name="sink"></iframe>
<script>
async function attack() {{
  const out = [];
  const tries = [["no-cors", "text/plain"], ["cors", "text/plain"],
                 ["cors", "application/json"], ["no-cors", ""]];
  for (const [mode, type] of tries) {{
    const headers = type ? {{"Content-Type": type}} : {{}};
    const body = type ? JSON.stringify({{name: "evil-" + mode + "-" + type.replace("/", "-")}})
                      : new Blob([JSON.stringify({{name: "evil-blob"}})]);
    try {{
      const r = await fetch("{api}/registered_models", {{method: "POST", mode, headers, body}});
      out.push(mode + " " + type + ": " + r.type + " " + r.status);
    }} catch (e) {{ out.push(mode + " " + type + ": failed"); }}
  }}
  document.getElementById("f").submit();
  return out;
}}
</script></body></html>
"""


@pytest.fixture
def other_origin(tmp_path: Path, server: Server) -> Iterator[str]:
    """A plain http.server on another port, serving the attacking page."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE.format(api=server.api))
    port = free_port()
    log = tmp_path / "site.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                                 "127.0.0.1", "--directory", str(site)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/index.html", proc, log)
        yield f"http://127.0.0.1:{port}/index.html"
    finally:
        stop(proc)


@pytest.fixture
def browser(playwright_driver: Any) -> Iterator[Any]:
    """Headless Chromium driven by playwright."""
    with chromium(playwright_driver, [REBIND]) as launched:
        yield launched


def _wait_for(predicate: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _names(server: Server) -> list[str]:
    r = requests.get(f"{server.api}/registered_models", params={"pageSize": 100}, timeout=10)
    return [m["name"] for m in r.json()["items"]]


def test_page_of_another_origin_cannot_write(server: Server, other_origin: str,
                                             browser: Any) -> None:
    """fetch() with text/plain or no type, and a text/plain form, reach the server and are
    refused; a JSON fetch is stopped by its preflight; nothing is written."""
    page = browser.new_page()
    page.goto(other_origin)
    outcomes = page.evaluate("attack()")
    posts = f"POST {API}/registered_models 403"
    # four simple requests reach the server (three fetches and the form); all get 403
    _wait_for(lambda: server.log().count(posts) >= 4, "the refused posts in the access log")
    assert " 201 " not in server.log()
    assert _names(server) == []
    assert not any(o.startswith("cors") and o.endswith(" 201") for o in outcomes), outcomes


def test_rebinding_page_cannot_read_or_write(server: Server, browser: Any) -> None:
    """A page on a name that resolves to 127.0.0.1 (DNS rebinding) is same-origin with the
    server, yet gets 421 for reads and writes."""
    page = browser.new_page()
    response = page.goto(f"http://rebind.test:{server.port}{API}/registered_models")
    assert response is not None and response.status == 421
    status = page.evaluate(
        """async () => (await fetch("/api/model_registry/v1/registered_models", {
            method: "POST", headers: {"Content-Type": "application/json"},
            body: JSON.stringify({name: "rebound"})})).status""")
    assert status == 421
    assert _names(server) == []
