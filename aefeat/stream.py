"""Training on inputs larger than memory: one pass for scaling statistics, a reservoir sample and
the row count; one for scikit-learn's ``IncrementalPCA`` start and the validation rows; then each
pass streams shuffled batches from disk, for as many steps as the training budget allows. Memory stays at a few chunks plus the samples."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aefeat.data import Source, describe_bad_values, open_source
from aefeat.errors import AefeatError
from aefeat.scaling import Scaler, check_ranges

MAX_VALIDATION_ROWS = 50_000
SHUFFLE_ROWS = 65_536


def expand_inputs(spec: str) -> list[str]:
    """``spec`` as a list of files: itself, or the sorted matches of a glob such as 'data/*.csv'."""
    if spec == "-" or Path(spec).exists() or not glob.has_magic(spec):
        return [spec]
    matches = sorted(p for p in glob.glob(spec) if Path(p).is_file())
    if not matches:
        raise AefeatError(
            "no files match the pattern", spec, "check the glob and quote it for the shell"
        )
    return matches


def should_stream(paths: list[str]) -> bool:
    """Stream when there are several files, or loading them would not fit in the memory
    available now (estimated from the file sizes). In memory, training reads the data once;
    streamed, it reads it two times more, plus once per pass."""
    if paths == ["-"]:
        return False
    return len(paths) > 1 or not fits_in_memory(sum(os.path.getsize(p) for p in paths))


# Loading a CSV holds its parsed table and a float64 matrix, each about the size of the text
# (8 bytes per value against ~8-10 characters), then a float32 copy for training.
LOAD_BYTES_PER_FILE_BYTE = 2.5


def fits_in_memory(file_bytes: int) -> bool:
    """Whether loading files of ``file_bytes`` in all should fit in the memory available now."""
    available = available_memory()
    return available is None or file_bytes * LOAD_BYTES_PER_FILE_BYTE < 0.8 * available


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass
class ChunkedInput:
    """One or more files with the same feature columns, read chunk by chunk, as often as needed."""

    paths: list[str]
    features: list[str]
    delimiter: str = ","
    encoding: str = "utf-8"

    def open(self, path: str) -> Source:
        if path == "-":
            raise AefeatError(
                "streaming training reads its input several times",
                "<stdin>",
                "pass a file instead of -",
            )
        source = open_source(path, self.delimiter, self.encoding)
        present = set(source.header)
        missing = [c for c in self.features if c not in present]
        if missing:
            raise AefeatError(
                "columns " + ", ".join(repr(m) for m in missing) + " missing",
                source.name,
                "every file must have the feature columns",
            )
        return source

    def chunks(self) -> Iterator[np.ndarray]:
        """Float64 chunks of the feature columns (NaN where a cell is missing), in file order."""
        for path in self.paths:
            source = self.open(path)
            for batch in source.iter_batches(self.features, []):
                yield source.to_matrix(batch, self.features, np.float64)


class _Reservoir:
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


def sample_rows(inp: ChunkedInput, n_rows: int, seed: int = 0) -> np.ndarray:
    """A uniform sample of ``n_rows`` rows (all rows when there are fewer), in one pass."""
    reservoir = _Reservoir(n_rows, len(inp.features), np.random.default_rng(seed))
    for X in inp.chunks():
        reservoir.add(X)
    return reservoir.sample()


@dataclass
class StreamStats:
    scaler: Scaler
    n_rows: int
    sample: np.ndarray


def first_pass(inp: ChunkedInput, impute: str, seed: int, sample_size: int) -> StreamStats:
    """Min, max, fill values and bad-value counts of every column, the row count and a sample."""
    d = len(inp.features)
    lo, hi = np.full(d, np.inf), np.full(d, -np.inf)
    total, count = np.zeros(d), np.zeros(d)
    nan, inf = np.zeros(d, dtype=np.int64), np.zeros(d, dtype=np.int64)
    reservoir = _Reservoir(sample_size, d, np.random.default_rng(seed))
    for X in inp.chunks():
        finite = np.isfinite(X)
        nan += np.isnan(X).sum(axis=0)
        inf += np.isinf(X).sum(axis=0)
        lo = np.minimum(lo, np.where(finite, X, np.inf).min(axis=0))
        hi = np.maximum(hi, np.where(finite, X, -np.inf).max(axis=0))
        total += np.where(finite, X, 0).sum(axis=0)
        count += finite.sum(axis=0)
        reservoir.add(X)
    if reservoir.seen == 0:
        raise AefeatError("the input has no data rows", ", ".join(inp.paths[:3]), "add data rows")
    bad = {c: (int(nan[j]), int(inf[j])) for j, c in enumerate(inp.features) if nan[j] or inf[j]}
    if bad and impute == "none":
        raise AefeatError(
            "missing or infinite values in " + describe_bad_values(bad),
            ", ".join(inp.paths[:3]),
            "fill or drop them, or pass --impute mean|median|zero",
        )
    check_ranges(lo, hi, inp.features, ", ".join(inp.paths[:3]))
    empty = count == 0
    lo[empty], hi[empty] = 0.0, 0.0
    fill = None
    if impute == "mean":
        fill = np.divide(total, count, out=np.zeros(d), where=count > 0)
    elif impute == "median":
        # The median of a uniform sample: an exact streaming median would need the whole column.
        sample = reservoir.sample()
        with np.errstate(invalid="ignore"):
            fill = np.nan_to_num(
                np.nanmedian(np.where(np.isfinite(sample), sample, np.nan), axis=0)
            )
    elif impute == "zero":
        fill = np.zeros(d)
    return StreamStats(Scaler(lo, hi, fill), reservoir.seen, reservoir.sample())


def _validation_mask(n: int, share: float, seed: int, chunk: int) -> np.ndarray:
    # Seeded by chunk number, so every pass over the files picks the same validation rows.
    return np.random.default_rng([seed, chunk]).random(n) < share


def _prepare(scaler: Scaler, X: np.ndarray) -> np.ndarray:
    X = np.where(np.isfinite(X), X, np.nan)
    return scaler.transform(scaler.impute(X))


def pca_pass(
    inp: ChunkedInput, scaler: Scaler, latent_dim: int, share: float, seed: int
) -> tuple[Any, Any, np.ndarray]:
    """IncrementalPCA of the scaled training rows (the start and baseline), IncrementalPCA of all
    rows (the model kept if training does not beat PCA), and the (scaled) validation rows."""
    from sklearn.decomposition import IncrementalPCA

    ipca = IncrementalPCA(n_components=latent_dim)
    ipca_all = IncrementalPCA(n_components=latent_dim)
    val_parts: list[np.ndarray] = []
    carry = np.empty((0, len(inp.features)))
    carry_all = carry
    for i, X in enumerate(inp.chunks()):
        S = _prepare(scaler, X)
        mask = _validation_mask(len(S), share, seed, i)
        val_parts.append(S[mask])
        carry = np.concatenate([carry, S[~mask]]) if len(carry) else S[~mask]
        carry_all = np.concatenate([carry_all, S]) if len(carry_all) else S
        # partial_fit needs at least latent_dim rows
        if len(carry) >= max(latent_dim, 256):
            ipca.partial_fit(carry)
            carry = carry[:0]
        if len(carry_all) >= max(latent_dim, 256):
            ipca_all.partial_fit(carry_all)
            carry_all = carry_all[:0]
    for model, rest in ((ipca, carry), (ipca_all, carry_all)):
        if len(rest) and (not hasattr(model, "components_") or len(rest) >= latent_dim):
            model.partial_fit(rest)
    val = np.concatenate(val_parts) if val_parts else np.empty((0, len(inp.features)))
    return ipca, ipca_all, val


def batch_generator(
    inp: ChunkedInput, scaler: Scaler, share: float, seed: int, batch_size: int, shuffle: bool
) -> Callable[[], Iterator[np.ndarray]]:
    """A callable giving endless shuffled float32 training rows, pass after pass over the files,
    as blocks of shape (batches, batch_size, columns) (the form ``train.batches_dataset`` takes)."""

    def generate() -> Iterator[np.ndarray]:
        d = len(inp.features)
        for epoch in range(2**62):
            rng = np.random.default_rng([seed, 1_000_003, epoch])
            buffer = np.empty((0, d), dtype=np.float32)
            for i, X in enumerate(inp.chunks()):
                S = _prepare(scaler, X)
                rows = S[~_validation_mask(len(S), share, seed, i)].astype(np.float32)
                buffer = np.concatenate([buffer, rows]) if len(buffer) else rows
                if len(buffer) >= SHUFFLE_ROWS:
                    if shuffle:
                        buffer = buffer[rng.permutation(len(buffer))]
                    usable = len(buffer) // batch_size * batch_size
                    if usable:
                        yield buffer[:usable].reshape(-1, batch_size, d)
                    buffer = buffer[usable:]
            if len(buffer):
                if shuffle:
                    buffer = buffer[rng.permutation(len(buffer))]
                usable = len(buffer) // batch_size * batch_size
                if usable:
                    yield buffer[:usable].reshape(-1, batch_size, d)
                if usable < len(buffer):
                    yield buffer[usable:][None]

    return generate


def train_streaming(
    inp: ChunkedInput,
    spec: Any,
    *,
    impute: str,
    epochs: int | None,
    batch_size: int | str,
    learning_rate: float,
    validation_split: float,
    patience: int,
    shuffle: bool,
    seed: int,
    sample_size: int,
    max_time: float | None = None,
    on_epoch: Any = None,
) -> tuple[Any, Scaler, np.ndarray]:
    """Train on ``inp`` without loading it: returns (TrainResult, Scaler, raw sample rows)."""
    import time

    from aefeat.config import check_sizes
    from aefeat.train import auto_batch_size, fit_from_start

    started = time.perf_counter()
    stats = first_pass(inp, impute, seed, max(sample_size, 10_000))
    check_sizes(
        spec.latent_dim, validation_split, n_rows=stats.n_rows, source=", ".join(inp.paths[:3])
    )
    share = min(validation_split, MAX_VALIDATION_ROWS / stats.n_rows)
    ipca, ipca_all, S_val = pca_pass(inp, stats.scaler, spec.latent_dim, share, seed)
    if len(S_val) == 0:
        raise AefeatError(
            "no validation rows were drawn", "--validation-split", "use a larger split"
        )
    X_val = S_val.astype(np.float32)
    n_train = stats.n_rows - len(S_val)
    bs = auto_batch_size(n_train) if batch_size == "auto" else int(batch_size)
    bs = max(1, min(bs, n_train))
    train_sample = _prepare(stats.scaler, stats.sample[: min(len(stats.sample), 10_000)]).astype(
        np.float32
    )
    result = fit_from_start(
        spec,
        ipca.components_,
        ipca.mean_,
        batch_generator(inp, stats.scaler, share, seed, bs, shuffle),
        X_val,
        train_sample=train_sample,
        n_train=n_train,
        batch_size=bs,
        epochs=epochs,
        learning_rate=learning_rate,
        patience=patience,
        seed=seed,
        max_time=max_time,
        on_epoch=on_epoch,
        pca_explained_variance=float(ipca.explained_variance_ratio_.sum()),
        pca_of_all_rows=lambda: (ipca_all.components_, ipca_all.mean_),
        started=started,
    )
    # A random subset of the reservoir: its first slots are the file's first rows.
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(stats.sample), min(sample_size, len(stats.sample)), replace=False)
    return result, stats.scaler, stats.sample[np.sort(keep)]
