"""DDM (drift detection method), identical to ``river.drift.binary.DDM``, with a whole-batch kernel.

This module also holds the small base class of the binary detectors that raise warnings
(DDM and HDDMA): their input is an error indicator in [0, 1], and besides drift they report
river's ``warning_detected`` flag.
"""

from __future__ import annotations

import abc
import math
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from stream_monitor.detectors._base import DriftDetector, as_values, drain

# Int state (flags) shared by the binary detectors: drift flag (reset pending before the next
# value), skipped values, warning flag.
_DRIFT, _SKIPPED, _WARNING = range(3)

# Float state of DDM: the running mean of river's ``stats.Mean`` (count, mean), and the
# error rate, its standard deviation and their sum at the minimum of ``p + s``.
_N, _MEAN, _P_MIN, _S_MIN, _PS_MIN = range(5)


@njit(cache=True)
def _first_outside_unit(values: NDArray[np.float64]) -> int:
    """Return the position of the first finite value outside [0, 1], or -1."""
    for i in range(values.shape[0]):
        x = values[i]
        if (x < 0.0 or x > 1.0) and np.isfinite(x):
            return i
    return -1


class BinaryDriftAndWarningDetector(DriftDetector):
    """A detector over error indicators in [0, 1] that also raises warnings.

    Subclasses keep the warning flag at ``flags[2]`` and implement ``_kernel``, which writes
    drift positions ``i`` and, when asked to record warnings, warning positions as ``-(i + 1)``
    into the same buffer, so one compiled loop serves both ``update_many`` methods.
    """

    @property
    def warning_detected(self) -> bool:
        """Whether the last finite value fed in put the detector in its warning zone."""
        return bool(self._state["flags"][_WARNING])

    def update_many_with_warnings(
        self, values: ArrayLike
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Feed a batch; return the positions of drift and those where a warning was raised.

        A position is a warning position when ``warning_detected`` would read ``True`` right
        after that value, as when feeding the values one by one to river.
        """
        encoded = self._checked_run(as_values(values), record_warnings=True)
        return encoded[encoded >= 0], -encoded[encoded < 0] - 1

    def _run(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        return self._checked_run(values, record_warnings=False)

    def _checked_run(self, values: NDArray[np.float64], record_warnings: bool) -> NDArray[np.int64]:
        # Checked before the kernel runs, so a rejected batch leaves the state untouched.
        bad = _first_outside_unit(values)
        if bad >= 0:
            raise ValueError(
                f"{type(self).__name__} takes error indicators in [0, 1]; "
                f"got {float(values[bad])!r} at position {bad}"
            )
        return drain(
            lambda start, out: self._kernel(values, start, out, record_warnings), len(values)
        )

    @abc.abstractmethod
    def _kernel(
        self, values: NDArray[np.float64], start: int, out: NDArray[np.int64], record: bool
    ) -> tuple[int, int]:
        """Run the compiled kernel from ``start``; return ``(written, next_start)``."""


@njit(cache=True, error_model="numpy")
def _ddm_kernel(
    values: NDArray[np.float64],
    start: int,
    out: NDArray[np.int64],
    record_warnings: bool,
    warm_start: float,
    warning_threshold: float,
    drift_threshold: float,
    f: NDArray[np.float64],
    flags: NDArray[np.int64],
) -> tuple[int, int]:
    n_out = 0
    n = f[_N]
    mean = f[_MEAN]
    p_min = f[_P_MIN]
    s_min = f[_S_MIN]
    ps_min = f[_PS_MIN]
    drift = flags[_DRIFT]
    skipped = flags[_SKIPPED]
    warning = flags[_WARNING]
    i = start
    # Two free slots: a step may write a warning and a drift (see HDDMA; DDM writes one).
    while i < values.shape[0] and n_out + 1 < out.shape[0]:
        x = values[i]
        i += 1
        if not np.isfinite(x):
            skipped += 1
            continue
        if drift:
            n = 0.0
            mean = 0.0
            p_min = np.nan
            s_min = np.nan
            ps_min = np.inf
            drift = 0
            warning = 0
        # river.stats.Mean: n += w; mean += (w / n) * (x - mean)
        n += 1.0
        mean += (1.0 / n) * (x - mean)
        s = math.sqrt(mean * (1.0 - mean) / n)
        # Before the warm start river leaves both flags as they are: False since the reset.
        if n > warm_start:
            ps = mean + s
            if ps <= ps_min:
                p_min = mean
                s_min = s
                ps_min = p_min + s_min
            warning = 1 if ps > p_min + warning_threshold * s_min else 0
            if ps > p_min + drift_threshold * s_min:
                drift = 1
                warning = 0
                out[n_out] = i - 1
                n_out += 1
            elif warning and record_warnings:
                out[n_out] = -i  # position i - 1, encoded as -(position + 1)
                n_out += 1
    f[_N] = n
    f[_MEAN] = mean
    f[_P_MIN] = p_min
    f[_S_MIN] = s_min
    f[_PS_MIN] = ps_min
    flags[_DRIFT] = drift
    flags[_SKIPPED] = skipped
    flags[_WARNING] = warning
    return n_out, i


class DDM(BinaryDriftAndWarningDetector):
    """Drift detection method on an error rate, identical to ``river.drift.binary.DDM``.

    Parameters
    ----------
    warm_start
        Number of values seen (since the last reset) before the test may signal anything.
    warning_threshold
        Multiple of the standard deviation at the minimum of ``p + s`` above which the error
        rate ``p + s`` puts the detector in its warning zone.
    drift_threshold
        Multiple of that standard deviation above which drift is signalled.

    The input is an error indicator: 1 for an error, 0 for a correct prediction (any value in
    [0, 1] is accepted; a finite value outside it raises ``ValueError`` and leaves the state
    unchanged). After a detection the state is reset at the start of the next update, as in
    river. Right after a reset a short run of correct predictions drives the tracked standard
    deviation to zero, so the first error can signal drift at once; river behaves the same.

    Examples
    --------
    >>> import numpy as np
    >>> from stream_monitor.detectors.ddm import DDM
    >>> rng = np.random.default_rng(42)
    >>> stream = np.concatenate([rng.random(2000) < 0.2, rng.random(2000) < 0.5])
    >>> DDM().update_many(stream)
    array([2095])
    """

    def __init__(
        self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0
    ) -> None:
        self.warm_start = warm_start
        self.warning_threshold = warning_threshold
        self.drift_threshold = drift_threshold
        super().__init__()

    @property
    def threshold(self) -> float:
        """``drift_threshold``, under the name every detector gives its threshold."""
        return float(self.drift_threshold)

    def _fresh_state(self) -> dict[str, NDArray[Any]]:
        floats = np.array([0.0, 0.0, np.nan, np.nan, np.inf], dtype=np.float64)
        return {"floats": floats, "flags": np.zeros(3, dtype=np.int64)}

    def _kernel(
        self, values: NDArray[np.float64], start: int, out: NDArray[np.int64], record: bool
    ) -> tuple[int, int]:
        result: tuple[int, int] = _ddm_kernel(
            values,
            start,
            out,
            record,
            float(self.warm_start),
            float(self.warning_threshold),
            float(self.drift_threshold),
            self._state["floats"],
            self._state["flags"],
        )
        return result

    def _params(self) -> dict[str, Any]:
        return {
            "warm_start": self.warm_start,
            "warning_threshold": self.warning_threshold,
            "drift_threshold": self.drift_threshold,
        }

    def _params_array(self) -> NDArray[np.float64]:
        return np.array(
            [self.warm_start, self.warning_threshold, self.drift_threshold], dtype=np.float64
        )
