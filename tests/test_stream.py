"""Training on files larger than memory: globs, --stream, --max-rows, and the reservoir sample."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import FEATURES, make_frame, pipe_path, run

from aefeat.io.sources import expand_inputs
from aefeat.stream import ChunkedInput, Reservoir, batch_generator, first_pass


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parts")
    frame = make_frame(900, seed=5)
    for i in range(3):
        frame.iloc[i * 300 : (i + 1) * 300].to_csv(folder / f"part{i}.csv", index=False)
    frame.to_csv(folder / "all.csv", index=False)
    return folder


ARGS = ["--exclude", "id,label", "--epochs", "3", "--hidden", "8", "--seed", "3", "-q"]


def _meta(model):
    return json.loads((model / "metadata.json").read_text())


def test_glob_of_files_is_streamed_and_encodes(parts, tmp_path):
    model = tmp_path / "m"
    result = run("train", str(parts / "part*.csv"), "-o", model, *ARGS)
    assert result.exit_code == 0, result.stderr
    meta = _meta(model)
    assert meta["data"]["streamed"] is True and meta["data"]["files"] == 3
    assert meta["training"]["n_rows"] == 900
    assert meta["training"]["n_train"] + meta["training"]["n_val"] == 900
    # Started from PCA and kept only improvements on the validation rows.
    assert meta["metrics"]["val_mse"] <= meta["metrics"]["pca_val_mse"] * (1 + 1e-4)
    out = run("encode", model, parts / "all.csv", "--keep", "id")
    assert out.exit_code == 0, out.stderr
    assert len(out.stdout.splitlines()) == 901


def test_files_the_shell_expanded_train_as_the_quoted_glob_does(parts, tmp_path):
    # `aefeat train data/part*.csv` unquoted: the shell passes three paths, which was
    # "Got unexpected extra argument(s)".
    quoted, listed = tmp_path / "quoted", tmp_path / "listed"
    assert run("train", str(parts / "part*.csv"), "-o", quoted, *ARGS).exit_code == 0
    paths = [str(p) for p in sorted(parts.glob("part*.csv"))]
    result = run("train", *paths, "-o", listed, *ARGS)
    assert result.exit_code == 0, result.stderr
    assert _meta(listed)["data"]["files"] == 3
    with np.load(quoted / "weights.npz") as a, np.load(listed / "weights.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    mixed = run("train", paths[0], "-", "-o", tmp_path / "m", *ARGS)
    assert mixed.exit_code == 2 and "stdin (-) cannot be read together with files" in mixed.stderr


def test_streamed_training_is_reproducible(parts, tmp_path):
    weights = []
    for name in ("a", "b"):
        model = tmp_path / name
        assert run("train", parts / "all.csv", "-o", model, "--stream", *ARGS).exit_code == 0
        with np.load(model / "weights.npz") as w:
            weights.append({k: w[k] for k in w.files})
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key], weights[1][key])


def test_streamed_and_in_memory_scaling_agree(parts, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("train", parts / "all.csv", "-o", a, "--stream", *ARGS).exit_code == 0
    assert run("train", parts / "all.csv", "-o", b, "--no-stream", *ARGS).exit_code == 0
    assert _meta(a)["scaling"]["min"] == _meta(b)["scaling"]["min"]
    assert _meta(a)["scaling"]["max"] == _meta(b)["scaling"]["max"]
    assert _meta(a)["input_columns"] == _meta(b)["input_columns"] == FEATURES


def test_streamed_pca_is_pca_of_every_row(parts, tmp_path):
    # With --epochs 0 the model is PCA of every row: streamed from three files, the same PCA as
    # in memory from one, not an incremental approximation of it.
    args = ["--exclude", "id,label", "--epochs", "0", "-k", "2", "--seed", "3", "-q"]
    latents = []
    for name, data in (("a", str(parts / "part*.csv")), ("b", parts / "all.csv")):
        model = tmp_path / name
        assert run("train", data, "-o", model, *args).exit_code == 0
        assert _meta(model)["data"]["streamed"] is (name == "a")
        assert _meta(model)["metrics"]["model"] == "pca"
        out = run("encode", model, parts / "all.csv")
        assert out.exit_code == 0, out.stderr
        latents.append(np.loadtxt(io.StringIO(out.stdout), delimiter=",", skiprows=1))
    assert latents[0].shape == (900, 2)
    np.testing.assert_allclose(latents[0], latents[1], atol=1e-5)


def test_max_rows_trains_on_a_sample(parts, tmp_path):
    model = tmp_path / "m"
    result = run("train", parts / "all.csv", "-o", model, "--max-rows", "200", *ARGS)
    assert result.exit_code == 0, result.stderr
    assert _meta(model)["training"]["n_rows"] == 200


def test_stream_from_stdin_is_refused(parts, tmp_path):
    result = run(
        "train",
        "-",
        "-o",
        tmp_path / "m",
        "--stream",
        *ARGS,
        input=(parts / "all.csv").read_bytes(),
    )
    assert result.exit_code == 2
    assert "--stream" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists()


def test_glob_matching_nothing_is_a_clear_error(tmp_path):
    result = run("train", str(tmp_path / "nothing*.csv"), "-o", tmp_path / "m", *ARGS)
    assert result.exit_code == 2
    assert "no input files match" in result.stderr


def test_files_with_different_columns_are_refused(parts, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    make_frame(50).to_csv(other / "a.csv", index=False)
    make_frame(50).drop(columns="f3").to_csv(other / "b.csv", index=False)
    result = run("train", str(other / "*.csv"), "-o", tmp_path / "m", *ARGS)
    assert result.exit_code == 2
    assert "'f3'" in result.stderr and "b.csv" in result.stderr


def test_expand_inputs_keeps_plain_paths_and_sorts_globs(parts):
    assert expand_inputs("-") == ["-"]
    assert expand_inputs(str(parts / "all.csv")) == [str(parts / "all.csv")]
    assert expand_inputs(str(parts / "part*.csv")) == [
        str(parts / f"part{i}.csv") for i in range(3)
    ]


def test_reservoir_is_a_uniform_sample_without_repeats():
    rng = np.random.default_rng(0)
    counts = np.zeros(100)
    for _ in range(300):
        res = Reservoir(10, 1, rng)
        for start in range(0, 100, 7):
            res.add(np.arange(start, min(start + 7, 100), dtype=float)[:, None])
        sample = res.sample()[:, 0]
        assert len(sample) == 10 and len(set(sample)) == 10
        counts[sample.astype(int)] += 1
    # Each row is drawn with probability 10/100: 30 times in 300 draws, give or take.
    assert counts.min() > 10 and counts.max() < 55


def test_streamed_training_refuses_values_too_large_for_float32(tmp_path):
    frame = make_frame(300)
    frame["f2"] = frame["f2"] * 1e30
    path = tmp_path / "huge.csv"
    frame.to_csv(path, index=False)
    result = run("train", path, "-o", tmp_path / "m", "--stream", *ARGS)
    assert result.exit_code == 2, result.stderr
    assert "values too large" in result.stderr and "'f2'" in result.stderr
    assert "Traceback" not in result.stderr


def test_time_budget_holds_for_streamed_input(parts, tmp_path):
    model = tmp_path / "m"
    args = ["--exclude", "id,label", "--epochs", "100000", "--seed", "3", "--max-time", "3s"]
    result = run("train", str(parts / "part*.csv"), "-o", model, *args)
    assert result.exit_code == 0, result.stderr
    meta = _meta(model)
    assert meta["data"]["streamed"] is True
    assert meta["training"]["ended_by"] == "max_time"
    assert meta["training"]["steps_run"] < meta["training"]["planned_steps"]
    assert "--max-time budget of 3s ended training" in result.stderr
    assert run("encode", model, parts / "all.csv").exit_code == 0


def test_input_too_large_for_memory_is_streamed_and_says_so(parts, tmp_path, monkeypatch):
    import aefeat.stream

    monkeypatch.setattr(aefeat.stream, "available_memory", lambda: 1000)  # bytes
    model = tmp_path / "m"
    args = ["--exclude", "id,label", "--epochs", "1", "--hidden", "4", "--seed", "0"]
    result = run("train", parts / "all.csv", "-o", model, *args)
    assert result.exit_code == 0, result.stderr
    assert "training streamed from disk" in result.stderr
    assert "would not fit in the memory available" in result.stderr
    assert _meta(model)["data"]["streamed"] is True


def test_memory_estimate_counts_compressed_inputs_as_their_text(parts, tmp_path):
    # A .csv.gz counted as its compressed size, so a gzip that expands past memory was loaded.
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    from aefeat.stream import COMPRESSION_RATIO, text_size

    text = (parts / "all.csv").read_bytes()
    packed = tmp_path / "all.csv.gz"
    packed.write_bytes(gzip.compress(text))
    assert text_size(str(packed)) >= len(text)
    assert text_size(str(packed)) >= COMPRESSION_RATIO * packed.stat().st_size
    assert text_size(str(parts / "all.csv")) == len(text)
    table = pa.table({f"c{j}": np.arange(1000.0) for j in range(5)})
    pq.write_table(table, tmp_path / "t.parquet")
    assert text_size(str(tmp_path / "t.parquet")) >= 1000 * 5 * 8


def test_streamed_batches_are_whole_across_passes(parts):
    # 900 rows in batches of 7 leave 4 over each pass: they start the next pass's first batch
    # instead of training as a short batch of their own, and no row is dropped.
    inp = ChunkedInput([str(parts / f"part{i}.csv") for i in range(3)], FEATURES)
    stats = first_pass(inp, "mean", 0, 100, latent_dim=2, validation_split=0.2)
    blocks = batch_generator(inp, stats.scaler, 0.0, 0, 7, True)()
    seen = []
    while sum(len(b) for b in seen) * 7 < 3 * 900:
        seen.append(next(blocks))
    assert {b.shape[1:] for b in seen} == {(7, len(FEATURES))}
    rows = np.concatenate(seen).reshape(-1, len(FEATURES))[: 3 * 900 - 6]
    _, counts = np.unique(rows, axis=0, return_counts=True)
    assert len(counts) == 900 and counts.min() >= 2


def test_an_unseeded_sampled_run_is_repeated_by_its_recorded_seed(parts, tmp_path):
    # The sample was drawn with seed 0 whatever seed the run drew and recorded, so the
    # recorded seed did not give the same model again.
    args = ["--exclude", "id,label", "--epochs", "2", "--hidden", "8", "--max-rows", "500", "-q"]
    first, again = tmp_path / "first", tmp_path / "again"
    assert run("train", str(parts / "part*.csv"), "-o", first, *args).exit_code == 0
    seed = _meta(first)["training"]["seed"]
    assert _meta(first)["config"]["seed"] == seed
    assert run("train", str(parts / "part*.csv"), "-o", again, *args, "--seed", seed).exit_code == 0
    with np.load(first / "weights.npz") as a, np.load(again / "weights.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_streamed_refusal_names_the_file_and_line_holding_the_bad_value(tmp_path):
    # It named the first three files ("p0.csv, p1.csv, p2.csv") whichever held the value.
    folder = tmp_path / "bad"
    folder.mkdir()
    for i in range(4):
        frame = make_frame(60, seed=i)
        if i == 3:
            frame.loc[[6, 9], "f2"] = np.nan
        frame.to_csv(folder / f"p{i}.csv", index=False)
    result = run("train", str(folder / "*.csv"), "-o", tmp_path / "m", *ARGS)
    assert result.exit_code == 2
    assert f"({folder / 'p3.csv'}, line 8, the first of them)" in result.stderr
    assert "p0.csv" not in result.stderr


def test_available_memory_respects_a_container_limit(tmp_path, monkeypatch):
    # In a container /proc/meminfo shows the host's memory; the cgroup limit is what is left.
    import aefeat.stream

    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    limit.write_text(f"{2**30}\n")
    usage.write_text(f"{2**29}\n")
    monkeypatch.setattr(aefeat.stream, "_CGROUP_FILES", ((str(limit), str(usage)),))
    assert aefeat.stream.available_memory() == 2**29
    limit.write_text("max\n")
    assert aefeat.stream.available_memory() > 2**29  # no limit: MemAvailable


def test_fit_files_refuses_a_pipe_it_would_read_again(tmp_path):
    # fit_files on /dev/stdin or <(cmd) read the pipe's rows once, then opened it again for
    # the next pass: "the file is empty" (drained), or, for a named FIFO, a wait for ever.
    from aefeat import AefeatError, AutoencoderTransformer

    text = make_frame(60)[FEATURES].to_csv(index=False).encode()
    with pipe_path(text) as pipe, pytest.raises(AefeatError) as info:
        AutoencoderTransformer(epochs=1, hidden=(4,)).fit_files([pipe], FEATURES)
    assert str(info.value) == (
        f"fit_files reads its files several times, which a pipe or stdin ({pipe}) cannot "
        "do (paths) — pass files, or read the data into memory and call fit()"
    )
