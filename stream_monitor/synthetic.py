"""Synthetic traffic with a known drift, for the demo, the tests and the benchmarks.

Records look like a credit-scoring model's traffic: twelve numeric features of assorted
shapes (normal, lognormal, integer counts, bounded shares), two categorical features, a
binary target and the model's predicted probability. From row ``drift_at`` on, the
feature ``drift_feature`` shifts by ``drift_size`` of its standard deviation; nothing else
changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

NUMERIC_FEATURES = (
    "age",
    "income",
    "debt_ratio",
    "credit_lines",
    "late_payments",
    "utilization",
    "tenure_months",
    "balance",
    "inquiries",
    "savings",
    "spend_30d",
    "score_external",
)
CATEGORICAL_FEATURES = ("region", "channel")
REGIONS = ("north", "south", "east", "west", "central")
CHANNELS = ("web", "mobile", "branch", "partner")


@dataclass(frozen=True)
class Drift:
    """Where and how the traffic drifts: ``feature`` moves by ``size`` sd from ``at`` on."""

    feature: str = "income"
    at: int | None = None
    size: float = 1.0


def traffic(
    n: int,
    *,
    seed: int = 0,
    drift: Drift | None = None,
    start: int = 0,
    concept_at: int | None = None,
) -> pl.DataFrame:
    """``n`` records, rows ``start .. start + n - 1`` of a stream (drift positions count from 0).

    From row ``concept_at`` on, defaults become more likely than the model predicts (the
    true log-odds rise by 1.5 while the prediction does not change): concept drift.

    >>> frame = traffic(5, seed=1)
    >>> frame.columns[:3], frame.height
    (['id', 'age', 'income'], 5)
    """
    rng = np.random.default_rng([seed, start])
    cols: dict[str, np.ndarray] = {
        "age": rng.normal(42, 12, n).clip(18, 95),
        "income": rng.lognormal(10.5, 0.6, n),
        "debt_ratio": rng.beta(2, 5, n),
        "credit_lines": rng.poisson(4, n).astype(np.float64),
        "late_payments": rng.poisson(0.6, n).astype(np.float64),
        "utilization": rng.beta(1.5, 3, n),
        "tenure_months": rng.gamma(3, 20, n),
        "balance": rng.normal(5_000, 2_000, n),
        "inquiries": rng.poisson(1.5, n).astype(np.float64),
        "savings": rng.lognormal(8, 1.2, n),
        "spend_30d": rng.gamma(2, 400, n),
        "score_external": rng.normal(650, 80, n),
    }
    if drift is not None and drift.at is not None:
        rows = np.arange(start, start + n)
        moved = rows >= drift.at
        base = cols[drift.feature]
        cols[drift.feature] = np.where(moved, base + drift.size * _sd(drift.feature), base)
    logit = (
        -2.0
        + 1.5 * cols["debt_ratio"]
        + 0.8 * cols["late_payments"]
        + 1.2 * cols["utilization"]
        - (cols["score_external"] - 650) / 100
    )
    prob = 1 / (1 + np.exp(-logit))
    true_prob = prob
    if concept_at is not None:
        rows = np.arange(start, start + n)
        true_prob = np.where(rows >= concept_at, 1 / (1 + np.exp(-(logit + 1.5))), prob)
    frame = pl.DataFrame(
        {
            "id": np.arange(start, start + n, dtype=np.int64),
            **cols,
            "region": rng.choice(REGIONS, n, p=[0.3, 0.25, 0.2, 0.15, 0.1]),
            "channel": rng.choice(CHANNELS, n, p=[0.45, 0.35, 0.15, 0.05]),
            "default": rng.random(n) < true_prob,
            "predicted_default": np.round(prob + rng.normal(0, 0.05, n), 4).clip(0, 1),
        }
    )
    return frame


_SD = {
    "age": 12.0,
    "income": 28_400.0,
    "debt_ratio": 0.16,
    "credit_lines": 2.0,
    "late_payments": 0.77,
    "utilization": 0.19,
    "tenure_months": 34.6,
    "balance": 2_000.0,
    "inquiries": 1.22,
    "savings": 11_000.0,
    "spend_30d": 566.0,
    "score_external": 80.0,
}


def _sd(feature: str) -> float:
    return _SD[feature]
