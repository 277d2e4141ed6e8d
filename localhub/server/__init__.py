"""``localhub serve``: the Model Registry REST API (v1 and v1alpha3) over a local store.

FastAPI and uvicorn are imported only when an app is built, so ``import localhub`` stays fast
and works without the ``server`` extra.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import ServerExtraMissingError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..store import SQLiteStore

__all__ = ["create_app", "run"]

_HINT = "localhub serve needs FastAPI and uvicorn: pip install 'localhub[server]'"


def _require_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ServerExtraMissingError(f"{_HINT} ({exc})") from exc


def create_app(store: SQLiteStore, *, token: str | None = None) -> FastAPI:
    """The REST app over ``store``; with ``token``, every API call needs that bearer token."""
    _require_extra()
    from .app import build_app

    return build_app(store, token=token)


def run(db_path: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8080,
        token_env: str | None = None, **uvicorn_options: Any) -> None:
    """Serve the store at ``db_path`` until interrupted (token read from env ``token_env``)."""
    _require_extra()
    import uvicorn

    from ..store import SQLiteStore
    from .app import configure_logging

    token = None
    if token_env:
        token = os.environ.get(token_env) or None
        if token is None:
            raise ValueError(f"environment variable {token_env} is unset or empty")
    store = SQLiteStore(db_path)
    configure_logging()
    try:
        app = create_app(store, token=token)
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning",
                    **uvicorn_options)
    finally:
        store.close()
