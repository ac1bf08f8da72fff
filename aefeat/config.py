"""Training configuration: defaults, YAML config files, command-line overrides and validation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aefeat.errors import AefeatError

ACTIVATIONS = (
    "linear",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "tanh",
    "sigmoid",
    "silu",
    "gelu",
    "softplus",
)
IMPUTE_STRATEGIES = ("none", "mean", "median", "zero")


@dataclass
class TrainConfig:
    """Every option of ``aefeat train``; the resolved copy is saved in ``metadata.json``."""

    latent_dim: int = 2
    hidden: list[int] = field(default_factory=lambda: [128, 64])
    activation: str = "silu"
    latent_activation: str = "linear"
    output_activation: str = "linear"
    linear_path: bool = True
    epochs: int | None = None
    batch_size: int | str = "auto"
    learning_rate: float = 0.005
    validation_split: float = 0.2
    patience: int = 12
    shuffle: bool = True
    seed: int | None = None
    impute: str = "none"
    columns: list[str] | None = None
    exclude: list[str] = field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"
    max_rows: int | None = None
    max_time: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def model_params(self) -> dict[str, Any]:
        """The parameters of :class:`aefeat.AutoencoderTransformer` this config sets."""
        return {
            "latent_dim": self.latent_dim,
            "hidden": tuple(self.hidden),
            "activation": self.activation,
            "latent_activation": self.latent_activation,
            "output_activation": self.output_activation,
            "linear_path": self.linear_path,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "validation_split": self.validation_split,
            "patience": self.patience,
            "shuffle": self.shuffle,
            "impute": self.impute,
            "random_state": self.seed,
            "max_time": self.max_time,
        }


KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig))


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) and x for x in v)


# Declared once, as data: (test, what a valid value is).
_CONSTRAINTS: dict[str, tuple[Any, str]] = {
    "latent_dim": (lambda v: _is_int(v) and v >= 1, "an integer of at least 1"),
    "hidden": (
        lambda v: isinstance(v, list) and all(_is_int(x) and x >= 1 for x in v),
        "a comma-separated list of positive layer sizes such as 64,32 (empty for none)",
    ),
    "activation": (lambda v: v in ACTIVATIONS, "one of " + ", ".join(ACTIVATIONS)),
    "latent_activation": (lambda v: v in ACTIVATIONS, "one of " + ", ".join(ACTIVATIONS)),
    "output_activation": (lambda v: v in ACTIVATIONS, "one of " + ", ".join(ACTIVATIONS)),
    "linear_path": (lambda v: isinstance(v, bool), "true or false"),
    "epochs": (
        lambda v: v is None or (_is_int(v) and v >= 0),
        "an integer of at least 0 (or null for the default budget)",
    ),
    "batch_size": (
        lambda v: v == "auto" or (_is_int(v) and v >= 1),
        "a positive integer or 'auto'",
    ),
    "learning_rate": (lambda v: _is_number(v) and 0 < v < 10, "a number above 0 and below 10"),
    "validation_split": (
        lambda v: _is_number(v) and 0 < v < 1,
        "a fraction strictly between 0 and 1",
    ),
    "patience": (lambda v: _is_int(v) and v >= 1, "an integer of at least 1"),
    "shuffle": (lambda v: isinstance(v, bool), "true or false"),
    "seed": (
        lambda v: v is None or (_is_int(v) and 0 <= v < 2**32),
        "an integer from 0 to 2**32-1",
    ),
    "impute": (lambda v: v in IMPUTE_STRATEGIES, "one of " + ", ".join(IMPUTE_STRATEGIES)),
    "columns": (lambda v: v is None or _str_list(v), "a list of column names"),
    "exclude": (_str_list, "a list of column names"),
    "delimiter": (
        lambda v: isinstance(v, str) and len(v) == 1 and v not in '"\r\n',
        "a single character such as ';' (not a quote or a line break)",
    ),
    "encoding": (lambda v: isinstance(v, str) and bool(v), "an encoding name such as latin-1"),
    "max_rows": (lambda v: v is None or (_is_int(v) and v >= 1), "a positive integer"),
    "max_time": (
        lambda v: v is None or (_is_number(v) and 0 < v < float("inf")),
        "a duration such as 90s, 10m or 1h (a number means seconds)",
    ),
}


def check_value(key: str, value: Any, where: str | None = None) -> None:
    """Raise :class:`AefeatError` naming the option if ``value`` is not valid for ``key``."""
    test, valid = _CONSTRAINTS[key]
    if not test(value):
        raise AefeatError(f"invalid value {value!r}", where or _option(key), f"use {valid}")


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML config file into a dict of known keys, with clear errors."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AefeatError("config file not found", str(path), "check the --config path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AefeatError(f"cannot read config file: {exc}", str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        raise AefeatError("config file is not valid YAML", where, "fix the YAML syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AefeatError("config file must be a mapping of option names to values", str(path))
    for key in data:
        if key not in KEYS:
            raise AefeatError(
                f"unknown key '{key}'",
                str(path),
                "valid keys are " + ", ".join(KEYS),
            )
    # YAML lets users write `max_time: 10m` as in --max-time.
    if isinstance(data.get("max_time"), str):
        data["max_time"] = parse_duration(data["max_time"])
    # YAML lets users write `hidden: 64` for a single layer.
    if _is_int(data.get("hidden")):
        data["hidden"] = [data["hidden"]]
    for key, value in data.items():
        check_value(key, value, where=f"key '{key}' in {path}")
    return data


def resolve_config(config_file: Path | None = None, **overrides: Any) -> TrainConfig:
    """Defaults, then the config file, then command-line values that were given (not None)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(load_config_file(config_file))
    for key, value in overrides.items():
        if key not in KEYS:
            raise TypeError(f"unknown config key {key!r}")
        if value is not None:
            check_value(key, value)
            values[key] = value
    return TrainConfig(**values)


def parse_list(values: list[str] | None) -> list[str] | None:
    """Comma-separated, repeatable list options (``--columns a,b --columns c``)."""
    if values is None:
        return None
    out = [part.strip() for v in values for part in v.split(",")]
    return [p for p in out if p]


def parse_duration(value: str | None) -> float | None:
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
            f"invalid value {value!r}", "--max-time", "use a duration such as 90s, 10m or 1h"
        )
    return seconds


def parse_hidden(value: str | None) -> list[int] | None:
    """``--hidden 64,32`` (or ``--hidden none`` / ``""`` for no hidden layers)."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("", "none", "[]"):
        return []
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise AefeatError(
            f"invalid value {value!r}", "--hidden", "use positive layer sizes such as 64,32"
        ) from None


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
    latent_dim: int,
    validation_split: float,
    *,
    n_features: int | None = None,
    n_rows: int | None = None,
    source: str | None = None,
) -> None:
    """Refuse a latent size not below the feature count, or too few rows to train and validate.

    The messages carry ``n_features=`` / ``n_samples=``, the words scikit-learn's checks expect.
    """
    if n_features is not None and latent_dim >= n_features:
        raise AefeatError(
            f"--latent-dim {latent_dim} must be below the number of feature columns "
            f"(n_features={n_features})",
            "--latent-dim" if source is None else f"--latent-dim, {source}",
            f"use at most {n_features - 1}" if n_features > 1 else "select at least two columns",
        )
    if n_rows is not None:
        needed = min_rows(validation_split, latent_dim)
        if n_rows < needed:
            where = f"--latent-dim {latent_dim}, --validation-split {validation_split}"
            raise AefeatError(
                f"too few rows to train: {n_rows} (n_samples={n_rows}), need at least {needed}",
                where if source is None else f"{source}, {where}",
                "add rows, or lower --latent-dim or --validation-split",
            )
