"""Worker for bench_local / bench_scale: one side (``ours`` or ``mlflow``), driven over stdin.

Runs under the dev venv for ``ours`` and under the bench's MLflow venv for ``mlflow``; it uses
only the standard library plus that side's package.
"""

from __future__ import annotations

import os
import random
import sys
import time
from typing import Any

from tests.bench._common import peak_rss_mib, serve_loop

SIDE = sys.argv[1]
PROPS: dict[str, Any] = {"accuracy": 0.93, "epochs": 12, "framework": "torch"}
_SYNC = {"mode": "FULL"}  # synchronous for connections opened from now on (MLflow side)


def _names(models: int, versions: int) -> list[tuple[str, str]]:
    return [(f"model-{m:04d}", f"v{v}") for m in range(models) for v in range(versions)]


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] if size else [items]


def _nothing():
    import contextlib
    return contextlib.nullcontext()


class Ours:
    def __init__(self) -> None:
        from localhub import ModelRegistryClient, SQLiteStore
        self.Client, self.Store = ModelRegistryClient, SQLiteStore
        self.clients: dict[str, Any] = {}

    def open(self, db: str, sync: Any = "FULL"):
        client = self.clients.get(db)
        if client is None:
            store = self.Store(db, synchronous=sync)
            client = self.Client("http://127.0.0.1:9", path=None, store=store, author="bench")
            client.store.get_meta("schema")  # create and migrate the file (untimed)
            self.clients[db] = client
        return client

    def register(self, db: str, models: int, versions: int, sync: str = "FULL",
                 batch: int = 0) -> dict:
        """``batch`` > 0: that many registrations per ``client.batch()`` (one commit each)."""
        client = self.open(db, sync)
        pairs = _names(models, versions)
        start = time.perf_counter()
        for chunk in _chunks(pairs, batch):
            with client.batch() if batch else _nothing():
                for name, version in chunk:
                    client.register_model(name, f"s3://bucket/{name}/{version}",
                                          version=version, model_format_name="onnx",
                                          model_format_version="1", metadata=PROPS)
        return {"seconds": time.perf_counter() - start, "count": len(pairs)}

    def update(self, db: str, models: int, versions: int, batch: int = 0) -> dict:
        client = self.open(db)
        pairs = _names(models, versions)
        start = time.perf_counter()
        for c, chunk in enumerate(_chunks(pairs, batch)):
            with client.batch() if batch else _nothing():
                for i, (name, version) in enumerate(chunk):
                    mv = client.get_model_version(name, version)
                    mv.description = f"updated {c}-{i}"
                    client.update_model_version(mv)
        return {"seconds": time.perf_counter() - start, "count": len(pairs)}

    def get_version(self, db: str, name: str, version: str):
        return self.open(db).get_model_version(name, version)

    def list_models(self, db: str) -> int:
        return sum(1 for _ in self.open(db).list_models())

    def list_versions(self, db: str, name: str) -> int:
        return sum(1 for _ in self.open(db).list_model_versions(name))

    def close(self, db: str) -> None:
        client = self.clients.pop(db, None)
        if client is not None:
            client.store.close()


class MLflow:
    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "connect")
        def _durability(dbapi_conn, _record):  # equal durability: synchronous=FULL
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA synchronous={_SYNC['mode']}")
            cur.close()

        import logging
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        from mlflow import MlflowClient
        self.Client = MlflowClient
        self.clients: dict[str, object] = {}
        self.created: set[tuple[str, str]] = set()

    def open(self, db: str, sync: str = "FULL"):
        client = self.clients.get(db)
        if client is None:
            _SYNC["mode"] = sync
            uri = f"sqlite:///{db}"
            client = self.Client(tracking_uri=uri, registry_uri=uri)
            client.search_registered_models(max_results=1)  # create the schema (untimed)
            self.clients[db] = client
            _SYNC["mode"] = "FULL"
        return client

    def register(self, db: str, models: int, versions: int, sync: str = "FULL") -> dict:
        client = self.open(db, sync)
        pairs = _names(models, versions)
        tags = {k: str(v) for k, v in PROPS.items()}
        start = time.perf_counter()
        for name, version in pairs:
            if version == "v0":
                client.create_registered_model(name)
            client.create_model_version(name, f"s3://bucket/{name}/{version}", tags=tags)
        return {"seconds": time.perf_counter() - start, "count": len(pairs)}

    def update(self, db: str, models: int, versions: int) -> dict:
        client = self.open(db)
        pairs = [(f"model-{m:04d}", str(v + 1)) for m in range(models) for v in range(versions)]
        start = time.perf_counter()
        for i, (name, version) in enumerate(pairs):
            client.update_model_version(name, version, description=f"updated {i}")
        return {"seconds": time.perf_counter() - start, "count": len(pairs)}

    def get_version(self, db: str, name: str, version: str):
        return self.open(db).get_model_version(name, str(int(version[1:]) + 1))

    def list_models(self, db: str) -> int:
        client, token, n = self.open(db), None, 0
        while True:
            page = client.search_registered_models(max_results=1000, page_token=token)
            n += len(page)
            token = page.token
            if not token:
                return n

    def list_versions(self, db: str, name: str) -> int:
        client, token, n = self.open(db), None, 0
        while True:
            page = client.search_model_versions(f"name='{name}'", max_results=10000,
                                                page_token=token)
            n += len(page)
            token = page.token
            if not token:
                return n

    def close(self, db: str) -> None:
        self.clients.pop(db, None)


impl = Ours() if SIDE == "ours" else MLflow()


def _timed(fn, budget: float, max_ops: int) -> dict:
    """Run fn until max_ops or budget seconds; seconds per op."""
    n, start = 0, time.perf_counter()
    while n < max_ops:
        fn()
        n += 1
        if time.perf_counter() - start > budget:
            break
    return {"per_op": (time.perf_counter() - start) / n, "ops": n}


def reads(db: str, models: int, versions: int, budget: float) -> dict:
    rng = random.Random(7)
    names = [f"model-{m:04d}" for m in range(models)]

    def get() -> None:
        impl.get_version(db, rng.choice(names), f"v{rng.randrange(versions)}")

    expected = impl.list_models(db)
    assert expected == models, (expected, models)
    assert impl.list_versions(db, names[0]) == versions
    return {
        "get": _timed(get, budget, 20000),
        "list_models": _timed(lambda: impl.list_models(db), budget, 2000),
        "list_versions": _timed(lambda: impl.list_versions(db, rng.choice(names)), budget, 2000),
    }


def size(db: str) -> dict:
    impl.close(db)
    total = sum(os.path.getsize(p) for p in (db, db + "-wal", db + "-shm") if os.path.exists(p))
    return {"bytes": total}


serve_loop({
    "register": impl.register,
    "update": impl.update,
    "reads": reads,
    "close": lambda db: impl.close(db) or {},
    "size": size,
    "rss": lambda: {"mib": peak_rss_mib()},
})
