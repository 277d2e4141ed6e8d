"""Short runs of the reliability soaks in ``tests/soak`` (the long runs are by hand).

Every test runs against our own ``serve`` and its Go-server emulation (``tests/support/
flavours.py``) unless marked ``own_server``."""

from tests.support.flavours import pytest_generate_tests as pytest_generate_tests
from tests.support.flavours import server_flavour as server_flavour
