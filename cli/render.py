"""All printing of the CLI: tables for people, stable JSON for programs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields, is_dataclass
from enum import Enum
from typing import Any

import click

__all__ = ["to_data", "emit_json", "emit_json_line", "emit_table", "emit_record"]


def to_data(obj: Any) -> Any:
    """A domain object (or list of them) as plain JSON-ready data with snake_case keys."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {str(k): to_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    return obj


def emit_json(data: Any) -> None:
    """Print JSON (sorted keys, two-space indent)."""
    click.echo(json.dumps(to_data(data), indent=2, sort_keys=True, ensure_ascii=False))


def emit_json_line(data: Any) -> None:
    """Print one compact JSON object on one line (for streams of events)."""
    click.echo(json.dumps(to_data(data), sort_keys=True, ensure_ascii=False))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def emit_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Print rows as an aligned text table with a header line."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    header = "  ".join(col.upper().ljust(w) for col, w in zip(columns, widths))
    click.echo(header.rstrip())
    for r in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def emit_record(title: str, obj: Any) -> None:
    """Print one entity as 'field: value' lines under a title."""
    click.secho(title, bold=True)
    data = asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else dict(obj)
    for key, value in data.items():
        if value in (None, {}, []):
            continue
        click.echo(f"  {key}: {_cell(value)}")
