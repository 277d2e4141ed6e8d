"""Running a generated test suite in its own pytest process, as a user's suite runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

INI = """[pytest]
addopts = --strict-markers -p no:cacheprovider
filterwarnings = error
"""


def write_suite(folder: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (dedented) and a pytest.ini with warnings as errors into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text(INI)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def run_pytest(folder: Path, *args: str, timeout: float = 300
               ) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``folder`` (its own basetemp, so ours is left alone)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LOCALHUB_"))}
    cmd = [sys.executable, "-m", "pytest", "-q", f"--basetemp={folder}/.basetemp", *args]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def outcome(result: subprocess.CompletedProcess[str]) -> str:
    """The run's output, for assertion messages."""
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
