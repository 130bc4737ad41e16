"""The model gate: absolute floors, a trivial baseline, overfit, calibration, deepchecks model checks, and
non-regression against the base branch's metrics and the model holding the `production` alias."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pandas as pd

from mlgate.config import CheckConfig, Params
from mlgate.fingerprint import model_sha256
from mlgate.gates.baseline import Baseline, Production
from mlgate.gates.common import dataset, guarded, sample
from mlgate.gates.reference import file_sha256
from mlgate.gates.result import CheckResult, GateReport
from mlgate.model_io import load_model
from mlgate.pipeline.metrics import LOWER_IS_BETTER, brier_skill, normalised_lift, score_metrics
from mlgate.versioning import data_md5


def _at_least(name: str, value: float, floor: float, what: str) -> CheckResult:
    ok = value >= floor
    return CheckResult(name, ok, round(value, 6), f">= {floor}", f"{what} {value:.4f} {'>=' if ok else '<'} {floor}")


def _no_regression(
    prefix: str, current: dict, base: dict, metrics: list[str], tol: float, label: str
) -> Iterator[CheckResult]:
    for name in metrics:
        if name not in base or name not in current:
            continue
        drop = current[name] - base[name] if name in LOWER_IS_BETTER else base[name] - current[name]
        ok = drop <= tol
        yield CheckResult(
            f"{prefix}_{name}",
            ok,
            round(-drop, 6) + 0.0,
            f"drop <= {tol}",
            f"{name} {current[name]:.4f} vs {label} {base[name]:.4f} (change {-drop:+.4f})",
        )


def _compare(prefix: str, metrics: dict, other: Baseline | Production, others: dict | None, params: Params):
    """Non-regression checks against `other`, or one check saying why there is no comparison."""
    gate = params.gates.model
    condition = f"drop <= {gate.regression_tolerance}"
    if other.error:
        return [CheckResult(prefix, False, None, condition, other.error)]
    if other.not_comparable:
        return [CheckResult(prefix, True, None, condition, f"not comparable: {other.not_comparable}")]
    if others is None:
        return [CheckResult(prefix, True, None, condition, other.note or f"nothing to compare with ({other.label})")]
    return list(
        _no_regression(prefix, metrics, others, gate.regression_metrics, gate.regression_tolerance, other.label)
    )


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
    gap = metrics["train_pr_auc"] - metrics["pr_auc"]
    out.append(
        CheckResult(
            "overfit_gap",
            gap <= gate.max_overfit_gap,
            round(gap, 6),
            f"<= {gate.max_overfit_gap}",
            f"train PR-AUC {metrics['train_pr_auc']:.4f} - test {metrics['pr_auc']:.4f}",
        )
    )
    return out


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
    base: Baseline | None = None,
    production: Production | None = None,
    display: bool = False,
) -> tuple[GateReport, list]:
    """All model checks; `base` is the base branch's metrics, `production` the live model (None: not asked)."""
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

    base = base or Baseline("base", note="no base given: first run, nothing to compare")
    report.info["base"] = {"label": base.label, **base.info}
    report.checks += _compare("regression_vs_base", metrics, base, base.metrics, params)

    target, threshold = params.data.target, params.evaluate.threshold
    test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
    if production is not None:
        live_metrics = None
        if production.model is not None and not production.error and not production.not_comparable:
            features = [c for c in test.columns if c not in (target, params.data.id_column)]
            try:
                scores = production.model.predict_proba(test[features])[:, 1]
                live_metrics = score_metrics(test[target].to_numpy(), scores, threshold)
            except Exception as exc:  # the live model cannot score this data: an error, not a pass
                production.error = f"{production.label} could not score this test set: {exc}"
        report.info["production"] = {
            "model": production.label,
            **production.info,
            **{k: round(v, 6) for k, v in (live_metrics or {}).items()},
        }
        if production.not_comparable:
            report.info["production"]["not_comparable"] = production.not_comparable
        report.checks += _compare("regression_vs_production", metrics, production, live_metrics, params)

    results: list = []
    if "prediction_drift" in checks or display:
        config = checks.get("prediction_drift")
        seed, rows = params.gates.data.seed, gate.sample_rows
        try:
            model = load_model(params.train.model_dir, params.train.trusted_types)
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

    features = [c for c in test.columns if c not in (params.data.target, params.data.id_column)]
    score = float(
        ks_2samp(model.predict_proba(train[features])[:, 1], model.predict_proba(test[features])[:, 1]).statistic
    )
    chance = ks_chance_level(len(train), len(test))
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


def ks_chance_level(n: int, m: int, coefficient: float = 1.63) -> float:
    """The two-sample KS statistic chance exceeds 1 % of the time for samples of n and m rows."""
    return coefficient * math.sqrt((n + m) / (n * m))


def _guarded_list(name: str, condition: str, run) -> list[CheckResult]:
    try:
        return run()
    except Exception as exc:
        return [CheckResult(name, False, None, condition, f"could not run: {exc.__class__.__name__}: {exc}")]
