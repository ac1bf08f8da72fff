"""What each command does, end to end: read inputs, call the library, write outputs, report.

The CLI parses options and calls these; Python users can call them too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from aefeat import progress
from aefeat.config import TrainConfig, check_sizes
from aefeat.data import (
    atomic_output,
    count_bad_values,
    describe_bad_values,
    open_source,
)
from aefeat.errors import AefeatError
from aefeat.scaling import check_ranges


def run_train(
    data: str,
    output: Path,
    config: TrainConfig,
    *,
    quiet: bool = False,
    stream: bool | None = None,
) -> Any:
    """``aefeat train``: returns the fitted :class:`AutoencoderTransformer`.

    DATA is a file, ``-`` or a glob of files with the same columns. ``stream`` (default: when
    there are several files or the data would not fit in memory) trains without loading the data.
    """
    from aefeat.modeldir import check_output_dir
    from aefeat.stream import ChunkedInput, expand_inputs, sample_rows, should_stream

    started = time.perf_counter()
    check_output_dir(output)  # before the work, not after it
    paths = expand_inputs(data)
    source = open_source(paths[0], config.delimiter, config.encoding)
    features = source.select_features(config.columns, config.exclude)
    check_sizes(config.latent_dim, config.validation_split, n_features=len(features))
    use_stream = should_stream(paths) if stream is None else stream
    if stream is None and use_stream and config.max_rows is None and not quiet:
        progress.note(_stream_reason(paths))
    if use_stream and paths == ["-"]:
        raise AefeatError(
            "--stream reads the data several times, which stdin cannot do",
            "--stream",
            "pass a file, or use --max-rows to train on a sample",
        )
    from aefeat.estimator import AutoencoderTransformer

    est = AutoencoderTransformer(**config.model_params())
    inp = ChunkedInput(paths, features, config.delimiter, config.encoding)
    if use_stream and config.max_rows is None:
        with progress.training_progress(quiet) as on_epoch:
            est.fit_files(
                paths,
                features,
                delimiter=config.delimiter,
                encoding=config.encoding,
                on_epoch=on_epoch,
            )
        n_rows = est.training_info_["n_rows"]
    else:
        if config.max_rows is not None and paths != ["-"]:
            # One pass, a uniform reservoir sample: memory is bounded by --max-rows.
            X = sample_rows(inp, config.max_rows, seed=config.seed or 0)
        elif len(paths) == 1:
            X = source.read_numeric(features, max_rows=config.max_rows)
        else:
            X = np.concatenate([inp.open(p).read_numeric(features) for p in paths])
        _check_values(X, features, source.name, config)
        _release_reader_memory()
        import pandas as pd

        frame = pd.DataFrame(X, columns=features, copy=False)
        with progress.training_progress(quiet) as on_epoch:
            est.fit(frame, on_epoch=on_epoch)
        n_rows = int(X.shape[0])
    est.save(
        output,
        config=config.to_dict(),
        extra={
            "data": {"source": data, "files": len(paths), "rows": n_rows, "streamed": use_stream}
        },
    )
    if not quiet:
        progress.note(
            f"trained on {n_rows:,} rows x {len(features)} columns -> {est.network_.spec.latent_dim} "
            f"latent in {time.perf_counter() - started:.1f} s; {_versus_pca(est)}; "
            f"saved {output}"
        )
    return est


def _stream_reason(paths: list[str]) -> str:
    import os

    from aefeat.stream import fits_in_memory

    size = sum(os.path.getsize(p) for p in paths)
    if not fits_in_memory(size):
        why = f"{size / 2**30:.1f} GiB of input would not fit in the memory available"
    else:
        why = f"{len(paths)} files"
    return f"training streamed from disk ({why}); --no-stream loads it, --max-rows samples it"


def _release_reader_memory() -> None:
    # pyarrow's allocator keeps the freed parsed table (about the matrix's size) for reuse;
    # handing it back before training lowers the peak of in-memory training by that much.
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _check_values(X: np.ndarray, features: list[str], name: str, config: TrainConfig) -> None:
    """Refuse missing, infinite, huge values and too few rows, naming the file and columns."""
    if X.shape[0] == 0:
        raise AefeatError("the file has a header but no data rows", name, "add data rows")
    bad = count_bad_values(X, features)
    if bad:
        if config.impute == "none":
            raise AefeatError(
                "missing or infinite values in " + describe_bad_values(bad),
                name,
                "fill or drop them, or pass --impute mean|median|zero",
            )
        X[~np.isfinite(X)] = np.nan
    finite = np.isfinite(X)
    check_ranges(
        np.min(X, axis=0, where=finite, initial=np.inf),
        np.max(X, axis=0, where=finite, initial=-np.inf),
        features,
        name,
    )
    check_sizes(config.latent_dim, config.validation_split, n_rows=X.shape[0], source=name)


def _versus_pca(est: Any) -> str:
    """The train summary's verdict: the trained network against PCA fitted on the same
    training rows, on the validation rows, and which of the two was saved."""
    pca, ae = est.pca_val_mse_, getattr(est, "autoencoder_val_mse_", est.val_mse_)
    ended = {
        "max_time": f"; the --max-time budget of {_duration(est.max_time)} ended training",
        "plateau": "; training ended when validation loss stopped improving",
    }.get(getattr(est, "ended_by_", None) or "", "")
    if getattr(est, "kept_", "autoencoder") == "pca":
        return (
            f"the saved model is PCA (fitted on all rows): the trained network's validation MSE "
            f"{ae:.4g} was not reliably below PCA's {pca:.4g}{ended}"
        )
    if not pca > 0:
        return f"validation MSE {ae:.4g} (PCA's is 0){ended}"
    change = 1 - ae / pca
    word = "lower" if change >= 0 else "higher"
    return f"validation MSE {ae:.4g} vs PCA {pca:.4g} ({abs(change):.1%} {word}){ended}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 3600 and seconds % 360 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 6 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def _output_kind(output: str | None) -> str:
    return "parquet" if output and output.lower().endswith(".parquet") else "csv"


def run_encode(
    model_dir: Path,
    data: str,
    output: str | None,
    *,
    keep: list[str],
    prefix: str = "z",
    with_error: bool = False,
    chunk_rows: int = 65536,
    delimiter: str = ",",
    encoding: str = "utf-8",
    quiet: bool = False,
) -> Any:
    """``aefeat encode``: stream DATA through the model into OUTPUT (stdout when None or ``-``)."""
    from aefeat.encode import encode_to_file
    from aefeat.modeldir import load_model_dir

    model = load_model_dir(model_dir)
    source = open_source(data, delimiter, encoding)
    kind = _output_kind(output)
    options = {"keep": keep, "prefix": prefix, "chunk_rows": chunk_rows, "with_error": with_error}
    with progress.rows_progress(quiet) as on_rows:
        if output is None or output == "-":
            if kind == "parquet":
                raise AefeatError("Parquet output needs a file", "-o", "name a .parquet file")
            report = encode_to_file(model, source, sys.stdout.buffer, on_rows=on_rows, **options)
            sys.stdout.buffer.flush()
        else:
            with atomic_output(Path(output)) as tmp, open(tmp, "wb") as fh:
                report = encode_to_file(model, source, fh, kind, on_rows=on_rows, **options)
    _encode_notes(report, quiet)
    return report


def _encode_notes(report: Any, quiet: bool) -> None:
    summary = report.outside_summary()
    if summary:
        progress.note(summary, quiet)
    if report.imputed:
        progress.note(
            f"{report.imputed} missing values were filled with training statistics", quiet
        )


def run_encode_dask(
    model_dir: Path,
    data: str,
    output: str | None,
    *,
    scheduler: str,
    keep: list[str],
    prefix: str = "z",
    with_error: bool = False,
    chunk_rows: int = 65536,
    delimiter: str = ",",
    encoding: str = "utf-8",
    quiet: bool = False,
) -> Any:
    """``aefeat encode --dask``: each input file of DATA (a glob, directory or file) encoded on
    the Dask cluster into ``OUTPUT/<input name>``; see :func:`aefeat.dask.encode_files`."""
    if output is None or output == "-":
        raise AefeatError(
            "--dask writes one file per input into a directory",
            "-o",
            "name an output directory with -o OUT_DIR",
        )
    from aefeat.dask import encode_files

    report, files = encode_files(
        model_dir,
        data,
        output,
        scheduler=scheduler,
        keep=keep,
        prefix=prefix,
        with_error=with_error,
        chunk_rows=chunk_rows,
        delimiter=delimiter,
        encoding=encoding,
    )
    _encode_notes(report, quiet)
    progress.note(
        f"encoded {report.rows:,} rows from {len(files)} files on {scheduler} into {output}", quiet
    )
    return report


def run_inspect(
    model_dir: Path,
    data: str | None,
    *,
    plot: Path | None = None,
    label: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> dict[str, Any]:
    """``aefeat inspect``: a JSON-ready report (and optionally a PNG)."""
    from aefeat.inspection import analyse, describe
    from aefeat.modeldir import load_model_dir

    if plot is not None:
        from aefeat.plots import check_plot_target

        check_plot_target(plot)  # before the work, not after it
    model = load_model_dir(model_dir)
    report = describe(model)
    labels = None
    if data is not None:
        source = open_source(data, delimiter, encoding)
        source.require_training_columns(model.columns)
        if label is not None:
            source.check_columns([label], "--label")
        import pyarrow as pa

        passthrough = [label] if label is not None and label not in model.columns else []
        batches = list(source.iter_batches(model.columns, passthrough))
        table = pa.Table.from_batches(batches) if batches else None
        if table is None or table.num_rows == 0:
            raise AefeatError(
                "the file has a header but no data rows", source.name, "add data rows"
            )
        X = source.to_matrix(table, model.columns, np.float64)
        bad = count_bad_values(X, model.columns)
        if bad and model.scaler.fill is None:
            raise AefeatError(
                "missing or infinite values in " + describe_bad_values(bad),
                source.name,
                "fill or drop them (the model was trained without --impute)",
            )
        X[~np.isfinite(X)] = np.nan
        if label is not None:
            labels = [_label_text(v) for v in table.column(label).to_pylist()]
        evaluated_on = source.name
    else:
        X = model.sample()
        evaluated_on = "training sample stored in the model directory"
    analysis, Z = analyse(model, X)
    report["evaluated_on"] = evaluated_on
    report.update(analysis)
    if data is not None:
        report["data"] = {
            "source": evaluated_on,
            "rows": analysis["rows"],
            "reconstruction_mse": analysis["reconstruction_mse"],
        }
    if plot is not None:
        from aefeat.plots import write_inspection_plot

        history = model.metadata.get("training", {}).get("history", {})
        write_inspection_plot(plot, Z, report, history, labels, label)
    return report


def _label_text(value: Any) -> str:
    """A ``--label`` cell as legend text: numbers without float32 noise, blanks as missing."""
    from aefeat.plots import MISSING_LABEL

    if value is None or value == "" or (isinstance(value, float) and not np.isfinite(value)):
        return MISSING_LABEL
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)
