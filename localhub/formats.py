"""Guessing a model format from the files of a model folder."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FORMATS", "guess_format"]

#: Formats in order of precedence: the first one found in a folder wins.
FORMATS = ("tensorflow", "onnx", "gguf", "safetensors", "keras", "pytorch", "xgboost",
           "lightgbm", "sklearn")

_SUFFIXES: dict[str, str] = {
    ".onnx": "onnx",
    ".gguf": "gguf",
    ".safetensors": "safetensors",
    ".keras": "keras",
    ".h5": "keras",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".ubj": "xgboost",
    ".xgb": "xgboost",
    ".lgb": "lightgbm",
    ".joblib": "sklearn",
    ".pkl": "sklearn",
    ".pickle": "sklearn",
}


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    if name == "saved_model.pb":
        return "tensorflow"
    suffix = path.suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if suffix == ".bin" and name.startswith("pytorch_model"):
        return "pytorch"
    if suffix == ".json" and b'"learner"' in _head(path):
        return "xgboost"
    if name == "model.txt" and _head(path, 64).lstrip().startswith(b"tree"):
        return "lightgbm"
    return None


def guess_format(folder: Path, *, ignore: frozenset[str] = frozenset()) -> str | None:
    """The model format of the files under ``folder`` (None when nothing is recognised)."""
    found: set[str] = set()
    for path in folder.rglob("*"):
        if path.name in ignore or path.name.startswith(".") or not path.is_file():
            continue
        fmt = _format_of(path)
        if fmt is not None:
            found.add(fmt)
    for fmt in FORMATS:
        if fmt in found:
            return fmt
    return None
