"""Histogram updates on reference-quantile edges: our sketch vs ``numpy.histogram``.

Both count the same values into the same 101 non-uniform edges (the reference's
percentiles). The figures are values per second over 2M values, fed in micro-batches of
each size, as a streaming monitor feeds them. The sketch also keeps under/overflow counts,
exact tail distances, sums for the mean and variance, and the min and max; numpy only counts.

    python benchmarks/bench_histogram.py [--n 2000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine, table

from stream_monitor.detectors import NumericSketch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    dists = {
        "normal": lambda k: rng.normal(0, 1, k),
        "lognormal": lambda k: rng.lognormal(0, 1, k),
        "integers (ties)": lambda k: rng.poisson(20, k).astype(np.float64),
    }
    rows = []
    for name, gen in dists.items():
        edges = np.unique(np.quantile(gen(1_000_000), np.linspace(0, 1, 101)))
        values = gen(args.n) * 1.02  # a little drift, so the tails are used
        for batch in (1_000, 10_000, 100_000, args.n):
            chunks = [values[i : i + batch] for i in range(0, args.n, batch)]
            sketch = NumericSketch(edges)
            sketch.update_many(chunks[0])

            def ours(sketch: NumericSketch = sketch, chunks: list[np.ndarray] = chunks) -> None:
                for c in chunks:
                    sketch.update_many(c)

            def theirs(chunks: list[np.ndarray] = chunks, edges: np.ndarray = edges) -> None:
                for c in chunks:
                    np.histogram(c, bins=edges)

            t_ours, _ = best_of(ours, args.repeats)
            t_np, _ = best_of(theirs, args.repeats)
            rows.append(
                [
                    name,
                    f"{batch:,}",
                    f"{args.n / t_np / 1e6:.0f}M",
                    f"{args.n / t_ours / 1e6:.0f}M",
                    f"{t_np / t_ours:.1f}x",
                ]
            )
    print(f"Machine: {machine()}; {args.n:,} values, 101 quantile edges, median of {args.repeats}")
    print(table(["data", "batch", "numpy.histogram values/s", "ours values/s", "ratio"], rows))


if __name__ == "__main__":
    main()
