"""`mlgate monitor run`: a window of the prediction log against the production model's training reference.

Checks, in the gates' style (one CheckResult each, conditions from params.yaml `monitor.checks`, a
check that cannot run is a failed check): enough logged rows, feature drift and score drift (deepchecks,
seeded samples), real performance where feedback labels arrived, estimated performance (CBPE) where not.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.config import CheckConfig, Params
from mlgate.data.schema import FeatureSchema
from mlgate.errors import MlgateError
from mlgate.evidence.card import CARD_JSON
from mlgate.gates.result import CheckResult, GateReport
from mlgate.model_io import load_model
from mlgate.monitor import feedback, storage
from mlgate.monitor.log import SCORE, TIME, VERSION
from mlgate.monitor.performance import expected_metrics
from mlgate.pipeline.metrics import score_metrics

KNOWN = {"log_rows", "feature_drift", "score_drift", "performance", "estimated_performance"}
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_window(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise MlgateError(f"--window must be a positive number of m, h or d (e.g. 30m, 24h, 7d), got {text!r}")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def read_window(params: Params, window: timedelta, now: pd.Timestamp | None = None) -> tuple[pd.DataFrame, dict]:
    """Logged rows of the window and every feedback label, joined; info says what was read."""
    config = params.monitor
    fs, root = storage.filesystem(config.log_uri, config.storage_options)
    now = now or pd.Timestamp.now(tz="UTC")
    start = now - window
    try:
        logged = storage.read_batches(fs, root, storage.PREDICTIONS, since_day=start.strftime("%Y-%m-%d"))
        labels = storage.read_batches(fs, root, storage.FEEDBACK)
    except Exception as exc:
        raise MlgateError(f"monitor.log_uri {config.log_uri}: cannot read the log ({exc.__class__.__name__})") from exc
    live = logged.frame
    if len(live):
        live[TIME] = pd.to_datetime(live[TIME], utc=True, format="ISO8601")
        live = live[(live[TIME] >= start) & (live[TIME] <= now)].reset_index(drop=True)
        live["mlgate_label"] = feedback.join(live, labels.frame, params.data.id_column)
    info = {
        "log_uri": config.log_uri,
        "window": f"{start.isoformat()} .. {now.isoformat()}",
        "files": logged.files,
        "unreadable_files": logged.unreadable + labels.unreadable,
    }
    return live, info


def reference_frame(params: Params, reference: str) -> tuple[pd.DataFrame, str]:
    """'prepared': the train split the model learned from; anything else: the dataset at that git rev (DVC)."""
    if reference == "prepared":
        path = params.prepare.output_dir / "train.parquet"
        if not path.is_file():
            raise MlgateError(f"{path}: no prepared train split (run `dvc repro prepare` or pass --reference REV)")
        return pd.read_parquet(path), str(path)
    from mlgate.gates.data import load_reference

    frame = load_reference(params, reference)
    if frame is None:
        raise MlgateError(f"--reference {reference}: no dataset at that git rev ({params.data.path} via DVC)")
    return frame, f"{params.data.path}@{reference}"


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame if len(frame) <= rows else frame.sample(rows, random_state=seed)


def run_monitor(
    params: Params,
    window: str | None = None,
    reference: str = "prepared",
    model_dir: Path | None = None,
    model_version: str | None = None,
    now: pd.Timestamp | None = None,
) -> tuple[GateReport, list]:
    config = params.monitor
    unknown = sorted(set(config.checks) - KNOWN)
    if unknown:
        raise MlgateError(f"params.yaml: monitor.checks: unknown check(s) {unknown}; expected some of {sorted(KNOWN)}")
    live, info = read_window(params, parse_window(window or config.window), now)
    report = GateReport("monitor", info=info)
    if len(live) and VERSION in live.columns:
        versions = live[VERSION].astype(str)
        info["versions_in_window"] = versions.value_counts().to_dict()
        model_version = model_version or str(versions.iloc[int(live[TIME].to_numpy().argmax())])
        live = live[versions == model_version].reset_index(drop=True)
    info["model_version"] = model_version or "unknown"
    info["rows"] = len(live)
    checks = config.checks
    if "log_rows" in checks:
        report.checks.append(_log_rows(len(live), checks["log_rows"]))
    if live.empty:
        for name in sorted(set(checks) - {"log_rows"}):
            report.checks.append(
                CheckResult(name, False, None, "-", "no logged rows in the window", checks[name].blocking)
            )
        return report, []

    model_dir = Path(model_dir or params.train.model_dir)
    info["model_dir"] = str(model_dir)
    results: list = []
    try:
        schema = FeatureSchema.load(model_dir)
        model = load_model(model_dir)
        ref, ref_label = reference_frame(params, reference)
        info["reference"] = ref_label
        names = schema.names
        missing = [n for n in names if n not in live.columns or n not in ref.columns]
        if missing:
            raise MlgateError(f"features {missing} missing from the log or the reference")
        ref = _sample(ref, config.sample_rows, config.seed).reset_index(drop=True)
        # the number the log keeps per row: a score, the top class's probability, a value
        ref_scores = params.data.kind.log_score(model, ref[names])
    except Exception as exc:  # fail closed: nothing to compare with is a failed check, said as such
        why = f"no reference: {exc.__class__.__name__}: {exc}"[:300]
        for name in sorted(set(checks) - {"log_rows", "performance"}):
            report.checks.append(CheckResult(name, False, None, "-", why, checks[name].blocking))
        ref, ref_scores, names = None, None, []

    sample = _sample(live, config.sample_rows, config.seed).reset_index(drop=True)
    if ref is not None:
        categorical = [f.name for f in schema.features if f.kind == "category"]
        if "feature_drift" in checks:
            verdict, result = _feature_drift(ref[names], sample[names], categorical, checks["feature_drift"])
            report.checks.append(verdict)
            results += [result] if result is not None else []
        if "score_drift" in checks:
            verdict, result = _score_drift(
                ref[names], sample[names], categorical, ref_scores, sample[SCORE].to_numpy(float), checks["score_drift"]
            )
            report.checks.append(verdict)
            results += [result] if result is not None else []
        if "estimated_performance" in checks and not params.data.kind.estimates_without_labels:
            report.checks.append(
                _not_for_task(params, "estimated_performance", "no method estimates it without labels")
            )
        elif "estimated_performance" in checks:
            unlabeled = live[live["mlgate_label"].isna()][SCORE].to_numpy(float)
            report.checks.append(
                _estimated(
                    ref_scores,
                    unlabeled,
                    params.gates.model.tracked(params.data.kind),
                    checks["estimated_performance"],
                    info,
                )
            )
    if "performance" in checks and not params.data.kind.measured_from_feedback:
        why = "the prediction log keeps one number per row, not what its metrics need"
        report.checks.append(_not_for_task(params, "performance", why))
    elif "performance" in checks:
        report.checks.append(_real(params, live, checks["performance"], info, model_dir))
    return report, results


def _not_for_task(params: Params, name: str, why: str) -> CheckResult:
    """A check this task has no method for: said as such, never a silent pass of a number."""
    task = params.data.kind.name
    return CheckResult(name, True, None, "-", f"not available for task {task}: {why}", False)


def _log_rows(rows: int, config: CheckConfig) -> CheckResult:
    floor = int(config.condition("min_rows"))
    ok = rows >= floor
    return CheckResult(
        "log_rows", ok, float(rows), f">= {floor} rows", f"{rows} logged rows in the window", config.blocking
    )


def _deepcheck(name: str, condition: str, config: CheckConfig, run, measure, message) -> tuple[CheckResult, Any]:
    try:
        result = run()
        passed = all(v.is_pass() for v in result.conditions_results)
        return CheckResult(
            name, passed, round(measure(result.value), 6), condition, message(result.value)[:300], config.blocking
        ), result
    except Exception as exc:  # deepchecks raises many types on degenerate data
        text = " ".join(str(exc).split())[:200]
        return CheckResult(name, False, None, condition, f"could not run: {text}", config.blocking), None


def _datasets(ref: pd.DataFrame, live: pd.DataFrame, categorical: list[str]):
    from deepchecks.tabular import Dataset

    live = live.set_axis(range(len(ref), len(ref) + len(live)))  # distinct indexes: no deepchecks renaming
    return Dataset(ref, cat_features=categorical), Dataset(live, cat_features=categorical)


def _feature_drift(ref, live, categorical, config: CheckConfig):
    from deepchecks.tabular import checks as dc

    limit = config.condition("max_score")

    def run():
        check = dc.FeatureDrift(n_samples=None).add_condition_drift_score_less_than(limit, limit)
        return check.run(*_datasets(ref, live, categorical), with_display=True)

    def message(value: dict) -> str:
        scores = _scores(value)
        drifted = sorted((k for k, s in scores.items() if s >= limit), key=lambda k: -scores[k])
        if not drifted:
            return f"no feature drifted (max {max(scores.values(), default=0):.3f})"
        return "drifted: " + ", ".join(f"{k} {scores[k]:.2f}" for k in drifted)

    return _deepcheck(
        "feature_drift",
        f"drift score per feature < {limit}",
        config,
        run,
        lambda v: max(_scores(v).values(), default=0.0),
        message,
    )


def _scores(value: dict) -> dict[str, float]:
    """Per-feature drift scores; a feature with no value at all has none (None), not a number."""
    return {k: float(v["Drift score"]) for k, v in value.items() if v["Drift score"] is not None}


def _score_drift(ref, live, categorical, ref_scores, live_scores, config: CheckConfig):
    from deepchecks.tabular import checks as dc

    limit = config.condition("max_score")

    def run():
        check = dc.PredictionDrift().add_condition_drift_score_less_than(limit)
        return check.run(
            *_datasets(ref, live, categorical),
            y_proba_train=np.c_[1 - ref_scores, ref_scores],
            y_proba_test=np.c_[1 - live_scores, live_scores],
            model_classes=[0, 1],
        )

    def message(value: dict) -> str:
        return (
            f"{value['Method']} {float(value['Drift score']):.3f}; mean score {live_scores.mean():.4f} "
            f"live vs {ref_scores.mean():.4f} reference"
        )

    return _deepcheck("score_drift", f"score drift < {limit}", config, run, lambda v: float(v["Drift score"]), message)


def _worst_drop(current: dict, baseline: dict, metrics: list[str]) -> tuple[str, float]:
    drops = {m: baseline[m] - current[m] for m in metrics if m in current and m in baseline}
    worst = max(drops, key=lambda m: drops[m])
    return worst, drops[worst]


def _estimated(ref_scores, live_scores, metrics: list[str], config: CheckConfig, info: dict) -> CheckResult:
    limit = config.condition("max_drop")
    condition = f"expected drop <= {limit} (CBPE)"
    if len(live_scores) == 0:
        return CheckResult(
            "estimated_performance", True, None, condition, "every row has a label: measured instead", config.blocking
        )
    try:
        baseline, current = expected_metrics(ref_scores), expected_metrics(live_scores)
    except ValueError as exc:
        return CheckResult("estimated_performance", False, None, condition, f"could not run: {exc}", config.blocking)
    info["estimated"] = {"reference": baseline, "live": current, "rows": len(live_scores)}
    name, drop = _worst_drop(current, baseline, metrics)
    text = ", ".join(f"{m} {current[m]:.4f} vs {baseline[m]:.4f}" for m in metrics if m in current)
    return CheckResult(
        "estimated_performance",
        drop <= limit,
        round(-drop, 6) + 0.0,
        condition,
        f"expected on {len(live_scores)} unlabeled rows: {text} (worst: {name})",
        config.blocking,
    )


def _evaluated(params: Params, model_dir: Path) -> tuple[dict, str]:
    """What the monitored model scored when it was evaluated: a released model carries its model card; a
    model of this commit (no release yet) has this commit's metrics file."""
    card = model_dir / CARD_JSON
    if card.is_file():
        return {m: v["value"] for m, v in json.loads(card.read_text())["metrics"].items()}, str(card)
    path = Path(params.evaluate.metrics_file)
    return json.loads(path.read_text()), str(path)


def _real(params: Params, live: pd.DataFrame, config: CheckConfig, info: dict, model_dir: Path) -> CheckResult:
    limit, least = config.condition("max_drop"), int(config.condition("min_labels"))
    condition = f"drop <= {limit} vs evaluated (>= {least} labels)"
    labeled = live.dropna(subset=["mlgate_label"])
    info["labeled_rows"] = len(labeled)
    if len(labeled) < least:
        return CheckResult(
            "performance",
            True,
            None,
            condition,
            f"{len(labeled)} labeled rows: too few to measure yet",
            config.blocking,
        )
    try:
        evaluated, source = _evaluated(params, model_dir)
        y, scores = labeled["mlgate_label"].to_numpy(int), labeled[SCORE].to_numpy(float)
        current = score_metrics(y, scores, params.evaluate.threshold)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = f"could not run: {exc.__class__.__name__}: {exc}"[:300]
        return CheckResult("performance", False, None, condition, why, config.blocking)
    metrics = params.gates.model.tracked(params.data.kind)
    info["measured"] = {
        "live": current,
        "evaluated": {m: evaluated.get(m) for m in metrics},
        "evaluated_from": source,
        "rows": len(labeled),
    }
    name, drop = _worst_drop(current, evaluated, metrics)
    text = ", ".join(f"{m} {current[m]:.4f} vs {evaluated[m]:.4f}" for m in metrics if m in evaluated)
    return CheckResult(
        "performance",
        drop <= limit,
        round(-drop, 6) + 0.0,
        condition,
        f"on {len(labeled)} labeled rows: {text} (worst: {name})",
        config.blocking,
    )


def write_outputs(report: GateReport, results: list, reports_dir: Path) -> tuple[Path, Path]:
    from mlgate.gates.html import write_html

    json_path, html_path = reports_dir / "monitor.json", reports_dir / "monitor.html"
    report.write_json(json_path)
    write_html(report, results, html_path)
    return json_path, html_path
