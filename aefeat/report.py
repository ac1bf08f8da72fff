"""The human-readable ``inspect`` report (Rich tables on stdout)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def print_report(report: dict[str, Any], top: int = 5) -> None:
    con = Console(highlight=False)
    if not con.is_terminal:
        # Piped or redirected: don't wrap at Rich's default 80 columns.
        con = Console(highlight=False, width=140)
    arch = report["architecture"]
    con.print(
        f"[bold]aefeat model[/bold] {report['model_dir']}  (format {report['format_version']}, created {report.get('created')})"
    )
    versions = ", ".join(f"{k} {v}" for k, v in report.get("versions", {}).items())
    con.print(f"versions: {versions}")
    hidden = ",".join(str(h) for h in arch["hidden"]) or "none"
    con.print(
        f"architecture: {arch['n_features']} -> [{hidden}] -> {arch['latent_dim']} -> mirrored; "
        f"activation {arch['activation']}, latent {arch['latent_activation']}, output "
        f"{arch['output_activation']}, linear (PCA) path {'on' if arch['linear_path'] else 'off'}; "
        f"{arch['parameters']:,} parameters"
    )

    cols = Table(title="input columns (training range)", show_edge=False)
    for name in ("column", "min", "max"):
        cols.add_column(name, justify="left" if name == "column" else "right")
    for c in report["input_columns"][:50]:
        cols.add_row(c["name"], _fmt(c["min"]), _fmt(c["max"]))
    con.print(cols)
    if len(report["input_columns"]) > 50:
        con.print(f"… and {len(report['input_columns']) - 50} more (see --json)")

    cfg = report.get("config", {})
    con.print("config: " + ", ".join(f"{k}={v}" for k, v in cfg.items() if v not in (None, [], "")))
    tr = report["training"]
    loss, val = tr.get("loss", {}), tr.get("val_loss", {})
    con.print(
        f"training: {tr.get('n_train')} rows, {tr.get('n_val')} validation rows, batch {tr.get('batch_size')}, "
        f"seed {tr.get('seed')}, {tr.get('epochs_run')} epochs in {_fmt(tr.get('duration_s'))} s"
    )
    con.print(
        f"  loss     {_fmt(loss.get('start'))} at start (PCA) -> best {_fmt(loss.get('best'))} -> last {_fmt(loss.get('last'))}"
    )
    con.print(
        f"  val_loss {_fmt(val.get('start'))} at start (PCA) -> best {_fmt(val.get('best'))} (epoch {val.get('best_epoch')}) -> last {_fmt(val.get('last'))}"
    )
    m = report.get("metrics", {})
    con.print(
        f"metrics: validation MSE {_fmt(m.get('val_mse'))} vs PCA {_fmt(m.get('pca_val_mse'))} "
        f"(same latent size, scaled units); weights from epoch {m.get('best_epoch')}"
    )

    con.print(f"\n[bold]on {report['evaluated_on']}[/bold] ({report['rows']:,} rows)")
    con.print(
        f"reconstruction MSE {_fmt(report['reconstruction_mse'])}; variance kept {_fmt(report['explained_variance'])} "
        f"vs PCA {_fmt(report['pca_explained_variance'])} with the same number of components"
    )
    imp = report["latent_importance"]
    attr = report["attribution"]
    corr = report["signed_correlation"]
    t = Table(
        title="latent columns: importance and top input features (share of |gradient|, signed correlation)",
        show_edge=False,
    )
    t.add_column("latent")
    t.add_column("MSE rise if removed", justify="right")
    t.add_column("top features")
    for z in sorted(imp, key=lambda k: -imp[k]):
        ranked = sorted(attr[z].items(), key=lambda kv: -kv[1])[:top]
        feats = ", ".join(f"{f} {s:.0%} ({corr[z][f]:+.2f})" for f, s in ranked)
        t.add_row(z, _fmt(imp[z]), feats)
    con.print(t)
    r2 = report["feature_r2"]
    t = Table(title="how well each feature is reconstructed (R²)", show_edge=False)
    t.add_column("feature")
    t.add_column("R²", justify="right")
    ordered = sorted(r2.items(), key=lambda kv: (kv[1] is None, kv[1] if kv[1] is not None else 0))
    for f, v in ordered[:30]:
        t.add_row(f, "constant" if v is None else f"{v:.3f}")
    con.print(t)
    if len(ordered) > 30:
        con.print(f"… worst 30 of {len(ordered)} shown (see --json)")
