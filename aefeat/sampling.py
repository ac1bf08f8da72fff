"""Scanning inputs for ``--max-rows`` and ``--dask`` training: per-column statistics and a uniform
sample of rows, the same whether the inputs are read here one after another or as Dask tasks.

Every row gets a random key drawn from (seed, input number, row number), and the sample is the
rows with the smallest keys: a uniform sample without replacement whose rows do not depend on
how the data is cut into chunks, tasks or workers. The sample is returned in input order (file,
then row), so a sample as large as the data is the data itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from aefeat.core.prepare import ColumnStats, check_some_values, no_rows_error

if TYPE_CHECKING:
    from aefeat.io.sources import CsvFormat

# --max-rows under --dask, and the sample `train` reads from a single larger file: a dense
# autoencoder's step budget sees about 3 million rows, and 1 million trained as well as 3 here.
DEFAULT_SAMPLE_ROWS = 1_000_000
DASK_SAMPLE_ROWS = DEFAULT_SAMPLE_ROWS
_ROW_BITS = 40  # a position is input number << 40 | row number: 10**12 rows per input


@dataclass
class Scan:
    """What a scan of one or more inputs found."""

    stats: dict[int, ColumnStats]  # per input, by input number
    keys: np.ndarray  # (m,) the sample's random keys
    positions: np.ndarray  # (m,) input number << 40 | row number
    rows: np.ndarray  # (m, columns) raw values, float64

    @property
    def n_rows(self) -> int:
        return sum(s.n_rows for s in self.stats.values())

    def sample(self) -> np.ndarray:
        """The sampled rows in input order."""
        return self.rows[np.argsort(self.positions, kind="stable")]


def _smallest(keys: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest keys (all of them when there are fewer)."""
    if len(keys) <= k:
        return np.arange(len(keys))
    return np.argpartition(keys, k - 1)[:k]


def scan_chunks(
    chunks: Iterable[np.ndarray], n_cols: int, size: int, seed: int, index: int
) -> Scan:
    """Scan input number ``index`` (its float64 chunks of feature columns): statistics and the
    rows with the ``size`` smallest keys. Memory: about twice the sample."""
    rng = np.random.default_rng([seed, index])
    stats = ColumnStats(n_cols)
    keys = np.empty(0)
    positions = np.empty(0, dtype=np.int64)
    rows = np.empty((0, n_cols))
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    n_pending = 0
    threshold = np.inf  # a row whose key is not below the size-th smallest so far cannot enter
    for X in chunks:
        start = stats.n_rows
        stats.update(X)
        u = rng.random(len(X))  # one draw per row, however the rows are chunked
        take = np.flatnonzero(u < threshold)
        if len(take):
            pending.append((u[take], start + take + (index << _ROW_BITS), X[take]))
            n_pending += len(take)
        if n_pending > max(size, 4096):
            keys, positions, rows = _compact(keys, positions, rows, pending, size)
            pending, n_pending = [], 0
            if len(keys) == size:
                threshold = keys.max()
    keys, positions, rows = _compact(keys, positions, rows, pending, size)
    return Scan({index: stats}, keys, positions, rows)


def _compact(keys, positions, rows, pending, size):
    if pending:
        keys = np.concatenate([keys, *(p[0] for p in pending)])
        positions = np.concatenate([positions, *(p[1] for p in pending)])
        rows = np.concatenate([rows, *(p[2] for p in pending)])
    keep = _smallest(keys, size)
    return keys[keep], positions[keep], rows[keep]


def merge(scans: list[Scan], size: int) -> Scan:
    """One scan of all their inputs from scans of some of them, in any order or grouping."""
    keys = np.concatenate([s.keys for s in scans])
    keep = _smallest(keys, size)
    return Scan(
        {i: st for scan in scans for i, st in scan.stats.items()},
        keys[keep],
        np.concatenate([s.positions for s in scans])[keep],
        np.concatenate([s.rows for s in scans])[keep],
    )


def check_scan(scan: Scan, columns: list[str], names: list[str], impute: str) -> None:
    """Refuse a scan with no rows, or with missing or infinite values when nothing imputes them,
    naming the first input (``names``, in input order) that holds them."""
    if scan.n_rows == 0:
        raise no_rows_error(", ".join(names[:3]))
    if impute != "none":
        # A column empty in one input may have values in another: count over all of them.
        count = sum(st.count for st in scan.stats.values())
        check_some_values(count, columns, ", ".join(names[:3]))
        return
    for i in sorted(scan.stats):
        scan.stats[i].check_values(columns, names[i], impute)


def scan_inputs(
    paths: list[str],
    features: list[str],
    size: int,
    seed: int,
    fmt: CsvFormat | None = None,
) -> Scan:
    """Scan the files (or ``-``) one after another here; equal to :func:`aefeat.dask.scan_files`
    on a cluster."""
    return merge(
        [scan_file(p, i, features, size, seed, fmt) for i, p in enumerate(paths)],
        size,
    )


def scan_file(
    path: str,
    index: int,
    features: list[str],
    size: int,
    seed: int,
    fmt: CsvFormat | None = None,
    storage: dict[str, Any] | None = None,
) -> Scan:
    """Scan input number ``index`` (a file, a URL, or ``-`` for stdin): also what each Dask task
    runs, with the ``storage`` options of ``--storage-option`` for a URL."""
    from aefeat.io import remote
    from aefeat.stream import ChunkedInput

    with remote.storage_options(storage or {}, [path]):
        chunks = ChunkedInput([path], features, fmt).chunks()
        return scan_chunks(chunks, len(features), size, seed, index)
