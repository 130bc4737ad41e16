"""`mlgate monitor run`: a window of the prediction log against the production model's training reference.

Checks, in the gates' style (one CheckResult each, conditions from params.yaml `monitor.checks`, a
check that cannot run is a failed check): enough logged rows, feature drift and score drift (deepchecks
scores, seeded samples), real performance where feedback labels arrived, estimated performance (CBPE) where not.

Every limit is judged with the window's noise, as the model gate judges its margins: a drift score over its
limit is a finding only when a test at the window's size says the distributions differ (Kolmogorov-Smirnov,
chi-squared; Bonferroni over the features), and a performance drop only when its whole bootstrap interval lies
beyond the allowed drop. A small window's noise passes; a real shift fails, named.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.bundle import CARD_JSON
from mlgate.config import CheckConfig, MonitorConfig, Params
from mlgate.data.schema import FeatureSchema
from mlgate.errors import MlgateError
from mlgate.evidence.bootstrap import RANKING, Interval, expected_difference, expected_metrics, intervals_of
from mlgate.gates.result import CheckResult, GateReport
from mlgate.model_io import load_model
from mlgate.monitor import feedback, storage
from mlgate.monitor.log import SCORE, TIME, VERSION

ORIGIN = "mlgate_origin"  # the file and row a logged row was read from (not stored)
KNOWN = {"log_rows", "feature_drift", "score_drift", "performance", "estimated_performance"}
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_window(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise MlgateError(f"--window must be a positive number of m, h or d (e.g. 30m, 24h, 7d), got {text!r}")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def read_window(params: Params, window: timedelta, now: pd.Timestamp | None = None) -> tuple[pd.DataFrame, dict]:
    """Logged rows of the window and every feedback label, joined; info says what was read."""
    config = storage.located(params.monitor)
    fs, root = storage.filesystem(config.log_uri, config.storage_options)
    now = now or pd.Timestamp.now(tz="UTC")
    start = now - window
    try:
        logged = storage.read_batches(fs, root, storage.PREDICTIONS, since_day=start.strftime("%Y-%m-%d"))
        labels = storage.read_batches(fs, root, storage.FEEDBACK)
    except Exception as exc:
        raise MlgateError(f"log {config.log_uri}: cannot read the log ({exc.__class__.__name__})") from exc
    live = logged.frame
    if len(live):
        live[ORIGIN] = logged.origins()
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


def _held_out(params: Params, reference: str, model, names: list[str], fallback: np.ndarray) -> tuple[np.ndarray, str]:
    """The predictions CBPE and prediction drift compare the live ones with: the held-out test split's (the
    model is more confident on the rows it learned from, so the train split's expected PR-AUC is higher than
    any fresh window's); a reference at a git rev is compared as it is."""
    path = params.prepare.output_dir / "test.parquet"
    if reference != "prepared" or not path.is_file():
        return fallback, "the drift reference"
    frame = _sample(pd.read_parquet(path), params.monitor.sample_rows, params.monitor.seed)
    return params.data.kind.predict(model, frame[names]), str(path)


def _readable(task, live: pd.DataFrame) -> None:
    """The monitored rows are what the task logs, or one line naming the file and row."""
    problem = task.log_problem(live)
    if problem is not None:
        where, why = problem
        raise MlgateError(f"{live[ORIGIN].iloc[where]}: {why}")


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
    task = params.data.kind
    if len(live):
        _readable(task, live)
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
        if task.deepchecks_score_drift:  # binary: the score, compared with the train split's
            ref_scores = task.log_score(model, ref[names])
            expected_ref, info["estimated_reference"] = _held_out(params, reference, model, names, ref_scores)
        else:  # the predicted classes or values, compared with the held-out split's
            held, info["prediction_reference"] = _held_out(
                params, reference, model, names, task.predict(model, ref[names])
            )
            ref_scores = task.drift_values(held, task.classes(model))
    except Exception as exc:  # fail closed: nothing to compare with is a failed check, said as such
        why = f"no reference: {exc.__class__.__name__}: {exc}"[:300]
        unmodelled = set() if task.estimates_without_labels else {"estimated_performance"}
        for name in sorted(set(checks) - {"log_rows", "performance"} - unmodelled):
            report.checks.append(CheckResult(name, False, None, "-", why, checks[name].blocking))
        ref, ref_scores, names = None, None, []

    sample = _sample(live, config.sample_rows, config.seed).reset_index(drop=True)
    if ref is not None:
        categorical = [f.name for f in schema.features if f.kind == "category"]
        if "feature_drift" in checks:
            verdict, result = _feature_drift(
                ref[names], sample[names], categorical, checks["feature_drift"], config.confidence
            )
            report.checks.append(verdict)
            results += [result] if result is not None else []
        if "score_drift" in checks and not task.deepchecks_score_drift:
            prediction, classes = task.from_log(sample)
            report.checks.append(
                _prediction_drift(
                    task, ref_scores, task.drift_values(prediction, classes), checks["score_drift"], config.confidence
                )
            )
        elif "score_drift" in checks:
            verdict, result = _score_drift(
                ref[names],
                sample[names],
                categorical,
                ref_scores,
                sample[SCORE].to_numpy(float),
                checks["score_drift"],
                config.confidence,
            )
            report.checks.append(verdict)
            results += [result] if result is not None else []
        if "estimated_performance" in checks and task.estimates_without_labels:
            unlabeled = live[live["mlgate_label"].isna()][SCORE].to_numpy(float)
            report.checks.append(
                _estimated(
                    expected_ref,
                    unlabeled,
                    params.gates.model.tracked(params.data.kind),
                    checks["estimated_performance"],
                    info,
                    config,
                )
            )
    if "estimated_performance" in checks and not task.estimates_without_labels:
        report.checks.append(_not_for_task(params, "estimated_performance", "no method estimates it without labels"))
    if "performance" in checks:
        report.checks.append(_real(params, live, checks["performance"], info, model_dir, config))
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


def _deepcheck(name: str, condition: str, config: CheckConfig, run, judge) -> tuple[CheckResult, Any]:
    """A deepchecks drift check whose verdict is ours: judge(value) -> (passed, measure, message)."""
    try:
        result = run()
        passed, measure, message = judge(result.value)
        return CheckResult(name, passed, round(measure, 6), condition, message[:300], config.blocking), result
    except Exception as exc:  # deepchecks and scipy raise many types on degenerate data
        text = " ".join(str(exc).split())[:200]
        return CheckResult(name, False, None, condition, f"could not run: {text}", config.blocking), None


def _datasets(ref: pd.DataFrame, live: pd.DataFrame, categorical: list[str]):
    from deepchecks.tabular import Dataset

    live = live.set_axis(range(len(ref), len(ref) + len(live)))  # distinct indexes: no deepchecks renaming
    return Dataset(ref, cat_features=categorical), Dataset(live, cat_features=categorical)


def _p_value(ref: pd.Series, live: pd.Series, categorical: bool) -> float:
    """Whether two samples of a column differ beyond the noise of their sizes: chi-squared on the category
    counts (null is a category), two-sample Kolmogorov-Smirnov on the values otherwise."""
    from scipy import stats

    if categorical:
        counts = pd.concat(
            [s.astype(object).where(s.notna(), "<null>").value_counts() for s in (ref, live)], axis=1
        ).fillna(0)
        return 1.0 if len(counts) < 2 else float(stats.chi2_contingency(counts.to_numpy().T).pvalue)
    a, b = (np.asarray(s.dropna(), dtype=float) for s in (ref, live))
    return 1.0 if len(a) == 0 or len(b) == 0 else float(stats.ks_2samp(a, b).pvalue)


def _feature_drift(ref, live, categorical, config: CheckConfig, confidence: float = 0.95):
    from deepchecks.tabular import checks as dc

    limit = config.condition("max_score")
    alpha = (1 - confidence) / max(len(ref.columns), 1)  # Bonferroni: one false alarm in 1/(1-confidence) windows

    def run():
        return dc.FeatureDrift(n_samples=None).run(*_datasets(ref, live, categorical), with_display=True)

    def judge(value: dict) -> tuple[bool, float, str]:
        scores = _scores(value)
        over = {k: _p_value(ref[k], live[k], k in categorical) for k, v in scores.items() if v >= limit}
        drifted = sorted((k for k, p in over.items() if p < alpha), key=lambda k: -scores[k])
        top = max(scores, key=lambda k: scores[k], default=None)
        if drifted:
            message = "drifted: " + ", ".join(f"{k} {scores[k]:.2f} (p {over[k]:.1e})" for k in drifted)
        elif top is None:
            message = "no feature to compare"
        else:
            noise = [f"{k} {scores[k]:.2f} (p {p:.2g})" for k, p in over.items()]
            said = f"; over the limit within the window's noise: {', '.join(noise)}" if noise else ""
            message = f"no feature drifted (max {top} {scores[top]:.3f}){said}"
        return not drifted, max(scores.values(), default=0.0), message

    condition = f"drift score per feature < {limit}, or not significant (p >= {alpha:.2g})"
    return _deepcheck("feature_drift", condition, config, run, judge)


def _scores(value: dict) -> dict[str, float]:
    """Per-feature drift scores; a feature with no value at all has none (None), not a number."""
    return {k: float(v["Drift score"]) for k, v in value.items() if v["Drift score"] is not None}


def _score_drift(ref, live, categorical, ref_scores, live_scores, config: CheckConfig, confidence: float = 0.95):
    from deepchecks.tabular import checks as dc
    from scipy import stats

    limit, alpha = config.condition("max_score"), 1 - confidence

    def run():
        return dc.PredictionDrift().run(
            *_datasets(ref, live, categorical),
            y_proba_train=np.c_[1 - ref_scores, ref_scores],
            y_proba_test=np.c_[1 - live_scores, live_scores],
            model_classes=[0, 1],
        )

    def judge(value: dict) -> tuple[bool, float, str]:
        score, p = float(value["Drift score"]), float(stats.ks_2samp(ref_scores, live_scores).pvalue)
        message = (
            f"{value['Method']} {score:.3f} (p {p:.2g}); mean score {live_scores.mean():.4f} "
            f"live vs {ref_scores.mean():.4f} reference"
        )
        return not (score >= limit and p < alpha), score, message

    return _deepcheck(
        "score_drift", f"score drift < {limit}, or not significant (p >= {alpha:.2g})", config, run, judge
    )


def _prediction_drift(task, reference: np.ndarray, live: np.ndarray, config: CheckConfig, confidence: float):
    """The task's drift of the predictions (multiclass: predicted classes, regression: values) against the
    held-out split's: a finding when the effect size reaches `max_score` and the test at these sizes says so."""
    limit, alpha = config.condition("max_score"), 1 - confidence
    try:
        score, p, measure, message = task.live_drift(reference, live)
    except ValueError as exc:
        return CheckResult("score_drift", False, None, f"< {limit}", f"could not run: {exc}"[:300], config.blocking)
    condition = f"{measure} of the predictions < {limit}, or not significant (p >= {alpha:.2g})"
    passed = not (score >= limit and p < alpha)
    return CheckResult("score_drift", passed, round(score, 6), condition, message[:300], config.blocking)


def _judged(
    intervals: dict[str, Interval], limit: float, values: dict[str, tuple[float, float]]
) -> tuple[bool, float, str]:
    """Worse only where the whole interval of the difference lies below -limit (the model gate's rule); the
    value is the worst difference; the message gives each metric, its reference, the interval and the verdict."""
    verdicts = {m: i.verdict(limit) for m, i in intervals.items()}
    worst = min(intervals, key=lambda m: intervals[m].delta)
    text = "; ".join(
        f"{m} {values[m][0]:.4f} vs {values[m][1]:.4f} ({i.delta:+.4f} [{i.low:+.4f}, {i.high:+.4f}]: {verdicts[m]})"
        for m, i in intervals.items()
    )
    return "worse" not in verdicts.values(), intervals[worst].delta, text


def _estimated(
    ref_scores, live_scores, metrics: list[str], config: CheckConfig, info: dict, monitor: MonitorConfig
) -> CheckResult:
    limit = config.condition("max_drop")
    condition = f"expected drop <= {limit} beyond its {monitor.confidence:.0%} interval (CBPE)"
    tracked = [m for m in metrics if m in RANKING]
    if len(live_scores) == 0 or not tracked:
        why = "every row has a label: measured instead" if len(live_scores) == 0 else f"no metric of {RANKING}"
        return CheckResult("estimated_performance", True, None, condition, why, config.blocking)
    try:
        baseline, current = expected_metrics(ref_scores), expected_metrics(live_scores)
        intervals = expected_difference(live_scores, ref_scores, monitor.resamples, monitor.confidence, monitor.seed)
    except ValueError as exc:
        return CheckResult("estimated_performance", False, None, condition, f"could not run: {exc}", config.blocking)
    intervals = {m: intervals[m] for m in tracked}
    info["estimated"] = {"reference": baseline, "live": current, "rows": len(live_scores)}
    info["estimated"]["intervals"] = {m: {"low": i.low, "high": i.high} for m, i in intervals.items()}
    passed, worst, text = _judged(intervals, limit, {m: (current[m], baseline[m]) for m in tracked})
    return CheckResult(
        "estimated_performance",
        passed,
        worst,
        condition,
        f"expected on {len(live_scores)} unlabeled rows vs the reference: {text}",
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


def _real(
    params: Params, live: pd.DataFrame, config: CheckConfig, info: dict, model_dir: Path, monitor: MonitorConfig
) -> CheckResult:
    limit, least = config.condition("max_drop"), int(config.condition("min_labels"))
    condition = f"drop <= {limit} vs evaluated beyond its {monitor.confidence:.0%} interval (>= {least} labels)"
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
    task = params.data.kind
    try:
        evaluated, source = _evaluated(params, model_dir)
        prediction, classes = task.from_log(labeled)
        y = task.feedback_truth(labeled["mlgate_label"], classes)
        if len(np.unique(task.strata(y))) < 2:
            raise ValueError("intervals need two or more classes (or target values) among the labeled rows")
        scorer = task.scorer(y, prediction, params.evaluate.threshold)
        measured = intervals_of(
            task.strata(y), scorer, task.bootstrapped, monitor.resamples, monitor.confidence, monitor.seed
        )
        tracked = [m for m in params.gates.model.tracked(task) if m in measured and m in evaluated]
        if not tracked:
            raise ValueError(f"no metric of {params.gates.model.tracked(task)} both measured and evaluated")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = f"could not run: {exc.__class__.__name__}: {exc}"[:300]
        return CheckResult("performance", False, None, condition, why, config.blocking)
    intervals = {}
    for m in tracked:  # live against evaluated, + better (the task's direction and unit); the evaluation as is
        base, got = float(evaluated[m]), measured[m]
        low, high = sorted(task.monitored_change(m, got[k], base) for k in ("low", "high"))
        delta = task.monitored_change(m, got["value"], base)
        low, high, delta = (round(v, 6) + 0.0 for v in (low, high, delta))
        intervals[m] = Interval(m, delta, low, high, monitor.confidence, monitor.resamples)
    info["measured"] = {
        "live": measured,
        "evaluated": {m: evaluated.get(m) for m in tracked},
        "evaluated_from": source,
        "rows": len(labeled),
    }
    passed, worst, text = _judged(intervals, limit, {m: (measured[m]["value"], evaluated[m]) for m in tracked})
    return CheckResult(
        "performance", passed, worst, condition, f"on {len(labeled)} labeled rows: {text}", config.blocking
    )


def write_outputs(report: GateReport, results: list, reports_dir: Path) -> tuple[Path, Path]:
    from mlgate.gates.html import write_html

    json_path, html_path = reports_dir / "monitor.json", reports_dir / "monitor.html"
    report.write_json(json_path)
    write_html(report, results, html_path)
    return json_path, html_path
