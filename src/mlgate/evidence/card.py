"""The model card: what the model is for, what it learned from, how well it does (with intervals and per
segment), which gates it passed, and where it came from - rendered from facts the pipeline already has.

Written as JSON (the facts) and Markdown (for people) beside the model, so the image carries it and
`GET /card` serves it; the release attaches it.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.bundle import CARD_JSON, CARD_MD, read_run, verdict_file
from mlgate.config import Params
from mlgate.evidence.bootstrap import intervals_of, weighted_metrics
from mlgate.explain import card as explain_card
from mlgate.features import feature_spec
from mlgate.fingerprint import model_sha256
from mlgate.model_io import load_model
from mlgate.versioning import data_md5


def _git_sha() -> str:
    if sha := os.environ.get("GITHUB_SHA"):
        return sha
    found = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return found.stdout.strip() or "unknown"


def _gates(reports_dir: Path) -> dict[str, Any]:
    verdicts = {}
    for gate in ("data", "model"):
        path = reports_dir / verdict_file(gate)
        if not path.is_file():
            verdicts[gate] = {"passed": None, "failed": [], "checks": 0}
            continue
        report = json.loads(path.read_text())
        failed = [c["name"] for c in report["checks"] if not c["passed"]]
        verdicts[gate] = {"passed": report["passed"], "failed": failed, "checks": len(report["checks"])}
    return verdicts


def _segments(test: pd.DataFrame, y: np.ndarray, score: np.ndarray, columns: list[str], threshold: float) -> list:
    """Per category of each listed column: rows, positives, and the metrics that its rows can support."""
    rows = []
    for column in columns:
        values = test[column].astype("string").fillna("(missing)")
        for value in sorted(values.unique()):
            mask = (values == value).to_numpy()
            entry = {"column": column, "value": str(value), "rows": int(mask.sum()), "positives": int(y[mask].sum())}
            flagged = score[mask] >= threshold
            positives = y[mask] == 1
            entry["recall"] = round(float(flagged[positives].mean()), 4) if positives.any() else None
            if 0 < positives.sum() < mask.sum():
                ones = np.ones((1, int(mask.sum())))
                both = weighted_metrics(y[mask], score[mask], ones, threshold)
                entry["pr_auc"] = round(float(both["pr_auc"][0]), 4)
                entry["roc_auc"] = round(float(both["roc_auc"][0]), 4)
            rows.append(entry)
    return rows


def _task_segments(test: pd.DataFrame, y, prediction, columns: list[str], params: Params) -> list:
    """Per category of each listed column: rows and the task's headline metric where its rows support it."""
    task, rows = params.data.kind, []
    for column in columns:
        values = test[column].astype("string").fillna("(missing)")
        for value in sorted(values.unique()):
            mask = (values == value).to_numpy()
            entry = {"column": column, "value": str(value), "rows": int(mask.sum())}
            try:
                entry[task.headline] = round(task.point_metrics(y[mask], prediction[mask], 0.5)[task.headline], 4)
            except (ValueError, ZeroDivisionError):
                entry[task.headline] = None
            if entry[task.headline] is not None and entry[task.headline] != entry[task.headline]:  # NaN
                entry[task.headline] = None
            rows.append(entry)
    return rows


def collect(params: Params, reports_dir: Path = Path("reports"), image: str | None = None, approvals=None) -> dict:
    """The card's facts, from the model directory, the test split, the gate reports and git."""
    model_dir = params.train.model_dir
    test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
    spec = feature_spec(test, params.data)
    task, threshold = params.data.kind, params.evaluate.threshold
    model = load_model(model_dir, params.train.trusted_types)
    y, score = task.truth(test[params.data.target], model), task.predict(model, test[spec.columns])
    scorer = task.scorer(y, score, threshold)
    intervals = intervals_of(task.strata(y), scorer, task.bootstrapped, seed=params.prepare.seed)
    if task.threshold_applies:
        segments = _segments(test, y, score, list(params.card.segments), threshold)
    else:
        segments = _task_segments(test, y, score, list(params.card.segments), params)
    sized = [s for s in segments if s["rows"]]
    smallest = min(sized, key=lambda s: s["rows"]) if sized else None
    gate_rows = (
        json.loads((reports_dir / verdict_file("data")).read_text())["info"].get("rows")
        if (reports_dir / verdict_file("data")).is_file()
        else None
    )
    return {
        "model": {
            "name": params.mlflow.model_name,
            "version": os.environ.get("MLGATE_MODEL_VERSION", ""),
            "estimator": params.train.estimator,
            "sha256": model_sha256(model_dir),
            "threshold": threshold if task.threshold_applies else None,
            "task": task.name,
        },
        "intended_use": params.card.intended_use,
        "limitations": params.card.limitations,
        "training_data": {
            "path": str(params.data.path),
            "data_md5": data_md5(),
            "rows": gate_rows,
            "test_rows": len(test),
            "target": params.data.target,
            "positive_label": params.data.positive if task.threshold_applies else None,
            "prevalence": round(float(y.mean()), 4) if task.threshold_applies else None,
            "classes": task.classes(model),
            "schema": {name: rule.type for name, rule in params.schema_.columns.items()},
            "features": {"numeric": spec.numeric, "categorical": spec.categorical},
        },
        "metrics": intervals,
        "segments": segments,
        "smallest_segment": smallest,
        "gates": _gates(reports_dir),
        **explain_card.facts(reports_dir, model_sha256(model_dir)),  # the model gate's explanations, behaviour
        "lineage": {
            "git_sha": _git_sha(),
            "mlflow_run_id": read_run(model_dir).get("run_id"),
            "image": image,
            "data_md5": data_md5(),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "approvals": approvals or [],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def render_markdown(card: dict) -> str:
    """The card for people; every number comes from the JSON facts."""
    m, data, lineage = card["model"], card["training_data"], card["lineage"]
    lines = [
        f"# Model card: {m['name']} {m['version']}".rstrip(),
        "",
        "## Intended use",
        "",
        card["intended_use"],
        "",
        "## Limitations",
        "",
        card["limitations"],
        "",
        "## Training data",
        "",
        f"- `{data['path']}` (data.dvc md5 `{data['data_md5']}`), {data['rows'] or '?'} rows; "
        f"test split {data['test_rows']} rows",
        _target_line(m, data),
        f"- features: {len(data['features']['numeric'])} numeric, {len(data['features']['categorical'])} categorical",
        "",
        "## Metrics on the test split (95 % bootstrap intervals"
        + (f", threshold {m['threshold']})" if m.get("threshold") is not None else ")"),
        "",
        "| metric | value | interval |",
        "|---|---:|---|",
    ]
    for name, i in card["metrics"].items():
        lines.append(f"| {name} | {i['value']:.4f} | [{i['low']:.4f}, {i['high']:.4f}] |")
    lines += ["", "## Performance per segment", ""]
    headline = next((k for k in (card["segments"] or [{}])[0] if k not in ("column", "value", "rows")), None)
    if card["segments"] and "positives" not in card["segments"][0]:
        lines += [f"| column | value | rows | {headline} |", "|---|---|---:|---:|"]
        lines += [f"| {s['column']} | {s['value']} | {s['rows']} | {_pct(s[headline])} |" for s in card["segments"]]
        small = card["smallest_segment"]
        lines += ["", f"Smallest segment: `{small['column']}` = `{small['value']}` ({small['rows']} rows)."]
    elif card["segments"]:
        lines += [
            "| column | value | rows | positives | recall | PR-AUC | ROC-AUC |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for s in card["segments"]:
            lines.append(
                f"| {s['column']} | {s['value']} | {s['rows']} | {s['positives']} | {_pct(s['recall'])} "
                f"| {_pct(s.get('pr_auc'))} | {_pct(s.get('roc_auc'))} |"
            )
        small = card["smallest_segment"]
        lines += ["", f"Smallest segment: `{small['column']}` = `{small['value']}` ({small['rows']} rows)."]
    else:
        lines.append("No segment columns listed (`card.segments` in params.yaml).")
    lines += ["", *explain_card.markdown(card), "## Gates", ""]
    for gate, verdict in card["gates"].items():
        state = {True: "passed", False: "FAILED", None: "did not run"}[verdict["passed"]]
        failed = f" (failed: {', '.join(verdict['failed'])})" if verdict["failed"] else ""
        lines.append(f"- {gate} gate: {state}, {verdict['checks']} checks{failed}")
    lines += [
        "",
        "## Lineage",
        "",
        f"- git sha `{lineage['git_sha']}`, MLflow run `{lineage['mlflow_run_id']}`",
        f"- model sha256 `{m['sha256']}`",
        f"- image `{lineage['image'] or '(not built yet)'}`",
        f"- data md5 `{lineage['data_md5']}`, card written {lineage['created']}",
    ]
    if card["approvals"]:
        lines += ["", "## Deployment approvals", ""]
        lines += [
            f"- {a['environment']}: approved by {a['user']} ({a.get('state', 'approved')})" for a in card["approvals"]
        ]
    return "\n".join(lines) + "\n"


def _target_line(model: dict, data: dict) -> str:
    if model.get("task", "binary") == "binary":
        positive, share = data["positive_label"], data["prevalence"]
        return f"- target `{data['target']}`, positive label `{positive}`, prevalence {share:.2%}"
    classes = f", classes {', '.join(map(str, data['classes']))}" if data.get("classes") else ""
    return f"- target `{data['target']}`, task {model['task']}{classes}"


def write(card: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / CARD_JSON, out_dir / CARD_MD
    json_path.write_text(json.dumps(card, indent=2, default=str) + "\n")
    md_path.write_text(render_markdown(card))
    return md_path, json_path
