"""What pushing one op did: the outcomes :mod:`.push` and its create and update paths return."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["ADOPTED", "BLOCKED", "CONFLICT", "CREATED", "NOOP", "NOT_RUN", "SET_ASIDE",
           "UPDATED", "Outcome", "Rejected"]


class Outcome(Enum):
    """What pushing one op did."""

    CREATED = "created"
    ADOPTED = "adopted"
    UPDATED = "updated"
    NOOP = "noop"
    CONFLICT = "conflict"
    BLOCKED = "blocked"
    SET_ASIDE = "set_aside"
    #: An op a stopped wave did not start (run_wave).
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class Rejected:
    """The remote rejected an op (400/422, or another error not worth a retry): set aside."""

    message: str


CREATED, ADOPTED, UPDATED, NOOP, CONFLICT, BLOCKED, SET_ASIDE, NOT_RUN = (
    Outcome.CREATED, Outcome.ADOPTED, Outcome.UPDATED, Outcome.NOOP, Outcome.CONFLICT,
    Outcome.BLOCKED, Outcome.SET_ASIDE, Outcome.NOT_RUN)
