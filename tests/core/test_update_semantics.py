"""update() keeps fields set to None, as the official client (which never sends None) does."""

from __future__ import annotations

from localhub import ModelRegistryClient


def test_none_fields_and_empty_map_keep_stored_values(client: ModelRegistryClient) -> None:
    """A None description and an empty custom_properties map leave the stored values alone."""
    client.register_model("m", "s3://b/m", version="1", metadata={"a": 1})
    version = client.get_model_version("m", "1")
    version.description = "kept"
    client.update_model_version(version)
    version = client.get_model_version("m", "1")
    version.description = None
    version.custom_properties = {}
    updated = client.update_model_version(version)
    assert updated.description == "kept"
    assert updated.custom_properties == {"a": 1}


def test_non_empty_map_replaces_the_whole_map(client: ModelRegistryClient) -> None:
    """A non-empty custom_properties map replaces the stored map, keys absent are removed."""
    client.register_model("m", "s3://b/m", version="1", metadata={"a": 1, "b": "x"})
    version = client.get_model_version("m", "1")
    version.custom_properties = {"c": True}
    assert client.update_model_version(version).custom_properties == {"c": True}


def test_failed_registration_records_no_default_remote(client: ModelRegistryClient) -> None:
    """A registration rejected by validation writes nothing at all, not even the remote."""
    try:
        client.register_model("", "s3://b/m", version="1")
    except ValueError:
        pass
    assert client.store.get_meta("default_remote") is None
    client.register_model("m", "s3://b/m", version="1")
    assert client.store.get_meta("default_remote") == "https://registry.example.com"
