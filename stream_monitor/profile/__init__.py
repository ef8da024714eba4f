"""The reference profile: building it from a data file, and storing it as Parquet."""

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
