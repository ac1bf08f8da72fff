"""Training: never worse than PCA, reproducible with a seed, a sound validation split."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import FEATURES, assert_user_error, make_frame, ok, pipe_path, run
from sklearn.datasets import load_wine
from sklearn.decomposition import PCA

from aefeat import AutoencoderTransformer
from aefeat.cli.report import why_pca
from aefeat.core.config import min_rows, parse_duration, split_sizes
from aefeat.errors import AefeatError
from aefeat.keras_backend import fit as fit_mod
from aefeat.keras_backend.fit import plan_steps, resolve_batch_size, split_rows


def _scaler(X_train):
    lo, span = X_train.min(axis=0), np.ptp(X_train, axis=0)
    return lambda X: (X - lo) / span


@pytest.mark.parametrize("name", ["wine", "curved"])
def test_never_worse_than_pca_on_validation_rows(name):
    X = load_wine().data if name == "wine" else make_frame(400, seed=3)[FEATURES].to_numpy()
    order = np.random.default_rng(0).permutation(len(X))
    n_test = len(X) // 5
    X_train, X_test = X[order[n_test:]], X[order[:n_test]]
    scale = _scaler(X_train)
    pca = PCA(2).fit(scale(X_train))
    mse_pca = np.mean((scale(X_test) - pca.inverse_transform(pca.transform(scale(X_test)))) ** 2)
    est = AutoencoderTransformer(latent_dim=2, epochs=8, hidden=(16,), random_state=0).fit(X_train)
    mse_ae = np.mean((scale(X_test) - scale(est.inverse_transform(est.transform(X_test)))) ** 2)
    # The saved model is PCA unless the network was reliably better on the validation rows.
    assert est.kept_ in ("autoencoder", "pca")
    assert est.val_mse_ <= est.pca_val_mse_ * (1 + 1e-4)
    # On rows it never saw, it can lose a little to chance, not more.
    assert mse_ae <= mse_pca * 1.02


def test_zero_epochs_is_exactly_pca():
    X = load_wine().data
    est = AutoencoderTransformer(latent_dim=2, epochs=0, random_state=0).fit(X)
    scale = _scaler(X)
    pca = PCA(2).fit(scale(X))
    recon = scale(est.inverse_transform(est.transform(X)))
    np.testing.assert_allclose(recon, pca.inverse_transform(pca.transform(scale(X))), atol=1e-5)
    assert est.best_epoch_ == 0 and est.kept_ == "pca"


@pytest.mark.parametrize(("n_rows", "batch_size"), [(200, 32), (206, 33)])
def test_training_loss_is_the_mse_over_every_row_of_each_batch(n_rows, batch_size):
    # With a rate too small to move the weights, the mean step loss over the first pass (whole
    # batches only) is the start's MSE on the training rows. Each batch goes through the model in
    # two halves: a loss over one half, or a mean of the halves' means (an odd batch), is not.
    # Without the denoising noise, which makes a step's loss that of noisy rows.
    X = make_frame(n_rows, seed=5)[FEATURES].to_numpy()
    est = AutoencoderTransformer(
        latent_dim=2,
        epochs=1,
        batch_size=batch_size,
        learning_rate=1e-12,
        input_noise=0,
        random_state=0,
    ).fit(X)
    start, first_pass = est.history_["loss"][:2]
    assert est.training_info_["n_train"] == 5 * batch_size
    assert first_pass == pytest.approx(start, rel=1e-4)


def test_denoising_noise_reaches_training_but_not_validation_checks():
    # With a rate too small to move the weights: the training loss is that of noisy rows (above
    # the start's MSE), while every validation check is the clean start's validation MSE.
    X = make_frame(300, seed=5)[FEATURES].to_numpy()
    est = AutoencoderTransformer(
        latent_dim=2, epochs=3, batch_size=32, learning_rate=1e-12, random_state=0
    ).fit(X)
    loss, val = est.history_["loss"], est.history_["val_loss"]
    assert len(val) >= 4
    assert min(loss[1:]) > 1.002 * loss[0]  # equal, to 1e-4, without noise
    np.testing.assert_allclose(val[1:], val[0], rtol=1e-4)


def test_input_noise_0_trains_on_clean_rows_and_the_estimator_checks_it():
    X = make_frame(200, seed=5)[FEATURES].to_numpy()
    clean = AutoencoderTransformer(latent_dim=2, epochs=2, input_noise=0, random_state=0).fit(X)
    noisy = AutoencoderTransformer(latent_dim=2, epochs=2, random_state=0).fit(X)
    assert clean.history_["val_loss"][0] == noisy.history_["val_loss"][0]  # the same start
    assert clean.history_["loss"][1:] != noisy.history_["loss"][1:]
    with pytest.raises(ValueError, match="input_noise=-1 must be a number from 0 to 10"):
        AutoencoderTransformer(latent_dim=2, input_noise=-1).fit(X)


def test_auto_noise_falls_with_the_square_root_of_the_rows_above_16000():
    assert fit_mod.noise_spread("auto", 96) == fit_mod.noise_spread("auto", 16_000) == 0.2
    assert fit_mod.noise_spread("auto", 160_000) == pytest.approx(0.2 / np.sqrt(10))
    assert fit_mod.noise_spread(0.35, 160_000) == 0.35
    assert fit_mod.noise_spread(0, 10) == 0.0


def test_input_noise_flag_takes_a_number_or_auto(tmp_path):
    path = tmp_path / "d.csv"
    make_frame(120, seed=1)[FEATURES].to_csv(path, index=False)
    bad = run("train", str(path), "-o", str(tmp_path / "m"), "--input-noise", "lots")
    assert bad.exit_code == 2 and not (tmp_path / "m").exists()
    assert "invalid value 'lots' (--input-noise)" in bad.stderr and "'auto'" in bad.stderr
    ok("train", str(path), "-o", str(tmp_path / "m"), "--input-noise", "0.1", "--epochs", "1")
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["config"]["input_noise"] == 0.1


def test_noise_bank_holds_two_batches_and_stays_small_for_wide_tables():
    bank, _ = fit_mod._noise_bank(100, 256, seed=0, spread=0.2)
    assert bank.shape == (fit_mod.NOISE_BANK_ROWS, 100) and bank.dtype == np.float32
    assert np.std(bank) == pytest.approx(0.2, rel=0.02)
    wide, _ = fit_mod._noise_bank(20_000, 256, seed=0, spread=0.2)
    assert wide.shape == (512, 20_000)  # two batches: more than the 16 MB cap's 209 rows
    mid, _ = fit_mod._noise_bank(2_000, 64, seed=0, spread=0.2)
    assert mid.nbytes <= 4 * fit_mod.NOISE_BANK_VALUES and len(mid) >= 128
    same = [fit_mod._noise_bank(50, 32, 7, 0.2)[0] for _ in range(2)]
    assert np.array_equal(*same)


def test_batches_sharing_a_call_train_as_one_batch_a_call(monkeypatch):
    # 16 training rows in batches of 6 (batches straddle passes): many batches go to TensorFlow
    # in one call. The batches, their order and so the weights must be those of one call each.
    X = make_frame(20, seed=4)[FEATURES].to_numpy()

    def fit():
        return AutoencoderTransformer(latent_dim=2, epochs=10, batch_size=6, random_state=1).fit(X)

    shared = fit()
    monkeypatch.setattr(fit_mod._ArrayBatches, "BLOCK", 1)  # one batch per call
    alone = fit()
    assert shared.training_info_["steps_run"] == alone.training_info_["steps_run"] == 30
    assert shared.history_["val_loss"] == alone.history_["val_loss"]
    # The training loss is summed in float32 per call: the same up to the order of the sum.
    np.testing.assert_allclose(shared.history_["loss"], alone.history_["loss"], rtol=1e-6)
    for name, w in alone.network_.weights.items():
        np.testing.assert_array_equal(shared.network_.weights[name], w, err_msg=name)


def _discrete_table(n: int, seed: int = 0) -> np.ndarray:
    """Counts, zero-inflated amounts, 0/1 flags and 1..5 ratings driven by two hidden traits:
    the kind of table on which a PCA start can be a basin."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n, 2))
    cols = [
        rng.poisson(np.exp(0.8 * t[:, 0])),
        rng.poisson(np.exp(0.6 * t[:, 1] - 0.3 * t[:, 0])),
        np.where(rng.random(n) < 1 / (1 + np.exp(-2 * t[:, 0])), np.exp(1 + t[:, 1]), 0.0),
        (t[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(float),
        np.clip(np.round(3 + 1.5 * t[:, 0] * t[:, 1]), 1, 5),
        np.sin(2 * t[:, 0]) + 0.05 * rng.normal(size=n),
        t[:, 1] ** 2 + 0.05 * rng.normal(size=n),
        np.tanh(t[:, 0] + t[:, 1]),
    ]
    return np.column_stack(cols).astype(float)


def test_beats_pca_on_a_table_with_discrete_columns():
    X = _discrete_table(2500)
    X_train, X_test = X[:2000], X[2000:]
    scale = _scaler(X_train)
    pca = PCA(2).fit(scale(X_train))
    mse_pca = np.mean((scale(X_test) - pca.inverse_transform(pca.transform(scale(X_test)))) ** 2)
    est = AutoencoderTransformer(latent_dim=2, random_state=0).fit(X_train)
    mse_ae = np.mean((scale(X_test) - scale(est.inverse_transform(est.transform(X_test)))) ** 2)
    assert est.kept_ == "autoencoder"
    assert mse_ae < 0.9 * mse_pca


def test_small_batches_leave_the_pca_start_on_nonlinear_data():
    # With the nonlinear output layer at exactly zero, batch 64 used to stay on the PCA start.
    rng = np.random.default_rng(1)
    F = rng.normal(size=(2000, 3))
    X = np.tanh(F @ rng.normal(size=(3, 20))) + 0.02 * rng.normal(size=(2000, 20))
    for batch_size in (32, 64):
        est = AutoencoderTransformer(latent_dim=2, batch_size=batch_size, random_state=0).fit(X)
        assert est.autoencoder_val_mse_ < 0.8 * est.pca_val_mse_, batch_size
        assert est.kept_ == "autoencoder"


def test_max_time_ends_training_with_a_valid_model(csv_path, tmp_path):
    model = tmp_path / "m"
    args = ["--exclude", "id,label", "--epochs", "100000", "--seed", "0", "--max-time", "3s"]
    result = run("train", csv_path, "-o", model, *args, "--json")
    assert result.exit_code == 0, result.stderr
    assert "--max-time budget of 3s ended training" in result.stderr
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["training"]["ended_by"] == "max_time"
    assert meta["training"]["steps_run"] < meta["training"]["planned_steps"]
    summary = json.loads(result.stdout)  # --json: the same facts for a script
    assert summary["ended_by"] == "max_time"
    assert summary["training"]["steps_run"] == meta["training"]["steps_run"]
    encoded = run("encode", model, csv_path)
    assert encoded.exit_code == 0, encoded.stderr
    assert len(encoded.stdout.splitlines()) == 241


def test_a_file_of_more_rows_than_training_uses_is_read_as_a_sample_of_blocks(tmp_path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n = 1_300_000  # more than 1.2 x the 1,000,000-row sample
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, n).astype(np.float32)
    table = pa.table({"a": t, "b": (t * t + 0.1 * rng.normal(size=n)).astype(np.float32)})
    path = tmp_path / "many.csv"
    pacsv.write_csv(table, path)
    model = tmp_path / "m"
    args = ["-k", "1", "--epochs", "1", "--batch-size", "1024", "--seed", "0"]
    result = run("train", path, "-o", model, *args)
    assert result.exit_code == 0, result.stderr
    assert "blocks, chosen at random" in result.stderr
    data = json.loads((model / "metadata.json").read_text())["data"]
    assert data["sampled"] == "blocks" and 900_000 < data["rows"] < 1_100_000
    assert 1_200_000 < data["rows_estimated"] < 1_400_000
    # --max-rows asks for a uniform sample of every row instead: no block sampling.
    result = run("train", path, "-o", tmp_path / "m2", *args, "--max-rows", "2000")
    assert result.exit_code == 0, result.stderr
    assert "blocks" not in result.stderr
    assert json.loads((tmp_path / "m2" / "metadata.json").read_text())["data"]["rows"] == 2000


def _two_directions_csv(path, n_rows: int, n_cols: int, noise: float, seed: int):
    """Rows on a 2-D plane through ``n_cols`` columns, plus Gaussian noise: PCA's kind of data."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 2)) @ rng.normal(size=(2, n_cols))
    X += noise * rng.normal(size=X.shape)
    header = ",".join(f"c{i}" for i in range(n_cols))
    np.savetxt(path, X, delimiter=",", header=header, comments="")
    return path


def test_summary_says_plainly_when_the_model_is_pca(tmp_path):
    # Two directions plus noise: nothing for a network to find beyond PCA.
    path = _two_directions_csv(tmp_path / "linear.csv", 300, 5, 0.3, seed=0)
    model = tmp_path / "m"
    result = run("train", path, "-o", model, "--seed", "0", "--epochs", "5")
    assert result.exit_code == 0, result.stderr
    assert "the saved model is PCA (fitted on all rows, validation rows included)" in result.stderr
    metrics = json.loads((model / "metadata.json").read_text())["metrics"]
    assert metrics["model"] == "pca"
    # A script comparing val_mse with pca_val_mse must not read a win for the network.
    assert metrics["val_mse"] == metrics["pca_val_mse"]
    if metrics["autoencoder_val_mse"] >= metrics["pca_val_mse"]:
        assert "was not below PCA's" in result.stderr
    else:
        assert "but not reliably: over 60 validation rows the difference is within chance" in (
            result.stderr
        )
    assert "no epoch improved" not in result.stderr
    shown = run("inspect", model)
    assert shown.exit_code == 0, shown.stderr
    assert "model: PCA, fitted on all rows, validation rows included" in shown.stdout


def test_why_pca_tells_a_loss_from_a_gain_too_small_to_trust():
    assert why_pca(0.002, 0.001, 60) == (
        "the trained network's validation MSE 0.002 was not below PCA's 0.001"
    )
    assert why_pca(0.0009, 0.001, 60) == (
        "the trained network's validation MSE 0.0009 was below PCA's 0.001, but not reliably: "
        "over 60 validation rows the difference is within chance (a paired t-test at 5%)"
    )
    assert why_pca(0.0009, 0.001, 18, 90) == (
        "the trained network's validation MSE 0.0009 was below PCA's 0.001, but 18 validation "
        "rows are too few to show it: at least 20 are needed (more rows, or a larger "
        "--validation-split)"
    )
    # A loss is told as a loss, whatever the rows (it read as a win too small to show).
    assert why_pca(0.002, 0.001, 12, 60).startswith(
        "the trained network's validation MSE 0.002 was not below"
    )
    # No split of 10 rows can help: the advice is not to raise --validation-split.
    assert why_pca(0.0009, 0.001, 1, 10).endswith(
        "but 1 validation row is too few to show it: at least 20 are needed (a table of 10 "
        "rows keeps PCA; a network needs about 40 or more)"
    )


def _curve_csv(path, n_rows: int):
    """A 1-D curve through 5 columns, faint noise: a network at 1 latent column beats PCA."""
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, n_rows)
    X = np.c_[t, t**2, np.sin(3 * t), np.cos(3 * t), t**3] + 0.01 * rng.normal(size=(n_rows, 5))
    np.savetxt(path, X, delimiter=",", header="a,b,c,d,e", comments="")
    return path


def test_too_few_validation_rows_keep_pca_and_the_summary_says_why(tmp_path):
    # 90 rows hold out 18 for validation. On them the network is half PCA's error here, but 18
    # rows cannot show it: on such splits networks were kept that lost to PCA on other rows.
    path = _curve_csv(tmp_path / "curve.csv", 90)
    args = ("-k", "1", "--seed", "0", "--epochs", "40")
    result = run("train", path, "-o", tmp_path / "m", *args)
    assert result.exit_code == 0, result.stderr
    assert "but 18 validation rows are too few to show it" in result.stderr
    assert "at least 20 are needed" in result.stderr
    metrics = json.loads((tmp_path / "m" / "metadata.json").read_text())["metrics"]
    assert metrics["model"] == "pca"
    assert metrics["autoencoder_val_mse"] < 0.6 * metrics["pca_val_mse"]
    shown = run("inspect", tmp_path / "m")
    assert shown.exit_code == 0, shown.stderr
    assert "but 18 validation rows are too few to show it" in shown.stdout
    # With 150 rows of the same curve (30 validation rows) the network is kept.
    path = _curve_csv(tmp_path / "curve150.csv", 150)
    result = run("train", path, "-o", tmp_path / "m150", *args)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "m150" / "metadata.json").read_text())["metrics"]["model"] == (
        "autoencoder"
    )


def test_training_ends_early_when_no_check_comes_below_pca(tmp_path):
    # Two directions plus faint noise: PCA leaves only the noise, which no network can beat.
    path = _two_directions_csv(tmp_path / "flat.csv", 2000, 6, 1e-3, seed=1)
    model = tmp_path / "m"
    result = run("train", path, "-o", model, "-k", "2", "--seed", "0")
    assert result.exit_code == 0, result.stderr
    assert "training ended early, as no check came below PCA" in result.stderr
    training = json.loads((model / "metadata.json").read_text())["training"]
    assert training["ended_by"] == "no_gain"
    assert training["steps_run"] < 0.5 * training["planned_steps"]
    assert json.loads((model / "metadata.json").read_text())["metrics"]["model"] == "pca"


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


@pytest.mark.parametrize("extra", [[], ["--max-rows", "500"]])
def test_a_pipe_path_trains_as_its_file_does(tmp_path, extra):
    # `aefeat train <(zcat data.csv.gz)`: the pipe was reopened to size and sample it (an
    # internal error, or bytes taken from the middle of the data), or rescanned (no columns).
    path = tmp_path / "data.csv"
    make_frame(1500).to_csv(path, index=False)  # over the 64 KiB read with the header
    args = ["--exclude", "id,label", "--epochs", "1", "--hidden", "4", "--seed", "3", "-q"]
    ok("train", path, "-o", tmp_path / "from_file", *args, *extra)
    with pipe_path(path.read_bytes()) as pipe:
        ok("train", pipe, "-o", tmp_path / "from_pipe", *args, *extra)
    assert (tmp_path / "from_pipe" / "weights.npz").read_bytes() == (
        tmp_path / "from_file" / "weights.npz"
    ).read_bytes()


def test_a_pipe_path_is_not_streamed_or_read_with_other_inputs(csv_path, tmp_path):
    with pipe_path(csv_path.read_bytes()) as pipe:
        result = run("train", pipe, "-o", tmp_path / "m", "--exclude", "id,label", "--stream")
    assert_user_error(result, "--stream", "stdin or a pipe")
    with pipe_path(csv_path.read_bytes()) as pipe, pipe_path(csv_path.read_bytes()) as other:
        result = run("train", pipe, other, "-o", tmp_path / "m", "--exclude", "id,label")
    assert_user_error(result, f"a pipe ({pipe}) cannot be read together with files")
    assert not (tmp_path / "m").exists()


def test_a_named_fifo_with_a_missing_value_is_refused_without_being_opened_again(tmp_path):
    # The refusal named the line by reading the input again from its start: a named FIFO,
    # opened again with no writer left, blocked for ever.
    fifo = tmp_path / "data.fifo"
    os.mkfifo(fifo)
    text = "a,b,c\n1,2,3\n4,,6\n7,8,9\n" + "1,2,3\n" * 20

    def feed() -> None:
        with open(fifo, "w") as fh:
            fh.write(text)

    threading.Thread(target=feed, daemon=True).start()
    results = []
    worker = threading.Thread(
        target=lambda: results.append(run("train", fifo, "-o", tmp_path / "m")), daemon=True
    )
    worker.start()
    worker.join(30)
    if worker.is_alive():
        with open(fifo, "w"):  # the writer the second open waits for, to end the command
            pass
        worker.join(60)
        pytest.fail("the FIFO was opened again to name the row of the missing value")
    assert_user_error(results[0], "'b' (1 missing)", f"{fifo}, data row 2")
    assert not (tmp_path / "m").exists()


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


@pytest.mark.parametrize(
    "n, expected", [(10, 10), (200, 32), (500, 64), (1000, 128), (2000, 256), (10**7, 256)]
)
def test_auto_batch_is_about_8_a_pass_from_32_to_256_rows(n, expected):
    assert resolve_batch_size("auto", n) == expected


def test_batches_are_whole_and_passes_are_laid_end_to_end():
    # 10 rows in batches of 3: no short batch of 1 at the end of a pass; a batch straddles two
    # passes instead (also from one block of batches to the next), and every 10 rows batched in
    # a row are one pass (each row once).
    X = np.arange(30, dtype=float).reshape(10, 3)
    blocks = fit_mod._ArrayBatches(X, np.arange(10), 3, True, seed=0)()
    batches = np.concatenate([next(blocks) for _ in range(3)])
    assert batches.shape[1:] == (3, 3)
    rows = batches[:, :, 0].ravel() / 3
    assert len(rows) > 2 * 64 * 3
    for one_pass in rows[: len(rows) // 10 * 10].reshape(-1, 10):
        assert sorted(one_pass) == list(range(10))
    assert not np.array_equal(rows[:10], rows[10:20])  # each pass its own shuffle


@pytest.mark.parametrize("split, k", [(0.2, 2), (0.5, 2), (0.25, 16), (0.9, 1)])
def test_min_rows_is_the_fewest_that_leave_training_and_validation_rows(split, k):
    n = min_rows(split, k)
    n_train, n_val = split_sizes(n, split)
    assert n_train >= k + 1 and n_val >= 1
    assert split_sizes(n - 1, split)[0] < max(2, k + 1)


def test_budget_is_in_steps_and_stops_growing_with_rows():
    assert plan_steps(1000, 32, epochs=3) == 3 * 32  # --epochs means passes when given
    assert plan_steps(200, 32, epochs=None) == plan_steps(400, 32, epochs=None)  # the floor
    assert plan_steps(10**6, 256, None) == plan_steps(10**7, 256, None)  # the ceiling


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1.5h", 5400), ("45", 45)])
def test_max_time_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "-5m", "soon", "10x", ""])
def test_bad_max_time_is_refused(text):
    with pytest.raises(AefeatError, match="--max-time"):
        parse_duration(text)


def test_progress_shows_the_budget_and_time_left():
    from aefeat.cli.progress import training_status

    status = training_status(500, 2000, {"loss": 0.01, "val_loss": 0.02, "elapsed_s": 10.0})
    assert status["eta"] == "about 0:30 left" and status["budget"] == ""
    # A 20-second budget ends sooner than the plan would.
    status = training_status(
        500, 2000, {"loss": 0.01, "val_loss": 0.02, "elapsed_s": 10.0, "max_time_s": 20.0}
    )
    assert status["budget"] == "fitting budget 0:20" and status["eta"] == "about 0:10 left"


def test_train_command_imports_no_scikit_learn(tmp_path):
    # A second of every run here: aefeat train fits through aefeat.fitting, and Keras is
    # imported without its scikit-learn wrappers. (Small tables, n <= 4 x columns, use
    # scikit-learn's PCA; this one has more rows.)
    path = tmp_path / "t.csv"
    make_frame(200, seed=1)[FEATURES].to_csv(path, index=False)
    args = ["train", str(path), "-o", str(tmp_path / "m"), "--epochs", "1", "--hidden", "4", "-q"]
    script = (
        "import sys\n"
        "from aefeat.cli.app import main\n"
        f"sys.argv = ['aefeat', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    print(exc.code, 'sklearn' in sys.modules, flush=True)\n"
        "    raise\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-2:] == ["0", "False"]
    assert (tmp_path / "m" / "weights.npz").exists()


def test_sigmoid_mix_output_reconstructs_saturating_columns_better_than_a_linear_one():
    # Columns that saturate at their bounds (tanh of 3 hidden factors): the default output,
    # a learned per-column mix of the identity and a sigmoid, bends towards the bounds where a
    # linear output needs many ReLU pieces. About 0.9x the linear output's error (3 seeds alike).
    rng = np.random.default_rng(0)
    X = np.tanh(rng.normal(size=(2500, 3)) @ rng.normal(size=(3, 16)) * 2)
    X += 0.02 * rng.normal(size=X.shape)
    X_train, X_test = X[:2000], X[2000:]
    scale = _scaler(X_train)
    mse = {}
    for output in ("sigmoid_mix", "linear"):
        est = AutoencoderTransformer(
            latent_dim=3, epochs=20, batch_size=64, output_activation=output, random_state=0
        ).fit(X_train)
        recon = scale(est.inverse_transform(est.transform(X_test)))
        mse[output] = np.mean((recon - scale(X_test)) ** 2)
    assert AutoencoderTransformer().output_activation == "sigmoid_mix"
    assert mse["sigmoid_mix"] < 0.95 * mse["linear"]


def test_a_short_time_budget_is_used_although_the_first_block_traces(monkeypatch):
    # A clock the test moves: the first block takes 1.2 s (TensorFlow tracing the step), later
    # blocks of 32 steps 0.05 s each. A 2 s budget leaves 0.8 s, about 500 steps, after the
    # first check; the step rate must not count the tracing (it once planned 25 steps there).
    now = [0.0]
    monkeypatch.setattr(fit_mod, "time", type("Clock", (), {"perf_counter": lambda: now[0]}))
    planned = 10_000
    keeper = fit_mod._Budget(
        lambda: {},
        fit_mod._Schedule(0.01, 500, planned),
        initial_loss=1.0,
        planned=planned,
        every=32,
        patience=12,
        adaptive=True,
        max_time=2.0,
        started=0.0,
        on_epoch=None,
    )
    now[0], step = 1.2, 32
    while not keeper.stopped:
        keeper.check(step, 0.5, 1.0 / (step + 1))  # still improving: no plateau
        step += 32
        now[0] += 0.05
    assert keeper.ended_by == "max_time"
    assert 400 <= keeper.step <= 600, keeper.step


def test_progress_on_a_terminal_says_preparing_then_steps(csv_path, tmp_path):
    import os
    import shutil
    from pathlib import Path

    exe = shutil.which("aefeat", path=str(Path(sys.executable).parent))
    master, slave = os.openpty()  # stderr a terminal: the progress line is drawn
    args = ["train", csv_path, "-o", tmp_path / "m", "--exclude", "id,label", "--epochs", "40"]
    proc = subprocess.Popen(
        [exe, *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
    )
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert proc.wait(timeout=300) == 0
    text = drawn.decode(errors="replace")
    assert "preparing" in text and "step " in text
    assert "None" not in text
    assert "trained on 240 rows" in text


def test_summary_gives_a_ratio_when_the_network_is_far_above_pca(tmp_path):
    # "(6251.1% higher; ...)" read badly; far above PCA the summary says how many times.
    path = _two_directions_csv(tmp_path / "linear.csv", 300, 5, 0.01, seed=0)
    args = ("--seed", "0", "--epochs", "1", "--no-linear-path", "--learning-rate", "0.0001")
    result = run("train", path, "-o", tmp_path / "m", *args)
    assert result.exit_code == 0, result.stderr
    metrics = json.loads((tmp_path / "m" / "metadata.json").read_text())["metrics"]
    ratio = metrics["val_mse"] / metrics["pca_val_mse"]
    assert ratio > 2, ratio
    assert f"({ratio:.3g} times PCA's; no weights make this network PCA" in result.stderr


def test_pca_start_of_a_wide_table_is_pca():
    # Wide tables take the few-components solver: the same components and variance ratios as a
    # full SVD (whose cost made a 2-epoch training of a 3,000 x 4,000 table take 88 s).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 4)) @ rng.normal(size=(4, 1500)) + 0.1 * rng.normal(
        size=(1200, 1500)
    )
    X = X.astype(np.float32)
    components, mean, ratio = fit_mod.pca_start(X, 3)
    full = PCA(3, svd_solver="full").fit(X.astype(np.float64))
    np.testing.assert_allclose(np.abs(components @ full.components_.T), np.eye(3), atol=1e-6)
    np.testing.assert_allclose(mean, full.mean_, atol=1e-6)
    assert ratio == pytest.approx(full.explained_variance_ratio_.sum(), rel=1e-6)
