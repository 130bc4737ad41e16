"""monitor.yml statically: actionlint, zizmor (offline, zero findings), the workflow schema, and what those
cannot check: triggers, least privilege (issues: write only where the issue is filed, contents and
pull-requests: write only in the opt-in retraining job), the pins the other
workflows use, no expressions inside run:, every step a thin make/mlgate call or a pinned action."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
WORKFLOW = ROOT / ".github/workflows/monitor.yml"
THIN = re.compile(r'^(make|mlgate) [\w./ -]+( >> "\$GITHUB_OUTPUT")?$')


def _load() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads `on` as True
    return data


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_actionlint_zizmor_and_schema_are_clean():
    result = _run(str(BIN / "actionlint"), str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr
    result = _run(str(BIN / "zizmor"), "--offline", "--no-progress", str(WORKFLOW))
    assert result.returncode == 0 and "No findings to report" in result.stdout + result.stderr, result.stdout
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr


def test_scheduled_and_manual_only():
    on = _load()["on"]
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["schedule"] and all("cron" in entry for entry in on["schedule"])


def test_least_privilege_issues_write_only_where_the_issue_is_filed():
    workflow = _load()
    assert workflow["permissions"] == {}
    assert "concurrency" in workflow
    grants = {name: job["permissions"] for name, job in workflow["jobs"].items()}
    assert grants == {
        "monitor": {"contents": "read", "deployments": "read"},  # the production model: read-only
        "issue": {"contents": "read", "issues": "write"},
        "retrain": {"contents": "write", "pull-requests": "write"},
    }
    for name in ("issue", "retrain"):
        job = workflow["jobs"][name]
        assert job["needs"] == "monitor" and "needs.monitor.outputs.finding == 'true'" in job["if"], name
    assert "vars.MLGATE_RETRAIN_ON_DRIFT == 'true'" in workflow["jobs"]["retrain"]["if"]  # off unless asked
    assert all(grant == "read" for grant in grants["monitor"].values())  # the job reading the log writes nothing
    assert all(isinstance(job.get("timeout-minutes"), int) for job in workflow["jobs"].values())


def test_actions_pinned_by_the_shas_the_other_workflows_use():
    def pins(text: str) -> dict[str, str]:
        return dict(re.findall(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40})", text))

    others: dict[str, str] = {}
    for path in (ROOT / ".github").rglob("*.yml"):
        if path != WORKFLOW:
            others |= pins(path.read_text())
    mine = pins(WORKFLOW.read_text())
    uses = re.findall(r"uses:\s*(\S+)", WORKFLOW.read_text())
    assert mine, "monitor.yml uses pinned actions"
    for action, sha in mine.items():
        assert others.get(action) == sha, f"{action}@{sha}: not the pin the other workflows use"
    assert all(u.startswith("./") or re.search(r"@[0-9a-f]{40}$", u) for u in uses), uses


def test_steps_are_thin_calls_without_expressions():
    for name, job in _load()["jobs"].items():
        for step in job["steps"]:
            if "run" in step:
                assert "${{" not in step["run"], f"{name}: pass values through env:, not into run:"
                command = step["run"].split("#")[0].strip()
                assert THIN.match(command), f"{name}: one make/mlgate call, no shell logic: {command}"
            else:
                assert "uses" in step, f"{name}: a step is a run: or a uses:"


def test_the_monitored_model_is_the_one_production_runs():
    """Its release's model and version, not the model main's HEAD retrains (main is ahead of the last release,
    or production was rolled back); the rebuild of the training reference needs no tracking server."""
    steps = _load()["jobs"]["monitor"]["steps"]
    (production,) = [s for s in steps if s.get("id") == "production"]
    assert production["run"] == "mlgate release production-model --output outputs/production-model"
    (monitor,) = [s for s in steps if s.get("run") == "mlgate monitor run"]
    assert monitor["env"]["MLGATE_MONITOR_MODEL"] == "${{ steps.production.outputs.production-model }}"
    assert monitor["env"]["MLGATE_MONITOR_VERSION"] == "${{ steps.production.outputs.production-version }}"
    assert steps.index(production) < steps.index(monitor)
    assert "MLFLOW" not in WORKFLOW.read_text()  # no job of it logs to, or needs credentials of, a tracking server


def test_nothing_to_monitor_is_a_green_no_op_said_in_one_line():
    """A fresh repository has no release and no log: the preflight says so and every step that would fail on
    an empty log (repro, run, verdict) is skipped, so `finding` is empty and no issue job runs."""
    steps = _load()["jobs"]["monitor"]["steps"]
    ids = [s.get("id") for s in steps]
    (preflight,) = [s for s in steps if s.get("id") == "preflight"]
    assert preflight["run"] == "mlgate monitor preflight"
    assert preflight["env"]["MLGATE_MONITOR_MODEL"] == "${{ steps.production.outputs.production-model }}"
    assert ids.index("production") < ids.index("preflight")
    gated = [s for s in steps if s.get("run") in ("make repro", "mlgate monitor run", "mlgate monitor verdict")]
    assert len(gated) == 3
    assert all("steps.preflight.outputs.due == 'true'" in s["if"] for s in gated)
    assert all(steps.index(s) > steps.index(preflight) for s in gated)
    for step in (preflight, *(s for s in gated if s["run"] == "mlgate monitor run")):  # where the server writes
        assert step["env"]["MLGATE_MONITOR_LOG_URI"] == "${{ vars.MLGATE_MONITOR_LOG_URI }}"
