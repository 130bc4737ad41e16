"""`mlgate monitor issue` against the GitHub stand-in (tests/template/github_standin.py): one issue per model version,
opened then updated, hostile text inert, nothing filed for a passing report, errors in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.template.github_standin import EMPTY, start


@pytest.fixture
def github(tmp_path: Path):
    """tests/template/github_standin.py with one write token; yields (API URL, its state)."""
    state = tmp_path / "github/state.json"
    state.parent.mkdir()
    state.write_text(json.dumps({**EMPTY, "tokens": {"t0ken": "write"}}))
    server, api = start(state)
    yield api, state
    server.shutdown()


def _state(github) -> dict:
    return json.loads(github[1].read_text())


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


def _issue(tmp_path: Path, report: Path, github, token: str = "t0ken"):
    api = github if isinstance(github, str) else github[0]
    env = {"GITHUB_TOKEN": token, "GITHUB_API_URL": api, "GITHUB_REPOSITORY": "org/proj"}
    env["MLGATE_RUN_URL"] = "https://github.example/org/proj/actions/runs/7"
    return run_cli("monitor", "issue", "--report", str(report), cwd=tmp_path, env=env)


def test_one_issue_per_model_version_opened_then_updated(tmp_path: Path, github):
    first = _issue(tmp_path, _report(tmp_path / "a.json", "v3"), github)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "opened issue #1: mlgate monitor: model version v3"
    second = _issue(tmp_path, _report(tmp_path / "b.json", "v3"), github)
    assert second.stdout.strip() == "updated issue #1: mlgate monitor: model version v3"
    other = _issue(tmp_path, _report(tmp_path / "c.json", "v4"), github)
    assert other.stdout.strip() == "opened issue #2: mlgate monitor: model version v4"
    state = _state(github)
    assert len(state["issues"]) == 2 and [c["issue"] for c in state["comments"]] == [1]
    issue = state["issues"][0]
    assert issue["labels"] == [{"name": "mlgate-monitor"}]
    assert "| FAIL | feature_drift | 0.31 |" in issue["body"]
    assert "https://github.example/org/proj/actions/runs/7" in issue["body"]


def test_hostile_text_is_inert(tmp_path: Path, github):
    hostile = "x|y @org/admins <img src=x onerror=alert(1)> `cmd` #1 [login](https://evil.example) ![p](x) www.ev.il"
    done = _issue(tmp_path, _report(tmp_path / "r.json", "v1 @everyone\n# title", feature=hostile), github)
    assert done.returncode == 0, done.stderr
    issue = _state(github)["issues"][0]
    assert issue["title"] == "mlgate monitor: model version v1__everyone___title"
    for raw in ("@org", "`cmd`", "x|y", "#1", "[login](", "https://evil", "![", "www.ev"):
        assert raw not in issue["body"], raw
    assert not re.search(r"(?<!\\)<img", issue["body"])  # `\<` is a literal <, no tag


def test_passing_report_files_nothing(tmp_path: Path):
    done = _issue(tmp_path, _report(tmp_path / "r.json", "v1", passed=True), "http://127.0.0.1:9")  # no API called
    assert done.returncode == 0 and done.stdout.strip() == "no blocking finding: no issue filed"


def test_errors_are_one_line(tmp_path: Path, github):
    report = _report(tmp_path / "r.json", "v1")
    done = _issue(tmp_path, report, github, token="wrong")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: GitHub API GET /repos/org/proj/issues: 401 Bad credentials"
    done = _issue(tmp_path, report, "http://127.0.0.1:9")  # nothing listens on the discard port
    assert done.returncode == 1 and "unreachable" in done.stderr and "Traceback" not in done.stderr
    done = _issue(tmp_path, tmp_path / "none.json", github)
    assert done.returncode == 2 and "no monitor report" in done.stderr
