"""Inspection plots (matplotlib, written atomically): the latent scatter (a pair grid of the most
important latent columns when there are more than two), the loss curves and the attribution
heatmap, in one figure."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aefeat.errors import AefeatError
from aefeat.inspection import start_description
from aefeat.io import remote
from aefeat.io.sinks import atomic_file, check_file_target

PLOT_FORMATS = (".png", ".svg", ".pdf")
MAX_POINTS = 20_000  # points drawn in the latent scatter (a seeded sample beyond this)
MAX_PAIR_COLUMNS = 4  # latent columns in the pair grid when there are more than two
MAX_CATEGORIES = 20  # legend entries; rarer labels are drawn grey as "other"
MISSING_LABEL = "(missing)"
_GREY = (0.6, 0.6, 0.6, 1.0)
_NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}
_LIGHT_GREY = (0.85, 0.85, 0.85, 1.0)


def plot_target(target: str | Path) -> Path:
    """The local path ``--plot`` names: a ``file://`` URL as its path; other URLs are refused
    (the figure is written in place, atomically, on a local filesystem)."""
    local = remote.local_path(str(target))
    if remote.is_url(local):
        raise AefeatError(
            "a plot is written to a local path, not a URL",
            f"--plot {target}",
            "write it to a local file, then copy it",
        )
    return Path(local)


def check_plot_target(target: Path) -> None:
    """Fail early (before any work) on a --plot path that cannot be written."""
    if str(target) == "-":
        raise AefeatError(
            "a plot is written to a file, not to stdout", "--plot -", "name a .png file"
        )
    target = Path(target)
    # A directory first: its lack of a suffix is not the problem ('(none)' said it was).
    check_file_target(target, "--plot", example="plot.png")
    if target.suffix.lower() not in PLOT_FORMATS:
        raise AefeatError(
            f"unsupported plot file type {target.suffix or '(none)'!r}",
            "--plot",
            "name a .png file (or .svg or .pdf)",
        )


def _tex_safe(text: Any) -> str:
    """Matplotlib reads text between dollar signs as math; show column names literally."""
    return str(text).replace("$", r"\$")


@dataclass
class LabelColours:
    """How the points are coloured: one colour, categories with a legend, or a colour scale."""

    kind: str  # "none", "categorical" or "continuous"
    values: Any = "tab:blue"  # what scatter's ``c`` gets: a colour, RGBA rows or numbers
    categories: list[str] = field(default_factory=list)  # legend order (categorical)
    palette: list[Any] = field(default_factory=list)  # colour of each category
    codes: np.ndarray | None = None  # category per row; -1 "other" (grey), -2 missing (light)
    other: int = 0  # rows in categories beyond MAX_CATEGORIES, drawn grey
    missing: int = 0  # rows without a label, drawn light grey


def label_colours(labels: list[str] | None) -> LabelColours:
    """Colours for ``--label`` values: numeric labels with many values get a colour scale, the
    rest are categories (at most ``MAX_CATEGORIES`` in the legend, the rarest drawn grey)."""
    if labels is None:
        return LabelColours("none")
    present = [v for v in labels if v != MISSING_LABEL]
    uniq = list(dict.fromkeys(present))
    numbers = _as_numbers(uniq)
    if numbers is not None and len(uniq) > 10:
        lookup = dict(zip(uniq, numbers, strict=True))
        return LabelColours("continuous", np.array([lookup.get(v, np.nan) for v in labels]))
    import matplotlib as mpl

    counts: dict[str, int] = {}
    for v in present:
        counts[v] = counts.get(v, 0) + 1
    kept = uniq
    if len(uniq) > MAX_CATEGORIES:
        kept = sorted(uniq, key=lambda v: -counts[v])[: MAX_CATEGORIES - 1]
    if numbers is not None:
        order = dict(zip(uniq, numbers, strict=True))
        kept = sorted(kept, key=lambda v: order[v])
    else:
        kept = sorted(kept, key=_natural_key)
    cmap = mpl.colormaps["tab10" if len(kept) <= 10 else "tab20"]
    palette = [cmap(i) for i in range(len(kept))]
    index = {v: i for i, v in enumerate(kept)}
    codes = np.array(
        [-2 if v == MISSING_LABEL else index.get(v, -1) for v in labels], dtype=np.int64
    )
    values = np.array([*palette, _LIGHT_GREY, _GREY])[codes]  # -2, -1 pick the greys
    other = int((codes == -1).sum())
    return LabelColours(
        "categorical", values, kept, palette, codes, other, len(labels) - len(present)
    )


def _natural_key(text: str) -> list[Any]:
    """Sort key that puts "r2" before "r10"."""
    import re

    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def _as_numbers(values: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def inspection_figure(
    Z: np.ndarray,
    report: dict[str, Any],
    history: dict[str, list[float]],
    labels: list[str] | None = None,
    label_name: str | None = None,
    seed: int = 0,
) -> Any:
    """The inspection figure: latent scatter or pair grid and loss curves on top, the
    attribution heatmap below. ``report`` is what ``run_inspect`` returns (or ``analyse``'s
    first value). Returns the matplotlib Figure."""
    from matplotlib.figure import Figure

    latent = list(report["attribution"])
    features = list(next(iter(report["attribution"].values()), {}))
    K = len(latent)
    imp = report.get("latent_importance", {})
    ranked = sorted(range(K), key=lambda k: -(imp.get(latent[k]) or 0.0))
    shown = ranked[: min(MAX_PAIR_COLUMNS, K)]

    top_h = 5.6 if len(shown) <= 2 else 8.0
    heat_h = min(max(2.4, 0.32 * K + 1.6 + (1.0 if _longest(features) > 8 else 0)), 9.0)
    fig = Figure(figsize=(15, top_h + heat_h), layout="constrained")
    upper, lower = fig.subfigures(2, 1, height_ratios=[top_h, heat_h])
    left, right = upper.subfigures(1, 2, width_ratios=[1.35, 1])

    n = len(Z)
    order = np.random.default_rng(seed).permutation(n)[:MAX_POINTS]  # random draw order
    _latent_panel(left, Z, order, latent, shown, label_colours(labels), label_name)
    _loss_panel(right.add_subplot(), history, report)
    _heatmap(lower, lower.add_subplot(), report["attribution"], latent, features)
    source = report.get("evaluated_on")
    if source:
        fig.suptitle(f"aefeat inspect — {_tex_safe(source)}", fontsize=11)
    return fig


def _longest(names: list[str]) -> int:
    return max((len(n) for n in names), default=0)


def _latent_panel(sub, Z, order, latent, shown, colours: LabelColours, label_name) -> None:
    """Into subfigure ``sub``: a histogram (one latent column), a scatter (two) or a pair grid
    of the most important columns (more), coloured by the label."""
    m, K, n_rows = len(shown), len(latent), len(Z)
    title = "latent space" if K > 1 else f"latent column {latent[0]}"
    if K > m:
        title = f"pairs of the {m} most important of {K} latent columns"
    if label_name and colours.kind != "none":
        title += f", coloured by {_tex_safe(label_name)}"
    if len(order) < n_rows:
        title += f" ({len(order):,} of {n_rows:,} rows drawn)"
    sub.suptitle(title, fontsize=12)
    size = 14 if len(order) <= 500 else 6 if len(order) <= 5000 else 2
    c = colours.values if colours.kind == "none" else colours.values[order]
    extra: dict[str, Any] = {}
    if colours.kind == "continuous":
        import matplotlib as mpl

        # Rows without a label are drawn light grey, as for categories (the default colour of
        # NaN is transparent: they would vanish).
        extra["cmap"] = mpl.colormaps["viridis"].with_extremes(bad=_LIGHT_GREY)
        extra["plotnonfinite"] = True
    mappable = None
    axes: list[Any] = []
    if m == 1:
        ax = sub.add_subplot()
        axes.append(ax)
        k = shown[0]
        if colours.kind == "continuous":
            mappable = ax.scatter(Z[order, k], c, c=c, s=size, alpha=0.7, lw=0, **extra)
            ax.set_ylabel(_tex_safe(label_name or "label"))
        elif colours.kind == "categorical":
            bins = np.histogram_bin_edges(Z[:, k], bins=40)
            # Rows of the legend's "other" (-1) and missing (-2) entries too, in their greys.
            for code, colour in [*enumerate(colours.palette), (-1, _GREY), (-2, _LIGHT_GREY)]:
                rows = colours.codes == code
                if rows.any():
                    ax.hist(Z[rows, k], bins=bins, histtype="step", color=colour)
            ax.set_ylabel("rows")
        else:
            ax.hist(Z[:, k], bins=40, color="tab:blue", alpha=0.8)
            ax.set_ylabel("rows")
        ax.set_xlabel(latent[k])
    elif m == 2:
        ax = sub.add_subplot()
        axes.append(ax)
        a, b = shown
        mappable = ax.scatter(Z[order, a], Z[order, b], c=c, s=size, alpha=0.7, lw=0, **extra)
        ax.set_xlabel(f"{latent[a]} (most important)")
        ax.set_ylabel(latent[b])
    else:
        # Lower triangle: row i, column j (j < i) plots shown[j] (x) against shown[i] (y).
        grid = sub.add_gridspec(m - 1, m - 1)
        col_first: dict[int, Any] = {}
        row_first: dict[int, Any] = {}
        for i in range(1, m):
            for j in range(i):
                ax = sub.add_subplot(
                    grid[i - 1, j], sharex=col_first.get(j), sharey=row_first.get(i)
                )
                col_first.setdefault(j, ax)
                row_first.setdefault(i, ax)
                axes.append(ax)
                x, y = shown[j], shown[i]
                mappable = ax.scatter(
                    Z[order, x], Z[order, y], c=c, s=size, alpha=0.7, lw=0, **extra
                )
                if i == m - 1:
                    ax.set_xlabel(latent[x])
                else:
                    ax.tick_params(labelbottom=False)
                if j == 0:
                    ax.set_ylabel(latent[y])
                else:
                    ax.tick_params(labelleft=False)
    if colours.kind == "categorical":
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], marker="o", ls="", color=colour, label=_tex_safe(name))
            for name, colour in zip(colours.categories, colours.palette, strict=True)
        ]
        if colours.other:
            handles.append(Line2D([], [], marker="o", ls="", color=_GREY, label="other"))
        if colours.missing:
            handles.append(
                Line2D([], [], marker="o", ls="", color=_LIGHT_GREY, label=MISSING_LABEL)
            )
        kw: dict[str, Any] = {"loc": "outside right upper"}
        if m > 2:  # in the empty upper triangle of the pair grid
            kw = {"loc": "upper right", "bbox_to_anchor": (0.98, 0.9)}
        sub.legend(
            handles=handles,
            title=_tex_safe(label_name) if label_name else None,
            fontsize=8,
            ncols=2 if len(handles) > 12 else 1,
            **kw,
        )
    elif colours.kind == "continuous" and mappable is not None:
        sub.colorbar(mappable, ax=axes, label=_tex_safe(label_name or ""), shrink=0.7)


def _loss_panel(ax, history: dict[str, list[float]], report: dict[str, Any]) -> None:
    arch = report.get("architecture", {})
    metrics = report.get("metrics", {})
    curves = {k: v for k, v in (history or {}).items() if k in ("loss", "val_loss") and v}
    ax.set_title("training")
    if not curves:
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    names = {"loss": "training loss", "val_loss": "validation loss"}
    for key, values in curves.items():
        ax.plot(
            range(len(values)), values, label=names[key], marker="." if len(values) < 30 else None
        )
    # The bar the network had to clear: with the linear path on, check 0 is PCA plus the
    # nonlinear path's random start, not PCA itself.
    pca = metrics.get("pca_val_mse")
    if pca is not None:
        ax.axhline(pca, color="grey", ls=":", label="PCA, validation")
    best = metrics.get("best_epoch")
    if best is not None:
        kept = "best check (PCA was kept)" if metrics.get("model") == "pca" else "weights kept"
        ax.axvline(best, color="black", ls="--", lw=0.8, label=f"{kept}: check {best}")
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in curves.values()])
    values = values[np.isfinite(values) & (values > 0)]
    if len(values) and values.max() / values.min() > 20:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # checks are counted, not measured
    ax.set_xlabel(f"validation check (0 = {start_description(arch)})")
    ax.set_ylabel("MSE (scaled units)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _heatmap(fig, ax, attribution: dict[str, dict[str, float]], latent, features) -> None:
    M = np.array([[attribution[z][f] for f in features] for z in latent], dtype=np.float64)
    im = ax.imshow(M, aspect="auto", cmap="viridis", vmin=0, interpolation="nearest")
    K, D = M.shape
    ystep = max(1, K // 32)
    ax.set_yticks(range(0, K, ystep), latent[::ystep])
    xstep = max(1, -(-D // 80))
    names = [_tex_safe(f) for f in features[::xstep]]
    fontsize = 9 if D <= 20 else 7
    if D * (_longest(features) + 2) <= 140:
        ax.set_xticks(range(0, D, xstep), names, fontsize=fontsize)
    else:
        ax.set_xticks(range(0, D, xstep), names, fontsize=fontsize, rotation=90)
    if K * D <= 200 and D <= 25:
        for k in range(K):
            for j in range(D):
                dark = M[k, j] < 0.6 * (M.max() or 1)
                ax.text(
                    j, k, f"{M[k, j]:.0%}", ha="center", va="center", fontsize=9,
                    color="white" if dark else "black",
                )  # fmt: skip
    shown = "" if xstep == 1 else f"; one feature in {xstep} named"
    ax.set_title(
        "attribution: each latent column's share of mean |∂ latent / ∂ scaled input| "
        f"(rows sum to 100%){shown}"
    )
    from matplotlib.ticker import PercentFormatter

    # Enough decimals for the largest share: with 500 features every share is under 1%.
    top = float(M.max()) if M.size else 1.0
    decimals = 0 if top >= 0.1 else 1 if top >= 0.01 else 2
    fig.colorbar(
        im,
        ax=ax,
        label="share",
        fraction=0.03,
        pad=0.01,
        format=PercentFormatter(1.0, decimals=decimals),
    )


def write_inspection_plot(
    target: Path,
    Z: np.ndarray,
    report: dict[str, Any],
    history: dict[str, list[float]],
    labels: list[str] | None = None,
    label_name: str | None = None,
) -> None:
    """Draw the inspection figure and write it to ``target`` (PNG, SVG or PDF by suffix)
    atomically (:func:`aefeat.io.sinks.atomic_file`): a failure leaves an existing file as it was."""
    check_plot_target(target)
    fig = inspection_figure(Z, report, history, labels, label_name)
    fmt = Path(target).suffix.lower().lstrip(".")
    # Rendered in memory first: the SVG and PDF backends want a seekable file, which the
    # atomic writer is not, and a figure is small.
    buf = io.BytesIO()
    import matplotlib as mpl

    # The same model and rows give the same bytes in every format: no creation date in SVG and
    # PDF, and SVG's element ids from a fixed salt instead of a random one.
    with mpl.rc_context({"svg.hashsalt": "aefeat"}):
        fig.savefig(buf, format=fmt, dpi=100, metadata=_NO_DATE.get(fmt))
    with atomic_file(target, "--plot") as fh:
        fh.write(buf.getbuffer())
