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
from aefeat.config import TrainConfig
from aefeat.data import (
    TableWriter,
    atomic_output,
    count_bad_values,
    describe_bad_values,
    open_source,
)
from aefeat.errors import AefeatError


def run_train(data: str, output: Path, config: TrainConfig, *, quiet: bool = False) -> Any:
    """``aefeat train``: returns the fitted :class:`AutoencoderTransformer`."""
    started = time.perf_counter()
    source = open_source(data, config.delimiter, config.encoding)
    features = source.select_features(config.columns, config.exclude)
    X = source.read_numeric(features, max_rows=config.max_rows)
    bad = count_bad_values(X, features)
    if bad:
        if config.impute == "none":
            raise AefeatError(
                "missing or infinite values in " + describe_bad_values(bad),
                source.name,
                "fill or drop them, or pass --impute mean|median|zero",
            )
        X[~np.isfinite(X)] = np.nan
    if config.latent_dim >= len(features):
        raise AefeatError(
            f"--latent-dim {config.latent_dim} must be below the number of feature columns ({len(features)})",
            "--latent-dim",
            f"use at most {len(features) - 1}"
            if len(features) > 1
            else "select at least two columns",
        )
    import pandas as pd

    from aefeat.estimator import AutoencoderTransformer

    frame = pd.DataFrame(X, columns=features, copy=False)
    est = AutoencoderTransformer(**config.model_params())
    with progress.training_progress(quiet) as on_epoch:
        est.fit(frame, on_epoch=on_epoch)
    est.save(
        output,
        config=config.to_dict(),
        extra={"data": {"source": source.name, "rows": int(X.shape[0])}},
    )
    if not quiet:
        progress.note(
            f"trained on {X.shape[0]:,} rows x {len(features)} columns -> {est.network_.spec.latent_dim} "
            f"latent in {time.perf_counter() - started:.1f} s; {_versus_pca(est)}; "
            f"saved {output}"
        )
    return est


def _versus_pca(est: Any) -> str:
    text = f"validation MSE {est.val_mse_:.4g} vs PCA {est.pca_val_mse_:.4g}"
    if est.best_epoch_ == 0:
        return text + " (no epoch beat the PCA start, so it was kept)"
    gain = 1 - est.val_mse_ / est.pca_val_mse_ if est.pca_val_mse_ > 0 else 0.0
    return text + f" ({gain:.1%} lower; best epoch {est.best_epoch_} of {est.n_epochs_})"


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
    from aefeat.encode import encode_source
    from aefeat.modeldir import load_model_dir

    model = load_model_dir(model_dir)
    source = open_source(data, delimiter, encoding)
    kind = _output_kind(output)
    out_delim = delimiter if source.kind == "csv" else ","
    with progress.rows_progress(quiet) as on_rows:
        if output is None or output == "-":
            if kind == "parquet":
                raise AefeatError("Parquet output needs a file", "-o", "name a .parquet file")
            writer = TableWriter(sys.stdout.buffer, "csv", out_delim)
            report = encode_source(
                model,
                source,
                writer,
                keep=keep,
                prefix=prefix,
                chunk_rows=chunk_rows,
                with_error=with_error,
                on_rows=on_rows,
            )
            writer.close()
            sys.stdout.buffer.flush()
        else:
            with atomic_output(Path(output)) as tmp, open(tmp, "wb") as fh:
                writer = TableWriter(fh, kind, out_delim)
                report = encode_source(
                    model,
                    source,
                    writer,
                    keep=keep,
                    prefix=prefix,
                    chunk_rows=chunk_rows,
                    with_error=with_error,
                    on_rows=on_rows,
                )
                writer.close()
    summary = report.outside_summary()
    if summary:
        progress.note(summary, quiet)
    if report.imputed:
        progress.note(
            f"{report.imputed} missing values were filled with training statistics", quiet
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

    model = load_model_dir(model_dir)
    report = describe(model)
    labels = None
    if data is not None:
        source = open_source(data, delimiter, encoding)
        missing = [c for c in model.columns if c not in source.header]
        if missing:
            raise AefeatError(
                "training columns "
                + ", ".join(repr(m) for m in missing)
                + " missing from the data",
                source.name,
                "pass data with the columns the model was trained on",
            )
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
            labels = [str(v) for v in table.column(label).to_pylist()]
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

        write_inspection_plot(
            plot, Z, analysis, model.metadata.get("training", {}).get("history", {}), labels
        )
    return report
