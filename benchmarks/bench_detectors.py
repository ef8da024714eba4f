"""Updates per second of river's detectors and ours, on the same data, in one run.

river is fed one value at a time (its only API); ours take the whole array in one call.
Both must signal drift at the same positions: the script checks that before timing counts.

    python benchmarks/bench_detectors.py [--n 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from river import drift
from river.drift import binary

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine, rate, table

import stream_monitor.detectors as det


def river_loop(make: Callable[[], Any], values: list[float]) -> list[int]:
    detector = make()
    hits = []
    for i, x in enumerate(values):
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    return hits


def cases(n: int) -> list[tuple[str, Callable[[], Any], Callable[[], Any], np.ndarray]]:
    rng = np.random.default_rng(42)
    half = n // 2
    floats = np.concatenate([rng.normal(0, 1, half), rng.normal(0.5, 1, n - half)])
    errors = np.concatenate([rng.random(half) < 0.1, rng.random(n - half) < 0.2]).astype(float)
    out = [
        ("ADWIN", drift.ADWIN, det.ADWIN, floats),
        ("ADWIN clock=8", lambda: drift.ADWIN(clock=8), lambda: det.ADWIN(clock=8), floats),
        ("PageHinkley", drift.PageHinkley, det.PageHinkley, floats),
    ]
    out.append(("DDM", binary.DDM, det.DDM, errors))
    out.append(("HDDMA", binary.HDDMA, det.HDDMA, errors))
    short = floats[half - 10_000 : half + 10_000].copy()
    out.append(
        ("KSWIN (20k values)", lambda: drift.KSWIN(seed=7), lambda: det.KSWIN(seed=7), short)
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="values per stream")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median)")
    args = parser.parse_args()
    rows = []
    for name, make_river, make_ours, values in cases(args.n):
        as_list = values.tolist()
        make_ours().update_many(values)  # compile (or load the cache) outside the timing
        river_repeats = 1 if "KSWIN" in name else args.repeats
        t_river, hits_river = best_of(
            lambda f=make_river, v=as_list: river_loop(f, v), river_repeats
        )
        t_ours, hits_ours = best_of(lambda f=make_ours, v=values: f().update_many(v), args.repeats)
        same = list(np.asarray(hits_ours)) == list(hits_river)
        n = len(values)
        rows.append(
            [
                name,
                rate(n / t_river),
                rate(n / t_ours),
                f"{t_river / t_ours:.0f}x",
                len(hits_river),
                "yes" if same else "NO",
            ]
        )
    print(f"Machine: {machine()}; {args.n:,} values per stream, median of {args.repeats} runs")
    print(
        table(
            [
                "detector",
                "river updates/s",
                "ours updates/s",
                "ratio",
                "detections",
                "same indices",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
