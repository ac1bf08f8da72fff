"""Training on inputs larger than memory: one pass for scaling statistics, a reservoir sample and
the row count; one for the PCA start (exact, from the rows' covariance) and the validation rows; then each
pass streams shuffled batches from disk, for as many steps as the training budget allows. Memory stays at a few chunks plus the samples."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from aefeat.core.config import TrainOptions
from aefeat.core.network import NetworkSpec
from aefeat.core.pca import MAX_COLUMNS, BlockPCA
from aefeat.core.prepare import (
    ColumnStats,
    Scaler,
    check_training_data,
    first_bad_at,
    first_nonfinite_row,
    missing_columns_error,
    no_rows_error,
)
from aefeat.errors import AefeatError
from aefeat.io import remote
from aefeat.io.sources import GZIP_MAGIC, CsvFormat, Source, open_source, reads_once

MAX_VALIDATION_ROWS = 50_000
SHUFFLE_ROWS = 65_536


def should_stream(paths: list[str]) -> bool:
    """Stream when there are several files, or loading them would not fit in the memory
    available now (estimated from the file sizes). In memory, training reads the data once;
    streamed, it reads it two times more, plus once per pass."""
    if len(paths) == 1 and reads_once(paths[0]):  # stdin or a pipe: no size, read once
        return False
    return len(paths) > 1 or not fits_in_memory(sum(text_size(p) for p in paths))


def check_read_again(paths: list[str]) -> None:
    """Refuse to stream stdin or a pipe (``<(cmd)``, ``/dev/stdin``, a FIFO): streaming reads
    the data several times, and a pipe opened again is drained (or, a named FIFO, waits for a
    writer for ever). For ``train --stream`` and ``fit_files`` alike."""
    once = next((p for p in paths if reads_once(p)), None)
    if once is not None:
        raise AefeatError(
            "--stream reads the data several times, which stdin or a pipe cannot do",
            "--stream",
            "pass a file, or use --max-rows to train on a sample",
            python_what=f"fit_files reads its files several times, which a pipe or stdin "
            f"({once}) cannot do",
            python_where="paths",
            python_hint="pass files, or read the data into memory and call fit()",
        )


# A gzipped CSV of numbers is 2 to 6 times smaller than its text (6.3 times measured on a
# repetitive table): compressed inputs count as this many times their size, or as what a gzip
# trailer says when that is more. Parquet counts as its values written as 8-byte text fields.
COMPRESSION_RATIO = 4


def text_size(path: str) -> int:
    """About how many bytes of CSV text the input ``path`` amounts to, for the memory estimate
    (a compressed file loads as its text does, not as its size on disk)."""
    size = remote.size(path)
    spec = remote.local_path(path)
    if remote.is_url(spec):
        compressed = spec.lower().endswith((".gz", ".parquet"))
        return size * COMPRESSION_RATIO if compressed else size
    if spec.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        meta = pq.read_metadata(spec)
        return max(size, meta.num_rows * meta.num_columns * 8)
    with open(spec, "rb") as fh:
        if fh.read(2) != GZIP_MAGIC or size < 6:
            return size
        fh.seek(-4, 2)
        # The last member's uncompressed size, modulo 4 GiB: a lower bound at best.
        trailer = int.from_bytes(fh.read(4), "little")
    return max(size * COMPRESSION_RATIO, trailer)


# Loading a CSV holds its parsed table and a float64 matrix, each about the size of the text
# (8 bytes per value against ~8-10 characters), then a float32 copy for training.
LOAD_BYTES_PER_FILE_BYTE = 2.5


def fits_in_memory(file_bytes: int) -> bool:
    """Whether loading files of ``file_bytes`` in all should fit in the memory available now."""
    available = available_memory()
    return available is None or file_bytes * LOAD_BYTES_PER_FILE_BYTE < 0.8 * available


def available_memory() -> int | None:
    """Bytes of memory available to this process now, or None: Linux's ``MemAvailable``, or
    less when a container's memory limit (cgroup v2 or v1) leaves less; a container's
    ``/proc/meminfo`` shows the host's memory."""
    found = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit, usage in _CGROUP_FILES:
        try:
            with open(limit, encoding="ascii") as fh:
                text = fh.read().strip()
            with open(usage, encoding="ascii") as fh:
                used = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if text.isdigit() and int(text) < 2**60:  # "max" or a huge number: no limit
            left = max(int(text) - used, 0)
            found = left if found is None else min(found, left)
        break
    return found


_CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)


@dataclass
class ChunkedInput:
    """One or more files with the same feature columns, read chunk by chunk, as often as needed."""

    paths: list[str]
    features: list[str]
    fmt: CsvFormat | None = None  # None: the defaults

    def open(self, path: str) -> Source:
        source = open_source(path, self.fmt)
        present = set(source.header)
        missing = [c for c in self.features if c not in present]
        if missing:
            raise missing_columns_error(
                missing,
                "column",
                source.name,
                "every file must have the feature columns",
                source.header,
            )
        source.check_types(self.features)  # each Parquet file's types, before its rows
        return source

    def chunks(self) -> Iterator[np.ndarray]:
        """Float64 chunks of the feature columns (NaN where a cell is missing), in file order."""
        for path in self.paths:
            yield from self.open(path).numeric_chunks(self.features)


class Reservoir:
    """A uniform sample of ``size`` rows from a stream (Algorithm R, one chunk at a time)."""

    def __init__(self, size: int, n_cols: int, rng: np.random.Generator) -> None:
        self.rows = np.empty((size, n_cols))
        self.size = size
        self.seen = 0
        self._rng = rng

    def add(self, X: np.ndarray) -> None:
        n = len(X)
        fill = max(0, min(self.size - self.seen, n))
        self.rows[self.seen : self.seen + fill] = X[:fill]
        if fill < n:
            positions = np.arange(self.seen + fill + 1, self.seen + n + 1)
            slots = self._rng.integers(0, positions)
            take = np.nonzero(slots < self.size)[0]
            for i in take:  # in order: a later row may replace an earlier one
                self.rows[slots[i]] = X[fill + i]
        self.seen += n

    def sample(self) -> np.ndarray:
        return self.rows[: min(self.size, self.seen)]


@dataclass
class StreamStats:
    scaler: Scaler
    n_rows: int
    sample: np.ndarray


def first_pass(
    inp: ChunkedInput,
    impute: str,
    seed: int,
    sample_size: int,
    *,
    latent_dim: int | float,
    validation_split: float,
) -> StreamStats:
    """Min, max, fill values and bad-value counts of every column, the row count and a sample,
    of rows training accepts (see :func:`aefeat.core.prepare.check_training_data`)."""
    stats = ColumnStats(len(inp.features))
    reservoir = Reservoir(sample_size, len(inp.features), np.random.default_rng(seed))
    first_bad: tuple[Source, int] | None = None  # the file and row of the first bad value
    for path in inp.paths:
        source, rows = inp.open(path), 0
        for X in source.numeric_chunks(inp.features):
            seen_bad = stats.n_bad
            stats.update(X)
            if first_bad is None and stats.n_bad > seen_bad:  # searched only then
                first_bad = (source, rows + first_nonfinite_row(X))
            reservoir.add(X)
            rows += len(X)
    where = ", ".join(inp.paths[:3])
    if stats.n_rows == 0:
        raise no_rows_error(where)
    if first_bad is not None and impute == "none":
        source, row = first_bad
        # The file (and line) holding it, not the first files.
        where = first_bad_at(source.where_row(row), stats.n_bad)
    check_training_data(
        stats,
        inp.features,
        where,
        impute,
        latent_dim=latent_dim,
        validation_split=validation_split,
    )
    scaler = stats.scaler(impute, median_rows=reservoir.sample())
    return StreamStats(scaler, stats.n_rows, reservoir.sample())


def _validation_mask(n: int, share: float, seed: int, chunk: int) -> np.ndarray:
    # Seeded by chunk number, so every pass over the files picks the same validation rows.
    return np.random.default_rng([seed, chunk]).random(n) < share


def pca_pass(
    inp: ChunkedInput, scaler: Scaler, latent_dim: int | None, share: float, seed: int
) -> tuple[Any, Any, np.ndarray]:
    """PCA of the scaled training rows (the start and baseline), PCA of all rows (the model kept
    if training does not beat PCA), each with a ``components(k)`` method (see
    :class:`aefeat.core.pca.BlockPCA`), and the (scaled) validation rows."""
    d = len(inp.features)
    if d <= MAX_COLUMNS:
        train, every = BlockPCA(d), BlockPCA(d)
    else:
        train, every = _WidePCA(d, latent_dim), _WidePCA(d, latent_dim)
    val_parts: list[np.ndarray] = []
    for i, X in enumerate(inp.chunks()):
        S = scaler.prepare(X)
        mask = _validation_mask(len(S), share, seed, i)
        val_parts.append(S[mask])
        train.add(S[~mask])
        every.add(S)
    val = np.concatenate(val_parts) if val_parts else np.empty((0, d))
    return train, every, val


class _WidePCA:
    """scikit-learn's IncrementalPCA, for more columns than a covariance matrix is kept for:
    the same ``add`` and ``components`` as :class:`BlockPCA`, approximate where it is exact."""

    def __init__(self, n_features: int, n_components: int | None) -> None:
        self.n_components = n_components
        # partial_fit needs at least as many rows as components (None: all of them)
        self._need = max(n_features if n_components is None else n_components, 256)
        self._carry = np.empty((0, n_features))
        self._model: Any = None

    def add(self, block: np.ndarray) -> None:
        self._carry = np.concatenate([self._carry, block]) if len(self._carry) else block
        if len(self._carry) >= self._need:
            self._fit(self._carry)
            self._carry = self._carry[:0]

    def _fit(self, rows: np.ndarray) -> None:
        from sklearn.decomposition import IncrementalPCA

        if self._model is None:
            self._model = IncrementalPCA(n_components=self.n_components)
        self._model.partial_fit(rows)

    def components(self, n_components: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self._carry) and (
            self._model is None or len(self._carry) >= self._model.n_components_
        ):
            self._fit(self._carry)
            self._carry = self._carry[:0]
        m = self._model
        k = len(m.components_) if n_components is None else n_components
        return m.components_[:k], m.mean_, m.explained_variance_ratio_[:k]


def batch_generator(
    inp: ChunkedInput, scaler: Scaler, share: float, seed: int, batch_size: int, shuffle: bool
) -> Callable[[], Iterator[np.ndarray]]:
    """A callable giving endless shuffled float32 training rows, pass after pass over the files,
    as blocks of shape (batches, batch_size, columns) (the form ``fit_from_start`` trains on).
    The rows left over at the end of a pass start the next pass's first batch, as in memory: no
    step trains on a short batch."""

    def generate() -> Iterator[np.ndarray]:
        d = len(inp.features)
        buffer = np.empty((0, d), dtype=np.float32)
        for epoch in range(2**62):
            rng = np.random.default_rng([seed, 1_000_003, epoch])
            for i, X in enumerate(inp.chunks()):
                S = scaler.prepare(X)
                rows = S[~_validation_mask(len(S), share, seed, i)].astype(np.float32)
                buffer = np.concatenate([buffer, rows]) if len(buffer) else rows
                if len(buffer) >= SHUFFLE_ROWS:
                    buffer = yield from _whole_batches(buffer, batch_size, rng if shuffle else None)
            buffer = yield from _whole_batches(buffer, batch_size, rng if shuffle else None)

    return generate


def _whole_batches(
    buffer: np.ndarray, batch_size: int, rng: np.random.Generator | None
) -> Generator[np.ndarray, None, np.ndarray]:
    """Yield the whole batches of ``buffer`` (shuffled first, given ``rng``) as one block; return
    the rows left over."""
    if rng is not None:
        buffer = buffer[rng.permutation(len(buffer))]
    usable = len(buffer) // batch_size * batch_size
    if usable:
        yield buffer[:usable].reshape(-1, batch_size, buffer.shape[1])
    return buffer[usable:]


def train_streaming(
    inp: ChunkedInput,
    spec: NetworkSpec,
    options: TrainOptions,
    *,
    impute: str,
    sample_size: int,
    latent_fraction: float | None = None,
    on_epoch: Any = None,
) -> tuple[Any, Scaler, np.ndarray]:
    """Train on ``inp`` without loading it: returns (TrainResult, Scaler, raw sample rows).

    With ``latent_fraction`` (``latent_dim=0.95``), ``spec.latent_dim`` is replaced by the
    smallest size whose PCA start keeps that share of the variance."""
    import dataclasses
    import time

    from aefeat.keras_backend.fit import choose_latent_dim, fit_from_start, resolve_batch_size

    o = options
    seed = o.seed
    started = time.perf_counter()
    requested = spec.latent_dim if latent_fraction is None else latent_fraction
    stats = first_pass(
        inp,
        impute,
        seed,
        max(sample_size, 10_000),
        latent_dim=requested,
        validation_split=o.validation_split,
    )
    share = min(o.validation_split, MAX_VALIDATION_ROWS / stats.n_rows)
    n_components = spec.latent_dim if latent_fraction is None else None
    pca_train, pca_all, S_val = pca_pass(inp, stats.scaler, n_components, share, seed)
    if len(S_val) == 0:
        raise AefeatError(
            "no validation rows were drawn",
            "--validation-split",
            "use a larger split",
            python_where="validation_split",
        )
    components, mean, ratios = pca_train.components(n_components)
    if latent_fraction is not None:
        k = choose_latent_dim(ratios, latent_fraction)
        spec = dataclasses.replace(spec, latent_dim=k)
        components, ratios = components[:k], ratios[:k]
    X_val = S_val.astype(np.float32)
    n_train = stats.n_rows - len(S_val)
    bs = resolve_batch_size(o.batch_size, n_train)
    train_sample = stats.scaler.prepare(stats.sample[: min(len(stats.sample), 10_000)]).astype(
        np.float32
    )
    k = spec.latent_dim
    result = fit_from_start(
        spec,
        components,
        mean,
        batch_generator(inp, stats.scaler, share, seed, bs, o.shuffle),
        X_val,
        o,
        train_sample=train_sample,
        n_train=n_train,
        batch_size=bs,
        on_epoch=on_epoch,
        pca_explained_variance=float(ratios.sum()),
        pca_of_all_rows=lambda: pca_all.components(k)[:2],
        started=started,
    )
    # A random subset of the reservoir: its first slots are the file's first rows.
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(stats.sample), min(sample_size, len(stats.sample)), replace=False)
    return result, stats.scaler, stats.sample[np.sort(keep)]
