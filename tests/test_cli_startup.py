"""The command line loads only what the chosen subcommand needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


def imported_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(*sorted(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
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
