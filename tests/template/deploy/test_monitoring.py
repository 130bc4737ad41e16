"""Operations monitoring: the alert rules pass promtool's unit tests, the dashboard only queries what the
server exports or the rules record, and a real Prometheus scrapes a running `mlgate serve` and evaluates
the rules against it."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from mlgate.serve.app import create_app
from tests.conftest import ROOT, tool

MONITORING = ROOT / "deploy/monitoring"
DASHBOARD = MONITORING / "grafana/mlgate-dashboard.json"
PROMQL_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "abs", "and", "or", "unless", "le", "job", "path",
    "status", "instance", "on", "ignoring", "without",
}  # fmt: skip


def _run(*cmd: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def test_rules_and_config_are_valid():
    result = _run(tool("promtool"), "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    result = _run(tool("promtool"), "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_unit_tests():
    result = _run(tool("promtool"), "test", "rules", "alerts.test.yml")
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_every_alert_has_a_unit_test():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((MONITORING / "alerts.test.yml").read_text())["tests"]
    firing = {t["alertname"] for case in tests for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert alerts == firing


def _exported_metrics(tmp_path: Path) -> set[str]:
    """Sample names the server exposes (counters as *_total, histograms as *_bucket/_sum/_count)."""
    with TestClient(create_app(tmp_path / "no-model")) as client:
        text = client.get("/metrics").text
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M):
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        elif kind == "counter":
            names |= {name, f"{name.removesuffix('_total')}_total"}
        else:
            names.add(name)
    return names


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_dashboard_queries_parse_and_name_only_known_series(tmp_path):
    # promtool parses PromQL inside a rules file: every panel query becomes a recording rule.
    concrete = [e.replace("$__rate_interval", "5m").replace("$job", ".*") for e in _dashboard_exprs()]
    rules = {
        "groups": [{"name": "dashboard", "rules": [{"record": f"q{i}", "expr": e} for i, e in enumerate(concrete)]}]
    }
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(rules))
    result = _run(tool("promtool"), "check", "rules", "dashboard.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    recorded = {
        r["record"]
        for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
        for r in g["rules"]
        if "record" in r
    }
    known = _exported_metrics(tmp_path) | recorded | {"up"}
    for expr in concrete:
        without_strings = re.sub(r'"[^"]*"', "", expr)
        without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
        names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges)) - PROMQL_WORDS
        names = {n for n in names if not n.replace(".", "").isdigit()}
        assert names <= known, f"{expr}: unknown series {sorted(names - known)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _wait(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


@pytest.fixture
def served(trained_dir: Path):
    """A real `mlgate serve` process on a loopback port."""
    port = _free_port()
    mlgate = Path(sys.executable).parent / "mlgate"
    proc = subprocess.Popen(
        [str(mlgate), "serve", "--model-dir", str(trained_dir / "outputs/model"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: urllib.request.urlopen(f"{url}/ready", timeout=2).status == 200, 60, "mlgate serve to be ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_real_prometheus_scrapes_the_server_and_evaluates_the_rules(served, tmp_path):
    host_port = served.removeprefix("http://")
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["scrape_configs"][0]["static_configs"] = [{"targets": [host_port]}]
    config["rule_files"] = [str(MONITORING / "alerts.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    prometheus = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        _wait(
            lambda: any(t["health"] == "up" for t in _get_json(f"{api}/targets")["data"]["activeTargets"]),
            60,
            "Prometheus to scrape the model server",
        )
        # Callers sending records the schema refuses, spread over a few scrapes so the counters are seen
        # rising (bounded loop, loopback only).
        bad = json.dumps({"records": [{"no_such_feature": 1}]}).encode()
        headers = {"content-type": "application/json"}
        for _ in range(8):
            for _ in range(5):
                request = urllib.request.Request(f"{served}/predict", data=bad, headers=headers)
                with pytest.raises(urllib.error.HTTPError) as err:
                    urllib.request.urlopen(request, timeout=5)
                assert err.value.code == 422
            time.sleep(1)

        def client_error_alert():
            groups = _get_json(f"{api}/rules")["data"]["groups"]
            rules = {r["name"]: r for g in groups for r in g["rules"]}
            assert all(r["health"] == "ok" for r in rules.values()), {n: r.get("lastError") for n, r in rules.items()}
            alert = rules["MlgateClientErrors"]
            return alert if alert["state"] in ("pending", "firing") else None

        alert = _wait(client_error_alert, 60, "MlgateClientErrors to go pending")
        assert alert["alerts"][0]["labels"]["job"] == "mlgate"
        ratio = _get_json(f"{api}/query?query=mlgate:client_errors:ratio5m")["data"]["result"]
        assert float(ratio[0]["value"][1]) == pytest.approx(1.0)
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=20)
