"""Training speed against the IoT tutorial's recipe (issue 4).

Generates 20,000 x 100 traffic-style rows (the sample-data generator, first 100 columns), holds
out 20% of rows that neither model sees, trains aefeat's defaults and the tutorial recipe
(plain Keras: Dense 64/32 LeakyReLU, 16 tanh, sigmoid output, Adam, 50 epochs of batch 32,
validation_split=0.25) at 16 latent dimensions, alternating the two runs, and prints wall times,
held-out MSEs (MinMax-scaled units) and their ratios; also the time and MSE of aefeat's starting
point alone (epochs=0: the PCA start). Ratios come from one run (shared machines).

    python benchmarks/train_speed.py [--rows 20000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sample_data"))

import numpy as np  # noqa: E402
from _common import holdout, minmax, scaled_mse, timed, tutorial_recipe  # noqa: E402
from make_sample_data import traffic  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--columns", type=int, default=100)
    ap.add_argument("--latent", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()

    X = traffic(n_rows=args.rows, seed=11).drop(columns="device").to_numpy(float)[:, : args.columns]
    X_train, X_test, _, _ = holdout(X, None)
    scale = minmax(X_train)
    S_train, S_test = scale(X_train), scale(X_test)

    import keras  # noqa: F401 - imported before timing: both timings exclude TensorFlow's start-up
    import tensorflow  # noqa: F401

    from aefeat import AutoencoderTransformer

    def held_out(est) -> float:
        return scaled_mse(S_test, scale(est.inverse_transform(est.transform(X_test))))

    rows = []
    for rep in range(args.repeats):
        est, t_ae = timed(
            lambda rep=rep: AutoencoderTransformer(latent_dim=args.latent, random_state=rep).fit(
                X_train
            )
        )
        # The same defaults stopped at their starting point (epoch 0: the PCA start).
        start, t_start = timed(
            lambda rep=rep: AutoencoderTransformer(
                latent_dim=args.latent, random_state=rep, epochs=0
            ).fit(X_train)
        )
        recon, _, t_tut = tutorial_recipe(S_train, args.latent, seed=rep)
        mse_tut = scaled_mse(S_test, recon(S_test))
        rows.append((t_ae, held_out(est), t_tut, mse_tut, t_start, held_out(start)))
        print(
            f"run {rep}: aefeat {t_ae:.1f} s, held-out MSE {rows[-1][1]:.4g} (best epoch "
            f"{est.best_epoch_} of {est.n_epochs_}) | its PCA start {t_start:.1f} s, MSE "
            f"{rows[-1][5]:.4g} | tutorial {t_tut:.1f} s, held-out MSE {mse_tut:.4g}",
            flush=True,
        )
    t_ae, mse_ae, t_tut, mse_tut, t_start, mse_start = (
        float(np.median([r[i] for r in rows])) for i in range(6)
    )
    print(
        f"\ndata: {args.rows:,} x {args.columns} (held out {len(X_test):,} rows), latent {args.latent}"
    )
    print(
        f"full training  aefeat / tutorial: time {t_ae / t_tut:.3f} (target <= 0.2), held-out MSE {mse_ae / mse_tut:.3f} (target <= 1)"
    )
    print(
        f"PCA start only aefeat / tutorial: time {t_start / t_tut:.3f}, held-out MSE {mse_start / mse_tut:.3f}"
    )
    print(
        f"medians: aefeat {t_ae:.1f} s / {mse_ae:.4g}, start {t_start:.1f} s / {mse_start:.4g}, tutorial {t_tut:.1f} s / {mse_tut:.4g}"
    )


if __name__ == "__main__":
    main()
