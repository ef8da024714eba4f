"""Real Prometheus, Alertmanager and Pushgateway processes for the tests of ``deploy/``.

Each binary comes from Debian's packages (``scripts/system-deps.sh`` installs them); a missing
one fails the test with one line saying what to install. Every process listens on 127.0.0.1,
on a free port, with its storage in the test's temporary directory, and is stopped by its PID.
A tiny ``http.server`` stands in for the receiver of Alertmanager's webhooks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from kafka_support import REPO, free_ports

DEPLOY = REPO / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

# An alert expression is `<signal> <comparison> <threshold>` (rules.yml's header says why).
_ALERT_EXPR = re.compile(r"^(?P<signal>.*\S)\s*(?:>=|<=|==|!=|>|<)\s*-?[0-9.e+]+$", re.DOTALL)

# What Grafana puts in place of its built-in variables, and of the dashboards' own.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$monitor": ".*",
    "$model": ".*",
}

# No proxy, whatever the environment says: everything is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

T = TypeVar("T")


def binary(name: str) -> str:
    """The path of ``name``; a clear failure when it is not installed."""
    path = shutil.which(name)
    assert path, f"{name} is not installed: run scripts/system-deps.sh (Debian packages)"
    return path


def run_tool(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run promtool or amtool; the completed process (its output for the failure message)."""
    return subprocess.run([binary(argv[0]), *argv[1:]], capture_output=True, text=True, timeout=120)


def wait_for(probe: Callable[[], T | None], what: str, timeout_s: float = 120.0) -> T:
    """Call ``probe`` until it returns something other than None (or falsy); fail naming
    ``what`` if it never does within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def http_get(url: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
    """GET ``url``: status and body (0 and nothing when nobody answers)."""
    try:
        with _OPENER.open(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()
    except OSError:
        return 0, b""


class Service:
    """One server process on 127.0.0.1: started with its flags, ready when ``ready_path``
    answers 200, stopped by PID."""

    def __init__(self, name: str, args: list[str], port: int, ready_path: str, log: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [binary(name), *args], stdout=self._log, stderr=subprocess.STDOUT
        )
        self.log_path = log

        def ready() -> bool:
            assert self.process.poll() is None, f"{name} exited: {self.tail()}"
            return http_get(self.url + ready_path)[0] == 200

        wait_for(ready, f"{name} to be ready on {self.url}", timeout_s=60)

    def tail(self) -> str:
        """The end of the process's output, for failure messages."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """SIGTERM this process (by its PID), then SIGKILL it if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(20)
        self._log.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1, below the ephemeral range."""
    return free_ports(1)


def start_pushgateway(folder: Path) -> Service:
    """A Pushgateway, in memory."""
    port = free_port()
    args = [f"--web.listen-address=127.0.0.1:{port}"]
    return Service("prometheus-pushgateway", args, port, "/-/ready", folder / "pushgateway.log")


def _start_server(name: str, config: Path, folder: Path, storage_flag: str, *extra: str) -> Service:
    """``name`` with ``config``, fresh storage in ``folder``, on a free port of 127.0.0.1."""
    port = free_port()
    storage = folder / f"{name}-data"
    storage.mkdir()
    args = [
        f"--config.file={config}",
        f"{storage_flag}={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        *extra,
    ]
    return Service(name, args, port, "/-/ready", folder / f"{name}.log")


def start_alertmanager(config: Path, folder: Path) -> Service:
    """An Alertmanager with ``config``, clustering off."""
    return _start_server(
        "prometheus-alertmanager", config, folder, "--storage.path", "--cluster.listen-address="
    )


def start_prometheus(config: Path, folder: Path) -> Service:
    """A Prometheus with ``config`` and a fresh TSDB in ``folder``."""
    return _start_server("prometheus", config, folder, "--storage.tsdb.path")


def query(prometheus: Service, expr: str) -> list[dict[str, Any]]:
    """The instant vector (or scalar, as one sample) ``expr`` gives now; a failed query fails
    the test with Prometheus's error."""
    url = f"{prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body = http_get(url)
    document = json.loads(body) if body else {}
    assert status == 200, f"query failed ({status}): {expr}: {body[:300]!r}"
    assert document.get("status") == "success", (
        f"query failed ({status}): {expr}: {document.get('error', body[:300])}"
    )
    data = document["data"]
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}]
    result: list[dict[str, Any]] = data["result"]
    return result


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of rules.yml."""
    import yaml

    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def signal_of(expr: str) -> str:
    """The signal of an alert expression: the expression without its final comparison."""
    match = _ALERT_EXPR.match(expr.strip())
    assert match, f"not of the form `<signal> <comparison> <number>`: {expr}"
    return match["signal"]


def dashboard_queries(path: Path) -> list[tuple[str, str]]:
    """(panel title, query with the variables substituted) for every target of a dashboard."""
    document = json.loads(path.read_text())
    out = []
    for panel in document["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(name, value)
            assert "$" not in expr, f"{path.name}: {panel['title']}: unknown variable in {expr}"
            out.append((panel["title"], expr))
    return out


class Webhook:
    """A receiver of Alertmanager webhooks on 127.0.0.1: each POST's JSON body, by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner._lock:
                    owner.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output clean."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def payloads(self) -> list[tuple[str, dict[str, Any]]]:
        """What was received so far: (path, payload) pairs."""
        with self._lock:
            return list(self.received)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
