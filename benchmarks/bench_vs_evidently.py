"""``stream-monitor check-drift`` against Evidently's ``DataDriftPreset``, same data, same methods.

For each size (default 100,000 and 1,000,000 rows, reference and current alike), writes two
Parquet files of 20 numeric and 2 categorical columns, some of them drifted by a known
amount (``COLUMNS`` below), then runs, each in a fresh child process:

- Evidently 0.7 (``benchmarks/evidently/.venv``, made by ``benchmarks/evidently/setup.sh``):
  ``Report(metrics=[DataDriftPreset(num_method="wasserstein", cat_method="jensenshannon",
  num_threshold=0.1, cat_threshold=0.1)], include_tests=True)``, run, ``save_json``,
  ``dict()``; from reading the Parquet files with pandas to the saved snapshot
  (``benchmarks/evidently/run_evidently.py``);
- ``stream-monitor check-drift --reference_data_path ... --current_data_path ...
  --report_path ... --json_path ... --config ...`` from this environment, with a ``drift:``
  config forcing the same methods and thresholds (Wasserstein normed by the reference sd
  for numeric columns, Jensen-Shannon distance with the natural log for categorical ones,
  both at 0.1); twice: first with ``multivariate: false`` (per-column drift and data
  quality, the work of Evidently's preset and a little more), then as shipped (with the
  multivariate drift, a PCA fit on the reference and every current row's reconstruction
  error, which Evidently's preset does not compute).

Each run is timed from process start to exit (interpreter start and imports included, as a
scheduled job pays them) and its peak RSS is the child's ``ru_maxrss`` from ``wait4``.
stream-monitor runs once first, unmeasured, so that its bytecode and Numba's cache are
written, as they are for an installed package after its first run (Evidently's are, by pip). The
script prints both, the ratios (Evidently / stream-monitor), and how many per-column
verdicts agree, with the columns where they do not. Evidently sends usage telemetry unless
told not to; the child runs with ``DO_NOT_TRACK=1``.

Usage::

    benchmarks/evidently/setup.sh          # once
    .venv/bin/python benchmarks/bench_vs_evidently.py [--sizes 100000,1000000] [--keep DIR]
                                                      [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

ROOT = Path(__file__).resolve().parents[1]
EVIDENTLY_DIR = ROOT / "benchmarks" / "evidently"
EVIDENTLY_PYTHON = EVIDENTLY_DIR / ".venv" / "bin" / "python"
ROW_GROUP = 1_000_000
THRESHOLD = 0.1

# Same methods on both sides: (Evidently's name, stream-monitor's name).
NUMERIC_METHOD = ("wasserstein", "wasserstein")
CATEGORICAL_METHOD = ("jensenshannon", "jensen_shannon")

# name -> (how the current data differs from the reference, drift expected at threshold 0.1)
COLUMNS: dict[str, tuple[str, bool]] = {
    "f00": ("normal, mean +0.5 sd", True),
    "f01": ("normal, mean +0.2 sd", True),
    "f02": ("normal, sd x1.5", True),
    "f03": ("lognormal, values x1.2", True),
    "f04": ("exponential, +0.05 sd", False),
    "f05": ("Poisson(3) integers, lambda 3.6", True),
    "f06": ("normal, 5% nulls, unchanged", False),
    "f07": ("uniform, unchanged", False),
    **{f"f{i:02d}": ("normal, unchanged", False) for i in range(8, 20)},
    "country": ("30 categories, shares reversed", True),
    "device": ("500 categories, unchanged", False),
}
NUMERIC = [name for name in COLUMNS if name.startswith("f")]
CATEGORICAL = ["country", "device"]


def generate(reference: Path, current: Path, rows: int, seed: int = 0) -> None:
    """Write the reference and current Parquet files of ``rows`` rows each."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    countries = np.array([f"country_{i:02d}" for i in range(30)])
    devices = np.array([f"device_{i:03d}" for i in range(500)])
    zipf = 1.0 / np.arange(1, 31)
    zipf /= zipf.sum()

    def frame(drifted: bool) -> pl.DataFrame:
        d = 1.0 if drifted else 0.0
        columns: dict[str, Any] = {
            "f00": rng.normal(0.5 * d, 1.0, rows),
            "f01": rng.normal(0.2 * d, 1.0, rows),
            "f02": rng.normal(0.0, 1.0 + 0.5 * d, rows),
            "f03": rng.lognormal(0.0, 0.5, rows) * (1.0 + 0.2 * d),
            "f04": rng.exponential(1.0, rows) + 0.05 * d,
            "f05": rng.poisson(3.0 + 0.6 * d, rows).astype(np.float64),
            "f06": np.where(rng.random(rows) < 0.05, np.nan, rng.normal(0.0, 1.0, rows)),
            "f07": rng.uniform(-1.0, 1.0, rows),
        }
        for i in range(8, 20):
            columns[f"f{i:02d}"] = rng.normal(float(i), 1.0 + i / 10, rows)
        columns["country"] = countries[rng.choice(30, rows, p=zipf[::-1] if drifted else zipf)]
        columns["device"] = devices[rng.integers(0, 500, rows)]
        return pl.DataFrame(columns).with_columns(pl.col("f06").fill_nan(None))

    frame(False).write_parquet(reference, row_group_size=ROW_GROUP)
    frame(True).write_parquet(current, row_group_size=ROW_GROUP)


@dataclass
class Measured:
    """One child process: wall time from start to exit, peak RSS, exit code, stderr."""

    seconds: float
    peak_rss_mib: float
    returncode: int
    stderr: str


REPEATS = 3


def _median(runs: list[tuple[Measured, dict[str, Any]]]) -> tuple[Measured, dict[str, Any]]:
    """The run of median time."""
    return sorted(runs, key=lambda run: run[0].seconds)[len(runs) // 2]


def measured(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd``; its peak RSS is its own ``ru_maxrss``, read with ``wait4``."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return Measured(seconds, usage.ru_maxrss / 1024, proc.returncode, stderr)


def run_evidently(
    python: Path, reference: Path, current: Path, work: Path
) -> tuple[Measured, dict[str, Any]]:
    """Evidently's DataDriftPreset in its own environment; its summary JSON."""
    summary = work / "evidently_summary.json"
    cmd = [
        str(python),
        str(EVIDENTLY_DIR / "run_evidently.py"),
        str(reference),
        str(current),
        str(work / "evidently_snapshot.json"),
        str(summary),
        "--numeric",
        ",".join(NUMERIC),
        "--categorical",
        ",".join(CATEGORICAL),
        "--num-method",
        NUMERIC_METHOD[0],
        "--cat-method",
        CATEGORICAL_METHOD[0],
        "--threshold",
        str(THRESHOLD),
    ]
    env = {**os.environ, "DO_NOT_TRACK": "1", "ITERATIVE_DO_NOT_TRACK": "1"}
    result = measured(cmd, env)
    if result.returncode != 0:
        raise SystemExit(f"Evidently failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    document: dict[str, Any] = json.loads(summary.read_text())
    return result, document


# stream-monitor from this environment (run the script with the project's .venv), unless
# --stream-monitor names another command.
STREAM_MONITOR = [sys.executable, "-m", "stream_monitor"]


def stream_monitor_cmd() -> list[str]:
    """The command that runs stream-monitor."""
    return list(STREAM_MONITOR)


def require_check_drift() -> None:
    """Stop with a clear message when this checkout has no ``check-drift`` subcommand."""
    probe = subprocess.run(
        [*stream_monitor_cmd(), "check-drift", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(
            "stream-monitor check-drift is not available here, so the stream-monitor side "
            f"cannot run ({' '.join(stream_monitor_cmd())} check-drift --help: {reason}); "
            "--only-evidently runs Evidently's side alone"
        )


def run_stream_monitor(
    reference: Path,
    current: Path,
    work: Path,
    *,
    multivariate: bool = True,
    env: dict[str, str] | None = None,
) -> tuple[Measured, dict[str, Any]]:
    """``stream-monitor check-drift`` with the same methods and thresholds; its JSON report.
    Without ``multivariate``, the PCA reconstruction drift (which Evidently's preset does not
    compute) is turned off."""
    config = work / "drift.yaml"
    config.write_text(
        "drift:\n"
        f"  numeric_method: {NUMERIC_METHOD[1]}\n"
        f"  categorical_method: {CATEGORICAL_METHOD[1]}\n"
        f"  multivariate: {'true' if multivariate else 'false'}\n"
        "  thresholds:\n"
        f"    {NUMERIC_METHOD[1]}: {THRESHOLD}\n"
        f"    {CATEGORICAL_METHOD[1]}: {THRESHOLD}\n"
    )
    report = work / "stream_monitor_report.json"
    cmd = [
        *stream_monitor_cmd(),
        "check-drift",
        "--reference_data_path",
        str(reference),
        "--current_data_path",
        str(current),
        "--report_path",
        str(work / "stream_monitor_report.html"),
        "--json_path",
        str(report),
        "--config",
        str(config),
    ]
    result = measured(cmd, env)
    if result.returncode not in (0, 1):  # 1: drift found, for a job run with --fail-on-drift
        raise SystemExit(
            f"stream-monitor check-drift failed (exit {result.returncode}):\n"
            f"{result.stderr[-3000:]}"
        )
    document: dict[str, Any] = json.loads(report.read_text())
    return result, document


def our_columns(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per column of check-drift's report: method, value, verdict."""
    columns = {}
    for name, feature in document["features"].items():
        score = feature.get("score")
        value = score.get("value") if isinstance(score, dict) else score
        method = score.get("method") if isinstance(score, dict) else feature.get("method")
        columns[name] = {
            "method": method,
            "value": value,
            "drift_detected": bool(feature["drift_detected"]),
        }
    return columns


def _num(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else str(value)


def compare(
    rows: int,
    work: Path,
    evidently_python: Path,
    *,
    ours_too: bool = True,
    repeats: int = REPEATS,
) -> list[list[object]]:
    """Run one size; print its per-column table; return its summary row(s)."""
    reference, current = work / "reference.parquet", work / "current.parquet"
    start = time.perf_counter()
    generate(reference, current, rows)
    print(f"\n### {rows:,} + {rows:,} rows (data written in {time.perf_counter() - start:.1f} s)")

    ev_run, ev = run_evidently(evidently_python, reference, current, work)
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in ev["seconds"].items())
    print(f"Evidently: {ev_run.seconds:.1f} s, peak RSS {ev_run.peak_rss_mib:,.0f} MiB ({phases})")
    summary: list[list[object]] = [
        [
            f"{rows:,}",
            "Evidently DataDriftPreset",
            f"{ev_run.seconds:.1f}",
            f"{ev_run.peak_rss_mib:,.0f}",
            "",
            "",
        ],
    ]

    if not ours_too:
        for name, (change, expected) in COLUMNS.items():
            theirs = ev["columns"][name]
            print(
                f"  {name:8} {change:34} expected {'drift' if expected else '-':5} "
                f"Evidently {theirs['method']} {_num(theirs['value'])} "
                f"{'drift' if theirs['drift_detected'] else '-'}"
            )
        summary[0].append("")
        return summary
    # Without the multivariate drift first: the work Evidently's preset does (per-column
    # drift), plus our per-column data-quality tests.
    # Ours is cheap to repeat: ``repeats`` interleaved runs of each, the median shown (single
    # runs on a 2-core machine move by +-30 %).
    # One run first, not measured, that may write Python's bytecode: pip compiles an
    # installed package's (Evidently's venv has it), but an editable install writes it on
    # first import, which PYTHONDONTWRITEBYTECODE (set in some sandboxes and CI images)
    # forbids; every measured run would then compile the package's sources again (about
    # 0.1 s). It also fills Numba's cache.
    warm = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    run_stream_monitor(reference, current, work, env=warm)
    offs, ons = [], []
    for _ in range(repeats):
        offs.append(run_stream_monitor(reference, current, work, multivariate=False))
        ons.append(run_stream_monitor(reference, current, work))
    columns_only, without = _median(offs)
    sm_run, sm = _median(ons)
    print(
        "stream-monitor runs (s): without the multivariate drift "
        + ", ".join(f"{run.seconds:.2f}" for run, _ in offs)
        + "; as shipped "
        + ", ".join(f"{run.seconds:.2f}" for run, _ in ons)
    )
    without_agree = sum(
        ev["columns"][name]["drift_detected"]
        == our_columns(without).get(name, {}).get("drift_detected")
        for name in COLUMNS
    )
    ours = our_columns(sm)
    print(
        f"stream-monitor (median): {sm_run.seconds:.1f} s, "
        f"peak RSS {sm_run.peak_rss_mib:,.0f} MiB; "
        f"without the multivariate drift {columns_only.seconds:.1f} s, "
        f"{columns_only.peak_rss_mib:,.0f} MiB"
    )
    for label, run in (
        ("stream-monitor check-drift, multivariate off", columns_only),
        ("stream-monitor check-drift (default)", sm_run),
    ):
        summary.append(
            [
                f"{rows:,}",
                label,
                f"{run.seconds:.1f}",
                f"{run.peak_rss_mib:,.0f}",
                f"{ev_run.seconds / run.seconds:.1f}x",
                f"{ev_run.peak_rss_mib / run.peak_rss_mib:.1f}x",
            ]
        )

    per_column = []
    agree = 0
    for name, (change, expected) in COLUMNS.items():
        theirs = ev["columns"][name]
        mine = ours.get(name, {"method": "-", "value": None, "drift_detected": None})
        same = theirs["drift_detected"] == mine["drift_detected"]
        agree += same
        per_column.append(
            [
                name,
                change,
                "drift" if expected else "-",
                f"{theirs['method']} {_num(theirs['value'])}",
                "drift" if theirs["drift_detected"] else "-",
                f"{mine['method']} {_num(mine['value'])}",
                "drift" if mine["drift_detected"] else "-",
                "" if same else "DIFFERENT",
            ]
        )
    header = [
        "column",
        "current vs reference",
        "expected",
        "Evidently score",
        "verdict",
        "stream-monitor score",
        "verdict",
        "",
    ]
    print(table(header, per_column))
    print(f"Verdicts agree on {agree} of {len(COLUMNS)} columns.")
    summary[-1].append(f"{agree}/{len(COLUMNS)}")
    summary[-2].append(f"{without_agree}/{len(COLUMNS)}")
    summary[0].append("")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="rows per file, comma-separated")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument("--evidently-python", type=Path, default=EVIDENTLY_PYTHON)
    parser.add_argument("--only-evidently", action="store_true", help="run Evidently's side alone")
    parser.add_argument(
        "--stream-monitor",
        metavar="CMD",
        help=f"command running stream-monitor (default: {' '.join(STREAM_MONITOR)})",
    )
    parser.add_argument(
        "--repeats", type=int, default=REPEATS, help="stream-monitor runs each (median shown)"
    )
    args = parser.parse_args()
    if args.stream_monitor:
        STREAM_MONITOR[:] = shlex.split(args.stream_monitor)
    if not args.evidently_python.exists():
        raise SystemExit(
            f"{args.evidently_python} not found: run benchmarks/evidently/setup.sh first"
        )
    if not args.only_evidently:
        require_check_drift()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"Machine: {machine()}")
    print(
        f"Methods (Evidently, stream-monitor): numeric {NUMERIC_METHOD}, "
        f"categorical {CATEGORICAL_METHOD}, threshold {THRESHOLD}"
    )
    ours_too = not args.only_evidently
    rows: list[list[object]] = []
    for size in sizes:
        if args.keep is not None:
            work = args.keep / f"rows_{size}"
            work.mkdir(parents=True, exist_ok=True)
            rows.extend(
                compare(size, work, args.evidently_python, ours_too=ours_too, repeats=args.repeats)
            )
        else:
            with tempfile.TemporaryDirectory(prefix="bench_vs_evidently_") as tmp:
                rows.extend(
                    compare(
                        size,
                        Path(tmp),
                        args.evidently_python,
                        ours_too=ours_too,
                        repeats=args.repeats,
                    )
                )
    print("\n### Summary (wall time and peak RSS of each process; ratios Evidently / ours)")
    header = ["rows", "tool", "seconds", "peak RSS MiB", "time ratio", "memory ratio", "agree"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
