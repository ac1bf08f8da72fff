"""Shared fixtures: tiny CSVs and a model trained once per session (real TensorFlow, few epochs)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aefeat.cli.app import app

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


def assert_user_error(result, *words: str) -> None:
    """Exit code 2, exactly one line on stderr in the documented form, no traceback."""
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, err, result.exception)
    assert "Traceback" not in err
    assert err.startswith("aefeat: error: "), err
    assert err.endswith("\n") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)


def snapshot(path: Path):
    """Bytes of a file, {name: bytes} of a directory, or None when the path does not exist."""
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    return path.read_bytes() if path.exists() else None


def stray_files(directory: Path) -> list[str]:
    """Temporary files or directories left beside an output (they all start with a dot)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


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


@contextlib.contextmanager
def pipe_path(data: bytes) -> Iterator[str]:
    """A path that reads as ``<(cat FILE)`` does in a shell: a pipe, fed by a thread. The
    writer may find the pipe closed by a reader that refused it before reading."""
    r, w = os.pipe()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), os.fdopen(w, "wb") as fh:
            fh.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield f"/dev/fd/{r}"
    finally:
        os.close(r)
        writer.join(5)
