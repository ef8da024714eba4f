"""The engines that read data for ``profile`` and ``check-drift``: one record per engine.

``ENGINES[name]`` holds what the engine does for each job; the jobs look it up by the
``--engine`` name and know nothing else of it. ``polars`` reads files on this machine;
``spark`` runs on a Spark cluster (``docs/spark.md``) and is imported only when chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stream_monitor.batch.drift import DriftResult
    from stream_monitor.batch.settings import DriftSettings
    from stream_monitor.config import ProfileSettings
    from stream_monitor.profile.model import Profile

__all__ = ["ENGINES", "Engine"]

_Progress = Callable[[int, int], None] | None


@dataclass(frozen=True)
class Engine:
    """What an engine does: profile a data path; compare current data with a reference.

    ``profile(data, settings, bins_from, master)`` and ``check_drift(reference, current,
    settings, master, progress)``; ``master`` is the Spark master URL (Polars ignores it),
    ``progress(done, total)`` is called as columns complete (when the engine can say).
    ``ahead_of_drift(reference, current)`` is entered before the drift job's code is
    imported, and left when the job is done: what the engine can start meanwhile.
    """

    name: str
    profile: Callable[[Path, ProfileSettings, Profile | None, str | None], Profile]
    check_drift: Callable[[Path, Path, DriftSettings, str | None, _Progress], DriftResult]
    ahead_of_drift: Callable[[Path, Path], AbstractContextManager[None]]


def _polars_profile(
    data: Path, settings: ProfileSettings, bins_from: Profile | None, _: str | None
) -> Profile:
    from stream_monitor.profile.build import build_profile

    return build_profile(data, settings, bins_from=bins_from)


def _polars_drift(
    reference: Path, current: Path, settings: DriftSettings, _: str | None, progress: _Progress
) -> DriftResult:
    from stream_monitor._api import check_drift

    return check_drift(reference, current, config=settings, progress=progress)


def _polars_ahead(reference: Path, current: Path) -> AbstractContextManager[None]:
    """The current file's numeric columns are read while the job's code loads."""
    from stream_monitor.readahead import started

    return started(current, reference)


def _nothing_ahead(reference: Path, current: Path) -> AbstractContextManager[None]:
    return nullcontext()


def _spark_profile(
    data: Path, settings: ProfileSettings, bins_from: Profile | None, master: str | None
) -> Profile:
    from stream_monitor.spark._frames import read_data
    from stream_monitor.spark.profile import profile_spark

    frame = read_data(data, master)
    return profile_spark(frame, settings, source=str(data), bins_from=bins_from)


def _spark_drift(
    reference: Path, current: Path, settings: DriftSettings, master: str | None, _: _Progress
) -> DriftResult:
    from stream_monitor._inputs import open_reference
    from stream_monitor.batch.drift import check_drift_sketched
    from stream_monitor.errors import ConfigError
    from stream_monitor.profile.model import Profile
    from stream_monitor.spark._frames import read_data
    from stream_monitor.spark.drift import SparkCurrent

    profile = open_reference(reference)
    if not isinstance(profile, Profile):
        raise ConfigError(
            f"--reference-data-path {reference}: --engine spark compares with a profile; "
            "build one with `stream-monitor profile` (exact scores against raw reference "
            "data need --engine polars)"
        )
    frame = read_data(current, master)
    return check_drift_sketched(
        profile, SparkCurrent(frame, str(current)), settings, reference_source=str(reference)
    )


ENGINES: dict[str, Engine] = {
    "polars": Engine("polars", _polars_profile, _polars_drift, _polars_ahead),
    "spark": Engine("spark", _spark_profile, _spark_drift, _nothing_ahead),
}
