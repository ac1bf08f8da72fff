"""Progress bars and messages for people, on stderr only (stdout carries data)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

_console: Console | None = None


def console() -> Console:
    global _console
    if _console is None or _console.file is not sys.stderr:
        _console = Console(stderr=True, highlight=False)
    return _console


def note(message: str, quiet: bool = False) -> None:
    """A one-line message for the user (suppressed by --quiet)."""
    if not quiet:
        print(f"aefeat: {message}", file=sys.stderr, flush=True)


def _interactive(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@contextmanager
def training_progress(quiet: bool) -> Iterator[Callable[[int, int, dict[str, float]], None] | None]:
    """A per-epoch callback drawing epoch, loss, val_loss and time left, on a terminal only."""
    if not _interactive(quiet):
        yield None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("epoch {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("loss {task.fields[loss]}  val_loss {task.fields[val_loss]}"),
        TimeElapsedColumn(),
        TextColumn("left (at most)"),
        TimeRemainingColumn(),
        console=console(),
        transient=True,
    ) as bar:
        task = bar.add_task("train", total=None, loss="-", val_loss="-")

        def on_epoch(epoch: int, total: int, logs: dict[str, Any]) -> None:
            bar.update(
                task,
                completed=epoch,
                total=total,
                loss=f"{logs.get('loss', float('nan')):.5f}",
                val_loss=f"{logs.get('val_loss', float('nan')):.5f}",
            )

        yield on_epoch


@contextmanager
def rows_progress(quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A rows-done and rows/s counter for long encodes, on a terminal only."""
    if not _interactive(quiet):
        yield None
        return
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("encoded {task.completed:,} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console(),
        transient=True,
    ) as bar:
        task = bar.add_task("encode", total=None, rate="")

        def on_rows(n: int) -> None:
            bar.advance(task, n)
            speed = bar.tasks[0].speed
            if speed:
                bar.update(task, rate=f"{speed:,.0f} rows/s")

        yield on_rows
