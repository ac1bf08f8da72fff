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
                )
            return 0
        return self.scaler.fill_missing(X)

    def encode(
        self, X: np.ndarray, with_error: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Latent values of the filled raw rows ``X`` (float64), and with ``with_error`` each
        row's mean squared reconstruction error in scaled units (else None)."""
        Z = self._raw_network.encode(X)
        if not with_error:
            return Z, None
        diff = self.network.decode(Z) - self.scaler.transform(X)
        return Z, np.mean(diff * diff, axis=1)
