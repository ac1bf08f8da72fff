"""Issue #3, security: loading a model never runs code from the model directory, and paths and
column names from data are treated as data (no shell, no eval, no format strings, no markup)."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ok, run

import aefeat
from aefeat.errors import AefeatError
from aefeat.modeldir import load_keras_model

PACKAGE = Path(aefeat.__file__).resolve().parent


def _evil_encoder(path: Path, marker: Path) -> None:
    """A Keras file whose Lambda layer writes ``marker`` whenever the model is run."""
    import keras

    # A real Python lambda (Keras stores its bytecode) with the marker path as a constant.
    source = f"lambda x: (open({str(marker)!r}, 'w').close(), x[:, :2])[1]"
    writes_marker = eval(compile(source, "<evil>", "eval"))
    inputs = keras.Input((6,), name="features")
    outputs = keras.layers.Lambda(writes_marker, output_shape=(2,), name="evil")(inputs)
    keras.Model(inputs, outputs).save(path)


def _refused(result, *words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def test_model_with_code_in_a_lambda_layer_is_never_run(model_dir, csv_path, tmp_path):
    evil_dir = tmp_path / "evil_model"
    shutil.copytree(model_dir, evil_dir)
    marker = tmp_path / "PWNED"
    _evil_encoder(evil_dir / "encoder.keras", marker)
    assert not marker.exists()

    # (a) The replaced file no longer matches metadata.json: refused before anything is loaded.
    _refused(run("encode", evil_dir, csv_path), "encoder.keras", "sha256", "refusing")
    _refused(run("inspect", evil_dir), "encoder.keras", "sha256")
    _refused(run("inspect", evil_dir, "--data", csv_path, "--json"), "sha256")
    with pytest.raises(AefeatError, match="sha256"):
        load_keras_model(evil_dir, "encoder.keras")
    assert not marker.exists()

    # (b) Someone also updated the sha256: encode and inspect still never deserialise Keras
    # files (they run weights.npz in NumPy), and aefeat's loader uses Keras' safe mode.
    meta = json.loads((evil_dir / "metadata.json").read_text())
    digest = hashlib.sha256((evil_dir / "encoder.keras").read_bytes()).hexdigest()
    meta["files"]["encoder.keras"] = digest
    (evil_dir / "metadata.json").write_text(json.dumps(meta))
    encoded = run("encode", evil_dir, csv_path)
    assert encoded.exit_code == 0, encoded.stderr
    assert encoded.stdout == ok("encode", model_dir, csv_path)
    inspected = run("inspect", evil_dir, "--data", csv_path, "--json")
    assert inspected.exit_code == 0, inspected.stderr
    with pytest.raises(AefeatError, match="Lambda"):
        load_keras_model(evil_dir, "encoder.keras")
    assert not marker.exists()

    # Control: the file really is dangerous when loaded unsafely and run.
    import keras

    unsafe = keras.models.load_model(evil_dir / "encoder.keras", safe_mode=False)
    unsafe(np.zeros((1, 6), dtype="float32"))
    assert marker.exists()


def test_encode_and_inspect_never_import_keras(model_dir, csv_path):
    """encode and inspect run the network from weights.npz; TensorFlow/Keras are not even imported."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from aefeat.cli.app import app\n"
        f"model, data = {str(model_dir)!r}, {str(csv_path)!r}\n"
        "for args in (['encode', model, data], ['inspect', model, '--data', data, '--json']):\n"
        "    r = CliRunner().invoke(app, args)\n"
        "    assert r.exit_code == 0, r.stderr\n"
        "bad = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_config_file_cannot_run_code(csv_path, tmp_path):
    marker = tmp_path / "PWNED"
    config = tmp_path / "evil.yaml"
    config.write_text(f'!!python/object/apply:builtins.open ["{marker}", "w"]\n')
    out = tmp_path / "m"
    _refused(run("train", csv_path, "-o", out, "--config", config), "not valid YAML")
    assert not marker.exists() and not out.exists()


# --- static guarantees over aefeat's own source --------------------------------------------------

FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}
FORBIDDEN_MODULES |= {"subprocess", "pty"}
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_OS = ("os.system", "os.popen", "os.exec", "os.spawn", "os.posix_spawn")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + "." + node.attr
    return ""


def _keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return "<absent>"


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        found += [f"{where}: imports {n}" for n in names if n in FORBIDDEN_MODULES]
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        if name in FORBIDDEN_BUILTINS or name.startswith(FORBIDDEN_OS) or "pickle" in last:
            found.append(f"{where}: calls {name}")
        if _keyword(node, "shell") is True:
            found.append(f"{where}: shell=True")
        if name in ("np.load", "numpy.load") and _keyword(node, "allow_pickle") is not False:
            found.append(f"{where}: np.load without allow_pickle=False")
        if last in ("load_model", "load_weights") and name.startswith("keras"):
            if _keyword(node, "safe_mode") is not True:
                found.append(f"{where}: {name} without safe_mode=True")
        if name.endswith("enable_unsafe_deserialization"):
            found.append(f"{where}: {name}")
        if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load"):
            found.append(f"{where}: {name} (use yaml.safe_load)")
        if last == "format" and not isinstance(node.func.value, ast.Constant):
            found.append(f"{where}: str.format on a non-literal template")
    return found


def test_source_has_no_code_execution_paths():
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 10
    problems = [p for f in files for p in _problems(f)]
    assert problems == []


# --- names and paths from users are data -------------------------------------------------------

WEIRD_NAMES = [
    "$(touch PWNED)",
    "`touch PWNED`; rm -rf /tmp/x",
    "{0}{__class__}",
    "%s%n%x",
    "[/bold]",
    "[red]x[/red]",
    "__import__('os').system('touch PWNED')",
    "$x^{$",
]


@pytest.fixture(scope="module")
def weird_model(tmp_path_factory):
    base = tmp_path_factory.mktemp("weird") / "dir $(touch PWNED) [x] {0}"
    base.mkdir()
    rng = np.random.default_rng(1)
    t = rng.uniform(-1, 1, 60)
    X = np.column_stack([t, t**2, -t, np.cos(t), t**3, 2 * t, np.sin(t), 1 - t])
    frame = pd.DataFrame(X + 0.01 * rng.normal(size=X.shape), columns=WEIRD_NAMES)
    frame.insert(0, "id; rm -rf ~", [f"r{i}; $(touch PWNED)" for i in range(60)])
    path = base / "data {0} %s.csv"
    frame.to_csv(path, index=False)
    model = base / "model [x] $HOME"
    result = run(
        "train", path, "-o", model, "--exclude", "id; rm -rf ~", "--epochs", "1", "--hidden", "4",
        "--seed", "0", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return base, path, model, frame


def test_weird_names_and_paths_are_data(weird_model, tmp_path, monkeypatch):
    base, path, model, frame = weird_model
    monkeypatch.chdir(tmp_path)  # where a shell would have created PWNED
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["input_columns"] == WEIRD_NAMES

    out = base / "out {0}.csv"
    encoded = run("encode", model, path, "--keep", "id; rm -rf ~", "-o", out)
    assert encoded.exit_code == 0, encoded.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["id; rm -rf ~", "z0", "z1"]
    assert table["id; rm -rf ~"].tolist() == frame["id; rm -rf ~"].tolist()

    report = run("inspect", model, "--data", path, "--json")
    assert report.exit_code == 0, report.stderr
    assert [c["name"] for c in json.loads(report.stdout)["input_columns"]] == WEIRD_NAMES

    text = run("inspect", model, "--data", path, "--plot", base / "plot [x].png")
    assert text.exit_code == 0, text.stderr
    for name in ("[/bold]", "[red]x[/red]", "{0}{__class__}", "%s%n%x", "model [x] $HOME"):
        assert name in text.stdout, name
    assert (base / "plot [x].png").read_bytes().startswith(b"\x89PNG")

    assert not list(tmp_path.rglob("PWNED")) and not list(base.rglob("PWNED"))


def test_error_messages_quote_values_verbatim(tmp_path):
    """A value with braces, percent signs and a newline comes back literally, on one line."""
    path = tmp_path / "x.csv"
    path.write_text('a,b,c\n1,2,3\n4,"{0}%s\n$(x)",6\n')
    result = run("train", path, "-o", tmp_path / "m")
    _refused(result, "column 'b' is not numeric", "line 3", "{0}%s")
    out = io.StringIO(result.stderr)
    assert len(out.readlines()) == 1


def test_a_model_retrained_in_place_is_never_mixed_with_the_old_one(model_dir, tmp_path):
    """train swaps whole model directories into place; a load running meanwhile must see one
    model or the other, whole (never one's metadata with the other's weights or sample)."""
    import threading

    from conftest import make_frame

    from aefeat.io.sinks import atomic_dir
    from aefeat.modeldir import load_model_dir, replaceable_model_dir

    other_csv = tmp_path / "other.csv"
    make_frame(seed=1).to_csv(other_csv, index=False)
    other = tmp_path / "other_model"
    ok("train", other_csv, "-o", other, "--exclude", "id,label", "--epochs", "1",
       "--hidden", "16,8", "--seed", "1", "--quiet")  # fmt: skip
    versions = {}
    for src in (model_dir, other):
        md = load_model_dir(src)
        versions[md.metadata["files"]["weights.npz"]] = (md.network.weights, md.sample())
    assert len(versions) == 2

    live = tmp_path / "live"
    shutil.copytree(model_dir, live)
    stop = threading.Event()

    def retrain_again_and_again():
        n = 0
        while not stop.is_set():
            n += 1
            with atomic_dir(live, replaceable_model_dir) as tmp:
                for f in (other if n % 2 else model_dir).iterdir():
                    shutil.copy(f, tmp / f.name)

    swapper = threading.Thread(target=retrain_again_and_again)
    swapper.start()
    try:
        for _ in range(150):
            md = load_model_dir(live)
            weights, sample = versions[md.metadata["files"]["weights.npz"]]
            for key, w in weights.items():
                np.testing.assert_array_equal(md.network.weights[key], w)
            np.testing.assert_array_equal(md.sample(), sample)
    finally:
        stop.set()
        swapper.join()
