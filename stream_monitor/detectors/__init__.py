"""Incremental drift detectors: compiled kernels behind thin classes, free of any I/O."""

from stream_monitor.detectors.adwin import ADWIN
from stream_monitor.detectors.page_hinkley import PageHinkley

__all__ = ["ADWIN", "PageHinkley"]
