"""Parsing of command-line values: typed metadata, filters."""

from __future__ import annotations

import os

import click

from localhub.property_text import parse_property_value as parse_meta_value
from localhub.types import SupportedTypes

__all__ = ["FilePath", "parse_meta", "parse_meta_value"]


class FilePath(click.Path):
    """``click.Path`` that refuses a NUL character (os calls raise ValueError on it, which
    click.Path lets through as a crash). Only callers in-process can pass one: argv cannot."""

    def convert(self, value: str | os.PathLike[str], param: click.Parameter | None,
                ctx: click.Context | None) -> str | bytes | os.PathLike[str]:
        if "\x00" in os.fspath(value):
            self.fail(f"{os.fspath(value)!r} contains a NUL character", param, ctx)
        return super().convert(value, param, ctx)


def parse_meta(pairs: tuple[str, ...]) -> dict[str, SupportedTypes]:
    """``key=value`` pairs as typed metadata; a pair without '=' is a usage error."""
    out: dict[str, SupportedTypes] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--meta")
        out[key] = parse_meta_value(value)
    return out
