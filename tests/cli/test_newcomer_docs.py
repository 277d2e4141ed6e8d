"""The README's first command and the quickstart run in sequence, and again, on one database."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from localhub.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _commands(text: str) -> list[list[str]]:
    """The `localhub ...` commands of a shell text (continuations joined, comments dropped;
    `serve` left out: it runs until stopped)."""
    out = []
    for line in text.replace("\\\n", " ").splitlines():
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if words and words[0] == "localhub" and words[1:2] != ["serve"]:
                out.append(words[1:])
    return out


def _blocks(doc: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", (ROOT / doc).read_text(), re.S | re.M)


def test_readme_then_quickstart_run_twice_on_the_default_database(isolated_home: Path) -> None:
    """README's first command, the quickstart's commands, then both again: every one exits 0."""
    readme = _commands(_blocks("README.md")[0])
    quickstart = [c for block in _blocks("docs/quickstart.md") for c in _commands(block)]
    assert readme and len(quickstart) >= 6
    runner = CliRunner()
    for args in readme + quickstart + readme + quickstart:
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
    assert (isolated_home / "registry.db").exists()
