"""The encode kernel: raw feature rows in, latent values (and each row's reconstruction error) out.

One kernel serves every driver: ``aefeat encode`` (chunk by chunk), the Dask and Spark helpers
(partition by partition) and the scikit-learn estimator, so their outputs agree bit for bit.
NumPy only: no TensorFlow, scikit-learn or pandas.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from aefeat.core.network import DenseNetwork
from aefeat.core.prepare import Scaler
from aefeat.errors import AefeatError

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class EncodeKernel:
    """A trained model's scaler and network, ready to encode raw rows.

    The MinMax scaling is folded into the encoder's first layers (one pass less over every
    chunk); the network computes in float64, so results do not depend on how rows are chunked.
    """

    def __init__(self, scaler: Scaler, network: DenseNetwork, columns: list[str]) -> None:
        self.scaler = scaler
        self.network = network
        self.columns = list(columns)
        self._raw_network = network.with_input_scaling(scaler.data_min, scaler.data_range)

    @property
    def latent_dim(self) -> int:
        return self.network.spec.latent_dim

    def fill(self, X: np.ndarray, where: Callable[[int], str]) -> int:
        """Fill missing and infinite cells of the float64 array ``X`` in place with the training
        values; returns how many there were. A model trained without ``--impute`` refuses them,
        naming the column and ``where(row index)``."""
        if self.scaler.fill is None:
            bad = ~np.isfinite(X)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise AefeatError(
                    f"missing or infinite value in column {self.columns[col]!r}",
                    where(int(row)),
                    "fix the data, or retrain with --impute mean|median|zero",
                    python_hint="fix the data, or retrain with impute='mean', 'median' or 'zero'",
                )
            return 0
        return self.scaler.fill_missing(X)

    def encode(
        self,
        X: np.ndarray,
        with_error: bool = False,
        where: Callable[[int], str] = lambda row: f"row {row}",
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Latent values of the filled raw rows ``X`` (float64), and with ``with_error`` each
        row's mean squared reconstruction error in scaled units (else None). A row whose
        results would not fit a float32 (values far beyond the training range) is refused,
        naming its largest value and ``where(row index)``: an ``inf`` in the output would pass
        for a result."""
        Z = self._raw_network.encode(X)
        err = None
        if with_error:
            diff = self.network.decode(Z) - self.scaler.transform(X)
            err = np.mean(diff * diff, axis=1)
        ok = np.all(np.abs(Z) <= _FLOAT32_MAX, axis=1)
        if err is not None:
            ok &= np.abs(err) <= _FLOAT32_MAX
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            col = int(np.argmax(np.abs(self.scaler.transform(X[row : row + 1])[0])))
            raise AefeatError(
                f"value too far outside the training range to encode in column "
                f"{self.columns[col]!r} ({X[row, col]:.3g}; trained on "
                f"{self.scaler.data_min[col]:.3g} to {self.scaler.data_max[col]:.3g})",
                where(row),
                "fix or drop that row",
            )
        return Z, err
