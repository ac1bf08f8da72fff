"""Encoding pandas DataFrames with a model directory: the per-partition step that the Dask and
Spark drivers share (each worker or executor loads the model once and runs the NumPy encode
kernel on its partitions). Needs pandas; never Dask, Spark or TensorFlow."""

from __future__ import annotations

import collections
import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from aefeat.core.prepare import missing_columns_error
from aefeat.errors import AefeatError, name_list
from aefeat.io import remote
from aefeat.modeldir import ModelDir, check_model_location, load_model_dir

LATENT_DTYPE = np.float32  # what aefeat encode computes and writes


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, stamp: tuple[int, int, int]) -> ModelDir:
    return load_model_dir(path if remote.is_url(path) else Path(path))


def shared_location(path: str | os.PathLike[str]) -> str:
    """How workers find the model: its URL, or its absolute path on the shared filesystem."""
    path = remote.local_path(str(path))
    return path if remote.is_url(path) else os.path.abspath(path)


def load_model(path: str | os.PathLike[str]) -> ModelDir:
    """The checked :class:`~aefeat.modeldir.ModelDir` at ``path``, cached in this process.

    The cache key includes ``metadata.json``'s inode and mtime, so a model directory replaced by a
    new ``aefeat train`` is loaded afresh.
    """
    check_model_location(path)  # before abspath makes '' the working directory
    if remote.is_url(str(path)):
        return _load_cached(str(path), (0, 0, 0))  # fetched once per process
    path = os.path.abspath(path)
    try:
        st = os.stat(os.path.join(path, "metadata.json"))
    except OSError:
        return load_model_dir(Path(path))  # raises the usual "not a model directory" error
    return _load_cached(path, (st.st_ino, st.st_mtime_ns, st.st_size))


def check_present(
    wanted: list[str],
    columns: list[str],
    where: str,
    what: str = "training column",
    hint: str = "encode data with the columns the model was trained on",
) -> None:
    """Refuse, naming them, the ``wanted`` columns that ``columns`` lacks."""
    present = set(columns)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise missing_columns_error(missing, what, where, hint, columns)


def check_keep_present(keep: list[str], columns: list[str], where: str) -> None:
    """Refuse ``keep`` columns the data lacks (the Python API's ``keep``: the hint is to fix
    ``keep``, not the data)."""
    hint = "check the names in keep; available columns: " + name_list(columns, 20)
    check_present(keep, columns, where, "keep column", hint)


def output_schema(keep: list[str], latent_dim: int, prefix: str, with_error: bool) -> list[str]:
    """Names of the latent (and error) columns that follow the kept ones, checked (a prefix
    that names a kept column, ``keep`` naming one twice: see
    :func:`aefeat.encoding.output_columns`)."""
    from aefeat.encoding import output_columns

    return output_columns(keep, latent_dim, prefix, with_error)[len(keep) :]


def encode_frame(
    model: ModelDir | str | os.PathLike[str],
    df: Any,
    keep: list[str],
    prefix: str = "z",
    with_error: bool = False,
    where: str = "DataFrame",
) -> Any:
    """Encode a pandas DataFrame by the steps ``aefeat encode`` takes (training fill values for
    missing cells only with ``--impute``, MinMax scaling, the NumPy encoder): the ``keep``
    columns unchanged, then ``{prefix}0..`` and with ``with_error`` ``reconstruction_error``, as
    float32. ``model`` is a loaded model or, as for the Dask and Spark drivers, a model
    directory's path or URL (loaded once per process). ``where`` names the partition in error
    messages."""
    import pandas as pd

    from aefeat.encoding import keep_list

    if not isinstance(model, ModelDir):
        model = load_model(model)
    keep = keep_list(keep)
    features = model.columns
    # Checked here too: encode_frame is public, and pandas' KeyError names no fix.
    check_present(features, list(df.columns), where)
    check_keep_present(keep, list(df.columns), where)
    used = set(features) | set(keep)
    # df[name] of a name the frame holds twice is a frame, not a column.
    twice = [n for n, k in collections.Counter(df.columns).items() if k > 1 and n in used]
    if twice:
        raise AefeatError(
            "duplicate column names " + name_list(twice), where, "give every column a unique name"
        )
    columns = output_schema(keep, model.spec.latent_dim, prefix, with_error)
    try:
        X = df[features].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        bad = [c for c in features if not pd.api.types.is_numeric_dtype(df[c])]
        raise AefeatError(
            f"column {bad[0] if bad else features[0]!r} is not numeric",
            where,
            f"exclude it when training, or convert it to numbers: {(bad or features)[0]!r}",
        ) from None
    X = np.array(X, dtype=np.float64, order="C")  # writable, contiguous
    kernel = model.kernel()

    def row_where(row: int) -> str:
        return f"{where}, row with index {df.index[row]!r}"

    kernel.fill(X, row_where)
    Z, err = kernel.encode(X, with_error, row_where)
    out = pd.DataFrame({k: df[k] for k in keep}, index=df.index)
    values = [*Z.T, err] if err is not None else list(Z.T)
    for name, column in zip(columns, values, strict=True):
        out[name] = column.astype(LATENT_DTYPE)
    return out
