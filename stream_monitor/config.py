"""Settings read from the YAML config file, one section per job.

The file is a mapping of sections; each job parses its own section and leaves the others to
their jobs, so one file can serve every job. A section no job reads (``SECTIONS``), and within
a section an unknown key, are errors, reported with the file and the key. Command-line flags
win over the file, and errors about them name the flag.

The ``profile:`` section (see ``config/profile.example.yaml``)::

    profile:
      bins: 10                 # score bins; must divide sketch_bins
      sketch_bins: 100         # fine quantile bins kept in the profile
      top_k: 20                # categories kept per categorical column
      quantile_sample: 1000000 # rows sampled to place the quantile edges
      seed: 0                  # seed of that sample
      target: label            # optional: the column holding the target
      prediction: score        # optional: the column holding the model's output
      exclude: [id]            # columns left out of the profile
      kinds: {zip: categorical}  # per-column kind: numeric or categorical
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

import yaml

from stream_monitor.errors import ConfigError

__all__ = ["KIND_OVERRIDES", "KindOverride", "ProfileSettings", "load_profile_settings"]

KindOverride = Literal["numeric", "categorical"]
KIND_OVERRIDES: tuple[KindOverride, ...] = ("numeric", "categorical")

# Beyond this the edges would be finer than a million-row sample can place, and the profile's
# arrays would only grow.
_MAX_SKETCH_BINS = 10_000


@dataclass(frozen=True)
class ProfileSettings:
    """What ``stream-monitor profile`` computes; the defaults are those of the CLI.

    Examples
    --------
    >>> ProfileSettings(bins=10, sketch_bins=100).bins_per_score_bin
    10
    >>> ProfileSettings(bins=7)
    Traceback (most recent call last):
    ...
    stream_monitor.errors.ConfigError: bins 7 must divide sketch_bins 100
    """

    bins: int = 10
    sketch_bins: int = 100
    top_k: int = 20
    quantile_sample: int = 1_000_000
    seed: int = 0
    target: str | None = None
    prediction: str | None = None
    exclude: tuple[str, ...] = ()
    kinds: Mapping[str, KindOverride] = field(default_factory=dict)
    #: ``daily`` or ``weekly``: also count every column per time slot of ``timestamp``.
    seasonality: str | None = None
    timestamp: str | None = None
    #: Fit PCA on the numeric features, for multivariate drift.
    multivariate: bool = True

    def __post_init__(self) -> None:
        # Copies, so that a caller's list or dict cannot change a frozen settings object.
        if isinstance(self.exclude, list | tuple):
            object.__setattr__(self, "exclude", tuple(self.exclude))
        if isinstance(self.kinds, Mapping):
            object.__setattr__(self, "kinds", MappingProxyType(dict(self.kinds)))
        _check({key: getattr(self, key) for key in _KEYS}, {})

    @property
    def bins_per_score_bin(self) -> int:
        """Number of fine bins in one score bin."""
        return self.sketch_bins // self.bins


_SECTION = "profile"
_KEYS = tuple(f.name for f in fields(ProfileSettings))


def _positive_int(value: object, label: str, *, upper: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{label}: must be a positive integer, got {value!r}")
    if upper is not None and value > upper:
        raise ConfigError(f"{label}: must be at most {upper}, got {value!r}")
    return value


def _column_name(value: object, label: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label}: must be a column name, got {value!r}")
    return value


def _check(values: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """Raise ``ConfigError`` naming the offending key's label if ``values`` are invalid."""

    def label(key: str) -> str:
        return labels.get(key, key)

    bins = _positive_int(values["bins"], label("bins"))
    sketch_bins = _positive_int(values["sketch_bins"], label("sketch_bins"), upper=_MAX_SKETCH_BINS)
    _positive_int(values["top_k"], label("top_k"))
    _positive_int(values["quantile_sample"], label("quantile_sample"))
    seed = values["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{label('seed')}: must be a non-negative integer, got {seed!r}")
    if sketch_bins % bins:
        first, second = label("bins"), label("sketch_bins")
        # "cfg.yaml: profile.bins 7 must divide profile.sketch_bins 100": the file once.
        file = first.rpartition(": ")[0]
        if file and second.startswith(f"{file}: "):
            second = second.removeprefix(f"{file}: ")
        raise ConfigError(f"{first} {bins} must divide {second} {sketch_bins}")
    exclude = values["exclude"]
    if not isinstance(exclude, list | tuple):
        raise ConfigError(f"{label('exclude')}: must be a list of column names, got {exclude!r}")
    for name in exclude:
        _column_name(name, label("exclude"))
    for role in ("target", "prediction"):
        name = values[role]
        if name is not None:
            _column_name(name, label(role))
            if name in exclude:
                raise ConfigError(f"{label(role)}: column {name!r} is also excluded")
    if values["target"] is not None and values["target"] == values["prediction"]:
        raise ConfigError(f"{label('prediction')}: column {values['target']!r} is the target too")
    if not isinstance(values["multivariate"], bool):
        raise ConfigError(f"{label('multivariate')}: must be true or false")
    season, timestamp = values["seasonality"], values["timestamp"]
    if season is not None and season not in ("daily", "weekly"):
        raise ConfigError(f"{label('seasonality')}: must be daily or weekly, got {season!r}")
    if timestamp is not None:
        _column_name(timestamp, label("timestamp"))
    if season is not None and timestamp is None:
        raise ConfigError(f"{label('seasonality')}: needs a timestamp column (timestamp: ...)")
    kinds = values["kinds"]
    if not isinstance(kinds, Mapping):
        raise ConfigError(f"{label('kinds')}: must map column names to a kind, got {kinds!r}")
    for name, kind in kinds.items():
        _column_name(name, label("kinds"))
        if kind not in KIND_OVERRIDES:
            raise ConfigError(
                f"{label('kinds')}: kind of column {name!r} must be one of "
                f"{', '.join(KIND_OVERRIDES)}, got {kind!r}"
            )
        if name in exclude:
            raise ConfigError(f"{label('kinds')}: column {name!r} is also excluded")


def read_yaml(path: Path, what: str = "config file") -> object:
    """Parse the YAML file at ``path``; errors name the file (as ``what``) and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read {what}: {error}") from error
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        where = ""
        if error.problem_mark is not None:
            mark = error.problem_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        raise ConfigError(f"{path}: invalid YAML: {error.problem}{where}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from error


def config_schema() -> dict[str, Any]:
    """The config file's contract (``schemas/config.schema.json``): its sections and each
    section's keys. Jobs check the values of their own section."""
    text = resources.files("stream_monitor.schemas").joinpath("config.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


#: Every section a config file may hold, one per job (and ``input`` for reading data files),
#: as the contract lists them. One file serves every job: each reads its own section. A
#: name outside this list is a typo (``drfit:``), and an error, rather than a section that
#: silently does nothing.
SECTIONS = tuple(config_schema()["properties"])


def read_section(path: Path, name: str, keys: Collection[str]) -> dict[str, Any]:
    """Return the section ``name`` of the YAML config at ``path`` (empty when absent).

    The whole file is checked against ``config_schema()`` first, whichever job reads it: a
    section or a key the schema does not list is an error naming the file, the section and
    the key (with the likely spelling), so a typo in another job's section is caught as
    soon as any job reads the file. The section's values are the job's to check.
    """
    sections = config_schema()["properties"]
    if name not in SECTIONS or set(keys) != set(sections[name]["properties"]):
        raise ValueError(f"section {name!r} with these keys is not in schemas/config.schema.json")
    document = read_yaml(path)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    for top, section in document.items():
        if top not in sections:
            raise ConfigError(
                f"{path}: {top}: unknown section{_did_you_mean(str(top), SECTIONS)}; "
                f"expected one of {', '.join(SECTIONS)}"
            )
        if section is None:
            continue
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: {top}: expected a mapping of settings")
        known = tuple(sections[top]["properties"])
        for key in section:
            if key not in known:
                raise ConfigError(
                    f"{path}: {top}.{key}: unknown key{_did_you_mean(str(key), known)}; "
                    f"expected one of {', '.join(known)}"
                )
    section = document.get(name)
    if section is None:
        return {}
    return cast(dict[str, Any], section)


def _did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


#: The config section of the options of reading data files, shared by every job.
INPUT_SECTION = "input"


def read_null_values(path: str | Path) -> tuple[str, ...]:
    """The CSV null tokens of the config file's ``input.null_values`` list (none if unset)."""
    tokens = read_section(Path(path), INPUT_SECTION, ("null_values",)).get("null_values", [])
    if not isinstance(tokens, list) or not all(
        isinstance(t, str | int) and not isinstance(t, bool) for t in tokens
    ):
        raise ConfigError(f"{path}: {INPUT_SECTION}.null_values: must be a list of strings")
    return tuple(str(t) for t in tokens)


def _section(path: Path) -> dict[str, Any]:
    """Return the ``profile:`` section of the config file (empty when absent)."""
    return read_section(path, _SECTION, _KEYS)


def _from_yaml(key: str, value: object, label: str) -> object:
    """Convert a YAML value to the type of the field ``key``."""
    if key == "exclude":
        if not isinstance(value, list):
            raise ConfigError(f"{label}: must be a list of column names, got {value!r}")
        return tuple(value)
    if key == "kinds":
        if not isinstance(value, dict):
            raise ConfigError(f"{label}: must map column names to a kind, got {value!r}")
        return dict(value)
    return value


def load_profile_settings(
    path: str | Path | None = None,
    *,
    flags: Mapping[str, tuple[object, str]] | None = None,
) -> ProfileSettings:
    """Read the ``profile:`` section of the YAML file at ``path`` and apply ``flags`` over it.

    ``flags`` maps a setting to ``(value, flag name)``; a value of None means the flag was not
    given; the columns of an ``exclude`` flag add to those of the file. Errors name the flag,
    or the file and the key, that holds the bad value.
    """
    values: dict[str, object] = {}
    labels: dict[str, str] = {}
    if path is not None:
        for key, value in _section(Path(path)).items():
            label = f"{path}: {_SECTION}.{key}"
            values[key] = _from_yaml(key, value, label)
            labels[key] = label
    for key, (value, flag) in (flags or {}).items():
        if key not in _KEYS:
            raise ValueError(f"no profile setting named {key!r}")
        if value is not None:
            if key == "exclude" and isinstance(value, tuple):
                # Columns excluded by flag add to those of the file.
                earlier = cast(tuple[str, ...], values.get(key, ()))
                value = tuple(dict.fromkeys([*earlier, *value]))
            values[key] = value
            labels[key] = flag
    defaults = ProfileSettings()
    merged: dict[str, Any] = {key: values.get(key, getattr(defaults, key)) for key in _KEYS}
    for key in _KEYS:
        labels.setdefault(key, f"the default {key}")
    _check(merged, labels)
    return ProfileSettings(**merged)
