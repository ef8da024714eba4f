"""What a source hands the stream: one partition's messages at a time, as ``Part``s.

A Kafka consumer (``kafka_source``) and ``MemorySource`` (messages held in memory, for
tests and embedding) both give ``Part``s; ``processor.Processor`` takes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

Partition = tuple[str, int]


class Part(NamedTuple):
    """Consecutive messages of one partition, in offset order (``timestamps``: their
    record timestamps in epoch ms, when the source gives them)."""

    partition: Partition
    payloads: list[bytes | None]
    offsets: list[int]
    keys: list[bytes | None]
    timestamps: list[int] | None = None

    def skip(self, count: int) -> Part:
        """The part without its first ``count`` messages."""
        return Part(
            self.partition,
            self.payloads[count:],
            self.offsets[count:],
            self.keys[count:],
            None if self.timestamps is None else self.timestamps[count:],
        )


class MemorySource:
    """Messages held in memory, polled as a consumer fetches: each poll hands out up to
    ``max_messages``, in runs of up to ``run`` messages of one partition, the partitions
    taking turns. A partition's offsets are its list's indexes."""

    def __init__(
        self,
        messages: dict[Partition, Sequence[bytes | None]],
        *,
        keys: dict[Partition, Sequence[bytes | None]] | None = None,
        timestamps: dict[Partition, Sequence[int]] | None = None,
        run: int = 1000,
    ) -> None:
        if run < 1:
            raise ValueError("run must be at least 1")
        self.messages = messages
        self.keys = keys or {}
        self.timestamps = timestamps
        self.run = run
        self.next = dict.fromkeys(messages, 0)
        self._turn = itertools.cycle(sorted(messages))

    @property
    def exhausted(self) -> bool:
        """Every message was handed out."""
        return all(self.next[p] >= len(m) for p, m in self.messages.items())

    def poll(self, max_messages: int) -> list[Part]:
        """The next messages, at most ``max_messages`` of them (none once exhausted)."""
        parts: list[Part] = []
        left = max_messages
        while left > 0 and not self.exhausted:
            partition = next(self._turn)
            values = self.messages[partition]
            lo = self.next[partition]
            hi = min(len(values), lo + self.run, lo + left)
            if hi <= lo:
                continue
            keys = self.keys.get(partition)
            times = None if self.timestamps is None else list(self.timestamps[partition][lo:hi])
            parts.append(
                Part(
                    partition,
                    list(values[lo:hi]),
                    list(range(lo, hi)),
                    list(keys[lo:hi]) if keys is not None else [None] * (hi - lo),
                    times,
                )
            )
            self.next[partition] = hi
            left -= hi - lo
        return merge_runs(parts)


def merge_runs(parts: list[Part]) -> list[Part]:
    """One part per partition, its runs joined in the order they came (the first run of a
    partition takes the later ones' messages: the parts' lists are the caller's no more)."""
    grouped: dict[Partition, Part] = {}
    for part in parts:
        held = grouped.get(part.partition)
        if held is None:
            grouped[part.partition] = part
        else:
            held.payloads.extend(part.payloads)
            held.offsets.extend(part.offsets)
            held.keys.extend(part.keys)
            if held.timestamps is not None and part.timestamps is not None:
                held.timestamps.extend(part.timestamps)
    return list(grouped.values())
