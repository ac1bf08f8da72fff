"""encode: chunking never changes the output, streams and formats, record-boundary splitting."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import ok, run

from aefeat.io.sources import open_source


@pytest.fixture(scope="module")
def default_output(model_dir, csv_path) -> str:
    result = run("encode", model_dir, csv_path, "--keep", "id,label", "--with-error")
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("chunk", ["1", "7", "100000"])
def test_chunk_size_does_not_change_a_byte(model_dir, csv_path, default_output, chunk):
    args = ["--keep", "id,label", "--with-error", "--chunk-size", chunk]
    result = run("encode", model_dir, csv_path, *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == default_output


@pytest.mark.parametrize("chunk", ["1", "5", "100000"])
def test_only_values_that_need_it_are_quoted_whatever_the_chunks(model_dir, frame, tmp_path, chunk):
    # pyarrow quotes every text value of a batch holding one that needs quotes, so the bytes
    # used to depend on which rows shared a chunk with "a, b" (and kept ids became "0").
    data = frame.copy()
    data["city"] = [
        "a, b" if i % 10 == 3 else ('say "hi"' if i % 10 == 7 else "plain")
        for i in range(len(data))
    ]
    src = tmp_path / "text.csv"
    data.to_csv(src, index=False)
    result = run("encode", model_dir, src, "--keep", "city,id", "--chunk-size", chunk)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("plain,row0,") and lines[4].startswith('"a, b",row3,')
    assert lines[8].startswith('"say ""hi""",row7,')
    out = pd.read_csv(io.StringIO(result.stdout), dtype={"city": str})
    assert (
        out["city"].tolist() == data["city"].tolist() and out["id"].tolist() == data["id"].tolist()
    )
    plain = run("encode", model_dir, src, "--keep", "city,id", "--chunk-size", "3")
    assert plain.stdout == result.stdout


def test_stdin_to_stdout_streams_the_same_bytes(model_dir, csv_path, default_output):
    result = run(
        "encode", model_dir, "-", "--keep", "id,label", "--with-error", input=csv_path.read_bytes()
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == default_output


def test_parquet_in_and_out(model_dir, csv_path, frame, tmp_path, default_output):
    src = tmp_path / "in.parquet"
    frame.to_parquet(src, index=False)
    out = tmp_path / "out.parquet"
    result = run("encode", model_dir, src, "--keep", "id,label", "--with-error", "-o", out)
    assert result.exit_code == 0, result.stderr
    got = pq.read_table(out).to_pandas()
    want = pd.read_csv(io.StringIO(default_output))
    assert list(got.columns) == list(want.columns)
    assert got["id"].tolist() == want["id"].tolist()
    np.testing.assert_allclose(
        got[["z0", "z1"]].to_numpy(), want[["z0", "z1"]].to_numpy(), atol=1e-6
    )


def test_kept_text_passes_through_unchanged(model_dir, frame, tmp_path):
    odd = frame.copy()
    odd["id"] = ["a,b", 'say "hi"', "two\nlines", " padded ", "007", ""] + [
        f"r{i}" for i in range(len(odd) - 6)
    ]
    path = tmp_path / "odd.csv"
    odd.to_csv(path, index=False)
    result = run("encode", model_dir, path, "--keep", "id")
    assert result.exit_code == 0, result.stderr
    back = pd.read_csv(io.StringIO(result.stdout), dtype={"id": str}, keep_default_na=False)
    assert back["id"].tolist() == odd["id"].tolist()
    assert len(back) == len(odd)


def test_integer_and_float_columns_encode_alike(model_dir, frame, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    rounded = frame.copy()
    rounded["f5"] = rounded["f5"].round().astype(int)
    rounded.to_csv(a, index=False)
    rounded.assign(f5=rounded["f5"].astype(float)).to_csv(b, index=False)
    encoded = ok("encode", model_dir, a)
    assert encoded.count("\n") == len(frame) + 1
    assert ok("encode", model_dir, b) == encoded


@pytest.mark.parametrize("block", [1, 5, 17, 64, 1 << 20])
@pytest.mark.parametrize(
    "text",
    [
        b"h1,h2\n1,2.5\n2,3\n3,4\n4,5\n5,6",
        b'h1,h2\n1,"a\nb"\n2,"c ""quoted"", d"\n3,plain\n4,"e\n\nf"\n5,last',
        b'h1,h2\n1,2"3\n2,"x\ny"\n3,4\n4,5\n5,6\n',  # a stray quote inside an unquoted field
        b"h1,h2\n1,a\n2,b\n3," + b"c" * 200 + b"\n4,d\n5,e\n",  # a row longer than the block
    ],
    ids=["plain", "quoted-newlines", "stray-quote", "long-row"],
)
def test_chunked_reading_equals_one_read(tmp_path, text, block):
    path = tmp_path / "t.csv"
    path.write_bytes(text)
    src = open_source(str(path))
    got = [
        row for b in src.iter_batches([], ["h1", "h2"], block_size=block) for row in b.to_pylist()
    ]
    want = pacsv.read_csv(
        pa.BufferReader(text),
        convert_options=pacsv.ConvertOptions(column_types={"h1": pa.string(), "h2": pa.string()}),
    ).to_pylist()
    assert got == want
    assert [r["h1"] for r in got] == ["1", "2", "3", "4", "5"]


def test_reader_closing_the_pipe_early_is_not_an_error(model_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from conftest import make_frame

    big = tmp_path / "big.csv"
    make_frame(40_000, seed=9).to_csv(big, index=False)  # megabytes of output: the pipe fills
    exe = Path(sys.executable).with_name("aefeat")
    proc = subprocess.Popen(
        [str(exe), "encode", str(model_dir), str(big), "--keep", "id"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline().startswith(b"id,z0,z1")
    proc.stdout.close()  # what `| head -1` does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"error" not in err


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_input_without_rows_gives_the_parquet_schema_one_with_rows_gives(
    kind, model_dir, frame, tmp_path
):
    """A daily job's empty day wrote kept numbers as text, and a dataset of such files then
    read every day's numbers as text."""
    schemas = []
    for name, rows in (("full", frame), ("empty", frame.head(0))):
        data = tmp_path / f"{name}.{kind}"
        if kind == "csv":
            rows.to_csv(data, index=False)
        else:
            rows.to_parquet(data, index=False)
        out = tmp_path / f"{name}_out.parquet"
        ok("encode", model_dir, data, "--keep", "id,f0,label", "-o", out, "--quiet")
        schemas.append(pq.read_schema(out))
    assert schemas[0].types == schemas[1].types
    assert schemas[0].field("f0").type == pa.float64()
