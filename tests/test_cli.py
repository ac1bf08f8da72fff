"""End to end through the real CLI: train -> encode -> inspect on CSVs."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import FEATURES, ok, run

from aefeat.modeldir import load_keras_model


def read_csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_encode_keeps_rows_columns_and_order(model_dir, csv_path, frame):
    result = run("encode", model_dir, csv_path, "--keep", "id,label")
    assert result.exit_code == 0, result.stderr
    out = read_csv_text(result.stdout)
    assert list(out.columns) == ["id", "label", "z0", "z1"]
    assert len(out) == len(frame)
    assert out["id"].tolist() == frame["id"].tolist()
    assert out["label"].tolist() == frame["label"].tolist()


def test_encode_equals_keras_encoder_on_raw_columns(model_dir, csv_path, frame):
    out = read_csv_text(run("encode", model_dir, csv_path).stdout)
    encoder = load_keras_model(model_dir, "encoder.keras")
    expected = np.asarray(encoder(frame[FEATURES].to_numpy(np.float32)))
    np.testing.assert_allclose(out[["z0", "z1"]].to_numpy(), expected, atol=1e-5)


def test_decoder_of_encoder_approximates_input(model_dir, frame):
    encoder = load_keras_model(model_dir, "encoder.keras")
    decoder = load_keras_model(model_dir, "decoder.keras")
    X = frame[FEATURES].to_numpy(np.float32)
    recon = np.asarray(decoder(encoder(X)))
    span = X.max(axis=0) - X.min(axis=0)
    scaled_mse = np.mean(((recon - X) / span) ** 2)
    total_var = np.mean(((X - X.mean(axis=0)) / span) ** 2)
    # Two latent columns of a curved 2-D manifold keep most of the variance.
    assert scaled_mse < 0.25 * total_var


def test_columns_are_matched_by_name_and_extra_columns_ignored(
    model_dir, csv_path, frame, tmp_path
):
    shuffled = frame[["label", "f5", "f3", "f0", "id", "f1", "f4", "f2"]].copy()
    shuffled["extra"] = 1.0
    path = tmp_path / "shuffled.csv"
    shuffled.to_csv(path, index=False)
    a = ok("encode", model_dir, csv_path)
    assert a.startswith("z0,z1\n") and a.count("\n") == len(frame) + 1
    assert ok("encode", model_dir, path) == a


def test_stdin_to_stdout_equals_file_to_file(model_dir, csv_path, tmp_path):
    piped = run("encode", model_dir, "-", "--keep", "id", input=csv_path.read_bytes())
    assert piped.exit_code == 0, piped.stderr
    out = tmp_path / "z.csv"
    result = run("encode", model_dir, csv_path, "--keep", "id", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert piped.stdout == out.read_text()


def test_gzip_input(model_dir, csv_path, tmp_path):
    gz = tmp_path / "tiny.csv.gz"
    gz.write_bytes(gzip.compress(csv_path.read_bytes()))
    plain = ok("encode", model_dir, csv_path)
    assert plain.startswith("z0,z1\n")
    assert ok("encode", model_dir, gz) == plain
    assert ok("encode", model_dir, "-", input=gz.read_bytes()) == plain


def test_parquet_on_stdin_is_read_as_parquet(model_dir, frame, tmp_path):
    # It was refused as "the file is binary, not CSV text (<stdin>)": Parquet only by its path.
    path = tmp_path / "tiny.parquet"
    frame.to_parquet(path)
    data = path.read_bytes()
    by_path = ok("encode", model_dir, path, "--keep", "id")
    assert ok("encode", model_dir, "-", "--keep", "id", input=data) == by_path
    report = json.loads(ok("inspect", model_dir, "--data", "-", "--json", input=data))
    assert report["data"]["rows"] == len(frame)
    args = ["--exclude", "id,label", "--epochs", "2", "--hidden", "4", "--seed", "0", "-q"]
    ok("train", "-", "-o", tmp_path / "m", *args, input=data)
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["input_columns"] == FEATURES and meta["data"]["rows"] == len(frame)


def test_config_file_and_flag_override(csv_path, tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(
        yaml.safe_dump({"latent_dim": 3, "hidden": [4], "epochs": 2, "exclude": ["id", "label"]})
    )
    out = tmp_path / "m"
    result = run(
        "train", csv_path, "-o", out, "--config", config, "--latent-dim", "2", "--seed", "1", "-q"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["config"]["latent_dim"] == 2  # the flag wins
    assert meta["config"]["hidden"] == [4]  # the file's value
    assert meta["network"]["hidden"] == [4]
    assert meta["input_columns"] == FEATURES


def test_train_prints_nothing_on_stdout_and_json_with_json(csv_path, tmp_path):
    args = ["--exclude", "id,label", "--epochs", "2", "--hidden", "4", "--seed", "0", "-q"]
    plain = run("train", csv_path, "-o", tmp_path / "a", *args)
    assert plain.exit_code == 0, plain.stderr
    assert plain.stdout == "" and plain.stderr == ""
    result = run("train", csv_path, "-o", tmp_path / "b", *args, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    summary = json.loads(result.stdout)
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    assert summary["output"] == str(tmp_path / "b")
    assert (summary["rows"], summary["columns"], summary["latent_dim"]) == (240, 6, 2)
    assert summary["model"] == meta["metrics"]["model"] in ("autoencoder", "pca")
    assert summary["ended_by"] == meta["training"]["ended_by"] == "epochs"
    assert summary["metrics"] == meta["metrics"]
    assert summary["data"] == meta["data"] and summary["data"]["rows"] == 240
    assert summary["seconds"] > 0


def _pca_kept(frame: pd.DataFrame) -> np.ndarray:
    """Cumulative explained variance of PCA on the MinMax-scaled feature columns."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler

    scaled = MinMaxScaler().fit_transform(frame[FEATURES])
    return np.cumsum(PCA().fit(scaled).explained_variance_ratio_)


def test_train_latent_dim_as_a_fraction(csv_path, frame, tmp_path):
    out = tmp_path / "m"
    result = run(
        "train", csv_path, "-o", out, "--exclude", "id,label", "--latent-dim", "0.9",
        "--epochs", "1", "--hidden", "4", "--seed", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    meta = json.loads((out / "metadata.json").read_text())
    k = meta["latent_dim"]
    kept = _pca_kept(frame)
    assert kept[k - 1] >= 0.9 and (k == 1 or kept[k - 2] < 0.9)  # the fewest that keep 90%
    assert meta["network"]["latent_dim"] == k and meta["latent_dim_requested"] == 0.9
    assert meta["config"]["latent_dim"] == 0.9
    assert f"-> {k} latent (chosen for --latent-dim 0.9: PCA keeps" in result.stderr
    encoded = run("encode", out, csv_path)
    assert encoded.exit_code == 0, encoded.stderr
    assert list(read_csv_text(encoded.stdout).columns) == [f"z{j}" for j in range(k)]
    inspected = run("inspect", out, "--json")
    assert inspected.exit_code == 0, inspected.stderr
    report = json.loads(inspected.stdout)
    assert report["latent_dim"] == k and report["config"]["latent_dim"] == 0.9
    text = run("inspect", out)
    assert text.exit_code == 0, text.stderr
    assert "latent_dim=0.9" in text.stdout and f"-> {k} -> mirrored" in text.stdout


def test_streamed_train_with_a_fraction_from_yaml(csv_path, tmp_path):
    config = tmp_path / "cfg.yaml"
    config.write_text(
        yaml.safe_dump({"latent_dim": 0.9, "hidden": [4], "epochs": 1, "exclude": ["id", "label"]})
    )
    out = tmp_path / "m"
    result = run("train", csv_path, "-o", out, "--config", config, "--stream", "--seed", "0")
    assert result.exit_code == 0, result.stderr
    meta = json.loads((out / "metadata.json").read_text())
    k = meta["latent_dim"]
    assert meta["data"]["streamed"] is True and meta["latent_dim_requested"] == 0.9
    assert 1 <= k <= len(FEATURES) and meta["network"]["latent_dim"] == k
    # The IncrementalPCA start of the training rows keeps at least the share asked for.
    assert meta["metrics"]["pca_explained_variance"] >= 0.9
    assert f"-> {k} latent (chosen for --latent-dim 0.9" in result.stderr
    encoded = run("encode", out, csv_path)
    assert encoded.exit_code == 0, encoded.stderr
    assert list(read_csv_text(encoded.stdout).columns) == [f"z{j}" for j in range(k)]


def test_train_full_width_latent_dim(csv_path, tmp_path):
    out = tmp_path / "m"
    result = run(
        "train", csv_path, "-o", out, "--exclude", "id,label", "--latent-dim", "6",
        "--epochs", "1", "--hidden", "4", "--seed", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "-> 6 latent" in result.stderr and "PCA reconstructs these rows exactly" in result.stderr
    encoded = run("encode", out, csv_path, "--with-error")
    assert encoded.exit_code == 0, encoded.stderr
    out_frame = read_csv_text(encoded.stdout)
    assert list(out_frame.columns) == [f"z{j}" for j in range(6)] + ["reconstruction_error"]
    assert out_frame["reconstruction_error"].max() < 1e-6
    inspected = run("inspect", out)
    assert inspected.exit_code == 0, inspected.stderr


def test_train_summary_on_stderr_only(csv_path, tmp_path):
    result = run(
        "train",
        csv_path,
        "-o",
        tmp_path / "m",
        "--exclude",
        "id,label",
        "--epochs",
        "1",
        "--hidden",
        "4",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "PCA" in result.stderr and "saved" in result.stderr


def test_inspect_text_and_json(model_dir, csv_path):
    text = run("inspect", model_dir)
    assert text.exit_code == 0, text.stderr
    for word in ("f0", "parameters", "val_loss", "PCA"):
        assert word in text.stdout
    result = run("inspect", model_dir, "--data", csv_path, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [c["name"] for c in report["input_columns"]] == FEATURES
    assert report["data"]["rows"] == 240
    assert report["data"]["reconstruction_mse"] > 0
    assert report["architecture"]["parameters"] > 0
    assert set(report["attribution"]) == {"z0", "z1"}


def test_model_directory_contents(model_dir):
    names = sorted(p.name for p in Path(model_dir).iterdir())
    assert names == ["decoder.keras", "encoder.keras", "metadata.json", "sample.npz", "weights.npz"]
    meta = json.loads((Path(model_dir) / "metadata.json").read_text())
    for key in (
        "format_version",
        "versions",
        "input_columns",
        "latent_dim",
        "scaling",
        "config",
        "training",
        "metrics",
        "files",
    ):
        assert key in meta
    assert {"aefeat", "keras", "tensorflow"} <= set(meta["versions"])
    assert not list(Path(model_dir).parent.glob(".*tmp*"))


@pytest.mark.parametrize(
    "args", [["--help"], ["train", "--help"], ["encode", "--help"], ["inspect", "--help"]]
)
def test_help(args):
    result = run(*args)
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_installed_entry_point_in_subprocess(model_dir, csv_path):
    exe = Path(sys.executable).with_name("aefeat")
    assert exe.exists(), "the aefeat console script is not installed next to this Python"
    proc = subprocess.run(
        [str(exe), "encode", str(model_dir), "-", "--keep", "id"],
        input=csv_path.read_bytes(),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(io.BytesIO(proc.stdout))
    assert list(out.columns) == ["id", "z0", "z1"] and len(out) == 240
    bad = subprocess.run(
        [str(exe), "encode", str(model_dir), "no-such.csv"], capture_output=True, timeout=120
    )
    assert bad.returncode == 2
    assert bad.stderr.decode().strip().startswith("aefeat: error: file not found")
    assert b"Traceback" not in bad.stderr


# --- found by a user's audit (fourteenth session) -------------------------------------------------


def test_version_needs_no_command():
    from aefeat import __version__

    assert ok("--version") == f"{__version__}\n"


def test_empty_column_lists_and_top_are_refused(model_dir, csv_path, tmp_path):
    from conftest import assert_user_error

    for flag in ("--columns", "--exclude"):
        for value in ("", ",", " , "):
            result = run("train", csv_path, "-o", tmp_path / "m", flag, value, "--epochs", "1")
            assert_user_error(result, "no column named", flag)
    assert not (tmp_path / "m").exists()
    assert_user_error(run("encode", model_dir, csv_path, "--keep", ""), "no column named (--keep)")
    assert_user_error(run("encode", model_dir, csv_path, "--keep", "id,id"), "more than once")
    for top in ("0", "-3"):
        assert_user_error(run("inspect", model_dir, "--top", top), "--top")
    assert ok("inspect", model_dir, "--top", "1")


def test_values_too_far_outside_the_training_range_are_refused(model_dir, frame, tmp_path):
    from conftest import assert_user_error

    data = tmp_path / "huge.csv"
    rows = frame[FEATURES].head(3).copy()
    rows.iloc[2, 1] = 1e300
    rows.to_csv(data, index=False)
    for extra in ([], ["--with-error"]):
        result = run("encode", model_dir, data, *extra)
        assert_user_error(result, "too far outside the training range", "'f1'", "line 4")
    rows.iloc[2, 1] = 1e6  # far outside, but the result is a number: encoded, with a note
    rows.to_csv(data, index=False)
    out = ok("encode", model_dir, data, "--with-error")
    assert np.isfinite(pd.read_csv(io.StringIO(out)).to_numpy()).all()


def test_a_diverged_run_says_so(tmp_path):
    data = tmp_path / "d.csv"
    digits = Path(__file__).parents[1] / "sample_data" / "digits.csv"
    pd.read_csv(digits).head(600).to_csv(data, index=False)
    result = run(
        "train", data, "-o", tmp_path / "m", "--exclude", "label", "--learning-rate", "9.99",
        "--epochs", "30", "--seed", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ended_by"] == "diverged"
    assert "training diverged" in result.stderr
    report = ok("inspect", tmp_path / "m")
    assert "training diverged" in report
    assert "best nan" not in report


def test_several_files_in_memory_name_data_and_are_not_called_streamed(frame, tmp_path):
    from conftest import assert_user_error

    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        frame.iloc[i * 80 : (i + 1) * 80].to_csv(parts / f"p{i}.csv", index=False)
    bad = frame.iloc[160:].copy()
    bad.iloc[5, 1] = np.nan
    bad.to_csv(parts / "p2.csv", index=False)
    result = run("train", parts, "-o", tmp_path / "m", "--exclude", "id,label", "--no-stream")
    assert_user_error(result, f"({parts} (3 files))")
    assert "p0.csv" not in result.stderr
    frame.iloc[160:].to_csv(parts / "p2.csv", index=False)
    out = ok(
        "train", parts, "-o", tmp_path / "m", "--exclude", "id,label", "--max-rows", "200",
        "--epochs", "1", "--hidden", "4", "--json", "-q",
    )  # fmt: skip
    assert json.loads(out)["data"]["streamed"] is False


def test_a_network_that_cannot_be_pca_says_so(csv_path, tmp_path):
    result = run(
        "train", csv_path, "-o", tmp_path / "m", "--exclude", "id,label", "--epochs", "2",
        "--hidden", "8", "--output-activation", "tanh", "--seed", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "autoencoder"
    assert "no weights make this network PCA" in result.stderr
    report = ok("inspect", tmp_path / "m")
    assert "PCA plus a random nonlinear path" not in report
    assert "so not PCA itself" in report
