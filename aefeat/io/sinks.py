"""Output files and directories: the one place that writes anything a user named with ``-o`` or
``--plot``, and the one place that turns a failed write into the user's one-line error.

Every output (encode's CSV and Parquet files, the Dask output directory, train's model
directory, inspect's plot) is written the same way:

- symlinks in the output path are followed: the link's target is replaced and the link stays;
- a target that exists and is not a regular file or directory (a character device, a FIFO) is
  written through, never replaced (``-o /dev/null`` discards, a full device reports no space);
- anything else is written to a temporary ``.NAME.XXXXXXXX.tmp`` beside the target, given the
  mode of the target it replaces, or for a new one the mode the caller's umask implies
  (``0o666 & ~umask``, ``0o777 & ~umask`` for directories),
  fsynced and renamed over the target only when complete; on any error, Ctrl-C or SIGTERM the
  temporary is removed and an existing target is left exactly as it was;
- a temporary is locked (``flock``) while its writer lives, so the next run writing the same
  output removes the ones a killed run (``kill -9``) left behind, and only those;
- an ``OSError`` from writing becomes an :class:`AefeatError` naming the output and the cause
  in words (no space, file-size limit, quota, permission, read-only filesystem).

Standard output gets the same error translation through :func:`checked_stdout`; a reader that
went away (``| head``) stays a quiet ``BrokenPipeError``.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import errno
import fcntl
import io
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from aefeat.core.config import option_name
from aefeat.errors import AefeatError
from aefeat.io import remote

STDOUT_NAME = "<stdout>"
_TMP_SUFFIX = ".tmp"

# errno -> (what went wrong, in words; what to do)
_WRITE_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on device", "free space or write elsewhere"),
    errno.EDQUOT: ("disk quota exceeded", "free space or write elsewhere"),
    errno.EFBIG: (
        "file too large (over the file-size limit)",
        "raise the limit (ulimit -f) or write elsewhere",
    ),
    errno.EACCES: ("permission denied", "check the permissions or write elsewhere"),
    errno.EPERM: ("operation not permitted", "check the permissions or write elsewhere"),
    errno.EROFS: ("read-only file system", "write elsewhere"),
}


def write_error(exc: OSError, name: str) -> AefeatError:
    """The user-facing error for an ``OSError`` raised while writing output ``name``."""
    what, hint = _WRITE_ERRORS.get(
        exc.errno or 0, (f"cannot write: {exc.strerror or exc}", "check the output path")
    )
    return AefeatError(f"{what} writing {name}", None, hint)


def current_umask() -> int:
    """The process umask, read without changing it (``os.umask`` can only read it by setting it,
    which races with threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new output file gets: what ``open()`` would give under the caller's umask."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode a new output directory gets: what ``mkdir`` would give under the umask."""
    return 0o777 & ~current_umask()


def _mode_for(real: Path, new_mode: Callable[[], int]) -> int:
    """The mode of the output replacing ``real``: the existing one's, as ``> file`` and
    ``sed -i`` keep it (a user who made a model directory private keeps it private), or
    ``new_mode()`` when there is none yet."""
    try:
        return stat.S_IMODE(os.stat(real).st_mode)
    except OSError:
        return new_mode()


# --- checked writes --------------------------------------------------------------------------


class CheckedWriter:
    """A binary file object whose write, flush and close errors become :class:`AefeatError`
    naming the output. A closed pipe (``EPIPE``) stays a ``BrokenPipeError``: the reader went
    away, which is how pipelines end."""

    def __init__(self, raw: Any, name: str) -> None:
        self._raw = raw
        self.name = name

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise write_error(exc, self.name) from None

    def write(self, data: Any) -> int:
        # A raw (unbuffered) file, such as stdout under PYTHONUNBUFFERED, reports a full disk
        # first as a short write: keep writing until all is written or write() raises.
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            n = self._call(self._raw.write, view)
            if not n:
                raise write_error(OSError(errno.EIO, "the write made no progress"), self.name)
            view = view[n:]
        return total

    def flush(self) -> None:
        self._call(self._raw.flush)

    def close(self) -> None:
        self._call(self._raw.close)

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False


def require_stdout(instead: str = "redirect it to a file") -> None:
    """Refuse a closed standard output (``>&-``) before work whose result goes there."""
    if sys.stdout is None:
        raise AefeatError("no standard output", None, f"run aefeat with stdout open, or {instead}")


def checked_stdout() -> CheckedWriter:
    """Standard output as a :class:`CheckedWriter` named ``<stdout>``, for data.

    Writes go straight to file descriptor 1, after what Python buffered so far: a writer thread
    blocked on a reader that stopped reading then holds no lock of Python's stdout, so a signal
    can still end the process (the interpreter refuses to exit while that lock is taken)."""
    require_stdout("use -o FILE")
    with writing_stdout():
        pass  # flushes what is buffered, so it comes first
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # not a real file (a test runner's capture)
        return CheckedWriter(sys.stdout.buffer, STDOUT_NAME)
    return CheckedWriter(io.FileIO(fd, "wb", closefd=False), STDOUT_NAME)


@contextlib.contextmanager
def writing_stdout() -> Iterator[None]:
    """Around code that only writes to stdout (a report, JSON): its ``OSError`` becomes the
    usual error naming ``<stdout>``. Unbuffered stdout (``PYTHONUNBUFFERED``) fails at the
    write, buffered stdout at the flush: both are covered."""
    require_stdout()
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise write_error(exc, STDOUT_NAME) from None


def flush_stdout() -> None:
    """Flush Python's stdout, turning a failure into the usual error: a redirected stdout on a
    full disk may fail only here, at the last flush."""
    with writing_stdout():
        pass


# --- targets ---------------------------------------------------------------------------------


def resolve(target: str | os.PathLike[str]) -> Path:
    """The path actually written: symlinks followed, so that a link stays a link."""
    return Path(os.path.realpath(target))


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _is_special(path: Path) -> bool:
    """An existing target that is neither a regular file nor a directory (device, FIFO, socket),
    symlinks followed."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_writable(directory: Path, shown: str, option: str = "-o") -> None:
    """Refuse, before any work, an output whose directory (or, if missing, the nearest existing
    path above it, where the missing directories will be made) is not a directory or cannot
    take new entries: a read-only filesystem or no write permission."""
    for up in (directory, *directory.parents):
        if up.exists():
            break
    if not up.is_dir():
        raise AefeatError("output parent is not a directory", str(up), f"fix the {option} path")
    if os.access(up, os.W_OK | os.X_OK):
        return
    try:
        read_only = bool(os.statvfs(up).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    code = errno.EROFS if read_only else errno.EACCES
    raise write_error(OSError(code, os.strerror(code)), shown)


def check_file_target(
    target: str | os.PathLike[str], option: str = "-o", example: str | None = None
) -> None:
    """Refuse, before any work, a file output that :func:`atomic_file` could not write.
    ``example``: a file name to suggest inside a directory given instead of a file."""
    shown = str(target)
    local = remote.local_path(shown)
    if remote.is_url(local):
        return  # an object store has no directories to check; the upload says what is wrong
    if _is_special(Path(local)):
        return
    real = resolve(local)
    if real.is_dir():
        hint = f"name a file with {option}"
        if example:
            hint += f", such as {shlex.quote(os.path.join(shown, example))}"
        raise AefeatError("output is a directory", shown, hint)
    parent = _parent(real)
    if not parent.is_dir():
        raise AefeatError(
            "output directory does not exist", str(_parent(Path(local))), "create it first"
        )
    check_writable(parent, shown, option)


def check_not_input(
    output: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]],
    option: str = "-o",
    *,
    within: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Refuse an output that is one of the inputs (by any path: ``./x``, a symlink, a hard link),
    a directory holding one, or a path inside one of the directories ``within`` (the model
    directory being read): writing it would destroy, or change, what is being read."""
    if remote.is_url(remote.local_path(str(output))):
        same = [n for n in inputs if remote.local_path(str(n)) == remote.local_path(str(output))]
        if same:
            raise AefeatError(
                f"{option} is the input file {same[0]}",
                f"{option} {output}",
                "write the output to another path",
            )
        return
    out = resolve(remote.local_path(str(output)))
    for name in within:
        if os.path.isdir(name) and out.is_relative_to(resolve(name)):
            raise AefeatError(
                f"{option} is inside the model directory {name}",
                f"{option} {output}",
                "write the output outside that directory",
            )
    try:
        out_st = os.stat(out)
    except OSError:
        return  # a new path cannot be an input
    for name in inputs:
        if str(name) == "-":
            continue
        try:
            st = os.stat(name)
        except OSError:
            continue
        same = (st.st_dev, st.st_ino) == (out_st.st_dev, out_st.st_ino)
        inside = stat.S_ISDIR(out_st.st_mode) and resolve(name).is_relative_to(out)
        if same or inside:
            raise AefeatError(
                f"{option} is the input file {name}"
                if same
                else f"{option} holds the input {name}",
                f"{option} {output}",
                "write the output to another path",
            )


# --- temporaries -----------------------------------------------------------------------------


def _tmp_pattern(name: str) -> re.Pattern[str]:
    # What tempfile.mkstemp/mkdtemp make from prefix ".NAME." and suffix ".tmp".
    return re.compile(re.escape(f".{name}.") + r"[A-Za-z0-9_]{8}" + re.escape(_TMP_SUFFIX))


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _remove(path: Path) -> None:
    # A Dask task cancelled while running may still create a file for a moment: retry briefly.
    for _ in range(10):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
        except FileNotFoundError:
            return
        except OSError:
            pass
        if not os.path.lexists(path):
            return
        time.sleep(0.2)


def remove_stale(parent: Path, name: str) -> None:
    """Remove temporaries of ``name`` that a killed run left in ``parent``: those of our own
    naming pattern that no living writer holds locked."""
    pattern = _tmp_pattern(name)
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for entry in entries:
        if not pattern.fullmatch(entry):
            continue
        path = parent / entry
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # not ours to judge (another user's, or a symlink)
        try:
            if _lock(fd):
                _remove(path)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike[str], option: str = "-o") -> Iterator[CheckedWriter]:
    """Write the file ``target`` atomically; yields a binary file object for the content.

    See the module docstring for what happens with links, devices, modes, errors and signals.
    """
    shown = str(target)
    check_file_target(target, option)
    target = remote.local_path(shown)
    if remote.is_url(target):
        # No rename on an object store: write a local temporary, then upload it whole.
        with tempfile.TemporaryDirectory(prefix="aefeat-upload-") as tmp:
            local = Path(tmp) / "output"
            with atomic_file(local, option) as out:
                out.name = shown  # errors name the output the user asked for
                yield out
            remote.upload(local, target)
        return
    if _is_special(Path(target)):
        # A device or FIFO, directly or through a link (also /proc/self/fd/1, whose target is
        # no path at all): write through it; replacing it would destroy a device node.
        try:
            raw = open(target, "wb")  # noqa: SIM115 - closed below, errors translated
        except OSError as exc:
            raise write_error(exc, shown) from None
        out = CheckedWriter(raw, shown)
        try:
            yield out
            out.flush()
        finally:
            with contextlib.suppress(AefeatError, OSError):
                raw.close()
        return
    real = resolve(target)
    parent = _parent(real)
    remove_stale(parent, real.name)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=_TMP_SUFFIX, dir=parent)
    except OSError as exc:
        raise write_error(exc, shown) from None
    tmp = Path(tmp_name)
    raw = None
    try:
        _lock(fd)
        os.fchmod(fd, _mode_for(real, file_mode))  # not mkstemp's 0600
        raw = os.fdopen(fd, "wb")
        out = CheckedWriter(raw, shown)
        yield out
        out.flush()
        try:
            os.fsync(raw.fileno())
        except OSError as exc:
            raise write_error(exc, shown) from None
        try:
            os.replace(tmp, real)
        except OSError as exc:
            raise write_error(exc, shown) from None
        _sync_dir(parent)
    finally:
        # On success the name is gone; on failure the temporary is removed before the lock
        # (held by the open file) is released.
        if os.path.lexists(tmp):
            _remove(tmp)
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.close()
        else:
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.contextmanager
def atomic_dir(
    target: str | os.PathLike[str], replaceable: Callable[[Path], bool], what: str = "output"
) -> Iterator[Path]:
    """Write the directory ``target`` atomically; yields the temporary directory to fill.

    An existing ``target`` is replaced only if ``replaceable(path)`` says so (checked again
    just before the swap); otherwise the error names it and nothing changes. ``OSError`` from
    writing into the temporary becomes the usual error naming ``target``.
    """
    shown = str(target)
    real = resolve(target)
    parent = _parent(real)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, shown) from None
    remove_stale(parent, real.name)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=_TMP_SUFFIX, dir=parent))
    except OSError as exc:
        raise write_error(exc, shown) from None
    fd = -1
    try:
        fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
        _lock(fd)
        os.chmod(tmp, _mode_for(real, dir_mode))  # not mkdtemp's 0700
        try:
            yield tmp
        except OSError as exc:
            raise write_error(exc, shown) from None
        if os.path.lexists(real):
            if not (real.is_dir() and replaceable(real)):
                raise AefeatError(
                    f"{what} exists and cannot be replaced",
                    shown,
                    "choose another -o path or remove it",
                )
            try:
                _exchange(tmp, real)  # tmp now holds the old directory, removed below
            except OSError as exc:
                raise write_error(exc, shown) from None
        else:
            try:
                os.rename(tmp, real)
            except OSError as exc:
                raise write_error(exc, shown) from None
        _sync_dir(parent)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
        if fd >= 0:
            os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``), so ``b`` is
    never missing; where that is not available, move ``b`` aside, then ``a`` into place."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(b))
    # The aside name matches the temporary pattern, so a run killed in between is cleaned up
    # by the next one.
    aside = Path(tempfile.mkdtemp(prefix=f".{b.name}.", suffix=_TMP_SUFFIX, dir=_parent(b)))
    os.rmdir(aside)
    os.rename(b, aside)
    try:
        os.rename(a, b)
    except BaseException:
        os.rename(aside, b)
        raise
    os.rename(aside, a)


def _sync_dir(path: Path) -> None:
    # Makes the rename durable; some filesystems refuse fsync on a directory, which is harmless.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- tables: CSV or Parquet, written on a second thread -------------------------------------


def float32_array(values: np.ndarray) -> Any:
    """A 1-D NumPy vector as an Arrow float32 array, without ``pa.array`` (which imports pandas)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    return pa.Array.from_buffers(pa.float32(), len(values), [None, pa.py_buffer(values)])


# Data file types encode does not write: refused by name rather than written as CSV under a
# name that promises something else.
_OTHER_TYPES = (
    ".json", ".jsonl", ".ndjson", ".xlsx", ".xls", ".ods", ".feather", ".arrow", ".ipc", ".orc",
    ".avro", ".h5", ".hdf5", ".pkl", ".pickle", ".npy", ".npz", ".zip", ".bz2", ".xz", ".zst",
)  # fmt: skip


@dataclass(frozen=True)
class TableFormat:
    """How an encode output is written, from its name: ``kind`` "csv" or "parquet", gzipped
    (``.gz``), and the delimiter its extension fixes (``.tsv``: a tab; else the input's)."""

    kind: str = "csv"
    gzip: bool = False
    delimiter: str | None = None


def table_format(output: str | None, option: str = "-o") -> TableFormat:
    """The :class:`TableFormat` of output file ``output`` (stdout when None or ``-``: CSV)."""
    if output is None or output == "-":
        return TableFormat()
    name = Path(remote.local_path(str(output))).name.lower()
    gz = name.endswith(".gz")
    stem = name[:-3] if gz else name
    suffix = Path(stem).suffix
    if suffix == ".parquet" and not gz:
        return TableFormat("parquet")
    if suffix in _OTHER_TYPES or suffix == ".parquet":
        raise AefeatError(
            f"cannot write {suffix}{'.gz' if gz else ''} files",
            f"{option} {output}",
            "name a .csv, .tsv, .csv.gz, .tsv.gz or .parquet file (any other name is CSV)",
        )
    return TableFormat("csv", gz, "\t" if suffix == ".tsv" else None)


@contextlib.contextmanager
def table_sink(fh: Any, fmt: TableFormat) -> Iterator[Any]:
    """``fh``, or a gzip stream into it for a ``.gz`` output (no name or time in its header, so
    that the same rows give the same bytes); the gzip trailer is written on success."""
    if not fmt.gzip:
        yield fh
        return
    import gzip

    gz = gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=6, mtime=0)
    try:
        yield gz
    except BaseException:
        with contextlib.suppress(Exception):  # the output is being discarded: keep its error
            gz.close()
        raise
    gz.close()


class TableWriter:
    """Writes record batches as CSV (header once, minimal quoting) or Parquet."""

    def __init__(self, sink: Any, kind: str, delimiter: str = ",") -> None:
        self._sink = sink
        self._kind = kind
        self._delimiter = delimiter
        self._parquet = None
        self._header_done = False

    def write(self, batch: Any) -> None:
        if self._kind == "parquet":
            import pyarrow.parquet as pq

            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._sink, batch.schema)
            self._parquet.write_batch(batch)
            return
        if not self._header_done:
            for fld in batch.schema:
                if pa.types.is_nested(fld.type) or pa.types.is_dictionary(fld.type):
                    raise AefeatError(
                        f"column {fld.name!r} holds {fld.type} values, which CSV cannot hold",
                        "--keep",
                        f"leave {option_name(fld.name)} out of --keep, or write Parquet with "
                        "-o FILE.parquet",
                    )
            buf = io.StringIO()
            csv.writer(buf, delimiter=self._delimiter, lineterminator="\n").writerow(
                batch.schema.names
            )
            self._sink.write(buf.getvalue().encode("utf-8"))
            self._header_done = True
        if batch.num_rows == 0:
            return
        try:
            # Unquoted output is what csvkit and most tools write; pyarrow refuses it only when a
            # value needs quoting.
            opts = pacsv.WriteOptions(
                include_header=False, delimiter=self._delimiter, quoting_style="none"
            )
            buf = pa.BufferOutputStream()
            pacsv.write_csv(batch, buf, opts)
            self._sink.write(memoryview(buf.getvalue()))
        except pa.ArrowInvalid:
            self._sink.write(_csv_quoted_where_needed(batch, self._delimiter))

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()

    def abort(self) -> None:
        """After a failure: close the Parquet writer now, while its sink is still open (left to
        the garbage collector, it would write its footer into a closed file and print a
        traceback). What it writes goes to a temporary that is removed."""
        parquet, self._parquet = self._parquet, None
        if parquet is not None:
            with contextlib.suppress(Exception):
                parquet.close()


def _csv_quoted_where_needed(batch: Any, delimiter: str) -> bytes:
    """CSV lines of ``batch`` with only the values that need it quoted (a delimiter, a quote or
    a line break inside), as Python's ``csv.QUOTE_MINIMAL`` would write them. pyarrow's own
    quoting quotes every text value of the batch instead, so the bytes would depend on which
    rows share a batch with such a value (``--chunk-size``). Each column becomes text by the
    cast pyarrow's CSV writer uses, so unquoted values are written byte for byte as above."""
    import pyarrow.compute as pc

    needs_quotes = f'[{re.escape(delimiter)}"\r\n]'
    columns = []
    for column in batch.columns:
        try:
            text = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Not text-like (binary that is not UTF-8): pyarrow's writer, quoting it all.
            buf = pa.BufferOutputStream()
            pacsv.write_csv(
                batch, buf, pacsv.WriteOptions(include_header=False, delimiter=delimiter)
            )
            return buf.getvalue().to_pybytes()
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        columns.append(pc.if_else(pc.match_substring_regex(text, needs_quotes), quoted, text))
    lines = pc.binary_join_element_wise(
        *columns, delimiter, null_handling="replace", null_replacement=""
    )
    return "".join(line + "\n" for line in lines.to_pylist()).encode("utf-8")


class BackgroundWriter:
    """Formats and writes batches on a second thread, so that writing one chunk overlaps
    encoding the next (pyarrow formats CSV without the GIL). Use as a context manager: an
    error on either side stops both, and the writer's error is raised in the caller."""

    def __init__(self, writer: TableWriter, depth: int = 2) -> None:
        import queue
        import threading

        self._writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="aefeat-writer", daemon=True)

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self._error is None:
                try:
                    self._writer.write(batch)
                except BaseException as exc:  # raised in the caller's thread
                    self._error = exc

    def write(self, batch: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(batch)

    def __enter__(self) -> BackgroundWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        import queue

        if exc_info[0] is not None:
            # Failing: batches not yet written are dropped (this thread is the only producer,
            # so after draining there is room for the stop mark).
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
        self._queue.put(None)
        # Interrupted or terminated: the writer may be blocked on a reader that stopped
        # reading (a daemon thread, left there after a short wait, or the process would stay
        # alive); a writer to a file ends its batch well within it, before the caller aborts
        # that file's Parquet writer, which is not safe to close under a write.
        interrupted = exc_info[0] is not None and not isinstance(exc_info[1], Exception)
        self._thread.join(timeout=2.0 if interrupted else None)
        if self._error is not None and exc_info[0] is None:
            raise self._error
