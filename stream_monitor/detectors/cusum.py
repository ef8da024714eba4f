"""Bernoulli CUSUM: many rate channels in one compiled call, with a provable false-alarm bound.

Each channel watches a stream of 0/1 indicators (is this value null? is this category the
one we track?) for a change of its rate from ``p0`` to ``p1``. Per value it adds the log
likelihood ratio ``x log(p1/p0) + (1 - x) log((1 - p1)/(1 - p0))`` to a statistic floored at
zero, and signals when the statistic exceeds ``threshold`` (in nats); the statistic then
starts again from zero. Page's CUSUM is the quickest detector of such a change (Lorden, 1971).

While the true rate is at most ``p0`` (at least, for a downward channel), the likelihood
ratio from any start is a non-negative supermartingale, so by Ville's inequality a false
alarm among ``N`` values has probability at most ``N * exp(-threshold)``, over all starts at
once. That is what lets one false-alarm budget be shared exactly by every channel: see
``threshold_for``.

Values that are NaN are skipped (a channel without an opinion on a record, e.g. the share of
out-of-range values on a null row).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from stream_monitor.errors import StateError


def threshold_for(channels: int, records: float = 1e7, false_alarms: float = 0.1) -> float:
    """The threshold (nats) that keeps ``channels`` CUSUMs over ``records`` values each to at
    most ``false_alarms`` expected false alarms in all: ``log(channels * records / budget)``.

    >>> round(threshold_for(100), 2)
    23.03
    """
    return math.log(max(channels, 1) * records / false_alarms)


@njit(cache=True, nogil=True)
def _cusum_coded_kernel(
    codes: NDArray[np.integer[Any]],
    rows: NDArray[np.int64],
    tables: NDArray[np.float64],
    up: NDArray[np.float64],
    down: NDArray[np.float64],
    threshold: float,
    stat: NDArray[np.float64],
    out_channel: NDArray[np.int64],
    out_position: NDArray[np.int64],
    out_stat: NDArray[np.float64],
) -> int:
    """Run every channel over the batch; return the number of signals.

    Channel ``c``'s value ``i`` is ``tables[c, codes[rows[c], i]]``: 0, 1 or NaN (skipped),
    so no value matrix is built and each code row serves every channel that reads it.
    ``up[c]`` and ``down[c]`` are the log likelihood ratios of a 1 and of a 0. Signals are
    written channel by channel; the output arrays are as long as the caller could need.
    """
    n_out = 0
    n = codes.shape[1]
    for c in range(rows.shape[0]):
        s = stat[c]
        a = up[c]
        b = down[c]
        r = rows[c]
        for i in range(n):
            x = tables[c, codes[r, i]]
            if x != x:
                continue
            s += x * a + (1.0 - x) * b
            if s < 0.0:
                s = 0.0
            elif s > threshold:
                out_channel[n_out] = c
                out_position[n_out] = i
                out_stat[n_out] = s
                n_out += 1
                s = 0.0
        stat[c] = s
    return n_out


class BernoulliCUSUM:
    """CUSUMs for a change in rate on several 0/1 channels at once.

    Parameters
    ----------
    p0
        Each channel's in-control rate (strictly between 0 and 1).
    p1
        Each channel's out-of-control rate: above ``p0`` watches for a rise, below for a fall.
    threshold
        Signal when a channel's log likelihood ratio statistic exceeds this (nats).

    Examples
    --------
    >>> import numpy as np
    >>> cusum = BernoulliCUSUM([0.01], [0.03], threshold=20.0)
    >>> rng = np.random.default_rng(7)
    >>> quiet = (rng.random((1, 50_000)) < 0.01).astype(float)
    >>> cusum.update_many(quiet)
    []
    >>> nulls = np.ones((1, 100))  # the column went all-null
    >>> [(c, pos, round(s, 1)) for c, pos, s in cusum.update_many(nulls)]
    [(0, 17, 20.8), (0, 36, 20.9), (0, 55, 20.9), (0, 74, 20.9), (0, 93, 20.9)]
    """

    def __init__(self, p0: ArrayLike, p1: ArrayLike, threshold: float) -> None:
        self.p0 = np.array(p0, dtype=np.float64, ndmin=1)
        self.p1 = np.array(p1, dtype=np.float64, ndmin=1)
        if self.p0.shape != self.p1.shape or self.p0.ndim != 1:
            raise ValueError("p0 and p1 must be 1-D arrays of the same length")
        for name, p in (("p0", self.p0), ("p1", self.p1)):
            if not np.all((p > 0.0) & (p < 1.0)):
                raise ValueError(f"{name} must lie strictly between 0 and 1")
        if np.any(self.p0 == self.p1):
            raise ValueError("p1 must differ from p0 in every channel")
        if not threshold > 0:
            raise ValueError("threshold must be positive")
        self.threshold = float(threshold)
        self._up = np.log(self.p1 / self.p0)
        self._down = np.log((1.0 - self.p1) / (1.0 - self.p0))
        self.stat = np.zeros(self.p0.shape[0], dtype=np.float64)

    @property
    def channels(self) -> int:
        """How many channels run."""
        return int(self.p0.shape[0])

    def update_many(self, values: ArrayLike) -> list[tuple[int, int, float]]:
        """Feed a ``(channels, n)`` batch of 0/1 values (NaN skipped); return each signal as
        ``(channel, position, statistic)``, ordered by channel then position."""
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] != self.channels:
            raise ValueError(f"values must have shape ({self.channels}, n), got {arr.shape}")
        codes = np.where(np.isnan(arr), 2, arr).astype(np.int8)  # 0, 1, or 2 for NaN
        table = np.tile([0.0, 1.0, np.nan], (self.channels, 1))
        return self.update_coded(codes, np.arange(self.channels, dtype=np.int64), table)

    def update_coded(
        self,
        codes: NDArray[np.integer[Any]],
        rows: NDArray[np.int64],
        tables: NDArray[np.float64],
    ) -> list[tuple[int, int, float]]:
        """As ``update_many``, with channel ``c``'s value ``i`` being
        ``tables[c, codes[rows[c], i]]`` (0, 1 or NaN): integer codes in (non-negative),
        no value matrix built."""
        codes = np.ascontiguousarray(codes)
        # A signal needs the statistic to grow past the threshold from zero, which takes at
        # least threshold / max step values: that bounds the number of signals per channel.
        size = self.channels * (codes.shape[1] // max(1, self._min_run()) + 1)
        out_c = np.empty(size, dtype=np.int64)
        out_p = np.empty(size, dtype=np.int64)
        out_s = np.empty(size, dtype=np.float64)
        n = _cusum_coded_kernel(
            codes,
            rows,
            tables,
            self._up,
            self._down,
            self.threshold,
            self.stat,
            out_c,
            out_p,
            out_s,
        )
        return [(int(out_c[k]), int(out_p[k]), float(out_s[k])) for k in range(n)]

    def _min_run(self) -> int:
        """The fewest values from zero to a signal: bounds the signals per channel."""
        step = float(max(np.max(self._up), np.max(self._down)))
        return int(self.threshold / step) if step > 0 else 1

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """The learned state (each channel's statistic) and the parameters it goes with."""
        return {
            "stat": self.stat.copy(),
            "params": np.concatenate([self.p0, self.p1, [self.threshold]]),
        }

    def restore(self, snapshot: dict[str, NDArray[Any]]) -> None:
        """Continue from a ``snapshot()`` taken with the same parameters."""
        params = np.concatenate([self.p0, self.p1, [self.threshold]])
        if set(snapshot) != {"stat", "params"} or not np.array_equal(snapshot["params"], params):
            raise StateError("BernoulliCUSUM snapshot was taken with other parameters")
        stat = np.asarray(snapshot["stat"], dtype=np.float64)
        if stat.shape != self.stat.shape:
            raise StateError("BernoulliCUSUM snapshot has the wrong number of channels")
        self.stat = stat.copy()
