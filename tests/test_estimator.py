"""``aefeat.AutoencoderTransformer``: scikit-learn's own estimator checks, pipelines, pandas output,
and the model directory shared with the CLI (``save`` -> ``encode``, ``train`` -> ``load``)."""

from __future__ import annotations

import io
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import FEATURES, run
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from aefeat import AefeatError, AutoencoderTransformer

# latent_dim=1 because several checks fit on data with only two features, and the latent size must
# be below the number of features. Every check then passes as it is; a check that cannot apply to
# an autoencoder would be listed here, by name, with the reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


def _expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [AutoencoderTransformer(latent_dim=1, hidden=(8,), epochs=3, random_state=0)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def small(**params) -> AutoencoderTransformer:
    return AutoencoderTransformer(**{"hidden": (8,), "epochs": 3, "random_state": 0, **params})


@pytest.fixture(scope="module")
def fitted(frame) -> AutoencoderTransformer:
    return small().fit(frame[FEATURES])


def read_csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_parameters_are_checked_in_fit_not_init(frame):
    est = AutoencoderTransformer(latent_dim=0, hidden="64,32", impute="sometimes")
    assert est.get_params()["latent_dim"] == 0  # stored as given
    with pytest.raises(AefeatError, match="parameter latent_dim"):
        est.fit(frame[FEATURES])
    with pytest.raises(AefeatError, match="parameter impute"):
        est.set_params(latent_dim=2).fit(frame[FEATURES])
    with pytest.raises(AefeatError, match="parameter hidden"):
        est.set_params(impute="mean").fit(frame[FEATURES])
    assert not hasattr(est, "n_features_in_")  # nothing was fitted
    with pytest.raises(ValueError, match="n_features=6"):
        AutoencoderTransformer(latent_dim=6).fit(frame[FEATURES])


def test_fitted_attributes_and_feature_names(fitted, frame):
    assert fitted.n_features_in_ == 6
    assert list(fitted.feature_names_in_) == FEATURES
    assert list(fitted.get_feature_names_out()) == ["z0", "z1"]
    assert fitted.random_state_ == 0 and fitted.n_epochs_ >= 1
    assert fitted.val_mse_ <= fitted.pca_val_mse_ + 1e-9  # never worse than the PCA start
    Z = fitted.transform(frame[FEATURES])
    assert Z.shape == (240, 2) and Z.dtype == np.float64
    assert fitted.transform(frame[FEATURES].astype(np.float32)).dtype == np.float32
    X_back = fitted.inverse_transform(Z)
    assert X_back.shape == (240, 6)
    assert fitted.reconstruction_error(frame[FEATURES]).shape == (240,)


def test_set_output_pandas(fitted, frame):
    data = frame[FEATURES].iloc[10:50]
    out = clone(fitted).set_output(transform="pandas").fit(frame[FEATURES]).transform(data)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["z0", "z1"]
    assert out.index.equals(data.index)
    np.testing.assert_array_equal(out.to_numpy(), fitted.transform(data))  # same seed, same fit


def test_in_a_pipeline(frame):
    pipe = Pipeline([("scale", StandardScaler()), ("ae", small())]).set_output(transform="pandas")
    out = pipe.fit_transform(frame[FEATURES])
    assert list(out.columns) == ["z0", "z1"] and out.shape == (240, 2)
    assert list(pipe.get_feature_names_out()) == ["z0", "z1"]
    np.testing.assert_allclose(pipe.transform(frame[FEATURES]).to_numpy(), out.to_numpy())


def test_pickle_round_trip(fitted, frame):
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        again.transform(frame[FEATURES]), fitted.transform(frame[FEATURES])
    )


def test_save_then_cli_encode_equals_transform(frame, csv_path, tmp_path):
    # NumPy scalars as parameters (as from a grid search) still validate and save as JSON.
    est = small(latent_dim=np.int64(2), random_state=np.int64(3)).fit(frame[FEATURES])
    est.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert meta["input_columns"] == FEATURES and meta["params"]["latent_dim"] == 2
    result = run("encode", tmp_path / "model", csv_path, "--keep", "id")
    assert result.exit_code == 0, result.stderr
    out = read_csv_text(result.stdout)
    assert list(out.columns) == ["id", "z0", "z1"]
    np.testing.assert_allclose(
        out[["z0", "z1"]].to_numpy(), est.transform(frame[FEATURES]), atol=1e-5
    )


def test_load_model_trained_by_cli_matches_cli_encode(model_dir, csv_path, frame):
    est = AutoencoderTransformer.load(model_dir)
    assert est.hidden == (16, 8) and est.random_state == 0
    assert list(est.feature_names_in_) == FEATURES and est.n_features_in_ == 6
    assert est.val_mse_ is not None and est.history_["val_loss"]
    out = read_csv_text(run("encode", model_dir, csv_path).stdout)
    Z = est.transform(frame[FEATURES])
    np.testing.assert_allclose(out[["z0", "z1"]].to_numpy(), Z, atol=1e-5)
    assert est.set_output(transform="pandas").transform(frame[FEATURES]).columns.tolist() == [
        "z0",
        "z1",
    ]


def test_missing_values_with_impute(frame):
    X = frame[FEATURES].to_numpy().copy()
    X[::7, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        small(epochs=1).fit(X)
    est = small(epochs=1, impute="median").fit(X)
    assert np.isfinite(est.transform(X)).all()
