"""The one exception type users see, the exit codes it maps to, and the SIGTERM exception."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USER = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process killed by it


class Terminated(BaseException):
    """Raised in the main thread when aefeat receives SIGTERM, so that every ``finally`` block
    runs (temporary outputs are removed) as it does for Ctrl-C. A ``BaseException``, like
    ``KeyboardInterrupt``, so that no ``except Exception`` swallows it."""


class AefeatError(ValueError):
    """A failure the user caused and can fix: bad options, bad data, bad model directory.

    The message reads ``<what> (<where>) — <what to do>``; ``where`` names the file,
    column, line or option, and ``hint`` says how to fix it. It is a ``ValueError`` so that
    Python callers (and scikit-learn's checks) can treat it as the usual bad-input error.
    """

    exit_code = EXIT_USER

    def __init__(self, what: str, where: str | None = None, hint: str | None = None) -> None:
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = self.what
        if self.where:
            text += f" ({self.where})"
        if self.hint:
            text += f" — {self.hint}"
        # One line, always: values from data may contain newlines.
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.message
