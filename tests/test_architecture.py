"""The shape of the code: imports run one way, modules stay small, each table has one owner."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Installed package name -> source folder (pyproject's package-dir).
FOLDERS = {"localhub": ROOT / "localhub", "localhub.sync": ROOT / "sync",
           "localhub.cli": ROOT / "cli"}
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts
                     if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(module: str, path: Path) -> set[str]:
    """The product modules ``module`` imports when it runs (not under TYPE_CHECKING)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            subs = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
            if len(subs) < len(node.names) and base in MODULES:
                found.add(base)
            found.update(subs)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    found.discard(module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle() -> None:
    """No product module imports, directly or through others, a module that imports it.

    A package importing its own submodules (``localhub`` re-exporting its public names) is
    the package's surface, not a cycle: edges into a package's ``__init__`` from its own
    submodules are left out."""
    graph = {m: {t for t in _runtime_imports(m, p)
                 if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
             for m, p in MODULES.items()}
    assert _cycles(graph) == []


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_library_does_not_import_the_cli_or_the_server() -> None:
    """The library and the sync engine never import the command line or the server; the
    server (its web pages included) does not import the command line either. Only the test
    harness (``localhub.testing``, which starts ``localhub serve``) reaches for both."""
    launchers = ("localhub.testing", "localhub.pytest_plugin")
    wrong = []
    for module, path in MODULES.items():
        if module in launchers or _within(module, "localhub.cli"):
            continue
        for imported in _runtime_imports(module, path):
            if _within(imported, "localhub.cli") or (
                    _within(imported, "localhub.server")
                    and not _within(module, "localhub.server")):
                wrong.append(f"{module} -> {imported}")
    assert sorted(wrong) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small_or_say_why(module: str) -> None:
    """A module over 450 lines says at its top why it is one module ("Size: ...")."""
    text = MODULES[module].read_text()
    if len(text.splitlines()) > MAX_LINES:
        docstring = ast.get_docstring(ast.parse(text)) or ""
        assert "Size:" in docstring, f"{module}: {len(text.splitlines())} lines"


#: Each table and the one module that reads and writes it (the schema and the frozen
#: migrations name every table too).
OWNERS = {
    "outbox": "localhub/outbox.py",
    "sync_links": "sync/ledger.py",
    "sync_items": "sync/ledger.py",
    "sync_conflicts": "sync/ledger.py",
    "sync_state": "sync/ledger.py",
}
_SQL = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+\"?(outbox|sync_[a-z]+)\b", re.IGNORECASE)


def test_each_table_has_one_owner() -> None:
    """SQL that names the outbox or a sync table lives only in that table's owner."""
    schema = {"localhub/_tables.py", "localhub/migrations.py"}
    strays = []
    for path in MODULES.values():
        relative = path.relative_to(ROOT).as_posix()
        if relative in schema:
            continue
        for match in _SQL.finditer(path.read_text()):
            if OWNERS[match.group(1)] != relative:
                strays.append(f"{relative}: {match.group(0)}")
    assert strays == []
