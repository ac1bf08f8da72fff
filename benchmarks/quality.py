"""Latent-feature quality against PCA and the IoT tutorial's recipe (issue 4).

For each dataset (the bundled samples plus synthetic nonlinear data generated here), 20% of rows
are held out from everything (training, early stopping, scaling). On those rows it prints, in
MinMax-scaled units fitted on the training rows:

- held-out reconstruction MSE of aefeat (defaults), PCA with the same number of components, and
  the tutorial recipe, and the ratios aefeat/PCA and tutorial/PCA;
- 5-NN accuracy of the dataset's label predicted from the latent features (fit on training rows);
- trustworthiness (scikit-learn, 5 neighbours) of the held-out latent features.

    python benchmarks/quality.py [--only digits,wine] [--no-tutorial]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import datasets, holdout, minmax, scaled_mse, tutorial_recipe  # noqa: E402


def knn_accuracy(Z_train, y_train, Z_test, y_test) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    return float(KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test))


def trust(S_test, Z_test) -> float:
    from sklearn.manifold import trustworthiness

    rows = np.random.default_rng(0).permutation(len(S_test))[:2000]  # full distance matrix
    return float(trustworthiness(S_test[rows], Z_test[rows], n_neighbors=5))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated substrings of dataset names")
    ap.add_argument("--no-tutorial", action="store_true")
    args = ap.parse_args()

    import keras  # noqa: F401 - TensorFlow start-up outside the timings
    from sklearn.decomposition import PCA

    from aefeat import AutoencoderTransformer

    header = (
        f"{'dataset':<20} {'k':>2} {'rows':>6} | {'aefeat':>9} {'PCA':>9} {'ae/PCA':>6} {'tutorial':>9} "
        f"{'tut/PCA':>7} | 5-NN acc ae/PCA/tut | trust ae/PCA/tut | train s ae/tut"
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
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
        est = AutoencoderTransformer(latent_dim=k, random_state=0).fit(X_train)
        t_ae = time.perf_counter() - started
        mse_ae = scaled_mse(S_test, scale(est.inverse_transform(est.transform(X_test))))
        za_train, za_test = est.transform(X_train), est.transform(X_test)
        worst = max(worst, mse_ae / mse_pca)

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
        print(
            f"{name:<20} {k:>2} {len(X):>6} | {mse_ae:>9.3g} {mse_pca:>9.3g} {mse_ae / mse_pca:>6.3f} "
            f"{mse_tut:>9.3g} {mse_tut / mse_pca:>7.2f} | "
            + "/".join(f"{a:.2f}" for a in acc)
            + " | "
            + "/".join(f"{t:.3f}" for t in tru)
            + f" | {t_ae:.0f}/{t_tut:.0f}",
            flush=True,
        )
    print(f"\nworst aefeat/PCA held-out MSE ratio: {worst:.3f} (target: never above 1)")


if __name__ == "__main__":
    main()
