"""The base revision's model, trained in the job: the cheapest champion that works everywhere.

A fresh fork's runner (or act) has no secrets and no artifact of the base branch, but it has the base
revision in git. Its params.yaml's train settings, and for a `module:function` estimator its own project
code under src/, are fitted on this run's train split with this version's preprocessing, so the two models
differ only in what the PR changed in how the model is built, and meet the same test rows.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from mlgate.archive import extract
from mlgate.config import Params, TrainConfig
from mlgate.errors import MlgateError
from mlgate.features import feature_spec
from mlgate.pipeline.model import PROJECT_CODE, build_pipeline

TEMPLATE_PACKAGE = "mlgate"  # never taken from the base revision: this version's code judges both sides


def fit_base(params: Params, config: TrainConfig, commit: str) -> Any:
    """`config` (the base revision's train settings) fitted on this run's train split.

    On one OpenMP/BLAS thread: on a busy 2-core runner the default threads made the sample's fit 7x slower
    (15 s against 2 s), and one thread gives the same model."""
    from threadpoolctl import threadpool_limits

    train = pd.read_parquet(params.prepare.output_dir / "train.parquet")
    spec = feature_spec(train, params.data)
    X, y = train[spec.columns], train[params.data.target]
    code = contextlib.nullcontext()
    if config.is_factory:
        code = _project_code_at(commit, config.estimator.partition(":")[0].split(".")[0])
    with code, threadpool_limits(1):
        return build_pipeline(config, spec, params.data.kind).fit(X, y)


@contextlib.contextmanager
def _project_code_at(commit: str, top: str) -> Iterator[None]:
    """Import `top` (the project's package) from `commit`'s src/ for the duration, then restore this run's."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "--", str(PROJECT_CODE)], capture_output=True)
    if archive.returncode != 0:
        raise MlgateError(f"git archive {commit[:7]} {PROJECT_CODE}: {archive.stderr.decode().strip()[:200]}")
    ours = {name: module for name, module in sys.modules.items() if name == top or name.startswith(f"{top}.")}
    with tempfile.TemporaryDirectory(prefix="mlgate-base-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            own = [m for m in tar.getmembers() if not m.name.startswith(f"{PROJECT_CODE}/{TEMPLATE_PACKAGE}/")]
            extract(tar, tmp, own)
        for name in ours:
            del sys.modules[name]
        try:
            with contextlib.chdir(tmp):  # load_factory puts ./src (now the base's) first on sys.path
                yield
        finally:
            code = str((Path(tmp) / PROJECT_CODE).resolve())
            while code in sys.path:
                sys.path.remove(code)
            for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
                del sys.modules[name]
            sys.modules.update(ours)
