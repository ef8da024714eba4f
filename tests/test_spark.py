"""The Spark engine against the Polars engine, on a real local Spark session (``local[2]``).

One session serves the module; the command-line tests start their own, as a user's run does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from stream_monitor.batch.drift import check_drift_sketched
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.cli import main
from stream_monitor.config import ProfileSettings
from stream_monitor.profile import Profile, build_profile
from stream_monitor.spark.drift import SparkCurrent
from stream_monitor.spark.profile import profile_spark

# PySpark leaves its driver-to-JVM sockets to the garbage collector, which warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)

#: Keys of the JSON report that differ between two runs whatever the engine.
RUN_KEYS = ("generated_at",)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _frame(n: int, shift: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    y = rng.exponential(2.0 + shift, n)
    y[rng.random(n) < 0.03] = np.nan
    y[rng.random(n) < 0.01] = np.inf
    colour = rng.choice(["red", "green", "blue", "teal"], n, p=[0.4, 0.3, 0.2, 0.1])
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "x": x,
            "y": y,
            "count": rng.poisson(3 + shift, n),
            "colour": colour,
            "flag": rng.random(n) < 0.3 + shift / 10,
        }
    ).with_columns(
        pl.when(pl.col("x") > 2.2).then(None).otherwise(pl.col("colour")).alias("colour"),
        pl.when(pl.col("count") == 0).then(None).otherwise(pl.col("x")).alias("x"),
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A reference and a current file, each also as a Parquet directory of three files."""
    root = tmp_path_factory.mktemp("spark")
    paths = {}
    for name, shift, seed in (("ref", 0.0, 1), ("cur", 0.3, 2)):
        frame = _frame(6000, shift, seed)
        frame.write_parquet(root / f"{name}.parquet")
        parts = root / f"{name}_dir"
        parts.mkdir()
        for i in range(3):
            frame.slice(i * 2000, 2000).write_parquet(parts / f"part-{i}.parquet")
        paths[name] = root / f"{name}.parquet"
        paths[f"{name}_dir"] = parts
    settings = ProfileSettings(multivariate=False)
    build_profile(paths["ref"], settings).save(root / "ref.profile.parquet")
    paths["profile"] = root / "ref.profile.parquet"
    return paths


def _counts(profile: Profile) -> dict[str, dict[str, Any]]:
    """Every count of every column, and the bins they are counted in."""
    out: dict[str, dict[str, Any]] = {}
    for column in profile.columns:
        fields = {"kind": column.kind, "count": column.count, "null_count": column.null_count}
        fields["counts"] = column.counts.tolist()
        if column.kind == "numeric":
            fields |= {
                key: getattr(column, key)
                for key in ("nan_count", "pos_inf_count", "neg_inf_count", "min", "max")
            }
            fields["edges"] = column.edges.tolist()
        else:
            fields |= {"categories": column.categories, "n_distinct": column.n_distinct}
        out[column.name] = fields
    return out


def test_spark_profile_counts_equal_polars(spark: Any, data: dict[str, Path]) -> None:
    """Over the same bin edges, Spark's counts equal Polars's in every column and bin, read
    from a Parquet directory or from a frame in more partitions than files."""
    reference = Profile.load(data["profile"])
    settings = ProfileSettings(multivariate=False)
    polars = build_profile(data["ref"], settings, bins_from=reference)
    assert _counts(polars) == _counts(reference)
    for frame in (
        spark.read.parquet(str(data["ref_dir"])),
        spark.read.parquet(str(data["ref"])).repartition(4),
    ):
        profile = profile_spark(frame, settings, source="ref", bins_from=reference)
        assert _counts(profile) == _counts(polars)
        assert profile.metadata.excluded == polars.metadata.excluded
        for ours, theirs in zip(profile.columns, polars.columns, strict=True):
            if ours.kind == "numeric":
                assert ours.mean == pytest.approx(theirs.mean, rel=1e-12)
                assert ours.std == pytest.approx(theirs.std, rel=1e-12)


def _rank_tolerance(sample_rows: int, failure: float = 1e-6) -> float:
    """How far from its probability a quantile of a uniform sample of ``sample_rows`` rows may
    rank in the data: the Dvoretzky-Kiefer-Wolfowitz bound on the sample's distribution
    function, exceeded with probability ``failure`` at most, plus one row of interpolation."""
    return float(np.sqrt(np.log(2 / failure) / (2 * sample_rows)) + 1 / sample_rows)


def _exact_fields(profile: Profile) -> dict[str, dict[str, Any]]:
    """What a profile counts without sampling: everything but the numeric bins."""
    fields = _counts(profile)
    for column in fields.values():
        if column["kind"] == "numeric":
            del column["counts"], column["edges"]
    return fields


def test_spark_profile_places_its_own_bins(spark: Any, data: dict[str, Path]) -> None:
    """Without ``--bins-from``, Spark's profile is a valid one: Polars counting over its edges
    finds its counts; the counts and extremes equal the Polars profile's; each quantile ranks in
    the data within the sampling bound of its probability, as the Polars profile's do."""
    settings = ProfileSettings(multivariate=False, quantile_sample=1500)
    polars = build_profile(data["ref"], settings)
    source = pl.read_parquet(data["ref"])
    tolerance = _rank_tolerance(settings.quantile_sample)
    for frame in (
        spark.read.parquet(str(data["ref_dir"])),
        spark.read.parquet(str(data["ref"])).repartition(4),
    ):
        ours = profile_spark(frame, settings, source=str(data["ref"]), bins_from=None)
        assert ours.metadata.quantile_sample_rows == polars.metadata.quantile_sample_rows == 1500
        assert _counts(build_profile(data["ref"], settings, bins_from=ours)) == _counts(ours)
        assert _exact_fields(ours) == _exact_fields(polars)
        assert ours.metadata.excluded == polars.metadata.excluded
        for column in ours.columns:
            if column.kind != "numeric":
                continue
            theirs = polars.column(column.name)
            assert column.quantiles.tolist() != theirs.quantiles.tolist()  # another sample
            values = source.get_column(column.name).cast(pl.Float64).drop_nulls().to_numpy()
            values = np.sort(values[np.isfinite(values)])
            for profile in (ours, polars):
                quantiles = np.asarray(profile.column(column.name).quantiles)
                probs = np.asarray(column.quantile_probs)
                below = np.searchsorted(values, quantiles, side="left") / values.shape[0]
                at_most = np.searchsorted(values, quantiles, side="right") / values.shape[0]
                assert np.all(below - tolerance <= probs), column.name
                assert np.all(probs <= at_most + tolerance), column.name


def test_spark_profile_of_every_row_equals_polars(spark: Any, data: dict[str, Path]) -> None:
    """When the sample holds every row, Spark's edges, and so all its counts, are Polars's."""
    settings = ProfileSettings(multivariate=False)
    ours = profile_spark(
        spark.read.parquet(str(data["ref_dir"])), settings, source="ref", bins_from=None
    )
    polars = build_profile(data["ref"], settings)
    assert ours.metadata.exact_quantiles
    assert _counts(ours) == _counts(polars)


def test_spark_profile_is_deterministic(
    spark: Any, data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Profiling the same input twice gives the same profile file, but for its creation time;
    so does a third time whose priority bound lets too few rows through (drawn again)."""
    import dataclasses

    from stream_monitor.profile import write_profile
    from stream_monitor.spark import profile as spark_profile
    from stream_monitor.spark import sample as spark_sample

    settings = ProfileSettings(multivariate=False, quantile_sample=1000, seed=5)
    passes: list[int] = []
    counted = spark_profile.map_partitions

    def spy(*args: Any) -> Any:
        passes.append(1)
        return counted(*args)

    written = []
    for i in range(3):
        if i == 2:
            monkeypatch.setattr(spark_profile, "priority_bound", lambda rows, size: 2**50)
            monkeypatch.setattr(spark_profile, "map_partitions", spy)
            monkeypatch.setattr(spark_sample, "map_partitions", spy)
        frame = spark.read.parquet(str(data["ref"])).repartition(3, "id")
        profile = profile_spark(frame, settings, source="ref", bins_from=None)
        metadata = dataclasses.replace(profile.metadata, created_at="-")
        path = tmp_path / f"{i}.profile.parquet"
        write_profile(dataclasses.replace(profile, metadata=metadata), path)
        written.append(path.read_bytes())
    assert written[0] == written[1] == written[2]
    assert len(passes) == 3  # the first, the sample drawn again, the counts


def test_check_drift_against_spark_profile(
    spark: Any, data: dict[str, Path], tmp_path: Path
) -> None:
    """The data a Spark profile was built from does not drift from it; a copy with one
    column shifted drifts on that column only."""
    from stream_monitor import check_drift

    settings = ProfileSettings(multivariate=False, quantile_sample=1500)
    profile = profile_spark(
        spark.read.parquet(str(data["ref_dir"])), settings, source="ref", bins_from=None
    )
    drift_settings = DriftSettings(multivariate=False)
    same = check_drift(profile, data["ref"], config=drift_settings)
    assert [f.name for f in same.features if f.drifted] == []
    shifted = tmp_path / "shifted.parquet"
    pl.read_parquet(data["ref"]).with_columns(pl.col("x") + 0.5).write_parquet(shifted)
    moved = check_drift(profile, shifted, config=drift_settings)
    assert [f.name for f in moved.features if f.drifted] == ["x"]


def _report(result: Any) -> dict[str, Any]:
    report = result.to_dict()
    for key in RUN_KEYS:
        del report[key]
    return report


def test_spark_check_drift_equals_polars(spark: Any, data: dict[str, Path]) -> None:
    """The JSON report of current data read by Spark, in several partitions, equals the Polars
    engine's, but for the time it was generated."""
    from stream_monitor import check_drift

    profile = Profile.load(data["profile"])
    settings = DriftSettings(multivariate=False)
    expected = _report(check_drift(profile, data["cur"], config=settings))
    assert expected["n_features"] == 5
    source = str(data["cur"])
    for frame in (
        spark.read.parquet(str(data["cur_dir"])),
        spark.read.parquet(source).repartition(3),
    ):
        result = check_drift_sketched(profile, SparkCurrent(frame, source), settings)
        assert _report(result) == expected


def test_order_statistics_narrow_large_ranges(
    spark: Any, data: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges larger than the collect limit are narrowed by histograms to the same values."""
    from stream_monitor.spark import drift

    monkeypatch.setattr(drift, "COLLECT_LIMIT", 50)
    frame = spark.read.parquet(str(data["cur_dir"]))
    values = np.sort(pl.read_parquet(data["cur"])["y"].drop_nulls().to_numpy())
    values = values[np.isfinite(values)]
    ranks = [0, 17, values.shape[0] // 2, values.shape[0] - 1]
    bounds = {"y": (float(values[0]), float(values[-1]), values.shape[0])}
    found = drift.order_statistics(frame, bounds, {"y": ranks})
    assert found["y"] == {rank: float(values[rank]) for rank in ranks}


def test_missing_column_is_one_line_exit_2(
    spark: Any, data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Current data without a column of the profile: exit 2, one line naming it."""
    pl.read_parquet(data["cur"]).drop("y").write_parquet(tmp_path / "cur.parquet")
    argv = [
        "check-drift",
        "--engine",
        "spark",
        "--reference-data-path",
        str(data["profile"]),
        "--current-data-path",
        str(tmp_path / "cur.parquet"),
        "--json-path",
        str(tmp_path / "out.json"),
        "--no-multivariate",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'y'" in err


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPARK_MASTER": "local[2]", "PYSPARK_PYTHON": sys.executable}
    return subprocess.run(
        [sys.executable, "-m", "stream_monitor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_cli_end_to_end(data: dict[str, Path], tmp_path: Path) -> None:
    """``profile --engine spark``, with and without ``--bins-from``, and ``check-drift
    --engine spark`` from the command line: the same profile counts (every row sampled) and
    PCA reconstruction, and the same JSON report, multivariate drift included, as the Polars
    engine; a missing file is one line and exit 2, before Spark starts."""
    runs = {
        (engine, bins): tmp_path / f"{engine}-{bins}.profile.parquet"
        for engine in ("polars", "spark")
        for bins in ("fixed", "sampled")
    }
    for (engine, bins), path in runs.items():
        fixed = ["--bins-from", str(data["profile"])] if bins == "fixed" else []
        run = _cli(
            "profile",
            "--engine",
            engine,
            "--data",
            str(data["ref_dir"] if engine == "spark" else data["ref"]),
            *fixed,
            "--out",
            str(path),
        )
        assert run.returncode == 0, run.stderr
    for bins in ("fixed", "sampled"):
        spark_profile = Profile.load(runs["spark", bins])
        polars_profile = Profile.load(runs["polars", bins])
        assert _counts(spark_profile) == _counts(polars_profile)
        _assert_reconstructions_agree(spark_profile.reconstruction, polars_profile.reconstruction)
    reports = {}
    for engine in ("polars", "spark"):
        json_path = tmp_path / f"{engine}.json"
        run = _cli(
            "check-drift",
            "--engine",
            engine,
            "--reference-data-path",
            str(runs["polars", "sampled"]),
            "--current-data-path",
            str(data["cur"]),
            "--json-path",
            str(json_path),
        )
        assert run.returncode == 0, run.stderr
        reports[engine] = json.loads(json_path.read_text())
        for key in RUN_KEYS:
            del reports[engine][key]
    assert reports["spark"]["multivariate"]["features"] == ["x", "y", "count"]
    assert reports["spark"] == reports["polars"]
    missing = _cli(
        "profile",
        "--engine",
        "spark",
        "--data",
        str(tmp_path / "nope.parquet"),
        "--bins-from",
        str(data["profile"]),
        "--out",
        str(tmp_path / "x.parquet"),
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "nope.parquet" in missing.stderr


# --- multivariate (PCA reconstruction) drift and seasonal profiles ------------------------

#: How close a Spark reconstruction's arrays are to the Polars engine's: the column means and
#: deviations they standardise by are sums of doubles added per partition (equal to about
#: 1e-15 relative, not to the bit), and ``numpy.cov`` may add the rows in another order.
RTOL, ATOL = 1e-9, 1e-12


def _correlated(n: int, sign: float, seed: int) -> pl.DataFrame:
    """Features a and b correlated ``sign`` * 0.8, two more, a category, and a UTC and a
    naive event time 7 minutes apart (every hour of the day and of the week seen)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, n)
    b = sign * 0.8 * a + 0.6 * rng.normal(0.0, 1.0, n)
    c = rng.exponential(2.0, n)
    c[rng.random(n) < 0.02] = np.nan
    start = np.datetime64("2026-01-05T00:00:00", "us")
    times = start + np.arange(n) * np.timedelta64(7 * 60 + 13, "s")
    return pl.DataFrame(
        {
            "a": a,
            "b": b,
            "c": c,
            "k": rng.poisson(4.0, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "ts": pl.Series(times).dt.replace_time_zone("UTC"),
            "naive": pl.Series(times + np.timedelta64(3, "h")),
        }
    ).with_columns(pl.when(pl.col("k") == 1).then(None).otherwise(pl.col("a")).alias("a"))


@pytest.fixture(scope="module")
def joint(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A reference (a file, and a directory of three), the same process later ("same"), and
    a current whose correlation of a and b flipped sign ("flip"); the Polars profile."""
    root = tmp_path_factory.mktemp("spark_joint")
    reference = _correlated(6000, 1.0, 11)
    paths = {"ref": root / "ref.parquet", "ref_dir": root / "ref_dir"}
    reference.write_parquet(paths["ref"])
    paths["ref_dir"].mkdir()
    for i in range(3):
        reference.slice(i * 2000, 2000).write_parquet(paths["ref_dir"] / f"part-{i}.parquet")
    for name, sign, seed in (("same", 1.0, 12), ("flip", -1.0, 13)):
        paths[name] = root / f"{name}.parquet"
        _correlated(4000, sign, seed).write_parquet(paths[name])
    paths["profile"] = root / "ref.profile.parquet"
    build_profile(paths["ref"], ProfileSettings()).save(paths["profile"])
    return paths


def _assert_reconstructions_agree(ours: Any, theirs: Any) -> None:
    """Same features, components, error bins and counts; arrays within RTOL and ATOL."""
    assert ours is not None
    assert theirs is not None
    assert ours.features == theirs.features
    assert ours.components.shape == theirs.components.shape
    for key in ("mean", "scale", "components", "residual"):
        np.testing.assert_allclose(getattr(ours, key), getattr(theirs, key), RTOL, ATOL)
    error, expected = ours.error, theirs.error
    assert error.counts.tolist() == expected.counts.tolist()
    assert error.score_bin_of_fine.tolist() == expected.score_bin_of_fine.tolist()
    for key in ("edges", "quantiles"):
        np.testing.assert_allclose(getattr(error, key), getattr(expected, key), RTOL, ATOL)
    for key in ("count", "null_count", "nan_count", "finite_count"):
        assert getattr(error, key) == getattr(expected, key), key
    for key in ("min", "max", "mean", "std"):
        assert getattr(error, key) == pytest.approx(getattr(expected, key), rel=RTOL), key


def test_spark_reconstruction_equals_polars(spark: Any, joint: dict[str, Path]) -> None:
    """A reference of at most FIT_ROWS rows: Spark fits its PCA reconstruction on every row,
    as the Polars engine does, to the same components and the same error bins and counts,
    from a directory of files or from more partitions than files; read as one partition,
    the rows come in the file's order, and the reconstruction is the Polars one exactly."""
    polars = Profile.load(joint["profile"])
    assert polars.reconstruction is not None
    assert polars.reconstruction.features == ("a", "b", "c", "k")
    for frame in (
        spark.read.parquet(str(joint["ref_dir"])),
        spark.read.parquet(str(joint["ref"])).repartition(4),
        spark.read.parquet(str(joint["ref"])),
    ):
        ours = profile_spark(frame, ProfileSettings(), source="ref", bins_from=None)
        assert _counts(ours) == _counts(polars)
        _assert_reconstructions_agree(ours.reconstruction, polars.reconstruction)
    assert frame.rdd.getNumPartitions() == 1
    assert ours.reconstruction == polars.reconstruction


def test_spark_reconstruction_from_a_sample(
    spark: Any, joint: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reference of more than FIT_ROWS rows: Spark fits on its priority sample of FIT_ROWS
    rows, in row order, with the Polars engine's own fit: exactly the reconstruction that
    fit gives on those rows."""
    from stream_monitor.profile import multivariate
    from stream_monitor.profile.build import reconstruction_from_rows
    from stream_monitor.spark.sample import priorities

    monkeypatch.setattr(multivariate, "FIT_ROWS", 1000)
    settings = ProfileSettings(seed=3)
    frame = spark.read.parquet(str(joint["ref"]))
    assert frame.rdd.getNumPartitions() == 1
    ours = profile_spark(frame, settings, source="ref", bins_from=None)
    rows = np.sort(np.argsort(priorities(3, 0, 6000), kind="stable")[:1000])
    values = pl.read_parquet(joint["ref"]).select("a", "b", "c", "k").to_numpy()[rows]
    columns = [ours.column(name) for name in ("a", "b", "c", "k")]
    expected = reconstruction_from_rows(columns, values.astype(np.float64), ours, settings)
    assert ours.reconstruction == expected
    assert ours.reconstruction is not None
    assert ours.reconstruction.error.count == 1000


def test_spark_check_drift_multivariate_equals_polars(spark: Any, joint: dict[str, Path]) -> None:
    """check-drift against a profile with a reconstruction, current data read by Spark in
    several partitions: the same result and JSON report as the Polars engine, multivariate
    section included; drift on the flipped correlation (naming a and b), none on the same
    process."""
    from stream_monitor import check_drift

    profile = Profile.load(joint["profile"])
    settings = DriftSettings()
    for name, drifted in (("same", False), ("flip", True)):
        expected = check_drift(profile, joint[name], config=settings)
        assert expected.multivariate is not None
        assert expected.multivariate.drift_detected is drifted
        source = str(joint[name])
        for frame in (
            spark.read.parquet(source),
            spark.read.parquet(source).repartition(3),
        ):
            result = check_drift_sketched(profile, SparkCurrent(frame, source), settings)
            assert result.multivariate == expected.multivariate
            assert _report(result) == _report(expected)
        if drifted:
            assert sorted(expected.multivariate.contributors) == ["a", "b"]


def test_spark_seasonal_profile_equals_polars(spark: Any, joint: dict[str, Path]) -> None:
    """``--seasonality`` on Spark: per-slot counts equal the Polars engine's, with an
    aware or a naive timestamp, hourly or weekly, whatever the session's time zone; a
    seasonal profile has no reconstruction on either engine, and check-drift against it
    gives the same report."""
    from stream_monitor import check_drift

    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Kolkata")
    try:
        for period, timestamp in (("daily", "ts"), ("weekly", "naive")):
            settings = ProfileSettings(seasonality=period, timestamp=timestamp)
            polars = build_profile(joint["ref"], settings)
            frame = spark.read.parquet(str(joint["ref_dir"]))
            ours = profile_spark(frame, settings, source="ref", bins_from=None)
            assert polars.seasonality is not None
            assert ours.seasonality == polars.seasonality
            assert (ours.reconstruction, polars.reconstruction) == (None, None)
            assert _counts(ours) == _counts(polars)
            assert ours.metadata.excluded == polars.metadata.excluded
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    settings = DriftSettings()
    expected = _report(check_drift(polars, joint["flip"], config=settings))
    frame = spark.read.parquet(str(joint["flip"]))
    result = check_drift_sketched(polars, SparkCurrent(frame, str(joint["flip"])), settings)
    assert _report(result) == expected


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [("nope", "timestamp column 'nope' not found"), ("k", "timestamp column 'k' is Int64")],
)
def test_seasonal_timestamp_errors_are_one_line(
    spark: Any,
    joint: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    timestamp: str,
    message: str,
) -> None:
    """A seasonal profile's timestamp column missing, or not a time: exit 2, one line."""
    argv = ["profile", "--engine", "spark", "--data", str(joint["ref_dir"])]
    argv += ["--seasonality", "daily", "--timestamp", timestamp]
    assert main([*argv, "--out", str(tmp_path / "p.parquet")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err
