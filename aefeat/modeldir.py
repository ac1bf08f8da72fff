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
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aefeat.errors import AefeatError
from aefeat.network import DenseNetwork, NetworkSpec
from aefeat.scaling import Scaler

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

    def sample(self) -> np.ndarray:
        """The stored raw training rows (sha256 already checked)."""
        return _load_npz(self.path / SAMPLE)["X"]


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
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
    if path.exists() and not (path.is_dir() and _looks_like_model_dir(path)):
        raise AefeatError(
            "output exists and is not an aefeat model directory",
            str(path),
            "choose another -o path or remove it",
        )
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    except OSError as exc:
        raise AefeatError(f"cannot create model directory: {exc.strerror}", str(path)) from None
    try:
        np.savez(tmp / WEIGHTS, **weights)
        np.savez(tmp / SAMPLE, X=np.asarray(sample, dtype=np.float64))
        from aefeat.model import export_models

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
            json.dump(meta, fh, indent=2, allow_nan=False)
            fh.write("\n")
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


def load_model_dir(path: Path) -> ModelDir:
    """Check and load a model directory for encoding and inspection (no TensorFlow needed)."""
    path = Path(path)
    meta = read_metadata(path)
    verify_files(path, meta)
    try:
        spec = NetworkSpec.from_json(meta["network"])
        scaler = Scaler.from_json(meta["scaling"])
        columns = meta["input_columns"]
        if not (isinstance(columns, list) and len(columns) == spec.n_features):
            raise ValueError("input_columns does not match the network")
        if scaler.data_min.shape != (spec.n_features,):
            raise ValueError("scaling does not match the network")
    except (KeyError, TypeError, ValueError) as exc:
        raise AefeatError(
            f"metadata.json is inconsistent: {exc}", str(path / METADATA), "retrain the model"
        ) from None
    network = DenseNetwork(spec, _load_npz(path / WEIGHTS))
    return ModelDir(path=path, metadata=meta, spec=spec, scaler=scaler, network=network)


def load_keras_model(path: Path, which: str = ENCODER):
    """Load ``encoder.keras`` or ``decoder.keras`` after the sha256 check, in Keras' safe mode."""
    path = Path(path)
    verify_files(path, read_metadata(path))
    from aefeat.model import keras

    try:
        return keras.models.load_model(path / which, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file
        raise AefeatError(
            f"cannot load {which}: {exc}", str(path / which), "retrain the model"
        ) from None
