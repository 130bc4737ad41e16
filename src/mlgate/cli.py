"""The `mlgate` command: every CI step and Make target is one of these."""

from __future__ import annotations

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
    """Write the synthetic card-transactions sample (same rows and seed give the same bytes)."""
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
    from mlgate.gates.data import write_outputs

    write_outputs(report, results, reports_dir)
    typer.echo(report.table())
    typer.echo(f"reports: {reports_dir}/{report.gate}_gate.json, {reports_dir}/{report.gate}_gate.html")
    report.enforce()


ReportsOpt = Annotated[Path, typer.Option(help="Where the JSON and HTML reports go.")]


@gate_app.command("data")
def gate_data(
    reference_rev: Annotated[
        str | None,
        typer.Option(
            help="Git ref whose data.dvc is the drift reference (default: gates.data.reference_rev).",
            envvar="MLGATE_REFERENCE_REV",
        ),
    ] = None,
    reports: ReportsOpt = Path("reports"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Data gate: contract, integrity, train/test split and drift vs the reference data."""
    from mlgate.gates.data import run_data_gate

    p = load(params_file)
    _finish_gate(*run_data_gate(p, reference_rev=reference_rev or p.gates.data.reference_rev), reports)


@gate_app.command("model")
def gate_model(
    base_rev: Annotated[
        str, typer.Option(help="Git ref whose committed metrics file is the baseline.", envvar="MLGATE_BASE_REV")
    ] = "HEAD",
    base_metrics: Annotated[
        Path | None, typer.Option(help="A metrics JSON to compare with instead of --base-rev.")
    ] = None,
    production: Annotated[bool, typer.Option(help="Also compare with the registry's @production model.")] = True,
    reports: ReportsOpt = Path("reports"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Model gate: metric floors, trivial baseline, overfit, calibration, drift, non-regression."""
    import json

    from mlgate.gates.model import base_metrics_at, run_model_gate
    from mlgate.registry import model_at_alias

    p = load(params_file)
    if base_metrics is not None:
        if not base_metrics.is_file():
            raise MlgateError(f"{base_metrics}: base metrics file not found")
        base, label = json.loads(base_metrics.read_text()), str(base_metrics)
    else:
        base, label = base_metrics_at(base_rev, str(p.evaluate.metrics_file)), base_rev
    live = model_at_alias(p, "production") if production else None
    _finish_gate(*run_model_gate(p, base=base, base_label=label, production=live), reports)


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
    import uvicorn

    from mlgate.serve.app import create_app

    uvicorn.run(create_app(model_dir), host=host, port=port, log_level="warning", access_log=False)


@image_app.command("build")
def image_build(
    tag: Annotated[str, typer.Option(help="Image tag to build, e.g. 127.0.0.1:5000/mlgate:sha.")] = "mlgate-serve:dev",
    base_image: Annotated[str | None, typer.Option(help="BASE_IMAGE build arg (python:3.11-slim by default).")] = None,
    model_version: Annotated[str, typer.Option(help="Registered model version to stamp in the image.")] = "",
) -> None:
    """Build the serving image from the gated model in outputs/model; prints the image id."""
    from mlgate.deploy.image import build

    typer.echo(build(tag, base_image=base_image, model_version=model_version))


@image_app.command("push")
def image_push(tag: Annotated[str, typer.Argument(help="A built tag, registry/repo:tag.")]) -> None:
    """Push the image; prints its immutable reference repo@sha256:... (what deploys use)."""
    from mlgate.deploy.image import push

    typer.echo(push(tag))


TargetOpt = Annotated[
    str,
    typer.Option(
        help="docker: the local engine (container mlgate-ENV on the port of deploy/environments.yaml); "
        "kubernetes: kubectl apply of deploy/k8s/overlays/ENV with the image pinned by digest, then rollout status."
    ),
]


@app.command()
def register(
    git_sha: Annotated[str, typer.Option(help="Commit the model was built from.", envvar="GITHUB_SHA")] = "unknown",
    reports: ReportsOpt = Path("reports"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Register the gated model in MLflow with its gate verdicts, data hash and git sha; prints the version."""
    from mlgate.registry import register as do_register

    typer.echo(do_register(load(params_file), reports, git_sha))


@app.command()
def deploy(
    env: Annotated[str, typer.Option(help="dev, staging or production (deploy/environments.yaml).")],
    image: Annotated[str, typer.Option(help="Immutable image reference repo@sha256:<digest>.")],
    target: TargetOpt = "docker",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Deploy one image digest to one environment, smoke-test it, roll back on failure.

    On success the model version gets the environment's alias and the deploy is recorded
    (MLflow experiment mlgate-deploys), which `mlgate rollback` reads."""
    from mlgate.deploy.service import deploy as do_deploy

    done = do_deploy(load(params_file), env, image, target)
    typer.echo(f"deployed {done.image} to {done.env} (model version {done.model_version or '?'})")


@app.command()
def promote(
    source: Annotated[str, typer.Option("--from", help="Environment whose running digest is promoted.")],
    dest: Annotated[str, typer.Option("--to", help="Environment to deploy it to.")],
    target: TargetOpt = "docker",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Deploy exactly the digest running in --from to --to; refuses a model that did not pass the gates."""
    from mlgate.deploy.service import promote as do_promote

    done = do_promote(load(params_file), source, dest, target)
    typer.echo(f"promoted {done.image} from {source} to {dest} (model version {done.model_version or '?'})")


@app.command()
def rollback(
    env: Annotated[str, typer.Option(help="Environment to roll back.")],
    to: Annotated[str | None, typer.Option(help="Model version to go back to (default: the previous digest).")] = None,
    target: TargetOpt = "docker",
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Redeploy the previous successful digest of an environment (or that of --to VERSION)."""
    from mlgate.deploy.service import rollback as do_rollback

    done = do_rollback(load(params_file), env, to, target)
    typer.echo(f"rolled {env} back to {done.image} (model version {done.model_version or '?'})")


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
def image_publish(archive: Annotated[Path, typer.Argument(help="Saved image tar.")]) -> None:
    """Load, tag <repository>:<git sha>, log in (REGISTRY_TOKEN) and push; prints repo@sha256:..."""
    from mlgate.deploy.image import publish

    typer.echo(publish(archive))


@image_app.command("resolve")
def image_resolve(
    sha: Annotated[
        str | None, typer.Option(help="Commit whose image to resolve (default: GITHUB_SHA or HEAD).")
    ] = None,
) -> None:
    """Print the digest reference of the image built for a commit: what a release promotes."""
    from mlgate.deploy.image import resolve

    typer.echo(resolve(sha))


@gate_app.command("outputs")
def gate_outputs(reports: ReportsOpt = Path("reports")) -> None:
    """Print data-gate=... and model-gate=... (passed, failed or missing) for $GITHUB_OUTPUT."""
    from mlgate.gates.result import load_report

    for gate in ("data", "model"):
        verdict = load_report(reports / f"{gate}_gate.json")
        state = "missing" if verdict is None else ("passed" if verdict["passed"] else "failed")
        typer.echo(f"{gate}-gate={state}")


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


@app.command("release-notes")
def release_notes(
    image: Annotated[str, typer.Option(help="The released image, repo@sha256:...")],
    output: Annotated[Path, typer.Option(help="Markdown file to write.")] = Path("release-notes.md"),
    params_file: ParamsOpt = "params.yaml",
) -> None:
    """Release notes: the image digest and the committed metrics."""
    import json

    p = load(params_file)
    if not p.evaluate.metrics_file.is_file():
        raise MlgateError(f"{p.evaluate.metrics_file}: no committed metrics to publish")
    metrics = json.loads(p.evaluate.metrics_file.read_text())
    rows = "\n".join(f"| {k} | {metrics[k]:.4f} |" for k in ("pr_auc", "roc_auc", "f1", "precision", "recall", "brier"))
    output.write_text(f"Image: `{image}`\n\n| metric | value |\n|---|---:|\n{rows}\n")
    typer.echo(output)


@app.command()
def summary(params_file: ParamsOpt = "params.yaml") -> None:
    """Print the run's metrics and where its outputs are."""
    from mlgate.pipeline.summary import summarize

    typer.echo(summarize(load(params_file)))


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
    model_dir: Annotated[Path | None, typer.Option(help="The production model (default: train.model_dir).")] = None,
    model_version: Annotated[
        str | None, typer.Option(help="Logged model version to check (default: the latest one in the window).")
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
    """Print finding=true|false|missing (the last monitor run had a blocking finding) for $GITHUB_OUTPUT."""
    from mlgate.gates.result import load_report

    verdict = load_report(reports / "monitor.json")
    typer.echo(f"finding={'missing' if verdict is None else str(not verdict['passed']).lower()}")


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


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback."""
    try:
        app()
    except MlgateError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
