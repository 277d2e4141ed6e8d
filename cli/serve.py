"""``localhub serve`` (placeholder until the REST server lands)."""

from __future__ import annotations

import click


@click.command()
def serve() -> None:
    """Serve the Model Registry REST API from the local store."""
    raise click.ClickException("not available yet")
