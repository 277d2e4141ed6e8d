"""The Python examples in the README and docs run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/index.md", "docs/quickstart.md", "docs/python-api.md",
        "docs/storage.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, int, str]]:
    out = []
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        for i, match in enumerate(BLOCK.finditer(text)):
            out.append((doc, i, match.group(1)))
    return out


@pytest.mark.parametrize(("doc", "index", "code"), _blocks(),
                         ids=[f"{d}#{i}" for d, i, _ in _blocks()])
def test_doc_example_runs(doc: str, index: int, code: str, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                          ) -> None:
    """Each ```python block of the docs runs without error in a fresh home."""
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{doc}#{index}", "exec"), {"__name__": "__doc_example__"})


def test_every_public_name_is_documented() -> None:
    """docs/python-api.md mentions every name in localhub.__all__."""
    import localhub

    text = (ROOT / "docs/python-api.md").read_text()
    missing = [name for name in localhub.__all__ if f"`{name}" not in text and name not in text]
    assert missing == []


def test_readme_opens_with_the_two_setup_commands() -> None:
    """The README's first two shell blocks install+run the main job, and install+test."""
    text = (ROOT / "README.md").read_text()
    shell = re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
    assert "pip install" in shell[0] and "localhub register" in shell[0] \
        and "localhub models" in shell[0]
    assert "'.[test]'" in shell[1] and "pytest" in shell[1]
    ci = (ROOT / ".ci/run").read_text()
    assert shell[1].strip() in ci
