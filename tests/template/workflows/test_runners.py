"""Where the jobs run: the heavy ones (pipeline, tests, image build) on the runner the repository variable
MLGATE_RUNNER names (a larger, self-hosted or Actions Runner Controller runner: docs/runners.md), GitHub's
ubuntu-latest when it is unset and always for a fork's pull request (a fork's code never reaches the project's
own machines by default); every other job is light and stays on ubuntu-latest."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github/workflows"
RUNNER = "${{ !github.event.pull_request.head.repo.fork && vars.MLGATE_RUNNER || 'ubuntu-latest' }}"
HEAVY = {("_pipeline.yml", "pipeline"), ("_tests.yml", "tests"), ("_build.yml", "build")}


def _runs_on() -> dict[tuple[str, str], object]:
    return {
        (path.name, job): spec["runs-on"]
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job, spec in (yaml.safe_load(path.read_text()).get("jobs") or {}).items()
        if "runs-on" in spec  # a job that calls a reusable workflow runs where that workflow's jobs say
    }


def test_the_heavy_jobs_run_on_the_repositorys_runner():
    runs_on = _runs_on()
    assert {key: runs_on.get(key) for key in HEAVY} == dict.fromkeys(HEAVY, RUNNER)


def test_every_other_job_runs_on_github_hosted_ubuntu():
    others = {key: value for key, value in _runs_on().items() if key not in HEAVY}
    assert others and set(others.values()) == {"ubuntu-latest"}, others


def test_the_runner_guide_names_the_variable_and_each_kind_of_runner():
    guide = (ROOT / "docs/runners.md").read_text()
    for needed in ("MLGATE_RUNNER", "larger runner", "self-hosted", "Actions Runner Controller", "fork"):
        assert needed in guide, needed
