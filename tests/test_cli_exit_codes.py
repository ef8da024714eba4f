"""Every batch job's documented exit codes, through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from stream_monitor.cli import main
from stream_monitor.synthetic import NUMERIC_FEATURES, Drift, traffic


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A reference file, a current file with drift, and one without."""
    folder = tmp_path_factory.mktemp("cli")
    paths = {
        "ref": folder / "ref.parquet",
        "same": folder / "same.parquet",
        "drift": folder / "drift.csv",
    }
    traffic(30_000, seed=1).drop("id").write_parquet(paths["ref"])
    traffic(30_000, seed=2).drop("id").write_parquet(paths["same"])
    drifted = traffic(30_000, seed=3, drift=Drift("income", 0, 2.0))
    drifted = drifted.with_columns(pl.col(c) * 2 + 1 for c in NUMERIC_FEATURES)
    drifted.drop("id").write_csv(paths["drift"])
    return paths


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single line a usage error prints on stderr (and nothing that looks like a traceback)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def drift_args(files: dict[str, Path], current: str, tmp_path: Path) -> list[str]:
    """check-drift arguments, in the underscore spelling an existing script uses."""
    return [
        "check-drift",
        "--reference_data_path",
        str(files["ref"]),
        "--current_data_path",
        str(files[current]),
        "--report_path",
        str(tmp_path / "r.html"),
        "--json_path",
        str(tmp_path / "r.json"),
    ]


def test_check_drift_exit_codes(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 without drift; 0 with drift unless --fail-on-drift, then 1; 2 for a missing file."""
    assert main([*drift_args(files, "same", tmp_path), "--fail-on-drift"]) == 0
    assert not json.loads((tmp_path / "r.json").read_text())["dataset_drift"]
    assert main(drift_args(files, "drift", tmp_path)) == 0
    assert main([*drift_args(files, "drift", tmp_path), "--fail-on-drift"]) == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["dataset_drift"]
    assert report["features"]["income"]["drift_detected"]
    capsys.readouterr()
    args = drift_args(files, "same", tmp_path)
    args[4] = str(tmp_path / "missing.parquet")
    assert main(args) == 2
    assert "missing.parquet" in one_error_line(capsys)


def test_check_drift_names_a_column_missing_from_current(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reference column absent from the current data is a one-line error naming it."""
    current = tmp_path / "narrow.parquet"
    traffic(1_000, seed=4).drop(["id", "utilization"]).write_parquet(current)
    args = drift_args(files, "same", tmp_path)
    args[4] = str(current)
    assert main(args) == 2
    assert "utilization" in one_error_line(capsys)


def test_validate_schema_exit_codes(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inferred schema: 0 on its own data; on data outside it 0, or 1 with --fail-on schema;
    2 on a bad schema file."""
    schema = tmp_path / "schema.yaml"
    assert (
        main(["validate-schema", "--data", str(files["ref"]), "--infer", "--schema", str(schema)])
        == 0
    )
    assert main(["validate-schema", "--data", str(files["ref"]), "--schema", str(schema)]) == 0
    out = tmp_path / "v.json"
    code = main(
        [
            "validate-schema",
            "--data",
            str(files["drift"]),
            "--schema",
            str(schema),
            "--json_path",
            str(out),
        ]
    )
    assert code == 0  # violations decide the exit code only with --fail-on schema
    assert not json.loads(out.read_text())["valid"]
    args = ["validate-schema", "--data", str(files["drift"]), "--schema", str(schema)]
    assert main([*args, "--fail-on", "schema"]) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: [1, 2\n")
    capsys.readouterr()
    assert main(["validate-schema", "--data", str(files["ref"]), "--schema", str(bad)]) == 2
    assert "bad.yaml" in one_error_line(capsys)


def test_check_degradation_exit_codes(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 when the model holds up, 1 with --fail-on-degradation when not, 2 for a bad column."""
    degraded = tmp_path / "degraded.parquet"
    traffic(30_000, seed=5, concept_at=0).drop("id").write_parquet(degraded)
    base = [
        "check-degradation",
        "--reference_data_path",
        str(files["ref"]),
        "--target",
        "default",
        "--prediction",
        "predicted_default",
        "--fail-on-degradation",
    ]
    assert main([*base, "--current_data_path", str(files["same"])]) == 0
    assert main([*base, "--current_data_path", str(degraded)]) == 1
    capsys.readouterr()
    wrong = [*base, "--current_data_path", str(files["same"])]
    wrong[wrong.index("default")] = "no_such_column"
    assert main(wrong) == 2
    assert "no_such_column" in one_error_line(capsys)


def test_monitor_predictions_exit_codes(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 without drifted windows, 1 with --fail-on-drift when a window drifted, 2 for a bad flag."""
    shifted = tmp_path / "shifted.parquet"
    frame = traffic(30_000, seed=6).drop("id")
    frame.with_columns(frame["predicted_default"] * 0.3).write_parquet(shifted)
    base = [
        "monitor-predictions",
        "--reference_data_path",
        str(files["ref"]),
        "--prediction",
        "predicted_default",
        "--chunk-rows",
        "10000",
        "--fail-on-drift",
    ]
    assert main([*base, "--current_data_path", str(files["same"])]) == 0
    assert main([*base, "--current_data_path", str(shifted)]) == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage error
        main([*base, "--current_data_path", str(shifted), "--window", "1h"])
    assert exit_info.value.code == 2
    assert "--window" in one_error_line(capsys)


def run_into_closed_pipe(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the command line with stdout a pipe whose reader has already gone, as
    ``stream-monitor ... | head`` leaves it once head has exited."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "stream_monitor", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def test_a_closed_pipe_ends_the_command_quietly(files: dict[str, Path]) -> None:
    """A job writing to a pipe nobody reads any more exits with 141 (128 + SIGPIPE) and
    prints nothing, no traceback nor "Exception ignored"; ``--help`` (argparse drops the
    write error itself) exits 0, also without a word."""
    job = ["monitor-predictions", "--reference_data_path", str(files["ref"])]
    job += ["--current_data_path", str(files["same"]), "--prediction", "predicted_default"]
    for args, code in ((job, 141), (["--help"], 0)):
        done = run_into_closed_pipe(args)
        assert (done.returncode, done.stderr) == (code, ""), args


def test_null_values_from_the_flag_or_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV float column holding ``unknown`` deep in the file is a one-line error (exit 2)
    naming file, column, row and value; ``--null-values`` or the config's
    ``input.null_values`` read it as missing instead."""
    x = [str(v) for v in range(20_000)]
    x[15_000] = "unknown"
    data = tmp_path / "data.csv"
    pl.DataFrame({"x": [f"{v}.5" if v != "unknown" else v for v in x]}).write_csv(data)
    profile = ["profile", "--data", str(data), "--out", str(tmp_path / "p.parquet")]
    assert main(profile) == 2
    line = one_error_line(capsys)
    assert f"{data}: column 'x' row 15001: cannot read 'unknown'" in line
    assert main([*profile, "--null-values", "n/a,unknown"]) == 0
    config = tmp_path / "config.yaml"
    config.write_text("input:\n  null_values: [unknown]\nprofile:\n  bins: 10\n")
    assert main([*profile, "--config", str(config)]) == 0
    config.write_text("input:\n  null_values: unknown\n")
    capsys.readouterr()
    assert main([*profile, "--config", str(config)]) == 2
    assert "input.null_values" in one_error_line(capsys)


def test_a_misspelled_config_section_is_an_error(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A section no job reads (``drfit:``) is a one-line error naming the file and the
    section, with the likely spelling, for every job that reads the file."""
    config = tmp_path / "typo.yaml"
    config.write_text("drfit:\n  drift_share_threshold: 0.1\n")
    assert main([*drift_args(files, "same", tmp_path), "--config", str(config)]) == 2
    line = one_error_line(capsys)
    assert str(config) in line
    assert "drfit: unknown section (did you mean 'drift'?)" in line
    profile = tmp_path / "p.parquet"
    args = ["profile", "--data", str(files["ref"]), "--out", str(profile)]
    assert main([*args, "--config", str(config)]) == 2
    assert "drfit: unknown section" in one_error_line(capsys)
    assert not profile.exists()


def test_per_column_settings_must_name_columns(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``drift.columns`` or ``drift.kinds`` naming no column is a one-line error, not a
    setting silently ignored."""
    for section in ("columns:\n    not_a_col: psi\n", "kinds:\n    not_a_col: numeric\n"):
        config = tmp_path / "cols.yaml"
        config.write_text("drift:\n  " + section)
        assert main([*drift_args(files, "same", tmp_path), "--config", str(config)]) == 2
        line = one_error_line(capsys)
        assert "'not_a_col'" in line
        assert "not a column" in line


@pytest.mark.parametrize(
    "command", ["check-drift", "monitor-predictions", "check-degradation", "validate-schema"]
)
def test_every_judging_job_takes_fail_on(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """One convention: every job that judges lists what ``--fail-on`` can name in its help,
    and refuses anything else with a one-line usage error naming the choices."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--fail-on WHAT" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stopped:
        main([command, "--fail-on", "everything"])
    assert stopped.value.code == 2
    assert "--fail-on: invalid choice: 'everything'" in capsys.readouterr().err


def test_a_typo_in_another_jobs_section_is_caught_by_any_job(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole file is checked whichever job reads it: ``check-drift`` names a misspelled
    key of the ``stream:`` section, with its likely spelling."""
    config = tmp_path / "shared.yaml"
    config.write_text("drift:\n  drift_share_threshold: 0.5\nstream:\n  alert_topc: alerts\n")
    assert main([*drift_args(files, "same", tmp_path), "--config", str(config)]) == 2
    line = one_error_line(capsys)
    assert "stream.alert_topc: unknown key (did you mean 'alert_topic'?)" in line


def test_check_drift_writes_only_json_when_asked(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json-path`` alone writes the JSON report and no HTML; neither output is a one-line
    error naming the flags."""
    base = ["check-drift", "--reference-data-path", str(files["ref"])]
    base += ["--current-data-path", str(files["same"])]
    out = tmp_path / "only.json"
    assert main([*base, "--json-path", str(out)]) == 0
    assert json.loads(out.read_text())["dataset_drift"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only.json"]
    capsys.readouterr()
    assert main(base) == 2
    assert "--report-path: give --report-path, --json-path or both" in one_error_line(capsys)
