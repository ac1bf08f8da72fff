"""Latent-feature quality and training time against PCA and the IoT tutorial's recipe (issues 4
and 11).

For each dataset (the bundled samples, tables scikit-learn ships, and synthetic data generated
here), 20% of rows are held out from everything (training, early stopping, scaling). On those
rows it prints, in MinMax-scaled units fitted on the training rows:

- held-out reconstruction MSE of aefeat (defaults), PCA with the same number of components, and
  the tutorial recipe, and the ratios aefeat/PCA and aefeat/tutorial;
- which model the defaults saved ("ae" the trained network, "PCA" when it was not reliably
  better than PCA on the validation rows) and the training time of aefeat and the tutorial
  (in-process ``fit`` calls, TensorFlow already imported);
- 5-NN accuracy of the dataset's label predicted from the latent features (fit on training rows);
- trustworthiness (scikit-learn, 5 neighbours) of the held-out latent features;
- the stall check (``--stall``): for batch sizes 32, 64, 256 and 1024, the trained network's
  validation MSE over PCA's (before the choice between them): below 1 means training left the
  PCA start.
- with ``--seeds 0,1,2``, aefeat's held-out ratio to PCA for each ``random_state`` (same split),
  and at the end the median over datasets of each dataset's median over the seeds, and the worst
  ratio of any run: on tables of a few hundred rows one seed's choice between network and PCA
  moves the single-seed median by several percent. The other columns are the first seed's.

    python benchmarks/quality.py [--only digits,wine] [--no-tutorial] [--stall] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import datasets, holdout, minmax, scaled_mse, tutorial_recipe  # noqa: E402

STALL_BATCHES = (32, 64, 256, 1024)


def knn_accuracy(Z_train, y_train, Z_test, y_test) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    if len(Z_train) < 10:
        return float("nan")
    return float(KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test))


def trust(S_test, Z_test) -> float:
    from sklearn.manifold import trustworthiness

    if len(S_test) < 12:  # too few rows for 5 neighbours
        return float("nan")
    rows = np.random.default_rng(0).permutation(len(S_test))[:2000]  # full distance matrix
    return float(trustworthiness(S_test[rows], Z_test[rows], n_neighbors=5))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated substrings of dataset names")
    ap.add_argument("--no-tutorial", action="store_true")
    ap.add_argument("--stall", action="store_true", help="add the batch-size stall check")
    ap.add_argument("--seeds", default="0", help="comma-separated random_state values for aefeat")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    import keras  # noqa: F401 - TensorFlow start-up outside the timings
    from sklearn.decomposition import PCA

    from aefeat import AutoencoderTransformer

    header = (
        f"{'dataset':<20} {'k':>2} {'rows':>6} | {'aefeat':>9} {'kept':>4} {'PCA':>9} {'ae/PCA':>6} "
        f"{'tutorial':>9} {'ae/tut':>6} | train s ae/tut | 5-NN acc ae/PCA/tut | trust ae/PCA/tut"
    )
    if args.stall:
        header += " | stall: net/PCA val at batch " + "/".join(str(b) for b in STALL_BATCHES)
    if len(seeds) > 1:
        header += " | ae/PCA with seed " + "/".join(str(s) for s in seeds)
    print(header)
    print("-" * len(header))
    ratios, wins, faster = [], [], []
    by_seed: list[list[float]] = []  # per dataset, the ratio of each seed
    for name, (X, y, k) in datasets().items():
        if args.only and not any(s in name for s in args.only.split(",")):
            continue
        X_train, X_test, y_train, y_test = holdout(X, y)
        scale = minmax(X_train)
        S_train, S_test = scale(X_train), scale(X_test)

        pca = PCA(k).fit(S_train)
        mse_pca = scaled_mse(S_test, pca.inverse_transform(pca.transform(S_test)))
        zp_train, zp_test = pca.transform(S_train), pca.transform(S_test)

        started = time.perf_counter()
        est = AutoencoderTransformer(latent_dim=k, random_state=seeds[0]).fit(X_train)
        t_ae = time.perf_counter() - started
        mse_ae = scaled_mse(S_test, scale(est.inverse_transform(est.transform(X_test))))
        za_train, za_test = est.transform(X_train), est.transform(X_test)
        ratios.append(mse_ae / mse_pca)
        by_seed.append([mse_ae / mse_pca])
        for seed in seeds[1:]:
            e = AutoencoderTransformer(latent_dim=k, random_state=seed).fit(X_train)
            by_seed[-1].append(
                scaled_mse(S_test, scale(e.inverse_transform(e.transform(X_test)))) / mse_pca
            )

        acc = [
            knn_accuracy(za_train, y_train, za_test, y_test),
            knn_accuracy(zp_train, y_train, zp_test, y_test),
        ]
        tru = [trust(S_test, za_test), trust(S_test, zp_test)]
        mse_tut, t_tut = float("nan"), float("nan")
        if not args.no_tutorial:
            recon, enc, t_tut = tutorial_recipe(S_train, k, seed=0)
            mse_tut = scaled_mse(S_test, recon(S_test))
            zt_train, zt_test = enc(S_train), enc(S_test)
            acc.append(knn_accuracy(zt_train, y_train, zt_test, y_test))
            tru.append(trust(S_test, zt_test))
            wins.append(mse_ae < mse_tut)
            faster.append(t_ae < t_tut)
        line = (
            f"{name:<20} {k:>2} {len(X):>6} | {mse_ae:>9.3g} {'ae' if est.kept_ == 'autoencoder' else 'PCA':>4} "
            f"{mse_pca:>9.3g} {mse_ae / mse_pca:>6.3f} {mse_tut:>9.3g} {mse_ae / mse_tut:>6.3f} | "
            f"{t_ae:>5.1f}/{t_tut:<5.1f} | "
            + "/".join(f"{a:.2f}" for a in acc)
            + " | "
            + "/".join(f"{t:.3f}" for t in tru)
        )
        if args.stall:
            left = []
            for bs in STALL_BATCHES:
                e = AutoencoderTransformer(latent_dim=k, random_state=0, batch_size=bs).fit(X_train)
                left.append(e.autoencoder_val_mse_ / e.pca_val_mse_)
            line += " | " + "/".join(f"{r:.3f}" for r in left)
        if len(seeds) > 1:
            line += " | " + "/".join(f"{r:.3f}" for r in by_seed[-1])
        print(line, flush=True)
    print(
        f"\nworst aefeat/PCA held-out MSE ratio: {max(ratios):.3f} (target: never above 1); "
        f"median {np.median(ratios):.3f}"
    )
    if len(seeds) > 1:
        per_seed = np.array(by_seed)
        print(
            f"seeds {args.seeds}: median over datasets of each dataset's median "
            f"{np.median(np.median(per_seed, axis=1)):.3f}; median with each seed "
            + "/".join(f"{m:.3f}" for m in np.median(per_seed, axis=0))
            + f"; worst ratio of any run {per_seed.max():.3f}"
        )
    if wins:
        print(
            f"aefeat below the tutorial's held-out MSE on {sum(wins)} of {len(wins)} datasets, "
            f"faster on {sum(faster)} of {len(faster)}"
        )


if __name__ == "__main__":
    main()
