"""Fitting a model, without scikit-learn: parameters checked against the one parameter table,
rows (held as chunks) or files in, a :class:`FittedModel` out, written as a model directory.

:class:`aefeat.AutoencoderTransformer` wraps these functions for scikit-learn; ``aefeat train``
calls them directly, which spares every run of the command scikit-learn's import (a second on
this project's machines, a fifth of a small training run)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aefeat.core.config import (
    TrainOptions,
    check_encoding,
    check_named_once,
    check_sizes,
    split_sizes,
)
from aefeat.core.network import DenseNetwork, NetworkSpec
from aefeat.core.params import PARAMS
from aefeat.core.prepare import (
    ColumnStats,
    Scaler,
    check_training_data,
    first_bad_at,
    first_nonfinite_in,
)
from aefeat.errors import AefeatError

if TYPE_CHECKING:
    from aefeat.io.sources import CsvFormat

_BLOCK = 65_536  # rows scaled at a time: no float64 copy of the whole matrix

SAMPLE_ROWS = 1000  # training rows kept in the model directory (for inspect)


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """The estimator's parameters (``get_params()`` or ``TrainConfig.model_params()``) checked
    against the parameter table, with NumPy scalars as plain Python values and ``hidden`` as a
    tuple. Raises :class:`~aefeat.errors.AefeatError` (a ``ValueError``) naming the parameter."""
    params = {key: _plain(value) for key, value in params.items()}
    hidden = params["hidden"]
    if isinstance(hidden, (list, tuple, np.ndarray)):
        params["hidden"] = [_plain(u) for u in hidden]
    for spec in PARAMS.estimator_params():  # in the table's order, latent_dim first
        PARAMS.check(spec.estimator, params[spec.estimator])
    if isinstance(params["hidden"], int):
        params["hidden"] = [params["hidden"]]  # one layer, as MLPRegressor(64) allows
    params["hidden"] = tuple(params["hidden"])
    return params


@dataclasses.dataclass
class FittedModel:
    """What a fit produced: everything a model directory holds."""

    params: dict[str, Any]  # as checked by check_params
    columns: list[str]
    scaler: Scaler
    network: DenseNetwork
    history: dict[str, list[float]]
    training: dict[str, Any]  # row counts, batch size, seed, steps, duration, what ended it
    metrics: dict[str, Any]  # val_mse, train_mse, pca_val_mse, ..., model ("autoencoder"/"pca")
    sample: np.ndarray  # up to SAMPLE_ROWS training rows, raw units

    @property
    def latent_dim(self) -> int:
        return self.network.spec.latent_dim

    def save(
        self,
        path: str | Path,
        *,
        config: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """Write the model directory that ``aefeat encode`` and ``aefeat inspect`` read
        (``before_commit``: see :func:`aefeat.modeldir.save_model_dir`)."""
        from aefeat.modeldir import save_model_dir

        params = _json_params(self.params)
        metadata: dict[str, Any] = {
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "input_columns": list(self.columns),
            "named_columns": True,  # the Python API's save says False for an array's x0, x1, ...
            "latent_dim": self.latent_dim,
            # What was asked for: the same int, or a share of the variance such as 0.95.
            "latent_dim_requested": params["latent_dim"],
            "params": params,
            "config": config if config is not None else params,
            "training": {**self.training, "history": self.history},
            "metrics": dict(self.metrics),
        }
        if extra:
            metadata.update(extra)
        save_model_dir(
            Path(path),
            metadata,
            self.network.spec,
            self.scaler,
            self.network.weights,
            self.sample,
            before_commit,
        )


def fit_chunks(
    chunks: list[np.ndarray],
    columns: list[str],
    params: dict[str, Any],
    *,
    stats: ColumnStats | None = None,
    on_epoch: Any = None,
) -> FittedModel:
    """Fit on rows held as a list of 2-D float chunks with the checked ``params``, with no
    second full copy of them: each chunk is taken out of ``chunks`` once it is scaled into the
    float32 training matrix (the list is empty afterwards), so a chunk nobody else holds is
    freed before training starts. ``stats``, when given, are the statistics of ``chunks``."""
    p = params
    columns = _names(columns, "columns", "a list of column names")
    check_named_once(columns, "columns")
    if not chunks or any(np.ndim(c) != 2 or c.shape[1] != len(columns) for c in chunks):
        raise ValueError(f"chunks must be 2-D arrays of {len(columns)} columns each")
    n_rows, n_features = sum(len(c) for c in chunks), len(columns)
    check_sizes(p["latent_dim"], p["validation_split"], n_features=n_features)
    seed = _seed(p)
    if stats is None:
        stats = ColumnStats(n_features)
        for block in _blocks(chunks):
            stats.update(np.asarray(block, dtype=np.float64))
    # The refusals aefeat train makes (it checks first, naming its file), before training,
    # not at save(): the exported Keras files cannot hold spans too large.
    where = None
    if p["impute"] == "none" and stats.n_bad:
        where = first_bad_at(f"row {first_nonfinite_in(chunks)}", stats.n_bad)
    check_training_data(
        stats,
        columns,
        where,
        p["impute"],
        latent_dim=p["latent_dim"],
        validation_split=p["validation_split"],
    )
    # impute="median" needs every row at once: the one case with a full copy.
    median_rows = chunks[0] if len(chunks) == 1 else None
    if p["impute"] == "median" and median_rows is None:
        median_rows = np.concatenate(chunks)
    scaler = stats.scaler(p["impute"], median_rows=median_rows)
    del median_rows
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n_rows, size=min(SAMPLE_ROWS, n_rows), replace=False))
    sample = _take_rows(chunks, rows)
    # Scaled block by block into float32 (what Keras trains on), each chunk released once
    # scaled: no float64 copy of the whole matrix beside the float32 one.
    X_scaled = np.empty((n_rows, n_features), dtype=np.float32)
    done = 0
    while chunks:
        chunk = chunks.pop(0)
        for start in range(0, len(chunk), _BLOCK):
            part = chunk[start : start + _BLOCK]
            X_scaled[done : done + len(part)] = scaler.prepare(part)
            done += len(part)
        chunk = part = None  # the last references: the chunk is freed here
    release_freed_memory()
    from aefeat.keras_backend.fit import train_network

    result = train_network(
        X_scaled,
        _spec(p, n_features, _latent_size(p, X_scaled)),
        _train_options(p, seed),
        on_epoch=on_epoch,
    )
    return _fitted(p, columns, scaler, result, seed, n_rows, sample)


def fit_files(
    paths: list[str],
    columns: list[str],
    params: dict[str, Any],
    *,
    fmt: CsvFormat | None = None,
    on_epoch: Any = None,
) -> FittedModel:
    """Fit on CSV or Parquet files too large for memory, streaming them chunk by chunk, with
    the checked ``params``: one pass for the scaling statistics, one for the
    PCA start (exact, from the rows' covariance) and the validation rows, then one per
    epoch."""
    from aefeat.io.sources import CsvFormat, check_delimiter
    from aefeat.stream import ChunkedInput, check_read_again, train_streaming

    p = params
    paths = [os.fspath(path) for path in _names(paths, "paths", "a list of file paths")]
    if not paths:
        raise AefeatError(param="paths", expected="a list of at least one file path", got=paths)
    check_read_again(paths)
    columns = _names(columns, "columns", "a list of column names")
    check_named_once(columns, "columns")
    fmt = fmt or CsvFormat()
    # Named as the Python parameters, not the flags (which open_source names).
    check_delimiter(fmt.delimiter, "delimiter")
    check_encoding(fmt.encoding, "encoding")
    PARAMS.check("decimal", fmt.decimal)
    n_features = len(columns)
    check_sizes(p["latent_dim"], p["validation_split"], n_features=n_features)
    seed = _seed(p)
    fraction = None if _is_int(p["latent_dim"]) else p["latent_dim"]
    # For a fraction, the streamed PCA keeps up to every component and the size is chosen
    # from its explained variance before training.
    result, scaler, sample = train_streaming(
        ChunkedInput(paths, columns, fmt),
        _spec(p, n_features, n_features if fraction is not None else p["latent_dim"]),
        _train_options(p, seed),
        impute=p["impute"],
        sample_size=SAMPLE_ROWS,
        latent_fraction=fraction,
        on_epoch=on_epoch,
    )
    return _fitted(p, columns, scaler, result, seed, result.n_train + result.n_val, sample)


def _names(values: Any, param: str, expected: str) -> list[Any]:
    """A list parameter of the Python API (``columns``, ``paths``) as a list; one string or
    path is refused, as it would be read character by character."""
    if isinstance(values, str | bytes | os.PathLike) or not hasattr(values, "__iter__"):
        raise AefeatError(param=param, expected=expected, got=values)
    return list(values)


def release_freed_memory() -> None:
    """Hand memory freed by reading and scaling back to the operating system: pyarrow's pool
    keeps the parsed table for reuse, and glibc keeps freed chunks on its heap when they were
    not allocated as their own mappings (which depends on what was freed before). Measured
    2026-12-01 on 1M x 50 rows: 400 MB of freed float64 chunks stayed resident through training
    without the ``malloc_trim``."""
    import sys

    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc (macOS, musl, Windows): nothing to trim this way


def _fitted(
    p: dict[str, Any],
    columns: list[str],
    scaler: Scaler,
    result: Any,
    seed: int,
    n_rows: int,
    sample: np.ndarray,
) -> FittedModel:
    return FittedModel(
        params=p,
        columns=[str(c) for c in columns],
        scaler=scaler,
        network=DenseNetwork(result.spec, result.weights),
        history=result.history,
        training={
            "n_rows": int(n_rows),
            "n_train": result.n_train,
            "n_val": result.n_val,
            "batch_size": result.batch_size,
            "seed": seed,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "duration_s": round(result.duration_s, 3),
            "steps_run": result.steps_run,
            "best_step": result.best_step,
            "planned_steps": result.planned_steps,
            "ended_by": result.ended_by,
            "max_time_s": result.max_time,
            "threads": result.threads,
        },
        metrics={
            "val_mse": result.val_mse,
            "train_mse": result.train_mse,
            "pca_val_mse": result.pca_val_mse,
            "pca_explained_variance": result.pca_explained_variance,
            "best_epoch": result.best_epoch,
            "model": result.kept,
            "autoencoder_val_mse": result.autoencoder_val_mse,
        },
        # ±inf as missing, as training read them: in memory and streamed alike.
        sample=np.where(np.isinf(sample), np.nan, sample),
    )


def _latent_size(p: dict[str, Any], X_scaled: np.ndarray) -> int:
    """``latent_dim``, or for a fraction the fewest PCA components keeping that share of the
    scaled variance (as ``PCA(n_components=0.95)``)."""
    if _is_int(p["latent_dim"]):
        return p["latent_dim"]
    from aefeat.keras_backend.fit import choose_latent_dim, pca_variance_ratios

    k = choose_latent_dim(pca_variance_ratios(X_scaled), p["latent_dim"])
    # The held-out PCA baseline is fitted on the training rows, which must outnumber it.
    n_train = split_sizes(len(X_scaled), p["validation_split"])[0]
    return max(1, min(k, n_train - 1))


def _seed(p: dict[str, Any]) -> int:
    seed = p["random_state"]
    # None draws a seed and records it, so that any run can be repeated.
    return draw_seed() if seed is None else int(seed)


def draw_seed() -> int:
    """A fresh seed for a run given none (recorded, so that the run can be repeated)."""
    return int(np.random.SeedSequence().entropy % (2**32))


def _train_options(p: dict[str, Any], seed: int) -> TrainOptions:
    fields = [f.name for f in dataclasses.fields(TrainOptions) if f.name != "seed"]
    return TrainOptions(**{k: p[k] for k in fields}, seed=seed)


def _spec(p: dict[str, Any], n_features: int, latent_dim: int) -> NetworkSpec:
    return NetworkSpec(
        n_features=n_features,
        latent_dim=latent_dim,
        hidden=p["hidden"],
        activation=p["activation"],
        latent_activation=p["latent_activation"],
        output_activation=p["output_activation"],
        linear_path=p["linear_path"],
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _blocks(chunks: list[np.ndarray]) -> Iterator[np.ndarray]:
    """The rows of ``chunks`` in blocks of at most ``_BLOCK`` rows (views, not copies)."""
    for chunk in chunks:
        for start in range(0, len(chunk), _BLOCK):
            yield chunk[start : start + _BLOCK]


def _take_rows(chunks: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted indices over all chunks in order) as one float64 array."""
    ends = np.cumsum([len(c) for c in chunks])
    which = np.searchsorted(ends, rows, side="right")
    starts = ends - np.array([len(c) for c in chunks])
    parts = [
        np.asarray(chunks[i][rows[which == i] - starts[i]], dtype=np.float64)
        for i in np.unique(which)
    ]
    return np.concatenate(parts) if parts else np.empty((0, chunks[0].shape[1]))


def _plain(value: Any) -> Any:
    """NumPy scalars as Python values, so that they validate and save as JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, (tuple, list, np.ndarray)):
            value = [_plain(v) for v in value]
        out[key] = _plain(value)
    return out
