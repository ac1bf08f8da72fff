"""Encode speed, memory and start-up (issue 5).

Generates a CSV of ROWS x 100 float columns plus an ``id`` column, trains a 16-unit model on a
small sample (quality is irrelevant here), then times, alternating, several runs of:

  aefeat    ``aefeat encode MODEL data.csv --keep id -o out.csv``
  pandas    pandas + scikit-learn: read_csv, MinMaxScaler and PCA (pre-fitted, loaded), to_csv
  pyarrow   the I/O limit: pyarrow read_csv, then write id + 16 columns with pyarrow write_csv

and prints medians and the ratios (targets: pandas/aefeat >= 2.5, aefeat/pyarrow <= 1.5), peak
memory (max RSS) of ``aefeat encode`` at 200k and 1M rows (target: ratio <= 1.3), and start-up
times (``aefeat --help`` < 0.5 s, a 10-row encode < 1 s). Every command runs as a subprocess.

    python benchmarks/encode_speed.py [--rows 200000] [--big-rows 1000000] [--repeats 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

N_COLS = 100
LATENT = 16

PANDAS_SCRIPT = textwrap.dedent(
    """
    import sys, joblib, pandas as pd
    scaler, pca, cols = joblib.load(sys.argv[1])
    df = pd.read_csv(sys.argv[2])
    z = pca.transform(scaler.transform(df[cols].to_numpy()))
    out = pd.DataFrame(z, columns=[f"z{i}" for i in range(z.shape[1])])
    out.insert(0, "id", df["id"])
    out.to_csv(sys.argv[3], index=False)
    """
)

PYARROW_SCRIPT = textwrap.dedent(
    """
    import sys, pyarrow.csv as pc
    t = pc.read_csv(sys.argv[1])
    pc.write_csv(t.select(["id"] + [f"c{i}" for i in range(16)]), sys.argv[2])
    """
)


def write_data(path: Path, rows: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.csv as pc

    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(8, N_COLS))
    with pc.CSVWriter(path, _schema()) as writer:
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            X = np.exp(0.5 * rng.normal(size=(n, 8)) @ mix / 3).astype(np.float32)
            ids = pa.array([f"r{i}" for i in range(start, start + n)])
            writer.write_batch(
                pa.RecordBatch.from_arrays(
                    [ids] + [pa.array(X[:, j]) for j in range(N_COLS)], schema=_schema()
                )
            )


def _schema():
    import pyarrow as pa

    return pa.schema([("id", pa.string())] + [(f"c{i}", pa.float32()) for i in range(N_COLS)])


# Started from a small launcher: a child forked straight from this (large) process would count
# this process's resident memory, shared until exec, in its own peak RSS.
_LAUNCHER = (
    "import os, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(time.perf_counter() - t, usage.ru_maxrss, os.waitstatus_to_exitcode(status))\n"
)


def run(cmd: list[str], **kw) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one subprocess."""
    proc = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *cmd], capture_output=True, text=True, **kw
    )
    fields = proc.stdout.split()
    if proc.returncode != 0 or len(fields) != 3 or fields[2] != "0":
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{proc.stderr}")
    return float(fields[0]), int(fields[1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--big-rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="aefeat-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).with_name("aefeat"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    data, big = work / "data.csv", work / "big.csv"
    for path, rows in ((data, args.rows), (big, args.big_rows)):
        if not path.exists():
            print(f"writing {path} ({rows:,} rows)", flush=True)
            write_data(path, rows)
    print(f"data: {args.rows:,} x {N_COLS} + id, {data.stat().st_size / 1e6:.0f} MB", flush=True)

    model = work / "model"
    if not model.exists():
        sample = work / "sample.csv"
        import pyarrow.csv as pc

        pc.write_csv(pc.read_csv(data).slice(0, 5000), sample)
        subprocess.run(
            [
                exe,
                "train",
                str(sample),
                "-o",
                str(model),
                "--exclude",
                "id",
                "--latent-dim",
                str(LATENT),
                "--epochs",
                "2",
                "--seed",
                "0",
                "-q",
            ],
            check=True,
            env=env,
        )

    import joblib
    import pandas as pd
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler

    cols = [f"c{i}" for i in range(N_COLS)]
    frame = (
        pd.read_csv(work / "sample.csv")
        if (work / "sample.csv").exists()
        else pd.read_csv(data, nrows=5000)
    )
    scaler = MinMaxScaler().fit(frame[cols].to_numpy())
    pca = PCA(LATENT).fit(scaler.transform(frame[cols].to_numpy()))
    fitted = work / "pca.joblib"  # the benchmark's own file, made just above
    joblib.dump((scaler, pca, cols), fitted)
    pandas_py, arrow_py = work / "pandas_pca.py", work / "pyarrow_io.py"
    pandas_py.write_text(PANDAS_SCRIPT)
    arrow_py.write_text(PYARROW_SCRIPT)

    commands = {
        "aefeat": [
            exe,
            "encode",
            str(model),
            str(data),
            "--keep",
            "id",
            "-o",
            str(work / "out_ae.csv"),
            "-q",
        ],
        "pandas": [
            sys.executable,
            str(pandas_py),
            str(fitted),
            str(data),
            str(work / "out_pd.csv"),
        ],
        "pyarrow": [sys.executable, str(arrow_py), str(data), str(work / "out_pa.csv")],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for rep in range(args.repeats):
        for name, cmd in commands.items():
            seconds, _ = run(cmd, env=env)
            times[name].append(seconds)
        print(
            f"run {rep}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True
        )
    med = {k: statistics.median(v) for k, v in times.items()}

    mem = {}
    for label, path in (("small", data), ("big", big)):
        _, rss = run(
            [
                exe,
                "encode",
                str(model),
                str(path),
                "--keep",
                "id",
                "-o",
                str(work / "out_mem.csv"),
                "-q",
            ],
            env=env,
        )
        mem[label] = rss

    tiny = work / "tiny.csv"
    pc_rows = pd.read_csv(data, nrows=10)
    pc_rows.to_csv(tiny, index=False)
    help_s = statistics.median(run([exe, "--help"], env=env)[0] for _ in range(5))
    tiny_s = statistics.median(
        run([exe, "encode", str(model), str(tiny), "-o", str(work / "out_tiny.csv")], env=env)[0]
        for _ in range(5)
    )

    print()
    print(
        f"median of {args.repeats}: aefeat {med['aefeat']:.2f} s, pandas+sklearn {med['pandas']:.2f} s, pyarrow I/O {med['pyarrow']:.2f} s"
    )
    print(f"pandas / aefeat  = {med['pandas'] / med['aefeat']:.2f}  (target >= 2.5)")
    print(f"aefeat / pyarrow = {med['aefeat'] / med['pyarrow']:.2f}  (target <= 1.5)")
    print(
        f"peak RSS aefeat encode: {mem['small']:.0f} MiB at {args.rows:,} rows, {mem['big']:.0f} MiB at "
        f"{args.big_rows:,} rows, ratio {mem['big'] / mem['small']:.2f}  (target <= 1.3)"
    )
    print(f"aefeat --help {help_s:.2f} s (target < 0.5); 10-row encode {tiny_s:.2f} s (target < 1)")


if __name__ == "__main__":
    main()
