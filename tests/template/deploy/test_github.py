"""The GitHub REST client against the stand-in: deployments and statuses, releases and assets, pulls,
sticky comments, pagination, read-only tokens and an unreachable API as one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlgate.github import GitHub, GitHubError
from tests.conftest import ROOT
from tests.template.github_standin import ROUTES, actions_deployment, add_pull, job_token, start


@pytest.fixture
def hub(tmp_path):
    server, url = start(tmp_path / "gh/state.json")
    yield GitHub(url, "acme/model", "write-token"), tmp_path / "gh/state.json"
    server.shutdown()


def test_deployments_newest_first_with_their_state(hub):
    gh, _ = hub
    first = gh.create_deployment("staging", "sha1", {"image": "r@sha256:1"}, "one")
    gh.set_deployment_status(first, "success")
    second = gh.create_deployment("staging", "sha2", {"image": "r@sha256:2"}, "two")
    gh.set_deployment_status(second, "failure")
    gh.create_deployment("dev", "sha3", {}, "other env")
    found = gh.deployments("staging")
    assert [(d["id"], d["state"], d["payload"]["image"]) for d in found] == [
        (second, "failure", "r@sha256:2"),
        (first, "success", "r@sha256:1"),
    ]


def test_pages_follow_the_link_header(hub):
    gh, state = hub
    for number in range(1, 131):
        add_pull(state, number, f"sha{number}")
    assert sorted(p["number"] for p in gh.open_pulls()) == list(range(1, 131))


def test_release_assets_round_trip(hub, tmp_path):
    gh, _ = hub
    assert gh.latest_release() is None
    release = gh.create_release("v1.0.0", "v1.0.0", "notes")
    blob = tmp_path / "model.tar.gz"
    blob.write_bytes(bytes(range(256)) * 10)
    gh.upload_asset(release, blob)
    latest = gh.latest_release()
    assert latest["tag_name"] == "v1.0.0" and [a["name"] for a in latest["assets"]] == ["model.tar.gz"]
    got = gh.download_asset(latest["assets"][0], tmp_path / "out/model.tar.gz")
    assert got.read_bytes() == blob.read_bytes()
    with pytest.raises(GitHubError, match="422 Validation Failed: tag_name already_exists"):
        gh.create_release("v1.0.0", "again", "")


def test_sticky_comment_is_edited_not_duplicated(hub):
    gh, state = hub
    first = gh.upsert_comment(7, "<!-- mlgate -->", "one")
    again = gh.upsert_comment(7, "<!-- mlgate -->", "two")
    comments = json.loads(state.read_text())["comments"]
    assert first == again and [c["body"] for c in comments] == ["<!-- mlgate -->\ntwo"]


def test_read_only_token_cannot_write(hub):
    gh, state = hub
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(_empty() | {"tokens": {"ro": "read"}}))
    reader = GitHub(gh.api_url, gh.repository, "ro")
    assert reader.latest_release() is None
    with pytest.raises(GitHubError, match=r"^GitHub API POST /repos/acme/model/releases: 403 Resource not accessible"):
        reader.create_release("v1.0.0", "x", "")


def test_unreachable_api_is_one_line():
    gh = GitHub("http://127.0.0.1:9", "acme/model", "t")
    with pytest.raises(GitHubError, match=r"^GitHub API GET /repos/acme/model/releases/latest: unreachable"):
        gh.latest_release()


def test_state_is_shared_between_processes(hub):
    gh, state = hub
    script = "from tests.template.github_standin import add_pull; import sys; add_pull(sys.argv[1], 42, 'abc')"
    subprocess.run([sys.executable, "-c", script, str(state)], cwd=ROOT, check=True)
    assert [p["number"] for p in gh.open_pulls()] == [42]


def test_from_env_needs_all_three(monkeypatch):
    for key in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN"):
        monkeypatch.setenv(key, "x")
    assert GitHub.from_env() == GitHub("x", "x", "x")
    monkeypatch.delenv("GITHUB_TOKEN")
    assert GitHub.from_env() is None


def _empty() -> dict:
    from tests.template.github_standin import EMPTY

    return json.loads(json.dumps(EMPTY))


# --- GitHub's rules, held by the stand-in ------------------------------------------------------------------
def _seeded(state, **extra) -> None:
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(_empty() | extra))


def test_a_job_token_reaches_only_what_its_permissions_grant(hub):
    """RULES["job token permissions"]: a job with `deployments: read` lists deployments, cannot create one,
    and cannot read releases (contents: none); GitHub's 403 names no scope, only the integration."""
    gh, state = hub
    _seeded(state, tokens={"job": job_token({"deployments": "read"})})
    job = GitHub(gh.api_url, gh.repository, "job")
    assert list(job.deployments("production")) == []
    with pytest.raises(GitHubError, match=r"POST /repos/acme/model/deployments: 403 Resource not accessible by"):
        job.create_deployment("production", "abc", {}, "")
    with pytest.raises(GitHubError, match=r"403 Resource not accessible by integration"):
        job.latest_release()


def test_every_route_names_the_permission_github_documents():
    """Each endpoint of the stand-in carries one permission (scopes and level) and every rule its page."""
    from tests.template.github_standin import RULES

    for pattern, method, _, (scopes, level) in ROUTES:
        assert scopes and level in ("read", "write"), pattern
        assert method == "GET" or level == "write", f"{method} {pattern} changes state: it needs write"
    assert all(doc.startswith("https://docs.github.com/en/") for _, doc in RULES.values())


def test_the_first_deployment_creates_its_environment_without_protection(hub):
    """RULES["environments on first reference"]: nothing protects an environment nobody set up."""
    gh, _ = hub
    gh.create_deployment("production", "abc", {"image": "r@sha256:1"}, "first")
    env = gh.environment("production")
    assert env["protection_rules"] == [] and env["deployment_branch_policy"] is None
    assert gh.environment("qa") is None


def test_a_deployment_github_marked_inactive_still_succeeded(hub):
    """RULES["auto_inactive"]: Actions' own deployment of a job's `environment:` succeeds with auto_inactive,
    which marks ours inactive. The old client read the latest status: dev had no success to roll back to."""
    from mlgate.deploy.history import GitHubHistory, rollback_candidate

    gh, state = hub
    for image in ("r@sha256:1", "r@sha256:2"):
        deployment = gh.create_deployment("dev", "abc", {"image": image, "model_version": image[-1]}, "")
        gh.set_deployment_status(deployment, "success")
        actions_deployment(state, "dev", "abc")  # the job's `environment: dev`
    latest = {
        d["id"]: max(
            (s for s in json.loads(state.read_text())["statuses"] if s["deployment_id"] == d["id"]),
            key=lambda s: s["id"],
        )["state"]
        for d in json.loads(state.read_text())["deployments"]
        if d["payload"]
    }
    assert set(latest.values()) == {"inactive"}  # what GitHub shows for both of ours
    entries = list(GitHubHistory(gh).entries("dev"))
    assert [(e.image, e.status) for e in entries] == [("r@sha256:2", "success"), ("r@sha256:1", "success")]
    assert rollback_candidate(entries, "r@sha256:2").image == "r@sha256:1"


def test_reading_production_costs_a_few_requests_not_one_per_deployment(hub):
    """RULES["rate limit"]: the job token has 1,000 requests an hour per repository. 150 releases' production
    deployments (each beside Actions' own): finding what production runs reads one page and one status; the
    old client fetched a status for each of 100 deployments, every pipeline, PR and monitor run."""
    from mlgate.deploy.history import GitHubHistory

    gh, state = hub
    _seeded(state, tokens={"job": job_token({"deployments": "write"})})
    job = GitHub(gh.api_url, gh.repository, "job")
    for n in range(150):
        image = f"r@sha256:{n:064d}"
        gh_id = job.create_deployment("production", "abc", {"image": image}, "")
        job.set_deployment_status(gh_id, "success")
        actions_deployment(state, "production", "abc")
    before = json.loads(state.read_text())["requests"]["job:acme/model"]
    running = next(e for e in GitHubHistory(job).entries("production") if e.status == "success")
    used = json.loads(state.read_text())["requests"]["job:acme/model"] - before
    assert running.image == f"r@sha256:{149:064d}" and used <= 3, used


def test_a_spent_rate_limit_is_githubs_403_with_its_headers(hub):
    gh, state = hub
    _seeded(state, tokens={"job": job_token({"contents": "read"})}, rate_limits={"job": 2})
    job = GitHub(gh.api_url, gh.repository, "job")
    for _ in range(2):
        assert job.latest_release() is None
    with pytest.raises(GitHubError, match=r"403 API rate limit exceeded"):
        job.latest_release()
