"""Stream a file (Parquet, CSV or NDJSON) through the pipeline, as if it were one partition.

The file's rows are cut into batches of ``batch_size`` rows; a row's offset is its row
number. The rows skip JSON parsing (they are typed already) but take every other step a
Kafka record takes: the same field checks (a value of the wrong type, a required field
absent or null: the row is dead-lettered with its reason and counted), detectors, windows,
alert ids and rate limits. Alerts go to the ``alerts`` sink, dead letters to the
``dead_letters`` sink if given; both are flushed after every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from stream_monitor.io import iter_file_batches, scan_data
from stream_monitor.stream.pipeline import Counters, DeadLetter, Pipeline
from stream_monitor.stream.sinks import Sink


def batches(path: str | Path, columns: list[str], batch_size: int) -> Iterator[pl.DataFrame]:
    """The file's rows in order, ``batch_size`` at a time (the last batch may be shorter)."""
    pending: list[pl.DataFrame] = []
    held = 0
    for frame in iter_file_batches(path, columns):
        pending.append(frame)
        held += frame.height
        while held >= batch_size:
            joined = pl.concat(pending)
            yield joined.slice(0, batch_size)
            rest = joined.slice(batch_size)
            pending, held = ([rest] if rest.height else []), rest.height
    if held:
        yield pl.concat(pending)


def run_file(
    pipeline: Pipeline,
    path: str | Path,
    alerts: Sink[dict[str, Any]],
    *,
    batch_size: int,
    max_records: int | None = None,
    progress: Callable[[int], None] | None = None,
    dead_letters: Sink[DeadLetter] | None = None,
) -> Counters:
    """Stream the file at ``path`` through ``pipeline`` into the sinks."""
    available = set(scan_data(path).collect_schema().names())
    wanted = [name for name in pipeline.decoder.schema.names() if name in available]
    topic = Path(path).name
    offset = 0
    for frame in batches(path, wanted, batch_size):
        if max_records is not None and offset + frame.height > max_records:
            frame = frame.slice(0, max_records - offset)
        offsets = np.arange(offset, offset + frame.height, dtype=np.int64)
        raised, dead = pipeline.process_rows(topic, 0, frame, offsets)
        for alert in raised:
            alerts.add(alert)
        alerts.flush()
        if dead_letters is not None and dead:
            for letter in dead:
                dead_letters.add(letter)
            dead_letters.flush()
        offset += frame.height
        if progress is not None:
            progress(offset)
        if max_records is not None and offset >= max_records:
            break
    return pipeline.counters
