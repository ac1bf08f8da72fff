"""URLs end to end against a real S3-compatible server on 127.0.0.1 (moto's server mode, spoken to
by s3fs): train from s3://, encode and inspect with the model directory, the data and the output
in the bucket, credentials from the environment and --storage-option for the endpoint."""

from __future__ import annotations

import io
import json
import socket

import numpy as np
import pandas as pd
import pytest
from conftest import assert_user_error, ok, run

pytest.importorskip("s3fs", reason="s3fs is not installed (pip install -e '.[test]')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")

BUCKET = "aefeat-test"
TRAIN = ["--exclude", "id,label", "--epochs", "2", "--hidden", "4", "--seed", "0", "-q"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint, monkeypatch):
    """An empty bucket, with moto's test credentials in the environment (as a user's would be)."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    if fs.exists(BUCKET):
        fs.rm(BUCKET, recursive=True)
    fs.mkdir(BUCKET)
    return fs


def _opt(endpoint: str) -> list[str]:
    return ["--storage-option", f"endpoint_url={endpoint}"]


def test_train_encode_inspect_with_everything_in_the_bucket(
    s3, endpoint, csv_path, model_dir, tmp_path
):
    s3.put_file(str(csv_path), f"{BUCKET}/data/tiny.csv")
    s3.put(str(model_dir), f"{BUCKET}/model", recursive=True)
    url = f"s3://{BUCKET}"

    # encode: model, data and output are URLs; the output equals a local run's bytes
    local = ok("encode", model_dir, csv_path, "--keep", "id", "--with-error")
    args = ["--keep", "id", "--with-error", *_opt(endpoint)]
    assert (
        ok("encode", f"{url}/model", f"{url}/data/tiny.csv", *args, "-o", f"{url}/out/z.csv") == ""
    )
    assert s3.cat_file(f"{BUCKET}/out/z.csv").decode() == local
    assert ok("encode", f"{url}/model", f"{url}/data/tiny.csv", *args) == local  # to stdout

    # inspect: the model directory and --data from the bucket, named by their URLs
    report = json.loads(
        ok("inspect", f"{url}/model", "--data", f"{url}/data/tiny.csv", "--json", *_opt(endpoint))
    )
    assert report["model_dir"] == f"{url}/model"
    assert report["data"]["source"] == f"{url}/data/tiny.csv" and report["data"]["rows"] == 240

    # train from a URL (and from a prefix of files) equals training on the local file
    here, there = tmp_path / "here", tmp_path / "there"
    ok("train", csv_path, "-o", here, *TRAIN)
    ok("train", f"{url}/data/tiny.csv", "-o", there, *TRAIN, *_opt(endpoint))
    assert ok("encode", there, csv_path) == ok("encode", here, csv_path)


def test_streamed_training_from_a_prefix_of_files(s3, endpoint, frame, tmp_path):
    for i in range(3):
        part = frame.iloc[80 * i : 80 * (i + 1)].to_csv(index=False).encode()
        s3.pipe_file(f"{BUCKET}/parts/p{i}.csv", part)
    model = tmp_path / "m"
    ok("train", f"s3://{BUCKET}/parts/", "-o", model, *TRAIN, *_opt(endpoint))
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["data"]["files"] == 3 and meta["data"]["streamed"] is True
    assert meta["data"]["rows"] == 240
    encoded = pd.read_csv(
        io.StringIO(ok("encode", model, f"s3://{BUCKET}/parts/p1.csv", *_opt(endpoint)))
    )
    assert len(encoded) == 80 and np.isfinite(encoded.to_numpy()).all()


def test_train_dask_workers_get_the_storage_options(s3, endpoint, frame, tmp_path):
    # The workers' scan tasks were sent without --storage-option: they read from AWS itself.
    for i in range(2):
        part = frame.iloc[120 * i : 120 * (i + 1)].to_csv(index=False).encode()
        s3.pipe_file(f"{BUCKET}/parts/p{i}.csv", part)
    model = tmp_path / "m"
    args = [*TRAIN, "--dask", "local", "--max-rows", "200", *_opt(endpoint)]
    ok("train", f"s3://{BUCKET}/parts/", "-o", model, *args)
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["data"]["rows_scanned"] == 240 and meta["data"]["rows"] == 200


def test_url_errors_are_one_line(s3, endpoint, model_dir, csv_path, tmp_path):
    url = f"s3://{BUCKET}"
    assert_user_error(
        run("encode", model_dir, f"{url}/nope.csv", *_opt(endpoint)), "file not found", "nope.csv"
    )
    assert_user_error(
        run("encode", f"{url}/no_model", csv_path, *_opt(endpoint)), "no_model", "missing"
    )
    s3.put(str(model_dir), f"{BUCKET}/model", recursive=True)
    s3.pipe_file(f"{BUCKET}/model/weights.npz", b"tampered")
    assert_user_error(
        run("encode", f"{url}/model", csv_path, *_opt(endpoint)), "weights.npz", "sha256"
    )
    assert_user_error(
        run("encode", model_dir, csv_path, "--storage-option", "no-equals-sign"),
        "--storage-option",
        "KEY=VALUE",
    )
    out = f"{url}/data.csv"
    s3.put_file(str(csv_path), f"{BUCKET}/data.csv")
    assert_user_error(run("encode", model_dir, out, "-o", out, *_opt(endpoint)), "input file")


def test_dask_encode_uploads_each_file_and_cleans_up_after_a_failure(
    s3, endpoint, model_dir, frame, tmp_path
):
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(2):
        frame.iloc[120 * i : 120 * (i + 1)].to_csv(parts / f"p{i}.csv", index=False)
    url = f"s3://{BUCKET}/latent"
    args = ["--keep", "id", "--dask", "local", *_opt(endpoint)]
    ok("encode", model_dir, str(parts), *args, "-o", url)
    for i in range(2):
        want = ok("encode", model_dir, parts / f"p{i}.csv", "--keep", "id")
        assert s3.cat_file(f"{BUCKET}/latent/p{i}.csv").decode() == want

    refused = run("encode", model_dir, str(parts), *args, "-o", url)
    assert_user_error(refused, "not empty", url)

    (parts / "p1.csv").write_text((parts / "p1.csv").read_text().replace(",", ",oops", 3))
    failed = run("encode", model_dir, str(parts), *args, "-o", f"s3://{BUCKET}/again")
    assert_user_error(failed, "p1.csv")
    assert not s3.exists(f"{BUCKET}/again/p0.csv")  # uploaded ones are removed again
