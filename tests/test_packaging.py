"""The wheel holds localhub, localhub.sync and localhub.cli, and nothing at top level."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


#: What a build of a copy of the tree leaves out: environments, caches, earlier builds.
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                     "__pycache__", ".*_cache", ".hypothesis", "node_modules")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the project's wheel once, from a copy: a build writes build/ and egg-info into
    the folder it builds, and the working tree must stay as it is."""
    source = tmp_path_factory.mktemp("src") / "localhub"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE, symlinks=True)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=600)
    (built,) = out.glob("localhub-*.whl")
    return built


@pytest.mark.slow
def test_wheel_contents(wheel: Path) -> None:
    """Packages are mapped under localhub; no top-level sync or cli; py.typed shipped."""
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("localhub-")}
    assert top == {"localhub"}
    for required in ("localhub/__init__.py", "localhub/py.typed", "localhub/sync/__init__.py",
                     "localhub/cli/__init__.py", "localhub/cli/main.py", "localhub/store.py"):
        assert required in names
    assert not any(n.startswith(("sync/", "cli/", "tests/")) for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "localhub = localhub.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


@pytest.mark.slow
def test_fresh_venv_imports_all_three(wheel: Path, tmp_path: Path) -> None:
    """A new venv with only the wheel (and its dependencies) imports the three packages."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=600)
    code = ("import localhub, localhub.sync, localhub.cli; "
            "print(localhub.__file__, localhub.cli.__file__)")
    result = subprocess.run([str(python), "-c", code], check=True, capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert str(env_dir) in result.stdout
    version = subprocess.run([str(env_dir / "bin" / "localhub"), "--version"], check=True,
                             capture_output=True, text=True, timeout=120)
    assert "localhub, version" in version.stdout
