"""--decimal ',': a decimal-comma locale's export (fields separated by ';', numbers as 3,14) is
read as the same numbers written with points, by train, encode, inspect and the Python API."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import FEATURES, assert_user_error, ok, run

from aefeat import AutoencoderTransformer


@pytest.fixture(scope="module")
def comma_csv(tmp_path_factory, frame):
    """The shared tiny table as a German spreadsheet writes it: ';' between fields, ',' decimals."""
    path = tmp_path_factory.mktemp("comma") / "komma.csv"
    frame.to_csv(path, index=False, sep=";", decimal=",")
    text = path.read_text()
    assert "," in text.splitlines()[1] and "." not in text.splitlines()[1]
    return path


def _train(tmp_path, data, *extra):
    out = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
    ok("train", data, "-o", out, "--exclude", "id,label", "--epochs", "2", "--hidden", "8",
       "--seed", "3", "--quiet", *extra)  # fmt: skip
    return out


def test_train_encode_and_inspect_read_decimal_commas_as_numbers(tmp_path, csv_path, comma_csv):
    points = _train(tmp_path, csv_path)
    commas = _train(tmp_path, comma_csv, "-d", ";", "--decimal", ",")
    # The same numbers: the same scaling, hence the same trained model, hence the same codes.
    plain = ok("encode", points, csv_path, "--keep", "id")
    from_commas = ok("encode", commas, comma_csv, "-d", ";", "--decimal", ",", "--keep", "id")
    # Output is in the input's delimiter, with decimal points.
    assert from_commas == plain.replace(",", ";")
    meta = json.loads((commas / "metadata.json").read_text())
    assert meta["config"]["decimal"] == ","
    report = json.loads(
        ok("inspect", commas, "--data", comma_csv, "-d", ";", "--decimal", ",", "--json")
    )
    expected = json.loads(ok("inspect", points, "--data", csv_path, "--json"))
    measured = ("rows", "reconstruction_mse", "feature_r2", "attribution", "signed_correlation")
    assert {k: report[k] for k in measured} == {k: expected[k] for k in measured}


def test_decimal_from_a_config_file_and_streamed(tmp_path, csv_path, comma_csv):
    config = tmp_path / "komma.yaml"
    config.write_text(yaml.safe_dump({"delimiter": ";", "decimal": ","}))
    streamed = _train(tmp_path, comma_csv, "--config", config, "--stream")
    points = _train(tmp_path, csv_path, "--stream")
    assert ok("encode", streamed, csv_path) == ok("encode", points, csv_path)


def test_the_python_api_reads_decimal_commas_from_files(csv_path, comma_csv):
    def fit(path, **fmt):
        est = AutoencoderTransformer(hidden=(8,), epochs=2, random_state=3)
        return est.fit_files([str(path)], FEATURES, **fmt)

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(5, len(FEATURES))), columns=FEATURES)
    a = fit(comma_csv, delimiter=";", decimal=",").transform(X)
    b = fit(csv_path).transform(X)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="holds decimal commas.* — pass decimal=','$"):
        fit(comma_csv, delimiter=";")


def _reading(command, tmp_path, model_dir, data):
    """The arguments of ``command`` reading ``data`` (train writes into ``tmp_path / "m"``)."""
    return {
        "train": ("train", data, "-o", tmp_path / "m"),
        "encode": ("encode", model_dir, data),
        "inspect": ("inspect", model_dir, "--data", data),
    }[command]


@pytest.mark.parametrize("command", ["train", "encode", "inspect"])
def test_a_decimal_comma_needs_another_delimiter(tmp_path, model_dir, comma_csv, command):
    result = run(*_reading(command, tmp_path, model_dir, comma_csv), "--decimal", ",")
    assert_user_error(result, "both ','", "--decimal", "--delimiter ';'")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("command", ["train", "encode"])
def test_a_decimal_mark_other_than_point_or_comma_is_refused(
    tmp_path, model_dir, csv_path, command
):
    args = {
        "train": ("train", csv_path, "-o", tmp_path / "m"),
        "encode": ("encode", model_dir, csv_path),
    }[command]
    assert_user_error(run(*args, "--decimal", "'"), "--decimal", "','")


@pytest.mark.parametrize(
    "cell, words",
    [
        (
            "3.25",
            (
                "holds a number with a decimal point, but the decimal mark is ','",
                "use --decimal '.' if",
            ),
        ),
        ("1.234,5", ("holds numbers with thousands separators", "1.234.567,5 -> 1234567,5")),
        ("1.234.567", ("holds numbers with thousands separators",)),
    ],
)
def test_with_decimal_comma_a_point_is_named(tmp_path, cell, words):
    path = tmp_path / "d.csv"
    path.write_text(f"a;b\n1;0,5\n2;{cell}\n")
    result = run("train", path, "-o", tmp_path / "m", "-d", ";", "--decimal", ",")
    assert_user_error(result, "column 'b' ", "d.csv, line 3: '", *words)


def test_a_decimal_comma_export_is_refused_with_both_flags_to_pass(tmp_path, comma_csv):
    result = run("train", comma_csv, "-o", tmp_path / "m")
    assert_user_error(result, "only one column found", "use --delimiter ';' --decimal ','")
    result = run("train", comma_csv, "-o", tmp_path / "m", "-d", ";")
    # The id column failed first: the numbers beside it were called text.
    assert_user_error(
        result,
        "columns 'f0', 'f1', 'f2', 'f3', 'f4', 'f5' hold decimal commas, and 'id', 'label' text",
        "pass --decimal ',' and exclude the text with --exclude id,label",
    )
    points = tmp_path / "points.csv"
    points.write_text("a;b\n1.5;2\n2.5;3\n")
    result = run("train", points, "-o", tmp_path / "m")
    assert_user_error(result, "use --delimiter ';'\n")


def test_fit_files_names_a_bad_decimal_as_its_parameter(csv_path):
    with pytest.raises(ValueError) as info:
        AutoencoderTransformer(epochs=1).fit_files([str(csv_path)], FEATURES, decimal=";")
    assert str(info.value) == "decimal=';' must be one of '.', ','; got ';'"


def test_fit_files_names_a_decimal_comma_beside_a_comma_delimiter_by_its_parameters(comma_csv):
    with pytest.raises(ValueError) as info:
        AutoencoderTransformer(epochs=1).fit_files([str(comma_csv)], FEATURES, decimal=",")
    message = str(info.value)
    assert "both ','" in message and "(decimal)" in message and "delimiter=';'" in message
    assert "--" not in message


def test_a_numeric_label_with_decimal_commas_is_coloured_on_a_scale(
    tmp_path, model_dir, frame, monkeypatch
):
    # A label column that is not a feature is read as text: '0,53' was not a number to the
    # plot, so 240 distinct values were drawn as 20 categories and grey.
    from aefeat.cli import plots

    path = tmp_path / "komma.csv"
    frame.assign(label=frame["f0"]).to_csv(path, index=False, sep=";", decimal=",")
    seen = {}
    monkeypatch.setattr(plots, "write_inspection_plot", lambda *args: seen.update(labels=args[4]))
    ok("inspect", model_dir, "--data", path, "-d", ";", "--decimal", ",", "--label", "label",
       "--plot", tmp_path / "p.png")  # fmt: skip
    assert plots.label_colours(seen["labels"]).kind == "continuous"
    assert seen["labels"][0] == f"{frame['f0'][0]}"


@pytest.mark.parametrize("command", ["train", "encode", "inspect"])
@pytest.mark.parametrize(
    "flags, words",
    [
        (("-d", ";", "--decimal", ""), "invalid value '' (--decimal) — use one of '.', ','"),
        (("-d", ""), "invalid value '' (--delimiter) — use a single character"),
        (("-d", ";", "--encoding", ""), " '' (--encoding) — use "),
    ],
)
def test_an_empty_format_option_is_refused_by_every_command(
    tmp_path, model_dir, comma_csv, command, flags, words
):
    # encode and inspect read --decimal '' (an unset shell variable) as '.', and then said
    # "pass --decimal ','" to a user who had; -d '' and --encoding '' as the defaults.
    result = run(*_reading(command, tmp_path, model_dir, comma_csv), *flags)
    assert_user_error(result, words)


def test_a_comma_separated_file_read_with_decimal_comma_is_not_sent_round_in_circles(tmp_path):
    # The hint was "use --delimiter ','", which with --decimal ',' is refused with "pass it
    # with --delimiter, e.g. --delimiter ';'", which gave the first hint again.
    path = tmp_path / "points.csv"
    path.write_text("a,b\n1.5,2.5\n3.5,4.5\n")
    result = run("train", path, "-o", tmp_path / "m", "-d", ";", "--decimal", ",")
    assert_user_error(result, "only one column found", "use --delimiter ',' --decimal '.'")
    with pytest.raises(ValueError, match="pass delimiter=',', decimal='.'$"):
        AutoencoderTransformer(epochs=1).fit_files([path], ["a", "b"], delimiter=";", decimal=",")


def test_a_point_as_the_field_separator_is_still_read_without_decimal(tmp_path):
    # -d . (integers between points) was refused as "the decimal mark and the field separator
    # are both '.' (--decimal)" with a hint about decimal commas, to a user who gave no
    # --decimal; it was read before --decimal existed.
    path = tmp_path / "dots.csv"
    path.write_text("a.b.c\n1.2.3\n4.5.7\n7.8.8\n2.1.0\n5.5.5\n")
    model = tmp_path / "m"
    ok("train", path, "-o", model, "-d", ".", "--epochs", "1", "--hidden", "none", "-q")
    report = json.loads(ok("inspect", model, "--data", path, "-d", ".", "--json"))
    assert report["data"]["rows"] == 5
