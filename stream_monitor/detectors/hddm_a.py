"""HDDMA (Hoeffding's bounds on moving averages), identical to ``river.drift.binary.HDDMA``.

The kernel keeps river's three running means (the global one and the two cut points) as
plain floats and copies them where river clones ``stats.Mean`` objects. The logarithms of the
confidences are taken once, in Python, by the same ``math.log`` river calls on every update.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from stream_monitor.detectors.ddm import BinaryDriftAndWarningDetector

# Float state: count and mean of the global mean, of the cut point tracking an increase
# (river's ``_x_min``) and of the one tracking a decrease (``_x_max``).
_Z_N, _Z_MEAN, _MIN_N, _MIN_MEAN, _MAX_N, _MAX_MEAN = range(6)
# Int state (flags): drift flag (reset pending before the next value), skipped values,
# warning flag.
_DRIFT, _SKIPPED, _WARNING = range(3)


@njit(cache=True, error_model="numpy", inline="always")
def _hoeffding_bound(n: float, log_inv_drift: float) -> float:
    # river: math.sqrt(1.0 / (2 * n) * math.log(1.0 / self.drift_confidence))
    return math.sqrt(1.0 / (2.0 * n) * log_inv_drift)


@njit(cache=True, error_model="numpy", inline="always")
def _bound(z_n: float, cut_n: float, log_two_inv: float) -> float:
    # river's _mean_incr / _mean_decr: eps for a confidence whose log(2 / confidence) is given.
    m = (z_n - cut_n) / cut_n * (1.0 / z_n)
    return math.sqrt(m / 2.0 * log_two_inv)


@njit(cache=True, error_model="numpy")
def _hddm_a_kernel(
    values: NDArray[np.float64],
    start: int,
    out: NDArray[np.int64],
    record_warnings: bool,
    two_sided: bool,
    log_inv_drift: float,
    log_two_inv_drift: float,
    log_two_inv_warning: float,
    f: NDArray[np.float64],
    flags: NDArray[np.int64],
) -> tuple[int, int]:
    n_out = 0
    z_n = f[_Z_N]
    z_mean = f[_Z_MEAN]
    min_n = f[_MIN_N]
    min_mean = f[_MIN_MEAN]
    max_n = f[_MAX_N]
    max_mean = f[_MAX_MEAN]
    drift = flags[_DRIFT]
    skipped = flags[_SKIPPED]
    warning = flags[_WARNING]
    i = start
    # Two free slots: with the two-sided test one value can raise a warning and a drift.
    while i < values.shape[0] and n_out + 1 < out.shape[0]:
        x = values[i]
        i += 1
        if not np.isfinite(x):
            skipped += 1
            continue
        if drift:
            z_n = 0.0
            z_mean = 0.0
            min_n = 0.0
            min_mean = 0.0
            max_n = 0.0
            max_mean = 0.0
            drift = 0
            warning = 0
        # river.stats.Mean: n += w; mean += (w / n) * (x - mean)
        z_n += 1.0
        z_mean += (1.0 / z_n) * (x - z_mean)
        if min_n == 0.0:
            min_n = z_n
            min_mean = z_mean
        if max_n == 0.0:
            max_n = z_n
            max_mean = z_mean

        eps_z = _hoeffding_bound(z_n, log_inv_drift)
        eps_x = _hoeffding_bound(min_n, log_inv_drift)
        if min_mean + eps_x >= z_mean + eps_z:
            min_n = z_n
            min_mean = z_mean
        eps_x = _hoeffding_bound(max_n, log_inv_drift)
        if max_mean - eps_x <= z_mean - eps_z:
            max_n = z_n
            max_mean = z_mean

        # An unchanged cut point (count equal to the global count) never signals.
        if min_n != z_n and z_mean - min_mean >= _bound(z_n, min_n, log_two_inv_drift):
            warning = 0
            drift = 1
        elif min_n != z_n and z_mean - min_mean >= _bound(z_n, min_n, log_two_inv_warning):
            warning = 1
            drift = 0
        else:
            warning = 0
            drift = 0
        if two_sided and max_n != z_n:
            # As in river, a decrease may add a flag but never clears one.
            if max_mean - z_mean >= _bound(z_n, max_n, log_two_inv_drift):
                drift = 1
            elif max_mean - z_mean >= _bound(z_n, max_n, log_two_inv_warning):
                warning = 1
        if warning and record_warnings:
            out[n_out] = -i  # position i - 1, encoded as -(position + 1)
            n_out += 1
        if drift:
            out[n_out] = i - 1
            n_out += 1
    f[_Z_N] = z_n
    f[_Z_MEAN] = z_mean
    f[_MIN_N] = min_n
    f[_MIN_MEAN] = min_mean
    f[_MAX_N] = max_n
    f[_MAX_MEAN] = max_mean
    flags[_DRIFT] = drift
    flags[_SKIPPED] = skipped
    flags[_WARNING] = warning
    return n_out, i


class HDDMA(BinaryDriftAndWarningDetector):
    """Hoeffding drift detection on moving averages, identical to ``river.drift.binary.HDDMA``.

    Parameters
    ----------
    drift_confidence
        Confidence level of the drift test.
    warning_confidence
        Confidence level of the warning test.
    two_sided_test
        If ``True``, decreases of the error rate are monitored as well as increases.

    The input is an error indicator: 1 for an error, 0 for a correct prediction (any value in
    [0, 1] is accepted; a finite value outside it raises ``ValueError`` and leaves the state
    unchanged, since Hoeffding's bound assumes it). After a detection the state is reset at the
    start of the next update, as in river. With the two-sided test a value can raise a warning
    (from one side) and drift (from the other) at once, as in river.

    Examples
    --------
    >>> import numpy as np
    >>> from stream_monitor.detectors.hddm_a import HDDMA
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.random(2000) < 0.2, rng.random(2000) < 0.5])
    >>> HDDMA().update_many(stream)
    array([2023])
    """

    def __init__(
        self,
        drift_confidence: float = 0.001,
        warning_confidence: float = 0.005,
        two_sided_test: bool = False,
    ) -> None:
        if not 0.0 < drift_confidence <= 1.0:
            raise ValueError(f"drift_confidence must be in (0, 1], got {drift_confidence}")
        if not 0.0 < warning_confidence <= 1.0:
            raise ValueError(f"warning_confidence must be in (0, 1], got {warning_confidence}")
        self.drift_confidence = drift_confidence
        self.warning_confidence = warning_confidence
        self.two_sided_test = two_sided_test
        super().__init__()

    @property
    def threshold(self) -> float:
        """``drift_confidence``, under the name every detector gives its threshold."""
        return float(self.drift_confidence)

    def _fresh_state(self) -> dict[str, NDArray[Any]]:
        return {"floats": np.zeros(6, dtype=np.float64), "flags": np.zeros(3, dtype=np.int64)}

    def _kernel(
        self, values: NDArray[np.float64], start: int, out: NDArray[np.int64], record: bool
    ) -> tuple[int, int]:
        result: tuple[int, int] = _hddm_a_kernel(
            values,
            start,
            out,
            record,
            bool(self.two_sided_test),
            math.log(1.0 / self.drift_confidence),
            math.log(2.0 / self.drift_confidence),
            math.log(2.0 / self.warning_confidence),
            self._state["floats"],
            self._state["flags"],
        )
        return result

    def _params(self) -> dict[str, Any]:
        return {
            "drift_confidence": self.drift_confidence,
            "warning_confidence": self.warning_confidence,
            "two_sided_test": self.two_sided_test,
        }

    def _params_array(self) -> NDArray[np.float64]:
        return np.array(
            [self.drift_confidence, self.warning_confidence, float(self.two_sided_test)],
            dtype=np.float64,
        )
