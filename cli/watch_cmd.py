"""``localhub watch DIR``: register models dropped into a folder."""

from __future__ import annotations

import getpass
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from localhub.dropfolder import FolderWatcher, Report

from .context import Settings, pass_settings
from .render import emit_json_line


@click.command()
@click.argument("directory", metavar="DIR",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--once", is_flag=True,
              help="Scan once (waiting for folders still being copied), then exit.")
@click.option("--settle", type=click.FloatRange(min=0), default=5.0, show_default=True,
              metavar="SECONDS", help="Register a folder once its files are unchanged this long.")
@click.option("--author", help="Author and owner of what is registered (default: $USER).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per event.")
@pass_settings
def watch(settings: Settings, directory: Path, once: bool, settle: float,
          author: str | None, as_json: bool) -> None:
    """Register model versions dropped into DIR (by localhub.json or DIR/MODEL/VERSION/)."""
    watcher = FolderWatcher(settings.registry().store, directory, settle=settle,
                            author=author or getpass.getuser())
    errors = 0

    def report(event: Report) -> None:
        nonlocal errors
        if event.kind == "error":
            errors += 1
        if as_json:
            emit_json_line(event)
        elif event.kind == "error":
            click.echo(f"error: {event.message}", err=True)
        elif event.kind == "skipped":
            click.echo(f"skipped: {event.message}", err=True)
        elif event.kind == "registered" and not settings.quiet:
            click.echo(event.message)
        elif event.kind == "waiting" and not settings.quiet and settings.debug:
            click.echo(f"waiting: {event.folder} (files still changing)", err=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        watcher.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if once:
            watcher.run_once(report)
        else:
            def ready() -> None:
                # Printed once the folder is watched: a copy started after it is seen.
                if not settings.quiet and not as_json:
                    click.echo(f"watching {directory.resolve()} (settle {settle:g}s); "
                               "Ctrl-C to stop", err=True)

            watcher.run(report, ready)
            if not settings.quiet and not as_json:
                click.echo("stopped", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if once and errors:
        sys.exit(1)
