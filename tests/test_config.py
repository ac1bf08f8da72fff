"""The one parameter table (``aefeat.core.params``) and what is made from it: ``TrainConfig``, YAML
validation, the ``train`` options' help and the estimator's defaults and constraints."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import assert_user_error, run

from aefeat.core.config import TrainConfig, load_config_file, resolve_config
from aefeat.core.params import PARAMS
from aefeat.errors import AefeatError

ROOT = Path(__file__).resolve().parents[1]


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_train_config_fields_and_defaults_are_the_table():
    fields = dataclasses.fields(TrainConfig)
    assert [f.name for f in fields] == list(PARAMS.keys)
    config = TrainConfig()
    for p in PARAMS:
        assert getattr(config, p.name) == p.default, p.name
    # Mutable defaults are fresh per config.
    config.hidden.append(8)
    assert TrainConfig().hidden == [128, 64]


def test_default_yaml_documents_exactly_the_table_defaults():
    data = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    assert data == TrainConfig().to_dict()


def test_estimator_defaults_and_constraints_are_the_table():
    from aefeat import AutoencoderTransformer

    signature = inspect.signature(AutoencoderTransformer.__init__)
    names = [n for n in signature.parameters if n != "self"]
    assert set(names) == {p.estimator for p in PARAMS.estimator_params()}
    assert names[0] == "latent_dim" and names[-1] == "random_state"  # scikit-learn's habit
    for p in PARAMS.estimator_params():
        default = signature.parameters[p.estimator].default
        expected = tuple(p.default) if isinstance(p.default, list) else p.default
        assert default == expected, p.estimator
    assert set(AutoencoderTransformer._parameter_constraints) == set(names)
    # The CLI's resolved config gives the estimator exactly its parameters.
    assert TrainConfig().model_params() == AutoencoderTransformer().get_params()


def test_readme_options_table_matches_the_table():
    readme = (ROOT / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`") and cells[0].startswith("`-"):
            rows[cells[1].strip("`")] = (cells[0], cells[2])
    assert list(rows) == list(PARAMS.keys)
    for p in PARAMS:
        flags, default = rows[p.name]
        assert p.flag in flags and default == p.default_text(), p.name


def test_train_help_shows_the_table_help_and_defaults():
    result = run("train", "--help")
    assert result.exit_code == 0, result.stderr
    text = _squash(result.stdout)
    for p in PARAMS:
        assert p.flag in text, p.name
        assert _squash(f"{p.help} [default: {p.default_text()}]") in text, p.name
    assert (
        "[default: 2]" in text and "[default: 128,64]" in text and "[default: leaky_relu]" in text
    )


def test_yaml_accepts_a_fraction_for_latent_dim(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("latent_dim: 0.95\nhidden: 16\nseed: 3\n")
    assert load_config_file(path) == {"latent_dim": 0.95, "hidden": [16], "seed": 3}
    config = resolve_config(path, epochs=5)
    assert (config.latent_dim, config.hidden, config.seed, config.epochs) == (0.95, [16], 3, 5)
    assert config.model_params()["latent_dim"] == 0.95
    assert config.model_params()["random_state"] == 3


@pytest.mark.parametrize(
    "text, cli_words, python_words",
    [
        pytest.param(
            "latent_dim: 1.5\n",
            "invalid value 1.5 (key 'latent_dim' in",
            "latent_dim=1.5 must be an integer of at least 1 or a fraction strictly between 0 and 1",
            id="latent-dim-above-1",
        ),
        pytest.param(
            "seed: -4\n",
            "invalid value -4 (key 'seed' in",
            "seed=-4 must be an integer from 0 to 4294967295 or None",
            id="negative-seed",
        ),
        pytest.param(
            "epochs: ten\n",
            "invalid value 'ten' (key 'epochs' in",
            "epochs='ten' must be an integer of at least 0",
            id="text-epochs",
        ),
        pytest.param(
            "input_noise: -0.5\n",
            "invalid value -0.5 (key 'input_noise' in",
            "input_noise=-0.5 must be a number from 0 to 10",
            id="negative-input-noise",
        ),
    ],
)
def test_bad_yaml_values_are_refused_with_the_key(text, cli_words, python_words, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(AefeatError) as info:
        load_config_file(path)
    assert info.value.message.startswith(cli_words)
    assert str(info.value).startswith(python_words)


def test_yaml_list_keys_also_take_the_flags_comma_form(tmp_path):
    # `exclude: species` was refused ("use a list of column names"), and `hidden: none`, which
    # the README's table lists beside the key, too.
    path = tmp_path / "c.yaml"
    path.write_text('exclude: species\ncolumns: "a,\\"b,c\\""\nhidden: 16,8\n')
    assert load_config_file(path) == {
        "exclude": ["species"],
        "columns": ["a", "b,c"],
        "hidden": [16, 8],
    }
    path.write_text("hidden: none\n")
    assert load_config_file(path) == {"hidden": []}


def test_yaml_reads_exponents_as_numbers_and_refuses_a_key_given_twice(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("validation_split: 1e-1\nlearning_rate: 3E-3\n")
    assert load_config_file(path) == {"validation_split": 0.1, "learning_rate": 0.003}
    path.write_text("epochs: 3\nseed: 1\nepochs: 4\n")
    with pytest.raises(AefeatError) as info:
        load_config_file(path)
    assert info.value.message == (
        f"key 'epochs' is given twice ({path}, line 3) — keep one of them"
    )


def test_unknown_yaml_key_lists_the_table_keys(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("latent_dims: 3\n")
    with pytest.raises(AefeatError, match="unknown key 'latent_dims'") as info:
        load_config_file(path)
    assert "valid keys are " + ", ".join(PARAMS.keys) in info.value.message


def test_yaml_names_read_as_numbers_or_booleans_are_refused_as_written(tmp_path):
    # YAML 1.1 reads 0 as a number and no as False: they said "invalid value [0, False]", and
    # False cannot be told from false or off, so they are refused, quoted as written.
    path = tmp_path / "cfg.yaml"
    for text, words in [
        (
            "exclude: [0, no, id]\n",
            "column names in exclude must be strings: YAML reads 0 as a number, no as a "
            f"boolean (key 'exclude' in {path}) — quote them: exclude: ['0', 'no', 'id']",
        ),
        (
            "columns: off\n",
            "column names in columns must be strings: YAML reads off as a boolean (key "
            f"'columns' in {path}) — quote it: columns: ['off']",
        ),
    ]:
        path.write_text(text)
        with pytest.raises(AefeatError) as info:
            load_config_file(path)
        assert info.value.message == words
    path.write_text("exclude: ['0', 'no']\ncolumns: \"1,2,3\"\n")
    assert load_config_file(path) == {"exclude": ["0", "no"], "columns": ["1", "2", "3"]}


def test_config_values_checked_without_data_are_named_by_their_key(tmp_path):
    # encoding said "(--encoding)", a flag the user did not type; columns likewise.
    path = tmp_path / "cfg.yaml"
    path.write_text("encoding: nonsense\n")
    with pytest.raises(AefeatError) as info:
        load_config_file(path)
    assert info.value.message == (
        f"unknown encoding 'nonsense' (key 'encoding' in {path}) — use a name such as utf-8 "
        "or latin-1"
    )
    path.write_text("columns: [a, b, a]\n")
    with pytest.raises(AefeatError) as info:
        load_config_file(path)
    assert info.value.message == (
        f"column 'a' is named twice (key 'columns' in {path}) — name each column once"
    )
    path.write_text("encoding: Latin-1\n")
    assert load_config_file(path) == {"encoding": "Latin-1"}


def test_config_values_checked_against_the_data_are_named_by_their_key(tmp_path, csv_path):
    # A missing column, a latent size above the column count and too few rows named the flags
    # (--exclude, --latent-dim), which the user had not typed: the values came from the file.
    path = tmp_path / "cfg.yaml"
    out = tmp_path / "m"
    path.write_text("exclude: [id, label, nope]\n")
    result = run("train", csv_path, "-o", out, "--config", path)
    assert_user_error(result, f"column 'nope' not found (key 'exclude' in {path}, {csv_path})")
    path.write_text("exclude: [id, label]\nlatent_dim: 9\n")
    result = run("train", csv_path, "-o", out, "--config", path)
    assert_user_error(result, f"invalid value 9 (key 'latent_dim' in {path}) — use at most 6")
    # A flag wins over the file, and is named as typed.
    result = run("train", csv_path, "-o", out, "--config", path, "--latent-dim", "8")
    assert_user_error(result, "invalid value 8 (--latent-dim) — use at most 6")
    few = tmp_path / "few.csv"
    few.write_text("a,b,c\n1,2,3\n4,5,7\n2,2,2\n")
    path.write_text("validation_split: 0.5\n")
    result = run("train", few, "-o", out, "--config", path, "--latent-dim", "2")
    assert_user_error(
        result, f"({few}, --latent-dim 2, validation_split: 0.5 in {path}) — add rows"
    )
    assert not out.exists()


def test_unreadable_config_files_say_what_to_do(tmp_path):
    # Said "cannot read config file: [Errno 21] Is a directory: ..." and the codec's message.
    with pytest.raises(AefeatError) as info:
        load_config_file(tmp_path)
    assert info.value.message == (
        f"config file is a directory ({tmp_path}) — pass a YAML file to --config"
    )
    path = tmp_path / "cfg.yaml"
    path.write_bytes("seed: 1\nexclude: [caf\xe9]\n".encode("latin-1"))
    with pytest.raises(AefeatError) as info:
        load_config_file(path)
    assert info.value.message == (
        f"config file is not UTF-8 text: byte 0xe9 ({path}, line 2) — save it as UTF-8"
    )


def test_one_error_two_wordings():
    """Where the error is shown decides the words: a flag on the command line, the Python name
    (``random_state`` for the estimator's seed) in Python."""
    with pytest.raises(AefeatError) as info:
        PARAMS.check("random_state", 2**32)
    error = info.value
    assert (error.param, error.got) == ("random_state", 2**32)
    assert error.message == (
        "invalid value 4294967296 (--seed) — use an integer from 0 to 4294967295, or leave it out"
    )
    assert str(error) == (
        "random_state=4294967296 must be an integer from 0 to 4294967295 or a "
        "numpy.random.RandomState or None; got 4294967296"
    )
    assert isinstance(error, ValueError)


def test_table_module_imports_nothing_heavy():
    code = (
        "import sys; import aefeat.core.params, aefeat.core.config, aefeat.errors\n"
        "print(sorted(m for m in ('sklearn', 'tensorflow', 'keras', 'pandas', 'yaml')"
        " if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_a_yaml_value_starting_with_a_comma_is_told_to_be_quoted(tmp_path, csv_path):
    # `decimal: ,` got only "fix the YAML syntax".
    path = tmp_path / "cfg.yaml"
    path.write_text("latent_dim: 2\ndecimal: ,\n")
    result = run("train", csv_path, "-o", tmp_path / "m", "--config", path)
    assert_user_error(
        result, f"config file is not valid YAML ({path}, line 2) — quote the value: decimal: ','"
    )
