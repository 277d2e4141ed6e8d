"""``localhub kserve NAME VERSION``: a KServe InferenceService manifest on stdout."""

from __future__ import annotations

import click

from localhub.kserve import inference_service, to_yaml

from .context import Settings, pass_settings
from .render import emit_json


@click.command()
@click.argument("name")
@click.argument("version")
@click.option("--namespace", "-n", metavar="NS", help="metadata.namespace of the service.")
@click.option("--runtime", metavar="R",
              help="ServingRuntime to use (spec.predictor.model.runtime).")
@click.option("--name", "service", metavar="SERVICE",
              help="metadata.name (default: NAME-VERSION made DNS-safe).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
@pass_settings
def kserve(settings: Settings, name: str, version: str, namespace: str | None,
           runtime: str | None, service: str | None, as_json: bool) -> None:
    """Print a KServe InferenceService for VERSION of model NAME (for `kubectl apply -f -`)."""
    manifest = inference_service(settings.registry().store, name, version,
                                 namespace=namespace, runtime=runtime, service=service)
    uri = manifest["spec"]["predictor"]["model"].get("storageUri", "")
    if uri.startswith("file:") and not settings.quiet:
        click.echo(f"warning: storageUri {uri} is a local path that the cluster cannot read; "
                   "upload the model and `localhub update NAME VERSION --uri URI`", err=True)
    if as_json:
        emit_json(manifest)
    else:
        click.echo(to_yaml(manifest), nl=False)
