"""The reference profile: building it from a data file, and storing it as Parquet.

The names below are imported when first used (PEP 562): importing one submodule, such as
``profile.model`` for the dataclasses, does not import the others (``profile.store`` brings
pyarrow, which ``check-drift`` on raw data does not need).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stream_monitor.profile.build import ProfileWarning, build_profile, profile_frame
    from stream_monitor.profile.model import (
        PROFILE_FORMAT_VERSION,
        CategoricalColumnProfile,
        ColumnKind,
        ColumnProfile,
        ColumnRole,
        NumericColumnProfile,
        Profile,
        ProfileMetadata,
    )
    from stream_monitor.profile.store import read_profile, write_profile

#: Each public name and the submodule that defines it.
_HOME = {
    "PROFILE_FORMAT_VERSION": "model",
    "CategoricalColumnProfile": "model",
    "ColumnKind": "model",
    "ColumnProfile": "model",
    "ColumnRole": "model",
    "NumericColumnProfile": "model",
    "Profile": "model",
    "ProfileMetadata": "model",
    "ProfileWarning": "build",
    "build_profile": "build",
    "profile_frame": "build",
    "read_profile": "store",
    "write_profile": "store",
}

__all__ = [
    "PROFILE_FORMAT_VERSION",
    "CategoricalColumnProfile",
    "ColumnKind",
    "ColumnProfile",
    "ColumnRole",
    "NumericColumnProfile",
    "Profile",
    "ProfileMetadata",
    "ProfileWarning",
    "build_profile",
    "profile_frame",
    "read_profile",
    "write_profile",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
