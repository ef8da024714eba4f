"""Hypothesis strategies and seeded stream generators shared by the tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

N = 1_000_000


def streams(seed: int = 0, n: int = N) -> dict[str, NDArray[np.float64]]:
    """Seeded streams with known shapes of drift, each of ``n`` values."""
    rng = np.random.default_rng(seed)
    half = n // 2
    return {
        "abrupt_mean_shift": np.concatenate([rng.normal(0, 1, half), rng.normal(0.5, 1, n - half)]),
        "gradual_drift": rng.normal(0, 1, n) + np.linspace(0.0, 3.0, n),
        "variance_change": np.concatenate([rng.normal(0, 1, half), rng.normal(0, 3, n - half)]),
        "no_drift": rng.normal(0, 1, n),
        "integer_ties": rng.integers(0, 5, n).astype(np.float64),
        "large_offset": 1e6 + rng.normal(0, 1, n),
    }


@st.composite
def split_points(draw: st.DrawFn, length: int) -> list[int]:
    """Sorted cut positions that split a stream of ``length`` values into batches."""
    cuts = draw(st.lists(st.integers(0, length), max_size=12))
    return sorted(cuts)


def drifting_stream(seed: int, n: int) -> NDArray[np.float64]:
    """A short stream with several abrupt mean changes, for property tests."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(mu, 1.0, n // 4) for mu in (0.0, 2.0, -1.0, 3.0)]
    return np.concatenate(parts)
