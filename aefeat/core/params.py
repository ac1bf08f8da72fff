"""The training parameters, declared once: name, default, constraint and help text.

This one table is the source of :class:`aefeat.core.config.TrainConfig` (fields and defaults), the YAML
keys a config file may set, the ``aefeat train`` options' help and shown defaults, and
:class:`aefeat.AutoencoderTransformer`'s defaults and ``_parameter_constraints``. It imports
nothing heavy (``aefeat --help`` reads it), so its constraints are small objects of its own that
the estimator turns into scikit-learn's ``Interval`` / ``StrOptions`` when it needs them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
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
# The output layer may also mix, per column, the identity with a sigmoid (see
# aefeat.core.network.sigmoid_mix): bounded MinMax-scaled columns that pile up at their bounds.
OUTPUT_ACTIVATIONS = ("sigmoid_mix", *ACTIVATIONS)
IMPUTE_STRATEGIES = ("none", "mean", "median", "zero")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# --- constraints: each says whether a value is valid, in words, and as scikit-learn's -----------


@dataclass(frozen=True)
class Int:
    """An integer (not a bool) in [low, high]; high None for no upper bound."""

    low: int
    high: int | None = None

    def accepts(self, v: Any) -> bool:
        return _is_int(v) and v >= self.low and (self.high is None or v <= self.high)

    def describe(self) -> str:
        if self.high is None:
            return f"an integer of at least {self.low}"
        return f"an integer from {self.low} to {self.high}"

    def sklearn(self) -> Any:
        from numbers import Integral

        from sklearn.utils._param_validation import Interval

        return Interval(
            Integral, self.low, self.high, closed="left" if self.high is None else "both"
        )


@dataclass(frozen=True)
class Fraction:
    """A number strictly between low and high; ``floats_only`` refuses integers (so that, as in
    ``PCA(n_components=...)``, an int and a float of the same parameter mean different things)."""

    low: float
    high: float
    floats_only: bool = False

    def accepts(self, v: Any) -> bool:
        if self.floats_only and not isinstance(v, float):
            return False
        return _is_real(v) and self.low < v < self.high

    def describe(self) -> str:
        kind = "a fraction" if self.floats_only else "a number"
        return f"{kind} strictly between {self.low:g} and {self.high:g}"

    def sklearn(self) -> Any:
        from numbers import Real

        from sklearn.utils._param_validation import Interval, RealNotInt

        kind = RealNotInt if self.floats_only else Real
        return Interval(kind, self.low, self.high, closed="neither")


@dataclass(frozen=True)
class Real:
    """A number (an int or a float) in [low, high]."""

    low: float
    high: float

    def accepts(self, v: Any) -> bool:
        return _is_real(v) and self.low <= v <= self.high

    def describe(self) -> str:
        return f"a number from {self.low:g} to {self.high:g}"

    def sklearn(self) -> Any:
        from numbers import Real as RealNumber

        from sklearn.utils._param_validation import Interval

        return Interval(RealNumber, self.low, self.high, closed="both")


@dataclass(frozen=True)
class Options:
    """One of a few strings."""

    values: tuple[str, ...]

    def accepts(self, v: Any) -> bool:
        return isinstance(v, str) and v in self.values

    def describe(self) -> str:
        if len(self.values) == 1:
            return repr(self.values[0])
        # Marks such as '.' quoted: "one of ., ," reads as broken punctuation.
        return "one of " + ", ".join(v if v.isidentifier() else repr(v) for v in self.values)

    def sklearn(self) -> Any:
        from sklearn.utils._param_validation import StrOptions

        return StrOptions(set(self.values))


@dataclass(frozen=True)
class Bool:
    def accepts(self, v: Any) -> bool:
        return isinstance(v, bool)

    def describe(self) -> str:
        return "true or false"

    def sklearn(self) -> Any:
        return "boolean"


@dataclass(frozen=True)
class Null:
    """``None`` (``null`` in YAML), meaning "not set"."""

    def accepts(self, v: Any) -> bool:
        return v is None

    def describe(self) -> str:
        return "None"

    def sklearn(self) -> Any:
        return None


@dataclass(frozen=True)
class RandomStateInstance:
    """A ``numpy.random.RandomState``, which a fit draws its seed from (scikit-learn's meaning):
    a Python value only, which no flag or YAML key can give."""

    def accepts(self, v: Any) -> bool:
        np = sys.modules.get("numpy")  # not imported here: no RandomState can exist without it
        return np is not None and isinstance(v, np.random.RandomState)

    def describe(self) -> str:
        return "a numpy.random.RandomState"

    def sklearn(self) -> Any:
        import numpy as np

        return np.random.RandomState


@dataclass(frozen=True)
class Sizes:
    """A list (or tuple) of positive integers, possibly empty: layer sizes."""

    def accepts(self, v: Any) -> bool:
        return isinstance(v, (list, tuple)) and all(_is_int(x) and x >= 1 for x in v)

    def describe(self) -> str:
        return "a list of positive layer sizes such as [64, 32] (empty for none)"

    def sklearn(self) -> Any:
        return "array-like"  # scikit-learn's constraints stop at the type


@dataclass(frozen=True)
class Names:
    """A list of non-empty strings (column names)."""

    def accepts(self, v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) and x for x in v)

    def describe(self) -> str:
        return "a list of column names"

    def sklearn(self) -> Any:
        return list


@dataclass(frozen=True)
class Text:
    """A non-empty string (one character, not a quote or line break, if ``single_char``)."""

    words: str
    single_char: bool = False

    def accepts(self, v: Any) -> bool:
        if not isinstance(v, str) or not v:
            return False
        return not self.single_char or (len(v) == 1 and v not in '"\r\n')

    def describe(self) -> str:
        return self.words

    def sklearn(self) -> Any:
        return str


Constraint = (
    Int | Fraction | Real | Options | Bool | Null | RandomStateInstance | Sizes | Names | Text
)


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One training parameter. ``estimator`` is its name as an ``AutoencoderTransformer``
    parameter (None for options about reading the data, which the estimator does not have)."""

    name: str
    default: Any
    constraints: tuple[Constraint, ...]
    help: str
    type: str
    estimator: str | None = None
    section: str = "Model"
    shown_default: str | None = None  # how --help shows the default, when not str(default)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def expected(self, estimator: bool = True) -> str:
        """What a valid value is, in words; without what only the estimator takes (a
        RandomState) unless ``estimator`` (a config's ``seed`` comes from YAML)."""
        shown = [
            c.describe()
            for c in self.constraints
            if estimator or not isinstance(c, RandomStateInstance)
        ]
        return " or ".join(shown)

    def expected_option(self) -> str:
        """:meth:`expected` as a flag or YAML key reads it: ``None`` is leaving it out."""
        shown = [
            c.describe() for c in self.constraints if not isinstance(c, Null | RandomStateInstance)
        ]
        text = " or ".join(shown)
        optional = any(isinstance(c, Null) for c in self.constraints)
        return text + ", or leave it out" if optional else text

    def accepts(self, value: Any) -> bool:
        return any(c.accepts(value) for c in self.constraints)

    def default_value(self) -> Any:
        """A fresh copy of the default (lists are mutable)."""
        return list(self.default) if isinstance(self.default, list) else self.default

    def default_text(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, list):
            return ",".join(str(v) for v in self.default)
        return str(self.default)


@dataclass(frozen=True)
class ParamTable:
    params: tuple[Param, ...]
    _by_name: dict[str, Param] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for p in self.params:
            self._by_name[p.name] = p
            if p.estimator:
                self._by_name[p.estimator] = p

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __getitem__(self, name: str) -> Param:
        """A parameter by its config key or its estimator name (``seed`` or ``random_state``)."""
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def keys(self) -> tuple[str, ...]:
        """Config keys (YAML, ``TrainConfig`` fields), in table order."""
        return tuple(p.name for p in self.params)

    def estimator_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.estimator)

    def flag(self, name: str) -> str:
        return self[name].flag if name in self else "--" + name.replace("_", "-")

    def help(self, name: str) -> str:
        return self[name].help

    def default(self, name: str) -> Any:
        return self[name].default_value()

    def show_default(self, name: str) -> str:
        return self[name].default_text()

    def check(self, name: str, value: Any, where: str | None = None) -> None:
        """Raise :class:`AefeatError` for an invalid ``value``, with the parameter ``name`` as
        the caller spells it (``random_state`` in the estimator, ``seed`` in a config)."""
        p = self[name]
        if not p.accepts(value):
            raise AefeatError(
                where=where,
                param=name,
                flag=p.flag,
                expected=p.expected(estimator=name == p.estimator),
                expected_option=p.expected_option(),
                got=value,
            )


PARAMS = ParamTable(
    (
        Param(
            "latent_dim",
            2,
            (Int(1), Fraction(0.0, 1.0, floats_only=True)),
            "Number of latent features (at most the number of feature columns), or a fraction "
            "such as 0.95: the smallest number whose PCA keeps that share of the variance.",
            "int | float",
            estimator="latent_dim",
        ),
        Param(
            "hidden",
            [128, 64],
            (Sizes(), Int(1)),
            "Encoder hidden layer sizes, e.g. 128,64 ('none' for none); the decoder mirrors them.",
            "list[int]",
            estimator="hidden",
        ),
        Param(
            "activation",
            "leaky_relu",
            (Options(ACTIVATIONS),),
            "Hidden activation: " + ", ".join(ACTIVATIONS) + ".",
            "str",
            estimator="activation",
        ),
        Param(
            "latent_activation",
            "linear",
            (Options(ACTIVATIONS),),
            "Latent layer activation.",
            "str",
            estimator="latent_activation",
        ),
        Param(
            "output_activation",
            "sigmoid_mix",
            (Options(OUTPUT_ACTIVATIONS),),
            "Output activation (the reconstruction, in MinMax-scaled units): sigmoid_mix learns "
            "per column a mix of the identity and a sigmoid, starting at the identity (PCA), so "
            "that reconstructions can bend towards a column's bounds; or an activation as above.",
            "str",
            estimator="output_activation",
        ),
        Param(
            "linear_path",
            True,
            (Bool(),),
            "Add a linear path initialised from PCA next to the nonlinear path; PCA itself is "
            "kept unless the trained network is reliably better on the validation rows.",
            "bool",
            estimator="linear_path",
        ),
        Param(
            "epochs",
            None,
            (Int(0), Null()),
            "Passes over the training rows; unset: a step budget that follows the data size and "
            "ends early when validation loss stops improving.",
            "int | None",
            estimator="epochs",
            section="Training",
            shown_default="a step budget",
        ),
        Param(
            "batch_size",
            "auto",
            (Int(1), Options(("auto",))),
            "Rows per batch (at most the training rows), or 'auto' for about 8 batches per pass "
            "(32 to 256 rows).",
            "int | str",
            estimator="batch_size",
            section="Training",
        ),
        Param(
            "learning_rate",
            0.01,
            (Fraction(0.0, 10.0),),
            "Adam's peak learning rate (warm-up, then cosine decay to zero) for batches of 256 "
            "rows or more; smaller batches use it times (batch_size / 256) ** 0.75.",
            "float",
            estimator="learning_rate",
            section="Training",
        ),
        Param(
            "input_noise",
            "auto",
            (Real(0.0, 10.0), Options(("auto",))),
            "Spread of the Gaussian noise added in training to the standardized columns entering "
            "the encoder's nonlinear path, as in a denoising autoencoder (the linear path, the "
            "loss and the saved model see clean rows); 0 for none. auto: 0.2 up to 16,000 "
            "training rows, times sqrt(16,000 / training rows) above.",
            "float | str",
            estimator="input_noise",
            section="Training",
        ),
        Param(
            "validation_split",
            0.2,
            (Fraction(0.0, 1.0),),
            "Share of rows (shuffled) held out for early stopping and choosing the weights.",
            "float",
            estimator="validation_split",
            section="Training",
        ),
        Param(
            "patience",
            12,
            (Int(1),),
            "Validation checks without improvement before the final anneal (default budget only).",
            "int",
            estimator="patience",
            section="Training",
        ),
        Param(
            "shuffle",
            True,
            (Bool(),),
            "Shuffle rows before the validation split and between passes.",
            "bool",
            estimator="shuffle",
            section="Training",
        ),
        Param(
            "seed",
            None,
            (Int(0, 2**32 - 1), RandomStateInstance(), Null()),
            "Random seed for a reproducible run (the split, initialisation and batches); "
            "unset draws one and records it.",
            "int | None",
            estimator="random_state",
            section="Training",
            shown_default="random",
        ),
        Param(
            "impute",
            "none",
            (Options(IMPUTE_STRATEGIES),),
            "Fill missing values with training statistics: none (refuse them), mean, median, zero "
            "(a column with no values is refused).",
            "str",
            estimator="impute",
            section="Data",
        ),
        Param(
            "columns",
            None,
            (Names(), Null()),
            "Feature columns (comma-separated, repeatable); unset: all columns not excluded.",
            "list[str] | None",
            section="Data",
            shown_default="all",
        ),
        Param(
            "exclude",
            [],
            (Names(),),
            "Columns to leave out, e.g. ids and labels (comma-separated, repeatable); one that "
            "--columns names too is refused.",
            "list[str]",
            section="Data",
            shown_default="none",
        ),
        Param(
            "delimiter",
            ",",
            (Text("a single character such as ';' (not a quote or a line break)", True),),
            "Input field separator (a .tsv or .tab file whose header holds tabs and no comma is "
            "read tab-separated).",
            "str",
            section="Data",
        ),
        Param(
            "encoding",
            "utf-8",
            (Text("an encoding name such as latin-1"),),
            "Input text encoding.",
            "str",
            section="Data",
        ),
        Param(
            "decimal",
            ".",
            (Options((".", ",")),),
            "Input decimal mark: ',' reads numbers such as 3,14 (a decimal-comma locale's "
            "export, whose fields are then separated by another character, e.g. -d ';').",
            "str",
            section="Data",
        ),
        Param(
            "max_rows",
            None,
            (Int(1), Null()),
            "Train in memory on a uniform sample of this many rows (a scan of every row). "
            "Unset, a plain CSV file of clearly more than 1,000,000 rows is read as a random "
            "sample of its blocks, about 1,000,000 rows.",
            "int | None",
            section="Data",
            shown_default="all rows",
        ),
        Param(
            "max_time",
            None,
            (Fraction(0.0, math.inf), Null()),
            "End training after this long (e.g. 90s, 10m, 1h; a number is seconds), keeping the "
            "best weights so far.",
            "float | None",
            estimator="max_time",
            section="Training",
            shown_default="none",
        ),
    )
)
