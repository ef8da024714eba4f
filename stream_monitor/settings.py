"""Default detector parameters of the streaming monitor, and why they differ from river's.

The monitor feeds ADWIN and Page-Hinkley with each column standardised against the reference
(``(x - mean) / std``), so one set of parameters fits every column. river's Page-Hinkley
defaults fire about 600 times per million N(0, 1) values: its forgetting factor
``alpha = 1 - 1e-4`` keeps the cumulative sum wandering with a standard deviation of about 70,
well above its threshold of 50. With ``alpha = 1``, ``delta = 0.1`` and ``threshold = 100``
it raised no false alarm in 5M stationary values, and still caught a 0.25 sd mean shift
after a median of about 570 values. ADWIN with ``delta = 1e-5`` raised none in 5M values,
against about one per 2.5M values at river's ``delta = 0.002``.
``benchmarks/bench_quality.py`` measures both against river's defaults.
"""

from __future__ import annotations

from typing import Any

STREAM_ADWIN: dict[str, Any] = {
    "delta": 1e-5,
    "clock": 32,
    "max_buckets": 5,
    "min_window_length": 5,
    "grace_period": 10,
}

STREAM_PAGE_HINKLEY: dict[str, Any] = {
    "min_instances": 30,
    "delta": 0.1,
    "threshold": 100.0,
    "alpha": 1.0,
    "mode": "both",
}

#: DDM on the model's error indicators, for concept drift. river's ``warm_start=30`` lets DDM
#: fix its minimum error rate on the first few dozen values, which raised false alarms on
#: stationary error streams (2 in 1M values at a 10% error rate); after 1,000 values it
#: raised none.
STREAM_DDM: dict[str, Any] = {"warm_start": 1_000, "warning_threshold": 2.0, "drift_threshold": 3.0}

#: Rows per tumbling histogram window in the stream.
STREAM_WINDOW_ROWS = 10_000
