"""The Spark engine of ``profile`` and ``check-drift`` (``--engine spark``).

Importing this package imports no PySpark; ``stream_monitor.spark._frames`` does, when a
session is asked for. See ``docs/spark.md``.
"""
