"""Long reliability soaks, run by hand: python -m tests.soak.soak_NAME."""
