"""Encoding on a Dask cluster, with the same NumPy encoder as ``aefeat encode``.

Two entry points:

- :func:`encode` for a ``dask.dataframe.DataFrame``: ``map_partitions`` over the partitions,
  each encoded on the workers; returns a lazy Dask DataFrame (kept columns, then ``z0..``).
- :func:`encode_files`, behind ``aefeat encode MODEL 'data/*.csv' --dask ADDRESS -o OUT_DIR``:
  one task per input file, each running the single-machine encoder (same reader, same writer), so
  every output file is byte-identical to ``aefeat encode MODEL FILE -o OUT`` of its input.

The workers receive the model directory's *path* and load it themselves (once per worker process,
cached; the sha256 checks run there too), so the model directory, the inputs and the output
directory must be visible at the same paths on the workers, e.g. on a shared filesystem.
Dask is imported only when one of these functions runs: ``aefeat --help`` and plain ``encode``
never import it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import posixpath
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from aefeat.errors import AefeatError
from aefeat.frames import (
    LATENT_DTYPE,
    check_keep_present,
    check_present,
    encode_frame,
    load_model,
    shared_location,
)
from aefeat.io import remote
from aefeat.io.sources import CsvFormat, expand_inputs

INSTALL_HINT = "install it with pip install 'aefeat[dask]'"


# --- dask.dataframe: map_partitions ----------------------------------------------------------


def encode(
    ddf: Any,
    model_dir: str | os.PathLike[str],
    keep: list[str] | None = None,
    prefix: str = "z",
    with_error: bool = False,
) -> Any:
    """Encode a Dask DataFrame partition by partition on the workers (lazy; call ``.compute()``,
    ``.to_parquet()`` or ``.to_csv()`` on the result).

    The result has the same partitions and index as ``ddf``; its columns are ``keep`` (copied
    unchanged), then ``{prefix}0..`` as float32, then ``reconstruction_error`` with
    ``with_error``. Training columns are found by name; other columns are ignored.
    """
    import pandas as pd

    from aefeat.encoding import keep_list, output_columns

    model_path = shared_location(model_dir)
    model = load_model(model_path)  # checks the directory here, before any task runs
    keep = keep_list(keep)
    columns = [str(c) for c in ddf.columns]
    check_present(model.columns, columns, "the Dask DataFrame")
    check_keep_present(keep, columns, "the Dask DataFrame")
    names = output_columns(keep, model.spec.latent_dim, prefix, with_error)
    meta = pd.DataFrame({k: ddf._meta[k] for k in keep}, index=ddf._meta.index)
    for name in names[len(keep) :]:
        meta[name] = np.empty(0, dtype=LATENT_DTYPE)
    return ddf.map_partitions(
        _encode_partition, model_path, tuple(keep), prefix, with_error, meta=meta
    )


def _encode_partition(
    df: Any, model_path: str, keep: tuple[str, ...], prefix: str, with_error: bool
) -> Any:
    """One partition (a pandas DataFrame) -> kept columns and latent columns, on a worker."""
    return encode_frame(
        load_model(model_path), df, list(keep), prefix, with_error, "Dask partition"
    )


# --- files: aefeat encode ... --dask ADDRESS -o OUT_DIR ---------------------------------------


def _input_files(data: str) -> list[str]:
    if data == "-":
        raise AefeatError(
            "--dask reads files, not stdin",
            "DATA",
            "pass a file, a directory or a quoted glob such as 'data/*.csv'",
        )
    files = [shared_location(p) for p in expand_inputs(data)]
    if len(files) == 1 and not remote.is_url(files[0]) and not os.path.exists(files[0]):
        raise AefeatError("file not found", data, "check the path")
    return files


def output_name(path: str | os.PathLike[str]) -> str:
    """The output file's name for an input: the input's name with ``.gz`` dropped and
    ``.parquet`` (or no extension) replaced by ``.csv``."""
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, suffix = os.path.splitext(name)
    if suffix.lower() == ".parquet" or not suffix:
        name = stem + ".csv"
    return name


def _output_names(inputs: list[str]) -> list[str]:
    """Each input's output path inside the output directory: its :func:`output_name` under the
    subdirectories that lie between the inputs' common directory and it, so that a partitioned
    dataset (``'sales/**/*.parquet'``: ``year=2024/part-0.parquet``, ``year=2025/part-0.parquet``)
    keeps its layout; the inputs of one directory give bare names."""
    # URLs as paths after their scheme, so that 's3://' is not read as a path's '//'.
    heads = [p.split("://", 1)[-1] for p in inputs]
    base = posixpath.commonpath([posixpath.dirname(h) for h in heads]) if heads else ""
    seen: dict[str, str] = {}
    names = []
    for path, head in zip(inputs, heads, strict=True):
        below = posixpath.relpath(posixpath.dirname(head), base) if base else ""
        name = (
            posixpath.join(below, output_name(path))
            if below not in ("", ".")
            else output_name(path)
        )
        if name in seen:
            raise AefeatError(
                f"two inputs would write the same output {name!r}: {seen[name]} and {path}",
                "DATA",
                "encode them in separate runs, or rename one",
            )
        seen[name] = path
        names.append(name)
    return names


def _check_output_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise AefeatError(
            "--dask writes a directory, and the output is a file",
            str(out_dir),
            "name a new directory with -o",
        )
    if not out_dir.exists() and out_dir.name.lower().endswith((".csv", ".parquet", ".gz")):
        raise AefeatError(
            "--dask writes a directory, but -o looks like a file name",
            str(out_dir),
            "name a directory with -o, such as -o latent/",
        )
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise AefeatError(
            "output directory exists and is not empty",
            str(out_dir),
            "remove it or choose another -o directory",
        )
    parent = out_dir.parent
    if not parent.is_dir():
        raise AefeatError(
            "output directory's parent does not exist", str(parent), "create it first"
        )


def _encode_file(
    model_path: str,
    src: str,
    dst: str,
    shown: str,
    keep: list[str],
    prefix: str,
    with_error: bool,
    chunk_rows: int,
    fmt: CsvFormat | None,
    storage: dict[str, Any] | None = None,
) -> Any:
    """One input file -> one CSV, on a worker: what ``aefeat encode MODEL SRC -o DST`` does.
    ``shown`` is the output's final path, named in errors (``dst`` is inside the temporary);
    ``storage`` holds the ``--storage-option`` options for URLs."""
    from aefeat.encoding import encode_to_file
    from aefeat.io.sources import open_source

    with remote.storage_options(storage or {}, [model_path, src, dst]):
        model = load_model(model_path)
        source = open_source(src, fmt)
        with _worker_output(dst, shown) as out:
            return encode_to_file(
                model,
                source,
                out,
                keep=keep,
                prefix=prefix,
                chunk_rows=chunk_rows,
                with_error=with_error,
            )


@contextlib.contextmanager
def _worker_output(dst: str, shown: str) -> Iterator[Any]:
    """Where a worker writes one output: a URL is uploaded whole when complete (as ``encode -o
    URL``); a path inside the shared temporary directory is written directly, since the whole
    directory is renamed into place at the end."""
    from aefeat.io.sinks import CheckedWriter, atomic_file, write_error

    if remote.is_url(dst):
        with atomic_file(dst) as out:
            yield out
        return
    try:
        fh = open(dst, "wb")  # noqa: SIM115 - closed below, errors translated
    except FileNotFoundError:
        raise AefeatError(
            "cannot write output on the worker: the output directory is not there",
            shown,
            "the output directory must be on a filesystem the workers share with this machine",
        ) from None
    except OSError as exc:
        raise write_error(exc, shown) from None
    out = CheckedWriter(fh, shown)
    try:
        yield out
    finally:
        out.close()


def _run_tasks(
    client: Any,
    model: Any,
    model_path: str,
    inputs: list[str],
    targets: list[tuple[str, str]],
    options: dict[str, Any],
    finish_all: bool = False,
) -> Any:
    """Submit one task per input, writing to its ``(path, name shown in errors)`` target; the
    combined report. The first error cancels the rest, or with ``finish_all`` is raised only
    once every task has ended (a running task cannot be stopped, and the caller cleans up
    after all of them)."""
    from aefeat.encoding import EncodeReport

    futures = [
        client.submit(_encode_file, model_path, src, dst, shown, pure=False, **options)
        for src, (dst, shown) in zip(inputs, targets, strict=True)
    ]
    total = EncodeReport(
        outside=np.zeros(len(model.columns), dtype=np.int64), columns=model.columns
    )
    if finish_all:
        for future in futures:
            future.exception()  # blocks until the task ended, whatever the outcome
    for report in _gather(client, futures):
        total.rows += report.rows
        total.imputed += report.imputed
        total.outside += report.outside
    return total


@contextlib.contextmanager
def _workers_deaf_to_interrupts() -> Iterator[None]:
    """SIGINT ignored while a local cluster starts its worker processes, which keep it ignored.

    Ctrl-C reaches the terminal's whole process group: each worker process still importing
    ``distributed`` printed a KeyboardInterrupt traceback, and a cluster interrupted half-built
    made distributed's exit handler print another. A process started with SIGINT ignored keeps
    it ignored (Python installs its KeyboardInterrupt handler only where it is not), so the
    workers never see Ctrl-C; aefeat sees it once the cluster is up (a press during that second
    is lost) and stops them when it closes the cluster. The command line only: a Python caller's
    process keeps its own handling."""
    import signal

    from aefeat import keras_backend

    if not keras_backend.LEAN_IMPORT or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def connect(scheduler: str) -> tuple[Any, Any]:
    """A ``distributed.Client`` for ``scheduler`` (an address such as ``tcp://host:8786``, or
    ``local`` for a cluster of worker processes on this machine) and the cluster it started."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise AefeatError(
            "--dask needs the dask.distributed package", "--dask", INSTALL_HINT
        ) from None
    if scheduler == "local":
        import logging

        cluster = None
        try:
            with _workers_deaf_to_interrupts():
                cluster = LocalCluster(
                    processes=True,
                    threads_per_worker=1,
                    dashboard_address=None,
                    host="127.0.0.1",
                    silence_logs=logging.CRITICAL,  # a failed task is reported once, by aefeat
                )
            return Client(cluster, set_as_default=False), cluster
        except BaseException:
            if cluster is not None:
                cluster.close()
            raise
    try:
        return Client(scheduler, timeout="20s", set_as_default=False), None
    except (OSError, TimeoutError, ValueError) as exc:
        error = AefeatError(
            f"cannot connect to the Dask scheduler: {' '.join(str(exc).split())[:200]}",
            f"--dask {scheduler}",
            "check the address (such as tcp://host:8786), or use --dask local",
        )
    # The Client that failed to start is garbage now (the traceback held it until here). Its
    # __del__ closes it, and run by a later collection that happens while another Client
    # starts, it waits for the lock that start holds: a Python caller's next connect (a test
    # run here) hung for ever. Collected now, it closes at once.
    gc.collect()
    raise error


@contextlib.contextmanager
def session(scheduler: str) -> Iterator[Any]:
    """A connected ``distributed.Client`` (see :func:`connect`), closed with its cluster after."""
    client, cluster = connect(scheduler)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _gather(client: Any, futures: list[Any]) -> Iterator[Any]:
    """Each future's result as it completes; the first error cancels the rest and is raised."""
    from distributed import as_completed

    try:
        for future in as_completed(futures, loop=client.loop):
            yield future.result()  # re-raises a worker's error here
    except BaseException:
        client.cancel(futures)
        raise


def scan_files(
    paths: list[str],
    features: list[str],
    *,
    scheduler: str,
    size: int,
    seed: int,
    fmt: CsvFormat | None = None,
    storage: dict[str, Any] | None = None,
) -> Any:
    """The scan behind ``aefeat train DATA --dask``: one task per file on the cluster's workers,
    each counting rows, missing values and per-column ranges and drawing its part of a uniform
    sample of ``size`` rows; merged here. The result equals
    :func:`aefeat.sampling.scan_inputs` of the same files on one machine, whatever the number of
    workers. The files must be at the same paths on the workers."""
    from aefeat.sampling import merge, scan_file

    files = [shared_location(p) for p in paths]
    with session(scheduler) as client:
        futures = [
            client.submit(scan_file, path, i, features, size, seed, fmt, storage, pure=False)
            for i, path in enumerate(files)
        ]
        merged = None
        for scan in _gather(client, futures):
            # Merging as results arrive keeps at most two samples in memory here.
            merged = scan if merged is None else merge([merged, scan], size)
    return merged


def encode_files(
    model_dir: str | os.PathLike[str],
    data: str,
    out_dir: str | os.PathLike[str],
    *,
    scheduler: str,
    keep: list[str] | None = None,
    prefix: str = "z",
    with_error: bool = False,
    chunk_rows: int = 65536,
    fmt: CsvFormat | None = None,
    storage: dict[str, Any] | None = None,
) -> tuple[Any, list[Path] | list[str]]:
    """Encode every input file of DATA on the cluster into ``out_dir/<input name>``.

    Returns the combined :class:`~aefeat.encoding.EncodeReport` and the output files. The outputs
    are written into a temporary directory beside ``out_dir`` and renamed into place only when
    every file is done (:func:`aefeat.io.sinks.atomic_dir`), so a failed run leaves no ``out_dir``
    (an existing empty one stays).
    """
    from aefeat.encoding import output_columns

    model_path = shared_location(model_dir)
    model = load_model(model_path)
    keep = list(keep or [])
    output_columns(keep, model.spec.latent_dim, prefix, with_error)  # name clashes, early
    inputs = _input_files(data)
    names = _output_names(inputs)
    options = {
        "keep": keep,
        "prefix": prefix,
        "with_error": with_error,
        "chunk_rows": chunk_rows,
        "fmt": fmt,
        "storage": storage,
    }
    url = remote.local_path(str(out_dir))
    if remote.is_url(url):
        return _encode_to_url(scheduler, model, model_path, inputs, names, url, options)
    out_dir = Path(os.path.abspath(url))  # file:///dir as /dir
    _check_output_dir(out_dir)
    from aefeat.io.sinks import atomic_dir

    with session(scheduler) as client:
        # An existing output directory is replaced only while it is still empty.
        with atomic_dir(out_dir, lambda p: not any(p.iterdir())) as tmp:
            for n in names:  # a partitioned input's subdirectories (see _output_names)
                (tmp / n).parent.mkdir(parents=True, exist_ok=True)
            targets = [(str(tmp / n), str(out_dir / n)) for n in names]
            total = _run_tasks(client, model, model_path, inputs, targets, options)
            missing = [n for n in names if not (tmp / n).is_file()]
            if missing:
                raise AefeatError(
                    f"the workers' output files are not visible here (first: {missing[0]})",
                    str(out_dir),
                    "use an output directory on a filesystem the workers share with this machine",
                )
    return total, [out_dir / n for n in names]


def _encode_to_url(
    scheduler: str,
    model: Any,
    model_path: str,
    inputs: list[str],
    names: list[str],
    url: str,
    options: dict[str, Any],
) -> tuple[Any, list[str]]:
    """``--dask -o URL``: each worker uploads its file whole when it is done (an object store
    has no directory to rename); if any file fails, the ones already uploaded are removed."""
    base = url.rstrip("/")
    with remote.storage_options(options.get("storage") or {}, [base]):
        if remote.listing(base):
            raise AefeatError(
                "output location exists and is not empty",
                base,
                "remove what is there or choose another -o location",
            )
    targets = [(f"{base}/{n}", f"{base}/{n}") for n in names]
    with session(scheduler) as client:
        try:
            total = _run_tasks(client, model, model_path, inputs, targets, options, finish_all=True)
        except BaseException:
            with remote.storage_options(options.get("storage") or {}, [base]):
                remote.remove_quietly([t for t, _ in targets])
            raise
    return total, [t for t, _ in targets]
