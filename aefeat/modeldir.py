"""The model directory: what it holds, writing it atomically, and checking it before use.

Layout (format version 1)::

    MODEL_DIR/
      metadata.json   columns, scaling, network spec, config, history, metrics, sha256 of the rest
      weights.npz     dense-layer weights as plain arrays (loaded with allow_pickle=False)
      encoder.keras   raw features -> latent (MinMax scaling built in), for use without aefeat
      decoder.keras   latent -> reconstructed features in raw units
      sample.npz      up to 1,000 raw training rows, used by ``inspect`` when no --data is given

Nothing here is unpickled, and nothing is read before every file's sha256 matches metadata.json.
Loading reads every file through one handle on the directory and parses the very bytes it
hashed, so a model retrained into the same path meanwhile is never mixed with the old one.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aefeat.core.config import ACTIVATIONS, OUTPUT_ACTIVATIONS
from aefeat.core.kernel import EncodeKernel
from aefeat.core.network import DenseNetwork, NetworkSpec
from aefeat.core.prepare import MAX_SPAN, Scaler, too_large
from aefeat.errors import AefeatError
from aefeat.io import remote, strictjson

FORMAT = "aefeat-model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
WEIGHTS = "weights.npz"
SAMPLE = "sample.npz"
ENCODER = "encoder.keras"
DECODER = "decoder.keras"
REQUIRED_FILES = (WEIGHTS, SAMPLE, ENCODER, DECODER)
MAX_METADATA_BYTES = 64 * 1024 * 1024
MAX_SAMPLE_ROWS = 1000  # rows of sample.npz (what train stores)


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return _sha256_of(fh)


def _sha256_of(fh: Any) -> str:
    """sha256 of what is left to read in the binary file ``fh``, read in blocks."""
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _shown_at(exc: AefeatError, local: Path, url: str) -> None:
    """Name the URL in ``exc``, not the temporary copy at ``local`` it was fetched into."""
    if exc.where:
        exc.where = exc.where.replace(str(local), url.rstrip("/"))


@dataclass
class ModelDir:
    """A checked model directory: metadata plus what ``encode`` and ``inspect`` need."""

    path: Path
    metadata: dict[str, Any]
    spec: NetworkSpec
    scaler: Scaler
    network: DenseNetwork
    location: str | None = None  # the URL it was fetched from, when it was
    # sample.npz as hashed at load time, parsed on demand (kept out of repr and ==).
    sample_bytes: bytes = field(default=b"", repr=False, compare=False)

    @property
    def name(self) -> str:
        """Where the model is, as the user named it."""
        return self.location or str(self.path)

    @property
    def columns(self) -> list[str]:
        return list(self.metadata["input_columns"])

    def kernel(self) -> EncodeKernel:
        """The encode kernel for this model (see :mod:`aefeat.core.kernel`)."""
        return EncodeKernel(self.scaler, self.network, self.columns)

    def sample(self) -> np.ndarray:
        """The stored raw training rows (sha256 already checked; shape checked before reading)."""
        expected = {"X": (range(1, MAX_SAMPLE_ROWS + 1), self.spec.n_features)}
        try:
            return _load_npz(self.sample_bytes, self.path / SAMPLE, expected)["X"]
        except AefeatError as exc:
            if self.location:
                _shown_at(exc, self.path, self.location)
            raise


Shape = tuple[int | range, ...]


def _shape_text(shape: Shape) -> str:
    dims = [f"{d.start}..{d.stop - 1}" if isinstance(d, range) else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


_MAX_HEADER = 10_000  # bytes of .npy header; numpy's own default limit for a safe load


def _npz_headers(raw: bytes) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each array's shape and dtype as its .npy header inside the zip declares them, read
    without decompressing any data: a forged header cannot make aefeat allocate gigabytes.
    Members must be stored, not compressed (as ``np.savez`` writes them), so that the file's
    size on disk bounds what loading it takes; a header may declare at most ``_MAX_HEADER``
    bytes (numpy reads all it declares, up to 4 GiB, before judging it)."""
    fmt = np.lib.format
    out = {}
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                raise ValueError(f"unexpected member {info.filename!r}")
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"member {info.filename!r} is compressed")
            with zf.open(info) as fh:
                start = fh.read(12)
            if len(start) < 10 or start[:6] != fmt.MAGIC_PREFIX:
                raise ValueError(f"member {info.filename!r} is not a .npy array")
            size_bytes = 2 if start[6] == 1 else 4
            declared = int.from_bytes(start[8 : 8 + size_bytes], "little")
            if declared > _MAX_HEADER:
                raise ValueError(f"member {info.filename!r} declares a {declared}-byte header")
            with zf.open(info) as fh:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = fmt.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, _, dtype = fmt.read_array_header_2_0(fh)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
            out[info.filename[: -len(".npy")]] = (tuple(shape), dtype)
    return out


def _load_npz(raw: bytes, path: Path, expected: dict[str, Shape]) -> dict[str, np.ndarray]:
    """The arrays of the model .npz whose bytes are ``raw`` (read from ``path``), after checking
    from the headers alone that it holds exactly the ``expected`` names with those shapes (a
    ``range`` allows sizes in it) and numbers."""
    try:
        headers = _npz_headers(raw)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        reason = "not a valid .npz file" if isinstance(exc, zipfile.BadZipFile) else str(exc)
        raise AefeatError(
            f"cannot read {path.name}: {reason}", str(path), "retrain the model with aefeat train"
        ) from None
    if set(headers) != set(expected):
        raise AefeatError(
            f"cannot read {path.name}: it holds arrays {sorted(headers)}, expected {sorted(expected)}",
            str(path),
            f"{path.name} does not match metadata.json: retrain the model",
        )
    for key, (shape, dtype) in headers.items():
        if dtype.kind != "f" or dtype.itemsize not in (4, 8):
            # aefeat writes float32 and float64 only; narrower types would grow 8-fold when
            # converted.
            raise AefeatError(
                f"cannot read {path.name}: array {key!r} is not float32 or float64",
                str(path),
                "retrain the model with aefeat train",
            )
        want = expected[key]
        if len(shape) != len(want) or not all(
            (d in w) if isinstance(w, range) else d == w for d, w in zip(shape, want, strict=False)
        ):
            raise AefeatError(
                f"model file {path.name} declares shape {shape} for array {key!r}, "
                f"expected {_shape_text(want)}",
                str(path),
                f"{path.name} does not match metadata.json: retrain the model",
            )
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            return {k: data[k] for k in expected}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise AefeatError(
            f"cannot read {path.name}: {exc}", str(path), "retrain the model with aefeat train"
        ) from None


def versions() -> dict[str, str]:
    import platform

    from aefeat import __version__

    out = {"aefeat": __version__, "python": platform.python_version(), "numpy": np.__version__}
    try:
        import keras
        import tensorflow as tf

        out["keras"] = keras.__version__
        out["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover - both are dependencies
        pass
    return out


def model_dir_target(output: str | os.PathLike[str]) -> Path:
    """The local path ``train -o`` and ``save()`` write: a ``file://`` URL as its path. An empty
    path, standard output and other URLs are refused: a model directory is several files,
    written and swapped in place (``save("s3://b/m")`` wrote a local directory ``s3:/b/m``)."""
    shown = os.fspath(output)
    if shown == "":  # an unset variable, read as ".": the model would replace the working directory
        raise AefeatError(
            "invalid value ''",
            "-o",
            "name the model directory to write",
            python_where="path=''",
            python_hint="pass save() the path of the model directory to write",
        )
    if shown == "-":
        raise AefeatError(
            "a model directory cannot be written to stdout",
            "-o -",
            "name a directory with -o (train --json prints the summary on stdout)",
            python_where="path='-'",
            python_hint="pass save() a directory path",
        )
    local = remote.local_path(shown)
    if remote.is_url(local):
        raise AefeatError(
            "a model directory is written to a local path, not a URL",
            f"-o {shown}",
            "train into a local directory, then copy it",
            python_where=shown,
            python_hint="save() to a local directory, then copy it",
        )
    return Path(local)


def check_output_dir(path: Path, inputs: list[str] | None = None) -> None:
    """Refuse, before any work is done, an output that ``save_model_dir`` would refuse later:
    anything but a new path, an empty directory or a directory that is provably an aefeat model
    (see :func:`replaceable_model_dir`), and an output that is (or holds) one of ``inputs``."""
    from aefeat.io.sinks import check_not_input, check_writable, resolve

    path = Path(path)
    check_not_input(path, inputs or [])
    real = resolve(path)
    for parent in real.parents:
        if (parent / METADATA).is_file() and _not_a_model(parent) is None:
            # It would no longer be a model directory, and could not be retrained in place.
            raise AefeatError(
                f"output is inside the model directory {parent}",
                str(path),
                "write each model to its own directory, beside the others",
            )
    why = _not_a_model(real) if real.is_dir() else "it is a file"
    if os.path.lexists(real) and why is not None:
        raise AefeatError(
            f"output exists and is not an aefeat model directory: {why}",
            str(path),
            "choose another -o path or remove it",
            python_hint="pass save() another path, or remove it",
        )
    check_writable(real.parent, str(path))


def replaceable_model_dir(path: Path) -> bool:
    """Whether ``train -o`` may replace the directory ``path``: it is empty, or it is provably an
    aefeat model (see :func:`_not_a_model`). A user's own directory that merely has a
    ``metadata.json`` is never replaced."""
    return _not_a_model(path) is None


def _not_a_model(path: Path) -> str | None:
    """Why ``train -o`` may not replace the directory ``path``, or None when it may: it is
    empty, or it holds nothing but files named as a model's (``metadata.json``,
    ``weights.npz``, ...) and its ``metadata.json`` names the aefeat format. Model files may be
    missing: a damaged model that ``encode`` tells the user to retrain can be retrained over."""
    try:
        entries = os.listdir(path)
    except OSError as exc:
        return f"it cannot be listed: {exc.strerror or exc}"
    if not entries:
        return None
    others = sorted(set(entries) - {METADATA, *REQUIRED_FILES})
    if others:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        return f"it holds other files: {shown}"
    if not all(
        os.path.isfile(Path(path) / name) and not os.path.islink(Path(path) / name)
        for name in entries
    ):
        return "it holds links or directories"
    meta_path = Path(path) / METADATA
    if not os.path.exists(meta_path):
        return f"it has no {METADATA}"
    try:
        if meta_path.stat().st_size > MAX_METADATA_BYTES:
            return f"its {METADATA} is too large"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return f"its {METADATA} is not valid JSON"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return f"its {METADATA} is not an aefeat model's"
    return None


def save_model_dir(
    path: Path,
    metadata: dict[str, Any],
    spec: NetworkSpec,
    scaler: Scaler,
    weights: dict[str, np.ndarray],
    sample: np.ndarray,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Write a complete model directory at ``path``, replacing any model already there.

    Files go into a temporary sibling that is swapped into place only when complete
    (:func:`aefeat.io.sinks.atomic_dir`), so a failed or interrupted save never leaves a
    half-written directory where a good one was. ``before_commit`` runs when the files are
    written, before the swap: if it raises (a summary that cannot be printed), nothing changes.
    """
    from aefeat.io.sinks import atomic_dir

    path = Path(path)
    check_output_dir(path)
    with atomic_dir(path, replaceable_model_dir, what="output") as tmp:
        np.savez(tmp / WEIGHTS, **weights)
        np.savez(tmp / SAMPLE, X=np.asarray(sample, dtype=np.float64))
        from aefeat.keras_backend.build import save_models

        save_models(spec, weights, scaler, tmp / ENCODER, tmp / DECODER)
        meta = dict(metadata)
        meta["format"] = FORMAT
        meta["format_version"] = FORMAT_VERSION
        meta["versions"] = versions()
        meta["network"] = spec.to_json()
        meta["scaling"] = scaler.to_json()
        meta["files"] = {name: sha256_file(tmp / name) for name in REQUIRED_FILES}
        with open(tmp / METADATA, "w", encoding="utf-8") as fh:
            fh.write(strictjson.dumps(meta) + "\n")
        if before_commit is not None:
            before_commit()


class _Replaced(Exception):
    """The directory was swapped for another (a retrain) while it was being read."""


def _read_at(
    dir_fd: int, name: str, where: Path, limit: int | None, keep: bool
) -> tuple[str, bytes]:
    """sha256 of the regular file ``name`` in the open directory ``dir_fd``, and its bytes when
    ``keep``. Raises ``FileNotFoundError`` when it is missing or not a regular file."""
    try:
        # Non-blocking: a FIFO in a model's place would block the open for ever (it is refused
        # below, as anything but a regular file is); reads of a regular file are unaffected.
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK, dir_fd=dir_fd)
    except IsADirectoryError:
        raise FileNotFoundError(name) from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(name)
        if limit is not None and st.st_size > limit:
            raise AefeatError(f"{name} is implausibly large", str(where / name))
        if keep:  # one copy in memory, parsed later from these very bytes
            data = fh.read()
            return hashlib.sha256(data).hexdigest(), data
        return _sha256_of(fh), b""


def _parse_metadata(raw: bytes, meta_path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AefeatError(
            f"{METADATA} is not valid JSON ({exc})",
            str(meta_path),
            "retrain the model with aefeat train",
        ) from None
    except RecursionError:
        raise AefeatError(
            f"{METADATA} is nested too deeply to be model metadata",
            str(meta_path),
            "retrain the model with aefeat train",
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AefeatError(
            "not an aefeat model directory (metadata.json has no aefeat format marker)",
            str(meta_path),
        )
    version = meta.get("format_version")
    # type() and not ==: JSON true equals 1 in Python, and a bool is not a version.
    if type(version) is not int or version != FORMAT_VERSION:
        raise AefeatError(
            f"unknown model format version {version!r}; this aefeat reads version {FORMAT_VERSION}",
            str(meta_path),
            "use the aefeat version that wrote it, or retrain",
        )
    return meta


def _read_once(path: Path, keep: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        # O_PATH: a handle for opening the files in it, which needs only search permission
        # (a shared model directory of mode 711 loads, as it did by path).
        dir_fd = os.open(path, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
    except FileNotFoundError:
        raise AefeatError(
            "model directory not found", str(path), "check the path or run aefeat train"
        ) from None
    except NotADirectoryError:
        raise AefeatError(
            "not a model directory (it is a file)",
            str(path),
            "pass the directory aefeat train -o wrote",
        ) from None
    except OSError as exc:
        raise AefeatError(f"cannot open the model directory: {exc.strerror}", str(path)) from None

    def replaced() -> bool:
        try:
            now = os.stat(path)
        except OSError:
            return True
        held = os.fstat(dir_fd)
        return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)

    name = METADATA
    try:
        try:
            _, raw = _read_at(dir_fd, METADATA, path, MAX_METADATA_BYTES, keep=True)
        except FileNotFoundError:
            if replaced():
                raise _Replaced from None
            raise AefeatError(
                f"not an aefeat model directory: {METADATA} is missing",
                str(path),
                "pass the directory aefeat train -o wrote",
            ) from None
        meta = _parse_metadata(raw, path / METADATA)
        files = meta.get("files")
        if not isinstance(files, dict) or set(files) != set(REQUIRED_FILES):
            raise AefeatError(
                "metadata.json does not list the model files",
                str(path / METADATA),
                "retrain the model",
            )
        blobs = {}
        for name in REQUIRED_FILES:
            try:
                digest, blobs[name] = _read_at(dir_fd, name, path, None, keep=name in keep)
            except FileNotFoundError:
                if replaced():
                    raise _Replaced from None
                raise AefeatError(
                    f"model file {name} is missing", str(path), "retrain the model"
                ) from None
            if digest != files[name]:
                raise AefeatError(
                    f"model file {name} does not match the sha256 in metadata.json "
                    "(changed or corrupt); refusing to load it",
                    str(path / name),
                    "retrain the model or restore the original file",
                )
        return meta, blobs
    except OSError as exc:
        raise AefeatError(f"cannot read {name}: {exc.strerror}", str(path / name)) from None
    finally:
        os.close(dir_fd)


def read_checked(path: Path, keep: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, bytes]]:
    """``metadata.json`` of a model directory, after checking what it is, its version, and
    that every model file matches its recorded sha256; plus the bytes of the files in
    ``keep``, exactly as hashed. All are read through one open handle on the directory, so a
    model retrained into ``path`` meanwhile (``train`` swaps whole directories) is never mixed
    with the old one: a read that finds the directory swapped starts again."""
    path = Path(path)
    for _ in range(3):
        try:
            return _read_once(path, keep)
        except _Replaced:
            continue
    raise AefeatError(
        "the model directory kept changing while it was read",
        str(path),
        "wait for the aefeat train writing it to finish",
    )


def _is_count(v: Any, least: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= least


def _finite_numbers(v: Any, n: int) -> bool:
    return (
        isinstance(v, list)
        and len(v) == n
        and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v
        )
    )


def _check_structure(meta: dict[str, Any]) -> None:
    """Raise ValueError naming the first field of metadata.json that ``encode`` or ``inspect``
    could trip over. JSON types are checked as they are, never coerced."""
    net = meta.get("network")
    if not isinstance(net, dict):
        raise ValueError("'network' is missing or not an object")
    n = net.get("n_features")
    if not _is_count(n, 2):
        raise ValueError("network n_features must be an integer of at least 2")
    latent = net.get("latent_dim")
    if not (_is_count(latent, 1) and latent <= n):
        # latent_dim == n_features is a full-width autoencoder, as PCA allows n_components == n.
        raise ValueError("network latent_dim must be an integer from 1 to n_features")
    hidden = net.get("hidden")
    if not (isinstance(hidden, list) and all(_is_count(h, 1) for h in hidden)):
        raise ValueError("network hidden must be a list of positive integers")
    for key, known in (
        ("activation", ACTIVATIONS),
        ("latent_activation", ACTIVATIONS),
        ("output_activation", OUTPUT_ACTIVATIONS),
    ):
        if net.get(key) not in known:
            raise ValueError(f"network {key} {net.get(key)!r} is not a known activation")
    if not isinstance(net.get("linear_path"), bool):
        raise ValueError("network linear_path must be true or false")
    columns = meta.get("input_columns")
    if not (
        isinstance(columns, list) and len(columns) == n and all(isinstance(c, str) for c in columns)
    ):
        raise ValueError(f"input_columns must be a list of {n} column names")
    if len(set(columns)) != len(columns):
        raise ValueError("input_columns has duplicate names")
    if not isinstance(meta.get("named_columns", True), bool):
        raise ValueError("named_columns must be true or false")
    scaling = meta.get("scaling")
    if not isinstance(scaling, dict):
        raise ValueError("'scaling' is missing or not an object")
    for key in ("min", "max"):
        if not _finite_numbers(scaling.get(key), n):
            raise ValueError(f"scaling {key} must be a list of {n} finite numbers")
    if scaling.get("fill") is not None and not _finite_numbers(scaling["fill"], n):
        raise ValueError(f"scaling fill must be null or a list of {n} finite numbers")
    above = [
        c for c, lo, hi in zip(columns, scaling["min"], scaling["max"], strict=True) if lo > hi
    ]
    if above:
        raise ValueError(f"scaling min is above max for column {above[0]!r}")
    config = meta.get("config", {})
    for key in ("hidden", "activation", "latent_activation", "output_activation", "linear_path"):
        # The network section is what encode runs; the config is what training was asked for.
        # An edit to one of them alone would change the latent values without a word.
        if isinstance(config, dict) and key in config and config[key] != net[key]:
            raise ValueError(
                f"network {key} {net[key]!r} does not match the training config's {config[key]!r}"
            )
    for key in ("training", "metrics", "config", "versions"):
        if not isinstance(meta.get(key, {}), dict):
            raise ValueError(f"'{key}' must be an object")
    history = meta.get("training", {}).get("history", {})
    if not isinstance(history, dict) or not all(
        isinstance(v, list)
        and all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in v)
        for v in history.values()
    ):
        raise ValueError("training history must map names to lists of numbers")
    for key, value in meta.get("metrics", {}).items():
        # Read by the summary and the plot as numbers, or a word for the model kept.
        if key == "model":
            if value not in ("autoencoder", "pca"):
                raise ValueError("metrics model must be 'autoencoder' or 'pca'")
        elif value is not None and (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ValueError(f"metrics {key} must be a finite number or null")
    if _depth(meta) > _MAX_DEPTH:
        raise ValueError(f"it is nested more than {_MAX_DEPTH} levels deep")
    if too_large(scaling["min"], scaling["max"]).any():
        # What train refuses to fit: encode would divide by an infinite span.
        raise ValueError(f"scaling spans more than {MAX_SPAN:.0e} in a column")


_MAX_DEPTH = 32  # what aefeat writes is 4 deep; deeper JSON only trips recursion later


def _depth(value: Any, level: int = 0) -> int:
    if level > _MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def check_model_location(path: str | os.PathLike[str]) -> None:
    """Refuse an empty model location (an unset variable), which a path reads as the working
    directory: every reader of a model calls this before making a path of it."""
    if os.fspath(path) == "":
        raise AefeatError(
            "invalid value ''",
            "MODEL_DIR",
            "name the directory aefeat train -o wrote",
            python_what="an empty path is not a model directory",
            python_where="''",
            python_hint="pass the path of a directory written by save() or aefeat train",
        )


def load_model_dir(path: Path | str) -> ModelDir:
    """Check and load a model directory for encoding and inspection (no TensorFlow needed).
    A URL is fetched into a temporary directory first, and checked there."""
    check_model_location(path)
    if remote.is_url(remote.local_path(str(path))):
        return _load_remote(remote.local_path(str(path)))
    path = Path(remote.local_path(str(path)))
    meta, blobs = read_checked(path, keep=(WEIGHTS, SAMPLE))
    try:
        _check_structure(meta)
        spec = NetworkSpec.from_json(meta["network"])
        scaler = Scaler.from_json(meta["scaling"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AefeatError(
            f"metadata.json is inconsistent: {exc}", str(path / METADATA), "retrain the model"
        ) from None
    weights = _load_npz(blobs[WEIGHTS], path / WEIGHTS, dict(spec.weight_shapes()))
    bad = [k for k, w in weights.items() if not np.isfinite(w).all()]
    if bad:
        # Training never saves these (a diverged run keeps its last finite weights).
        raise AefeatError(
            f"model file {WEIGHTS} holds values that are not finite (array {bad[0]!r})",
            str(path),
            "retrain the model with aefeat train",
        )
    network = DenseNetwork(spec, weights)
    return ModelDir(
        path=path,
        metadata=meta,
        spec=spec,
        scaler=scaler,
        network=network,
        sample_bytes=blobs[SAMPLE],
    )


MAX_MODEL_FILE_BYTES = 4 << 30


def _load_remote(url: str) -> ModelDir:
    with tempfile.TemporaryDirectory(prefix="aefeat-model-") as tmp:
        local = Path(tmp)
        try:
            remote.fetch(url, [METADATA], local, MAX_METADATA_BYTES)
            meta_path = local / METADATA
            _parse_metadata(meta_path.read_bytes(), meta_path)  # a model at all, before the rest
            remote.fetch(url, list(REQUIRED_FILES), local, MAX_MODEL_FILE_BYTES)
            model = load_model_dir(local)
        except AefeatError as exc:
            _shown_at(exc, local, url)
            raise
    model.location = url
    return model


def load_keras_model(path: Path, which: str = ENCODER):
    """Load ``encoder.keras`` or ``decoder.keras`` after the sha256 check, in Keras' safe mode.
    Keras reads the very bytes that were checked (from a private copy)."""
    path = Path(path)
    _, blobs = read_checked(path, keep=(which,))
    from aefeat.keras_backend.build import keras

    with tempfile.TemporaryDirectory(prefix="aefeat-keras-") as tmp:
        copy = Path(tmp) / which
        copy.write_bytes(blobs[which])
        try:
            return keras.models.load_model(copy, safe_mode=True, compile=False)
        except Exception as exc:  # Keras raises many types for a bad file
            raise AefeatError(
                f"cannot load {which}: {exc}", str(path / which), "retrain the model"
            ) from None
