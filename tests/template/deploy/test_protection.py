"""`mlgate preflight`: GitHub creates an environment unprotected the first time a job names it (defect 5), so
the deploy job checks, with its own token, that the environment has what deploy/environments.yaml asks."""

from __future__ import annotations

import json

import pytest

from mlgate.deploy.environments import environment
from mlgate.deploy.protection import check
from mlgate.errors import MlgateError
from mlgate.github import GitHub
from tests.conftest import ROOT, run_cli
from tests.template.github_standin import EMPTY, actions_deployment, protect, start, workflow_job_token


@pytest.fixture
def hub(tmp_path):
    """The stand-in answering with the deploy job's token only (.github/workflows/_deploy.yml)."""
    state = tmp_path / "gh/state.json"
    state.parent.mkdir()
    token = workflow_job_token(ROOT / ".github/workflows/_deploy.yml", "deploy")
    state.write_text(json.dumps({**EMPTY, "tokens": {"job": token}}))
    server, url = start(state)
    yield GitHub(url, "acme/model", "job"), state
    server.shutdown()


def _env(name: str):
    return environment(name, ROOT / "deploy/environments.yaml")


def test_an_environment_github_created_on_first_reference_is_refused(hub):
    gh, state = hub
    actions_deployment(state, "production", "abc")  # a tag pushed before the setup: the job named it
    with pytest.raises(MlgateError, match=r"environment production has no required reviewers and deployment branch"):
        check(_env("production"), gh, allowed="")
    with pytest.raises(MlgateError, match=r"environment staging has no deployment branch and tag rule"):
        check(_env("staging"), gh, allowed="")  # does not exist yet: nothing protects it either


def test_the_protection_docs_github_md_asks_for_passes(hub):
    gh, state = hub
    protect(state, "production", reviewers=["release-lead"], tags="v*")
    protect(state, "staging", tags="v*")
    assert check(_env("production"), gh, allowed="") == (
        "production: protected by required reviewers, deployment branch and tag rule (tags v*)"
    )
    assert check(_env("staging"), gh, allowed="").startswith("staging: protected by")
    protect(state, "production", tags="v*")  # reviewers removed (a private repository on a plan without them)
    with pytest.raises(MlgateError, match=r"production has no required reviewers: refusing to deploy"):
        check(_env("production"), gh, allowed="")


def test_an_environment_deployed_to_unprotected_on_purpose_says_so_loudly(hub):
    gh, _ = hub
    said = check(_env("production"), gh, allowed="staging,production")
    assert said.startswith("::warning title=UNPROTECTED production::environment production has no required")


def test_dev_asks_for_nothing_and_off_github_there_is_nothing_to_check(hub, monkeypatch):
    gh, _ = hub
    assert check(_env("dev"), gh, allowed="") == "dev: no protection asked for (deploy/environments.yaml)"
    for key in ("GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(key, raising=False)
    assert check(_env("production"), allowed="") == "production: not on GitHub, no environment protection to check"


def test_the_cli_refuses_with_one_line(hub):
    gh, _ = hub
    env = {"GITHUB_API_URL": gh.api_url, "GITHUB_REPOSITORY": gh.repository, "GITHUB_TOKEN": "job"}
    done = run_cli("preflight", "--env", "production", cwd=ROOT, env=env | {"MLGATE_UNPROTECTED": ""})
    assert done.returncode == 2 and done.stderr.startswith("error: environment production has no required reviewers")
    done = run_cli("preflight", "--env", "production", cwd=ROOT, env=env | {"MLGATE_UNPROTECTED": "production"})
    assert done.returncode == 0 and "::warning title=UNPROTECTED production::" in done.stdout
