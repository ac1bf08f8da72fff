"""Inspection: what a model is and what it learned — columns, architecture, training history,
and, on data, attribution of latent columns to input features, per-feature R², latent column
importance and explained variance next to PCA's. NumPy only (no TensorFlow)."""

from __future__ import annotations

from typing import Any

import numpy as np

from aefeat.core.network import can_be_pca
from aefeat.core.pca import largest_components
from aefeat.core.prepare import (
    count_bad_values,
    first_bad_at,
    first_nonfinite_row,
    missing_values_error,
)
from aefeat.io.sources import Source
from aefeat.modeldir import ModelDir

MAX_ATTRIBUTION_ROWS = 2000
_JACOBIAN_CELLS = 4_000_000  # per-chunk Jacobian entries (about 32 MB of float64)


def parameter_count(model: ModelDir) -> int:
    return int(sum(w.size for w in model.network.weights.values()))


def _curve(values: list[float]) -> dict[str, Any]:
    if not values:
        return {}
    arr = np.asarray(values, dtype=np.float64)
    # A run that diverged ends in NaN or inf: the best is the best finite value.
    finite = np.where(np.isfinite(arr), arr, np.inf)
    best = int(finite.argmin())
    return {
        "start": float(arr[0]),
        "best": float(arr[best]),
        "best_epoch": best,
        "last": float(arr[-1]),
    }


def start_description(architecture: dict[str, Any]) -> str:
    """What training started from, for reports, given ``describe()["architecture"]``: PCA
    when the linear path is on, with the nonlinear path's small random start beside it when
    there are hidden layers (so the first losses are not PCA's own), or random weights."""
    if not architecture.get("linear_path", True):
        return "random initial weights"
    if not can_be_pca(
        True,
        architecture.get("latent_activation", "linear"),
        architecture.get("output_activation", "sigmoid_mix"),
    ):
        return "PCA's weights through the non-identity activations, so not PCA itself"
    if architecture.get("hidden"):
        return "PCA plus a random nonlinear path"
    return "PCA"


def describe(model: ModelDir) -> dict[str, Any]:
    """Everything ``inspect`` shows without data, as one JSON-ready dict."""
    meta = model.metadata
    training = dict(meta.get("training", {}))
    history = training.pop("history", {})
    scaler = model.scaler
    return {
        "model_dir": model.name,
        "format_version": meta.get("format_version"),
        "created": meta.get("created"),
        "versions": meta.get("versions", {}),
        "input_columns": [
            {"name": c, "min": float(lo), "max": float(hi)}
            for c, lo, hi in zip(model.columns, scaler.data_min, scaler.data_max, strict=True)
        ],
        "latent_dim": model.spec.latent_dim,
        "architecture": {**model.spec.to_json(), "parameters": parameter_count(model)},
        "config": meta.get("config", {}),
        "training": {
            **training,
            "loss": _curve(history.get("loss", [])),
            "val_loss": _curve(history.get("val_loss", [])),
        },
        "metrics": meta.get("metrics", {}),
    }


def read_rows(model: ModelDir, source: Source, label: str | None = None) -> tuple[np.ndarray, Any]:
    """The training columns of every row of ``source`` (raw units) and, with ``label``, that
    column's values (None otherwise). Missing values are refused unless the model imputes."""
    source.require_training_columns(model.columns)
    if label is not None:
        source.check_columns([label], "--label")
    passthrough = [label] if label is not None and label not in model.columns else []
    table = source.read_table(model.columns, passthrough)
    X = source.to_matrix(table, model.columns, np.float64)
    bad = count_bad_values(X, model.columns)
    if bad and model.scaler.fill is None:
        # Named by its line, as train and encode name it.
        n_bad = sum(n_nan + n_inf for n_nan, n_inf in bad.values())
        where = first_bad_at(source.where_row(first_nonfinite_row(X)), n_bad)
        raise missing_values_error(bad, where, training=False)
    # Values encode would refuse (results beyond float32) are refused here too: the report
    # would otherwise be made of inf and NaN.
    kernel = model.kernel()
    filled = X.copy()
    kernel.fill(filled, source.where_row)
    kernel.encode(filled, with_error=True, where=source.where_row)
    return X, None if label is None else table.column(label).to_pylist()


def inspect(
    model: ModelDir, X_raw: np.ndarray | None = None, source: str | None = None
) -> tuple[dict[str, Any], np.ndarray]:
    """The whole ``inspect`` report of ``model`` on rows ``X_raw`` read from ``source`` (by
    default the training sample stored in the model directory), and the latent values."""
    report = describe(model)
    if X_raw is None:
        X_raw, evaluated_on = model.sample(), "training sample stored in the model directory"
    else:
        evaluated_on = source or "data"
    analysis, Z = analyse(model, X_raw)
    report["evaluated_on"] = evaluated_on
    report.update(analysis)
    if source is not None:
        report["data"] = {
            "source": evaluated_on,
            "rows": analysis["rows"],
            "reconstruction_mse": analysis["reconstruction_mse"],
        }
    return report, Z


def _normalise_rows(M: np.ndarray) -> np.ndarray:
    total = M.sum(axis=1, keepdims=True)
    return np.divide(M, total, out=np.zeros_like(M), where=total > 0)


def _corr(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of A with each column of B: shape (B cols, A cols)."""
    Ac = A - A.mean(axis=0)
    Bc = B - B.mean(axis=0)
    num = Bc.T @ Ac
    den = np.outer(np.sqrt((Bc**2).sum(axis=0)), np.sqrt((Ac**2).sum(axis=0)))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def mean_abs_jacobian(model: ModelDir, X_scaled: np.ndarray, seed: int = 0) -> np.ndarray:
    """Mean over rows of |d latent / d scaled input|, shape (latent_dim, n_features).

    At most ``MAX_ATTRIBUTION_ROWS`` rows (a seeded sample) are used, in chunks that keep the
    per-row Jacobians small. Columns that were constant in the training data get 0: the model
    never saw them vary, so their (untrained) weights say nothing about the data.
    """
    rows = X_scaled
    if len(rows) > MAX_ATTRIBUTION_ROWS:
        idx = np.random.default_rng(seed).choice(len(rows), MAX_ATTRIBUTION_ROWS, replace=False)
        rows = rows[np.sort(idx)]
    spec = model.spec
    widest = max((spec.n_features, *spec.hidden))
    chunk = max(1, _JACOBIAN_CELLS // (spec.latent_dim * widest))
    total = np.zeros((spec.latent_dim, spec.n_features))
    for start in range(0, len(rows), chunk):
        total += np.abs(model.network.jacobian("encoder", rows[start : start + chunk])).sum(axis=0)
    mean = total / max(len(rows), 1)
    mean[:, model.scaler.data_max <= model.scaler.data_min] = 0.0
    return mean


def pca_kept(X: np.ndarray, n_components: int) -> float:
    """Share of the variance of the rows ``X`` (at least two, not all equal) kept by their
    ``n_components`` largest principal components: PCA fitted on these same rows, the most any
    linear projection to that many columns keeps."""
    few = largest_components(X, n_components)
    if few is not None:
        # A few components of a large table, by ARPACK as training's PCA start, over the total
        # variance as the sum of the column variances: no full spectrum (for 3,000 x 4,000 rows
        # x columns, 35 s by a full SVD, 0.7 s so).
        return float(few[2].sum())
    if X.shape[1] <= X.shape[0]:
        eig = np.linalg.eigvalsh(np.atleast_2d(np.cov(X, rowvar=False)))[::-1].clip(min=0)
    else:
        # More columns than rows: the same variances from the rows' singular values, not a
        # columns x columns covariance (12 GB for a crafted 40,000-column model of 2 rows).
        centred = X - X.mean(axis=0)
        eig = np.linalg.svd(centred, compute_uv=False) ** 2 / (X.shape[0] - 1)
    return float(eig[:n_components].sum() / eig.sum())


def analyse(
    model: ModelDir, X_raw: np.ndarray, prefix: str = "z", seed: int = 0
) -> tuple[dict[str, Any], np.ndarray]:
    """What the model does on ``X_raw`` (rows x training columns, raw units), and the latent values.

    Everything is in MinMax-scaled units (the units the network sees); see the README section
    "What inspect tells you" for what each number means.
    """
    net, scaler = model.network, model.scaler
    Xs = scaler.prepare(X_raw)
    Z = net.encode(Xs).astype(np.float64)
    recon = net.decode(Z).astype(np.float64)
    err = (recon - Xs) ** 2
    mse = float(err.mean())
    names = model.columns
    n_rows = Xs.shape[0]
    latent = [f"{prefix}{k}" for k in range(model.spec.latent_dim)]

    attribution = _normalise_rows(mean_abs_jacobian(model, Xs, seed))
    signed = _corr(Xs, Z)

    sst = ((Xs - Xs.mean(axis=0)) ** 2).sum(axis=0)
    sse = err.sum(axis=0)
    feature_r2 = {
        n: (None if sst[j] <= 1e-12 else float(1 - sse[j] / sst[j])) for j, n in enumerate(names)
    }
    explained = float(1 - sse.sum() / sst.sum()) if sst.sum() > 1e-12 else None
    pca_explained = None
    if n_rows >= 2 and sst.sum() > 1e-12:
        pca_explained = pca_kept(Xs, model.spec.latent_dim)

    importance = {}
    for k, name in enumerate(latent):
        Zk = Z.copy()
        Zk[:, k] = Z[:, k].mean()
        importance[name] = float(((net.decode(Zk) - Xs) ** 2).mean() - mse)
    report = {
        "rows": int(n_rows),
        "reconstruction_mse": mse,
        "explained_variance": explained,
        "pca_explained_variance": pca_explained,
        "feature_r2": feature_r2,
        "latent_importance": importance,
        "attribution": {
            z: {n: float(attribution[k, j]) for j, n in enumerate(names)}
            for k, z in enumerate(latent)
        },
        "signed_correlation": {
            z: {n: float(signed[k, j]) for j, n in enumerate(names)} for k, z in enumerate(latent)
        },
    }
    return report, Z
