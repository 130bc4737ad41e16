"""Benchmark: `mlgate monitor run` on 50k logged rows, and what the prediction log costs a request.

Run after `make run` (it needs outputs/ and metrics/), from the project folder: `python benchmarks/bench_monitor.py`.
1. 50k generated rows (drifted, shift 0.5) scored by the model are logged through PredictionLog into a temp
   folder; then the monitor CLI runs on them (imports included, as CI runs it).
2. record() per call, and p50/p99 of 1-row /predict requests (with the id column) on 127.0.0.1 (a bounded
   sequential loop) with and without the server's prediction log.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
LOGGED, PER_REQUEST, REQUESTS = 50_000, 50, 1500


def main() -> None:
    from mlgate.config import load_params
    from mlgate.data.generate import generate
    from mlgate.model_io import load_model
    from mlgate.monitor.log import PredictionLog
    from tests.template.monitor.serving import records, serving

    params = load_params("params.yaml")
    tmp = Path(tempfile.mkdtemp(prefix="mlgate-bench-monitor-"))
    config = params.monitor.model_copy(update={"log_uri": str(tmp / "log")})
    frame = generate(LOGGED, seed=5, shift=0.5)
    rows = records(frame, [params.data.target])
    names = [c for c in frame.columns if c not in (params.data.target, params.data.id_column)]
    scores = load_model(params.train.model_dir).predict_proba(frame[names])[:, 1]
    plog = PredictionLog(config)
    calls = []
    for i in range(0, LOGGED, PER_REQUEST):
        start = time.perf_counter()
        chunk = scores[i : i + PER_REQUEST]
        plog.record(rows[i : i + PER_REQUEST], chunk, chunk >= 0.2, "bench", f"r{i}")
        calls.append(time.perf_counter() - start)
        plog.flush() if len(calls) % 20 == 0 else None
    plog.flush()
    raw = yaml.safe_load(Path("params.yaml").read_text())
    raw["monitor"] = {**(raw.get("monitor") or {}), "log_uri": str(tmp / "log")}
    (tmp / "params.yaml").write_text(yaml.safe_dump(raw))
    start = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "mlgate"), "monitor", "run", "--params", str(tmp / "params.yaml"), "--reports", str(tmp / "r")],
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - start
    print(f"monitor run on {plog.written} logged rows: {took:.1f} s (exit {done.returncode})")
    median, p99 = np.median(calls) * 1e6, np.quantile(calls, 0.99) * 1e6
    print(f"record() per {PER_REQUEST}-row request: median {median:.0f} us, p99 {p99:.0f} us")

    one = rows[:REQUESTS]
    for label, log in (("without log", None), ("with log", PredictionLog(config))):
        with serving(params.train.model_dir, log) as url:
            import json
            import urllib.request

            def post(row: dict) -> float:
                data = json.dumps({"records": [row]}).encode()
                request = urllib.request.Request(
                    url + "/predict", data=data, headers={"Content-Type": "application/json"}
                )
                start = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                return time.perf_counter() - start

            for row in one[:100]:  # warm-up
                post(row)
            latencies = np.array([post(row) for row in one])
        print(
            f"1-row /predict {label}: p50 {np.median(latencies) * 1e3:.2f} ms, "
            f"p99 {np.quantile(latencies, 0.99) * 1e3:.2f} ms ({REQUESTS} requests)"
        )


if __name__ == "__main__":
    main()
