"""The radix sort of finite floats equals np.sort of the finite values, and counts the rest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stream_monitor.detectors.radix import _radix_finite, sort_finite
from tests.strategies import streams

SPECIAL = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324, 1.7e308, -1.7e308]


def expected(values: np.ndarray) -> tuple[np.ndarray, int, int]:
    return (
        np.sort(values[np.isfinite(values)]),
        int(np.isnan(values).sum()),
        int(np.isinf(values).sum()),
    )


def check(got: tuple[np.ndarray, int, int], values: np.ndarray) -> None:
    ordered, nan, inf = got
    want, want_nan, want_inf = expected(values)
    assert ordered.dtype == np.float64
    np.testing.assert_array_equal(ordered, want)
    assert (nan, inf) == (want_nan, want_inf)


@pytest.mark.parametrize("name", sorted(streams(n=10)))
def test_seeded_streams_sort_like_numpy(name: str) -> None:
    values = streams(seed=3, n=200_000)[name]
    check(sort_finite(values), values)


def test_special_values_among_many() -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.lognormal(0, 3, 50_000), -rng.lognormal(0, 3, 50_000)])
    values[rng.choice(values.shape[0], 200, replace=False)] = np.resize(SPECIAL, 200)
    check(sort_finite(values), values)
    assert sort_finite(values)[1:] == (40, 40)


def test_small_inputs_and_no_finite_value() -> None:
    for values in (np.array([]), np.array([np.nan, np.inf]), np.array([2.0, -1.0, np.nan])):
        check(sort_finite(values), values)
        check(_radix_finite(values), values)


@settings(max_examples=300, deadline=None)
@given(
    arrays(
        np.float64,
        st.integers(0, 300),
        elements=st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(SPECIAL),
    )
)
def test_the_kernel_on_any_floats(values: np.ndarray) -> None:
    check(_radix_finite(values), values)
