"""Settings of ``stream-monitor run``: the ``stream:`` section of the YAML config.

Command-line flags override the file; the defaults are documented in
``config/stream.example.yaml``. Every error names the file and key, or the flag.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from stream_monitor.config import read_section
from stream_monitor.detectors.methods import method_names
from stream_monitor.engine.dataset import MonitorSettings
from stream_monitor.errors import ConfigError
from stream_monitor.settings import STREAM_ADWIN, STREAM_PAGE_HINKLEY, STREAM_WINDOW_ROWS

SECTION = "stream"
GUARANTEES = ("at_least_once", "exactly_once")
#: Config keys spelled otherwise than their setting (``global`` is a Python keyword).
_CONFIG_NAMES = {"global_windows": "global"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: object, where: str) -> int:
    """A duration such as ``500ms``, ``10s``, ``1m``, ``2h`` or ``1d``, in milliseconds.

    >>> duration_ms("1m", "x"), duration_ms("2.5s", "x"), duration_ms(0, "x")
    (60000, 2500, 0)
    """
    if isinstance(text, int) and not isinstance(text, bool) and text == 0:
        return 0
    found = _DURATION.match(text) if isinstance(text, str) else None
    if found is None:
        raise ConfigError(f"{where}: expected a duration such as 500ms, 10s, 1m, 2h or 1d")
    return round(float(found[1]) * _UNIT_MS[found[2]])


@dataclass(frozen=True)
class GlobalSettings:
    """Global windows (``stream.global``): event-time windows merged over every partition.

    ``window_ms`` is the tumbling window; ``lateness_ms`` how long after a window's end a
    partition's records may still fall in it; a partition that reports nothing for
    ``idle_timeout_ms`` of wall-clock time stops holding windows back; an incident resolves
    after ``resolve_after`` clean windows in a row.
    """

    window_ms: int = 60_000
    lateness_ms: int = 10_000
    idle_timeout_ms: int = 60_000
    resolve_after: int = 3

    @classmethod
    def from_config(cls, value: object, where: str) -> GlobalSettings | None:
        """``stream.global`` as written: null/false (off), true (defaults) or a mapping of
        ``window``, ``allowed_lateness``, ``idle_timeout`` and ``resolve_after``."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected true, false or a mapping")
        known = {"window", "allowed_lateness", "idle_timeout", "resolve_after"}
        for key in value:
            if key not in known:
                raise ConfigError(
                    f"{where}.{key}: unknown key; expected one of {', '.join(sorted(known))}"
                )
        default = cls()
        out = cls(
            duration_ms(value["window"], f"{where}.window")
            if "window" in value
            else default.window_ms,
            duration_ms(value["allowed_lateness"], f"{where}.allowed_lateness")
            if "allowed_lateness" in value
            else default.lateness_ms,
            duration_ms(value["idle_timeout"], f"{where}.idle_timeout")
            if "idle_timeout" in value
            else default.idle_timeout_ms,
            value.get("resolve_after", default.resolve_after),
        )
        if out.window_ms < 1:
            raise ConfigError(f"{where}.window: must be positive")
        if (
            isinstance(out.resolve_after, bool)
            or not isinstance(out.resolve_after, int)
            or out.resolve_after < 1
        ):
            raise ConfigError(f"{where}.resolve_after: must be a positive integer")
        return out


@dataclass(frozen=True)
class StreamSettings:
    """Everything ``stream-monitor run`` needs to know."""

    monitor: str = "stream-monitor"
    # The model whose traffic this is: the ``model`` label of every metric.
    model: str = "default"
    profile: str | None = None
    bootstrap_servers: str = "127.0.0.1:31092"
    input_topics: tuple[str, ...] = ()
    alert_topic: str = "stream-monitor.alerts"
    dead_letter_topic: str = "stream-monitor.dead-letters"
    state_topic: str = "stream-monitor.state"
    # Global windows: tier 1 publishes partials here; tier 2 keeps its state in the state
    # topic, beside tier 1's (docs/alerts.md).
    partials_topic: str = "stream-monitor.partials"
    global_windows: GlobalSettings | None = None
    group_id: str = "stream-monitor"
    processing_guarantee: str = "at_least_once"
    # Stable name of this instance; in exactly-once mode it makes the transactional id, so a
    # restarted instance fences its dead predecessor at once.
    instance_id: str = "0"
    batch_size: int = 20_000
    batch_timeout_s: float = 0.2
    commit_interval_s: float = 2.0
    max_payload_bytes: int = 1 << 20
    required_fields: tuple[str, ...] | None = None
    timestamp_field: str | None = None
    window_rows: int = STREAM_WINDOW_ROWS
    numeric_methods: dict[str, float | None] = field(default_factory=lambda: {"psi": None})
    categorical_methods: dict[str, float | None] = field(
        default_factory=lambda: {"jensen_shannon": None}
    )
    adwin: dict[str, Any] | None = field(default_factory=lambda: dict(STREAM_ADWIN))
    page_hinkley: dict[str, Any] | None = field(default_factory=lambda: dict(STREAM_PAGE_HINKLEY))
    concept_drift: bool = True
    repeat_after_rows: int = 100_000
    dead_letter_alert_share: float = 0.05
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    max_records: int | None = None
    # librdkafka settings, secrets resolved: never shown by repr(). ``kafka`` applies to
    # every client; the other two to consumers or producers only (librdkafka warns about a
    # consumer property given to a producer, and the other way round).
    kafka: dict[str, Any] = field(default_factory=dict, repr=False)
    kafka_consumer: dict[str, Any] = field(default_factory=dict, repr=False)
    kafka_producer: dict[str, Any] = field(default_factory=dict, repr=False)

    def monitor_settings(self) -> MonitorSettings:
        """The engine's view of these settings."""
        return MonitorSettings(
            window=self.window_rows,
            numeric_methods=self.numeric_methods,
            categorical_methods=self.categorical_methods,
            adwin=self.adwin,
            page_hinkley=self.page_hinkley,
            concept_drift=self.concept_drift,
            timestamp_field=self.timestamp_field,
        )


KEYS = tuple(_CONFIG_NAMES.get(f.name, f.name) for f in fields(StreamSettings))


def _check(settings: StreamSettings, where: dict[str, str]) -> StreamSettings:
    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{where.get(key, key)}: {why}")

    for key in ("monitor", "model"):
        value = getattr(settings, key)
        if not isinstance(value, str) or not value:
            raise fail(key, "must be a non-empty string")
    if settings.processing_guarantee not in GUARANTEES:
        raise fail("processing_guarantee", f"must be one of {', '.join(GUARANTEES)}")
    for key in ("batch_size", "window_rows", "repeat_after_rows", "max_payload_bytes"):
        value = getattr(settings, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise fail(key, f"must be a positive integer, got {value!r}")
    for key in ("batch_timeout_s", "commit_interval_s"):
        value = getattr(settings, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise fail(key, f"must be a positive number of seconds, got {value!r}")
    if not 0 < settings.dead_letter_alert_share <= 1:
        raise fail("dead_letter_alert_share", "must be in (0, 1]")
    for key, allowed in (
        ("numeric_methods", method_names("numeric", window=True)),
        ("categorical_methods", method_names("categorical", window=True)),
    ):
        methods = getattr(settings, key)
        if not isinstance(methods, dict) or not methods:
            raise fail(key, "must map method names to thresholds (null for the default)")
        for method, threshold in methods.items():
            if method not in allowed:
                raise fail(key, f"unknown method {method!r}; expected one of {', '.join(allowed)}")
            if threshold is not None and not isinstance(threshold, int | float):
                raise fail(key, f"threshold of {method} must be a number or null")
    for key in ("adwin", "page_hinkley"):
        value = getattr(settings, key)
        if value is not None and not isinstance(value, dict):
            raise fail(key, "must be a mapping of parameters, or false to turn it off")
    if settings.metrics_port is not None and not 0 <= settings.metrics_port <= 65535:
        raise fail("metrics_port", "must be a TCP port number")
    return settings


def kafka_settings(values: object, where: str) -> dict[str, Any]:
    """The ``kafka:`` mapping with every secret reference replaced by the secret.

    A value may be written ``{env: NAME}`` (read from the environment variable NAME) or
    ``{file: PATH}`` (the file's content, without its trailing newline), so that passwords
    stay out of the config file. Errors name the key and the variable or file, never a value.
    """
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: must be a mapping of librdkafka settings")
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        here = f"{where}.{key}"
        if isinstance(value, dict):
            resolved[key] = _secret(value, here)
        elif isinstance(value, str | int | float | bool):
            resolved[key] = value
        else:
            raise ConfigError(
                f"{here}: must be a string, number, boolean, {{env: NAME}} or {{file: PATH}}"
            )
    return resolved


def _secret(reference: dict[Any, Any], where: str) -> str:
    if len(reference) != 1 or not {"env", "file"} & set(reference):
        raise ConfigError(f"{where}: a secret reference is {{env: NAME}} or {{file: PATH}}")
    ((kind, name),) = reference.items()
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: {kind} must name a variable or file")
    if kind == "env":
        secret = os.environ.get(name)
        if not secret:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return secret
    try:
        secret = Path(name).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"{where}: cannot read secret file {name}: {reason}") from None
    if not secret:
        raise ConfigError(f"{where}: secret file {name} is empty")
    return secret


def load_stream_settings(
    path: str | Path | None, flags: dict[str, tuple[object, str]] | None = None
) -> StreamSettings:
    """Read the ``stream:`` section of ``path`` (if given) and apply ``flags`` over it.

    ``flags`` maps a setting to ``(value, flag name)``; a value of None means "not given".
    """
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    if path is not None:
        for key, value in read_section(Path(path), SECTION, KEYS).items():
            where[key] = f"{path}: {SECTION}.{key}"
            if key in ("adwin", "page_hinkley") and value is False:
                value = None
            elif key in ("adwin", "page_hinkley") and isinstance(value, dict):
                value = {**(STREAM_ADWIN if key == "adwin" else STREAM_PAGE_HINKLEY), **value}
            if key in ("input_topics", "required_fields") and isinstance(value, list):
                value = tuple(value)
            if key == "input_topics" and isinstance(value, str):
                value = (value,)
            if key in ("kafka", "kafka_consumer", "kafka_producer"):
                value = kafka_settings(value, where[key])
            if key == "global":
                key = "global_windows"
                value = GlobalSettings.from_config(value, where["global"])
            values[key] = value
    for key, (value, flag) in (flags or {}).items():
        if value is not None:
            values[key] = value
            where[key] = flag
    try:
        settings = replace(StreamSettings(), **values)
    except TypeError as error:
        raise ConfigError(f"{path}: {SECTION}: {error}") from error
    return _check(settings, where)
