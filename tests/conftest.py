"""Shared fixtures: tiny CSVs and a model trained once per session (real TensorFlow, few epochs)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from aefeat.cli.app import app  # noqa: E402

FEATURES = ["f0", "f1", "f2", "f3", "f4", "f5"]


def make_frame(n_rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """Six features on a curved 2-D manifold plus noise, an id and a label column."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-2, 2, n_rows)
    s = rng.normal(size=n_rows)
    X = np.column_stack(
        [t, t**2, np.sin(t) + 0.3 * s, s, np.exp(0.5 * t), 10 * t + 100]
    ) + 0.05 * rng.normal(size=(n_rows, 6))
    frame = pd.DataFrame(X, columns=FEATURES)
    frame.insert(0, "id", [f"row{i}" for i in range(n_rows)])
    frame["label"] = np.where(t > 0, "pos", "neg")
    return frame


def run(*args: str, input: bytes | str | None = None):
    """Invoke the CLI in-process; returns the click Result (stdout and stderr separate)."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def ok(*args: str, input: bytes | str | None = None) -> str:
    """Invoke the CLI, assert that it succeeded, and return its stdout."""
    result = run(*args, input=input)
    assert result.exit_code == 0, (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="session")
def csv_path(tmp_path_factory, frame) -> Path:
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, csv_path) -> Path:
    out = tmp_path_factory.mktemp("models") / "tiny_model"
    result = run(
        "train", csv_path, "-o", out, "--exclude", "id,label", "--epochs", "4",
        "--hidden", "16,8", "--seed", "0", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out
