"""``stream-monitor alerts``: connects as ``run`` does, and says in one line when it cannot."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stream_monitor.cli import main
from stream_monitor.engine.column import DriftEvent
from stream_monitor.stream.alerts import WindowInfo, build_alert


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_alerts_without_a_broker_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """No broker at the address: one line on stderr naming it, exit code 2, within a few
    seconds of --connect-timeout, and none of librdkafka's connection lines."""
    address = f"127.0.0.1:{closed_port()}"
    args = ["alerts", "--bootstrap-servers", address, "--alert-topic", "a"]
    done = subprocess.run(
        [sys.executable, "-m", "stream_monitor", *args, "--connect-timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"stream-monitor alerts: error: cannot reach a Kafka broker at {address}"
    )
    assert done.stdout == ""


def test_alerts_rejects_a_config_it_cannot_resolve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``alerts`` reads the ``stream:`` section as ``run`` does: an unset secret variable is a
    one-line error naming the key, before any connection is tried."""
    monkeypatch.delenv("NO_SUCH_KAFKA_PASSWORD", raising=False)
    config = tmp_path / "stream.yaml"
    config.write_text(
        yaml.safe_dump({"stream": {"kafka": {"sasl.password": {"env": "NO_SUCH_KAFKA_PASSWORD"}}}})
    )
    assert main(["alerts", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert "stream.kafka.sasl.password" in err
    assert "NO_SUCH_KAFKA_PASSWORD" in err


@pytest.mark.kafka
def test_alerts_reads_with_the_config_files_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With bootstrap servers, alert topic and client settings (a secret reference among
    them) from the config's ``stream:`` section, ``alerts`` prints the topic's alerts."""
    from kafka_support import bootstrap, new_topic, produce

    topic = new_topic("alerts")
    event = DriftEvent("feature_drift", "income", "psi", 0.4, 0.1, 99, 100)
    alert = build_alert("m", event, WindowInfo(100, 0, 99, 0, "in"))
    produce(topic, [json.dumps(alert).encode()])
    monkeypatch.setenv("ALERTS_CLIENT_ID", "alerts-test")
    config = tmp_path / "stream.yaml"
    stream = {
        "bootstrap_servers": bootstrap(),
        "alert_topic": topic,
        "kafka": {"client.id": {"env": "ALERTS_CLIENT_ID"}},
        "kafka_consumer": {"fetch.wait.max.ms": 50},
    }
    config.write_text(yaml.safe_dump({"stream": stream}))
    args = ["alerts", "--config", str(config), "--from-beginning", "--json", "--max-alerts", "1"]
    assert main([*args, "--idle-timeout", "60"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["alert_id"] for a in printed] == [alert["alert_id"]]
