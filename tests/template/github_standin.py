"""A local stand-in for the GitHub REST endpoints mlgate calls, holding GitHub's rules rather than ours.

State is one JSON file (plus a storage/ directory beside it), re-read and written under a file lock on every
request, so separate processes and separate workflow runs see the same GitHub.

What it enforces, each rule with the GitHub documentation page it comes from (RULES below, and the `doc`
of each route):
- the job token's permissions, per endpoint (a job's `permissions:` block; 403 "Resource not accessible by
  integration" otherwise); a fork PR's token is read-only;
- the job token's rate limit (1,000 requests an hour per repository; a personal token has 5,000), with
  GitHub's x-ratelimit-* headers and its 403 once spent;
- environments created by their first reference, with no protection rule;
- deployment statuses GitHub sets itself: a new `success` marks the environment's earlier successful
  deployments `inactive` (auto_inactive, on by default; Actions' own deployments of a job's `environment:`
  use it);
- pull requests: the job token may not open one unless the repository allows it ("Allow GitHub Actions to
  create and approve pull requests", off by default), and one it opens starts no workflow;
- a pull request's test merge: its pull_request runs check out refs/pull/N/merge, the head merged into the base
  branch's tip, and a conflicting pull request runs none (pull_merge);
- repository visibility: artifact attestations are stored for public repositories, and for private ones
  only on GitHub Enterprise Cloud.

Tokens: state["tokens"] maps a token to {"kind": "job" | "personal", "permissions": {scope: level}}; the
shorthands "write" and "read" are a job token with every scope at that level (act hands every job of a run
one token). With no tokens listed, any bearer token is a personal token of the repository's owner.

    python -m tests.template.github_standin serve --state DIR/state.json --port 8990
    python -m tests.template.github_standin add-pull --state DIR/state.json --number 3 --head-sha abc123
"""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import re
import subprocess
import threading
import urllib.parse
import zipfile
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EMPTY = {
    "next_id": 1,
    "repository": {
        "visibility": "public",  # or "private"
        "plan": "free",  # free | pro | team | enterprise (GitHub Enterprise Cloud)
        "owner_type": "User",  # or "Organization"
        "actions_can_create_prs": False,  # GitHub's default for a new repository (RULES["job token PRs"])
    },
    "environments": {},
    "deployments": [],
    "statuses": [],
    "releases": [],
    "assets": [],
    "pulls": [],
    "comments": [],
    "issues": [],
    "runs": [],  # workflow runs, each with its artifacts (add_run)
    "attestations": [],
    "approvals": {},  # run id -> GitHub's environment reviews of that run
    "requests": {},  # rate-limit key -> requests made (RULES["rate limit"])
}
REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
DOCS = "https://docs.github.com/en"
PERMISSIONS_DOC = f"{DOCS}/rest/authentication/permissions-required-for-github-apps"

# The rules that are not one endpoint's permission, with where GitHub says so.
RULES = {
    "job token permissions": (
        "a job's token has exactly the scopes of its `permissions:` block; unlisted scopes are none",
        f"{DOCS}/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idpermissions",
    ),
    "endpoint permissions": ("each endpoint needs one scope at read or write", PERMISSIONS_DOC),
    "rate limit": (
        "GITHUB_TOKEN: 1,000 requests an hour per repository; a personal token 5,000; then 403 with "
        "x-ratelimit-remaining 0",
        f"{DOCS}/rest/using-the-rest-api/rate-limits-for-the-rest-api",
    ),
    "environments on first reference": (
        "a job or deployment naming an environment that does not exist creates it, with no protection rule",
        f"{DOCS}/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idenvironment",
    ),
    "auto_inactive": (
        "a success status marks the earlier successful deployments of that environment inactive "
        "(non-transient, non-production), unless auto_inactive is false",
        f"{DOCS}/rest/deployments/statuses#create-a-deployment-status",
    ),
    "job token PRs": (
        "GitHub Actions may not create pull requests unless the repository allows it (off by default)",
        f"{DOCS}/repositories/managing-your-repositorys-settings-and-features/enabling-features-for-your-"
        "repository/managing-github-actions-settings-for-a-repository#preventing-github-actions-from-creating-or-"
        "approving-pull-requests",
    ),
    "job token events": (
        "events made with GITHUB_TOKEN (a pull request it opens, a branch it pushes) start no workflow run",
        f"{DOCS}/actions/security-for-github-actions/security-guides/automatic-token-authentication"
        "#using-the-github_token-in-a-workflow",
    ),
    "attestations by plan": (
        "artifact attestations: public repositories on every plan; private and internal ones only on "
        "GitHub Enterprise Cloud (the API's message: https://github.com/Jebel-Quant/rhiza/issues/428)",
        f"{DOCS}/actions/security-for-github-actions/using-artifact-attestations/using-artifact-attestations-"
        "to-establish-provenance-for-builds",
    ),
    "pull request merge commit": (
        "a pull_request run's GITHUB_SHA is the last merge commit of refs/pull/N/merge (the head merged into the "
        "base branch as it is now), its GITHUB_REF refs/pull/N/merge, and the run's head_sha the PR head; a pull "
        "request with a merge conflict starts no pull_request run",
        f"{DOCS}/actions/writing-workflows/choosing-when-your-workflow-runs/events-that-trigger-workflows#pull_request",
    ),
}
LEVELS = {"none": 0, "read": 1, "write": 2}
RATE_LIMITS = {"job": 1000, "personal": 5000}


@contextmanager
def _state(path: Path, write: bool):
    """The state under an exclusive lock; saved back when `write`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text()) if path.is_file() else json.loads(json.dumps(EMPTY))
        for key, value in EMPTY.items():  # a state seeded by an older test: GitHub's defaults for the rest
            state.setdefault(key, json.loads(json.dumps(value)))
        yield state
        if write:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1))
            tmp.replace(path)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_id(state: dict) -> int:
    state["next_id"] += 1
    return state["next_id"]


def _token_spec(spec) -> dict:
    """ "write" / "read": a job token with every scope at that level (act gives every job one token)."""
    if isinstance(spec, str):
        return {"kind": "job", "permissions": {"*": spec}}
    return {"kind": spec.get("kind", "job"), "permissions": spec.get("permissions", {})}


def job_token(permissions: dict[str, str]) -> dict:
    """A job token's entry for state["tokens"]: the scopes of a job's `permissions:` block."""
    return {"kind": "job", "permissions": dict(permissions)}


def workflow_job_token(workflow: Path, job: str) -> dict:
    """The token GitHub hands `job` of a workflow file: exactly its `permissions:` (else the workflow's)."""
    import yaml

    data = yaml.safe_load(Path(workflow).read_text())
    granted = data["jobs"][job].get("permissions", data.get("permissions")) or {}
    return job_token(granted if isinstance(granted, dict) else {})


def _reference_environment(state: dict, name: str) -> dict:
    """RULES["environments on first reference"]: created unprotected."""
    return state["environments"].setdefault(
        name, {"name": name, "protection_rules": [], "deployment_branch_policy": None, "created_at": _now()}
    )


def _latest_state(state: dict, deployment_id: int) -> str | None:
    found = [s for s in state["statuses"] if s["deployment_id"] == deployment_id]
    return max(found, key=lambda s: s["id"])["state"] if found else None


def _add_status(state: dict, deployment: dict, wanted: str, description: str, auto_inactive: bool) -> dict:
    if wanted == "success" and auto_inactive:  # RULES["auto_inactive"]
        for other in state["deployments"]:
            if (
                other["id"] != deployment["id"]
                and other["environment"] == deployment["environment"]
                and not other.get("transient_environment")
                and not other.get("production_environment")
                and _latest_state(state, other["id"]) == "success"
            ):
                state["statuses"].append(
                    {
                        "id": _new_id(state),
                        "deployment_id": other["id"],
                        "state": "inactive",
                        "description": "",
                        "created_at": _now(),
                    }
                )
    status = {
        "id": _new_id(state),
        "deployment_id": deployment["id"],
        "state": wanted,
        "description": description,
        "created_at": _now(),
    }
    state["statuses"].append(status)
    return status


# --- what GitHub does around the API, for the harness and the tests ------------------------------------------
def add_pull(
    state_path: Path, number: int, head_sha: str, repository: str = "", state: str = "open", ref: str = ""
) -> None:
    """Seed an open pull request (what a real PR's head would be; GitHub always names the head branch)."""
    head = {"sha": head_sha, "ref": ref or f"feature-{number}", "repo": {"full_name": repository}}
    with _state(Path(state_path), write=True) as data:
        data["pulls"] = [p for p in data["pulls"] if p["number"] != number]
        data["pulls"].append({"number": number, "state": state, "head": head, "starts_workflows": True})


class MergeConflict(Exception):
    """The pull request does not merge into its base: GitHub starts no pull_request run for it."""


def pull_merge(origin: Path, number: int, head_sha: str, base: str = "main") -> str:
    """GitHub's test merge (RULES["pull request merge commit"]): a merge commit of the head into the base branch's
    tip (parents: base, head), stored as refs/pull/N/merge in the bare repository `origin`; its sha, which is what
    the PR's runs check out. MergeConflict when the two do not merge."""

    def git(*args: str) -> subprocess.CompletedProcess:
        cmd = ["git", "-c", "user.name=GitHub", "-c", "user.email=noreply@github.com", *args]
        alone = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # GitHub runs no
        return subprocess.run(cmd, cwd=origin, capture_output=True, text=True, env=alone)  # custom merge driver

    base_sha = git("rev-parse", "--verify", f"refs/heads/{base}^{{commit}}").stdout.strip()
    tree = git("merge-tree", "--write-tree", "--no-messages", base_sha, head_sha)
    if tree.returncode == 1:
        raise MergeConflict(f"pull request #{number} ({head_sha[:12]}) conflicts with {base} ({base_sha[:12]})")
    if tree.returncode:
        raise RuntimeError(f"git merge-tree --write-tree (git >= 2.38) failed: {tree.stderr.strip()}")
    message = f"Merge {head_sha} into {base_sha}"
    commit = git("commit-tree", tree.stdout.split()[0], "-p", base_sha, "-p", head_sha, "-m", message)
    commit.check_returncode()
    sha = commit.stdout.strip()
    git("update-ref", f"refs/pull/{number}/merge", sha).check_returncode()
    return sha


def actions_deployment(state_path: Path, environment: str, sha: str) -> int:
    """What Actions does for a job with `environment:`: the environment (created if new, unprotected), a
    deployment with no payload, and its success status with GitHub's default auto_inactive."""
    with _state(Path(state_path), write=True) as state:
        _reference_environment(state, environment)
        deployment = {
            "id": _new_id(state),
            "ref": sha,
            "sha": sha,
            "environment": environment,
            "payload": {},
            "task": "deploy",
            "description": None,
            "created_at": _now(),
            "production_environment": environment == "production",
            "transient_environment": False,
        }
        state["deployments"].append(deployment)
        _add_status(state, deployment, "in_progress", "", True)
        _add_status(state, deployment, "success", "", True)
        return deployment["id"]


def protect(state_path: Path, environment: str, reviewers: list[str] = (), tags: str = "") -> None:
    """The settings docs/github.md asks for: required reviewers and/or a deployment tag rule."""
    with _state(Path(state_path), write=True) as state:
        env = _reference_environment(state, environment)
        rules = []
        if reviewers:
            rules.append(
                {
                    "id": _new_id(state),
                    "type": "required_reviewers",
                    "prevent_self_review": False,
                    "reviewers": [{"type": "User", "reviewer": {"login": r}} for r in reviewers],
                }
            )
        if tags:
            rules.append({"id": _new_id(state), "type": "branch_policy"})
            env["deployment_branch_policy"] = {"protected_branches": False, "custom_branch_policies": True}
            env["deployment_policies"] = [{"name": tags, "type": "tag"}]
        env["protection_rules"] = rules


def add_run(
    state_path: Path,
    run_id: int,
    workflow: str,
    event: str,
    head_branch: str,
    head_sha: str,
    conclusion: str | None,
    artifacts: Path | None = None,
) -> None:
    """A workflow run as GitHub records it (status completed with its conclusion, or in_progress when None),
    with the artifacts its jobs uploaded (each subfolder of `artifacts` is one, stored zipped)."""
    with _state(Path(state_path), write=True) as state:
        stored = []
        for folder in sorted(artifacts.iterdir()) if artifacts and artifacts.is_dir() else []:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                    archive.write(file, file.relative_to(folder).as_posix())
            artifact_id = _new_id(state)
            storage = Path(state_path).parent / "storage"
            storage.mkdir(exist_ok=True)
            (storage / str(artifact_id)).write_bytes(buffer.getvalue())
            stored.append({"id": artifact_id, "name": folder.name, "size_in_bytes": len(buffer.getvalue())})
        state["runs"] = [r for r in state["runs"] if r["id"] != run_id]
        state["runs"].append(
            {
                "id": run_id,
                "path": f".github/workflows/{workflow}",
                "event": event,
                "head_branch": head_branch,
                "head_sha": head_sha,
                "status": "completed" if conclusion else "in_progress",
                "conclusion": conclusion,
                "created_at": _now(),
                "artifacts": stored,
            }
        )


class Handler(BaseHTTPRequestHandler):
    server_version = "github-standin"
    state_path: Path

    def log_message(self, *args) -> None:  # quiet
        pass

    # --- plumbing --------------------------------------------------------------------------------
    def _send(self, status: int, body=None, headers: dict | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in {**getattr(self, "_rate_headers", {}), **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, status: int, message: str, doc: str) -> None:
        """GitHub's error shape: a message and the documentation page that explains it."""
        self._send(status, {"message": message, "documentation_url": doc, "status": str(status)})

    def _body(self) -> bytes:
        if not hasattr(self, "_raw"):
            self._raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return self._raw

    def _fault(self, method: str, path: str) -> bool:
        """Injected outages: state["faults"] = [{"method", "path" (regex), "contains", "times"}] -> 503."""
        body = self._body().decode(errors="replace") if method != "GET" else ""
        with _state(self.state_path, write=True) as state:
            for fault in state.get("faults", []):
                if (
                    fault.get("times", 1) > 0
                    and fault.get("method", method) == method
                    and re.search(fault.get("path", ""), path)
                    and fault.get("contains", "") in body
                ):
                    fault["times"] = fault.get("times", 1) - 1
                    break
            else:
                return False
        self._send(503, {"message": "Service Unavailable (injected)"})
        return True

    def _json(self) -> dict:
        try:
            return json.loads(self._body() or b"{}")
        except json.JSONDecodeError:
            return {}

    def _authorized(self, needs: tuple[tuple[str, ...], str], repository: str) -> bool:
        """The bearer token, its permission for this endpoint, and the request counted against its limit."""
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            self._refuse(401, "Requires authentication", f"{DOCS}/rest/overview/authenticating-to-the-rest-api")
            return False
        token = auth[7:]
        with _state(self.state_path, write=True) as state:
            tokens = state.get("tokens")
            if tokens is not None and token not in tokens:
                self._refuse(401, "Bad credentials", f"{DOCS}/rest")
                return False
            spec = _token_spec(tokens[token]) if tokens is not None else {"kind": "personal", "permissions": {}}
            self.token_kind = spec["kind"]
            key = f"job:{repository}" if spec["kind"] == "job" else f"personal:{token}"
            limit = (state.get("rate_limits") or {}).get(spec["kind"], RATE_LIMITS[spec["kind"]])
            used = state["requests"].get(key, 0)
            if used >= limit:  # RULES["rate limit"]: refused requests are not counted
                self._rate_headers = _rate_headers(limit, used)
                self._refuse(403, "API rate limit exceeded for installation.", RULES["rate limit"][1])
                return False
            state["requests"][key] = used + 1
            self._rate_headers = _rate_headers(limit, used + 1)
        scopes, level = needs
        if spec["kind"] == "job":  # RULES["job token permissions"], RULES["endpoint permissions"]
            granted = spec["permissions"]
            have = max(LEVELS[granted.get(s, granted.get("*", "none"))] for s in scopes)
            if have < LEVELS[level]:
                self._refuse(403, "Resource not accessible by integration", PERMISSIONS_DOC)
                return False
        return True

    def _paged(self, items: list, query: dict, wrap: str = "") -> None:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)  # GitHub's maximum page size
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            parts = urllib.parse.urlsplit(self.path)
            rest = {k: v[0] for k, v in query.items()} | {"page": str(page + 1), "per_page": str(per_page)}
            host = self.headers.get("Host")
            headers["Link"] = f'<http://{host}{parts.path}?{urllib.parse.urlencode(rest)}>; rel="next"'
        self._send(200, {"total_count": len(items), wrap: chunk} if wrap else chunk, headers)

    def _route(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path, query = parts.path, urllib.parse.parse_qs(parts.query)
        for pattern, verb, handler, needs in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                repository = f"{match['owner']}/{match['name']}"
                if not self._authorized(needs, repository) or self._fault(method, path):
                    return
                handler(self, match, query)
                return
        self._send(404, {"message": "Not Found", "documentation_url": f"{DOCS}/rest"})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def _base(self) -> str:
        return f"http://{self.headers.get('Host')}"

    # --- deployments and environments ------------------------------------------------------------
    def create_deployment(self, match, _query) -> None:
        body = self._json()
        if not body.get("ref") or not body.get("environment"):
            self._refuse(422, "Validation Failed: ref and environment are required", f"{DOCS}/rest/deployments")
            return
        env = body["environment"]
        with _state(self.state_path, write=True) as state:
            _reference_environment(state, env)
            deployment = {
                "id": _new_id(state),
                "ref": body["ref"],
                "sha": body["ref"],
                "task": body.get("task", "deploy"),
                "environment": env,
                "payload": body.get("payload") or {},
                "description": body.get("description"),
                "created_at": _now(),
                "transient_environment": bool(body.get("transient_environment", False)),
                "production_environment": bool(body.get("production_environment", env == "production")),
            }
            state["deployments"].append(deployment)
        self._send(201, deployment)

    def list_deployments(self, match, query) -> None:
        env = query.get("environment", [None])[0]
        with _state(self.state_path, write=False) as state:
            found = [d for d in state["deployments"] if env is None or d["environment"] == env]
        self._paged(sorted(found, key=lambda d: d["id"], reverse=True), query)

    def create_status(self, match, _query) -> None:
        body, deployment_id = self._json(), int(match["id"])
        if body.get("state") not in {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}:
            self._refuse(422, f"Validation Failed: state {body.get('state')!r}", f"{DOCS}/rest/deployments/statuses")
            return
        with _state(self.state_path, write=True) as state:
            deployment = next((d for d in state["deployments"] if d["id"] == deployment_id), None)
            if deployment is None:
                self._send(404, {"message": "Not Found"})
                return
            status = _add_status(
                state, deployment, body["state"], body.get("description", ""), body.get("auto_inactive", True)
            )
        self._send(201, status)

    def list_statuses(self, match, query) -> None:
        with _state(self.state_path, write=False) as state:
            found = [s for s in state["statuses"] if s["deployment_id"] == int(match["id"])]
        self._paged(sorted(found, key=lambda s: s["id"], reverse=True), query)

    def get_environment(self, match, _query) -> None:
        name = urllib.parse.unquote(match["env"])
        with _state(self.state_path, write=False) as state:
            env = state["environments"].get(name)
        if env is None:
            self._send(404, {"message": "Not Found", "documentation_url": f"{DOCS}/rest/deployments/environments"})
            return
        self._send(200, env)

    # --- workflow runs and their artifacts -------------------------------------------------------
    def _run_view(self, run: dict) -> dict:
        return {k: v for k, v in run.items() if k != "artifacts"}

    def list_runs(self, match, query) -> None:
        workflow = match.groupdict().get("workflow")
        wanted = {k: query[k][0] for k in ("branch", "event", "head_sha", "status") if k in query}
        with _state(self.state_path, write=False) as state:
            runs = [
                r
                for r in state["runs"]
                if (workflow is None or r["path"] == f".github/workflows/{workflow}")
                and all(
                    (r["head_branch"] if k == "branch" else r.get(k)) == v
                    or (k == "status" and r.get("conclusion") == v)
                    for k, v in wanted.items()
                )
            ]
        views = [self._run_view(r) for r in sorted(runs, key=lambda r: r["id"], reverse=True)]
        self._paged(views, query, wrap="workflow_runs")

    def run_artifacts(self, match, query) -> None:
        name = query.get("name", [None])[0]
        with _state(self.state_path, write=False) as state:
            run = next((r for r in state["runs"] if r["id"] == int(match["run"])), None)
        if run is None:
            self._send(404, {"message": "Not Found"})
            return
        found = [
            a
            | {
                "expired": False,
                "workflow_run": {"id": run["id"], "head_branch": run["head_branch"], "head_sha": run["head_sha"]},
            }
            for a in run["artifacts"]
            if name is None or a["name"] == name
        ]
        self._paged(found, query, wrap="artifacts")

    def artifact_zip(self, match, _query) -> None:
        # GitHub answers with a redirect to storage; so does the stand-in.
        self._send(302, headers={"Location": f"{self._base()}/_storage/{match['id']}"})

    def create_attestation(self, match, _query) -> None:
        with _state(self.state_path, write=True) as state:
            repo = state["repository"]
            if repo["visibility"] != "public" and repo["plan"] != "enterprise":  # RULES["attestations by plan"]
                said = (
                    "user-owned private repositories. To enable this feature, please make this repository public."
                    if repo["owner_type"] == "User"
                    else f"the {match['owner']} organization. To enable this feature, please upgrade the billing "
                    "plan, or make this repository public."
                )
                self._refuse(404, f"Feature not available for {said}", f"{DOCS}/rest/repos/attestations")
                return
            attestation = {"id": _new_id(state), "bundle": self._json().get("bundle")}
            state["attestations"].append(attestation)
        self._send(201, {"id": attestation["id"]})

    # --- releases --------------------------------------------------------------------------------
    def _release_view(self, release: dict, state: dict) -> dict:
        owner_repo = release["repository"]
        return release | {
            "upload_url": f"{self._base()}/uploads/repos/{owner_repo}/releases/{release['id']}/assets{{?name,label}}",
            "assets": [
                {
                    "id": a["id"],
                    "name": a["name"],
                    "size": a["size"],
                    "url": f"{self._base()}/repos/{owner_repo}/releases/assets/{a['id']}",
                }
                for a in state["assets"]
                if a["release_id"] == release["id"]
            ],
        }

    def create_release(self, match, _query) -> None:
        body = self._json()
        tag = body.get("tag_name")
        if not tag:
            self._send(422, {"message": "tag_name is required"})
            return
        with _state(self.state_path, write=True) as state:
            if any(r["tag_name"] == tag for r in state["releases"]):
                self._send(422, {"message": "Validation Failed: tag_name already_exists"})
                return
            release = {
                "id": _new_id(state),
                "repository": f"{match['owner']}/{match['name']}",
                "tag_name": tag,
                "name": body.get("name") or tag,
                "body": body.get("body") or "",
                "target_commitish": body.get("target_commitish") or "main",
                "draft": bool(body.get("draft")),
                "prerelease": bool(body.get("prerelease")),
                "created_at": _now(),
            }
            state["releases"].append(release)
            view = self._release_view(release, state)
        self._send(201, view)

    def list_releases(self, match, query) -> None:
        with _state(self.state_path, write=False) as state:
            views = [self._release_view(r, state) for r in sorted(state["releases"], key=lambda r: -r["id"])]
        self._paged(views, query)

    def latest_release(self, match, _query) -> None:
        with _state(self.state_path, write=False) as state:
            published = [r for r in state["releases"] if not r["draft"] and not r["prerelease"]]
            if not published:
                self._send(404, {"message": "Not Found"})
                return
            self._send(200, self._release_view(max(published, key=lambda r: r["id"]), state))

    def release_by_tag(self, match, _query) -> None:
        tag = urllib.parse.unquote(match["tag"])
        with _state(self.state_path, write=False) as state:
            for release in state["releases"]:
                if release["tag_name"] == tag:
                    self._send(200, self._release_view(release, state))
                    return
        self._send(404, {"message": "Not Found"})

    def upload_asset(self, match, query) -> None:
        name, data = query.get("name", [""])[0], self._body()
        if not name:
            self._send(422, {"message": "name is required"})
            return
        with _state(self.state_path, write=True) as state:
            if not any(r["id"] == int(match["id"]) for r in state["releases"]):
                self._send(404, {"message": "Not Found"})
                return
            if any(a["release_id"] == int(match["id"]) and a["name"] == name for a in state["assets"]):
                self._send(422, {"message": "Validation Failed: name already_exists"})
                return
            asset = {"id": _new_id(state), "release_id": int(match["id"]), "name": name, "size": len(data)}
            folder = self.state_path.parent / "assets"
            folder.mkdir(exist_ok=True)
            (folder / str(asset["id"])).write_bytes(data)
            state["assets"].append(asset)
        self._send(201, asset)

    def download_asset(self, match, _query) -> None:
        if self.headers.get("Accept") != "application/octet-stream":
            self._send(200, {"id": int(match["id"])})
            return
        # GitHub answers with a redirect to storage; so does the stand-in.
        self._send(302, headers={"Location": f"{self._base()}/_storage/{match['id']}"})

    # --- issues (pull requests share their numbers) ----------------------------------------------
    def list_issues(self, match, query) -> None:
        wanted = query.get("state", ["open"])[0]
        labels = {x for x in query.get("labels", [""])[0].split(",") if x}
        with _state(self.state_path, write=False) as state:
            found = [
                i
                for i in state.get("issues", [])
                if (wanted == "all" or i["state"] == wanted) and labels <= {x["name"] for x in i["labels"]}
            ]
        self._paged(sorted(found, key=lambda i: i["number"], reverse=True), query)

    def create_issue(self, match, _query) -> None:
        body = self._json()
        if not body.get("title"):
            self._send(422, {"message": "title is required"})
            return
        with _state(self.state_path, write=True) as state:
            issues = state.setdefault("issues", [])
            number = 1 + max([0, *(i["number"] for i in issues), *(p["number"] for p in state["pulls"])])
            issue = {
                "id": _new_id(state),
                "number": number,
                "state": "open",
                "title": body["title"],
                "body": body.get("body") or "",
                "labels": [{"name": name} for name in body.get("labels") or []],
                "created_at": _now(),
            }
            issues.append(issue)
        self._send(201, issue)

    def edit_issue(self, match, _query) -> None:
        body = self._json()
        with _state(self.state_path, write=True) as state:
            for issue in state.get("issues", []):
                if issue["number"] == int(match["n"]):
                    issue.update({k: body[k] for k in ("title", "body", "state") if k in body})
                    issue["updated_at"] = _now()
                    break
            else:
                self._send(404, {"message": "Not Found"})
                return
        self._send(200, issue)

    # --- pulls and comments ----------------------------------------------------------------------
    def run_approvals(self, match, _query) -> None:
        with _state(self.state_path, write=False) as state:
            self._send(200, (state.get("approvals") or {}).get(match["run"], []))

    def list_pulls(self, match, query) -> None:
        wanted = query.get("state", ["open"])[0]
        with _state(self.state_path, write=False) as state:
            found = [p for p in state["pulls"] if wanted == "all" or p["state"] == wanted]
        self._paged(sorted(found, key=lambda p: p["number"], reverse=True), query)

    def create_pull(self, match, _query) -> None:
        body = self._json()
        if not body.get("head") or not body.get("base") or not body.get("title"):
            self._send(422, {"message": "title, head and base are required"})
            return
        with _state(self.state_path, write=True) as state:
            if self.token_kind == "job" and not state["repository"]["actions_can_create_prs"]:
                self._refuse(
                    403,
                    "GitHub Actions is not permitted to create or approve pull requests.",
                    RULES["job token PRs"][1],
                )
                return
            numbers = [p["number"] for p in state["pulls"]] + [i["number"] for i in state.get("issues", [])]
            pull = {
                "number": 1 + max([0, *numbers]),
                "state": "open",
                "title": body["title"],
                "body": body.get("body") or "",
                "head": {"ref": body["head"], "repo": {"full_name": f"{match['owner']}/{match['name']}"}},
                "base": {"ref": body["base"]},
                "starts_workflows": self.token_kind != "job",  # RULES["job token events"]
            }
            state["pulls"].append(pull)
        self._send(201, pull)

    def list_comments(self, match, query) -> None:
        with _state(self.state_path, write=False) as state:
            found = [c for c in state["comments"] if c["issue"] == int(match["n"])]
        self._paged(found, query)

    def create_comment(self, match, _query) -> None:
        body = self._json()
        with _state(self.state_path, write=True) as state:
            comment = {"id": _new_id(state), "issue": int(match["n"]), "body": body.get("body", "")}
            state["comments"].append(comment)
        self._send(201, comment)

    def edit_comment(self, match, _query) -> None:
        body = self._json()
        with _state(self.state_path, write=True) as state:
            for comment in state["comments"]:
                if comment["id"] == int(match["id"]):
                    comment["body"] = body.get("body", "")
                    break
            else:
                self._send(404, {"message": "Not Found"})
                return
        self._send(200, comment)


def _rate_headers(limit: int, used: int) -> dict:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(max(limit - used, 0)),
        "x-ratelimit-used": str(used),
        "x-ratelimit-resource": "core",
    }


def _storage(handler: Handler, match, _query) -> None:
    for folder in ("assets", "storage"):  # release assets and artifact zips share GitHub's id sequence
        path = handler.state_path.parent / folder / match["id"]
        if path.is_file():
            handler._send(200, raw=path.read_bytes())
            return
    handler._send(404, {"message": "Not Found"})


def _needs(*scopes: str, level: str = "read") -> tuple[tuple[str, ...], str]:
    """The job-token permission an endpoint needs (any one of `scopes` at `level`), per PERMISSIONS_DOC."""
    return scopes, level


READ, WRITE = "read", "write"
# (path, method, handler, the job token's permission): each line is the endpoint's entry in PERMISSIONS_DOC.
ROUTES = [
    (REPO + r"/deployments", "POST", Handler.create_deployment, _needs("deployments", level=WRITE)),
    (REPO + r"/deployments", "GET", Handler.list_deployments, _needs("deployments")),
    (REPO + r"/deployments/(?P<id>\d+)/statuses", "POST", Handler.create_status, _needs("deployments", level=WRITE)),
    (REPO + r"/deployments/(?P<id>\d+)/statuses", "GET", Handler.list_statuses, _needs("deployments")),
    (REPO + r"/environments/(?P<env>[^/]+)", "GET", Handler.get_environment, _needs("actions")),
    (REPO + r"/releases", "POST", Handler.create_release, _needs("contents", level=WRITE)),
    (REPO + r"/releases", "GET", Handler.list_releases, _needs("contents")),
    (REPO + r"/releases/latest", "GET", Handler.latest_release, _needs("contents")),
    (REPO + r"/releases/tags/(?P<tag>[^/]+)", "GET", Handler.release_by_tag, _needs("contents")),
    (REPO + r"/releases/assets/(?P<id>\d+)", "GET", Handler.download_asset, _needs("contents")),
    (
        r"/uploads" + REPO + r"/releases/(?P<id>\d+)/assets",
        "POST",
        Handler.upload_asset,
        _needs("contents", level=WRITE),
    ),
    (REPO + r"/actions/runs", "GET", Handler.list_runs, _needs("actions")),
    (REPO + r"/actions/workflows/(?P<workflow>[^/]+)/runs", "GET", Handler.list_runs, _needs("actions")),
    (REPO + r"/actions/runs/(?P<run>\d+)/approvals", "GET", Handler.run_approvals, _needs("actions")),
    (REPO + r"/actions/runs/(?P<run>\d+)/artifacts", "GET", Handler.run_artifacts, _needs("actions")),
    (REPO + r"/actions/artifacts/(?P<id>\d+)/zip", "GET", Handler.artifact_zip, _needs("actions")),
    (REPO + r"/attestations", "POST", Handler.create_attestation, _needs("attestations", level=WRITE)),
    (REPO + r"/pulls", "GET", Handler.list_pulls, _needs("pull-requests")),
    (REPO + r"/pulls", "POST", Handler.create_pull, _needs("pull-requests", level=WRITE)),
    (REPO + r"/issues", "GET", Handler.list_issues, _needs("issues")),
    (REPO + r"/issues", "POST", Handler.create_issue, _needs("issues", level=WRITE)),
    (REPO + r"/issues/(?P<n>\d+)", "PATCH", Handler.edit_issue, _needs("issues", level=WRITE)),
    (REPO + r"/issues/(?P<n>\d+)/comments", "GET", Handler.list_comments, _needs("issues", "pull-requests")),
    (
        REPO + r"/issues/(?P<n>\d+)/comments",
        "POST",
        Handler.create_comment,
        _needs("issues", "pull-requests", level=WRITE),
    ),
    (
        REPO + r"/issues/comments/(?P<id>\d+)",
        "PATCH",
        Handler.edit_comment,
        _needs("issues", "pull-requests", level=WRITE),
    ),
]


class _Storage(Handler):
    """Storage answers without asking for credentials (signed URLs), like GitHub's."""

    def do_GET(self) -> None:
        match = re.fullmatch(r"/_storage/(?P<id>\d+)", urllib.parse.urlsplit(self.path).path)
        if match:
            _storage(self, match, {})
        else:
            self._route("GET")


def start(state_path: Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Serve in a background thread; returns the server and its base URL (GITHUB_API_URL)."""
    handler = type("BoundHandler", (_Storage,), {"state_path": Path(state_path)})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--state", type=Path, required=True)
    serve.add_argument("--port", type=int, default=8990)
    serve.add_argument("--host", default="127.0.0.1")
    pull = sub.add_parser("add-pull")
    pull.add_argument("--state", type=Path, required=True)
    pull.add_argument("--number", type=int, required=True)
    pull.add_argument("--head-sha", required=True)
    pull.add_argument("--repository", default="")
    args = parser.parse_args()
    if args.command == "add-pull":
        add_pull(args.state, args.number, args.head_sha, args.repository)
        return
    handler = type("BoundHandler", (_Storage,), {"state_path": args.state})
    ThreadingHTTPServer((args.host, args.port), handler).serve_forever()


if __name__ == "__main__":
    main()
