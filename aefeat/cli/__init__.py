"""The command line: the only layer that imports Typer and Rich, prints, and exits.

It parses options, calls the library, and turns AefeatError into one line and an exit code.
"""
