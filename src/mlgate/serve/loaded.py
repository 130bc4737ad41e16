"""The model the server holds: loaded once, checked with its own input example before ready."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.bundle import INPUT_EXAMPLE, read_json, read_run, read_serving
from mlgate.data.schema import FeatureSchema
from mlgate.model_io import load_model
from mlgate.task import TASKS, Task


@dataclass
class LoadedModel:
    model: Any
    schema: FeatureSchema
    threshold: float
    info: dict = field(default_factory=dict)
    id_column: str | None = None  # the row key a client may send with a record: echoed and logged, never scored
    task: Task = TASKS["binary"]  # what an answer is: a score, a class and its probabilities, or a value
    classes: list | None = None  # multiclass: the labels, in the order of the probabilities

    def scores(self, records: list[dict]) -> np.ndarray:
        """The task's prediction per record: a score, a row of class probabilities, or a value."""
        frame = pd.DataFrame.from_records(records, columns=self.schema.names)
        return self.task.predict(self.model, frame)

    def answer(self, value) -> dict:
        return self.task.answer(value, self.classes, self.threshold)


def load(model_dir: Path) -> LoadedModel:
    """Load model, schema and serving settings; raises if anything is missing or the model cannot predict."""
    model_dir = Path(model_dir)
    model = load_model(model_dir)
    schema = FeatureSchema.load(model_dir)
    serving = read_serving(model_dir)
    example = read_json(model_dir, INPUT_EXAMPLE)
    records = [dict(zip(example["columns"], row, strict=True)) for row in example["data"]]
    task = TASKS[serving.get("task", "binary")]  # bundles from before tasks are binary
    loaded = LoadedModel(
        model,
        schema,
        float(serving["threshold"]),
        id_column=serving.get("id_column"),
        task=task,
        classes=task.classes(model),
    )
    if not np.isfinite(loaded.scores(records)).all():
        raise ValueError("model returned non-finite scores on its own input example")
    run = read_run(model_dir)
    loaded.info = {
        "model_name": serving.get("model_name"),
        "model_version": os.environ.get("MLGATE_MODEL_VERSION") or run.get("run_id", "unknown")[:12],
        "mlflow_run_id": run.get("run_id"),
        "data_md5": serving.get("data_md5"),
        "git_sha": os.environ.get("MLGATE_GIT_SHA", "unknown"),
        "build_time": os.environ.get("MLGATE_BUILD_TIME", "unknown"),
        "threshold": loaded.threshold,
        "task": task.name,
    }
    return loaded
