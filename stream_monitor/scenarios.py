"""Synthetic drift scenarios with a known change point, for the detection-quality harness and
the tests.

Each scenario is a reference frame and a live frame of mixed columns; in the live frame one
column changes at row ``change_at`` (``None``: nothing changes). The other columns stay
stationary, so any alert on them is a false alarm. ``make(name, seed)`` builds one; a shape
is a function of the seed only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

#: Rows of the reference and of the live data's stationary and changed parts.
REFERENCE_ROWS = 120_000
BEFORE = 200_000
AFTER = 200_000

_CATEGORIES = ("a", "b", "c", "d", "e")
_SHARES = np.array([0.4, 0.25, 0.15, 0.1, 0.1])


@dataclass(frozen=True)
class Scenario:
    """A reference, a live stream and where (and in which column) the live stream changes."""

    name: str
    reference: pl.DataFrame
    live: pl.DataFrame
    feature: str | None
    change_at: int | None


def _columns(rng: np.random.Generator, n: int, variant: int) -> dict[str, object]:
    """The stationary columns. ``variant`` picks other shapes, for streams not tuned on."""
    if variant == 0:
        return {
            "normal": rng.normal(10, 2, n),
            "heavy": rng.standard_t(3, n),
            "count": rng.poisson(3, n).astype(np.int64),
            "flag": rng.random(n) < 0.2,
            "city": rng.choice(np.array(_CATEGORIES), n, p=_SHARES),
            "amount": rng.lognormal(3, 1, n),
        }
    return {
        "normal": rng.gamma(4, 2.5, n),
        "heavy": rng.pareto(2.5, n),
        "count": rng.binomial(20, 0.3, n).astype(np.int64),
        "flag": rng.random(n) < 0.35,
        "city": rng.choice(np.array(_CATEGORIES), n, p=_SHARES[::-1]),
        "amount": rng.weibull(1.5, n) * 40,
    }


def _nulls(rng: np.random.Generator, values: np.ndarray, share: float) -> pl.Series:
    series = pl.Series(values)
    return series.scatter(np.flatnonzero(rng.random(len(values)) < share), None)


def _frame(columns: dict[str, object], rng: np.random.Generator, null_share: float) -> pl.DataFrame:
    frame = pl.DataFrame(columns)
    return frame.with_columns(_nulls(rng, frame["amount"].to_numpy(), null_share).alias("amount"))


def _pair(rng: np.random.Generator, n: int, rho: float) -> pl.DataFrame:
    """Two standard normal columns ``a`` and ``b`` with correlation ``rho``."""
    a = rng.normal(0, 1, n)
    b = rho * a + np.sqrt(1 - rho * rho) * rng.normal(0, 1, n)
    return pl.DataFrame({"a": a, "b": b})


def _change(name: str) -> tuple[str, Callable[[pl.DataFrame, np.random.Generator], pl.DataFrame]]:
    """The changed column and how the live data after the change point is remade."""

    def normal_scaled(shift_sd: float, var: float) -> Callable[..., pl.DataFrame]:
        def apply(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
            x = after["normal"].to_numpy()
            centre, sd = float(np.mean(x)), float(np.std(x))
            y = centre + (x - centre) * np.sqrt(var) + shift_sd * sd
            return after.with_columns(pl.Series("normal", y))

        return apply

    def spread_kept_median(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        a = after["amount"].to_numpy()
        median = np.nanmedian(a)
        y = median * (a / median) ** 1.25  # log-spread x1.25, median unchanged
        return after.with_columns(pl.Series("amount", y))

    def flag_rate(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        base = float(after["flag"].cast(pl.Float64).to_numpy().mean())
        return after.with_columns(pl.Series("flag", rng.random(after.height) < base * 1.3))

    def category_doubled(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        city = after["city"].to_numpy()
        shares = np.array([np.mean(city == c) for c in _CATEGORIES])
        k = int(np.argmin(np.abs(shares - 0.1)))  # a category at about 10 %
        new = shares * (1 - 2 * shares[k]) / (1 - shares[k])
        new[k] = 2 * shares[k]
        return after.with_columns(
            pl.Series("city", rng.choice(np.array(_CATEGORIES), after.height, p=new / new.sum()))
        )

    def new_category(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        city = after["city"].to_numpy().astype(object)
        city[rng.random(after.height) < 0.15] = "zz-new"
        return after.with_columns(pl.Series("city", city.astype(str)))

    def nulls_to(share: float) -> Callable[..., pl.DataFrame]:
        def apply(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
            values = after["amount"].fill_null(float("nan")).to_numpy()
            values = np.where(np.isnan(values), rng.lognormal(3, 1, len(values)), values)
            return after.with_columns(_nulls(rng, values, share).alias("amount"))

        return apply

    def flip(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        return after.with_columns(_pair(rng, after.height, -0.8))

    def all_null(after: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
        return after.with_columns(pl.lit(None, dtype=pl.Float64).alias("normal"))

    changes: dict[str, tuple[str, Callable[..., pl.DataFrame]]] = {
        "mean +0.3 sd": ("normal", normal_scaled(0.3, 1.0)),
        "variance x1.5": ("normal", normal_scaled(0.0, 1.5)),
        "spread x1.25, median kept": ("amount", spread_kept_median),
        "binary rate +30 %": ("flag", flag_rate),
        "category share doubled": ("city", category_doubled),
        "new category at 15 %": ("city", new_category),
        "nulls 1 % -> 10 %": ("amount", nulls_to(0.10)),
        "column all null": ("normal", all_null),
        "correlation flips sign": ("b", flip),
    }
    return changes[name]


SCENARIOS = (
    "mean +0.3 sd",
    "variance x1.5",
    "spread x1.25, median kept",
    "binary rate +30 %",
    "category share doubled",
    "new category at 15 %",
    "nulls 1 % -> 10 %",
    "column all null",
    "correlation flips sign",
    "stationary",
)


def make(name: str, seed: int, *, variant: int = 0) -> Scenario:
    """Build scenario ``name``: a 120k-row reference and 200k + 200k live rows."""
    rng = np.random.default_rng(seed)
    reference = _frame(_columns(rng, REFERENCE_ROWS, variant), rng, 0.01)
    before = _frame(_columns(rng, BEFORE, variant), rng, 0.01)
    after = _frame(_columns(rng, AFTER, variant), rng, 0.01)
    # Two correlated columns, drawn apart so that the others are the same with or without.
    pairs = np.random.default_rng([seed, 1])
    reference, before, after = (
        pl.concat([f, _pair(pairs, f.height, 0.8)], how="horizontal")
        for f in (reference, before, after)
    )
    if name == "stationary":
        return Scenario(name, reference, pl.concat([before, after]), None, None)
    feature, apply = _change(name)
    after = apply(after, rng)
    return Scenario(
        name, reference, pl.concat([before, after], how="vertical_relaxed"), feature, BEFORE
    )


def seasonal(
    seed: int, *, shift_sd: float = 0.0, seconds_per_row: float = 2.0, amplitude_sd: float = 2.0
) -> Scenario:
    """A column with a daily cycle, records in time order: the reference covers five days,
    the live stream the next nine; from live row 200,000 on, ``shift_sd`` is added to the
    cycle. The cycle's amplitude and the shift are in units of the column's noise sd.
    Timestamps are ISO 8601 strings in ``ts``."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-03-02T00:00:00")

    def frame(first: int, n: int, shift_from: int | None) -> pl.DataFrame:
        seconds = (first + np.arange(n)) * seconds_per_row
        hours = (seconds / 3600.0) % 24
        load = 50 + amplitude_sd * 5 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 5, n)
        if shift_from is not None:
            load[shift_from:] += shift_sd * 5
        stamps = start + (seconds * 1e6).astype("timedelta64[us]")
        text = np.datetime_as_string(stamps, unit="s")
        return pl.DataFrame(
            {"ts": [t + "Z" for t in text.tolist()], "load": load, "normal": rng.normal(0, 1, n)}
        )

    reference = frame(0, REFERENCE_ROWS * 2, None)
    shift = BEFORE if shift_sd else None
    live = frame(REFERENCE_ROWS * 2, BEFORE + AFTER, shift)
    return Scenario(
        "daily cycle" + (f", +{shift_sd} sd" if shift_sd else ""),
        reference,
        live,
        "load" if shift_sd else None,
        shift,
    )


def wide(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """``n`` stationary rows of 20 mixed columns: heavy tails, ties, integers, binary flags,
    low- and high-cardinality categories, and nulls at stable rates."""
    cities = np.array([f"city-{i:03d}" for i in range(400)])
    zipf = 1.0 / np.arange(1, 401) ** 1.1
    columns: dict[str, object] = {
        "normal": rng.normal(0, 1, n),
        "t3": rng.standard_t(3, n),
        "cauchy": rng.standard_cauchy(n),
        "pareto": rng.pareto(1.5, n),
        "lognormal": rng.lognormal(0, 2, n),
        "rounded": np.round(rng.normal(50, 10, n)),
        "poisson": rng.poisson(2, n).astype(np.int64),
        "dice": rng.integers(1, 7, n),
        "zero_heavy": np.where(rng.random(n) < 0.7, 0.0, rng.exponential(5, n)),
        "uniform": rng.random(n),
        "flag_rare": rng.random(n) < 0.03,
        "flag_even": rng.random(n) < 0.5,
        "grade": rng.choice(np.array(["A", "B", "C"]), n, p=[0.6, 0.3, 0.1]),
        "channel": rng.choice(np.array(["web", "app", "store", "phone", "partner"]), n),
        "city": rng.choice(cities, n, p=zipf / zipf.sum()),
        "bimodal": np.where(rng.random(n) < 0.4, rng.normal(-3, 1, n), rng.normal(3, 1, n)),
    }
    frame = pl.DataFrame(columns)
    with_nulls = {
        "income": (rng.lognormal(10, 0.5, n), 0.02),
        "score": (rng.beta(2, 5, n), 0.10),
        "age": (rng.integers(18, 90, n).astype(np.float64), 0.005),
        "segment": (rng.choice(np.array(["x", "y", "z"]), n), 0.05),
    }
    return frame.with_columns(
        _nulls(rng, values, share).alias(name) for name, (values, share) in with_nulls.items()
    )
