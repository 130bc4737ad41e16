"""The PR workflow under act, as tests/template/workflows/test_act.py runs it: a fresh clone, every job on an empty
workspace installing its own roles from a warm uv cache and restoring the DVC cache entry an earlier run
saved. Prints wall time per job, push to report (the pr-report artifact uploaded) and the total.
Target: <= 90 s from push to the report.

    flock /tmp/mlgate-docker.lock make bench-pr          # Docker engine: bash .ci/docker.sh start; eval ...
    python benchmarks/bench_pr.py --jobs build           # only what the report and the image need
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import _run_sample_project
from tests.template.workflows.test_act import BY_NAME, READ_TOKEN, World, _pr_event, model_change


def _stamp(line: dict) -> float:
    return datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="*", default=[], help="act -j: these jobs and what they need (default all)")
    parser.add_argument("--runs", type=int, default=1, help="repeat (the first run warms Docker's layer cache)")
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
        world = World(root, seed, actions_cache=args.actions_cache)
        try:
            base = world.sha("main")
            for n in range(1, args.runs + 1):
                head = world.commit(f"bench-{n}", "main", model_change("train.seed", 42 + n))
                world.add_pull(n, head)
                run_id, rc, _ = world.run(BY_NAME["pr"], _pr_event(n, head, base), head, READ_TOKEN, jobs=args.jobs)
                lines = [line for line in world.last_lines if line.get("time")]
                start = min(map(_stamp, lines))
                report = [_stamp(x) for x in lines if "artifact pr-report:" in str(x.get("msg", ""))]
                _name, wall, per_job = world.timings[-1]
                print(f"\nbench-pr run {n} (exit {rc}; the PR workflow under act, warm uv cache)")
                for job, seconds in per_job.items():
                    print(f"  {job:<45} {seconds:6.1f} s")
                to_report = f"{report[0] - start:6.1f} s" if report else "   n/a (no report uploaded)"
                print(f"  {'push to report (pr-report uploaded)':<45} {to_report}   target <= 90 s")
                print(f"  {'total (act wall time)':<45} {wall:6.1f} s")
                if rc != 0:
                    sys.exit(f"the PR workflow failed: see {root / f'run-{run_id}-pr.log'}")
        finally:
            world.server.shutdown()


if __name__ == "__main__":
    main()
