"""Screenshots of each web page for docs/web.md, in light and dark (run by hand):

    python -m tests.web.screenshots [--out docs/images]

Starts two real ``localhub serve`` processes (local and upstream), fills them with a few
models, one sync and one conflict, then photographs ``/``, ``/models/{name}``, ``/sync`` and
``/conflicts`` with Debian's chromium.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.servers import Server, serving_in

PAGES = {"models": "/", "model": "/models/resnet-50", "sync": "/sync",
         "conflicts": "/conflicts"}


def _fill(local: Server, upstream: Server, page: Any) -> None:
    local.register("resnet-50", description="Image classifier, ImageNet-1k.",
                   owner="vision-team",
                   customProperties={"accuracy": {"metadataType": "MetadataDoubleValue",
                                                  "double_value": 0.761}})
    local.register("bert-base", owner="nlp-team", description="Sentence embeddings.")
    page.goto(local.url + "/sync")
    page.get_by_role("button", name="Sync now").click()
    page.locator("#meaning").wait_for()
    mine, theirs = local.model("bert-base"), upstream.model("bert-base")
    ours = "Sentence embeddings, fine-tuned on support tickets."
    def max_len(n: int) -> dict[str, Any]:
        return {"max_len": {"metadataType": "MetadataIntValue", "int_value": str(n)}}

    local.patch(f"/registered_models/{mine['id']}",
                {"description": ours, "customProperties": max_len(512)})
    upstream.patch(f"/registered_models/{theirs['id']}",
                   {"description": "Sentence embeddings (deprecated).",
                    "customProperties": max_len(256)})
    page.goto(local.url + "/sync")
    page.get_by_role("button", name="Sync now").click()
    page.locator("#meaning").wait_for()
    local.register("whisper-small", description="Speech to text.", owner="audio-team")
    local.register("llama-3-8b", owner="nlp-team")


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        root = Path(tmp)
        try:
            with serving_in(root / "upstream") as upstream, \
                    serving_in(root / "local", {"LOCALHUB_REMOTE": upstream.url}) as local:
                _fill(local, upstream, browser.new_page())
                for scheme in ("light", "dark"):
                    context = browser.new_context(color_scheme=scheme,
                                                  viewport={"width": 1100, "height": 760})
                    page = context.new_page()
                    for name, path in PAGES.items():
                        page.goto(local.url + path)
                        page.screenshot(path=str(out / f"web-{name}-{scheme}.png"),
                                        full_page=True)
                    context.close()
        finally:
            browser.close()
    print(f"screenshots written to {out}")


if __name__ == "__main__":
    main()
