"""ADWIN (adaptive windowing), identical to ``river.drift.ADWIN``, with a whole-batch kernel.

The arithmetic follows river's compiled core operation for operation, so detection indices and
window state match bit for bit. These make it fast without changing a single result:

- the batch runs in one compiled call, with no per-value Python;
- while it runs, each row of buckets is a ring buffer, so merging the two oldest buckets of a
  row moves a head instead of shifting the row (the row is laid out again at the end);
- the clock is a countdown rather than a 64-bit division per value;
- the change scan first tests each cut point with a division-free lower bound on the cut
  threshold (valid for every cut point of the scan, with a wide safety margin for rounding),
  and evaluates river's exact formula only where that test cannot rule a cut out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from stream_monitor.detectors._base import DriftDetector, drain

_MAX_ROWS = 64  # row r holds buckets of 2**r values; 64 rows outlast any stream
_SIZES = 2.0 ** np.arange(_MAX_ROWS, dtype=np.float64)  # exact; a table beats pow() per merge
# Dividing by 2**r and multiplying by 2**-r round the same real number, so they give the same
# double; the multiplication is several times cheaper.
_INV_SIZES = 1.0 / _SIZES

# Float state.
_TOTAL, _VARIANCE, _WIDTH, _TOTAL_WIDTH = range(4)
# Int state (flags): drift flag, skipped values, then river's counters.
_DRIFT, _SKIPPED, _N_BUCKETS, _MAX_N_BUCKETS, _TICK, _N_DETECTIONS, _N_ROWS = range(7)

# Relative margin by which the cheap bound test must clear the bound before it may skip
# river's exact test. Rounding in either evaluation is below 1e-15 relative; 1e-9 is ample.
_MARGIN = 1e-9


@njit(cache=True, error_model="numpy", nogil=True)
def _unwind(
    totals: NDArray[np.float64],
    variances: NDArray[np.float64],
    counts: NDArray[np.int64],
    heads: NDArray[np.int64],
    rows: int,
) -> None:
    """Lay each ring-buffered row out from its first column again, the columns past its
    count zeroed: the layout river's buckets have, and the one snapshots hold."""
    full = totals.shape[1]
    t = np.empty(full, dtype=np.float64)
    v = np.empty(full, dtype=np.float64)
    for r in range(rows):
        h = heads[r]
        for j in range(full):
            k = h + j
            if k >= full:
                k -= full
            t[j] = totals[r, k]
            v[j] = variances[r, k]
        for j in range(full):
            if j < counts[r]:
                totals[r, j] = t[j]
                variances[r, j] = v[j]
            else:
                totals[r, j] = 0.0
                variances[r, j] = 0.0
        heads[r] = 0


@njit(cache=True, error_model="numpy", nogil=True)
def _adwin_kernel(
    values: NDArray[np.float64],
    start: int,
    out: NDArray[np.int64],
    delta: float,
    clock: int,
    max_buckets: int,
    mwl: float,
    grace_period: float,
    f: NDArray[np.float64],
    flags: NDArray[np.int64],
    totals: NDArray[np.float64],
    variances: NDArray[np.float64],
    counts: NDArray[np.int64],
) -> tuple[int, int]:
    n_out = 0
    total = f[_TOTAL]
    variance = f[_VARIANCE]
    width = f[_WIDTH]
    total_width = f[_TOTAL_WIDTH]
    drift = flags[_DRIFT]
    skipped = flags[_SKIPPED]
    n_buckets = flags[_N_BUCKETS]
    max_n_buckets = flags[_MAX_N_BUCKETS]
    tick = flags[_TICK]
    n_detections = flags[_N_DETECTIONS]
    n_rows = flags[_N_ROWS]
    full = max_buckets + 1
    # Each row is a ring buffer while the kernel runs: its oldest bucket sits at column
    # heads[row], and dropping buckets moves the head instead of the rest of the row.
    heads = np.zeros(_MAX_ROWS, dtype=np.int64)
    touched = n_rows
    # Values until river's ``tick % clock == 0``: a countdown, since a 64-bit division per
    # value costs more than the rest of the insertion.
    due = clock - tick % clock

    i = start
    while i < values.shape[0] and n_out < out.shape[0]:
        x = values[i]
        i += 1
        if not np.isfinite(x):
            skipped += 1
            continue
        if drift:
            # river throws the whole window away at the start of the next update.
            total = 0.0
            variance = 0.0
            width = 0.0
            total_width = 0.0
            n_buckets = 0
            max_n_buckets = 0
            tick = 0
            due = clock
            n_detections = 0
            for r in range(n_rows + 1):
                for j in range(full):
                    totals[r, j] = 0.0
                    variances[r, j] = 0.0
                counts[r] = 0
                heads[r] = 0
            n_rows = 1
            drift = 0

        # ---- insert_element(x, 0.0)
        c0 = counts[0]
        slot = heads[0] + c0
        if slot >= full:
            slot -= full
        totals[0, slot] = x
        variances[0, slot] = 0.0
        counts[0] = c0 + 1
        n_buckets += 1
        if n_buckets > max_n_buckets:
            max_n_buckets = n_buckets
        width += 1.0
        inc = 0.0
        if width > 1.0:
            d = x - total / (width - 1.0)
            inc = (width - 1.0) * d * d / width
        variance += inc
        total += x

        # ---- compress_buckets
        row = 0
        while counts[row] == full:
            n1 = _SIZES[row]
            h0 = heads[row]
            h1 = h0 + 1 if h0 + 1 < full else 0
            t0 = totals[row, h0]
            t1 = totals[row, h1]
            v0 = variances[row, h0]
            v1 = variances[row, h1]
            inv = _INV_SIZES[row]
            mu1 = t0 * inv
            mu2 = t1 * inv
            total12 = t0 + t1
            temp = n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
            v12 = v0 + v1 + temp
            if row + 1 >= n_rows:
                n_rows = row + 2
                if n_rows > touched:
                    touched = n_rows
            cn = counts[row + 1]
            slot = heads[row + 1] + cn
            if slot >= full:
                slot -= full
            totals[row + 1, slot] = total12
            variances[row + 1, slot] = v12
            counts[row + 1] = cn + 1
            n_buckets += 1
            # river's Bucket.compress: drop the two oldest of the row.
            h2 = h1 + 1 if h1 + 1 < full else 0
            heads[row] = h2
            counts[row] -= 2
            if counts[row + 1] <= max_buckets:
                break
            row += 1

        # ---- detect_change
        change = False
        tick += 1
        due -= 1
        if due == 0:
            due = clock
        if due == clock and width > grace_period:
            reduce_width = True
            while reduce_width:
                reduce_width = False
                n0 = 0.0
                n1 = width
                u0 = 0.0
                u1 = total
                dprime = math.log(2.0 * math.log(width) / delta)
                var_w = variance / width
                cut = False
                for r in range(n_rows - 1, -1, -1):
                    bucket_size = _SIZES[r]
                    cr = counts[r]
                    col = heads[r]
                    # A lower bound of river's eps over this row's cut points: m falls as n0
                    # or n1 grows, so take the largest of each within the row. NaN (say, from
                    # a variance rounded below zero) fails the bound test, and the exact
                    # test decides.
                    n0_max = n0 + cr * bucket_size
                    n1_max = n1 - bucket_size
                    eps_lo = 0.0
                    if n0_max >= mwl and n1_max >= mwl:
                        m_lo = 1.0 / (n0_max - mwl + 1.0) + 1.0 / (n1_max - mwl + 1.0)
                        eps_lo = (
                            math.sqrt(2.0 * m_lo * var_w * dprime) + 2.0 / 3.0 * dprime * m_lo
                        ) * (1.0 - _MARGIN)
                    for k in range(cr):
                        n0 += bucket_size
                        n1 -= bucket_size
                        t = totals[r, col]
                        col = col + 1 if col + 1 < full else 0
                        u0 += t
                        u1 -= t
                        if r == 0 and k == cr - 1:
                            break
                        if n1 >= mwl and n0 >= mwl:
                            # Cheap test: |u0/n0 - u1/n1| < eps_lo, multiplied by n0*n1.
                            lhs = abs(u0 * n1 - u1 * n0)
                            slack = (abs(u0) * n1 + abs(u1) * n0) * _MARGIN
                            if lhs + slack < eps_lo * n0 * n1:
                                continue
                            delta_mean = (u0 / n0) - (u1 / n1)
                            m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
                            eps = (
                                math.sqrt(2.0 * m_recip * (variance / width) * dprime)
                                + 2.0 / 3.0 * dprime * m_recip
                            )
                            if abs(delta_mean) > eps:
                                reduce_width = True
                                change = True
                                if width > 0.0:
                                    # ---- delete_element: drop the single oldest bucket
                                    last = n_rows - 1
                                    n = _SIZES[last]
                                    head = heads[last]
                                    u = totals[last, head]
                                    v = variances[last, head]
                                    mu = u * _INV_SIZES[last]
                                    width -= n
                                    total -= u
                                    mu_window = total / width
                                    variance -= v + n * width * (mu - mu_window) * (
                                        mu - mu_window
                                    ) / (n + width)
                                    heads[last] = head + 1 if head + 1 < full else 0
                                    counts[last] -= 1
                                    n_buckets -= 1
                                    if counts[last] == 0:
                                        n_rows -= 1
                                    cut = True
                                    break
                    if cut:
                        break
        total_width += width
        if change:
            n_detections += 1
            drift = 1
            out[n_out] = i - 1
            n_out += 1

    _unwind(totals, variances, counts, heads, touched)
    f[_TOTAL] = total
    f[_VARIANCE] = variance
    f[_WIDTH] = width
    f[_TOTAL_WIDTH] = total_width
    flags[_DRIFT] = drift
    flags[_SKIPPED] = skipped
    flags[_N_BUCKETS] = n_buckets
    flags[_MAX_N_BUCKETS] = max_n_buckets
    flags[_TICK] = tick
    flags[_N_DETECTIONS] = n_detections
    flags[_N_ROWS] = n_rows
    return n_out, i


class ADWIN(DriftDetector):
    """Adaptive windowing drift detector, identical to ``river.drift.ADWIN``.

    Parameters
    ----------
    delta
        Significance value of the cut test.
    clock
        The window is checked for a change every ``clock`` values.
    max_buckets
        Buckets of each size kept before two are merged (at least 2).
    min_window_length
        Smallest sub-window a cut may leave on either side.
    grace_period
        No check runs until the window holds more than this many values.

    As in river, after a detection the whole window is discarded at the start of the next
    update, so detection indices fall one short of a multiple of ``clock`` counted from the
    previous reset.

    Examples
    --------
    >>> import numpy as np
    >>> from stream_monitor.detectors import ADWIN
    >>> rng = np.random.default_rng(12345)
    >>> stream = np.concatenate([rng.integers(0, 2, 1000), rng.integers(4, 8, 1000)])
    >>> ADWIN().update_many(stream)
    array([1023])
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {delta}")
        if clock < 1:
            raise ValueError(f"clock must be at least 1, got {clock}")
        if max_buckets < 2:
            raise ValueError(f"max_buckets must be at least 2, got {max_buckets}")
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        super().__init__()

    def _fresh_state(self) -> dict[str, NDArray[Any]]:
        flags = np.zeros(7, dtype=np.int64)
        flags[_N_ROWS] = 1
        shape = (_MAX_ROWS, self.max_buckets + 1)
        return {
            "floats": np.zeros(4, dtype=np.float64),
            "flags": flags,
            "totals": np.zeros(shape, dtype=np.float64),
            "variances": np.zeros(shape, dtype=np.float64),
            "counts": np.zeros(_MAX_ROWS, dtype=np.int64),
        }

    def _run(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        s = self._state
        args = (
            float(self.delta),
            int(self.clock),
            int(self.max_buckets),
            float(self.min_window_length),
            float(self.grace_period),
            s["floats"],
            s["flags"],
            s["totals"],
            s["variances"],
            s["counts"],
        )
        return drain(lambda start, out: _adwin_kernel(values, start, out, *args), len(values))

    @property
    def threshold(self) -> float:
        """``delta``, under the name every detector gives its threshold."""
        return float(self.delta)

    @property
    def width(self) -> int:
        """Number of values in the current window."""
        return int(self._state["floats"][_WIDTH])

    @property
    def total(self) -> float:
        """Sum of the values in the current window."""
        return float(self._state["floats"][_TOTAL])

    @property
    def variance(self) -> float:
        """Sum of squared deviations kept by the window (river's ``variance``)."""
        return float(self._state["floats"][_VARIANCE])

    @property
    def estimation(self) -> float:
        """Mean of the current window."""
        width = self.width
        return 0.0 if width == 0 else self.total / width

    @property
    def n_detections(self) -> int:
        """Detections since the last reset (river restarts this count after each drift)."""
        return int(self._state["flags"][_N_DETECTIONS])

    def _params(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "clock": self.clock,
            "max_buckets": self.max_buckets,
            "min_window_length": self.min_window_length,
            "grace_period": self.grace_period,
        }

    def _params_array(self) -> NDArray[np.float64]:
        return np.array(list(self._params().values()), dtype=np.float64)
