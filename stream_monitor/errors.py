"""Exceptions raised by stream-monitor.

The hierarchy::

    StreamMonitorError
    ├── UserInputError          bad input a user can fix; the CLI prints one line and exits 2
    │   ├── DataFileError       a data file is missing, unreadable, empty or of an unknown format
    │   ├── ColumnError         a column is missing, all-null, or of the wrong type
    │   ├── ConfigError         a config file or flag value is invalid
    │   └── ProfileFormatError  a file is not a profile, or was written by a newer format version
    └── StateError              a detector snapshot does not fit the detector it is restored into

Every ``UserInputError`` message names the file, column or flag it is about, so that
``str(error)`` alone tells the user what to fix.
"""

from __future__ import annotations


class StreamMonitorError(Exception):
    """Base class of every error stream-monitor raises on purpose."""


class UserInputError(StreamMonitorError):
    """Bad input that the user can fix; the CLI reports it in one line and exits with code 2."""


class DataFileError(UserInputError):
    """A data file is missing, unreadable, empty or of an unknown format."""


class ColumnError(UserInputError):
    """A column is missing, entirely null, or has a type that does not fit its role."""


class ConfigError(UserInputError):
    """A configuration file or a command-line flag holds an invalid value."""


class ProfileFormatError(UserInputError):
    """A file is not a stream-monitor profile, or its format version is newer than this build."""


class StateError(StreamMonitorError):
    """A detector snapshot does not match the detector it is being restored into."""
