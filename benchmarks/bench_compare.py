"""Benchmark: how wide the model gate's intervals are on this project's test rows, and what the bootstrap costs.

Run after `make run` (it needs outputs/): `.venv/bin/python benchmarks/bench_compare.py`.
The champion is this run's model configuration refitted with another seed (pure noise), so the interval
widths are what the gate can resolve at these row counts; the time is the paired bootstrap (both models,
every metric, `gates.model.non_inferiority.resamples`) on all prepared rows (train + test). Prints only.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mlgate.config import load_params
from mlgate.evidence.bootstrap import paired_bootstrap
from mlgate.features import feature_spec
from mlgate.model_io import load_model
from mlgate.pipeline.model import build_pipeline


def main() -> None:
    params = load_params()
    config = params.gates.model.non_inferiority
    out, target = params.prepare.output_dir, params.data.target
    train, test = pd.read_parquet(out / "train.parquet"), pd.read_parquet(out / "test.parquet")
    spec = feature_spec(train, params.data)
    ours = load_model(params.train.model_dir, params.train.trusted_types)
    with threadpool_limits(1):
        other = build_pipeline(params.train.model_copy(update={"seed": params.train.seed + 1}), spec)
        other.fit(train[spec.columns], train[target])
    threshold = params.evaluate.threshold
    y = test[target].to_numpy()
    intervals = paired_bootstrap(
        y,
        ours.predict_proba(test[spec.columns])[:, 1],
        other.predict_proba(test[spec.columns])[:, 1],
        threshold,
        resamples=config.resamples,
        confidence=config.confidence,
        seed=config.seed,
    )
    print(f"test rows {len(y)}, positives {int(y.sum())}; seed {params.train.seed} vs seed {params.train.seed + 1}")
    for name in ("pr_auc", "roc_auc"):
        i = intervals[name]
        print(f"  {name}: difference {i.delta:+.4f} [{i.low:+.4f}, {i.high:+.4f}], width {i.high - i.low:.4f}")
    rows = pd.concat([train, test], ignore_index=True)
    y_all = rows[target].to_numpy()
    a, b = (m.predict_proba(rows[spec.columns])[:, 1] for m in (ours, other))
    with threadpool_limits(1):
        start = time.perf_counter()
        paired_bootstrap(y_all, a, b, threshold, resamples=config.resamples, seed=config.seed)
        seconds = time.perf_counter() - start
    print(f"paired bootstrap, {len(y_all)} rows, {config.resamples} resamples, 6 metrics: {seconds:.1f} s")
    print(f"(numpy {np.__version__}; one thread, as in the gate)")


if __name__ == "__main__":
    main()
