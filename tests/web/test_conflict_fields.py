"""The conflicts page in words and field by field (issue #14 item 7), against a second real
``serve`` as the upstream."""

from __future__ import annotations

from typing import Any

from tests.support.servers import Server
from tests.web.test_sync import _sync_now

AUC = {"auc": {"metadataType": "MetadataDoubleValue", "double_value": 0.5}}


def _two_field_conflict(linked: Server, upstream: Server, page: Any) -> None:
    linked.register("contested", description="base", customProperties=AUC)
    assert _sync_now(page, linked) == "Everything is synced."
    mine, theirs = linked.model("contested"), upstream.model("contested")
    linked.patch(f"/registered_models/{mine['id']}", {"description": "local words",
        "customProperties": {"auc": {"metadataType": "MetadataDoubleValue",
                                     "double_value": 0.9}}})
    upstream.patch(f"/registered_models/{theirs['id']}", {"description": "remote words",
        "customProperties": {"auc": {"metadataType": "MetadataDoubleValue",
                                     "double_value": 0.8}}})
    assert _sync_now(page, linked).startswith("The sync ran, but conflicts remain")


def _apply_and_sync(page: Any, linked: Server, upstream: Server) -> list[tuple[str, float]]:
    """Apply the per-field choices, sync; (description, auc) on the local and the remote."""
    page.locator("section.conflict").get_by_role("button", name="Apply these choices").click()
    page.wait_for_url("**/conflicts?resolved=1")
    assert page.locator("section.conflict").count() == 0
    assert _sync_now(page, linked) == "Everything is synced."
    return [(m["description"], m["customProperties"]["auc"]["double_value"])
            for m in (linked.model("contested"), upstream.model("contested"))]


def test_conflict_in_words_and_decided_field_by_field(linked: Server, upstream: Server,
                                                      page: Any) -> None:
    """The page says what happened; Keep local for description and Take remote for auc leave
    our description and the remote's auc on both sides after the next sync."""
    _two_field_conflict(linked, upstream, page)
    page.goto(linked.url + "/conflicts")
    section = page.locator("section.conflict")
    assert section.locator("p.summary").inner_text() == (
        "model contested: you changed auc and description; the remote changed them too since "
        "the last sync.")
    section.get_by_label("description", exact=True).select_option("ours")
    section.get_by_label("property auc", exact=True).select_option("theirs")
    assert _apply_and_sync(page, linked, upstream) == [("local words", 0.8)] * 2


def test_a_field_set_to_a_value_of_ones_own(linked: Server, upstream: Server, page: Any) -> None:
    """Set the value below: the description typed in the form and the local auc land on both
    sides after the next sync."""
    _two_field_conflict(linked, upstream, page)
    page.goto(linked.url + "/conflicts")
    section = page.locator("section.conflict")
    section.get_by_label("description", exact=True).select_option("value")
    section.get_by_label("value for description").fill("merged words")
    section.get_by_label("property auc", exact=True).select_option("ours")
    assert _apply_and_sync(page, linked, upstream) == [("merged words", 0.9)] * 2
