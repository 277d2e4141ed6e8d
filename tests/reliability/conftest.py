"""Short runs of the reliability soaks in ``tests/soak`` (the long runs are by hand)."""
