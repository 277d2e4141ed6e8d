"""The examples in docs/testing.md run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.suites import outcome, run_pytest, write_suite

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text())


def test_fixture_example_passes(tmp_path: Path) -> None:
    """The doc's pytest example passes in a suite of its own, warnings as errors."""
    suite = write_suite(tmp_path / "suite", {"test_registry.py": _blocks()[0]})
    result = run_pytest(suite)
    assert result.returncode == 0, outcome(result)
    assert "3 passed" in result.stdout, outcome(result)


def test_context_manager_example_runs(tmp_path: Path) -> None:
    """The doc's running_server example runs as a script."""
    script = tmp_path / "example.py"
    script.write_text(_blocks()[1])
    result = subprocess.run([sys.executable, "-W", "error", str(script)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bundle_recipe_makes_a_bundle(tmp_path: Path) -> None:
    """The doc's shell recipe writes a bundle that the fixture's bundle option loads."""
    recipe = re.search(r"^```sh\n(LOCALHUB_HOME=.*?)^```", DOC.read_text(), re.S | re.M)
    assert recipe is not None
    bin_dir = Path(sys.executable).parent
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(["sh", "-c", recipe.group(1)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    suite = write_suite(tmp_path / "suite", {"test_bundle.py": """
        import pytest

        @pytest.mark.localhub_server(bundle="../tests/data/registry.json")
        def test_loaded(localhub_server):
            versions = localhub_server.client.list_model_versions("fraud")
            assert [v.name for v in versions] == ["1.0.0", "2.0.0"]
    """})
    result = run_pytest(suite)
    assert result.returncode == 0, outcome(result)
