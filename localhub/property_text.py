"""Custom property values typed as text, as the CLI's ``--meta`` and the web page's edit box
take them: ``10`` is an int, ``0.1`` a float, ``true`` a bool, a quoted value a string."""

from __future__ import annotations

from .types import SupportedTypes

__all__ = ["parse_property_value"]


def parse_property_value(text: str) -> SupportedTypes:
    """``10`` -> int, ``0.1`` -> float, ``true``/``false`` -> bool, quoted -> str, else str."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if text.strip().lower() not in ("nan", "inf", "-inf", "infinity") else text
