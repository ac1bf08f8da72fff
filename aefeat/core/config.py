"""Training configuration: defaults, YAML config files, command-line overrides and validation."""

from __future__ import annotations

import collections
import dataclasses
import re
import shlex
from pathlib import Path
from typing import Any

from aefeat.core import params as _params
from aefeat.errors import AefeatError, name_list

# The table in aefeat.core.params is the one declaration; these names are kept for importers.
ACTIVATIONS = _params.ACTIVATIONS
OUTPUT_ACTIVATIONS = _params.OUTPUT_ACTIVATIONS
IMPUTE_STRATEGIES = _params.IMPUTE_STRATEGIES
PARAMS = _params.PARAMS


def _to_dict(self: Any) -> dict[str, Any]:
    return dataclasses.asdict(self)


def _model_params(self: Any) -> dict[str, Any]:
    """The parameters of :class:`aefeat.AutoencoderTransformer` this config sets."""
    out = {p.estimator: getattr(self, p.name) for p in PARAMS.estimator_params()}
    out["hidden"] = tuple(out["hidden"])
    return out


# Every option of ``aefeat train``, one field per row of the table (its default included); the
# resolved copy is saved in ``metadata.json``.
TrainConfig = dataclasses.make_dataclass(
    "TrainConfig",
    [
        (p.name, p.type, dataclasses.field(default_factory=p.default_value))
        if isinstance(p.default, list)
        else (p.name, p.type, dataclasses.field(default=p.default))
        for p in PARAMS
    ],
    namespace={"to_dict": _to_dict, "model_params": _model_params},
)
TrainConfig.__module__ = __name__
TrainConfig.__doc__ = (
    "Every option of ``aefeat train``; the resolved copy is saved in metadata.json."
)

KEYS = PARAMS.keys


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """How to train, as in-memory training, streamed training and the training loop all take it:
    the training options of :data:`aefeat.core.params.PARAMS`, checked, plus the seed drawn."""

    epochs: int | None
    batch_size: int | str
    learning_rate: float
    input_noise: float | str
    validation_split: float
    patience: int
    shuffle: bool
    seed: int
    max_time: float | None = None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_value(key: str, value: Any, where: str | None = None) -> None:
    """Raise :class:`AefeatError` naming the parameter if ``value`` is not valid for ``key``."""
    PARAMS.check(key, value, where=where)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        self.key, self.line = key, line


class _Refused(Exception):
    """YAML a config has no use for (aliases, keys that are lists), with its line."""

    def __init__(self, what: str, line: int) -> None:
        self.what, self.line = what, line


def _config_loader() -> type:
    """PyYAML's safe loader with two YAML 1.2 rules PyYAML (YAML 1.1) lacks: a key given twice
    is an error (PyYAML keeps the last silently), and ``1e-1`` or ``3e4`` is a number (YAML 1.1
    wants a dot in the mantissa, so PyYAML reads them as strings)."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            # Aliases (*name) would let a few hundred bytes expand into gigabytes ("billion
            # laughs"); an option file has no use for them.
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise _Refused("aliases (*name) are not allowed", event.start_mark.line + 1)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise _Refused("a key must be a name", key_node.start_mark.line + 1)
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    # YAML 1.2's float, added beside PyYAML's own resolvers.
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)$"),
        list("-+0123456789."),
    )
    return Loader


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML config file into a dict of known keys, with clear errors."""
    import yaml

    text = _read_config_text(path)
    try:
        data = yaml.load(text, Loader=_config_loader())  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise AefeatError(
            f"key '{exc.key}' is given twice", f"{path}, line {exc.line}", "keep one of them"
        ) from None
    except _Refused as exc:
        raise AefeatError(
            f"config file is not valid: {exc.what}", f"{path}, line {exc.line}", "fix the YAML"
        ) from None
    except RecursionError:
        raise AefeatError("config file is nested too deeply", str(path), "fix the YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        hint = "fix the YAML syntax"
        lines = text.splitlines()
        line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        m = re.fullmatch(r"\s*(\w+):\s*([,@%`]\S*)\s*", line)
        if m:  # a plain YAML value cannot start with these: decimal: ,
            hint = f"quote the value: {m[1]}: '{m[2]}'"
        raise AefeatError("config file is not valid YAML", where, hint) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AefeatError(
            "config file must be a mapping of option names to values",
            str(path),
            "write one 'key: value' line per option, e.g. 'latent_dim: 2'",
        )
    for key in data:
        if key not in KEYS:
            raise AefeatError(
                f"unknown key '{key}'",
                str(path),
                "valid keys are " + ", ".join(KEYS),
            )
    # YAML lets users write `max_time: 10m` as in --max-time.
    if isinstance(data.get("max_time"), str):
        data["max_time"] = parse_duration(data["max_time"], where=f"key 'max_time' in {path}")
    # YAML takes lists also as the flags spell them: `hidden: 64` or `hidden: 64,32` or
    # `hidden: none`, `exclude: id,label`.
    if _is_int(data.get("hidden")):
        data["hidden"] = [data["hidden"]]
    elif isinstance(data.get("hidden"), str):
        data["hidden"] = parse_hidden(data["hidden"], where=f"key 'hidden' in {path}")
    for key in ("columns", "exclude"):
        if isinstance(data.get(key), str):
            data[key] = parse_list([data[key]], f"key '{key}' in {path}")
        _check_names_are_text(key, data.get(key), text, path)
    for key, value in data.items():
        check_value(key, value, where=f"key '{key}' in {path}")
    # Checked here, not when the data is opened: that check names the flag (--encoding,
    # --columns), and the value came from this file.
    if "encoding" in data:
        check_encoding(data["encoding"], f"key 'encoding' in {path}")
    check_named_once(data.get("columns") or [], f"key 'columns' in {path}")
    return data


def check_named_once(columns: list[str], where: str) -> None:
    """Refuse a column list (``--columns``) that names a column twice."""
    twice = sorted(n for n, k in collections.Counter(columns).items() if k > 1)
    if twice:
        raise AefeatError(f"column {twice[0]!r} is named twice", where, "name each column once")


def _read_config_text(path: Path) -> str:
    """The text of the config file at ``path``; one line saying what to do if it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AefeatError("config file not found", str(path), "check the --config path") from None
    except IsADirectoryError:
        raise AefeatError(
            "config file is a directory", str(path), "pass a YAML file to --config"
        ) from None
    except PermissionError:
        raise AefeatError(
            "permission denied", str(path), "check the config file's read permissions"
        ) from None
    except OSError as exc:
        raise AefeatError(
            f"cannot read config file: {exc.strerror or exc}", str(path), "check the --config path"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise AefeatError(
            f"config file is not UTF-8 text: byte 0x{data[exc.start]:02x}",
            f"{path}, line {line}",
            "save it as UTF-8",
        ) from None


def _check_names_are_text(key: str, value: Any, text: str, path: Path) -> None:
    """Refuse column names YAML read as numbers, booleans or dates (``exclude: [0, no]``: pandas'
    numbered headers, YAML 1.1's yes/no/on/off), quoting them as written: ``no`` read as False
    cannot be told from ``false`` or ``off`` afterwards, so it is not turned back into a name."""
    import datetime

    import yaml

    items = value if isinstance(value, list) else [value]
    kinds = {bool: "a boolean", int: "a number", float: "a number", datetime.date: "a date"}
    bad = [i for i, v in enumerate(items) if isinstance(v, tuple(kinds))]
    if not bad:
        return
    # The names as written: YAML's base loader reads every scalar as a string.
    raw = yaml.load(text, Loader=yaml.BaseLoader).get(key)  # noqa: S506 - no constructors
    written = raw if isinstance(raw, list) else [raw]
    if len(written) != len(items) or not all(isinstance(w, str) for w in written):
        written = [str(v) for v in items]
    read = [
        f"{written[i]} as {next(w for t, w in kinds.items() if isinstance(items[i], t))}"
        for i in bad
    ]
    quoted = [f"""'{w.replace("'", "''")}'""" for w in written]  # as YAML quotes
    hint = "quote " + ("it" if len(bad) == 1 else "them")
    if len(written) <= 10:  # the whole line to paste
        hint += f": {key}: [{', '.join(quoted)}]"
    elif len(bad) <= 10:
        hint += ": " + ", ".join(quoted[i] for i in bad)
    raise AefeatError(
        f"column names in {key} must be strings: YAML reads " + name_list(read, show=str),
        f"key '{key}' in {path}",
        hint,
    )


def check_encoding(encoding: str, where: str = "--encoding") -> str:
    """The codec name of ``encoding``, or the refusal of a name Python has no codec for."""
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise AefeatError(
            f"unknown encoding {encoding!r}", where, "use a name such as utf-8 or latin-1"
        ) from None


def resolve_config(config_file: Path | None = None, **overrides: Any) -> TrainConfig:
    """Defaults, then the config file, then command-line values that were given (not None)."""
    return resolve_with_sources(config_file, **overrides)[0]


def resolve_with_sources(
    config_file: Path | None = None, **overrides: Any
) -> tuple[TrainConfig, dict[str, str]]:
    """:func:`resolve_config`, and the options (flag -> key) whose values the file set: what
    :meth:`AefeatError.set_in_config` names by their key. The file is read once (it may be a
    pipe, ``--config <(...)``)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(load_config_file(config_file))
    from_file = {PARAMS[k].flag: k for k in values if overrides.get(k) is None}
    for key, value in overrides.items():
        if key not in KEYS:
            raise TypeError(f"unknown config key {key!r}")
        if value is not None:
            if key == "hidden" and _is_int(value):
                value = [value]  # one hidden layer, as in YAML
            check_value(key, value)
            values[key] = value
    return TrainConfig(**values), from_file


def option_name(name: str) -> str:
    """A column name as it is typed in ``--columns/--exclude/--keep``: CSV-quoted when it holds
    a comma or a quote (read back by :func:`parse_list`)."""
    if any(ch in name for ch in ',"'):
        quoted = name.replace('"', '""')
        return f'"{quoted}"'
    return name


def option_value(names: list[str]) -> str:
    """``names`` as the value of ``--columns/--exclude/--keep`` in a command a hint suggests:
    :func:`option_name` of each, joined by commas, then quoted for the shell, so that the
    command can be pasted whatever the names hold (a space, ';', '$', a quote)."""
    return shlex.quote(",".join(option_name(n) for n in names))


def parse_list(values: list[str] | None, flag: str) -> list[str] | None:
    """Comma-separated, repeatable list options (``--columns a,b --columns c``). A name holding
    a comma is CSV-quoted: ``--keep '"a,b",c'`` (a quote inside is doubled). An option given
    with no name at all (``--columns ''``, often an empty shell variable) is refused rather
    than read as "not given"."""
    if values is None:
        return None
    out: list[str] = []
    for value in values:
        # CSV-style: commas inside double quotes are part of the name, "" is one quote. (Not
        # the csv module: it refuses a line break in an unquoted field, and names may hold one.)
        part, quoted, i = "", False, 0
        while i < len(value):
            ch = value[i]
            if ch == '"' and quoted and value[i + 1 : i + 2] == '"':
                part += '"'
                i += 1
            elif ch == '"' and (quoted or not part.strip()):
                quoted = not quoted
                part = "" if quoted else part
            elif ch == "," and not quoted:
                out.append(part.strip())
                part = ""
            else:
                part += ch
            i += 1
        out.append(part.strip())
    names = [p for p in out if p]
    # A column whose header is blank is named 'Unnamed: N' (see _parse_header): an empty name
    # names no column, and dropping it silently left that column in.
    example = f"{flag} 'Unnamed: 0'" if flag.startswith("--") else "e.g. 'Unnamed: 0'"
    blank = (
        f"a column with a blank header is called 'Unnamed: N', N its position from 0 ({example})"
    )
    if not names:
        raise AefeatError(
            "no column named", flag, f"name at least one column, or leave {flag} out; {blank}"
        )
    if len(names) < len(out):
        raise AefeatError(
            "an empty column name in the list", flag, f"drop the stray comma or quotes; {blank}"
        )
    return names


def parse_duration(value: str | None, where: str = "--max-time") -> float | None:
    """``--max-time 90s`` / ``10m`` / ``1.5h`` / ``120`` (seconds) as seconds."""
    if value is None:
        return None
    text = value.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    factor = units.get(text[-1:], None)
    number = text[:-1] if factor is not None else text
    try:
        seconds = float(number) * (factor or 1.0)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise AefeatError(
            f"invalid value {value!r}", where, "use a duration such as 90s, 10m or 1h"
        )
    return seconds


def parse_hidden(value: str | None, where: str = "--hidden") -> list[int] | None:
    """``--hidden 64,32`` (or ``--hidden none`` / ``[]`` for no hidden layers). An empty value
    (``--hidden ''``, often an empty shell variable) is refused, not read as "none", and so is
    an empty size (``--hidden "$H1,$H2"`` with ``H2`` unset), not dropped."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("none", "[]"):
        return []
    try:
        sizes = [int(p) for p in text.split(",")]
    except ValueError:
        sizes = None
    if not sizes or min(sizes) < 1:
        raise AefeatError(
            f"invalid value {value!r}",
            where,
            "use positive layer sizes such as 64,32, or none for no hidden layers",
        )
    return sizes


# Fewest validation rows on which a trained network may be declared better than PCA. Measured
# 2026-12-01 on linnerud (scikit-learn, 20 rows, 3 of them validation rows), over model seeds
# 0-9: a network was kept in 4 seeds and was up to 61% worse than PCA on the held-out rows. In
# 120 runs on 120 to 500 rows of larger tables, and 60 random splits of five small ones, this
# minimum left the same networks kept (the smallest validation set there had 24 rows).
MIN_SELECTION_ROWS = 20


def split_sizes(n_rows: int, validation_split: float) -> tuple[int, int]:
    """(training rows, validation rows) for ``n_rows`` rows."""
    n_val = max(1, int(round(n_rows * validation_split)))
    return n_rows - n_val, n_val


def min_rows(validation_split: float, latent_dim: int) -> int:
    """Fewest rows that leave at least ``latent_dim + 1`` training rows and one validation row."""
    need = max(2, latent_dim + 1)
    n = need + 1
    while split_sizes(n, validation_split)[0] < need:
        n += 1
    return n


def check_sizes(
    latent_dim: int | float,
    validation_split: float,
    *,
    n_features: int | None = None,
    n_rows: int | None = None,
    source: str | None = None,
) -> None:
    """Refuse a latent size above the feature count, or too few rows to train and validate.

    A fractional ``latent_dim`` (a share of the variance) is checked as its smallest size, 1: the
    size itself is chosen from the data. The Python API's messages carry ``n_features=`` /
    ``n_samples=``, the words scikit-learn's checks look for; the command line's do not.
    """
    size = latent_dim if _is_int(latent_dim) else 1
    if n_features is not None and n_features < 2:
        raise AefeatError(
            f"too few feature columns: {n_features}; an autoencoder needs at least 2",
            source,
            "select at least two columns",
            python_what=f"too few feature columns: {n_features} (n_features={n_features}); "
            "an autoencoder needs at least 2",
        )
    if n_features is not None and size > n_features:
        raise AefeatError(
            param="latent_dim",
            expected=f"<= n_features_in_={n_features}",
            got=latent_dim,
            hint=f"use at most {n_features}, the number of feature columns",
        )
    if n_rows is not None:
        needed = min_rows(validation_split, size)
        if n_rows < needed:
            raise AefeatError(
                f"too few rows to train: {n_rows}, need at least {needed}",
                source,
                "add rows, or lower the latent size or the validation split",
                params={"latent_dim": latent_dim, "validation_split": validation_split},
                python_what=f"too few rows to train: {n_rows} (n_samples={n_rows}), need at "
                f"least {needed}",
            )
