"""Short runs of the reliability soaks in ``tests/soak`` (the long runs are by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[1] / "soak"
if str(SOAK) not in sys.path:
    sys.path.insert(0, str(SOAK))
