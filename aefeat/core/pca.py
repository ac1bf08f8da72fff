"""PCA of rows given in blocks: the rows' mean and covariance accumulated in float64, then one
eigendecomposition. The result is PCA of all the rows at once (not an approximation, as
scikit-learn's ``IncrementalPCA`` is), without a float64 copy of the whole matrix. In-memory and
streamed training take their PCA start, and the PCA kept when the network does not beat it,
from here.

:func:`largest_components` holds the one rule for when the few largest components of a large
table come from ARPACK instead of a full decomposition, for training's PCA start and inspect's
PCA baseline alike."""

from __future__ import annotations

from typing import Any

import numpy as np

# A d x d float64 covariance is 128 MiB at this width; wider data use other means.
MAX_COLUMNS = 4096
# Rows converted to float64 at a time: a whole matrix given to ``add`` is never copied at once.
BLOCK_ROWS = 65_536


class BlockPCA:
    """Add row blocks with :meth:`add`, then :meth:`components` gives PCA of every row added."""

    def __init__(self, n_features: int) -> None:
        self.n_rows = 0
        self._shift: np.ndarray | None = None
        self._total = np.zeros(n_features)
        self._gram = np.zeros((n_features, n_features))

    def add(self, rows: Any) -> None:
        """Add ``rows``: an array, or anything with ``len`` and row slices giving arrays."""
        for start in range(0, len(rows), BLOCK_ROWS):
            block = np.asarray(rows[start : start + BLOCK_ROWS], dtype=np.float64)
            if self._shift is None:
                # Sums of rows moved by a rough mean: E[x x'] - m m' then loses far fewer digits.
                self._shift = block.mean(axis=0)
            block = block - self._shift
            self.n_rows += len(block)
            self._total += block.sum(axis=0)
            self._gram += block.T @ block

    def components(self, n_components: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(components (K x D), mean (D,), explained variance ratio of each of the K), for the
        ``n_components`` largest components, or all of them for None."""
        d = len(self._total)
        n = max(self.n_rows, 1)
        shift = self._shift if self._shift is not None else np.zeros(d)
        centre = self._total / n
        cov = (self._gram - n * np.outer(centre, centre)) / max(n - 1, 1)
        values, vectors = np.linalg.eigh(cov)
        k = d if n_components is None else n_components
        order = np.argsort(values)[::-1][:k]
        components = vectors[:, order].T
        # scikit-learn's sign convention (largest |loading| positive), for stable output signs.
        signs = np.sign(components[np.arange(len(order)), np.abs(components).argmax(axis=1)])
        components *= np.where(signs == 0, 1, signs)[:, None]
        values = np.clip(values, 0, None)
        ratios = values[order] / max(values.sum(), 1e-300)
        return components, centre + shift, ratios


def largest_components(
    X: Any, n_components: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(components (K x D), mean (D,), explained variance ratio of each of the K) of the
    ``n_components`` largest principal components of ``X`` (an array, or anything with ``shape``
    and ``astype``) by ARPACK, when only a few of a large table's components are asked for;
    None otherwise: the caller's own full decomposition is then quick, and its results stay
    exactly what they were.

    A full SVD of a wide table costs about a minute (2,400 x 4,000: 55 s, twice per training)
    where its few largest components take a second by ARPACK, the same to about 1e-15. The
    result is scikit-learn's ``PCA(svd_solver="arpack", random_state=0)``'s, computed as it
    does, without importing scikit-learn (``inspect`` does not)."""
    n, d = X.shape
    side = min(n, d)
    # Below these sizes the full decomposition is quick enough, and its results stay as they
    # were (no test or benchmark figure moves). ARPACK's time grows with the components asked
    # for: on 3,000 x 4,000 it took 0.18 / 0.67 / 0.88 / 1.58 of a full SVD's for 30 / 100 /
    # 150 / 300 of them, so it is used up to a 30th of the smaller side.
    if n_components is None or side <= 1000 or n_components > side // 30:
        return None
    from scipy.sparse.linalg import svds

    centred = X.astype(np.float64)  # a copy: centred in place below
    mean = centred.mean(axis=0)
    centred -= mean
    # scikit-learn's starting vector for random_state=0, so training's PCA start is unchanged.
    v0 = np.random.RandomState(0).uniform(-1, 1, side)
    _, values, components = svds(centred, k=n_components, tol=0, v0=v0)
    # svds gives the largest last; scikit-learn's sign convention (largest |loading| positive).
    values, components = values[::-1], components[::-1]
    signs = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
    components *= signs[:, None]
    # The total variance is the trace of the covariance (the sum of the column variances):
    # the full spectrum is never needed.
    centred **= 2
    total = centred.sum() / (n - 1)
    return components, mean, values**2 / (n - 1) / total
