"""`localhub watch DIR`: drop-folder registration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localhub.dropfolder import FolderWatcher, Report
from localhub.formats import guess_format
from localhub.store import SQLiteStore
from localhub.types import ModelArtifact, ModelVersion, RegisteredModel

from tests.support.cli import Invoke
from tests.support.dropfiles import backdate, make_files


def _artifact(store: SQLiteStore, name: str, version: str) -> ModelArtifact | None:
    """The model artifact of a version, or None when the version does not exist."""
    model = store.find(RegisteredModel, name=name)
    if model is None or model.id is None:
        return None
    mv = store.find(ModelVersion, name=version, parent_id=model.id)
    if mv is None or mv.id is None:
        return None
    return store.find(ModelArtifact, name=name, parent_id=mv.id)


@pytest.mark.parametrize(("files", "expected"), [
    (["model.onnx"], "onnx"),
    (["pytorch_model.bin", "config.json"], "pytorch"),
    (["weights.pt"], "pytorch"),
    (["model.safetensors", "tokenizer.json"], "safetensors"),
    (["saved_model.pb", "variables/variables.index"], "tensorflow"),
    (["model.keras"], "keras"),
    (["model.h5"], "keras"),
    (["model.joblib"], "sklearn"),
    (["model.pkl"], "sklearn"),
    (["model.ubj"], "xgboost"),
    (["booster.lgb"], "lightgbm"),
    (["llama.gguf"], "gguf"),
    (["README.md"], None),
])
def test_guess_format(tmp_path: Path, files: list[str], expected: str | None) -> None:
    """The format is guessed from the file names."""
    assert guess_format(make_files(tmp_path / "v", *files)) == expected


def test_guess_format_reads_xgboost_json_and_lightgbm_txt(tmp_path: Path) -> None:
    """An XGBoost JSON model and a LightGBM model.txt are recognised by their content."""
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "model.json").write_text('{"learner": {"attributes": {}}}')
    (tmp_path / "l").mkdir()
    (tmp_path / "l" / "model.txt").write_text("tree\nversion=v4\n")
    assert guess_format(tmp_path / "x") == "xgboost"
    assert guess_format(tmp_path / "l") == "lightgbm"


def test_once_registers_by_convention(tmp_path: Path, invoke: Invoke, store: SQLiteStore
                                      ) -> None:
    """DIR/<model>/<version>/ is registered with a file:// URI and the guessed format."""
    drop = tmp_path / "drop"
    make_files(drop / "resnet" / "1", "model.onnx")
    make_files(drop / "bert" / "v2", "model.safetensors")
    result = invoke("watch", str(drop), "--once", "--settle", "1")
    assert result.exit_code == 0, result.output
    assert "registered resnet 1 (onnx)" in result.stdout
    artifact = _artifact(store, "resnet", "1")
    assert artifact is not None
    assert artifact.uri == (drop / "resnet" / "1").resolve().as_uri()
    assert artifact.model_format_name == "onnx"
    assert _artifact(store, "bert", "v2") is not None
    assert {c.op for c in store.pending()} == {"create"}


def test_once_registers_by_manifest(tmp_path: Path, invoke: Invoke, store: SQLiteStore) -> None:
    """A localhub.json sets name, version, URI, format, description and typed metadata."""
    folder = tmp_path / "drop" / "anything"
    folder.mkdir(parents=True)
    (folder / "localhub.json").write_text(json.dumps({
        "name": "fraud", "version": "3.0.0", "uri": "s3://models/fraud/3", "format": "onnx",
        "format_version": "1.15", "description": "march", "author": "alice",
        "metadata": {"auc": 0.97, "epochs": 20, "tuned": True, "data": "march"}}))
    backdate(folder)
    result = invoke("watch", str(tmp_path / "drop"), "--once", "--settle", "1")
    assert result.exit_code == 0, result.output
    artifact = _artifact(store, "fraud", "3.0.0")
    assert artifact is not None and artifact.uri == "s3://models/fraud/3"
    assert artifact.model_format_version == "1.15"
    model = store.find(RegisteredModel, name="fraud")
    assert model is not None and model.id is not None
    mv = store.find(ModelVersion, name="3.0.0", parent_id=model.id)
    assert mv is not None and mv.author == "alice" and mv.description == "march"
    assert mv.custom_properties == {"auc": 0.97, "epochs": 20, "tuned": True, "data": "march"}
    assert isinstance(mv.custom_properties["epochs"], int)


def test_manifest_in_version_folder_defaults_to_folder_names(
        tmp_path: Path, invoke: Invoke, store: SQLiteStore) -> None:
    """DIR/<model>/<version>/localhub.json may omit name and version; the URI is the folder."""
    folder = tmp_path / "drop" / "clf" / "7"
    folder.mkdir(parents=True)
    (folder / "localhub.json").write_text('{"description": "seven"}')
    (folder / "model.joblib").write_bytes(b"x")
    backdate(folder)
    assert invoke("watch", str(tmp_path / "drop"), "--once", "--settle", "1").exit_code == 0
    artifact = _artifact(store, "clf", "7")
    assert artifact is not None
    assert artifact.uri == folder.resolve().as_uri() and artifact.model_format_name == "sklearn"


@pytest.mark.parametrize(("text", "message"), [
    ('{"name": "m", "version": "1", "versoin": "2"}', "unknown key(s) versoin"),
    ('{"name": "m", "version": ', "not valid JSON"),
    ('["m"]', "must be a JSON object"),
    ('{"version": "1"}', "name is required"),
    ('{"name": "m", "version": 1}', "version must be a string"),
    ('{"name": "m", "version": "1", "metadata": {"a": [1]}}', "metadata 'a' must be"),
])
def test_bad_manifest_is_reported_and_skipped(tmp_path: Path, invoke: Invoke,
                                              store: SQLiteStore, text: str, message: str
                                              ) -> None:
    """A bad manifest gives one error line naming the file; other folders still register."""
    drop = tmp_path / "drop"
    (drop / "bad").mkdir(parents=True)
    (drop / "bad" / "localhub.json").write_text(text)
    backdate(drop / "bad")
    make_files(drop / "good" / "1", "model.onnx")
    result = invoke("watch", str(drop), "--once", "--settle", "1")
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith("error: ") and "localhub.json" in errors[0] and message in errors[0]
    assert _artifact(store, "good", "1") is not None


def test_never_registers_twice(tmp_path: Path, invoke: Invoke, store: SQLiteStore) -> None:
    """A second run (a restart) registers nothing, even after the version was deleted."""
    drop = tmp_path / "drop"
    make_files(drop / "m" / "1", "model.onnx")
    assert invoke("watch", str(drop), "--once", "--settle", "1").exit_code == 0
    queued = len(store.pending())
    second = invoke("watch", str(drop), "--once", "--settle", "1")
    assert second.exit_code == 0 and second.stdout == ""
    assert len(store.pending()) == queued
    model = store.find(RegisteredModel, name="m")
    assert model is not None
    store.delete(model)
    third = invoke("watch", str(drop), "--once", "--settle", "1")
    assert third.exit_code == 0 and store.find(RegisteredModel, name="m") is None


def test_existing_version_with_same_uri_is_adopted(tmp_path: Path, invoke: Invoke,
                                                   store: SQLiteStore) -> None:
    """A version registered by hand at the folder's URI is adopted silently."""
    folder = make_files(tmp_path / "drop" / "m" / "1", "model.onnx")
    store.register_model("m", folder.resolve().as_uri(), version="1")
    result = invoke("watch", str(tmp_path / "drop"), "--once", "--settle", "1")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_existing_version_with_other_uri_is_reported(tmp_path: Path, invoke: Invoke,
                                                     store: SQLiteStore) -> None:
    """A version that exists with another URI is an error, and it is left unchanged."""
    make_files(tmp_path / "drop" / "m" / "1", "model.onnx")
    store.register_model("m", "s3://elsewhere/m/1", version="1")
    result = invoke("watch", str(tmp_path / "drop"), "--once", "--settle", "1")
    assert result.exit_code == 1
    assert "already registered with URI s3://elsewhere/m/1" in result.stderr
    artifact = _artifact(store, "m", "1")
    assert artifact is not None and artifact.uri == "s3://elsewhere/m/1"


def test_value_the_registry_refuses_is_reported(tmp_path: Path, invoke: Invoke,
                                                store: SQLiteStore) -> None:
    """Metadata the registry refuses (an int beyond int32) is one error line, nothing written."""
    folder = tmp_path / "drop" / "m" / "1"
    folder.mkdir(parents=True)
    (folder / "localhub.json").write_text('{"metadata": {"rows": 3000000000}}')
    backdate(folder)
    result = invoke("watch", str(tmp_path / "drop"), "--once", "--settle", "1")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ") and "rows" in result.stderr
    assert store.find(RegisteredModel, name="m") is None


def test_json_events(tmp_path: Path, invoke: Invoke) -> None:
    """--json prints one JSON object per event."""
    make_files(tmp_path / "drop" / "m" / "1", "model.gguf")
    result = invoke("watch", str(tmp_path / "drop"), "--once", "--settle", "1", "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["kind"], e["model"], e["version"]) for e in events
            if e["kind"] != "waiting"] == [("registered", "m", "1")]


def test_missing_directory_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    """A DIR that does not exist exits 2 with click's message."""
    result = invoke("watch", str(tmp_path / "nope"), "--once")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_registers_only_after_settle_time(tmp_path: Path, store: SQLiteStore) -> None:
    """A folder whose files changed less than settle seconds ago waits; later it registers."""
    folder = make_files(tmp_path / "drop" / "m" / "1", "model.onnx", age=0)
    now = [time.time()]
    watcher = FolderWatcher(store, tmp_path / "drop", settle=10, clock=lambda: now[0])
    assert [r.kind for r in watcher.scan()] == ["waiting"]
    assert _artifact(store, "m", "1") is None
    (folder / "more.bin").write_bytes(b"still copying")
    now[0] += 11
    assert watcher.scan() == []  # the tree changed since the last look: still waiting
    now[0] += 11
    reports = watcher.scan()
    assert [r.kind for r in reports] == ["registered"]
    assert _artifact(store, "m", "1") is not None


def test_run_once_waits_for_a_changing_folder(tmp_path: Path, store: SQLiteStore) -> None:
    """--once gives up on a folder that keeps changing, reporting it as an error."""
    make_files(tmp_path / "drop" / "m" / "1", "model.onnx", age=0)
    watcher = FolderWatcher(store, tmp_path / "drop", settle=60)
    seen: list[Report] = []
    watcher.run_once(seen.append, timeout=0.2)
    assert [r.kind for r in seen] == ["waiting", "error"]
    assert "still changing" in seen[-1].message


def _wait_for(predicate: object, timeout: float = 20.0) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_watch_process_registers_and_stops_cleanly(tmp_path: Path, db: Path,
                                                   signum: signal.Signals) -> None:
    """A running `localhub watch` registers a dropped folder and exits 0 on SIGTERM/SIGINT."""
    script = Path(sys.executable).with_name("localhub")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "localhub.cli"]
    drop = tmp_path / "drop"
    drop.mkdir()
    proc = subprocess.Popen([*command, "--db", str(db), "watch", str(drop), "--settle", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ))
    try:
        assert proc.stderr is not None and "watching" in proc.stderr.readline()
        staging = tmp_path / "staging" / "1"
        staging.mkdir(parents=True)
        (staging / "model.onnx").write_bytes(b"onnx")
        (drop / "resnet").mkdir()
        os.rename(staging, drop / "resnet" / "1")
        store = SQLiteStore(db)
        assert _wait_for(lambda: _artifact(store, "resnet", "1") is not None), \
            proc.stderr.read() if proc.poll() is not None and proc.stderr else "not registered"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "registered resnet 1 (onnx)" in out
    assert "Traceback" not in err and "stopped" in err
