"""The model gate: absolute floors, a trivial baseline, overfit, calibration (or residual bias), prediction drift,
and non-inferiority against each champion (the base revision's model, the production model) scored on this
run's test rows, judged by paired bootstrap intervals (gates/compare.py). The task (mlgate/task.py) gives the
metrics, the baseline and which checks apply."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlgate.config import CheckConfig, Params
from mlgate.explain.gate import add_to_gate
from mlgate.fingerprint import model_sha256
from mlgate.gates.baseline import Champion
from mlgate.gates.common import dataset, guarded, sample
from mlgate.gates.compare import compare
from mlgate.gates.reference import file_sha256
from mlgate.gates.result import CheckResult, GateReport
from mlgate.model_io import load_model
from mlgate.versioning import data_md5

SHOWN = {"pr_auc": "PR-AUC", "roc_auc": "ROC-AUC", "r2": "R²"}  # how a message names a metric


def _at_least(name: str, value: float, floor: float, what: str) -> CheckResult:
    ok = value >= floor
    return CheckResult(name, ok, round(value, 6), f">= {floor}", f"{what} {value:.4f} {'>=' if ok else '<'} {floor}")


def _floors(metrics: dict, params: Params) -> list[CheckResult]:
    gate, out, task = params.gates.model, [], params.data.kind
    for name, floor in gate.thresholds.items():
        if name in task.lower_is_better:
            ok = metrics[name] <= floor
            out.append(
                CheckResult(
                    f"max_{name}",
                    ok,
                    metrics[name],
                    f"<= {floor}",
                    f"{name} {metrics[name]:.4f} {'<=' if ok else '>'} {floor}",
                )
            )
        else:
            out.append(_at_least(f"min_{name}", metrics[name], floor, name))
    lift, condition, message = task.baseline(metrics)
    out.append(
        CheckResult(
            "beats_baseline",
            lift >= gate.baseline_margin,
            round(lift, 6),
            condition.format(margin=gate.baseline_margin),
            message,
        )
    )
    return out


def overfit_gap(metrics: dict, y: np.ndarray | None, scores: np.ndarray | None, params: Params) -> CheckResult:
    """Train - test of the task's headline metric (binary PR-AUC) <= max_overfit_gap, where the test rows can
    tell: on a few hundred rows the test metric moves by more than the limit. A gap past the limit fails only when
    even the upper end of the test metric's bootstrap interval (gates.model.non_inferiority's settings) is further
    below train."""
    task = params.data.kind
    name = task.headline
    shown = SHOWN.get(name, name)
    limit, train, test = params.gates.model.max_overfit_gap, metrics[f"train_{name}"], metrics[name]
    gap = train - test
    condition = f"train - test {shown} <= {limit}, beyond the test rows' noise (the upper end of its interval)"
    message = f"train {shown} {train:.4f} - test {test:.4f}"
    if gap <= limit:
        return CheckResult("overfit_gap", True, round(gap, 6), condition, message)
    fix = (
        "; a model that memorises its train split: regularise it (e.g. train.hyperparams min_samples_leaf up, "
        "max_iter or max_depth down) or raise gates.model.max_overfit_gap"
    )
    if y is None or scores is None:
        return CheckResult("overfit_gap", False, round(gap, 6), condition, message + " (no test scores)" + fix)
    from mlgate.evidence.bootstrap import intervals_of

    config = params.gates.model.non_inferiority
    scorer = task.scorer(y, scores, params.evaluate.threshold)
    high = intervals_of(task.strata(y), scorer, (name,), config.resamples, config.confidence, config.seed)[name]["high"]
    resolved = train - high > limit
    message += (
        f": the {config.confidence:.0%} interval of the test {shown} on {len(y)} test rows reaches {high:.4f}, "
        f"train - that = {train - high:.4f} {'>' if resolved else '<='} {limit}"
    )
    return CheckResult("overfit_gap", not resolved, round(gap, 6), condition, message + (fix if resolved else ""))


def _calibration(metrics: dict, params: Params) -> CheckResult:
    config = params.gates.model.checks["calibration"]
    floor = config.condition("min_brier_skill")
    skill, condition, message = params.data.kind.calibration(metrics)
    return CheckResult(
        "calibration", skill >= floor, round(skill, 6), f"{condition} >= {floor}", message, config.blocking
    )


def _residual_bias(y: np.ndarray | None, values: np.ndarray | None, params: Params) -> CheckResult:
    config = params.gates.model.checks["residual_bias"]
    limit = config.condition("max_ratio")
    condition = f"|mean residual| / target std <= {limit} (or the 1 % noise of a mean of these residuals)"
    if y is None or values is None:
        return CheckResult("residual_bias", False, None, condition, "no test predictions", config.blocking)
    ratio, held, message = params.data.kind.residual_bias(y, values, limit)
    return CheckResult("residual_bias", ratio <= held, round(ratio, 6), condition, message, config.blocking)


@dataclass
class Inputs:
    """What the model gate judges, read by `run_model_gate`; `judge` reads no file."""

    metrics: dict
    test: pd.DataFrame
    train: pd.DataFrame | None = None  # None: unreadable, `train_error` says why (prediction drift then fails)
    model: Any = None  # None: could not load or score, `scoring_error` says why (every comparison then fails)
    scoring_error: str | None = None
    train_error: str | None = None
    info: dict = field(default_factory=dict)  # the model's fingerprint and the data's hashes, as the verdict names them
    problems: list[CheckResult] = field(default_factory=list)  # what could not be read (the fingerprint), failed


def run_model_gate(*args, **kwargs) -> tuple[GateReport, list]:
    """All model checks (see _run_model_gate), the model's BLAS/OpenMP threads limited to one.

    Scoring a few thousand rows, thread start-up and spin-waits cost more than they save; on a busy
    2-core runner they made prediction 5x slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run_model_gate(*args, **kwargs)


def _run_model_gate(
    params: Params,
    base: Champion | None = None,
    production: Champion | None = None,
    display: bool = False,
) -> tuple[GateReport, list]:
    """The thin shell: read the metrics, the split and the model, then `judge` them."""
    try:
        metrics = json.loads(params.evaluate.metrics_file.read_text())
    except Exception as exc:
        report = GateReport("model", info={"metrics": str(params.evaluate.metrics_file)})
        report.checks.append(CheckResult("readable", False, None, "a metrics file from `mlgate evaluate`", str(exc)))
        return report, []
    inputs = Inputs(metrics, pd.read_parquet(params.prepare.output_dir / "test.parquet"))
    try:
        inputs.info["model_sha256"] = model_sha256(params.train.model_dir)
    except Exception as exc:  # a verdict must name the model it judged
        inputs.problems.append(
            CheckResult("model_fingerprint", False, None, "the model bundle can be hashed", str(exc))
        )
    inputs.info["data_md5"] = data_md5()
    inputs.info["data_sha256"] = file_sha256(params.data.path)
    try:
        inputs.model = load_model(params.train.model_dir, params.train.trusted_types)
    except Exception as exc:
        inputs.scoring_error = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"
    try:
        inputs.train = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    except Exception as exc:
        inputs.train_error = str(exc)
    return judge(params, inputs, base, production, display)


def judge(
    params: Params,
    inputs: Inputs,
    base: Champion | None = None,
    production: Champion | None = None,
    display: bool = False,
) -> tuple[GateReport, list]:
    """The pure core: every model check on loaded inputs; `base` is the base revision's model, `production`
    the live model (None: not asked). Returns the report and deepchecks' figures (when `display`)."""
    gate, metrics, test = params.gates.model, inputs.metrics, inputs.test
    report = GateReport("model", info={"metrics": str(params.evaluate.metrics_file), **inputs.info})
    report.checks += inputs.problems

    task = params.data.kind
    report.info["task"] = task.name
    report.checks += _guarded_list("metric_floors", "floors", lambda: _floors(metrics, params))
    checks = {n: c for n, c in gate.checks.items() if c.enabled and n in task.model_checks}
    if "calibration" in checks:
        report.checks.append(
            guarded("calibration", "Brier skill", checks["calibration"], lambda: _calibration(metrics, params))
        )

    target = params.data.target
    features = params.data.features_of(test.columns)
    model, scores, y = inputs.model, None, None
    if inputs.scoring_error:
        report.info["scoring_error"] = inputs.scoring_error
    try:
        if model is not None:
            y = task.truth(test[target], model)
            scores = task.predict(model, test[features])
    except Exception as exc:  # every comparison then fails, saying why
        report.info["scoring_error"] = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"
    if "residual_bias" in checks:
        report.checks.append(
            guarded("residual_bias", "ratio", checks["residual_bias"], lambda: _residual_bias(y, scores, params))
        )
    report.checks += _guarded_list(
        "overfit_gap", f"<= {gate.max_overfit_gap}", lambda: [overfit_gap(metrics, y, scores, params)]
    )
    md5 = _short_hash(report.info.get("data_md5"))
    sha = report.info.get("model_sha256", "?")[:12]
    base = base or Champion("base", note="no base given: first run, nothing to compare")
    if base.same_as_this:
        why = f"this run's model, which stands for {base.label}'s, could not be loaded: {inputs.scoring_error}"
        base = replace(base, model=model) if model is not None else replace(base, error=why)
    champions = [("regression_vs_base", "base", base)]
    if production is not None:
        champions.append(("regression_vs_production", "production", production))
    for prefix, key, champion in champions:
        sides = (
            f"both scored on this run's {len(test)} test rows, data {md5}; this run's model {sha} learned "
            f"from data {md5}, {champion.label} from data {_short_hash(champion.info.get('data_md5'))}"
        )
        if scores is None:
            sides = f"this run's model could not score its test rows: {report.info['scoring_error']}"
        found, info = compare(prefix, champion, y, scores, test[features], sides, params, model)
        report.checks += found
        report.info[key] = info

    add_to_gate(report, params, test, model, champions)  # behaviour checks; explanations (never blocking)
    results: list = []
    if "prediction_drift" in checks or display:
        config = checks.get("prediction_drift")
        seed, rows = params.gates.data.seed, gate.sample_rows
        try:
            if model is None:
                raise ValueError(f"this run's model could not score its test rows: {report.info['scoring_error']}")
            if inputs.train is None:
                raise ValueError(inputs.train_error)
            train = sample(inputs.train, rows, target, seed, task)
            test = sample(test, rows, target, seed, task)
            if config is not None:
                report.checks.append(
                    guarded(
                        "prediction_drift", "KS", config, lambda: _prediction_drift(model, train, test, params, config)
                    )
                )
            if display:
                results = _figures(model, train, test, params)
        except Exception as exc:  # the model or the split cannot be read: every check that needed them fails
            if config is not None:
                report.checks.append(
                    CheckResult("prediction_drift", False, None, "KS", f"could not run: {exc}", config.blocking)
                )
    return report, results


def _prediction_drift(model, train: pd.DataFrame, test: pd.DataFrame, params: Params, config: CheckConfig):
    """The train and test predictions' distance: KS of scores or values (deepchecks' PredictionDrift measure,
    computed with scipy so the gate needs no deepchecks import unless figures are asked for), Cramér's V of the
    predicted classes for multiclass."""
    task = params.data.kind
    features = params.data.features_of(test.columns)
    score, chance, measure, message = task.prediction_drift(
        task.predict(model, train[features]), task.predict(model, test[features])
    )
    limit = max(config.condition("max_score"), chance)
    return CheckResult(
        "prediction_drift",
        score < limit,
        round(score, 6),
        f"train/test prediction drift ({measure}) < {round(limit, 4)} (max_score, or the 1 % chance level at these "
        "sizes)",
        f"{message} ({len(train)} / {len(test)} rows)",
        config.blocking,
    )


def _figures(model, train: pd.DataFrame, test: pd.DataFrame, params: Params) -> list:
    """deepchecks' own calibration and prediction-drift figures for the HTML report (verdicts are ours)."""
    from mlgate.gates.checks import dc

    task = params.data.kind
    datasets = dataset(train, params), dataset(test, params)
    checks = (dc.CalibrationScore(),) if "calibration" in task.model_checks else ()
    checks += (dc.PredictionDrift(random_state=params.gates.data.seed),)
    classes = task.deepchecks_classes
    return [
        c.run(
            *datasets[-1:] if isinstance(c, dc.CalibrationScore) else datasets,
            model=model,
            model_classes=list(classes) if classes else None,
        )
        for c in checks
    ]


def _short_hash(md5: str | None) -> str:
    return md5[:8] if md5 else "(no data.dvc)"


def _guarded_list(name: str, condition: str, run) -> list[CheckResult]:
    try:
        return run()
    except Exception as exc:
        return [CheckResult(name, False, None, condition, f"could not run: {exc.__class__.__name__}: {exc}")]
