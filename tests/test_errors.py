"""Issue #3: every failure a user can cause ends with exit code 2 and one line on stderr that names
the file, column, line or option and says what to do; no traceback; and no output file is created
or changed. Each case runs through the real CLI (typer's CliRunner, in-process)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FEATURES, assert_user_error, ok, run, snapshot, stray_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aefeat.cli.app import app
from aefeat.core.config import parse_list

# --- helpers -------------------------------------------------------------------------------


@dataclass
class Ctx:
    """Builds bad inputs in tmp_path from the session's good CSV and model."""

    tmp: Path
    model: Path
    good: Path

    @property
    def lines(self) -> list[str]:
        return self.good.read_text().splitlines(keepends=True)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    def with_row(self, name: str, line: int, row: str, replace: bool = False) -> str:
        """The good CSV with ``row`` at 1-based ``line`` (the header is line 1)."""
        lines = self.lines
        lines[line - 1 : line - 1 + int(replace)] = [row + "\n"]
        return self.file(name, "".join(lines))

    def model_copy(self, name: str = "model_copy") -> Path:
        dest = self.tmp / name
        shutil.copytree(self.model, dest)
        return dest


@pytest.fixture
def ctx(tmp_path, model_dir, csv_path) -> Ctx:
    work = tmp_path / "inputs"
    work.mkdir()
    return Ctx(work, Path(model_dir), Path(csv_path))


TRAIN_FAST = ["--exclude", "id,label", "--epochs", "1", "--hidden", "4"]


def command_args(cmd: str, c: Ctx, data: str, extra: list[str] = ()) -> list[str]:
    if cmd == "train":
        return ["train", data, *TRAIN_FAST, *extra]
    if cmd == "encode":
        return ["encode", str(c.model), data, *extra]
    return ["inspect", str(c.model), "--data", data, *extra]


def output_option(cmd: str, out_dir: Path, existing: bool, model: Path) -> tuple[list[str], Path]:
    """The output a command would write, pre-filled when ``existing``."""
    if cmd == "train":
        target = out_dir / "out_model"
        if existing:
            shutil.copytree(model, target)
        return ["-o", str(target)], target
    if cmd == "encode":
        target = out_dir / "latent.csv"
        if existing:
            target.write_bytes(b"id,z0,z1\nkeep,me,as-is\n")
        return ["-o", str(target)], target
    target = out_dir / "plot.png"
    if existing:
        target.write_bytes(b"\x89PNG old plot")
    return ["--plot", str(target)], target


def run_and_check_output(cmd: str, args: list[str], tmp_path: Path, existing: bool, model: Path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    opt, target = output_option(cmd, out_dir, existing, model)
    before = snapshot(target)
    result = run(*args, *opt)
    assert snapshot(target) == before, "the output was created or changed by a failed command"
    if not existing:
        assert not target.exists()
    assert stray_files(out_dir) == []
    return result


OUTPUT_MODES = [pytest.param(False, id="new-output"), pytest.param(True, id="existing-output")]

# --- input files and values: one builder per case, run through each command that reads data ---

Builder = Callable[[Ctx], str]
ALL = ("train", "encode", "inspect")


def _latin1_header(c: Ctx) -> str:
    text = "".join(c.lines).replace("id,", "idé,", 1)
    return c.file("latin1_header.csv", text.encode("latin-1"))


def _latin1_value(c: Ctx) -> str:
    lines = c.lines
    lines[30] = "café,1,2é,3,4,5,6,neg\n"
    return c.file("latin1_value.csv", "".join(lines).encode("latin-1"))


def _gzip_garbage(c: Ctx) -> str:
    return c.file("broken.csv.gz", gzip.compress(b"id,f0\n1,2\n" * 50)[:30] + b"\x00garbage" * 20)


def _duplicate_names(c: Ctx) -> str:
    lines = c.lines
    lines[0] = lines[0].replace("f3", "f1")
    return c.file("dup_names.csv", "".join(lines))


FILE_CASES: list[tuple[str, Builder, tuple[str, ...], tuple[str, ...]]] = [
    ("missing-file", lambda c: str(c.tmp / "nope.csv"), ("file not found", "nope.csv"), ALL),
    (
        "directory-not-file",
        lambda c: (c.tmp / "adir").mkdir() or str(c.tmp / "adir"),
        ("is a directory", "adir"),
        ("encode", "inspect"),
    ),
    (
        # train reads a directory's data files, as globs and encode --dask do.
        "directory-without-data-files",
        lambda c: (c.tmp / "adir").mkdir() or str(c.tmp / "adir"),
        ("no data files in the directory", "adir", ".csv"),
        ("train",),
    ),
    ("empty-file", lambda c: c.file("empty.csv", ""), ("the file is empty", "empty.csv"), ALL),
    ("blank-lines-only", lambda c: c.file("blank.csv", "\n \n\n"), ("the file is empty",), ALL),
    (
        # encode writes the header alone (test_encode_of_a_header_only_input_is_the_header).
        "header-only",
        lambda c: c.file("header.csv", c.lines[0]),
        ("header but no data rows", "header.csv"),
        ("train", "inspect"),
    ),
    (
        "header-only-no-line-break",
        lambda c: c.file("header.csv", c.lines[0].rstrip("\n")),
        ("header but no data rows", "header.csv"),
        ("train", "inspect"),
    ),
    (
        "single-data-row",
        lambda c: c.file("one_row.csv", "".join(c.lines[:2])),
        ("too few rows to train: 1", "need at least 4", "one_row.csv", "--latent-dim"),
        ("train",),
    ),
    (
        "binary-garbage",
        lambda c: c.file("garbage.csv", bytes(range(256)) * 8),
        ("binary, not CSV", "garbage.csv"),
        ALL,
    ),
    ("broken-gzip", _gzip_garbage, ("cannot read input", "broken.csv.gz"), ALL),
    (
        "non-utf8-header",
        _latin1_header,
        ("not valid utf-8", "latin1_header.csv", "--encoding"),
        ALL,
    ),
    (
        "non-utf8-value",
        _latin1_value,
        ("not valid utf-8", "latin1_value.csv", "line 31", "--encoding"),
        ALL,
    ),
    (
        "semicolon-delimiter",
        lambda c: c.file("semi.csv", "".join(c.lines).replace(",", ";")),
        ("only one column", "semi.csv", "--delimiter ';'"),
        ALL,
    ),
    (
        "tab-delimiter",
        lambda c: c.file("tabs.csv", "".join(c.lines).replace(",", "\t")),
        ("only one column", "--delimiter '\\t'"),
        ALL,
    ),
    (
        "too-many-fields",
        lambda c: c.with_row("many.csv", 11, "r,1,2,3,4,5,6,neg,EXTRA"),
        ("row has 9 fields, the header has 8", "many.csv, line 11"),
        ALL,
    ),
    (
        "too-few-fields",
        lambda c: c.with_row("few.csv", 11, "r,1,2"),
        ("row has 3 fields, the header has 8", "few.csv, line 11"),
        ALL,
    ),
    (
        "unterminated-quote",
        lambda c: c.with_row("quote.csv", 5, '"r,1,2,3,4,5,6,neg'),
        ("quote.csv, line 5",),
        ALL,
    ),
    (
        "duplicate-column-names",
        _duplicate_names,
        ("duplicate column names 'f1'", "dup_names.csv, line 1", "unique"),
        ALL,
    ),
    (
        "non-numeric-cell",
        lambda c: c.with_row("text.csv", 51, "r,1,oops,3,4,5,6,neg"),
        (
            "column 'f1' is not numeric",
            "text.csv, line 51",
            "'oops'",
            "fix or drop that row, or exclude the column with --exclude f1",
        ),
        ("train",),
    ),
    (
        # encode and inspect need every training column, so --exclude is no way out there.
        "non-numeric-cell-in-training-column",
        lambda c: c.with_row("text.csv", 51, "r,1,oops,3,4,5,6,neg"),
        ("column 'f1' is not numeric", "text.csv, line 51", "'oops'", "fix or drop that row"),
        ("encode", "inspect"),
    ),
    (
        "missing-and-infinite-train",
        lambda c: c.with_row("nan.csv", 51, "r,1,,3,4,5,inf,neg"),
        # The line of the first bad value, as encode names it.
        (
            "missing or infinite",
            "'f1' (1 missing)",
            "'f5' (1 infinite)",
            "nan.csv, line 51",
            "--impute",
        ),
        ("train",),
    ),
    (
        # Named the file only, where train and encode name the line.
        "missing-and-infinite-inspect",
        lambda c: c.with_row("nan.csv", 51, "r,1,,3,4,5,-inf,neg"),
        (
            "missing or infinite",
            "'f1' (1 missing)",
            "'f5' (1 infinite)",
            "nan.csv, line 51, the first of them",
        ),
        ("inspect",),
    ),
    (
        "missing-value-encode",
        lambda c: c.with_row("nan.csv", 51, "r,1,,3,4,5,6,neg"),
        ("missing or infinite value in column 'f1'", "nan.csv, line 51", "--impute"),
        ("encode",),
    ),
    (
        "infinite-value-encode",
        lambda c: c.with_row("inf.csv", 51, "r,1,2,3,4,5,inf,neg"),
        ("column 'f5'", "inf.csv, line 51"),
        ("encode",),
    ),
    (
        "values-too-large",
        lambda c: c.with_row("huge.csv", 51, "r,1,2,3,1e300,5,6,neg"),
        ("too large", "'f3'", "huge.csv", "rescale"),
        ("train",),
    ),
    (
        "training-column-missing",
        lambda c: c.file("no_f2.csv", "id,f0,f1,f3,f4,f5\nr,1,2,3,4,5\n"),
        ("'f2' missing from the data", "no_f2.csv"),
        ("encode", "inspect"),
    ),
    (
        # Said only that 'f2' was missing, with 'F2' right there.
        "training-column-in-another-case",
        lambda c: c.file("case_f2.csv", "id,f0,f1,F2,f3,f4,f5\nr,1,2,3,4,5,6\n"),
        ("'f2' missing", "case_f2.csv", "the data has 'F2', not 'f2' (the case differs)", "rename"),
        ("encode", "inspect"),
    ),
]


@pytest.mark.parametrize("existing", OUTPUT_MODES)
@pytest.mark.parametrize(
    "cmd, build, words",
    [
        pytest.param(cmd, build, words, id=f"{cmd}-{name}")
        for name, build, words, cmds in FILE_CASES
        for cmd in cmds
    ],
)
def test_bad_input_file(cmd, build, words, existing, ctx, tmp_path):
    args = command_args(cmd, ctx, build(ctx))
    result = run_and_check_output(cmd, args, tmp_path, existing, ctx.model)
    assert_user_error(result, *words)


@pytest.mark.parametrize("cmd", ALL)
def test_unreadable_file(cmd, ctx, tmp_path, monkeypatch):
    path = Path(ctx.file("secret.csv", "".join(ctx.lines)))
    path.chmod(0)
    if os.access(path, os.R_OK):  # running as root: permissions do not stop reading
        real_open = open

        def refusing_open(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr("aefeat.io.sources.open", refusing_open, raising=False)
    result = run_and_check_output(cmd, command_args(cmd, ctx, str(path)), tmp_path, True, ctx.model)
    assert_user_error(result, "permission denied", "secret.csv")


# --- options ---------------------------------------------------------------------------------

CONFIG_CASES = {
    "unknown-key": ("latent_dim: 2\nbogus_key: 3\n", ("unknown key 'bogus_key'", "cfg.yaml")),
    "invalid-yaml": ("latent_dim: [1\n", ("not valid YAML", "cfg.yaml, line 2")),
    "invalid-value": ('latent_dim: "two"\n', ("key 'latent_dim'", "cfg.yaml")),
    "not-a-mapping": ("- a\n- b\n", ("must be a mapping", "cfg.yaml", "'latent_dim: 2'")),
    "hidden-empty-text": ('hidden: ""\n', ("key 'hidden' in", "cfg.yaml", "none for no hidden")),
    # A few hundred bytes of aliases expanded into an 80 MB error line ("billion laughs").
    "aliases": (
        "columns: [&a [x, x, x, x, x, x, x, x], &b [*a, *a, *a, *a], [*b, *b, *b]]\n",
        ("aliases (*name) are not allowed", "cfg.yaml, line 1"),
    ),
    # These were internal errors (TypeError, RecursionError), exit 1.
    "list-as-key": ("? [a, b]\n: 1\n", ("a key must be a name", "cfg.yaml, line 1")),
    "nested-too-deeply": ("columns: " + "[" * 3000 + "]" * 3000 + "\n", ("nested too deeply",)),
    "python-tag": ("!!python/object/apply:os.getcwd []\n", ("not valid YAML", "cfg.yaml")),
    # Named by the key, not the flag (it said "(--encoding)", "(--columns)").
    "unknown-encoding": (
        "encoding: nonsense\n",
        ("unknown encoding 'nonsense' (key 'encoding' in", "cfg.yaml", "utf-8 or latin-1"),
    ),
    "columns-named-twice": (
        "columns: [f0, f1, f0]\n",
        ("column 'f0' is named twice (key 'columns' in", "name each column once"),
    ),
    # YAML reads 0 and no as a number and a boolean: said "invalid value [0, False]".
    "names-read-as-number-and-boolean": (
        "exclude: [0, no]\n",
        (
            "column names in exclude must be strings: YAML reads 0 as a number, no as a boolean",
            "key 'exclude' in",
            "quote them: exclude: ['0', 'no']",
        ),
    ),
    # Said "cannot read config file: 'utf-8' codec can't decode byte 0xe9 in position 13: ...".
    "not-utf-8": (
        "latent_dim: 2\nexclude: [caf\xe9]\n".encode("latin-1"),
        ("config file is not UTF-8 text: byte 0xe9", "cfg.yaml, line 2", "save it as UTF-8"),
    ),
}

TRAIN_OPTION_CASES = [
    ("latent-dim-0", ["--latent-dim", "0"], ("--latent-dim", "at least 1")),
    ("latent-dim-negative", ["--latent-dim", "-3"], ("--latent-dim",)),
    ("latent-dim-above-features", ["--latent-dim", "7"], ("--latent-dim", "use at most 6")),
    ("latent-dim-fraction-above-1", ["--latent-dim", "1.5"], ("--latent-dim", "a fraction")),
    ("latent-dim-not-a-number", ["--latent-dim", "two"], ("--latent-dim", "at least 1")),
    ("columns-absent", ["--columns", "f0,f1,nosuch"], ("'nosuch' not found", "--columns")),
    ("exclude-absent", ["--exclude", "nosuch"], ("'nosuch' not found", "--exclude")),
    (
        "no-columns-left",
        ["--exclude", "id,label," + ",".join(FEATURES)],
        ("no feature columns left",),
    ),
    ("validation-split-0", ["--validation-split", "0"], ("--validation-split", "between 0 and 1")),
    ("validation-split-1", ["--validation-split", "1"], ("--validation-split",)),
    (
        "validation-split-leaves-no-training-rows",
        ["--validation-split", "0.995"],
        ("too few rows to train: 240", "--validation-split 0.995"),
    ),
    ("unknown-activation", ["--activation", "swishy"], ("--activation", "relu")),
    ("unknown-latent-activation", ["--latent-activation", "nope"], ("--latent-activation",)),
    ("unknown-output-activation", ["--output-activation", "nope"], ("--output-activation",)),
    ("negative-epochs", ["--epochs", "-1"], ("--epochs", "at least 0")),
    ("non-integer-epochs", ["--epochs", "ten"], ("--epochs",)),
    ("negative-batch-size", ["--batch-size", "-5"], ("--batch-size", "at least 1", "'auto'")),
    ("zero-batch-size", ["--batch-size", "0"], ("--batch-size",)),
    ("text-batch-size", ["--batch-size", "big"], ("--batch-size",)),
    ("zero-learning-rate", ["--learning-rate", "0"], ("--learning-rate",)),
    ("zero-patience", ["--patience", "0"], ("--patience",)),
    ("hidden-not-numbers", ["--hidden", "a,b"], ("--hidden",)),
    ("hidden-zero", ["--hidden", "0"], ("--hidden", "such as 64,32")),
    # An empty shell variable is not "no hidden layers" (that is --hidden none).
    ("hidden-empty", ["--hidden", ""], ("invalid value ''", "--hidden", "none for no hidden")),
    ("hidden-commas-only", ["--hidden", ","], ("--hidden",)),
    # "$H1,$H2" with H2 unset trained one layer without a word, as did a doubled comma.
    ("hidden-trailing-comma", ["--hidden", "64,"], ("invalid value '64,'", "--hidden")),
    ("hidden-empty-size", ["--hidden", "64,,32"], ("invalid value '64,,32'", "--hidden")),
    ("one-feature-column", ["--columns", "f0"], ("too few feature columns: 1;", "tiny.csv")),
    ("unknown-impute", ["--impute", "mode"], ("--impute", "mean")),
    ("zero-max-rows", ["--max-rows", "0"], ("--max-rows",)),
    ("negative-seed", ["--seed", "-1"], ("--seed",)),
    ("long-delimiter", ["--delimiter", ";;"], ("--delimiter",)),
    ("quote-delimiter", ["--delimiter", '"'], ("--delimiter",)),
    ("unknown-encoding", ["--encoding", "klingon"], ("unknown encoding 'klingon'", "--encoding")),
    ("unknown-option", ["--latnet-dim", "2"], ("No such option: --latnet-dim",)),
    # A value given to a flag that takes none is read as a second DATA path (was exit 1).
    ("value-after-a-boolean-flag", ["--linear-path", "off"], ("file not found (off)", "stray")),
    ("stream-and-max-rows", ["--stream", "--max-rows", "50"], ("trains in memory", "--stream")),
    ("missing-config-file", ["--config", "no_such.yaml"], ("config file not found",)),
]


@pytest.mark.parametrize("existing", OUTPUT_MODES)
@pytest.mark.parametrize(
    "extra, words", [pytest.param(e, w, id=name) for name, e, w in TRAIN_OPTION_CASES]
)
def test_bad_train_option(extra, words, existing, ctx, tmp_path):
    args = command_args("train", ctx, str(ctx.good), extra)
    result = run_and_check_output("train", args, tmp_path, existing, ctx.model)
    assert_user_error(result, *words)


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_file(case, ctx, tmp_path):
    text, words = CONFIG_CASES[case]
    config = ctx.file("cfg.yaml", text)
    args = command_args("train", ctx, str(ctx.good), ["--config", config])
    result = run_and_check_output("train", args, tmp_path, True, ctx.model)
    assert_user_error(result, *words)


def test_config_that_is_a_directory(ctx, tmp_path):
    # Said "cannot read config file: [Errno 21] Is a directory: '...' (...)", with no hint.
    folder = tmp_path / "configs"
    folder.mkdir()
    args = command_args("train", ctx, str(ctx.good), ["--config", folder, "-o", tmp_path / "m"])
    result = run(*args)
    assert_user_error(result, f"config file is a directory ({folder})", "pass a YAML file")


ENCODE_OPTION_CASES = [
    ("keep-absent", ["--keep", "id,nosuch"], ("'nosuch' not found", "--keep")),
    ("zero-chunk-size", ["--chunk-size", "0"], ("--chunk-size",)),
    ("empty-prefix", ["--prefix", ""], ("--prefix",)),
    ("prefix-collides-with-kept-column", ["--keep", "f0", "--prefix", "f"], ("collide", "'f0'")),
    ("long-delimiter", ["--delimiter", "::"], ("--delimiter",)),
    ("unknown-encoding", ["--encoding", "klingon"], ("--encoding",)),
    ("unknown-option", ["--kep", "id"], ("No such option: --kep",)),
]


@pytest.mark.parametrize("existing", OUTPUT_MODES)
@pytest.mark.parametrize(
    "extra, words", [pytest.param(e, w, id=name) for name, e, w in ENCODE_OPTION_CASES]
)
def test_bad_encode_option(extra, words, existing, ctx, tmp_path):
    args = command_args("encode", ctx, str(ctx.good), extra)
    result = run_and_check_output("encode", args, tmp_path, existing, ctx.model)
    assert_user_error(result, *words)


INSPECT_OPTION_CASES = [
    ("label-absent", ["--data", "GOOD", "--label", "nosuch"], ("'nosuch' not found", "--label")),
    ("label-without-data", ["--label", "label"], ("--label needs --data",)),
    ("unknown-encoding", ["--data", "GOOD", "--encoding", "klingon"], ("--encoding",)),
]


@pytest.mark.parametrize("existing", OUTPUT_MODES)
@pytest.mark.parametrize(
    "extra, words", [pytest.param(e, w, id=name) for name, e, w in INSPECT_OPTION_CASES]
)
def test_bad_inspect_option(extra, words, existing, ctx, tmp_path):
    extra = [str(ctx.good) if a == "GOOD" else a for a in extra]
    args = ["inspect", str(ctx.model), *extra]
    result = run_and_check_output("inspect", args, tmp_path, existing, ctx.model)
    assert_user_error(result, *words)


@pytest.mark.parametrize("existing", OUTPUT_MODES)
def test_encode_failure_after_chunks_were_written(existing, ctx, tmp_path):
    """Small chunks: four are written to the temporary file before line 51 fails."""
    path = ctx.with_row("late_nan.csv", 51, "r,1,,3,4,5,6,neg")
    args = command_args("encode", ctx, path, ["--chunk-size", "10", "--keep", "id"])
    result = run_and_check_output("encode", args, tmp_path, existing, ctx.model)
    assert_user_error(result, "column 'f1'", "late_nan.csv, line 51")


def test_train_refuses_text_column_and_suggests_exclude(ctx, tmp_path):
    args = ["train", str(ctx.good), "--epochs", "1"]
    result = run_and_check_output("train", args, tmp_path, True, ctx.model)
    # Every text column of the first row at once (it named 'id', then 'label' on the next run).
    assert_user_error(
        result, "columns 'id', 'label' hold text, not numbers", "line 2", "--exclude id,label"
    )


@pytest.mark.parametrize("name", ["my col", "a;b", "it's", 'x,"y"', "$HOME"])
@pytest.mark.parametrize("several", [False, True], ids=["one-column", "first-row-texts"])
def test_exclude_hint_is_a_command_the_shell_reads_back(name, several, tmp_path):
    # The hint's name went into the command unquoted: "--exclude my col" excluded 'my'.
    frame = pd.DataFrame({"a": [1.0, 2, 3], "b": ["4", "5", "6"], name: ["1", "2", "oops"]})
    if several:  # text in the first row of two columns: both named in one hint
        frame.loc[0, ["b", name]] = ["x", "y"]
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    result = run("train", path, "-o", tmp_path / "m", "--epochs", "0")
    assert_user_error(result, "not numbers" if several else "is not numeric", "--exclude ")
    # The command's value as a shell reads it: one word, no ';' ending the command, no $HOME.
    typed = result.stderr.split("--exclude ", 1)[1].split(" (or encode")[0].rstrip("\n")
    shell = subprocess.run(["sh", "-c", f"printf '%s\\0' {typed}"], capture_output=True, text=True)
    words = shell.stdout.split("\0")[:-1]
    assert len(words) == 1 and parse_list(words, "--exclude") == (
        ["b", name] if several else [name]
    )


@pytest.mark.parametrize("cmd", ["train", "encode", "inspect"])
def test_bad_row_on_stdin_is_named_by_its_data_row(cmd, ctx):
    # stdin cannot be read again for the line: '(<stdin>, value 'oops')' named no row at all.
    lines = ctx.lines
    cells = lines[4].rstrip("\n").split(",")
    cells[3] = "oops"  # f2
    # A blank line is no row: the bad one is data row 4, on line 6.
    text = "".join([*lines[:4], "\n", ",".join(cells) + "\n", *lines[5:]])
    out, target = output_option(cmd, ctx.tmp, False, ctx.model)
    result = run(*command_args(cmd, ctx, "-", out), input=text)
    assert_user_error(result, "column 'f2' is not numeric (<stdin>, data row 4: 'oops')")
    short = "".join([*lines[:3], "1,2\n", *lines[3:]])
    result = run(*command_args(cmd, ctx, "-", out), input=short)
    assert_user_error(result, "row has 2 fields, the header has 8 (<stdin>, data row 3)")
    assert not target.exists()


def test_bad_row_on_stdin_past_the_first_block_is_counted_from_the_start(ctx):
    header, row = ctx.lines[0], ctx.lines[1]
    n = (9 << 20) // len(row)  # past the first 8 MiB block
    text = header + row * n + row.replace("row0,", "row0,oops", 1) + row * 10
    result = run("encode", str(ctx.model), "-", "-o", str(ctx.tmp / "z.csv"), input=text)
    assert_user_error(result, f"(<stdin>, data row {n + 1}: 'oops")


def test_a_column_both_selected_and_excluded_is_refused(ctx):
    # --exclude silently won: '--columns f0,f1,f2 --exclude f1' trained on f0 and f2.
    out = ctx.tmp / "m"
    args = ["--columns", "f0,f1,f2", "--exclude", "f1", "--epochs", "1", "--hidden", "2"]
    result = run("train", str(ctx.good), *args, "-o", str(out))
    assert_user_error(
        result,
        "column 'f1' is both selected and excluded (--columns, --exclude)",
        "in --columns or in --exclude, not both",
    )
    assert not out.exists()
    config = ctx.file("run.yaml", "exclude: [f1, label]\n")
    result = run("train", str(ctx.good), "--config", config, *args[:2], "-o", str(out))
    assert_user_error(result, "(--columns, key 'exclude' in")
    # Excluded columns --columns does not name are no contradiction.
    ok("train", str(ctx.good), *args[:2], "--exclude", "id,label", *args[4:], "-q", "-o", str(out))
    assert json.loads((out / "metadata.json").read_text())["input_columns"] == ["f0", "f1", "f2"]


def _wide(names: list[str], rows: list[str] | None = None) -> str:
    """A CSV of ``names`` and two data rows (``rows`` if given) with varying numbers."""
    rows = rows or [",".join(str(i + j) for j in range(len(names))) for i in range(2)]
    return "\n".join([",".join(names), *rows]) + "\n"


LONG_LIST_CASES = [
    # Thousands of columns printed thousands of names on one line: ten, then a count.
    (
        "exclude-absent",
        lambda c: str(c.good),
        ["--exclude", ",".join(f"n{i}" for i in range(30))],
        ("columns 'n0', 'n1',", "'n9' and 20 more not found", "--exclude"),
    ),
    (
        "available-columns",
        lambda c: c.file("wide.csv", _wide([f"c{i}" for i in range(30)])),
        ["--columns", "nosuch"],
        ("available columns: c0, c1,", "c19 and 10 more"),
    ),
    (
        "duplicate-names",
        lambda c: c.file("dup.csv", _wide([f"d{i:02}" for i in range(30)] * 2)),
        [],
        ("duplicate column names 'd00',", "'d09' and 20 more (", "line 1"),
    ),
    (
        # Were cut at five with nothing said of the others.
        "too-large",
        lambda c: c.file(
            "huge.csv", _wide([f"h{i:02}" for i in range(12)], ["1e300," * 11 + "1"] * 2)
        ),
        [],
        ("values too large to train on in 'h00' (from", "'h09' (from 1e+300 to 1e+300) and 1 more"),
    ),
]


@pytest.mark.parametrize(
    "build, extra, words", [pytest.param(b, e, w, id=n) for n, b, e, w in LONG_LIST_CASES]
)
def test_long_name_lists_show_ten_and_a_count(build, extra, words, ctx, tmp_path):
    result = run("train", build(ctx), "-o", tmp_path / "m", *extra)
    assert_user_error(result, *words)
    assert len(result.stderr) < 800, result.stderr


def test_train_tells_decimal_commas_and_blank_cells_for_what_they_are(tmp_path):
    # A semicolon file from a spreadsheet with decimal commas: "fix or drop that row" moved the
    # error to the next column on each run. A cell of spaces was shown as '' with no line.
    path = tmp_path / "excel.csv"
    path.write_text("a;b;c\n0,5;1,25;3\n1,5;2,5;4\n")
    result = run("train", path, "-o", tmp_path / "m", "-d", ";")
    assert_user_error(result, "holds decimal commas", "line 2", "pass --decimal ','")
    blank = tmp_path / "blank.csv"
    blank.write_text("a,b,c\n1,2,3\n4, ,6\n7,8,9\n")
    result = run("train", blank, "-o", tmp_path / "m")
    assert_user_error(result, "column 'b' is not numeric", "blank.csv, line 3: ' '")


def test_train_output_is_an_existing_file(ctx):
    target = Path(ctx.file("precious.txt", "not a model\n"))
    result = run("train", str(ctx.good), *TRAIN_FAST, "-o", str(target))
    assert_user_error(result, "not an aefeat model directory", "precious.txt", "-o")
    assert target.read_text() == "not a model\n"
    assert stray_files(ctx.tmp) == []


@pytest.mark.parametrize(
    "make_target, words",
    [
        pytest.param(lambda d: d / "no_dir" / "z.csv", ("output directory does not exist",), id="dir-missing"),
        pytest.param(lambda d: d, ("output is a directory",), id="is-a-directory"),
    ],
)  # fmt: skip
def test_encode_output_path_errors(make_target, words, ctx):
    target = make_target(ctx.tmp)
    before = sorted(p.name for p in ctx.tmp.iterdir())
    result = run("encode", str(ctx.model), str(ctx.good), "-o", str(target))
    assert_user_error(result, *words)
    assert sorted(p.name for p in ctx.tmp.iterdir()) == before


# --- model directories -----------------------------------------------------------------------


def _edit_metadata(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        meta = json.loads((d / "metadata.json").read_text())
        change(meta)
        (d / "metadata.json").write_text(json.dumps(meta))

    return edit


def _resign(d: Path) -> None:
    """Make metadata.json's sha256 values match the files again (as a careless user might)."""
    from aefeat.modeldir import sha256_file

    meta = json.loads((d / "metadata.json").read_text())
    meta["files"] = {name: sha256_file(d / name) for name in meta["files"]}
    (d / "metadata.json").write_text(json.dumps(meta))


def _truncate(name: str, resign: bool = False) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[: len(data) // 2])
        if resign:
            _resign(d)

    return edit


def _flip_byte(name: str) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        data = bytearray((d / name).read_bytes())
        data[len(data) // 2] ^= 0x01
        (d / name).write_bytes(bytes(data))

    return edit


def _replace_with_file(d: Path) -> None:
    shutil.rmtree(d)
    d.write_text("x")


def _empty_dir(d: Path) -> None:
    shutil.rmtree(d)
    d.mkdir()


def _garbage_weights(d: Path) -> None:
    (d / "weights.npz").write_bytes(b"garbage" * 9)
    _resign(d)


def _object_weights(d: Path) -> None:
    np.savez(d / "weights.npz", w=np.array([{"a": 1}], dtype=object))
    _resign(d)


def _rewrite_weights(d: Path, how: str) -> None:
    """weights.npz with the same arrays, rewritten as an attacker would: deflated (a small file
    that expands to gigabytes), int8 (8-fold on conversion), or with a forged header length."""
    import zipfile

    with np.load(d / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    if how == "nan":
        first = next(iter(arrays))
        arrays[first] = np.full_like(arrays[first], np.nan)
        np.savez(d / "weights.npz", **arrays)
    elif how == "int8":
        np.savez(d / "weights.npz", **{k: v.astype(np.int8) for k, v in arrays.items()})
    elif how == "deflated":
        np.savez_compressed(d / "weights.npz", **arrays)
    else:
        buf = io.BytesIO()
        np.save(buf, arrays[next(iter(arrays))])
        raw = bytearray(buf.getvalue())
        raw[6], raw[8:10] = 2, b"\x00\x00"  # version 2.0: a 4-byte header length ...
        raw[8:12] = (10**9).to_bytes(4, "little")  # ... of a billion bytes
        with zipfile.ZipFile(d / "weights.npz", "w") as zf:
            for i, key in enumerate(arrays):
                zf.writestr(f"{key}.npy", bytes(raw) if i == 0 else b"")
    _resign(d)


MODEL_DIR_CASES: list[tuple[str, Callable[[Path], Path | None], tuple[str, ...]]] = [
    ("missing", lambda d: d.parent / "no_model", ("model directory not found", "no_model")),
    ("a-file", _replace_with_file, ("not a model directory", "it is a file")),
    ("empty-directory", _empty_dir, ("metadata.json is missing",)),
    (
        "unknown-format-version",
        _edit_metadata(lambda m: m.update(format_version=99)),
        ("unknown model format version 99", "metadata.json"),
    ),
    (
        "no-format-marker",
        _edit_metadata(lambda m: m.pop("format")),
        ("not an aefeat model directory",),
    ),
    (
        "metadata-not-json",
        lambda d: (d / "metadata.json").write_text('{"format": "aefeat-model", ') and None,
        ("metadata.json is not valid JSON",),
    ),
    (
        "metadata-empty",
        lambda d: (d / "metadata.json").write_text(""),
        ("metadata.json is not valid JSON",),
    ),
    (
        "metadata-binary",
        lambda d: (d / "metadata.json").write_bytes(b"\xff\xfe\x00\x01"),
        ("metadata.json is not valid JSON",),
    ),
    (
        "metadata-a-list",
        lambda d: (d / "metadata.json").write_text("[1, 2]"),
        ("not an aefeat model directory",),
    ),
    (
        "files-not-listed",
        _edit_metadata(lambda m: m.pop("files")),
        ("does not list the model files",),
    ),
    ("weights-changed", _flip_byte("weights.npz"), ("weights.npz", "sha256", "refusing")),
    ("weights-truncated", _truncate("weights.npz"), ("weights.npz", "sha256")),
    ("encoder-truncated", _truncate("encoder.keras"), ("encoder.keras", "sha256")),
    ("decoder-changed", _flip_byte("decoder.keras"), ("decoder.keras", "sha256")),
    ("sample-changed", _flip_byte("sample.npz"), ("sample.npz", "sha256")),
    ("weights-missing", lambda d: (d / "weights.npz").unlink(), ("weights.npz is missing",)),
    (
        "weights-truncated-sha-updated",
        _truncate("weights.npz", resign=True),
        ("cannot read weights.npz", "retrain"),
    ),
    (
        "weights-garbage-sha-updated",
        _garbage_weights,
        ("cannot read weights.npz", "not a valid .npz file"),
    ),
    (
        "weights-with-objects-sha-updated",
        _object_weights,
        ("cannot read weights.npz",),
    ),
    # Crafted to exhaust memory on load (a 1 MB file asked for 2 GB, a 440 KB one for 4 GB).
    (
        "weights-not-finite",
        lambda d: _rewrite_weights(d, "nan"),
        ("weights.npz holds values that are not finite", "retrain"),
    ),
    (
        "metadata-nested-500-deep",
        _edit_metadata(lambda m: m["config"].update(x=json.loads("[" * 500 + "]" * 500))),
        ("nested more than 32 levels",),
    ),
    (
        "metrics-not-numbers",
        _edit_metadata(lambda m: m["metrics"].update(best_epoch=[1, 2])),
        ("metrics best_epoch must be a finite number or null",),
    ),
    (
        "scaling-span-overflows",
        _edit_metadata(lambda m: m["scaling"].update(min=[-1.7e308] * 6, max=[1.7e308] * 6)),
        ("scaling spans more than",),
    ),
    (
        "weights-deflated",
        lambda d: _rewrite_weights(d, "deflated"),
        ("cannot read weights.npz", "is compressed"),
    ),
    (
        "weights-int8",
        lambda d: _rewrite_weights(d, "int8"),
        ("cannot read weights.npz", "not float32 or float64"),
    ),
    (
        "weights-header-a-billion-bytes",
        lambda d: _rewrite_weights(d, "header"),
        ("cannot read weights.npz", "declares a 1000000000-byte header"),
    ),
    (
        "network-shape-mismatch",
        _edit_metadata(lambda m: m["network"].update(latent_dim=3)),
        ("weights.npz does not match metadata.json",),
    ),
    (
        "unknown-activation",
        _edit_metadata(lambda m: m["network"].update(activation="evil")),
        ("metadata.json is inconsistent", "activation"),
    ),
    (
        "scaling-null",
        _edit_metadata(lambda m: m.update(scaling=None)),
        ("metadata.json is inconsistent", "scaling"),
    ),
    (
        "columns-not-names",
        _edit_metadata(lambda m: m.update(input_columns=list(range(6)))),
        ("metadata.json is inconsistent", "input_columns"),
    ),
    (
        "training-not-an-object",
        _edit_metadata(lambda m: m.update(training=5)),
        ("metadata.json is inconsistent", "training"),
    ),
    (
        "network-edited-apart-from-config",
        _edit_metadata(lambda m: m["network"].update(activation="tanh")),
        ("metadata.json is inconsistent", "network activation 'tanh' does not match"),
    ),
    (
        "scaling-min-above-max",
        _edit_metadata(
            lambda m: m["scaling"].update(min=m["scaling"]["max"], max=m["scaling"]["min"])
        ),
        ("metadata.json is inconsistent", "scaling min is above max for column 'f0'"),
    ),
]


@pytest.mark.parametrize("cmd", ["encode", "inspect"])
@pytest.mark.parametrize(
    "damage, words", [pytest.param(f, w, id=name) for name, f, w in MODEL_DIR_CASES]
)
def test_bad_model_directory(cmd, damage, words, ctx, tmp_path):
    model = ctx.model_copy()
    moved = damage(model)
    model = moved if isinstance(moved, Path) else model
    if cmd == "encode":
        args = ["encode", str(model), str(ctx.good)]
    else:
        args = ["inspect", str(model), "--json"]
    result = run_and_check_output(cmd, args, tmp_path, True, ctx.model)
    assert_user_error(result, *words)
    assert result.stdout == ""


def test_load_keras_model_refuses_bad_directory(ctx):
    from aefeat.errors import AefeatError
    from aefeat.modeldir import load_keras_model

    model = ctx.model_copy()
    _truncate("decoder.keras")(model)
    with pytest.raises(AefeatError, match="sha256"):
        load_keras_model(model, "decoder.keras")


# --- tracebacks only on request ----------------------------------------------------------------


@pytest.mark.parametrize(
    "how", [pytest.param({"args": ["--debug"]}, id="flag"), pytest.param({"env": {"AEFEAT_DEBUG": "1"}}, id="env")]
)  # fmt: skip
def test_traceback_only_with_debug(how, tmp_path):
    args = ["encode", str(tmp_path / "no_model"), "x.csv", *how.get("args", [])]
    result = CliRunner().invoke(app, args, env=how.get("env"))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("aefeat: error: model directory")


def test_plain_aefeat_shows_help():
    result = run()
    assert result.exit_code == 0
    assert "Usage" in result.stdout and "train" in result.stdout


# --- inputs that must work -------------------------------------------------------------------


def _encode(model: Path, data: Path | str, *extra: str):
    result = run("encode", str(model), str(data), *extra)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_encode_outside_training_range_works_and_says_how_many(ctx):
    cells = ctx.lines[50].rstrip("\n").split(",")
    cells[1], cells[6] = "1000", "-600"  # f0 and f5 far outside; the rest as trained
    path = ctx.with_row("outside.csv", 51, ",".join(cells), replace=True)
    result = _encode(ctx.model, path)
    assert "2 values were outside the training range" in result.stderr
    assert "f0" in result.stderr and "f5" in result.stderr
    out = pd.read_csv(io.StringIO(result.stdout))
    assert len(out) == 240 and np.isfinite(out[["z0", "z1"]].to_numpy()).all()
    cells = ctx.lines[50].rstrip("\n").split(",")
    cells[1] = "1000"  # f0 alone
    one = _encode(ctx.model, ctx.with_row("one_out.csv", 51, ",".join(cells), replace=True))
    assert "1 value was outside the training range (columns f0)" in one.stderr


def test_encode_single_row_works(ctx):
    result = _encode(ctx.model, ctx.file("one.csv", "".join(ctx.lines[:2])), "--keep", "id")
    assert pd.read_csv(io.StringIO(result.stdout)).shape == (1, 3)


def test_encode_columns_matched_by_name(ctx, frame):
    reordered = frame[["f5", "label", "f3", "f0", "f1", "id", "f4", "f2"]].assign(extra="x")
    path = ctx.tmp / "reordered.csv"
    reordered.to_csv(path, index=False)
    out = ctx.tmp / "z.csv"
    _encode(ctx.model, path, "-o", str(out))
    assert out.read_text() == _encode(ctx.model, ctx.good).stdout


def test_quoted_line_breaks_in_header_and_values(ctx, frame):
    odd = frame.rename(columns={"label": "la\nbel"})
    odd.loc[5, "id"] = "two\nlines"
    path = ctx.tmp / "line_breaks.csv"
    odd.to_csv(path, index=False)
    result = _encode(ctx.model, path, "--keep", "id,la\nbel")
    out = pd.read_csv(io.StringIO(result.stdout))
    assert list(out.columns) == ["id", "la\nbel", "z0", "z1"]
    assert out["id"][5] == "two\nlines" and len(out) == len(frame)
    plain = _encode(ctx.model, ctx.good).stdout
    assert _encode(ctx.model, path).stdout == plain


def test_encode_non_utf8_with_encoding_option(ctx, frame):
    lines = ctx.lines
    lines[1] = "café" + lines[1][lines[1].index(",") :]
    path = ctx.file("latin1.csv", "".join(lines).encode("latin-1"))
    assert_user_error(run("encode", str(ctx.model), path, "--keep", "id"), "--encoding")
    result = _encode(ctx.model, path, "--keep", "id", "--encoding", "latin-1")
    assert pd.read_csv(io.StringIO(result.stdout))["id"][0] == "café"


def _strict_json(text: str):
    def refuse(name):
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def imputing_model(tmp_path_factory):
    """A model trained with --impute mean on data with a constant column and missing cells."""
    rng = np.random.default_rng(3)
    n = 120
    t = rng.uniform(-1, 1, n)
    X = np.column_stack([t, t**2, np.sin(3 * t), np.full(n, 7.0)]) + 0.01 * rng.normal(size=(n, 4))
    X[:, 3] = 7.0
    frame = pd.DataFrame(X, columns=["a", "b", "c", "const"])
    frame.loc[[3, 50], "b"] = np.nan
    frame.loc[9, "c"] = np.inf
    base = tmp_path_factory.mktemp("impute")
    path = base / "train.csv"
    frame.to_csv(path, index=False)
    out = base / "model"
    refused = run("train", str(path), "-o", str(out), "--epochs", "2", "--hidden", "4")
    assert_user_error(refused, "'b' (2 missing)", "'c' (1 infinite)", "--impute")
    result = run(
        "train", str(path), "-o", str(out), "--impute", "mean", "--epochs", "2", "--hidden", "4",
        "--seed", "0", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out, frame


@pytest.mark.parametrize("how", [[], ["--stream"], ["--max-rows", "50"]], ids=str)
def test_impute_refuses_a_column_with_no_values(tmp_path, how):
    # In memory, streamed and sampled: one rule, one wording, no model left behind.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    frame["b"] = np.nan
    frame.loc[5, "a"] = np.nan
    path = tmp_path / "empty.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "model"
    result = run("train", path, "-o", out, "--impute", "mean", "--epochs", "1", *how)
    assert_user_error(result, "no values to impute from in column 'b'", "empty.csv", "--exclude b")
    assert not out.exists() and stray_files(tmp_path) == []


def test_constant_column_and_imputation(imputing_model, tmp_path):
    model, frame = imputing_model
    meta = _strict_json((model / "metadata.json").read_text())
    finite = frame.replace([np.inf, -np.inf], np.nan)
    assert meta["scaling"]["fill"] == pytest.approx(finite.mean().tolist())
    # Encode: a missing cell is filled with the training mean, so it encodes like the mean itself.
    rows = pd.DataFrame({"a": [0.2, 0.2], "b": [np.nan, meta["scaling"]["fill"][1]]})
    rows["c"], rows["const"] = 0.1, 7.0
    path = tmp_path / "rows.csv"
    rows.to_csv(path, index=False)
    result = _encode(model, path)
    assert "1 missing values were filled with training statistics" in result.stderr
    out = pd.read_csv(io.StringIO(result.stdout)).to_numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    inspected = run("inspect", str(model), "--json")
    assert inspected.exit_code == 0, inspected.stderr
    _strict_json(inspected.stdout)


@pytest.mark.parametrize("how", [[], ["--stream"], ["--max-rows", "40"]], ids=str)
def test_train_refuses_a_table_whose_every_column_is_constant(tmp_path, how):
    # Every row would encode the same: it trained silently and said "PCA reconstructs these
    # rows exactly". In memory, streamed and sampled: one refusal, no model left behind.
    path = tmp_path / "flat.csv"
    path.write_text("a,b,c\n" + "1,2,3\n" * 50)
    out = tmp_path / "m"
    result = run("train", path, "-o", out, "--epochs", "1", *how)
    assert_user_error(
        result,
        "every column is constant: nothing to learn (",
        "flat.csv) — train on columns whose values vary",
    )
    assert not out.exists() and stray_files(tmp_path) == []


def test_constant_column_with_cells_filled_by_zero_is_not_constant(tmp_path):
    # --impute zero fills a missing cell of a column of 5s with 0: the column varies.
    path = tmp_path / "holes.csv"
    path.write_text("a,b\n" + "5,1\n,1\n" * 10)
    out = tmp_path / "m"
    result = run("train", path, "-o", out, "--impute", "zero", "--epochs", "0", "-q")
    assert result.exit_code == 0, result.stderr
    result = run("train", path, "-o", tmp_path / "m2", "--impute", "mean", "--epochs", "0")
    assert_user_error(result, "every column is constant")


def test_fit_refuses_a_table_whose_every_column_is_constant_as_train_does(tmp_path):
    # fit() trained on it (every row then encoded the same) while aefeat train and fit_files
    # refused it: one check now, worded for Python in the API and with flags on the command line.
    from aefeat import AefeatError, AutoencoderTransformer

    X = np.tile([1.0, 2.0, 3.0], (50, 1))
    path = tmp_path / "flat.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv(path, index=False)
    est = AutoencoderTransformer(hidden=(4,), epochs=2, random_state=0)
    with pytest.raises(AefeatError) as info:
        est.fit(X)
    assert str(info.value) == (
        "every column is constant: nothing to learn — train on columns whose values vary "
        "(check the data)"
    )
    for fit in (
        lambda: est.fit_chunks([X.copy()], ["a", "b", "c"]),
        lambda: est.fit_files([path], ["a", "b", "c"]),
    ):
        with pytest.raises(AefeatError, match=r"^every column is constant: nothing to learn"):
            fit()
    result = run("train", path, "-o", tmp_path / "m", "--epochs", "2", "--hidden", "4")
    assert_user_error(result, "every column is constant: nothing to learn (", "--columns/--exclude")
    # impute='zero' fills a missing cell of a column of 5s with 0: it varies, as in train.
    holes = np.tile([5.0, 1.0], (20, 1))
    holes[::2, 0] = np.nan
    est.set_params(impute="zero").fit(holes)
    with pytest.raises(AefeatError, match="every column is constant"):
        est.set_params(impute="mean").fit(holes)


def test_a_constant_column_among_others_fits_without_nan_in_the_python_api(tmp_path):
    # A constant column scales to 0, as with scikit-learn's MinMaxScaler: no 0/0 anywhere.
    from aefeat import AutoencoderTransformer

    rng = np.random.default_rng(0)
    X = np.column_stack([np.full(40, 7.0), rng.normal(size=(40, 2))])
    est = AutoencoderTransformer(hidden=(4,), epochs=2, random_state=0).fit(X)
    assert np.isfinite(est.transform(X)).all()
    est.save(tmp_path / "m")
    _strict_json((tmp_path / "m" / "metadata.json").read_text())


# --- property-based: every generated input gets the exit its construction implies -----------

_VALUE = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, width=32).map(lambda v: f"{v:.6g}"),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["1e3", " 2.5 ", "-0", "+4"]),
)
# Each corruption of a valid numeric CSV must be refused (exit 2), whatever else is drawn.
_CORRUPTIONS = (
    "bad-cell",
    "short-row",
    "long-row",
    "header-only",
    "nul-byte",
    "duplicate-name",
    "semicolons",
)
_BAD_CELLS = st.sampled_from(["abc", "x1", "1.2.3", "0x10", "", "nan", "inf", "-inf", "1e999", "é"])


@st.composite
def numeric_csv(draw, names: list[str], min_rows: int, corruption: str | None = None) -> str:
    """A CSV of ``names`` with numeric rows, valid unless ``corruption`` names one defect (in a
    column of ``names`` other than ``id``, which holds text)."""
    n_rows = draw(st.integers(min_rows, min_rows + 6))
    rows = [[f"r{i}" if n == "id" else draw(_VALUE) for n in names] for i in range(n_rows)]
    header = list(names)
    sep = ","
    numeric = [j for j, n in enumerate(names) if n != "id"]
    r, j = draw(st.integers(0, n_rows - 1)), draw(st.sampled_from(numeric))
    if corruption == "bad-cell":
        rows[r][j] = draw(_BAD_CELLS)
    elif corruption == "short-row":
        rows[r] = rows[r][:-1]
    elif corruption == "long-row":
        rows[r] = [*rows[r], "1"]
    elif corruption == "header-only":
        rows = []
    elif corruption == "nul-byte":
        rows[r][j] = rows[r][j] + "\x00"
    elif corruption == "duplicate-name":
        header[j] = header[(j + 1) % len(header)]
    elif corruption == "semicolons":
        sep = ";"
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(sep.join(row) for row in [header, *rows]) + draw(st.sampled_from(["", end]))


# One line of text or bytes: a header at most, never data rows, so always refused.
ONE_LINE = st.one_of(
    st.text(max_size=120).filter(lambda t: "\n" not in t and "\r" not in t),
    st.binary(max_size=120).filter(lambda b: b"\n" not in b and b"\r" not in b),
)


def _to_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")


def _check_outcome(result, target: Path, expected: int) -> None:
    assert result.exit_code == expected, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if expected == 2:
        assert result.stderr.startswith("aefeat: error: ") and result.stderr.count("\n") == 1
        assert not target.exists()
    else:
        assert target.exists()


def _exit_of(valid_csv: str) -> int:
    """Exit 0 for a valid generated CSV, but 2 when every column is constant: nothing to learn."""
    rows = [line.split(",") for line in valid_csv.splitlines()[1:] if line]
    return 0 if any(len({float(v) for v in col}) > 1 for col in zip(*rows, strict=True)) else 2


def _train_cases():
    names = st.lists(
        st.sampled_from(["a", "b", "c", "x y", "é", "[b]", "{0}", "%s"]),
        min_size=2,
        max_size=4,
        unique=True,
    )
    valid = names.flatmap(lambda n: numeric_csv(n, min_rows=3)).map(lambda t: (t, _exit_of(t)))
    bad = (
        st.tuples(names, st.sampled_from(_CORRUPTIONS))
        .flatmap(lambda nc: numeric_csv(nc[0], min_rows=3, corruption=nc[1]))
        .map(lambda t: (t, 2))
    )
    return st.one_of(valid, bad, ONE_LINE.map(lambda t: (t, 2)))  # fmt: skip


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_train_cases())
def test_train_gives_the_expected_exit_on_generated_csv(case, tmp_path):
    data, expected = case
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    path = work / "in.csv"
    path.write_bytes(_to_bytes(data))
    target = work / "model"
    result = run(
        "train", str(path), "-o", str(target), "--epochs", "1", "--hidden", "4",
        "--latent-dim", "1", "-q",
    )  # fmt: skip
    _check_outcome(result, target, expected)


def _encode_cases():
    # A header and no rows is valid input to encode (the output is the header alone).
    order = st.permutations(["id", *FEATURES])
    valid = st.one_of(
        order.flatmap(lambda n: numeric_csv(list(n), min_rows=1)),
        order.flatmap(lambda n: numeric_csv(list(n), min_rows=1, corruption="header-only")),
    ).map(lambda t: (t, 0))
    bad = (
        st.tuples(order, st.sampled_from([c for c in _CORRUPTIONS if c != "header-only"]))
        .flatmap(lambda nc: numeric_csv(list(nc[0]), min_rows=1, corruption=nc[1]))
        .map(lambda t: (t, 2))
    )
    return st.one_of(valid, bad, ONE_LINE.map(lambda t: (t, 2)))  # fmt: skip


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_encode_cases(), keep=st.sampled_from([[], ["--keep", "id"]]))
def test_encode_gives_the_expected_exit_on_generated_csv(case, keep, model_dir, tmp_path):
    data, expected = case
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    path = work / "in.csv"
    path.write_bytes(_to_bytes(data))
    target = work / "out.csv"
    result = run("encode", str(model_dir), str(path), "-o", str(target), *keep)
    _check_outcome(result, target, expected)
    if expected == 0:
        rows = _to_bytes(data).replace(b"\r\n", b"\n").strip(b"\n").count(b"\n")
        assert target.read_text().count("\n") == rows + 1


def test_wording_of_output_name_and_target_refusals(ctx, tmp_path):
    # A prefix cannot fix a kept column named like --with-error's column; a plot has no
    # stdout form (it said "unsupported plot file type '(none)'").
    data = tmp_path / "with_error_column.csv"
    frame = pd.read_csv(ctx.good)
    frame["reconstruction_error"] = 0.5
    frame.to_csv(data, index=False)
    clash = run("encode", ctx.model, data, "--keep", "reconstruction_error", "--with-error")
    assert_user_error(clash, "collide", "'reconstruction_error'", "leave out --with-error")
    assert_user_error(run("inspect", ctx.model, "--plot", "-"), "not to stdout", "--plot -")


def test_encode_frame_names_missing_columns_and_the_api_parameters(ctx):
    """aefeat.frames.encode_frame raised pandas' bare KeyError for a missing column, and named
    --keep, --prefix and --impute, which the Python API does not have."""
    from aefeat.errors import AefeatError
    from aefeat.frames import encode_frame, load_model

    model = load_model(ctx.model)
    frame = pd.read_csv(ctx.good)
    cases = [
        (
            (frame.drop(columns="f0"), []),
            {},
            "training column 'f0' missing from the data (DataFrame) — encode data with the "
            "columns the model was trained on",
        ),
        (
            (frame, ["zzz"]),
            {},
            "keep column 'zzz' missing from the data (DataFrame) — check the names in keep; "
            "available columns: 'id', 'f0'",
        ),
        ((frame, "id"), {}, "keep='id' must be a list of column names; got 'id'"),
        ((frame.assign(z1=0.0), ["z1"]), {}, "output column names collide: 'z1' (keep/prefix)"),
        ((frame, []), {"prefix": ""}, "prefix='' must be a short name such as 'z'; got ''"),
        (
            (frame.assign(f2=np.where(frame.index == 4, np.nan, frame["f2"])), []),
            {},
            "missing or infinite value in column 'f2' (DataFrame, row with index 4) — fix the "
            "data, or retrain with impute='mean', 'median' or 'zero'",
        ),
    ]
    for args, kwargs, words in cases:
        with pytest.raises(AefeatError) as info:
            encode_frame(model, *args, **kwargs)
        assert str(info.value).startswith(words), str(info.value)
        assert "--" not in str(info.value)


def test_encode_frame_names_rows_by_index_and_refuses_duplicate_columns(ctx):
    """A value too far out for float32 was placed at "row 4" (its position, without the
    partition) while a missing one was placed by index; a training or keep column the frame
    holds twice reached NumPy's matmul error."""
    from aefeat.errors import AefeatError
    from aefeat.frames import encode_frame, load_model

    model = load_model(ctx.model)
    frame = pd.read_csv(ctx.good)
    frame.index += 100
    far = frame.assign(f2=np.where(frame.index == 104, 1e300, frame["f2"]))
    with pytest.raises(AefeatError) as info:
        encode_frame(model, far, [], where="Spark partition")
    message = str(info.value)
    assert message.startswith("value too far outside the training range to encode in column 'f2'")
    assert message.endswith("(Spark partition, row with index 104) — fix or drop that row")
    twice = pd.concat([frame, frame[["f0", "id"]]], axis=1)
    for keep, names in (([], "'f0'"), (["id"], "'id', 'f0'")):
        with pytest.raises(AefeatError) as info:
            encode_frame(model, twice, keep)
        assert str(info.value) == (
            f"duplicate column names {names} (DataFrame) — give every column a unique name"
        )
    # A repeated column the model does not read is no obstacle.
    out = encode_frame(model, pd.concat([frame, frame[["label"]]], axis=1), [])
    assert list(out.columns) == ["z0", "z1"]
    # The model directory's path serves as the Dask and Spark drivers take it (it raised
    # "'str' object has no attribute 'columns'").
    pd.testing.assert_frame_equal(
        encode_frame(str(ctx.model), frame, []), encode_frame(model, frame, [])
    )


def test_output_name_checks_word_themselves_for_the_cli_and_the_api():
    """One check serves both: the command line reads flags, Python the parameter names."""
    from aefeat.encoding import output_columns
    from aefeat.errors import AefeatError

    with pytest.raises(AefeatError) as info:
        output_columns(["id", "id"], 2, "z", False)
    assert info.value.message == (
        "--keep names a column more than once: 'id' (--keep) — name each column once"
    )
    assert str(info.value) == (
        "keep names a column more than once: 'id' (keep) — name each column once"
    )
    with pytest.raises(AefeatError) as info:
        output_columns(["reconstruction_error"], 2, "z", True)
    assert info.value.message == (
        "output column names collide: 'reconstruction_error' (--keep/--prefix) — leave out "
        "--with-error, or do not --keep 'reconstruction_error'"
    )
    assert str(info.value) == (
        "output column names collide: 'reconstruction_error' (keep/prefix) — pass "
        "with_error=False, or leave 'reconstruction_error' out of keep"
    )
    with pytest.raises(AefeatError) as info:
        output_columns([], 2, "", False)
    assert info.value.message == "invalid value '' (--prefix) — use a short name such as z"
    assert str(info.value) == "prefix='' must be a short name such as 'z'; got ''"


@pytest.mark.parametrize("end", ["\n", ""], ids=["line-break", "no-line-break"])
@pytest.mark.parametrize("fmt", ["out.csv", "out.parquet"])
def test_encode_of_a_header_only_input_is_the_header(ctx, tmp_path, end, fmt):
    # `grep pattern data.csv | aefeat encode m -` when nothing matched: csvkit and xsv write
    # the header alone; encode refused ("the file has a header but no data rows").
    data = ctx.file(f"header{len(end)}.csv", ctx.lines[0].rstrip("\n") + end)
    out = tmp_path / fmt
    result = run("encode", ctx.model, data, "--keep", "id", "--with-error", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "aefeat: the input has no data rows: wrote the header only\n"
    table = pd.read_csv(out) if fmt.endswith(".csv") else pd.read_parquet(out)
    assert list(table.columns) == ["id", "z0", "z1", "reconstruction_error"] and table.empty


def test_encode_of_a_pattern_says_how_to_encode_several_files(ctx):
    # encode reads one file; `encode m 'parts/*.csv'` said only "check the path".
    result = run("encode", ctx.model, str(ctx.tmp / "part*.csv"))
    assert_user_error(result, "file not found", "encode with --dask local -o DIR")


def test_terminal_escapes_in_names_are_shown_not_sent(tmp_path):
    # A shared CSV (or model) whose column names hold escape sequences could rewrite the
    # user's screen, set the title or the clipboard through inspect, notes and error hints.
    red, title = "\x1b[31mRED\x1b[0m", "\x1b]0;pwned\x07"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=[red, "b", title, "d"])
    path = tmp_path / "esc.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "m"
    trained = run("train", path, "-o", model, "--epochs", "1", "--hidden", "4")
    assert trained.exit_code == 0, trained.stderr
    far = frame.head(2).copy()
    far[red] = 1e3
    far.to_csv(tmp_path / "far.csv", index=False)
    shown = [
        run("inspect", model).stdout,
        run("encode", model, tmp_path / "far.csv").stderr,
        run("train", path, "-o", tmp_path / "x", "--columns", "nope").stderr,
        trained.stderr,
    ]
    for text in shown:
        assert "\x1b" not in text and "\x07" not in text, text
    assert "\\x1b[31mRED" in shown[0] and "\\x1b[31mRED" in shown[1] + shown[2]


def test_train_refuses_a_file_given_twice(csv_path, tmp_path):
    """Its rows would be trained on twice, and validation rows would copy training rows."""
    parts = tmp_path / "parts"
    parts.mkdir()
    shutil.copy(csv_path, parts / "a.csv")
    shutil.copy(csv_path, parts / "b.csv")
    model = tmp_path / "m"
    for data in (
        [csv_path, csv_path],
        [parts, parts / "a.csv"],
        [f"{parts}/*.csv", f"{parts}/./b.csv"],
    ):
        result = run("train", *data, "-o", model, "--epochs", "1")
        assert_user_error(result, "the same file is given twice", "name each input file once")
        assert not model.exists()
    result = run("train", parts, "-o", model, "--exclude", "id,label", "--epochs", "1", "-q")
    assert result.exit_code == 0, result.stderr  # two copies in two files are two files


# --- found by an input-data audit (eighteenth session) ---------------------------------------------


def test_parquet_non_numeric_columns_are_named_at_once_by_their_types(tmp_path, model_dir, frame):
    # A Parquet file's typed columns were refused one per run ("column 'flag' is not numeric
    # (type bool) ... fix or drop that row"), though the schema has them all before any row.
    n = 20
    typed = pd.DataFrame(
        {
            "a": np.arange(n, dtype=float),
            "flag": np.arange(n) % 3 == 0,
            "cat": pd.Categorical(["x", "y"] * (n // 2)),
            "s": ["t"] * n,
            "ts": pd.date_range("2024-01-01", periods=n, freq="h"),
            "b": np.arange(n) ** 2.0,
        }
    )
    path = tmp_path / "multi.parquet"
    typed.to_parquet(path, index=False)
    result = run("train", path, "-o", tmp_path / "m", "--epochs", "0")
    assert_user_error(
        result,
        "columns 'cat' (category), 's' (string), 'ts' (timestamp[",
        "multi.parquet) — exclude them with --exclude cat,s,ts (or encode categories",
    )
    assert "fix or drop that row" not in result.stderr and not (tmp_path / "m").exists()
    # Booleans are read as 0 and 1, as NumPy and scikit-learn read them.
    from aefeat.io.sources import open_source

    source = open_source(str(path))
    assert source.select_features(None, ["cat", "s", "ts"]) == ["a", "flag", "b"]
    np.testing.assert_array_equal(source.read_numeric(["flag"])[:, 0], typed["flag"] * 1.0)
    # encode: the model's columns are to be numbers, not excluded; a bool column encodes as 0/1.
    data = frame.copy()
    data["f1"], data["f2"] = data["f1"].astype(str), pd.Timestamp("2024-01-01")
    data.to_parquet(tmp_path / "enc.parquet", index=False)
    result = run("encode", model_dir, tmp_path / "enc.parquet")
    assert_user_error(
        result,
        "columns 'f1' (string), 'f2' (timestamp[",
        "]) are not numeric (",
        "the model was trained on them as numbers",
    )
    data = frame.copy()
    data["f3"] = data["f3"] > 0
    data.to_parquet(tmp_path / "bool.parquet", index=False)
    data["f3"] = data["f3"].astype(float)
    data.to_csv(tmp_path / "bool.csv", index=False)
    assert ok("encode", model_dir, tmp_path / "bool.parquet") == ok(
        "encode", model_dir, tmp_path / "bool.csv"
    )


@pytest.mark.parametrize(
    "text, delimiter, words",
    [
        # '1,234' was read as a decimal comma, and the hint's sed made it 1.234.
        (
            'a,b\n1,"1,234,567"\n2,3\n',
            ",",
            ("holds numbers with thousands separators (", "1234567"),
        ),
        ('a,b\n1,"1,234.50"\n2,3\n', ",", ("holds numbers with thousands separators (",)),
        # Alone, '1,234' could be either: a guess by the delimiter, said to be one.
        ('a,b\n1,"1,234"\n2,"5,678"\n', ",", ("thousands separators (or decimal commas)", "1.234")),
        ("a;b\n1;1,234\n2;5,678\n", ";", ("decimal commas (or thousands separators)", "1234")),
        # The column's other cells settle it.
        ('a,b\n1,"1,234"\n2,"1,234,567"\n', ",", ("holds numbers with thousands separators (",)),
        ("a;b\n1;1,234\n2;0,5\n", ";", ("holds decimal commas, not numbers (", "--decimal ','")),
        # Quoted in a ','-separated file, where --decimal ',' is refused: convert them.
        ('a,b\n1,"3,14"\n2,3\n', ",", ("holds decimal commas, not numbers (", "'.' decimals")),
    ],
)
def test_thousands_separators_are_told_from_decimal_commas(tmp_path, text, delimiter, words):
    path = tmp_path / "d.csv"
    path.write_text(text)
    result = run("train", path, "-o", tmp_path / "m", "-d", delimiter, "--epochs", "0")
    assert_user_error(result, "column 'b' ", "d.csv, line 2: '", *words)


def test_a_blank_header_is_named_unnamed_n_and_a_row_index_is_noted(tmp_path):
    # `df.to_csv()` writes its index under a blank header: it was trained on as a feature, with
    # nothing said, and no way to exclude it was told (`--exclude '"",0'` dropped the "").
    rng = np.random.default_rng(0)
    path = tmp_path / "indexed.csv"
    pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"]).to_csv(path)
    assert path.read_text().startswith(",a,b,c\n")
    for value in ("", '""'):
        result = run("train", path, "-o", tmp_path / "m", "--exclude", value)
        assert_user_error(result, "no column named (--exclude)", "--exclude 'Unnamed: 0'")
    for value in ('"",a', "a,"):
        result = run("train", path, "-o", tmp_path / "m", "--exclude", value)
        assert_user_error(
            result, "an empty column name in the list (--exclude)", "--exclude 'Unnamed: 0'"
        )
    result = run("train", path, "-o", tmp_path / "m", "--epochs", "0")
    assert result.exit_code == 0, result.stderr
    assert (
        "aefeat: column 'Unnamed: 0' looks like a row index (0, 1, 2, ...): "
        "--exclude 'Unnamed: 0' if it is one\n" in result.stderr
    )
    assert "x 4 columns" in result.stderr
    result = run("train", path, "-o", tmp_path / "m2", "--epochs", "0", "--exclude", "Unnamed: 0")
    assert result.exit_code == 0, result.stderr
    assert "row index" not in result.stderr and "x 3 columns" in result.stderr
    # The made-up name of a blank header was refused as a duplicate the user never wrote.
    clash = tmp_path / "clash.csv"
    clash.write_text("a,,c,Unnamed: 1\n1,2,3,4\n5,6,7,8\n")
    assert_user_error(
        run("train", clash, "-o", tmp_path / "m3"),
        "column 2 has a blank header, called 'Unnamed: 1' (its position from 0), the name of "
        "column 4 too (",
        "name the blank header, or rename column 4",
    )
    clash.write_text("Unnamed: 1,,c\n1,2,3\n5,6,7\n")  # the real name first
    assert_user_error(
        run("train", clash, "-o", tmp_path / "m3"),
        "column 2 has a blank header, called 'Unnamed: 1' (its position from 0), the name of "
        "column 1 too (",
    )


def _zip_bytes(text: str) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("d.csv", text)
    return buf.getvalue()


@pytest.mark.parametrize(
    "kind, pack, command",
    [
        ("compressed with bzip2", lambda t: bz2.compress(t.encode()), "bunzip2 -c"),
        ("compressed with xz", lambda t: lzma.compress(t.encode()), "xz -dc"),
        # A zstd frame's magic and header (no zstd module in the standard library before 3.14).
        ("compressed with zstd", lambda t: b"\x28\xb5\x2f\xfd\x24\x00" + t.encode(), "zstd -dc"),
        ("a zip archive", _zip_bytes, "unzip -p"),
    ],
)
def test_compressions_other_than_gzip_are_named(tmp_path, kind, pack, command):
    # They were "binary, not CSV text", with a hint about UTF-16 --encoding.
    data = pack("a,b\n1,2\n3,4\n")
    path = tmp_path / "d.csv.x"
    path.write_bytes(data)
    result = run("train", path, "-o", tmp_path / "m")
    assert_user_error(
        result,
        f"the file is {kind} (not gzip, which aefeat reads) (",
        f"d.csv.x) — decompress it first, e.g. {command} ",
    )
    assert "UTF-16" not in result.stderr
    result = run("train", "-", "-o", tmp_path / "m", input=data)
    assert_user_error(result, f"the input is {kind} (", f"{command} FILE | aefeat ... -")
    assert not (tmp_path / "m").exists()


def test_a_name_in_another_unicode_form_or_case_is_pointed_out(tmp_path):
    # A macOS export spells 'café' as 'cafe' and a combining accent: the hint listed the
    # available columns, 'café' among them, looking exactly like the name refused.
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    path = tmp_path / "nfd.csv"
    path.write_text(f"{decomposed},b,c\n1,2,3\n4,5,6\n", encoding="utf-8")
    result = run("train", path, "-o", tmp_path / "m", "--exclude", composed)
    assert_user_error(
        result,
        f"column '{composed}' not found (--exclude",
        r"the file has 'cafe\u0301', not 'caf\xe9' (the same letters in another Unicode form)",
        "names are matched exactly",
    )
    result = run("train", path, "-o", tmp_path / "m", "--columns", "B,c")
    assert_user_error(result, "the file has 'b', not 'B' (the case differs)")
    assert not (tmp_path / "m").exists()


def test_a_look_alike_keeps_the_usual_hint_for_names_that_have_none(tmp_path):
    # The look-alike replaced the whole hint: 'zzz', like no column, lost the list of the
    # available ones (train) or what to pass (the columns a model needs, in the Python API).
    from aefeat.core.prepare import missing_columns_error

    path = tmp_path / "d.csv"
    path.write_text("A,b,c\n1,2,3\n4,5,6\n", encoding="utf-8")
    result = run("train", path, "-o", tmp_path / "m", "--columns", "a,zzz")
    assert_user_error(
        result,
        "the file has 'A', not 'a' (the case differs); names are matched exactly; "
        "available columns: A, b, c\n",
    )
    result = run("train", path, "-o", tmp_path / "m", "--columns", "a,b")
    assert_user_error(result, "names are matched exactly\n")  # nothing else to add
    error = missing_columns_error(["a", "d"], "training column", "x.csv", "pass them", ["A", "b"])
    assert error.message.endswith(
        "(x.csv) — the data has 'A', not 'a' (the case differs): rename to match (names are "
        "matched exactly); pass them"
    )


EMPTY_PATH_CASES = [
    # An unset shell variable ("$DATA", "$MODEL") passes '', which paths read as the current
    # directory: train trained on every CSV there, and -o wrote the model into it.
    ("train-data", lambda m: ["train", "", "-o", "m", *TRAIN_FAST], "(DATA)"),
    ("train-output", lambda m: ["train", "data.csv", "-o", "", *TRAIN_FAST], "(-o)"),
    ("train-config", lambda m: ["train", "data.csv", "-o", "m", "--config", ""], "(--config)"),
    ("encode-model", lambda m: ["encode", "", "data.csv"], "(MODEL_DIR)"),
    ("encode-data", lambda m: ["encode", m, ""], "(DATA)"),
    ("encode-output", lambda m: ["encode", m, "data.csv", "-o", ""], "(-o)"),
    ("inspect-model", lambda m: ["inspect", ""], "(MODEL_DIR)"),
    ("inspect-data", lambda m: ["inspect", m, "--data", ""], "(--data)"),
    ("inspect-plot", lambda m: ["inspect", m, "--plot", ""], "(--plot)"),
]


@pytest.mark.parametrize(
    "args, where", [pytest.param(a, w, id=name) for name, a, w in EMPTY_PATH_CASES]
)
def test_an_empty_path_is_refused_not_read_as_the_current_directory(
    args, where, model_dir, csv_path, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    shutil.copy(csv_path, tmp_path / "data.csv")
    before = snapshot(tmp_path)
    result = run(*args(str(model_dir)))
    assert_user_error(result, f"invalid value '' {where}")
    assert snapshot(tmp_path) == before
