"""Detection quality on synthetic streams with known drift points: ours vs river's defaults.

Each scenario is ``--runs`` streams of 100k stationary N(0, 1) values followed by 100k values
after a change. For each detector the table gives the median detection delay (values after
the change point until the first signal), the share of changes missed (no signal within the
100k values after it), and false alarms per million stationary values (the pre-change halves
of every scenario's streams).

"river defaults" run river itself, one value at a time, on the raw values. "ours" runs the
streaming monitor's column detectors as the stream does: ADWIN and Page-Hinkley with the
streaming defaults on each value's standardised rank in a 200k-value reference, and the
histogram window scores. Our ADWIN and Page-Hinkley are river-identical, so the differences
come from the parameters and the rank transform, not the implementation.

    python benchmarks/bench_quality.py [--runs 10]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from river import drift

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

from stream_monitor.detectors import HistogramDrift, NumericReference, NumericSketch
from stream_monitor.engine import ColumnMonitor
from stream_monitor.settings import STREAM_ADWIN, STREAM_PAGE_HINKLEY

PRE = POST = 100_000


def river_hits(make: Callable[[], Any], values: np.ndarray) -> np.ndarray:
    detector = make()
    hits = []
    for i, x in enumerate(values.tolist()):
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    return np.array(hits, dtype=np.int64)


def reference() -> NumericReference:
    values = np.random.default_rng(99).normal(0, 1, 200_000)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, 101)))
    sketch = NumericSketch(edges)
    sketch.update_many(values)
    score_bins = np.concatenate([[0], 1 + np.arange(len(edges) - 1) * 10 // 100, [11]])
    return NumericReference(edges, sketch.counts, score_bins.astype(np.int64), 1.0)


def window_hits(method: str) -> Callable[[np.ndarray], np.ndarray]:
    ref = reference()

    def run(values: np.ndarray) -> np.ndarray:
        detector = HistogramDrift(ref, window=10_000, methods={method: None})
        return np.array([w.end for w in detector.update_many(values) if w.drift_detected])

    return run


def sequential_hits(name: str) -> Callable[[np.ndarray], np.ndarray]:
    ref = reference()
    params = {"adwin": None, "page_hinkley": None, name: STREAM_ADWIN}
    if name == "page_hinkley":
        params[name] = STREAM_PAGE_HINKLEY

    def run(values: np.ndarray) -> np.ndarray:
        monitor = ColumnMonitor("x", ref, methods={"psi": 1e9}, **params)
        return np.array([e.position for e in monitor.update_many(values) if e.detector == name])

    return run


def scenarios(rng: np.random.Generator) -> dict[str, Callable[[], np.ndarray]]:
    def after(shift: float = 0.0, scale: float = 1.0) -> Callable[[], np.ndarray]:
        return lambda: np.concatenate([rng.normal(0, 1, PRE), rng.normal(shift, scale, POST)])

    def gradual() -> np.ndarray:
        ramp = np.minimum(np.arange(POST) / 50_000, 1.0) * 0.5
        return np.concatenate([rng.normal(0, 1, PRE), rng.normal(0, 1, POST) + ramp])

    return {
        "mean +0.25 sd": after(0.25),
        "mean +0.5 sd": after(0.5),
        "mean +1 sd": after(1.0),
        "sd x2": after(0.0, 2.0),
        "gradual to +0.5 sd": gradual,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="streams per scenario")
    args = parser.parse_args()
    detectors: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "river ADWIN defaults": lambda v: river_hits(drift.ADWIN, v),
        "river PageHinkley defaults": lambda v: river_hits(drift.PageHinkley, v),
        "ours ADWIN (stream defaults, ranks)": sequential_hits("adwin"),
        "ours PageHinkley (stream defaults, ranks)": sequential_hits("page_hinkley"),
        "ours PSI, 10k-row windows": window_hits("psi"),
        "ours KS, 10k-row windows": window_hits("ks"),
    }
    rng = np.random.default_rng(2026)
    streams = {name: [make() for _ in range(args.runs)] for name, make in scenarios(rng).items()}
    header = ["detector", "false alarms / M"]
    header += [f"{name}: delay (missed)" for name in streams]
    rows = []
    for label, run in detectors.items():
        false_alarms = 0
        cells = []
        for runs in streams.values():
            delays = []
            for values in runs:
                hits = run(values)
                false_alarms += int(np.sum(hits < PRE))
                late = hits[hits >= PRE]
                delays.append(late[0] - PRE if len(late) else np.inf)
            finite = [d for d in delays if np.isfinite(d)]
            missed = sum(1 for d in delays if not np.isfinite(d))
            median = f"{np.median(finite):.0f}" if finite else "-"
            cells.append(f"{median} ({missed}/{len(delays)})")
        stationary = PRE * args.runs * len(streams)
        rows.append([label, f"{false_alarms / stationary * 1e6:.1f}", *cells])
    print(f"Machine: {machine()}; {args.runs} streams per scenario, change at value {PRE:,}")
    print(table(header, rows))


if __name__ == "__main__":
    main()
