"""How a share seen in the reference becomes a Bernoulli CUSUM channel, and the shared budget.

A share measured on ``n`` reference rows is itself uncertain. A channel watching for a rise
starts from the upper end of the share's confidence interval (Wilson's score interval at
``CONFIDENCE_Z`` standard errors), one watching for a fall from the lower end: then the
CUSUM's false-alarm bound holds as long as the live share stays within the interval, which
sampling noise (of the reference and of the live data) alone does not move it out of.

The rate the channel is tuned to detect is a change that matters: a rise to
``max(RISE_FACTOR * p, p + RISE_MIN)`` (a share that triples, or grows by two points when
tiny), a fall to ``p / FALL_FACTOR``. A CUSUM tuned to one change still detects larger ones
sooner, and smaller ones later.

Every channel of a monitor shares one threshold, from the false-alarm budget: at most
``FALSE_ALARMS`` expected false alarms per ``BUDGET_RECORDS`` stationary records over all the
monitor's rate channels (``detectors.cusum.threshold_for``).
"""

from __future__ import annotations

import math

CONFIDENCE_Z = 3.29  # one-sided 0.05 % tail
RISE_FACTOR = 3.0
RISE_MIN = 0.02
SHARE_FACTOR = 1.3  # category shares: rises and falls by 30 % relative
BUDGET_RECORDS = 1e7
FALSE_ALARMS = 0.1


def wilson_bound(successes: float, n: float, *, upper: bool) -> float:
    """One end of Wilson's score interval for a share of ``successes`` in ``n``.

    >>> round(wilson_bound(0, 120_000, upper=True), 7)
    9.02e-05
    >>> round(wilson_bound(1_200, 120_000, upper=False), 4)
    0.0091
    """
    if n <= 0:
        return 1.0 if upper else 0.0
    z = CONFIDENCE_Z
    p = successes / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    bound = (centre + half if upper else centre - half) / (1 + z * z / n)
    return min(max(bound, 0.0), 1.0)


def rise_channel(successes: float, n: float) -> tuple[float, float] | None:
    """``(p0, p1)`` of a channel watching a share for a rise, or None if it cannot rise."""
    p0 = max(wilson_bound(successes, n, upper=True), 1e-9)
    if p0 >= 0.98:
        return None
    p1 = min(max(RISE_FACTOR * p0, p0 + RISE_MIN), (1 + p0) / 2)
    return p0, p1


def share_channels(successes: float, n: float) -> list[tuple[float, float]]:
    """``(p0, p1)`` of the two channels watching a category's share for a 30 % change."""
    out = []
    hi = wilson_bound(successes, n, upper=True)
    if hi * SHARE_FACTOR < 1:
        out.append((hi, hi * SHARE_FACTOR))
    lo = wilson_bound(successes, n, upper=False)
    if lo > 0:
        out.append((lo, lo / SHARE_FACTOR))
    return out
