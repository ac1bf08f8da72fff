"""``aefeat.AutoencoderTransformer``: scikit-learn's own estimator checks, pipelines, pandas output,
and the model directory shared with the CLI (``save`` -> ``encode``, ``train`` -> ``load``)."""

from __future__ import annotations

import doctest
import io
import json
import os
import pickle
import pydoc
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from conftest import FEATURES, ok, run
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints
from sklearn.utils.estimator_checks import parametrize_with_checks

from aefeat import AefeatError, AutoencoderTransformer
from aefeat.core.params import PARAMS
from aefeat.frames import load_model
from aefeat.keras_backend.fit import choose_latent_dim

# The default estimator (only a short training): every check of scikit-learn's suite passes as it
# is; a check that cannot apply to an autoencoder would be listed here, by name, with the reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


def _expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [AutoencoderTransformer(epochs=3, random_state=0)],
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
    with pytest.raises(ValueError, match=r"^latent_dim=0 must be an integer of at least 1 or a "):
        est.fit(frame[FEATURES])
    with pytest.raises(ValueError, match=r"^hidden='64,32' must be a list of positive layer"):
        est.set_params(latent_dim=2).fit(frame[FEATURES])
    with pytest.raises(ValueError, match=r"^impute='sometimes' must be one of none, mean"):
        est.set_params(hidden=(8,)).fit(frame[FEATURES])
    assert not hasattr(est, "n_features_in_")  # nothing was fitted


# Each bad value, and the words a Python caller sees: the parameter as Python spells it, what was
# expected and what was received, never a command-line flag.
BAD_PARAMS = [
    ("latent_dim", 7, "latent_dim=7 must be <= n_features_in_=6; got 7"),
    ("latent_dim", 1.0, "latent_dim=1.0 must be an integer of at least 1 or a fraction strictly"),
    ("latent_dim", "two", "latent_dim='two' must be an integer of at least 1 or a fraction"),
    ("hidden", (8, 0), "hidden=[8, 0] must be a list of positive layer sizes"),
    ("activation", "swishy", "activation='swishy' must be one of linear, relu"),
    ("linear_path", "yes", "linear_path='yes' must be true or false; got 'yes'"),
    ("epochs", -1, "epochs=-1 must be an integer of at least 0 or None; got -1"),
    ("max_time", 0, "max_time=0 must be a number strictly between 0 and inf or None; got 0"),
    ("batch_size", 0, "batch_size=0 must be an integer of at least 1 or 'auto'; got 0"),
    ("learning_rate", 0, "learning_rate=0 must be a number strictly between 0 and 10; got 0"),
    ("validation_split", 1, "validation_split=1 must be a number strictly between 0 and 1"),
    ("patience", 0, "patience=0 must be an integer of at least 1; got 0"),
    ("impute", "mode", "impute='mode' must be one of none, mean, median, zero; got 'mode'"),
    (
        "random_state",
        -1,
        "random_state=-1 must be an integer from 0 to 4294967295 or a numpy.random.RandomState "
        "or None",
    ),
]


@pytest.mark.parametrize(
    "name, value, words", [pytest.param(*case, id=f"{case[0]}={case[1]!r}") for case in BAD_PARAMS]
)
def test_bad_parameter_errors_name_the_python_parameter(name, value, words, frame):
    with pytest.raises(ValueError) as info:
        small(**{name: value}).fit(frame[FEATURES])
    message = str(info.value)
    assert message.startswith(words)
    assert "--" not in message  # no command-line flag in the Python API's message
    assert isinstance(info.value, AefeatError) and info.value.param == name


def test_not_fitted_error_before_fit(frame):
    est = small()
    for method in (est.transform, est.inverse_transform, est.reconstruction_error):
        with pytest.raises(NotFittedError):
            method(frame[FEATURES])
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()


def test_latent_dim_may_equal_the_number_of_features(frame, csv_path, tmp_path):
    """A full-width autoencoder, as PCA allows n_components == n_features: fit, transform,
    save, then the CLI's encode and inspect read the model directory."""
    est = small(latent_dim=6).fit(frame[FEATURES])
    assert est.n_components_ == est.latent_dim_ == 6
    Z = est.transform(frame[FEATURES])
    assert Z.shape == (240, 6)
    np.testing.assert_allclose(est.inverse_transform(Z), frame[FEATURES].to_numpy(), atol=1e-3)
    est.save(tmp_path / "full")
    encoded = run("encode", tmp_path / "full", csv_path)
    assert encoded.exit_code == 0, encoded.stderr
    out = read_csv_text(encoded.stdout)
    assert list(out.columns) == [f"z{k}" for k in range(6)]
    np.testing.assert_allclose(out.to_numpy(), Z, atol=1e-5)
    inspected = run("inspect", tmp_path / "full", "--json")
    assert inspected.exit_code == 0, inspected.stderr
    report = json.loads(inspected.stdout)
    assert report["latent_dim"] == 6 and report["explained_variance"] > 0.999
    assert AutoencoderTransformer.load(tmp_path / "full").n_components_ == 6


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
def test_latent_dim_as_a_share_of_the_variance(fraction, frame, tmp_path):
    X = frame[FEATURES]
    est = small(latent_dim=fraction, epochs=1).fit(X)
    k = est.n_components_
    # The same choice as PCA of the MinMax-scaled rows: the fewest components keeping `fraction`.
    scaled = MinMaxScaler().fit_transform(X)
    kept = np.cumsum(PCA().fit(scaled).explained_variance_ratio_)
    assert kept[k - 1] >= fraction and (k == 1 or kept[k - 2] < fraction)
    assert est.latent_dim == fraction and est.latent_dim_ == k  # the parameter is left as given
    assert est.transform(X).shape == (240, k)
    assert list(est.get_feature_names_out()) == [f"z{i}" for i in range(k)]
    # The share the PCA start keeps: PCA of the training rows, close to PCA of every row.
    assert est.pca_explained_variance_ == pytest.approx(kept[k - 1], abs=0.02)
    est.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["latent_dim"] == k and meta["latent_dim_requested"] == fraction
    assert meta["params"]["latent_dim"] == fraction
    again = AutoencoderTransformer.load(tmp_path / "m")
    assert again.latent_dim == fraction and again.n_components_ == k


@pytest.mark.parametrize(
    "ratios, fraction, k",
    [
        ([0.5, 0.3, 0.2], 0.8, 2),  # exactly the share asked for is enough
        ([0.5, 0.3, 0.2], 0.81, 3),
        ([0.5, 0.3, 0.2], 0.1, 1),
        ([0.6, 0.2], 0.99, 2),  # truncated ratios (IncrementalPCA): never more than there are
        ([0.0, 0.0], 0.5, 1),  # constant data: one column
    ],
)
def test_choose_latent_dim(ratios, fraction, k):
    assert choose_latent_dim(np.array(ratios), fraction) == k


def test_grid_search_over_latent_dim(frame):
    X, y = frame[FEATURES], frame["label"]
    pipe = Pipeline([("ae", small(epochs=2)), ("clf", LogisticRegression())])
    grid = GridSearchCV(pipe, {"ae__latent_dim": [1, 3, 0.9]}, cv=2, n_jobs=1).fit(X, y)
    assert grid.best_params_["ae__latent_dim"] in (1, 3, 0.9)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert 0.5 < grid.score(X, y) <= 1.0


def test_docstring_documents_every_parameter_and_attribute():
    doc = AutoencoderTransformer.__doc__
    for section in ("Parameters\n    ---", "Attributes\n    ---", "See Also", "Examples"):
        assert section in doc
    params = AutoencoderTransformer().get_params()
    for name, default in params.items():
        shown = repr(default).replace("'", '"')
        assert f"\n    {name} : " in doc, name
        assert f"default={shown}\n" in doc, (name, shown)  # the default the table gives
    for attr in ("n_components_", "latent_dim_", "n_features_in_", "feature_names_in_"):
        assert f"\n    {attr} : " in doc, attr
    text = pydoc.render_doc(AutoencoderTransformer, renderer=pydoc.plaintext)
    assert "AutoencoderTransformer(latent_dim: 'int | float' = 2, *, hidden:" in text
    for method in ("fit(", "transform(", "fit_transform(", "inverse_transform(", "set_params("):
        assert method in text


def test_docstring_examples_run():
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(AutoencoderTransformer, "AutoencoderTransformer"):
        runner.run(test)
    assert runner.tries >= 5 and runner.failures == 0


def test_load_refuses_an_empty_path(frame, tmp_path, monkeypatch):
    """load('') read the working directory ('metadata.json is missing (.)'); an empty path is
    an unset variable, refused as the command line refuses MODEL_DIR ''."""
    small().fit(frame[FEATURES]).save(tmp_path / "m")
    monkeypatch.chdir(tmp_path / "m")  # where '' would find a model
    for load in (AutoencoderTransformer.load, load_model):
        with pytest.raises(AefeatError) as info:
            load("")
        assert str(info.value) == (
            "an empty path is not a model directory ('') — pass the path of a directory "
            "written by save() or aefeat train"
        )


def test_random_state_may_be_a_numpy_random_state(frame):
    """As in scikit-learn: a RandomState gives the seed (it was refused as "not an integer"),
    fits from equal generators are equal, and the parameter is left as it was given."""
    rng = np.random.RandomState(7)
    first = small(random_state=rng).fit(frame[FEATURES])
    again = small(random_state=np.random.RandomState(7)).fit(frame[FEATURES])
    assert first.random_state is rng and first.random_state_ == again.random_state_
    assert np.array_equal(first.transform(frame[FEATURES]), again.transform(frame[FEATURES]))
    assert small(random_state=rng).fit(frame[FEATURES]).random_state_ != first.random_state_


def test_a_refused_random_state_is_told_what_it_may_be():
    # A Generator (np.random.default_rng) was refused as "must be an integer ... or None",
    # though a RandomState is taken; the command line's --seed takes neither.
    with pytest.raises(AefeatError) as info:
        small(random_state=np.random.default_rng(0)).fit(np.ones((10, 3)))
    assert "must be an integer from 0 to 4294967295 or a numpy.random.RandomState or None" in (
        str(info.value)
    )
    assert info.value.message.endswith(
        "(--seed) — use an integer from 0 to 4294967295, or leave it out"
    )


def test_parameter_constraints_agree_with_the_checks():
    """``_parameter_constraints`` (scikit-learn's objects) and the checks ``fit`` runs are made
    from the same table, so they accept and refuse the same values."""
    est = AutoencoderTransformer()
    constraints = AutoencoderTransformer._parameter_constraints
    assert set(constraints) == set(est.get_params())
    values = [0, 1, 2, 7, -1, 0.5, 1.0, 1.5, "auto", "silu", "mean", "x", True, None, (8,), ()]
    values.append(np.random.RandomState(0))  # scikit-learn's and ours, for random_state only
    for name in constraints:
        for value in values:
            try:
                validate_parameter_constraints(constraints, {name: value}, "AutoencoderTransformer")
                sklearn_ok = True
            except InvalidParameterError:
                sklearn_ok = False
            ours_ok = PARAMS[name].accepts(value)
            if value is True and name not in ("linear_path", "shuffle"):
                continue  # scikit-learn's Integral interval accepts bools; ours refuses them
            assert sklearn_ok == ours_ok, (name, value)


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
    with pytest.raises(
        ValueError,
        match=r"^missing or infinite values in 'x2' \(35 missing\) \(row 0, the first of them\) "
        r"— fill or drop them, or pass impute='mean', 'median' or 'zero'$",
    ):
        small(epochs=1).fit(X)
    est = small(epochs=1, impute="median").fit(X)
    assert np.isfinite(est.transform(X)).all()


def test_transform_of_missing_values_follows_the_fitted_model_and_names_impute(frame):
    # transform gave scikit-learn's "does not accept missing values encoded as NaN natively"
    # (fit named impute), and read the impute parameter, not the fitted model: a set_params
    # after fit made a model that fills missing cells refuse them. Its refusal is encode's.
    X = frame[FEATURES].to_numpy().copy()
    X[::7, 2] = np.nan
    with pytest.raises(
        ValueError,
        match=r"^missing or infinite value in column 'x2' \(row 0\) — fix the data, or retrain "
        r"with impute='mean', 'median' or 'zero'$",
    ):
        small(epochs=1).fit(frame[FEATURES].to_numpy()).transform(X)
    est = small(epochs=1, impute="median").fit(X)
    Z = est.transform(X)
    np.testing.assert_array_equal(est.set_params(impute="none").transform(X), Z)


def test_impute_refuses_a_column_with_no_values(frame):
    # Nothing to impute from: training on a made-up constant would hide a broken input.
    X = frame[FEATURES].to_numpy().copy()
    X[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"no values to impute from in column 'x2' — drop it"):
        small(epochs=1, impute="mean").fit(X)


def test_fit_refuses_values_too_large_to_save_before_training(frame, tmp_path):
    # The command line refused them; fit trained on them and save() then failed in Keras.
    X = frame[FEATURES].to_numpy().copy()
    X[:, 2] *= 1e25
    with pytest.raises(
        ValueError,
        match=r"^values too large to train on in 'x2' \(from .*\) — rescale .* drop them",
    ):
        small(epochs=1).fit(X)


def test_fit_chunks_gives_the_model_fit_gives_and_takes_the_chunks(frame):
    X = frame[FEATURES].to_numpy(np.float64)
    whole = AutoencoderTransformer(latent_dim=2, epochs=2, random_state=3).fit(frame[FEATURES])
    chunks = [X[:50].copy(), X[50:51].copy(), X[51:].copy()]
    parts = AutoencoderTransformer(latent_dim=2, epochs=2, random_state=3)
    parts.fit_chunks(chunks, FEATURES)
    assert chunks == []  # each chunk was handed over once scaled
    for name, w in whole.network_.weights.items():
        np.testing.assert_array_equal(parts.network_.weights[name], w, err_msg=name)
    np.testing.assert_array_equal(parts.sample_, whole.sample_)
    assert list(parts.feature_names_in_) == FEATURES
    np.testing.assert_array_equal(
        parts.transform(frame[FEATURES]), whole.transform(frame[FEATURES])
    )


def test_fit_chunks_refuses_missing_values_without_impute(frame):
    X = frame[FEATURES].to_numpy(np.float64, copy=True)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="impute"):
        AutoencoderTransformer(latent_dim=2, epochs=1).fit_chunks([X], FEATURES)


def test_fit_files_takes_paths_and_named_columns_are_each_named_once(frame, csv_path):
    # A pathlib.Path in paths failed with AttributeError ('startswith'), one string was read
    # letter by letter ("is a directory (/)"), and no paths said "no data rows". A column
    # named twice was trained on twice, and the saved model then refused to load.
    X = frame[FEATURES].to_numpy()
    est = small(epochs=1).fit_files([csv_path], FEATURES)
    assert list(est.feature_names_in_) == FEATURES
    assert est.transform(frame[FEATURES]).shape == (240, 2)
    with pytest.raises(ValueError, match=r"^paths='.*tiny.csv' must be a list of file paths"):
        small(epochs=1).fit_files(str(csv_path), FEATURES)
    with pytest.raises(ValueError, match=r"^paths=\[\] must be a list of at least one file path"):
        small(epochs=1).fit_files([], FEATURES)
    twice = [*FEATURES[:5], "f0"]
    for fit in (
        lambda: small(epochs=1).fit_chunks([X.copy()], twice),
        lambda: small(epochs=1).fit_files([csv_path], twice),
    ):
        with pytest.raises(ValueError, match=r"^column 'f0' is named twice \(columns\) — name"):
            fit()
    with pytest.raises(ValueError, match=r"^columns='f0f1' must be a list of column names"):
        small(epochs=1).fit_chunks([X[:, :4].copy()], "f0f1")


def test_fit_files_names_no_flag_for_a_pattern_it_does_not_expand(tmp_path):
    # The hint was the command line's: "for encode with --dask local -o DIR".
    with pytest.raises(ValueError) as info:
        small(epochs=1).fit_files([tmp_path / "*.csv"], FEATURES)
    assert str(info.value).startswith("file not found (")
    assert "sorted(glob.glob(pattern))" in str(info.value)
    assert "--" not in str(info.value)


# Bad files for fit_files, and the words its error says: Python's parameters, never a flag
# (the hints named --impute, --exclude, --encoding, --delimiter and --columns/--exclude).
BAD_FILES = [
    pytest.param(
        lambda f: f.assign(f2=f["f2"].mask(f.index == 5)),
        ".csv",
        {},
        {},
        "fill or drop them, or pass impute='mean', 'median' or 'zero'",
        id="missing",
    ),
    pytest.param(
        lambda f: f.assign(f2=np.nan),
        ".csv",
        {"impute": "mean"},
        {},
        "no values to impute from in column 'f2' (",
        id="no-values",
    ),
    pytest.param(
        lambda f: f.assign(f2=f["f2"] * 1e30),
        ".csv",
        {},
        {},
        "(e.g. divide or take logs), or leave them out of columns",
        id="too-large",
    ),
    pytest.param(
        lambda f: f.assign(f2=f["f2"].astype(str).where(f.index != 7, "abc")),
        ".csv",
        {},
        {},
        "line 9: 'abc') — fix or drop that row, or leave the column out of columns",
        id="text-value",
    ),
    pytest.param(
        lambda f: f.assign(f2="abc", f3="def"),
        ".csv",
        {},
        {},
        "hold text, not numbers (",
        id="text-columns",
    ),
    pytest.param(
        lambda f: f.assign(f2="abc"),
        ".parquet",
        {},
        {},
        "column 'f2' (string) is not numeric (",
        id="parquet-text",
    ),
    pytest.param(
        lambda f: f,
        ".csv",
        {},
        {"encoding": "nope"},
        "unknown encoding 'nope' (encoding) — use a name such as utf-8",
        id="encoding",
    ),
    pytest.param(
        lambda f: f,
        ".csv",
        {},
        {"delimiter": ";;"},
        "invalid value ';;' (delimiter) — use a single character",
        id="delimiter",
    ),
    pytest.param(
        lambda f: f,
        ".csv",
        {},
        {"delimiter": ";"},
        "the header looks ','-separated; pass delimiter=','",
        id="other-delimiter",
    ),
    pytest.param(
        lambda f: f.assign(**dict.fromkeys(FEATURES, 1.0)),
        ".csv",
        {},
        {},
        "every column is constant: nothing to learn (",
        id="constant",
    ),
]


@pytest.mark.parametrize("change, suffix, params, kwargs, words", BAD_FILES)
def test_fit_files_errors_name_the_python_parameters(
    change, suffix, params, kwargs, words, frame, tmp_path
):
    path = tmp_path / f"bad{suffix}"
    data = change(frame[FEATURES].copy())
    if suffix == ".parquet":
        data.to_parquet(path)
    else:
        data.to_csv(path, index=False)
    with pytest.raises(ValueError) as info:
        small(epochs=1, **params).fit_files([path], FEATURES, **kwargs)
    assert words in str(info.value), str(info.value)
    assert "--" not in str(info.value)


def test_train_command_and_estimator_fit_the_same_model(frame, csv_path, tmp_path):
    # aefeat train calls aefeat.fitting directly (no scikit-learn in its process); the
    # estimator wraps the same functions: one seed, one model, one directory layout.
    args = ["--epochs", "3", "--hidden", "8", "--seed", "5", "-k", "2"]
    ok("train", csv_path, "-o", tmp_path / "cli", "--exclude", "id,label", "-q", *args)
    est = AutoencoderTransformer(latent_dim=2, epochs=3, hidden=(8,), random_state=5)
    est.fit(frame[FEATURES]).save(tmp_path / "api")
    with (
        np.load(tmp_path / "cli" / "weights.npz") as a,
        np.load(tmp_path / "api" / "weights.npz") as b,
    ):
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    meta = [json.loads((tmp_path / m / "metadata.json").read_text()) for m in ("cli", "api")]
    assert meta[0]["params"] == meta[1]["params"]
    assert meta[0]["metrics"] == meta[1]["metrics"]
    loaded = AutoencoderTransformer.load(tmp_path / "cli")
    np.testing.assert_array_equal(loaded.transform(frame[FEATURES]), est.transform(frame[FEATURES]))


def test_the_first_fit_leaves_the_collector_and_python_random_as_they_were():
    # Keras is imported with the collector paused; a Python caller's process must get it back
    # enabled, with none of its objects frozen out of collection (only the CLI's own process
    # freezes what the import built).
    # The same first fit leaves a seeded Python random stream alone (TensorFlow's import, which
    # it makes, drew from it).
    code = (
        "import gc, random, numpy as np\n"
        "random.seed(123); expected = random.random(); random.seed(123)\n"
        "from aefeat import AutoencoderTransformer\n"
        "X = np.random.default_rng(0).random((60, 4))\n"
        "AutoencoderTransformer(latent_dim=2, epochs=1, random_state=0).fit(X)\n"
        "import sys; assert 'keras' in sys.modules\n"
        "print(gc.isenabled(), gc.get_freeze_count(), random.random() == expected)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["True", "0", "True"]


def test_many_fits_in_one_process_print_no_retracing_warning():
    # A grid search fits many models in one process; TensorFlow's retracing heuristic used to
    # warn about aefeat's own compiled step from the sixth fit on.
    code = (
        "import numpy as np\n"
        "from aefeat import AutoencoderTransformer\n"
        "X = np.random.default_rng(0).random((64, 5))\n"
        "for seed in range(8):\n"
        "    AutoencoderTransformer(latent_dim=2, hidden=[4], epochs=1, random_state=seed).fit(X)\n"
        "print('fitted')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "fitted\n"
    assert "retracing" not in proc.stderr


def test_fit_leaves_the_callers_random_state_and_tensorflow_settings_alone():
    # scikit-learn's estimators never touch global random state; a fit used to reseed Python's
    # and NumPy's generators (so a caller's np.random.seed(123) stream restarted at seed 0),
    # leave TensorFlow's global seed and deterministic ops set, and TF_CPP_MIN_LOG_LEVEL=3 in
    # the environment the caller's subprocesses inherit.
    code = (
        "import os, random, numpy as np\n"
        "from aefeat import AutoencoderTransformer\n"
        "import tensorflow as tf\n"
        "from tensorflow.python.eager import context\n"
        "from tensorflow.python.framework import config\n"
        "X = np.random.default_rng(0).random((60, 4))\n"
        "tf.random.set_seed(7); tf.random.uniform(())\n"
        "expected_tf = float(tf.random.uniform(()))\n"
        "random.seed(123); np.random.seed(123)\n"
        "expected = (random.random(), np.random.rand())\n"
        "random.seed(123); np.random.seed(123)\n"
        "tf.random.set_seed(7); tf.random.uniform(())\n"
        "AutoencoderTransformer(latent_dim=2, hidden=[4], epochs=1, random_state=0).fit(X)\n"
        "print((random.random(), np.random.rand()) == expected)\n"
        # The caller's TensorFlow stream goes on where it was (it used to start over).
        "print(float(tf.random.uniform(())) == expected_tf)\n"
        "tf.random.set_seed(None)\n"
        "AutoencoderTransformer(latent_dim=2, hidden=[4], epochs=1, random_state=0).fit(X)\n"
        "print(context.global_seed(), config.is_op_determinism_enabled())\n"
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == ["True", "True", "None False", "None"]


def test_fits_in_threads_give_the_models_they_give_alone(frame):
    # joblib's threading backend runs fits side by side; the generators a fit seeds are
    # global, so overlapping fits drew from each other's streams (a different model for the
    # same random_state) and restored each other's state, until fits took turns.
    X = frame[FEATURES].to_numpy()

    def fit(seed):
        est = small(hidden=(16,), epochs=4, random_state=seed, linear_path=False)
        return est.fit(X).transform(X)  # no linear path: the trained network is always kept

    alone = {seed: fit(seed) for seed in (0, 1)}
    np.random.seed(42)
    expected = np.random.rand()
    np.random.seed(42)
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(fit, (0, 1, 0, 1)))
    assert np.random.rand() == expected
    for seed, got in zip((0, 1, 0, 1), both, strict=True):
        np.testing.assert_array_equal(got, alone[seed])


def test_fits_free_their_traced_training_step():
    # TensorFlow kept every fit's traced training step alive (through the optimizer's
    # all-reduce, a custom gradient in its global registry): 5 MiB more memory with each fit
    # of a grid search, never given back.
    code = (
        "import gc, numpy as np\n"
        "from aefeat import AutoencoderTransformer\n"
        "from tensorflow.python.framework.func_graph import FuncGraph\n"
        "X = np.random.default_rng(0).random((64, 5))\n"
        "for seed in range(3):\n"
        "    AutoencoderTransformer(latent_dim=2, hidden=[4], epochs=1, random_state=seed).fit(X)\n"
        "gc.collect()\n"
        "print(sum(isinstance(o, FuncGraph) for o in gc.get_objects()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_fit_transform_and_save_warn_nothing(frame, tmp_path):
    with warnings.catch_warnings():
        # Keras' numpy conversion used to warn 13 times a fit and 12 times a save.
        warnings.simplefilter("error")
        est = small(epochs=2).fit(frame[FEATURES])
        est.inverse_transform(est.transform(frame[FEATURES]))
        est.save(tmp_path / "m")


def test_encode_errors_name_the_fitted_column(frame):
    est = small(epochs=1).fit(frame[FEATURES])
    data = frame[FEATURES].iloc[:3].copy()
    data[FEATURES[1]] = 1e300
    with pytest.raises(ValueError, match=f"in column '{FEATURES[1]}'.*row 0"):
        est.transform(data)


def test_inverse_transform_checks_its_input_as_pca_does(fitted, frame):
    Z = fitted.transform(frame[FEATURES])
    for bad in ([[np.nan, 0.0]], [[np.inf, 0.0]], np.empty((0, 2))):
        with pytest.raises(ValueError):
            fitted.inverse_transform(bad)
        with pytest.raises(ValueError):
            PCA(2).fit(frame[FEATURES].to_numpy()).inverse_transform(bad)
    assert fitted.inverse_transform(Z.astype(np.float32)).dtype == np.float32
    assert fitted.inverse_transform(Z).dtype == np.float64


def test_save_over_a_users_directory_names_the_path_argument(fitted, tmp_path):
    # The hint said "choose another -o path or remove it": a flag save() does not have.
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(AefeatError) as info:
        fitted.save(target)
    assert str(info.value) == (
        f"output exists and is not an aefeat model directory: it holds other files: notes.txt "
        f"({target}) — pass save() another path, or remove it"
    )
    assert info.value.message.endswith("— choose another -o path or remove it")
    assert (target / "notes.txt").read_text() == "keep me"


def test_save_and_load_keep_feature_names_spelled_like_default_ones(frame, tmp_path):
    named = frame[FEATURES].set_axis([f"x{i}" for i in range(6)], axis=1)
    small(epochs=1).fit(named).save(tmp_path / "named")
    assert list(AutoencoderTransformer.load(tmp_path / "named").feature_names_in_) == list(
        named.columns
    )
    small(epochs=1).fit(named.to_numpy()).save(tmp_path / "unnamed")
    assert not hasattr(AutoencoderTransformer.load(tmp_path / "unnamed"), "feature_names_in_")


def test_score_is_minus_the_reconstruction_error_so_a_search_can_use_it(fitted, frame):
    X = frame[FEATURES]
    np.testing.assert_array_equal(fitted.score_samples(X), -fitted.reconstruction_error(X))
    assert fitted.score(X) == pytest.approx(-np.mean(fitted.reconstruction_error(X)))
    # GridSearchCV without `scoring` needs score(): it refused the estimator before.
    grid = GridSearchCV(small(epochs=1), {"latent_dim": [1, 2]}, cv=2).fit(X)
    assert grid.best_params_ == {"latent_dim": 2} and grid.best_score_ < 0


@pytest.mark.parametrize("params", ["abc", [1, 2], {"latent_dim": "zzz", "hidden": "x"}])
def test_load_refuses_forged_params(fitted, tmp_path, params):
    # A dict of any values loaded, and get_params() then returned latent_dim='zzz'; a string
    # or a list gave a bare TypeError or ValueError from Python itself.
    import json

    fitted.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["params"] = params
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(AefeatError, match="metadata.json params"):
        AutoencoderTransformer.load(tmp_path / "m")


def test_save_and_load_take_model_locations_as_train_and_encode_do(
    fitted, frame, tmp_path, monkeypatch
):
    # save("s3://b/m") wrote a local directory "s3:/b/m" (and save("-") one named "-") where
    # train -o refuses both; load("file:///...") looked for "file:/..." where encode reads it.
    monkeypatch.chdir(tmp_path)
    X = frame[FEATURES]
    for target, words in (
        ("s3://bucket/m", "a model directory is written to a local path, not a URL (s3://"),
        ("-", "a model directory cannot be written to stdout (path='-') — pass save()"),
    ):
        with pytest.raises(AefeatError) as info:
            fitted.save(target)
        assert str(info.value).startswith(words), str(info.value)
        assert "--" not in str(info.value) and "-o" not in str(info.value)
    assert sorted(os.listdir(tmp_path)) == []
    fitted.save(f"file://{tmp_path}/m")
    assert (tmp_path / "m" / "metadata.json").is_file()
    for location in (f"file://{tmp_path}/m", str(tmp_path / "m")):
        loaded = AutoencoderTransformer.load(location)
        np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    memory.put(str(tmp_path / "m"), "/saved/m", recursive=True)
    try:
        loaded = AutoencoderTransformer.load("memory://saved/m")
    finally:
        memory.rm("/saved", recursive=True)
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))


def test_save_refuses_an_empty_path_and_leaves_the_current_directory(fitted, tmp_path, monkeypatch):
    # save("") (a path built from an unset variable) wrote the model into the current
    # directory, swapping it for a new one, as train -o "" did before the CLI refused it.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(AefeatError) as info:
        fitted.save("")
    assert str(info.value) == (
        "invalid value '' (path='') — pass save() the path of the model directory to write"
    )
    assert os.listdir(work) == [] and os.path.samefile(os.getcwd(), work)
