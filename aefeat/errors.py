"""The one exception type users see, the exit codes it maps to, and the SIGTERM exception."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USER = 2
EXIT_INTERRUPTED = 130


class Terminated(BaseException):
    """Raised in the main thread when aefeat receives SIGTERM (or SIGHUP, SIGXCPU), so that
    every ``finally`` block runs (temporary outputs are removed) as it does for Ctrl-C. A
    ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int = 15) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        import signal

        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


_UNSET: Any = object()


class AefeatError(ValueError):
    """A failure the user caused and can fix: bad options, bad data, bad model directory.

    The message reads ``<what> (<where>) — <what to do>``; ``where`` names the file,
    column, line or option, and ``hint`` says how to fix it. It is a ``ValueError`` so that
    Python callers (and scikit-learn's checks) can treat it as the usual bad-input error.

    A check that serves the command line and the Python API alike words itself for both:
    ``python_what``, ``python_where`` and ``python_hint`` are ``what``, ``where`` and ``hint``
    as Python callers read them (``keep``, ``impute='mean'``) when those name flags.

    A bad parameter carries structured fields instead of prose that names it: ``param`` (its
    key, as Python spells it), ``flag`` (its command-line name), ``expected`` (what a valid value is), ``got`` (the value), and
    ``params`` (other parameters involved, with their values). Where the error is shown decides
    how a parameter is named: :attr:`message` is the command line's one line (``--latent-dim``,
    used by ``aefeat.cli.app``), ``str(error)`` is the Python API's scikit-learn style
    (``latent_dim=7 must be <= n_features_in_=6; got 7``).
    """

    exit_code = EXIT_USER

    def __init__(
        self,
        what: str | None = None,
        where: str | None = None,
        hint: str | None = None,
        *,
        param: str | None = None,
        flag: str | None = None,
        expected: str | None = None,
        expected_option: str | None = None,
        got: Any = _UNSET,
        params: dict[str, Any] | None = None,
        python_what: str | None = None,
        python_where: str | None = None,
        python_hint: str | None = None,
    ) -> None:
        self.what = what
        # ``what`` as the Python API says it, when that differs (scikit-learn's words).
        self.python_what = python_what
        self.where = where
        self.hint = hint
        # ``where`` and ``hint`` as the Python API says them, when they name flags.
        self.python_where = python_where
        self.python_hint = python_hint
        self.param = param
        self.flag = flag or (None if param is None else _flag(param))
        self.expected = expected
        # ``expected`` as the command line and configs read it (``None`` is leaving it out).
        self.expected_option = expected_option or expected
        self.got = got
        self.params = dict(params or {})
        # Flags whose value came from a config file, not the command line: (file, {flag: key}).
        self.config_keys: tuple[str, dict[str, str]] | None = None
        super().__init__(self.message)

    def set_in_config(self, path: str, keys: dict[str, str]) -> None:
        """Name the options of ``keys`` (flag -> YAML key), whose values the config file
        ``path`` set, by their key in that file wherever this error names its place with their
        flag: ``(key 'exclude' in run.yaml, data.csv)``, not ``(--exclude, data.csv)``. The
        hint keeps its flags: it says what to type."""
        self.config_keys = (path, keys)

    def _place(self, flag: str, value: Any = _UNSET) -> str:
        """How the message's place names an option: its flag, or its key in the config file."""
        path, keys = self.config_keys or ("", {})
        if flag not in keys:
            return flag if value is _UNSET else f"{flag} {value}"
        if value is _UNSET:
            return f"key {keys[flag]!r} in {path}"
        return f"{keys[flag]}: {value} in {path}"

    @property
    def message(self) -> str:
        """The command line's wording: parameters named by their flags."""
        what = self.what
        if what is None:
            what = (
                f"invalid value {_short(self.got)}" if self.got is not _UNSET else "invalid value"
            )
        where = [self.where] if self.where else []
        if self.config_keys is not None and self.where:
            # A place written as text, "--exclude, data.csv": its flags as the file's keys.
            where = [re.sub(r"(?<![\w-])--[a-z][\w-]*", lambda m: self._place(m[0]), self.where)]
        if self.flag and not self.where:
            where.append(self._place(self.flag))
        where += [self._place(_flag(k), v) for k, v in self.params.items()]
        hint = self.hint or (f"use {self.expected_option}" if self.expected_option else None)
        return _one_line(what, ", ".join(where), hint)

    @property
    def python_message(self) -> str:
        """The Python API's wording: parameters named as Python spells them, as in scikit-learn."""
        if self.param is not None and self.expected is not None:
            got = "" if self.got is _UNSET else _short(self.got)
            text = f"{self.param}={got} must be {self.expected}; got {got}"
            return _one_line(text, self.python_where or self.where or "", None)
        where = [self.python_where or self.where] if self.python_where or self.where else []
        if self.param is not None:
            where.append(self.param if self.got is _UNSET else f"{self.param}={_short(self.got)}")
        where += [f"{k}={v!r}" for k, v in self.params.items()]
        what = self.python_what or self.what or "invalid value"
        return _one_line(what, ", ".join(where), self.python_hint or self.hint)

    def __str__(self) -> str:
        return self.python_message


def _short(value: Any) -> str:
    """``repr(value)``, cut short: a value read from a file may be huge (a list of a million
    names), and a message is one line."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring, shortener.maxother, shortener.maxlist, shortener.maxlevel = 80, 80, 8, 3
    return shortener.repr(value)


def _flag(key: str) -> str:
    """The command-line flag of parameter ``key`` (``--latent-dim`` for ``latent_dim``); a
    parameter spelled otherwise in Python passes its ``flag`` (``--seed`` for ``random_state``)."""
    return "--" + key.replace("_", "-")


def _one_line(what: str, where: str, hint: str | None) -> str:
    text = what
    if where:
        text += f" ({where})"
    if hint:
        text += f" — {hint}"
    # One line, always: values from data may contain newlines.
    return visible(" ".join(text.split()))


def name_list(names: Sequence[Any], limit: int = 10, show: Callable[[Any], str] = repr) -> str:
    """The first ``limit`` of ``names`` (each as ``show`` makes it), then "and N more": the one
    way a message lists columns, files or values, since a table may have thousands of columns
    and a message is one line."""
    shown = ", ".join(show(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _folded(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold().strip()


def without_look_alike(names: Sequence[str], available: Sequence[str]) -> list[str]:
    """The ``names`` for which :func:`look_alikes` finds nothing among ``available``: the
    message still needs its usual hint for them (the list of columns, say)."""
    folded = {_folded(name) for name in available}
    return [name for name in names if _folded(name) not in folded]


def look_alikes(names: Sequence[str], available: Sequence[str], noun: str) -> str | None:
    """For ``names`` not found among ``available``, the available names that differ from them
    only in case, surrounding spaces or Unicode form (a macOS export's decomposed 'é' against a
    composed one), as "the data has 'Sepal_Length', not 'sepal_length' (the case differs)";
    None when there are none. Names are matched exactly, and such pairs can look the same on
    the screen: ``noun`` says whose names ``available`` are ("the data", "the file")."""
    first: dict[str, str] = {}
    for name in available:
        first.setdefault(_folded(name), name)
    pairs = [(n, first[_folded(n)]) for n in names if first.get(_folded(n), n) != n]
    if not pairs:
        return None

    def how(asked: str, found: str) -> str:
        if unicodedata.normalize("NFC", asked) == unicodedata.normalize("NFC", found):
            return "the same letters in another Unicode form"
        if asked.strip() == found.strip():
            return "spaces around it differ"
        if asked.casefold() == found.casefold():
            return "the case differs"
        return "the case, spaces or Unicode form differ"

    def shown(asked: str, found: str) -> str:
        # Text that prints the same is shown escaped, so that the difference can be seen.
        same = unicodedata.normalize("NFC", asked) == unicodedata.normalize("NFC", found)
        show = ascii if same else repr
        return f"{show(found)}, not {show(asked)} ({how(asked, found)})"

    listed = name_list(pairs, 3, lambda pair: shown(*pair))
    return f"{noun} has {listed}"


def visible(text: str, keep: str = "\t\n") -> str:
    """``text`` with control and format characters shown as escapes (``\x1b``): column names,
    values and metadata come from files others may have made, and an escape sequence printed
    to a terminal can rewrite the screen, set the title or, in some terminals, the clipboard.
    The characters in ``keep`` (tab and line break) stay as they are; ``keep=""`` escapes them
    too, for a name in a report, where a line break would split a table row."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch in keep else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )
