"""``aefeat inspect`` and ``encode --with-error``: attribution against known truth and PCA, the
--json contract, plots and the TensorFlow-free inspect path. Training is tiny (0-5 epochs)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FEATURES, assert_user_error, ok, run

from aefeat.cli.commands import run_inspect
from aefeat.inspection import analyse
from aefeat.modeldir import load_keras_model, load_model_dir

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JSON_KEYS = (
    "attribution",
    "signed_correlation",
    "feature_r2",
    "latent_importance",
    "explained_variance",
    "pca_explained_variance",
)


def _strict_json(text: str) -> dict:
    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _inspect_json(*args) -> dict:
    result = run("inspect", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return _strict_json(result.stdout)


# --- known truth ---------------------------------------------------------------------------


def known_truth_frame(n_rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """f0 and f1 carry all the structure (two independent factors, f1 curved in f0); f2..f5 are
    independent heavy-tailed noise, so after MinMax scaling their variance is about a tenth of
    f0's and f1's and any 2-D latent space has to be spent on f0 and f1."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, n_rows)
    s = rng.uniform(-1, 1, n_rows)
    noise = rng.standard_t(3, size=(n_rows, 4))
    X = np.column_stack([t, s + 0.5 * t**2, noise])
    return pd.DataFrame(X, columns=FEATURES)


@pytest.fixture(scope="module")
def known_truth(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("truth")
    csv = root / "truth.csv"
    known_truth_frame().to_csv(csv, index=False)
    out = root / "model"
    result = run(
        "train", csv, "-o", out, "--epochs", "5", "--hidden", "8", "--seed", "0", "--quiet"
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out, csv


@pytest.mark.parametrize("on", ["data", "stored sample"])
def test_attribution_ranks_the_informative_features_on_top(known_truth, on):
    model, csv = known_truth
    report = _inspect_json(model, *(["--data", csv] if on == "data" else []))
    total = {f: 0.0 for f in FEATURES}
    for z, scores in report["attribution"].items():
        ranked = sorted(scores, key=lambda f: -scores[f])
        assert ranked[0] in ("f0", "f1"), (z, scores)
        assert scores["f0"] + scores["f1"] > 0.7, (z, scores)
        corr = report["signed_correlation"][z]
        assert max(corr, key=lambda f: abs(corr[f])) in ("f0", "f1"), (z, corr)
        for f, v in scores.items():
            total[f] += v
    assert set(sorted(total, key=lambda f: -total[f])[:2]) == {"f0", "f1"}
    # Both informative features are kept, the noise is not.
    r2 = report["feature_r2"]
    assert min(r2["f0"], r2["f1"]) > 0.8
    assert max(r2[f] for f in FEATURES[2:]) < 0.5


# --- a linear model is PCA -----------------------------------------------------------------


def _fit_epochs0(frame: pd.DataFrame, out: Path, latent_dim: int, hidden: tuple[int, ...]) -> None:
    from aefeat import AutoencoderTransformer

    est = AutoencoderTransformer(latent_dim=latent_dim, hidden=hidden, epochs=0, random_state=0)
    est.fit(frame)
    est.save(out)


@pytest.fixture(scope="module")
def pca_model(tmp_path_factory, frame) -> tuple[Path, Path]:
    """Three latent columns, no training: the start, which is exactly the PCA of all (scaled)
    training rows (hidden layers present, their last layer at zero)."""
    root = tmp_path_factory.mktemp("pca")
    csv = root / "data.csv"
    frame.to_csv(csv, index=False)
    out = root / "model"
    _fit_epochs0(frame[FEATURES], out, latent_dim=3, hidden=(8,))
    return out, csv


def test_attribution_of_a_linear_model_equals_pca_loadings(pca_model, frame):
    from sklearn.decomposition import PCA

    model, csv = pca_model
    report = _inspect_json(model, "--data", csv)
    X = frame[FEATURES].to_numpy(np.float64)
    Xs = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
    pca = PCA(n_components=3).fit(Xs)
    loadings = np.abs(pca.components_)
    expected = loadings / loadings.sum(axis=1, keepdims=True)
    got = np.array([[report["attribution"][f"z{k}"][f] for f in FEATURES] for k in range(3)])
    np.testing.assert_allclose(got, expected, atol=2e-5)

    # The correlation's sign follows the loading's (up to PCA's arbitrary sign per component).
    corr = np.array(
        [[report["signed_correlation"][f"z{k}"][f] for f in FEATURES] for k in range(3)]
    )
    for k in range(3):
        clear = (loadings[k] > 0.1) & (np.abs(corr[k]) > 0.1)
        agree = np.sign(corr[k, clear]) * np.sign(pca.components_[k, clear])
        assert abs(agree.sum()) == clear.sum(), (corr[k], pca.components_[k])

    # Reconstruction, R² and importance are PCA's too.
    Z = pca.transform(Xs)
    recon = pca.inverse_transform(Z)
    sst = ((Xs - Xs.mean(axis=0)) ** 2).sum(axis=0)
    r2 = 1 - ((recon - Xs) ** 2).sum(axis=0) / sst
    np.testing.assert_allclose([report["feature_r2"][f] for f in FEATURES], r2, atol=1e-4)
    # Replacing a PCA score by its mean raises the MSE by its variance / number of features.
    rise = [report["latent_importance"][f"z{k}"] for k in range(3)]
    np.testing.assert_allclose(rise, Z.var(axis=0) / len(FEATURES), rtol=1e-3, atol=1e-7)
    assert rise[0] > rise[1] > rise[2]
    # The model keeps what PCA keeps.
    pca_kept = pca.explained_variance_ratio_.sum()
    assert report["pca_explained_variance"] == pytest.approx(pca_kept, abs=1e-9)
    assert report["explained_variance"] == pytest.approx(pca_kept, abs=1e-5)


# --- the --json contract -------------------------------------------------------------------


def test_json_has_the_documented_keys_and_shapes(model_dir, csv_path):
    report = _inspect_json(model_dir, "--data", csv_path)
    for key in JSON_KEYS:
        assert key in report, key
    latent = ["z0", "z1"]
    assert list(report["attribution"]) == latent
    assert list(report["signed_correlation"]) == latent
    assert list(report["latent_importance"]) == latent
    for z in latent:
        scores = report["attribution"][z]
        assert list(scores) == FEATURES
        assert all(isinstance(v, float) and v >= 0 for v in scores.values())
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-9)
        corr = report["signed_correlation"][z]
        assert list(corr) == FEATURES
        assert all(-1 - 1e-9 <= v <= 1 + 1e-9 for v in corr.values())
        assert isinstance(report["latent_importance"][z], float)
    assert list(report["feature_r2"]) == FEATURES
    assert all(v is None or v <= 1 for v in report["feature_r2"].values())
    assert 0 < report["pca_explained_variance"] <= 1
    assert report["explained_variance"] <= 1
    assert report["rows"] == 240
    assert report["evaluated_on"] == str(csv_path)
    # Without --data: the stored training sample, same keys.
    sample = _inspect_json(model_dir)
    assert set(JSON_KEYS) <= set(sample)
    assert sample["evaluated_on"].startswith("training sample")


def test_columns_constant_in_training_get_no_attribution(tmp_path, frame):
    data = frame[FEATURES].copy()
    data["const"] = 3.0
    _fit_epochs0(data, tmp_path / "m", latent_dim=2, hidden=(4,))
    report = _inspect_json(tmp_path / "m")
    for scores in report["attribution"].values():
        assert scores["const"] == 0.0
        assert sum(scores.values()) == pytest.approx(1.0)
    assert report["feature_r2"]["const"] is None


def test_attribution_does_not_depend_on_chunking_or_sampling(model_dir, frame, monkeypatch):
    import aefeat.inspection as inspection

    model = load_model_dir(model_dir)
    Xs = model.scaler.transform(frame[FEATURES].to_numpy(np.float64))
    whole = np.abs(model.network.jacobian("encoder", Xs)).mean(axis=0)
    monkeypatch.setattr(inspection, "_JACOBIAN_CELLS", 7 * 2 * 16)  # 7 rows per chunk
    np.testing.assert_allclose(inspection.mean_abs_jacobian(model, Xs), whole, rtol=1e-12)
    # Beyond MAX_ATTRIBUTION_ROWS, a seeded sample of rows: close to the mean over all rows.
    monkeypatch.setattr(inspection, "MAX_ATTRIBUTION_ROWS", 120)
    sampled = inspection.mean_abs_jacobian(model, Xs)
    assert np.array_equal(sampled, inspection.mean_abs_jacobian(model, Xs))
    np.testing.assert_allclose(sampled, whole, rtol=0.25)


# --- text report ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hidden", "start"), [("16,8", "PCA plus a random nonlinear path"), ("none", "PCA")]
)
def test_text_report_says_what_training_started_from(hidden, start, csv_path, tmp_path):
    # With hidden layers, check 0 is PCA plus the nonlinear path's random start, whose loss is
    # not PCA's own; without them it is PCA itself.
    out = tmp_path / "m"
    ok(
        "train", csv_path, "-o", out, "--exclude", "id,label", "--epochs", "1",
        "--hidden", hidden, "--seed", "0", "--quiet",
    )  # fmt: skip
    assert f"at start ({start}) ->" in ok("inspect", out)
    report = _inspect_json(out)
    at_pca = report["training"]["val_loss"]["start"] == pytest.approx(
        report["metrics"]["pca_val_mse"], rel=1e-4
    )
    assert at_pca == (hidden == "none")


def test_text_report_prints_names_literally(tmp_path, frame):
    names = ["[red]a[/red]", "b$x$", ":smile:", "d", "e", "f"]
    data = frame[FEATURES].set_axis(names, axis=1)
    _fit_epochs0(data, tmp_path / "m", latent_dim=2, hidden=())
    csv = tmp_path / "weird.csv"
    data.assign(lab=["$1$", "[b]"] * (len(data) // 2)).to_csv(csv, index=False)
    result = run("inspect", tmp_path / "m", "--data", csv, "--top", "6")
    assert result.exit_code == 0, result.stderr
    for name in names:
        assert name in result.stdout
    for word in ("variance kept", "PCA", "MSE rise", "R²", "latent columns"):
        assert word in result.stdout
    # Dollar signs and brackets in names and labels do not break the plot either.
    plot = tmp_path / "weird.png"
    result = run("inspect", tmp_path / "m", "--data", csv, "--label", "lab", "--plot", plot)
    assert result.exit_code == 0, result.stderr
    assert plot.read_bytes().startswith(PNG_SIGNATURE)


# --- plots ----------------------------------------------------------------------------------


def test_plot_writes_a_png(model_dir, csv_path, tmp_path):
    target = tmp_path / "inspect.png"
    result = run("inspect", model_dir, "--data", csv_path, "--plot", target)
    assert result.exit_code == 0, result.stderr
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inspect.png"]


def test_plot_refuses_bad_targets_before_any_work(model_dir, tmp_path):
    existing = tmp_path / "dir.png"
    existing.mkdir()
    for target, message in [
        (existing, "directory"),
        (tmp_path / "plot.txt", "unsupported plot file type"),
        (tmp_path / "missing" / "p.png", "does not exist"),
    ]:
        result = run("inspect", model_dir, "--plot", target)
        assert result.exit_code == 2, result.stdout
        assert message in result.stderr
        assert result.stdout == ""


def test_config_line_quotes_punctuation_values(model_dir):
    # It printed 'delimiter=,, encoding=utf-8, decimal=.': the comma read as a typo.
    text = " ".join(ok("inspect", model_dir).split())
    assert "delimiter=',', encoding=utf-8, decimal='.'" in text
    assert "activation=leaky_relu," in text and "exclude=['id', 'label']" in text
    config = json.loads(ok("inspect", model_dir, "--json"))["config"]
    assert config["delimiter"] == "," and config["decimal"] == "."


def test_plot_into_a_directory_names_a_file_in_it(model_dir, tmp_path):
    # It said "unsupported plot file type '(none)'": the directory was the problem.
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    result = run("inspect", model_dir, "--plot", outdir)
    assert_user_error(result, "output is a directory", f"such as {outdir}/plot.png")
    assert "(none)" not in result.stderr
    assert list(outdir.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="uses RLIMIT_FSIZE")
def test_failed_plot_write_leaves_the_existing_file_untouched(model_dir, csv_path, tmp_path):
    target = tmp_path / "plot.png"
    target.write_bytes(b"previous plot")
    # A file-size limit makes the PNG write itself fail (EFBIG), after the temporary file
    # was created: no mocks, the real write path.
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        from aefeat.cli.app import app
        sys.exit(app(args=["inspect", {str(model_dir)!r}, "--data", {str(csv_path)!r},
                           "--plot", {str(target)!r}], standalone_mode=False))
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 2, proc.stderr
    assert f"file too large (over the file-size limit) writing {target}" in proc.stderr
    assert target.read_bytes() == b"previous plot"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png"]


def _figure(model_dir: Path, csv_path: Path, label: str | None):
    from aefeat.cli.plots import inspection_figure

    model = load_model_dir(model_dir)
    frame = pd.read_csv(csv_path)
    report, Z = analyse(model, frame[model.columns].to_numpy())
    labels = None if label is None else [str(v) for v in frame[label]]
    history = model.metadata["training"]["history"]
    return inspection_figure(Z, report, history, labels, label)


def test_label_colours_the_scatter_by_category(model_dir, csv_path, tmp_path):
    from matplotlib.collections import PathCollection
    from matplotlib.legend import Legend

    fig = _figure(model_dir, csv_path, "label")
    legends = fig.findobj(Legend)
    entries = [[t.get_text() for t in leg.get_texts()] for leg in legends]
    assert ["neg", "pos"] in entries
    (scatter,) = fig.findobj(PathCollection)
    colours = {tuple(c) for c in np.round(scatter.get_facecolors()[:, :3], 3)}
    assert len(colours) == 2
    # Without a label: one colour, no label legend.
    fig = _figure(model_dir, csv_path, None)
    (scatter,) = fig.findobj(PathCollection)
    assert len({tuple(c) for c in scatter.get_facecolors()[:, :3]}) == 1
    # And through the CLI.
    target = tmp_path / "labelled.png"
    result = run("inspect", model_dir, "--data", csv_path, "--label", "label", "--plot", target)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes().startswith(PNG_SIGNATURE)


def test_rows_without_a_numeric_label_are_drawn_grey(model_dir, csv_path):
    from matplotlib.collections import PathCollection

    from aefeat.cli.plots import MISSING_LABEL, inspection_figure

    model = load_model_dir(model_dir)
    frame = pd.read_csv(csv_path)
    report, Z = analyse(model, frame[model.columns].to_numpy())
    labels = [MISSING_LABEL if i % 5 == 0 else f"{v:.4g}" for i, v in enumerate(frame["f0"])]
    fig = inspection_figure(Z, report, model.metadata["training"]["history"], labels, "f0")
    (scatter,) = fig.findobj(PathCollection)
    colours = scatter.to_rgba(scatter.get_array())
    assert len(colours) == len(frame)  # every row is drawn, those without a label too
    grey = np.all(np.isclose(colours, (0.85, 0.85, 0.85, 1.0)), axis=1)
    assert grey.sum() == len(frame[::5])


def test_more_than_two_latent_columns_give_a_pair_grid(pca_model):
    from matplotlib.collections import PathCollection

    model, csv = pca_model
    fig = _figure(model, csv, "label")
    scatters = fig.findobj(PathCollection)
    assert len(scatters) == 3  # z0-z1, z0-z2, z1-z2


def test_label_needs_an_existing_column_and_a_plot(model_dir, csv_path, tmp_path):
    result = run(
        "inspect", model_dir, "--data", csv_path, "--label", "nope", "--plot", tmp_path / "p.png"
    )
    assert result.exit_code == 2
    assert "nope" in result.stderr
    # Without --plot the label was read, checked and ignored.
    result = run("inspect", model_dir, "--data", csv_path, "--label", "label")
    assert result.exit_code == 2 and "--label colours the plot" in result.stderr


def test_one_latent_column_histogram_draws_other_and_missing_labels():
    # The histogram drew the legend's categories only: rows of "other" (beyond the legend's
    # categories) and of missing labels were left out while the legend listed them.
    import matplotlib.pyplot as plt

    from aefeat.cli.plots import MISSING_LABEL, _latent_panel, label_colours

    Z = np.random.default_rng(0).normal(size=(120, 1))
    labels = [MISSING_LABEL if i % 4 == 0 else f"g{i % 30}" for i in range(120)]
    colours = label_colours(labels)
    assert (colours.codes == -1).any() and (colours.codes == -2).any()
    fig = plt.figure()
    _latent_panel(fig.subfigures(1, 1), Z, np.arange(120), ["z0"], [0], colours, "group")
    (ax,) = fig.axes
    steps = ax.patches  # one step outline per group drawn
    plt.close(fig)
    assert len(steps) == len(colours.palette) + 2


def test_numeric_label_with_many_values_gets_a_colour_scale():
    from aefeat.cli.plots import label_colours

    many = label_colours([str(v) for v in np.linspace(0, 1, 50)])
    assert many.kind == "continuous" and many.values.shape == (50,)
    digits = label_colours([str(d) for d in [3, 1, 10, 2] * 5])
    assert digits.kind == "categorical" and digits.categories == ["1", "2", "3", "10"]
    names = label_colours([f"c{i}" for i in range(30)] + ["(missing)"])
    assert len(names.categories) == 19 and names.other == 11 and names.missing == 1


# --- encode --with-error --------------------------------------------------------------------


def test_encode_with_error_is_per_row_mse_in_scaled_units(model_dir, csv_path, frame):
    result = run("encode", model_dir, csv_path, "--with-error", "--keep", "id")
    assert result.exit_code == 0, result.stderr
    out = pd.read_csv(io.StringIO(result.stdout))
    assert list(out.columns) == ["id", "z0", "z1", "reconstruction_error"]

    meta = json.loads((Path(model_dir) / "metadata.json").read_text())
    span = np.asarray(meta["scaling"]["max"]) - np.asarray(meta["scaling"]["min"])
    span = np.where(span > 0, span, 1.0)
    encoder = load_keras_model(model_dir, "encoder.keras")
    decoder = load_keras_model(model_dir, "decoder.keras")
    X = frame[FEATURES].to_numpy(np.float32)
    recon = np.asarray(decoder(encoder(X)), dtype=np.float64)
    expected = np.mean(((recon - X) / span) ** 2, axis=1)
    np.testing.assert_allclose(out["reconstruction_error"], expected, rtol=1e-3, atol=1e-8)
    # It flags unusual rows: a row far outside the data scores far higher.
    odd = frame.iloc[:1].copy()
    odd[FEATURES] = odd[FEATURES] * 5 + 3
    scored = run("encode", model_dir, "-", "--with-error", input=odd.to_csv(index=False))
    assert scored.exit_code == 0, scored.stderr
    assert pd.read_csv(io.StringIO(scored.stdout))["reconstruction_error"][0] > 10 * np.median(
        expected
    )


# --- no TensorFlow on the inspect path ------------------------------------------------------


def test_inspect_and_encode_do_not_import_tensorflow_or_sklearn(model_dir, csv_path, tmp_path):
    script = textwrap.dedent(
        f"""
        import contextlib, io, sys
        from aefeat.cli.app import app
        with contextlib.redirect_stdout(io.StringIO()):
            codes = [
                app(args=["inspect", {str(model_dir)!r}, "--data", {str(csv_path)!r},
                          "--label", "label", "--plot", {str(tmp_path / "p.png")!r}],
                    standalone_mode=False),
                app(args=["inspect", {str(model_dir)!r}, "--json"], standalone_mode=False),
                app(args=["encode", {str(model_dir)!r}, {str(csv_path)!r}, "--with-error",
                          "-o", {str(tmp_path / "z.csv")!r}], standalone_mode=False),
            ]
        print(codes, sorted(m for m in ("tensorflow", "keras", "sklearn") if m in sys.modules))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[0, 0, 0] []"


def test_run_inspect_python_api(model_dir, csv_path):
    report = run_inspect(model_dir, str(csv_path))
    assert report["data"]["rows"] == 240
    assert set(JSON_KEYS) <= set(report)


def test_reader_closing_the_pipe_early_is_not_an_error(model_dir):
    # `aefeat inspect MODEL | head` exited 1 (Rich's own broken-pipe exit), which a script
    # with `set -o pipefail` takes for a failure; encode and --json exit 0.
    exe = Path(sys.executable).with_name("aefeat")
    proc = subprocess.Popen(
        [str(exe), "inspect", str(model_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # before the report is written: every write meets a closed pipe
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == b""


def test_data_that_encode_refuses_is_refused_by_inspect_too(model_dir, frame, tmp_path):
    # A value whose latent values would overflow float32 was refused by encode but gave inspect
    # a report of inf and NaN with exit 0.
    data = frame.copy()
    data.loc[4, FEATURES[2]] = 1e300
    src = tmp_path / "big.csv"
    data.to_csv(src, index=False)
    for command in (["inspect", model_dir, "--data", src], ["encode", model_dir, src]):
        result = run(*command)
        assert result.exit_code == 2
        assert f"in column '{FEATURES[2]}'" in result.stderr and "big.csv, line 6" in result.stderr


def test_plot_takes_a_file_url_and_refuses_other_urls(model_dir, tmp_path):
    target = tmp_path / "p.png"
    ok("inspect", model_dir, "--plot", f"file://{target}")
    assert target.read_bytes().startswith(b"\x89PNG")
    result = run("inspect", model_dir, "--plot", "s3://bucket/p.png")
    assert result.exit_code == 2
    assert (
        "a plot is written to a local path, not a URL (--plot s3://bucket/p.png)" in result.stderr
    )


def test_inspect_takes_quiet_as_train_and_encode_do(model_dir):
    # `-q` on every command of a script used to fail here with "No such option: -q".
    result = run("inspect", model_dir, "-q", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "" and json.loads(result.stdout) == json.loads(
        ok("inspect", model_dir, "--json")
    )


def test_piped_text_report_has_whole_lines_for_grep(model_dir, csv_path):
    # Piped, Rich wrapped sentences at 140 columns and padded lines with spaces:
    # `grep '^model:'` got half a sentence.
    text = ok("inspect", model_dir, "--data", csv_path)
    lines = text.splitlines()
    assert not [line for line in lines if line != line.rstrip()]
    summary = [line for line in lines if line.startswith(("model:", "metrics:"))]
    assert len(summary) == 1 and summary[0].endswith(")"), summary
    assert next(line for line in lines if line.startswith("config:")).endswith("decimal='.'")


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_plot_bytes_are_reproducible_in_every_format(model_dir, tmp_path, fmt):
    # PNG always was; SVG carried a date and random element ids, PDF a creation date.
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    ok("inspect", model_dir, "--plot", first)
    ok("inspect", model_dir, "--plot", second)
    assert first.read_bytes() == second.read_bytes()


def test_pca_variance_on_fewer_rows_than_columns_needs_no_column_square(model_dir, frame, tmp_path):
    # From the rows' singular values when columns outnumber rows (a columns x columns
    # covariance of a crafted 40,000-column model took 12 GB): the same figure.
    rows = frame.head(4)
    path = tmp_path / "four.csv"
    rows.to_csv(path, index=False)
    report = _inspect_json(model_dir, "--data", path)
    meta = json.loads((model_dir / "metadata.json").read_text())
    lo, hi = np.array(meta["scaling"]["min"]), np.array(meta["scaling"]["max"])
    Xs = (rows[FEATURES].to_numpy() - lo) / np.where(hi > lo, hi - lo, 1.0)
    eig = np.linalg.eigvalsh(np.cov(Xs, rowvar=False))[::-1].clip(min=0)
    assert report["pca_explained_variance"] == pytest.approx(eig[:2].sum() / eig.sum())


def test_pca_variance_of_a_wide_table_is_the_full_decompositions_without_one(monkeypatch):
    # A wide table's few components come from ARPACK, as training's PCA start's do (a full SVD
    # of 3,000 x 4,000 took 35 s): the same components, mean and shares of the variance as the
    # full decomposition, and the same figure in inspect's report.
    from aefeat.core.network import DenseNetwork, NetworkSpec
    from aefeat.core.pca import largest_components
    from aefeat.core.prepare import Scaler
    from aefeat.modeldir import ModelDir

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 4)) @ rng.normal(size=(4, 1500)) + rng.normal(size=(1200, 1500))
    # A linear model in memory (no TensorFlow): its weights do not enter the PCA figure.
    spec = NetworkSpec(1500, 3, (), "linear", "linear", "linear", linear_path=True)
    weights = {k: rng.normal(size=shape) / 40 for k, shape in spec.weight_shapes().items()}
    model = ModelDir(
        path=Path("wide"),
        metadata={"input_columns": [f"c{j}" for j in range(1500)]},
        spec=spec,
        scaler=Scaler(X.min(axis=0), X.max(axis=0)),
        network=DenseNetwork(spec, weights),
    )

    # The full spectrum of the scaled rows, from their Gram matrix (the covariance's nonzero
    # eigenvalues, times rows - 1; quicker here than a full SVD), and the three largest axes.
    Xs = model.scaler.prepare(X)
    centred = Xs - Xs.mean(axis=0)
    values, vectors = np.linalg.eigh(centred @ centred.T)
    values, vectors = values[::-1].clip(min=0), vectors[:, ::-1]
    axes = (centred.T @ vectors[:, :3] / np.sqrt(values[:3])).T
    shares = values[:3] / values.sum()

    components, mean, ratios = largest_components(Xs, 3)
    np.testing.assert_allclose(np.abs(components @ axes.T), np.eye(3), atol=1e-8)
    np.testing.assert_allclose(mean, Xs.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(ratios, shares, rtol=1e-8)
    # Smaller tables, or every component, keep the full decomposition and its exact results.
    assert largest_components(Xs[:1000], 3) is None
    assert largest_components(Xs, None) is None

    def no_full(decompose):
        def checked(a, *args, **kwargs):
            assert min(np.shape(a)) <= 3, f"a full decomposition of {np.shape(a)}"
            return decompose(a, *args, **kwargs)

        return checked

    for name in ("svd", "eigvalsh", "eigh"):
        monkeypatch.setattr(np.linalg, name, no_full(getattr(np.linalg, name)))
    report, _ = analyse(model, X)
    assert report["pca_explained_variance"] == pytest.approx(shares.sum(), rel=1e-8)


def test_small_attribution_shares_keep_a_decimal(model_dir, capsys):
    # Among hundreds of features every share is under 1%: the report said "0%" or "1%" for
    # all of them, and the heatmap's colour bar "0%" on every tick.
    import matplotlib.pyplot as plt

    from aefeat.cli.plots import inspection_figure
    from aefeat.cli.report import print_report

    report = _inspect_json(model_dir)
    names = list(report["attribution"]["z0"])
    tiny = {n: 0.004 + 0.001 * j for j, n in enumerate(names)}
    report["attribution"] = {z: tiny for z in report["attribution"]}
    print_report(report)
    assert "0.9%" in capsys.readouterr().out
    fig = inspection_figure(np.zeros((3, 2)), report, {}, None, None)
    fig.canvas.draw()
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if "%" in t.get_text()]
    plt.close(fig)
    assert ticks and len(set(ticks)) == len(ticks), ticks


def _relabelled(report: dict, names: list[str], r2: float | None = 0.5) -> dict:
    """``report`` as inspect of a model with the features ``names`` gives it: equal
    attribution shares, every feature's R² ``r2``."""
    report = dict(report)
    report["input_columns"] = [{"name": n, "min": 0.0, "max": 1.0} for n in names]
    report["attribution"] = {z: dict.fromkeys(names, 1 / len(names)) for z in report["attribution"]}
    report["signed_correlation"] = {z: dict.fromkeys(names, 0.1) for z in report["attribution"]}
    report["feature_r2"] = dict.fromkeys(names, r2)
    return report


def test_text_report_cuts_long_names_in_the_middle(model_dir, capsys, monkeypatch):
    # Cut at the end by Rich, names that differ only at the end were printed the same.
    from aefeat.cli.report import print_report

    monkeypatch.setenv("COLUMNS", "70")
    names = [f"sensor_temperature_reading_{'north_' * 8}{i}" for i in range(6)]
    print_report(_relabelled(_inspect_json(model_dir), names), top=6)
    out = capsys.readouterr().out
    # Each name once in the columns table, once per latent column, once among the R²s.
    for name in names:
        lines = [line for line in out.splitlines() if name[-10:] in line]
        assert name not in out and len(lines) == 4, out
        assert all(line.count("sensor_temp") == 1 and "…" in line for line in lines), lines


def test_text_report_shows_tabs_and_line_breaks_in_names_as_escapes(model_dir, capsys):
    # A line break in a name split its table row in two; a tab was printed as spaces.
    from aefeat.cli.report import print_report

    names = ["a\tb", "c\nd", "e\r", "f", "g", "h"]
    report = _relabelled(_inspect_json(model_dir), names)
    report["config"] = {**report["config"], "columns": names}
    print_report(report)
    out = capsys.readouterr().out
    assert "\t" not in out and "\r" not in out
    for shown in ("a\\tb", "c\\nd", "e\\r"):
        assert out.count(shown) == 5, (shown, out)  # input table, config, 2 latents, R²
    assert "columns=['a\\tb', 'c\\nd', 'e\\r', 'f'," in out


def test_text_report_lists_ten_config_names_and_a_count(model_dir, capsys):
    # --columns of 5,000 names printed all of them on the config line.
    from aefeat.cli.report import print_report

    names = [f"n{i}" for i in range(5000)]
    report = _relabelled(_inspect_json(model_dir), names)
    report["config"] = {**report["config"], "columns": names, "exclude": ["id", "label"]}
    print_report(report)
    out = capsys.readouterr().out
    assert "columns=['n0', 'n1', " in out and "'n9' and 4990 more], exclude=['id', 'label']" in out
    assert "'n10'" not in out
    assert "input columns (5000): n0, n1, " in out and "n11 and 4988 more (names and" in out


def test_text_report_counts_constant_features_when_all_are(model_dir, capsys):
    # With every feature constant, the summary line (and its "N constant") was left out.
    from aefeat.cli.report import print_report

    print_report(_relabelled(_inspect_json(model_dir), [f"n{i}" for i in range(20)], r2=None))
    out = capsys.readouterr().out
    assert "R² over all 20 features: all constant (every feature: --json)" in out


def test_tiny_attribution_shares_are_not_zero(model_dir, capsys):
    # Among 5,000 features every share is about 0.02%: printed "0.0%", as a column with none.
    from aefeat.cli.report import print_report

    names = [f"n{i}" for i in range(5000)]
    report = _relabelled(_inspect_json(model_dir), names)
    z = next(iter(report["attribution"]))
    report["attribution"][z] = {**report["attribution"][z], "n0": 0.00003, "n1": 0.0}
    print_report(report, top=5000)
    out = capsys.readouterr().out
    assert "n2 0.02% (+0.10)" in out and "n0 <0.01% (+0.10)" in out and "n1 0.0% (+0.10)" in out


def test_label_words_for_missing_are_one_missing_group(model_dir, frame, tmp_path):
    """A label column with "NaN", "NA" and blank cells: one "(missing)" legend entry, as
    aefeat reads those words in a numeric column, not categories called "NaN" and "NA"."""
    import matplotlib as mpl

    data = frame.copy()
    data["label"] = [("NaN", "NA", "", "pos", "neg")[i % 5] for i in range(len(data))]
    path = tmp_path / "labels.csv"
    data.to_csv(path, index=False)
    target = tmp_path / "plot.svg"
    with mpl.rc_context({"svg.fonttype": "none"}):  # legend text as text, to read it back
        ok("inspect", model_dir, "--data", path, "--label", "label", "--plot", target)
    svg = target.read_text()
    assert "(missing)" in svg and ">pos<" in svg
    assert ">NaN<" not in svg and ">NA<" not in svg
