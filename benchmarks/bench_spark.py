"""Benchmark of ``--engine spark`` against the Polars engine, in the same run.

Writes ``--rows`` rows (default 2,000,000) × 8 numeric and 2 categorical columns as a Parquet
directory of 4 files, then times, for each engine: ``profile`` (edges placed from a sample of
the data: each engine its own sample), ``profile --bins-from`` (the counts over the Polars
profile's edges) and ``check-drift`` against the Polars profile (shifted current data).
Each job runs twice: with the multivariate drift off, then on (the PCA reconstruction: one
more pass over the reference to draw the rows it is fitted on, and the current rows' errors
in check-drift). Spark runs on ``local[2]`` in this process; its session start-up and first
job are timed apart. Checks that both engines give the same report (but for
``generated_at``), and that Polars counting over the Spark profile's edges finds the Spark
profile's counts.

Usage::

    python benchmarks/bench_spark.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

from stream_monitor.batch.drift import check_drift_sketched
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.config import ProfileSettings
from stream_monitor.profile import build_profile
from stream_monitor.profile.model import Profile

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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


@dataclass
class Timings:
    """One engine's seconds for each job, and what the jobs made."""

    sampled: float
    counted: float
    drift: float
    profile: Profile
    report: dict[str, Any]


def _polars_jobs(ref: Path, cur: Path, multivariate: bool) -> Timings:
    settings = ProfileSettings(multivariate=multivariate)
    drift_settings = DriftSettings(multivariate=multivariate)
    from stream_monitor import check_drift

    started = time.perf_counter()
    profile = build_profile(ref, settings)
    sampled = time.perf_counter() - started
    started = time.perf_counter()
    build_profile(ref, settings, bins_from=profile)
    counted = time.perf_counter() - started
    started = time.perf_counter()
    report = check_drift(profile, cur, config=drift_settings).to_dict()
    drift = time.perf_counter() - started
    return Timings(sampled, counted, drift, profile, report)


def _spark_jobs(
    spark: SparkSession, dirs: tuple[Path, Path], names: tuple[Path, Path], polars: Profile
) -> Timings:
    """The same jobs on Spark; check-drift against the Polars profile (so the reports
    compare)."""
    from stream_monitor.spark.drift import SparkCurrent
    from stream_monitor.spark.profile import profile_spark

    multivariate = polars.reconstruction is not None
    settings = ProfileSettings(multivariate=multivariate)
    (ref_dir, cur_dir), (ref, cur) = dirs, names
    started = time.perf_counter()
    sampled_profile = profile_spark(
        spark.read.parquet(str(ref_dir)), settings, source=str(ref), bins_from=None
    )
    sampled = time.perf_counter() - started
    started = time.perf_counter()
    profile_spark(spark.read.parquet(str(ref_dir)), settings, source=str(ref), bins_from=polars)
    counted = time.perf_counter() - started
    started = time.perf_counter()
    result = check_drift_sketched(
        polars,
        SparkCurrent(spark.read.parquet(str(cur_dir)), str(cur)),
        DriftSettings(multivariate=multivariate),
    )
    drift = time.perf_counter() - started
    return Timings(sampled, counted, drift, sampled_profile, result.to_dict())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    print(machine())
    runs: dict[bool, tuple[Timings, Timings]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dirs = (_write(root, "ref", args.rows, 0.0, 1), _write(root, "cur", args.rows, 0.2, 2))
        ref, cur = root / "ref.parquet", root / "cur.parquet"
        polars = {mv: _polars_jobs(ref, cur, mv) for mv in (False, True)}

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
        from stream_monitor.spark.profile import profile_spark

        # The first job starts the Python workers, which import stream-monitor and load its
        # kernels: timed apart, on 2,000 rows in 2 partitions, as a user's first job pays it.
        started = time.perf_counter()
        small = spark.read.parquet(str(dirs[0])).limit(2000).repartition(2)
        profile_spark(small, ProfileSettings(), source=str(ref), bins_from=polars[True].profile)
        warm_up = time.perf_counter() - started
        for mv in (False, True):
            theirs = _spark_jobs(spark, dirs, (ref, cur), polars[mv].profile)
            runs[mv] = (polars[mv], theirs)
        spark.stop()
        for ours, theirs in runs.values():
            for report in (ours.report, theirs.report):
                del report["generated_at"]
            assert theirs.report == ours.report, "the engines' reports differ"
            sampled = theirs.profile
            recounted = build_profile(ref, ProfileSettings(multivariate=False), bins_from=sampled)
            for spark_column, column in zip(sampled.columns, recounted.columns, strict=True):
                assert spark_column.counts.tolist() == column.counts.tolist(), column.name
        assert runs[True][1].profile.reconstruction is not None

    print(f"{args.rows:,} rows x {N_NUMERIC} numeric + 2 categorical columns, {FILES} files")
    print(f"Spark session start-up (local[2]): {start_up:.1f} s")
    print(f"Spark's first job, 2,000 rows (Python workers start): {warm_up:.1f} s")
    rows = []
    for job, key in (
        ("profile (edges from a sample)", "sampled"),
        ("profile --bins-from", "counted"),
        ("check-drift (profile)", "drift"),
    ):
        for mv in (False, True):
            ours, theirs = (getattr(t, key) for t in runs[mv])
            rows.append(
                [
                    f"{job}, multivariate {'on' if mv else 'off'}",
                    f"{ours:.1f}",
                    f"{theirs:.1f}",
                    f"{theirs / ours:.1f}x",
                ]
            )
    print(table(["job", "polars s", "spark local[2] s", "spark / polars"], rows))
    print(
        "reports identical (multivariate off and on): yes; "
        "Spark profile's counts = Polars's over its edges: yes"
    )


if __name__ == "__main__":
    main()
