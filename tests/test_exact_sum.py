"""``exact_sum``: the exact sum of a column's finite doubles, as an integer of 2**-1074 units,
held to Python's exact rational arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from stream_monitor.batch.current import exact_column_sums, exact_float, exact_sum

UNIT = Fraction(1, 2**1074)


def _fraction_sum(values: np.ndarray) -> Fraction:
    return sum((Fraction(float(v)) for v in values if np.isfinite(v)), Fraction(0))


def _columns() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    wide = rng.normal(size=5_000) * 10.0 ** rng.integers(-320, 308, 5_000).astype(np.float64)
    edges = np.array(
        [5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072009e-308, 1e-310, -0.0, 0.0]
        + [1.7976931348623157e308] * 2
        + [-1.7976931348623157e308, np.inf, -np.inf, np.nan, 1.0, -1.0]
    )
    cancelling = np.concatenate([rng.normal(size=1_000) * 1e20, [0.1, 0.2]])
    cancelling = np.concatenate([cancelling, -cancelling[:1_000]])
    return [wide, edges, cancelling, rng.normal(size=10_000), np.array([], dtype=np.float64)]


@pytest.mark.parametrize(
    "values", _columns(), ids=["wide", "edges", "cancelling", "normal", "empty"]
)
def test_exact_sum_is_the_rational_sum_of_the_finite_values(values: np.ndarray) -> None:
    assert exact_sum(values) * UNIT == _fraction_sum(values)
    expected = _fraction_sum(values)
    # Correctly rounded: the float nearest the exact sum (Fraction's own rounding).
    assert exact_float(exact_sum(values)) == float(expected)


def test_pieces_add_up_in_any_order_and_strided_views_count() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=100_001) * 10.0 ** rng.integers(-30, 30, 100_001).astype(np.float64)
    whole = exact_sum(values)
    assert exact_sum(values[::2]) + exact_sum(values[1::2]) == whole
    cuts = np.sort(rng.choice(values.shape[0], 9, replace=False))
    assert sum(exact_sum(part) for part in reversed(np.split(values, cuts))) == whole
    table = np.column_stack([values, -values])
    assert exact_sum(table[:, 0]) == whole
    assert exact_sum(table[:, 1]) == -whole
    assert whole * UNIT == _fraction_sum(values)


def test_column_sums_over_the_rows_kept_are_each_columns_rational_sum() -> None:
    # Several tiles of rows (``exact_column_sums`` reads 1,024 at a time) and a ragged end.
    rng = np.random.default_rng(11)
    columns = [np.resize(c, 4_099) for c in _columns()[:3]] + [rng.normal(size=4_099) ** 2]
    table = np.column_stack(columns)
    kept = rng.random(4_099) < 0.9
    sums = exact_column_sums(table, kept)
    assert [s * UNIT for s in sums] == [_fraction_sum(c[kept]) for c in columns]
