"""The data gate: the raw-data contract, deepchecks integrity checks, the train/test split as
`prepare` will make it, and drift against the reference data (what the current model learned from)."""

from __future__ import annotations

import pandas as pd

from mlgate.config import CheckConfig, Params
from mlgate.data.io import read_raw
from mlgate.errors import MlgateError
from mlgate.gates import checks
from mlgate.gates.chance import Chance, between
from mlgate.gates.common import conflicting_share, dataset, guarded, labeled, sample
from mlgate.gates.html import write_outputs  # noqa: F401  (re-exported: callers import it from here)
from mlgate.gates.reference import Reference, file_sha256, load_reference, unchanged
from mlgate.gates.result import CheckResult, GateReport
from mlgate.gates.schema import check_schema
from mlgate.pipeline.prepare import split
from mlgate.versioning import data_md5


def _class_balance(frame: pd.DataFrame, params: Params, config: CheckConfig) -> CheckResult:
    """The minority class's share of the labeled rows: either class may be the majority."""
    floor = config.condition("min_minority_ratio")
    condition = f"minority class share of labeled rows >= {floor}"
    column, task = frame[params.data.target], params.data.kind
    found = column.dropna().unique().tolist()
    if len(found) == 1:
        return CheckResult(
            "class_balance",
            False,
            0.0,
            condition,
            f"'{params.data.target}' has a single class ({found})",
            config.blocking,
        )
    try:
        labels = task.encode(column, params.data).dropna()
    except MlgateError as exc:
        return CheckResult("class_balance", False, None, condition, str(exc), config.blocking)
    unlabeled = len(column) - len(labels)
    minority, message = task.balance(labels, params.data)
    ok = minority >= floor
    if unlabeled:
        message += f"; {unlabeled} unlabeled rows not counted"
    return CheckResult(
        "class_balance",
        ok,
        round(minority, 6),
        condition,
        message + ("" if ok else " (minority class below the floor)"),
        config.blocking,
    )


def _percent_of_nulls(raw: pd.DataFrame, reference: pd.DataFrame | None, config: CheckConfig) -> CheckResult:
    """Null share per column: an absolute ceiling, and no jump over the reference data where there is one."""
    ceiling, jump = config.condition("max_ratio"), config.condition("max_increase")
    condition = f"null ratio per column <= {ceiling}; increase vs reference <= {jump}"
    ratios = raw.isna().mean()
    problems = [f"{c}: {r:.1%} null" for c, r in ratios.items() if r > ceiling]
    value = float(ratios.max()) if len(ratios) else 0.0
    compared = "no reference data: absolute ceiling only"
    if reference is not None:
        increase = ratios - reference.isna().mean().reindex(ratios.index).fillna(0.0)
        problems += [f"{c}: {ratios[c]:.1%} null, +{d:.1%} vs reference" for c, d in increase.items() if d > jump]
        value = float(increase.max()) if len(increase) else 0.0
        compared = f"largest increase vs reference {value:+.2%}"
    ok = not problems
    message = "; ".join(problems[:3]) + (f"; +{len(problems) - 3} more" if len(problems) > 3 else "")
    worst = ratios.idxmax() if len(ratios) else "-"
    return CheckResult(
        "percent_of_nulls",
        ok,
        round(value, 6),
        condition,
        message if problems else f"most nulls: {worst} {ratios.max():.1%}; {compared}",
        config.blocking,
    )


def _conflicting_labels(data: pd.DataFrame, params: Params, config: CheckConfig) -> CheckResult:
    """Share of labeled rows whose exact features also occur with another label."""
    limit = config.condition("max_ratio")
    ratio = conflicting_share(data, params.data)
    return CheckResult(
        "conflicting_labels",
        ratio <= limit,
        round(ratio, 6),
        f"conflicting labels ratio <= {limit}",
        f"{ratio:.2%} of labeled rows share their features with a row of the other label",
        config.blocking,
    )


def _samples_mix(train: pd.DataFrame, test: pd.DataFrame, params: Params, config: CheckConfig) -> CheckResult:
    """Share of test rows (features and label, not the id) that are also in train: a vectorised row hash
    (deepchecks' TrainTestSamplesMix hashes rows in Python, ~1 s per gate)."""
    limit = config.condition("max_ratio")
    columns = params.data.example_of(test.columns)
    seen = pd.util.hash_pandas_object(train[columns], index=False)
    mixed = pd.util.hash_pandas_object(test[columns], index=False).isin(seen)
    ratio = float(mixed.mean()) if len(test) else 0.0
    return CheckResult(
        "train_test_samples_mix",
        ratio <= limit,
        round(ratio, 6),
        f"test rows also in train <= {limit}",
        f"{int(mixed.sum())} of {len(test)} test rows also in train",
        config.blocking,
    )


def run_deepcheck(
    name: str,
    config: CheckConfig,
    *datasets,
    seed: int = 0,
    model=None,
    display: bool = False,
    chance: Chance = Chance(),
    classes: tuple | None = (0, 1),  # deepchecks' model_classes: the task's
) -> tuple[CheckResult, object | None]:
    """Run one deepchecks check; a check that cannot run is a failed check that says why.

    Single-dataset checks get the last dataset (the test split when two are given). Figures are
    drawn only for the HTML report (`display`): they cost more than most checks."""
    from deepchecks.tabular import TrainTestCheck

    condition = checks.describe(name, config, chance)
    try:
        check = checks.build(name, config, seed, chance)
        if not isinstance(check, TrainTestCheck):
            datasets = datasets[-1:]
        # binary classes stated, so a single-class label fails class_balance, not every check
        result = check.run(
            *datasets, model=model, model_classes=list(classes) if classes else None, with_display=display
        )
        verdicts = result.conditions_results
        passed = all(v.is_pass() for v in verdicts)
        message = " ".join(str(verdicts[0].details).split()) if verdicts else ""
        value = checks.DEEPCHECKS[name].measure(result.value)
        return CheckResult(name, passed, round(value, 6), condition, message[:300], config.blocking), result
    except Exception as exc:  # deepchecks raises many types on degenerate data
        text = " ".join(str(exc).split())[:200]
        message = f"could not run: {exc.__class__.__name__}: {text}"
        return CheckResult(name, False, None, condition, message, config.blocking), None


def _reference(params: Params, raw: pd.DataFrame, given: pd.DataFrame | None, rev: str, working: bool) -> Reference:
    """`working`: `raw` is the data file as read, so its hash can stand for it."""
    ref = Reference(rev, frame=given) if given is not None else load_reference(params, rev, working)
    if ref.frame is not None and ref.frame.equals(raw):
        return Reference(ref.rev, md5=ref.md5, note=unchanged(ref.rev))
    return ref


def run_data_gate(*args, **kwargs) -> tuple[GateReport, list]:
    """All data checks (see _run_data_gate) with BLAS/OpenMP limited to one thread: on samples this size
    thread spin-waits cost more than they save, and much more on a busy shared runner."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _run_data_gate(*args, **kwargs)


def _run_data_gate(
    params: Params,
    raw: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    reference_rev: str | None = None,
    display: bool = False,
) -> tuple[GateReport, list]:
    """All enabled data checks (code defaults, params.yaml overrides); returns the report and deepchecks results."""
    gate, task = params.gates.data, params.data.kind
    enabled = {name: c for name, c in gate.checks.items() if c.enabled and name not in task.data_checks_skipped}
    rev = reference_rev or gate.reference_rev
    report = GateReport("data", info={"data": str(params.data.path), "reference_rev": rev})
    working = raw is None
    if raw is None:
        try:
            raw = read_raw(params.data)
        except MlgateError as exc:
            report.checks.append(
                CheckResult("readable", False, None, "a CSV with a header, rows and the target", str(exc))
            )
            return report, []
        report.info["data_sha256"] = file_sha256(params.data.path)
    report.info["data_md5"] = data_md5()
    target, seed, rows = params.data.target, gate.seed, gate.sample_rows
    report.info["rows"] = len(raw)
    report.info["unlabeled_rows"] = int(raw[target].isna().sum())

    needs_reference = any(n in enabled for n in ("percent_of_nulls", *_scoped(enabled, "reference")))
    ref = _reference(params, raw, reference, rev, working) if needs_reference else None
    if ref is not None:
        report.info["reference_md5"] = ref.md5

    if "schema" in enabled:
        report.checks.append(check_schema(raw, params.schema_, enabled["schema"].blocking))
    if "class_balance" in enabled:
        config = enabled["class_balance"]
        report.checks.append(
            guarded("class_balance", "minority share", config, lambda: _class_balance(raw, params, config))
        )
    if "percent_of_nulls" in enabled:
        config = enabled["percent_of_nulls"]
        ref_frame = ref.frame if ref is not None else None
        # The target's nulls are unlabeled rows, which are supported (kept out of training): class_balance
        # judges the labels.
        features = raw.drop(columns=[params.data.target], errors="ignore")
        report.checks.append(
            guarded("percent_of_nulls", "null ratio", config, lambda: _percent_of_nulls(features, ref_frame, config))
        )

    results: list = []

    def run_all(scope: str, *frames: pd.DataFrame) -> None:
        names = _scoped(enabled, scope)
        if not names:
            return
        try:
            datasets = [dataset(f, params) for f in frames]
            level = between(*datasets, task) if len(datasets) == 2 else Chance()
        except Exception as exc:
            return _fail_all(report, enabled, names, f"could not build the dataset: {exc}")
        for name in names:
            verdict, result = run_deepcheck(
                name,
                enabled[name],
                *datasets,
                seed=seed,
                display=display,
                chance=level,
                classes=task.deepchecks_classes,
            )
            report.checks.append(verdict)
            if result is not None:
                results.append(result)

    try:
        data = labeled(raw, params.data)
    except Exception as exc:  # every check that needed the labels fails with the reason
        names = [n for n in enabled if n in checks.DEEPCHECKS]
        _fail_all(report, enabled, names, f"the target could not be encoded: {exc}")
        return report, results
    if "conflicting_labels" in enabled:
        config = enabled["conflicting_labels"]
        report.checks.append(
            guarded("conflicting_labels", "ratio", config, lambda: _conflicting_labels(data, params, config))
        )
    run_all("raw", data)
    run_all("raw_sample", sample(data, rows, target, seed, task))
    if _scoped(enabled, "split") or "train_test_samples_mix" in enabled:
        try:
            train, test = split(data.drop_duplicates().reset_index(drop=True), params)
        except Exception as exc:
            why = f"no train/test split could be made: {exc}"
            _fail_all(report, enabled, _scoped(enabled, "split"), why)
            if "train_test_samples_mix" in enabled:
                config = enabled["train_test_samples_mix"]
                report.checks.append(CheckResult("train_test_samples_mix", False, None, "ratio", why, config.blocking))
        else:
            if "train_test_samples_mix" in enabled:
                config = enabled["train_test_samples_mix"]
                report.checks.append(
                    guarded(
                        "train_test_samples_mix", "ratio", config, lambda: _samples_mix(train, test, params, config)
                    )
                )
            run_all("split", sample(train, rows, target, seed, task), sample(test, rows, target, seed, task))
    names = _scoped(enabled, "reference")
    if names and ref is not None:
        if ref.error:
            _fail_all(report, enabled, names, ref.error)
        elif ref.frame is None:
            _pass_all(report, enabled, names, ref.note or f"no reference data at {rev}")
        elif target not in ref.frame.columns:
            _pass_all(report, enabled, names, f"not comparable: the reference data at {ref.rev} has no '{target}'")
        else:
            run_all(
                "reference",
                sample(labeled(ref.frame, params.data), rows, target, seed, task),
                sample(data, rows, target, seed, task),
            )
    return report, results


def _scoped(enabled: dict[str, CheckConfig], scope: str) -> list[str]:
    return [n for n in enabled if n in checks.DEEPCHECKS and checks.DEEPCHECKS[n].scope == scope]


def _fail_all(report: GateReport, enabled: dict, names: list[str], why: str) -> None:
    for name in names:
        condition = checks.describe(name, enabled[name])
        report.checks.append(CheckResult(name, False, None, condition, why[:300], enabled[name].blocking))


def _pass_all(report: GateReport, enabled: dict, names: list[str], why: str) -> None:
    for name in names:
        condition = checks.describe(name, enabled[name])
        report.checks.append(CheckResult(name, True, None, condition, why, enabled[name].blocking))
