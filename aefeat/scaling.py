"""MinMax scaling and missing-value imputation statistics, stored as JSON and applied with NumPy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aefeat.errors import AefeatError

# float32 training and the exported Keras files (variance = span**2) cannot hold more.
MAX_SPAN = 1e19
MAX_ABS = 1e36


def check_ranges(lo: np.ndarray, hi: np.ndarray, features: list[str], name: str) -> None:
    """Refuse columns whose finite values span more than float32 training can represent.
    ``lo``/``hi`` are per-column minimum and maximum (inf/-inf for a column with none)."""
    with np.errstate(over="ignore", invalid="ignore"):
        span = hi - lo
        big = np.isfinite(lo) & ((span > MAX_SPAN) | (np.maximum(abs(lo), abs(hi)) > MAX_ABS))
    too_big = [f"{features[j]!r} (from {lo[j]:.3g} to {hi[j]:.3g})" for j in np.flatnonzero(big)]
    if too_big:
        raise AefeatError(
            "values too large to train on in " + ", ".join(too_big[:5]),
            name,
            f"rescale those columns to a span below {MAX_SPAN:.0e} (e.g. divide or take logs), "
            "or --exclude them",
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
        """Statistics of the finite values of each column of ``X`` (NaN ignored)."""
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            finite = np.where(np.isfinite(X), X, np.nan)
            all_missing = np.isnan(finite).all(axis=0)
            finite[:, all_missing] = 0.0
            data_min = np.nanmin(finite, axis=0)
            data_max = np.nanmax(finite, axis=0)
            fill = None
            if impute == "mean":
                fill = np.nanmean(finite, axis=0)
            elif impute == "median":
                fill = np.nanmedian(finite, axis=0)
            elif impute == "zero":
                fill = np.zeros(X.shape[1])
        return cls(data_min, data_max, fill)

    def impute(self, X: np.ndarray) -> np.ndarray:
        """Replace NaN cells with the training fill values (in place when possible)."""
        if self.fill is None:
            return X
        mask = np.isnan(X)
        if mask.any():
            X = np.array(X, copy=True) if not X.flags.writeable else X
            X[mask] = np.broadcast_to(self.fill.astype(X.dtype), X.shape)[mask]
        return X

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
