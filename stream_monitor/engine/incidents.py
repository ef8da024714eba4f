"""Incidents: one open incident per (type, feature) instead of an alert per partition,
detector and window. No I/O here.

The tier-2 owner of a feature (``stream.global_owner``) sees, in the order its partials
topic partition holds them, the alerts the partitions raised for the feature and the
verdicts of the feature's merged global windows:

- the first alert of a type when none is open **opens** an incident; its id is derived
  from the monitor, type, feature and how many incidents of that type came before, so a
  replay or another number of instances gives the same ids;
- an alert from a partition or detector the incident has not heard from yet makes it
  spread; when the number of distinct (scope, partition, detector) that alerted reaches 2,
  4, 8, 16, ... the alert is published as an **update** (``status: "update"``); every other
  alert is folded in silently and counted (``folded``), so an incident on 48 partitions
  and 3 detectors publishes 9 messages, not 144; the first verdict of a merged global window
  is always published (every global verdict counts as one member: one global alert per
  incident);
- a global window with no alert of the type and no drift verdict for it is **clean**;
  after ``resolve_after`` clean windows in a row the incident **resolves**. Windows that end
  before the incident's earliest alert are not judged.

An alert counts for the window its event time falls in. Tier 1 queues a partition's alert
before the report that closes the alert's window, and never dates an alert before what it
already reported closed, so every alert of a window reaches the owner before the window can
be merged: whether a window is clean does not depend on timing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

Member = tuple[str, int, str]  # scope, partition (-1: global), detector


def incident_id(monitor: str, type_: str, feature: str, number: int) -> str:
    """The id of the ``number``-th incident (from 0) of a type on a feature.

    >>> incident_id("m", "feature_drift", "income", 0)
    '8c7005e65b3ce7dbbf4c40bd9e153866'
    """
    key = json.dumps([monitor, type_, feature, number], separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class Incident:
    """One open incident."""

    id: str
    number: int
    members: set[Member] = field(default_factory=set)
    sequence: int = 0  # messages published about it so far
    folded: int = 0  # alerts folded in without a message
    alert_times: list[int] = field(default_factory=list)  # event times (ms) not yet judged
    clean: int = 0  # clean windows in a row
    first_ms: int = 2**62  # the earliest event time of its alerts: windows before are not judged

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "number": self.number,
            "members": sorted([list(m) for m in self.members]),
            "sequence": self.sequence,
            "folded": self.folded,
            "alert_times": self.alert_times,
            "clean": self.clean,
            "first_ms": self.first_ms,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incident:
        """Read back what ``to_json`` wrote."""
        return cls(
            data["id"],
            int(data["number"]),
            {(str(s), int(p), str(d)) for s, p, d in data["members"]},
            int(data["sequence"]),
            int(data["folded"]),
            [int(t) for t in data["alert_times"]],
            int(data["clean"]),
            int(data["first_ms"]),
        )


@dataclass(frozen=True)
class Decision:
    """What to publish about an alert or a window: the incident's id, the status
    (``open``, ``update`` or ``resolved``) and the message's sequence in the incident."""

    incident: str
    status: str
    sequence: int
    members: int
    folded: int


class Incidents:
    """The incidents of one feature, every type."""

    def __init__(self, monitor: str, feature: str, resolve_after: int) -> None:
        self.monitor = monitor
        self.feature = feature
        self.resolve_after = resolve_after
        self.open: dict[str, Incident] = {}
        self.opened: dict[str, int] = {}  # incidents opened so far, per type

    def alert(self, type_: str, member: Member, event_ms: int) -> Decision | None:
        """An alert of ``type_`` from ``member`` at event time ``event_ms``: the decision to
        publish it (opening or updating the incident), or None when it is folded in."""
        incident = self.open.get(type_)
        if incident is None:
            number = self.opened.get(type_, 0)
            self.opened[type_] = number + 1
            incident = Incident(incident_id(self.monitor, type_, self.feature, number), number)
            self.open[type_] = incident
            status = "open"
        else:
            status = "update"
        incident.alert_times.append(event_ms)
        incident.first_ms = min(incident.first_ms, event_ms)
        grew = member not in incident.members
        incident.members.add(member)
        first_global = grew and member[0] == "global"
        if (
            status == "update"
            and not first_global
            and not (grew and _power_of_two(len(incident.members)))
        ):
            incident.folded += 1
            return None
        decision = Decision(
            incident.id, status, incident.sequence, len(incident.members), incident.folded
        )
        incident.sequence += 1
        return decision

    def window(self, start: int, end: int, drifted: set[str]) -> list[tuple[str, Decision]]:
        """A merged global window ``[start, end)`` and the types it found drift of; return
        the incidents it resolves, as (type, decision) pairs."""
        resolved = []
        for type_, incident in sorted(self.open.items()):
            if end <= incident.first_ms:
                continue  # a window before the incident's first alert says nothing of it
            hit = any(start <= t < end for t in incident.alert_times) or type_ in drifted
            incident.alert_times = [t for t in incident.alert_times if t >= end]
            incident.clean = 0 if hit else incident.clean + 1
            if incident.clean >= self.resolve_after:
                resolved.append(
                    (
                        type_,
                        Decision(
                            incident.id,
                            "resolved",
                            incident.sequence,
                            len(incident.members),
                            incident.folded,
                        ),
                    )
                )
        for type_, _ in resolved:
            del self.open[type_]
        return resolved

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "open": {t: i.to_json() for t, i in sorted(self.open.items())},
            "opened": dict(sorted(self.opened.items())),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Replace the state by what ``snapshot`` returned."""
        self.open = {t: Incident.from_json(i) for t, i in state["open"].items()}
        self.opened = {t: int(n) for t, n in state["opened"].items()}


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0
