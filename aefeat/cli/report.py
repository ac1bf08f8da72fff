"""The human-readable ``inspect`` report (Rich tables on stdout).

Column names, paths and config values come from users' files, so they are escaped: a column
called ``[red]`` is printed as such, not read as Rich markup.
"""

from __future__ import annotations

import io
import os
import re
import sys
from typing import Any

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aefeat.core.config import MIN_SELECTION_ROWS
from aefeat.errors import name_list, visible
from aefeat.inspection import start_description

MAX_COLUMN_ROWS = 20  # input columns listed with their ranges; more are summarised
MAX_R2_ROWS = 15  # features listed with their R²; more: the worst 10 and a summary


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


# How a run that diverged is told, after the summary's other words.
DIVERGED = "; training diverged (the loss became NaN or infinite): a lower --learning-rate may help"


def why_pca(autoencoder_val_mse: Any, pca_val_mse: Any, n_val: Any, n_rows: Any = None) -> str:
    """Why the saved model is PCA, from a model's metrics, for the train summary and inspect:
    the network was not below PCA, or too few validation rows (``n_val`` of ``n_rows``) could
    show it was, or the difference was within chance."""
    ae, pca = (
        f"{v:.4g}" if isinstance(v, float) else "-" for v in (autoencoder_val_mse, pca_val_mse)
    )
    if (
        isinstance(autoencoder_val_mse, float)
        and isinstance(pca_val_mse, float)
        and autoencoder_val_mse >= pca_val_mse
    ):
        return f"the trained network's validation MSE {ae} was not below PCA's {pca}"
    if isinstance(n_val, int) and n_val < MIN_SELECTION_ROWS:
        if isinstance(n_rows, int) and n_rows < 2 * MIN_SELECTION_ROWS:
            # No split leaves enough validation rows and as many to train on.
            how = f"a table of {n_rows} rows keeps PCA; a network needs about {2 * MIN_SELECTION_ROWS} or more"
        else:
            how = "more rows, or a larger --validation-split"
        rows = f"{n_val} validation row is" if n_val == 1 else f"{n_val} validation rows are"
        return (
            f"the trained network's validation MSE {ae} was below PCA's {pca}, but {rows} "
            f"too few to show it: at least {MIN_SELECTION_ROWS} are needed ({how})"
        )
    rows = f"{n_val} validation rows" if isinstance(n_val, int) else "the validation rows"
    return (
        f"the trained network's validation MSE {ae} was below PCA's {pca}, but not reliably: "
        f"over {rows} the difference is within chance (a paired t-test at 5%)"
    )


def _share(v: float) -> str:
    """An attribution share: whole percents, with a decimal below 10% (among 500 features
    every share is under 1%, and '0%' or '1%' on all of them says nothing), and two below 0.1%
    (among 5,000 every share is under 0.1%); a share too small even for that is '<0.01%', not
    the '0%' of a column with no attribution at all."""
    if v >= 0.095:
        return f"{v:.0%}"
    if v >= 0.00095 or v <= 0:
        return f"{v:.1%}"
    return f"{v:.2%}" if v >= 0.00005 else "<0.01%"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _e(v: Any) -> str:
    return escape(_fmt(v))


def _quoted(v: Any) -> str:
    """A config list's item as Python writes it, but a name in plain quotes: names are already
    escaped (:func:`_visible`), and ``repr`` would double every backslash of the escapes."""
    return f"'{v}'" if isinstance(v, str) else repr(v)


_WORD = re.compile(r"\w[\w.-]*")


def _config_value(v: Any) -> str:
    """A config value on the ``config:`` line: a string that is not a word (``delimiter=,,``
    read as a typo, ``decimal=.`` as the sentence's end) in quotes, as list items are."""
    if not isinstance(v, str) or _WORD.fullmatch(v):
        return str(v)
    quote = '"' if "'" in v else "'"
    return f"{quote}{v}{quote}"


def _middle(name: str, width: int) -> str:
    """``name`` in at most ``width`` terminal cells, cut in the middle: column names often share
    a long prefix and differ at the end (``sensor_temperature_north_1``, ``…_2``), and Rich,
    which cuts a cell's text at its end, would print them the same."""
    if cell_len(name) <= width:
        return name
    width = max(width, 3)
    tail = (width - 1) // 2
    return set_cell_size(name, width - 1 - tail) + "…" + set_cell_size(name[::-1], tail)[::-1]


def _name_room(con: Console, *others: list[str]) -> int:
    """The cells left for a table's first column, of names, beside columns of the texts in
    ``others`` (headers included): each column takes its widest text and 2 cells of padding,
    and the rules between columns 1 each. Never under 12: a name cut shorter says nothing."""
    taken = sum(max(cell_len(t) for t in texts) + 3 for texts in others)
    return max(con.width - 2 - taken, 12)


class _PipeConsole(Console):
    """Rich's console, with a reader that went away (``| head``) reported as Python's
    ``BrokenPipeError``, which the command line ends with exit 0, as for ``encode``. Rich's own
    handling exits 1, which ``set -o pipefail`` scripts take for a failure."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


class _TextBuffer(io.StringIO):
    """A buffer that reports stdout's encoding: Rich draws table rules in ASCII when that is
    not UTF-8 (``PYTHONIOENCODING=ascii``, a Latin-1 locale), as it does on such a terminal."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def print_report(report: dict[str, Any], top: int = 5) -> None:
    report = _visible(report)  # names and metadata may hold terminal escape sequences
    con = _PipeConsole(highlight=False, emoji=False)
    if con.is_terminal:
        _print_body(con, report, top)
        return
    # Piped or redirected: text for grep and diff. Sentences are not wrapped at any width
    # (`grep '^model:'` gets the whole line), tables take COLUMNS or 140 columns, and no line
    # ends in the spaces Rich pads tables with.
    width = os.environ.get("COLUMNS", "")
    buffer = _TextBuffer(getattr(sys.stdout, "encoding", None) or "utf-8")
    text = Console(
        file=buffer,
        width=int(width) if width.isdigit() and int(width) > 40 else 140,
        soft_wrap=True,
        highlight=False,
        emoji=False,
        color_system=None,
    )
    _print_body(text, report, top)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


def _visible(value: Any) -> Any:
    """``value`` with every string in it (keys included) passed through :func:`visible`, tabs
    and line breaks escaped too: a line break in a name would split its table row in two."""
    if isinstance(value, str):
        return visible(value, keep="")
    if isinstance(value, dict):
        return {_visible(k): _visible(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_visible(v) for v in value]
    return value


def _print_body(con: Console, report: dict[str, Any], top: int) -> None:
    _print_model(con, report)
    if "attribution" in report:
        _print_analysis(con, report, top)


def _print_model(con: Console, report: dict[str, Any]) -> None:
    arch = report["architecture"]
    con.print(
        f"[bold]aefeat model[/bold] {_e(report['model_dir'])}  "
        f"(format {_e(report['format_version'])}, created {_e(report.get('created'))})"
    )
    versions = ", ".join(f"{k} {v}" for k, v in report.get("versions", {}).items())
    con.print(f"versions: {escape(versions)}")
    hidden = ",".join(str(h) for h in arch["hidden"]) or "none"
    con.print(
        f"architecture: {arch['n_features']} -> \\[{hidden}] -> {arch['latent_dim']} -> mirrored; "
        f"activation {arch['activation']}, latent {arch['latent_activation']}, output "
        f"{arch['output_activation']}, linear (PCA) path {'on' if arch['linear_path'] else 'off'}; "
        f"{arch['parameters']:,} parameters"
    )

    columns = report["input_columns"]
    if len(columns) <= MAX_COLUMN_ROWS:
        con.print(f"\n[bold]input columns[/bold] ({len(columns)}, with their training range)")
        cols = Table(show_edge=False)
        for name in ("column", "min", "max"):
            cols.add_column(name, justify="left" if name == "column" else "right")
        lo, hi = ([_fmt(c[key]) for c in columns] for key in ("min", "max"))
        room = _name_room(con, ["min", *lo], ["max", *hi])
        for c, a, b in zip(columns, lo, hi, strict=True):
            cols.add_row(escape(_middle(c["name"], room)), a, b)
        con.print(cols)
    else:
        names = name_list([c["name"] for c in columns], 12, str)
        con.print(
            f"\n[bold]input columns[/bold] ({len(columns)}): {escape(names)} "
            "(names and training ranges: --json)"
        )

    cfg = report.get("config", {})
    # --columns and --exclude may name thousands of columns: the line lists the first ones.
    shown = ", ".join(
        f"{k}=[{name_list(v, show=_quoted)}]" if isinstance(v, list) else f"{k}={_config_value(v)}"
        for k, v in cfg.items()
        if v not in (None, [], "")
    )
    con.print("config: " + escape(shown))
    tr = report["training"]
    loss, val = tr.get("loss", {}), tr.get("val_loss", {})
    start = start_description(arch)
    con.print(
        f"training: {_e(tr.get('n_train'))} rows, {_e(tr.get('n_val'))} validation rows, "
        f"batch {_e(tr.get('batch_size'))}, seed {_e(tr.get('seed'))}, "
        f"{_e(tr.get('steps_run'))} steps, {_e(tr.get('epochs_run'))} validation checks in "
        f"{_e(tr.get('duration_s'))} s"
    )
    con.print(
        f"  loss     {_e(loss.get('start'))} at start ({start}) -> best {_e(loss.get('best'))} "
        f"-> last {_e(loss.get('last'))}"
    )
    con.print(
        f"  val_loss {_e(val.get('start'))} at start ({start}) -> best {_e(val.get('best'))} "
        f"(check {_e(val.get('best_epoch'))}) -> last {_e(val.get('last'))}"
    )
    if tr.get("ended_by") == "diverged":
        con.print(f"  {DIVERGED.lstrip('; ')}")
    m = report.get("metrics", {})
    if m.get("model") == "pca":
        why = why_pca(
            m.get("autoencoder_val_mse"), m.get("pca_val_mse"), tr.get("n_val"), tr.get("n_rows")
        )
        con.print(
            "model: PCA, fitted on all rows, validation rows included "
            f"({escape(why)}, so PCA was saved)"
        )
    else:
        con.print(
            f"metrics: validation MSE {_e(m.get('val_mse'))} vs PCA {_e(m.get('pca_val_mse'))} "
            f"(same latent size, scaled units); weights from check {_e(m.get('best_epoch'))}"
        )


def _print_analysis(con: Console, report: dict[str, Any], top: int) -> None:
    k = report["architecture"]["latent_dim"]
    con.print(
        f"\n[bold]on {_e(report['evaluated_on'])}[/bold] ({report['rows']:,} {'row' if report['rows'] == 1 else 'rows'})"
    )
    con.print(
        f"reconstruction MSE {_e(report['reconstruction_mse'])} (scaled units); variance kept "
        f"{_pct(report['explained_variance'])}, PCA with {k} component{'s' if k > 1 else ''} on "
        f"the same rows keeps {_pct(report['pca_explained_variance'])}"
    )

    imp = report["latent_importance"]
    attr = report["attribution"]
    corr = report["signed_correlation"]
    total = sum(max(v, 0.0) for v in imp.values())
    con.print("\n[bold]latent columns[/bold], most important first")
    con.print(
        "[dim]MSE rise: how much reconstruction MSE grows when the column is replaced by its mean;"
        " share: its part of the columns' MSE rises."
        "\ntop input features: share of the column's mean |gradient| w.r.t. the scaled inputs "
        "(correlation of feature and column).[/dim]"
    )
    t = Table(show_edge=False)
    t.add_column("latent")
    t.add_column("MSE rise", justify="right")
    t.add_column("share", justify="right")
    t.add_column("top input features")
    order = sorted(imp, key=lambda name: -imp[name])
    rising = {z: _pct(max(imp[z], 0.0) / total) if total > 0 else "-" for z in order}
    shares = {
        z: [
            (f, f" {_share(s)} ({corr[z][f]:+.2f})")
            for f, s in sorted(attr[z].items(), key=lambda kv: -kv[1])[:top]
        ]
        for z in order
    }
    # An entry is cut in its name, never in its share: it fits the column beside the others.
    room = _name_room(
        con,
        ["latent", *order],
        ["MSE rise", *(_fmt(imp[z]) for z in order)],
        ["share", *rising.values()],
    )
    entries = {
        z: [escape(_middle(f, room - len(rest))) + rest for f, rest in shares[z]] for z in order
    }
    # One line per latent column if it fits, else one feature per line (never split an entry).
    fits = max(len(", ".join(e)) for e in entries.values()) <= con.width - 40
    for z in order:
        feats = (", " if fits else "\n").join(entries[z])
        t.add_row(escape(z), _fmt(imp[z]), rising[z], feats, end_section=not fits)
    con.print(t)

    r2 = report["feature_r2"]
    ordered = sorted(r2.items(), key=lambda kv: (kv[1] is None, kv[1] if kv[1] is not None else 0))
    shown = ordered if len(ordered) <= MAX_R2_ROWS else ordered[:10]
    heading = "how well each feature is reconstructed" if shown is ordered else "worst features"
    con.print(f"\n[bold]{heading}[/bold] (R² on these rows, worst first)")
    t = Table(show_edge=False)
    t.add_column("feature")
    t.add_column("R²", justify="right")
    scores = ["constant" if v is None else f"{v:.3f}" for _, v in shown]
    room = _name_room(con, ["R²", *scores])
    for (f, _), score in zip(shown, scores, strict=True):
        t.add_row(escape(_middle(f, room)), score)
    con.print(t)
    if shown is not ordered:
        values = sorted(v for _, v in ordered if v is not None)
        constant = len(ordered) - len(values)
        if values:
            median = float(np.median(values))
            con.print(
                f"R² over all {len(ordered)} features: median {median:.3f}, best {values[-1]:.3f}"
                + (f"; {constant} constant" if constant else "")
                + " (every feature: --json)"
            )
        else:  # every feature constant: no median, but the count is still news
            con.print(f"R² over all {len(ordered)} features: all constant (every feature: --json)")
