"""Inspection plots (matplotlib, written atomically): latent scatter or pair grid, loss curves,
attribution heatmap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aefeat.data import atomic_output


def write_inspection_plot(
    target: Path,
    Z: np.ndarray,
    report: dict[str, Any],
    history: dict[str, list[float]],
    labels: list[str] | None = None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latent = list(report["attribution"])
    ranked = sorted(range(len(latent)), key=lambda k: -report["latent_importance"][latent[k]])
    shown = ranked[: min(4, len(latent))]
    pairs = [(a, b) for i, a in enumerate(shown) for b in shown[i + 1 :]] or [(0, 0)]
    n_cols = 3
    n_rows = 1 + (len(pairs) + n_cols - 1) // n_cols
    fig = plt.figure(figsize=(5 * n_cols, 4.2 * n_rows))
    colours, legend = _colours(labels, len(Z))
    for i, (a, b) in enumerate(pairs):
        ax = fig.add_subplot(n_rows, n_cols, n_cols + i + 1)
        ys = Z[:, b] if a != b else np.zeros(len(Z))
        extra = {"cmap": "tab10", "vmin": 0, "vmax": 9} if legend else {}
        ax.scatter(Z[:, a], ys, c=colours, s=6, alpha=0.7, **extra)
        ax.set_xlabel(latent[a])
        ax.set_ylabel(latent[b] if a != b else "")
        ax.set_title(f"{latent[a]} vs {latent[b]}" if a != b else latent[a])
        if legend and i == 0:
            from matplotlib.lines import Line2D

            cmap = plt.get_cmap("tab10")
            handles = [
                Line2D([], [], marker="o", ls="", color=cmap(j % 10), label=name)
                for name, j in legend.items()
            ]
            ax.legend(handles=handles, fontsize=7, loc="best")
    ax = fig.add_subplot(n_rows, n_cols, 1)
    for key in ("loss", "val_loss"):
        if history.get(key):
            ax.plot(range(len(history[key])), history[key], label=key)
    ax.set_xlabel("epoch (0 = PCA start)")
    ax.set_ylabel("MSE (scaled units)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("training")
    ax = fig.add_subplot(n_rows, n_cols, (2, 3))
    features = list(next(iter(report["attribution"].values())))
    M = np.array([[report["attribution"][z][f] for f in features] for z in latent])
    im = ax.imshow(M, aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(latent)), latent)
    step = max(1, len(features) // 40)
    ax.set_xticks(range(0, len(features), step), features[::step], rotation=90, fontsize=7)
    ax.set_title("attribution (share of mean |d latent / d scaled input|)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    with atomic_output(target) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def _colours(labels: list[str] | None, n: int) -> tuple[Any, dict[str, int]]:
    if labels is None:
        return "tab:blue", {}
    uniq = list(dict.fromkeys(labels))
    if len(uniq) > 20:
        try:
            return np.asarray(labels, dtype=np.float64), {}
        except ValueError:
            pass
    index = {name: i for i, name in enumerate(uniq)}
    return np.array([index[v] % 10 for v in labels]), index
