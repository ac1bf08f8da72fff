"""Data preparation: one set of statistics rules in memory and streamed, ±inf treated as missing
everywhere, and strict JSON out of a model trained on data with infinite cells."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FEATURES, assert_user_error, make_frame, ok, run

from aefeat import AefeatError, AutoencoderTransformer
from aefeat.core.prepare import ColumnStats, Scaler


def _strict_json(text: str):
    def refuse(token: str):
        raise AssertionError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def X() -> np.ndarray:
    X = np.random.default_rng(0).normal(size=(500, 4)) * [1, 10, 100, 1000]
    X[3, 0], X[7, 1], X[9, 1], X[11, 2] = np.nan, np.inf, -np.inf, np.nan
    X[:, 3] = np.nan  # a column with no value at all
    return X


@pytest.mark.parametrize("impute", ["none", "mean", "median", "zero"])
def test_streamed_statistics_follow_the_in_memory_rules(X, impute):
    whole = Scaler.fit(X, impute)
    stats = ColumnStats(X.shape[1])
    for start in range(0, len(X), 64):
        stats.update(X[start : start + 64])
    streamed = stats.scaler(impute, median_rows=X)
    np.testing.assert_allclose(streamed.data_min, whole.data_min)
    np.testing.assert_allclose(streamed.data_max, whole.data_max)
    if impute == "none":
        assert whole.fill is None and streamed.fill is None
    else:
        np.testing.assert_allclose(streamed.fill, whole.fill)
    assert stats.n_rows == 500
    assert stats.bad_values(["a", "b", "c", "d"]) == {
        "a": (1, 0),
        "b": (0, 2),
        "c": (1, 0),
        "d": (500, 0),
    }


def test_statistics_ignore_infinite_values(X):
    scaler = Scaler.fit(X, "mean")
    finite = np.where(np.isfinite(X[:, 1]), X[:, 1], np.nan)
    assert scaler.data_min[1] == np.nanmin(finite) and scaler.data_max[1] == np.nanmax(finite)
    assert scaler.fill[1] == pytest.approx(np.nanmean(finite))
    assert scaler.data_min[3] == scaler.data_max[3] == scaler.fill[3] == 0.0


def test_prepare_fills_infinite_cells_like_missing_ones(X):
    scaler = Scaler.fit(X, "median")
    prepared = scaler.prepare(X)
    assert np.isfinite(prepared).all()
    fill_scaled = (scaler.fill - scaler.data_min) / scaler.data_range
    assert prepared[7, 1] == prepared[9, 1] == fill_scaled[1]
    assert prepared[3, 0] == fill_scaled[0]
    assert np.isinf(X).sum() == 2  # the input is left as it was


def test_without_fill_values_missing_cells_stay_missing(X):
    scaler = Scaler.fit(X, "none")
    prepared = scaler.prepare(X)
    assert np.isnan(prepared[7, 1]) and np.isnan(prepared[3, 0])


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_infinite_cell_with_impute_gives_finite_strict_json(tmp_path, stream):
    frame = make_frame(120, seed=3)
    frame.loc[5, "f2"] = np.inf
    frame.loc[8, "f4"] = -np.inf
    data = tmp_path / "inf.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m"
    args = ["--exclude", "id,label", "--epochs", "2", "--hidden", "4", "--seed", "0", "-q"]
    trained = run("train", data, "-o", model, stream, "--impute", "mean", *args)
    assert trained.exit_code == 0, trained.stderr
    inspected = run("inspect", model, "--json")
    assert inspected.exit_code == 0, inspected.stderr
    report = _strict_json(inspected.stdout)
    assert np.isfinite(report["reconstruction_mse"])
    assert all(v is None or np.isfinite(v) for v in report["feature_r2"].values())
    assert set(report["feature_r2"]) == set(FEATURES)


def test_fit_and_transform_read_infinite_cells_as_missing_as_train_and_encode_do(tmp_path):
    # fit and transform refused ±inf even with impute="median" (scikit-learn's "Input X
    # contains infinity", naming no column), while train and encode filled them; without
    # impute, the refusals now name the column and row in both, each in its own words.
    frame = make_frame(120, seed=3)[FEATURES]
    frame.loc[5, "f2"] = np.inf
    frame.loc[8, "f4"] = -np.inf
    data = tmp_path / "inf.csv"
    frame.to_csv(data, index=False)
    args = ["--epochs", "2", "--hidden", "4", "--seed", "0", "-q"]
    ok("train", data, "-o", tmp_path / "cli", "--impute", "median", *args)
    est = AutoencoderTransformer(hidden=(4,), epochs=2, random_state=0, impute="median")
    est.fit(frame).save(tmp_path / "api")
    with (
        np.load(tmp_path / "cli" / "weights.npz") as a,
        np.load(tmp_path / "api" / "weights.npz") as b,
    ):
        assert a.files and sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    encoded = ok("encode", tmp_path / "cli", data)
    Z = np.loadtxt(encoded.splitlines()[1:], delimiter=",")
    np.testing.assert_allclose(est.transform(frame), Z, atol=1e-5)

    refused = run("train", data, "-o", tmp_path / "m", *args)
    assert_user_error(
        refused, "'f2' (1 infinite), 'f4' (1 infinite)", "inf.csv, line 7", "--impute"
    )
    with pytest.raises(AefeatError) as info:
        AutoencoderTransformer(hidden=(4,), epochs=2).fit(frame)
    assert str(info.value) == (
        "missing or infinite values in 'f2' (1 infinite), 'f4' (1 infinite) (row 5, the first "
        "of them) — fill or drop them, or pass impute='mean', 'median' or 'zero'"
    )
    plain = AutoencoderTransformer(hidden=(4,), epochs=2, random_state=0).fit(frame.drop([5, 8]))
    with pytest.raises(AefeatError) as info:
        plain.transform(frame)
    assert str(info.value).startswith("missing or infinite value in column 'f2' (row 5) — fix")
    plain.save(tmp_path / "plain")
    assert_user_error(
        run("encode", tmp_path / "plain", data), "column 'f2'", "inf.csv, line 7", "--impute"
    )
