"""SASL/SCRAM, TLS and least-privilege ACLs against a real broker; no secret in any output.

The module runs its own broker (scripts/kafka.sh in a private home) with a SASL_PLAINTEXT
and a SASL_SSL listener, the StandardAuthorizer, and a SCRAM user created at format time
with a random password. The monitor's user gets exactly the ACLs the README lists, nothing
more. The PLAINTEXT listener (a super user, as an operator's admin would be) creates the
topics, produces the input and reads the output back.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from kafka_support import LocalBroker, free_ports, new_topic, payloads, produce, read_all

from stream_monitor.synthetic import Drift, traffic

pytestmark = pytest.mark.kafka

USER = "monitor"
RECORDS = 30_000
MONITOR = (sys.executable, "-m", "stream_monitor", "run")


@dataclass
class SecureBroker:
    broker: LocalBroker
    sasl: str
    ssl: str
    ca: Path
    password: str


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    """A broker with SCRAM listeners and ACLs; STREAM_MONITOR_BOOTSTRAP is its PLAINTEXT."""
    password = secrets.token_urlsafe(24)
    port = free_ports(4)
    scram = " ".join(
        f"--add-scram SCRAM-SHA-{bits}=[name={USER},password={password}]" for bits in (256, 512)
    )
    home = tmp_path_factory.mktemp("secure-broker")
    local = LocalBroker(
        home,
        port,
        STREAM_MONITOR_KAFKA_SASL_PORT=str(port + 2),
        STREAM_MONITOR_KAFKA_SSL_PORT=str(port + 3),
        STREAM_MONITOR_KAFKA_ACLS="1",
        STREAM_MONITOR_KAFKA_FORMAT_ARGS=scram,
    )
    with pytest.MonkeyPatch.context() as patch:
        local.start()
        patch.setenv("STREAM_MONITOR_BOOTSTRAP", local.address)
        try:
            yield SecureBroker(
                local,
                f"127.0.0.1:{port + 2}",
                f"127.0.0.1:{port + 3}",
                home / "tls" / "ca.pem",
                password,
            )
        finally:
            local.stop()


def grant(
    settings: dict[str, object], rules: list[tuple[ResourceType, str, AclOperation, bool]]
) -> None:
    """Allow the monitor's user each (resource type, name, operation, prefixed) rule."""
    bindings = [
        AclBinding(
            kind,
            name,
            ResourcePatternType.PREFIXED if prefixed else ResourcePatternType.LITERAL,
            f"User:{USER}",
            "*",
            op,
            AclPermissionType.ALLOW,
        )
        for kind, name, op, prefixed in rules
    ]
    admin = AdminClient({"bootstrap.servers": str(settings["admin_bootstrap"])})
    for future in admin.create_acls(bindings).values():
        future.result(30)


def grant_least_privilege(settings: dict[str, object], monitor: str) -> None:
    """Exactly the README's ACL list, for the monitor's user."""
    topic, group = ResourceType.TOPIC, ResourceType.GROUP
    read, write, describe = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE
    inputs = settings["input_topics"]
    assert isinstance(inputs, list)
    rules = [(topic, str(t), op, False) for t in inputs for op in (read, describe)]
    rules.append((group, str(settings["group_id"]), read, False))
    for name in (settings["alert_topic"], settings["dead_letter_topic"]):
        rules += [(topic, str(name), op, False) for op in (write, describe)]
    rules += [(topic, str(settings["state_topic"]), op, False) for op in (read, write, describe)]
    prefix = f"stream-monitor-{monitor}-"
    rules += [(ResourceType.TRANSACTIONAL_ID, prefix, op, True) for op in (write, describe)]
    grant(settings, rules)


def deployment(
    tmp_path: Path, secure: SecureBroker, profile_path: Path, name: str
) -> dict[str, object]:
    """Topics (made by the admin, so the monitor needs no Create right) and input records
    with a drift in ``income`` from the middle on."""
    input_topic = new_topic(f"{name}-in", partitions=3)
    frame = traffic(RECORDS, seed=5, drift=Drift("income", RECORDS // 2, 0.8)).drop("id")
    produce(input_topic, payloads(frame), partitions=3)
    return {
        "admin_bootstrap": secure.broker.address,
        "profile": str(profile_path),
        "input_topics": [input_topic],
        "alert_topic": new_topic(f"{name}-alerts", partitions=3),
        "dead_letter_topic": new_topic(f"{name}-dlq", partitions=3),
        "state_topic": new_topic(f"{name}-state", compacted=True),
        "group_id": f"{name}-group",
        "commit_interval_s": 0.5,
    }


def run_monitor(
    tmp_path: Path, settings: dict[str, object], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``stream-monitor run`` over the whole input; everything it printed is captured."""
    stream = {k: v for k, v in settings.items() if k != "admin_bootstrap"}
    config = tmp_path / "stream.yaml"
    config.write_text(yaml.safe_dump({"stream": stream}))
    return subprocess.run(
        [*MONITOR, "--config", str(config), "--max-records", str(RECORDS)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def client(
    secure: SecureBroker, protocol: str, mechanism: str, password: dict[str, str]
) -> dict[str, object]:
    """The ``stream.kafka`` settings of the monitor's SCRAM user."""
    settings: dict[str, object] = {
        "security.protocol": protocol,
        "sasl.mechanism": mechanism,
        "sasl.username": USER,
        "sasl.password": password,
    }
    if protocol == "SASL_SSL":
        settings["ssl.ca.location"] = str(secure.ca)
    return settings


ENV_PASSWORD = {"env": "MONITOR_KAFKA_PASSWORD"}


def assert_no_secret(done: subprocess.CompletedProcess[str], *secret: str) -> None:
    output = done.stdout + done.stderr
    for s in secret:
        assert s not in output
    assert "Traceback" not in output


def test_scram_over_tls_with_env_secret_exactly_once(
    tmp_path: Path, profile_path: Path, secure: SecureBroker
) -> None:
    """SASL_SSL with SCRAM-SHA-256, the password from an environment variable, hostname
    verification on, least-privilege ACLs, exactly-once: the drift is reported, and the
    password appears nowhere in the monitor's output."""
    settings = deployment(tmp_path, secure, profile_path, "tls")
    settings |= {
        "monitor": "secure-tls",
        "bootstrap_servers": secure.ssl,
        "processing_guarantee": "exactly_once",
        "kafka": client(secure, "SASL_SSL", "SCRAM-SHA-256", ENV_PASSWORD),
    }
    grant_least_privilege(settings, "secure-tls")
    done = run_monitor(tmp_path, settings, {"MONITOR_KAFKA_PASSWORD": secure.password})
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{RECORDS} messages, {RECORDS} records scored, 0 dead-lettered" in done.stderr
    assert_no_secret(done, secure.password)
    alerts = [json.loads(m.value()) for m in read_all(str(settings["alert_topic"]))]
    assert alerts, "the drift in income raised no alert"
    assert {a["feature"] for a in alerts if a["type"] == "feature_drift"} == {"income"}
    assert f"{len(alerts)} alerts" in done.stderr
    for line in done.stderr.splitlines()[:-1]:  # JSON log lines, then the summary
        json.loads(line)


def test_scram_sha512_with_secret_file_at_least_once(
    tmp_path: Path, profile_path: Path, secure: SecureBroker
) -> None:
    """SASL_PLAINTEXT with SCRAM-SHA-512 and the password read from a file."""
    secret_file = tmp_path / "kafka-password"
    secret_file.write_text(secure.password + "\n")
    settings = deployment(tmp_path, secure, profile_path, "file")
    settings |= {
        "monitor": "secure-file",
        "bootstrap_servers": secure.sasl,
        "kafka": client(secure, "SASL_PLAINTEXT", "SCRAM-SHA-512", {"file": str(secret_file)}),
    }
    grant_least_privilege(settings, "secure-file")
    done = run_monitor(tmp_path, settings)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{RECORDS} messages, {RECORDS} records scored" in done.stderr
    assert_no_secret(done, secure.password)
    written = [json.loads(m.value())["alert_id"] for m in read_all(str(settings["alert_topic"]))]
    assert written
    # `alerts` reaches the SASL cluster with the run's own config and the ACLs the README
    # lists for it (a group prefix of its own, Read on the alert topic).
    grant(
        settings,
        [
            (ResourceType.TOPIC, str(settings["alert_topic"]), AclOperation.READ, False),
            (ResourceType.GROUP, "stream-monitor-alerts-", AclOperation.READ, True),
        ],
    )
    tail = subprocess.run(
        [
            *MONITOR[:-1],
            "alerts",
            "--config",
            str(tmp_path / "stream.yaml"),
            "--from-beginning",
            "--json",
            "--max-alerts",
            str(len(written)),
            "--idle-timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tail.returncode == 0, tail.stderr[-3000:]
    assert sorted(json.loads(line)["alert_id"] for line in tail.stdout.splitlines()) == sorted(
        written
    )
    assert_no_secret(tail, secure.password)


def test_wrong_password_is_one_line_without_secrets(
    tmp_path: Path, profile_path: Path, secure: SecureBroker
) -> None:
    """A wrong password stops the run at once with one line saying authentication failed
    (exit 2), and neither the wrong nor the right password is printed."""
    wrong = secrets.token_urlsafe(24)
    settings = deployment(tmp_path, secure, profile_path, "wrong")
    settings |= {
        "bootstrap_servers": secure.ssl,
        "kafka": client(secure, "SASL_SSL", "SCRAM-SHA-256", ENV_PASSWORD),
    }
    done = run_monitor(tmp_path, settings, {"MONITOR_KAFKA_PASSWORD": wrong})
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"stream-monitor run: error: stream.kafka: cannot connect to {secure.ssl}"
    )
    assert "invalid credentials" in last
    assert_no_secret(done, wrong, secure.password)


def test_missing_secret_names_the_key_and_variable(tmp_path: Path, profile_path: Path) -> None:
    """An unset variable or unreadable file is a one-line config error naming both."""
    config = tmp_path / "stream.yaml"
    for reference, expected in (
        ({"env": "NO_SUCH_VARIABLE_XYZ"}, "environment variable NO_SUCH_VARIABLE_XYZ is not set"),
        (
            {"file": str(tmp_path / "absent")},
            f"cannot read secret file {tmp_path / 'absent'}: No such file or directory",
        ),
    ):
        stream = {
            "profile": str(profile_path),
            "input_topics": ["x"],
            "kafka": {"sasl.password": reference},
        }
        config.write_text(yaml.safe_dump({"stream": stream}))
        done = subprocess.run(
            [*MONITOR, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert done.stderr.strip() == (
            f"stream-monitor run: error: {config}: stream.kafka.sasl.password: {expected}"
        )


def test_transactional_id_outside_the_granted_prefix_is_refused(
    tmp_path: Path, profile_path: Path, secure: SecureBroker
) -> None:
    """The transactional-id ACL is needed: a monitor whose ids fall outside the granted
    prefix stops at once with exit code 3 and one line saying why."""
    settings = deployment(tmp_path, secure, profile_path, "noacl")
    settings |= {
        "monitor": "granted",
        "bootstrap_servers": secure.sasl,
        "processing_guarantee": "exactly_once",
        "kafka": client(secure, "SASL_PLAINTEXT", "SCRAM-SHA-256", ENV_PASSWORD),
    }
    grant_least_privilege(settings, "granted")
    settings["monitor"] = "not-granted"
    done = run_monitor(tmp_path, settings, {"MONITOR_KAFKA_PASSWORD": secure.password})
    assert done.returncode == 3, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("stream-monitor run: stopped:")
    assert "authoriz" in last.lower()
    assert_no_secret(done, secure.password)
    assert read_all(str(settings["alert_topic"])) == []
