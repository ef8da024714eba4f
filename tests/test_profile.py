"""The reference profile: its numbers against numpy and Polars, its file, config and CLI."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from data_files import write_data
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from stream_monitor.cli import main
from stream_monitor.config import ProfileSettings, load_profile_settings
from stream_monitor.errors import ColumnError, ConfigError, DataFileError, ProfileFormatError
from stream_monitor.profile import (
    PROFILE_FORMAT_VERSION,
    CategoricalColumnProfile,
    NumericColumnProfile,
    Profile,
    ProfileWarning,
    build_profile,
    profile_frame,
    read_profile,
    write_profile,
)
from stream_monitor.profile.build import _sample_positions
from stream_monitor.profile.store import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
FORMATS = (".csv", ".parquet", ".ndjson")


# -- helpers -----------------------------------------------------------------------------


def _bin_counts(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int64]:
    """Counts of the finite ``values`` in NumericSketch's bins, computed with numpy alone."""
    x = values[np.isfinite(values)]
    m = edges.shape[0]
    index = np.searchsorted(edges, x, side="right")
    index[x == edges[-1]] = m - 1  # the last interior bin is closed
    return np.bincount(index, minlength=m + 1).astype(np.int64)


def _numeric(profile: Profile, name: str) -> NumericColumnProfile:
    column = profile.column(name)
    assert isinstance(column, NumericColumnProfile)
    return column


def _categorical(profile: Profile, name: str) -> CategoricalColumnProfile:
    column = profile.column(name)
    assert isinstance(column, CategoricalColumnProfile)
    return column


@pytest.fixture
def mixed() -> pl.DataFrame:
    """2,000 rows: a float with gaps, an integer, a string, a boolean, a target and a score."""
    rng = np.random.default_rng(42)
    n = 2000
    x = rng.normal(10.0, 3.0, size=n)
    return pl.DataFrame(
        {
            "x": x,
            "k": rng.integers(-50, 50, size=n),
            "city": rng.choice(["paris", "lyon", "nice", "brest", "metz"], size=n).tolist(),
            "flag": (rng.random(n) < 0.3).tolist(),
            "label": rng.integers(0, 2, size=n),
            "score": rng.random(n),
        }
    )


# -- numeric columns -----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_numeric_counts_quantiles_and_moments_match_numpy(
    tmp_path: Path, mixed: pl.DataFrame, suffix: str
) -> None:
    """From every format: exact quantiles, bin counts and moments equal numpy's."""
    profile = build_profile(write_data(mixed, tmp_path / f"data{suffix}"))
    x = mixed["x"].to_numpy()
    column = _numeric(profile, "x")
    probs = np.arange(101) / 100
    np.testing.assert_array_equal(column.quantile_probs, probs)
    np.testing.assert_array_equal(column.quantiles, np.quantile(x, probs))
    np.testing.assert_array_equal(column.edges, np.unique(np.quantile(x, probs)))
    assert (column.edges[0], column.edges[-1]) == (x.min(), x.max())
    np.testing.assert_array_equal(column.counts, _bin_counts(x, column.edges))
    assert column.counts[0] == column.counts[-1] == 0
    assert (column.count, column.finite_count, column.min, column.max) == (
        2000,
        2000,
        x.min(),
        x.max(),
    )
    assert column.mean == pytest.approx(x.mean(), rel=1e-12)
    assert column.std == pytest.approx(x.std(ddof=0), rel=1e-9)


def test_nulls_nans_and_infinities_are_counted_apart(tmp_path: Path) -> None:
    """Nulls, NaN and ±inf are counted separately and kept out of bins, moments and range."""
    rng = np.random.default_rng(3)
    finite = rng.exponential(2.0, size=997)
    values: list[float | None] = [*finite.tolist(), None, None, math.nan]
    values[10:10] = [math.inf, -math.inf, math.inf]
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.Float64)})
    column = _numeric(build_profile(write_data(frame, tmp_path / "gaps.parquet")), "v")
    assert (column.count, column.null_count, column.nan_count) == (1003, 2, 1)
    assert (column.pos_inf_count, column.neg_inf_count, column.finite_count) == (2, 1, 997)
    assert (column.min, column.max) == (finite.min(), finite.max())
    np.testing.assert_array_equal(column.quantiles, np.quantile(finite, column.quantile_probs))
    np.testing.assert_array_equal(column.counts, _bin_counts(finite, column.edges))
    assert column.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert column.std == pytest.approx(finite.std(), rel=1e-9)


def test_integer_column_with_nulls_is_numeric(tmp_path: Path) -> None:
    """An integer column with nulls is numeric; its nulls are nulls, not NaN."""
    frame = pl.DataFrame({"k": pl.Series([1, 2, None, 4, 4, 4], dtype=pl.Int32)})
    column = _numeric(build_profile(write_data(frame, tmp_path / "k.csv")), "k")
    assert (column.null_count, column.nan_count, column.finite_count) == (1, 0, 5)
    assert column.mean == pytest.approx(3.0)


def test_sketch_of_a_column_counts_its_reference_like_the_profile(
    tmp_path: Path, mixed: pl.DataFrame
) -> None:
    """Counting the reference into ``column.sketch()`` reproduces the profile's counts."""
    column = _numeric(build_profile(write_data(mixed, tmp_path / "d.parquet")), "x")
    sketch = column.sketch()
    assert sketch.n == 0
    sketch.update_many(mixed["x"].to_numpy())
    np.testing.assert_array_equal(sketch.counts, column.counts)


def test_score_bins_are_unions_of_fine_bins(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """Score edges are the deciles, and mapping fine counts through them counts into them."""
    column = _numeric(build_profile(write_data(mixed, tmp_path / "d.parquet")), "x")
    x = mixed["x"].to_numpy()
    expected_edges = np.unique(np.quantile(x, np.arange(11) / 10))
    np.testing.assert_array_equal(column.score_edges, expected_edges)
    assert set(column.score_edges) <= set(column.edges)
    mapping = column.score_bin_of_fine
    assert mapping.shape == (column.edges.shape[0] + 1,)
    assert (mapping[0], mapping[-1]) == (0, expected_edges.shape[0])
    assert np.all(np.diff(mapping) >= 0)
    np.testing.assert_array_equal(column.score_counts, _bin_counts(x, expected_edges))
    assert column.score_counts.sum() == 2000


def test_ties_collapse_edges_and_keep_the_mapping_consistent(tmp_path: Path) -> None:
    """A column with heavy ties gets fewer, strictly increasing edges and a consistent map."""
    values = np.repeat([0.0, 1.0, 2.0, 5.0], [700, 100, 150, 50])
    frame = pl.DataFrame({"t": values})
    settings_ = ProfileSettings(bins=4, sketch_bins=20)
    column = _numeric(build_profile(write_data(frame, tmp_path / "t.parquet"), settings_), "t")
    np.testing.assert_array_equal(column.edges, np.unique(column.quantiles))
    assert np.all(np.diff(column.edges) > 0)
    np.testing.assert_array_equal(column.counts, _bin_counts(values, column.edges))
    score_edges = np.unique(column.quantiles[::5])
    np.testing.assert_array_equal(column.score_edges, score_edges)
    np.testing.assert_array_equal(column.score_counts, _bin_counts(values, score_edges))


def test_constant_column_gets_one_bin(tmp_path: Path) -> None:
    """A constant column's edges are the value and the next double, holding every row."""
    frame = pl.DataFrame({"c": [3.5] * 40})
    column = _numeric(build_profile(write_data(frame, tmp_path / "c.csv")), "c")
    np.testing.assert_array_equal(column.edges, [3.5, np.nextafter(3.5, np.inf)])
    np.testing.assert_array_equal(column.counts, [0, 40, 0])
    np.testing.assert_array_equal(column.score_bin_of_fine, [0, 1, 2])
    assert (column.min, column.max, column.mean, column.std) == (3.5, 3.5, 3.5, 0.0)


def test_sampled_quantiles_keep_exact_counts_and_ends(tmp_path: Path) -> None:
    """With a sample smaller than the data, counts and ends stay exact and edges stay close."""
    rng = np.random.default_rng(11)
    x = rng.lognormal(0.0, 1.0, size=200_000)
    path = write_data(pl.DataFrame({"x": x}), tmp_path / "big.parquet")
    profile = build_profile(path, ProfileSettings(quantile_sample=20_000, seed=5))
    column = _numeric(profile, "x")
    assert profile.metadata.quantile_sample_rows == 20_000
    assert not profile.metadata.exact_quantiles
    assert (column.edges[0], column.edges[-1]) == (x.min(), x.max())
    np.testing.assert_array_equal(column.counts, _bin_counts(x, column.edges))
    assert column.mean == pytest.approx(x.mean(), rel=1e-12)
    # Dvoretzky–Kiefer–Wolfowitz: P(sup |F_sample - F| > eps) <= 2 exp(-2 n eps²) = 1e-6.
    eps = math.sqrt(math.log(2 / 1e-6) / (2 * 20_000))
    sorted_x = np.sort(x)
    rank = np.searchsorted(sorted_x, column.quantiles[1:-1], side="right") / x.shape[0]
    assert np.max(np.abs(rank - column.quantile_probs[1:-1])) < eps


def test_sample_is_reproducible_for_a_seed(tmp_path: Path) -> None:
    """The same seed gives the same profile; another seed moves the interior edges."""
    x = np.random.default_rng(2).normal(size=50_000)
    path = write_data(pl.DataFrame({"x": x}), tmp_path / "x.parquet")
    first = build_profile(path, ProfileSettings(quantile_sample=5_000, seed=1))
    again = build_profile(path, ProfileSettings(quantile_sample=5_000, seed=1))
    other = build_profile(path, ProfileSettings(quantile_sample=5_000, seed=2))
    assert first.columns == again.columns
    assert not np.array_equal(_numeric(first, "x").edges, _numeric(other, "x").edges)


@pytest.mark.parametrize(("n", "size"), [(100, 5), (100, 40), (10_000, 100)])
def test_sampled_rows_are_distinct_sorted_and_uniform(n: int, size: int) -> None:
    """Sampled row positions are distinct, sorted, in range, and every row equally likely."""
    rng = np.random.default_rng(0)
    hits = np.zeros(n)
    draws = 200_000 // size
    for _ in range(draws):
        rows = _sample_positions(n, size, rng)
        assert rows.shape == (size,)
        assert np.all(np.diff(rows) > 0)
        assert rows[0] >= 0
        assert rows[-1] < n
        hits[rows] += 1
    expected = draws * size / n
    # Each count is binomial(draws, size / n): allow five standard deviations.
    assert np.max(np.abs(hits - expected)) < 5 * math.sqrt(expected * (1 - size / n))


# -- categorical and boolean columns -------------------------------------------------------


def test_top_k_ties_are_broken_by_category(tmp_path: Path) -> None:
    """Top-K keeps the most frequent categories, ties by string; the rest is "other"."""
    values = ["b", "a", "c", "d", None, "c", "b", "a", "e", None, "a"]
    frame = pl.DataFrame({"s": values})
    profile = build_profile(write_data(frame, tmp_path / "s.ndjson"), ProfileSettings(top_k=2))
    column = _categorical(profile, "s")
    assert column.kind == "categorical"
    assert column.categories == ("a", "b")
    np.testing.assert_array_equal(column.category_counts, [3, 2])
    assert (column.other_count, column.null_count, column.n_distinct) == (4, 2, 5)
    np.testing.assert_array_equal(column.counts, [3, 2, 4])
    assert column.sketch().counts.shape == (3,)


def test_categorical_counts_match_polars(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """Category counts equal Polars' value counts, most frequent first."""
    column = _categorical(build_profile(write_data(mixed, tmp_path / "m.csv")), "city")
    expected = mixed["city"].value_counts(name="n").sort(["n", "city"], descending=[True, False])
    assert column.categories == tuple(expected["city"])
    np.testing.assert_array_equal(column.category_counts, expected["n"].to_numpy())
    assert (column.other_count, column.n_distinct) == (0, 5)


def test_boolean_column_has_false_and_true_categories(tmp_path: Path) -> None:
    """A boolean column is categorical over ("false", "true") in that order, even if unseen."""
    frame = pl.DataFrame({"f": [True, True, None, True]})
    column = _categorical(build_profile(write_data(frame, tmp_path / "f.parquet")), "f")
    assert (column.kind, column.categories) == ("boolean", ("false", "true"))
    np.testing.assert_array_equal(column.category_counts, [0, 3])
    assert (column.null_count, column.other_count, column.n_distinct) == (1, 0, 1)


def test_polars_categorical_and_enum_columns_are_categorical(tmp_path: Path) -> None:
    """Categorical and Enum columns are profiled as categories with their string values."""
    frame = pl.DataFrame(
        {
            "cat": pl.Series(["x", "y", "x"], dtype=pl.Categorical),
            "enum": pl.Series(["lo", "hi", "hi"], dtype=pl.Enum(["lo", "hi"])),
        }
    )
    profile = build_profile(write_data(frame, tmp_path / "c.parquet"))
    assert _categorical(profile, "cat").categories == ("x", "y")
    assert _categorical(profile, "enum").categories == ("hi", "lo")


# -- kinds, roles and exclusions -----------------------------------------------------------


def test_kinds_are_inferred_and_dates_excluded_as_timestamps(tmp_path: Path) -> None:
    """Numbers, booleans and strings get their kinds; a date column is excluded as a
    timestamp, saying so, and a column of another type is left out with a warning."""
    frame = pl.DataFrame(
        {"n": [1.5, 2.5], "i": [1, 2], "b": [True, False], "s": ["u", "v"], "l": [[1], [2]]}
    ).with_columns(day=pl.Series([0, 1]).cast(pl.Date))
    with pytest.warns(ProfileWarning, match=r"column 'l' has type List\(Int64\), which is not"):
        profile = build_profile(write_data(frame, tmp_path / "k.parquet"))
    kinds = {c.name: c.kind for c in profile.columns}
    assert kinds == {"n": "numeric", "i": "numeric", "b": "boolean", "s": "categorical"}
    assert profile.metadata.excluded == {
        "l": "has type List(Int64), which is not profiled",
        "day": "timestamp: its type is Date",
    }


def test_config_overrides_kinds_and_excludes_columns(tmp_path: Path) -> None:
    """Kind overrides recast columns and excluded columns are left out without a warning."""
    frame = pl.DataFrame({"zip": [75001, 69001, 75001], "n": ["1", "2", "4"], "id": [1, 2, 3]})
    settings_ = ProfileSettings(kinds={"zip": "categorical", "n": "numeric"}, exclude=("id",))
    profile = build_profile(write_data(frame, tmp_path / "o.parquet"), settings_)
    zip_code = _categorical(profile, "zip")
    assert zip_code.categories == ("75001", "69001")
    assert _numeric(profile, "n").mean == pytest.approx(7 / 3)
    assert profile.names == ("zip", "n")
    assert profile.metadata.excluded == {"id": "excluded by configuration"}


def test_target_and_prediction_get_their_roles(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """The target and prediction columns carry their roles; the others are features."""
    settings_ = ProfileSettings(target="label", prediction="score")
    profile = build_profile(write_data(mixed, tmp_path / "r.parquet"), settings_)
    assert profile.target == profile.column("label")
    assert profile.prediction == profile.column("score")
    assert (profile.target.role, profile.prediction.role) == ("target", "prediction")
    assert [c.name for c in profile.features] == ["x", "k", "city", "flag"]
    with pytest.raises(ColumnError, match="'nope' is not in the profile"):
        profile.column("nope")


def test_missing_role_column_is_a_column_error(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """A target that is not in the data is a ColumnError naming it and the file."""
    path = write_data(mixed, tmp_path / "r.parquet")
    with pytest.raises(ColumnError, match=r"r\.parquet: target column 'y' not found"):
        build_profile(path, ProfileSettings(target="y"))


def test_entirely_null_feature_is_left_out_with_a_warning(tmp_path: Path) -> None:
    """An all-null feature is left out of the profile with a ProfileWarning naming it."""
    frame = pl.DataFrame(
        {"x": [1.0, 2.0, 3.0], "empty": pl.Series([None, None, None], dtype=pl.Float64)}
    )
    with pytest.warns(ProfileWarning, match="column 'empty' has no finite value"):
        profile = build_profile(write_data(frame, tmp_path / "n.parquet"))
    assert profile.names == ("x",)
    assert profile.metadata.excluded == {"empty": "has no finite value"}


def test_entirely_null_target_is_a_column_error(tmp_path: Path) -> None:
    """An all-null target cannot be left out: it is a ColumnError naming it."""
    frame = pl.DataFrame({"x": [1.0, 2.0], "y": pl.Series([None, None], dtype=pl.String)})
    with pytest.raises(ColumnError, match="target column 'y' is entirely null"):
        build_profile(write_data(frame, tmp_path / "t.parquet"), ProfileSettings(target="y"))


def test_data_without_rows_is_a_data_file_error(tmp_path: Path) -> None:
    """A file with a header and no rows is a DataFileError naming it."""
    path = tmp_path / "header.csv"
    path.write_text("a,b\n")
    with pytest.raises(DataFileError, match=f"^{re.escape(str(path))}: no rows to profile$"):
        build_profile(path)


def test_same_profile_from_every_format(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """CSV, Parquet and NDJSON copies of the same data give the same numbers."""
    profiles = [build_profile(write_data(mixed, tmp_path / f"d{s}")) for s in FORMATS]
    assert profiles[0].columns == profiles[1].columns == profiles[2].columns


@settings(max_examples=40, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
            st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0]),
        ),
    ),
    bins_=st.sampled_from([(1, 4), (2, 8), (5, 10)]),
)
def test_counts_are_exact_for_any_values(
    values: NDArray[np.float64], bins_: tuple[int, int]
) -> None:
    """For any values, edges are strict with min and max at the ends, and counts are exact."""
    finite = values[np.isfinite(values)]
    frame = pl.DataFrame({"v": values})
    settings_ = ProfileSettings(bins=bins_[0], sketch_bins=bins_[1])
    if not finite.size:
        with pytest.warns(ProfileWarning), pytest.raises(ColumnError):
            profile_frame(frame, settings_)
        return
    column = _numeric(profile_frame(frame, settings_), "v")
    assert np.all(np.diff(column.edges) > 0)
    assert column.edges[0] == finite.min()
    assert column.edges[-1] == finite.max() or finite.min() == finite.max()
    np.testing.assert_array_equal(column.counts, _bin_counts(values, column.edges))
    assert (
        column.finite_count + column.nan_count + column.pos_inf_count + column.neg_inf_count
        == (values.shape[0])
    )


# -- the profile file ----------------------------------------------------------------------


def test_profile_reads_back_bit_for_bit(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """Writing and reading a profile gives back equal columns, floats bit for bit, and metadata."""
    profile = build_profile(
        write_data(mixed, tmp_path / "d.parquet"),
        ProfileSettings(target="label", prediction="score"),
    )
    path = tmp_path / "profile.parquet"
    write_profile(profile, path)
    back = read_profile(path)
    assert back == profile
    for column, read in zip(profile.columns, back.columns, strict=True):
        if isinstance(column, NumericColumnProfile):
            assert isinstance(read, NumericColumnProfile)
            assert read.edges.tobytes() == column.edges.tobytes()
            assert read.quantiles.tobytes() == column.quantiles.tobytes()
            assert (read.mean, read.std) == (column.mean, column.std)
    assert back.metadata.format_version == PROFILE_FORMAT_VERSION


def test_profile_file_layout(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """The file has one row per column and the documented key-value metadata."""
    profile = build_profile(write_data(mixed, tmp_path / "d.parquet"))
    path = tmp_path / "profile.parquet"
    write_profile(profile, path)
    table = pq.read_table(path)
    assert table.schema.names == SCHEMA.names
    assert table.column("name").to_pylist() == list(profile.names)
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    assert metadata["stream_monitor.format_version"] == "2"
    assert metadata["stream_monitor.row_count"] == "2000"
    assert metadata["stream_monitor.source"] == str(tmp_path / "d.parquet")


def test_profile_format_doc_describes_every_column_and_key() -> None:
    """docs/profile-format.md names every column of the file and every metadata key."""
    doc = (ROOT / "docs" / "profile-format.md").read_text()
    for name in SCHEMA.names:
        assert f"`{name}`" in doc, name
    for key in ("format_version", "created_at", "source", "row_count", "settings", "version"):
        assert f"`stream_monitor.{key}`" in doc, key


def test_a_file_that_is_not_parquet_is_not_a_profile(tmp_path: Path) -> None:
    """Reading a non-Parquet file as a profile names it as not a profile."""
    path = tmp_path / "profile.parquet"
    path.write_text("hello")
    with pytest.raises(ProfileFormatError, match=f"^{path}: not a stream-monitor profile$"):
        read_profile(path)


def test_parquet_without_profile_metadata_is_not_a_profile(tmp_path: Path) -> None:
    """A Parquet file without the format-version key is not a profile."""
    path = tmp_path / "data.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(path)
    with pytest.raises(ProfileFormatError, match=f"^{path}: not a stream-monitor profile$"):
        read_profile(path)


def test_newer_format_version_is_refused(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """A profile from a newer format version is refused, naming the file and both versions."""
    path = tmp_path / "profile.parquet"
    write_profile(build_profile(write_data(mixed, tmp_path / "d.parquet")), path)
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata or {})
    metadata[b"stream_monitor.format_version"] = b"3"
    pq.write_table(table.replace_schema_metadata(metadata), path)
    with pytest.raises(ProfileFormatError, match=f"^{path}: profile format version 3 .* 2"):
        read_profile(path)


def test_missing_profile_file_is_named(tmp_path: Path) -> None:
    """Reading a profile that does not exist names the file."""
    with pytest.raises(DataFileError, match=r"nope\.parquet: no such profile file"):
        read_profile(tmp_path / "nope.parquet")


def test_profile_arrays_are_read_only(tmp_path: Path, mixed: pl.DataFrame) -> None:
    """A profile is a value: its arrays cannot be written to."""
    column = _numeric(build_profile(write_data(mixed, tmp_path / "d.parquet")), "x")
    with pytest.raises(ValueError, match="read-only"):
        column.counts[0] = 1
    with pytest.raises(ValueError, match="do not add up"):
        replace(column, count=column.count + 1)


# -- the config file -----------------------------------------------------------------------


def test_example_config_is_valid() -> None:
    """config/profile.example.yaml loads into the settings it documents."""
    loaded = load_profile_settings(ROOT / "config" / "profile.example.yaml")
    assert (loaded.bins, loaded.sketch_bins, loaded.top_k) == (10, 100, 20)
    assert (loaded.target, loaded.prediction) == ("label", "score")
    assert loaded.exclude == ("request_id", "event_time")
    assert dict(loaded.kinds) == {"zip_code": "categorical", "n_children": "numeric"}


def test_other_jobs_values_are_theirs_and_flags_win(tmp_path: Path) -> None:
    """Another job's section is checked for its keys only (its values are that job's to
    check), and flags override the file."""
    path = tmp_path / "c.yaml"
    path.write_text("drift: {histogram_bins: many}\nprofile:\n  bins: 5\n  top_k: 3\n")
    loaded = load_profile_settings(path, flags={"top_k": (7, "--top-k"), "bins": (None, "--bins")})
    assert (loaded.bins, loaded.top_k, loaded.sketch_bins) == (5, 7, 100)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profile:\n  binz: 5\n", r"c\.yaml: profile\.binz: unknown key"),
        ("profile:\n  bins: ten\n", r"c\.yaml: profile\.bins: must be a positive integer"),
        ("profile:\n  bins: 7\n", r"c\.yaml: profile\.bins 7 must divide the default sketch_bins"),
        ("profile:\n  kinds: {a: date}\n", r"c\.yaml: profile\.kinds: kind of column 'a'"),
        ("profile:\n  exclude: a\n", r"c\.yaml: profile\.exclude: must be a list"),
        ("profile: [1, 2]\n", r"c\.yaml: profile: expected a mapping"),
        ("profile:\n  bins: [\n", r"c\.yaml: invalid YAML: .* line 3"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    """Every invalid config value is a ConfigError naming the file and the key."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_profile_settings(path)


# -- the command line ----------------------------------------------------------------------


def _exit_code(argv: list[str]) -> int:
    """Run the CLI; argparse's own usage errors exit through SystemExit."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1


def test_cli_writes_the_profile_and_one_summary_line(
    tmp_path: Path, mixed: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """``profile`` writes a readable profile and prints one summary line on stdout (the
    result; stderr is for warnings and errors)."""
    data = write_data(mixed, tmp_path / "d.csv")
    out = tmp_path / "p.parquet"
    argv = ["profile", "--data", str(data), "--out", str(out), "--target", "label"]
    code = main([*argv, "--bins", "5", "--sketch-bins", "50", "--top-k", "3"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    lines = captured.out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("stream-monitor profile: 2000 rows, 6 columns")
    profile = read_profile(out)
    assert (profile.metadata.bins, profile.metadata.sketch_bins) == (5, 50)
    top = mixed["city"].value_counts(name="n").sort(["n", "city"], descending=[True, False])
    assert _categorical(profile, "city").categories == tuple(top["city"][:3])
    assert profile.target == profile.column("label")


def test_cli_prints_a_warning_line_for_a_left_out_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entirely null feature gives one warning line on stderr (the summary is on stdout)."""
    frame = pl.DataFrame({"x": [1.0, 2.0], "gone": pl.Series([None, None], dtype=pl.String)})
    data = write_data(frame, tmp_path / "d.parquet")
    code = main(["profile", "--data", str(data), "--out", str(tmp_path / "p.parquet")])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert (code, len(lines), len(captured.out.splitlines())) == (0, 1, 1)
    assert lines[0].startswith("stream-monitor profile: warning: ")
    assert "column 'gone' is entirely null" in lines[0]


@pytest.mark.parametrize(
    ("case", "extra", "named"),
    [
        ("missing data", ["--data", "{tmp}/absent.csv"], "absent.csv"),
        ("unknown extension", ["--data", "{tmp}/d.txt"], "d.txt"),
        ("empty data", ["--data", "{tmp}/empty.csv"], "empty.csv"),
        ("bad config key", ["--config", "{tmp}/badkey.yaml"], "profile.colour"),
        ("bad config value", ["--config", "{tmp}/badvalue.yaml"], "profile.top_k"),
        ("bins do not divide", ["--bins", "7", "--sketch-bins", "20"], "--bins 7"),
        ("zero bins", ["--bins", "0"], "--bins"),
        ("missing target", ["--target", "nope"], "'nope'"),
        ("all-null target", ["--target", "blank"], "'blank'"),
        ("missing out directory", ["--out", "{tmp}/no/such/dir/p.parquet"], "--out"),
        ("non-integer flag", ["--top-k", "many"], "--top-k"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    extra: list[str],
    named: str,
) -> None:
    """Each user error exits with code 2 and one stderr line naming the file, column or flag."""
    data = write_data(
        pl.DataFrame({"x": [1.0, 2.0, 3.0], "blank": pl.Series([None] * 3, dtype=pl.Float64)}),
        tmp_path / "d.parquet",
    )
    (tmp_path / "d.txt").write_text("x\n1\n")
    (tmp_path / "empty.csv").write_text("x,y\n")
    (tmp_path / "badkey.yaml").write_text("profile:\n  colour: red\n")
    (tmp_path / "badvalue.yaml").write_text("profile:\n  top_k: -1\n")
    argv = ["profile", "--data", str(data), "--out", str(tmp_path / "p.parquet")]
    argv += [arg.format(tmp=tmp_path) for arg in extra]
    code = _exit_code(argv)
    err = capsys.readouterr().err
    assert code == 2, case
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert named in err, err
