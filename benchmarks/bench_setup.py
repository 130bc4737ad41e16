"""Benchmark: a fresh clone to a finished `make run`, with uv (what mlgate ships) next to pip, in one run.

Each side starts from a new clone of this repository and an empty package cache:
  uv:  `make install` (uv sync --frozen from uv.lock), then `make run`
  pip: `python -m venv` + `pip install --no-cache-dir` of the same locked versions (uv export), then the
       same `make run` steps with that environment (MLGATE_PREINSTALLED).
Prints install and total seconds side by side with the ratios. Targets on a 2-core machine:
install <= 20 s from an empty cache, fresh-clone `make run` <= 60 s. `make bench-setup`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ["pipeline", "dev"]


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed in {cwd}:\n{(result.stdout + result.stderr)[-2000:]}")
    return time.perf_counter() - start


def clean_env(tmp: Path) -> dict[str, str]:
    """No venv of ours on PATH, empty caches, no tracking server."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "MLFLOW_TRACKING_URI")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    env["UV_CACHE_DIR"] = str(tmp / "uv-cache")
    env["PIP_NO_CACHE_DIR"] = "1"
    return env


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".uv/bin/uv")
    if not Path(found).exists():
        sys.exit("uv not found: run `make install` once (it bootstraps uv) or install uv")
    return found


def clone(tmp: Path, name: str) -> Path:
    dest = tmp / name
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    return dest


def with_uv(tmp: Path) -> dict[str, float]:
    repo, env = clone(tmp, "uv"), clean_env(tmp)
    install = timed(["make", "install"], repo, env)
    run = timed(["make", "run"], repo, env)
    return {"install": install, "make run (total)": install + run}


def with_pip(tmp: Path) -> dict[str, float]:
    repo, env = clone(tmp, "pip"), clean_env(tmp)
    extras = [a for e in EXTRAS for a in ("--extra", e)]
    requirements = tmp / "requirements.txt"
    exported = subprocess.run(
        [uv(), "export", "--frozen", "--no-hashes", "--no-emit-project", *extras, "-o", str(requirements)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    if exported.returncode != 0:
        sys.exit(f"uv export failed: {exported.stderr[-500:]}")
    start = time.perf_counter()
    timed(["python3", "-m", "venv", ".venv-pip"], repo, env)
    timed([".venv-pip/bin/pip", "install", "-q", "-r", str(requirements)], repo, env)
    timed([".venv-pip/bin/pip", "install", "-q", "--no-deps", "-e", "."], repo, env)
    install = time.perf_counter() - start
    env = {**env, "PATH": f"{repo / '.venv-pip/bin'}{os.pathsep}{env['PATH']}", "MLGATE_PREINSTALLED": "1"}
    run = timed(["make", "run"], repo, env)
    return {"install": install, "make run (total)": install + run}


def main() -> None:
    uv()
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-setup-") as tmp:
        ours, theirs = with_uv(Path(tmp)), with_pip(Path(tmp))
    print(f"{'fresh clone':<22}{'uv (mlgate)':>14}{'pip':>10}{'pip / uv':>10}")
    for key in ours:
        print(f"{key:<22}{ours[key]:>13.1f}s{theirs[key]:>9.1f}s{theirs[key] / ours[key]:>9.1f}x")
    print("targets: install <= 20 s (empty cache), fresh-clone make run <= 60 s")


if __name__ == "__main__":
    main()
