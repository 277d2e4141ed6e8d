"""examples/pipeline-tests runs its tests the way a user would: here, and in a fresh venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pipeline-tests"
#: What installing localhub from a checkout needs (tests, caches and venvs stay behind).
SOURCES = ("pyproject.toml", "README.md", "localhub", "sync", "cli")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", ".*")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "LOCALHUB_", "VIRTUAL_ENV", "PYTHONPATH"))}


def _copy_example(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=_IGNORE)
    return dest


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


def test_example_in_this_environment(tmp_path: Path) -> None:
    """The example's tests pass with the plugin installed here (5 tests, token and bundle)."""
    project = _copy_example(tmp_path / "example")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--basetemp={tmp_path}/basetemp"],
        cwd=project, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, _report(result)
    assert "5 passed" in result.stdout, _report(result)


@pytest.mark.slow
def test_example_in_a_fresh_venv(tmp_path: Path) -> None:
    """A new venv with localhub[server] from this checkout and the example runs its tests."""
    source = tmp_path / "localhub-src"
    source.mkdir()
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=_IGNORE)
        else:
            shutil.copy2(item, source / name)
    project = _copy_example(tmp_path / "example")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    env = _env()
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-compile", f"{source}[server]",
         f"{project}[test]"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert install.returncode == 0, _report(install)
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path}/bt"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, _report(result)
    assert "5 passed" in result.stdout, _report(result)
