"""Kafka messages as ``Part``s: a fetch's messages grouped by partition, errors apart."""

from __future__ import annotations

import itertools
import logging
from typing import cast

import numpy as np
from confluent_kafka import KafkaError, KafkaException, Message

from stream_monitor.stream.sources import Part, merge_runs

log = logging.getLogger("stream_monitor.run")


def parts(
    messages: list[Message], topics: tuple[str, ...], *, timestamps: bool = False
) -> list[Part]:
    """Values, offsets and keys of the messages (and their timestamps, in epoch ms, if
    asked), one ``Part`` per topic and partition.

    A consumer error in the batch is logged and left out (a fatal one raises). The
    per-message work is one C-level ``map`` per field: no Python code runs per message. A
    fetch returns long runs of one partition, so the groups are cut at run boundaries.
    """
    if any(map(Message.error, messages)):
        _log_errors(messages)
        messages = [m for m in messages if m.error() is None]
    if not messages:
        return []
    values = list(map(Message.value, messages))
    offsets = cast(list[int], list(map(Message.offset, messages)))
    keys = list(map(Message.key, messages))
    times = [t for _, t in map(Message.timestamp, messages)] if timestamps else None
    partitions = np.fromiter(map(Message.partition, messages), dtype=np.int64, count=len(messages))
    if len(topics) == 1:
        names = None
        change = partitions[1:] != partitions[:-1]
    else:
        names = cast(list[str], list(map(Message.topic, messages)))
        same_topic = np.array([a == b for a, b in itertools.pairwise(names)], dtype=bool)
        change = (partitions[1:] != partitions[:-1]) | ~same_topic
    cuts = [0, *(np.flatnonzero(change) + 1).tolist(), len(messages)]
    runs = [
        Part(
            (topics[0] if names is None else names[lo], int(partitions[lo])),
            values[lo:hi],
            offsets[lo:hi],
            keys[lo:hi],
            None if times is None else times[lo:hi],
        )
        for lo, hi in itertools.pairwise(cuts)
    ]
    return runs if len(runs) == 1 else merge_runs(runs)


def _log_errors(messages: list[Message]) -> None:
    for m in messages:
        error = m.error()
        if error is None or error.code() == KafkaError._PARTITION_EOF:
            continue
        if error.fatal():
            raise KafkaException(error)
        log.warning("consumer error", extra={"code": error.name(), "topic": m.topic()})
