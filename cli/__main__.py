"""``python -m localhub.cli``."""

from .main import main

main()
