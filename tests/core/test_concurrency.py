"""Several processes writing one fresh database at once: nothing lost, nothing duplicated."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from localhub.migrations import MIGRATIONS

PROCESSES = 4
VERSIONS_EACH = 500
MODELS = 10

WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from localhub import ModelRegistryClient

    path, proc, count, models, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
        int(sys.argv[4]), Path(sys.argv[5])
    print("ready", flush=True)
    while not go.exists():  # start together, so that even the first open (migration) races
        time.sleep(0.001)
    client = ModelRegistryClient("https://registry.example.com", author=f"p{proc}", path=path)
    for i in range(count):
        client.register_model(f"model-{i % models}", f"s3://bucket/p{proc}/{i}",
                              version=f"p{proc}-v{i}", model_format_name="onnx",
                              metadata={"proc": proc, "i": i})
    print("done", proc)
""")


def test_four_processes_register_into_one_file(tmp_path: Path) -> None:
    """4 processes x 500 versions into one file: exact counts, no error in any process."""
    path = tmp_path / "shared.db"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(p), str(VERSIONS_EACH),
                          str(MODELS), str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in range(PROCESSES)
    ]
    for proc in procs:  # every interpreter has finished importing
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    go.touch()
    results = [proc.communicate(timeout=120) for proc in procs]
    for p, (proc, (out, err)) in enumerate(zip(procs, results, strict=False)):
        assert proc.returncode == 0, err
        assert err == ""
        assert out == f"done {p}\n"

    conn = sqlite3.connect(path)
    try:
        def one(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        assert one("SELECT count(*) FROM contexts WHERE kind = 'registered-model'") == MODELS
        assert one("SELECT count(*) FROM contexts WHERE kind = 'model-version'") == 2000
        assert one("SELECT count(DISTINCT name) FROM contexts "
                   "WHERE kind = 'model-version'") == 2000
        assert one("SELECT count(*) FROM artifacts WHERE kind = 'model-artifact'") == 2000
        total = PROCESSES * VERSIONS_EACH
        creates = one("SELECT count(*) FROM outbox WHERE op = 'create'")
        assert creates == 3 * total - (total - MODELS)
        assert one("SELECT count(*) FROM outbox WHERE op != 'create'") == 0
        # Every version points at an existing model, every artifact at an existing version.
        assert one("SELECT count(*) FROM contexts AS v LEFT JOIN contexts AS m "
                   "ON m.id = v.parent_id AND m.kind = 'registered-model' "
                   "WHERE v.kind = 'model-version' AND m.id IS NULL") == 0
        assert one("SELECT count(*) FROM artifacts AS a LEFT JOIN contexts AS v "
                   "ON v.id = a.version_id WHERE v.id IS NULL") == 0
        applied = [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations")]
        assert sorted(applied) == sorted(m.name for m in MIGRATIONS._migrations)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
