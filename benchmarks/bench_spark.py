"""Benchmark of ``--engine spark`` against the Polars engine, in the same run.

Writes ``--rows`` rows (default 2,000,000) × 8 numeric and 2 categorical columns as a Parquet
directory of 4 files, then times, for each engine: ``profile`` (edges placed from a sample of
the data: each engine its own sample), ``profile --bins-from`` (the counts over the Polars
profile's edges) and ``check-drift`` against the Polars profile (shifted current data).
Spark runs on ``local[2]`` in this process; its session start-up and first job are timed
apart. Checks that both engines give the same report (but for ``generated_at``), and that
Polars counting over the Spark profile's edges finds the Spark profile's counts.

Usage::

    python benchmarks/bench_spark.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

from stream_monitor.batch.drift import check_drift_sketched
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.config import ProfileSettings
from stream_monitor.profile import build_profile

N_NUMERIC = 8
FILES = 4


def _write(root: Path, name: str, rows: int, shift: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        f"x{i}": rng.normal(shift * (i % 2), 1.0 + i / 10, rows) for i in range(N_NUMERIC)
    }
    columns["colour"] = rng.choice(["red", "green", "blue", "teal"], rows)
    columns["grade"] = rng.choice([f"g{i}" for i in range(12)], rows)
    frame = pl.DataFrame(columns)
    directory = root / name
    directory.mkdir()
    step = rows // FILES
    for i in range(FILES):
        frame.slice(i * step, step).write_parquet(directory / f"part-{i}.parquet")
    frame.write_parquet(root / f"{name}.parquet")
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ref_dir = _write(root, "ref", args.rows, 0.0, 1)
        cur_dir = _write(root, "cur", args.rows, 0.2, 2)
        ref, cur = root / "ref.parquet", root / "cur.parquet"
        settings = ProfileSettings(multivariate=False)
        started = time.perf_counter()
        profile = build_profile(ref, settings)
        quantile_profile = time.perf_counter() - started

        drift_settings = DriftSettings(multivariate=False)
        from stream_monitor import check_drift

        started = time.perf_counter()
        build_profile(ref, settings, bins_from=profile)
        polars_profile = time.perf_counter() - started
        started = time.perf_counter()
        expected = check_drift(profile, cur, config=drift_settings).to_dict()
        polars_drift = time.perf_counter() - started

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        started = time.perf_counter()
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        start_up = time.perf_counter() - started
        from stream_monitor.spark.drift import SparkCurrent
        from stream_monitor.spark.profile import profile_spark

        # The first job starts the Python workers, which import stream-monitor and load its
        # kernels: timed apart, on 2,000 rows in 2 partitions, as a user's first job pays it.
        started = time.perf_counter()
        small = spark.read.parquet(str(ref_dir)).limit(2000).repartition(2)
        profile_spark(small, settings, source=str(ref), bins_from=profile)
        warm_up = time.perf_counter() - started
        started = time.perf_counter()
        sampled = profile_spark(
            spark.read.parquet(str(ref_dir)), settings, source=str(ref), bins_from=None
        )
        spark_sampled = time.perf_counter() - started
        started = time.perf_counter()
        profile_spark(
            spark.read.parquet(str(ref_dir)), settings, source=str(ref), bins_from=profile
        )
        spark_profile = time.perf_counter() - started
        started = time.perf_counter()
        result = check_drift_sketched(
            profile, SparkCurrent(spark.read.parquet(str(cur_dir)), str(cur)), drift_settings
        )
        spark_drift = time.perf_counter() - started
        spark.stop()
        got = result.to_dict()
        for report in (got, expected):
            del report["generated_at"]
        assert got == expected, "the engines' reports differ"
        recounted = build_profile(ref, settings, bins_from=sampled)
        for ours, theirs in zip(sampled.columns, recounted.columns, strict=True):
            assert ours.counts.tolist() == theirs.counts.tolist(), ours.name

    print(f"{args.rows:,} rows x {N_NUMERIC} numeric + 2 categorical columns, {FILES} files")
    print(f"Spark session start-up (local[2]): {start_up:.1f} s")
    print(f"Spark's first job, 2,000 rows (Python workers start): {warm_up:.1f} s")
    rows = [
        [
            "profile (edges from a sample)",
            f"{quantile_profile:.1f}",
            f"{spark_sampled:.1f}",
            f"{spark_sampled / quantile_profile:.1f}x",
        ],
        [
            "profile --bins-from",
            f"{polars_profile:.1f}",
            f"{spark_profile:.1f}",
            f"{spark_profile / polars_profile:.1f}x",
        ],
        [
            "check-drift (profile)",
            f"{polars_drift:.1f}",
            f"{spark_drift:.1f}",
            f"{spark_drift / polars_drift:.1f}x",
        ],
    ]
    print(table(["job", "polars s", "spark local[2] s", "spark / polars"], rows))
    print("reports identical: yes; Spark profile's counts = Polars's over its edges: yes")


if __name__ == "__main__":
    main()
