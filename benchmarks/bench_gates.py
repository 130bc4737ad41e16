"""Benchmark: mlgate's data + model gates vs deepchecks' default suites on the same 50k-row data.

Run after `make run` (it needs data/ and outputs/): `make bench-gates`.
mlgate is timed as users run it (the CLI, imports included, JSON verdicts and the verdict-only HTML;
`--html` adds deepchecks' figures and is timed separately); the default suites in-process, which
flatters them. Prints both gates' seconds, the ratio and the targets (>= 8x, <= 10 s for both gates), and
beside them what explanations cost for three models (this run's, the base's and production's, as in CI):
their permutation importances in-process, as the model gate computes them. The gates are timed twice: on
this checkout, where the data and the model's settings are the reference's (the gate knows it from hashes
and explains one model), and redoing all, as on a PR that changed both (DVC reads the reference at the
revision, the base is fitted and explained too).
The machine may be shared: both figures come from one run, so they share its load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mlgate_gates(*extra: str, reports: str = "/tmp/mlgate-bench") -> dict[str, float]:
    def run(*args: str) -> None:
        subprocess.run([str(BIN / "mlgate"), *args, *extra, "--reports", reports], check=False, capture_output=True)

    return {"data gate": timed(lambda: run("gate", "data")), "model gate": timed(lambda: run("gate", "model"))}


def mlgate_gates_redoing_all(tmp: Path) -> dict[str, float]:
    """Both gates with nothing to skip, as on a PR that changed the data and the model's settings: the data file
    is a copy outside data/ (its hash cannot stand for the reference, which DVC reads at the revision) and the
    model a copy without its fit record (the base is fitted, and explained beside it)."""
    import json
    import shutil

    import yaml

    from mlgate.config import load_params

    p = load_params()
    raw = yaml.safe_load(Path("params.yaml").read_text())
    data = shutil.copy(p.data.path, tmp / p.data.path.name)
    model = shutil.copytree(p.train.model_dir, tmp / "model")
    serving = json.loads((model / "serving.json").read_text())
    serving.pop("fit", None)
    (model / "serving.json").write_text(json.dumps(serving))
    raw["data"]["path"], raw.setdefault("train", {})["model_dir"] = str(data), str(model)
    (tmp / "params.yaml").write_text(yaml.safe_dump(raw))
    return mlgate_gates("--params", str(tmp / "params.yaml"), reports=str(tmp / "reports"))


def what_was_skipped() -> str:
    """What the gates timed above did not redo, from their own reports."""
    import json

    data = json.loads(Path("/tmp/mlgate-bench/data_gate.json").read_text())
    model = json.loads(Path("/tmp/mlgate-bench/model_gate.json").read_text())
    drift = next((c["message"] for c in data["checks"] if c["name"] == "reference_feature_drift"), "-")
    return f"reference: {drift}\n  base: {model['info'].get('base', {}).get('model', '-')}"


def mlgate_html() -> float:
    """Both gates with deepchecks' figures drawn into the HTML (what `--html` costs on top)."""
    return sum(
        timed(
            lambda g=g: subprocess.run(
                [str(BIN / "mlgate"), "gate", g, "--html", "--reports", "/tmp/mlgate-bench-html"],
                check=False,
                capture_output=True,
            )
        )
        for g in ("data", "model")
    )


def explanations() -> tuple[float, float, str]:
    """Permutation importance of three models on the gate's sampled test rows, as the gate runs it (one
    thread); three copies of the trained model stand for them (same size, same cost; one object under three
    names would be computed once)."""
    import copy

    import pandas as pd
    from threadpoolctl import threadpool_limits

    from mlgate.config import load_params
    from mlgate.explain.importance import explain, sample_rows
    from mlgate.explain.outputs import binary
    from mlgate.model_io import load_model

    p = load_params()
    config, outputs = p.gates.model.explain, binary(p)
    test = pd.read_parquet(p.prepare.output_dir / "test.parquet")
    y = test[p.data.target].to_numpy()
    rows = sample_rows(len(test), config.rows, config.seed, y)
    X = test.iloc[rows][p.data.features_of(test.columns)]
    model = load_model(p.train.model_dir)
    cpu = time.process_time()
    with threadpool_limits(1):
        secs = timed(
            lambda: explain(
                {key: copy.deepcopy(model) for key in ("this", "base", "production")},
                X,
                y[rows],
                outputs.scorer,
                outputs.metric,
                config,
            )
        )
    cpu = time.process_time() - cpu
    return secs, cpu, f"{len(X)} rows x {X.shape[1]} features x {config.repeats} shuffles"


def deepchecks_defaults() -> dict[str, float]:
    warnings.filterwarnings("ignore")
    import pandas as pd
    from deepchecks.tabular import Dataset

    from mlgate.config import load_params
    from mlgate.features import feature_spec
    from mlgate.model_io import load_model

    p = load_params()
    raw = pd.read_csv(p.data.path).drop(columns=[p.data.id_column])
    cat = feature_spec(raw, p.data).categorical
    train = pd.read_parquet(p.prepare.output_dir / "train.parquet").drop(columns=[p.data.id_column])
    test = pd.read_parquet(p.prepare.output_dir / "test.parquet").drop(columns=[p.data.id_column])
    ds = {
        name: Dataset(f, label=p.data.target, cat_features=cat)
        for name, f in (("raw", raw), ("train", train), ("test", test))
    }
    model = load_model(p.train.model_dir)
    # the same one-thread BLAS/OpenMP limit mlgate's gates use, so thread contention on a busy
    # machine does not inflate deepchecks' figure (and the ratio)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _suites(ds, model)


def _suites(ds: dict, model) -> dict[str, float]:
    from deepchecks.tabular.suites import data_integrity, model_evaluation, train_test_validation

    return {
        "data_integrity": timed(lambda: data_integrity().run(ds["raw"])),
        "train_test_validation": timed(lambda: train_test_validation().run(ds["train"], ds["test"])),
        "model_evaluation": timed(lambda: model_evaluation().run(ds["train"], ds["test"], model)),
    }


def main() -> None:
    import tempfile

    ours = mlgate_gates()
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-") as tmp:
        redoing = mlgate_gates_redoing_all(Path(tmp))
    with_html = mlgate_html()
    explained, cpu, shape = explanations()
    theirs = deepchecks_defaults()
    total_ours, total_theirs = sum(ours.values()), sum(theirs.values())
    print(f"{'run':<34}{'seconds':>10}")
    for name, secs in ours.items():
        print(f"{'mlgate ' + name + ' (CLI)':<34}{secs:>10.1f}")
    print(f"{'  explanations, 3 models':<34}{explained:>10.1f}   ({cpu:.1f} s CPU; {shape} each, in-process)")
    for name, secs in theirs.items():
        print(f"{'deepchecks ' + name:<34}{secs:>10.1f}")
    print(f"{'mlgate total':<34}{total_ours:>10.1f}")
    print(f"  (what the unchanged data and model settings let them skip: {what_was_skipped()})")
    for name, secs in redoing.items():
        print(f"{'mlgate ' + name + ', redoing all':<34}{secs:>10.1f}")
    print(f"{'mlgate total, redoing all':<34}{sum(redoing.values()):>10.1f}   (the PR changed data and settings)")
    print(f"{'mlgate both gates with --html':<34}{with_html:>10.1f}")
    print(f"{'deepchecks default suites total':<34}{total_theirs:>10.1f}")
    print(
        f"ratio (deepchecks / mlgate): {total_theirs / total_ours:.1f}x, redoing all "
        f"{total_theirs / sum(redoing.values()):.1f}x   targets: >= 8x, mlgate <= 10 s"
    )
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores; shared machine)")


if __name__ == "__main__":
    main()
