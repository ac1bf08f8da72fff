"""Encoding a Spark DataFrame on the executors with the NumPy encode kernel.

:func:`encode` returns a lazy Spark DataFrame built with ``mapInPandas``: each executor loads the
model directory once per Python worker (after checking every file's sha256, as ``aefeat encode``
does) and runs the same kernel on its Arrow batches, so no executor needs TensorFlow. The model
directory must be readable at the same path on every executor (a shared filesystem). PySpark is
imported only when :func:`encode` runs (``pip install "aefeat[spark]"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from aefeat.encoding import keep_list
from aefeat.errors import AefeatError
from aefeat.frames import (
    check_keep_present,
    check_present,
    encode_frame,
    load_model,
    output_schema,
    shared_location,
)


def encode(
    df: Any,
    model_dir: str | os.PathLike[str],
    keep: list[str] | None = None,
    prefix: str = "z",
    with_error: bool = False,
) -> Any:
    """Encode the Spark DataFrame ``df`` with the model at ``model_dir``.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Holds every training column (found by name; other columns are ignored) as numbers.
    model_dir : path
        A model directory written by ``aefeat train``, at this path on every executor.
    keep : list of str, optional
        Columns copied unchanged in front of the latent columns (ids, labels).
    prefix : str, default="z"
        Latent column names are ``{prefix}0``, ``{prefix}1``, ...
    with_error : bool, default=False
        Add ``reconstruction_error``, each row's MSE in scaled units.

    Returns
    -------
    pyspark.sql.DataFrame
        ``keep`` columns with their types, then the latent (and error) columns as float.
        Values equal ``aefeat encode`` of the same rows.
    """
    from pyspark.sql import types as T

    model_path = shared_location(model_dir)
    model = load_model(model_path)  # checked here, on the driver, before any task runs
    keep = keep_list(keep)
    fields = {f.name: f for f in df.schema.fields}
    check_present(model.columns, list(fields), "the Spark DataFrame")
    check_keep_present(keep, list(fields), "the Spark DataFrame")
    # Booleans are 0 and 1, as train and encode read them.
    numeric = (T.NumericType, T.BooleanType)
    not_numeric = [c for c in model.columns if not isinstance(fields[c].dataType, numeric)]
    if not_numeric:
        raise AefeatError(
            f"column {not_numeric[0]!r} is not numeric (type {fields[not_numeric[0]].dataType})",
            "the Spark DataFrame",
            f"cast it: df.withColumn({not_numeric[0]!r}, df[{not_numeric[0]!r}].cast('double'))",
        )
    names = output_schema(keep, model.spec.latent_dim, prefix, with_error)  # checked
    schema = T.StructType(
        [fields[k] for k in keep] + [T.StructField(n, T.FloatType(), True) for n in names]
    )
    columns = list(dict.fromkeys([*keep, *model.columns]))

    def encode_batches(batches: Iterator[Any]) -> Iterator[Any]:
        loaded = load_model(model_path)  # once per Python worker, then cached
        for pdf in batches:
            yield encode_frame(loaded, pdf, keep, prefix, with_error, "Spark partition")

    return df.select(*columns).mapInPandas(encode_batches, schema=schema)
