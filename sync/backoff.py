"""The one retry policy: exponential backoff with jitter, ``Retry-After`` honoured, a budget.

Used by the engine's retry loops (identity check, each pushed operation, the pull) and by
``localhub sync --every`` between failed runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delay before retry ``attempt`` (1, 2, ...): ``base * 2**(attempt-1)`` capped at ``cap``,
    times a jitter of 50-100 %; a ``Retry-After`` wins when longer, up to ``retry_after_cap``.
    ``attempts`` is the budget: :meth:`exhausted` once that many tries failed."""

    base: float = 0.2
    cap: float = 10.0
    attempts: int = 5
    rng: random.Random = field(default_factory=random.Random)
    #: The longest ``Retry-After`` obeyed (a remote asking for an hour is not waited for).
    retry_after_cap: float | None = None

    def exhausted(self, attempt: int) -> bool:
        """Whether ``attempt`` failed tries use up the budget."""
        return attempt >= self.attempts

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt``."""
        start = min(self.base, self.cap)
        delay = min(self.cap, start * 2 ** max(0, attempt - 1))
        delay *= 0.5 + self.rng.random() / 2
        if retry_after is not None:
            limit = self.cap * 6 if self.retry_after_cap is None else self.retry_after_cap
            delay = max(delay, min(retry_after, limit))
        return float(delay)
