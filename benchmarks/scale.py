"""Scale-out (issue 14): the --dask scan with 1 and 2 workers, this machine's memory during
`train --dask`, and Spark local-mode encode throughput against `aefeat encode`.

Writes FILES CSVs of ROWS x 100 columns (plus an id), then:

1. times the scan behind `aefeat train --dask` (`aefeat.dask.scan_files`, one task per file,
   sample of 1,000,000 rows) on a LocalCluster of 1, then 2 worker processes, alternating, and
   prints the 2-worker / 1-worker time ratio (it must drop below 1 on a 2-core machine);
2. runs `aefeat train DIR --dask ADDRESS --max-rows SAMPLE --epochs 1` as a subprocess on half the
   files and on all of them, and prints its peak RSS (the workers are the cluster's processes,
   not the command's): memory follows the sample, not the data;
3. encodes one file with `aefeat encode FILE -o out.csv` and with `aefeat.spark.encode` in Spark
   local mode (read CSV, encode, write CSV), and prints rows/s of both.

Ratios come from one run (shared machines).

    python benchmarks/scale.py [--files 8] [--rows 250000] [--sample 200000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from encode_speed import run, write_data  # noqa: E402


def _cluster(n_workers: int):
    import logging

    from distributed import LocalCluster

    return LocalCluster(
        n_workers=n_workers,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--rows", type=int, default=250_000)
    ap.add_argument("--sample", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--skip-spark", action="store_true")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aefeat-scale-"))
    data = work / "data"
    half = work / "half"
    data.mkdir(parents=True, exist_ok=True)
    half.mkdir(exist_ok=True)
    for i in range(args.files):
        path = data / f"part-{i:02d}.csv"
        if not path.exists():
            print(f"writing {path} ({args.rows:,} rows)", flush=True)
            write_data(path, args.rows, seed=100 + i)
        if i < args.files // 2 and not (half / path.name).exists():
            os.link(path, half / path.name)
    files = sorted(str(p) for p in data.glob("*.csv"))
    features = [f"c{j}" for j in range(100)]
    total = args.files * args.rows

    # 1. the scan, 1 and 2 workers, alternating
    from aefeat.dask import scan_files

    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(args.repeats):
        for n_workers in (1, 2):
            with _cluster(n_workers) as cluster:
                started = time.perf_counter()
                scan = scan_files(
                    files, features, scheduler=cluster.scheduler_address, size=1_000_000, seed=0
                )
                times[n_workers].append(time.perf_counter() - started)
                assert scan.n_rows == total
    one, two = min(times[1]), min(times[2])
    print(f"scan of {args.files} files x {args.rows:,} rows x 100 columns (sample 1,000,000):")
    print(f"  1 worker  {one:6.1f} s   2 workers {two:6.1f} s   ratio 2/1 = {two / one:.2f}")

    # 2. this machine's peak memory during train --dask, on half the data and on all of it
    exe = str(Path(sys.executable).with_name("aefeat"))
    rss = {}
    with _cluster(2) as cluster:
        for label, folder in (("half", half), ("all", data)):
            cmd = [exe, "train", str(folder), "-o", str(work / "model"), "--exclude", "id"]
            cmd += ["--dask", cluster.scheduler_address, "--max-rows", str(args.sample)]
            cmd += ["--epochs", "1", "--latent-dim", "16", "--seed", "0", "-q"]
            seconds, rss[label] = run(cmd)
            rows = total // 2 if label == "half" else total
            print(
                f"train --dask --max-rows {args.sample:,} on {rows:>10,} rows: "
                f"peak RSS here {rss[label]:6.0f} MiB, {seconds:6.1f} s"
            )
    print(f"  peak RSS all / half the data = {rss['all'] / rss['half']:.2f}")

    if args.skip_spark:
        return
    # 3. Spark local mode against aefeat encode, one file
    one_file = files[0]
    seconds, _ = run(
        [exe, "encode", str(work / "model"), one_file, "--keep", "id", "-o", str(work / "a.csv")]
    )
    print(
        f"aefeat encode, {args.rows:,} rows: {seconds:6.1f} s, {args.rows / seconds:10,.0f} rows/s"
    )

    from pyspark.sql import SparkSession

    import aefeat.spark

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # local mode: nothing but loopback

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    out = work / "spark_out"
    best = float("inf")
    for _ in range(max(1, args.repeats)):
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        df = spark.read.csv(one_file, header=True, inferSchema=False, schema=_spark_schema())
        aefeat.spark.encode(df, work / "model", keep=["id"]).write.csv(str(out), header=True)
        best = min(best, time.perf_counter() - started)
    spark.stop()
    print(
        f"Spark local[2] encode, {args.rows:,} rows: {best:6.1f} s, {args.rows / best:10,.0f} rows/s"
    )
    print(f"  Spark time / aefeat encode time = {best / seconds:.2f}")


def _spark_schema() -> str:
    return ", ".join(["id string"] + [f"c{j} double" for j in range(100)])


if __name__ == "__main__":
    main()
