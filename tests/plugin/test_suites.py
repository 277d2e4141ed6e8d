"""The plugin in a user's own pytest run: inert, isolation in either order, speed, xdist."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.suites import outcome, run_pytest, write_suite

HEAVY = ("fastapi", "uvicorn", "sqlmodel", "sqlalchemy", "requests", "pydantic", "starlette")

TWO_TESTS = """
    import urllib.request, json

    def _names(server):
        with urllib.request.urlopen(server.api_url + "/registered_models") as reply:
            return [item["name"] for item in json.load(reply)["items"]]

    def test_a(localhub_server):
        assert _names(localhub_server) == []
        localhub_server.client.register_model("a", "s3://b/a", version="1")
        assert _names(localhub_server) == ["a"]

    def test_b(localhub_server):
        assert _names(localhub_server) == []
        localhub_server.client.register_model("b", "s3://b/b", version="1")
        assert _names(localhub_server) == ["b"]
"""


def test_importing_the_plugin_is_light() -> None:
    """Importing localhub.pytest_plugin loads none of fastapi, uvicorn, sqlmodel, requests..."""
    probe = ("import sys, json\nimport localhub.pytest_plugin\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert set(json.loads(out)) & set(HEAVY) == set()


def test_inert_unless_used(tmp_path: Path) -> None:
    """A suite that never asks for the fixture starts no server and imports no localhub code."""
    suite = write_suite(tmp_path / "suite", {"test_plain.py": """
        import sys

        def test_plain():
            assert "localhub.testing" not in sys.modules
            assert "localhub.server" not in sys.modules
    """})
    result = run_pytest(suite, "-p", "no:xdist")
    assert result.returncode == 0, outcome(result)
    assert "1 passed" in result.stdout
    assert not list((suite / ".basetemp").glob("localhub*"))


@pytest.mark.parametrize("order", [["test_a", "test_b"], ["test_b", "test_a"]])
def test_empty_in_either_order(tmp_path: Path, order: list[str]) -> None:
    """Each test sees an empty registry whichever of two writing tests runs first."""
    suite = write_suite(tmp_path / "suite", {"test_two.py": TWO_TESTS})
    result = run_pytest(suite, "-vv", *[f"test_two.py::{name}" for name in order])
    assert result.returncode == 0, outcome(result)
    ran = re.findall(r"test_two.py::(test_[ab]) PASSED", result.stdout)
    assert ran == order, outcome(result)


def test_marker_misuse_is_reported(tmp_path: Path) -> None:
    """An unknown marker option or a missing bundle fails the test with a clear message."""
    suite = write_suite(tmp_path / "suite", {"test_bad.py": """
        import pytest

        @pytest.mark.localhub_server(tokn=True)
        def test_typo(localhub_server):
            pass

        @pytest.mark.localhub_server(bundle="missing.json")
        def test_missing(localhub_server):
            pass
    """})
    result = run_pytest(suite)
    assert result.returncode == 1, outcome(result)
    assert "2 errors" in result.stdout, outcome(result)
    assert "has no option 'tokn'; use token= or bundle=" in result.stdout
    assert "missing.json not found" in result.stdout


def _timed_run(suite: Path, count: int) -> float:
    start = time.monotonic()
    result = run_pytest(suite, "-p", "no:xdist", *(f"test_many.py::test_n[{i}]"
                                                   for i in range(count)))
    elapsed = time.monotonic() - start
    assert result.returncode == 0, outcome(result)
    assert f"{count} passed" in result.stdout, outcome(result)
    return elapsed


@pytest.mark.slow
def test_hundred_tests_add_seconds(tmp_path: Path) -> None:
    """100 tests using the fixture (each writes and reads over HTTP) add only seconds."""
    suite = write_suite(tmp_path / "suite", {"test_many.py": """
        import pytest, urllib.request, json

        @pytest.mark.parametrize("i", range(100))
        def test_n(localhub_server, i):
            localhub_server.client.register_model(f"m{i}", "s3://b/m", version="1")
            with urllib.request.urlopen(localhub_server.api_url + "/registered_models") as r:
                assert [m["name"] for m in json.load(r)["items"]] == [f"m{i}"]
    """})
    one = _timed_run(suite, 1)
    hundred = _timed_run(suite, 100)
    per_test = (hundred - one) / 99
    print(f"1 test: {one:.1f}s; 100 tests: {hundred:.1f}s; {per_test * 1000:.0f} ms per test")
    # About 30 ms a test on an idle machine; the bound leaves room for a loaded CI host.
    assert hundred - one < 30, f"99 more tests took {hundred - one:.1f}s"


def test_xdist_one_server_per_worker(tmp_path: Path) -> None:
    """Under pytest -n 2 both workers pass, each with its own server, each test isolated."""
    files = {"test_two.py": TWO_TESTS, "conftest.py": """
        import json, os, pytest

        @pytest.fixture(autouse=True)
        def where(request, localhub_server, tmp_path_factory):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            out = tmp_path_factory.getbasetemp().parent / f"where-{request.node.name}.json"
            out.write_text(json.dumps([worker, localhub_server.port]))
    """, "test_where.py": """
        import pytest

        @pytest.mark.parametrize("i", range(8))
        def test_where(localhub_server, i):
            assert list(localhub_server.client.list_models()) == []
            localhub_server.client.register_model("same", "s3://b/s", version="1")
    """}
    suite = write_suite(tmp_path / "suite", files)
    result = run_pytest(suite, "-n", "2")
    assert result.returncode == 0, outcome(result)
    assert "10 passed" in result.stdout, outcome(result)
    seen = [json.loads(p.read_text()) for p in (suite / ".basetemp").glob("where-*.json")]
    assert len(seen) == 10
    ports: dict[str, set[int]] = {}
    for worker, port in seen:
        ports.setdefault(worker, set()).add(port)
    assert sorted(ports) == ["gw0", "gw1"], ports  # xdist hands both workers tests at once
    assert all(len(p) == 1 for p in ports.values()), ports
    assert len(set.union(*ports.values())) == 2, ports
