"""Encoding: stream rows from a CSV or Parquet input through the NumPy encoder, chunk by chunk,
and write the kept columns plus latent columns as each chunk is done (constant memory)."""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from aefeat.errors import AefeatError, name_list
from aefeat.io.sinks import BackgroundWriter, TableWriter, float32_array
from aefeat.io.sources import Source
from aefeat.modeldir import ModelDir

DEFAULT_CHUNK_ROWS = 65536


@dataclass
class EncodeReport:
    rows: int = 0
    outside: np.ndarray | None = None
    imputed: int = 0
    columns: list[str] = field(default_factory=list)

    def outside_summary(self) -> str | None:
        """A note on values outside the training range, or None if there were none."""
        if self.outside is None or not self.outside.any():
            return None
        total = int(self.outside.sum())
        cols = [c for c, n in zip(self.columns, self.outside, strict=True) if n]
        shown = name_list(cols, 5, str)
        were = "value was" if total == 1 else "values were"
        return f"{total} {were} outside the training range (columns {shown}); encoded anyway"


def check_prefix(prefix: Any) -> None:
    """The one check of the latent columns' prefix: ``encode --prefix`` and the Python API's
    ``prefix`` (an empty one would name the columns 0, 1, ..., a line break split a CSV row)."""
    if not isinstance(prefix, str) or not prefix or any(ch in prefix for ch in "\r\n"):
        raise AefeatError(
            param="prefix",
            expected="a short name such as 'z'",
            expected_option="a short name such as z",
            got=prefix,
        )


def keep_list(keep: Any) -> list[str]:
    """The Python API's ``keep`` as a list of column names (None for none). A string is
    refused: iterated, ``keep="id"`` would keep the columns 'i' and 'd'."""
    if keep is None:
        return []
    if isinstance(keep, str | bytes) or not hasattr(keep, "__iter__"):
        raise AefeatError(param="keep", expected="a list of column names", got=keep)
    return list(keep)


def output_columns(keep: list[str], latent_dim: int, prefix: str, with_error: bool) -> list[str]:
    """The output's column names (``keep``, the latent columns, the error), checked; each error
    words itself for the command line (flags) and the Python API (parameter names)."""
    check_prefix(prefix)
    names = list(keep) + [f"{prefix}{i}" for i in range(latent_dim)]
    if with_error:
        names.append("reconstruction_error")
    dup = sorted(n for n, k in collections.Counter(keep).items() if k > 1)
    if dup:
        # A name --keep repeats is the user's slip.
        raise AefeatError(
            "--keep names a column more than once: " + name_list(dup),
            "--keep",
            "name each column once",
            python_what="keep names a column more than once: " + name_list(dup),
            python_where="keep",
        )
    dup = sorted(n for n, k in collections.Counter(names).items() if k > 1)
    if dup:
        # One a latent name repeats needs another prefix.
        hint, python_hint = "choose another --prefix", "choose another prefix"
        if with_error and "reconstruction_error" in keep:
            hint = "leave out --with-error, or do not --keep 'reconstruction_error'"
            python_hint = "pass with_error=False, or leave 'reconstruction_error' out of keep"
        raise AefeatError(
            "output column names collide: " + name_list(dup),
            "--keep/--prefix",
            hint,
            python_where="keep/prefix",
            python_hint=python_hint,
        )
    return names


def encode_source(
    model: ModelDir,
    source: Source,
    writer: TableWriter,
    *,
    keep: list[str] | None = None,
    prefix: str = "z",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    with_error: bool = False,
    on_rows: Callable[[int], None] | None = None,
) -> EncodeReport:
    """Encode every row of ``source`` and write it; returns counts for the user's summary."""
    keep = keep or []
    features = model.columns
    source.require_training_columns(features)
    source.check_columns(keep, "--keep")
    names = output_columns(keep, model.spec.latent_dim, prefix, with_error)
    kernel = model.kernel()
    report = EncodeReport(outside=np.zeros(len(features), dtype=np.int64), columns=features)
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the reader and writer threads already keep both cores busy, and idle
    # BLAS threads spin, taking CPU from them.
    with threadpool_limits(1, user_api="blas"), BackgroundWriter(writer) as out:
        for batch in source.iter_batches(features, keep):
            for start in range(0, batch.num_rows, chunk_rows):
                chunk = batch.slice(start, chunk_rows)
                X = source.to_matrix(chunk, features, np.float64)
                where = functools.partial(_where_row, source, report.rows)
                report.imputed += kernel.fill(X, where)
                report.outside += model.scaler.count_outside(X)
                Z, err = kernel.encode(X, with_error, where)
                arrays = [chunk.column(k) for k in keep]
                arrays += [float32_array(z) for z in Z.T]
                if err is not None:
                    arrays.append(float32_array(err))
                out.write(pa.RecordBatch.from_arrays(arrays, names=names))
                report.rows += chunk.num_rows
                if on_rows is not None:
                    on_rows(chunk.num_rows)
        if report.rows == 0:
            # A filter upstream that matched nothing: the header alone, as csvkit and xsv
            # write it, so the next stage of the pipeline sees the columns.
            # Kept columns typed as a batch with rows would have them: a day with no rows must
            # not turn a Parquet dataset's numbers into text.
            empty = [pa.array([], type=t) for t in source.batch_types(features, keep)]
            empty += [pa.array([], type=pa.float32())] * (len(names) - len(keep))
            out.write(pa.RecordBatch.from_arrays(empty, names=names))
    return report


def encode_to_file(
    model: ModelDir,
    source: Source,
    sink: Any,
    kind: str = "csv",
    delimiter: str | None = None,
    **options: Any,
) -> EncodeReport:
    """Encode ``source`` into an open binary ``sink`` as CSV (in ``delimiter``, by default the
    input's) or Parquet; ``options`` are those of :func:`encode_source`."""
    if delimiter is None:
        delimiter = source.delimiter if source.kind == "csv" else ","
    writer = TableWriter(sink, kind, delimiter)
    try:
        report = encode_source(model, source, writer, **options)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return report


def _where_row(source: Source, offset: int, row: int) -> str:
    return source.where_row(offset + row)
