"""Training cost against rows with the defaults (issue 11): a budget, not rows x epochs.

Writes nonlinear CSVs (``tanh`` of 8 hidden factors through one fixed random projection, plus
noise, 100 columns, float32 text) of 200,000, 1,000,000 and 2,000,000 rows and a held-out CSV of
20,000 more rows from the same distribution, then times ``aefeat train FILE -o MODEL -k 16``
(defaults, a subprocess: reading, training and saving) on each, and prints wall time, peak RSS,
how training ended and the held-out MSE (MinMax units of the training file). As for users, a
file of clearly more than 1,000,000 rows is read as a sample of its blocks. Targets: 1M rows within 5 minutes, 2M rows within 1.3x
the 1M time, at a held-out MSE no worse than 200k rows'.

Then the in-memory peak RSS of 100,000 x 50 against 1,000,000 x 50 rows (``--no-stream
--epochs 1``; target: at most 1.5x).

    python benchmarks/train_scale.py [--rows 200000,1000000,2000000] [--workdir DIR] [--no-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from encode_speed import run  # noqa: E402

D = 100


def _projection(d: int):
    rng = np.random.default_rng(5)
    W = rng.normal(size=(8, d)) * (1.5 / np.sqrt(8))
    return W, rng.uniform(0.1, 100, size=d), rng.uniform(-50, 50, size=d)


def write_rows(path: Path, rows: int, seed: int, d: int = D) -> None:
    import pyarrow as pa
    import pyarrow.csv as pc

    W, scale, offset = _projection(d)
    schema = pa.schema([(f"c{i}", pa.float32()) for i in range(d)])
    rng = np.random.default_rng(seed)
    with pc.CSVWriter(path, schema) as writer:
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            X = np.tanh(rng.normal(size=(n, 8)) @ W) + 0.05 * rng.normal(size=(n, d))
            X = (X * scale + offset).astype(np.float32)
            writer.write_batch(
                pa.RecordBatch.from_arrays([pa.array(X[:, j]) for j in range(d)], schema=schema)
            )


def held_out_mse(model: Path, test: Path, train_min, train_max) -> float:
    import pandas as pd

    from aefeat import AutoencoderTransformer

    est = AutoencoderTransformer.load(model)
    frame = pd.read_csv(test)
    X = frame.to_numpy(np.float64)
    span = np.where(train_max > train_min, train_max - train_min, 1.0)
    rec = est.inverse_transform(est.transform(frame))  # by name, as the model was fitted
    return float(np.mean(((rec - X) / span) ** 2))


def _how(data: dict) -> str:
    if data.get("sampled") == "blocks":
        return f"in memory, a sample of {data['rows']:,} rows from {data['blocks'][0]} blocks"
    return "streamed" if data["streamed"] else "in memory"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="200000,1000000,2000000")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--no-memory", action="store_true")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aefeat-train-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).with_name("aefeat"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")

    test = work / "held_out.csv"
    if not test.exists():
        write_rows(test, 20_000, seed=999)
    results = {}
    for rows in (int(r) for r in args.rows.split(",")):
        path = work / f"train_{rows}.csv"
        if not path.exists():
            print(f"writing {path} ({rows:,} rows)", flush=True)
            write_rows(path, rows, seed=rows)
        model = work / f"model_{rows}"
        seconds, rss = run(
            [exe, "train", str(path), "-o", str(model), "-k", "16", "--seed", "0", "-q"], env=env
        )
        meta = json.loads((model / "metadata.json").read_text())
        tr = meta["training"]
        mse = held_out_mse(
            model, test, np.array(meta["scaling"]["min"]), np.array(meta["scaling"]["max"])
        )
        results[rows] = (seconds, mse)
        print(
            f"{rows:>9,} rows ({path.stat().st_size / 2**30:.2f} GiB, "
            f"{_how(meta['data'])}): {seconds:6.1f} s, "
            f"peak RSS {rss:6.0f} MiB, {tr['steps_run']} steps of {tr['batch_size']}, ended by "
            f"{tr['ended_by']}, held-out MSE {mse:.4g} ({meta['metrics']['model']})",
            flush=True,
        )
    if 1_000_000 in results and 2_000_000 in results:
        print(
            f"\n2M / 1M rows time: {results[2_000_000][0] / results[1_000_000][0]:.2f} "
            "(target <= 1.3)"
        )
    if 200_000 in results:
        for rows, (_, mse) in results.items():
            print(f"held-out MSE {rows:,} / 200,000 rows: {mse / results[200_000][1]:.3f} (<= 1)")

    if not args.no_memory:
        peaks = {}
        for rows in (100_000, 1_000_000):
            path = work / f"mem_{rows}.csv"
            if not path.exists():
                write_rows(path, rows, seed=rows + 1, d=50)
            seconds, rss = run(
                [
                    exe,
                    "train",
                    str(path),
                    "-o",
                    str(work / "m"),
                    "-k",
                    "8",
                    "--epochs",
                    "1",
                    "--no-stream",
                    "--seed",
                    "0",
                    "-q",
                ],
                env=env,
            )
            peaks[rows] = rss
            print(
                f"in memory {rows:>9,} x 50: peak RSS {rss:6.0f} MiB, {seconds:5.1f} s", flush=True
            )
        print(
            f"\npeak RSS 1M / 100k rows x 50: {peaks[1_000_000] / peaks[100_000]:.2f} "
            "(target <= 1.5)"
        )


if __name__ == "__main__":
    main()
