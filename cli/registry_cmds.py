"""Registry commands: register, models, versions, show, update, archive, restore, pending."""

from __future__ import annotations

from typing import Any

import click

from localhub._entities import spec_for, validated_values
from localhub.errors import NotFoundError
from localhub.types import ModelVersion, RegisteredModel

from .main import Settings, pass_settings
from .params import parse_meta
from .render import emit_json, emit_record, emit_table, to_data

ORDER_CHOICES = click.Choice(["id", "create-time", "update-time"], case_sensitive=False)
_ORDER = {"id": "ID", "create-time": "CREATE_TIME", "update-time": "LAST_UPDATE_TIME"}


def _listing_filter(filter_query: str | None, archived: bool) -> str | None:
    """Live entities unless --archived; combined with --filter."""
    state = "state = 'ARCHIVED'" if archived else "state = 'LIVE'"
    if filter_query:
        from localhub.filterquery import parse

        parse(filter_query)  # report errors against the user's own text
    return f"({filter_query}) AND {state}" if filter_query else state


@click.command()
@click.argument("name")
@click.argument("uri")
@click.option("--version", "version", required=True, help="Version name, unique in the model.")
@click.option("--format", "model_format_name", help="Model format (pytorch, onnx, ...).")
@click.option("--format-version", "model_format_version", help="Version of the model format.")
@click.option("--author", help="Author of the version (default: $USER).")
@click.option("--owner", help="Owner of a new model (default: $USER).")
@click.option("--description", help="Description of the version.")
@click.option("--meta", multiple=True, metavar="KEY=VALUE",
              help="Version metadata; 10 is an int, 0.1 a float, true a bool, quote for a string.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_settings
def register(settings: Settings, name: str, uri: str, version: str,
             model_format_name: str | None, model_format_version: str | None,
             author: str | None, owner: str | None, description: str | None,
             meta: tuple[str, ...], as_json: bool) -> None:
    """Register version VERSION of model NAME stored at URI (offline; queued for sync)."""
    import getpass

    user = getpass.getuser()
    registry = settings.registry()
    model, mv, artifact = registry.store.register_model(
        name, uri, version=version, model_format_name=model_format_name,
        model_format_version=model_format_version, author=author or user,
        owner=owner or user, version_description=description, metadata=parse_meta(meta))
    if as_json:
        emit_json({"model": model, "version": mv, "artifact": artifact})
    elif not settings.quiet:
        click.echo(f"registered {model.name} {mv.name} -> {artifact.uri} "
                   f"(model {model.id}, version {mv.id}; queued for sync)")


@click.command()
@click.option("--filter", "filter_query", help="filterQuery, e.g. \"owner = 'alice'\".")
@click.option("--archived", is_flag=True, help="List archived models instead of live ones.")
@click.option("--order", type=ORDER_CHOICES, default="id", show_default=True)
@click.option("--desc", is_flag=True, help="Descending order.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of models.")
@pass_settings
def models(settings: Settings, filter_query: str | None, archived: bool, order: str,
           desc: bool, as_json: bool) -> None:
    """List registered models."""
    registry = settings.registry()
    items = list(registry.get_registered_models(
        filter_query=_listing_filter(filter_query, archived), order_by=_ORDER[order.lower()],
        descending=desc))
    if as_json:
        emit_json(items)
        return
    emit_table([to_data(m) for m in items], ["id", "name", "owner", "state", "description"])


@click.command()
@click.argument("name")
@click.option("--filter", "filter_query", help="filterQuery over the versions.")
@click.option("--archived", is_flag=True, help="List archived versions instead of live ones.")
@click.option("--order", type=ORDER_CHOICES, default="id", show_default=True)
@click.option("--desc", is_flag=True, help="Descending order.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of versions.")
@pass_settings
def versions(settings: Settings, name: str, filter_query: str | None, archived: bool,
             order: str, desc: bool, as_json: bool) -> None:
    """List the versions of model NAME."""
    registry = settings.registry()
    items = list(registry.get_model_versions(
        name, filter_query=_listing_filter(filter_query, archived),
        order_by=_ORDER[order.lower()], descending=desc))
    if as_json:
        emit_json(items)
        return
    emit_table([to_data(v) for v in items], ["id", "name", "author", "state", "description"])


@click.command()
@click.argument("name")
@click.argument("version", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def show(settings: Settings, name: str, version: str | None, as_json: bool) -> None:
    """Show model NAME, or one VERSION of it with its artifact, and their sync state."""
    from localhub.sync import entity_sync_state

    registry = settings.registry()
    model = _model(registry, name)
    data: dict[str, Any] = {"model": model}
    if version is not None:
        data["version"] = _version(registry, name, version)
        data["artifact"] = registry.get_model_artifact(name, version)
    data["sync"] = {key: entity_sync_state(registry.store, entity)
                    for key, entity in data.items() if entity is not None}
    if as_json:
        emit_json(data)
        return
    for key in ("model", "version", "artifact"):
        entity = data.get(key)
        if entity is None:
            continue
        emit_record(f"{key} {getattr(entity, 'name', '')}", entity)
        emit_record(f"sync state of the {key}", _sync_summary(data["sync"][key]))


@click.command()
@click.argument("name")
@click.argument("version", required=False)
@click.option("--description", help="New description.")
@click.option("--meta", multiple=True, metavar="KEY=VALUE", help="Set a custom property.")
@click.option("--unset-meta", multiple=True, metavar="KEY", help="Remove a custom property.")
@click.option("--uri", help="New artifact URI (needs VERSION).")
@click.option("--format", "model_format_name", help="New model format (needs VERSION).")
@click.option("--format-version", "model_format_version", help="New format version.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_settings
def update(settings: Settings, name: str, version: str | None, description: str | None,
           meta: tuple[str, ...], unset_meta: tuple[str, ...], uri: str | None,
           model_format_name: str | None, model_format_version: str | None,
           as_json: bool) -> None:
    """Update model NAME, or its VERSION (and that version's artifact)."""
    registry = settings.registry()
    artifact_change = any(v is not None for v in (uri, model_format_name, model_format_version))
    if artifact_change and version is None:
        raise click.UsageError("--uri and --format change a version's artifact: give VERSION")
    # Read and write in one transaction, so that no concurrent edit is written back to its
    # old value, and a bad --uri leaves the version unchanged too.
    with registry.store.batch():
        target: RegisteredModel | ModelVersion = (
            _model(registry, name) if version is None else _version(registry, name, version))
        if description is not None:
            target.description = description
        if meta or unset_meta:
            props = dict(target.custom_properties or {})
            props.update(parse_meta(meta))
            for key in unset_meta:
                props.pop(key, None)
            target.custom_properties = props
        artifact = None
        if artifact_change and version is not None:
            artifact = registry.get_model_artifact(name, version)
            if artifact is None:
                raise NotFoundError(f"version {version!r} of {name!r} has no model artifact")
            if uri is not None:
                artifact.uri = uri
            if model_format_name is not None:
                artifact.model_format_name = model_format_name
            if model_format_version is not None:
                artifact.model_format_version = model_format_version
        # Check both before writing either: a bad --uri must not leave the version changed.
        for entity in (target, artifact):
            if entity is not None:
                validated_values(spec_for(entity), entity)
        # The store's update writes every field (the facade's keeps None fields, as the
        # official client does), so --unset-meta can remove the last key.
        result: dict[str, Any] = {"model" if version is None else "version":
                                  registry.store.update(target)}
        if artifact is not None:
            result["artifact"] = registry.store.update(artifact)
    if as_json:
        emit_json(result)
    elif not settings.quiet:
        click.echo(f"updated {name}{' ' + version if version else ''} (queued for sync)")


def _state_command(name: str, archive: bool) -> click.Command:
    verb = "archive" if archive else "restore"

    @click.command(name=name)
    @click.argument("model_name", metavar="NAME")
    @click.argument("version", required=False)
    @pass_settings
    def command(settings: Settings, model_name: str, version: str | None) -> None:
        registry = settings.registry()
        if version is None:
            (registry.archive_model if archive else registry.restore_model)(model_name)
        else:
            (registry.archive_model_version if archive else registry.restore_model_version)(
                model_name, version)
        if not settings.quiet:
            click.echo(f"{verb}d {model_name}{' ' + version if version else ''}")

    command.help = (f"{verb.capitalize()} model NAME or one VERSION of it "
                    f"(state {'ARCHIVED' if archive else 'LIVE'}; the registry has no delete).")
    return command


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of changes.")
@pass_settings
def pending(settings: Settings, as_json: bool) -> None:
    """List local changes waiting to be synced."""
    changes = settings.registry().pending()
    if as_json:
        emit_json(changes)
        return
    emit_table([to_data(c) for c in changes],
               ["seq", "op", "entity", "model", "version", "fields"])


def _sync_summary(state: dict[str, Any]) -> dict[str, Any]:
    """The sync state of one entity as 'field: value' lines for people."""
    return {
        "origin": state["origin"],
        "pending": (f"{state['pending']} change(s): {', '.join(state['pending_fields'])}"
                    if state["pending"] else "none"),
        "remote ids": state["remote_ids"] or "not synced yet",
        "open conflicts": state["conflicts_open"] or None,
        "set aside": state["set_aside"],
    }


def _model(registry: Any, name: str) -> RegisteredModel:
    model: RegisteredModel | None = registry.get_registered_model(name)
    if model is None:
        raise NotFoundError(f"no model named {name!r}; see `localhub models`",
                            entity="registered model", key=name)
    return model


def _version(registry: Any, name: str, version: str) -> ModelVersion:
    _model(registry, name)
    found: ModelVersion | None = registry.get_model_version(name, version)
    if found is None:
        raise NotFoundError(f"model {name!r} has no version {version!r}; see "
                            f"`localhub versions {name}`", entity="model version",
                            key=f"{name}:{version}")
    return found



COMMANDS = [register, models, versions, show, update, _state_command("archive", True),
            _state_command("restore", False), pending]
