"""Training: validation split, PCA start, Keras fit with early stopping and a learning-rate
schedule, keeping the best weights by validation loss (the PCA start counts as epoch 0)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aefeat.core.config import check_sizes, split_sizes
from aefeat.core.network import DenseNetwork, NetworkSpec
from aefeat.keras_backend import (
    build as model_mod,  # first: it quiets TensorFlow's start-up logging
)
from aefeat.keras_backend.build import keras

# Called after each epoch with (epoch, max_epochs, logs); used for progress bars.
EpochCallback = Callable[[int, int, dict[str, float]], None]


@dataclass
class TrainResult:
    spec: NetworkSpec
    weights: dict[str, np.ndarray]
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    batch_size: int
    n_train: int
    n_val: int
    val_mse: float
    train_mse: float
    pca_val_mse: float
    pca_explained_variance: float
    seed: int
    duration_s: float
    threads: dict[str, Any] = field(default_factory=dict)


def split_rows(
    n_rows: int, validation_split: float, shuffle: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices. Shuffled by default: Keras' ``validation_split``
    takes the last rows, which is wrong for files sorted by time or label."""
    n_train, _ = split_sizes(n_rows, validation_split)
    order = rng.permutation(n_rows) if shuffle else np.arange(n_rows)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def auto_batch_size(n_train: int) -> int:
    """About 64 steps per epoch, between 32 and 1024 rows (a power of two)."""
    return int(np.clip(2 ** np.round(np.log2(max(n_train / 64, 1))), 32, 1024))


def pca_start(X_train: np.ndarray, latent_dim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """PCA of the scaled training rows: components (K x D), mean (D,), explained variance ratio."""
    from sklearn.decomposition import PCA

    solver = "covariance_eigh" if X_train.shape[0] > 4 * X_train.shape[1] else "full"
    pca = PCA(n_components=latent_dim, svd_solver=solver).fit(X_train.astype(np.float64))
    return pca.components_, pca.mean_, float(pca.explained_variance_ratio_.sum())


def pca_variance_ratios(X: np.ndarray) -> np.ndarray:
    """Explained variance ratio of every principal component of the scaled rows ``X``."""
    from sklearn.decomposition import PCA

    solver = "covariance_eigh" if X.shape[0] > 4 * X.shape[1] else "full"
    return PCA(svd_solver=solver).fit(np.asarray(X, dtype=np.float64)).explained_variance_ratio_


def choose_latent_dim(explained_variance_ratio: np.ndarray, fraction: float) -> int:
    """The smallest number of components whose explained variance ratios add up to at least
    ``fraction`` (``latent_dim=0.95``, as ``PCA(n_components=0.95)``), from 1 to the number of
    ratios given."""
    ratios = np.asarray(explained_variance_ratio, dtype=np.float64)
    if len(ratios) == 0 or not np.all(np.isfinite(ratios)) or ratios.sum() <= 0:
        return 1  # no variance (constant data): one column keeps all there is
    # A hair of tolerance, so that components adding up to exactly the fraction are enough.
    k = int(np.searchsorted(np.cumsum(ratios), fraction - 1e-9, side="left")) + 1
    return max(1, min(k, len(ratios)))


def pca_mse(X: np.ndarray, components: np.ndarray, mean: np.ndarray) -> float:
    """Mean squared error of PCA's reconstruction of ``X`` (the baseline aefeat must beat)."""
    return _mse(X, (X - mean) @ components.T @ components + mean)


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(np.mean(d * d))


def train_network(
    X_scaled: np.ndarray,
    spec: NetworkSpec,
    *,
    epochs: int,
    batch_size: int | str,
    learning_rate: float,
    validation_split: float,
    patience: int,
    shuffle: bool,
    seed: int,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train the autoencoder on MinMax-scaled rows and return its best weights and history."""
    started = time.perf_counter()
    n_rows = X_scaled.shape[0]
    check_sizes(spec.latent_dim, validation_split, n_features=spec.n_features, n_rows=n_rows)
    rng = np.random.default_rng(seed)
    train_idx, val_idx = split_rows(n_rows, validation_split, shuffle, rng)
    X_train = np.ascontiguousarray(X_scaled[train_idx], dtype=np.float32)
    X_val = np.ascontiguousarray(X_scaled[val_idx], dtype=np.float32)
    # The held-out baseline: PCA fitted on the training rows only, scored on validation rows.
    components, mean, _ = pca_start(X_train, spec.latent_dim)
    pca_val_mse = pca_mse(X_val, components, mean)
    # The start: PCA of all rows, the same PCA a user would fit, so that a model that never beats
    # its start is exactly that PCA (and the start is an optimistic bar for the validation rows).
    components, mean, pca_evr = pca_start(X_scaled, spec.latent_dim)
    bs = auto_batch_size(len(train_idx)) if batch_size == "auto" else int(batch_size)
    bs = min(bs, len(train_idx))
    return fit_from_start(
        spec,
        components,
        mean,
        X_train,
        X_val,
        train_sample=X_train,
        n_train=len(train_idx),
        batch_size=bs,
        epochs=epochs,
        learning_rate=learning_rate,
        patience=patience,
        shuffle=shuffle,
        seed=seed,
        on_epoch=on_epoch,
        pca_val_mse=pca_val_mse,
        pca_explained_variance=pca_evr,
        started=started,
    )


def fit_from_start(
    spec: NetworkSpec,
    components: np.ndarray,
    mean: np.ndarray,
    train_data: Any,
    X_val: np.ndarray,
    *,
    train_sample: np.ndarray,
    n_train: int,
    batch_size: int,
    epochs: int,
    learning_rate: float,
    patience: int,
    shuffle: bool,
    seed: int,
    on_epoch: EpochCallback | None,
    pca_val_mse: float,
    pca_explained_variance: float,
    started: float,
) -> TrainResult:
    """Build the model at its PCA start and fit it on ``train_data``: an array of scaled rows, or
    a ``tf.data.Dataset`` of ``(x, x)`` batches for inputs streamed from disk."""
    keras.utils.set_random_seed(seed)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    layers = model_mod.build_layers(spec)
    autoencoder = model_mod.build_autoencoder(spec, layers)
    if spec.linear_path:
        # The nonlinear paths start at zero (see build_layers), so this start is exactly PCA.
        layers["encoder_linear"].set_weights([components.T, -mean @ components.T])
        layers["decoder_linear"].set_weights([components, mean])

    autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    eval_bs = max(batch_size, 4096)
    initial = float(autoencoder.evaluate(X_val, X_val, batch_size=eval_bs, verbose=0))
    initial_train = float(
        autoencoder.evaluate(train_sample, train_sample, batch_size=eval_bs, verbose=0)
    )

    keeper = _KeepBest(layers, initial, patience, epochs, on_epoch, model_mod.get_weights)
    callbacks: list[Any] = [keeper]
    if patience > 2:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=0.5,
                patience=max(2, patience // 3),
                min_lr=learning_rate / 64,
                verbose=0,
            )
        )
    history: dict[str, list[float]] = {"loss": [initial_train], "val_loss": [initial]}
    if epochs > 0:
        if isinstance(train_data, np.ndarray):
            fit = autoencoder.fit(
                train_data,
                train_data,
                validation_data=(X_val, X_val),
                epochs=epochs,
                batch_size=batch_size,
                shuffle=shuffle,
                verbose=0,
                callbacks=callbacks,
            )
        else:
            import warnings

            with warnings.catch_warnings():
                # A streamed epoch has no length known in advance; Keras warns when it ends.
                warnings.filterwarnings("ignore", message=".*ran out of data.*")
                fit = autoencoder.fit(
                    train_data,
                    validation_data=(X_val, X_val),
                    epochs=epochs,
                    shuffle=False,  # the stream shuffles through a buffer itself
                    verbose=0,
                    callbacks=callbacks,
                )
        history["loss"] += [float(v) for v in fit.history.get("loss", [])]
        history["val_loss"] += [float(v) for v in fit.history.get("val_loss", [])]
    weights = keeper.best_weights
    net = DenseNetwork(spec, weights, dtype=np.float64)
    return TrainResult(
        spec=spec,
        weights=weights,
        history=history,
        best_epoch=keeper.best_epoch,
        epochs_run=len(history["loss"]) - 1,
        batch_size=batch_size,
        n_train=n_train,
        n_val=len(X_val),
        val_mse=_mse(X_val, net.decode(net.encode(X_val))),
        train_mse=_mse(train_sample, net.decode(net.encode(train_sample))),
        pca_val_mse=pca_val_mse,
        pca_explained_variance=pca_explained_variance,
        seed=seed,
        duration_s=time.perf_counter() - started,
        threads={
            "TF_NUM_INTRAOP_THREADS": os.environ.get("TF_NUM_INTRAOP_THREADS"),
            "TF_NUM_INTEROP_THREADS": os.environ.get("TF_NUM_INTEROP_THREADS"),
            "cpu_count": os.cpu_count(),
        },
    )


class _KeepBest(keras.callbacks.Callback):
    """Best weights by validation loss, counting the starting point; early stopping on patience."""

    def __init__(self, layers, initial_loss, patience, max_epochs, on_epoch, get_weights):
        super().__init__()
        self._layers = layers
        self._get = get_weights
        self.best_loss = initial_loss
        self.best_epoch = 0
        self.best_weights = get_weights(layers)
        self._patience = patience
        self._wait = 0
        self._max_epochs = max_epochs
        self._on_epoch = on_epoch

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss = float(logs.get("val_loss", np.inf))
        if np.isfinite(loss) and loss < self.best_loss:
            # A relative threshold so that noise-level gains do not reset patience.
            if loss < self.best_loss * (1 - 1e-4):
                self._wait = 0
            else:
                self._wait += 1
            self.best_loss = loss
            self.best_epoch = epoch + 1
            self.best_weights = self._get(self._layers)
        else:
            self._wait += 1
        if not np.isfinite(loss) or self._wait >= self._patience:
            self.model.stop_training = True
        if self._on_epoch is not None:
            self._on_epoch(epoch + 1, self._max_epochs, {k: float(v) for k, v in logs.items()})
