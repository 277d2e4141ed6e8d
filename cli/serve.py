"""``localhub serve``: the Model Registry REST API over the local store."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from localhub.errors import LocalHubError
from localhub.paths import default_db_path


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="LOCALHUB_DB", default=None,
              help="SQLite registry file [env LOCALHUB_DB; default: the per-user data folder].")
@click.option("--token-env", metavar="VAR", default=None,
              help="Require 'Authorization: Bearer <token>', the token read from env VAR.")
def serve(host: str, port: int, db_path: Path | None, token_env: str | None) -> None:
    """Serve the Model Registry REST API (v1 and v1alpha3) from the local store."""
    from localhub.server import run

    if token_env is not None and not os.environ.get(token_env):
        raise click.UsageError(f"--token-env {token_env}: that environment variable is unset "
                               "or empty")
    path = db_path or default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if token_env is None and not _is_loopback(host):
        click.echo(f"warning: serving on {host} without a token: anyone who can reach it can "
                   "read and change the registry (use --token-env)", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"localhub serving {path} at http://{shown}:{port}/api/model_registry/v1", err=True)
    try:
        run(path, host=host, port=port, token_env=token_env)
    except LocalHubError as exc:
        raise click.ClickException(str(exc)) from exc
