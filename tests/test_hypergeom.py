"""The hypergeometric upper tail of the data-quality test, without SciPy.

Held to exact rational arithmetic on tables small enough to sum exactly, and to
``scipy.stats.hypergeom.sf`` on tables of up to 3 million values, where SciPy's own error
reaches about 1e-9 (ours is nearer 1e-14 against 40-digit arithmetic).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from stream_monitor.detectors.hypergeom import upper_tail


def _exact(k: int, population: int, marked: int, drawn: int) -> Fraction:
    whole = math.comb(population, drawn)
    hi = min(drawn, marked)
    ways = sum(
        math.comb(marked, x) * math.comb(population - marked, drawn - x)
        for x in range(max(k, 0), hi + 1)
    )
    return Fraction(ways, whole)


def _tables(seed: int, sizes: list[int], count: int) -> list[tuple[int, int, int, int]]:
    """Tables with ``k`` spread around the mean, from both tails through the middle."""
    rng = np.random.default_rng(seed)
    tables = []
    for _ in range(count):
        population = int(rng.integers(1, int(rng.choice(sizes)) + 1))
        marked = int(rng.integers(0, population + 1))
        drawn = int(rng.integers(0, population + 1))
        mean = drawn * marked / population
        sd = max(1.0, math.sqrt(mean))
        spread = float(rng.choice([0.3, 1.0, 3.0, 10.0]))
        k = round(mean + rng.normal(0, 1) * spread * sd)
        tables.append((min(max(k, 0), min(drawn, marked) + 1), population, marked, drawn))
    return tables


@pytest.mark.parametrize("table", _tables(0, [6, 40, 300], 300))
def test_upper_tail_is_the_exact_rational_tail(table: tuple[int, int, int, int]) -> None:
    expected = _exact(*table)
    got = upper_tail(*table)
    if expected == 0:
        assert got == 0.0
    else:
        assert got == pytest.approx(float(expected), rel=1e-13, abs=0)


def test_upper_tail_matches_scipy_on_large_tables() -> None:
    tables = _tables(1, [1_000, 100_000, 2_000_000, 3_000_000], 3000)
    compared = 0
    for k, population, marked, drawn in tables:
        expected = float(stats.hypergeom.sf(k - 1, population, marked, drawn))
        if expected < 1e-290:  # below SciPy's range of relative accuracy
            continue
        assert upper_tail(k, population, marked, drawn) == pytest.approx(expected, rel=2e-9), (
            k,
            population,
            marked,
            drawn,
        )
        compared += 1
    assert compared > 2500


@pytest.mark.parametrize(
    ("k", "population", "marked", "drawn", "expected"),
    [
        (0, 10, 3, 4, 1.0),  # X >= 0 always
        (4, 10, 3, 4, 0.0),  # more than the 3 marked
        (3, 10, 3, 10, 1.0),  # every item drawn: X = 3
        (1, 10, 0, 5, 0.0),  # nothing marked
        (6, 10, 8, 8, 1.0),  # at least 8 - 2 marked among any 8
    ],
)
def test_upper_tail_support_edges(
    k: int, population: int, marked: int, drawn: int, expected: float
) -> None:
    assert upper_tail(k, population, marked, drawn) == expected


def _exact_few_marked(k: int, population: int, marked: int, drawn: int) -> Fraction:
    """The tail by the symmetric form C(drawn, x) C(population - drawn, marked - x) /
    C(population, marked): exact and quick when few are marked, however large the rest."""
    whole = math.comb(population, marked)
    ways = sum(
        math.comb(drawn, x) * math.comb(population - drawn, marked - x)
        for x in range(k, marked + 1)
    )
    return Fraction(ways, whole)


@pytest.mark.parametrize(
    ("k", "population", "marked", "drawn"),
    [
        (5, 2_000_000, 5, 1_000_000),  # a column with 5 nulls, all in the current half
        (4, 2_000_000, 5, 1_000_000),
        (1, 2_000_000, 1, 1_000_000),
        (3, 3_000_000, 3, 2_999_999),
        (7, 1_200_117, 7, 1_000_000),
    ],
)
def test_upper_tail_at_the_support_edge_of_large_tables(
    k: int, population: int, marked: int, drawn: int
) -> None:
    """Above the mean the tail is summed from the other side, which starts at its support's
    lower end: the sum stops there (it ran on through a million zero terms before)."""
    expected = float(_exact_few_marked(k, population, marked, drawn))
    assert upper_tail(k, population, marked, drawn) == pytest.approx(expected, rel=1e-13, abs=0)
