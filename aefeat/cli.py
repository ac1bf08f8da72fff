"""The ``aefeat`` command line: parses options and calls the library. Errors become exit codes here.

Exit codes: 0 success, 2 a problem the user can fix (one line on stderr), 1 an internal error,
130 interrupted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from aefeat import errors
from aefeat.errors import AefeatError


def _debug_wanted(args: list[str]) -> bool:
    return "--debug" in args or os.environ.get("AEFEAT_DEBUG", "") not in ("", "0")


class _Group(TyperGroup):
    """Maps every failure to one line on stderr and an exit code, in one place."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        args = list(sys.argv[1:] if args is None else args)
        debug = _debug_wanted(args)
        # --debug is accepted anywhere on the line, so users can add it to a failing command.
        args = [a for a in args if a != "--debug"]
        try:
            with _quiet_libraries(not debug):
                rv = super().main(
                    args, prog_name or "aefeat", complete_var, standalone_mode=False, **extra
                )
            code = rv if isinstance(rv, int) else 0
        except AefeatError as exc:
            code = _fail(f"aefeat: error: {exc.message}", errors.EXIT_USER, debug)
        except typer.Abort:
            code = _fail("aefeat: interrupted", errors.EXIT_INTERRUPTED, debug)
        except KeyboardInterrupt:
            code = _fail("aefeat: interrupted", errors.EXIT_INTERRUPTED, debug)
        except typer.TyperException as exc:  # usage errors from option parsing
            ctx = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
                # Plain `aefeat`: show the help, as --help does (not a one-line error).
                print(ctx.get_help())
                code = errors.EXIT_OK
            else:
                code = _fail(
                    f"aefeat: error: {_usage_message(exc)}", getattr(exc, "exit_code", 2), debug
                )
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): not an error worth a message.
            _silence_stdout()
            code = errors.EXIT_OK
        except MemoryError:
            code = _fail(
                "aefeat: error: out of memory — use --max-rows or a smaller input",
                errors.EXIT_USER,
                debug,
            )
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            text = " ".join(str(exc).split())[:300]
            code = _fail(
                f"aefeat: internal error: {type(exc).__name__}: {text} — rerun with --debug for details",
                errors.EXIT_INTERNAL,
                debug,
            )
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # Here, because Typer turns a broken pipe into exit 1 before main() sees it: the
            # reader went away (`| head`), which is how pipelines end, not an error.
            _silence_stdout()
            raise typer.Exit(errors.EXIT_OK) from None
        except KeyboardInterrupt:
            # Typer would turn it into a silent exit 130; main() prints the one line.
            raise typer.Abort() from None


@contextlib.contextmanager
def _quiet_libraries(quiet: bool):
    """Library warnings and log lines (NumPy, scikit-learn, TensorFlow, Keras) are noise next to
    aefeat's own one-line messages; --debug shows them."""
    loggers = [logging.getLogger(name) for name in ("tensorflow", "absl", "keras")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
            for lg in loggers:
                lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def _usage_message(exc: Exception) -> str:
    msg = " ".join(exc.format_message().split()) if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return msg + where


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _fail(line: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(line, file=sys.stderr, flush=True)
    return code


app = typer.Typer(
    cls=_Group,
    name="aefeat",
    help="Turn tabular CSV data into a few learned features with a dense autoencoder.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ListOpt = list[str] | None
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on stderr on success.")]
Delimiter = Annotated[
    str | None, typer.Option("--delimiter", "-d", help="Input field separator (default ',').")
]
Encoding = Annotated[
    str | None, typer.Option("--encoding", help="Input text encoding (default utf-8).")
]


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors (or set AEFEAT_DEBUG=1).")
    ] = False,
) -> None:
    """aefeat: train, encode, inspect."""
    if version:
        from aefeat import __version__

        print(__version__)
        raise typer.Exit(0)


@app.command()
def train(
    data: Annotated[
        str,
        typer.Argument(
            help="CSV, .csv.gz or .parquet file, a quoted glob of them, or - for stdin.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Model directory to write.", show_default=False)
    ],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML file with training options; flags win."),
    ] = None,
    latent_dim: Annotated[
        int | None,
        typer.Option("--latent-dim", "-k", help="Number of latent features [default: 2]."),
    ] = None,
    hidden: Annotated[
        str | None,
        typer.Option(
            "--hidden", help="Hidden layer sizes, e.g. 64,32 ('none' for none) [default: 128,64]."
        ),
    ] = None,
    activation: Annotated[
        str | None, typer.Option("--activation", help="Hidden activation [default: silu].")
    ] = None,
    latent_activation: Annotated[
        str | None, typer.Option("--latent-activation", help="Latent activation [default: linear].")
    ] = None,
    output_activation: Annotated[
        str | None, typer.Option("--output-activation", help="Output activation [default: linear].")
    ] = None,
    linear_path: Annotated[
        bool | None,
        typer.Option(
            "--linear-path/--no-linear-path", help="PCA-initialised linear path [default: on]."
        ),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            help="Passes over the training rows [default: a step budget that follows the data].",
        ),
    ] = None,
    batch_size: Annotated[
        str | None, typer.Option("--batch-size", help="Rows per batch or 'auto' [default: auto].")
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            "--learning-rate",
            help="Adam peak learning rate at batch 256 (lower for smaller batches) [default: 0.005].",
        ),
    ] = None,
    validation_split: Annotated[
        float | None,
        typer.Option("--validation-split", help="Share of rows held out [default: 0.2]."),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            "--patience",
            help="Validation checks without improvement before stopping [default: 12].",
        ),
    ] = None,
    columns: Annotated[
        ListOpt, typer.Option("--columns", help="Feature columns (comma-separated, repeatable).")
    ] = None,
    exclude: Annotated[
        ListOpt, typer.Option("--exclude", help="Columns to leave out, e.g. ids and labels.")
    ] = None,
    impute: Annotated[
        str | None,
        typer.Option(
            "--impute", help="Fill missing values: none, mean, median, zero [default: none]."
        ),
    ] = None,
    max_rows: Annotated[
        int | None, typer.Option("--max-rows", help="Train on a uniform sample of this many rows.")
    ] = None,
    max_time: Annotated[
        str | None,
        typer.Option(
            "--max-time",
            help="End training after this long (e.g. 90s, 10m, 1h), keeping the best weights.",
        ),
    ] = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed for a reproducible run.")
    ] = None,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream",
            help="Train without loading DATA into memory [default: for several files or data that would not fit].",
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Train an autoencoder on DATA and write a model directory."""
    from aefeat import config as cfg
    from aefeat.commands import run_train

    resolved = cfg.resolve_config(
        config,
        latent_dim=latent_dim,
        hidden=cfg.parse_hidden(hidden),
        activation=activation,
        latent_activation=latent_activation,
        output_activation=output_activation,
        linear_path=linear_path,
        epochs=epochs,
        batch_size=_batch_size(batch_size),
        learning_rate=learning_rate,
        validation_split=validation_split,
        patience=patience,
        columns=cfg.parse_list(columns),
        exclude=cfg.parse_list(exclude),
        impute=impute,
        max_rows=max_rows,
        max_time=cfg.parse_duration(max_time),
        delimiter=_unescape(delimiter),
        encoding=encoding,
        seed=seed,
    )
    run_train(data, output, resolved, quiet=quiet, stream=stream)


def _batch_size(value: str | None) -> int | str | None:
    if value is None or value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise AefeatError(
            f"invalid value {value!r}", "--batch-size", "use a positive integer or 'auto'"
        ) from None


def _unescape(value: str | None) -> str | None:
    # `-d '\t'` arrives as backslash-t from most shells.
    return {"\\t": "\t", "tab": "\t"}.get(value, value) if value is not None else None


@app.command()
def encode(
    model_dir: Annotated[
        Path, typer.Argument(help="Model directory written by train.", show_default=False)
    ],
    data: Annotated[
        str,
        typer.Argument(
            help="CSV, .csv.gz or .parquet file, or - for stdin; with --dask, also a quoted glob "
            "('data/*.csv') or a directory.",
            show_default=False,
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file (.csv or .parquet); stdout if omitted or -. With --dask, a new "
            "directory that gets one CSV per input file, named after it.",
        ),
    ] = None,
    keep: Annotated[
        ListOpt,
        typer.Option("--keep", help="Input columns to copy to the output first (e.g. ids)."),
    ] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Latent column name prefix.")] = "z",
    with_error: Annotated[
        bool,
        typer.Option(
            "--with-error", help="Add a reconstruction_error column (MSE in scaled units)."
        ),
    ] = False,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Rows encoded and written at a time.")
    ] = 65536,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="SCHEDULER",
            help="Encode each input file on this Dask scheduler (tcp://host:8786, or 'local' for "
            "worker processes on this machine); needs -o OUT_DIR.",
        ),
    ] = None,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    quiet: Quiet = False,
) -> None:
    """Encode DATA with a trained model: kept columns, then latent columns."""
    from aefeat.commands import run_encode
    from aefeat.config import parse_list

    if chunk_size < 1:
        raise AefeatError(
            f"invalid value {chunk_size}", "--chunk-size", "use a positive number of rows"
        )
    if not prefix or any(ch in prefix for ch in "\r\n"):
        raise AefeatError(f"invalid value {prefix!r}", "--prefix", "use a short name such as z")
    options = {
        "keep": parse_list(keep) or [],
        "prefix": prefix,
        "with_error": with_error,
        "chunk_rows": chunk_size,
        "delimiter": _unescape(delimiter) or ",",
        "encoding": encoding or "utf-8",
        "quiet": quiet,
    }
    if dask is not None:
        from aefeat.commands import run_encode_dask

        run_encode_dask(model_dir, data, output, scheduler=dask, **options)
    else:
        run_encode(model_dir, data, output, **options)


@app.command()
def inspect(
    model_dir: Annotated[
        Path, typer.Argument(help="Model directory written by train.", show_default=False)
    ],
    data: Annotated[
        str | None,
        typer.Option("--data", help="Data to analyse (default: the stored training sample)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="Write a PNG with latent scatter, loss curves and attribution."
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Column of --data used to colour the plot.")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Features shown per latent column.")] = 5,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
) -> None:
    """Show what a model is and what it learned."""
    from aefeat.commands import run_inspect

    if label is not None and data is None:
        raise AefeatError(
            "--label needs --data",
            "--label",
            "pass the data that holds the label column with --data",
        )
    report = run_inspect(
        model_dir,
        data,
        plot=plot,
        label=label,
        delimiter=_unescape(delimiter) or ",",
        encoding=encoding or "utf-8",
    )
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        from aefeat.report import print_report

        print_report(report, top=max(1, top))


def main() -> Any:
    """Console-script entry point."""
    return app()


if __name__ == "__main__":  # pragma: no cover
    main()
