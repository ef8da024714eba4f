"""Evidently's side of ``benchmarks/bench_vs_evidently.py``; runs in benchmarks/evidently/.venv.

Reads the two Parquet files with pandas, runs ``Report(metrics=[DataDriftPreset(...)])``
with the given methods and thresholds, saves Evidently's JSON snapshot, and writes a small
summary JSON: Evidently's own per-column verdicts (its "Value Drift" tests), the scores, the
time of each phase and this process's peak RSS (VmHWM).

Usage (the benchmark calls it)::

    run_evidently.py REF CUR SNAPSHOT_JSON SUMMARY_JSON --numeric a,b --categorical c \
        --num-method wasserstein --cat-method jensenshannon --threshold 0.1
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

STARTED = time.perf_counter()

import pandas as pd  # noqa: E402 (timed from the very start, imports included)
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

IMPORTED = time.perf_counter()


def peak_rss_mib() -> float:
    """This process's peak resident set size (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference", type=Path)
    parser.add_argument("current", type=Path)
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("summary", type=Path)
    parser.add_argument("--numeric", required=True)
    parser.add_argument("--categorical", required=True)
    parser.add_argument("--num-method", required=True)
    parser.add_argument("--cat-method", required=True)
    parser.add_argument("--threshold", type=float, required=True)
    args = parser.parse_args()
    numeric = args.numeric.split(",")
    categorical = args.categorical.split(",")

    t0 = time.perf_counter()
    reference = pd.read_parquet(args.reference)
    current = pd.read_parquet(args.current)
    t1 = time.perf_counter()
    # Column kinds given, as a careful user would: nothing is left to inference.
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    report = Report(
        metrics=[
            DataDriftPreset(
                num_method=args.num_method,
                cat_method=args.cat_method,
                num_threshold=args.threshold,
                cat_threshold=args.threshold,
            )
        ],
        include_tests=True,
    )
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    t2 = time.perf_counter()
    snapshot.save_json(str(args.snapshot))
    document = snapshot.dict()
    t3 = time.perf_counter()

    scores = {}
    for metric in document["metrics"]:
        config = metric["config"]
        if config.get("type") == "evidently:metric_v2:ValueDrift":
            scores[config["column"]] = {"method": config["method"], "value": metric["value"]}
    verdicts = {}
    for test in document["tests"]:
        params = test.get("metric_config", {}).get("params", {})
        if params.get("type") == "evidently:metric_v2:ValueDrift":
            verdicts[params["column"]] = test["status"] == "FAIL"
    columns = {
        name: {**scores[name], "drift_detected": verdicts[name]} for name in numeric + categorical
    }
    summary = {
        "columns": columns,
        "seconds": {
            "imports": IMPORTED - STARTED,
            "read": t1 - t0,
            "report": t2 - t1,
            "save": t3 - t2,
            "total_in_process": t3 - STARTED,
        },
        "peak_rss_mib": peak_rss_mib(),
    }
    args.summary.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
