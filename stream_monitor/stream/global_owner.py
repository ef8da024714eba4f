"""Tier 2 of the global windows: the owner of some features' keys on the partials topic.

For each feature it owns, the owner merges the partitions' window reports
(``engine.global_windows.GlobalColumn``) and folds alerts into incidents
(``engine.incidents``). It takes the records of its keys in the order of the partials topic
and returns the alert messages to publish: partition alerts that open or update an
incident, one global alert per verdict of a merged window that opens or updates one, and
the message that resolves an incident. It does no I/O; ``kafka_app`` feeds it and
publishes what it returns. Its state, per feature, is JSON (``snapshot``), kept in the
compacted global state topic.
"""

from __future__ import annotations

import json
from typing import Any

from stream_monitor.engine.global_windows import GlobalColumn, GlobalWindow, Report
from stream_monitor.engine.incidents import Decision, Incidents
from stream_monitor.engine.partials import WindowSpec
from stream_monitor.profile.model import NumericColumnProfile, Profile
from stream_monitor.stream import checkpoint
from stream_monitor.stream.alerts import build_global_alert, resolution_alert, with_incident
from stream_monitor.stream.settings import GlobalSettings, StreamSettings

Partition = tuple[str, int]

#: Version of the owner's per-feature state.
STATE_VERSION = 1


class GlobalOwner:
    """Tier 2 for the features whose keys this instance owns."""

    def __init__(self, profile: Profile, settings: StreamSettings, inputs: set[Partition]) -> None:
        if settings.global_windows is None:
            raise ValueError("global windows are off")
        self.profile = profile
        self.monitor = settings.monitor
        self.settings: GlobalSettings = settings.global_windows
        self.spec = WindowSpec(self.settings.window_ms, self.settings.lateness_ms)
        self.inputs = set(inputs)
        self.thresholds = {
            c.name: settings.numeric_methods
            if isinstance(c, NumericColumnProfile)
            else settings.categorical_methods
            for c in profile.columns
        }
        self.columns: dict[str, GlobalColumn] = {}
        self.incidents: dict[str, Incidents] = {}
        self.heard: dict[str, dict[Partition, float]] = {}  # wall-clock seconds
        self.late: dict[str, int] = {}  # late rows merged windows reported, not yet taken
        self._by_name = {c.name: c for c in profile.columns}

    def _column(self, feature: str) -> GlobalColumn | None:
        found = self.columns.get(feature)
        if found is None and feature in self._by_name:
            found = GlobalColumn(
                self._by_name[feature], self.spec, self.inputs, self.thresholds[feature]
            )
            self.columns[feature] = found
        return found

    def _incidents(self, feature: str) -> Incidents:
        found = self.incidents.get(feature)
        if found is None:
            found = Incidents(self.monitor, feature, self.settings.resolve_after)
            self.incidents[feature] = found
        return found

    # -- records ---------------------------------------------------------------------------
    def handle(self, feature: str, record: dict[str, Any], now_s: float) -> list[dict[str, Any]]:
        """One record of the partials topic under the feature's key; return what to publish."""
        if record["kind"] == "alert":
            alert = record["alert"]
            window = alert["window"]
            member = ("partition", int(window["partition"]), str(alert["detector"]))
            decision = self._incidents(feature).alert(
                alert["type"], member, int(record["event_ms"])
            )
            return [] if decision is None else [_with(alert, decision)]
        report = Report.from_json(record)
        self.heard.setdefault(feature, {})[report.partition] = now_s
        column = self._column(feature)
        if column is None:
            return []
        return self._publish(feature, column.offer(report))

    def expire(self, now_s: float) -> list[dict[str, Any]]:
        """Declare idle the partitions not heard from for the idle timeout; return what the
        windows this completes publish."""
        out: list[dict[str, Any]] = []
        timeout = self.settings.idle_timeout_ms / 1000
        for feature, column in sorted(self.columns.items()):
            heard = self.heard.setdefault(feature, {})
            # A partition never heard from is timed from the first time it holds one back.
            waiting = column.waiting_for()
            idle = {p for p in waiting if now_s - heard.setdefault(p, now_s) > timeout}
            if idle:
                out += self._publish(feature, column.expire(idle))
        return out

    def _publish(self, feature: str, windows: list[GlobalWindow]) -> list[dict[str, Any]]:
        incidents = self._incidents(feature)
        out = []
        for window in windows:
            self.late[feature] = self.late.get(feature, 0) + window.late_rows
            drifted = set()
            for event in window.events:
                drifted.add(event.type)
                alert = build_global_alert(
                    self.monitor,
                    event,
                    start_ms=window.start,
                    end_ms=window.end,
                    rows=window.rows,
                    partitions=window.partitions,
                    late_rows=window.late_rows,
                )
                # Every global verdict is one member: one global alert per incident.
                decision = incidents.alert(event.type, ("global", -1, ""), window.start)
                if decision is not None:
                    out.append(_with(alert, decision))
            for type_, decision in incidents.window(window.start, window.end, drifted):
                message = resolution_alert(
                    self.monitor,
                    type_,
                    feature,
                    decision.incident,
                    start_ms=window.start,
                    end_ms=window.end,
                    clean_windows=self.settings.resolve_after,
                )
                out.append(_with(message, decision))
        return out

    # -- state -----------------------------------------------------------------------------
    def open_incidents(self) -> set[tuple[str, str]]:
        """The (type, feature) with an open incident."""
        return {
            (type_, feature)
            for feature, incidents in self.incidents.items()
            for type_ in incidents.open
        }

    def take_late(self) -> dict[str, int]:
        """Late rows per feature since the last call."""
        late, self.late = self.late, {}
        return late

    def snapshot(self, feature: str) -> bytes:
        """One feature's state, as bytes for the global state topic."""
        column = self.columns.get(feature)
        state = {
            "version": STATE_VERSION,
            "column": None if column is None else column.snapshot(),
            "incidents": self._incidents(feature).snapshot(),
        }
        return json.dumps(state, separators=(",", ":")).encode()

    def restore(self, feature: str, blob: bytes) -> None:
        """Continue a feature from its ``snapshot``."""
        state = json.loads(blob)
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"global state version {state.get('version')} is not {STATE_VERSION}")
        if state["column"] is not None:
            column = self._column(feature)
            if column is not None:
                column.restore(state["column"])
        self._incidents(feature).restore(state["incidents"])

    def drop(self, feature: str) -> None:
        """Forget a feature (its key went to another owner)."""
        self.columns.pop(feature, None)
        self.incidents.pop(feature, None)
        self.heard.pop(feature, None)


def _with(alert: dict[str, Any], decision: Decision) -> dict[str, Any]:
    return with_incident(
        alert,
        decision.incident,
        decision.status,
        decision.sequence,
        decision.members,
        decision.folded,
    )


class OwnerPartition:
    """Tier 2 for one partition of the partials topic: the owner of the keys in it, and
    where in the partition it stands. Its checkpoint goes to the state topic as a tier-1
    partition's does (``checkpoint.encode``), tagged with the next offset to read."""

    def __init__(self, owner: GlobalOwner) -> None:
        self.owner = owner
        self.next_offset: int | None = None

    def checkpoint(self) -> bytes:
        """The state of every feature seen in this partition."""
        features = sorted(set(self.owner.columns) | set(self.owner.incidents))
        states = {f: json.loads(self.owner.snapshot(f)) for f in features}
        return checkpoint.encode({}, {"next_offset": self.next_offset, "features": states})

    def restore(self, blob: bytes) -> None:
        """Continue from a ``checkpoint()``."""
        _, meta = checkpoint.decode(blob)
        self.next_offset = meta["next_offset"]
        for feature, state in meta["features"].items():
            self.owner.restore(feature, json.dumps(state).encode())
