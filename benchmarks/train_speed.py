"""Training speed and quality against the IoT tutorial's recipe, end to end (issues 4 and 11).

Three datasets of 100 columns, each as a training CSV and a held-out CSV that neither model
sees: traffic-style rows (the sample-data generator, first 100 columns, 20,000 rows: 16,000 to
train), nonlinear rows (``tanh`` of 8 hidden factors, 26,000 rows: 20,000 to train) and
``nonlinear2``, a second nonlinear set made differently and never tuned on (a softplus network
of 12 factors, then ``sin`` or a floor; same sizes). For each
latent size it runs, as subprocesses and alternating, ``aefeat train TRAIN.csv -o MODEL -k K``
with the defaults, and the tutorial recipe as a command (``tutorial_train.py``: pandas read,
MinMax, Dense 64/32 LeakyReLU, tanh latent, sigmoid output, Adam, 50 epochs of batch 32,
validation_split=0.25, save). Times run from process start to the saved model (TensorFlow's
import included on both sides; before each timed command, the same program runs untimed on a
500-row slice, so that neither side pays for pages the host reclaimed meanwhile); MSE is on the
held-out rows in MinMax units fitted on the training rows. Ratios come from one run (shared
machines).

    python benchmarks/train_speed.py [--only nonlinear] [--latent 16,4] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "sample_data"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import holdout, minmax, nonlinear_factors, nonlinear_network, scaled_mse  # noqa: E402


def _data(name: str) -> np.ndarray:
    if name == "traffic":
        from make_sample_data import traffic

        return traffic(n_rows=20_000, seed=11).drop(columns="device").to_numpy(float)[:, :100]
    if name == "nonlinear2":
        return nonlinear_network()[0]
    return nonlinear_factors()[0]


def _run(cmd: list[str], warm: list[str]) -> tuple[float, str]:
    """Time ``cmd`` from process start to exit, after running ``warm`` (the same program on a
    500-row slice of the data) untimed.

    The warm-up puts the pages the program touches into the page cache first. These VMs reclaim
    pages left idle for about a minute, and whichever command ran second after a long one paid for
    reading its libraries from disk again: measured 2026-12-02, ``aefeat train`` after a tutorial
    run took 15.8 s with 98 major page faults when only ``import keras`` had been warmed (the
    training's own code pages stayed cold), 9.1 to 9.5 s with 17 to 19 after a warm-up run of
    itself; its fitting took 5.8 to 6.9 s in all of them.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run(warm, capture_output=True, env=env, check=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{proc.stderr}")
    return seconds, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="traffic,nonlinear,nonlinear2")
    ap.add_argument("--latent", default="16,4")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--no-tutorial", action="store_true")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--aefeat-args", default="", help="extra train options, for experiments")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aefeat-train-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).with_name("aefeat"))

    from aefeat import AutoencoderTransformer

    summary = []
    for name in args.only.split(","):
        X = _data(name)
        # traffic: 16,000 + 4,000 rows; nonlinear sets: 20,000 + 6,000 rows (the sizes)
        X_train, X_test, _, _ = holdout(X, None, 0.2 if name == "traffic" else 6000 / len(X))
        cols = [f"c{i}" for i in range(X.shape[1])]
        train_csv, test_csv = work / f"{name}_train.csv", work / f"{name}_test.csv"
        pd.DataFrame(X_train, columns=cols).to_csv(train_csv, index=False)
        pd.DataFrame(X_test, columns=cols).to_csv(test_csv, index=False)
        tiny_csv = work / f"{name}_warm.csv"
        pd.DataFrame(X_train[:500], columns=cols).to_csv(tiny_csv, index=False)
        scale = minmax(X_train)
        S_test = scale(X_test)
        for k in (int(v) for v in args.latent.split(",")):
            rows = []
            for rep in range(args.repeats):
                model = work / f"{name}_{k}_{rep}"
                opts = ["-k", str(k), "--seed", str(rep), *args.aefeat_args.split()]
                t_ae, _ = _run(
                    [exe, "train", str(train_csv), "-o", str(model), *opts],
                    [exe, "train", str(tiny_csv), "-o", str(work / "warm"), *opts, "--epochs", "1"],
                )
                est = AutoencoderTransformer.load(model)
                Z = est.transform(pd.DataFrame(X_test, columns=cols))  # fitted with names
                mse_ae = scaled_mse(S_test, scale(est.inverse_transform(Z)))
                t_tut = mse_tut = float("nan")
                if not args.no_tutorial:
                    tutorial = [sys.executable, str(HERE / "tutorial_train.py")]
                    tut_opts = ["--latent", str(k), "--seed", str(rep)]
                    _, out = _run(
                        [*tutorial, str(train_csv), str(work / "tutorial.keras"), *tut_opts]
                        + ["--test", str(test_csv)],
                        [*tutorial, str(tiny_csv), str(work / "warm.keras"), *tut_opts],
                    )
                    res = json.loads(out.strip().splitlines()[-1])
                    t_tut, mse_tut = res["seconds"], res["mse"]
                info = est.training_info_
                rows.append((t_ae, mse_ae, t_tut, mse_tut))
                print(
                    f"{name} k={k} run {rep}: aefeat {t_ae:.1f} s, held-out MSE {mse_ae:.4g} "
                    f"({est.kept_}, {info.get('steps_run')} steps of batch {info['batch_size']}, "
                    f"ended by {info.get('ended_by')}) | tutorial {t_tut:.1f} s, MSE {mse_tut:.4g}"
                    f" | time {t_ae / t_tut:.3f}, MSE {mse_ae / mse_tut:.3f}",
                    flush=True,
                )
            med = [float(np.median([r[i] for r in rows])) for i in range(4)]
            summary.append((name, k, *med))
    print(
        f"\n{'data':<10} {'k':>3} | {'aefeat s':>8} {'MSE':>9} | {'tutorial s':>10} {'MSE':>9} |"
        " time ratio (<= 0.2) | MSE ratio (<= 0.8)"
    )
    for name, k, t_ae, mse_ae, t_tut, mse_tut in summary:
        print(
            f"{name:<10} {k:>3} | {t_ae:>8.1f} {mse_ae:>9.3g} | {t_tut:>10.1f} {mse_tut:>9.3g} |"
            f" {t_ae / t_tut:>19.3f} | {mse_ae / mse_tut:>18.3f}"
        )


if __name__ == "__main__":
    main()
