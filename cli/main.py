"""The click group, global options and error handling: parse, one library call, render."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

import localhub
from localhub.errors import (
    DatabaseLockedError,
    DuplicateError,
    FilterQueryError,
    InvalidInputError,
    LocalHubError,
    ModelNotFoundError,
    NotFoundError,
    model_missing,
    version_missing,
    version_taken,
)

from . import registry_cmds
from .bundle_cmds import export, import_
from .conflict_cmds import COMMANDS as CONFLICT_COMMANDS
from .context import Settings
from .doctor_cmd import doctor
from .kserve_cmd import kserve
from .log_cmd import log
from .remote_cmds import remote
from .serve import serve
from .sync_cmds import COMMANDS as SYNC_COMMANDS
from .watch_cmd import watch

__all__ = ["main"]


#: What to do after an error whose text has no hint of its own, by its type.
_HINTS: tuple[tuple[type[LocalHubError], str], ...] = (
    (FilterQueryError, "correct the query, e.g. --filter \"owner = 'alice'\""),
    (InvalidInputError, "correct the value and run the command again"),
    (DatabaseLockedError, "wait for the other process to finish, then run the command again"),
    (LocalHubError, "run it again as `localhub --debug ...` for the details"),
)


def _message(exc: LocalHubError) -> str:
    """The error as the user reads it: ``<what happened>; <what to do>``, each condition in
    the one wording of :mod:`localhub.errors` (the Python API keeps the official client's)."""
    text = str(exc)
    if "; " in text:
        return text  # already in this voice
    entity, key = getattr(exc, "entity", ""), str(getattr(exc, "key", ""))
    if isinstance(exc, ModelNotFoundError):
        return model_missing(exc.name)
    if isinstance(exc, NotFoundError) and entity == "registered model":
        return model_missing(key)
    if isinstance(exc, NotFoundError) and entity == "conflict":
        return f"no conflict with id {key}; see `localhub conflicts`"
    name, sep, version = key.rpartition(":")
    if isinstance(exc, NotFoundError) and entity == "model version" and sep:
        return version_missing(name, version)
    if isinstance(exc, DuplicateError) and entity == "model version" and sep:
        return version_taken(name, version)
    hint = next(hint for kind, hint in _HINTS if isinstance(exc, kind))
    return f"{text}; {hint}"


class _Group(click.Group):
    """Turns library errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LocalHubError as exc:
            _fail(ctx, _message(exc))
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
@click.option("--no-color", is_flag=True,
              help="No colours in the output (also when NO_COLOR is set).")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
@click.pass_context
def main(ctx: click.Context, db: Path | None, quiet: bool, no_color: bool, debug: bool) -> None:
    """localhub: an offline-capable Kubeflow Model Registry on a local SQLite file."""
    if no_color or os.environ.get("NO_COLOR"):
        # https://no-color.org: any non-empty NO_COLOR turns colour off. Subcommand contexts
        # inherit this, and click.echo then strips every style.
        ctx.color = False
    ctx.obj = Settings(db=db, quiet=quiet, debug=debug)


def _register_commands() -> None:
    for command in registry_cmds.COMMANDS:
        main.add_command(command)
    main.add_command(serve)
    for command in (watch, export, import_, kserve, doctor, remote):
        main.add_command(command)
    for command in (*SYNC_COMMANDS, *CONFLICT_COMMANDS):
        main.add_command(command)
    main.add_command(log)
    for command in main.commands.values():
        _whole_short_help(command)


def _whole_short_help(command: click.Command) -> None:
    """Give ``command`` (and its subcommands) a short help that is a whole first sentence:
    click otherwise cuts the help to the terminal width mid-phrase with '...'."""
    if command.short_help is None and command.help:
        first = command.help.strip().split("\n\n", 1)[0]
        first = " ".join(first.split())
        end = first.find(". ")
        command.short_help = first[: end + 1] if end > 0 else first
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _whole_short_help(sub)


_register_commands()
