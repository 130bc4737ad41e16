"""The model gate: absolute floors, a trivial baseline, overfit, calibration, deepchecks model checks, and
non-inferiority against each champion (the base revision's model, the production model) scored on this
run's test rows, judged by paired bootstrap intervals (gates/compare.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mlgate.config import LOWER_IS_BETTER, CheckConfig, Params
from mlgate.explain.gate import add_to_gate
from mlgate.fingerprint import model_sha256
from mlgate.gates.baseline import Champion
from mlgate.gates.chance import ks_level
from mlgate.gates.common import dataset, guarded, sample
from mlgate.gates.compare import compare
from mlgate.gates.reference import file_sha256
from mlgate.gates.result import CheckResult, GateReport
from mlgate.model_io import load_model
from mlgate.pipeline.metrics import brier_skill, normalised_lift
from mlgate.versioning import data_md5


def _at_least(name: str, value: float, floor: float, what: str) -> CheckResult:
    ok = value >= floor
    return CheckResult(name, ok, round(value, 6), f">= {floor}", f"{what} {value:.4f} {'>=' if ok else '<'} {floor}")


def _floors(metrics: dict, params: Params) -> list[CheckResult]:
    gate, out = params.gates.model, []
    for name, floor in gate.thresholds.items():
        if name in LOWER_IS_BETTER:
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
    prevalence = metrics["prevalence"]
    lift = normalised_lift(metrics["pr_auc"], prevalence)
    out.append(
        CheckResult(
            "beats_baseline",
            lift >= gate.baseline_margin,
            round(lift, 6),
            f"(PR-AUC - p) / (1 - p) >= {gate.baseline_margin}, p = prevalence",
            f"PR-AUC {metrics['pr_auc']:.4f} vs the trivial baseline {prevalence:.4f}: normalised lift {lift:.4f}",
        )
    )
    return out


def overfit_gap(metrics: dict, y: np.ndarray | None, scores: np.ndarray | None, params: Params) -> CheckResult:
    """Train PR-AUC - test PR-AUC <= max_overfit_gap, where the test rows can tell: on a few hundred rows the
    test PR-AUC moves by more than the limit. A gap past the limit fails only when even the upper end of the
    test PR-AUC's bootstrap interval (gates.model.non_inferiority's settings) is further below train."""
    limit, train, test = params.gates.model.max_overfit_gap, metrics["train_pr_auc"], metrics["pr_auc"]
    gap = train - test
    condition = f"train - test PR-AUC <= {limit}, beyond the test rows' noise (the upper end of its interval)"
    message = f"train PR-AUC {train:.4f} - test {test:.4f}"
    if gap <= limit:
        return CheckResult("overfit_gap", True, round(gap, 6), condition, message)
    fix = (
        "; a model that memorises its train split: regularise it (e.g. train.hyperparams min_samples_leaf up, "
        "max_iter or max_depth down) or raise gates.model.max_overfit_gap"
    )
    if y is None or scores is None:
        return CheckResult("overfit_gap", False, round(gap, 6), condition, message + " (no test scores)" + fix)
    from mlgate.evidence.bootstrap import metric_intervals

    config = params.gates.model.non_inferiority
    high = metric_intervals(y, scores, params.evaluate.threshold, config.resamples, config.confidence, config.seed)[
        "pr_auc"
    ]["high"]
    resolved = train - high > limit
    message += (
        f": the {config.confidence:.0%} interval of the test PR-AUC on {len(y)} test rows reaches {high:.4f}, "
        f"train - that = {train - high:.4f} {'>' if resolved else '<='} {limit}"
    )
    return CheckResult("overfit_gap", not resolved, round(gap, 6), condition, message + (fix if resolved else ""))


def _calibration(metrics: dict, params: Params) -> CheckResult:
    config = params.gates.model.checks["calibration"]
    floor = config.condition("min_brier_skill")
    skill = brier_skill(metrics["brier"], metrics["prevalence"])
    return CheckResult(
        "calibration",
        skill >= floor,
        round(skill, 6),
        f"Brier skill 1 - Brier / (p (1 - p)) >= {floor}",
        f"Brier {metrics['brier']:.4f} vs {metrics['prevalence'] * (1 - metrics['prevalence']):.4f} for a constant "
        f"prevalence guess: skill {skill:.4f}",
        config.blocking,
    )


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
    """All model checks; `base` is the base revision's model, `production` the live model (None: not asked)."""
    gate = params.gates.model
    report = GateReport("model", info={"metrics": str(params.evaluate.metrics_file)})
    try:
        metrics = json.loads(params.evaluate.metrics_file.read_text())
    except Exception as exc:
        report.checks.append(CheckResult("readable", False, None, "a metrics file from `mlgate evaluate`", str(exc)))
        return report, []
    try:
        report.info["model_sha256"] = model_sha256(params.train.model_dir)
    except Exception as exc:  # a verdict must name the model it judged
        report.checks.append(CheckResult("model_fingerprint", False, None, "the model bundle can be hashed", str(exc)))
    report.info["data_md5"] = data_md5()
    report.info["data_sha256"] = file_sha256(params.data.path)

    report.checks += _guarded_list("metric_floors", "floors", lambda: _floors(metrics, params))
    checks = {n: c for n, c in gate.checks.items() if c.enabled}
    if "calibration" in checks:
        report.checks.append(
            guarded("calibration", "Brier skill", checks["calibration"], lambda: _calibration(metrics, params))
        )

    target = params.data.target
    test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
    features = params.data.features_of(test.columns)
    y = test[target].to_numpy().astype(int)
    model, scores = None, None
    try:
        model = load_model(params.train.model_dir, params.train.trusted_types)
        scores = np.asarray(model.predict_proba(test[features])[:, 1], dtype=float)
    except Exception as exc:  # every comparison then fails, saying why
        report.info["scoring_error"] = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"
    report.checks += _guarded_list(
        "overfit_gap", f"<= {gate.max_overfit_gap}", lambda: [overfit_gap(metrics, y, scores, params)]
    )
    md5 = _short_hash(report.info["data_md5"])
    sha = report.info.get("model_sha256", "?")[:12]
    base = base or Champion("base", note="no base given: first run, nothing to compare")
    champions = [("regression_vs_base", "base", base)]
    if production is not None:
        champions.append(("regression_vs_production", "production", production))
    for prefix, key, champion in champions:
        sides = (
            f"both scored on this run's {len(y)} test rows, data {md5}; this run's model {sha} learned "
            f"from data {md5}, {champion.label} from data {_short_hash(champion.info.get('data_md5'))}"
        )
        if scores is None:
            sides = f"this run's model could not score its test rows: {report.info['scoring_error']}"
        found, info = compare(prefix, champion, y, scores, test[features], sides, params)
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
            train = sample(pd.read_parquet(params.prepare.output_dir / "train.parquet"), rows, target, seed)
            test = sample(test, rows, target, seed)
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
    """Kolmogorov-Smirnov distance between the train and test score distributions (deepchecks' PredictionDrift
    measure, computed with scipy so the gate needs no deepchecks import unless figures are asked for)."""
    from scipy.stats import ks_2samp

    features = params.data.features_of(test.columns)
    score = float(
        ks_2samp(model.predict_proba(train[features])[:, 1], model.predict_proba(test[features])[:, 1]).statistic
    )
    chance = ks_level(len(train), len(test))
    limit = max(config.condition("max_score"), chance)
    return CheckResult(
        "prediction_drift",
        score < limit,
        round(score, 6),
        f"train/test prediction drift (KS) < {round(limit, 4)} (max_score, or the 1 % chance level at these sizes)",
        f"KS distance of train and test scores {score:.4f} ({len(train)} / {len(test)} rows)",
        config.blocking,
    )


def _figures(model, train: pd.DataFrame, test: pd.DataFrame, params: Params) -> list:
    """deepchecks' own calibration and prediction-drift figures for the HTML report (verdicts are ours)."""
    from mlgate.gates.checks import dc

    datasets = dataset(train, params), dataset(test, params)
    checks = (dc.CalibrationScore(), dc.PredictionDrift(random_state=params.gates.data.seed))
    return [
        c.run(*datasets[-1:] if isinstance(c, dc.CalibrationScore) else datasets, model=model, model_classes=[0, 1])
        for c in checks
    ]


def _short_hash(md5: str | None) -> str:
    return md5[:8] if md5 else "(no data.dvc)"


def _guarded_list(name: str, condition: str, run) -> list[CheckResult]:
    try:
        return run()
    except Exception as exc:
        return [CheckResult(name, False, None, condition, f"could not run: {exc.__class__.__name__}: {exc}")]
