"""Benchmark: the same model behind `mlflow models serve --env-manager local` and `mlgate serve`.

Same request (one transaction, MLflow `dataframe_split` to /invocations), same client (wrk on
loopback, same threads/connections/duration), one worker each. Prints req/s, p50, p99, ready
time and memory side by side with the ratios, plus in-process predict_proba on one row as the floor.
Memory is read the same way for every server, from /proc of its process tree: RSS (all resident pages, with
the shared libraries' code) and anon (its private heap: what a second replica adds). Run after `make run`:
`make bench-serve` (needs wrk: apt-get install wrk). With BENCH_IMAGE=<tag> mlgate is measured as it ships, in
its container, with also the container's memory as `docker stats` shows it (what a memory limit counts).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent
MODEL = Path(os.environ.get("MLGATE_MODEL_DIR", "outputs/model"))
CONNECTIONS, SECONDS = int(os.environ.get("BENCH_CONNECTIONS", 16)), int(os.environ.get("BENCH_SECONDS", 15))


def request_body() -> str:
    example = json.loads((MODEL / "input_example.json").read_text())
    return json.dumps({"dataframe_split": {"columns": example["columns"], "data": example["data"][:1]}})


def start(cmd: list[str], ready_url: str, env: dict | None = None) -> tuple[subprocess.Popen, float]:
    begin = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    while time.perf_counter() - begin < 120:
        try:
            with urllib.request.urlopen(ready_url, timeout=1) as r:
                if r.status == 200:
                    return proc, time.perf_counter() - begin
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{cmd[0]} did not become ready")


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, anon) of a process and its children, in MiB."""
    parent = psutil.Process(pid)
    rss = anon = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
        anon += int(re.search(r"RssAnon:\s+(\d+)", status).group(1)) / 1024
    return rss, anon


def wrk(url: str, body: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
        )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "non2xx": float(errors.group(1)) if errors else 0.0,
    }


def floor_per_row_ms() -> float:
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from mlgate.model_io import load_model

    example = json.loads((MODEL / "input_example.json").read_text())
    row = pd.DataFrame(example["data"][:1], columns=example["columns"])
    model = load_model(MODEL)
    with threadpool_limits(1):  # as the server's predict thread runs (serve/batcher.py)
        for _ in range(20):
            model.predict_proba(row)
        begin, n = time.perf_counter(), 300
        for _ in range(n):
            model.predict_proba(row)
    return (time.perf_counter() - begin) / n * 1000


def measure_image(image: str, url: str, body: str) -> dict[str, float]:
    """mlgate as it ships: the serving image (no training packages in the process)."""
    from mlgate.deploy.image import docker

    docker("rm", "-f", "mlgate-bench", check=False)
    begin = time.perf_counter()
    docker("run", "-d", "--name", "mlgate-bench", "-p", "127.0.0.1:18082:8080", image)
    try:
        while time.perf_counter() - begin < 120:
            try:
                with urllib.request.urlopen("http://127.0.0.1:18082/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        ready_s = time.perf_counter() - begin
        pid = int(docker("inspect", "--format", "{{.State.Pid}}", "mlgate-bench").stdout)
        idle, _ = memory_mb(pid)
        wrk(url, body)
        result = wrk(url, body)
        rss, anon = memory_mb(pid)
        container = container_mb("mlgate-bench")
    finally:
        docker("rm", "-f", "mlgate-bench", check=False)
    print("  measured mlgate (image)", file=sys.stderr)
    return result | {"ready_s": ready_s, "rss_idle_mb": idle, "rss_mb": rss, "anon_mb": anon, "container_mb": container}


def container_mb(name: str) -> float:
    from mlgate.deploy.image import docker

    usage = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name).stdout.split("/")[0]
    value, unit = re.match(r"([\d.]+)\s*([KMG]i?B)", usage.strip()).groups()
    return float(value) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "kB": 1 / 1000, "MB": 1, "GB": 1000}[unit]


def measure(name: str, cmd: list[str], ready: str, url: str, body: str, env: dict | None = None) -> dict[str, float]:
    proc, ready_s = start(cmd, ready, env)
    try:
        idle, _ = memory_mb(proc.pid)
        wrk(url, body) if os.environ.get("BENCH_WARMUP", "1") == "1" else None
        result = wrk(url, body) | {"ready_s": ready_s, "rss_idle_mb": idle}
        result["rss_mb"], result["anon_mb"] = memory_mb(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"  measured {name}", file=sys.stderr)
    return result


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    body = request_body()
    mlflow = measure(
        "mlflow",
        [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            str(MODEL),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            "18081",
            "-w",
            "1",
        ],
        "http://127.0.0.1:18081/ping",
        "http://127.0.0.1:18081/invocations",
        body,
    )
    if image := os.environ.get("BENCH_IMAGE"):
        ours = measure_image(image, "http://127.0.0.1:18082/invocations", body)
    else:
        ours = measure(
            "mlgate",
            [str(BIN / "mlgate"), "serve", "--model-dir", str(MODEL), "--port", "18082"],
            "http://127.0.0.1:18082/ready",
            "http://127.0.0.1:18082/invocations",
            body,
        )
    floor = floor_per_row_ms()
    rows = [
        ("req/s", "rps", "{:.0f}", lambda a, b: b / a, ">= 4x"),
        ("p50 ms", "p50", "{:.2f}", lambda a, b: b / a, ""),
        ("p99 ms", "p99", "{:.2f}", lambda a, b: b / a, "<= 0.25x"),
        ("ready s", "ready_s", "{:.2f}", lambda a, b: b / a, "mlgate <= 3 s"),
        ("RSS idle", "rss_idle_mb", "{:.0f}", lambda a, b: b / a, "MB after ready, before the load"),
        ("RSS MB", "rss_mb", "{:.0f}", lambda a, b: b / a, "mlgate <= 150 MB (after the load)"),
        ("anon MB", "anon_mb", "{:.0f}", lambda a, b: b / a, "private heap after the load (RSS without shared code)"),
        ("non-2xx", "non2xx", "{:.0f}", lambda a, b: 0.0, ""),
    ]
    print(f"load: wrk -t2 -c{CONNECTIONS} -d{SECONDS}s, POST /invocations, one row, one worker each")
    print(f"{'':10}{'mlflow serve':>14}{'mlgate':>12}{'mlgate/mlflow':>15}  target")
    for label, key, fmt, ratio, target in rows:
        r = ratio(mlflow[key], ours[key]) if mlflow[key] else 0.0
        print(f"{label:10}{fmt.format(mlflow[key]):>14}{fmt.format(ours[key]):>12}{r:>14.2f}x  {target}")
    if "container_mb" in ours:
        print(f"container {ours['container_mb']:.0f} MB after the load (docker stats: what a memory limit counts)")
    print(f"floor: in-process predict_proba on one row, one thread {floor:.2f} ms ({1000 / floor:.0f} rows/s)")


if __name__ == "__main__":
    main()
