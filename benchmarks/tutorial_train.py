"""The IoT tutorial's recipe as a command, for end-to-end timings against ``aefeat train``:
read a CSV with pandas, MinMax-scale it, fit the tutorial's autoencoder (see
``_common.tutorial_recipe``), save it; then print the seconds from process start to the saved
model and, if given, the held-out MSE on another CSV (after the timing).

    python benchmarks/tutorial_train.py TRAIN.csv MODEL.keras --latent 16 [--test TEST.csv]
"""

from __future__ import annotations

import time

STARTED = time.time()  # before any import: the timing starts with the process, as aefeat's does

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("train")
    ap.add_argument("model")
    ap.add_argument("--latent", type=int, required=True)
    ap.add_argument("--test", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import pandas as pd
    from _common import minmax, scaled_mse, tutorial_recipe

    X = pd.read_csv(args.train).to_numpy(float)
    scale = minmax(X)
    recon, _, _, model = tutorial_recipe(scale(X), args.latent, seed=args.seed, return_model=True)
    model.save(args.model)
    seconds = time.time() - STARTED
    out = {"seconds": seconds}
    if args.test:
        S_test = scale(pd.read_csv(args.test).to_numpy(float))
        out["mse"] = scaled_mse(S_test, recon(S_test))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
