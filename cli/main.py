"""The click group, global options and error handling: parse, one library call, render."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

import localhub
from localhub.errors import LocalHubError

__all__ = ["main", "Settings", "pass_settings"]


@dataclass
class Settings:
    """What the global options chose."""

    db: Path | None
    quiet: bool
    debug: bool

    def registry(self) -> localhub.ModelRegistry:
        """The registry facade over the chosen database (no network)."""
        from localhub.paths import default_db_path

        path = self.db if self.db is not None else default_db_path()
        return localhub.ModelRegistry("", author="", path=path)


pass_settings = click.make_pass_decorator(Settings)


class _Group(click.Group):
    """Turns library errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LocalHubError as exc:
            _fail(ctx, str(exc))
        except UnicodeEncodeError as exc:
            # A lone surrogate: an argument with bytes that are not UTF-8 (Python keeps them
            # as surrogates); SQLite cannot take it, and no stored name can contain one.
            text = exc.object if isinstance(exc.object, str) else str(exc.object)
            _fail(ctx, f"{text[:80]!r} is not valid UTF-8 text (bytes that do not decode show "
                       "as \\udcXX); give names and values in UTF-8")


def _fail(ctx: click.Context, message: str) -> NoReturn:
    """One ``error:`` line on stderr (and the traceback with --debug), exit code 1."""
    settings = ctx.find_object(Settings)
    if settings is not None and settings.debug:
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(localhub.__version__, prog_name="localhub")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar="LOCALHUB_DB",
              help="Database file (env LOCALHUB_DB; default: registry.db in LOCALHUB_HOME "
                   "or the user data folder).")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors and requested data.")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
@click.pass_context
def main(ctx: click.Context, db: Path | None, quiet: bool, debug: bool) -> None:
    """localhub: an offline-capable Kubeflow Model Registry on a local SQLite file."""
    ctx.obj = Settings(db=db, quiet=quiet, debug=debug)


def _register_commands() -> None:
    from . import registry_cmds
    from .bundle_cmds import export, import_
    from .doctor_cmd import doctor
    from .kserve_cmd import kserve
    from .remote_cmds import remote
    from .serve import serve
    from .sync_cmds import COMMANDS as SYNC_COMMANDS
    from .watch_cmd import watch

    for command in registry_cmds.COMMANDS:
        main.add_command(command)
    main.add_command(serve)
    for command in (watch, export, import_, kserve, doctor, remote):
        main.add_command(command)
    for command in SYNC_COMMANDS:
        main.add_command(command)


_register_commands()
