"""``python -m aefeat``."""

from aefeat.cli.app import main

main()
