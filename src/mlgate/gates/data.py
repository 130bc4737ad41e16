"""The data gate: the raw-data contract, deepchecks integrity checks, the train/test split as
`prepare` will make it, and drift against the reference data (what the current model learned from)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlgate.config import CheckConfig, Params
from mlgate.data.io import read_raw
from mlgate.errors import MlgateError
from mlgate.features import feature_spec
from mlgate.gates import checks
from mlgate.gates.result import CheckResult, GateReport
from mlgate.gates.schema import check_schema
from mlgate.pipeline.prepare import clean, split

OWN_CHECKS = {"schema", "class_balance"}


def _sample(frame: pd.DataFrame, rows: int, target: str, seed: int = 0) -> pd.DataFrame:
    """Stratified sample so the rare class keeps its share; small frames pass through."""
    if len(frame) <= rows:
        return frame
    share = rows / len(frame)
    if frame[target].nunique() < 2:
        return frame.sample(rows, random_state=seed)
    return frame.groupby(target, group_keys=False).sample(frac=share, random_state=seed)


def _class_balance(frame: pd.DataFrame, target: str, config: CheckConfig) -> CheckResult:
    lo, hi = config.condition("min_ratio"), config.condition("max_ratio")
    condition = f"{lo} <= positive share <= {hi}"
    labels = pd.to_numeric(frame[target], errors="coerce")
    if labels.nunique() < 2:
        return CheckResult(
            "class_balance",
            False,
            float(labels.mean()) if len(labels) else None,
            condition,
            f"'{target}' has a single class ({labels.dropna().unique().tolist()[:2]})",
            config.blocking,
        )
    share = float((labels == 1).mean())
    ok = lo <= share <= hi
    return CheckResult(
        "class_balance",
        ok,
        share,
        condition,
        f"{share:.2%} of rows are positive" + ("" if ok else " (outside the allowed band)"),
        config.blocking,
    )


def _dataset(frame: pd.DataFrame, params: Params):
    from deepchecks.tabular import Dataset

    frame = frame.drop(columns=[params.data.id_column], errors="ignore")
    spec = feature_spec(frame, params.data)
    return Dataset(frame, label=params.data.target, cat_features=spec.categorical)


def run_deepcheck(name: str, config: CheckConfig, *datasets, model=None) -> tuple[CheckResult, object | None]:
    """Run one deepchecks check; a check that cannot run is a failed check that says why.

    Single-dataset checks get the last dataset (the test split when two are given)."""
    from deepchecks.tabular import TrainTestCheck

    condition = checks.describe(name, config)
    try:
        check = checks.build(name, config)
        if not isinstance(check, TrainTestCheck):
            datasets = datasets[-1:]
        # binary classes stated, so a single-class label fails class_balance, not every check
        result = check.run(*datasets, model=model, model_classes=[0, 1])
        verdicts = result.conditions_results
        passed = all(v.is_pass() for v in verdicts)
        message = " ".join(str(verdicts[0].details).split()) if verdicts else ""
        value = checks.DEEPCHECKS[name].measure(result.value)
        return CheckResult(name, passed, round(value, 6), condition, message[:300], config.blocking), result
    except Exception as exc:  # deepchecks raises many types on degenerate data
        text = " ".join(str(exc).split())[:200]
        return CheckResult(name, False, None, condition, f"could not run: {text}", config.blocking), None


def load_reference(params: Params, rev: str) -> pd.DataFrame | None:
    """The dataset as tracked at `rev` (git ref), via DVC; None when it cannot be had."""
    try:
        import dvc.api

        with dvc.api.open(str(params.data.path), rev=rev) as handle:
            return pd.read_csv(handle, dtype=params.data.read_dtypes())
    except Exception:  # no git, no cache, no remote: nothing to compare against
        return None


def run_data_gate(
    params: Params,
    raw: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    reference_rev: str | None = None,
) -> tuple[GateReport, list]:
    """All data checks configured in params.yaml; returns the report and the deepchecks results."""
    gate = params.gates.data
    configured = gate.checks
    checks.unknown_checks(
        configured, OWN_CHECKS | {n for n, s in checks.DEEPCHECKS.items() if s.scope != "model"}, "gates.data.checks"
    )
    report = GateReport("data", info={"data": str(params.data.path), "reference_rev": reference_rev})
    try:
        raw = read_raw(params.data) if raw is None else raw
    except MlgateError as exc:
        report.checks.append(CheckResult("readable", False, None, "a CSV with a header, rows and the target", str(exc)))
        return report, []
    target = params.data.target
    report.info["rows"] = len(raw)
    if "schema" in configured:
        report.checks.append(check_schema(raw, params.schema_, configured["schema"].blocking))
    if "class_balance" in configured:
        report.checks.append(_class_balance(raw, target, configured["class_balance"]))

    by_scope: dict[str, list[str]] = {}
    for name in configured:
        if name in checks.DEEPCHECKS:
            by_scope.setdefault(checks.DEEPCHECKS[name].scope, []).append(name)
    results = []

    def run_all(scope: str, *frames: pd.DataFrame) -> None:
        datasets = [_dataset(f, params) for f in frames]
        for name in by_scope.get(scope, []):
            verdict, result = run_deepcheck(name, configured[name], *datasets)
            report.checks.append(verdict)
            if result is not None:
                results.append(result)

    run_all("raw", raw)
    run_all("raw_sample", _sample(raw, gate.sample_rows, target))
    if by_scope.get("split"):
        try:
            train, test = split(clean(raw.copy(), params), params)
            run_all("split", _sample(train, gate.sample_rows, target), _sample(test, gate.sample_rows, target))
        except Exception as exc:
            for name in by_scope["split"]:
                report.checks.append(
                    CheckResult(
                        name,
                        False,
                        None,
                        checks.describe(name, configured[name]),
                        f"no train/test split could be made: {exc}",
                        configured[name].blocking,
                    )
                )
    if by_scope.get("reference"):
        _reference_checks(params, raw, reference, reference_rev, by_scope["reference"], report, run_all)
    return report, results


def _reference_checks(params, raw, reference, rev, names, report, run_all) -> None:
    configured = params.gates.data.checks
    rev = rev or params.gates.data.reference_rev
    if reference is None:
        reference = load_reference(params, rev)
    if reference is None or reference.equals(raw):
        why = f"no reference data at {rev}" if reference is None else f"data unchanged since {rev}"
        for name in names:
            report.checks.append(
                CheckResult(
                    name,
                    True,
                    None,
                    checks.describe(name, configured[name]),
                    f"{why}: not compared",
                    configured[name].blocking,
                )
            )
        return
    target, rows = params.data.target, params.gates.data.sample_rows
    run_all("reference", _sample(reference, rows, target), _sample(raw, rows, target))


def write_outputs(report: GateReport, results: list, reports_dir: Path) -> None:
    from mlgate.gates.html import write_html

    report.write_json(reports_dir / f"{report.gate}_gate.json")
    write_html(report, results, reports_dir / f"{report.gate}_gate.html")
