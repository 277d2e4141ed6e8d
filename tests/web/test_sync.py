"""**Sync now** and the conflicts page, against a second real ``serve`` as the upstream."""

from __future__ import annotations

from typing import Any

import pytest

from localhub.registry import ModelRegistry

from tests.support.servers import Server


def _sync_now(page: Any, server: Server) -> str:
    """Press Sync now, wait for the report, return its meaning line."""
    page.goto(server.url + "/sync")
    page.get_by_role("button", name="Sync now").click()
    meaning = page.locator("#meaning")
    meaning.wait_for()
    return str(meaning.inner_text())


def test_sync_now_pushes_the_queue_and_shows_the_report(linked: Server, upstream: Server,
                                                       page: Any) -> None:
    """Sync now pushes every queued change to the upstream and reports exit code 0."""
    linked.register("to-push", description="from the web test")
    page.goto(linked.url + "/sync")
    assert "change(s)" in page.locator("section", has_text="Queue").first.inner_text()
    assert _sync_now(page, linked) == "Everything is synced."
    assert page.get_by_role("heading", name="Last run: exit code 0").is_visible()
    report = page.locator("table.report-table").inner_text()
    assert "created\t3" in report
    assert "Nothing is queued" in page.locator("main").inner_text()
    assert upstream.model("to-push")["description"] == "from the web test"
    assert ModelRegistry("", author="", path=linked.db).pending() == []
    page.goto(linked.url + "/")
    row = page.locator("table.models tbody tr", has_text="to-push")
    assert row.locator("td").nth(3).inner_text() == "synced"


def test_sync_page_without_a_remote_says_so(local: Server, page: Any) -> None:
    """Without a configured remote the page says so and offers no Sync now to press."""
    page.goto(local.url + "/sync")
    assert "no remote configured" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Sync now").is_disabled()


def _make_conflict(linked: Server, upstream: Server, page: Any) -> None:
    linked.register("contested", description="base")
    assert _sync_now(page, linked) == "Everything is synced."
    mine, theirs = linked.model("contested"), upstream.model("contested")
    linked.patch(f"/registered_models/{mine['id']}", {"description": "local words"})
    upstream.patch(f"/registered_models/{theirs['id']}", {"description": "remote words"})
    meaning = _sync_now(page, linked)
    assert meaning.startswith("The sync ran, but conflicts remain")


@pytest.mark.parametrize("button, expected", [("Keep local", "local words"),
                                              ("Take remote", "remote words")])
def test_conflict_shows_both_values_and_a_button_resolves_it(
        linked: Server, upstream: Server, page: Any, button: str, expected: str) -> None:
    """A conflict shows base, local and remote side by side; Keep local / Take remote
    resolve it and the next sync leaves that value on both sides."""
    _make_conflict(linked, upstream, page)
    page.goto(linked.url + "/conflicts")
    section = page.locator("section.conflict")
    assert section.count() == 1
    assert section.locator("p.summary").inner_text() == (
        "model contested: you changed description; the remote changed it too since the last "
        "sync.")
    row = section.locator("table.sides tbody tr", has_text="description")
    assert row.locator("td.base").inner_text() == "base"
    assert row.locator("td.local").inner_text() == "local words"
    assert row.locator("td.remote").inner_text() == "remote words"
    section.get_by_role("button", name=button).click()
    page.wait_for_url("**/conflicts?resolved=1")
    assert page.locator("section.conflict").count() == 0
    assert "No open conflicts." in page.locator("main").inner_text()
    assert _sync_now(page, linked) == "Everything is synced."
    assert upstream.model("contested")["description"] == expected
    assert linked.model("contested")["description"] == expected


def test_conflict_takes_an_explicit_value(linked: Server, upstream: Server, page: Any) -> None:
    """The value field resolves a one-field conflict with a third value, pushed next sync."""
    _make_conflict(linked, upstream, page)
    page.goto(linked.url + "/conflicts")
    page.get_by_label("Or set description to").fill("agreed words")
    page.get_by_role("button", name="Use this value").click()
    page.wait_for_url("**/conflicts?resolved=1")
    assert _sync_now(page, linked) == "Everything is synced."
    assert upstream.model("contested")["description"] == "agreed words"
