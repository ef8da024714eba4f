"""Detection quality of the real streaming pipeline: delay, misses and false alarms.

Each scenario (``stream_monitor.scenarios``) is a 120k-row reference and 400k live rows of
six mixed columns (normal, heavy-tailed, integer counts, a binary flag, a categorical, a
log-normal with 1 % nulls); one column changes at live row 200,000. Every stream goes
through exactly what ``stream-monitor run --source`` runs (profile, ``run_file``, default
settings), and each alert is classed:

- delay: rows from the change to the first alert on the changed column (any detector);
- missed: no alert on the changed column in the 200k rows after the change;
- false alarms: alerts before the change, or on a column that did not change, per million
  live rows.

Beside ours: river 0.26.1's ADWIN and Page-Hinkley with their defaults on the changed
column's raw values (numbers as they are, categories as their index in the reference's
order, nulls skipped), and two baselines that bound the table: one that always fires (delay
0, a false alarm per row) and one that never does.

    python benchmarks/bench_quality.py [--seeds 5] [--variant 0|1] [--river]

``--variant 1`` swaps every column's shape (gamma, Pareto, binomial, other shares), for
streams the defaults were not tuned on.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

from stream_monitor import scenarios
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.store import write_profile
from stream_monitor.stream.file_source import run_file
from stream_monitor.stream.pipeline import Pipeline
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.sinks import JsonLinesSink

_ANY = ("*", "reconstruction_error")

TARGETS = {
    "mean +0.3 sd": 500,
    "variance x1.5": 2_000,
    "spread x1.25, median kept": 5_000,
    "binary rate +30 %": 5_000,
    "category share doubled": 5_000,
    "nulls 1 % -> 10 %": 1_000,
    "column all null": 100,
    "correlation flips sign": 20_000,
}


def run_ours(scenario: scenarios.Scenario, workdir: Path) -> tuple[list[dict[str, Any]], float]:
    """Alerts of the real pipeline on the scenario's live stream, and rows per second."""
    live = workdir / "live.parquet"
    scenario.live.write_parquet(live)
    profile = profile_frame(scenario.reference, source="reference")
    write_profile(profile, workdir / "profile.parquet")
    pipeline = Pipeline(profile, StreamSettings())
    out = workdir / "alerts.jsonl"
    out.unlink(missing_ok=True)
    sink = JsonLinesSink.to_path(out)
    start = time.perf_counter()
    run_file(pipeline, live, sink, batch_size=StreamSettings().batch_size)
    elapsed = time.perf_counter() - start
    sink.close()
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    return alerts, scenario.live.height / elapsed


def river_positions(scenario: scenarios.Scenario, name: str) -> list[int]:
    from river import drift

    column = scenario.reference[scenario.feature] if scenario.feature else None
    assert column is not None
    values = scenario.live[scenario.feature]
    if values.dtype in (pl.String, pl.Boolean):
        order = column.cast(pl.String).value_counts(sort=True)[column.name].to_list()
        index = {v: i for i, v in enumerate(order)}
        xs = [
            index.get(v, len(order)) if v is not None else None
            for v in values.cast(pl.String).to_list()
        ]
    else:
        xs = values.cast(pl.Float64).to_list()
    detector = drift.ADWIN() if name == "adwin" else drift.PageHinkley()
    hits = []
    for i, x in enumerate(xs):
        if x is None or x != x:
            continue
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    return hits


def classify(
    positions: list[tuple[str, int]], scenario: scenarios.Scenario
) -> tuple[float | None, int]:
    """(delay, false alarms) from (feature, row) pairs."""
    change = scenario.change_at
    delay = None
    false_alarms = 0
    for feature, row in positions:
        caught = feature == scenario.feature or (
            scenario.name == "correlation flips sign" and feature == "reconstruction_error"
        )
        if change is not None and caught and row >= change:
            delay = row - change if delay is None else min(delay, row - change)
        elif not (change is not None and feature in _ANY and row >= change):
            # A record-level alert ("*": the dead-letter share) or a multivariate one after
            # the change is about it: every column feeds those.
            false_alarms += 1
    return delay, false_alarms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="streams per scenario")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--variant", type=int, default=0, choices=(0, 1))
    parser.add_argument("--river", action="store_true", help="also run river's defaults (slow)")
    parser.add_argument("--scenario", action="append", help="only these scenarios")
    args = parser.parse_args()
    names = args.scenario or list(scenarios.SCENARIOS)
    results: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    detectors_seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    speeds = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                scenario = scenarios.make(name, seed, variant=args.variant)
                alerts, speed = run_ours(scenario, Path(tmp))
                speeds.append(speed)
                hits = [(a["feature"], a["window"]["last_offset"]) for a in alerts]
                delay, fa = classify(hits, scenario)
                results[name]["ours"].append((delay, fa))
                for a in alerts:
                    changed = a["feature"] in (scenario.feature, *_ANY)
                    prefix = "" if changed else f"false alarm {a['feature']}/"
                    detectors_seen[name][f"{prefix}{a['type']}/{a['detector']}"] += 1
                if args.river and scenario.feature is not None:
                    for det in ("adwin", "page_hinkley"):
                        pos = [(scenario.feature, p) for p in river_positions(scenario, det)]
                        results[name][f"river {det}"].append(classify(pos, scenario))
    live_rows = scenarios.BEFORE + scenarios.AFTER
    header = ["scenario", "target", "detector", "median delay", "missed", "false alarms / M"]
    rows = []
    for name in names:
        target = TARGETS.get(name)
        for label, runs in results[name].items():
            delays = [d for d, _ in runs if d is not None]
            missed = sum(1 for d, _ in runs if d is None) if name != "stationary" else "-"
            fas = sum(fa for _, fa in runs) / (live_rows * len(runs)) * 1e6
            median = f"{np.median(delays):,.0f}" if delays else "-"
            rows.append(
                [name, f"<= {target:,}" if target else "-", label, median, missed, f"{fas:.2f}"]
            )
        if name != "stationary":
            rows.append([name, "", "always fires", "0", 0, f"{1e6:,.0f}"])
            rows.append([name, "", "never fires", "-", len(results[name]["ours"]), "0"])
    print(
        f"Machine: {machine()}; {args.seeds} seeds from {args.first_seed}, variant "
        f"{args.variant}; reference {scenarios.REFERENCE_ROWS:,} rows, live "
        f"{live_rows:,} rows, change at {scenarios.BEFORE:,}"
    )
    print(table(header, rows))
    print(
        f"\npipeline speed (run_file, 6 columns, all channels): median "
        f"{np.median(speeds):,.0f} rows/s"
    )
    print("\nalerts by detector:")
    for name, seen in detectors_seen.items():
        print(f"  {name}: " + ", ".join(f"{k} x{v}" for k, v in sorted(seen.items())))


if __name__ == "__main__":
    main()
