"""Write the bundled sample CSVs from data scikit-learn ships and from a seeded generator.

    python sample_data/make_sample_data.py      # rewrites iris.csv, digits.csv, traffic.csv

Nothing is downloaded. The files are committed; this script documents (and reproduces) them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits, load_iris

HERE = Path(__file__).resolve().parent


def iris() -> pd.DataFrame:
    data = load_iris()
    frame = pd.DataFrame(
        data.data, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"]
    )
    frame["species"] = [data.target_names[t] for t in data.target]
    return frame


def digits() -> pd.DataFrame:
    data = load_digits()
    frame = pd.DataFrame(data.data.astype(int), columns=[f"px{i}" for i in range(64)])
    frame["label"] = data.target
    return frame


def traffic(n_rows: int = 3000, seed: int = 7, noise: float = 0.01) -> pd.DataFrame:
    """Traffic statistics in the style of the N-BaIoT data: 115 skewed, correlated columns.

    Six hidden device states (packet rate, packet size, burstiness, jitter, peer diversity and
    channel mix) drive statistics over five time windows (weight, mean, std of packet sizes and
    inter-arrival times, per host, per channel and per socket) through nonlinear, heavy-tailed
    transforms, plus a little multiplicative noise (windowed statistics are nearly deterministic
    functions of the packet stream).
    """
    rng = np.random.default_rng(seed)
    state = rng.normal(size=(n_rows, 6))
    device = rng.integers(0, 3, size=n_rows)
    state[:, 0] += np.array([-1.0, 0.5, 1.5])[device]
    rate = np.exp(1.2 * state[:, 0])
    size = 300 + 250 * np.tanh(state[:, 1]) + 40 * state[:, 2] ** 2
    burst = np.log1p(np.exp(state[:, 2]))
    jitter = np.exp(0.6 * state[:, 3] - 0.3 * state[:, 0])
    peers = 1 + 4 * _sigmoid(2 * state[:, 4])
    mix = np.tanh(state[:, 5] + 0.5 * state[:, 1] * state[:, 4])
    columns: dict[str, np.ndarray] = {}
    windows = {"L5": 0.2, "L3": 0.4, "L1": 0.6, "L0.1": 0.8, "L0.01": 1.0}
    for g, group in enumerate(("MI_dir", "H", "HH", "HH_jit", "HpHp")):
        share = peers ** (-g / 4) * (1 + 0.5 * mix * (g % 2))
        for win, w in windows.items():
            eps = rng.normal(scale=noise, size=(n_rows, 3))
            weight = rate * share * (1 + w * burst) * np.exp(eps[:, 0])
            mean = size * (1 + 0.3 * w * mix) * np.exp(eps[:, 1])
            std = (30 + 20 * burst * w) * jitter * (1 + 0.2 * peers * w) * np.exp(eps[:, 2])
            if group == "HH_jit":
                mean, std = jitter * (1 + w) * peers, jitter * burst * (0.5 + w)
            columns[f"{group}_{win}_weight"] = weight
            columns[f"{group}_{win}_mean"] = mean
            columns[f"{group}_{win}_std"] = std
            if group in ("HH", "HpHp"):
                columns[f"{group}_{win}_radius"] = std * np.sqrt(1 + burst * share)
                columns[f"{group}_{win}_magnitude"] = np.sqrt(mean**2 + (size * share) ** 2)
                columns[f"{group}_{win}_covariance"] = std**2 * np.tanh(state[:, 1] * w + mix)
                columns[f"{group}_{win}_pcc"] = np.tanh(state[:, 1] * state[:, 2] * w + mix)
    frame = pd.DataFrame(columns)
    assert frame.shape[1] == 115, frame.shape
    frame.insert(0, "device", [f"dev{d}" for d in device])
    return frame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def main() -> None:
    iris().to_csv(HERE / "iris.csv", index=False)
    digits().to_csv(HERE / "digits.csv", index=False)
    traffic().to_csv(HERE / "traffic.csv", index=False, float_format="%.6g")
    for name in ("iris.csv", "digits.csv", "traffic.csv"):
        print(name, (HERE / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
