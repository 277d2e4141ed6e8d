"""``localhub doctor``: check the database, the config and the remotes."""

from __future__ import annotations

import sys

import click

from localhub.doctor import run_checks
from localhub.paths import default_db_path

from .context import Settings, pass_settings
from .render import emit_json

_COLOURS = {"OK": "green", "WARN": "yellow", "FAIL": "red"}


@click.command()
@click.option("--offline", is_flag=True, help="Do not contact the remotes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of checks.")
@pass_settings
def doctor(settings: Settings, offline: bool, as_json: bool) -> None:
    """Check the database, the config file and each remote; say what to fix."""
    checks = run_checks(settings.db or default_db_path(), network=not offline)
    if as_json:
        emit_json(checks)
    else:
        for check in checks:
            if settings.quiet and check.status == "OK":
                continue
            status = click.style(f"{check.status:<4}", fg=_COLOURS[check.status])
            fix = f" -> {check.fix}" if check.fix and check.status != "OK" else ""
            click.echo(f"{status} {check.name}: {check.message}{fix}")
    if any(check.status == "FAIL" for check in checks):
        sys.exit(1)
