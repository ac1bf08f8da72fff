"""Shared pieces of the benchmark scripts: datasets, held-out splits, the tutorial recipe."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def scaled_mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def minmax(train: np.ndarray):
    lo, hi = train.min(axis=0), train.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lambda X: (X - lo) / span


def holdout(X: np.ndarray, y: np.ndarray | None, test_share: float = 0.2, seed: int = 0):
    """Rows never used for training or early stopping: the last ``test_share`` of a shuffle."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(len(X) * test_share))
    tr, te = order[n_test:], order[:n_test]
    return X[tr], X[te], (None if y is None else y[tr]), (None if y is None else y[te])


def curved_manifold(n: int = 3000, d: int = 20, seed: int = 0):
    """A 2-D sheet rolled up (Swiss roll) and pushed through a random nonlinear map into d columns."""
    rng = np.random.default_rng(seed)
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    h = rng.uniform(-1, 1, size=n)
    base = np.column_stack([t * np.cos(t), h * 10, t * np.sin(t)])
    W = rng.normal(size=(3, d))
    X = np.tanh(base @ W / 10) + 0.01 * rng.normal(size=(n, d))
    label = (t > np.median(t)).astype(int) * 2 + (h > 0)
    return X, label


def skewed_sensors(n: int = 4000, d: int = 40, seed: int = 1):
    """Heavy-tailed, correlated sensor readings driven by 3 hidden states."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, 3))
    W = rng.normal(size=(3, d))
    X = np.exp(0.8 * s @ W / np.sqrt(3)) + 0.05 * rng.normal(size=(n, d))
    label = (s[:, 0] > 0).astype(int)
    return X, label


def nonlinear_factors(n: int = 26_000, d: int = 100, factors: int = 8, seed: int = 5):
    """``tanh`` of 8 hidden factors through a random projection, plus noise, each of the ``d``
    columns with its own scale and offset: structure PCA cannot fold into a few components.
    The label (for 5-NN accuracy) is the sign of the first factor."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, factors))
    W = rng.normal(size=(factors, d)) * (1.5 / np.sqrt(factors))
    X = np.tanh(F @ W) + 0.05 * rng.normal(size=(n, d))
    X = X * rng.uniform(0.1, 100, size=d) + rng.uniform(-50, 50, size=d)
    return X, (F[:, 0] > 0).astype(int)


def nonlinear_network(n: int = 26_000, d: int = 100, factors: int = 12, seed: int = 17):
    """A second nonlinear set, made differently from :func:`nonlinear_factors` and never used to
    choose a default (added 2026-12-02 to check the speed-at-quality target on data not tuned
    on): 12 hidden factors through a random two-layer softplus network; about 70% of the
    columns are ``sin`` of it, the rest are floored (readings that pile up at a minimum); noise
    grows with a reading's size; each column has its own scale and offset. The label is the sign
    of the first factor."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(n, factors))
    H = np.logaddexp(0.0, 2.0 * F @ rng.normal(size=(factors, 32)) / np.sqrt(factors))
    U = H @ rng.normal(size=(32, d))
    U = (U - U.mean(axis=0)) / U.std(axis=0)
    wave = rng.random(d) < 0.7
    X = np.where(wave, np.sin(1.5 * U), np.maximum(U, -0.5))
    X = X + 0.05 * (1 + np.abs(X)) * rng.normal(size=(n, d))
    X = X * rng.uniform(0.1, 100, size=d) + rng.uniform(-50, 50, size=d)
    return X, (F[:, 0] > 0).astype(int)


def discrete_table(n: int = 5000, seed: int = 3):
    """15 columns in the style of real tables: counts, zero-inflated amounts, 0/1 flags, small
    integer ratings and a few continuous measurements, all driven by 3 hidden traits."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n, 3))
    cols = []
    for j in range(4):  # counts
        cols.append(rng.poisson(np.exp(0.8 * t[:, j % 3] + 0.3 * t[:, (j + 1) % 3])))
    for j in range(3):  # zero-inflated amounts
        active = rng.random(n) < 1 / (1 + np.exp(-1.5 * t[:, j]))
        cols.append(np.where(active, np.exp(1 + 0.7 * t[:, (j + 2) % 3]), 0.0))
    for j in range(3):  # flags
        cols.append((t[:, j] + 0.5 * rng.normal(size=n) > 0.3).astype(float))
    for j in range(2):  # ratings 1..5
        cols.append(np.clip(np.round(3 + 1.2 * t[:, j] * t[:, 2] + rng.normal(size=n) * 0.5), 1, 5))
    for j in range(3):  # measurements
        cols.append(np.sin(t[:, j]) + 0.3 * t[:, (j + 1) % 3] ** 2 + 0.05 * rng.normal(size=n))
    return np.column_stack(cols).astype(float), (t[:, 0] > 0).astype(int)


def datasets() -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """name -> (X, label, latent size)."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_linnerud, load_wine

    out = {}
    iris = pd.read_csv(ROOT / "sample_data" / "iris.csv")
    out["iris (sample)"] = (
        iris.drop(columns="species").to_numpy(float),
        iris["species"].to_numpy(),
        2,
    )
    digits = pd.read_csv(ROOT / "sample_data" / "digits.csv")
    out["digits (sample)"] = (
        digits.drop(columns="label").to_numpy(float),
        digits["label"].to_numpy(),
        2,
    )
    traffic = pd.read_csv(ROOT / "sample_data" / "traffic.csv")
    tx, ty = traffic.drop(columns="device").to_numpy(float), traffic["device"].to_numpy()
    out["traffic (sample)"] = (tx, ty, 4)
    out["traffic (sample) "] = (tx, ty, 16)
    wine = load_wine()
    out["wine"] = (wine.data, wine.target, 2)
    bc = load_breast_cancer()
    out["breast-cancer"] = (bc.data, bc.target, 4)
    diabetes = load_diabetes(scaled=False)  # raw units; sex is a 1/2 column
    out["diabetes"] = (diabetes.data, (diabetes.target > np.median(diabetes.target)).astype(int), 3)
    lin = load_linnerud()  # 20 rows: exercise and physiological measurements side by side
    out["linnerud"] = (np.hstack([lin.data, lin.target]), (lin.data[:, 0] > 10).astype(int), 2)
    out["discrete-15d"] = (*discrete_table(), 4)
    out["swiss-roll-20d"] = (*curved_manifold(), 2)
    out["skewed-sensors-40d"] = (*skewed_sensors(), 3)
    out["nonlinear-100d"] = (*nonlinear_factors(), 16)
    out["nonlinear2-100d"] = (*nonlinear_network(), 4)
    return out


def tutorial_recipe(
    X_train: np.ndarray,
    latent_dim: int,
    seed: int = 0,
    epochs: int = 50,
    return_model: bool = False,
):
    """The IoT tutorial as published, in plain Keras: MinMax-scaled input, Dense 64/32 LeakyReLU,
    tanh latent, mirrored decoder with sigmoid output, MSE, Adam, batch 32, validation_split=0.25.
    Returns (reconstruct, encode, seconds): functions on scaled rows, and the fit's wall time
    (and the Keras model, with ``return_model``)."""
    import logging

    import keras

    # predict() on differently sized arrays makes TensorFlow warn about retracing: noise here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    keras.utils.set_random_seed(seed)
    d = X_train.shape[1]
    inp = keras.Input((d,))
    h = keras.layers.Dense(64, activation="leaky_relu")(inp)
    h = keras.layers.Dense(32, activation="leaky_relu")(h)
    z = keras.layers.Dense(latent_dim, activation="tanh")(h)
    h = keras.layers.Dense(32, activation="leaky_relu")(z)
    h = keras.layers.Dense(64, activation="leaky_relu")(h)
    out = keras.layers.Dense(d, activation="sigmoid")(h)
    model = keras.Model(inp, out)
    encoder = keras.Model(inp, z)
    model.compile(optimizer="adam", loss="mse")
    started = time.perf_counter()
    model.fit(X_train, X_train, epochs=epochs, batch_size=32, validation_split=0.25, verbose=0)
    seconds = time.perf_counter() - started
    out = (
        lambda X: model.predict(X, batch_size=4096, verbose=0),
        lambda X: encoder.predict(X, batch_size=4096, verbose=0),
        seconds,
    )
    return (*out, model) if return_model else out


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started
