"""Data I/O: which files DATA names, opening CSV (plain, gzip by content, BOM, quoted headers,
other delimiters) and Parquet, selecting feature columns, reading them whole or in batches.
Library calls only; the CLI's error lines are in test_errors.py."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import make_frame, ok, run

from aefeat.errors import AefeatError
from aefeat.io.sources import CsvFormat, expand_inputs, open_source

CSV = "a,b,label\n1,2.5,x\n3,,y\n-4e2,7,z\n"
EXPECTED = np.array([[1.0, 2.5], [3.0, np.nan], [-400.0, 7.0]])


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("b.csv", "a.csv.gz", "c.parquet", "notes.md", ".hidden.csv"):
        (d / name).write_text("x\n")
    (d / "sub").mkdir()
    return d


def test_expand_inputs_one_meaning_for_files_directories_and_globs(files):
    assert expand_inputs("-") == ["-"]
    assert expand_inputs(str(files / "b.csv")) == [str(files / "b.csv")]
    data_files = [str(files / n) for n in ("a.csv.gz", "b.csv", "c.parquet")]
    assert expand_inputs(str(files)) == data_files  # sorted, data files only, none hidden
    assert expand_inputs(str(files / "*.csv*")) == data_files[:2]
    assert expand_inputs(str(files / "missing.csv")) == [str(files / "missing.csv")]


def test_expand_inputs_takes_an_existing_name_with_glob_characters_literally(tmp_path):
    odd = tmp_path / "run[1].csv"
    odd.write_text("a\n1\n")
    (tmp_path / "run1.csv").write_text("a\n1\n")
    assert expand_inputs(str(odd)) == [str(odd)]


@pytest.mark.parametrize(
    "spec, words",
    [
        ("*.nothing", ("no input files match the pattern",)),
        ("empty_dir", ("no data files in the directory",)),
    ],
)
def test_expand_inputs_refuses_what_names_no_file(tmp_path, monkeypatch, spec, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(AefeatError) as err:
        expand_inputs(spec)
    for word in words:
        assert word in str(err.value)


def test_a_partitioned_dataset_directory_is_refused_with_the_glob_that_names_its_files(tmp_path):
    # Spark and Hive write year=2024/part-0.parquet under the directory: "it must hold .csv ...
    # files" did not say where the files were or how to name them.
    data = tmp_path / "sales"
    for year in (2024, 2025):
        (data / f"year={year}").mkdir(parents=True)
        (data / f"year={year}" / "part-0.parquet").write_bytes(b"")
        (data / f"year={year}" / "part-1.csv").write_text("a\n1\n")
    (data / "year=2025" / "part-2.parquet").write_bytes(b"")
    (data / "_SUCCESS").write_text("")
    (data / "_temporary" / "0").mkdir(parents=True)
    (data / "_temporary" / "0" / "part-9.parquet").write_bytes(b"")
    with pytest.raises(AefeatError) as err:
        expand_inputs(str(data))
    assert err.value.message == (
        f"no data files in the directory ({data}) — its subdirectories hold 5 data files: name "
        f"them with '{data}/**/*.parquet'"
    )
    files = expand_inputs(f"{data}/**/*.parquet")
    # Not the unfinished job's files under _temporary/, as Spark and pyarrow skip them.
    assert [Path(f).relative_to(data).as_posix() for f in files] == [
        "year=2024/part-0.parquet",
        "year=2025/part-0.parquet",
        "year=2025/part-2.parquet",
    ]


@pytest.mark.parametrize(
    "encoding", ["plain", "gzip", "gzip-named-csv", "bom", "utf-16-le", "utf-16-be"]
)
def test_read_numeric_is_the_same_for_every_text_form(tmp_path, encoding):
    raw = CSV.encode()
    name = "d.csv"
    codec = "utf-8"
    if encoding.startswith("utf-16"):  # no byte-order mark: read with --encoding only
        raw, codec = CSV.encode(encoding), encoding
        with pytest.raises(AefeatError, match="binary.*encoding='utf-16-le'") as err:
            (tmp_path / name).write_bytes(raw)
            open_source(str(tmp_path / name))
        assert "--encoding utf-16-le" in err.value.message  # the command line's words
    elif encoding == "gzip":
        raw, name = gzip.compress(raw), "d.csv.gz"
    elif encoding == "gzip-named-csv":
        raw = gzip.compress(raw)  # sniffed by content, not by name
    elif encoding == "bom":
        raw = b"\xef\xbb\xbf" + raw
    path = tmp_path / name
    path.write_bytes(raw)
    source = open_source(str(path), CsvFormat(encoding=codec))
    assert source.header == ["a", "b", "label"]
    np.testing.assert_array_equal(source.read_numeric(["a", "b"]), EXPECTED)


def test_batches_equal_one_read_and_keep_text_columns_as_text(tmp_path):
    path = tmp_path / "d.csv"
    rows = "".join(f"{i},{i * 0.5},t{i}\n" for i in range(5000))
    path.write_text("a,b,label\n" + rows)
    whole = open_source(str(path)).read_numeric(["a", "b"])
    source = open_source(str(path))
    batches = list(source.iter_batches(["a", "b"], ["label"], block_size=4096))
    assert len(batches) > 1
    parts = np.concatenate([source.to_matrix(b, ["a", "b"], np.float64) for b in batches])
    np.testing.assert_array_equal(parts, whole)
    labels = [v for b in batches for v in b.column("label").to_pylist()]
    assert labels == [f"t{i}" for i in range(5000)]


def test_quoted_header_name_with_a_line_break_and_another_delimiter(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('"two\nlines";b\n1;2\n3;4\n')
    source = open_source(str(path), CsvFormat(delimiter=";"))
    assert source.header == ["two\nlines", "b"] and source.header_lines == 2
    np.testing.assert_array_equal(source.read_numeric(["b"]), [[2.0], [4.0]])


def test_stdin_is_read_once(monkeypatch):
    fake = io.TextIOWrapper(io.BytesIO(CSV.encode()))
    monkeypatch.setattr("sys.stdin", fake)
    source = open_source("-")
    assert source.name == "<stdin>"
    np.testing.assert_array_equal(source.read_numeric(["a", "b"]), EXPECTED)
    with pytest.raises(RuntimeError):
        source.read_numeric(["a"])


def test_parquet_reads_like_csv(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": [1, 3, -400], "b": [2.5, None, 7.0], "label": list("xyz")}), path)
    source = open_source(str(path))
    assert source.kind == "parquet" and source.header == ["a", "b", "label"]
    np.testing.assert_array_equal(source.read_numeric(["a", "b"]), EXPECTED)


def test_select_features_keeps_file_order_and_names_unknown_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(CSV)
    source = open_source(str(path))
    assert source.select_features(None, ["label"]) == ["a", "b"]
    assert source.select_features(["b", "a"], []) == ["b", "a"]
    with pytest.raises(AefeatError, match="column 'nope' not found") as err:
        source.select_features(["nope"], [])
    assert "--columns" in str(err.value) and "available columns: a, b, label" in str(err.value)
    with pytest.raises(AefeatError, match="no feature columns left"):
        source.select_features(None, ["a", "b", "label"])


def test_missing_training_columns_are_listed_ten_and_a_count(tmp_path):
    # encode of a model of 5,000 columns on the wrong file named all 5,000 on one line.
    path = tmp_path / "d.csv"
    path.write_text(CSV)
    with pytest.raises(AefeatError) as err:
        open_source(str(path)).require_training_columns([f"c{i}" for i in range(5000)])
    message = err.value.message
    assert message.startswith("training columns 'c0', 'c1',")
    assert "'c9' and 4990 more missing from the data (" in message and "'c10'" not in message


def test_non_numeric_column_is_named_with_its_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(AefeatError) as err:
        open_source(str(path)).read_numeric(["a", "b"])
    message = str(err.value)
    assert "column 'b' is not numeric" in message and "line 3" in message
    assert message.endswith("fix or drop that row, or leave the column out of columns")
    assert "--exclude b" in err.value.message  # the command line's words


def _numbered_csv(path, n_rows: int, quote: bool = False) -> np.ndarray:
    values = np.random.default_rng(0).normal(size=n_rows).round(6)
    lines = ["row,value"] + [f"{i},{v}" for i, v in enumerate(values)]
    if quote:
        lines[11] = f'10,"{values[10]}"'
    path.write_text("\n".join(lines) + "\n")
    return values


def test_block_sample_reads_whole_rows_of_random_blocks(tmp_path):
    path = tmp_path / "big.csv"
    values = _numbered_csv(path, 150_000)  # 1.6 MB: more than the 1 MB probe
    sample = open_source(str(path)).block_sample(["row", "value"], size=30_000, seed=1, block=8192)
    rows = np.concatenate(sample.chunks)
    index = rows[:, 0].astype(int)
    # Every row is a row of the file, whole and once; the blocks are spread over the file.
    np.testing.assert_array_equal(rows[:, 1], values[index])
    assert len(np.unique(index)) == len(index) == sample.n_rows
    assert 28_000 < sample.n_rows < 32_000
    assert index.min() < 10_000 and index.max() > 140_000
    assert sample.blocks < sample.of_blocks and 140_000 < sample.estimated_rows < 160_000
    # Rows inside a block (and across neighbouring blocks) are consecutive, in file order.
    assert np.all(np.diff(index) > 0) and 0 < np.sum(np.diff(index) != 1) < sample.blocks
    # The same seed draws the same blocks.
    again = open_source(str(path)).block_sample(["row", "value"], size=30_000, seed=1, block=8192)
    np.testing.assert_array_equal(np.concatenate(again.chunks), rows)


def test_block_sample_declines_what_it_cannot_seek_safely(tmp_path):
    small = tmp_path / "small.csv"
    _numbered_csv(small, 150_000)
    # Not clearly more rows than asked for: read it all.
    assert open_source(str(small)).block_sample(["row"], size=140_000, seed=1) is None
    quoted = tmp_path / "quoted.csv"
    _numbered_csv(quoted, 150_000, quote=True)
    # A quote in the first megabyte: a seek could land inside a quoted line break.
    assert open_source(str(quoted)).block_sample(["row"], size=30_000, seed=1) is None
    packed = tmp_path / "big.csv.gz"
    packed.write_bytes(gzip.compress(small.read_bytes()))
    assert open_source(str(packed)).block_sample(["row"], size=30_000, seed=1) is None


def test_a_tsv_file_is_read_tab_separated_by_its_name(tmp_path, model_dir):
    # encode -o x.tsv writes tabs; reading x.tsv back needed --delimiter '\t'. As xsv does, a
    # .tsv name with a tab-separated header is read so; a comma in the header keeps ",".
    frame = make_frame(30)
    tsv = tmp_path / "data.tsv"
    frame.to_csv(tsv, sep="\t", index=False)
    assert open_source(str(tsv)).delimiter == "\t"
    as_csv = tmp_path / "data.csv"
    frame.to_csv(as_csv, index=False)
    from_tsv = ok("encode", model_dir, tsv, "--keep", "id")
    assert from_tsv == ok("encode", model_dir, as_csv, "--keep", "id").replace(",", "\t")
    commas = tmp_path / "commas.tsv"
    frame.to_csv(commas, index=False)
    assert open_source(str(commas)).delimiter == ","


def test_a_header_longer_than_a_parser_block_still_reads_its_rows(tmp_path, model_dir):
    # A header over pyarrow's 1 MiB block made encode write the header alone and exit 0 (the
    # rows were taken for none), and train say the file had no rows.
    names = [*(f"f{i}" for i in range(6)), *(f"pad{i:06d}" for i in range(120_000))]
    path = tmp_path / "wide.csv"
    row = ",".join(["0.5"] * len(names))
    path.write_text(",".join(names) + "\n" + (row + "\n") * 3)
    assert path.stat().st_size > 2 * 2**20
    assert len(ok("encode", model_dir, path).splitlines()) == 4
    huge = tmp_path / "huge.csv"
    huge.write_text(",".join(f"column_{i:08d}" for i in range(400_000)) + "\n")
    result = run("encode", model_dir, huge)
    assert result.exit_code == 2 and "header line is longer than 4 MiB" in result.stderr
