"""Deploy history in MLflow: one run per deploy in the `mlgate-deploys` experiment.

The history lives with the registry (SQLite locally, the tracking server in a team), so
`mlgate rollback` works from any machine, CI included.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgate import tracking
from mlgate.config import MlflowConfig

EXPERIMENT = "mlgate-deploys"


@dataclass(frozen=True)
class DeployRecord:
    env: str
    image: str
    model_version: str
    git_sha: str
    status: str
    time_ms: int = 0


def _client(config: MlflowConfig):
    mlflow = tracking.configure(config)
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = found.experiment_id if found else client.create_experiment(EXPERIMENT)
    return client, experiment_id


def record(config: MlflowConfig, entry: DeployRecord) -> None:
    client, experiment_id = _client(config)
    run = client.create_run(
        experiment_id,
        run_name=f"deploy {entry.env}",
        tags={
            "env": entry.env,
            "image": entry.image,
            "model_version": entry.model_version,
            "git_sha": entry.git_sha,
            "status": entry.status,
        },
    )
    client.set_terminated(run.info.run_id, "FINISHED" if entry.status == "succeeded" else "FAILED")


def history(config: MlflowConfig, env: str) -> list[DeployRecord]:
    """Successful deploys of `env`, newest first."""
    client, experiment_id = _client(config)
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.env = '{env}' and tags.status = 'succeeded'",
        order_by=["attributes.start_time DESC"],
        max_results=200,
    )
    return [
        DeployRecord(
            r.data.tags["env"],
            r.data.tags["image"],
            r.data.tags["model_version"],
            r.data.tags.get("git_sha", ""),
            r.data.tags["status"],
            r.info.start_time,
        )
        for r in runs
    ]
