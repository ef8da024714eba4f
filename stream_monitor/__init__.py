"""stream-monitor: drift monitoring for ML traffic on Kafka and in batch jobs.

The Python API, for notebooks and for one's own consumers (``docs/python-api.md``)::

    import stream_monitor as sm

    result = sm.check_drift("train.parquet", current_df, target="label")
    result.dataset_drift, result.drifted_features
    result.save_html("drift.html")

    profile = sm.build_profile(train_df, target="label", prediction="score")
    monitor = sm.Monitor(profile)
    for alert in monitor.update(batch_df):
        print(alert.type, alert.feature, alert.detector)

Every name is loaded on first use, so that ``import stream_monitor`` (and with it the
command line's ``--help`` and the streaming path) imports none of the batch jobs' libraries.
"""

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "Baseline",
    "DegradationReport",
    "DriftResult",
    "Monitor",
    "PredictionReport",
    "Profile",
    "Schema",
    "ValidationReport",
    "__version__",
    "build_profile",
    "check_degradation",
    "check_drift",
    "load_profile",
    "monitor_predictions",
    "validate_schema",
]

# Public name -> the module defining it.
_LAZY = {
    "Alert": "stream_monitor._monitor",
    "Baseline": "stream_monitor.batch.degradation",
    "DegradationReport": "stream_monitor.batch.degradation",
    "DriftResult": "stream_monitor.batch.drift",
    "Monitor": "stream_monitor._monitor",
    "PredictionReport": "stream_monitor.batch.predictions",
    "Profile": "stream_monitor.profile.model",
    "Schema": "stream_monitor.batch.schema",
    "ValidationReport": "stream_monitor.batch.schema",
    "build_profile": "stream_monitor._api",
    "check_degradation": "stream_monitor._api",
    "check_drift": "stream_monitor._api",
    "load_profile": "stream_monitor._api",
    "monitor_predictions": "stream_monitor._api",
    "validate_schema": "stream_monitor._api",
}

if _typing.TYPE_CHECKING:
    from stream_monitor._api import (
        build_profile,
        check_degradation,
        check_drift,
        load_profile,
        monitor_predictions,
        validate_schema,
    )
    from stream_monitor._monitor import Alert, Monitor
    from stream_monitor.batch.degradation import Baseline, DegradationReport
    from stream_monitor.batch.drift import DriftResult
    from stream_monitor.batch.predictions import PredictionReport
    from stream_monitor.batch.schema import Schema, ValidationReport
    from stream_monitor.profile.model import Profile


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'stream_monitor' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # the next look-up is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
