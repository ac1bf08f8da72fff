"""The ``aefeat`` command line: parses options and calls the library. Errors become exit codes here.

Exit codes: 0 success, 2 a problem the user can fix (one line on stderr), 1 an internal error,
130 interrupted (Ctrl-C), 128 + the signal's number when terminated (143 for SIGTERM, 129 for
SIGHUP, 152 for SIGXCPU).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import sys
import traceback
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from aefeat import errors
from aefeat.core.params import PARAMS  # light: the table of training options, for their help
from aefeat.errors import AefeatError, Terminated
from aefeat.io.remote import parse_storage_options, storage_options


def _debug_wanted(args: list[str]) -> bool:
    return "--debug" in args or os.environ.get("AEFEAT_DEBUG", "") not in ("", "0")


class _Group(TyperGroup):
    """Maps every failure to one line on stderr and an exit code, in one place."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        args = list(sys.argv[1:] if args is None else args)
        debug = _debug_wanted(args)
        # --debug is accepted anywhere on the line, so users can add it to a failing command.
        args = [a for a in args if a != "--debug"]
        _escape_what_stdout_cannot_encode()
        try:
            with (
                _stderr_present(),
                _quiet_libraries(not debug),
                _debug_env(debug),
                _sigterm_raises(),
            ):
                rv = super().main(
                    args, prog_name or "aefeat", complete_var, standalone_mode=False, **extra
                )
                # Data on stdout is only written when this flush succeeds: a redirected stdout
                # on a full disk fails here, and that is an error, not a success.
                from aefeat.io.sinks import flush_stdout

                flush_stdout()
            code = rv if isinstance(rv, int) else 0
        except AefeatError as exc:
            code = _fail(f"aefeat: error: {exc.message}", errors.EXIT_USER, debug)
        except typer.Abort:
            code = _fail("aefeat: interrupted", errors.EXIT_INTERRUPTED, debug)
        except KeyboardInterrupt:
            code = _fail("aefeat: interrupted", errors.EXIT_INTERRUPTED, debug)
        except Terminated as exc:
            code = _fail(f"aefeat: terminated ({exc.name})", 128 + exc.signum, debug)
        except typer.TyperException as exc:  # usage errors from option parsing
            ctx = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
                # Plain `aefeat`: show the help, as --help does (not a one-line error).
                code = _print_help(ctx, debug)
            else:
                code = _fail(
                    f"aefeat: error: {_usage_message(exc)}", getattr(exc, "exit_code", 2), debug
                )
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): not an error worth a message.
            _silence_stdout()
            code = errors.EXIT_OK
        except MemoryError:
            code = _fail_out_of_memory(args, debug)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if _is_out_of_memory(exc):
                code = _fail_out_of_memory(args, debug)
            elif (stdout_error := _echo_failed_on_stdout(exc)) is not None:
                code = _fail(f"aefeat: error: {stdout_error.message}", errors.EXIT_USER, debug)
            else:
                text = " ".join(str(exc).split())[:300]
                code = _fail(
                    f"aefeat: internal error: {type(exc).__name__}: {text} — rerun with --debug "
                    "for details",
                    errors.EXIT_INTERNAL,
                    debug,
                )
        if code != errors.EXIT_OK:
            _discard_stdout()
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


def _escape_what_stdout_cannot_encode() -> None:
    """Under ``PYTHONIOENCODING=ascii`` or a Latin-1 locale, text Python cannot encode (a column
    name, a dash, a table border) is written escaped, as Python writes stderr, instead of
    failing with UnicodeEncodeError. Data files are UTF-8 bytes and are not affected."""
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
        with contextlib.suppress(ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")


@contextlib.contextmanager
def _stderr_present():
    """A process started with stderr closed (``2>&-``) has ``sys.stderr = None``, and
    ``print(file=None)`` writes to stdout: messages would land in the data. They are dropped
    instead, as they would be with ``2>/dev/null``."""
    if sys.stderr is not None:
        yield
        return
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - closed below
    try:
        yield
    finally:
        sys.stderr.close()
        sys.stderr = None


@contextlib.contextmanager
def _quiet_libraries(quiet: bool):
    """Library warnings and log lines (NumPy, scikit-learn, TensorFlow, Keras, Matplotlib's
    note on an unwritable config directory) are noise next to aefeat's own one-line messages;
    --debug shows them."""
    loggers = [logging.getLogger(name) for name in ("tensorflow", "absl", "keras", "matplotlib")]
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


# What ends a batch job: a kill (SIGTERM), a closed terminal or ssh session (SIGHUP), a batch
# system's CPU limit (SIGXCPU). Each would otherwise end the process without its cleanup.
_ENDING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGXCPU") if hasattr(signal, name)
)


@contextlib.contextmanager
def _sigterm_raises():
    """SIGTERM (and SIGHUP, SIGXCPU) take the path Ctrl-C takes: an exception in the main
    thread, so temporaries are removed by the ``finally`` blocks that own them, then one line
    and exit 128 + the signal's number."""

    def handler(signum: int, frame: Any) -> None:
        # Once: a second signal must not interrupt the cleanup the first one started.
        for sig in _ENDING_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise Terminated(signum)

    previous = {}
    try:
        for sig in _ENDING_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (aefeat called from a thread): leave it alone
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def _debug_env(debug: bool):
    """--debug is seen by code that runs before any option is parsed (the TensorFlow import in
    aefeat.keras_backend.build) through AEFEAT_DEBUG, for this command only."""
    if not debug or os.environ.get("AEFEAT_DEBUG", "") not in ("", "0"):
        yield
        return
    os.environ["AEFEAT_DEBUG"] = "1"
    try:
        yield
    finally:
        os.environ.pop("AEFEAT_DEBUG", None)


# How a memory limit (``ulimit -v``, a batch system's cap) shows when it is not a MemoryError:
# a shared library that cannot be mapped, a thread pool that cannot start.
_OUT_OF_MEMORY_SIGNS = (
    "failed to map segment",
    "cannot allocate memory",
    "failed to launch worker thread",
    "std::bad_alloc",
)


def _is_out_of_memory(exc: Exception) -> bool:
    text = str(exc).lower()
    return type(exc).__name__ in ("ArrowMemoryError", "ResourceExhaustedError") or any(
        sign in text for sign in _OUT_OF_MEMORY_SIGNS
    )


def _fail_out_of_memory(args: list[str], debug: bool) -> int:
    """The out-of-memory line, with the hint of the command in ``args``."""
    global _teardown_unsafe
    # Libraries that failed to start half-way crash the interpreter's teardown (a segfault
    # after the message, seen under ulimit -v): the process ends without it.
    _teardown_unsafe = True
    command = next((a for a in args if not a.startswith("-")), "")
    what = {
        "train": "use --max-rows or --stream, or raise the limit",
        "encode": "use a smaller --chunk-size, or raise the limit",
        "inspect": "use a smaller --data sample, or raise the limit",
    }.get(command, "raise the limit")
    line = f"aefeat: error: out of memory (or over a limit such as ulimit -v) — {what}"
    return _fail(line, errors.EXIT_USER, debug)


def _print_help(ctx: Any, debug: bool) -> int:
    """The help of plain ``aefeat``, with stdout's failures handled as for any output."""
    from aefeat.io.sinks import writing_stdout

    try:
        with writing_stdout():
            print(ctx.get_help())
    except errors.AefeatError as exc:
        return _fail(f"aefeat: error: {exc.message}", errors.EXIT_USER, debug)
    except BrokenPipeError:
        _silence_stdout()
    return errors.EXIT_OK


def _echo_failed_on_stdout(exc: Exception) -> errors.AefeatError | None:
    """Help and usage text are written by Click's ``echo``, outside any command; its OSError on
    stdout (``aefeat train --help > /dev/full``) is the usual write error naming <stdout>."""
    if not isinstance(exc, OSError) or sys.stdout is None:
        return None
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or tb.tb_frame.f_code.co_name != "echo":
        return None
    try:
        on_stdout = tb.tb_frame.f_locals["file"].fileno() == sys.stdout.fileno()
    except (KeyError, AttributeError, OSError, ValueError):
        return None
    if not on_stdout:
        return None
    from aefeat.io.sinks import STDOUT_NAME, write_error

    return write_error(exc, STDOUT_NAME)


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


def _discard_stdout() -> None:
    """After a failure, data still buffered for stdout is dropped: flushing it at exit would fail
    again (a full disk) and print Python's own 'Exception ignored' lines after ours."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()


def _fail(line: str, code: int, debug: bool) -> int:
    if sys.stderr is None:
        return code  # started with stderr closed: print(file=None) would write to stdout
    if debug:
        traceback.print_exc()
    with contextlib.suppress(OSError):  # a stderr that cannot take the line changes no code
        print(errors.visible(line), file=sys.stderr, flush=True)
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


def _path(where: str, hint: str) -> Any:
    """A callback refusing an empty path (``-o "$MODEL"`` with the variable unset), which
    paths read as the current directory: DATA trained on every CSV there, -o wrote the model
    into it, replacing it."""

    def check(value: Any) -> Any:
        for one in value if isinstance(value, list) else [value]:
            if one == "":
                raise AefeatError(f"invalid value {one!r}", where, hint)
        return value

    return check


MAX_CHUNK_ROWS = 1 << 30  # rows per chunk; larger values overflow the array sizes underneath
ListOpt = list[str] | None
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on stderr on success.")]
Delimiter = Annotated[
    str | None, typer.Option("--delimiter", "-d", help="Input field separator (default ',').")
]
Encoding = Annotated[
    str | None, typer.Option("--encoding", help="Input text encoding (default utf-8).")
]
Decimal = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        help="Input decimal mark, '.' (default) or ',' for numbers such as 3,14 (with another "
        "--delimiter, e.g. ';').",
    ),
]
StorageOptions = Annotated[
    ListOpt,
    typer.Option(
        "--storage-option",
        metavar="KEY=VALUE",
        help="An fsspec option for URL inputs and outputs (s3://, gs://, ...), e.g. "
        "endpoint_url=http://host:9000 or anon=true; repeatable.",
    ),
]
ModelDirArg = Annotated[
    str,
    typer.Argument(
        help="Model directory written by train (a path, or a URL such as s3://bucket/model).",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    # Eager: runs while the options are parsed, so `aefeat --version` needs no command.
    if value:
        from aefeat import __version__
        from aefeat.io.sinks import writing_stdout

        with writing_stdout():
            print(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors (or set AEFEAT_DEBUG=1).")
    ] = False,
) -> None:
    """aefeat: train, encode, inspect."""


def _opt(key: str, *short: str, negative: bool = False, **extra: Any) -> Any:
    """A ``train`` option whose flag, help and shown default come from the parameter table."""
    p = PARAMS[key]
    flag = f"{p.flag}/--no-{p.flag[2:]}" if negative else p.flag
    # The default goes into the help text: click would show a text default in parentheses.
    text = f"{p.help} [default: {p.default_text()}]"
    return typer.Option(flag, *short, help=text, show_default=False, **extra)


@app.command()
def train(
    data: Annotated[
        list[str],
        typer.Argument(
            help="CSV, .csv.gz or .parquet file, a directory or a glob of them, or - for stdin; "
            "several files (as the shell expands a glob) are trained on together.",
            metavar="data",
            show_default=False,
            callback=_path("DATA", "name a file, a directory, a glob, or - for stdin"),
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Model directory to write.",
            show_default=False,  # '' is refused by model_dir_target, as save("") is
        ),
    ],
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="YAML file with training options; flags win.",
            metavar="<path>",
            callback=_path("--config", "name a YAML file, or leave --config out"),
        ),
    ] = None,
    latent_dim: Annotated[str | None, _opt("latent_dim", "-k", metavar="INT|FRACTION")] = None,
    hidden: Annotated[str | None, _opt("hidden")] = None,
    activation: Annotated[str | None, _opt("activation")] = None,
    latent_activation: Annotated[str | None, _opt("latent_activation")] = None,
    output_activation: Annotated[str | None, _opt("output_activation")] = None,
    linear_path: Annotated[bool | None, _opt("linear_path", negative=True)] = None,
    epochs: Annotated[int | None, _opt("epochs")] = None,
    batch_size: Annotated[str | None, _opt("batch_size")] = None,
    learning_rate: Annotated[float | None, _opt("learning_rate")] = None,
    input_noise: Annotated[str | None, _opt("input_noise", metavar="FLOAT|auto")] = None,
    validation_split: Annotated[float | None, _opt("validation_split")] = None,
    patience: Annotated[int | None, _opt("patience")] = None,
    shuffle: Annotated[bool | None, _opt("shuffle", negative=True)] = None,
    columns: Annotated[ListOpt, _opt("columns")] = None,
    exclude: Annotated[ListOpt, _opt("exclude")] = None,
    impute: Annotated[str | None, _opt("impute")] = None,
    max_rows: Annotated[int | None, _opt("max_rows")] = None,
    max_time: Annotated[str | None, _opt("max_time", metavar="DURATION")] = None,
    delimiter: Annotated[str | None, _opt("delimiter", "-d")] = None,
    encoding: Annotated[str | None, _opt("encoding")] = None,
    decimal: Annotated[str | None, _opt("decimal")] = None,
    seed: Annotated[int | None, _opt("seed")] = None,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream",
            help="Train without loading DATA into memory [default: for several files or data that would not fit].",
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="SCHEDULER",
            help="Scan the files on this Dask scheduler (tcp://host:8786, or 'local') and train "
            "here on a uniform sample of --max-rows rows (default 1,000,000).",
        ),
    ] = None,
    storage_option: StorageOptions = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the run's summary as one JSON object on stdout: rows, validation MSE "
            "of the network and of PCA, which of the two was saved, what ended training.",
        ),
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Train an autoencoder on DATA and write a model directory."""
    from aefeat.cli.commands import run_train
    from aefeat.core import config as cfg

    resolved, from_file = cfg.resolve_with_sources(
        Path(config) if config is not None else None,
        latent_dim=_latent_dim(latent_dim),
        hidden=cfg.parse_hidden(hidden),
        activation=activation,
        latent_activation=latent_activation,
        output_activation=output_activation,
        linear_path=linear_path,
        epochs=epochs,
        batch_size=_number_or_auto("batch_size", batch_size, int),
        learning_rate=learning_rate,
        input_noise=_number_or_auto("input_noise", input_noise, float),
        validation_split=validation_split,
        patience=patience,
        shuffle=shuffle,
        columns=cfg.parse_list(columns, "--columns"),
        exclude=cfg.parse_list(exclude, "--exclude"),
        impute=impute,
        max_rows=max_rows,
        max_time=cfg.parse_duration(max_time),
        delimiter=_unescape(delimiter),
        encoding=encoding,
        decimal=decimal,
        seed=seed,
    )
    if as_json:
        from aefeat.io.sinks import require_stdout

        require_stdout("leave out --json")  # before the training, not after it
    storage = parse_storage_options(storage_option)
    try:
        with storage_options(storage, list(data)):
            run_train(
                data[0] if len(data) == 1 else data,
                output,
                resolved,
                quiet=quiet,
                stream=stream,
                dask=dask,
                storage=storage,
                on_summary=_print_json if as_json else None,
            )
    except AefeatError as exc:
        if from_file:  # a value from the file is named by its key there, not by a flag
            exc.set_in_config(str(config), from_file)
        raise


def _latent_dim(value: str | None) -> int | float | None:
    """``--latent-dim 16`` (a size) or ``--latent-dim 0.95`` (a share of the variance)."""
    if value is None:
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value  # refused with the table's words by resolve_config


def _number_or_auto(key: str, value: str | None, number: type) -> int | float | str | None:
    """An option that takes a number (``number``: int or float) or 'auto', parsed; the range
    is checked with the other options."""
    if value is None or value == "auto":
        return value
    try:
        return number(value)
    except ValueError:
        p = PARAMS[key]
        raise AefeatError(f"invalid value {value!r}", p.flag, f"use {p.expected()}") from None


def _unescape(value: str | None) -> str | None:
    # `-d '\t'` arrives as backslash-t from most shells.
    return {"\\t": "\t", "tab": "\t"}.get(value, value) if value is not None else None


@app.command()
def encode(
    model_dir: ModelDirArg,
    data: Annotated[
        str,
        typer.Argument(
            help="CSV, .csv.gz or .parquet file, or - for stdin; with --dask, also a quoted glob "
            "('data/*.csv') or a directory.",
            show_default=False,
            callback=_path("DATA", "name a file, or - for stdin"),
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file: .csv, .tsv, .csv.gz, .tsv.gz or .parquet; stdout (CSV) if "
            "omitted or -. With --dask, a new "
            "directory that gets one CSV per input file, named after it.",
            callback=_path("-o", "name a file, or - (or no -o) for stdout"),
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
    decimal: Decimal = None,
    storage_option: StorageOptions = None,
    quiet: Quiet = False,
) -> None:
    """Encode DATA with a trained model: kept columns, then latent columns."""
    from aefeat.cli.commands import run_encode
    from aefeat.core.config import parse_list
    from aefeat.encoding import check_prefix

    if not 1 <= chunk_size <= MAX_CHUNK_ROWS:
        raise AefeatError(
            f"invalid value {chunk_size}",
            "--chunk-size",
            f"use a positive number of rows, at most {MAX_CHUNK_ROWS:,}",
        )
    check_prefix(prefix)  # the Python API's check too
    options = {
        "keep": parse_list(keep, "--keep") or [],
        "prefix": prefix,
        "with_error": with_error,
        "chunk_rows": chunk_size,
        "reading": _reading(delimiter, encoding, decimal),
        "quiet": quiet,
    }
    storage = parse_storage_options(storage_option)
    with storage_options(storage, [model_dir, data, output]):
        if dask is not None:
            from aefeat.cli.commands import run_encode_dask

            run_encode_dask(model_dir, data, output, scheduler=dask, storage=storage, **options)
        else:
            run_encode(model_dir, data, output, **options)


@app.command()
def inspect(
    model_dir: ModelDirArg,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="Data to analyse (default: the stored training sample).",
            callback=_path("--data", "name a file, or - for stdin (or no --data: the sample)"),
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot",
            help="Write a figure with latent scatter, loss curves and attribution: PNG, or SVG "
            "or PDF by extension.",
            callback=_path("--plot", "name a .png file (or .svg or .pdf)"),
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Column of --data used to colour the plot.")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Features shown per latent column.")] = 5,
    delimiter: Delimiter = None,
    encoding: Encoding = None,
    decimal: Decimal = None,
    storage_option: StorageOptions = None,
    # inspect has no chatter on stderr; -q is taken so that scripts can pass it to every command.
    quiet: Quiet = False,
) -> None:
    """Show what a model is and what it learned."""
    from aefeat.cli.commands import run_inspect

    if top < 1:
        raise AefeatError(f"invalid value {top}", "--top", "use a whole number of at least 1")

    if label is not None and data is None:
        raise AefeatError(
            "--label needs --data",
            "--label",
            "pass the data that holds the label column with --data",
        )
    if label is not None and plot is None:
        # The label colours the plot and nothing else: without one it would be ignored.
        raise AefeatError("--label colours the plot", "--label", "add --plot FILE.png")
    from aefeat.io.sinks import require_stdout

    require_stdout()  # the report's only place: refused before the work, not after it
    with storage_options(parse_storage_options(storage_option), [model_dir, data]):
        report = run_inspect(
            model_dir,
            data,
            plot=plot,
            label=label,
            reading=_reading(delimiter, encoding, decimal),
        )
    if as_json:
        _print_json(report)
        return
    from aefeat.cli.report import print_report
    from aefeat.io.sinks import writing_stdout

    with writing_stdout():
        print_report(report, top=top)


def _reading(delimiter: str | None, encoding: str | None, decimal: str | None) -> Any:
    """The CSV format that ``--delimiter``, ``--encoding`` and ``--decimal`` describe; an empty
    value (``-d "$SEP"`` with the variable unset) is refused, as train refuses it, not read as
    the default."""
    from aefeat.io.sources import CsvFormat

    given = {"delimiter": _unescape(delimiter), "encoding": encoding, "decimal": decimal}
    return CsvFormat(**{k: v for k, v in given.items() if v is not None})


def _print_json(value: dict[str, Any]) -> None:
    """``--json``: one strict JSON object on stdout."""
    from aefeat.io import strictjson
    from aefeat.io.sinks import writing_stdout

    with writing_stdout():
        sys.stdout.write(strictjson.dumps(value) + "\n")


_exit_code: int | None = None
_teardown_unsafe = False


def _exit_without_teardown() -> None:
    """The last exit handler of a process that imported TensorFlow, or whose libraries failed
    for lack of memory: end it now.

    Registered first, so it runs after every other exit handler (temporary files, thread pools,
    logging) and after Python has joined its threads. What it skips is the interpreter's
    teardown, which with TensorFlow loaded took about a second of every ``train`` here and does
    nothing a user can see: outputs are complete and synced before a command returns."""
    if _exit_code is None or not (_teardown_unsafe or "tensorflow" in sys.modules):
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(_exit_code)


def main() -> Any:
    """Console-script entry point."""
    global _exit_code
    import atexit

    from aefeat import keras_backend

    keras_backend.LEAN_IMPORT = True  # this process is ours: no Keras features beyond training
    atexit.register(_exit_without_teardown)
    try:
        return app()
    except SystemExit as exc:
        code = exc.code
        _exit_code = code if isinstance(code, int) else (0 if code is None else 1)
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
