"""Everything a report is made of, gathered from the run's files, git and DVC.

Rendering is a pure function of ReportInputs, so golden-file tests need no git or DVC.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from mlgate.bundle import verdict_file
from mlgate.config import METRIC_NAMES, Params
from mlgate.errors import MlgateError
from mlgate.gates.reference import resolve_rev
from mlgate.versioning import data_md5, dvc, dvc_md5, git_show


@dataclass
class DataChange:
    base_md5: str | None
    md5: str | None
    rows: int | None

    @property
    def changed(self) -> bool:
        return self.base_md5 is not None and self.base_md5 != self.md5


@dataclass
class ReportInputs:
    metrics: dict
    base_metrics: dict | None = None  # the base model's metrics on this run's test rows (the model gate's)
    base_label: str = "base"
    base_not_comparable: str | None = None  # why the base model judges another problem: no delta is shown
    base: dict | None = None  # the model gate's comparison with the base model (info.base)
    production: dict | None = None  # ... and with the production model (info.production)
    params_changed: dict[str, tuple] = field(default_factory=dict)
    data: DataChange = field(default_factory=lambda: DataChange(None, None, None))
    data_gate: dict | None = None
    model_gate: dict | None = None
    task: str = "binary"  # params.yaml data.task: which chart the report draws (Task.chart_file)
    plot: object = field(default_factory=list)  # this run's chart file as parsed (checked when drawn)
    base_plot: object = field(default_factory=list)  # ... and the base commit's; [] when it has none
    plot_error: str | None = None  # why this run's file could not be read
    base_plot_error: str | None = None  # ... and the base's
    links: dict[str, str] = field(default_factory=dict)


def _json(path: Path) -> dict | list | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _plot(raw: str | None, where: str) -> tuple[object, str | None]:
    """(a plot file's content, why it could not be read): [] when there is none."""
    if raw is None:
        return [], None
    try:
        return json.loads(raw), None
    except json.JSONDecodeError as e:
        return [], f"{where} is not JSON ({e.msg} at line {e.lineno})"


def _dvc_json(*args: str) -> dict:
    result = dvc(*args, "--json")
    if result.returncode != 0 or not result.stdout.strip():
        return {}
    return json.loads(result.stdout)


def links_from_env(reports_dir: Path) -> dict[str, str]:
    """Links GitHub Actions can give (run, artifacts); local paths otherwise."""
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run_id:
        run = f"{server}/{repo}/actions/runs/{run_id}"
        return {"run": run, "reports": f"{run}#artifacts"}
    return {"reports": str(reports_dir)}


def _this_data(gate: dict | None, md5: str | None) -> dict | None:
    """The gate's report when it judged this data; None when it is left from a run on other data (this run
    stopped before the gate)."""
    judged = (gate or {}).get("info", {}).get("data_md5")
    return None if judged and md5 and judged != md5 else gate


def collect(params: Params, base: str, reports_dir: Path = Path("reports")) -> ReportInputs:
    """The working tree's run against the committed state at `base` (a branch, tag or sha)."""
    commit, _, error = resolve_rev(base)
    if error:
        raise MlgateError(f"--base {base}: {error}")
    metrics_file = params.evaluate.metrics_file
    metrics = _json(metrics_file) or {}
    changed = {}
    for file_diff in _dvc_json("params", "diff", base).values():
        for key, change in file_diff.items():
            changed[key] = (change.get("old"), change.get("new"))
    md5 = data_md5()
    data_gate = _this_data(_json(reports_dir / verdict_file("data")), md5)
    model_gate = _this_data(_json(reports_dir / verdict_file("model")), md5)
    info = (model_gate or {}).get("info", {})
    compared = info.get("base") or {}
    other_base = None
    if commit and compared.get("commit") and compared["commit"] != commit:
        other_base = (
            f"the model gate compared with {compared.get('label') or compared['commit'][:7]}, not {commit[:7]}: "
            f"run `MLGATE_BASE_REV={base} make run` to compare with it"
        )
        compared = {}
    chart_file = params.evaluate.plots_dir / params.data.kind.chart_file
    plot, plot_error = _plot(chart_file.read_text() if chart_file.is_file() else None, str(chart_file))
    base_plot, base_plot_error = _plot(git_show(base, chart_file), f"{chart_file} at {base}")
    return ReportInputs(
        metrics=metrics,
        base_metrics={k: v for k, v in compared.items() if k in METRIC_NAMES} or None,
        base_label=compared.get("label") or base,
        base_not_comparable=other_base
        or compared.get("not_comparable")
        or (compared.get("error") and f"no base model: {compared['error']}"),
        base=compared or None,
        production=info.get("production"),
        params_changed=changed,
        data=DataChange(
            base_md5=dvc_md5(git_show(base, Path("data.dvc"))),
            md5=md5,
            rows=(data_gate or {}).get("info", {}).get("rows"),
        ),
        data_gate=data_gate,
        model_gate=model_gate,
        task=params.data.task,
        plot=plot,
        base_plot=base_plot,
        plot_error=plot_error,
        base_plot_error=base_plot_error,
        links=links_from_env(reports_dir),
    )
