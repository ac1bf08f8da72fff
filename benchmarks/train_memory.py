"""Peak memory of training on files larger than memory (issue 7).

Writes CSVs of 200,000 and 2,000,000 rows x 100 columns (plus an id), then runs, as
subprocesses, ``aefeat train FILE --stream --epochs 1 --latent-dim 16`` on each and prints peak
RSS and wall time, and their ratio (target: 2M rows within 1.5x of 200k rows). For reference it
also runs the in-memory path (--no-stream) on the 200k-row file.

    python benchmarks/train_memory.py [--small 200000] [--big 2000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from encode_speed import run, write_data  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=200_000)
    ap.add_argument("--big", type=int, default=2_000_000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aefeat-train-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).with_name("aefeat"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    files = {}
    for label, rows in (("small", args.small), ("big", args.big)):
        path = work / f"train_{rows}.csv"
        if not path.exists():
            print(f"writing {path} ({rows:,} rows)", flush=True)
            write_data(path, rows, seed=1)
        files[label] = (path, rows)

    def train(path: Path, *flags: str) -> tuple[float, float]:
        cmd = [exe, "train", str(path), "-o", str(work / "model"), "--exclude", "id"]
        cmd += ["--latent-dim", "16", "--epochs", str(args.epochs), "--seed", "0", "-q", *flags]
        return run(cmd, env=env)

    results = {}
    for label, (path, rows) in files.items():
        seconds, rss = train(path, "--stream")
        results[label] = rss
        print(f"--stream   {rows:>9,} rows: peak RSS {rss:7.0f} MiB, {seconds:6.1f} s", flush=True)
    seconds, rss = train(files["small"][0], "--no-stream")
    print(
        f"--no-stream {args.small:>8,} rows: peak RSS {rss:7.0f} MiB, {seconds:6.1f} s (reference)"
    )
    print(
        f"\npeak RSS {args.big:,} / {args.small:,} rows = {results['big'] / results['small']:.2f}  (target <= 1.5)"
    )


if __name__ == "__main__":
    main()
