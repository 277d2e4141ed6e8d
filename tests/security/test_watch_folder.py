"""Item 12: the drop folder is hostile: no symlink out of it, no early registration."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from localhub.dropfolder import FolderWatcher
from localhub.store import SQLiteStore
from localhub.types import ModelVersion, RegisteredModel

from tests.support.cli import Invoke
from tests.support.dropfiles import backdate, make_files


@pytest.fixture
def store(db: Path) -> SQLiteStore:
    """The database of the CLI (--db)."""
    return SQLiteStore(db)


def _registered(store: SQLiteStore) -> list[str]:
    return sorted(m.name for m in store.list_page(RegisteredModel).items
                  if isinstance(m, RegisteredModel))


def test_symlinks_out_of_the_drop_folder_are_not_followed(invoke: Invoke, tmp_path: Path,
                                                          db: Path) -> None:
    """A linked model folder, a linked file and a file:// URI outside DIR are refused."""
    outside = make_files(tmp_path / "secret" / "v1", "model.onnx")
    drop = tmp_path / "drop"
    (drop / "linked").mkdir(parents=True)
    os.symlink(outside, drop / "linked" / "1")
    make_files(drop / "leaky" / "1", "model.onnx")
    os.symlink(tmp_path / "secret" / "v1" / "model.onnx", drop / "leaky" / "1" / "extra.bin")
    make_files(drop / "pointer" / "1", "model.onnx")
    (drop / "pointer" / "1" / "localhub.json").write_text(json.dumps(
        {"uri": (tmp_path / "secret").as_uri()}))
    make_files(drop / "fine" / "1", "model.onnx")
    os.symlink(tmp_path / "nowhere", drop / "fine" / "2")
    result = invoke("watch", str(drop), "--once", "--settle", "0")
    assert _registered(SQLiteStore(db)) == ["fine"]
    assert result.exit_code == 1
    assert "outside the drop folder" in result.stderr
    assert "leaky" in result.stderr and "pointer" in result.stderr
    assert "dangling symbolic link" in result.stderr and "skipped" in result.stderr
    assert "linked" in result.stderr


def test_a_copy_with_old_mtimes_waits_for_two_identical_scans(tmp_path: Path,
                                                              store: SQLiteStore) -> None:
    """Files copied with their old mtimes are not registered while the copy goes on."""
    drop = tmp_path / "drop"
    make_files(drop / "m" / "1", "part-1.bin", age=3600)
    watcher = FolderWatcher(store, drop, settle=5)
    assert [r.kind for r in watcher.scan()] == ["waiting"]
    make_files(drop / "m" / "1", "part-2.bin", age=3600)  # the copy goes on, mtimes old
    assert watcher.scan() == [] and watcher.waiting == 1
    assert _registered(store) == []
    assert [r.kind for r in watcher.scan()] == ["registered"]
    assert _registered(store) == ["m"]


def test_a_renamed_file_is_a_change(tmp_path: Path, store: SQLiteStore) -> None:
    """Same sizes and mtimes but another name: still changing."""
    drop = tmp_path / "drop"
    make_files(drop / "m" / "1", "a.bin", age=3600)
    watcher = FolderWatcher(store, drop, settle=5)
    watcher.scan()
    os.rename(drop / "m" / "1" / "a.bin", drop / "m" / "1" / "b.bin")
    backdate(drop / "m", 3600)
    watcher.scan()
    assert _registered(store) == []


def test_a_folder_name_that_is_not_utf8_is_an_error_and_the_rest_registered(
        invoke: Invoke, tmp_path: Path, db: Path) -> None:
    """A folder whose name holds non-UTF-8 bytes is reported by name (exit 1, as it was not
    registered); the others register."""
    drop = tmp_path / "drop"
    drop.mkdir()
    bad = os.fsencode(drop) + b"/bad\xffname"
    os.makedirs(bad + b"/v1")
    with open(bad + b"/v1/model.bin", "wb") as handle:
        handle.write(b"x")
    make_files(drop / "good" / "v1", "model.onnx")
    result = invoke("watch", str(drop), "--once", "--settle", "0")
    assert _registered(SQLiteStore(db)) == ["good"]
    assert result.exit_code == 1, result.output
    assert "bad\\xffname/v1: the name is not valid UTF-8; rename the folder" in result.stderr


def test_an_oversized_manifest_is_refused_unread(invoke: Invoke, tmp_path: Path,
                                                 db: Path) -> None:
    """A manifest over 1 MiB is refused with its size limit; the folder is not registered."""
    drop = tmp_path / "drop"
    make_files(drop / "huge", "model.onnx")
    body = json.dumps({"name": "huge", "version": "1", "description": "d" * (1 << 20)})
    (drop / "huge" / "localhub.json").write_text(body)
    make_files(drop / "small" / "1", "model.onnx")
    result = invoke("watch", str(drop), "--once", "--settle", "0")
    assert _registered(SQLiteStore(db)) == ["small"]
    assert result.exit_code == 1
    assert "localhub.json: larger than 1024 KiB" in result.stderr


def test_a_link_to_a_folder_inside_is_skipped_and_its_target_registered(
        invoke: Invoke, tmp_path: Path, db: Path) -> None:
    """``latest -> v3`` and an aliased model folder register nothing under the link's name."""
    drop = tmp_path / "drop"
    make_files(drop / "m" / "v3", "model.onnx")
    os.symlink("v3", drop / "m" / "latest")
    os.symlink("m", drop / "alias")
    result = invoke("watch", str(drop), "--once", "--settle", "0")
    assert result.exit_code == 0, result.output
    store = SQLiteStore(db)
    assert _registered(store) == ["m"]
    model = store.find(RegisteredModel, name="m")
    assert model is not None
    assert [v.name for v in store.list_page(ModelVersion, parent_id=model.id).items] == ["v3"]
    assert "latest: symbolic link to" in result.stderr and "alias: symbolic link" in result.stderr
