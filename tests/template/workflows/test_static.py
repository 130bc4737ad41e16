"""Static checks of .github: actionlint, zizmor (offline, zero findings), the workflow JSON schemas,
and what act cannot check: triggers, permissions, pins, secrets per step, fork safety, setup roles."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgate.config import TrainConfig
from tests.conftest import ROOT

BIN = Path(sys.executable).parent
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
SECRET = re.compile(r"\$\{\{[^}]*(secrets\.|github\.token)")
DEPLOY_COMMANDS = re.compile(r"mlgate (deploy|promote|rollback|release publish)\b")


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _wf(name: str) -> dict:
    return _load(GITHUB / "workflows" / name)


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def _steps(doc: dict):
    for job in (doc.get("jobs") or {}).values():
        yield from job.get("steps", [])
    yield from (doc.get("runs") or {}).get("steps", [])


def github_filter(pattern: str) -> re.Pattern:
    """GitHub's branch/tag filter syntax as a regex (docs: 'Filter pattern cheat sheet'):
    * any characters but /, ** any characters, ? and + zero-or-one / one-or-more of the preceding
    character, [..] one character of the class, \\ escapes."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c in "?+":
            out += c
        elif c == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end
        elif c == "\\":
            out, i = out + re.escape(pattern[i + 1]), i + 1
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out)


def _matches(patterns: list[str], ref: str) -> bool:
    return any(github_filter(p).fullmatch(ref) for p in patterns)


# --- the linters ---------------------------------------------------------------------------------


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


# --- triggers ------------------------------------------------------------------------------------


def test_the_filter_translation_follows_githubs_cheat_sheet():
    assert github_filter("feature/*").fullmatch("feature/a") and not github_filter("feature/*").fullmatch("feature/a/b")
    assert github_filter("feature/**").fullmatch("feature/a/b")
    assert github_filter("v2*").fullmatch("v2") and github_filter("v[12].[0-9]+.[0-9]+").fullmatch("v1.10.0")
    assert not github_filter("v[12].[0-9]+.[0-9]+").fullmatch("v3.1.0")


def test_triggers():
    on = {p.name: _load(p)["on"] for p in WORKFLOWS}
    assert on["pr.yml"] == {"pull_request": {"branches": ["main"]}}
    assert on["main.yml"]["push"]["branches"] == ["main"]
    assert set(on["release.yml"]) == {"push"} and set(on["release.yml"]["push"]) == {"tags"}  # never a branch
    assert set(on["rollback.yml"]) == {"workflow_dispatch"}
    assert on["pr-comment.yml"]["workflow_run"] == {"workflows": ["pull request"], "types": ["completed"]}
    reusable = [p.name for p in WORKFLOWS if p.name.startswith("_")]
    assert reusable and all(set(on[name]) == {"workflow_call"} for name in reusable)


@pytest.mark.parametrize(
    ("tag", "releases"),
    [
        ("v1.2.3", True),
        ("v10.20.30", True),
        ("v1", False),  # a moving major tag (`@v1`) must never ship to production
        ("v1.2", False),
        ("1.2.3", False),
        ("v1.2.3.4", False),
        ("v1.2.x", False),
        ("va.b.c", False),
        ("v1.2.3/x", False),
    ],
)
def test_release_tag_pattern(tag, releases):
    assert _matches(_wf("release.yml")["on"]["push"]["tags"], tag) is releases


def test_docs_only_prs_still_report_required_checks():
    """No paths filter on the PR workflow; `changes` decides, and `verdict` reports whatever happened."""
    pr = _wf("pr.yml")
    assert not {"paths", "paths-ignore"} & set(pr["on"]["pull_request"])
    jobs = pr["jobs"]
    assert "mlgate changes" in " ".join(s.get("run", "") for s in jobs["changes"]["steps"])
    for name in ("tests", "pipeline"):
        assert jobs[name]["if"] == "needs.changes.outputs.code == 'true'", name
    verdict = jobs["verdict"]
    assert set(verdict["needs"]) == set(jobs) - {"verdict"}
    assert verdict["if"] == "${{ !cancelled() }}"  # runs after skipped and failed jobs too
    failing = [s for s in verdict["steps"] if "exit 1" in s.get("run", "")]
    assert failing and "failure" in failing[0]["if"] and "cancelled" in failing[0]["if"]


# --- permissions, pins, expressions ------------------------------------------------------------


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
    grants: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            for scope, level in (job.get("permissions") or {}).items():
                if level == "write":
                    grants.setdefault(scope, set()).add(f"{path.name}:{name}")
    deploys = {"_deploy.yml:deploy", "main.yml:deploy-dev", "release.yml:staging", "release.yml:production"}
    deploys |= {"rollback.yml:rollback"}
    assert grants == {
        "pull-requests": {"pr-comment.yml:comment", "monitor.yml:retrain"},  # the report; a retraining PR
        # the image push, and the deploy jobs: the registry target moves REPO:ENV
        "packages": {"_publish.yml:publish", "main.yml:publish", "release.yml:publish"} | deploys,
        "contents": {"release.yml:github-release", "monitor.yml:retrain"},  # the release; the retraining branch
        "deployments": deploys,
        "issues": {"monitor.yml:issue"},  # the monitoring finding's issue, and nothing else
        # OIDC only for the build provenance attestation of the pushed image (no cloud login uses it)
        "id-token": {"_publish.yml:publish", "main.yml:publish", "release.yml:publish"},
        "attestations": {"_publish.yml:publish", "main.yml:publish", "release.yml:publish"},
    }


def _evaluate(condition: str, fork: bool, private: bool, attestations: str) -> bool:
    """The attest step's `if:` for one repository (the three names it uses; GitHub's !, && and ||)."""
    expr = condition.strip().removeprefix("${{").removesuffix("}}")
    for name, value in (
        ("github.event.repository.fork", fork),
        ("github.event.repository.private", private),
        ("vars.MLGATE_ATTESTATIONS", repr(attestations)),
    ):
        expr = expr.replace(name, str(value))
    assert set(re.sub(r"True|False|'[^']*'|==", "", expr)) <= set(" !&|()"), expr
    return bool(eval(expr.replace("&&", " and ").replace("||", " or ").replace("!", " not ")))


def test_the_pushed_digest_gets_a_provenance_attestation_except_on_forks():
    """act has no OIDC token: there a stand-in checks the step's inputs; the step itself is checked here."""
    job = _wf("_publish.yml")["jobs"]["publish"]
    steps = job["steps"]
    push = next(i for i, s in enumerate(steps) if s.get("id") == "push")
    attest = [s for s in steps if s.get("uses", "").startswith("actions/attest-build-provenance@")]
    assert len(attest) == 1 and steps.index(attest[0]) > push
    assert attest[0]["with"] == {
        "subject-name": "${{ steps.push.outputs.name }}",
        "subject-digest": "${{ steps.push.outputs.digest }}",
        "push-to-registry": True,
    }
    # Defect 4: GitHub stores attestations of a private repository only on GitHub Enterprise Cloud.
    for fork, private, plan_has_them, attests in [
        (False, False, "", True),
        (True, False, "", False),
        (False, True, "", False),
        (False, True, "true", True),
    ]:
        assert _evaluate(attest[0]["if"], fork=fork, private=private, attestations=plan_has_them) is attests
    assert job["permissions"] == {"contents": "read", "packages": "write", "id-token": "write", "attestations": "write"}
    for caller in ("main.yml", "release.yml"):
        assert _wf(caller)["jobs"]["publish"]["permissions"] == job["permissions"], caller


def test_the_pipeline_checks_committed_results_and_bakes_the_model_card():
    """check-results right after repro (its one line is the job's failure); the card before the model upload."""
    steps = _wf("_pipeline.yml")["jobs"]["pipeline"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert runs.index("mlgate check-results") == runs.index("make repro") + 1
    card = runs.index("mlgate card")
    upload = next(i for i, s in enumerate(steps) if s.get("with", {}).get("name") == "model")
    assert runs.index("mlgate register") < card < upload
    assert steps[card]["env"] == {"MLGATE_MODEL_VERSION": "${{ steps.register.outputs.model-version }}"}


def test_the_pipeline_job_runs_the_projects_tests_on_the_model_it_gated():
    """`make test-project` after repro and check-results, with MLGATE_MODEL_DIR the model dir the job uploads:
    the project's tests test that model, not one they train themselves (mlgate.testing)."""
    steps = _wf("_pipeline.yml")["jobs"]["pipeline"]["steps"]
    runs = [s.get("run", "") for s in steps]
    tests = runs.index("make test-project")
    assert runs.index("make repro") < runs.index("mlgate check-results") < tests
    upload = next(s for s in steps if s.get("with", {}).get("name") == "model")
    assert steps[tests]["env"] == {"MLGATE_MODEL_DIR": upload["with"]["path"].rstrip("/")}
    assert upload["with"]["path"].rstrip("/") == str(TrainConfig.model_fields["model_dir"].default)


def _tests_command(tests: str) -> subprocess.CompletedProcess:
    """What the tests job's test step runs for `tests` (make stubbed to print its targets)."""
    (step,) = [s for s in _wf("_tests.yml")["jobs"]["tests"]["steps"] if s.get("env", {}).get("TESTS")]
    script = 'make() { echo "make $*"; }\n' + step["run"]
    return subprocess.run(["bash", "-ec", script], env={"TESTS": tests}, capture_output=True, text=True)


@pytest.mark.parametrize(("tests", "target"), [("unit", "make test-unit"), ("smoke", "make test-smoke")])
def test_the_tests_job_runs_lint_then_the_suite_or_the_smoke(tests, target):
    """A PR changing only the project's files (tests=smoke) gets lint and the machinery's smoke: its own tests
    run in the pipeline job; any other PR gets the template's whole unit suite."""
    runs = [s.get("run", "") for s in _wf("_tests.yml")["jobs"]["tests"]["steps"]]
    assert runs.index("make lint") < next(i for i, r in enumerate(runs) if "TESTS" in r)
    done = _tests_command(tests)
    assert (done.returncode, done.stdout) == (0, f"{target}\n"), done.stderr


def test_the_smoke_is_a_handful_of_template_tests():
    """`make test-smoke` runs what is marked smoke: a few template tests (under a minute), none of the project's."""
    assert "-m smoke tests/template" in (ROOT / "Makefile").read_text()
    decorator = re.compile(r"^@pytest\.mark\.smoke$", re.M)  # a decorator line, not a mention like this one
    counts = {path.relative_to(ROOT): len(decorator.findall(path.read_text())) for path in ROOT.glob("tests/**/*.py")}
    marked = {path: n for path, n in counts.items() if n}
    assert 0 < sum(marked.values()) <= 10 and all(path.parts[1] == "template" for path in marked), marked


def test_jobs_that_pull_images_may_read_packages():
    """A private GHCR image cannot be pulled without packages: read (a fresh runner has no login)."""
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            runs = " ".join(s.get("run", "") for s in job.get("steps", []))
            calls_deploy = job.get("uses", "").endswith("_deploy.yml")
            if DEPLOY_COMMANDS.search(runs) or calls_deploy:
                assert job["permissions"].get("packages") in ("read", "write"), f"{path.name}:{name}"
            if calls_deploy or "mlgate deploy" in runs:
                assert job["permissions"].get("deployments") == "write", f"{path.name}:{name}: GitHub records it"


@pytest.mark.parametrize(
    "path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.name if p.name != "action.yml" else p.parent.name
)
def test_third_party_actions_pinned_by_sha_with_version(path):
    for line in path.read_text().splitlines():
        match = re.search(r"uses:\s*(\S+)", line)
        if not match or match.group(1).startswith("./"):
            continue
        assert SHA_PIN.match(match.group(1)), line
        assert re.search(r"# v\d", line), f"version comment: {line}"


@pytest.mark.parametrize(
    "path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.name if p.name != "action.yml" else p.parent.name
)
def test_no_expressions_inside_run(path):
    for step in _steps(yaml.safe_load(path.read_text())):
        assert "${{" not in step.get("run", ""), f"pass values through env:, not into run: ({step['run']})"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_commands_write_their_own_outputs(path):
    """No `echo "x=$(cmd)" >> $GITHUB_OUTPUT`: the shell would hide the command's failure."""
    for step in _steps(_load(path)):
        assert "GITHUB_OUTPUT" not in step.get("run", ""), step["run"]


# --- secrets -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_job_level_env_holds_a_secret(path):
    """Secrets go to the one step that uses them, never to `make install` or a third-party action."""
    for name, job in _load(path)["jobs"].items():
        for key, value in (job.get("env") or {}).items():
            assert not SECRET.search(str(value)), f"{path.name}:{name}: job env {key} holds a secret"
        for step in job.get("steps", []):
            if "uses" in step or "make install" in step.get("run", ""):
                for key, value in (step.get("env") or {}).items():
                    assert not SECRET.search(str(value)), f"{path.name}:{name}: {key} reaches {step.get('uses')}"


# Defect 3: deploy credentials live in each environment's secrets, which a job reads only once the environment's
# protection let it run; passed from a caller they would be repository secrets, readable by any branch's workflow.
ENVIRONMENT_SECRETS = {"KUBECONFIG_DATA", "REGISTRY_TOKEN"}


def test_callers_pass_every_secret_the_reusable_workflows_declare():
    """Setting a secret (a tracking token, DVC credentials) needs no workflow edit."""
    declared = {
        p.name: set((_load(p)["on"]["workflow_call"] or {}).get("secrets") or {})
        for p in WORKFLOWS
        if p.name.startswith("_")
    }
    for path in WORKFLOWS:
        if path.name.startswith("_") or path.name == "pr.yml":
            continue
        for name, job in _load(path)["jobs"].items():
            callee = Path(job.get("uses", "")).name
            if declared.get(callee):
                passed = job.get("secrets") or {}
                wanted = declared[callee] - (ENVIRONMENT_SECRETS if callee == "_deploy.yml" else set())
                assert set(passed) == wanted, f"{path.name}:{name}"
                assert all(v == f"${{{{ secrets.{k} }}}}" for k, v in passed.items()), f"{path.name}:{name}"


def test_pr_workflow_gets_no_secrets_and_never_pushes():
    pr = _wf("pr.yml")
    for name, job in pr["jobs"].items():
        assert "secrets" not in job, name
        assert set(job["permissions"].values()) <= {"read"}, name
    text = (GITHUB / "workflows/pr.yml").read_text()
    assert "_publish.yml" not in text and "_deploy.yml" not in text


# --- fork-safe comment ---------------------------------------------------------------------------


def test_comment_workflow_runs_nothing_from_the_pr():
    workflow = _wf("pr-comment.yml")
    (job,) = workflow["jobs"].values()
    assert "cancelled" not in job["if"] and "conclusion == 'success'" in job["if"]  # a cancelled run posts nothing
    assert "workflow_run.event == 'pull_request'" in job["if"]
    steps = job["steps"]
    checkout = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkout) == 1 and set(checkout[0].get("with", {})) == {"persist-credentials"}  # the default branch
    download = next(s for s in steps if s.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["path"].startswith("${{ runner.temp }}")  # data, outside the checked-out code
    runs = [s["run"] for s in steps if "run" in s]
    assert runs == [
        'mlgate pr-number --head-sha "$HEAD_SHA" --claimed-file "$CLAIM"',
        'mlgate comment-check --report "$REPORT" --out "$COMMENT"',
    ]
    target = next(s for s in steps if s.get("id") == "target")
    assert target["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"  # trusted event data
    post = next(s for s in steps if "sticky-pull-request-comment" in s.get("uses", ""))
    assert post["if"] == "steps.target.outputs.pr-number != '' && steps.size.outputs.postable == 'true'"
    assert post["with"]["number"] == "${{ steps.target.outputs.pr-number }}"
    size = next(s for s in steps if s.get("id") == "size")
    assert post["with"]["path"] == size["env"]["COMMENT"] == "${{ runner.temp }}/comment.md"  # the inert copy


def test_the_pr_report_is_not_uploaded_by_a_cancelled_run():
    (job,) = _wf("_pipeline.yml")["jobs"].values()
    for step in job["steps"]:
        if "upload-artifact" in step.get("uses", "") and step["with"]["name"] == "pr-report":
            assert step["if"] == "${{ !cancelled() }}"


# --- targets, release, rollback ------------------------------------------------------------------


def test_every_deploy_resolves_the_target_the_same_way():
    (job,) = _wf("_deploy.yml")["jobs"].values()
    assert job["env"]["TARGET"] == "${{ vars.DEPLOY_TARGET || 'auto' }}"
    runs = [s["run"] for s in job["steps"] if s.get("run", "").startswith("mlgate ") and "preflight" not in s["run"]]
    assert len(runs) == 3 and all('--target "$TARGET"' in r for r in runs)
    assert job["concurrency"] == {"group": "deploy-${{ inputs.environment }}", "queue": "max"}
    assert "target" not in _wf("_deploy.yml")["on"]["workflow_call"]["inputs"]
    assert "target" not in _wf("rollback.yml")["on"]["workflow_dispatch"]["inputs"]
    for path in WORKFLOWS:
        assert "DEPLOY_TARGET" not in str(_load(path)) or path.name == "_deploy.yml", path.name


def test_release_waits_for_or_builds_its_image_and_goes_through_promote():
    jobs = _wf("release.yml")["jobs"]
    steps = jobs["resolve"]["steps"]
    resolve = next(s for s in steps if s.get("id") == "resolve")
    # The tag is checked as publish would check it before anything deploys, and a refusal stops the release.
    (check,) = [s for s in steps if "mlgate release check" in s.get("run", "")]
    assert check["run"] == 'mlgate release check --tag "$TAG" --sha "$GITHUB_SHA"' and "continue-on-error" not in check
    assert check["env"]["TAG"] == "${{ github.ref_name }}" and steps.index(check) < steps.index(resolve)
    # Defect 2: the digest main's own run recorded, never what the mutable REPO:<sha> tag names.
    assert resolve["run"] == 'mlgate image from-main --sha "$GITHUB_SHA" --wait "$WAIT"'
    assert "continue-on-error" not in resolve and jobs["resolve"]["permissions"]["actions"] == "read"
    assert jobs["pipeline"]["if"] == "needs.resolve.outputs.build == 'true'"
    publish = _wf("_publish.yml")["jobs"]["publish"]["steps"]
    (record,) = [s for s in publish if s.get("with", {}).get("name") == "image-ref"]
    push = next(s for s in publish if s.get("id") == "push")
    assert record["with"]["path"] == "image-ref/image" and "--record image-ref/image" in push["run"]
    assert jobs["pipeline"]["uses"].endswith("_pipeline.yml")
    assert jobs["build"]["needs"] == "pipeline" and jobs["build"]["with"]["save"] is True
    assert jobs["publish"]["needs"] == "build"
    assert jobs["staging"]["with"]["image"] == "${{ needs.resolve.outputs.image || needs.publish.outputs.image }}"
    assert jobs["staging"]["with"].get("operation", "deploy") == "deploy"
    assert jobs["production"]["with"] == {
        "environment": "production",
        "operation": "promote",
        "from": "staging",
        "image": jobs["staging"]["with"]["image"],  # the release's image: staging must still run it
    }
    assert {"resolve", "publish"} <= set(jobs["production"]["needs"])
    promote = next(s for s in _wf("_deploy.yml")["jobs"]["deploy"]["steps"] if "mlgate promote" in s.get("run", ""))
    assert '--expect "$IMAGE"' in promote["run"]
    release = " ".join(s.get("run", "") for s in jobs["github-release"]["steps"])
    assert 'mlgate release publish --tag "$TAG" --image "$IMAGE"' in release
    assert "docker pull" not in (GITHUB / "workflows/release.yml").read_text()


def test_rollback_uses_the_deploy_job():
    (job,) = _wf("rollback.yml")["jobs"].values()
    assert job["uses"] == "./.github/workflows/_deploy.yml"
    assert job["with"]["operation"] == "rollback"


def test_the_image_source_label_comes_from_the_repository_not_a_literal():
    for path in [*WORKFLOWS, *ACTIONS]:
        assert "org.opencontainers.image.source" not in path.read_text(), path.name


# --- installs ------------------------------------------------------------------------------------


def test_each_job_installs_only_its_roles():
    """Deploy, publish, build and comment jobs skip the training stack (deepchecks, dvc)."""
    wanted = {
        "_tests.yml": "pipeline dev",
        "_pipeline.yml": "pipeline dev",  # dev: pytest, for the project's tests on the gated model
        "_build.yml": "",
        "_publish.yml": "",
        "_deploy.yml": "deploy",
        "pr.yml": "",
        "pr-comment.yml": "",
        "release.yml": "",
        "monitor.yml": {"pipeline", ""},  # the monitor job rebuilds the model; the issue job only posts
    }
    wanted = {name: extras if isinstance(extras, set) else {extras} for name, extras in wanted.items()}
    seen = {}
    for path in WORKFLOWS:
        for step in _steps(_load(path)):
            if step.get("uses") == "./.github/actions/setup":
                assert "extras" in step.get("with", {}), f"{path.name}: say which roles"
                seen.setdefault(path.name, set()).add(step["with"]["extras"])
    assert seen == wanted
    for path in WORKFLOWS:  # a later `make X` must not reinstall make's default roles
        for name, job in _load(path)["jobs"].items():
            steps = job.get("steps", [])
            extras = [s["with"]["extras"] for s in steps if s.get("uses") == "./.github/actions/setup"]
            makes = [s["run"] for s in steps if s.get("run", "").startswith("make ")]
            if extras and makes and extras[0] != "pipeline dev":
                assert (job.get("env") or {}).get("EXTRAS") == extras[0], f"{path.name}:{name}: env EXTRAS"
    setup = yaml.safe_load((GITHUB / "actions/setup/action.yml").read_text())
    text = str(setup["runs"]["steps"])
    assert "astral-sh/setup-uv" in text and "cache-dependency-glob" in text and "uv.lock" in text


def test_release_deploy_and_comment_jobs_trust_no_cache():
    for name in ("_publish.yml", "_deploy.yml", "pr-comment.yml", "release.yml"):
        for step in _steps(_wf(name)):
            if step.get("uses") == "./.github/actions/setup":
                assert step["with"].get("cache") == "false", name
                assert step["with"].get("dvc-cache", "false") == "false", name


# --- repository files ----------------------------------------------------------------------------


def test_codeowners_names_no_team_a_fork_lacks():
    active = [line for line in (GITHUB / "CODEOWNERS").read_text().splitlines() if line.strip()]
    assert all(line.lstrip().startswith("#") for line in active), "CODEOWNERS lines are examples, commented out"
    assert any("@" in line for line in active)  # the example is there to copy


def test_readme_makes_no_cross_repository_reuse_claim_and_says_how_to_set_up():
    readme = (ROOT / "README.md").read_text() + (ROOT / "docs/github.md").read_text()
    assert "@v1" not in readme and "OWNER/mlgate/.github/workflows" not in readme
    for words in ("Use this template", "required reviewers", "Deployment branches and tags", "DEPLOY_TARGET"):
        assert words in readme, words


def test_every_workflow_is_exercised_by_an_act_scenario():
    from tests.template.workflows.test_act import SCENARIOS

    run = {s.workflow for s in SCENARIOS}
    called = {
        Path(job["uses"]).name
        for s in SCENARIOS
        for job in _load(GITHUB / "workflows" / s.workflow)["jobs"].values()
        if "uses" in job
    }
    assert {p.name for p in WORKFLOWS} <= run | called


def _needs(job: dict) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


RUNS_PAST_SKIPS = re.compile(r"!\s*cancelled\(\)|always\(\)")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_job_is_skipped_by_a_skipped_ancestor_it_does_not_need(path):
    """GitHub's default `if: success()` is false when ANY ancestor, not just the listed `needs`, was skipped
    (actions/runner#2205): `production: needs: staging` never started when the release found main's image and
    skipped the build chain, although staging (`if: !cancelled() && ...`) ran and passed. A job that needs
    such a job must itself run past skips and say which results it waits for."""
    jobs = _load(path).get("jobs") or {}

    def ancestors(name: str) -> set[str]:
        found: set[str] = set()
        for parent in _needs(jobs[name]):
            found |= {parent} | ancestors(parent)
        return found

    offenders = []
    for name, job in jobs.items():
        condition = str(job.get("if", ""))
        for parent in _needs(job):
            runs_past_skips = RUNS_PAST_SKIPS.search(str(jobs[parent].get("if", "")))
            skippable_above = [a for a in ancestors(parent) if "if" in jobs[a]]
            if (
                runs_past_skips
                and skippable_above
                and not (RUNS_PAST_SKIPS.search(condition) and f"needs.{parent}.result" in condition)
            ):
                offenders.append(f"{name} needs {parent} (which runs past skipped {skippable_above}): if: {condition}")
    assert not offenders, "\n".join(offenders)


# The newest uv each pinned astral-sh/setup-uv commit lists a checksum for (its
# src/download/checksum/known-checksums.ts): for any newer version the action downloads uv unchecked. A new pin
# adds its line here after reading that file.
SETUP_UV_KNOWS = {"20cfd1bf945f4377ade1205e4dbc17946fc9a30d": "0.12.4"}


def test_uv_is_installed_with_a_checksum_and_is_one_version_everywhere():
    setup = yaml.safe_load((ROOT / ".github/actions/setup/action.yml").read_text())
    (step,) = [s for s in setup["runs"]["steps"] if s.get("uses", "").startswith("astral-sh/setup-uv@")]
    pin, version = step["uses"].split("@")[1], step["with"]["version"]
    if "checksum" not in step["with"]:
        newest = SETUP_UV_KNOWS.get(pin)
        assert newest, f"setup-uv@{pin}: read its known-checksums.ts and add the newest version to SETUP_UV_KNOWS"
        as_tuple = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
        assert as_tuple(version) <= as_tuple(newest), f"uv {version}: setup-uv@{pin[:8]} knows no checksum for it"
    makefile = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    docker = {p.name: re.findall(r"uv==(\S+)", (ROOT / p).read_text()) for p in (Path("deploy/Dockerfile"),
              Path("deploy/mlflow.Dockerfile"))}  # fmt: skip
    assert makefile == version and all(found == [version] for found in docker.values()), (makefile, docker)


def test_no_release_deploy_or_rollback_waiting_in_a_concurrency_group_is_dropped():
    """Defect 6: GitHub keeps one pending run per concurrency group and cancels the one before it, so a third
    release tag cancelled the second; `queue: max` keeps up to 100 waiting, in order (workflow-syntax docs)."""
    groups = [("release.yml", _wf("release.yml")["concurrency"]), ("rollback.yml", _wf("rollback.yml")["concurrency"])]
    groups += [("_deploy.yml", job["concurrency"]) for job in _wf("_deploy.yml")["jobs"].values()]
    for name, group in groups:
        assert group.get("queue") == "max" and not group.get("cancel-in-progress"), name
