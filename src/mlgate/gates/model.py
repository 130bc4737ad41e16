"""The model gate: absolute floors, a trivial baseline, overfit, deepchecks model checks, and
non-regression against the base branch's metrics and the model holding the `production` alias."""

from __future__ import annotations

import json

import pandas as pd

from mlgate.config import Params
from mlgate.gates import checks
from mlgate.gates.data import _dataset, _sample, run_deepcheck
from mlgate.gates.result import CheckResult, GateReport
from mlgate.model_io import load_model
from mlgate.pipeline.metrics import LOWER_IS_BETTER, score_metrics
from mlgate.versioning import git_show


def base_metrics_at(rev: str, path: str) -> dict | None:
    """The metrics file as committed at a git ref; None when the ref or the file is not there."""
    text = git_show(rev, path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _at_least(name: str, value: float, floor: float, what: str) -> CheckResult:
    ok = value >= floor
    return CheckResult(name, ok, round(value, 6), f">= {floor}", f"{what} {value:.4f} {'>=' if ok else '<'} {floor}")


def _no_regression(prefix: str, current: dict, base: dict, metrics: list[str], tol: float, label: str):
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


def run_model_gate(
    params: Params, base: dict | None = None, base_label: str = "base", production: tuple[str, object] | None = None
) -> tuple[GateReport, list]:
    """All model checks; `base` is the base branch's metrics, `production` (label, model) the live one."""
    gate = params.gates.model
    checks.unknown_checks(
        gate.checks, {n for n, s in checks.DEEPCHECKS.items() if s.scope == "model"}, "gates.model.checks"
    )
    metrics = json.loads(params.evaluate.metrics_file.read_text())
    report = GateReport("model", info={"metrics": str(params.evaluate.metrics_file), "base": base_label})

    for name, floor in gate.thresholds.items():
        if name in LOWER_IS_BETTER:
            ok = metrics[name] <= floor
            report.checks.append(
                CheckResult(
                    f"max_{name}",
                    ok,
                    metrics[name],
                    f"<= {floor}",
                    f"{name} {metrics[name]:.4f} {'<=' if ok else '>'} {floor}",
                )
            )
        else:
            report.checks.append(_at_least(f"min_{name}", metrics[name], floor, name))
    baseline = metrics["prevalence"]
    report.checks.append(
        _at_least(
            "beats_baseline",
            metrics["pr_auc"] - baseline,
            gate.baseline_margin,
            f"PR-AUC lift over the trivial baseline ({baseline:.4f}):",
        )
    )
    gap = metrics["train_pr_auc"] - metrics["pr_auc"]
    report.checks.append(
        CheckResult(
            "overfit_gap",
            gap <= gate.max_overfit_gap,
            round(gap, 6),
            f"<= {gate.max_overfit_gap}",
            f"train PR-AUC {metrics['train_pr_auc']:.4f} - test {metrics['pr_auc']:.4f}",
        )
    )

    tol = gate.regression_tolerance
    if base is None:
        report.checks.append(
            CheckResult(
                "regression_vs_base",
                True,
                None,
                f"drop <= {tol}",
                f"no base metrics ({base_label}): first run, nothing to compare",
            )
        )
    else:
        report.checks += _no_regression("regression_vs_base", metrics, base, gate.regression_metrics, tol, base_label)

    target, threshold = params.data.target, params.evaluate.threshold
    test = pd.read_parquet(params.prepare.output_dir / "test.parquet")
    if production is not None:
        label, live = production
        features = [c for c in test.columns if c not in (target, params.data.id_column)]
        live_metrics = score_metrics(test[target].to_numpy(), live.predict_proba(test[features])[:, 1], threshold)
        report.info["production"] = {"model": label, **{k: round(v, 6) for k, v in live_metrics.items()}}
        report.checks += _no_regression(
            "regression_vs_production", metrics, live_metrics, gate.regression_metrics, tol, label
        )

    results = []
    if gate.checks:
        model = load_model(params.train.model_dir, params.train.trusted_types)
        train = _sample(pd.read_parquet(params.prepare.output_dir / "train.parquet"), 10_000, target)
        test = _sample(test, 10_000, target)
        train_ds, test_ds = _dataset(train, params), _dataset(test, params)
        for name, config in gate.checks.items():
            verdict, result = run_deepcheck(name, config, train_ds, test_ds, model=model)
            report.checks.append(verdict)
            if result is not None:
                results.append(result)
    return report, results
