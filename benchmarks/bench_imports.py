"""Benchmark: what each `mlgate` command pays in imports, this tree next to another git ref's code.

Run after `make run` (it needs data/ and outputs/): `python benchmarks/bench_imports.py [--before REF]`
(REF defaults to main). Each command runs as CI runs it (the console script, one process), in a scratch
clone of this repository with this run's data and outputs, under `/usr/bin/time` (wall, CPU) and
`PYTHONPROFILEIMPORTTIME` (the seconds spent importing, summed over every module, and how many). REF's
code is put first on PYTHONPATH; everything else (venv, data, commands) is the same for both columns.
The pipeline's commands run in pipeline order, so each finds what the one before wrote.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HEAVY = ("sklearn", "mlflow", "deepchecks", "skops", "dvc", "pandera", "pytest", "fastapi")
COMMANDS = (  # light ones first; then the DVC stages in order, then what CI runs after them
    ("--help",),
    ("summary",),
    ("report-target", "--pr", "1", "--output", "scratch/pr-number"),
    ("monitor", "verdict"),
    ("changes", "--base", "HEAD"),
    ("report", "--output", "scratch/report.md"),
    ("gate", "data"),
    ("prepare",),
    ("train",),
    ("evaluate",),
    ("gate", "model", "--no-production"),
    ("card", "--output", "scratch/card"),
)
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")


def scratch_project(where: Path) -> Path:
    """A clone of this repository with the run's data and outputs (nothing here is written to)."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(where)], check=True)
    for name in ("data", "outputs", "reports", "metrics", "plots", ".dvc/cache"):  # the cache: the gate's reference
        if (ROOT / name).exists():
            shutil.rmtree(where / name, ignore_errors=True)
            shutil.copytree(ROOT / name, where / name)
    return where


def run(args: tuple[str, ...], cwd: Path, code: Path) -> dict:
    timing = cwd / "scratch" / "time.txt"
    timing.parent.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "PYTHONPROFILEIMPORTTIME": "1",
        "PYTHONWARNINGS": "ignore",
        "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}",
    }
    env.pop("GITHUB_OUTPUT", None)
    cmd = ["/usr/bin/time", "-o", str(timing), "-f", "%e %U %S", str(BIN / "mlgate"), *args]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    modules = [(int(us), name) for us, name in IMPORT_LINE.findall(done.stderr)]
    wall, user, system = map(float, timing.read_text().split()[-3:])
    tops = {name.split(".")[0] for _, name in modules}
    return {
        "rc": done.returncode,
        "wall": wall,
        "cpu": user + system,
        "imports": sum(us for us, _ in modules) / 1e6,
        "modules": len(modules),
        "heavy": [h for h in HEAVY if h in tops],
    }


def source_of(ref: str, where: Path) -> Path:
    """REF's src/ (a detached worktree), so its code runs against the same venv and data."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(where), ref], check=True)
    return where / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git ref whose code is the 'before' column")
    before = parser.parse_args().before
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-imports-") as tmp:
        old = source_of(before, Path(tmp) / "before")
        try:  # interleaved, so a busy moment of the shared machine weighs on both columns alike
            columns = {"before": old, "after": ROOT / "src"}
            projects = {label: scratch_project(Path(tmp) / f"project-{label}") for label in columns}
            figures: dict[str, list[dict]] = {label: [] for label in columns}
            for args in COMMANDS:
                for label, code in columns.items():
                    figures[label].append(run(args, projects[label], code))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(Path(tmp) / "before")])
    print(f"imports per command: before = {before}, after = this tree (seconds; modules imported)")
    print(f"{'command':<26}{'imports':>16}{'modules':>12}{'wall':>14}{'cpu':>14}  heavy libraries (after)")
    for args, b, a in zip(COMMANDS, figures["before"], figures["after"], strict=True):
        fail = "" if a["rc"] == b["rc"] == 0 else f"  exit {b['rc']} -> {a['rc']}"
        print(
            f"{' '.join(args[:2]):<26}{b['imports']:>7.2f} -> {a['imports']:<5.2f}"
            f"{b['modules']:>5} -> {a['modules']:<4}"
            f"{b['wall']:>6.2f} -> {a['wall']:<5.2f}{b['cpu']:>6.2f} -> {a['cpu']:<5.2f}  "
            f"{', '.join(a['heavy']) or '-'}{fail}"
        )
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores; shared machine)")


if __name__ == "__main__":
    main()
