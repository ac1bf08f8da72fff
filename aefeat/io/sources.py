"""Inputs: which files DATA names, opening CSV (plain, gzip, stdin) and Parquet, checking
headers and values, reading feature columns whole or in record-aligned blocks.

Every problem with an input becomes an :class:`AefeatError` that names the file, the column and,
where it can be found, the line.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import glob
import gzip
import io
import itertools
import math
import os
import re
import shlex
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from aefeat.core.config import check_encoding, check_named_once, option_name, option_value
from aefeat.core.params import PARAMS
from aefeat.core.prepare import missing_columns_error, no_rows_error
from aefeat.errors import AefeatError, look_alikes, name_list, without_look_alike
from aefeat.io import remote

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
# Other compressions, by their first bytes: (name, magic, a command that decompresses to stdout).
# bzip2's "BZh<level>" is followed by a block's or the end's magic: a CSV may start with "BZh".
OTHER_COMPRESSIONS = (
    ("bzip2", re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)"), "bunzip2 -c"),
    ("xz", re.compile(rb"\xfd7zXZ\x00"), "xz -dc"),
    ("zstd", re.compile(rb"\x28\xb5\x2f\xfd"), "zstd -dc"),
    ("zip", re.compile(rb"PK(\x03\x04|\x05\x06)"), "unzip -p"),
)
HEAD_BYTES = 1 << 16
DEFAULT_BLOCK_SIZE = 8 << 20
OTHER_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV input is written (``--delimiter``, ``--encoding``, ``--decimal``): its field
    separator, text encoding and decimal mark. Parquet inputs ignore it."""

    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."


def _delim_name(d: str) -> str:
    return "\\t" if d == "\t" else d


class _Prefixed(io.RawIOBase):
    """Bytes already read (the sniffed head) followed by the rest of a stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self._head.nbytes:
            n = min(len(buf), self._head.nbytes)
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        if hasattr(self._rest, "readinto"):
            return self._rest.readinto(buf) or 0
        data = self._rest.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if sys.stdin is None or self._rest is not sys.stdin.buffer:
                self._rest.close()
        super().close()


class _GzipReader(io.RawIOBase):
    """A gzip stream whose damage is the user's one-line error: a truncated file would
    otherwise raise ``EOFError``, which reads as an interrupt to the CLI."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        try:
            return self._gz.readinto(buf)
        except EOFError:
            raise AefeatError(
                "the gzip stream ends early", self._name, "the file is truncated"
            ) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise AefeatError(
                f"cannot read input: {exc}",
                self._name,
                "check that the file is a valid CSV or .csv.gz",
            ) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._gz.close()
        super().close()


def _read_head(stream: IO[bytes], name: str) -> bytes:
    """The first bytes of ``stream``: at least one full line when there is one."""
    chunks = []
    size = 0
    try:
        while True:
            chunk = stream.read(HEAD_BYTES)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if b"\n" in chunk or size >= 64 * HEAD_BYTES:
                break
    except (OSError, EOFError, zlib.error) as exc:
        raise AefeatError(
            f"cannot read input: {exc}", name, "check that the file is a valid CSV or .csv.gz"
        ) from None
    return b"".join(chunks)


@dataclass
class Source:
    """An opened input: its display name, header and how to stream it."""

    name: str
    # A local file, a URL, or None for stdin or a pipe: what cannot be read again (to name a
    # line, or to sample blocks of it) without hanging or finding it drained.
    path: Path | str | None
    kind: str  # "csv" or "parquet"
    header: list[str]
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    header_lines: int = 1  # physical lines: a quoted header name may contain a line break
    # Training may leave a bad column out; encode and inspect need every training column.
    for_training: bool = True
    # Parquet: each column's Arrow type, from the schema (types are known before any row).
    types: dict[str, Any] | None = None
    # The 'Unnamed: N' names given to blank headers.
    unnamed: list[str] = field(default_factory=list)
    _stream: Any = field(default=None, repr=False)
    # Parquet from stdin or a pipe: its bytes, read whole (the footer, at the end, says where
    # each column is), and read from memory as often as needed.
    _parquet_bytes: Any = field(default=None, repr=False)

    def not_numeric_hint(self, name: str, python: bool = False) -> str:
        """How to fix a text value, with ``--exclude`` (or, ``python``, ``columns``)."""
        if self.for_training:
            if python:
                return "fix or drop that row, or leave the column out of columns"
            return (
                f"fix or drop that row, or exclude the column with --exclude {option_value([name])}"
            )
        return "the model was trained on it as numbers: fix or drop that row"

    # --- column selection ---------------------------------------------------------------

    def check_columns(self, names: list[str], option: str) -> None:
        present = set(self.header)
        missing = [n for n in names if n not in present]
        if missing:
            listed = name_list(missing)
            hint = "available columns: " + name_list(self.header, 20, option_name)
            if len(self.header) == 1:
                hint = self._delimiter_hint() or hint
            alike = look_alikes(missing, self.header, "the file")
            if alike:  # the columns too, when some names look like none of them
                rest = f"; {hint}" if without_look_alike(missing, self.header) else ""
                hint = f"{alike}; names are matched exactly{rest}"
            raise AefeatError(
                f"column {listed} not found"
                if len(missing) == 1
                else f"columns {listed} not found",
                f"{option}, {self.name}",
                hint,
            )

    def require_training_columns(self, columns: list[str]) -> None:
        """For encode and inspect: every training column must be present (extra ones are
        ignored), and a bad value in one is to be fixed, not excluded."""
        present = set(self.header)
        missing = [c for c in columns if c not in present]
        if missing:
            raise missing_columns_error(
                missing,
                "training column",
                self.name,
                "pass data with the columns the model was trained on",
                self.header,
            )
        self.for_training = False
        self.check_types(columns)

    def select_features(self, columns: list[str] | None, exclude: list[str]) -> list[str]:
        """Feature columns: ``columns`` (or every column) minus ``exclude``, in file order. A
        column named in both is refused: which of the two was meant cannot be known (csvcut
        drops it silently; pandas' select_dtypes refuses such an overlap)."""
        if columns:
            check_named_once(columns, "--columns")
            excluded = set(exclude)
            both = [c for c in columns if c in excluded]
            if both:
                one = len(both) == 1
                raise AefeatError(
                    f"column{'' if one else 's'} {name_list(both)} "
                    f"{'is' if one else 'are'} both selected and excluded",
                    "--columns, --exclude",
                    f"name {'it' if one else 'them'} in --columns or in --exclude, not both",
                )
            self.check_columns(columns, "--columns")
        if exclude:
            self.check_columns(exclude, "--exclude")
        chosen = columns if columns else self.header
        excluded = set(exclude)
        features = [c for c in chosen if c not in excluded]
        if not features:
            raise AefeatError(
                "no feature columns left",
                f"--columns/--exclude, {self.name}",
                "select at least two numeric columns",
            )
        self.check_types(features)
        return features

    def check_types(self, columns: list[str]) -> None:
        """Parquet: refuse every column of ``columns`` whose type is not a number, all in one
        message, before reading rows (a CSV's text is only seen in its rows)."""
        if self.types is None:
            return
        bad = [c for c in columns if c in self.types and not _numeric_type(self.types[c])]
        if not bad:
            return
        one = len(bad) == 1
        listed = name_list(bad, show=lambda c: f"{c!r} ({_type_name(self.types[c])})")
        what = f"column {listed} is not numeric" if one else f"columns {listed} are not numeric"
        python_hint = None
        if self.for_training:
            hint = (
                f"exclude {'it' if one else 'them'} with --exclude {option_value(bad)} "
                "(or encode categories as numbers first)"
            )
            python_hint = (
                f"leave {'it' if one else 'them'} out of columns "
                "(or encode categories as numbers first)"
            )
        else:
            hint = (
                f"the model was trained on {'it' if one else 'them'} as numbers: "
                "pass data with numeric columns of those names"
            )
        raise AefeatError(what, self.name, hint, python_hint=python_hint)

    def row_index_notes(self, chunks: list[np.ndarray], columns: list[str]) -> list[str]:
        """Notes on feature columns with a blank header whose values are 0, 1, 2, ... in the
        rows ``chunks`` hold (every row, in order): the index ``df.to_csv()`` writes, which
        would be trained on as a feature. Only those columns are compared, once."""
        notes = []
        for name in self.unnamed:
            if name not in columns:
                continue
            j, start, index = columns.index(name), 0, True
            for chunk in chunks:
                index = np.array_equal(chunk[:, j], np.arange(start, start + len(chunk)))
                start += len(chunk)
                if not index:
                    break
            if index and start >= 3:
                notes.append(
                    f"column {name!r} looks like a row index (0, 1, 2, ...): "
                    f"--exclude {option_value([name])} if it is one"
                )
        return notes

    def _delimiter_hint(self, row: str = "", python: bool = False) -> str | None:
        """The delimiter the header looks separated by, as ``--delimiter`` (or, ``python``,
        the ``delimiter`` parameter); with the decimal mark too when ``row`` (the first data
        line) holds decimal commas between such delimiters."""
        only = self.header[0] if self.header else ""
        for d in OTHER_DELIMITERS:
            if d != self.delimiter and d in only:
                shown = "tab" if d == "\t" else repr(d)
                comma = d != "," and self.decimal == "." and _has_decimal_comma(row.split(d))
                if python:
                    use = f"pass delimiter={d!r}" + (", decimal=','" if comma else "")
                else:
                    use = f"use --delimiter '{_delim_name(d)}'" + (
                        " --decimal ','" if comma else ""
                    )
                if d == self.decimal:  # ',' as both is refused: that hint would be refused
                    # '.' said, not ',' dropped: the ',' may come from a config file.
                    use += ", decimal='.'" if python else " --decimal '.'"
                return f"the header looks {shown}-separated; {use}"
        return None

    # --- reading ------------------------------------------------------------------------

    def _csv_options(self, types: dict[str, pa.DataType], block_size: int):
        read = pacsv.ReadOptions(
            column_names=self.header,
            skip_rows=self.header_lines,
            encoding=self.encoding,
            block_size=block_size,
        )
        parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)
        convert = pacsv.ConvertOptions(
            column_types=types, include_columns=list(types), decimal_point=self.decimal
        )
        return read, parse, convert

    def _take_stream(self) -> Any:
        if self._stream is None:
            raise RuntimeError("a Source can be read once")
        stream, self._stream = self._stream, None
        return stream

    def read_numeric(self, columns: list[str]) -> np.ndarray:
        """The given columns of every row as one float64 array (missing cells are NaN): the
        chunks of :meth:`numeric_chunks` (what training reads), joined. Refuses an input without
        data rows."""
        chunks = list(self.numeric_chunks(columns))
        if sum(len(c) for c in chunks) == 0:
            raise no_rows_error(self.name)
        return np.concatenate(chunks)

    def read_table(self, numeric: list[str], passthrough: list[str] | None = None) -> Any:
        """Every row as one Arrow table: ``numeric`` columns as float64, ``passthrough`` columns
        as in the file. Refuses an input without data rows."""
        if self.kind == "parquet" and not passthrough:
            table = self._read_parquet(numeric)
        else:
            # The block reader encode uses: a record longer than a block (a 50 MB text cell in a
            # column left out) makes its block grow instead of failing.
            batches = list(self.iter_batches(numeric, list(passthrough or [])))
            table = pa.Table.from_batches(batches) if batches else None
        if table is None or table.num_rows == 0:
            raise no_rows_error(self.name)
        return table

    def numeric_chunks(self, columns: list[str]) -> Iterator[np.ndarray]:
        """The given columns of every row, a float64 chunk at a time (missing cells are NaN)."""
        for batch in self.iter_batches(columns, []):
            yield self.to_matrix(batch, columns, np.float64)

    def to_matrix(self, table: Any, columns: list[str], dtype: Any) -> np.ndarray:
        out = np.empty((table.num_rows, len(columns)), dtype=dtype, order="F")
        for j, name in enumerate(columns):
            col = table.column(name)
            if not _numeric_type(col.type):
                if pa.types.is_null(col.type):
                    out[:, j] = np.nan
                    continue
                raise AefeatError(
                    f"column {name!r} is not numeric (type {col.type})",
                    self.name,
                    self.not_numeric_hint(name),
                    python_hint=self.not_numeric_hint(name, python=True),
                )
            out[:, j] = float_values(col)
        return out

    def _read_parquet(self, columns: list[str]) -> Any:
        import pyarrow.parquet as pq

        try:
            return pq.read_table(_parquet_file(self.path, self._parquet_bytes), columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise AefeatError(f"cannot read Parquet file: {exc}", self.name) from None

    def iter_batches(
        self, numeric: list[str], passthrough: list[str], block_size: int = DEFAULT_BLOCK_SIZE
    ) -> Iterator[Any]:
        """Record batches holding ``numeric`` columns as float64 and ``passthrough`` columns
        unchanged (text, as in the file). Memory stays at about ``block_size``."""
        if self.kind == "parquet":
            yield from self._iter_parquet(numeric + [c for c in passthrough if c not in numeric])
            return
        types: dict[str, pa.DataType] = {c: pa.string() for c in passthrough}
        types.update({c: pa.float64() for c in numeric})
        read, parse, convert = self._csv_options(types, block_size)
        stream = self._take_stream()
        try:
            if _splittable(self.encoding):
                yield from _prefetch(self._parsed_chunks(stream, read, parse, convert, block_size))
                return
            reader = pacsv.open_csv(stream, read, parse, convert)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                yield batch
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, _BlockRefused) as exc:
            block = exc if isinstance(exc, _BlockRefused) else None
            cause = block.cause if block else exc
            if "Could not skip initial" in str(cause):
                return  # a header with nothing after it: no rows, which callers judge
            raise self.diagnose(cause, numeric, block) from None

    def _parsed_chunks(self, stream, read, parse, convert, block_size: int) -> Iterator[Any]:
        """Cut the byte stream at record boundaries into blocks and parse each with pyarrow's
        multi-threaded ``read_csv``: the streaming reader parses on one thread only."""
        first = True
        rows_before = 0
        for chunk in _record_chunks(stream, block_size, parse.delimiter):
            opts = pacsv.ReadOptions(
                column_names=read.column_names,
                skip_rows=read.skip_rows if first else 0,
                encoding=read.encoding,
            )
            if isinstance(chunk, _QuotedRest):
                rest = io.BufferedReader(_Prefixed(chunk.head, stream), 1 << 20)
                opts.block_size = max(block_size, 1 << 20)
                reader = pacsv.open_csv(rest, opts, parse, convert)
                while True:
                    try:
                        yield reader.read_next_batch()
                    except StopIteration:
                        return
            try:
                table = _read_chunk(chunk, opts, parse, convert)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise _BlockRefused(exc, chunk, rows_before, first) from None
            first = False
            rows_before += table.num_rows
            yield from table.combine_chunks().to_batches()

    def block_sample(
        self, columns: list[str], size: int, seed: int, block: int = DEFAULT_BLOCK_SIZE
    ) -> BlockSample | None:
        """About ``size`` rows of a plain local CSV of many more rows, read as whole blocks of
        the file chosen at random (the blocks, not the rows, are the sampling unit), without
        reading the rest. None when the file has not clearly more than ``size`` rows, or is not
        a plain local UTF-8-like CSV without quotes (a seek could land inside a quoted field
        holding a line break); then read it all."""
        local = isinstance(self.path, Path)
        if self.kind != "csv" or not local or not _splittable(self.encoding):
            return None
        with open(self.path, "rb") as fh:
            head = fh.read(2)
            if head == GZIP_MAGIC:
                return None
            fh.seek(0)
            for _ in range(self.header_lines):
                fh.readline()
            data_start = fh.tell()
            probe = fh.read(1 << 20)
            total = os.fstat(fh.fileno()).st_size - data_start
            lines = probe.count(b"\n")
            if b'"' in probe or lines < 2 or len(probe) == total:
                return None
            est_rows = int(total * lines / len(probe))
            if est_rows < 1.2 * size:
                return None
            # At least 64 blocks, so that the sample's size is within a few percent of asked.
            block = max(1 << 12, min(block, total // 64))
            n_blocks = math.ceil(total / block)
            need = min(n_blocks, math.ceil(n_blocks * size / est_rows))
            rng = np.random.default_rng([seed, 0xB10C])
            chosen = np.sort(rng.choice(n_blocks, size=need, replace=False))
            types = {c: pa.float64() for c in columns}
            read, parse, convert = self._csv_options(types, block)
            opts = pacsv.ReadOptions(column_names=read.column_names, encoding=read.encoding)
            chunks = []
            for i in chosen:
                start = data_start + int(i) * block
                raw = _block_records(
                    fh, start, min(data_start + total, start + block), start == data_start
                )
                if not raw:
                    continue
                try:
                    table = _read_chunk(pa.py_buffer(raw), opts, parse, convert)
                except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
                    return None  # irregular in a way the probe did not show: read it all
                chunks.append(self.to_matrix(table, columns, np.float64))
        return BlockSample(chunks, est_rows, need, n_blocks)

    def batch_types(self, numeric: list[str], passthrough: list[str]) -> list[pa.DataType]:
        """The types :meth:`iter_batches` gives the ``passthrough`` columns: the file's own for
        Parquet; for CSV, float64 for one of ``numeric``, text otherwise."""
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            try:
                schema = pq.read_schema(_parquet_file(self.path, self._parquet_bytes))
            except (pa.ArrowException, OSError) as exc:
                raise AefeatError(f"cannot read Parquet file: {exc}", self.name) from None
            return [schema.field(name).type for name in passthrough]
        return [pa.float64() if name in numeric else pa.string() for name in passthrough]

    def _iter_parquet(self, columns: list[str]) -> Iterator[Any]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(_parquet_file(self.path, self._parquet_bytes))
            yield from pf.iter_batches(batch_size=65536, columns=columns)
        except (pa.ArrowException, OSError) as exc:
            raise AefeatError(f"cannot read Parquet file: {exc}", self.name) from None

    # --- error diagnosis (slow path: only after pyarrow refused the input) -----------------

    def diagnose(
        self,
        exc: BaseException,
        numeric: list[str] | None = None,
        block: _BlockRefused | None = None,
    ) -> AefeatError:
        """Turn a parser error into a message with the column, value and line where possible
        (``numeric``: the columns read as numbers, to name every text column at once; ``block``:
        the block refused, where the row is found when the input cannot be read again)."""
        text = str(exc)
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "UTF-8" in text:
            line = self._find_undecodable_line()
            return AefeatError(
                f"the file is not valid {self.encoding} text",
                f"{self.name}, line {line}" if line else self.name,
                "pass its encoding, e.g. --encoding latin-1",
                python_hint=ENCODING_HINT,
            )
        if "Could not skip initial" in text:
            # pyarrow's words for a header with nothing after it (not even a line break).
            return no_rows_error(self.name)
        m = re.search(r"Expected (\d+) columns, got (\d+)", text)
        if m:
            expected, got = int(m.group(1)), int(m.group(2))
            _, place = self._locate(lambda row: len(row) != expected, block)
            where = f"{self.name}, {place}" if place else self.name
            hint = self._delimiter_hint() or "fix that row's quoting or field count"
            return AefeatError(
                f"row has {got} fields, the header has {expected}",
                where,
                hint,
                python_hint=self._delimiter_hint(python=True),
            )
        m = re.search(
            r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to (\w+): invalid value '(.*)'",
            text,
            re.S,
        )
        if m and "\ufffd" in m.group(3):
            # Bytes that are not valid text in a numeric column: the encoding is the problem.
            line = self._find_undecodable_line()
            return AefeatError(
                f"the file is not valid {self.encoding} text",
                f"{self.name}, line {line}" if line else self.name,
                "pass its encoding, e.g. --encoding latin-1",
                python_hint=ENCODING_HINT,
            )
        if m:
            index, value = int(m.group(1)), m.group(3)
            name = self.header[index] if index < len(self.header) else f"#{index}"
            found: list[list[str]] = []

            def holds_it(row: list[str]) -> bool:
                # pyarrow reports the value trimmed (a cell of spaces as ''): compare so.
                if index < len(row) and row[index].strip() == value.strip():
                    found.append(row)
                    return True
                return False

            line, place = self._locate(holds_it, block)
            shown = found[0][index] if found else value
            where = f"{place}: {shown[:40]!r}" if place else f"value {shown[:40]!r}"
            texts = self._text_columns(found[0], numeric) if found and line == 2 else []
            commas = self._decimal_comma_columns(found[0], texts) if texts else []
            others = [t for t in texts if t not in commas]
            if self.for_training and commas and others:
                # Decimal commas beside text (an id): named together, whichever of them the
                # parser happened to report (it converts columns in parallel).
                return AefeatError(
                    f"columns {name_list(commas)} hold decimal commas, and {name_list(others)} "
                    "text",
                    f"{self.name}, line 2",
                    f"pass --decimal ',' and exclude the text with --exclude {option_value(others)}",
                    python_hint="pass decimal=',' and leave the text out of columns",
                )
            if _THOUSANDS.fullmatch(value.strip()) or _DECIMAL_COMMA.fullmatch(value.strip()):
                error = self._comma_error(name, index, value, f"{self.name}, {where}")
                if error is not None:
                    return error
            if self.decimal == ",":
                error = self._point_error(name, value, f"{self.name}, {where}")
                if error is not None:
                    return error
            if self.for_training and len(texts) > 1:
                # The first data row holds text in several columns: dates, categories, names.
                # Name every such column, not one per run, and do not ask to fix a row (one
                # such column may be a typo in that row: it keeps the usual message).
                return AefeatError(
                    f"columns {name_list(texts)} hold text, not numbers",
                    f"{self.name}, line 2",
                    f"exclude them with --exclude {option_value(texts)} "
                    "(or encode categories as numbers first)",
                    python_hint="leave them out of columns (or encode categories as numbers first)",
                )
            return AefeatError(
                f"column {name!r} is not numeric",
                f"{self.name}, {where}",
                self.not_numeric_hint(name),
                python_hint=self.not_numeric_hint(name, python=True),
            )
        return AefeatError(
            f"cannot parse CSV: {text.splitlines()[0] if text else exc!r}",
            self.name,
            "check the file format and --delimiter",
            python_hint="check the file format and delimiter",
        )

    def _comma_error(self, name: str, index: int, value: str, where: str) -> AefeatError | None:
        """The refusal of a column whose numbers hold commas: decimal commas ('3,14') or
        thousands separators ('1,234,567'), judged on the column's first cells. '1,234' alone
        could be either: in a ','-separated file (where it had to be quoted) thousands are
        likelier, in a ';' or tab-separated one (a decimal-comma locale's export) a decimal
        comma; the message then says it is a guess. None when the cells are of both kinds."""
        kind, sure = _comma_kind([value, *self._column_cells(index)], self.delimiter)
        # In a ','-separated file the commas also separate the fields (the numbers are
        # quoted): a decimal comma is refused there.
        convert = "convert the numbers first (e.g. save the sheet with '.' decimals)"
        decimal_hint = "pass --decimal ','" if self.delimiter != "," else convert
        python_decimal_hint = "pass decimal=','" if self.delimiter != "," else convert
        thousands_hint = (
            "remove the separators first (1,234,567.5 -> 1234567.5, e.g. by saving the sheet "
            "without them): aefeat reads plain numbers"
        )
        if kind == "decimal" and sure:
            return AefeatError(
                f"column {name!r} holds decimal commas, not numbers",
                where,
                decimal_hint,
                python_hint=python_decimal_hint,
            )
        if kind == "thousands" and sure:
            return AefeatError(
                f"column {name!r} holds numbers with thousands separators", where, thousands_hint
            )
        if kind == "decimal":
            instead = "; if the commas separate thousands (1,234 meaning 1234), remove them instead"
            return AefeatError(
                f"column {name!r} holds decimal commas (or thousands separators), not numbers",
                where,
                decimal_hint + instead,
                python_hint=python_decimal_hint + instead,
            )
        if kind == "thousands":
            return AefeatError(
                f"column {name!r} holds numbers with thousands separators (or decimal commas)",
                where,
                "remove the separators first (1,234 -> 1234); if the comma is a decimal comma "
                "(1,234 meaning 1.234), make it a point instead",
            )
        return None

    def _point_error(self, name: str, value: str, where: str) -> AefeatError | None:
        """With ``--decimal ','``: the refusal of a number written with a point, a thousands
        separator ('1.234.567', '1.234,5') or a decimal point ('3.14'; '1.234' could be either).
        None for a value that is neither."""
        cell = value.strip()
        if _POINT_THOUSANDS.fullmatch(cell) and (cell.count(".") > 1 or "," in cell):
            return AefeatError(
                f"column {name!r} holds numbers with thousands separators",
                where,
                "remove the separators first (1.234.567,5 -> 1234567,5): aefeat reads plain "
                "numbers",
            )
        try:
            float(cell)
        except ValueError:
            return None
        if "." not in cell:
            return None
        fix = (
            "if the file's numbers use points; if the point separates thousands (1.234 meaning "
            "1234), remove it first"
        )
        return AefeatError(
            f"column {name!r} holds a number with a decimal point, but the decimal mark is ','",
            where,
            f"use --decimal '.' {fix}",
            python_hint=f"use decimal='.' {fix}",
        )

    def _decimal_comma_columns(self, row: list[str], names: list[str]) -> list[str]:
        """Those of ``names`` whose cell in ``row`` is a number with a decimal comma (none in a
        ','-separated file, where --decimal ',' is refused, or with it given)."""
        if self.delimiter == "," or self.decimal == ",":
            return []
        index = {n: j for j, n in enumerate(self.header)}
        return [n for n in names if _has_decimal_comma([row[index[n]]])]

    def _column_cells(self, index: int, limit: int = 10_000) -> list[str]:
        """Cells of column ``index`` in the first ``limit`` data rows (none for stdin)."""
        rows = itertools.islice(self._data_rows(), limit)
        return [row[index] for _, row in rows if index < len(row)]

    def _text_columns(self, row: list[str], numeric: list[str] | None) -> list[str]:
        """The columns of ``numeric`` whose cell in ``row`` is neither a number nor blank."""
        out = []
        wanted = None if numeric is None else set(numeric)  # a header may have 100,000 names
        for j, name in enumerate(self.header):
            if wanted is not None and name not in wanted or j >= len(row):
                continue
            cell = row[j].strip()
            if not is_missing_text(cell):
                try:
                    float(cell.replace(self.decimal, "."))
                except ValueError:
                    out.append(name)
        return out

    def where_row(self, index: int) -> str:
        """Where data row ``index`` (0-based) is, for messages: its line in a CSV file (records
        may span lines), else its row number (stdin or a pipe cannot be read again; Parquet has
        no lines)."""
        if self.kind == "csv":
            counter = itertools.count()
            line = self._find_line(lambda _row: next(counter) == index)
            if line:
                return f"{self.name}, line {line}"
        return f"{self.name}, data row {index + 1}"

    def _locate(self, bad, block: _BlockRefused | None) -> tuple[int | None, str | None]:
        """The line of the first data row for which ``bad`` holds, and its place for messages:
        'line N' in a file read again, else 'data row N' in the ``block`` refused (stdin)."""
        line = self._find_line(bad)
        if line:
            return line, f"line {line}"
        row = block.find_row(self, bad) if block is not None else None
        return None, f"data row {row}" if row else None

    def _find_line(self, bad) -> int | None:
        """Line number (1-based, header is line 1) of the first data row for which ``bad`` holds."""
        return next((line for line, row in self._data_rows() if bad(row)), None)

    def _data_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line where it begins, cells) of each data row, the file read again from its start
        (a quoted value may span lines); none for stdin, and no more once the file cannot be
        read: these serve messages about an input already refused."""
        if self.path is None:
            return
        try:
            with _open_text(self.path, self.encoding) as fh:
                reader = csv.reader(fh, delimiter=self.delimiter)
                next(reader, None)
                start = reader.line_num + 1
                for row in reader:
                    yield start, row
                    start = reader.line_num + 1
        except (OSError, UnicodeDecodeError, csv.Error, EOFError, zlib.error):
            return

    def _find_undecodable_line(self) -> int | None:
        """Line number of the first line that is not valid text in the file's encoding."""
        if self.path is None or codecs.lookup(self.encoding).name not in ("utf-8", "utf-8-sig"):
            return None
        try:
            with _open_binary(self.path) as fh:
                for number, raw in enumerate(fh, start=1):
                    try:
                        raw.decode(self.encoding)
                    except UnicodeDecodeError:
                        return number
        except (OSError, EOFError, zlib.error):
            return None
        return None


def _raw(path: Path | str) -> IO[bytes]:
    """The bytes of a local file (a Path) or of a URL (a str)."""
    return open(path, "rb") if isinstance(path, Path) else remote.open_read(path)


def _open_binary(path: Path | str) -> IO[bytes]:
    with _raw(path) as fh:
        magic = fh.read(2)
    return gzip.GzipFile(fileobj=_raw(path), mode="rb") if magic == GZIP_MAGIC else _raw(path)


# A number with thousands separators ('1,234', '-12,345,678.5'; no group starts with 0), and one
# with a decimal comma ('3,14', '0,5', ',5').
_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?")
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")
# Thousands separated by points, as a decimal-comma locale writes them ('1.234.567', '1.234,5').
_POINT_THOUSANDS = re.compile(r"[-+]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d*)?")


def _has_decimal_comma(cells: list[str]) -> bool:
    return any(_DECIMAL_COMMA.fullmatch(c.strip()) for c in cells)


def _comma_kind(cells: list[str], delimiter: str) -> tuple[str | None, bool]:
    """What the commas in a column's numbers are, "decimal" or "thousands", and whether the
    cells show it: '1,234,567' and '1,234.5' are thousands, '3,14' and '0,5' decimal commas;
    with only cells like '1,234' it is a guess from the delimiter. (None, False) when the cells
    hold both kinds."""
    thousands = decimal = either = False
    for cell in cells:
        cell = cell.strip()
        if _THOUSANDS.fullmatch(cell):
            if cell.count(",") > 1 or "." in cell:
                thousands = True
            else:
                either = True
        elif _DECIMAL_COMMA.fullmatch(cell):
            decimal = True
    if thousands != decimal:
        return ("thousands" if thousands else "decimal"), True
    if thousands or not either:
        return None, False
    return ("thousands" if delimiter == "," else "decimal"), False


def _numeric_type(t: Any) -> bool:
    """Whether a column of Arrow type ``t`` is read as numbers: integers, floats, decimals, and
    booleans as 0 and 1 (as NumPy and scikit-learn take them)."""
    return (
        pa.types.is_floating(t)
        or pa.types.is_integer(t)
        or pa.types.is_decimal(t)
        or pa.types.is_boolean(t)
    )


def _type_name(t: Any) -> str:
    """An Arrow type as a message shows it: a dictionary column is a category (pandas'
    ``category`` dtype), not ``dictionary<values=string, indices=int8, ordered=0>``."""
    if pa.types.is_dictionary(t):
        return "category"
    if pa.types.is_large_string(t):  # pandas' strings: the same text as "string" to a user
        return "string"
    return str(t)


def float_values(column: Any) -> np.ndarray:
    """A numeric Arrow column as float64 NumPy values, NaN where a cell is missing.

    Not ``to_numpy(zero_copy_only=False)``: that goes through pandas, which costs encode a
    quarter of a second to import and about 100 MB."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.type != pa.float64():
        # Decimals (Parquet decimal128) too: the nearest float64, as for any other number;
        # booleans are 0 and 1.
        column = column.cast(pa.float64(), safe=not pa.types.is_decimal(column.type))
    if column.null_count:
        import pyarrow.compute as pc

        column = pc.fill_null(column, float("nan"))
    # Straight from the values buffer: even zero-copy ``to_numpy`` imports pandas.
    return np.frombuffer(
        column.buffers()[1], dtype=np.float64, count=len(column), offset=column.offset * 8
    )


def _read_chunk(chunk: Any, opts: Any, parse: Any, convert: Any) -> Any:
    """One block of whole records, parsed by pyarrow's multi-threaded reader. A record longer
    than pyarrow's own block (a 50 MB text cell), or a header longer than it (skipped rows must
    fit one block), makes that block grow to the whole chunk."""
    try:
        return pacsv.read_csv(pa.BufferReader(chunk), opts, parse, convert)
    except pa.ArrowInvalid as exc:
        grows = "straddl" in str(exc) or "Could not skip initial" in str(exc)
        if not grows or opts.block_size > len(chunk):
            raise  # a header with no rows after it fails again, as it should
    opts.block_size = max(opts.block_size, len(chunk) + 1)
    return pacsv.read_csv(pa.BufferReader(chunk), opts, parse, convert)


@dataclass
class BlockSample:
    """Rows read from some blocks of a file (:meth:`Source.block_sample`)."""

    chunks: list[np.ndarray]
    estimated_rows: int  # in the whole file, from the bytes per row of its first megabyte
    blocks: int
    of_blocks: int

    @property
    def n_rows(self) -> int:
        return sum(len(c) for c in self.chunks)


def _block_records(fh: IO[bytes], start: int, end: int, first: bool) -> bytes:
    """The records that begin in bytes [start, end) of ``fh``: a record begins after a line
    break, and the one running past ``end`` is read to its end (the next block skips it)."""
    fh.seek(start if first else start - 1)
    data = fh.read(end - fh.tell())
    if not first:
        cut = data.find(b"\n")
        if cut < 0:
            return b""
        data = data[cut + 1 :]
    if data and not data.endswith(b"\n"):
        tail = []
        while True:
            more = fh.read(1 << 16)
            if not more:
                break
            cut = more.find(b"\n")
            if cut >= 0:
                tail.append(more[: cut + 1])
                break
            tail.append(more)
        data += b"".join(tail)
    return data


def _splittable(encoding: str) -> bool:
    """Whether a newline byte always ends a line in this encoding (ASCII-compatible ones)."""
    try:
        return codecs.lookup(encoding).encode("\n")[0] == b"\n"
    except LookupError:
        return False


class _BlockRefused(Exception):
    """A block of records pyarrow refused (``cause``), kept with the count of data rows before
    it: stdin cannot be read again to find the row a message names, but this block can."""

    def __init__(self, cause: BaseException, block: Any, rows_before: int, first: bool) -> None:
        super().__init__(str(cause))
        self.cause, self.block, self.rows_before, self.first = cause, block, rows_before, first

    def find_row(self, source: Source, bad: Callable[[list[str]], bool]) -> int | None:
        """Data row number (1-based) of the block's first row for which ``bad`` holds."""
        text = io.StringIO(bytes(self.block).decode(source.encoding, errors="replace"), newline="")
        reader = csv.reader(text, delimiter=source.delimiter)
        if self.first:
            next(reader, None)  # the header
        # Blank lines are no rows to pyarrow: counted so, N is the data row where_row names.
        rows = (r for r in reader if r)
        try:
            return next((self.rows_before + n for n, r in enumerate(rows, start=1) if bad(r)), None)
        except csv.Error:
            return None


class _QuotedRest:
    """What ``_record_chunks`` hands over when quoting is irregular: the bytes read but not yet
    parsed, to be followed by the rest of the stream."""

    def __init__(self, head: bytes) -> None:
        self.head = head


_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")


def _safe_cut(view: Any, filled: int, delimiter: str) -> int | None:
    """Index of the last newline in ``view[:filled]`` that ends a record, -1 if there is none,
    or None if a quote stands where RFC 4180 allows none (a stray quote in an unquoted field,
    which pyarrow reads literally): then quote counting cannot find record ends.

    With regular quoting, a newline ends a record exactly when an even number of quote
    characters precede it (quotes inside quoted fields come in pairs)."""
    data = np.frombuffer(view, dtype=np.uint8, count=filled)
    quotes = np.flatnonzero(data == _QUOTE)
    if len(quotes):
        edge = (_LF, _CR, _QUOTE, ord(delimiter))
        prev = np.where(quotes > 0, data[np.maximum(quotes - 1, 0)], _LF)
        # The byte after a quote at the very end is still unread: that quote is re-examined
        # with the next block, since it lies after any cut made in this one.
        nxt = np.where(quotes < filled - 1, data[np.minimum(quotes + 1, filled - 1)], _LF)
        if not (np.isin(prev, edge) | np.isin(nxt, edge)).all():
            return None
    buf = view.obj
    cut = buf.rfind(b"\n", 0, filled)
    while cut >= 0 and np.searchsorted(quotes, cut) % 2:
        cut = buf.rfind(b"\n", 0, cut)
    return cut


def _record_chunks(stream: IO[bytes], block_size: int, delimiter: str = ",") -> Iterator[Any]:
    """Blocks of about ``block_size`` bytes that end at a record boundary, as pyarrow buffers
    over freshly read memory (no copies). A row longer than the block makes the block grow. If
    quoting is irregular, a ``_QuotedRest`` is yielded instead and the caller parses the rest
    with pyarrow's own (single-threaded, streaming) reader."""
    pending = b""
    while True:
        buf = bytearray(len(pending) + block_size)
        buf[: len(pending)] = pending
        view = memoryview(buf)
        filled = len(pending)
        while filled < len(buf):
            n = stream.readinto(view[filled:])
            if not n:
                break
            filled += n
        if filled == len(pending):  # end of input
            if pending.strip():
                yield pa.py_buffer(pending)
            return
        cut = _safe_cut(view, filled, delimiter)
        if cut is None:
            yield _QuotedRest(bytes(view[:filled]))
            return
        if filled < len(buf):
            cut = filled - 1  # a short read is the end of the input: parse all that is left
        if cut < 0:
            pending = bytes(view[:filled])
            block_size *= 2
            continue
        pending = bytes(view[cut + 1 : filled])
        yield pa.py_buffer(view[: cut + 1])


def _prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Run ``items`` in a background thread, ``depth`` items ahead: pyarrow parses without the
    GIL, so parsing the next block overlaps encoding and writing this one."""
    import queue
    import threading
    import time

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(entry: tuple[Any, BaseException | None]) -> None:
        # Gives up once the consumer has left, so this thread never blocks on a full queue.
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                put((item, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))
            return
        put((done, None))

    thread = threading.Thread(target=produce, name="aefeat-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        # Wait briefly for the reader to finish its block; one blocked reading a pipe that
        # never sends more (SIGTERM or Ctrl-C while waiting on stdin) is left behind, as a
        # daemon thread, so that the cleanup after an interrupt cannot hang.
        deadline = time.monotonic() + 2.0
        while thread.is_alive() and time.monotonic() < deadline:
            thread.join(0.05)


def _open_text(path: Path | str, encoding: str) -> IO[str]:
    return io.TextIOWrapper(_open_binary(path), encoding=encoding, newline="")


DATA_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".parquet")
# What pyarrow reads as a missing cell (its default null values), for telling text from gaps.
_MISSING_WORDS = frozenset(v.lower() for v in pacsv.ConvertOptions().null_values)


def is_missing_text(cell: str) -> bool:
    """Whether a text cell stands for a missing value (empty, ``NaN``, ``NA``, ``null``, ...),
    as pyarrow reads it in a numeric column."""
    return not cell or cell.lower() in _MISSING_WORDS


TAB_SUFFIXES = (".tsv", ".tsv.gz", ".tab", ".tab.gz")  # read tab-separated by default
_WIDE_CODECS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")


def expand_all(specs: list[str]) -> list[str]:
    """The input files of every DATA argument (:func:`expand_inputs` of each), refusing a file
    named twice, by a path and a glob or a directory that also holds it: its rows would be
    trained on twice, and copies of training rows among the validation rows flatter the
    network."""
    paths = [path for spec in specs for path in expand_inputs(spec)]
    seen: dict[Any, str] = {}
    for path in paths:
        try:
            st = os.stat(path)
            key: Any = (st.st_dev, st.st_ino)
        except OSError:  # a URL, stdin, or a path open_source reports as missing
            key = path
        if key in seen:
            same = "" if seen[key] == path else f" (as {seen[key]} and {path})"
            raise AefeatError(
                f"the same file is given twice{same}",
                path,
                "name each input file once (a directory or a glob may already hold it, or two "
                "names may be hard links to one file)",
            )
        seen[key] = path
    return paths


def expand_inputs(spec: str) -> list[str]:
    """The input files DATA names, sorted by path: ``-`` (stdin) or an existing file as it is, a
    directory's data files (``DATA_SUFFIXES``, not hidden ones), or a glob's matching files
    (``'data/*.csv'``). An existing path is taken literally even when its name has glob
    characters (``run[1].csv``); a path that does not exist is left for :func:`open_source` to
    report."""
    spec = remote.local_path(spec)
    if remote.is_url(spec):
        files = remote.expand(spec, DATA_SUFFIXES)
        if not files:
            raise AefeatError(
                "no input files match the pattern", spec, "check the URL and the pattern"
            )
        return files
    path = Path(spec)
    if spec == "-" or path.is_file():
        return [spec]
    if path.is_dir():
        files = sorted(
            str(p)
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(DATA_SUFFIXES)
        )
        if not files:
            raise AefeatError(
                "no data files in the directory",
                spec,
                _nested_hint(path, spec) or "it must hold " + ", ".join(DATA_SUFFIXES) + " files",
            )
        return files
    if not glob.has_magic(spec):
        return [spec]
    files = sorted(
        p
        for p in glob.glob(spec, recursive=True)
        if Path(p).is_file() and not _bookkeeping(p, spec)
    )
    if not files:
        raise AefeatError(
            "no input files match the pattern",
            spec,
            "check the pattern, and quote it so that the shell passes it to aefeat unexpanded",
        )
    return files


def _bookkeeping(match: str, pattern: str) -> bool:
    """Whether a file a glob matched lies in a ``_`` directory below the pattern's fixed part:
    what Spark, Hive and Delta keep beside a dataset's data (``_temporary/`` of a running or
    failed job, ``_delta_log/``), which pyarrow and Spark skip too."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    return any(part.startswith("_") for part in Path(match).parts[fixed:-1])


def _nested_hint(path: Path, spec: str) -> str | None:
    """For a directory whose data files are all in subdirectories (a dataset partitioned as
    Hive and Spark write it, ``year=2024/part-0.parquet``): the recursive glob that names them.
    Hidden and ``_`` entries (``_SUCCESS``, ``.ipynb_checkpoints``) are not data. A message's
    search: it gives up after 50,000 entries (``aefeat train /`` must not walk the disk)."""
    suffixes: collections.Counter[str] = collections.Counter()
    seen = 0
    for _root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in names:
            low = name.lower()
            kind = next((x for x in DATA_SUFFIXES if low.endswith(x)), None)
            if kind and not name.startswith((".", "_")):
                suffixes[kind] += 1
        seen += len(dirs) + len(names)
        if seen > 50_000:
            return None  # not a dataset's directory, or too large to say
    if not suffixes:
        return None
    kind, _ = suffixes.most_common(1)[0]
    n = sum(suffixes.values())
    pattern = shlex.quote(str(Path(spec) / "**" / f"*{kind}"))
    return f"its subdirectories hold {n:,} data files: name them with {pattern}"


def open_source(spec: str, fmt: CsvFormat | None = None) -> Source:
    """Open ``spec`` (a path, ``.csv.gz``, ``.parquet`` or ``-`` for stdin) and read its header;
    a CSV as ``fmt`` says."""
    fmt = fmt or CsvFormat()
    delimiter, encoding = fmt.delimiter, fmt.encoding
    check_delimiter(delimiter)
    PARAMS.check("decimal", fmt.decimal)  # encode's and inspect's --decimal, as train's
    spec = remote.local_path(spec)
    if remote.is_url(spec):
        if spec.lower().endswith(".parquet"):
            return _open_parquet(spec)
        name, path = spec, spec
        raw = remote.open_read(spec)
    elif spec == "-":
        name, path = "<stdin>", None
        if sys.stdin is None:  # started with stdin closed (`<&-`)
            raise AefeatError("no standard input", None, "pass a file, or pipe data into aefeat")
        raw: IO[bytes] = sys.stdin.buffer
    else:
        path = Path(spec)
        name = str(path)
        check_input_file(spec)
        if path.suffix.lower() == ".parquet":
            return _open_parquet(path)
        try:
            raw = open(path, "rb")
        except PermissionError:
            raise AefeatError(
                "permission denied", name, "check the file's read permissions"
            ) from None
        except OSError as exc:
            raise AefeatError(f"cannot open file: {exc.strerror}", name) from None
    codec = check_encoding(encoding)
    head = _read_head(raw, name)
    if head.startswith(PARQUET_MAGIC) and (path is None or reads_once(str(path))):
        # Known by its first bytes, as gzip is: stdin and pipes have no name to tell it by.
        try:
            data = pa.py_buffer(head + raw.read())
        except OSError as exc:
            raise AefeatError(f"cannot read input: {exc}", name) from None
        finally:
            if path is not None:
                raw.close()
        return _open_parquet(path, data, name)
    stream: IO[bytes] = _Prefixed(head, raw)
    if head[:2] == GZIP_MAGIC:
        stream = _GzipReader(io.BufferedReader(stream, 1 << 20), name)
        head = _read_head(stream, name)
        stream = _Prefixed(head, stream)
    _check_compression(head, name, path is None)
    if not head.strip():
        raise AefeatError("the file is empty", name, "pass a CSV with a header row and data rows")
    if b"\x00" in head[:HEAD_BYTES] and not codec.startswith(("utf-16", "utf-32")):
        kinds = "CSV, gzipped CSV or Parquet on stdin"
        raise AefeatError(
            "the file is binary, not CSV text",
            name,
            f"pass {'a CSV, .csv.gz or .parquet file' if path is not None else kinds} (UTF-16 "
            "text without a byte-order mark needs --encoding utf-16-le or utf-16-be)",
            python_hint="pass a CSV, .csv.gz or .parquet file (UTF-16 text without a byte-order "
            "mark needs encoding='utf-16-le' or 'utf-16-be')",
        )
    if delimiter == "," and name.lower().endswith(TAB_SUFFIXES) and codec not in _WIDE_CODECS:
        # A .tsv file read with the default delimiter, as xsv reads it: by its name, when its
        # header holds tabs and no comma (where "," could only give one column).
        first = head.split(b"\n", 1)[0]
        if b"\t" in first and b"," not in first:
            delimiter = "\t"
    if fmt.decimal == delimiter == ",":  # '-d .' (integers) is read as it was before --decimal
        raise AefeatError(
            f"the decimal mark and the field separator are both {delimiter!r}",
            "--decimal",
            "a file with decimal commas separates its fields by another character: pass it "
            "with --delimiter, e.g. --delimiter ';'",
            python_where="decimal",
            python_hint="a file with decimal commas separates its fields by another character: "
            "pass it as delimiter, e.g. delimiter=';'",
        )
    header, header_lines, unnamed = _parse_header(head, name, delimiter, encoding)
    src = Source(
        name=name,
        path=None if reads_once(spec) else path,
        kind="csv",
        header=header,
        delimiter=delimiter,
        encoding=encoding,
        decimal=fmt.decimal,
        header_lines=header_lines,
        unnamed=unnamed,
    )
    src._stream = io.BufferedReader(stream, 1 << 20)
    dup = sorted(h for h, n in collections.Counter(header).items() if n > 1)
    if dup:
        raise AefeatError(
            "duplicate column names " + name_list(dup),
            f"{name}, line 1",
            "give every column a unique name",
        )
    if len(header) == 1 and src._delimiter_hint():
        lines = head.decode(encoding, errors="replace").splitlines()
        row = lines[header_lines] if len(lines) > header_lines else ""
        raise AefeatError(
            "only one column found",
            name,
            src._delimiter_hint(row),
            python_hint=src._delimiter_hint(row, python=True),
        )
    return src


def _check_compression(head: bytes, name: str, stdin: bool) -> None:
    """Refuse a compression other than gzip by its first bytes, saying which it is: the
    bytes were called "binary, not CSV text", with a hint about UTF-16."""
    for kind, magic, command in OTHER_COMPRESSIONS:
        if magic.match(head):
            shown = "FILE" if stdin or remote.is_url(name) else shlex.quote(name)
            what = "a zip archive" if kind == "zip" else f"compressed with {kind}"
            raise AefeatError(
                f"the {'input' if stdin else 'file'} is {what} (not gzip, which aefeat reads)",
                name,
                f"decompress it first, e.g. {command} {shown} | aefeat ... -",
            )


def reads_once(spec: str) -> bool:
    """Whether the input ``spec`` gives its bytes once, to one reader: stdin, or a local path
    that is neither a regular file nor a directory (``<(cmd)``, ``/dev/stdin``, a named FIFO).
    Such an input is read from the source already open, never reopened, sized or streamed."""
    spec = remote.local_path(spec)
    if spec == "-":
        return True
    if remote.is_url(spec):
        return False
    try:
        mode = os.stat(spec).st_mode
    except OSError:
        return False  # not there: check_input_file says so
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_input_file(spec: str, hint: str = "check the path") -> None:
    """Refuse a local input that is not there or is a directory (URLs and ``-`` pass)."""
    spec = remote.local_path(spec)
    if spec == "-" or remote.is_url(spec):
        return
    path = Path(spec)
    if not path.exists():
        python_hint = None
        if glob.has_magic(spec):
            hint = (
                "a pattern of several files is for train, and for encode with --dask local -o DIR"
            )
            python_hint = "pass the files a pattern names, e.g. sorted(glob.glob(pattern))"
        raise AefeatError("file not found", str(path), hint, python_hint=python_hint)
    if path.is_dir():
        raise AefeatError(
            "is a directory, not a data file", str(path), "pass a CSV or Parquet file"
        )


ENCODING_HINT = "pass its encoding, e.g. encoding='latin-1'"  # the Python API's words


def check_delimiter(delimiter: str, where: str = "--delimiter") -> None:
    """A field separator must be one character that is not a quote or a line break."""
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise AefeatError(
            f"invalid value {delimiter!r}",
            where,
            "use a single character such as ';' or '\\t' (not a quote or a line break)",
        )


def _parse_header(
    head: bytes, name: str, delimiter: str, encoding: str
) -> tuple[list[str], int, list[str]]:
    """Column names, the number of physical lines the header row spans, and the names made up
    for blank headers."""
    if len(head) >= 64 * HEAD_BYTES and b"\n" not in head:
        # Read no further: the names would be cut at an arbitrary column.
        raise AefeatError(
            f"the header line is longer than {64 * HEAD_BYTES >> 20} MiB",
            name,
            "pass a CSV with fewer or shorter column names (or check that it is CSV text)",
        )
    try:
        text = (
            head.decode(encoding, errors="strict")
            if len(head) < 64 * HEAD_BYTES
            else head.decode(encoding, errors="ignore")
        )
    except UnicodeDecodeError:
        # The head may end inside a multi-byte character; only the first line matters here.
        first = head.split(b"\n", 1)[0]
        try:
            text = first.decode(encoding)
        except UnicodeDecodeError:
            raise AefeatError(
                f"the header is not valid {encoding} text",
                name,
                "pass its encoding, e.g. --encoding latin-1",
                python_hint=ENCODING_HINT,
            ) from None
    text = text.lstrip("\ufeff")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        row = next(reader, [])
    except csv.Error as exc:
        raise AefeatError(f"cannot parse the header: {exc}", f"{name}, line 1") from None
    # A blank name gets pandas' made-up one, 'Unnamed: N' (N its position from 0), which
    # --columns/--exclude can name: `df.to_csv()` writes its index under a blank header.
    names = [h.strip() or f"Unnamed: {i}" for i, h in enumerate(row)]
    unnamed = [names[i] for i, h in enumerate(row) if not h.strip()]
    real = {n: j for j, n in enumerate(names) if row[j].strip()}
    for i in (i for i, h in enumerate(row) if not h.strip()):
        made = names[i]
        if made in real:
            j = real[made]
            raise AefeatError(
                f"column {i + 1} has a blank header, called {made!r} (its position from 0), "
                f"the name of column {j + 1} too",
                f"{name}, line 1",
                f"name the blank header, or rename column {j + 1}",
            )
    return names, max(1, reader.line_num), unnamed


def _parquet_file(path: Path | str | None, data: Any = None) -> Any:
    """What pyarrow's Parquet reader takes: a local path, an open file for a URL, or a reader
    over ``data``, the bytes of Parquet read from stdin or a pipe."""
    if data is not None:
        return pa.BufferReader(data)
    return remote.open_read(path) if isinstance(path, str) else path


def _open_parquet(path: Path | str | None, data: Any = None, name: str | None = None) -> Source:
    import pyarrow.parquet as pq

    name = name or str(path)
    try:
        schema = pq.read_schema(_parquet_file(path, data))
    except (pa.ArrowException, OSError) as exc:
        raise AefeatError(
            f"cannot read Parquet file: {exc}", name, "check that it is a valid Parquet file"
        ) from None
    dup = sorted(h for h, n in collections.Counter(schema.names).items() if n > 1)
    if dup:
        raise AefeatError(
            "duplicate field names " + name_list(dup),
            name,
            "give every Parquet field a unique name",
        )
    types = {f.name: f.type for f in schema}
    return Source(
        name=name,
        path=path,
        kind="parquet",
        header=list(schema.names),
        types=types,
        _parquet_bytes=data,
    )
