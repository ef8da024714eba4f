"""Page-Hinkley test, identical to ``river.drift.PageHinkley``, with a whole-batch kernel."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from stream_monitor.detectors._base import _OUT_CAPACITY, DriftDetector, drain

_MODES = {"up": 0, "down": 1, "both": 2}

# Float state: mean, n, sum_increase, sum_decrease, min_increase, max_decrease.
_MEAN, _N, _S_INC, _S_DEC, _MIN_INC, _MAX_DEC = range(6)
# Int state: drift flag (reset pending before the next value), skipped values.
_DRIFT, _SKIPPED = range(2)


@njit(cache=True)
def _fresh_floats(f: NDArray[np.float64]) -> None:
    f[_MEAN] = 0.0
    f[_N] = 0.0
    f[_S_INC] = 0.0
    f[_S_DEC] = 0.0
    f[_MIN_INC] = np.inf
    f[_MAX_DEC] = -1.0  # river starts the tracked maximum at -1, not -inf


@njit(cache=True, nogil=True)
def _page_hinkley_kernel(
    values: NDArray[np.float64],
    start: int,
    out: NDArray[np.int64],
    out_stat: NDArray[np.float64],
    min_instances: float,
    delta: float,
    threshold: float,
    alpha: float,
    mode: int,
    f: NDArray[np.float64],
    flags: NDArray[np.int64],
) -> tuple[int, int]:
    n_out = 0
    mean = f[_MEAN]
    n = f[_N]
    s_inc = f[_S_INC]
    s_dec = f[_S_DEC]
    min_inc = f[_MIN_INC]
    max_dec = f[_MAX_DEC]
    drift = flags[_DRIFT]
    skipped = flags[_SKIPPED]
    i = start
    while i < values.shape[0] and n_out < out.shape[0]:
        x = values[i]
        i += 1
        if not np.isfinite(x):
            skipped += 1
            continue
        if drift:
            mean = 0.0
            n = 0.0
            s_inc = 0.0
            s_dec = 0.0
            min_inc = np.inf
            max_dec = -1.0
            drift = 0
        # river.stats.Mean: n += w; mean += (w / n) * (x - mean)
        n += 1.0
        mean += (1.0 / n) * (x - mean)
        dev = x - mean
        s_inc = alpha * s_inc + dev - delta
        s_dec = alpha * s_dec + dev + delta
        if s_inc < min_inc:
            min_inc = s_inc
        if s_dec > max_dec:
            max_dec = s_dec
        if n >= min_instances:
            up = s_inc - min_inc > threshold
            down = max_dec - s_dec > threshold
            if (mode == 0 and up) or (mode == 1 and down) or (mode == 2 and (up or down)):
                drift = 1
                out[n_out] = i - 1
                # The distance that crossed the threshold, in the threshold's unit.
                out_stat[n_out] = max(
                    s_inc - min_inc if mode != 1 else -np.inf,
                    max_dec - s_dec if mode != 0 else -np.inf,
                )
                n_out += 1
    f[_MEAN] = mean
    f[_N] = n
    f[_S_INC] = s_inc
    f[_S_DEC] = s_dec
    f[_MIN_INC] = min_inc
    f[_MAX_DEC] = max_dec
    flags[_DRIFT] = drift
    flags[_SKIPPED] = skipped
    return n_out, i


class PageHinkley(DriftDetector):
    """Page-Hinkley test for a change in the mean, identical to ``river.drift.PageHinkley``.

    Parameters
    ----------
    min_instances
        Number of values seen before the test may signal drift.
    delta
        Magnitude of change tolerated by the cumulative sums.
    threshold
        Distance from the tracked extreme of a cumulative sum above which drift is signalled.
    alpha
        Forgetting factor of the cumulative sums.
    mode
        ``"up"`` for increases of the mean, ``"down"`` for decreases, ``"both"`` for either.

    After a detection the state is reset at the start of the next update, as in river.
    ``last_statistics`` holds, for each position the last ``update_many`` returned, the
    cumulative sum's distance from its extreme that crossed ``threshold``.
    On raw data the defaults fire often (about 600 times per million N(0, 1) values, as in
    river); the streaming monitor therefore feeds standardised values.

    Examples
    --------
    >>> import numpy as np
    >>> from stream_monitor.detectors import PageHinkley
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.normal(0, 0.1, 1000), rng.normal(1, 0.1, 1000)])
    >>> PageHinkley().update_many(stream)
    array([1050])
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"Invalid 'mode'. Valid values are: {list(_MODES)}")
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self.last_statistics: NDArray[np.float64] = np.empty(0)
        super().__init__()

    def _fresh_state(self) -> dict[str, NDArray[Any]]:
        floats = np.empty(6, dtype=np.float64)
        _fresh_floats(floats)
        return {"floats": floats, "flags": np.zeros(2, dtype=np.int64)}

    def _run(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        args = (
            float(self.min_instances),
            float(self.delta),
            float(self.threshold),
            float(self.alpha),
            _MODES[self.mode],
            self._state["floats"],
            self._state["flags"],
        )
        out_stat = np.empty(_OUT_CAPACITY, dtype=np.float64)
        stats: list[NDArray[np.float64]] = []

        def kernel(start: int, out: NDArray[np.int64]) -> tuple[int, int]:
            written, next_start = _page_hinkley_kernel(values, start, out, out_stat, *args)
            stats.append(out_stat[:written].copy())
            return written, next_start

        positions = drain(kernel, len(values))
        self.last_statistics = np.concatenate(stats) if len(stats) > 1 else stats[0]
        return positions

    def _params(self) -> dict[str, Any]:
        return {
            "min_instances": self.min_instances,
            "delta": self.delta,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "mode": self.mode,
        }

    def _params_array(self) -> NDArray[np.float64]:
        return np.array(
            [self.min_instances, self.delta, self.threshold, self.alpha, _MODES[self.mode]],
            dtype=np.float64,
        )
