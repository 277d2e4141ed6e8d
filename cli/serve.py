"""``localhub serve``: the Model Registry REST API over the local store."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from localhub.errors import LocalHubError
from localhub.paths import default_db_path
from localhub.server import PortInUseError, run

from .context import Settings

if TYPE_CHECKING:
    from localhub.server.quirks import Quirks


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_size(_ctx: click.Context, _param: click.Parameter, text: str) -> int:
    """``4194304``, ``512KiB``, ``4MiB``, ``1GiB`` (also KB/MB/GB, K/M/G) -> bytes."""
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    value = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = value[-1:] if value[-1:] in ("k", "m", "g") else ""
    number = value[:-1] if unit else value
    if not number.isdigit() or int(number) < 1:
        raise click.BadParameter(f"{text!r} is not a size such as 4MiB, 512KiB or 1048576")
    return int(number) * units[unit]


def _quirks(host: str) -> Quirks | None:
    """The test-only quirks from the environment, announced loudly (refused off loopback)."""
    # test-only quirks load when serve starts, not with every command
    from localhub.server.quirks import ENV, quirks_from_env

    try:
        quirks = quirks_from_env()
    except LocalHubError as exc:
        raise click.UsageError(str(exc)) from exc
    if quirks is None:
        return None
    if not _is_loopback(host):
        raise click.UsageError(f"{ENV} is set: quirks emulate a faulty server for tests and are "
                               "refused on a non-loopback address; unset it")
    for line in quirks.describe() or ["(none)"]:
        click.echo(f"WARNING: {ENV}: emulating a quirky server for tests: {line}", err=True)
    return quirks


class _Failed(click.ClickException):
    """A library error, shown as every command shows one (``error: ...``, exit 1), also when
    ``serve`` runs on its own (:mod:`localhub.testing`), outside the group's handler."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite registry file [default: the global --db, LOCALHUB_DB, or the "
                   "per-user data folder].")
@click.option("--token-env", metavar="VAR", default=None,
              help="Require 'Authorization: Bearer <token>', the token read from env VAR.")
@click.option("--allow-host", "allow_hosts", metavar="NAME", multiple=True,
              help="Also accept requests whose Host header is NAME (repeatable); the bound "
                   "address, localhost, 127.0.0.1 and [::1] are always accepted.")
@click.option("--max-body", metavar="SIZE", default="4MiB", show_default=True,
              callback=_parse_size,
              help="Largest request body (e.g. 512KiB, 16MiB); larger ones get 413.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, db_path: Path | None,
          token_env: str | None, allow_hosts: tuple[str, ...], max_body: int) -> None:
    """Serve the Model Registry REST API (v1 and v1alpha3) from the local store."""
    if token_env is not None and not os.environ.get(token_env):
        raise click.UsageError(f"--token-env {token_env}: that environment variable is unset "
                               "or empty")
    settings = ctx.find_object(Settings)
    if db_path is None and settings is not None and settings.db is not None:
        db_path = Path(settings.db)
    if db_path is None and os.environ.get("LOCALHUB_DB"):
        db_path = Path(os.environ["LOCALHUB_DB"])
    path = db_path or default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if token_env is None and not _is_loopback(host):
        click.echo(f"warning: serving on {host} without a token: anyone who can reach it can "
                   "read and change the registry (use --token-env)", err=True)
    quirks = _quirks(host)
    shown = f"[{host}]" if ":" in host else host

    def announce(bound_port: int) -> None:
        click.echo(f"localhub serving {path} at http://{shown}:{bound_port}/api/model_registry/v1",
                   err=True)

    try:
        run(path, host=host, port=port, token_env=token_env, allow_hosts=allow_hosts,
            max_body=max_body, ready=announce, quirks=quirks)
    except PortInUseError:
        raise
    except LocalHubError as exc:
        raise _Failed(str(exc)) from exc
