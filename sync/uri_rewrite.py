"""URI rewrite rules (push only).

``uri_map`` is an ordered list of ``(from_prefix, to_prefix)``; the first rule whose prefix
starts an artifact's ``uri`` rewrites it. The remote receives the rewritten URI, the local
artifact keeps its own; links store the remote's (rewritten) value, and comparisons use the
rewritten local value, so the next sync sees no false change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from localhub.errors import InvalidInputError

__all__ = ["UriRewriter"]


class UriRewriter:
    """Ordered prefix rules ``[(from, to), ...]``: the first matching rule wins."""

    def __init__(self, rules: Sequence[tuple[str, str]] | None) -> None:
        self.rules: list[tuple[str, str]] = []
        for rule in rules or ():
            if (not isinstance(rule, (tuple, list)) or len(rule) != 2
                    or not all(isinstance(x, str) and x for x in rule)):
                raise InvalidInputError("uri_map", "each rule is a pair of non-empty strings "
                                                   f"(from_prefix, to_prefix), got {rule!r}")
            self.rules.append((rule[0], rule[1]))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def rewrite(self, uri: str | None) -> dict[str, Any] | None:
        """``{"from", "to", "rule"}`` when a rule applies to ``uri``, else None."""
        if not uri:
            return None
        for src, dst in self.rules:
            if uri.startswith(src):
                return {"from": uri, "to": dst + uri[len(src):], "rule": [src, dst]}
        return None

    def apply(self, uri: str | None) -> str | None:
        found = self.rewrite(uri)
        return uri if found is None else str(found["to"])
