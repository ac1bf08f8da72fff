"""Data preparation, the one place it is defined: per-column statistics (fitted in memory or
over streamed chunks by the same rules), the refusals of missing, infinite and too-large values,
and the step every path applies before the network: ±inf treated as missing, missing cells filled
with training values, MinMax scaling. Statistics are stored as JSON and applied with NumPy."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from aefeat.core.config import check_sizes, option_value
from aefeat.errors import AefeatError, look_alikes, name_list, without_look_alike

# float32 training and the exported Keras files (variance = span**2) cannot hold more.
MAX_SPAN = 1e19
MAX_ABS = 1e36


def no_rows_error(where: str) -> AefeatError:
    """The one message for an input with a header and no data rows."""
    return AefeatError("the file has a header but no data rows", where, "add data rows")


def missing_columns_error(
    missing: list[str], what: str, where: str, hint: str, present: list[str]
) -> AefeatError:
    """The one wording for columns the data lacks: ``<what>s 'a', 'b' missing from the data``,
    with the data's columns (``present``) that differ from them only in case, spaces or
    Unicode form."""
    noun = what + ("s" if len(missing) > 1 else "")
    alike = look_alikes(missing, present, "the data")
    if alike:  # the usual hint too, for the names that look like none of the data's
        rest = f"; {hint}" if without_look_alike(missing, present) else ""
        hint = f"{alike}: rename to match (names are matched exactly){rest}"
    return AefeatError(f"{noun} {name_list(missing)} missing from the data", where, hint)


def count_bad_values(X: np.ndarray, columns: list[str]) -> dict[str, tuple[int, int]]:
    """Per column with problems: (missing cells, infinite cells)."""
    return _bad_counts(np.isnan(X).sum(axis=0), np.isinf(X).sum(axis=0), columns)


def _bad_counts(nan: np.ndarray, inf: np.ndarray, columns: list[str]) -> dict[str, tuple[int, int]]:
    return {c: (int(nan[j]), int(inf[j])) for j, c in enumerate(columns) if nan[j] or inf[j]}


def missing_values_error(
    bad: dict[str, tuple[int, int]], where: str | None, *, training: bool
) -> AefeatError:
    """The refusal of missing or infinite values (``bad`` from :func:`count_bad_values`): when
    training, --impute is the fix; for a trained model, the data must be fixed."""

    def counted(item: tuple[str, tuple[int, int]]) -> str:
        name, (n_nan, n_inf) = item
        bits = [f"{n_nan} missing"] if n_nan else []
        if n_inf:
            bits.append(f"{n_inf} infinite")
        return f"{name!r} ({', '.join(bits)})"

    hint = (
        "fill or drop them, or pass --impute mean|median|zero"
        if training
        else "fill or drop them (the model was trained without --impute)"
    )
    python_hint = (
        "fill or drop them, or pass impute='mean', 'median' or 'zero'"
        if training
        else "fill or drop them (the model was trained without impute)"
    )
    listed = name_list(list(bad.items()), show=counted)
    return AefeatError(
        "missing or infinite values in " + listed, where, hint, python_hint=python_hint
    )


def first_nonfinite_row(X: np.ndarray) -> int | None:
    """The index of the first row of ``X`` holding a missing or infinite value, or None."""
    rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
    return int(rows[0]) if len(rows) else None


def first_nonfinite_in(chunks: list[np.ndarray]) -> int | None:
    """:func:`first_nonfinite_row` over ``chunks`` taken as one table, in order."""
    offset = 0
    for chunk in chunks:
        row = first_nonfinite_row(chunk)
        if row is not None:
            return offset + row
        offset += len(chunk)
    return None


def first_bad_at(where: str, n_bad: int) -> str:
    """``where`` (a file and line) as the place of the first of ``n_bad`` bad values."""
    return where if n_bad == 1 else f"{where}, the first of them"


def check_some_values(count: np.ndarray, columns: list[str], where: str | None) -> None:
    """Refuse columns with no finite value (``count``: finite values per column). Imputing
    them would train on a constant made up from nothing, which hides a broken input (a column
    read empty, a wrong delimiter) from the user. ``where`` is None for the Python API."""
    empty = [columns[j] for j in np.flatnonzero(np.asarray(count) == 0)]
    if not empty:
        return
    listed = name_list(empty)
    noun = "column" + ("s" if len(empty) > 1 else "")
    them = "them" if len(empty) > 1 else "it"
    if where is None:
        hint = python_hint = f"drop {them}"
    else:
        hint = f"exclude {them} with --exclude {option_value(empty)}"
        python_hint = f"leave {them} out of columns"
    raise AefeatError(
        f"no values to impute from in {noun} {listed}", where, hint, python_hint=python_hint
    )


def too_large(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Which columns, of per-column minimum ``lo`` and maximum ``hi`` (inf/-inf for a column
    with no value), span more than float32 training can represent: the rule training refuses
    data by, and a model directory's scaling is checked by."""
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        span = hi - lo
        return np.isfinite(lo) & ((span > MAX_SPAN) | (np.maximum(abs(lo), abs(hi)) > MAX_ABS))


def check_ranges(lo: np.ndarray, hi: np.ndarray, features: list[str], name: str | None) -> None:
    """Refuse columns whose finite values span more than float32 training can represent.
    ``lo``/``hi`` are per-column minimum and maximum (inf/-inf for a column with none);
    ``name`` is the data's, None for arrays given to the Python API (the hint then names no
    command-line option)."""
    too_big = list(np.flatnonzero(too_large(lo, hi)))
    if too_big:
        listed = name_list(
            too_big, show=lambda j: f"{features[j]!r} (from {lo[j]:.3g} to {hi[j]:.3g})"
        )
        rescale = (
            f"rescale those columns to a span below {MAX_SPAN:.0e} (e.g. divide or take logs), "
        )
        raise AefeatError(
            "values too large to train on in " + listed,
            name,
            rescale + ("or --exclude them" if name is not None else "or drop them"),
            python_hint=rescale
            + ("or leave them out of columns" if name is not None else "or drop them"),
        )


@dataclass
class Scaler:
    """Per-column training minimum and range, plus the values used to fill missing cells.

    A constant column gets range 1 (as scikit-learn's ``MinMaxScaler`` does), so it scales to 0
    at training time and never divides by zero.
    """

    data_min: np.ndarray
    data_max: np.ndarray
    fill: np.ndarray | None = None

    @property
    def data_range(self) -> np.ndarray:
        span = self.data_max - self.data_min
        return np.where(span > 0, span, 1.0)

    @classmethod
    def fit(cls, X: np.ndarray, impute: str = "none") -> Scaler:
        """Statistics of the finite values of each column of ``X`` (NaN and ±inf ignored)."""
        X = np.asarray(X, dtype=np.float64)
        return ColumnStats(X.shape[1]).update(X).scaler(impute, median_rows=X)

    def fill_missing(self, X: np.ndarray) -> int:
        """Treat ±inf as missing and fill missing cells of the float array ``X`` in place with the
        training values (they stay NaN when the model was fitted without ``impute``). Returns
        how many cells were missing."""
        bad = ~np.isfinite(X)
        n_bad = int(bad.sum())
        if n_bad:
            fill = np.nan if self.fill is None else np.broadcast_to(self.fill, X.shape)[bad]
            X[bad] = fill
        return n_bad

    def prepare(self, X: np.ndarray) -> np.ndarray:
        """Raw rows as the network sees them, in a new float64 array: missing and infinite
        cells filled (:meth:`fill_missing`), then MinMax-scaled."""
        X = np.array(X, dtype=np.float64)
        self.fill_missing(X)
        return self.transform(X)

    def transform(self, X: np.ndarray) -> np.ndarray:
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        return (X - self.data_min.astype(dtype)) / self.data_range.astype(dtype)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        return X * self.data_range.astype(X.dtype) + self.data_min.astype(X.dtype)

    def count_outside(self, X: np.ndarray) -> np.ndarray:
        """How many values of each column lie outside the training range."""
        # Compare at the data's precision: float32 input equal to a float64 bound is not outside.
        lo, hi = self.data_min.astype(X.dtype), self.data_max.astype(X.dtype)
        with np.errstate(invalid="ignore"):
            return ((X < lo) | (X > hi)).sum(axis=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "min": self.data_min.tolist(),
            "max": self.data_max.tolist(),
            "fill": None if self.fill is None else self.fill.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scaler:
        fill = data.get("fill")
        return cls(
            np.asarray(data["min"], dtype=np.float64),
            np.asarray(data["max"], dtype=np.float64),
            None if fill is None else np.asarray(fill, dtype=np.float64),
        )


class ColumnStats:
    """Per-column row, missing and infinite counts, minimum, maximum and sum of the finite values,
    accumulated chunk by chunk: in-memory training feeds one chunk, streamed training many, and
    both get their :class:`Scaler` from :meth:`scaler`, so the rules cannot differ."""

    def __init__(self, n_cols: int) -> None:
        self.n_rows = 0
        self.lo = np.full(n_cols, np.inf)
        self.hi = np.full(n_cols, -np.inf)
        self.total = np.zeros(n_cols)
        self.count = np.zeros(n_cols, dtype=np.int64)
        self.nan = np.zeros(n_cols, dtype=np.int64)
        self.inf = np.zeros(n_cols, dtype=np.int64)

    def update(self, X: np.ndarray) -> ColumnStats:
        finite = np.isfinite(X)
        self.n_rows += len(X)
        self.nan += np.isnan(X).sum(axis=0)
        self.inf += np.isinf(X).sum(axis=0)
        if len(X):
            self.lo = np.minimum(self.lo, np.min(X, axis=0, where=finite, initial=np.inf))
            self.hi = np.maximum(self.hi, np.max(X, axis=0, where=finite, initial=-np.inf))
            self.total += np.sum(X, axis=0, where=finite)
            self.count += finite.sum(axis=0)
        return self

    @property
    def n_bad(self) -> int:
        """Missing and infinite cells seen so far."""
        return int(self.nan.sum() + self.inf.sum())

    def bad_values(self, columns: list[str]) -> dict[str, tuple[int, int]]:
        """As :func:`count_bad_values`, for every row seen."""
        return _bad_counts(self.nan, self.inf, columns)

    def check_values(self, columns: list[str], where: str | None, impute: str) -> None:
        """Refuse, naming ``where`` and the columns, what training cannot use: missing or
        infinite values when ``impute`` is "none", and otherwise columns with no finite value
        at all (there is nothing to fill them from)."""
        bad = self.bad_values(columns)
        if bad and impute == "none":
            raise missing_values_error(bad, where, training=True)
        if impute != "none":
            check_some_values(self.count, columns, where)

    def check_varies(self, where: str | None, impute: str) -> None:
        """Refuse a table whose every column is constant. A constant column among others is
        kept (it scales to 0, as with scikit-learn's MinMaxScaler), but when all are, every
        row encodes the same: the model learns nothing, and the usual cause is a broken input
        (the wrong columns selected, a file of defaults) better told than trained on."""
        varies = self.hi > self.lo
        if impute == "zero":  # a missing cell filled with 0 differs from a constant other than 0
            varies |= (self.nan + self.inf > 0) & (self.lo != 0)
        if not varies.any():
            # An array given to fit() has no ``columns`` parameter to check.
            check = "the data" if where is None else "the data and columns"
            raise AefeatError(
                "every column is constant: nothing to learn",
                where,
                "train on columns whose values vary (check the data and --columns/--exclude)",
                python_hint=f"train on columns whose values vary (check {check})",
            )

    def scaler(self, impute: str, median_rows: np.ndarray) -> Scaler:
        """The fitted :class:`Scaler`. A column with no finite value gets min = max = 0 (and fill
        0). ``median_rows`` serve ``impute="median"``: every row in memory, a uniform sample of
        them when streamed (an exact streaming median would need the whole column)."""
        empty = self.count == 0
        lo = np.where(empty, 0.0, self.lo)
        hi = np.where(empty, 0.0, self.hi)
        fill = None
        if impute == "mean":
            fill = np.divide(self.total, self.count, out=np.zeros_like(self.total), where=~empty)
        elif impute == "median":
            rows = np.asarray(median_rows, dtype=np.float64)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: filled below
                fill = np.nanmedian(np.where(np.isfinite(rows), rows, np.nan), axis=0)
            fill = np.nan_to_num(fill, nan=0.0)
        elif impute == "zero":
            fill = np.zeros(len(lo))
        return Scaler(lo, hi, fill)


def check_training_data(
    stats: ColumnStats,
    columns: list[str],
    where: str | None,
    impute: str,
    *,
    latent_dim: int | float,
    validation_split: float,
) -> None:
    """Every refusal of the rows training gathered ``stats`` over, in one order, for every way
    to train: ``aefeat train`` (in memory, streamed, sampled), ``fit``, ``fit_chunks`` and
    ``fit_files``. Missing or infinite values without ``impute`` (or a column with nothing to
    impute from), values too large, too few rows, every column constant (checked after too
    few rows: one row is constant too). ``where`` names the data (its file, or the line of the
    first missing value); None for arrays given to the Python API."""
    stats.check_values(columns, where, impute)
    check_ranges(stats.lo, stats.hi, columns, where)
    check_sizes(latent_dim, validation_split, n_rows=stats.n_rows, source=where)
    stats.check_varies(where, impute)
