"""Issue #12: outputs a pipeline can trust. Every case runs the real CLI: in-process (CliRunner)
where nothing but the arguments matter, and as a subprocess of the installed ``aefeat`` where
file descriptors, signals, umask or ``ulimit -f`` matter.

Full disks are made three ways, never with the machine's own devices: a file-size limit
(``RLIMIT_FSIZE`` with SIGXFSZ ignored, so writes fail with EFBIG), a 64 KiB tmpfs (skipped where
``mount`` is not permitted), and private device nodes made with ``mknod`` in tmp directories
(1,7 behaves as /dev/full, 1,3 as /dev/null; skipped unless root).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import FEATURES, assert_user_error, make_frame, ok, run, snapshot, stray_files

from aefeat.io.sinks import TableWriter

EXE = shutil.which("aefeat", path=str(Path(sys.executable).parent))
TRAIN_FAST = ["--exclude", "id,label", "--epochs", "1", "--hidden", "4", "--quiet"]


@dataclass
class Proc:
    """A finished subprocess, shaped like click's Result for ``assert_user_error``."""

    exit_code: int
    stdout: bytes
    stderr: str
    exception: None = None


def aefeat(
    *args,
    stdin=subprocess.DEVNULL,
    stdout=subprocess.PIPE,
    fsize: int | None = None,
    address_space: int | None = None,
    close_stdin: bool = False,
    close_stdout: bool = False,
    close_stderr: bool = False,
    env: dict[str, str] | None = None,
) -> Proc:
    """Run the installed ``aefeat`` with a file-size or memory limit or a closed stdin, stdout
    or stderr if asked."""
    assert EXE, "the aefeat console script is not installed next to this Python"

    def child() -> None:
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if address_space is not None:  # as `ulimit -v`
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if close_stdin:
            os.close(0)
        if close_stdout:
            os.close(1)  # as `>&-` in a shell
        if close_stderr:
            os.close(2)  # as `2>&-` in a shell

    proc = subprocess.run(
        [EXE, *map(str, args)],
        stdin=stdin,
        stdout=None if close_stdout else stdout,
        stderr=None if close_stderr else subprocess.PIPE,
        preexec_fn=child,
        env=env,
        timeout=300,
    )
    return Proc(proc.returncode, proc.stdout or b"", (proc.stderr or b"").decode())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def devices(tmp_path) -> dict[str, Path]:
    """Private character devices: 'full' (ENOSPC on write, like /dev/full) and 'null'."""
    if os.geteuid() != 0:
        pytest.skip("making device nodes needs root")
    made = {}
    for name, minor in (("full", 7), ("null", 3)):
        path = tmp_path / "dev" / name
        path.parent.mkdir(exist_ok=True)
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        except OSError as exc:
            pytest.skip(f"mknod not permitted: {exc}")
        made[name] = path
    return made


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB tmpfs, unmounted afterwards."""
    mnt = tmp_path / "small_fs"
    mnt.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"mounting a tmpfs is not permitted here: {exc}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def fill(fs: Path, leave: int) -> None:
    """Fill a small filesystem until about ``leave`` bytes are free."""
    free = os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
    (fs / "filler").write_bytes(b"\0" * max(0, free - leave))


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """Enough rows that the encoded output is far over 64 KiB."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    make_frame(4000, seed=3).to_csv(path, index=False)
    return path


NO_SPACE = "no space left on device writing {} — free space or write elsewhere"
TOO_LARGE = "file too large (over the file-size limit) writing {}"


# --- rows 1-3: a full disk, a file-size limit, a full device -------------------------------------


def test_stdout_redirected_to_a_full_filesystem_fails(model_dir, big_csv, small_fs):
    with open(small_fs / "out.csv", "wb") as out:
        proc = aefeat("encode", model_dir, big_csv, stdout=out)
    assert proc.exit_code == 2, proc.stderr
    assert proc.stderr == "aefeat: error: " + NO_SPACE.format("<stdout>") + "\n"


def test_stdout_over_the_file_size_limit_fails(model_dir, csv_path, tmp_path):
    with open(tmp_path / "out.csv", "wb") as out:
        proc = aefeat("encode", model_dir, csv_path, "--keep", "id", stdout=out, fsize=2048)
    assert_user_error(proc, TOO_LARGE.format("<stdout>"))


def test_stdout_to_a_full_device_fails_for_encode_inspect_and_help(model_dir, csv_path, devices):
    with open(devices["full"], "wb") as out:
        enc = aefeat("encode", model_dir, csv_path, stdout=out)
        ins = aefeat("inspect", model_dir, "--json", stdout=out)
        helps = [aefeat(*args, stdout=out) for args in ([], ["--help"], ["train", "--help"])]
    for proc in (enc, ins, *helps):
        assert proc.stderr == "aefeat: error: " + NO_SPACE.format("<stdout>") + "\n"
        assert proc.exit_code == 2


def test_encode_to_a_full_filesystem_keeps_the_old_output(model_dir, big_csv, small_fs):
    target = small_fs / "out.csv"
    target.write_bytes(b"old,output\n")
    proc = aefeat("encode", model_dir, big_csv, "-o", target)
    assert proc.exit_code == 2
    assert proc.stderr == "aefeat: error: " + NO_SPACE.format(target) + "\n"
    assert target.read_bytes() == b"old,output\n"
    assert stray_files(small_fs) == []


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_encode_over_the_file_size_limit_keeps_the_old_output(kind, model_dir, csv_path, tmp_path):
    target = tmp_path / f"out.{kind}"
    target.write_bytes(b"old")
    proc = aefeat("encode", model_dir, csv_path, "--keep", "id", "-o", target, fsize=2048)
    assert_user_error(proc, TOO_LARGE.format(target), "ulimit -f")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_encode_to_a_full_device_fails_and_keeps_the_device(model_dir, csv_path, devices):
    proc = aefeat("encode", model_dir, csv_path, "-o", devices["full"])
    assert proc.stderr == "aefeat: error: " + NO_SPACE.format(devices["full"]) + "\n"
    assert proc.exit_code == 2
    assert stat.S_ISCHR(os.stat(devices["full"]).st_mode)
    assert stray_files(devices["full"].parent) == []


def test_train_to_a_full_filesystem_keeps_the_old_model(model_dir, csv_path, small_fs):
    target = small_fs / "model"
    target.mkdir()  # an empty directory may be used, and stays as it was on failure
    fill(small_fs, 8192)
    proc = aefeat("train", csv_path, "-o", target, *TRAIN_FAST)
    assert proc.exit_code == 2, proc.stderr
    assert proc.stderr == "aefeat: error: " + NO_SPACE.format(target) + "\n"
    assert target.is_dir() and not any(target.iterdir())
    assert stray_files(small_fs) == []


def test_train_over_the_file_size_limit_keeps_the_old_model(model_dir, csv_path, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    before = snapshot(target)
    proc = aefeat("train", csv_path, "-o", target, *TRAIN_FAST, fsize=8192)
    assert_user_error(proc, TOO_LARGE.format(target))
    assert snapshot(target) == before
    assert stray_files(tmp_path) == []


def test_plot_to_a_full_filesystem_and_device(model_dir, small_fs, devices):
    target = small_fs / "plot.png"
    target.write_bytes(b"old plot")
    fill(small_fs, 4096)
    proc = aefeat("inspect", model_dir, "--plot", target)
    assert proc.stderr == "aefeat: error: " + NO_SPACE.format(target) + "\n"
    assert proc.exit_code == 2
    assert target.read_bytes() == b"old plot"
    assert stray_files(small_fs) == []
    device_png = devices["full"].parent / "full.png"
    os.mknod(device_png, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    proc = aefeat("inspect", model_dir, "--plot", device_png)
    assert proc.stderr == "aefeat: error: " + NO_SPACE.format(device_png) + "\n"
    assert stat.S_ISCHR(os.stat(device_png).st_mode)


# --- row 4: modes follow the caller's umask -------------------------------------------------------


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask, file, directory", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_output_modes_follow_the_umask(mask, file, directory, umask, model_dir, csv_path, tmp_path):
    umask(mask)
    outs = {name: tmp_path / name for name in ("out.csv", "out.parquet", "plot.png", "model")}
    for name in ("out.csv", "out.parquet"):
        assert run("encode", model_dir, csv_path, "-o", outs[name]).exit_code == 0
    assert run("inspect", model_dir, "--plot", outs["plot.png"]).exit_code == 0
    result = run("train", csv_path, "-o", outs["model"], *TRAIN_FAST)
    assert result.exit_code == 0, result.stderr
    for name in ("out.csv", "out.parquet", "plot.png"):
        assert mode_of(outs[name]) == file, name
    assert mode_of(outs["model"]) == directory
    assert {mode_of(p) for p in outs["model"].iterdir()} == {file}


def test_replacing_an_output_keeps_its_mode(umask, model_dir, csv_path, tmp_path):
    # As `> file` and `sed -i` do: a model directory made private stays private on retrain.
    umask(0o022)
    out, plot, model = tmp_path / "out.csv", tmp_path / "plot.png", tmp_path / "model"
    for path in (out, plot):
        path.write_text("old")
        path.chmod(0o600)
    assert run("encode", model_dir, csv_path, "-o", out).exit_code == 0
    assert run("inspect", model_dir, "--plot", plot).exit_code == 0
    assert run("train", csv_path, "-o", model, *TRAIN_FAST).exit_code == 0
    model.chmod(0o700)
    result = run("train", csv_path, "-o", model, *TRAIN_FAST)
    assert result.exit_code == 0, result.stderr
    assert (mode_of(out), mode_of(plot), mode_of(model)) == (0o600, 0o600, 0o700)
    assert out.read_text() != "old"


def test_closed_stderr_drops_messages_and_keeps_data_clean(model_dir, csv_path, tmp_path):
    # `2>&-`: Python's sys.stderr is None and print(file=None) writes to stdout. A note (values
    # outside the training range), train's summary and an error must not land in the data.
    frame = make_frame(5)
    frame.loc[0, FEATURES[0]] = 1e6
    data = tmp_path / "far.csv"
    frame.to_csv(data, index=False)
    encoded = aefeat("encode", model_dir, data, "--keep", "id", close_stderr=True)
    assert encoded.exit_code == 0
    assert encoded.stdout.decode().splitlines()[0] == "id,z0,z1"
    assert len(encoded.stdout.decode().splitlines()) == 6
    model = tmp_path / "model"
    trained = aefeat("train", csv_path, "-o", model, *TRAIN_FAST[:-1], close_stderr=True)
    assert (trained.exit_code, trained.stdout) == (0, b"") and (model / "metadata.json").exists()
    failed = aefeat("encode", model_dir, tmp_path / "missing.csv", close_stderr=True)
    assert (failed.exit_code, failed.stdout) == (2, b"")


# --- row 5: -o naming an input --------------------------------------------------------------------


@pytest.mark.parametrize("how", ["same-path", "dot-slash", "symlink", "hard-link"])
def test_encode_refuses_to_overwrite_its_input(how, model_dir, csv_path, tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    shutil.copy(csv_path, data)
    monkeypatch.chdir(tmp_path)
    target = {"same-path": "data.csv", "dot-slash": "./data.csv"}.get(how, "other.csv")
    if how == "symlink":
        os.symlink(data, tmp_path / "other.csv")
    if how == "hard-link":
        os.link(data, tmp_path / "other.csv")
    before = data.read_bytes()
    result = run("encode", model_dir, "data.csv", "-o", target)
    assert_user_error(result, "-o is the input file data.csv", "another path")
    assert data.read_bytes() == before
    assert stray_files(tmp_path) == []


def test_train_and_plot_refuse_to_overwrite_an_input(model_dir, csv_path, tmp_path):
    data = tmp_path / "data.csv"
    shutil.copy(csv_path, data)
    before = data.read_bytes()
    result = run("train", data, "-o", data, *TRAIN_FAST)
    assert_user_error(result, "-o is the input file")
    link = tmp_path / "link.png"
    os.symlink(data, link)
    result = run("inspect", model_dir, "--data", data, "--plot", link)
    assert_user_error(result, "--plot is the input file")
    assert data.read_bytes() == before


# --- row 6: temporaries of a killed run -----------------------------------------------------------


def _start_encode_from_pipe(model_dir: Path, big_csv: Path, target: Path) -> subprocess.Popen:
    """An encode writing ``target`` that waits for more input: its temporary exists."""
    proc = subprocess.Popen(
        [EXE, "encode", str(model_dir), "-", "-o", str(target)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # More than the 64 KiB header sniff, less than the 8 MiB first block: stdin stays open.
    proc.stdin.write(big_csv.read_bytes()[:200_000])
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not stray_files(target.parent):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no temporary appeared: {proc.communicate(timeout=60)[1]!r}")
        time.sleep(0.05)
    return proc


def test_a_killed_runs_temporary_is_removed_by_the_next_run(model_dir, csv_path, big_csv, tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    killed = _start_encode_from_pipe(model_dir, big_csv, target)
    killed.kill()  # kill -9: no cleanup possible
    killed.wait(timeout=60)
    killed.stdin.close()
    stale = stray_files(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".out.csv.") and stale[0].endswith(".tmp")
    (tmp_path / ".other.csv.abcd1234.tmp").write_bytes(b"not ours")  # another output's
    (tmp_path / ".out.csv.notours").write_bytes(b"not our pattern")
    result = run("encode", model_dir, csv_path, "-o", target)
    assert result.exit_code == 0, result.stderr
    assert stray_files(tmp_path) == [".other.csv.abcd1234.tmp", ".out.csv.notours"]
    assert target.read_bytes().startswith(b"z0,z1\n")


def test_a_running_writers_temporary_is_left_alone(model_dir, csv_path, big_csv, tmp_path):
    target = tmp_path / "out.csv"
    running = _start_encode_from_pipe(model_dir, big_csv, target)
    try:
        live = stray_files(tmp_path)
        result = run("encode", model_dir, csv_path, "-o", target)
        assert result.exit_code == 0, result.stderr
        assert stray_files(tmp_path) == live  # locked by the running writer: not stale
    finally:
        running.kill()
        running.wait(timeout=60)
        running.stdin.close()


def _stale_dir(parent: Path, name: str) -> Path:
    stale = parent / f".{name}.abcd1234.tmp"  # what a killed train or --dask run leaves
    stale.mkdir()
    (stale / "weights.npz").write_bytes(b"half written")
    return stale


def test_stale_temporary_directories_are_removed(umask, model_dir, csv_path, tmp_path):
    pytest.importorskip("distributed")
    umask(0o027)
    stale = [_stale_dir(tmp_path, "model"), _stale_dir(tmp_path, "latent")]
    result = run("train", csv_path, "-o", tmp_path / "model", *TRAIN_FAST)
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "latent"
    result = run("encode", model_dir, csv_path, "--dask", "local", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    assert not any(p.exists() for p in stale)
    assert stray_files(tmp_path) == []
    assert (mode_of(out), mode_of(out / "tiny.csv")) == (0o750, 0o640)


# --- row 7: no stdin ------------------------------------------------------------------------------


def test_closed_stdin_is_a_user_error(model_dir):
    proc = aefeat("encode", model_dir, "-", close_stdin=True)
    assert_user_error(proc, "aefeat: error: no standard input")
    assert proc.stdout == b""


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["encode", "{model}", "{csv}"], id="encode"),
        pytest.param(["inspect", "{model}"], id="inspect"),
        pytest.param(["inspect", "{model}", "--json"], id="inspect-json"),
        # Refused before training: the summary would have nowhere to go after it.
        pytest.param(["train", "{csv}", "-o", "{new}", "--json", *TRAIN_FAST], id="train-json"),
    ],
)
def test_closed_stdout_is_a_user_error(command, model_dir, csv_path, tmp_path):
    fill = {"model": model_dir, "csv": csv_path, "new": tmp_path / "m"}
    proc = aefeat(
        *(a.format(**{k: str(v) for k, v in fill.items()}) for a in command), close_stdout=True
    )
    assert_user_error(proc, "aefeat: error: no standard output")
    assert not (tmp_path / "m").exists()
    assert stray_files(tmp_path) == []


# --- row 8: devices, FIFOs and symlinks as outputs ------------------------------------------------


def test_null_device_output_is_written_through(model_dir, csv_path, devices):
    proc = aefeat("encode", model_dir, csv_path, "-o", devices["null"])
    assert (proc.exit_code, proc.stderr) == (0, "")
    assert stat.S_ISCHR(os.stat(devices["null"]).st_mode)
    plot = devices["null"].parent / "null.png"
    os.mknod(plot, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    proc = aefeat("inspect", model_dir, "--plot", plot)
    assert proc.exit_code == 0, proc.stderr
    assert stat.S_ISCHR(os.stat(plot).st_mode)
    assert stray_files(devices["null"].parent) == []


def test_symlink_to_a_device_is_followed_not_replaced(model_dir, csv_path, devices, tmp_path):
    link = tmp_path / "link.csv"
    os.symlink(devices["full"], link)
    proc = aefeat("encode", model_dir, csv_path, "-o", link)
    assert_user_error(proc, NO_SPACE.format(link))
    assert link.is_symlink() and stat.S_ISCHR(os.stat(devices["full"]).st_mode)


def test_link_to_own_stdout_writes_to_stdout(model_dir, csv_path, tmp_path):
    link = tmp_path / "out.csv"
    os.symlink("/proc/self/fd/1", link)  # in the aefeat process: its own stdout, a pipe here
    proc = aefeat("encode", model_dir, csv_path, "-o", link)
    assert (proc.exit_code, proc.stderr) == (0, "")
    assert proc.stdout == run("encode", model_dir, csv_path).stdout_bytes
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    assert stray_files(tmp_path) == []


def test_fifo_output_is_written_through(model_dir, csv_path, tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = run("encode", model_dir, csv_path, "-o", fifo)
    reader.join(timeout=60)
    assert result.exit_code == 0, result.stderr
    assert got[0] == run("encode", model_dir, csv_path).stdout_bytes
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert stray_files(tmp_path) == []


def test_symlink_target_is_replaced_and_the_link_stays(model_dir, csv_path, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (real_dir / "out.csv").write_bytes(b"old")
    link = tmp_path / "out.csv"
    os.symlink(real_dir / "out.csv", link)
    result = run("encode", model_dir, csv_path, "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real_dir / "out.csv")
    assert (real_dir / "out.csv").read_bytes() == run("encode", model_dir, csv_path).stdout_bytes
    assert stray_files(tmp_path) == [] and stray_files(real_dir) == []
    model_link = tmp_path / "model_link"
    shutil.copytree(model_dir, real_dir / "model")
    os.symlink(real_dir / "model", model_link)
    result = run("train", csv_path, "-o", model_link, *TRAIN_FAST)
    assert result.exit_code == 0, result.stderr
    assert model_link.is_symlink() and (real_dir / "model" / "metadata.json").is_file()
    assert stray_files(real_dir) == []


# --- row 9: train -o replaces only an aefeat model --------------------------------------------------


def _users_dir(d: Path) -> None:
    d.mkdir()
    (d / "metadata.json").write_text('{"owner": "me"}')
    (d / "thesis.tex").write_text("years of work")


def _model_plus_file(d: Path, model: Path) -> None:
    shutil.copytree(model, d)
    (d / "notes.txt").write_text("mine")


def _fake_marker(d: Path, model: Path) -> None:
    d.mkdir()
    meta = {"format": "aefeat-model", "files": {"weights.npz": "x"}}
    (d / "metadata.json").write_text(json.dumps(meta))
    (d / "data.bin").write_bytes(b"mine")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d, m: _users_dir(d), id="unrelated-metadata"),
        pytest.param(_model_plus_file, id="model-plus-a-user-file"),
        pytest.param(_fake_marker, id="marker-without-the-files"),
        pytest.param(lambda d, m: (d.mkdir(), (d / "sub").mkdir()), id="non-empty"),
    ],
)
def test_train_refuses_a_directory_that_is_not_a_model(make, model_dir, csv_path, tmp_path):
    target = tmp_path / "dir"
    make(target, model_dir)
    before = snapshot(target), sorted(os.listdir(target))
    result = run("train", csv_path, "-o", target, *TRAIN_FAST)
    assert_user_error(result, "not an aefeat model directory", str(target), "-o")
    assert (snapshot(target), sorted(os.listdir(target))) == before
    assert stray_files(tmp_path) == []


def test_train_uses_an_empty_directory(csv_path, tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    result = run("train", csv_path, "-o", target, *TRAIN_FAST)
    assert result.exit_code == 0, result.stderr
    assert (target / "metadata.json").is_file()
    assert stray_files(tmp_path) == []


# --- row 10: SIGTERM, and the other signals that end batch jobs (SIGHUP, SIGXCPU) -----------------


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGXCPU"])
def test_ending_signals_clean_up_like_ctrl_c(sig, model_dir, big_csv, tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    proc = _start_encode_from_pipe(model_dir, big_csv, target)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, sig)
    assert err == f"aefeat: terminated ({sig})\n".encode()
    assert target.read_bytes() == b"old"
    assert stray_files(tmp_path) == []


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_ends_encode_blocked_on_a_reader_that_stopped_reading(sig, model_dir, big_csv):
    """`aefeat encode M big.csv | stalled-reader`: the pipe fills and the writer blocks; a
    signal must still end the process at once (it waited for the reader forever)."""
    proc = subprocess.Popen(
        # Small chunks: the queue to the writer thread fills while the writer is blocked.
        [EXE, "encode", str(model_dir), str(big_csv), "--quiet", "--chunk-size", "100"],
        stdout=subprocess.PIPE,  # never read
        stderr=subprocess.PIPE,
    )
    try:
        # Blocked: alive, and no CPU time used over half a second.
        deadline, last = time.monotonic() + 60, -1
        while (ticks := _cpu_ticks(proc.pid)) != last:
            assert proc.poll() is None and time.monotonic() < deadline
            last = ticks
            time.sleep(0.5)
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=20)
        err = proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate()
    if sig == "SIGINT":
        assert (proc.returncode, err) == (130, b"aefeat: interrupted\n")
    else:
        assert (proc.returncode, err) == (143, b"aefeat: terminated (SIGTERM)\n")


@pytest.mark.parametrize(
    "command, hint",
    [("train", "use --max-rows or --stream"), ("encode", "use a smaller --chunk-size")],
)
def test_a_memory_limit_is_a_user_error_naming_the_commands_option(
    command, hint, model_dir, big_csv, tmp_path
):
    """Under `ulimit -v` the failure is a library that cannot be mapped or a thread that cannot
    start, not a MemoryError; it was an internal error, and encode's hint named --max-rows."""
    args = {"train": [big_csv, "-o", tmp_path / "m", *TRAIN_FAST], "encode": [model_dir, big_csv]}
    # Train fails loading TensorFlow under 1 GiB, encode loading pyarrow's threads under 200 MiB.
    limit = {"train": 1 << 30, "encode": 200 << 20}[command]
    proc = aefeat(command, *args[command], address_space=limit)
    assert proc.exit_code == 2, proc.stderr
    # C libraries (OpenBLAS, jemalloc) may print their own line first; ours is the last.
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("aefeat: error: out of memory (or over a limit such as ulimit -v)")
    assert hint in last and "Traceback" not in proc.stderr
    assert not (tmp_path / "m").exists() and stray_files(tmp_path) == []


# --- rows 11-12: inputs and options that crashed --------------------------------------------------


def test_truncated_gzip_is_a_user_error(model_dir, csv_path, tmp_path):
    data = gzip.compress(make_frame(2000).to_csv(index=False).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    for args in (["encode", model_dir, path], ["train", path, "-o", tmp_path / "m", *TRAIN_FAST]):
        result = run(*args)
        assert result.stderr == (
            f"aefeat: error: the gzip stream ends early ({path}) — the file is truncated\n"
        )
        assert result.exit_code == 2


def _parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def test_duplicate_and_nested_columns_are_user_errors(model_dir, csv_path, frame, tmp_path):
    result = run("train", csv_path, "-o", tmp_path / "m", "--columns", "f0,f0,f1")
    assert_user_error(result, "column 'f0' is named twice", "--columns")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    nested = table.append_column("tags", pa.array([[1, 2]] * len(frame)))
    path = _parquet(tmp_path / "nested.parquet", nested)
    result = run("encode", model_dir, path, "--keep", "tags", "-o", tmp_path / "out.csv")
    assert_user_error(result, "column 'tags' holds list<", "which CSV cannot hold", "--keep")
    assert not (tmp_path / "out.csv").exists()
    result = run("encode", model_dir, path, "--keep", "tags", "-o", tmp_path / "out.parquet")
    assert result.exit_code == 0, result.stderr  # Parquet holds lists
    dup = pa.Table.from_arrays([table.column("f0"), table.column("f1")], names=["f0", "f0"])
    path = _parquet(tmp_path / "dup.parquet", dup)
    result = run("encode", model_dir, path)
    assert_user_error(result, "duplicate field names 'f0'", "dup.parquet")


def test_deep_metadata_and_huge_chunk_size_are_user_errors(model_dir, csv_path, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    (model / "metadata.json").write_text("[" * 200_000 + "]" * 200_000)
    for args in (["encode", model, csv_path], ["inspect", model]):
        assert_user_error(run(*args), "metadata.json is nested too deeply", str(model))
    result = run("train", csv_path, "-o", model, *TRAIN_FAST)
    assert_user_error(result, "not an aefeat model directory")
    result = run("encode", model_dir, csv_path, "--chunk-size", "99999999999999999999")
    assert_user_error(result, "invalid value 99999999999999999999", "--chunk-size")


# --- rows 13-15: long fields, commas in names, decimals -------------------------------------------


def test_a_50_mb_field_is_read(model_dir, frame, tmp_path):
    text = frame.copy()
    text["note"] = "short"
    text.loc[3, "note"] = "x" * (50 << 20)
    path = tmp_path / "long.csv"
    text.to_csv(path, index=False)
    result = run("encode", model_dir, path, "--keep", "note", "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.stderr
    lines = (tmp_path / "out.csv").read_bytes().split(b"\n")
    assert len(lines[4]) > 50 << 20 and lines[4].startswith(b"xxxx")
    assert lines[5].startswith(b"short,")
    result = run(
        "train", path, "-o", tmp_path / "m", *TRAIN_FAST[:1], "id,label,note", *TRAIN_FAST[2:]
    )
    assert result.exit_code == 0, result.stderr


def test_column_names_with_commas_are_quoted(model_dir, frame, tmp_path):
    odd = frame.rename(columns={"id": "id,code", "label": 'say "hi"'})
    path = tmp_path / "commas.csv"
    odd.to_csv(path, index=False)
    result = run("encode", model_dir, path, "--keep", '"id,code","say ""hi"""')
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert header == '"id,code","say ""hi""",z0,z1'
    result = run("encode", model_dir, path, "--keep", "nope")
    assert_user_error(result, 'available columns: "id,code", f0', '"say ""hi"""')
    result = run("train", path, "-o", tmp_path / "m", "--epochs", "1")
    assert_user_error(
        result,
        "columns 'id,code', 'say \"hi\"' hold text",
        '--exclude \'"id,code","say ""hi"""\'',  # shell-quoted: it can be pasted
    )
    result = run(
        "train", path, "-o", tmp_path / "m", "--exclude", '"id,code"', "--exclude", '"say ""hi"""',
        "--epochs", "1", "--hidden", "4", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr


def test_parquet_decimal_columns_are_numbers(model_dir, frame, tmp_path):
    from decimal import Decimal

    import pandas as pd

    table = pa.Table.from_pandas(frame.round(4), preserve_index=False)
    floats = _parquet(tmp_path / "floats.parquet", table)
    f1 = pa.array([Decimal(f"{v:.4f}") for v in frame["f1"]], pa.decimal128(12, 4))
    dec = table.set_column(table.schema.get_field_index("f1"), "f1", f1)
    decimals = _parquet(tmp_path / "decimals.parquet", dec)
    want = run("encode", model_dir, floats, "--keep", "id")
    got = run("encode", model_dir, decimals, "--keep", "id")
    assert want.exit_code == 0 and got.exit_code == 0, got.stderr
    a, b = (pd.read_csv(io.StringIO(r.stdout)) for r in (want, got))
    assert list(a.columns) == list(b.columns) == ["id", "z0", "z1"]
    assert np.allclose(a[["z0", "z1"]], b[["z0", "z1"]], rtol=0, atol=1e-5)


# --- rows 16-17: forged model files ---------------------------------------------------------------


def _forge_npz(path: Path, key: str, shape: tuple[int, ...]) -> None:
    """An .npz whose member declares ``shape`` float64 but holds only a few bytes: loading it
    naively would allocate (or inflate) gigabytes."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))
    header["shape"] = shape
    # Stored, as np.savez writes: a deflated member is refused before its shape is read.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf, zf.open(f"{key}.npy", "w") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 4096)


def _resign(model: Path) -> None:
    from aefeat.modeldir import sha256_file

    meta = json.loads((model / "metadata.json").read_text())
    meta["files"] = {name: sha256_file(model / name) for name in meta["files"]}
    (model / "metadata.json").write_text(json.dumps(meta))


def test_forged_array_shapes_are_refused_before_reading(model_dir, csv_path, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    with np.load(model / "weights.npz") as w:
        arrays = {k: w[k] for k in w.files}
    key = "encoder_linear/kernel"
    expected = arrays[key].shape
    arrays.pop(key)
    np.savez(model / "weights.npz", **arrays)
    with zipfile.ZipFile(model / "weights.npz", "a") as zf, zf.open(f"{key}.npy", "w") as fh:
        header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1)))
        header["shape"] = (100000, 100000)
        np.lib.format.write_array_header_1_0(fh, header)
    _forge_npz(model / "sample.npz", "X", (100_000_000, len(FEATURES)))  # 4.8 GB declared
    _resign(model)
    result = run("encode", model, csv_path)
    assert_user_error(
        result,
        f"model file weights.npz declares shape (100000, 100000) for array {key!r}, "
        f"expected {expected}",
    )
    np.savez(model / "weights.npz", **{**arrays, key: np.zeros(expected)})
    _resign(model)
    result = run("inspect", model)
    assert_user_error(
        result,
        "model file sample.npz declares shape (100000000, 6) for array 'X', expected (1..1000, 6)",
    )


def test_boolean_format_version_is_refused(model_dir, csv_path, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    meta = json.loads((model / "metadata.json").read_text())
    meta["format_version"] = True
    (model / "metadata.json").write_text(json.dumps(meta))
    assert_user_error(run("encode", model, csv_path), "unknown model format version True")


# --- row 18: nothing from TensorFlow on stderr ---------------------------------------------------


def test_train_prints_nothing_from_tensorflow_in_a_clean_environment(csv_path, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AEFEAT_"))}
    quiet = aefeat("train", csv_path, "-o", tmp_path / "m1", *TRAIN_FAST, env=env)
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    args = ["train", csv_path, "-o", tmp_path / "m2", *TRAIN_FAST[:-1]]
    loud = aefeat(*args, env=env)
    assert loud.exit_code == 0, loud.stderr
    assert "absl" not in loud.stderr and "I0000" not in loud.stderr and "oneDNN" not in loud.stderr
    assert "trained on 240 rows" in loud.stderr
    # --debug shows TensorFlow's own start-up lines, whatever this TensorFlow prints.
    bare = subprocess.run(
        [sys.executable, "-c", "import keras"], capture_output=True, env=env, timeout=300
    )
    debug = aefeat(*args, "--debug", env=env)
    assert debug.exit_code == 0, debug.stderr
    for line in bare.stderr.decode().splitlines():
        if line.startswith(("WARNING: All log messages", "I0000")):
            assert line.split("]")[-1] in debug.stderr


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_table_writer_writes_header_once_and_quotes_only_values_that_need_it(kind):
    sink = io.BytesIO()
    writer = TableWriter(sink, kind)
    first = pa.RecordBatch.from_pydict({"id": ["plain", "a,b"], "z0": [1.5, -2.0]})
    writer.write(first)
    writer.write(pa.RecordBatch.from_pydict({"id": ["c"], "z0": [3.0]}))
    writer.close()
    if kind == "csv":
        # Not pyarrow's quoting of every text value in the batch holding "a,b".
        assert sink.getvalue().decode() == 'id,z0\nplain,1.5\n"a,b",-2\nc,3\n'
    else:
        table = pq.read_table(io.BytesIO(sink.getvalue()))
        assert table.to_pydict() == {"id": ["plain", "a,b", "c"], "z0": [1.5, -2.0, 3.0]}


# --- found by a user's audit (fourteenth session) -------------------------------------------------


def test_outputs_inside_the_model_directory_are_refused(model_dir, csv_path, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    before = snapshot(model)
    for target in ("weights.csv", "metadata.json.csv", "new.csv"):
        result = run("encode", model, csv_path, "-o", model / target)
        assert_user_error(result, "-o is inside the model directory")
    result = run("inspect", model, "--plot", model / "plot.png")
    assert_user_error(result, "--plot is inside the model directory")
    for target in (model / "v2", model / "a" / "b"):  # it could no longer be retrained in place
        result = run("train", csv_path, "-o", target, "--epochs", "1")
        assert_user_error(result, f"output is inside the model directory {model}")
    assert snapshot(model) == before
    run_ok = run("encode", model, csv_path)  # the model still loads
    assert run_ok.exit_code == 0, run_ok.stderr


def test_output_type_follows_the_name(model_dir, csv_path, tmp_path):
    plain = run("encode", model_dir, csv_path, "--keep", "id")
    assert plain.exit_code == 0, plain.stderr
    result = run("encode", model_dir, csv_path, "--keep", "id", "-o", tmp_path / "z.csv.gz")
    assert result.exit_code == 0, result.stderr
    assert gzip.decompress((tmp_path / "z.csv.gz").read_bytes()).decode() == plain.stdout
    again = run("encode", model_dir, csv_path, "--keep", "id", "-o", tmp_path / "y.csv.gz")
    assert again.exit_code == 0, again.stderr
    # No name or time in the gzip header: the same rows give the same bytes.
    assert (tmp_path / "y.csv.gz").read_bytes() == (tmp_path / "z.csv.gz").read_bytes()
    result = run("encode", model_dir, csv_path, "--keep", "id", "-o", tmp_path / "z.tsv")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "z.tsv").read_text() == plain.stdout.replace(",", "\t")
    for name in ("z.json", "z.xlsx", "z.feather", "z.parquet.gz"):
        result = run("encode", model_dir, csv_path, "-o", tmp_path / name)
        assert_user_error(result, "cannot write", ".csv.gz")
        assert not (tmp_path / name).exists()
    assert stray_files(tmp_path) == []


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_plot_as_svg_and_pdf(suffix, model_dir, tmp_path):
    target = tmp_path / f"plot{suffix}"
    result = run("inspect", model_dir, "--plot", target)
    assert result.exit_code == 0, result.stderr
    head = target.read_bytes()[:200]
    assert (b"<svg" in head) if suffix == ".svg" else head.startswith(b"%PDF")


def test_a_late_bad_value_with_parquet_output_is_one_line(model_dir, frame, tmp_path):
    # The bad row comes after the first 8 MiB block, once the Parquet writer has started.
    data = tmp_path / "late.csv"
    rows = frame[FEATURES].to_csv(index=False, header=False)
    with open(data, "w") as fh:
        fh.write(",".join(FEATURES) + "\n")
        for _ in range(9 * 2**20 // len(rows) + 1):
            fh.write(rows)
        fh.write("x" + ",1" * (len(FEATURES) - 1) + "\n")
    proc = aefeat("encode", model_dir, data, "-o", tmp_path / "out.parquet", "-q")
    assert_user_error(proc, "is not numeric")
    assert not (tmp_path / "out.parquet").exists() and stray_files(tmp_path) == []


def test_train_whose_summary_cannot_be_printed_keeps_the_old_model(model_dir, csv_path, devices):
    target = devices["full"].parent / "model"
    shutil.copytree(model_dir, target)
    before = snapshot(target)
    with open(devices["full"], "wb") as full:
        proc = aefeat("train", csv_path, "-o", target, *TRAIN_FAST, "--seed", "7", "--json",
                      stdout=full)  # fmt: skip
    assert_user_error(proc, "no space left on device writing <stdout>")
    assert snapshot(target) == before
    assert stray_files(target.parent) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_train_json_says_saved_only_of_a_saved_model(csv_path, tmp_path):
    # The note ("...; saved DIR") came before the commit: a summary that could not be
    # printed gave "saved" and then the error, two lines, for a model that was not saved.
    target = tmp_path / "model"
    with open("/dev/full", "wb") as full:
        proc = aefeat("train", csv_path, "-o", target, *TRAIN_FAST[:-1], "--json", stdout=full)
    assert_user_error(proc, "no space left on device writing <stdout>")
    assert not target.exists() and stray_files(tmp_path) == []


def test_train_json_to_a_reader_that_went_away_saves_the_model(csv_path, tmp_path):
    # `train --json | head -c 0`: the reader declined the summary, not the model. It used to
    # fail with "cannot write: Broken pipe writing MODEL — check the output path".
    read_end, write_end = os.pipe()
    os.close(read_end)
    target = tmp_path / "model"
    try:
        proc = aefeat("train", csv_path, "-o", target, *TRAIN_FAST[:-1], "--json", stdout=write_end)
    finally:
        os.close(write_end)
    assert proc.exit_code == 0, proc.stderr
    assert f"saved {target}" in proc.stderr and "error" not in proc.stderr
    assert (target / "metadata.json").is_file()


def test_a_read_only_output_is_refused_before_the_work(model_dir, csv_path, tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(mnt)], check=True,
                       capture_output=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"mounting a tmpfs is not permitted here: {exc}")
    try:
        for args in (
            ("train", csv_path, "-o", mnt / "m", "--exclude", "id,label", "--epochs", "5000"),
            ("train", csv_path, "-o", mnt / "new" / "m", "--exclude", "id,label"),
            ("encode", model_dir, csv_path, "-o", mnt / "z.csv"),
            ("inspect", model_dir, "--plot", mnt / "z.png"),
        ):
            started = time.monotonic()
            result = run(*args)
            assert_user_error(result, "read-only file system writing")
            # Refused before training: 5,000 epochs would take far longer.
            assert time.monotonic() - started < 20
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def test_train_output_is_a_local_directory(csv_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_user_error(run("train", csv_path, "-o", "-", *TRAIN_FAST), "cannot be written to stdout")
    assert_user_error(run("train", csv_path, "-o", "s3://bucket/m", *TRAIN_FAST), "not a URL")
    assert list(tmp_path.iterdir()) == []
    result = run("train", csv_path, "-o", f"file://{tmp_path}/m", *TRAIN_FAST)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "m" / "metadata.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_train_under_a_file_is_refused_before_the_work(csv_path, tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    result = run("train", csv_path, "-o", tmp_path / "afile" / "sub" / "m", *TRAIN_FAST)
    assert_user_error(result, "output parent is not a directory", "fix the -o path")
    assert (tmp_path / "afile").read_text() == "not a directory"


def test_encode_output_may_be_a_file_url(model_dir, csv_path, tmp_path):
    # The README promises file:// for encode -o; it was refused ("output directory does not
    # exist (file:/...)") while train -o, DATA and the model directory took it.
    plain = ok("encode", model_dir, csv_path, "--keep", "id")
    for name in ("out.csv", "out.csv.gz"):
        ok("encode", model_dir, csv_path, "--keep", "id", "-o", f"file://{tmp_path}/{name}")
    assert (tmp_path / "out.csv").read_text() == plain
    assert gzip.decompress((tmp_path / "out.csv.gz").read_bytes()).decode() == plain
    result = run("encode", model_dir, csv_path, "-o", f"file://{tmp_path}/nowhere/out.csv")
    assert_user_error(result, f"output directory does not exist ({tmp_path}/nowhere)")


def test_train_replaces_a_damaged_model_that_encode_says_to_retrain(model_dir, csv_path, tmp_path):
    # encode said "model file decoder.keras is missing — retrain the model", and train then
    # refused the directory as "not an aefeat model directory (it holds other files)".
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    (target / "decoder.keras").unlink()
    assert_user_error(run("encode", target, csv_path), "decoder.keras is missing", "retrain")
    result = run("train", csv_path, "-o", target, *TRAIN_FAST)
    assert result.exit_code == 0, result.stderr
    assert (target / "decoder.keras").is_file()
    (target / "metadata.json").write_text("{")
    refused = run("train", csv_path, "-o", target, *TRAIN_FAST)
    assert_user_error(refused, "not an aefeat model directory: its metadata.json is not valid")


def _plain_env(**extra: str) -> dict[str, str]:
    """A user's environment: PATH, HOME, and what the test sets."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **extra}


def test_plot_with_an_unwritable_home_prints_nothing_with_quiet(model_dir, tmp_path):
    """Matplotlib's note on a config directory it cannot create (a batch account, a container
    with HOME unset or read-only) passed --quiet."""
    env = _plain_env(HOME="/proc/no-such-home")  # cannot be created, not even by root
    proc = aefeat("inspect", model_dir, "--plot", tmp_path / "p.png", "--quiet", env=env)
    assert (proc.exit_code, proc.stderr) == (0, "")
    assert (tmp_path / "p.png").stat().st_size > 0


def test_inspect_to_an_ascii_only_stdout_is_readable(model_dir):
    """PYTHONIOENCODING=ascii (or a Latin-1 locale) failed with UnicodeEncodeError."""
    proc = aefeat("inspect", model_dir, env=_plain_env(PYTHONIOENCODING="ascii"))
    assert (proc.exit_code, proc.stderr) == (0, "")
    text = proc.stdout.decode("ascii")
    assert "aefeat model" in text and "f0" in text
    assert "\\u25" not in text and "-+-" in text  # tables ruled in ASCII, not escaped box lines


def test_a_fifo_in_a_model_files_place_is_refused_not_waited_on(model_dir, csv_path, tmp_path):
    """Opening a FIFO blocks until a writer comes: encode hung for ever."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    for name in ("sample.npz", "metadata.json"):
        shutil.copytree(model_dir, model, dirs_exist_ok=True)
        (model / name).unlink()
        os.mkfifo(model / name)
        proc = subprocess.run(
            [EXE, "encode", str(model), str(csv_path)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 2
        assert "is missing" in proc.stderr and proc.stderr.count("\n") == 1
        (model / name).unlink()


def test_a_model_directory_one_may_only_search_loads(model_dir, csv_path, tmp_path):
    """A shared model directory of mode 711 (search, no listing) loads, as it did by path."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root (to give the directory away) and setpriv (to drop the override)")
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    for path in (model, *model.iterdir()):
        os.chown(path, 65534, 65534)  # nobody
    model.chmod(0o711)
    drop = "-dac_override,-dac_read_search"
    proc = subprocess.run(
        [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", EXE, "encode", model, csv_path],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("z0,z1\n")
