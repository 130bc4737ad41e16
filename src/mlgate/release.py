"""GitHub Releases as the record of what reached production, and the source of the production model.

A release carries the digest, the model version and fingerprint, metrics and gate verdicts in its notes,
and the verified model itself (copied out of the image, not rebuilt) as an asset, so any PR, forks
included, can compare with production using a read-only token and no tracking server.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

from mlgate.archive import extract
from mlgate.bundle import CARD_JSON, CARD_MD, VERDICTS, read_json, verdict_file
from mlgate.config import Params
from mlgate.deploy.binding import verify
from mlgate.deploy.image import digest_of, sbom
from mlgate.errors import MlgateError
from mlgate.evidence.card import render_markdown
from mlgate.fingerprint import model_sha256
from mlgate.github import GitHub, GitHubError

TAG = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
MODEL_ASSET = "model.tar.gz"
SBOM_ASSET = "sbom.cdx.json"
MARKER = "<!-- mlgate-release "  # a machine-readable line in the notes: {"image", "model_version", "model_sha256"}
METRICS = ("pr_auc", "roc_auc", "f1", "precision", "recall", "brier")


def _tar(model_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(model_dir, arcname="model")
    return buffer.getvalue()


def notes(image: str, version: str, sha256: str, metrics: dict | None, verdicts: dict[str, dict]) -> str:
    lines = [
        f"Image: `{image}`",
        f"Model version: `{version}` (fingerprint `{sha256[:12]}`)",
        "",
        "| gate | verdict |",
        "|---|---|",
        *(f"| {gate} | {'passed' if v.get('passed') else 'failed'} |" for gate, v in verdicts.items()),
    ]
    if metrics:
        lines += ["", "| metric | value |", "|---|---:|"]
        lines += [f"| {k} | {metrics[k]:.4f} |" for k in METRICS if isinstance(metrics.get(k), int | float)]
    meta = {"image": image, "model_version": version, "model_sha256": sha256}
    return "\n".join([*lines, "", f"{MARKER}{json.dumps(meta)} -->", ""])


def release_card(model_dir: Path, image: str, version: str) -> dict:
    """The model card baked into the image (`mlgate card` before the build), completed with what only exists
    after the build: the image digest and the registered version."""
    path = model_dir / CARD_JSON
    if not path.is_file():
        raise MlgateError(
            f"{image}: no model card in /model (the pipeline writes it with `mlgate card` before the build)"
        )
    card = json.loads(path.read_text())
    card["lineage"]["image"] = image
    card["model"]["version"] = card["model"].get("version") or version
    return card


def approvals(github: GitHub, run_id: str | None) -> list[dict]:
    """Who approved each environment of this release run (GitHub's environment reviews); none without
    required reviewers, or off GitHub. Unreadable reviews stop the release: the card would claim none."""
    if not run_id:
        return []
    try:
        reviews = github.run_approvals(run_id)
    except GitHubError as exc:
        raise MlgateError(f"deployment approvals of run {run_id}: {exc}") from None
    return [
        {"environment": env.get("name", ""), "user": (r.get("user") or {}).get("login", ""), "state": r.get("state")}
        for r in reviews
        for env in r.get("environments") or []
    ]


def _check_tag(tag: str) -> None:
    if not TAG.match(tag):
        raise MlgateError(f"--tag {tag!r}: expected vMAJOR.MINOR.PATCH without leading zeros (e.g. v1.2.0)")


def preflight(tag: str, sha: str, github: GitHub | None = None) -> None:
    """What publish() would refuse, checked in the release's first job: publish runs after production has moved,
    and a production image that no release records stops every later pipeline (running_release fails closed).
    The workflow's tag filter lets v01.2.3 through; a version is released once, from one commit."""
    _check_tag(tag)
    existing = (github or GitHub.require()).release_by_tag(tag)
    if existing is not None and existing.get("target_commitish") != sha:
        raise MlgateError(
            f"release {tag} already exists for {_meta(existing).get('image') or existing.get('target_commitish')}, "
            f"not commit {sha[:12]}: a version is released once (tag a new version)"
        )


def publish(params: Params, tag: str, image: str, github: GitHub | None = None) -> dict:
    """Create the release for `tag` (vMAJOR.MINOR.PATCH) of a verified image, with its model, model card
    and SBOM (both read from the image, the SBOM checked against its label) as assets.

    Re-running for the same tag and image uploads what is missing; another image is refused."""
    _check_tag(tag)
    github = github or GitHub.require()
    with tempfile.TemporaryDirectory(prefix="mlgate-release-") as tmp:
        model_dir = Path(tmp) / "model"
        bound = verify(image, model_to=model_dir)
        card = release_card(model_dir, image, bound.model_version)
        card["approvals"] = approvals(github, os.environ.get("GITHUB_RUN_ID"))
        verdicts = {g: read_json(model_dir / VERDICTS, verdict_file(g)) for g in ("data", "model")}
        metrics_file = Path(params.evaluate.metrics_file)
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
        release = github.release_by_tag(tag)
        if release is None:
            body = notes(image, bound.model_version, bound.model_sha256, metrics, verdicts)
            release = github.create_release(tag, tag, body, bound.git_sha or None)
        elif _meta(release).get("image") != image:
            raise MlgateError(f"release {tag} already exists for {_meta(release).get('image') or 'another image'}")
        assets = {
            MODEL_ASSET: _tar(model_dir),
            verdict_file("data"): json.dumps(verdicts["data"], indent=2).encode(),
            verdict_file("model"): json.dumps(verdicts["model"], indent=2).encode(),
            CARD_MD: render_markdown(card).encode(),
            CARD_JSON: json.dumps(card, indent=2).encode(),
            SBOM_ASSET: sbom(image, Path(tmp) / SBOM_ASSET).read_bytes(),
        }
        if metrics is not None:
            assets["metrics.json"] = json.dumps(metrics, indent=2).encode()
        present = {a["name"] for a in release.get("assets", [])}
        for name, data in assets.items():
            if name not in present:
                path = Path(tmp) / name
                path.write_bytes(data)
                github.upload_asset(release, path, name)
    return release


def _meta(release: dict) -> dict:
    for line in (release.get("body") or "").splitlines():
        if line.startswith(MARKER):
            try:
                return json.loads(line[len(MARKER) :].removesuffix("-->").strip())
            except json.JSONDecodeError:
                return {}
    return {}


def running_release(github: GitHub) -> dict | None:
    """The release whose image production runs: the newest successful production deployment's digest (after a
    rollback that is not the latest release); the latest release when production has no deployment record."""
    from mlgate.deploy.history import GitHubHistory

    running = next((e.image for e in GitHubHistory(github).entries("production") if e.status == "success"), None)
    if running is None:
        return github.latest_release()
    for release in github.releases():
        if digest_of(str(_meta(release).get("image", ""))) == digest_of(running):
            return release
    raise MlgateError(
        f"production runs {running}, which no release records: its model cannot be compared "
        "(release it, or roll production back to a released image)"
    )


def production_model(output: Path, github: GitHub | None = None) -> dict | None:
    """Download the model of the release production runs (running_release) into `output`, checked against the
    fingerprint in its notes; None when there is no release yet (a first PR)."""
    github = github or GitHub.require()
    release = running_release(github)
    if release is None:
        return None
    meta = _meta(release)
    asset = next((a for a in release.get("assets", []) if a["name"] == MODEL_ASSET), None)
    if asset is None or not meta.get("model_sha256"):
        raise MlgateError(f"release {release['tag_name']}: no {MODEL_ASSET} asset or fingerprint in its notes")
    with tempfile.TemporaryDirectory(prefix="mlgate-prod-") as tmp:
        archive = github.download_asset(asset, Path(tmp) / MODEL_ASSET)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                extract(tar, tmp)  # no absolute paths, links out or devices
        except (tarfile.TarError, OSError) as exc:
            raise MlgateError(
                f"release {release['tag_name']}: {MODEL_ASSET} is not a readable archive ({exc})"
            ) from None
        got = model_sha256(Path(tmp) / "model")
        if got != meta["model_sha256"]:
            raise MlgateError(
                f"release {release['tag_name']}: the model asset is {got[:12]}, "
                f"the notes say {meta['model_sha256'][:12]}"
            )
        output = Path(output)
        if output.exists():
            shutil.rmtree(output)
        shutil.copytree(Path(tmp) / "model", output)
    return {"tag": release["tag_name"], **meta}
