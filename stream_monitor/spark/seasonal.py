"""Seasonal profiles on Spark (``profile --engine spark --seasonality``).

One more pass, as on the Polars engine: each partition counts its rows by slot and bin with
the Polars engine's own binning functions (``profile.build.season_plan``) and
``profile.seasonal.build``, and the driver adds the partitions' tables
(``Seasonality.merge``). Counts add exactly, so a Spark seasonal profile's per-slot counts
equal the Polars engine's over the same bins.
"""

from __future__ import annotations

from dataclasses import replace
from functools import reduce
from typing import TYPE_CHECKING

import polars as pl

from stream_monitor.config import ProfileSettings
from stream_monitor.errors import ColumnError
from stream_monitor.profile import seasonal
from stream_monitor.profile.build import season_plan
from stream_monitor.profile.model import Profile
from stream_monitor.spark._frames import map_partitions

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["with_seasons"]


def with_seasons(frame: DataFrame, profile: Profile, settings: ProfileSettings) -> Profile:
    """``profile`` with per-slot counts, if the settings ask for a seasonality."""
    plan = season_plan(profile, settings)
    if plan is None:
        return profile
    period, timestamp, binners = plan

    def count(data: pl.DataFrame) -> seasonal.Seasonality | str:
        try:
            return seasonal.build(period, timestamp, iter([data]), binners)
        except ValueError as error:
            # Said on the driver in one line, as the Polars engine says it.
            return str(error)

    parts = map_partitions(frame, count, list(dict.fromkeys([timestamp, *profile.names])))
    for part in parts:
        if isinstance(part, str):
            raise ColumnError(f"{profile.metadata.source}: {part}")
    counted = [part for part in parts if isinstance(part, seasonal.Seasonality)]
    return replace(profile, seasonality=reduce(seasonal.Seasonality.merge, counted))
