"""Static checks of .github: actionlint, zizmor (offline, zero findings), the workflow JSON schema,
and what act cannot check: triggers, permissions, pins, timeouts, no untrusted input in run:."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github/actions").glob("*/action.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
UNTRUSTED = re.compile(r"\$\{\{\s*(github\.event\.|github\.head_ref|inputs\.|needs\.|steps\.)")


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_actionlint_is_clean():
    result = _run(str(BIN / "actionlint"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_has_no_findings():
    result = _run(str(BIN / "zizmor"), "--offline", "--no-progress", ".github")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_workflows_match_the_schema():
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", *map(str, ACTIONS))
    assert result.returncode == 0, result.stdout + result.stderr
    result = _run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_triggers():
    on = {p.name: _load(p)["on"] for p in WORKFLOWS}
    assert on["pr.yml"]["pull_request"]["branches"] == ["main"]
    assert on["main.yml"] == {"push": {"branches": ["main"], "paths-ignore": ["**.md", "docs/**"]}}
    assert on["release.yml"] == {"push": {"tags": ["v*"]}}  # tags only: a branch push never releases
    assert set(on["rollback.yml"]) == {"workflow_dispatch"}
    assert on["pr-comment.yml"]["workflow_run"] == {"workflows": ["pull request"], "types": ["completed"]}
    reusable = [p.name for p in WORKFLOWS if p.name.startswith("_")]
    assert reusable and all(set(on[name]) == {"workflow_call"} for name in reusable)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_timeouts_and_concurrency(path):
    workflow = _load(path)
    assert workflow["permissions"] == {}, "top level grants nothing; jobs ask for what they need"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name}: explicit job permissions"
        assert "write-all" not in str(job["permissions"])
        if "uses" not in job:
            assert isinstance(job.get("timeout-minutes"), int), f"{name}: timeout-minutes"
    if not path.name.startswith("_"):
        assert "concurrency" in workflow


def test_write_grants_are_where_they_are_needed():
    grants = {}
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            for scope, level in (job.get("permissions") or {}).items():
                if level == "write":
                    grants.setdefault(scope, set()).add(f"{path.name}:{name}")
    assert grants == {
        "pull-requests": {"pr-comment.yml:report", "_report.yml:comment"},
        "packages": {"main.yml:publish", "_publish.yml:publish"},
        "contents": {"release.yml:github-release"},
    }
    assert "id-token" not in str(grants)  # no OIDC until a cloud login needs it


@pytest.mark.parametrize(
    "path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.name if p.name != "action.yml" else p.parent.name
)
def test_third_party_actions_pinned_by_sha_with_version(path):
    text = path.read_text()
    for line in text.splitlines():
        match = re.search(r"uses:\s*(\S+)", line)
        if not match or match.group(1).startswith("./"):
            continue
        assert SHA_PIN.match(match.group(1)), line
        assert re.search(r"# v\d", line), f"version comment: {line}"


@pytest.mark.parametrize(
    "path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.name if p.name != "action.yml" else p.parent.name
)
def test_no_expressions_inside_run(path):
    def steps(doc):
        for job in (doc.get("jobs") or {}).values():
            yield from job.get("steps", [])
        yield from (doc.get("runs") or {}).get("steps", [])

    for step in steps(yaml.safe_load(path.read_text())):
        assert "${{" not in step.get("run", ""), f"pass values through env:, not into run: ({step['run']})"


def test_pr_workflow_gets_no_secrets_and_never_pushes():
    pr = _load(ROOT / ".github/workflows/pr.yml")
    for name, job in pr["jobs"].items():
        assert "secrets" not in job, name
        assert job["permissions"] == {"contents": "read"}
    assert "_publish.yml" not in (ROOT / ".github/workflows/pr.yml").read_text()


def test_comment_workflow_runs_nothing_from_the_pr():
    text = (ROOT / ".github/workflows/_report.yml").read_text()
    assert "actions/checkout" not in text and "setup" not in text


def test_every_workflow_is_exercised_by_an_act_scenario():
    from tests.workflows.test_act import SCENARIOS

    run = {s.workflow for s in SCENARIOS}
    called = {
        Path(job["uses"]).name
        for s in SCENARIOS
        for job in _load(ROOT / ".github/workflows" / s.workflow)["jobs"].values()
        if "uses" in job
    }
    assert {p.name for p in WORKFLOWS} <= run | called
