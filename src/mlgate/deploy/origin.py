"""Which image main built for a commit: the digest main's own workflow run recorded, never a registry tag.

Any workflow on any branch with `packages: write` can push REPO:<sha>, so a release that deployed what that tag
names could ship an image no gate passed. What main's run for the commit recorded cannot be forged that way: a
run's artifacts are written by that run only, and a run of .github/workflows/main.yml on branch main for a
push is main's code. The release reads the `image-ref` artifact of the newest such run for the tagged commit:
- the run published: its digest is the release's image (verified again, like any image, before it deploys);
- the run is still going: wait for it, never build the same commit a second time (another digest);
- no such run, or it ended without publishing (a docs-only commit, a cancelled run): the release builds it.
"""

from __future__ import annotations

import io
import re
import time
import urllib.parse
import zipfile
from dataclasses import dataclass

from mlgate.deploy.image import digest_of, repository
from mlgate.errors import MlgateError
from mlgate.github import GitHub

WORKFLOW = "main.yml"
ARTIFACT = "image-ref"  # _publish.yml uploads it: one file, `image`, holding repo@sha256:<digest>
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._:/-]{0,250}@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Found:
    image: str  # repo@sha256:... or "" when main did not publish this commit
    says: str


def main_runs(github: GitHub, sha: str) -> list[dict]:
    """main's push runs for `sha`, newest first (checked field by field, not only filtered by the API)."""
    query = urllib.parse.urlencode({"branch": "main", "event": "push", "head_sha": sha})
    runs = github.each(f"/repos/{github.repository}/actions/workflows/{WORKFLOW}/runs?{query}", key="workflow_runs")
    return [
        r
        for r in runs
        if r.get("head_sha") == sha and r.get("head_branch") == "main" and r.get("event") == "push"
        and r.get("path", f".github/workflows/{WORKFLOW}").split("@")[0] == f".github/workflows/{WORKFLOW}"
    ]  # fmt: skip


def recorded_image(github: GitHub, run: dict) -> str | None:
    """The image-ref artifact of a run, validated; None when the run uploaded none."""
    path = f"/repos/{github.repository}/actions/runs/{run['id']}/artifacts?name={ARTIFACT}"
    artifact = next((a for a in github.each(path, key="artifacts") if not a.get("expired")), None)
    if artifact is None:  # none uploaded, or past its retention (90 days, _publish.yml)
        return None
    raw = github.download(f"/repos/{github.repository}/actions/artifacts/{artifact['id']}/zip")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            text = archive.read("image")[:400].decode().strip()
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        raise MlgateError(f"run {run['id']}: its {ARTIFACT} artifact holds no `image` file") from None
    if not IMAGE.match(text):
        raise MlgateError(f"run {run['id']}: its {ARTIFACT} artifact is {text[:80]!r}, not repo@sha256:<digest>")
    return text


def from_main(github: GitHub, sha: str, wait: float = 0, poll: float = 20, appear: float = 60) -> Found:
    """The image main's run published for `sha`; waits up to `wait` seconds while that run is still going
    (and up to `appear` seconds for a run to exist: the tag may be pushed with the commit)."""
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise MlgateError(f"--sha {sha[:50]!r}: expected a full commit sha")
    start = time.monotonic()
    while True:
        runs = main_runs(github, sha)
        elapsed = time.monotonic() - start
        if runs and runs[0].get("status") == "completed":
            image = recorded_image(github, runs[0])
            if image is None:
                return Found("", f"main's run {runs[0]['id']} for {sha[:12]} published no image: building it here")
            expected = repository()
            if image.rsplit("@", 1)[0] != expected:
                raise MlgateError(f"main's run {runs[0]['id']} recorded {image}, outside {expected}")
            return Found(image, f"main's run {runs[0]['id']} published {digest_of(image)[:19]} for {sha[:12]}")
        if not runs and elapsed >= min(wait, appear):
            return Found("", f"main never ran for {sha[:12]} (a docs-only commit?): building it here")
        if runs and elapsed >= wait:
            raise MlgateError(
                f"main's run {runs[0]['id']} for {sha[:12]} is still {runs[0].get('status')} after {wait:.0f} s: "
                "not building a second image of the same commit; run the release again once it finishes"
            )
        time.sleep(poll)
