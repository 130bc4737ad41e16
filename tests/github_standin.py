"""A local stand-in for the GitHub REST endpoints src/mlgate/github.py uses (monitoring's issues included).

State is one JSON file (plus an assets/ directory beside it), re-read and written under a file lock on
every request, so separate processes and separate workflow runs see the same GitHub. Tokens: when the
state names tokens ({"tokens": {"t": "write" | "read"}}), only those are accepted and "read" ones cannot
write (a fork PR's token); with no tokens listed any bearer token may write. Outages are injected with
state["faults"] (see Handler._fault).

    python -m tests.github_standin serve --state DIR/state.json --port 8990
    python -m tests.github_standin add-pull --state DIR/state.json --number 3 --head-sha abc123
"""

from __future__ import annotations

import argparse
import fcntl
import json
import re
import threading
import urllib.parse
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EMPTY = {
    "next_id": 1,
    "deployments": [],
    "statuses": [],
    "releases": [],
    "assets": [],
    "pulls": [],
    "comments": [],
    "issues": [],
    "approvals": {},  # run id -> GitHub's environment reviews of that run
}
REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


@contextmanager
def _state(path: Path, write: bool):
    """The state under an exclusive lock; saved back when `write`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text()) if path.is_file() else json.loads(json.dumps(EMPTY))
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


def add_pull(
    state_path: Path, number: int, head_sha: str, repository: str = "", state: str = "open", ref: str = ""
) -> None:
    """Seed an open pull request (what a real PR's head would be; GitHub always names the head branch)."""
    head = {"sha": head_sha, "ref": ref or f"feature-{number}", "repo": {"full_name": repository}}
    with _state(Path(state_path), write=True) as data:
        data["pulls"] = [p for p in data["pulls"] if p["number"] != number]
        data["pulls"].append({"number": number, "state": state, "head": head})


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
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

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

    def _authorized(self, write: bool) -> bool:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:]:
            self._send(401, {"message": "Requires authentication"})
            return False
        with _state(self.state_path, write=False) as state:
            tokens = state.get("tokens")
        if tokens is not None:
            scope = tokens.get(auth[7:])
            if scope is None:
                self._send(401, {"message": "Bad credentials"})
                return False
            if write and scope != "write":
                self._send(403, {"message": "Resource not accessible by integration"})
                return False
        return True

    def _paged(self, items: list, query: dict) -> None:
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            parts = urllib.parse.urlsplit(self.path)
            rest = {k: v[0] for k, v in query.items()} | {"page": str(page + 1), "per_page": str(per_page)}
            host = self.headers.get("Host")
            headers["Link"] = f'<http://{host}{parts.path}?{urllib.parse.urlencode(rest)}>; rel="next"'
        self._send(200, chunk, headers)

    def _route(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path, query = parts.path, urllib.parse.parse_qs(parts.query)
        for pattern, verb, handler in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                if not self._authorized(write=method != "GET") or self._fault(method, path):
                    return
                handler(self, match, query)
                return
        self._send(404, {"message": "Not Found"})

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def _base(self) -> str:
        return f"http://{self.headers.get('Host')}"

    # --- deployments -----------------------------------------------------------------------------
    def create_deployment(self, match, _query) -> None:
        body = self._json()
        if not body.get("ref") or not body.get("environment"):
            self._send(422, {"message": "ref and environment are required"})
            return
        with _state(self.state_path, write=True) as state:
            deployment = {
                "id": _new_id(state),
                "ref": body["ref"],
                "sha": body["ref"],
                "environment": body["environment"],
                "payload": body.get("payload") or {},
                "description": body.get("description"),
                "created_at": _now(),
                "production_environment": body.get("production_environment", False),
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
            self._send(422, {"message": f"invalid state {body.get('state')!r}"})
            return
        with _state(self.state_path, write=True) as state:
            if not any(d["id"] == deployment_id for d in state["deployments"]):
                self._send(404, {"message": "Not Found"})
                return
            status = {
                "id": _new_id(state),
                "deployment_id": deployment_id,
                "state": body["state"],
                "description": body.get("description", ""),
                "created_at": _now(),
            }
            state["statuses"].append(status)
        self._send(201, status)

    def list_statuses(self, match, query) -> None:
        with _state(self.state_path, write=False) as state:
            found = [s for s in state["statuses"] if s["deployment_id"] == int(match["id"])]
        self._paged(sorted(found, key=lambda s: s["id"], reverse=True), query)

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
            numbers = [p["number"] for p in state["pulls"]] + [i["number"] for i in state.get("issues", [])]
            pull = {
                "number": 1 + max([0, *numbers]),
                "state": "open",
                "title": body["title"],
                "body": body.get("body") or "",
                "head": {"ref": body["head"], "repo": {"full_name": f"{match['owner']}/{match['name']}"}},
                "base": {"ref": body["base"]},
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


def _storage(handler: Handler, match, _query) -> None:
    path = handler.state_path.parent / "assets" / match["id"]
    if not path.is_file():
        handler._send(404, {"message": "Not Found"})
        return
    handler._send(200, raw=path.read_bytes())


ROUTES = [
    (REPO + r"/deployments", "POST", Handler.create_deployment),
    (REPO + r"/deployments", "GET", Handler.list_deployments),
    (REPO + r"/deployments/(?P<id>\d+)/statuses", "POST", Handler.create_status),
    (REPO + r"/deployments/(?P<id>\d+)/statuses", "GET", Handler.list_statuses),
    (REPO + r"/releases", "POST", Handler.create_release),
    (REPO + r"/releases", "GET", Handler.list_releases),
    (REPO + r"/releases/latest", "GET", Handler.latest_release),
    (REPO + r"/releases/tags/(?P<tag>[^/]+)", "GET", Handler.release_by_tag),
    (REPO + r"/releases/assets/(?P<id>\d+)", "GET", Handler.download_asset),
    (r"/uploads" + REPO + r"/releases/(?P<id>\d+)/assets", "POST", Handler.upload_asset),
    (REPO + r"/actions/runs/(?P<run>\d+)/approvals", "GET", Handler.run_approvals),
    (REPO + r"/pulls", "GET", Handler.list_pulls),
    (REPO + r"/pulls", "POST", Handler.create_pull),
    (REPO + r"/issues", "GET", Handler.list_issues),
    (REPO + r"/issues", "POST", Handler.create_issue),
    (REPO + r"/issues/(?P<n>\d+)", "PATCH", Handler.edit_issue),
    (REPO + r"/issues/(?P<n>\d+)/comments", "GET", Handler.list_comments),
    (REPO + r"/issues/(?P<n>\d+)/comments", "POST", Handler.create_comment),
    (REPO + r"/issues/comments/(?P<id>\d+)", "PATCH", Handler.edit_comment),
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
