"""Encoding on a real Dask cluster (two worker processes on 127.0.0.1) equals single-machine encode."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ok, run

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install -e '.[dask]')"
)
dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is not installed")

import aefeat.dask  # noqa: E402
from aefeat.errors import AefeatError  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def parts(tmp_path_factory, frame) -> Path:
    """The fixture CSV split into three files of 80 rows."""
    folder = tmp_path_factory.mktemp("parts")
    for i in range(3):
        frame.iloc[80 * i : 80 * (i + 1)].to_csv(folder / f"part-{i}.csv", index=False)
    return folder


def read_csv_text(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


def test_cli_dask_writes_one_file_per_input_equal_to_single_machine(
    cluster, model_dir, csv_path, parts, tmp_path
):
    out = tmp_path / "latent"
    args = ["--keep", "id,label", "--with-error"]
    result = run(
        "encode", model_dir, f"{parts}/*.csv", *args, "--dask", cluster.scheduler_address, "-o", out
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "240 rows from 3 files" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["part-0.csv", "part-1.csv", "part-2.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["latent"]  # no temporary directory left
    for part in sorted(parts.glob("*.csv")):
        single = run("encode", model_dir, part, *args)
        assert single.exit_code == 0, single.stderr
        assert (out / part.name).read_bytes() == single.stdout_bytes  # byte-identical
    whole = read_csv_text(run("encode", model_dir, csv_path, *args).stdout)
    joined = pd.concat([pd.read_csv(out / f"part-{i}.csv") for i in range(3)], ignore_index=True)
    assert list(joined.columns) == ["id", "label", "z0", "z1", "reconstruction_error"]
    assert joined[["id", "label"]].equals(whole[["id", "label"]])
    numeric = ["z0", "z1", "reconstruction_error"]
    np.testing.assert_allclose(joined[numeric], whole[numeric], rtol=1e-6, atol=1e-6)


def test_cli_dask_output_may_be_a_file_url(cluster, model_dir, parts, tmp_path):
    # The README says encode -o may be file://; with --dask it was read as a relative path.
    out = tmp_path / "latent"
    address = cluster.scheduler_address
    result = run("encode", model_dir, f"{parts}/*.csv", "--dask", address, "-o", out.as_uri())
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["part-0.csv", "part-1.csv", "part-2.csv"]


def test_cli_dask_failure_leaves_no_output(cluster, model_dir, parts, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for part in parts.glob("*.csv"):
        (data / part.name).write_bytes(part.read_bytes())
    bad = pd.read_csv(parts / "part-1.csv")
    bad["f2"] = bad["f2"].astype(object)
    bad.loc[5, "f2"] = "oops"
    bad.to_csv(data / "part-1.csv", index=False)
    out = tmp_path / "latent"
    result = run("encode", model_dir, data, "--dask", cluster.scheduler_address, "-o", out)
    assert result.exit_code == 2
    # The worker's error, raised by the single-machine reader for that file: one line.
    assert result.stderr.startswith("aefeat: error: ")
    assert str(data / "part-1.csv") in result.stderr and "oops" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no out_dir, no temporary


def test_cli_dask_refuses_without_output_dir_or_with_a_used_one(model_dir, parts, tmp_path):
    result = run("encode", model_dir, f"{parts}/*.csv", "--dask", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2
    assert "--dask writes one file per input into a directory" in result.stderr
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep-me.txt").write_text("x")
    result = run("encode", model_dir, f"{parts}/*.csv", "--dask", "local", "-o", used)
    assert result.exit_code == 2 and "exists and is not empty" in result.stderr
    assert [p.name for p in used.iterdir()] == ["keep-me.txt"]
    result = run("encode", model_dir, parts, "--dask", "local", "-o", tmp_path / "z.csv")
    assert result.exit_code == 2 and "looks like a file name" in result.stderr
    result = run("encode", model_dir, f"{parts}/*.tsv", "--dask", "local", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "no input files match" in result.stderr
    result = run("encode", model_dir, parts, "--dask", "no-port", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "cannot connect to the Dask scheduler" in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_failed_connection_leaves_no_client_for_a_later_collection(model_dir, parts, tmp_path):
    """The Client that failed to connect was left for the garbage collector: collected while a
    later Client started (in this process: a Python caller, or these tests), its close waited
    for the lock that start held, and the run hung."""
    import gc

    gc.collect()
    gc.disable()  # only the collection aefeat makes may run
    try:
        result = run("encode", model_dir, parts, "--dask", "no-port", "-o", tmp_path / "o")
        assert result.exit_code == 2 and "cannot connect to the Dask scheduler" in result.stderr
        left = [c for c in gc.get_objects() if isinstance(c, distributed.Client)]
    finally:
        gc.enable()
    assert left == []


def test_python_api_map_partitions(cluster, model_dir, csv_path, parts):
    ddf = dd.read_csv(str(parts / "*.csv"), blocksize=None)
    encoded = aefeat.dask.encode(ddf, model_dir, keep=["id"], with_error=True)
    assert encoded.npartitions == 3
    assert list(encoded.columns) == ["id", "z0", "z1", "reconstruction_error"]
    assert encoded.dtypes["z0"] == np.float32
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        got = client.compute(encoded).result()
    whole = read_csv_text(run("encode", model_dir, csv_path, "--keep", "id", "--with-error").stdout)
    got = got.reset_index(drop=True)
    assert got["id"].tolist() == whole["id"].tolist()
    numeric = ["z0", "z1", "reconstruction_error"]
    np.testing.assert_allclose(got[numeric], whole[numeric], rtol=1e-6, atol=1e-6)


def test_python_api_checks_columns_before_running(model_dir, frame):
    ddf = dd.from_pandas(frame.drop(columns=["f3"]), npartitions=2)
    with pytest.raises(AefeatError, match="training column 'f3' missing"):
        aefeat.dask.encode(ddf, model_dir)
    with pytest.raises(AefeatError, match="'nope' missing"):
        aefeat.dask.encode(dd.from_pandas(frame, npartitions=2), model_dir, keep=["nope"])


def test_python_api_speaks_parameter_names_not_flags(model_dir, frame):
    """aefeat.dask.encode's errors name ``keep``, ``prefix`` and ``impute=``, not --keep,
    --prefix and --impute; a str ``keep`` is refused, not read letter by letter."""
    with_z0 = frame.assign(z0=1.0)
    cases = [
        (
            {"keep": ["z0"]},
            "output column names collide: 'z0' (keep/prefix) — choose another prefix",
        ),
        (
            {"keep": ["nope"]},
            "keep column 'nope' missing from the data (the Dask DataFrame) — check the names "
            "in keep; available columns: 'id', 'f0'",
        ),
        (
            {"keep": ["id", "id"]},
            "keep names a column more than once: 'id' (keep) — name each column once",
        ),
        ({"keep": "id"}, "keep='id' must be a list of column names; got 'id'"),
        ({"prefix": ""}, "prefix='' must be a short name such as 'z'; got ''"),
    ]
    for kwargs, words in cases:
        with pytest.raises(AefeatError) as info:
            aefeat.dask.encode(dd.from_pandas(with_z0, npartitions=2), model_dir, **kwargs)
        assert str(info.value).startswith(words), (kwargs, str(info.value))
        assert "--" not in str(info.value)
    gap = frame.copy()
    gap.loc[3, "f1"] = np.nan
    latent = aefeat.dask.encode(dd.from_pandas(gap, npartitions=2), model_dir)
    with pytest.raises(AefeatError) as info:
        latent.compute(scheduler="sync")
    assert str(info.value) == (
        "missing or infinite value in column 'f1' (Dask partition, row with index 3) — fix the "
        "data, or retrain with impute='mean', 'median' or 'zero'"
    )


def test_output_names():
    name = aefeat.dask.output_name
    assert name(Path("d/a.csv")) == "a.csv"
    assert name(Path("d/b.csv.gz")) == "b.csv"
    assert name(Path("d/c.parquet")) == "c.csv"
    assert name(Path("d/e.tsv")) == "e.tsv"
    names = aefeat.dask._output_names
    assert names(["/d/a.csv", "/d/b.csv.gz"]) == ["a.csv", "b.csv"]
    assert names(["/d/x.csv", "/d/sub/x.csv"]) == ["x.csv", "sub/x.csv"]
    assert names(["s3://b/d/y=1/p.parquet", "s3://b/d/y=2/p.parquet"]) == ["y=1/p.csv", "y=2/p.csv"]


def test_cli_dask_keeps_a_partitioned_datasets_layout(cluster, model_dir, frame, tmp_path):
    # Every partition of a Spark/Hive dataset holds a part-0.parquet: they were refused as
    # "two inputs would write the same output 'part-0.csv'".
    data = tmp_path / "sales"
    for i, year in enumerate((2024, 2025)):
        (data / f"year={year}").mkdir(parents=True)
        frame.iloc[120 * i : 120 * (i + 1)].to_parquet(data / f"year={year}" / "part-0.parquet")
    (data / "_temporary").mkdir()
    frame.iloc[:5].to_parquet(data / "_temporary" / "part-0.parquet")  # an unfinished job's
    out = tmp_path / "latent"
    pattern = f"{data}/**/*.parquet"
    result = run("encode", model_dir, pattern, "--dask", cluster.scheduler_address, "-o", out)
    assert result.exit_code == 0, result.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["year=2024/part-0.csv", "year=2025/part-0.csv"]
    for year in (2024, 2025):
        single = ok("encode", model_dir, data / f"year={year}" / "part-0.parquet")
        assert (out / f"year={year}" / "part-0.csv").read_text() == single


def test_inputs_that_would_share_an_output_name_are_refused(model_dir, frame, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    frame.to_csv(inputs / "a.csv", index=False)
    frame.to_csv(inputs / "a.csv.gz", index=False, compression="gzip")
    result = run("encode", model_dir, inputs, "--dask", "local", "-o", tmp_path / "out")
    assert result.exit_code == 2, result.stderr
    assert "same output 'a.csv'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_dask_is_imported_only_for_dask(model_dir, csv_path):
    code = (
        "import sys\n"
        "from aefeat.cli.app import app\n"
        f"for args in (['--help'], ['encode', {str(model_dir)!r}, {str(csv_path)!r}]):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_cli_dask_local_starts_its_own_workers(model_dir, parts, tmp_path):
    out = tmp_path / "latent"
    result = run("encode", model_dir, parts / "part-0.csv", "--dask", "local", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    single = run("encode", model_dir, parts / "part-0.csv")
    assert (out / "part-0.csv").read_bytes() == single.stdout_bytes


def _spawned_children(pid: int) -> list[int]:
    """Worker processes (multiprocessing spawns them) among the children of ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if not entry.name.isdigit():
                continue
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                out.append(int(entry.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_ctrl_c_while_local_workers_start_prints_no_traceback(model_dir, parts, tmp_path):
    """Ctrl-C reaches the terminal's whole process group: worker processes still starting
    printed a KeyboardInterrupt traceback each (about 90 lines in all)."""
    exe = shutil.which("aefeat", path=str(Path(sys.executable).parent))
    out = tmp_path / "latent"
    proc = subprocess.Popen(
        [exe, "encode", str(model_dir), f"{parts}/*.csv", "--dask", "local", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal's job has
    )
    try:
        deadline = time.monotonic() + 120
        while not _spawned_children(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.3)  # the workers are importing distributed now
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        _, err = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    text = err.decode()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    # The press lands while the cluster starts, when aefeat cannot act on it, or just after.
    if proc.returncode == 130:
        assert text == "aefeat: interrupted\n" and not out.exists()
    else:
        assert proc.returncode == 0 and text.startswith("aefeat: encoded 240 rows"), text
        assert sorted(p.name for p in out.iterdir()) == ["part-0.csv", "part-1.csv", "part-2.csv"]
    assert _spawned_children(proc.pid) == []  # the workers stopped with it


# --- aefeat train --dask: the scan runs on the workers, training here on the sample ----------

TRAIN_ARGS = ["--exclude", "id,label", "--epochs", "2", "--hidden", "4", "--seed", "5", "-q"]


@pytest.fixture(scope="module")
def one_worker():
    with distributed.LocalCluster(
        n_workers=1, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        yield cluster


def test_train_dask_gives_the_same_model_with_one_or_two_workers_and_here(
    cluster, one_worker, parts, csv_path, tmp_path
):
    data = f"{parts}/*.csv"
    encoded = []
    for name, where in [
        ("two", ["--dask", cluster.scheduler_address]),
        ("one", ["--dask", one_worker.scheduler_address]),
        ("here", []),  # no cluster: the same scan, file after file
    ]:
        model = tmp_path / name
        result = run("train", data, "-o", model, "--max-rows", "150", *where, *TRAIN_ARGS)
        assert result.exit_code == 0, result.stderr
        encoded.append(ok("encode", model, csv_path))
        info = json.loads((model / "metadata.json").read_text())["data"]
        assert info["rows_scanned"] == 240 and info["rows"] == 150 and info["files"] == 3
        assert info.get("scheduler") == (where[1] if where else None)
    assert encoded[0] == encoded[1] == encoded[2]


def test_train_dask_without_max_rows_trains_on_everything_when_it_is_small(
    cluster, parts, csv_path, tmp_path
):
    model = tmp_path / "m"
    result = run("train", str(parts), "-o", model, "--dask", cluster.scheduler_address, *TRAIN_ARGS)
    assert result.exit_code == 0, result.stderr
    assert json.loads((model / "metadata.json").read_text())["data"]["rows"] == 240


def test_train_dask_names_the_file_and_line_of_a_bad_value(cluster, frame, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        frame.iloc[80 * i : 80 * (i + 1)].to_csv(folder / f"p{i}.csv", index=False)
    text = (folder / "p1.csv").read_text().splitlines(keepends=True)
    text[7] = text[7].replace(",", ",oops", 2).replace(",oops", ",", 1)
    (folder / "p1.csv").write_text("".join(text))
    out = tmp_path / "m"
    result = run("train", str(folder), "-o", out, "--dask", cluster.scheduler_address, *TRAIN_ARGS)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("aefeat: error: ") and result.stderr.count("\n") == 1
    assert "p1.csv" in result.stderr and "line 8" in result.stderr
    assert not out.exists()


def test_train_dask_refuses_stream_and_stdin(cluster, parts, tmp_path):
    out = tmp_path / "m"
    both = run("train", str(parts), "-o", out, "--dask", "local", "--stream", *TRAIN_ARGS)
    assert both.exit_code == 2 and "--stream" in both.stderr
    piped = run("train", "-", "-o", out, "--dask", "local", *TRAIN_ARGS, input="a,b\n1,2\n")
    assert piped.exit_code == 2 and "stdin" in piped.stderr
