"""The Python API (``import stream_monitor as sm``): the same verdicts and documents as the
command line, from paths and from tables held in memory, and the streaming engine fed
frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
import yaml
from jsonschema import Draft202012Validator

import stream_monitor as sm
from stream_monitor.batch.degradation import degradation_schema
from stream_monitor.batch.drift import DriftWarning
from stream_monitor.batch.drift_report import report_schema
from stream_monitor.batch.predictions import prediction_monitor_schema
from stream_monitor.batch.schema import schema_validation_schema
from stream_monitor.cli import main
from stream_monitor.errors import ColumnError
from stream_monitor.stream.alerts import alert_schema
from stream_monitor.synthetic import Drift, traffic

REFERENCE_ROWS = 20_000
CURRENT_ROWS = 10_000


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reference traffic, and current traffic in which income moved by one sd."""
    reference = traffic(REFERENCE_ROWS, seed=1).drop("id")
    current = traffic(CURRENT_ROWS, seed=2, drift=Drift("income", at=0, size=1.0)).drop("id")
    return reference, current


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, frames: tuple[pl.DataFrame, ...]) -> Path:
    """The frames as ref.parquet and cur.parquet (and cur.csv)."""
    folder = tmp_path_factory.mktemp("api")
    frames[0].write_parquet(folder / "ref.parquet")
    frames[1].write_parquet(folder / "cur.parquet")
    frames[1].write_csv(folder / "cur.csv")
    return folder


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


# -- the public surface ------------------------------------------------------------------------


def test_all_is_sorted_and_exactly_the_public_surface() -> None:
    """``__all__`` is sorted, every name in it resolves, and the package's public names
    (submodules aside) are exactly those of ``__all__``."""
    assert sm.__all__ == sorted(sm.__all__)
    for name in sm.__all__:
        assert getattr(sm, name) is not None
    public = {
        name
        for name in dir(sm)
        if not name.startswith("_") and not isinstance(getattr(sm, name), ModuleType)
    }
    assert public | {"__version__"} == set(sm.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sm.nope  # noqa: B018


def test_import_is_cheap_and_pandas_is_never_imported_by_us() -> None:
    """``import stream_monitor`` loads neither Polars, numpy nor scipy; a drift check on
    Polars frames then runs without ever importing pandas."""
    code = (
        "import sys, stream_monitor as sm\n"
        "print(sorted(m for m in ('polars', 'numpy', 'scipy') if m in sys.modules))\n"
        "import polars as pl\n"
        "a = pl.DataFrame({'x': [float(i % 50) for i in range(2000)]})\n"
        "b = pl.DataFrame({'x': [float(i % 50) + 20 for i in range(2000)]})\n"
        "assert sm.check_drift(a, b).dataset_drift\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.split("\n")[:2] == ["[]", "False"]


# -- check_drift -------------------------------------------------------------------------------


def test_check_drift_gives_the_cli_json_report(files: Path, tmp_path: Path) -> None:
    """For the same files, ``check_drift(...).to_dict()`` is the document ``check-drift
    --json_path`` writes, but for when it was generated, and both find the income drift."""
    json_path = tmp_path / "cli.json"
    argv = [
        "check-drift",
        "--reference_data_path",
        str(files / "ref.parquet"),
        "--current_data_path",
        str(files / "cur.parquet"),
        "--report_path",
        str(tmp_path / "cli.html"),
        "--json_path",
        str(json_path),
        "--target",
        "default",
    ]
    assert main(argv) == 0
    cli = json.loads(json_path.read_text())
    result = sm.check_drift(files / "ref.parquet", str(files / "cur.parquet"), target="default")
    api = result.to_dict()
    Draft202012Validator(report_schema()).validate(api)
    assert without(api, "generated_at") == without(cli, "generated_at")
    assert result.drifted_features == ("income",)
    assert api["features"]["income"]["drift_detected"] is True
    assert not result.dataset_drift
    assert cli["dataset_drift"] is False


def test_tables_of_every_kind_give_the_same_scores(
    files: Path, frames: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    """Paths, Polars DataFrames and LazyFrames, pyarrow Tables and pandas DataFrames give the
    same features, scores and verdicts; only the sources' names differ."""
    reference, current = frames
    inputs: list[tuple[Any, Any]] = [
        (files / "ref.parquet", files / "cur.parquet"),
        (reference, current),
        (reference.lazy(), current.lazy()),
        (reference.to_arrow(), current.to_arrow()),
        (reference.to_pandas(), current.to_pandas()),
    ]
    reports = [sm.check_drift(ref, cur).to_dict() for ref, cur in inputs]
    first = reports[0]["features"]
    assert sorted(first) == sorted(c for c in reference.columns)
    for report in reports[1:]:
        assert report["features"] == first
    assert [r["current"]["source"] for r in reports[1:]] == [
        "<current polars.DataFrame>",
        "<current polars.LazyFrame>",
        "<current pyarrow.Table>",
        "<current pandas.DataFrame>",
    ]


def test_profile_reference_matches_the_profile_file(
    files: Path, frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """A ``Profile`` built in memory, its saved file and ``load_profile`` of it give the
    same sketch scores as ``check-drift`` with the profile file."""
    profile = sm.build_profile(frames[0])
    path = tmp_path / "profile.parquet"
    profile.save(path)
    assert sm.load_profile(path).columns == profile.columns
    assert sm.Profile.load(path).columns == profile.columns
    in_memory = sm.check_drift(profile, frames[1]).to_dict()
    from_file = sm.check_drift(path, files / "cur.parquet").to_dict()
    assert in_memory["scores_from"] == from_file["scores_from"] == "sketch"
    assert in_memory["features"] == from_file["features"]
    assert from_file["reference"]["source"] == str(path)
    assert from_file["features"]["income"]["drift_detected"]


def test_config_file_and_keywords(files: Path, tmp_path: Path) -> None:
    """The config file's drift: section applies (a lower drift-share threshold makes the
    income drift a dataset drift), ``exclude`` adds to it, and CSV null tokens come from
    its input: section."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"drift": {"drift_share_threshold": 0.05}, "input": {"null_values": ["unknown"]}}
        )
    )
    result = sm.check_drift(files / "ref.parquet", files / "cur.csv", config=config)
    assert result.dataset_drift
    assert result.drift_share_threshold == 0.05
    result = sm.check_drift(
        files / "ref.parquet", files / "cur.csv", config=config, exclude=["income"]
    )
    assert not result.dataset_drift
    assert result.excluded["income"].startswith("excluded")


def test_html_outputs(files: Path, tmp_path: Path) -> None:
    """``save_html`` writes the report page, ``save_json`` the document, and a notebook
    shows the page in a sandboxed frame."""
    result = sm.check_drift(files / "ref.parquet", files / "cur.parquet")
    result.save_html(tmp_path / "r.html")
    result.save_json(tmp_path / "r.json")
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "income" in page
    assert json.loads((tmp_path / "r.json").read_text()) == result.to_dict()
    shown = result._repr_html_()
    assert shown.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;')
    assert 'sandbox="allow-scripts"' in shown


def test_bad_input_is_a_type_error_naming_the_argument() -> None:
    """Something that is neither a path nor a table is a TypeError naming its role."""
    with pytest.raises(TypeError, match=r"^current: expected a file path"):
        sm.check_drift(pl.DataFrame({"x": [1.0]}), [1.0, 2.0])


def test_left_out_column_warns(frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """A feature with no value in the reference is left out with a ``DriftWarning``."""
    no_age = pl.lit(None, pl.Float64).alias("age")
    reference = frames[0].select("age", "income").with_columns(no_age)
    current = frames[1].select("age", "income")
    with pytest.warns(DriftWarning, match="age"):
        result = sm.check_drift(reference, current)
    assert [f.name for f in result.features] == ["income"]


# -- the other batch jobs ----------------------------------------------------------------------


def test_check_degradation_matches_the_cli(
    files: Path, frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """``check_degradation`` gives the document of ``check-degradation`` for the same files,
    and the same metrics from pandas frames and from a saved ``Baseline``."""
    json_path = tmp_path / "cli.json"
    baseline_path = tmp_path / "baseline.json"
    argv = [
        "check-degradation",
        "--reference_data_path",
        str(files / "ref.parquet"),
        "--current_data_path",
        str(files / "cur.parquet"),
        "--target",
        "default",
        "--prediction",
        "predicted_default",
        "--json_path",
        str(json_path),
        "--save-baseline",
        str(baseline_path),
    ]
    assert main(argv) == 0
    cli = json.loads(json_path.read_text())
    columns = {"target": "default", "prediction": "predicted_default"}
    report = sm.check_degradation(files / "ref.parquet", files / "cur.parquet", **columns)
    api = report.to_dict()
    Draft202012Validator(degradation_schema()).validate(api)
    # A baseline computed from reference data is stamped with the time of its run.
    for document in (api, cli):
        document["baseline"] = without(document["baseline"], "created_at")
    assert without(api, "created_at") == without(cli, "created_at")
    assert report.degraded == cli["degraded"]
    pandas_report = sm.check_degradation(frames[0].to_pandas(), frames[1].to_pandas(), **columns)
    assert pandas_report.to_dict()["metrics"] == api["metrics"]
    stored = sm.Baseline.load(baseline_path)
    from_baseline = sm.check_degradation(stored, files / "cur.parquet", **columns).to_dict()
    assert from_baseline["metrics"] == api["metrics"]
    assert from_baseline["baseline"]["kind"] == "file"
    assert from_baseline["baseline"]["path"] == str(baseline_path)
    report.save_json(tmp_path / "api.json")
    saved = json.loads((tmp_path / "api.json").read_text())
    assert without(saved, "created_at") == without(report.to_dict(), "created_at")


def test_degradation_is_found(frames: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """Predictions shuffled against their labels lose their AUC: ``degraded`` is True."""
    reference = frames[0]
    shuffled = frames[1].with_columns(pl.col("predicted_default").shuffle(seed=0))
    report = sm.check_degradation(
        reference, shuffled, target="default", prediction="predicted_default"
    )
    assert report.degraded
    roc = next(c for c in report.comparisons if c.name == "roc_auc")
    assert roc.degraded
    assert roc.current is not None
    assert roc.current < 0.55


def test_validate_schema_matches_the_cli(files: Path, tmp_path: Path) -> None:
    """``validate_schema`` gives the document of ``validate-schema``; a dict schema works
    as its YAML file does, and ``valid`` is the verdict."""
    schema = {"columns": {"age": {"dtype": "float", "min": 18, "max": 60}, "region": {}}}
    schema_path = tmp_path / "schema.yaml"
    schema_path.write_text(yaml.safe_dump(schema))
    json_path = tmp_path / "cli.json"
    argv = ["validate-schema", "--data", str(files / "cur.parquet"), "--schema", str(schema_path)]
    assert main([*argv, "--json-path", str(json_path), "--fail-on", "schema"]) == 1
    cli = json.loads(json_path.read_text())
    report = sm.validate_schema(files / "cur.parquet", schema_path)
    assert report.to_dict() == cli
    Draft202012Validator(schema_validation_schema()).validate(cli)
    assert not report.valid
    assert [(v.column, v.check) for v in report.violations] == [("age", "max")]
    from_dict = sm.validate_schema(pl.read_parquet(files / "cur.parquet"), schema)
    assert from_dict.violations == report.violations
    assert from_dict.to_dict()["schema"] == "<schema>"


def test_monitor_predictions_matches_the_cli(
    files: Path, frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """``monitor_predictions`` gives the document of ``monitor-predictions`` for the same
    files; a pyarrow table and a ``Profile`` reference give the same windows."""
    json_path = tmp_path / "cli.json"
    argv = [
        "monitor-predictions",
        "--reference_data_path",
        str(files / "ref.parquet"),
        "--current_data_path",
        str(files / "cur.parquet"),
        "--prediction",
        "predicted_default",
        "--chunk-rows",
        "2500",
        "--json_path",
        str(json_path),
    ]
    assert main(argv) == 0
    cli = json.loads(json_path.read_text())
    keywords = {"prediction": "predicted_default", "chunk_rows": 2500}
    report = sm.monitor_predictions(files / "ref.parquet", files / "cur.parquet", **keywords)
    assert report.to_dict() == cli
    Draft202012Validator(prediction_monitor_schema()).validate(cli)
    assert report.n_windows == 4
    assert report.drift_detected is cli["drift_detected"]
    table = sm.monitor_predictions(
        frames[0], pa.Table.from_pandas(frames[1].to_pandas()), **keywords
    )
    assert table.to_dict()["windows"] == cli["windows"]
    profile = sm.build_profile(files / "ref.parquet", prediction="predicted_default")
    from_profile = sm.monitor_predictions(profile, frames[1], **keywords)
    assert from_profile.to_dict()["reference"]["type"] == "profile"
    assert [w.score.value for w in from_profile.windows] == pytest.approx(
        [w.score.value for w in report.windows]
    )


def test_build_profile_from_any_input(files: Path, frames: tuple[pl.DataFrame, ...]) -> None:
    """A profile of a file and of the same rows as a pandas frame have the same columns;
    roles come from the keywords; a column named that is not there is an error."""
    from_file = sm.build_profile(files / "ref.parquet", target="default")
    from_pandas = sm.build_profile(frames[0].to_pandas(), target="default")
    assert from_file.columns == from_pandas.columns
    assert from_file.target is not None
    assert from_file.target.name == "default"
    assert from_pandas.metadata.source == "<data pandas.DataFrame>"
    with pytest.raises(ColumnError, match="nope"):
        sm.build_profile(frames[0], target="nope")


# -- Monitor -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stream_profile() -> sm.Profile:
    return sm.build_profile(traffic(50_000, seed=1).drop("id"))


def test_monitor_alerts_on_drift_and_not_on_clean_traffic(stream_profile: sm.Profile) -> None:
    """Fed batches of traffic whose income moves by one sd at row 20,000, the monitor's
    first alert is ADWIN's on income within a hundred rows of the change; the alerts
    validate as alert messages. Clean traffic raises none."""
    live = traffic(40_000, seed=2, drift=Drift("income", at=20_000, size=1.0)).drop("id")
    monitor = sm.Monitor(stream_profile, name="credit")
    alerts: list[sm.Alert] = []
    for start in range(0, live.height, 4_000):
        alerts += monitor.update(live.slice(start, 4_000).to_pandas())
    assert alerts
    first = alerts[0]
    assert (first.type, first.feature, first.detector) == ("feature_drift", "income", "adwin")
    assert 20_000 <= first.window["last_offset"] < 20_100
    assert {a.feature for a in alerts if a.type == "feature_drift"} == {"income"}
    validator = Draft202012Validator(alert_schema())
    for alert in alerts:
        validator.validate(alert.to_dict())
        assert alert.monitor == "credit"
        assert sm.Alert.from_dict(alert.to_dict()) == alert
    assert monitor.counters.scored == live.height
    clean = sm.Monitor(stream_profile)
    assert clean.update(traffic(40_000, seed=3).drop("id")) == []


def test_monitor_alerts_are_those_of_run_source(stream_profile: sm.Profile, tmp_path: Path) -> None:
    """Whatever the batches, ``Monitor.update`` raises the alerts ``run --source`` raises on
    the same rows, with the same ids; a row of the wrong type is dead-lettered."""
    live = traffic(30_000, seed=4, drift=Drift("age", at=10_000, size=1.0)).drop("id")
    source = tmp_path / "live.parquet"
    live.write_parquet(source)
    profile_path = tmp_path / "profile.parquet"
    stream_profile.save(profile_path)
    alerts_path = tmp_path / "alerts.jsonl"
    argv = ["run", "--profile", str(profile_path), "--source", str(source)]
    assert main([*argv, "--alerts-out", str(alerts_path)]) == 0
    expected = [json.loads(line)["alert_id"] for line in alerts_path.read_text().splitlines()]
    assert expected
    monitor = sm.Monitor(profile_path, topic=source.name)
    got = []
    for start in range(0, live.height, 7_000):
        got += [a.alert_id for a in monitor.update(live.slice(start, 7_000))]
    assert got == expected
    bad = live.head(3).with_columns(pl.Series("age", ["x", "40", "41"]))
    assert monitor.update(bad) == []
    assert [d.reason for d in monitor.dead_letters] == ["wrong_type"]
    assert monitor.counters.dead_lettered == 1
