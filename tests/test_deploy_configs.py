"""The shipped deploy/ files, checked by Prometheus's and Alertmanager's own tools."""

from __future__ import annotations

import json
import subprocess

import pytest
from prom_support import DASHBOARDS, DEPLOY, RULES, alert_rules, run_tool, signal_of

ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"

# What issue 12 asks the rules to cover, and the alerts that do.
EXPECTED_ALERTS = {
    "StreamFeatureDrift",
    "StreamIncidentOpen",
    "BatchFeatureDrift",
    "ModelDegraded",
    "SchemaViolations",
    "DeadLetterShare",
    "ConsumerLag",
    "BatchJobStale",
    "StreamMonitorDown",
    "StreamMonitorStalled",
}


def _ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{done.args} failed:\n{done.stdout}{done.stderr}"


def test_promtool_accepts_the_rules_and_the_example_config() -> None:
    """`promtool check rules` and `check config` accept rules.yml and prometheus.yml."""
    _ok(run_tool("promtool", "check", "rules", str(RULES)))
    _ok(run_tool("promtool", "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")))


def test_rule_unit_tests_pass() -> None:
    """`promtool test rules` passes rules.test.yml, which shows each alert firing and not."""
    done = run_tool("promtool", "test", "rules", str(DEPLOY / "prometheus" / "rules.test.yml"))
    _ok(done)
    assert "SUCCESS" in done.stdout + done.stderr


def test_every_alert_is_covered_and_unit_tested() -> None:
    """rules.yml has exactly the expected alerts, each `<signal> <op> <number>`, each with a
    severity, and each named in rules.test.yml."""
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} == EXPECTED_ALERTS
    tests = (DEPLOY / "prometheus" / "rules.test.yml").read_text()
    for rule in rules:
        signal_of(rule["expr"])
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert f"alertname: {rule['alert']}\n" in tests, rule["alert"]


def test_amtool_accepts_the_alertmanager_config() -> None:
    """`amtool check-config` accepts alertmanager.yml."""
    _ok(run_tool("amtool", "check-config", str(ALERTMANAGER)))


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=StreamFeatureDrift", "severity=warning", "feature=income"], "ml-team"),
        (["alertname=ModelDegraded", "severity=critical"], "ml-oncall"),
        (["alertname=StreamMonitorDown", "severity=critical"], "ml-oncall"),
        (["alertname=ConsumerLag", "severity=warning"], "ml-team"),
    ],
)
def test_alerts_route_to_their_receiver(labels: list[str], receiver: str) -> None:
    """`amtool config routes test` sends warnings to the team and critical alerts to on-call."""
    done = run_tool("amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
    _ok(done)
    assert done.stdout.strip() == receiver


def test_dashboards_are_provisionable() -> None:
    """Both dashboards parse, have unique uids, a datasource variable used by every target,
    and a query in every target."""
    assert [p.name for p in DASHBOARDS] == ["batch.json", "stream.json"]
    uids = set()
    for path in DASHBOARDS:
        document = json.loads(path.read_text())
        uids.add(document["uid"])
        names = {v["name"] for v in document["templating"]["list"]}
        assert {"datasource", "monitor", "model"} <= names
        ids = [panel["id"] for panel in document["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in document["panels"]:
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
                assert target["expr"].strip()
    assert len(uids) == len(DASHBOARDS)
