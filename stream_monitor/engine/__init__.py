"""The monitoring engine: column arrays in, drift events out. No I/O happens here."""

from stream_monitor.engine.column import ColumnMonitor, DriftEvent, RecentValues

__all__ = ["ColumnMonitor", "DriftEvent", "RecentValues"]
