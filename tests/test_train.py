"""Training: never worse than PCA, reproducible with a seed, a sound validation split."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FEATURES, make_frame, ok, run
from sklearn.datasets import load_wine
from sklearn.decomposition import PCA

from aefeat import AutoencoderTransformer
from aefeat.core.config import min_rows, split_sizes
from aefeat.keras_backend.fit import auto_batch_size, split_rows


def _scaler(X_train):
    lo, span = X_train.min(axis=0), np.ptp(X_train, axis=0)
    return lambda X: (X - lo) / span


@pytest.mark.parametrize("name", ["wine", "curved"])
def test_never_worse_than_pca_on_held_out_rows(name):
    X = load_wine().data if name == "wine" else make_frame(400, seed=3)[FEATURES].to_numpy()
    order = np.random.default_rng(0).permutation(len(X))
    n_test = len(X) // 5
    X_train, X_test = X[order[n_test:]], X[order[:n_test]]
    scale = _scaler(X_train)
    pca = PCA(2).fit(scale(X_train))
    mse_pca = np.mean((scale(X_test) - pca.inverse_transform(pca.transform(scale(X_test)))) ** 2)
    est = AutoencoderTransformer(latent_dim=2, epochs=8, hidden=(16,), random_state=0).fit(X_train)
    mse_ae = np.mean((scale(X_test) - scale(est.inverse_transform(est.transform(X_test)))) ** 2)
    # Equal (to float32 precision) when no epoch beat the PCA start; lower when one did.
    assert mse_ae <= mse_pca * (1 + 1e-4)
    assert est.val_mse_ <= est.pca_val_mse_ * (1 + 1e-4)


def test_zero_epochs_is_exactly_pca():
    X = load_wine().data
    est = AutoencoderTransformer(latent_dim=2, epochs=0, random_state=0).fit(X)
    scale = _scaler(X)
    pca = PCA(2).fit(scale(X))
    recon = scale(est.inverse_transform(est.transform(X)))
    np.testing.assert_allclose(recon, pca.inverse_transform(pca.transform(scale(X))), atol=1e-5)
    assert est.best_epoch_ == 0


def test_seed_makes_training_and_encoding_reproducible(csv_path, tmp_path):
    outputs = []
    for i in range(2):
        model = tmp_path / f"m{i}"
        args = ["--exclude", "id,label", "--epochs", "3", "--hidden", "8", "--seed", "7", "-q"]
        assert run("train", csv_path, "-o", model, *args).exit_code == 0
        with np.load(model / "weights.npz") as weights:
            arrays = {k: weights[k] for k in weights.files}
        outputs.append((arrays, ok("encode", model, csv_path)))
    (w0, z0), (w1, z1) = outputs
    assert w0.keys() == w1.keys()
    for key in w0:
        np.testing.assert_array_equal(w0[key], w1[key])
    assert z0 == z1  # byte-identical
    meta = json.loads((tmp_path / "m0" / "metadata.json").read_text())
    assert meta["training"]["seed"] == 7


def test_unseeded_run_records_the_seed_it_drew(csv_path, tmp_path):
    model = tmp_path / "m"
    args = ["--exclude", "id,label", "--epochs", "1", "--hidden", "4", "-q"]
    assert run("train", csv_path, "-o", model, *args).exit_code == 0
    seed = json.loads((model / "metadata.json").read_text())["training"]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32


def test_metadata_records_pca_baseline_and_best_epoch(model_dir):
    meta = json.loads((model_dir / "metadata.json").read_text())
    metrics = meta["metrics"]
    assert metrics["pca_val_mse"] > 0 and metrics["val_mse"] > 0
    assert 0 <= metrics["best_epoch"] <= meta["training"]["epochs_run"]
    assert len(meta["training"]["history"]["val_loss"]) == meta["training"]["epochs_run"] + 1


def test_split_is_shuffled_and_disjoint():
    train, val = split_rows(100, 0.2, True, np.random.default_rng(0))
    assert len(val) == 20 and len(train) == 80
    assert not set(train) & set(val)
    assert not np.array_equal(val, np.arange(80, 100))
    train, val = split_rows(100, 0.2, False, np.random.default_rng(0))
    np.testing.assert_array_equal(val, np.arange(80, 100))  # Keras' way, when asked for


@pytest.mark.parametrize("n, expected", [(10, 32), (2000, 32), (16000, 256), (10**7, 1024)])
def test_auto_batch_size_scales_with_data(n, expected):
    assert auto_batch_size(n) == expected


@pytest.mark.parametrize("split, k", [(0.2, 2), (0.5, 2), (0.25, 16), (0.9, 1)])
def test_min_rows_is_the_fewest_that_leave_training_and_validation_rows(split, k):
    n = min_rows(split, k)
    n_train, n_val = split_sizes(n, split)
    assert n_train >= k + 1 and n_val >= 1
    assert split_sizes(n - 1, split)[0] < max(2, k + 1)
