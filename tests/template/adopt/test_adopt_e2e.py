"""Acceptance: adopt real public datasets (shipped offline in installed packages) with `mlgate init`,
then the gated pipeline, serving a real record, and the report, as a user of the template would.

Figures (init and `dvc repro` times) are printed, not asserted: run with -s to see them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]


def breast_cancer() -> pd.DataFrame:
    """scikit-learn's breast cancer data: 569 rows, 30 numeric features; diagnosis 1 = malignant."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = 1 - frame.pop("target")  # sklearn codes benign as 1
    return frame


def penguins() -> pd.DataFrame:
    """palmerpenguins: 344 rows, text categories, missing values, string labels (11 rows without sex)."""
    from palmerpenguins import load_penguins

    return load_penguins()


@dataclass
class Dataset:
    name: str
    load: object
    options: list[str]
    target: str
    file: str


DATASETS = {
    "breast_cancer": Dataset("breast_cancer", breast_cancer, ["--target", "diagnosis"], "diagnosis", "cancer.csv"),
    "penguins": Dataset("penguins", penguins, ["--target", "sex", "--positive", "male"], "sex", "penguins.parquet"),
}


def env_for(project: Path, **extra: str) -> dict:
    return {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        **extra,
    }


def git(*args: str, cwd: Path) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def repro(project: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=project, env=env_for(project, **extra), capture_output=True, text=True
    )


def assert_project_tests_pass(project: Path) -> None:
    """tests/project in the adopted project, with its own code, in a session of its own, as its `make test` runs it."""
    result = subprocess.run(
        [str(BIN / "python"), "-m", "pytest", "tests/project", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env={
            k: v
            for k, v in env_for(project, PYTHONPATH=str(project / "src")).items()
            if not k.startswith(("PYTEST_", "COV_CORE"))  # its own session, not a worker of this one
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-500:]


@dataclass
class Adopted:
    project: Path
    template: Path
    dataset: Dataset
    frame: pd.DataFrame
    init_output: str
    changed: list[str]
    run: subprocess.CompletedProcess


@pytest.fixture(scope="module", params=list(DATASETS))
def adopted(request, tmp_path_factory, sample_project: Path) -> Adopted:
    """The template as shipped, a clone of it, `mlgate init` + commit in the clone, then `dvc repro` (the
    `make run`)."""
    dataset = DATASETS[request.param]
    root = tmp_path_factory.mktemp(dataset.name)
    template = root / "template"  # its own copy: the merge test commits a template update to it
    subprocess.run(["git", "clone", "-q", str(sample_project), str(template)], check=True)  # as shipped
    project = root / "myproject"
    subprocess.run(["git", "clone", "-q", str(template), str(project)], check=True)
    frame = dataset.load()
    source = root / dataset.file
    frame.to_parquet(source) if source.suffix == ".parquet" else frame.to_csv(source, index=False)

    started = time.perf_counter()
    init = run_cli("init", str(source), *dataset.options, cwd=project, env={"PATH": "/usr/bin:/bin"})
    print(f"\n{dataset.name}: mlgate init {time.perf_counter() - started:.1f} s")
    assert init.returncode == 0, init.stderr
    changed = sorted(git("status", "--porcelain", "--untracked-files=all", cwd=project).splitlines())
    git("add", "-A", cwd=project)
    git("commit", "-qm", "Adopt my data", cwd=project)

    started = time.perf_counter()
    run = repro(project)
    print(f"{dataset.name}: dvc repro {time.perf_counter() - started:.1f} s")
    for gate in ("data", "model"):
        verdict = project / "reports" / f"{gate}_gate.json"
        if verdict.is_file():
            checks = json.loads(verdict.read_text())["checks"]
            print(f"  {gate} gate: " + ", ".join(f"{c['name']}={'pass' if c['passed'] else 'FAIL'}" for c in checks))
    return Adopted(project, template, dataset, frame, init.stdout, changed, run)


def test_init_changes_only_the_projects_files(adopted: Adopted):
    print("\n".join(adopted.changed))
    paths = {line[3:] for line in adopted.changed}
    data_file = f"data/{Path(adopted.dataset.file).stem}.csv"
    assert paths == {
        "params.yaml",
        "data.dvc",
        "dvc.lock",
        "metrics/metrics.json",
        *[f"plots/{p}" for p in ("confusion.csv", "pr.json", "roc.json")],
    }, paths  # data/ itself is DVC's (git-ignored); dvc.lock, metrics and plots are the sample's, removed
    assert (adopted.project / data_file).is_file() and [p.name for p in (adopted.project / "data").iterdir()] == [
        Path(data_file).name
    ]
    import yaml

    params = yaml.safe_load((adopted.project / "params.yaml").read_text())
    assert "sample" not in params and params["data"]["target"] == adopted.dataset.target
    assert set(params["schema"]["columns"]) == set(adopted.frame.columns)
    assert params["mlflow"]["model_name"] == "myproject"
    assert "git add -A" in adopted.init_output and "dvc remote add -d" in adopted.init_output
    steps = adopted.init_output
    assert steps.index("git add -A") < steps.index("make run")  # the README's order: commit, then the first run


def test_pipeline_passes_both_gates(adopted: Adopted):
    reports = adopted.project / "reports"
    verdicts = {g: json.loads((reports / f"{g}_gate.json").read_text()) for g in ("data", "model")}
    failed = {g: [c["name"] for c in v["checks"] if not c["passed"]] for g, v in verdicts.items()}
    assert adopted.run.returncode == 0 and failed == {"data": [], "model": []}, (failed, adopted.run.stderr[-2000:])


def test_serve_answers_a_real_record(adopted: Adopted):
    from fastapi.testclient import TestClient

    from mlgate.model_io import load_model
    from mlgate.serve.app import create_app

    model_dir = adopted.project / "outputs" / "model"
    features = adopted.frame.drop(columns=[adopted.dataset.target])
    rows = features.iloc[[0, 3, len(features) - 1]]  # penguins' row 3 has missing values
    records = json.loads(rows.to_json(orient="records"))
    with TestClient(create_app(model_dir)) as client:
        response = client.post("/predict", json={"records": records})
    assert response.status_code == 200, response.text
    scores = [p["score"] for p in response.json()["predictions"]]
    expected = load_model(model_dir).predict_proba(pd.DataFrame(records))[:, 1]
    assert scores == pytest.approx(list(expected), abs=1e-9)


def test_report_says_first_run_with_no_cross_dataset_delta(adopted: Adopted):
    report = run_cli("report", "--base", "HEAD", cwd=adopted.project)
    assert report.returncode == 0, report.stderr
    assert "first run" in report.stdout
    rows = [line for line in report.stdout.splitlines() if line.startswith("| pr_auc ")]
    assert rows and rows[0].split("|")[2].strip() == "–", rows  # no base value, so no delta


def test_the_projects_own_tests_pass_on_it(adopted: Adopted):
    """tests/project (data contract, model behaviour, serving a real record) reads the adopted params.yaml and
    data: run inside the adopted project, with its own code, as its `make test` does."""
    assert_project_tests_pass(adopted.project)


def test_a_later_template_update_merges_cleanly(adopted: Adopted):
    """Template commit (machinery change, a new knob with a default, the sample's regenerated results)
    merged into the adopted project: no conflict, the project's files untouched, the pipeline still runs."""
    project, template = adopted.project, adopted.template
    git("add", "-A", cwd=project)
    git("commit", "-qm", "First run", cwd=project)
    ours = {p: (project / p).read_text() for p in ("params.yaml", "data.dvc", "dvc.lock", "metrics/metrics.json")}

    evaluate = template / "src/mlgate/pipeline/evaluate.py"
    evaluate.write_text(evaluate.read_text() + "\nTEMPLATE_UPDATE = 2  # a later template fix\n")
    config = template / "src/mlgate/config.py"
    text = config.read_text().replace(
        '    plots_dir: Path = Path("plots")\n', '    plots_dir: Path = Path("plots")\n    new_knob: int = 3\n', 1
    )
    assert "new_knob" in text
    config.write_text(text)
    metrics = json.loads((template / "metrics/metrics.json").read_text())
    (template / "metrics/metrics.json").write_text(json.dumps({**metrics, "pr_auc": 0.51}, indent=2))
    for name in ("dvc.lock", "data.dvc", "plots/pr.json", "params.yaml"):
        path = template / name
        path.write_text(path.read_text().replace("md5: ", "md5: 0", 1) + "\n# regenerated sample\n")
    git("add", "-A", cwd=template)
    git("commit", "-qm", "Template update", cwd=template)

    merged = subprocess.run([*GIT, "pull", "--no-rebase", "-q", "origin", "main"], cwd=project, capture_output=True)
    assert merged.returncode == 0, merged.stderr.decode() + merged.stdout.decode()
    assert git("status", "--porcelain", cwd=project) == ""
    assert {p: (project / p).read_text() for p in ours} == ours
    assert "TEMPLATE_UPDATE = 2" in (project / "src/mlgate/pipeline/evaluate.py").read_text()
    assert "new_knob" in (project / "src/mlgate/config.py").read_text()

    run = repro(project, PYTHONPATH=str(project / "src"))  # the merged machinery, not this checkout's
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Running stage 'evaluate'" in run.stdout  # the machinery change reran what depends on it


def test_init_again_refuses_then_force_readopts_the_same(adopted: Adopted):
    """Last in the module: --force removes the results the tests above used."""
    source = adopted.project.parent / adopted.dataset.file
    params = adopted.project / "params.yaml"
    before = params.read_text()
    again = run_cli("init", str(source), *adopted.dataset.options, cwd=adopted.project)
    assert again.returncode == 2 and "already has its own data" in again.stderr, again.stderr
    assert params.read_text() == before
    forced = run_cli("init", str(source), *adopted.dataset.options, "--force", cwd=adopted.project)
    assert forced.returncode == 0, forced.stderr
    assert params.read_text() == before  # same data, same settings: init is repeatable
