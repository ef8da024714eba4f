"""The command line loads only what the chosen subcommand needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stream_monitor.cli import COMMANDS, build_parser, main


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
