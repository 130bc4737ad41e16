"""Each kind of broken dataset fails the data gate, naming the check that caught it; the clean sample passes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.data.generate import generate
from mlgate.gates.data import run_data_gate
from tests.conftest import edit_params, invoke_cli


def _missing_column(df):
    return df.drop(columns=["hour"])


def _wrong_dtype(df):
    return df.assign(amount=df["amount"].astype(str) + " USD")


def _null_spike(df):
    df = df.copy()
    df.loc[df.sample(frac=0.3, random_state=1).index, "amount"] = np.nan
    return df


def _duplicated_rows(df):
    return pd.concat([df, df.sample(frac=0.1, random_state=1)], ignore_index=True)


def _leaking_feature(df):
    # a valid-looking column that is really the label: velocity "knows" the outcome
    return df.assign(tx_count_24h=df["is_fraud"] * 60 + (df.index % 3))


def _unseen_categories(df):
    df = df.copy()
    df.loc[df.sample(frac=0.05, random_state=1).index, "country"] = "ZZ"
    return df


def _single_class(df):
    return df.assign(is_fraud=0)


def _out_of_range(df):
    df = df.copy()
    df.loc[:50, "hour"] = 31
    df.loc[51:80, "amount"] = -10.0
    return df


def _conflicting_labels(df):
    flipped = df.sample(frac=0.05, random_state=2).assign(is_fraud=lambda d: 1 - d["is_fraud"])
    return pd.concat([df, flipped], ignore_index=True)


def _string_variants(df):
    df = df.copy()
    df.loc[df.sample(frac=0.2, random_state=3).index, "channel"] = "Online "
    return df


CORRUPTIONS = {
    "missing_column": (_missing_column, "schema", "missing column 'hour'"),
    "wrong_dtype": (_wrong_dtype, "schema", "amount"),
    "null_spike": (_null_spike, "percent_of_nulls", "amount"),
    "duplicated_rows": (_duplicated_rows, "data_duplicates", ""),
    "leaking_feature": (_leaking_feature, "feature_label_correlation", "tx_count_24h"),
    "unseen_categories": (_unseen_categories, "schema", "country"),
    "single_class_target": (_single_class, "class_balance", "single class"),
    "out_of_range": (_out_of_range, "schema", "hour"),
    "conflicting_labels": (_conflicting_labels, "conflicting_labels", ""),
    "string_variants": (_string_variants, "string_mismatch", ""),
}


def _with_checks(params, checks: dict):
    data_gate = params.gates.data.model_copy(update={"checks": checks})
    return params.model_copy(update={"gates": params.gates.model_copy(update={"data": data_gate})})


def _failed(report) -> dict:
    return {c.name: c for c in report.checks if not c.passed and c.blocking}


@pytest.mark.smoke
def test_clean_sample_passes(params, sample):
    report, results = run_data_gate(params, raw=sample, reference=sample)
    assert report.passed, report.table()
    assert results, "deepchecks results feed the HTML report"


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corruption_fails_the_named_check(params, sample, kind):
    corrupt, check, fragment = CORRUPTIONS[kind]
    report, _ = run_data_gate(params, raw=corrupt(sample), reference=sample)
    failed = _failed(report)
    assert not report.passed
    assert check in failed, report.table()
    assert fragment in failed[check].message
    assert failed[check].condition  # every verdict says what it was held to


def test_shifted_distribution_fails_reference_drift(params, sample):
    shifted = generate(len(sample), seed=8, shift=1.0)
    report, _ = run_data_gate(params, raw=shifted, reference=sample)
    failed = _failed(report)
    assert "reference_feature_drift" in failed and "reference_label_drift" in failed, report.table()
    assert failed["reference_feature_drift"].value > params.gates.data.checks["reference_feature_drift"].condition(
        "max_score"
    )


def test_advisory_check_warns_without_blocking(params, sample):
    advisory = params.gates.data.checks["class_balance"].model_copy(update={"blocking": False})
    checks = {**params.gates.data.checks, "class_balance": advisory}
    relaxed = params.model_copy(
        update={
            "gates": params.gates.model_copy(update={"data": params.gates.data.model_copy(update={"checks": checks})})
        }
    )
    report, _ = run_data_gate(relaxed, raw=_single_class(sample), reference=sample)
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["class_balance"] == "warn"


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ({"telepathy": {}}, r"gates\.data\.checks: unknown check\(s\) \['telepathy'\]"),
        (
            {"class_balance": {"max_ratio": 0.5}},
            r"gates\.data\.checks: class_balance: unknown key\(s\) \['max_ratio'\]",
        ),
        (
            {"percent_of_nulls": {"max_ratio": "lots"}},
            r"percent_of_nulls\.max_ratio: expected a finite number, got 'lots'",
        ),
    ],
    ids=["unknown-check", "unknown-key", "not-a-number"],
)
def test_bad_check_in_params_is_a_one_line_error(workdir, checks, message):
    from mlgate.config import load_params
    from mlgate.errors import MlgateError

    edit_params(workdir / "params.yaml", "gates.data.checks", checks)
    with pytest.raises(MlgateError, match=message) as caught:
        load_params(workdir / "params.yaml")
    assert "\n" not in str(caught.value)


def test_params_override_merges_over_the_code_defaults(workdir):
    from mlgate.config import DATA_CHECK_DEFAULTS, MODEL_CHECK_DEFAULTS, load_params

    edit_params(workdir / "params.yaml", "gates.data.checks", {"percent_of_nulls": {"blocking": False}})
    edit_params(workdir / "params.yaml", "gates.model.checks", {"calibration": {"min_brier_skill": 0.2}})
    p = load_params(workdir / "params.yaml")
    nulls = p.gates.data.checks["percent_of_nulls"]
    assert (
        nulls.blocking is False and nulls.condition("max_ratio") == DATA_CHECK_DEFAULTS["percent_of_nulls"]["max_ratio"]
    )
    assert set(p.gates.data.checks) == set(DATA_CHECK_DEFAULTS)  # the unlisted checks run with their defaults
    assert p.gates.model.checks["calibration"].condition("min_brier_skill") == 0.2
    assert set(p.gates.model.checks) == set(MODEL_CHECK_DEFAULTS)


def test_cli_fails_with_table_json_and_html(workdir, sample):
    _single_class(sample).to_csv(workdir / "data/transactions.csv", index=False)
    result = invoke_cli("gate", "data", cwd=workdir)
    assert result.returncode == 1
    assert "data gate failed: class_balance" in result.stderr
    table = result.stdout.splitlines()
    assert table[0] == "data gate: FAILED" and table[2].startswith("FAIL") and "class_balance" in table[2]
    verdict = json.loads((workdir / "reports/data_gate.json").read_text())
    assert verdict["passed"] is False
    first = verdict["checks"][0]
    assert {"name", "passed", "value", "condition", "message"} <= first.keys() and first["name"] == "class_balance"
    html = workdir / "reports/data_gate.html"
    assert html.stat().st_size < 10 * 1024 * 1024 and b"class_balance" in html.read_bytes()


def test_empty_file_fails_readable(workdir):
    (workdir / "data/transactions.csv").write_text("")
    result = invoke_cli("gate", "data", cwd=workdir)
    assert result.returncode == 1 and "readable" in result.stderr
    assert "file is empty" in result.stdout


def _git(cwd, *args):
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True
    )


def _statuses(report, names) -> dict:
    return {c.name: (c.passed, c.message) for c in report.checks if c.name in names}


REFERENCE_CHECKS = ("reference_feature_drift", "reference_label_drift")


def test_reference_lookup_fails_closed_but_nothing_to_compare_passes(workdir, params, sample):
    no_repo, _ = run_data_gate(params, raw=sample, reference_rev="main")
    assert all(ok for ok, _ in _statuses(no_repo, REFERENCE_CHECKS).values())

    _git(workdir, "init", "-q")
    _git(workdir, "commit", "-q", "--allow-empty", "-m", "root")
    missing_rev, _ = run_data_gate(params, raw=sample, reference_rev="origin/main")
    for ok, message in _statuses(missing_rev, REFERENCE_CHECKS).values():
        assert not ok and "'origin/main' not found" in message
    assert not missing_rev.passed

    first, _ = run_data_gate(params, raw=sample, reference_rev="previous")  # the root commit has no parent
    assert all(ok and "nothing to compare with yet" in m for ok, m in _statuses(first, REFERENCE_CHECKS).values())

    (workdir / "data.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  path: data\n")
    _git(workdir, "add", "data.dvc")
    _git(workdir, "commit", "-qm", "data tracked, but its bytes are in no cache or remote")
    (workdir / "data.dvc").unlink()
    broken, _ = run_data_gate(params, raw=sample, reference_rev="HEAD")
    for ok, message in _statuses(broken, REFERENCE_CHECKS).values():
        assert not ok and "could not be read (it must be in the DVC cache or remote: dvc push" in message, message
    assert broken.info["reference_md5"] == "0123456789abcdef0123456789abcdef"

    advisory = {
        **params.gates.data.checks,
        **{n: params.gates.data.checks[n].model_copy(update={"blocking": False}) for n in REFERENCE_CHECKS},
    }
    relaxed, _ = run_data_gate(_with_checks(params, advisory), raw=sample, reference_rev="HEAD")
    assert relaxed.passed, relaxed.table()


def test_data_unchanged_since_the_reference_is_known_from_its_hash_without_reading_the_revision(workdir, params):
    """The common case (a PR or push that did not touch data/): the working data hashes to what data.dvc recorded
    at the revision, so those are its bytes. The gate says so without DVC opening the revision, which needs the
    bytes in a cache (none here) and cost 2 s; a data file that differs still reads the revision, and fails closed."""
    from mlgate.versioning import tree_md5

    _git(workdir, "init", "-q")
    (workdir / "data.dvc").write_text(f"outs:\n- md5: {tree_md5(workdir / 'data')}\n  path: data\n")
    _git(workdir, "add", "data.dvc")
    _git(workdir, "commit", "-qm", "data tracked; its bytes are in no cache or remote")
    same, _ = run_data_gate(params, reference_rev="HEAD")
    for ok, message in _statuses(same, REFERENCE_CHECKS).values():
        assert ok and "data unchanged since HEAD" in message, message
    assert same.info["reference_md5"] == tree_md5(workdir / "data").removesuffix(".dir")

    data = workdir / params.data.path
    elsewhere = workdir / "other.csv"
    elsewhere.write_text(data.read_text() + data.read_text().splitlines()[-1] + "\n")  # one row more
    outside = params.model_copy(update={"data": params.data.model_copy(update={"path": Path("data/../other.csv")})})
    beside, _ = run_data_gate(outside, reference_rev="HEAD")  # data/ unchanged, but the data is not in it
    data.write_text(elsewhere.read_text())
    changed, _ = run_data_gate(params, reference_rev="HEAD")
    for report in (beside, changed):
        for ok, message in _statuses(report, REFERENCE_CHECKS).values():
            assert not ok and "could not be read" in message, message


def test_nulls_are_judged_against_the_reference(params, sample):
    sparse = sample.assign(customer_age=np.where(np.arange(len(sample)) % 10 < 6, np.nan, sample["customer_age"]))
    alone, _ = run_data_gate(params, raw=sparse)  # 60 % nulls in a column is ordinary real data
    assert _statuses(alone, ["percent_of_nulls"])["percent_of_nulls"][0], alone.table()
    same, _ = run_data_gate(params, raw=sparse, reference=sparse.sample(frac=1.0, random_state=0))
    assert same.passed, same.table()
    jumped, _ = run_data_gate(params, raw=sparse, reference=sample)
    assert "percent_of_nulls" in _failed(jumped) and "customer_age" in _failed(jumped)["percent_of_nulls"].message


def test_new_rows_whose_labels_are_not_in_yet_are_no_null_spike(params, sample):
    """Found by a forker: rows added before their labels arrived failed percent_of_nulls on the target (+6.8 %
    vs the reference), though unlabeled rows are supported (kept out of training; class_balance judges labels)."""
    unlabeled = sample.assign(is_fraud=sample["is_fraud"].astype(float).where(np.arange(len(sample)) % 10 > 0))
    report, _ = run_data_gate(params, raw=unlabeled, reference=sample)
    assert "percent_of_nulls" not in _failed(report), report.table()


def test_string_labels_with_unlabeled_rows(params, sample):
    labels = sample["is_fraud"].map({1: "Yes", 0: "No"}).astype(object)
    labels[:40] = None
    text = params.model_copy(update={"data": params.data.model_copy(update={"positive": "Yes"})})
    report, _ = run_data_gate(text, raw=sample.assign(is_fraud=labels), reference=None)
    failed = {c.name for c in report.checks if not c.passed}
    assert failed <= {"schema"}, report.table()  # the committed contract says 0/1; every other check ran
    balance = next(c for c in report.checks if c.name == "class_balance")
    assert "40 unlabeled rows not counted" in balance.message and report.info["unlabeled_rows"] == 40


def test_reference_with_another_target_is_not_comparable(params, sample):
    other = sample.rename(columns={"is_fraud": "churned"})
    report, _ = run_data_gate(params, raw=sample, reference=other)
    for ok, message in _statuses(report, REFERENCE_CHECKS).values():
        assert ok and message.startswith("not comparable: ") and "'is_fraud'" in message


def test_drift_on_small_data_is_held_to_what_chance_reaches(params):
    """A clean 200-row dataset split 160/40: chance alone takes the largest per-feature KS past 0.2 about one time
    in three (seeds 1, 5 and 6 here), so the gate blocked clean small data at random. A drift score is held to
    max(limit, the 1 % chance level at the samples' sizes), said in the condition; a real shift still fails."""
    drift_only = _with_checks(params, {n: c for n, c in params.gates.data.checks.items() if "drift" in n})
    for seed in (0, 1, 5, 6):
        report, _ = run_data_gate(drift_only, raw=generate(200, seed=seed), reference=generate(200, seed=100 + seed))
        assert report.passed, report.table()
        split = next(c for c in report.checks if c.name == "feature_drift")
        assert "(or the 1 % chance level at these sizes: categorical" in split.condition
    shifted, _ = run_data_gate(drift_only, raw=generate(200, seed=8, shift=1.0), reference=generate(200, seed=7))
    assert "reference_feature_drift" in _failed(shifted), shifted.table()


def test_a_text_column_where_some_values_are_numbers_is_judged_not_errored(params, sample):
    """Film titles such as "1776" and "2001" among words: deepchecks reports the mix with example sets beside the
    ratios, and reading a ratio from them raised, so the check failed as "could not run" on clean data."""
    titles = np.where(np.arange(len(sample)) % 5 < 2, "1776", "Heat")
    mixed_only = _with_checks(params, {"mixed_data_types": params.gates.data.checks["mixed_data_types"]})
    report, _ = run_data_gate(mixed_only, raw=sample.assign(merchant_category=titles), reference=None)
    check = next(c for c in report.checks if c.name == "mixed_data_types")
    assert "could not run" not in check.message and check.value == pytest.approx(0.4, abs=0.01), check.message


def test_a_column_that_is_entirely_missing_fails_its_null_check_and_every_other_check_runs(params, sample):
    """deepchecks scores no drift for an all-empty column (None, not NaN): reading it raised, and feature_drift
    failed as "could not run" beside the right verdict, percent_of_nulls."""
    report, _ = run_data_gate(params, raw=sample.assign(customer_age=np.nan), reference=None)
    assert not [c.message for c in report.checks if "could not run" in c.message], report.table()
    assert {c.name for c in report.checks if not c.passed} == {"percent_of_nulls"}, report.table()
