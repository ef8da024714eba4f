"""The command line loads only what the chosen subcommand needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stream_monitor.batch.drift import SELF_CHECK_ENV
from stream_monitor.cli import COMMANDS, build_parser, main
from stream_monitor.detectors.methods import method_names
from stream_monitor.synthetic import traffic


def test_help_lists_every_subcommand_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`stream-monitor --help` names each subcommand, `alerts` and `demo` too, with its help."""
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for command in COMMANDS:
        assert f"{command.name} {command.help}" in out
    assert {"alerts", "demo"} <= {command.name for command in COMMANDS}


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_each_subcommand_module_adds_its_flags_and_runner(command: str) -> None:
    """Choosing a subcommand loads its module, which gives it its flags and its ``func``."""
    parser = build_parser(command)
    subparser = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    assert subparser._defaults.get("func") is not None
    assert len(subparser._actions) > 1  # more than -h


def imported_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(*sorted(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return set(done.stdout.split())


def test_help_imports_no_subcommand() -> None:
    """`--help` imports none of the subcommand modules, nor numpy, polars or Kafka."""
    modules = imported_after(
        "from stream_monitor.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not {c.module for c in COMMANDS} & modules
    assert not {"numpy", "polars", "confluent_kafka", "scipy"} & modules


def scipy_modules(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "scipy" or m.startswith("scipy.")}


# numba imports scipy by itself: the bare package to check its version when imported, and
# scipy.linalg (for its BLAS) when it first runs or loads a kernel. Nothing of scipy's
# beyond that may come with the streaming path; scipy.stats and scipy.special in particular.
NUMBA_IMPORTED = scipy_modules(imported_after("import numba"))
NUMBA_RUNNING = scipy_modules(imported_after("import numba\nnumba.njit(lambda x: x + 1)(1)"))
NEVER = {"scipy.stats", "scipy.special", "scipy.spatial", "scipy.optimize"}


def test_run_path_imports_no_scipy() -> None:
    """Importing the command line and everything `run` imports on Kafka loads no scipy
    module that importing numba does not load by itself."""
    modules = imported_after(
        "from stream_monitor.cli import build_parser\n"
        "build_parser('run')\n"
        "import stream_monitor.stream.kafka_app"
    )
    assert "stream_monitor.cli.run" in modules
    assert scipy_modules(modules) <= NUMBA_IMPORTED, sorted(scipy_modules(modules) - NUMBA_IMPORTED)


def test_a_run_with_every_stream_score_imports_no_scipy(profile_path: Path, tmp_path: Path) -> None:
    """`run --source` with every streaming score on (chi-square included) and windows that
    close imports no scipy beyond what numba's own kernels load: the streaming path never
    needs it."""
    live = tmp_path / "live.csv"
    traffic(6_000, seed=2).drop("id").write_csv(live)
    config = tmp_path / "stream.yaml"
    stream = {
        "window_rows": 1_000,
        "numeric_methods": dict.fromkeys(method_names("numeric", window=True)),
        "categorical_methods": dict.fromkeys(method_names("categorical", window=True)),
    }
    config.write_text(yaml.safe_dump({"stream": stream}))
    argv = [
        "run",
        "--config",
        str(config),
        "--profile",
        str(profile_path),
        "--source",
        str(live),
        "--alerts-out",
        str(tmp_path / "alerts.jsonl"),
    ]
    modules = imported_after(
        f"from stream_monitor.cli import main\nassert main({argv!r}) == 0\n"
        "import stream_monitor.stream.kafka_app"
    )
    assert "stream_monitor.stream.pipeline" in modules
    assert not NEVER & modules
    assert scipy_modules(modules) <= NUMBA_RUNNING, sorted(scipy_modules(modules) - NUMBA_RUNNING)


def test_a_kafka_pipeline_gets_ready_without_scipy_linalg_or_pandas(
    profile_path: Path, tmp_path: Path
) -> None:
    """Reading the profile, building the Kafka path's pipeline and scoring a first payload
    (every kernel loaded) imports neither ``scipy.linalg`` (numba's start-up BLAS probe,
    0.5 s, answered by ``stream_monitor._numba``) nor pandas (which ``pyarrow.dataset``
    imports, 0.6 s): both are start-up time a cold `run` does not need."""
    live = tmp_path / "live.ndjson"
    traffic(10, seed=2).drop("id").write_ndjson(live)
    modules = imported_after(
        "from stream_monitor.profile.store import read_profile\n"
        "from stream_monitor.stream.pipeline import Pipeline\n"
        "from stream_monitor.stream.settings import StreamSettings\n"
        f"pipeline = Pipeline(read_profile({str(profile_path)!r}), StreamSettings())\n"
        f"payload = open({str(live)!r}, 'rb').readline().strip()\n"
        "alerts, dead = pipeline.process_payloads('t', 0, [payload], [0])\n"
        "assert pipeline.counters.scored == 1 and not dead\n"
    )
    assert "stream_monitor.stream.flatjson" in modules
    assert not {m for m in modules if m.startswith("scipy.linalg")}
    assert not {"pandas", "pyarrow.dataset"} & modules


def test_kernels_that_use_blas_still_get_numbas_own_check() -> None:
    """After the deferred probe, a kernel calling ``np.dot`` compiles and runs, and numba
    imports SciPy's BLAS for it then (with its check of the library's integer width)."""
    modules = imported_after(
        "import numpy as np\n"
        "import stream_monitor.detectors\n"
        "from numba import njit\n"
        "identity = njit(lambda x: x)\n"
        "assert identity(2) == 2\n"
        "import sys\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "dot = njit(lambda a, b: np.dot(a, b))\n"
        "assert dot(np.arange(3.0), np.ones(3)) == 3.0\n"
    )
    assert "scipy.linalg.cython_blas" in modules


def test_check_drift_with_its_default_scores_imports_no_scipy_stats(tmp_path: Path) -> None:
    """`check-drift` on data large enough for Wasserstein and Jensen-Shannon (every column's
    quality test and the multivariate drift included) imports neither ``scipy.stats`` nor
    ``scipy.special``: their import took longer than scoring a million rows. Nor, unless
    asked to (``STREAM_MONITOR_SELF_CHECK``, which the test suite sets), jsonschema."""
    reference, current = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    traffic(3_000, seed=1).drop("id").write_parquet(reference)
    traffic(3_000, seed=2).drop("id").write_parquet(current)
    out = tmp_path / "drift.json"
    argv = [
        "check-drift",
        "--reference_data_path",
        str(reference),
        "--current_data_path",
        str(current),
        "--json_path",
        str(out),
    ]
    # As a user runs it: without the test suite's check of every report against its schema.
    env = {k: v for k, v in os.environ.items() if k != SELF_CHECK_ENV}
    code = f"from stream_monitor.cli import main\nassert main({argv!r}) == 0"
    modules = imported_after(code, env)
    report = json.loads(out.read_text())
    features = report["features"].values()
    assert {f["method"] for f in features} == {"wasserstein", "jensen_shannon"}
    assert report["multivariate"] is not None
    checks = [c for f in features for c in f["data_quality"]["checks"].values()]
    assert any(0 < c["p_value"] < 1 for c in checks)  # a Fisher test's tail was computed
    assert not NEVER & modules, sorted(NEVER & modules)
    assert "jsonschema" not in modules
    assert "jsonschema" in imported_after(code, {**env, SELF_CHECK_ENV: "1"})


def test_the_process_entry_returns_mains_code_and_freezes_what_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``run_command`` (the console script and ``python -m stream_monitor``) returns
    ``main``'s exit code, with the objects left frozen out of the collector, so that the
    interpreter's last collection at exit does not walk them."""
    import gc

    from stream_monitor import cli

    monkeypatch.setattr(cli, "main", lambda: 3)
    gc.unfreeze()
    try:
        assert cli.run_command() == 3
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_console_script_and_module_run_the_process_entry(tmp_path: Path) -> None:
    """``stream-monitor`` and ``python -m stream_monitor`` both go through ``run_command``:
    at exit the objects are frozen, after a job's error too."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["stream-monitor"] == "stream_monitor.cli:run_command"
    missing = tmp_path / "missing.parquet"
    code = (
        "import atexit, gc, runpy, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, file=sys.stderr))\n"
        f"sys.argv = ['stream-monitor', 'check-drift', '--reference_data_path', {str(missing)!r},"
        f" '--current_data_path', {str(missing)!r}, '--json_path', {str(tmp_path / 'r.json')!r}]\n"
        "runpy.run_module('stream_monitor', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[-1] == "frozen True"
    assert "missing.parquet" in lines[0]
