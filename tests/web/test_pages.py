"""The models and model pages in a real browser, over a real ``localhub serve``."""

from __future__ import annotations

from typing import Any

from localhub.registry import ModelRegistry

from tests.support.servers import Server


def _names(page: Any) -> list[str]:
    return [str(t).strip() for t in page.locator("table.models tbody th").all_inner_texts()]


def _pending(server: Server) -> list[Any]:
    return ModelRegistry("", author="", path=server.db).pending()


def test_models_page_lists_what_the_api_registered(local: Server, page: Any) -> None:
    """Every model registered through the REST API is a row, newest change first, linked."""
    for name in ("alpha", "beta", "gamma"):
        local.register(name)
    page.goto(local.url + "/")
    assert _names(page) == ["gamma", "beta", "alpha"]
    row = page.locator("table.models tbody tr", has_text="beta")
    assert row.locator("td").nth(0).inner_text() == "v1"
    assert row.locator("td").nth(1).inner_text() == "LIVE"
    assert row.locator("td").nth(3).inner_text() == "queued"
    page.get_by_role("link", name="beta", exact=True).click()
    page.wait_for_url(local.url + "/models/beta")
    assert page.get_by_role("heading", level=1).inner_text() == "beta"
    assert "s3://models/beta/v1" in page.locator("table.versions").inner_text()


def test_filter_narrows_the_list(local: Server, page: Any) -> None:
    """The name filter keeps only the models whose name contains the text, in any case."""
    for name in ("resnet-50", "ResNet-101", "bert-base", "50%_off"):
        local.register(name)
    page.goto(local.url + "/")
    page.get_by_label("Filter by name").fill("resnet")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/?q=resnet")
    assert sorted(_names(page)) == ["ResNet-101", "resnet-50"]
    page.get_by_label("Filter by name").fill("%_")
    page.get_by_label("Filter by name").press("Enter")
    page.wait_for_url("**/?q=%25_")
    assert _names(page) == ["50%_off"]


def test_model_page_edit_is_queued(local: Server, page: Any) -> None:
    """Saving description and properties on the model page queues one update with them."""
    local.register("edit-me")
    before = len(_pending(local))
    page.goto(local.url + "/models/edit-me")
    page.get_by_text("Edit the model").click()
    page.get_by_label("Description", exact=True).fill("trained on 2026 data")
    page.get_by_label("Custom properties, one key=value a line").fill("accuracy=0.93\nteam=vision")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/models/edit-me?saved=1")
    assert "queued for the next sync" in page.get_by_role("status").inner_text()
    assert page.locator("dd.description").first.inner_text() == "trained on 2026 data"
    changes = _pending(local)
    assert len(changes) == before + 1
    last = changes[-1]
    assert (last.op, last.model) == ("update", "edit-me")
    assert set(last.fields) >= {"description", "custom_properties"}
    model = local.model("edit-me")
    assert model["description"] == "trained on 2026 data"
    assert model["customProperties"]["accuracy"]["double_value"] == 0.93
    assert model["customProperties"]["team"]["string_value"] == "vision"


def test_model_page_refuses_invalid_input_like_the_api(local: Server, page: Any) -> None:
    """A property line without '=' is refused with the API's 400 and nothing is queued."""
    local.register("strict")
    before = _pending(local)
    page.goto(local.url + "/models/strict")
    page.get_by_text("Edit the model").click()
    page.get_by_label("Custom properties, one key=value a line").fill("no equals sign")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 400
    assert "is not key=value: bad request" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Custom properties, one key=value a line").input_value() == \
        "no equals sign"
    assert _pending(local) == before


def test_archive_and_restore_from_the_model_page(local: Server, page: Any) -> None:
    """Archive then Restore set the model's state, each queued like any other edit."""
    local.register("shelf")
    page.goto(local.url + "/models/shelf")
    page.get_by_text("Edit the model").click()
    page.get_by_role("button", name="Archive model").click()
    page.wait_for_url("**/models/shelf?saved=1")
    assert local.model("shelf")["state"] == "ARCHIVED"
    page.get_by_text("Edit the model").click()
    page.get_by_role("button", name="Restore model").click()
    page.wait_for_url("**/models/shelf?saved=1")
    assert local.model("shelf")["state"] == "LIVE"
    assert [c.fields for c in _pending(local) if c.entity == "registered-model"][-1] == \
        ("state",)


def test_html_in_a_description_is_shown_as_text(local: Server, page: Any) -> None:
    """Markup in names and descriptions is shown literally, never parsed or run."""
    evil = '<img src=x onerror="document.title=\'pwned\'"><b>bold</b>'
    local.register("<i>x</i>", description=evil)
    dialogs: list[Any] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))
    page.goto(local.url + "/")
    assert _names(page) == ["<i>x</i>"]
    page.get_by_role("link", name="<i>x</i>").click()
    page.wait_for_load_state()
    assert page.locator("dd.description").first.inner_text() == evil
    assert page.locator("main img, main b, main i").count() == 0
    assert page.title() != "pwned" and not dialogs


def test_read_only_pages_work_without_javascript(local: Server, browser: Any) -> None:
    """With JavaScript off, the listing, a model, sync and conflicts pages still render."""
    local.register("plain")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(local.url + "/")
        assert _names(page) == ["plain"]
        for path, heading in (("/models/plain", "plain"), ("/sync", "Sync"),
                              ("/conflicts", "Conflicts")):
            page.goto(local.url + path)
            assert page.get_by_role("heading", level=1).inner_text() == heading
    finally:
        context.close()
