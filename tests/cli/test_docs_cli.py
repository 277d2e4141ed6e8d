"""docs/cli.md documents every command and option of `localhub`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from localhub.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
HEADING = re.compile(r"^#{2,3} `(localhub(?: [a-z-]+)*)`\s*$", re.MULTILINE)


def _commands(group: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, group
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from _commands(command, f"{path} {name}")


def _sections() -> dict[str, str]:
    text = DOC.read_text()
    marks = list(HEADING.finditer(text))
    return {m.group(1): text[m.end():marks[i + 1].start() if i + 1 < len(marks) else len(text)]
            for i, m in enumerate(marks)}


COMMANDS = list(_commands(main, "localhub"))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_and_options_documented(path: str, command: click.Command) -> None:
    """Each command has a section in docs/cli.md naming every long option it takes."""
    sections = _sections()
    assert path in sections, f"docs/cli.md has no section `{path}`"
    flags = [opt for p in command.params if isinstance(p, click.Option)
             for opt in p.opts + p.secondary_opts if opt.startswith("--")]
    missing = [f for f in flags if not re.search(rf"`{re.escape(f)}[` =]", sections[path])]
    assert missing == [], f"{path}: options missing from docs/cli.md: {missing}"


def test_every_command_has_help() -> None:
    """Every command and subcommand has a help text."""
    assert [p for p, c in COMMANDS if not (c.help or "").strip()] == []


def test_exit_codes_and_completion_documented() -> None:
    """The exit-code table and the click completion line are in docs/cli.md."""
    text = DOC.read_text()
    assert "## Exit codes" in text
    assert "_LOCALHUB_COMPLETE=bash_source localhub" in text


def _script() -> str:
    """The installed `localhub` script next to this interpreter."""
    script = Path(sys.executable).with_name("localhub")
    if not script.exists():
        pytest.skip("the localhub console script is not installed next to the interpreter")
    return str(script)


def test_bash_completion_script_is_generated(tmp_path: Path) -> None:
    """The documented completion command prints a bash completion script."""
    env = dict(os.environ, _LOCALHUB_COMPLETE="bash_source", LOCALHUB_HOME=str(tmp_path))
    out = subprocess.run([_script()], env=env, capture_output=True,
                         text=True, timeout=60, check=True, cwd=tmp_path)
    assert "complete -o nosort -F" in out.stdout and "localhub" in out.stdout


def test_completion_lists_new_commands(tmp_path: Path) -> None:
    """Completing `localhub re` offers register, remote and restore."""
    env = dict(os.environ, _LOCALHUB_COMPLETE="bash_complete", COMP_WORDS="localhub re",
               COMP_CWORD="1", LOCALHUB_HOME=str(tmp_path))
    out = subprocess.run([_script()], env=env, capture_output=True,
                         text=True, timeout=60, check=True, cwd=tmp_path)
    names = {line.split(",", 1)[1] for line in out.stdout.splitlines() if "," in line}
    assert {"register", "remote", "restore"} <= names
