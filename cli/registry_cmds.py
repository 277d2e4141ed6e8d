"""Registry commands: register, models, versions, show, update, archive, restore, pending."""

from __future__ import annotations

import copy
import getpass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from localhub.errors import (
    DeleteInFlightError,
    DeleteNotAllowedError,
    DuplicateError,
    LocalHubError,
    NotFoundError,
    version_missing,
    version_taken,
)
from localhub.registration import Registration
from localhub.registry import ModelRegistry
from localhub.sync import entity_sync_state
from localhub.types import ModelVersion, RegisteredModel

from .complete import complete_model, complete_version
from .context import Settings, pass_settings
from .params import parse_meta
from .render import emit_json, emit_record, emit_table, local_time, to_data

ORDER_CHOICES = click.Choice(["id", "create-time", "update-time"], case_sensitive=False)
_ORDER = {"id": "ID", "create-time": "CREATE_TIME", "update-time": "LAST_UPDATE_TIME"}


def _listing_filter(filter_query: str | None, archived: bool) -> str | None:
    """Live entities unless --archived; combined with --filter."""
    state = "state = 'ARCHIVED'" if archived else "state = 'LIVE'"
    if filter_query:
        # the filter grammar (~10 ms) loads only for --filter, not on every command
        from localhub.filterquery import parse

        parse(filter_query)  # report errors against the user's own text
    return f"({filter_query}) AND {state}" if filter_query else state


@click.command()
@click.argument("name", shell_complete=complete_model)
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
    user = getpass.getuser()
    metadata = parse_meta(meta)
    registry = settings.registry()
    suggestion = uri_suggestion(uri)
    if suggestion and not settings.quiet:
        click.echo(f"warning: {uri!r} is not a URI; did you mean {suggestion}?", err=True)
    existing = _existing_registration(registry, name, version, uri)
    if existing is not None:
        model, mv, artifact = existing
        if as_json:
            emit_json({"model": model, "version": mv, "artifact": artifact})
        elif not settings.quiet:
            click.echo(f"model {name} version {version} is already registered at {uri}; "
                       "nothing changed")
        return
    model, mv, artifact = Registration(
        name, uri, version, model_format_name=model_format_name,
        model_format_version=model_format_version, author=author, owner=owner,
        version_description=description, metadata=metadata).by(user).write(registry.store)
    if as_json:
        emit_json({"model": model, "version": mv, "artifact": artifact})
    elif not settings.quiet:
        click.echo(f"registered model {model.name}, version {mv.name} -> {artifact.uri} "
                   "(queued for sync)")


def uri_suggestion(uri: str) -> str | None:
    """A ``file://`` URI for a value that is a local path rather than a URI, else None."""
    if not uri.strip():
        return None
    try:
        scheme = urlsplit(uri).scheme
    except ValueError:
        return None
    if len(scheme) > 1:
        return None  # a URI (a one-letter "scheme" is a Windows drive, C:, so a path)
    return Path(uri).expanduser().absolute().as_uri()


def _existing_registration(registry: Any, name: str, version: str,
                           uri: str) -> tuple[Any, Any, Any] | None:
    """The model, version and artifact when VERSION of NAME is already registered at URI
    (so that rerunning a register is a no-op); an error when it exists elsewhere."""
    model = registry.get_registered_model(name)
    found = None if model is None else registry.get_model_version(name, version)
    if found is None:
        return None
    artifact = registry.get_model_artifact(name, version)
    if artifact is not None and artifact.uri == uri:
        return model, found, artifact
    where = f" at {artifact.uri}" if artifact is not None else ""
    raise DuplicateError(version_taken(name, version, where), entity="model version",
                         key=f"{name}:{version}")


@click.command()
@click.option("--filter", "filter_query", help="filterQuery, e.g. \"owner = 'alice'\".")
@click.option("--archived", is_flag=True, help="List archived models instead of live ones.")
@click.option("--order", type=ORDER_CHOICES, default="id", show_default=True)
@click.option("--desc", is_flag=True, help="Descending order.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of models.")
@pass_settings
def models(settings: Settings, filter_query: str | None, archived: bool, order: str,
           desc: bool, as_json: bool) -> None:
    """List registered models, with their latest version's format and URI."""
    registry = settings.registry(create=False)
    items = list(registry.get_registered_models(
        filter_query=_listing_filter(filter_query, archived), order_by=_ORDER[order.lower()],
        descending=desc))
    if as_json:
        emit_json(items)
        return
    rows = []
    for m in items:
        row = to_data(m)
        row["updated"] = _short_time(m.last_update_time_since_epoch)
        latest = _latest_version(registry, m.name)
        if latest is not None:
            artifact = registry.get_model_artifact(m.name, latest.name)
            row["latest"] = latest.name
            row["format"] = getattr(artifact, "model_format_name", None)
            row["uri"] = getattr(artifact, "uri", None)
        rows.append(row)
    emit_table(rows, ["id", "name", "owner", "state", "updated", "latest", "format", "uri",
                      "description"], shrink=("uri", "description", "name", "owner"))


@click.command()
@click.argument("name", shell_complete=complete_model)
@click.option("--filter", "filter_query", help="filterQuery over the versions.")
@click.option("--archived", is_flag=True, help="List archived versions instead of live ones.")
@click.option("--order", type=ORDER_CHOICES, default="id", show_default=True)
@click.option("--desc", is_flag=True, help="Descending order.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of versions.")
@pass_settings
def versions(settings: Settings, name: str, filter_query: str | None, archived: bool,
             order: str, desc: bool, as_json: bool) -> None:
    """List the versions of model NAME, with their format and URI."""
    registry = settings.registry(create=False)
    registry.require_model(name)
    items = list(registry.get_model_versions(
        name, filter_query=_listing_filter(filter_query, archived),
        order_by=_ORDER[order.lower()], descending=desc))
    if as_json:
        emit_json(items)
        return
    rows = []
    for v in items:
        row = to_data(v)
        row["updated"] = _short_time(v.last_update_time_since_epoch)
        artifact = registry.get_model_artifact(name, v.name)
        row["format"] = getattr(artifact, "model_format_name", None)
        row["uri"] = getattr(artifact, "uri", None)
        rows.append(row)
    emit_table(rows, ["id", "name", "author", "state", "updated", "format", "uri",
                      "description"], shrink=("uri", "description", "name", "author"))


def _short_time(ms: Any) -> str:
    """Epoch milliseconds as a local ``YYYY-MM-DD HH:MM`` for table cells."""
    return local_time(ms)[:16]


def _latest_version(registry: Any, name: str) -> ModelVersion | None:
    """The most recently created live version of model ``name``."""
    versions = list(registry.get_model_versions(name, filter_query="state = 'LIVE'",
                                                order_by="CREATE_TIME", descending=True))
    return versions[0] if versions else None


@click.command()
@click.argument("name", shell_complete=complete_model)
@click.argument("version", required=False, shell_complete=complete_version)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def show(settings: Settings, name: str, version: str | None, as_json: bool) -> None:
    """Show model NAME, or one VERSION of it with its artifact, and their sync state."""
    registry = settings.registry(create=False)
    model = registry.require_model(name)
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
@click.argument("name", shell_complete=complete_model)
@click.argument("version", required=False, shell_complete=complete_version)
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
    registry = settings.registry(create=False)
    artifact_change = any(v is not None for v in (uri, model_format_name, model_format_version))
    if artifact_change and version is None:
        raise click.UsageError("--uri and --format change a version's artifact: give VERSION")
    # Read and write in one transaction, so that no concurrent edit is written back to its
    # old value, and a bad --uri leaves the version unchanged too.
    with registry.store.batch():
        target: RegisteredModel | ModelVersion = (
            registry.require_model(name) if version is None else _version(registry, name, version))
        before = copy.deepcopy(target)
        if description is not None:
            target.description = description
        if meta or unset_meta:
            props = dict(target.custom_properties or {})
            props.update(parse_meta(meta))
            for key in unset_meta:
                props.pop(key, None)
            target.custom_properties = props
        artifact, artifact_before = (None, None) if not artifact_change or version is None \
            else _edit_artifact(registry, name, version, uri, model_format_name,
                                model_format_version)
        if _same(target, before) and _same(artifact, artifact_before):
            _nothing_changed(settings, name, version, target, artifact, as_json)
            return
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


def _edit_artifact(registry: Any, name: str, version: str, uri: str | None,
                   model_format_name: str | None, model_format_version: str | None
                   ) -> tuple[Any, Any]:
    """The version's artifact with the new values set, and a copy of it before."""
    artifact = registry.get_model_artifact(name, version)
    if artifact is None:
        raise NotFoundError(f"version {version!r} of model {name!r} has no model artifact to "
                            f"change; see `localhub show {name} {version}`")
    before = copy.deepcopy(artifact)
    if uri is not None:
        artifact.uri = uri
    if model_format_name is not None:
        artifact.model_format_name = model_format_name
    if model_format_version is not None:
        artifact.model_format_version = model_format_version
    return artifact, before


def _same(after: Any, before: Any) -> bool:
    """Whether an edit left the entity as it was (no custom properties == empty ones)."""
    def plain(entity: Any) -> Any:
        data = to_data(entity)
        if isinstance(data, dict):
            data["custom_properties"] = data.get("custom_properties") or {}
        return data

    return bool(plain(after) == plain(before))


def _nothing_changed(settings: Settings, name: str, version: str | None, target: Any,
                     artifact: Any, as_json: bool) -> None:
    """Say that an update had nothing to change (and queued nothing)."""
    if as_json:
        emit_json({"model" if version is None else "version": target,
                   **({"artifact": artifact} if artifact is not None else {})})
    elif not settings.quiet:
        click.echo(f"nothing changed: {name}{' ' + version if version else ''} already has "
                   "these values (nothing queued)")


def _state_command(name: str, archive: bool) -> click.Command:
    verb = "archive" if archive else "restore"

    @click.command(name=name)
    @click.argument("model_name", metavar="NAME", shell_complete=complete_model)
    @click.argument("version", required=False, shell_complete=complete_version)
    @pass_settings
    def command(settings: Settings, model_name: str, version: str | None) -> None:
        registry = settings.registry(create=False)
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
    changes = settings.registry(create=False).pending()
    if as_json:
        emit_json(changes)
        return
    emit_table([to_data(c) for c in changes],
               ["seq", "op", "entity", "model", "version", "fields"])


@click.command()
@click.argument("name", shell_complete=complete_model)
@click.argument("version", required=False, shell_complete=complete_version)
@pass_settings
def delete(settings: Settings, name: str, version: str | None) -> None:
    """Delete model NAME (with its versions), or one VERSION of it, if never synced.

    Registrations that reached a remote cannot be deleted (the Model Registry has no delete):
    archive them instead.
    """
    registry = settings.registry(create=False)
    target = name if version is None else f"{name} {version}"
    n_versions = 0
    if version is None:
        registry.require_model(name)
        n_versions = len(list(registry.get_model_versions(name)))
    else:
        _version(registry, name, version)
    try:
        if version is None:
            registry.delete_model(name)
        else:
            registry.delete_model_version(name, version)
    except DeleteInFlightError:
        raise
    except DeleteNotAllowedError:
        raise LocalHubError(
            f"cannot delete {'model' if version is None else 'version'} {target}: it was "
            "synced to a remote, and the Model Registry has no delete; archive it instead "
            f"with `localhub archive {target}`") from None
    if not settings.quiet:
        what = (f"model {name} and its {n_versions} version(s)" if version is None
                else f"version {version} of model {name}")
        click.echo(f"deleted {what} (never synced; nothing to send)")


def _sync_summary(state: dict[str, Any]) -> dict[str, Any]:
    """The sync state of one entity as 'field: value' lines for people."""
    return {
        "origin": state["origin"],
        "pending": (f"{state['pending']} change(s): {', '.join(state['pending_fields'])}"
                    if state["pending"] else "none"),
        "remote ids": state["remote_ids"] or "not synced yet",
        "open conflicts": state["conflicts_open"] or None,
        "set aside": state["set_aside"],
        "remote link": (f"in doubt: {state['mismatch']}; nothing is written to it until "
                        "the conflict is resolved (`localhub conflicts`)"
                        if state.get("mismatch") else None),
    }


def _version(registry: ModelRegistry, name: str, version: str) -> ModelVersion:
    """The version, or an error that names the command listing the model's versions."""
    try:
        return registry.require_version(name, version)
    except NotFoundError as exc:
        raise NotFoundError(version_missing(name, version), entity=exc.entity,
                            key=exc.key) from None


COMMANDS = [register, models, versions, show, update, _state_command("archive", True),
            _state_command("restore", False), pending, delete]
