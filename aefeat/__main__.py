"""``python -m aefeat``."""

from aefeat.cli import main

main()
