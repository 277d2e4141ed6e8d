"""The web page of ``localhub serve``: browse the registry, see what is queued, sync, and
resolve conflicts side by side, on the same store and facades as the CLI.

Pages (the URLs are part of the contract): ``/`` models, ``/models/{name}``, ``/sync``,
``/conflicts``; ``/login`` when ``serve`` requires a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi.staticfiles import StaticFiles

from ...registry import ModelRegistry
from . import actions, pages
from .render import HERE, Renderer
from .security import Secrets, WebAuth
from .syncjob import SyncJob

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ...store import SQLiteStore

__all__ = ["WebContext", "mount"]


@dataclass
class WebContext:
    """What every page handler needs."""

    store: SQLiteStore
    registry: ModelRegistry
    render: Renderer
    keys: Secrets
    job: SyncJob
    token: str | None


def mount(app: FastAPI, store: SQLiteStore, *, token: str | None = None) -> None:
    """Add the pages to ``app``; call after the app's own middleware is added (the login
    check must run in front of it)."""
    keys = Secrets()
    ctx = WebContext(store=store, registry=ModelRegistry("", author="", store=store),
                     render=Renderer(keys, token is not None), keys=keys,
                     job=SyncJob(store.path), token=token)
    pages.add_routes(app, ctx)
    actions.add_routes(app, ctx)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="web-static")
    app.add_middleware(WebAuth, token=token, keys=keys)
