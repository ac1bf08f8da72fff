"""The model directory: what it holds, writing it atomically, and checking it before use.

Layout (format version 1)::

    MODEL_DIR/
      metadata.json   columns, scaling, network spec, config, history, metrics, sha256 of the rest
      weights.npz     dense-layer weights as plain arrays (loaded with allow_pickle=False)
      encoder.keras   raw features -> latent (MinMax scaling built in), for use without aefeat
      decoder.keras   latent -> reconstructed features in raw units
      sample.npz      up to 1,000 raw training rows, used by ``inspect`` when no --data is given

Nothing here is unpickled, and nothing is read before every file's sha256 matches metadata.json.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aefeat.core.config import ACTIVATIONS
from aefeat.core.kernel import EncodeKernel
from aefeat.core.network import DenseNetwork, NetworkSpec
from aefeat.core.prepare import Scaler
from aefeat.errors import AefeatError
from aefeat.io import strictjson

FORMAT = "aefeat-model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
WEIGHTS = "weights.npz"
SAMPLE = "sample.npz"
ENCODER = "encoder.keras"
DECODER = "decoder.keras"
REQUIRED_FILES = (WEIGHTS, SAMPLE, ENCODER, DECODER)
MAX_METADATA_BYTES = 64 * 1024 * 1024


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class ModelDir:
    """A checked model directory: metadata plus what ``encode`` and ``inspect`` need."""

    path: Path
    metadata: dict[str, Any]
    spec: NetworkSpec
    scaler: Scaler
    network: DenseNetwork

    @property
    def columns(self) -> list[str]:
        return list(self.metadata["input_columns"])

    def kernel(self) -> EncodeKernel:
        """The encode kernel for this model (see :mod:`aefeat.core.kernel`)."""
        return EncodeKernel(self.scaler, self.network, self.columns)

    def sample(self) -> np.ndarray:
        """The stored raw training rows (sha256 already checked)."""
        X = _load_npz(self.path / SAMPLE).get("X")
        if X is None or X.ndim != 2 or X.shape[0] < 1 or X.shape[1] != self.spec.n_features:
            raise AefeatError(
                f"{SAMPLE} does not hold the training sample this model needs",
                str(self.path / SAMPLE),
                "retrain the model, or pass --data",
            )
        return X


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with data:
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        # np.load says "pickled data" for any file that is not .npy/.npz; nothing is unpickled.
        reason = "not a valid .npz file" if "pickle" in str(exc) else str(exc)
        raise AefeatError(
            f"cannot read {path.name}: {reason}", str(path), "retrain the model with aefeat train"
        ) from None
    for key, arr in arrays.items():
        if arr.dtype.kind not in "fiu":
            raise AefeatError(
                f"cannot read {path.name}: array {key!r} is not numeric",
                str(path),
                "retrain the model with aefeat train",
            )
    return arrays


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


def check_output_dir(path: Path) -> None:
    """Refuse, before any work is done, an output that ``save_model_dir`` would refuse later."""
    path = Path(path)
    if path.exists() and not (path.is_dir() and _looks_like_model_dir(path)):
        raise AefeatError(
            "output exists and is not an aefeat model directory",
            str(path),
            "choose another -o path or remove it",
        )
    parent = path.parent if str(path.parent) else Path(".")
    for up in (parent, *parent.parents):
        if up.exists():
            if not up.is_dir():
                raise AefeatError("output parent is not a directory", str(up), "fix the -o path")
            break


def save_model_dir(
    path: Path,
    metadata: dict[str, Any],
    spec: NetworkSpec,
    scaler: Scaler,
    weights: dict[str, np.ndarray],
    sample: np.ndarray,
) -> None:
    """Write a complete model directory at ``path``, replacing any model already there.

    Files go into a temporary sibling that is renamed into place only when complete, so a
    failed or interrupted save never leaves a half-written directory where a good one was.
    """
    path = Path(path)
    check_output_dir(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    except OSError as exc:
        raise AefeatError(f"cannot create model directory: {exc.strerror}", str(path)) from None
    try:
        np.savez(tmp / WEIGHTS, **weights)
        np.savez(tmp / SAMPLE, X=np.asarray(sample, dtype=np.float64))
        from aefeat.keras_backend.build import export_models

        encoder, decoder = export_models(spec, weights, scaler)
        encoder.save(tmp / ENCODER)
        decoder.save(tmp / DECODER)
        meta = dict(metadata)
        meta["format"] = FORMAT
        meta["format_version"] = FORMAT_VERSION
        meta["versions"] = versions()
        meta["network"] = spec.to_json()
        meta["scaling"] = scaler.to_json()
        meta["files"] = {name: sha256_file(tmp / name) for name in REQUIRED_FILES}
        with open(tmp / METADATA, "w", encoding="utf-8") as fh:
            fh.write(strictjson.dumps(meta) + "\n")
        _replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _looks_like_model_dir(path: Path) -> bool:
    return (path / METADATA).is_file() or not any(path.iterdir())


def _replace_dir(tmp: Path, path: Path) -> None:
    if not path.exists():
        os.replace(tmp, path)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
    os.rmdir(backup)
    os.replace(path, backup)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.replace(backup, path)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def read_metadata(path: Path) -> dict[str, Any]:
    """``metadata.json`` of a model directory, after checking what it is and its version."""
    path = Path(path)
    if not path.exists():
        raise AefeatError(
            "model directory not found", str(path), "check the path or run aefeat train"
        )
    if not path.is_dir():
        raise AefeatError(
            "not a model directory (it is a file)",
            str(path),
            "pass the directory aefeat train -o wrote",
        )
    meta_path = path / METADATA
    if not meta_path.is_file():
        raise AefeatError(
            f"not an aefeat model directory: {METADATA} is missing",
            str(path),
            "pass the directory aefeat train -o wrote",
        )
    try:
        if meta_path.stat().st_size > MAX_METADATA_BYTES:
            raise AefeatError(f"{METADATA} is implausibly large", str(meta_path))
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AefeatError(
            f"{METADATA} is not valid JSON ({exc})",
            str(meta_path),
            "retrain the model with aefeat train",
        ) from None
    except OSError as exc:
        raise AefeatError(f"cannot read {METADATA}: {exc.strerror}", str(meta_path)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AefeatError(
            "not an aefeat model directory (metadata.json has no aefeat format marker)",
            str(meta_path),
        )
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise AefeatError(
            f"unknown model format version {version!r}; this aefeat reads version {FORMAT_VERSION}",
            str(meta_path),
            "use the aefeat version that wrote it, or retrain",
        )
    return meta


def verify_files(path: Path, meta: dict[str, Any]) -> None:
    """Refuse the directory unless every file exists and matches its recorded sha256."""
    files = meta.get("files")
    if not isinstance(files, dict) or set(files) != set(REQUIRED_FILES):
        raise AefeatError(
            "metadata.json does not list the model files", str(path / METADATA), "retrain the model"
        )
    for name in REQUIRED_FILES:
        fpath = path / name
        if not fpath.is_file():
            raise AefeatError(f"model file {name} is missing", str(path), "retrain the model")
        if sha256_file(fpath) != files[name]:
            raise AefeatError(
                f"model file {name} does not match the sha256 in metadata.json "
                "(changed or corrupt); refusing to load it",
                str(fpath),
                "retrain the model or restore the original file",
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
    for key in ("activation", "latent_activation", "output_activation"):
        if net.get(key) not in ACTIVATIONS:
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
    scaling = meta.get("scaling")
    if not isinstance(scaling, dict):
        raise ValueError("'scaling' is missing or not an object")
    for key in ("min", "max"):
        if not _finite_numbers(scaling.get(key), n):
            raise ValueError(f"scaling {key} must be a list of {n} finite numbers")
    if scaling.get("fill") is not None and not _finite_numbers(scaling["fill"], n):
        raise ValueError(f"scaling fill must be null or a list of {n} finite numbers")
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


def load_model_dir(path: Path) -> ModelDir:
    """Check and load a model directory for encoding and inspection (no TensorFlow needed)."""
    path = Path(path)
    meta = read_metadata(path)
    verify_files(path, meta)
    try:
        _check_structure(meta)
        spec = NetworkSpec.from_json(meta["network"])
        scaler = Scaler.from_json(meta["scaling"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AefeatError(
            f"metadata.json is inconsistent: {exc}", str(path / METADATA), "retrain the model"
        ) from None
    try:
        network = DenseNetwork(spec, _load_npz(path / WEIGHTS))
    except AefeatError as exc:
        if exc.where != "weights.npz":
            raise
        raise AefeatError(
            f"{exc.what}; weights.npz does not match metadata.json",
            str(path / WEIGHTS),
            "retrain the model",
        ) from None
    return ModelDir(path=path, metadata=meta, spec=spec, scaler=scaler, network=network)


def load_keras_model(path: Path, which: str = ENCODER):
    """Load ``encoder.keras`` or ``decoder.keras`` after the sha256 check, in Keras' safe mode."""
    path = Path(path)
    verify_files(path, read_metadata(path))
    from aefeat.keras_backend.build import keras

    try:
        return keras.models.load_model(path / which, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        raise AefeatError(
            f"cannot load {which}: {exc}", str(path / which), "retrain the model"
        ) from None
