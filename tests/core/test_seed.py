"""The seed documentation's examples run against localhub with only the import changed."""

from __future__ import annotations

from pathlib import Path

import pytest

import localhub

# Verbatim from the seed document (reference/seed-model-registry.txt), official import included.
QUICK_EXAMPLE = '''
from kubeflow.hub import ModelRegistryClient

# Connect to the registry
client = ModelRegistryClient(
    base_url="https://registry.example.com",
    author="your-name",
)

# Register a model
model = client.register_model(
    name="my-classifier",
    uri="s3://bucket/models/classifier",
    version="1.0.0",
    model_format_name="pytorch",
)

# List all models
for model in client.list_models():
    print(f"{model.name}: {model.description}")

# Get a specific version
version = client.get_model_version("my-classifier", "1.0.0")
artifact = client.get_model_artifact("my-classifier", "1.0.0")
print(f"Model URI: {artifact.uri}")
'''

REGISTER_PYTORCH = '''
model = client.register_model(
    name="text-classifier",
    uri="s3://models/text-classifier-v1",
    version="1.0.0",
    model_format_name="pytorch",
    model_format_version="2.0",
)
'''

LIST_VERSIONS = '''
for version in client.list_model_versions("my-model"):
    print(f"Version: {version.name}, State: {version.state}")
'''

UPDATE_METADATA = '''
model = client.get_model("my-model")
model.description = "Updated description"
client.update_model(model)
'''

ARTIFACT_URI = '''
artifact = client.get_model_artifact("my-model", "1.0.0")
print(f"Deploy from: {artifact.uri}")
'''


def localize(code: str) -> str:
    """The one change a user makes: the import line."""
    changed = code.replace("from kubeflow.hub import ModelRegistryClient",
                           "from localhub import ModelRegistryClient")
    assert changed != code
    return changed


def run(code: str, namespace: dict[str, object]) -> dict[str, object]:
    """Execute a snippet in ``namespace`` (shared between snippets, like a notebook)."""
    exec(compile(code, "<seed>", "exec"), namespace)  # noqa: S102 - the snippets are ours
    return namespace


def test_quick_example_runs_and_uses_default_path(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The quick example runs unchanged and creates $LOCALHUB_HOME/registry.db."""
    ns = run(localize(QUICK_EXAMPLE), {})
    out = capsys.readouterr().out
    assert out == "my-classifier: None\nModel URI: s3://bucket/models/classifier\n"
    client = ns["client"]
    assert isinstance(client, localhub.ModelRegistryClient)
    assert (isolated_home / "registry.db").is_file()
    assert Path(client.store.path) == isolated_home / "registry.db"
    version = ns["version"]
    assert isinstance(version, localhub.ModelVersion)
    assert (version.name, version.author) == ("1.0.0", "your-name")
    artifact = ns["artifact"]
    assert isinstance(artifact, localhub.ModelArtifact)
    assert artifact.model_format_name == "pytorch"
    client.store.close()


def test_localhub_db_overrides_default_path(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """LOCALHUB_DB wins over LOCALHUB_HOME for the default database."""
    target = tmp_path / "elsewhere" / "mine.db"
    monkeypatch.setenv("LOCALHUB_DB", str(target))
    ns = run(localize(QUICK_EXAMPLE), {})
    capsys.readouterr()
    assert target.is_file()
    assert not (isolated_home / "registry.db").exists()
    ns["client"].store.close()  # type: ignore[attr-defined]


def test_constructor_creates_no_file(isolated_home: Path) -> None:
    """Constructing a client touches nothing on disk; the first call opens the file."""
    client = localhub.ModelRegistryClient("https://registry.example.com", author="a")
    assert not (isolated_home / "registry.db").exists()
    assert list(client.list_models()) == []
    assert (isolated_home / "registry.db").is_file()
    client.store.close()


def test_common_patterns(capsys: pytest.CaptureFixture[str]) -> None:
    """Every 'Common Patterns' snippet of the seed runs against one localhub client."""
    ns = run(localize(QUICK_EXAMPLE), {})
    client = ns["client"]
    assert isinstance(client, localhub.ModelRegistryClient)
    # The patterns refer to an existing "my-model" with version 1.0.0.
    client.register_model("my-model", "s3://models/my-model", version="1.0.0",
                          model_format_name="onnx")
    capsys.readouterr()

    run(REGISTER_PYTORCH, ns)
    model = ns["model"]
    assert isinstance(model, localhub.RegisteredModel)
    assert model.name == "text-classifier"
    artifact = client.get_model_artifact("text-classifier", "1.0.0")
    assert (artifact.uri, artifact.model_format_name, artifact.model_format_version) == (
        "s3://models/text-classifier-v1", "pytorch", "2.0")

    run(LIST_VERSIONS, ns)
    assert capsys.readouterr().out == "Version: 1.0.0, State: ModelVersionState.LIVE\n"

    run(UPDATE_METADATA, ns)
    assert client.get_model("my-model").description == "Updated description"

    run(ARTIFACT_URI, ns)
    assert capsys.readouterr().out == "Deploy from: s3://models/my-model\n"
    assert [m.name for m in client.list_models()] == ["my-classifier", "my-model",
                                                      "text-classifier"]
    client.store.close()
