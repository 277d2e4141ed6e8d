"""``import localhub`` stays light: the heavy libraries load only when needed."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlmodel", "sqlalchemy", "sqlite_utils", "requests", "fastapi", "pydantic",
         "model_registry", "kubeflow", "hypothesis")


def loaded_after(code: str) -> list[str]:
    """Heavy top-level packages present in sys.modules after running ``code`` fresh."""
    probe = (f"{code}\nimport json, sys\n"
             f"loaded = {{m.split('.')[0] for m in sys.modules}}\n"
             f"print(json.dumps(sorted(loaded & set({HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    return list(json.loads(out))


def test_import_localhub_is_light() -> None:
    """import localhub loads none of sqlmodel, sqlalchemy, sqlite_utils, requests, fastapi..."""
    assert loaded_after("import localhub") == []


def test_constructing_a_client_is_light() -> None:
    """Building a client (no I/O yet) loads no heavy library either."""
    assert loaded_after("import localhub\n"
                        "c = localhub.ModelRegistryClient('https://r.example.com', author='a')"
                        ) == []
