"""Incremental drift detectors: compiled kernels behind thin classes, free of any I/O."""

from stream_monitor.detectors.adwin import ADWIN
from stream_monitor.detectors.ddm import DDM
from stream_monitor.detectors.hddm_a import HDDMA
from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.detectors.kswin import KSWIN
from stream_monitor.detectors.page_hinkley import PageHinkley
from stream_monitor.detectors.scores import Score
from stream_monitor.detectors.window import (
    CategoricalReference,
    HistogramDrift,
    NumericReference,
    WindowResult,
)

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
