"""The monitoring engine: column arrays in, drift events out. No I/O happens here."""

from stream_monitor.engine.column import ColumnMonitor, DriftEvent, RecentValues
from stream_monitor.engine.dataset import DatasetMonitor, Interleaved, MonitorSettings

__all__ = [
    "ColumnMonitor",
    "DatasetMonitor",
    "DriftEvent",
    "Interleaved",
    "MonitorSettings",
    "RecentValues",
]
