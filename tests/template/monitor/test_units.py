"""Monitor parts without a served model: CBPE, feedback files and joins, windows, fail-closed runs, CLI errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from mlgate.config import Params
from mlgate.errors import MlgateError
from mlgate.evidence.bootstrap import expected_metrics
from mlgate.monitor import feedback, storage
from mlgate.monitor.log import REQUEST_ID, TIME, PredictionLog
from mlgate.monitor.run import parse_window, run_monitor
from tests.conftest import invoke_cli


def _params(tmp_path: Path, **data) -> Params:
    """Machinery params of their own: a key column and a text target with a positive label."""
    return Params.model_validate(
        {
            "data": {"path": "data/d.csv", "target": "outcome", "positive": "yes", "id_column": "key", **data},
            "monitor": {"log_uri": str(tmp_path / "log")},
        }
    )


@pytest.mark.parametrize("prevalence", [(0.5, 8), (2, 2)])
def test_cbpe_matches_the_realized_metrics_of_calibrated_scores(prevalence):
    rng = np.random.default_rng(0)
    p = rng.beta(*prevalence, 100_000)
    y = (rng.random(len(p)) < p).astype(int)  # labels drawn from the scores: calibrated by construction
    expected = expected_metrics(p)
    assert expected["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=0.005)
    assert expected["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=0.01)


def test_cbpe_refuses_scores_without_a_ranking():
    with pytest.raises(ValueError, match="all 0 or all 1"):
        expected_metrics(np.zeros(10))


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "feedback file not found"),
        ("outcome\nyes\n", "no key column (expected 'key' or 'request_id' and 'outcome')"),
        ("key\nk1\n", "target column 'outcome' missing"),
        ("key,outcome\n", "no rows"),
        ("key,outcome\nk1,yes\n,no\n", "row 3: empty 'key' or 'outcome'"),
    ],
)
def test_bad_feedback_files_are_one_line_naming_the_file(tmp_path: Path, content, message):
    path = tmp_path / "labels.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(MlgateError, match=re.escape(message)) as caught:
        feedback.read_feedback_file(path, _params(tmp_path))
    assert str(path) in str(caught.value)


def test_feedback_joins_by_id_column_latest_label_wins_and_by_request_id(tmp_path: Path):
    params = _params(tmp_path)
    first = tmp_path / "a.csv"
    first.write_text("key,outcome\n007,no\nk2,yes\n")
    second = tmp_path / "b.csv"
    second.write_text("key,outcome\n007,yes\n")
    by_request = tmp_path / "c.csv"
    by_request.write_text("request_id,outcome\nr9,yes\n")
    for path in (first, second, by_request):
        feedback.append(path, params)
    fs, root = storage.filesystem(params.monitor.log_uri)
    labels = storage.read_batches(fs, root, storage.FEEDBACK).frame
    live = pd.DataFrame({"key": ["007", "k2", "k3", None], REQUEST_ID: ["r1", "r2", "r3", "r9"]})
    joined = feedback.join(live, labels, "key")
    assert joined[1] == 1.0
    assert np.isnan(joined[2]) and joined[3] == 1.0  # no label yet; keyed by the request id
    assert joined[0] == 1.0  # "007" kept its leading zeros, and the later label won


@pytest.mark.parametrize("text", ["0d", "7", "1w", "-1h", "h"])
def test_bad_windows_are_refused(text: str):
    with pytest.raises(MlgateError, match="--window must be"):
        parse_window(text)


def test_an_empty_log_fails_every_check_closed(tmp_path: Path):
    report, _ = run_monitor(_params(tmp_path), window="1h")
    assert not report.passed
    assert {c.name for c in report.checks} == {
        "log_rows",
        "feature_drift",
        "score_drift",
        "performance",
        "estimated_performance",
    }
    assert all(not c.passed for c in report.checks)


def test_no_model_to_compare_with_is_a_failed_check_said_as_such(tmp_path: Path):
    params = _params(tmp_path)
    plog = PredictionLog(params.monitor)
    plog.record([{"x": 1.0, "key": "k"}] * 600, [0.1] * 600, [False] * 600, "v1", "r")
    plog.flush()
    today = tmp_path / f"log/predictions/date={pd.Timestamp.now(tz='UTC'):%Y-%m-%d}"
    (today / "torn.parquet").write_bytes(b"PAR1 torn")  # a half-written batch: listed, not fatal
    report, _ = run_monitor(params, window="1h", model_dir=tmp_path / "no-model")
    verdicts = {c.name: c for c in report.checks}
    assert verdicts["log_rows"].passed and report.info["model_version"] == "v1"
    assert report.info["unreadable_files"] == [str(today / "torn.parquet")]
    assert not verdicts["feature_drift"].passed and "no reference" in verdicts["feature_drift"].message
    assert not report.passed


def test_unknown_monitor_check_is_named(tmp_path: Path):
    params = Params.model_validate(
        {"data": {"path": "d.csv", "target": "y"}, "monitor": {"log_uri": str(tmp_path), "checks": {"drfit": {}}}}
    )
    with pytest.raises(MlgateError, match=r"monitor.checks: unknown check\(s\) \['drfit'\]"):
        run_monitor(params, window="1h")


def test_cli_errors_are_one_line(tmp_path: Path):
    from tests.conftest import FIXTURE_PARAMS

    (tmp_path / "params.yaml").write_text(FIXTURE_PARAMS.read_text())
    done = invoke_cli("monitor", "run", "--window", "soon", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: --window must be a positive number of m, h or d (e.g. 30m, 24h, 7d), got 'soon'"
    ]
    done = invoke_cli("monitor", "feedback", "missing.csv", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == "error: missing.csv: feedback file not found"
    assert invoke_cli("monitor", "verdict", cwd=tmp_path).stdout.strip() == "finding=missing"
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/monitor.json").write_text(json.dumps({"passed": False, "checks": []}))
    assert invoke_cli("monitor", "verdict", cwd=tmp_path).stdout.strip() == "finding=true"


def test_log_time_survives_jsonl(tmp_path: Path):
    params = _params(tmp_path).model_copy()
    config = params.monitor.model_copy(update={"file_format": "jsonl"})
    plog = PredictionLog(config)
    plog.record([{"x": 1.0}] * 3, [0.2] * 3, [True] * 3, "v2", "r")
    plog.flush()
    report, _ = run_monitor(params.model_copy(update={"monitor": config}), window="5m")
    assert report.info["rows"] == 3 and report.info["model_version"] == "v2"
    assert TIME in storage.read_batches(*storage.filesystem(config.log_uri), storage.PREDICTIONS).frame


def test_a_feature_empty_in_every_row_does_not_stop_the_drift_check():
    """deepchecks scores no drift (None) for a column with no value: reading it as a number made feature_drift
    "could not run" in production monitoring, as it did in the data gate."""
    from mlgate.config import CheckConfig
    from mlgate.monitor.run import _feature_drift

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=300), "empty": np.nan})
    live = pd.DataFrame({"x": rng.normal(size=300), "empty": np.nan})
    verdict, _ = _feature_drift(ref, live, [], CheckConfig(max_score=0.2))
    assert verdict.passed and "could not run" not in verdict.message, verdict.message


def test_performance_is_judged_against_the_monitored_models_own_evaluation(tmp_path: Path, monkeypatch):
    """The monitored model is production's (a release's model, which carries its model card): its live metrics
    are compared with what its card recorded, not with this commit's metrics.json, which belongs to a model
    production may not run (main is ahead of the last release, or production was rolled back)."""
    monkeypatch.chdir(tmp_path)
    params = _params(tmp_path)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 1200)
    scores = np.clip(labels * 0.2 + rng.uniform(0, 0.8, 1200), 0, 1)  # a weak ranker: PR-AUC about 0.7
    keys = [f"k{i}" for i in range(1200)]
    plog = PredictionLog(params.monitor)
    plog.record([{"x": 1.0, "key": k} for k in keys], list(scores), list(scores > 0.5), "v7", "r")
    plog.flush()
    (tmp_path / "labels.csv").write_text(
        "key,outcome\n" + "".join(f"{k},{'yes' if y else 'no'}\n" for k, y in zip(keys, labels, strict=True))
    )
    feedback.append(tmp_path / "labels.csv", params)
    live = {"pr_auc": average_precision_score(labels, scores), "roc_auc": roc_auc_score(labels, scores)}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/metrics.json").write_text(json.dumps(live))  # this commit's model: as good as live
    production = tmp_path / "production-model"
    production.mkdir()
    card = {m: {"value": 0.95, "low": 0.9, "high": 0.99} for m in ("pr_auc", "roc_auc")}
    (production / "card.json").write_text(json.dumps({"metrics": card}))  # what the release recorded

    this_commit, _ = run_monitor(params, window="1h", model_dir=tmp_path / "no-card")
    (check,) = [c for c in this_commit.checks if c.name == "performance"]
    assert check.passed and this_commit.info["measured"]["evaluated_from"] == str(Path("metrics/metrics.json"))
    released, _ = run_monitor(params, window="1h", model_dir=production, model_version="v7")
    (check,) = [c for c in released.checks if c.name == "performance"]
    assert not check.passed and "vs 0.9500" in check.message, check.message
    assert released.info["measured"]["evaluated_from"] == str(production / "card.json")
    assert released.info["model_dir"] == str(production) and released.info["model_version"] == "v7"


def test_every_monitor_command_reads_the_log_where_the_server_writes_it(tmp_path: Path, monkeypatch):
    """MLGATE_MONITOR_LOG_URI moves the server's log (the image sets it); `monitor feedback` and `monitor run`
    resolve the location by the same rule, or they read a log nobody writes (0 rows, every check failed)."""
    from mlgate.monitor.log import open_log

    params = _params(tmp_path)  # params.yaml's log_uri: tmp_path/log
    (tmp_path / "params.yaml").write_text(
        f"data: {{path: d.csv, target: outcome}}\nmonitor: {{log_uri: {tmp_path}/log}}\n"
    )
    monkeypatch.setenv("MLGATE_MONITOR_LOG_URI", str(tmp_path / "env-log"))
    plog = open_log(str(tmp_path / "params.yaml"))
    assert plog is not None and plog.config.log_uri == str(tmp_path / "env-log")
    plog.record([{"x": 1.0, "key": f"k{i}"} for i in range(600)], [0.1] * 600, [False] * 600, "v1", "r")
    plog.close()
    (tmp_path / "labels.csv").write_text("key,outcome\nk1,yes\n")
    rows, where = feedback.append(tmp_path / "labels.csv", params)
    assert rows == 1 and where.startswith(str(tmp_path / "env-log"))
    report, _ = run_monitor(params, window="1h", model_dir=tmp_path / "no-model")
    assert report.info["log_uri"] == str(tmp_path / "env-log") and report.info["rows"] == 600
    assert not (tmp_path / "log").exists()


def test_cbpe_judges_a_drop_by_its_interval_at_the_windows_size():
    """Same distribution, small window: the point estimate may move by more than the limit, its interval says
    noise; a real loss of ranking power is beyond the interval, at the same size."""
    from mlgate.evidence.bootstrap import expected_difference

    rng = np.random.default_rng(3)
    reference = rng.beta(0.5, 12, 10_000)
    verdicts = []
    for seed in range(5):
        live = np.random.default_rng(seed).beta(0.5, 12, 2000)
        verdicts.append(expected_difference(live, reference, resamples=300, seed=seed)["pr_auc"].verdict(0.02))
    assert "worse" not in verdicts, verdicts
    blurred = np.clip(rng.beta(0.5, 12, 2000) * 0.2 + 0.02, 0, 1)  # scores that no longer separate
    assert expected_difference(blurred, reference, resamples=300)["pr_auc"].verdict(0.02) == "worse"


def test_preflight_waits_for_a_release_and_its_log_green_and_in_one_line(tmp_path: Path):
    """`mlgate monitor preflight`: no release, or a release whose log does not exist yet, is due=false and exit 0
    (the scheduled monitor of a fresh repository is green)."""
    from tests.conftest import FIXTURE_PARAMS

    (tmp_path / "params.yaml").write_text(FIXTURE_PARAMS.read_text())
    out = tmp_path / "github_output"

    def preflight(model: str, log: str) -> tuple[int, str, str]:
        out.write_text("")
        env = {"MLGATE_MONITOR_MODEL": model, "MLGATE_MONITOR_LOG_URI": log, "GITHUB_OUTPUT": str(out)}
        done = invoke_cli("monitor", "preflight", cwd=tmp_path, env=env)
        return done.returncode, done.stdout.strip() + done.stderr.strip(), out.read_text()

    code, said, output = preflight("", str(tmp_path / "log"))
    assert (code, output) == (0, "due=false\n") and said.count("\n") == 0 and "no release" in said
    code, said, output = preflight("outputs/production-model", str(tmp_path / "log"))
    assert (code, output) == (0, "due=false\n") and f"no prediction log at {tmp_path / 'log'}" in said
    plog = PredictionLog(_params(tmp_path).monitor)
    plog.record([{"x": 1.0}], [0.1], [False], "v1", "r")
    plog.flush()
    code, said, output = preflight("outputs/production-model", str(tmp_path / "log"))
    assert (code, output) == (0, "due=true\n"), said
