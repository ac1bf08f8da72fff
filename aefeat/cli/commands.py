"""What each command does, end to end: read inputs, call the library, write outputs, report.

The CLI parses options and calls these; Python users can call them too.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aefeat import fitting
from aefeat.cli import progress
from aefeat.cli.report import DIVERGED, why_pca
from aefeat.core.config import TrainConfig, check_sizes
from aefeat.core.prepare import (
    ColumnStats,
    check_training_data,
    first_bad_at,
    first_nonfinite_in,
    no_rows_error,
)
from aefeat.errors import AefeatError, name_list
from aefeat.io.sinks import (
    atomic_file,
    check_file_target,
    check_not_input,
    checked_stdout,
    table_format,
    table_sink,
)
from aefeat.io.sources import (
    CsvFormat,
    check_input_file,
    expand_all,
    is_missing_text,
    open_source,
    reads_once,
)


def run_train(
    data: str | list[str],
    output: str | Path,
    config: TrainConfig,
    *,
    quiet: bool = False,
    stream: bool | None = None,
    dask: str | None = None,
    storage: dict[str, Any] | None = None,
    on_summary: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """``aefeat train``: fits, saves the model directory ``output`` and returns the run's
    summary (JSON-ready: what ``train --json`` prints; the one-line note on stderr says the same).
    ``on_summary`` (printing it) runs before the new model replaces an old one, so that a
    summary that cannot be written (a full disk) fails the command with the old model in place;
    the note comes once the model is saved.

    DATA is a file, ``-``, a directory or a glob of files with the same columns, or a list of
    them (as a shell expands an unquoted glob). ``stream``
    (default: for several files, or data that would not fit in memory) trains without loading
    the data. ``dask`` (a scheduler address or ``local``) scans the files on a Dask cluster and
    trains here on a uniform sample of ``max_rows`` rows (default 1,000,000).
    """
    from aefeat.modeldir import check_output_dir, model_dir_target
    from aefeat.stream import ChunkedInput, check_read_again, should_stream

    started = time.perf_counter()
    if config.seed is None:
        # Drawn once, here: the sample of a large input is drawn with it as training is, so
        # rerunning with the recorded seed gives the same model (the sample used seed 0).
        config = dataclasses.replace(config, seed=fitting.draw_seed())
    output = model_dir_target(output)
    specs = [data] if isinstance(data, str) else list(data)
    once = [s for s in specs if reads_once(s)]
    if once and len(specs) > 1:
        if once[0] == "-":
            what, hint = "stdin (-)", "pass files or stdin, not both"
        else:  # its bytes come once: neither sized nor read again, as stdin
            what, hint = f"a pipe ({once[0]})", "pass files, or the pipe alone"
        raise AefeatError(f"{what} cannot be read together with files", "DATA", hint)
    paths = expand_all(specs)
    for path in paths[1:]:
        # Before the sizes are read to choose streaming. A word after a flag that takes no
        # value (--linear-path off) lands here too, as a DATA path.
        check_input_file(path, "check the path (DATA takes several paths: is it a stray value?)")
    shown = name_list(specs, 1, str)
    check_output_dir(output, paths)  # before the work, not after it
    reading = CsvFormat(config.delimiter, config.encoding, config.decimal)
    source = open_source(paths[0], reading)
    features = source.select_features(config.columns, config.exclude)
    check_sizes(
        config.latent_dim, config.validation_split, n_features=len(features), source=source.name
    )
    if stream and config.max_rows is not None:
        raise AefeatError(
            "--max-rows trains in memory on a sample, not streamed",
            "--stream",
            "drop --stream, or drop --max-rows to stream every row",
        )
    if dask is not None:
        if stream:
            raise AefeatError(
                "--dask trains on a sample of the data, not streamed",
                "--stream",
                "drop --stream, or drop --dask to stream the files on this machine",
            )
        if reads_once(paths[0]):
            raise AefeatError(
                "--dask reads files, not stdin or a pipe",
                "DATA",
                "pass files, a directory or a glob",
            )
        stream = False
    sampled = None
    if stream is None and config.max_rows is None and dask is None and len(paths) == 1:
        # More rows than training can use (its step budget sees about 3 million, and a million
        # trained as well as 3 million here): read a sample of the file's blocks, not all of it.
        from aefeat.sampling import DEFAULT_SAMPLE_ROWS

        sampled = source.block_sample(features, DEFAULT_SAMPLE_ROWS, config.seed)
        if sampled is not None:
            stream = False
            if not quiet:
                progress.note(
                    f"training on {sampled.n_rows:,} rows: {sampled.blocks} of the file's "
                    f"{sampled.of_blocks} blocks, chosen at random (about "
                    f"{sampled.estimated_rows:,} rows in all, more than training uses); "
                    "--max-rows N samples N rows uniformly from all of them"
                )
    use_stream = should_stream(paths) if stream is None else stream
    if stream is None and use_stream and config.max_rows is None and not quiet:
        progress.note(_stream_reason(paths))
    if use_stream:  # --stream asks for passes a pipe cannot give, with --max-rows too
        check_read_again(paths)
    params = fitting.check_params(config.model_params())
    streamed = use_stream and config.max_rows is None  # --max-rows trains on a sample in memory
    data_info: dict[str, Any] = {"source": shown, "files": len(paths), "streamed": streamed}
    if streamed:
        with progress.training_progress(quiet) as on_epoch:
            fitted = fitting.fit_files(
                paths,
                features,
                params,
                fmt=reading,
                on_epoch=on_epoch,
            )
        n_rows = fitted.training["n_rows"]
    else:
        if sampled is not None:
            chunks = sampled.chunks
            data_info.update(
                sampled="blocks",
                rows_estimated=sampled.estimated_rows,
                blocks=[sampled.blocks, sampled.of_blocks],
            )
        elif config.max_rows is not None or dask is not None:
            chunks = [_sample(paths, source, features, config, reading, dask, data_info, storage)]
        elif len(paths) == 1:
            chunks = list(source.numeric_chunks(features))
        else:
            inp = ChunkedInput(paths, features, reading)
            chunks = [c for p in paths for c in inp.open(p).numeric_chunks(features)]
        # Several files read into memory: their errors name DATA, not the first file.
        name = source.name if len(paths) == 1 else f"{shown} ({len(paths)} files)"
        # Rows read whole from one input are its rows in order: errors can name the line.
        whole = sampled is None and config.max_rows is None and dask is None and len(paths) == 1
        stats = _check_values(chunks, features, name, config, source if whole else None)
        if whole and not quiet:  # in memory, every row in order: a blank-headed row index shows
            for text in source.row_index_notes(chunks, features):
                progress.note(text)
        n_rows = stats.n_rows
        # The parsed table is freed: hand it back before scaling adds the float32 matrix.
        fitting.release_freed_memory()
        with progress.training_progress(quiet) as on_epoch:
            # fit_chunks frees each chunk once scaled: one full copy of the data at a time.
            fitted = fitting.fit_chunks(chunks, features, params, stats=stats, on_epoch=on_epoch)
    data_info["rows"] = n_rows
    summary: dict[str, Any] = {}

    def announce() -> None:
        seconds = time.perf_counter() - started
        summary.update(
            output=str(output),
            seconds=round(seconds, 3),
            rows=n_rows,
            columns=len(features),
            latent_dim=fitted.latent_dim,
            # "autoencoder", or "pca" when the saved model is PCA (see metrics for both errors)
            model=fitted.metrics["model"],
            ended_by=fitted.training["ended_by"],
            metrics=dict(fitted.metrics),
            training=dict(fitted.training),
            data=data_info,
        )
        if on_summary is not None:
            try:
                on_summary(summary)
            except BrokenPipeError:
                # The reader stopped reading (`| head -c 0`): it declined the summary, not the
                # model, which is saved (exit 0, as `encode | head` is).
                pass

    fitted.save(output, config=config.to_dict(), extra={"data": data_info}, before_commit=announce)
    if not quiet:  # after the commit: "saved" is said of a model that is there
        progress.note(
            f"trained on {n_rows:,} rows x {len(features)} columns -> {_latent(fitted)} "
            f"in {summary['seconds']:.1f} s; {_versus_pca(fitted)}; saved {output}"
        )
    return summary


def _sample(
    paths: list[str],
    source: Any,
    features: list[str],
    config: TrainConfig,
    reading: CsvFormat,
    dask: str | None,
    info: dict[str, Any],
    storage: dict[str, Any] | None = None,
) -> np.ndarray:
    """A uniform sample of ``--max-rows`` rows in one pass (memory bounded by the sample), on
    the Dask cluster with ``dask``; the same rows either way (see :mod:`aefeat.sampling`)."""
    from aefeat import sampling

    size = config.max_rows or sampling.DASK_SAMPLE_ROWS
    seed = config.seed
    if dask is not None:
        from aefeat.dask import scan_files

        scan = scan_files(
            paths,
            features,
            scheduler=dask,
            size=size,
            seed=seed,
            fmt=reading,
            storage=storage,
        )
        info["scheduler"] = dask
    elif reads_once(paths[0]):  # stdin or a pipe (alone): from the source already open
        scan = sampling.scan_chunks(source.numeric_chunks(features), len(features), size, seed, 0)
    else:
        scan = sampling.scan_inputs(paths, features, size, seed, reading)
    sampling.check_scan(
        scan, features, [source.name if p == "-" else p for p in paths], config.impute
    )
    info["rows_scanned"] = scan.n_rows
    return scan.sample()


def _stream_reason(paths: list[str]) -> str:
    from aefeat.stream import fits_in_memory, text_size

    size = sum(text_size(p) for p in paths)
    if not fits_in_memory(size):
        why = f"about {size / 2**30:.1f} GiB of CSV text would not fit in the memory available"
    else:
        why = f"{len(paths)} files"
    return f"training streamed from disk ({why}); --no-stream loads it, --max-rows samples it"


def _check_values(
    chunks: list[np.ndarray],
    features: list[str],
    name: str,
    config: TrainConfig,
    source: Any = None,
) -> ColumnStats:
    """Refuse missing, infinite, huge values and too few rows, naming the file and columns, and
    with ``source`` (whose rows ``chunks`` are, in order) the line of the first bad value.
    Returns the statistics gathered on the way (training uses them)."""
    stats = ColumnStats(len(features))
    for chunk in chunks:
        stats.update(chunk)
    if stats.n_rows == 0:
        raise no_rows_error(name)
    if source is not None and config.impute == "none" and stats.n_bad:
        name = first_bad_at(source.where_row(first_nonfinite_in(chunks)), stats.n_bad)
    check_training_data(
        stats,
        features,
        name,
        config.impute,
        latent_dim=config.latent_dim,
        validation_split=config.validation_split,
    )
    return stats


def _latent(fitted: fitting.FittedModel) -> str:
    text = f"{fitted.latent_dim} latent"
    asked = fitted.params["latent_dim"]
    if isinstance(asked, float):  # --latent-dim 0.95: say what was chosen, and why
        text += (
            f" (chosen for --latent-dim {asked:g}: PCA keeps "
            f"{fitted.metrics['pca_explained_variance']:.1%} of the variance)"
        )
    return text


def _versus_pca(fitted: fitting.FittedModel) -> str:
    """The train summary's verdict: the trained network against PCA fitted on the same
    training rows, on the validation rows, and which of the two was saved."""
    pca, ae = fitted.metrics["pca_val_mse"], fitted.metrics["autoencoder_val_mse"]
    max_time = fitted.params["max_time"]
    ended = {
        "max_time": f"; the --max-time budget of {_duration(max_time)} ended training",
        "plateau": "; training ended when validation loss stopped improving",
        "no_gain": "; training ended early, as no check came below PCA",
        "diverged": DIVERGED,
    }.get(fitted.training["ended_by"], "")
    exact = pca < 1e-12  # full width (or constant data): a ratio of rounding errors means nothing
    if fitted.metrics["model"] == "pca":
        saved = "the saved model is PCA (fitted on all rows, validation rows included)"
        if exact:
            return f"{saved}: PCA reconstructs these rows exactly{ended}"
        why = why_pca(ae, pca, fitted.training["n_val"], fitted.training.get("n_rows"))
        return f"{saved}: {why}{ended}"
    if exact:
        return f"validation MSE {ae:.4g} (PCA reconstructs these rows exactly){ended}"
    change = 1 - ae / pca
    if ae > 2 * pca:  # a ratio reads better than a percentage ("64 times", not "6251.1% higher")
        compared = f"{ae / pca:.3g} times PCA's"
    else:
        compared = f"{abs(change):.1%} {'lower' if change >= 0 else 'higher'}"
    if not fitted.network.spec.can_be_pca():
        compared += (
            "; no weights make this network PCA (see --linear-path and the activations), "
            "so PCA cannot be saved instead"
        )
    return f"validation MSE {ae:.4g} vs PCA {pca:.4g} ({compared}){ended}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 3600 and seconds % 360 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 6 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def run_encode(
    model_dir: str | Path,
    data: str,
    output: str | None,
    *,
    keep: list[str],
    prefix: str = "z",
    with_error: bool = False,
    chunk_rows: int = 65536,
    reading: CsvFormat | None = None,
    quiet: bool = False,
) -> Any:
    """``aefeat encode``: stream DATA through the model into OUTPUT (stdout when None or ``-``)."""
    from aefeat.encoding import encode_to_file
    from aefeat.modeldir import load_model_dir

    to_stdout = output is None or output == "-"
    fmt = table_format(output)
    if not to_stdout:
        check_not_input(output, [data], within=[model_dir])
        check_file_target(output)  # before the work, not after it
    model = load_model_dir(model_dir)
    source = open_source(data, reading)
    options = {"keep": keep, "prefix": prefix, "chunk_rows": chunk_rows, "with_error": with_error}
    with progress.rows_progress(quiet) as on_rows:
        if to_stdout:
            out = checked_stdout()
            report = encode_to_file(model, source, out, on_rows=on_rows, **options)
            out.flush()
        else:
            with atomic_file(output) as fh, table_sink(fh, fmt) as sink:
                report = encode_to_file(
                    model, source, sink, fmt.kind, fmt.delimiter, on_rows=on_rows, **options
                )
    _encode_notes(report, quiet)
    return report


def _encode_notes(report: Any, quiet: bool) -> None:
    if report.rows == 0:
        progress.note("the input has no data rows: wrote the header only", quiet)
    summary = report.outside_summary()
    if summary:
        progress.note(summary, quiet)
    if report.imputed:
        progress.note(
            f"{report.imputed} missing values were filled with training statistics", quiet
        )


def run_encode_dask(
    model_dir: str | Path,
    data: str,
    output: str | None,
    *,
    scheduler: str,
    keep: list[str],
    prefix: str = "z",
    with_error: bool = False,
    chunk_rows: int = 65536,
    reading: CsvFormat | None = None,
    quiet: bool = False,
    storage: dict[str, Any] | None = None,
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
        fmt=reading,
        storage=storage,
    )
    _encode_notes(report, quiet)
    progress.note(
        f"encoded {report.rows:,} rows from {len(files)} files on {scheduler} into {output}", quiet
    )
    return report


def run_inspect(
    model_dir: str | Path,
    data: str | None,
    *,
    plot: str | Path | None = None,
    label: str | None = None,
    reading: CsvFormat | None = None,
) -> dict[str, Any]:
    """``aefeat inspect``: a JSON-ready report (and optionally a PNG)."""
    from aefeat.inspection import inspect, read_rows
    from aefeat.modeldir import load_model_dir

    if plot is not None:
        from aefeat.cli.plots import check_plot_target, plot_target

        plot = plot_target(plot)
        check_plot_target(plot)  # before the work, not after it
        check_not_input(plot, [] if data is None else [data], "--plot", within=[model_dir])
    model = load_model_dir(model_dir)
    X, labels, name = None, None, None
    if data is not None:
        source = open_source(data, reading)
        X, labels = read_rows(model, source, label)
        name = source.name
    report, Z = inspect(model, X, name)
    if plot is not None:
        from aefeat.cli.plots import write_inspection_plot

        history = model.metadata.get("training", {}).get("history", {})
        decimal = reading.decimal if reading is not None else "."
        texts = None if labels is None else [_label_text(v, decimal) for v in labels]
        write_inspection_plot(plot, Z, report, history, texts, label)
    return report


def _label_text(value: Any, decimal: str = ".") -> str:
    """A ``--label`` cell as legend text: numbers without float32 noise; blanks and the words
    that mean missing in a numeric column (``NaN``, ``NA``, ``null``) as missing. With
    ``--decimal ','`` a number read as text ('3,5', a column that is not a feature) is written
    with a point, as numeric columns are, so that a numeric label is seen as one."""
    from aefeat.cli.plots import MISSING_LABEL

    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return MISSING_LABEL
    if isinstance(value, str) and is_missing_text(value.strip()):
        return MISSING_LABEL
    if isinstance(value, float):
        return f"{value:.7g}"
    if decimal == "," and isinstance(value, str) and "." not in value:
        try:
            float(value.replace(",", "."))
        except ValueError:
            return value
        return value.replace(",", ".")
    return str(value)
