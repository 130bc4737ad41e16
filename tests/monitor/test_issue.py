"""`mlgate monitor issue` against a GitHub stand-in: one issue per model version, opened then updated,
hostile text inert, nothing filed for a passing report, errors in one line."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import run_cli


class StandIn(BaseHTTPRequestHandler):
    """The four issue endpoints of the GitHub REST API, state in memory, the token checked."""

    issues: ClassVar[list[dict]] = []
    comments: ClassVar[dict[int, list[str]]] = {}
    calls: ClassVar[list[str]] = []

    def _reply(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        self.calls.append(f"{method} {url.path}")
        if self.headers.get("Authorization") != "Bearer t0ken":
            return self._reply(401, {"message": "Bad credentials"})
        match = re.fullmatch(r"/repos/org/proj/issues(?:/(\d+))?(/comments)?", url.path)
        if not match:
            return self._reply(404, {"message": "Not Found"})
        number = int(match.group(1)) if match.group(1) else None
        if method == "GET":
            label = parse_qs(url.query)["labels"][0]
            return self._reply(200, [i for i in self.issues if label in i["labels"] and i["state"] == "open"])
        if method == "POST" and number is None:
            body = self._body()
            issue = {"number": len(self.issues) + 1, "state": "open", **body}
            self.issues.append(issue)
            return self._reply(201, issue)
        if method == "POST":
            self.comments.setdefault(number, []).append(self._body()["body"])
            return self._reply(201, {})
        self.issues[number - 1].update(self._body())
        return self._reply(200, self.issues[number - 1])

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PATCH(self):
        self._route("PATCH")

    def log_message(self, *args):
        pass


@pytest.fixture
def github():
    StandIn.issues, StandIn.comments, StandIn.calls = [], {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _report(path: Path, version: str, passed: bool = False, feature: str = "amount") -> Path:
    report = {
        "gate": "monitor",
        "passed": passed,
        "info": {"model_version": version, "window": "a .. b", "rows": 4000, "labeled_rows": 0},
        "checks": [
            {
                "name": "feature_drift",
                "status": "pass" if passed else "FAIL",
                "value": 0.31,
                "condition": "drift score per feature < 0.2",
                "message": f"drifted: {feature} 0.31",
            }
        ],
    }
    path.write_text(json.dumps(report))
    return path


def _issue(tmp_path: Path, report: Path, api: str, token: str = "t0ken"):
    env = {"GITHUB_TOKEN": token, "GITHUB_API_URL": api, "GITHUB_REPOSITORY": "org/proj"}
    env["MLGATE_RUN_URL"] = "https://github.example/org/proj/actions/runs/7"
    return run_cli("monitor", "issue", "--report", str(report), cwd=tmp_path, env=env)


def test_one_issue_per_model_version_opened_then_updated(tmp_path: Path, github: str):
    first = _issue(tmp_path, _report(tmp_path / "a.json", "v3"), github)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "opened issue #1: mlgate monitor: model version v3"
    second = _issue(tmp_path, _report(tmp_path / "b.json", "v3"), github)
    assert second.stdout.strip() == "updated issue #1: mlgate monitor: model version v3"
    other = _issue(tmp_path, _report(tmp_path / "c.json", "v4"), github)
    assert other.stdout.strip() == "opened issue #2: mlgate monitor: model version v4"
    assert len(StandIn.issues) == 2 and len(StandIn.comments[1]) == 1
    issue = StandIn.issues[0]
    assert issue["labels"] == ["mlgate-monitor"]
    assert "| FAIL | feature_drift | 0.31 |" in issue["body"]
    assert "https://github.example/org/proj/actions/runs/7" in issue["body"]


def test_hostile_text_is_inert(tmp_path: Path, github: str):
    hostile = "x|y @org/admins <img src=x onerror=alert(1)> `cmd` #1"
    done = _issue(tmp_path, _report(tmp_path / "r.json", "v1 @everyone\n# title", feature=hostile), github)
    assert done.returncode == 0, done.stderr
    issue = StandIn.issues[0]
    assert issue["title"] == "mlgate monitor: model version v1__everyone___title"
    for raw in ("@org", "<img", "`cmd`", "x|y", "#1"):
        assert raw not in issue["body"], raw


def test_passing_report_files_nothing(tmp_path: Path, github: str):
    done = _issue(tmp_path, _report(tmp_path / "r.json", "v1", passed=True), github)
    assert done.stdout.strip() == "no blocking finding: no issue filed"
    assert StandIn.calls == []


def test_errors_are_one_line(tmp_path: Path, github: str):
    report = _report(tmp_path / "r.json", "v1")
    done = _issue(tmp_path, report, github, token="wrong")
    assert done.returncode == 2 and done.stderr.strip().startswith("error: GitHub API GET /issues?state=open")
    assert "HTTP 401" in done.stderr and "Traceback" not in done.stderr
    done = _issue(tmp_path, report, "http://127.0.0.1:9")  # nothing listens on the discard port
    assert done.returncode == 2 and "unreachable" in done.stderr
    done = _issue(tmp_path, tmp_path / "none.json", github)
    assert done.returncode == 2 and "no monitor report" in done.stderr
