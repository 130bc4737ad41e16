"""Fork-safe PR number (trusted head sha vs the artifact's claim) and the production model from the latest
release (first run: none; a tampered asset: refused), against the GitHub stand-in."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from mlgate.errors import MlgateError
from mlgate.fingerprint import model_sha256
from mlgate.github import GitHub, pr_for_head
from mlgate.release import MODEL_ASSET, notes, preflight, production_model
from tests.conftest import FIXTURE_PARAMS, ROOT, run_cli
from tests.template.github_standin import EMPTY, add_pull, start

HEAD = "a" * 40


@pytest.fixture
def hub(tmp_path):
    server, url = start(tmp_path / "gh/state.json")
    yield GitHub(url, "acme/model", "t"), tmp_path / "gh/state.json"
    server.shutdown()


@pytest.mark.parametrize(
    ("claimed", "number", "why"),
    [
        ("7", 7, "pull request #7"),
        ("8", None, "the artifact claims #8, but head aaaaaaaaaaaa is #7: posting nothing"),
        ("7; rm -rf /", None, "is not a number: posting nothing"),
        ("", None, "is not a number"),
    ],
)
def test_pr_number_comes_from_the_trusted_head_sha(hub, claimed, number, why):
    gh, state = hub
    add_pull(state, 7, HEAD)
    add_pull(state, 8, "b" * 40)
    got, said = pr_for_head(gh, HEAD, claimed)
    assert got == number and why in said


def test_pr_number_cli_writes_the_output_only_on_a_match(hub, tmp_path):
    gh, state = hub
    add_pull(state, 7, HEAD)
    env = {"GITHUB_API_URL": gh.api_url, "GITHUB_REPOSITORY": "acme/model", "GITHUB_TOKEN": "t"}
    out = tmp_path / "out"
    forged = run_cli("pr-number", "--head-sha", HEAD, "--claimed", "9", cwd=ROOT, env=env | {"GITHUB_OUTPUT": str(out)})
    assert forged.returncode == 0 and "posting nothing" in forged.stdout and not out.exists()
    claim = tmp_path / "pr-number"
    claim.write_text("7\n")
    ok = run_cli(
        "pr-number", "--head-sha", HEAD, "--claimed-file", str(claim), cwd=ROOT, env=env | {"GITHUB_OUTPUT": str(out)}
    )
    assert ok.returncode == 0 and out.read_text() == "pr-number=7\n"
    out.unlink()
    with claim.open("wb") as hostile:  # a fork's artifact: binary, and 4 GB as far as a reader can tell
        hostile.write(b"\xff\xfe7")
        hostile.truncate(4 << 30)
    refused = run_cli(
        "pr-number", "--head-sha", HEAD, "--claimed-file", str(claim), cwd=ROOT, env=env | {"GITHUB_OUTPUT": str(out)}
    )
    assert refused.returncode == 0 and "is not a number: posting nothing" in refused.stdout, refused.stderr
    assert not out.exists()


def _model_dir(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.skops").write_bytes(b"weights")
    (model / "feature_schema.json").write_text("{}")
    (model / "serving.json").write_text('{"data_md5": "d"}')
    return model


def _release_with(gh, tmp_path, model, sha, tag="v1.0.0", image="r@sha256:" + "1" * 64, version="3"):
    release = gh.create_release(tag, tag, notes(image, version, sha, None, {}))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(model, arcname="model")
    asset = tmp_path / f"{tag}-{MODEL_ASSET}"
    asset.write_bytes(buffer.getvalue())
    gh.upload_asset(release, asset, MODEL_ASSET)


def test_no_release_yet_is_a_first_run(hub, tmp_path):
    gh, _ = hub
    assert production_model(tmp_path / "prod", gh) is None


def test_production_model_is_the_latest_releases_checked_against_its_notes(hub, tmp_path):
    gh, _ = hub
    model = _model_dir(tmp_path)
    _release_with(gh, tmp_path, model, model_sha256(model))
    found = production_model(tmp_path / "prod", gh)
    assert found["model_version"] == "3" and model_sha256(tmp_path / "prod") == model_sha256(model)


def test_after_a_production_rollback_the_champion_is_the_release_production_runs(hub, tmp_path):
    """v1.1.0 was released, then production was rolled back to v1.0.0's image: the latest release is not what
    runs, and a PR compared with it would be judged against a model no user gets."""
    gh, _ = hub
    (tmp_path / "old").mkdir(), (tmp_path / "new").mkdir()
    old, new = _model_dir(tmp_path / "old"), _model_dir(tmp_path / "new")
    (new / "model.skops").write_bytes(b"other weights")
    old_image, new_image = "r@sha256:" + "1" * 64, "ghcr.io/acme/m@sha256:" + "2" * 64
    _release_with(gh, tmp_path, old, model_sha256(old), "v1.0.0", old_image, "3")
    _release_with(gh, tmp_path, new, model_sha256(new), "v1.1.0", new_image, "4")
    for image, version in ((old_image, "3"), (new_image, "4"), (old_image.replace("r@", "ghcr.io/acme/m@"), "3")):
        deployment = gh.create_deployment("production", "HEAD", {"image": image, "model_version": version}, "")
        gh.set_deployment_status(deployment, "success")
    found = production_model(tmp_path / "prod", gh)
    assert (found["tag"], found["model_version"]) == ("v1.0.0", "3")
    assert model_sha256(tmp_path / "prod") == model_sha256(old)
    unreleased = gh.create_deployment("production", "HEAD", {"image": "r@sha256:" + "9" * 64}, "")
    gh.set_deployment_status(unreleased, "success")
    with pytest.raises(MlgateError, match=r"production runs r@sha256:999999999999.*, which no release records"):
        production_model(tmp_path / "prod", gh)


def test_a_tampered_model_asset_is_refused(hub, tmp_path):
    gh, _ = hub
    model = _model_dir(tmp_path)
    _release_with(gh, tmp_path, model, "f" * 64)
    with pytest.raises(MlgateError, match=r"the model asset is \w{12}, the notes say ffffffffffff"):
        production_model(tmp_path / "prod", gh)


def test_release_tags_must_be_semver(hub):
    from mlgate.config import load_params
    from mlgate.release import publish

    for tag in ("v1", "1.0.0", "v1.0", "v1.0.0-rc1"):
        with pytest.raises(MlgateError, match=r"expected vMAJOR.MINOR.PATCH"):
            publish(load_params(FIXTURE_PARAMS), tag, "r@sha256:" + "1" * 64, hub[0])


@pytest.mark.parametrize("tag", ["v01.2.3", "v1.02.3", "v1.2.03", "v00.0.0"])
def test_a_tag_the_workflow_filter_lets_through_but_no_release_accepts_is_refused_before_deploying(hub, tag):
    """GitHub's tag glob v[0-9]+.[0-9]+.[0-9]+ matches leading zeros; publish() refuses them, but only after
    production moved to the image, which then no release records."""
    gh, _ = hub
    with pytest.raises(MlgateError, match=rf"--tag '{tag}': expected vMAJOR.MINOR.PATCH without leading zeros"):
        preflight(tag, HEAD, gh)


def test_a_version_released_from_another_commit_is_refused_before_deploying(hub, tmp_path):
    gh, _ = hub
    gh.create_release("v1.0.0", "v1.0.0", notes("r@sha256:" + "1" * 64, "3", "ab" * 32, None, {}), HEAD)
    preflight("v1.0.0", HEAD, gh)  # the same commit again: a re-run, publish completes what is missing
    preflight("v1.0.1", "b" * 40, gh)  # a new version
    env = {"GITHUB_API_URL": gh.api_url, "GITHUB_REPOSITORY": "acme/model", "GITHUB_TOKEN": "t"}
    moved = run_cli("release", "check", "--tag", "v1.0.0", "--sha", "b" * 40, cwd=ROOT, env=env)
    assert moved.returncode != 0 and "Traceback" not in moved.stderr
    assert "release v1.0.0 already exists for r@sha256:111111" in moved.stderr, moved.stderr
    assert "not commit bbbbbbbbbbbb: a version is released once" in moved.stderr
    ok = run_cli("release", "check", "--tag", "v1.0.1", "--sha", "b" * 40, cwd=ROOT, env=env)
    assert ok.returncode == 0, ok.stderr


def test_release_notes_carry_a_machine_line():
    text = notes("r@sha256:" + "1" * 64, "3", "ab" * 32, {"pr_auc": 0.5}, {"data": {"passed": True}})
    assert "| pr_auc | 0.5000 |" in text and json.dumps({"image": "r@sha256:" + "1" * 64}).strip("}") in text


IMAGE = "127.0.0.1:5000/m@sha256:" + "1" * 64


def _card() -> dict:
    from mlgate.evidence.bootstrap import METRICS

    verdict = {"passed": True, "failed": [], "checks": 3}
    return {
        "model": {"name": "m", "version": "", "estimator": "hgb", "sha256": "ab" * 32, "threshold": 0.2},
        "intended_use": "Rank records for review.",
        "limitations": "Demo.",
        "training_data": {
            "path": "data/t.csv",
            "data_md5": "d" * 32,
            "rows": 50000,
            "test_rows": 10000,
            "target": "is_fraud",
            "positive_label": 1,
            "prevalence": 0.032,
            "schema": {},
            "features": {"numeric": ["amount"], "categorical": []},
        },
        "metrics": {name: {"value": 0.5, "low": 0.4, "high": 0.6} for name in METRICS},
        "segments": [],
        "smallest_segment": None,
        "gates": {"data": verdict, "model": verdict},
        "lineage": {"git_sha": "c" * 40, "mlflow_run_id": "r1", "image": None, "data_md5": "d" * 32, "created": "t"},
        "approvals": [],
    }


@pytest.fixture
def released_image(monkeypatch):
    """What verify() and sbom() read out of a gated image, without an engine (tests/template/deploy/test_promotion.py
    and tests/template/deploy/test_sbom.py cover those against real images)."""
    from mlgate.deploy.binding import Bound

    state = {"card": _card()}

    def verify(image, model_to):
        (model_to / "gates").mkdir(parents=True)
        for gate in ("data", "model"):
            (model_to / "gates" / f"{gate}_gate.json").write_text(json.dumps({"passed": True, "checks": []}))
        if state["card"] is not None:
            (model_to / "card.json").write_text(json.dumps(state["card"]))
        (model_to / "card.md").write_text("# baked card\n")
        return Bound(image, "3", "ab" * 32, "c" * 40, {})

    def sbom(image, dest):
        dest.write_text('{"bomFormat": "CycloneDX"}')
        return dest

    monkeypatch.setattr("mlgate.release.verify", verify)
    monkeypatch.setattr("mlgate.release.sbom", sbom)
    return state


def test_every_release_carries_the_model_card_with_its_digest_and_the_sbom(hub, released_image, tmp_path):
    from mlgate.config import load_params
    from mlgate.release import publish

    gh, _ = hub
    publish(load_params(FIXTURE_PARAMS), "v1.0.0", IMAGE, gh)
    release = gh.release_by_tag("v1.0.0")
    assets = {a["name"]: a for a in release["assets"]}
    assert {"card.md", "card.json", "sbom.cdx.json", MODEL_ASSET} <= assets.keys()
    card = json.loads(gh.download_asset(assets["card.json"], tmp_path / "card.json").read_text())
    assert card["lineage"]["image"] == IMAGE and card["model"]["version"] == "3"
    markdown = gh.download_asset(assets["card.md"], tmp_path / "card.md").read_text()
    assert f"- image `{IMAGE}`" in markdown and "# Model card: m 3" in markdown
    sbom = json.loads(gh.download_asset(assets["sbom.cdx.json"], tmp_path / "sbom.json").read_text())
    assert sbom == {"bomFormat": "CycloneDX"}


def test_an_image_without_a_model_card_is_not_released(hub, released_image):
    from mlgate.config import load_params
    from mlgate.release import publish

    released_image["card"] = None
    with pytest.raises(MlgateError, match=r"no model card in /model \(the pipeline writes it with `mlgate card`"):
        publish(load_params(FIXTURE_PARAMS), "v1.0.0", IMAGE, hub[0])


def test_the_release_card_names_who_approved_each_environment(hub, released_image, tmp_path, monkeypatch):
    """GitHub's environment reviews of this release run (required reviewers) go into the card; a run without
    reviewers has none; reviews that cannot be read stop the release rather than claim none."""
    from mlgate.config import load_params
    from mlgate.release import publish

    gh, state_path = hub
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    review = {"state": "approved", "user": {"login": "release-lead"}, "environments": [{"name": "production"}]}
    state.setdefault("approvals", {})["4242"] = [review]
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps({**EMPTY, **state}))
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    publish(load_params(FIXTURE_PARAMS), "v1.0.0", IMAGE, gh)
    assets = {a["name"]: a for a in gh.release_by_tag("v1.0.0")["assets"]}
    card = json.loads(gh.download_asset(assets["card.json"], tmp_path / "card.json").read_text())
    assert card["approvals"] == [{"environment": "production", "user": "release-lead", "state": "approved"}]
    markdown = gh.download_asset(assets["card.md"], tmp_path / "card.md").read_text()
    assert "- production: approved by release-lead (approved)" in markdown

    down = GitHub("http://127.0.0.1:9", "acme/model", "t")  # GitHub unreachable
    with pytest.raises(MlgateError, match=r"deployment approvals of run 4242: .*unreachable"):
        publish(load_params(FIXTURE_PARAMS), "v1.0.1", IMAGE, down)


def test_production_promotes_only_the_release_s_image(monkeypatch, tmp_path):
    """The release records the image it resolved; production promotes what staging runs when the job starts,
    which may be hours later (approval) and after a staging rollback. Another digest there is refused."""
    from mlgate.config import load_params
    from mlgate.deploy import service

    released, rolled_back = "reg/app@sha256:" + "a" * 64, "reg/app@sha256:" + "b" * 64

    class Staging:
        def current(self, env):
            return rolled_back

    deployed = []
    monkeypatch.setattr(service, "make_target", lambda name, repository: Staging())
    monkeypatch.setattr(service, "_repository_for", lambda name: "reg/app")
    monkeypatch.setattr(service, "deploy", lambda *args, **kwargs: deployed.append(args))
    params = load_params(FIXTURE_PARAMS)
    with pytest.raises(MlgateError, match=r"--from staging runs reg/app@sha256:bbbbbbbbbbbb.*, not the expected "):
        service.promote(params, "staging", "production", "docker", expect=released)
    assert deployed == []
    service.promote(params, "staging", "production", "docker", expect=rolled_back.replace("reg/app", "ghcr.io/x/y"))
    assert deployed and deployed[0][2] == rolled_back  # the same digest under another name is the same image


def _as_job(hub, workflow: str, job: str) -> GitHub:
    """The stand-in answering only what GitHub lets that job's token do (its `permissions:` block)."""
    from tests.template.github_standin import workflow_job_token

    gh, state_path = hub
    state = json.loads(state_path.read_text()) if state_path.is_file() else json.loads(json.dumps(EMPTY))
    state["tokens"] = {"job": workflow_job_token(ROOT / ".github/workflows" / workflow, job)}
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state))
    return GitHub(gh.api_url, gh.repository, "job")


def test_the_release_job_s_own_token_reads_the_run_s_approvals(hub, released_image, monkeypatch):
    """Defect 1: GET .../actions/runs/{id}/approvals needs `actions: read`; the github-release job lacked it and
    failed after production had moved, leaving production on an image no release records."""
    from mlgate.config import load_params
    from mlgate.release import publish

    job = _as_job(hub, "release.yml", "github-release")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    publish(load_params(FIXTURE_PARAMS), "v1.0.0", IMAGE, job)
    assert job.release_by_tag("v1.0.0") is not None


def test_the_pipeline_and_monitor_jobs_read_the_production_model_with_their_own_tokens(hub, tmp_path):
    gh, _ = hub
    model = _model_dir(tmp_path)
    _release_with(gh, tmp_path, model, model_sha256(model))
    deployment = gh.create_deployment("production", "abc", {"image": "r@sha256:" + "1" * 64}, "")
    gh.set_deployment_status(deployment, "success")
    for workflow, job in (("_pipeline.yml", "pipeline"), ("monitor.yml", "monitor")):
        found = production_model(tmp_path / f"prod-{job}", _as_job(hub, workflow, job))
        assert found["tag"] == "v1.0.0", workflow


def test_the_resolve_job_checks_the_tag_with_its_own_token(hub):
    preflight("v1.0.0", "a" * 40, _as_job(hub, "release.yml", "resolve"))
