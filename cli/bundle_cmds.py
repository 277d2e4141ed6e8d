"""``localhub export`` and ``localhub import``: checksummed bundles for air-gapped machines."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from localhub.bundle import export_bundle, import_bundle
from localhub.errors import BundleError

from .context import Settings, pass_settings
from .params import FilePath
from .render import emit_json, emit_table, to_data

#: Exit code of ``import`` when some entities differ from the local ones.
EXIT_CONFLICTS = 3


@click.command(name="export")
@click.argument("file", type=FilePath(dir_okay=False, writable=True, path_type=Path))
@click.option("--pending", is_flag=True,
              help="Only what has changes waiting to be synced (with the models around them).")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="Only this model, with all its versions (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the bundle's header as JSON.")
@pass_settings
def export(settings: Settings, file: Path, pending: bool, models: tuple[str, ...],
           as_json: bool) -> None:
    """Write models, versions and artifacts to bundle FILE (default: everything)."""
    if pending and models:
        raise click.UsageError("give --pending or --model, not both")
    if not file.name:
        # Path("") is "."; without this check the empty name fails deep in export_bundle.
        raise click.BadParameter("the path is empty: give the bundle file to write",
                                 param_hint="FILE")
    header = export_bundle(settings.registry().store, file, pending=pending, models=models)
    if as_json:
        emit_json(header)
    elif not settings.quiet:
        click.echo(f"exported {header['models']} model(s), {header['versions']} version(s) to "
                   f"{file} (sha256 {header['payload_sha256'][:12]})")


@click.command(name="import")
@click.argument("file", type=FilePath(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: created, adopted and conflicts.")
@pass_settings
def import_(settings: Settings, file: Path, as_json: bool) -> None:
    """Import bundle FILE: new entities are created (and queued for sync), equal ones kept."""
    try:
        result = import_bundle(settings.registry().store, file)
    except RecursionError:
        # json.loads recurses once per nesting level; the bundle is read before any write.
        raise BundleError(f"{file} is not a localhub bundle: its JSON is nested too deeply; "
                          "nothing was imported", path=str(file)) from None
    if as_json:
        emit_json(result)
    else:
        if not settings.quiet:
            click.echo(f"imported {file}: {len(result.created)} created, "
                       f"{len(result.adopted)} already present, "
                       f"{len(result.conflicts)} conflict(s)")
        if result.conflicts:
            click.echo("conflicts (left unchanged here):", err=True)
            emit_table([to_data(c) for c in result.conflicts], ["entity", "key", "fields"])
    if result.conflicts:
        sys.exit(EXIT_CONFLICTS)
