"""URLs (``s3://``, ``gs://``, ``abfs://``, ``memory://``, ``file://`` ...) through fsspec: which
names are URLs, reading them, listing and globbing them, fetching a model directory and
uploading a finished output.

Credentials come from where each filesystem's own library looks (environment variables,
profile files, instance metadata); ``--storage-option KEY=VALUE`` adds options for the
filesystems of one command (:func:`storage_options`). fsspec and the filesystem packages
(``pip install "aefeat[cloud]"``) are imported only when a URL is used.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from aefeat.errors import AefeatError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
INSTALL_HINT = "install the filesystem's package, e.g. pip install 'aefeat[cloud]'"


def is_url(spec: str | os.PathLike[str] | None) -> bool:
    """Whether ``spec`` names a URL (``scheme://...``) rather than a local path."""
    return isinstance(spec, str) and bool(_URL.match(spec))


def local_path(spec: str) -> str:
    """``file://`` URLs as the local path they name (local files keep every local promise);
    anything else unchanged."""
    return spec[len("file://") :] if spec.startswith("file://") else spec


def _protocol(url: str) -> str:
    return url.split("://", 1)[0].lower()


@contextlib.contextmanager
def storage_options(options: dict[str, Any], urls: list[str | None]) -> Iterator[None]:
    """Use ``options`` (from ``--storage-option``) for the filesystems of ``urls`` while the
    block runs, on top of fsspec's own configuration (``FSSPEC_<PROTOCOL>_<KEY>`` variables)."""
    protocols = {_protocol(u) for u in urls if is_url(u)}
    if not options or not protocols:
        yield
        return
    import fsspec.config

    saved = {p: dict(fsspec.config.conf.get(p, {})) for p in protocols}
    for p in protocols:
        fsspec.config.conf.setdefault(p, {}).update(options)
    try:
        yield
    finally:
        for p, conf in saved.items():
            fsspec.config.conf[p] = conf


def parse_storage_options(values: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` strings as options; ``true``/``false`` and numbers become those types."""
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise AefeatError(
                f"invalid value {item!r}", "--storage-option", "use KEY=VALUE, e.g. anon=true"
            )
        out[key.strip()] = _typed(value.strip())
    return out


def _typed(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(value)
    return value


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem for ``url`` and the path within it."""
    try:
        from fsspec.core import url_to_fs

        return url_to_fs(url)
    except ImportError as exc:
        raise AefeatError(
            f"{_protocol(url)}:// needs a package that is not installed ({exc})",
            url,
            INSTALL_HINT,
        ) from None
    except ValueError as exc:
        raise AefeatError(f"cannot use this URL: {exc}", url, "check the scheme") from None


def _failure(exc: BaseException, url: str) -> AefeatError:
    if isinstance(exc, FileNotFoundError):
        return AefeatError("file not found", url, "check the URL")
    if isinstance(exc, PermissionError):
        return AefeatError("permission denied", url, "check the credentials")
    text = " ".join(str(exc).split())[:200]
    return AefeatError(
        f"cannot read {url}: {type(exc).__name__}: {text}",
        url,
        "check the URL, the credentials and --storage-option",
    )


def size(spec: str) -> int:
    """The size in bytes of a local file or of a URL's object."""
    spec = local_path(spec)
    if not is_url(spec):
        return os.path.getsize(spec)
    fs, path = filesystem(spec)
    try:
        return int(fs.size(path) or 0)
    except Exception as exc:  # noqa: BLE001
        raise _failure(exc, spec) from None


def open_read(url: str) -> IO[bytes]:
    """A binary file object reading ``url``, with one-line errors."""
    fs, path = filesystem(url)
    try:
        if fs.isdir(path):
            raise AefeatError("is a directory, not a data file", url, "pass a CSV or Parquet file")
        return fs.open(path, "rb")
    except AefeatError:
        raise
    except Exception as exc:  # noqa: BLE001 - every filesystem raises its own types
        raise _failure(exc, url) from None


def expand(url: str, suffixes: tuple[str, ...]) -> list[str]:
    """The files ``url`` names: itself, a directory's data files (``suffixes``), or a glob's."""
    fs, path = filesystem(url)
    protocol = _protocol(url)

    def full(p: str) -> str:
        return p if is_url(p) else f"{protocol}://{p}"

    try:
        if any(ch in path for ch in "*?["):
            return sorted(full(p) for p in fs.glob(path) if fs.isfile(p))
        if fs.isdir(path):
            return sorted(
                full(p)
                for p in fs.ls(path, detail=False)
                if not p.rsplit("/", 1)[-1].startswith(".")
                and p.lower().endswith(suffixes)
                and fs.isfile(p)
            )
    except Exception as exc:  # noqa: BLE001
        raise _failure(exc, url) from None
    return [url]


def fetch(url: str, names: list[str], dest: Path, max_bytes: int) -> None:
    """Copy the files ``names`` of the directory ``url`` into ``dest``, refusing any larger
    than ``max_bytes`` before reading it."""
    fs, path = filesystem(url)
    base = path.rstrip("/")
    for name in names:
        remote = f"{base}/{name}"
        try:
            size = fs.size(remote)
            if size is not None and size > max_bytes:
                raise AefeatError(
                    f"model file {name} is implausibly large ({size:,} bytes)", url, "retrain"
                )
            fs.get_file(remote, str(dest / name))
        except AefeatError:
            raise
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, FileNotFoundError):
                raise AefeatError(
                    f"model file {name} is missing", url, "retrain the model"
                ) from None
            raise _failure(exc, f"{url.rstrip('/')}/{name}") from None


def upload(local: Path, url: str) -> None:
    """Put the finished file ``local`` at ``url`` in one request: object stores show an object
    only once its upload completed, so readers never see part of it."""
    fs, path = filesystem(url)
    try:
        fs.put_file(str(local), path)
    except Exception as exc:  # noqa: BLE001
        text = " ".join(str(exc).split())[:200]
        raise AefeatError(
            f"cannot write output: {type(exc).__name__}: {text}",
            url,
            "check the URL, the credentials and --storage-option",
        ) from None


def listing(url: str) -> list[str]:
    """What is under the prefix ``url`` (nothing when it does not exist)."""
    fs, path = filesystem(url)
    try:
        return list(fs.ls(path, detail=False)) if fs.exists(path) else []
    except FileNotFoundError:
        return []
    except Exception as exc:  # noqa: BLE001
        raise _failure(exc, url) from None


def remove_quietly(urls: list[str]) -> None:
    """Remove these objects if they exist, ignoring what fails: cleanup after a failed run."""
    for url in urls:
        with contextlib.suppress(Exception):
            fs, path = filesystem(url)
            if fs.exists(path):
                fs.rm(path)
