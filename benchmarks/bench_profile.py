"""Benchmark of ``stream-monitor profile``: rows per second and peak memory.

Writes a Parquet file of ``--rows`` rows (default 10,000,000) × 20 numeric and 2 categorical
columns to a temporary directory (snappy, row groups of 1,000,000 rows: pyarrow's defaults),
then profiles it in a fresh child process, so that generating the data does not count in the
peak memory. Each run is a fresh process: the time includes loading the cached Numba kernels, and
the peak RSS includes the interpreter and its libraries (printed separately).

Two figures are printed beside it:

- a baseline measured in the same run: one Polars read of the same file into memory;
- whylogs, the tool this replaces: measured here if ``import whylogs`` works (on the first
  1,000,000 rows), otherwise the figure from the issue, labelled as not measured here.

Usage::

    python benchmarks/bench_profile.py [--rows N] [--repeat R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_NUMERIC = 20
N_CATEGORICAL = 2
ROW_GROUP = 1_000_000

# From the issue: whylogs profiles 1M rows × 22 columns at about 47k rows/s on this machine.
WHYLOGS_ISSUE_ROWS_PER_S = 47_000.0
WHYLOGS_ROWS = 1_000_000


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` rows of 20 numeric and 2 string columns, with some nulls, to ``path``."""
    import numpy as np
    import polars as pl
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    countries = np.array([f"country_{i:02d}" for i in range(30)])
    devices = np.array([f"device_{i:03d}" for i in range(500)])
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            columns: dict[str, object] = {}
            for i in range(N_NUMERIC):
                name = f"f{i:02d}"
                if i < 8:
                    columns[name] = rng.normal(i, 1.0 + i, n)
                elif i < 12:
                    columns[name] = rng.lognormal(0.0, 1.0, n)
                elif i < 16:
                    columns[name] = rng.integers(0, 10_000, n)
                else:
                    values = rng.exponential(10.0, n)
                    columns[name] = pl.Series(values).set(pl.Series(rng.random(n) < 0.01), None)
            columns["country"] = countries[rng.integers(0, countries.shape[0], n)]
            columns["device"] = devices[np.minimum(rng.zipf(1.3, n), devices.shape[0]) - 1]
            table = pl.DataFrame(columns).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="snappy")
            writer.write_table(table, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()


def _peak_rss_mb() -> float:
    """This process's peak resident set size, in MiB.

    Linux's ``VmHWM`` belongs to the process image, so it starts afresh at ``exec``, whereas
    ``ru_maxrss`` keeps the high-water mark of the parent that forked the process.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child_profile(data: Path, out: Path) -> dict[str, float]:
    """Profile ``data`` in this (fresh) process; return time, CPU time and memory."""
    from stream_monitor.profile import build_profile, write_profile

    rss_imports = _peak_rss_mb()
    cpu = time.process_time()
    start = time.perf_counter()
    profile = build_profile(data)
    write_profile(profile, out)
    seconds = time.perf_counter() - start
    return {
        "rows": profile.metadata.row_count,
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_after_imports_mb": rss_imports,
    }


def _child_read(data: Path) -> dict[str, float]:
    """Read the whole file with Polars once: the baseline."""
    import polars as pl

    start = time.perf_counter()
    frame = pl.read_parquet(data)
    return {"rows": frame.height, "seconds": time.perf_counter() - start}


def _child_whylogs(data: Path) -> dict[str, float]:
    """Profile the first 1M rows with whylogs, if it is installed."""
    import polars as pl
    import whylogs  # type: ignore[import-not-found]

    frame = pl.read_parquet(data, n_rows=WHYLOGS_ROWS).to_pandas()
    start = time.perf_counter()
    whylogs.log(pandas=frame)
    return {"rows": frame.shape[0], "seconds": time.perf_counter() - start}


def _run_child(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _whylogs_available() -> bool:
    done = subprocess.run([sys.executable, "-c", "import whylogs"], capture_output=True)
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="profile runs (median reported)")
    parser.add_argument("--keep", type=Path, help="write the data here and keep it")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *paths = args.child
        if kind == "generate":
            generate(Path(paths[0]), int(paths[1]))
            print(json.dumps({}))
        elif kind == "profile":
            print(json.dumps(_child_profile(Path(paths[0]), Path(paths[1]))))
        elif kind == "read":
            print(json.dumps(_child_read(Path(paths[0]))))
        else:
            print(json.dumps(_child_whylogs(Path(paths[0]))))
        return

    with tempfile.TemporaryDirectory(prefix="bench_profile_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / f"reference_{args.rows}.parquet"
        if not data.exists():
            started = time.perf_counter()
            _run_child("generate", str(data), str(args.rows))
            print(f"generated {data} in {time.perf_counter() - started:.1f} s")
        cols = N_NUMERIC + N_CATEGORICAL
        size_mb = data.stat().st_size / 2**20
        print(f"data: {args.rows:,} rows x {cols} columns, Parquet snappy, {size_mb:,.0f} MiB")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

        runs = [_run_child("profile", str(data), str(folder / "profile.parquet"))]
        runs += [
            _run_child("profile", str(data), str(folder / "profile.parquet"))
            for _ in range(args.repeat - 1)
        ]
        seconds = [r["seconds"] for r in runs]
        median = statistics.median(seconds)
        rate = args.rows / median
        peak = max(r["peak_rss_mb"] for r in runs)
        base = max(r["rss_after_imports_mb"] for r in runs)
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        print(
            f"profile: {rate:,.0f} rows/s (median of {len(runs)}: {median:.2f} s; "
            f"runs {', '.join(f'{s:.2f}' for s in seconds)} s; CPU {cpu:.2f} s)"
        )
        print(f"peak RSS: {peak:,.0f} MiB (of which {base:,.0f} MiB after imports)")

        read = _run_child("read", str(data))
        read_rate = read["rows"] / read["seconds"]
        print(
            f"baseline, measured here: Polars read_parquet of the whole file "
            f"{read_rate:,.0f} rows/s; profile = {median / read['seconds']:.1f}x a full read"
        )

        if _whylogs_available():
            why = _run_child("whylogs", str(data))
            why_rate = why["rows"] / why["seconds"]
            label = f"measured here on {why['rows']:,.0f} rows"
        else:
            why_rate = WHYLOGS_ISSUE_ROWS_PER_S
            label = "from issue, not measured here: whylogs is not installed"
        print(f"whylogs: {why_rate:,.0f} rows/s ({label})")
        print(f"ratio vs whylogs: {rate / why_rate:,.1f}x")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
