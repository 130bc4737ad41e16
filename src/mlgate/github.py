"""A small GitHub REST client (urllib): deployments, releases and their assets, open pulls, issues, comments.

On github.com every job runs on a fresh runner, so what must survive a job (deploy history, releases,
the production model) lives in GitHub itself. The client reads GITHUB_API_URL, GITHUB_REPOSITORY and
GITHUB_TOKEN, as Actions sets them; tests point GITHUB_API_URL at tests/template/github_standin.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.errors import MlgateError

TIMEOUT = 30
PAGE = 100


class GitHubError(MlgateError):
    """A GitHub API call failed; the message names the call and GitHub's answer."""

    exit_code = 1

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class _StripAuthOnRedirect(urllib.request.HTTPRedirectHandler):
    """Asset downloads redirect to signed storage URLs, which refuse a second credential."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


_OPENER = urllib.request.build_opener(_StripAuthOnRedirect)


@dataclass(frozen=True)
class GitHub:
    api_url: str
    repository: str
    token: str

    @classmethod
    def from_env(cls) -> GitHub | None:
        """The repository this job runs for; None off GitHub (no token, repository or API URL)."""
        api, repo, token = (
            os.environ.get(k, "").strip() for k in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN")
        )
        return cls(api.rstrip("/"), repo, token) if api and repo and token else None

    @classmethod
    def require(cls) -> GitHub:
        found = cls.from_env()
        if found is None:
            raise MlgateError("GitHub API not configured: set GITHUB_TOKEN, GITHUB_REPOSITORY and GITHUB_API_URL")
        return found

    # --- transport -------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        url: str,
        body: Any = None,
        data: bytes | None = None,
        content_type: str = "application/json",
        accept: str = "application/vnd.github+json",
    ) -> tuple[Any, dict]:
        if not url.startswith("http"):
            url = f"{self.api_url}{url}"
        payload = json.dumps(body).encode() if body is not None else data
        request = urllib.request.Request(url, data=payload, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", accept)
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        request.add_header("User-Agent", "mlgate")
        if payload is not None:
            request.add_header("Content-Type", content_type)
        where = f"GitHub API {method} {urllib.parse.urlsplit(url).path}"
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as response:
                raw = response.read()
                headers = dict(response.headers)
        except urllib.error.HTTPError as err:
            detail = err.read()[:4000].decode(errors="replace")
            with contextlib.suppress(json.JSONDecodeError, AttributeError):
                detail = json.loads(detail).get("message", detail)[:300]
            raise GitHubError(f"{where}: {err.code} {detail}".strip(), err.code) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise GitHubError(f"{where}: unreachable ({reason})") from None
        if accept.startswith("application/vnd.github") or accept == "application/json":
            try:
                return (json.loads(raw) if raw else None), headers
            except json.JSONDecodeError:
                raise GitHubError(f"{where}: answer is not JSON") from None
        return raw, headers

    def download(self, path: str) -> bytes:
        """A binary answer (an artifact's zip), following GitHub's redirect to storage."""
        return self._request("GET", path, accept="application/octet-stream")[0]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self._request(method, path, body)[0]

    def pages(self, path: str, limit: int = 1000) -> list[dict]:
        """Every item of a listed collection, following the Link: rel="next" headers."""
        return list(itertools.islice(self.each(path), limit))

    def each(self, path: str, key: str = "") -> Iterator[dict]:
        """The items of a listed collection, one page requested at a time, only as far as the caller reads
        (the job token has 1,000 requests an hour per repository). `key`: the list inside a wrapped page."""
        sep = "&" if "?" in path else "?"
        url: str | None = f"{self.api_url}{path}{sep}per_page={PAGE}"
        while url:
            page, headers = self._request("GET", url)
            yield from ((page or {}).get(key) or [] if key else page or [])
            url = _next_link(headers.get("Link") or headers.get("link") or "")

    @property
    def _repo(self) -> str:
        return f"/repos/{self.repository}"

    # --- deployments -----------------------------------------------------------------------------
    def create_deployment(self, environment: str, ref: str, payload: dict, description: str) -> int:
        body = {
            "ref": ref,
            "environment": environment,
            "payload": payload,
            "description": description[:140],
            "auto_merge": False,
            "required_contexts": [],
            "transient_environment": False,
            "production_environment": environment == "production",
        }
        return int(self.call("POST", f"{self._repo}/deployments", body)["id"])

    def set_deployment_status(self, deployment_id: int, state: str, description: str = "") -> None:
        body = {"state": state, "description": description[:140], "auto_inactive": False}
        self.call("POST", f"{self._repo}/deployments/{deployment_id}/statuses", body)

    def deployments(self, environment: str, wanted: Callable[[dict], bool] = lambda d: True) -> Iterator[dict]:
        """Deployments of an environment, newest first (GitHub's order), each `wanted` one with its outcome as
        `state`, fetched only when the caller reads that far: one request per page and per deployment read,
        none for the deployments Actions makes for a job's `environment:` (not `wanted`).

        The outcome is what the deployment reached, not its latest status: GitHub marks an earlier successful
        deployment `inactive` when a later one succeeds (auto_inactive), and it succeeded all the same."""
        env = urllib.parse.quote(environment)
        for deployment in self.each(f"{self._repo}/deployments?environment={env}"):
            if not wanted(deployment):
                continue
            path = f"{self._repo}/deployments/{deployment['id']}/statuses?per_page={PAGE}"
            states = {s.get("state") for s in self.call("GET", path) or []}
            failed = states & {"failure", "error"}
            deployment["state"] = "success" if "success" in states else "failure" if failed else "pending"
            yield deployment

    def environment(self, name: str) -> dict | None:
        """The environment's settings (protection rules, deployment branch policy); None if it does not exist."""
        try:
            return self.call("GET", f"{self._repo}/environments/{urllib.parse.quote(name)}")
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise

    # --- releases --------------------------------------------------------------------------------
    def latest_release(self) -> dict | None:
        try:
            return self.call("GET", f"{self._repo}/releases/latest")
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise

    def releases(self, limit: int = 300) -> list[dict]:
        """Releases, newest first."""
        return self.pages(f"{self._repo}/releases", limit)

    def release_by_tag(self, tag: str) -> dict | None:
        try:
            return self.call("GET", f"{self._repo}/releases/tags/{urllib.parse.quote(tag)}")
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise

    def create_release(self, tag: str, name: str, body: str, target: str | None = None) -> dict:
        request = {"tag_name": tag, "name": name, "body": body, "draft": False, "prerelease": False}
        if target:
            request["target_commitish"] = target
        return self.call("POST", f"{self._repo}/releases", request)

    def upload_asset(self, release: dict, path: Path, name: str | None = None) -> dict:
        base = release["upload_url"].split("{", 1)[0]
        url = f"{base}?name={urllib.parse.quote(name or path.name)}"
        answer, _ = self._request("POST", url, data=path.read_bytes(), content_type="application/octet-stream")
        return answer

    def download_asset(self, asset: dict, dest: Path) -> Path:
        raw, _ = self._request("GET", f"{self._repo}/releases/assets/{asset['id']}", accept="application/octet-stream")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(raw)
        return dest

    # --- pull requests and comments --------------------------------------------------------------
    def run_approvals(self, run_id: str) -> list[dict]:
        """Who approved or rejected the environments of a workflow run (environments with required reviewers)."""
        return self.call("GET", f"{self._repo}/actions/runs/{run_id}/approvals") or []

    def open_pulls(self) -> list[dict]:
        return self.pages(f"{self._repo}/pulls?state=open")

    def create_pull(self, title: str, head: str, base: str, body: str) -> int:
        created = self.call("POST", f"{self._repo}/pulls", {"title": title, "head": head, "base": base, "body": body})
        return int(created["number"])

    def open_issues(self, label: str) -> list[dict]:
        """Open issues (not pull requests) carrying `label`."""
        found = self.pages(f"{self._repo}/issues?state=open&labels={urllib.parse.quote(label)}")
        return [i for i in found if "pull_request" not in i]

    def create_issue(self, title: str, body: str, labels: list[str]) -> int:
        created = self.call("POST", f"{self._repo}/issues", {"title": title, "body": body, "labels": labels})
        return int(created["number"])

    def edit_issue(self, number: int, body: str) -> None:
        self.call("PATCH", f"{self._repo}/issues/{number}", {"body": body})

    def comment(self, number: int, body: str) -> int:
        return int(self.call("POST", f"{self._repo}/issues/{number}/comments", {"body": body})["id"])

    def upsert_comment(self, number: int, marker: str, body: str) -> int:
        """One sticky comment per PR, found again by a hidden marker in its body."""
        text = f"{marker}\n{body}"
        for comment in self.pages(f"{self._repo}/issues/{number}/comments"):
            if marker in (comment.get("body") or ""):
                self.call("PATCH", f"{self._repo}/issues/comments/{comment['id']}", {"body": text})
                return int(comment["id"])
        return self.comment(number, text)


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";", 1)[0].strip().strip("<>")
    return None


def write_output(**values: str) -> None:
    """Append name=value lines to $GITHUB_OUTPUT (when set): commands publish their own workflow outputs."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a") as handle:
        for name, value in values.items():
            text = str(value)
            if "\n" in text or "\r" in text:
                raise MlgateError(f"workflow output {name}: a value must be one line")
            handle.write(f"{name.replace('_', '-')}={text}\n")


def pr_for_head(github: GitHub, head_sha: str, claimed: str) -> tuple[int | None, str]:
    """The open PR whose head is `head_sha` (trusted event data), if it is the one the artifact claims."""
    claimed = claimed.strip()
    if not claimed.isdigit() or len(claimed) > 10:
        return None, f"the artifact's PR number {claimed[:20]!r} is not a number: posting nothing"
    if not head_sha or not all(c in "0123456789abcdef" for c in head_sha.lower()):
        return None, "no head sha from the triggering run: posting nothing"
    owners = sorted(p["number"] for p in github.open_pulls() if (p.get("head") or {}).get("sha") == head_sha)
    if not owners:
        return None, f"no open pull request has head {head_sha[:12]}: posting nothing"
    if int(claimed) not in owners:
        return None, f"the artifact claims #{claimed}, but head {head_sha[:12]} is #{owners[0]}: posting nothing"
    return int(claimed), f"pull request #{claimed} (head {head_sha[:12]})"
