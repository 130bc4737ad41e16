"""The `mlgate` command: every CI step and Make target is one of these."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from mlgate.config import params as load
from mlgate.errors import MlgateError

app = typer.Typer(
    help="mlgate: gated ML pipeline, report, serving and promotion.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Get, generate and verify the dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")
image_app = typer.Typer(help="Build and push the serving image (docker CLI from MLGATE_DOCKER).", no_args_is_help=True)
app.add_typer(image_app, name="image")
gate_app = typer.Typer(help="Quality gates: exit 1 when a blocking check fails.", no_args_is_help=True)
app.add_typer(gate_app, name="gate")

ParamsOpt = Annotated[str, typer.Option("--params", help="Path of params.yaml.")]


@data_app.command("generate")
def data_generate(
    rows: Annotated[int | None, typer.Option(help="Rows to generate (default: sample.rows).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: sample.seed).")] = None,
    shift: Annotated[float, typer.Option(help="Drift strength: 0 = the tracked sample, 1 = strong drift.")] = 0.0,
    out: Annotated[Path | None, typer.Option(help="Output CSV (default: data.path).")] = None,
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Write the synthetic demo sample (same rows and seed give the same bytes)."""
    from mlgate.config import SampleConfig
    from mlgate.data.generate import generate, write_csv

    p = load(params_file)
    sample = p.sample or SampleConfig()
    if rows is not None and rows <= 0:
        raise MlgateError(f"--rows must be positive, got {rows}")
    if shift < 0:
        raise MlgateError(f"--shift must be >= 0, got {shift}")
    path = write_csv(generate(rows or sample.rows, sample.seed if seed is None else seed, shift), out or p.data.path)
    typer.echo(f"wrote {path}")


@data_app.command("pull")
def data_pull(params_file: ParamsOpt = "params.yaml") -> None:
    """Get data/: dvc pull when the remote has it, else regenerate the sample and verify it against data.dvc."""
    from mlgate.data.fetch import fetch

    typer.echo(fetch(load(params_file)))


@app.command()
def init(
    data_file: Annotated[Path, typer.Argument(help="Your dataset: a CSV or Parquet file.")],
    target: Annotated[str, typer.Option(help="The label column.")],
    task: Annotated[
        str | None,
        typer.Option(
            help="binary, multiclass or regression (default: inferred from the target: two labels binary, a few "
            "text labels or integer codes multiclass, numbers with many values regression)."
        ),
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(help="Binary only: the positive label (default: 1/True/yes when present, else the rarer label)."),
    ] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="A unique row key column (never a feature).")] = None,
    name: Annotated[str | None, typer.Option(help="Project name for MLflow (default: the folder name).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-adopt a project that already has its own data.")] = False,
) -> None:
    """Adopt your dataset: data/ + data.dvc, the schema contract and settings inferred into params.yaml."""
    from mlgate.adopt.project import adopt, next_steps
    from mlgate.task import TASK_NAMES

    if task is not None and task not in TASK_NAMES:
        raise MlgateError(f"--task {task!r}: expected one of {', '.join(TASK_NAMES)}")
    typer.echo(next_steps(adopt(data_file, target, positive, id_column, name, force, task=task)))


@app.command()
def prepare(params_file: ParamsOpt = "params.yaml") -> None:
    """Stage prepare: clean the raw data, split train/test into prepare.output_dir."""
    from mlgate.pipeline import prepare as stage

    stage.run(load(params_file))


@app.command()
def train(params_file: ParamsOpt = "params.yaml") -> None:
    """Stage train: fit the Pipeline, save it (MLflow format) and log the run to MLflow."""
    from mlgate.pipeline import train as stage

    stage.run(load(params_file))


@app.command()
def evaluate(params_file: ParamsOpt = "params.yaml") -> None:
    """Stage evaluate: metrics file, ROC/PR/confusion plots, metrics logged to the MLflow run."""
    from mlgate.pipeline import evaluate as stage

    stage.run(load(params_file))


def _finish_gate(report, results, reports_dir: Path) -> None:
    from mlgate.gates.html import write_outputs

    written = write_outputs(report, results, reports_dir)
    typer.echo(report.table())
    typer.echo("reports: " + ", ".join(map(str, written)))
    report.enforce()


ReportsOpt = Annotated[Path, typer.Option(help="Where the JSON and HTML reports go.")]
HtmlOpt = Annotated[
    bool,
    typer.Option(
        "--html/--no-html",
        help="Draw deepchecks' figures into the HTML report (slower); without it the HTML has the verdicts only.",
    ),
]


@gate_app.command("data")
def gate_data(
    reference_rev: Annotated[
        str | None,
        typer.Option(
            help="Git ref whose data.dvc is the drift reference (default: gates.data.reference_rev); "
            "`previous` = HEAD's first parent (on main, the commit before this one).",
            envvar="MLGATE_REFERENCE_REV",
        ),
    ] = None,
    reports: ReportsOpt = Path("reports"),
    html: HtmlOpt = False,
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Data gate: contract, integrity, train/test split and drift vs the reference data."""
    import atexit
    import gc

    from mlgate.gates.data import run_data_gate

    # At exit, before the interpreter's last collections: they would walk every object of deepchecks' display
    # stack (IPython, plotly, matplotlib), about 1 s. Frozen objects are never collected, so an unclosed file in
    # a reference cycle would not be flushed: safe here, where no project code runs and the reports are closed.
    atexit.register(gc.freeze)

    p = load(params_file)
    rev = reference_rev or p.gates.data.reference_rev
    _finish_gate(*run_data_gate(p, reference_rev=rev, display=html), reports)


@gate_app.command("model")
def gate_model(
    base_rev: Annotated[
        str,
        typer.Option(
            help="Git ref whose model is the base champion: its params.yaml's train settings (and src/ project code) "
            "fitted on this run's train split, compared only when it has the same target, positive label and "
            "schema; `previous` = HEAD's first parent.",
            envvar="MLGATE_BASE_REV",
        ),
    ] = "HEAD",
    base_model: Annotated[
        Path | None,
        typer.Option(help="A saved model directory to use as the base champion instead of training --base-rev's."),
    ] = None,
    production: Annotated[bool, typer.Option(help="Also compare with the registry's @production model.")] = True,
    reports: ReportsOpt = Path("reports"),
    html: HtmlOpt = False,
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Model gate: metric floors, trivial baseline, overfit, calibration, drift, non-inferiority vs champions."""
    from mlgate.bundle import is_model_dir
    from mlgate.gates.baseline import base_at, model_from_dir, production_model
    from mlgate.gates.model import run_model_gate

    p = load(params_file)
    if base_model is not None:
        if not is_model_dir(base_model):
            raise MlgateError(f"{base_model}: no saved model there (expected an MLmodel file)")
        base = model_from_dir(p, base_model, f"base model {base_model}")
    else:
        base = base_at(p, base_rev)
    live = None
    if production:  # the model of the release production runs (CI downloads it), else the registry's @production alias
        released = Path(os.environ.get("MLGATE_PRODUCTION_MODEL") or "-")
        if is_model_dir(released):
            live = model_from_dir(p, released, f"production (its release, model {_fingerprint(released)})")
        else:
            live = production_model(p)
    _finish_gate(*run_model_gate(p, base=base, production=live, display=html), reports)


def _fingerprint(model_dir: Path) -> str:
    """A saved model's short fingerprint, the one its release notes carry; "?" when it has none."""
    from mlgate.fingerprint import model_sha256

    try:
        return model_sha256(model_dir)[:12]
    except MlgateError:
        return "?"


@app.command()
def report(
    base: Annotated[
        str, typer.Option(help="Git ref to compare with (branch, tag or sha).", envvar="MLGATE_BASE_REV")
    ] = "HEAD",
    output: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
    reports: ReportsOpt = Path("reports"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Markdown PR report: verdict, metrics vs base and production, changes, gates, chart, links.

    Also appended to $GITHUB_STEP_SUMMARY when that is set."""
    import os

    from mlgate.report.inputs import collect
    from mlgate.report.render import render

    markdown = render(collect(load(params_file), base, reports))
    typer.echo(markdown)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown)
    if summary_file := os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(summary_file, "a") as handle:
            handle.write(markdown)


@app.command()
def serve(
    model_dir: Annotated[Path, typer.Option(help="MLflow model directory.", envvar="MLGATE_MODEL_DIR")] = Path(
        "outputs/model"
    ),
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8080,
) -> None:
    """Serve the model: /predict, /invocations (MLflow protocol), /health, /ready, /version, /metrics, /docs."""
    from mlgate.serve.server import run

    run(model_dir, host, port)


@image_app.command("build")
def image_build(
    tag: Annotated[str, typer.Option(help="Image tag to build, e.g. 127.0.0.1:5000/mlgate:sha.")] = "mlgate-serve:dev",
    base_image: Annotated[str | None, typer.Option(help="BASE_IMAGE build arg (python:3.11-slim by default).")] = None,
    model_version: Annotated[str, typer.Option(help="Registered model version to stamp in the image.")] = "",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Build the serving image from the registered model in outputs/model; prints the image id (image-id=).

    Labels: model version and fingerprint, gate verdicts, source repository, revision."""
    from mlgate.deploy.image import build
    from mlgate.github import write_output

    image_id = build(
        tag, base_image=base_image, model_version=model_version, trusted_types=load(params_file).train.trusted_types
    )
    write_output(image_id=image_id)
    typer.echo(image_id)


@image_app.command("push")
def image_push(tag: Annotated[str, typer.Argument(help="A built tag, registry/repo:tag.")]) -> None:
    """Push the image; prints its immutable reference repo@sha256:... (what deploys use)."""
    from mlgate.deploy.image import push

    typer.echo(push(tag))


TargetOpt = Annotated[
    str,
    typer.Option(
        help="auto (default): kubernetes when KUBECONFIG_DATA/KUBECONFIG is set, docker where the engine outlives "
        "the job (DOCKER_HOST set or not in GitHub Actions), else registry; registry: smoke-test on this machine "
        "and move the REPO:ENV tag; docker: container mlgate-ENV on the port of deploy/environments.yaml; "
        "kubernetes: apply deploy/k8s/overlays/ENV pinned by digest, rollout status.",
        envvar="MLGATE_DEPLOY_TARGET",
    ),
]


@app.command()
def register(
    git_sha: Annotated[str, typer.Option(help="Commit the model was built from.", envvar="GITHUB_SHA")] = "unknown",
    reports: ReportsOpt = Path("reports"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Bind the gated model to its verdicts (both passed, naming this model and its data) and print its
    version (model-version=): the MLflow version with a tracking server, else g<fingerprint>."""
    from mlgate.github import write_output
    from mlgate.registry import register as do_register

    version = do_register(load(params_file), reports, git_sha)
    write_output(model_version=version)
    typer.echo(version)


def _deployed(verb: str, done) -> None:
    from mlgate.github import write_output

    write_output(image=done.image, model_version=done.model_version, target=done.target)
    typer.echo(
        f"{verb} {done.image} in {done.env} (model version {done.model_version}): {done.says}; "
        f"recorded in {done.history}"
    )


@app.command()
def deploy(
    env: Annotated[str, typer.Option(help="dev, staging or production (deploy/environments.yaml).")],
    image: Annotated[str, typer.Option(help="Immutable image reference repo@sha256:<digest>.")],
    target: TargetOpt = "auto",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Deploy one gated image digest to one environment, all or nothing: verify, run, smoke-test, move the
    REPO:ENV tag, mirror the MLflow alias, record; any failure puts back exactly what ran before."""
    from mlgate.deploy.service import deploy as do_deploy

    _deployed("deployed", do_deploy(load(params_file), env, image, target))


@app.command()
def promote(
    source: Annotated[str, typer.Option("--from", help="Environment whose running digest is promoted.")],
    dest: Annotated[str, typer.Option("--to", help="Environment to deploy it to.")],
    target: TargetOpt = "auto",
    expect: Annotated[
        str, typer.Option(help="repo@sha256:... that --from must be running (the release's image); else refused.")
    ] = "",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Deploy exactly the digest running in --from to --to; refuses an image not bound to a gated model."""
    from mlgate.deploy.service import promote as do_promote

    _deployed(f"promoted from {source}:", do_promote(load(params_file), source, dest, target, expect))


@app.command()
def rollback(
    env: Annotated[str, typer.Option(help="Environment to roll back.")],
    to: Annotated[str | None, typer.Option(help="Model version to go back to (default: the previous digest).")] = None,
    target: TargetOpt = "auto",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Redeploy the previous successful digest (or --to VERSION's) from the deploy history, verified like
    any deploy; a digest that was rolled back from is never picked again."""
    from mlgate.deploy.service import rollback as do_rollback

    _deployed("rolled back to", do_rollback(load(params_file), env, to or None, target))


@app.command()
def preflight(
    env: Annotated[str, typer.Option(help="The environment about to be deployed to.")],
) -> None:
    """Refuse to deploy to an environment lacking the protection deploy/environments.yaml asks of it on GitHub
    (required reviewers, a tag rule) unless MLGATE_UNPROTECTED names it, then warn loudly (needs actions: read)."""
    from mlgate.deploy.environments import environment
    from mlgate.deploy.protection import check

    typer.echo(check(environment(env)))


release_app = typer.Typer(help="GitHub Releases: what reached production, and its model.", no_args_is_help=True)
app.add_typer(release_app, name="release")


@release_app.command("check")
def release_check(
    tag: Annotated[str, typer.Option(help="The pushed tag.")],
    sha: Annotated[str, typer.Option(help="The tagged commit.")],
) -> None:
    """Refuse, before anything deploys, a tag that publish would refuse after production moved: not
    vMAJOR.MINOR.PATCH, or a version already released from another commit (needs contents: read)."""
    from mlgate.release import preflight

    preflight(tag, sha)
    typer.echo(f"{tag}: a new release of {sha[:12]}")


@release_app.command("publish")
def release_publish(
    tag: Annotated[str, typer.Option(help="Release tag vMAJOR.MINOR.PATCH.")],
    image: Annotated[str, typer.Option(help="The released image, repo@sha256:... (verified again).")],
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Create the GitHub Release: digest, model version, metrics and verdicts in the notes; model, metrics
    and gate JSONs, the model card (with the image digest) and the image's SBOM as assets (needs contents: write)."""
    from mlgate.github import write_output
    from mlgate.release import publish

    release = publish(load(params_file), tag, image)
    write_output(release_url=release.get("html_url", ""))
    typer.echo(f"release {tag}: {image}")


@release_app.command("production-model")
def release_production_model(
    output: Annotated[Path, typer.Option(help="Directory to write the production model to.")] = Path(
        "outputs/production-model"
    ),
) -> None:
    """Download the model of the release production runs (production-model=DIR, empty when there is no
    release yet: a first run)."""
    from mlgate.github import write_output
    from mlgate.release import production_model

    found = production_model(output)
    if found is None:
        write_output(production_model="")
        typer.echo("no release yet: no production model to compare with (first run)")
        return
    write_output(production_model=str(output), production_version=found.get("model_version", ""))
    typer.echo(f"production model {found.get('model_version')} from release {found['tag']} -> {output}")


@app.command("pr-number")
def pr_number(
    head_sha: Annotated[str, typer.Option(help="workflow_run.head_sha of the triggering run (trusted).")],
    claimed: Annotated[str | None, typer.Option(help="The PR number the artifact claims (untrusted).")] = None,
    claimed_file: Annotated[Path | None, typer.Option(help="Or the artifact file holding it.")] = None,
) -> None:
    """Which PR a fork-safe comment goes to: the open PR whose head is --head-sha, only if the artifact
    claims that same number; else pr-number= stays unset and nothing is posted (exit 0)."""
    from mlgate.github import GitHub, pr_for_head, write_output

    if claimed is None:
        if claimed_file is None or not claimed_file.is_file():
            typer.echo("no PR number artifact: posting nothing")
            return
        with claimed_file.open("rb") as claim:  # a fork's artifact: any size, any bytes
            claimed = claim.read(32).decode("utf-8", errors="replace")
    number, why = pr_for_head(GitHub.require(), head_sha, claimed)
    if number is not None:
        write_output(pr_number=str(number))
    typer.echo(why)


@image_app.command("smoke")
def image_smoke(tag: Annotated[str, typer.Argument(help="A built image tag.")]) -> None:
    """Run the image locally and smoke-test it (ready, known prediction, /version)."""
    from mlgate.deploy.service import smoke_image

    smoke_image(tag)
    typer.echo(f"{tag}: smoke test passed")


@image_app.command("save")
def image_save(
    tag: Annotated[str, typer.Argument(help="A built image tag.")],
    output: Annotated[Path, typer.Option(help="Tar file to write.")] = Path("image/mlgate-serve.tar"),
) -> None:
    """docker save the image (handed from the build job to the publish job)."""
    from mlgate.deploy.image import save

    typer.echo(save(tag, output))


@image_app.command("publish")
def image_publish(
    archive: Annotated[Path, typer.Argument(help="Saved image tar.")],
    record: Annotated[
        Path | None, typer.Option(help="Also write repo@sha256:... to this file (main's image-ref artifact).")
    ] = None,
) -> None:
    """Load, tag <repository>:<git sha>, log in (REGISTRY_TOKEN) and push; prints repo@sha256:... (image=, and
    name= and digest= for the provenance attestation)."""
    from mlgate.deploy.image import publish
    from mlgate.github import write_output

    image = publish(archive)
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(image + "\n")
    name, digest = image.split("@", 1)
    write_output(image=image, name=name, digest=digest)
    typer.echo(image)


@image_app.command("from-main")
def image_from_main(
    sha: Annotated[str, typer.Option(help="The tagged commit.", envvar="GITHUB_SHA")],
    wait: Annotated[float, typer.Option(help="Seconds to wait while main's run for it is still going.")] = 0,
) -> None:
    """The image main's own run published for a commit (image=), from its image-ref artifact: never what a
    registry tag says. build=true when main published none (needs actions: read)."""
    from mlgate.deploy.origin import from_main
    from mlgate.github import GitHub, write_output

    found = from_main(GitHub.require(), sha, wait=wait)
    write_output(image=found.image, build="false" if found.image else "true")
    typer.echo(found.says)


@app.command("report-target")
def report_target(
    pr: Annotated[str, typer.Option(help="Pull request number.")],
    output: Annotated[Path, typer.Option(help="File the comment workflow reads.")] = Path("reports/pr-number"),
) -> None:
    """Record which pull request the report belongs to (digits only: the comment workflow trusts nothing else)."""
    if not pr.isdigit():
        raise MlgateError(f"--pr must be a pull request number, got {pr!r}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(pr + "\n")


@app.command()
def card(
    image: Annotated[str | None, typer.Option(help="The image the model ships in, repo@sha256:... (lineage).")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Where card.md and card.json go (default: the model dir).")
    ] = None,
    reports: ReportsOpt = Path("reports"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Model card (Markdown + JSON): use, limits, data, metrics with intervals, segments, gates, lineage.

    Written beside the model by default, so the image carries it and serves it at GET /card."""
    from mlgate.evidence.card import collect, write

    p = load(params_file)
    md, _ = write(collect(p, reports, image=image), output or p.train.model_dir)
    typer.echo(md)


@app.command("check-results")
def check_results(
    rev: Annotated[str, typer.Option(help="Commit whose dvc.lock and metrics are the committed results.")] = "HEAD",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """After `dvc repro`: exit 1 with one line when the committed dvc.lock or metrics are not what the
    pipeline reproduced (ignoring run ids, times and the gate reports)."""
    from mlgate.results import StaleResults, check

    stale = check(load(params_file), rev)
    if stale:
        raise StaleResults(stale)
    typer.echo(f"dvc.lock and metrics committed at {rev} match what the pipeline reproduced")


@app.command()
def summary(params_file: ParamsOpt = "params.yaml") -> None:
    """Print the run's metrics and where its outputs are."""
    from mlgate.pipeline.summary import summarize

    typer.echo(summarize(load(params_file)))


# --- workflow helpers (wt-workflows) ---
@app.command()
def changes(
    base: Annotated[str, typer.Option(help="The PR's base commit (github.event.pull_request.base.sha).")],
    head: Annotated[str, typer.Option(help="The PR's head commit.")] = "HEAD",
) -> None:
    """Write code=true|false (false when the PR changes documentation only) and tests=smoke|unit (smoke
    when it changes only the project's own files) to $GITHUB_OUTPUT."""
    from mlgate.changes import changed_files, tests_for, touches_code
    from mlgate.github import write_output

    files = changed_files(base, head)
    code = "true" if touches_code(files) else "false"
    tests = tests_for(files)
    typer.echo(f"{len(files)} changed file(s): code={code} tests={tests}")
    write_output(code=code, tests=tests)


@app.command("comment-check")
def comment_check(
    report: Annotated[Path, typer.Option(help="The report from the PR run's artifact (untrusted).")],
    out: Annotated[Path, typer.Option(help="Where to write the comment to post: the report made inert.")],
) -> None:
    """When the report is UTF-8 text within GitHub's comment size: write its inert copy (no mention, issue
    reference, image or foreign HTML) to --out and postable=true to $GITHUB_OUTPUT; else say why and write
    nothing (exit 0: nothing is posted)."""
    from mlgate.comment import inert, postable
    from mlgate.github import write_output

    ok, why = postable(report)
    typer.echo(why)
    if ok:
        out.write_text(inert(report.read_text(encoding="utf-8")), encoding="utf-8")
        write_output(postable="true")


# --- monitor: production monitoring (src/mlgate/monitor/) ---
monitor_app = typer.Typer(help="Production monitoring: the prediction log, feedback labels, drift and decay.")
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("run")
def monitor_run(
    window: Annotated[
        str | None,
        typer.Option(
            help="How far back to read: 30m, 24h, 7d (default: monitor.window).", envvar="MLGATE_MONITOR_WINDOW"
        ),
    ] = None,
    reference: Annotated[
        str, typer.Option(help="'prepared' (the train split the model learned from) or a git rev of the data.")
    ] = "prepared",
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="The production model (CI: its release's, `mlgate release production-model`; default: "
            "train.model_dir, this commit's).",
            envvar="MLGATE_MONITOR_MODEL",
        ),
    ] = None,
    model_version: Annotated[
        str | None,
        typer.Option(
            help="Logged model version to check (CI: the release's; default: the latest one in the window).",
            envvar="MLGATE_MONITOR_VERSION",
        ),
    ] = None,
    reports: ReportsOpt = Path("reports"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Drift, score shift and performance of the logged traffic vs the training reference; exit 1 on a finding."""
    from mlgate.monitor.run import run_monitor, write_outputs

    report, results = run_monitor(load(params_file), window, reference, model_dir, model_version)
    json_path, html_path = write_outputs(report, results, reports)
    typer.echo(report.table())
    typer.echo(f"reports: {json_path}, {html_path}")
    report.enforce()


@monitor_app.command("preflight")
def monitor_preflight(
    model_dir: Annotated[
        str,
        typer.Option(
            help="The release's model (`mlgate release production-model`); empty: no release.",
            envvar="MLGATE_MONITOR_MODEL",
        ),
    ] = "",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """due=true when a release runs in production and its prediction log exists; else due=false and one line
    saying why (exit 0: a fresh repository's monitor is a green no-op). Written to $GITHUB_OUTPUT."""
    from mlgate.github import write_output
    from mlgate.monitor.preflight import due

    ready, why = due(model_dir, load(params_file).monitor)
    typer.echo(why)
    write_output(due=str(ready).lower())


@monitor_app.command("feedback")
def monitor_feedback(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet: the id column (or request_id) and the target.")],
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Append delayed ground truth to the log storage; `monitor run` joins it by id column or request id."""
    from mlgate.monitor.feedback import append

    rows, where = append(file, load(params_file))
    typer.echo(f"stored {rows} labels in {where}")


@monitor_app.command("verdict")
def monitor_verdict(reports: ReportsOpt = Path("reports")) -> None:
    """finding=true|false|missing (the last monitor run had a blocking finding), printed and written to
    $GITHUB_OUTPUT."""
    from mlgate.gates.result import load_report
    from mlgate.github import write_output

    verdict = load_report(reports / "monitor.json")
    finding = "missing" if verdict is None else str(not verdict["passed"]).lower()
    typer.echo(f"finding={finding}")
    write_output(finding=finding)


@monitor_app.command("issue")
def monitor_issue(
    report_file: Annotated[Path, typer.Option("--report", help="The monitor.json of `monitor run`.")] = Path(
        "reports/monitor.json"
    ),
    repo: Annotated[str, typer.Option(help="owner/name.", envvar="GITHUB_REPOSITORY")] = "",
    run_url: Annotated[
        str, typer.Option(help="Link to the run and its report artifact.", envvar="MLGATE_RUN_URL")
    ] = "",
) -> None:
    """Open or update the issue of the report's model version (GITHUB_TOKEN, GITHUB_API_URL); no finding: nothing."""
    from mlgate.monitor.issue import file_issue

    typer.echo(file_issue(report_file, repo, run_url))


@monitor_app.command("retrain")
def monitor_retrain(
    report_file: Annotated[Path, typer.Option("--report", help="The monitor.json of `monitor run`.")] = Path(
        "reports/monitor.json"
    ),
    base: Annotated[
        str, typer.Option(help="The branch the pull request targets (empty: main).", envvar="MLGATE_RETRAIN_BASE")
    ] = "main",
    run_url: Annotated[
        str, typer.Option(help="Link to the run and its report artifact.", envvar="MLGATE_RUN_URL")
    ] = "",
) -> None:
    """After `make repro` on the latest data: push retrain/<version>-<date> and open its pull request (GITHUB_TOKEN)."""
    from mlgate.monitor.retrain import retrain

    typer.echo(retrain(report_file, base or "main", run_url))


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback."""
    try:
        app()
    except MlgateError as exc:
        from mlgate.tracking import redact

        typer.echo(f"error: {redact(str(exc))}", err=True)
        sys.exit(exc.exit_code)
