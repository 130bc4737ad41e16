"""A fork's pull request under act, as GitHub runs it: the whole PR workflow (the `tests` job runs what
`mlgate changes` picks, the whole suite included), then pr-comment.yml, which GitHub starts only when the PR
workflow has finished (workflow_run). Prints wall time per job and push -> comment posted for two PRs:
(a) one that changes only params.yaml (and the results `make run` gave), (b) one that changes src/mlgate.
The repository is a fork that adopted its own table (`mlgate init`), not the template's own (whose every PR
runs the whole suite). Targets on 2 cores: (a) <= 4 min; (b) the whole suite, its time printed. Fresh clone per
run, warm uv cache, the DVC cache entry an earlier run saved. GitHub's own queueing (a runner picking the
job up) is not in it.

    flock /tmp/mlgate-docker.lock make bench-pr          # Docker engine: bash .ci/docker.sh start; eval ...
    # behind a TLS-intercepting proxy, as .ci/run does: the build job's image build reaches PyPI through it
    MLGATE_PIP_CA=/etc/ssl/certs/ca-certificates.crt make bench-pr
    python benchmarks/bench_pr.py --prs params           # only (a)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import _run_sample_project
from tests.template.workflows.test_act import (
    BY_NAME,
    READ_TOKEN,
    WRITE_TOKEN,
    World,
    _comments,
    _pr_event,
    _run_event,
    model_change,
)

TARGETS = {"params": "target <= 240 s", "template": "the whole suite: no target"}


def _template_change(work: Path) -> None:
    """A change to the template's machinery that no DVC stage depends on (the report's escaping)."""
    path = work / "src/mlgate/report/escape.py"
    path.write_text("# bench-pr: a template change\n" + path.read_text())  # lint-clean, as a PR must be


def _adopt(seed: Path, remote: Path) -> None:
    """A fork as its team has it: the template as shipped, `mlgate init` on their own table (scikit-learn's breast
    cancer data here), a DVC remote the runners reach, `make run`, `dvc push`, results committed."""
    from tests.template.adopt.test_adopt_e2e import BIN, breast_cancer, env_for, git

    source = seed.parent / "cancer.csv"
    breast_cancer().to_csv(source, index=False)
    env = env_for(seed)
    env.pop("MLFLOW_TRACKING_URI")  # the embedded default, as a fork has it
    steps = (
        ["mlgate", "init", str(source), "--target", "diagnosis"],
        ["dvc", "remote", "add", "-d", "-f", "local", str(remote)],
        "Adopt my data",  # committed first: `make run` compares the data with HEAD's
        ["dvc", "repro", "-q"],
        ["dvc", "push", "-q"],
        "My first results",
    )
    for cmd in steps:
        if isinstance(cmd, str):
            git("add", "-A", cwd=seed)
            git("commit", "-qm", cmd, cwd=seed)
            continue
        done = subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=seed, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{' '.join(cmd)}: {done.stdout[-2000:]}{done.stderr[-2000:]}")


CHANGES = {"params": model_change("train.seed", 43), "template": _template_change}


def _keep_logs(world: World) -> None:
    kept = Path.home() / ".cache/mlgate-bench/bench-pr-logs"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for log in world.root.glob("run-*.log"):
        shutil.copy(log, kept / log.name)
    print(f"run logs kept in {kept}")


def _pr(world: World, number: int, kind: str) -> None:
    base = world.sha("main")
    head = world.commit(f"feature-{number}", "main", CHANGES[kind])
    world.add_pull(number, head)
    run_id, rc, _ = world.run(BY_NAME["pr"], _pr_event(number, head, base), head, READ_TOKEN)
    _, pr_wall, pr_jobs = world.timings[-1]
    comment_rc = world.run(BY_NAME["pr-comment"], _run_event(run_id, head), world.sha("main"), WRITE_TOKEN)[1]
    _, comment_wall, comment_jobs = world.timings[-1]
    posted = bool(_comments(world, number))
    print(f"\nbench-pr ({kind}): PR workflow exit {rc}, pr-comment exit {comment_rc}, comment posted: {posted}")
    for job, seconds in {**pr_jobs, **{f"pr-comment / {j}": s for j, s in comment_jobs.items()}}.items():
        print(f"  {job:<55} {seconds:6.1f} s")
    print(f"  {'pull request workflow (act wall time)':<55} {pr_wall:6.1f} s")
    print(f"  {'pr-comment workflow (act wall time)':<55} {comment_wall:6.1f} s")
    total = f"{pr_wall + comment_wall:6.1f} s" if posted else "   n/a (no comment posted)"
    print(f"  {'push -> comment posted':<55} {total}   {TARGETS[kind]}")
    if rc != 0 or comment_rc != 0 or not posted:
        _keep_logs(world)
        sys.exit(f"bench-pr ({kind}) failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", nargs="*", choices=list(CHANGES), default=list(CHANGES), help="which PRs")
    parser.add_argument(
        "--actions-cache",
        type=Path,
        default=Path.home() / ".cache/mlgate-bench/actions-cache",
        help="GitHub's Actions cache (the DVC cache entry) kept between bench runs: warm after the first",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pr-") as tmp:
        seed, root = Path(tmp) / "seed", Path(tmp) / "world"
        seed.mkdir()
        root.mkdir()
        _run_sample_project(seed)  # the template as shipped
        _adopt(seed, Path(tmp) / "dvc-remote")  # a fork: not the template's own repository (no `sample:`)
        world = World(root, seed, actions_cache=args.actions_cache, whole_tests=True)
        try:
            for number, kind in enumerate(args.prs, start=1):
                _pr(world, number, kind)
        finally:
            world.server.shutdown()
            world.registry.stop()


if __name__ == "__main__":
    main()
