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
    if quiet:
        return
    from aefeat.errors import visible

    try:
        print(visible(f"aefeat: {message}"), file=sys.stderr, flush=True)
    except OSError:
        pass  # chatter is best-effort: a stderr that cannot take it (2>/dev/full) fails no job


def _interactive(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def training_status(step: int, total: int, logs: dict[str, Any]) -> dict[str, str]:
    """The fields of the training progress line: losses, the budget and the time left.

    ``total`` is the current planned end of training in steps (it moves earlier when the
    stopping rule or the time budget starts the final anneal); with ``max_time_s`` in ``logs``
    the time left is the smaller of the plan's and the budget's."""
    elapsed = float(logs.get("elapsed_s", 0.0))
    budget = logs.get("max_time_s")
    left = elapsed / step * (total - step) if step > 0 and total >= step else float("nan")
    if budget is not None:
        left = min(left, max(0.0, float(budget) - elapsed)) if left == left else budget - elapsed
    return {
        "loss": f"{logs.get('loss', float('nan')):.5f}",
        "val_loss": f"{logs.get('val_loss', float('nan')):.5f}",
        "budget": f"fitting budget {_clock(float(budget))}" if budget is not None else "",
        "eta": f"about {_clock(left)} left" if left == left else "",
    }


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


@contextmanager
def training_progress(quiet: bool) -> Iterator[Callable[[int, int, dict[str, float]], None] | None]:
    """A callback after each validation check drawing steps done of the plan, losses, the time
    budget (``--max-time``) and the time left, on a terminal only."""
    if not _interactive(quiet):
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.fields[steps]}"),
        BarColumn(),
        TextColumn("loss {task.fields[loss]}  val_loss {task.fields[val_loss]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[budget]}  {task.fields[eta]}"),
        console=console(),
        transient=True,
    ) as bar:
        # Until the first check: the PCA start and TensorFlow compiling the step (seconds).
        task = bar.add_task(
            "train", total=None, steps="preparing", loss="-", val_loss="-", budget="", eta=""
        )

        def on_epoch(step: int, total: int, logs: dict[str, Any]) -> None:
            fields = training_status(step, total, logs)
            bar.update(task, completed=step, total=total, steps=f"step {step}/{total}", **fields)

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
