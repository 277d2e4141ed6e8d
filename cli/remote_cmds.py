"""``localhub remote ...``: the remotes of ``$LOCALHUB_HOME/config.toml``."""

from __future__ import annotations

from typing import Any

import click

from localhub import config as cfg
from localhub.credentials import diagnose
from localhub.sync import reset_remote

from .complete import complete_remote
from .context import Settings, pass_settings
from .render import emit_json, emit_table


@click.group()
def remote() -> None:
    """Manage the remotes this database syncs with (stored in config.toml, tokens never)."""


@remote.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--token-env", metavar="VAR", help="Name of the environment variable holding the "
              "bearer token (the token itself is never stored).")
@click.option("--token-file", metavar="PATH", type=click.Path(dir_okay=False),
              help="File holding the bearer token (its path is stored, not its content).")
@click.option("--ca", metavar="PATH", type=click.Path(exists=True, dir_okay=False),
              help="CA bundle to verify the remote's TLS certificate.")
@click.option("--uri-map", multiple=True, metavar="FROM=TO",
              help="Rewrite artifact URIs starting with FROM to TO on push (repeatable).")
@click.option("--allow-insecure-token", is_flag=True,
              help="Send the token even over plain http:// to another machine (refused by "
                   "default: anyone on the network path could read it).")
@pass_settings
def add(settings: Settings, name: str, url: str, token_env: str | None,
        token_file: str | None, ca: str | None, uri_map: tuple[str, ...],
        allow_insecure_token: bool) -> None:
    """Add (or replace) remote NAME at URL; the first remote becomes the default.

    The token is never given on the command line nor in the URL: name the variable holding it
    (--token-env) or the file (--token-file, mode 0600).
    """
    if token_env and token_file:
        raise click.UsageError("give --token-env or --token-file, not both")
    config = cfg.add_remote(cfg.load_config(), name, url, token_env=token_env,
                            token_file=token_file, ca=ca, uri_map=uri_map,
                            allow_insecure_token=allow_insecure_token)
    path = cfg.save_config(config)
    remote = config.remotes[name]
    if not settings.quiet:
        default = " (default)" if config.default_remote == name else ""
        click.echo(f"remote {name} -> {remote.shown_url}{default}; saved in {path}")
    for finding in diagnose(remote):
        click.echo(f"warning: {finding.message}; {finding.fix}", err=True)


@remote.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of remotes.")
def list_(as_json: bool) -> None:
    """List the configured remotes (* marks the default)."""
    config = cfg.load_config()
    rows: list[dict[str, Any]] = []
    for name in sorted(config.remotes):
        r = config.remotes[name]
        rows.append({"name": name, "url": r.shown_url, "default": name == config.default_remote,
                     "token_env": r.token_env, "token_file": r.token_file, "ca": r.ca,
                     "uri_map": [f"{a}={b}" for a, b in r.uri_map],
                     "allow_insecure_token": r.allow_insecure_token})
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        row["auth"] = (f"env {row['token_env']}" if row["token_env"] else
                       f"file {row['token_file']}" if row["token_file"] else "")
        row["name"] = ("* " if row["default"] else "  ") + row["name"]
    emit_table(rows, ["name", "url", "auth", "ca", "uri_map"])


@remote.command(name="remove")
@click.argument("name", shell_complete=complete_remote)
@pass_settings
def remove(settings: Settings, name: str) -> None:
    """Remove remote NAME from the config (the database is not touched)."""
    config = cfg.remove_remote(cfg.load_config(), name)
    cfg.save_config(config)
    if not settings.quiet:
        click.echo(f"removed remote {name}")


@remote.command(name="set-default")
@click.argument("name", shell_complete=complete_remote)
@pass_settings
def set_default(settings: Settings, name: str) -> None:
    """Make NAME the remote used when --remote is not given."""
    cfg.save_config(cfg.set_default_remote(cfg.load_config(), name))
    if not settings.quiet:
        click.echo(f"default remote: {name}")


@remote.command(name="reset")
@click.argument("name_or_url", metavar="NAME|URL", shell_complete=complete_remote)
@click.option("--requeue", is_flag=True,
              help="Queue every local model, version and artifact again, to send the whole "
                   "local content to a new (re-created) server.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@pass_settings
def reset(settings: Settings, name_or_url: str, requeue: bool, as_json: bool) -> None:
    """Forget what this database knows of a remote (links, watermarks, pinned identity).

    For a remote that was re-created or replaced. Local entities and queued changes stay.
    """
    target = cfg.resolve_remote(cfg.load_config(), name_or_url)
    counts = reset_remote(settings.registry().store, target.url, requeue=requeue)
    if as_json:
        emit_json(counts)
    elif not settings.quiet:
        click.echo(f"reset {target.shown_url}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
