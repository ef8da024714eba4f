"""Incremental drift detectors: compiled kernels behind thin classes, free of any I/O.

``KSWIN`` is imported on first use: its p-values come from ``scipy.stats``, which takes
longer to import than every other detector together, and the streaming monitor never
needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stream_monitor._numba import defer_blas_probe
from stream_monitor.detectors.adwin import ADWIN
from stream_monitor.detectors.ddm import DDM
from stream_monitor.detectors.hddm_a import HDDMA
from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.detectors.page_hinkley import PageHinkley
from stream_monitor.detectors.scores import Score
from stream_monitor.detectors.window import (
    CategoricalReference,
    HistogramDrift,
    NumericReference,
    WindowResult,
)

defer_blas_probe()  # before any kernel compiles or loads (see stream_monitor._numba)

if TYPE_CHECKING:
    from stream_monitor.detectors.kswin import KSWIN

__all__ = [
    "ADWIN",
    "DDM",
    "HDDMA",
    "KSWIN",
    "CategoricalReference",
    "CategoricalSketch",
    "HistogramDrift",
    "NumericReference",
    "NumericSketch",
    "PageHinkley",
    "Score",
    "WindowResult",
]


def __getattr__(name: str) -> Any:
    if name == "KSWIN":
        from stream_monitor.detectors.kswin import KSWIN

        return KSWIN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
