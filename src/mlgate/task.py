"""The prediction task (params.yaml `data.task`): binary, multiclass or regression.

One object per task decides what differs between them: the target's encoding, the estimators, what the model
predicts (a positive-class score, class probabilities, a value), the metrics and their direction, the trivial
baseline, which gate checks apply, the resampling strata of the bootstrap and the served answer. Stages, gates,
the server and the monitor ask the task; nothing else branches on its name.

Light at import (the config imports the metric names): sklearn and pandas are imported where used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlgate.config import DataConfig

TASK_NAMES = ("binary", "multiclass", "regression")
REGRESSION_BINS = 10  # the bootstrap's and the samples' strata of a numeric target: its deciles


class Task:
    """What every task answers; the three subclasses below are the only implementations."""

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]  # what evaluate writes (and the gates and the report may name)
    lower_is_better: ClassVar[frozenset[str]] = frozenset()
    headline: ClassVar[str]  # the metric of the overfit gap, the summary's first line
    compared: ClassVar[tuple[tuple[str, float], ...]]  # non-inferiority's default metrics and margins
    monitored: ClassVar[tuple[str, ...]]  # what `monitor run` recomputes from feedback by default
    label_type: ClassVar[str]  # deepchecks' name for it
    model_checks: ClassVar[tuple[str, ...]]  # gates.model.checks that apply
    data_checks_skipped: ClassVar[tuple[str, ...]] = ()  # gates.data.checks that do not apply
    pyfunc_predict_fn: ClassVar[str] = "predict_proba"  # what MLflow's own server answers with
    estimators: ClassVar[Mapping[str, str]]  # built-in name -> sklearn class path
    threshold_applies: ClassVar[bool] = False

    # The target -------------------------------------------------------------------------------------------
    def encode(self, labels: pd.Series, data: DataConfig) -> pd.Series:
        """The target as the model learns it; NaN where unlabeled."""
        raise NotImplementedError

    def gate_labels(self, labels: pd.Series, data: DataConfig) -> pd.Series:
        """The labels the data gate's checks see (prepare's encoding)."""
        return self.encode(labels, data)

    def stored(self, encoded: pd.Series) -> pd.Series:
        """The encoded labels of labeled rows as the prepared split keeps them."""
        return encoded

    def strata(self, y: Any) -> np.ndarray:
        """Groups whose shares a sample, a split and a bootstrap keep: the classes, or a numeric target's bins."""
        import numpy as np

        return np.unique(np.asarray(y), return_inverse=True)[1]

    def balance(self, labels: pd.Series, data: DataConfig) -> tuple[float, str]:
        """(the rarest class's share of the labeled rows, what to say): the data gate's class_balance."""
        shares = labels.value_counts(normalize=True)
        rarest = shares.idxmin()
        return float(shares.min()), f"rarest class {rarest!r}: {shares.min():.2%} of {len(labels)} labeled rows"

    def label_chance(self, n: int, m: int, labels: pd.Series) -> float:
        """The label drift score two samples of n and m rows reach by chance (gates/chance.py)."""
        from mlgate.gates.chance import cramers_v_level

        return cramers_v_level(n, m, max(int(labels.nunique()), 2))

    deepchecks_classes: ClassVar[tuple | None] = None  # deepchecks' model_classes (binary: [0, 1])

    # The model ----------------------------------------------------------------------------------------------
    def estimator_class(self, name: str) -> type:
        import importlib

        if name not in self.estimators:
            raise ValueError(f"train.estimator '{name}' is not for task {self.name}: expected {list(self.estimators)}")
        module, _, cls = self.estimators[name].rpartition(".")
        return getattr(importlib.import_module(module), cls)

    def predict(self, model: Any, frame: pd.DataFrame) -> np.ndarray:
        """What the metrics, the gates and the server use: scores, probability rows or values."""
        raise NotImplementedError

    def truth(self, labels: Any, model: Any = None) -> np.ndarray:
        """The labels as the metrics read them beside `predict`'s output."""
        raise NotImplementedError

    def classes(self, model: Any) -> list | None:
        return None

    # Metrics ---------------------------------------------------------------------------------------------------
    def point_metrics(self, y: np.ndarray, prediction: np.ndarray, threshold: float) -> dict[str, float]:
        raise NotImplementedError

    def extra_metrics(
        self, y: np.ndarray, prediction: np.ndarray, train_y: np.ndarray, classes: list | None
    ) -> dict[str, Any]:
        """What evaluate writes beside the headline metrics (shares, per-class recall, the baseline's figures)."""
        return {}

    def plots(self, y: np.ndarray, prediction: np.ndarray, classes: list | None, threshold: float) -> dict[str, Any]:
        """The plot files evaluate writes: name -> a list of points (.json) or a frame (.csv)."""
        raise NotImplementedError

    # The PR report's chart: one of the plot files, drawn by report/mermaid.py -----------------------------------
    chart_file: ClassVar[str]  # the file in plots/ the chart draws
    chart_title: ClassVar[str]  # the report section's heading
    chart_fields: ClassVar[Mapping[str, type]]  # what each of its points holds (a base's file is checked for them)

    def chart(self, ours: list[dict], base: list[dict] | None, base_label: str) -> str:
        """The Mermaid block(s) and the caption of this run's points, beside the base's when given (`base_label`
        already escaped)."""
        raise NotImplementedError

    def scorer(self, y: np.ndarray, prediction: np.ndarray, threshold: float):
        """(weights (r, n) -> {metric: (r,) values}) for the bootstrap: each resample only re-weights rows."""
        raise NotImplementedError

    def baseline(self, metrics: dict) -> tuple[float, str, str]:
        """(normalised lift over the trivial baseline, the condition, the message) for `beats_baseline`."""
        raise NotImplementedError

    bootstrapped: ClassVar[tuple[str, ...]]  # the metrics `scorer` gives: what the intervals cover

    def calibration(self, metrics: dict) -> tuple[float, str, str]:
        """(Brier skill, the condition, the message): 1 - Brier / Brier of the constant class-share guess."""
        raise NotImplementedError

    def prediction_drift(self, train: np.ndarray, test: np.ndarray) -> tuple[float, float, str, str]:
        """(train/test drift score of the predictions, its 1 % chance level, the measure's name, the message)."""
        from scipy.stats import ks_2samp

        from mlgate.gates.chance import ks_level

        score = float(ks_2samp(train, test).statistic)
        what = "scores" if self.threshold_applies else "predicted values"
        return score, ks_level(len(train), len(test)), "KS", f"KS distance of train and test {what} {score:.4f}"

    def better(self, name: str, new: float, old: float) -> bool:
        return new < old if name in self.lower_is_better else new > old

    # Serving -------------------------------------------------------------------------------------------------
    def answer(self, value: Any, classes: list | None, threshold: float) -> dict[str, Any]:
        """One served prediction from one row of `predict`'s output."""
        raise NotImplementedError

    def invocation(self, value: Any) -> Any:
        """One row of MLflow's own server's answer for this model (its pyfunc_predict_fn)."""
        raise NotImplementedError

    def smoke_value(self, value: Any) -> float:
        """The one number per row the deploy smoke test checks (the answer's `score`/`value`)."""
        return float(value)

    smoke_field: ClassVar[str] = "score"

    def logged(self, value: Any, classes: list | None, threshold: float) -> tuple[float, Any, dict[str, Any]]:
        """(score, decision, further columns) the prediction log keeps for one row: the score is what score
        drift compares; binary's decision is its operating point's; the other tasks name themselves in the row
        (a row of another task is then told apart) and keep what their metrics need."""
        from mlgate.monitor.log import TASK

        return self.smoke_value(value), None, {TASK: self.name}

    # Monitoring --------------------------------------------------------------------------------------------------
    estimates_without_labels: ClassVar[bool] = False  # a method (CBPE) estimates performance from predictions alone
    deepchecks_score_drift: ClassVar[bool] = False  # score drift is deepchecks' on the logged score (binary)

    def log_score(self, model: Any, frame: pd.DataFrame) -> np.ndarray:
        """The one number per row the prediction log keeps (its score column): what score drift compares."""
        import numpy as np

        return np.asarray([self.smoke_value(v) for v in self.predict(model, frame)], dtype=float)

    def log_problem(self, frame: pd.DataFrame) -> tuple[int, str] | None:
        """(position, what is wrong) of the first logged row this task cannot read, or None. A row without the
        task column was logged by a binary model (the format from before tasks)."""
        import numpy as np
        import pandas as pd

        from mlgate.monitor.log import SCORE, TASK

        written = frame[TASK] if TASK in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        other = np.flatnonzero((written.fillna("binary") != self.name).to_numpy())
        if len(other):
            by = written.iloc[other[0]]
            by = (
                f"a {by} model"
                if isinstance(by, str)
                else f"a binary model or an mlgate before per-task logs (no {TASK})"
            )
            return int(other[0]), f"logged by {by}, monitored as {self.name}"
        if SCORE not in frame.columns:
            return 0, f"no '{SCORE}' column"
        bad = np.flatnonzero(~np.isfinite(_numbers(frame[SCORE]).to_numpy(float)))
        if len(bad):
            return int(bad[0]), f"'{SCORE}' is not a finite number"
        return None

    def from_log(self, frame: pd.DataFrame) -> tuple[np.ndarray, list | None]:
        """(logged rows' prediction in `predict`'s form, the classes it is over) from rows `log_problem` passed."""
        return _numbers(frame[_score_column()]).to_numpy(float), None

    def drift_values(self, prediction: np.ndarray, classes: list | None) -> np.ndarray:
        """What prediction drift compares, from `predict`'s (or `from_log`'s) output: here the values."""
        import numpy as np

        return np.asarray(prediction, dtype=float)

    def live_drift(self, reference: np.ndarray, live: np.ndarray) -> tuple[float, float, str, str]:
        """(effect size, p-value at these sizes, the measure, the message) of the live predictions against the
        reference's: the two-sample KS statistic and test of the values."""
        from scipy.stats import ks_2samp

        test = ks_2samp(reference, live)
        score = float(test.statistic)
        message = (
            f"KS {score:.3f} (p {test.pvalue:.2g}); mean prediction {live.mean():.4g} live vs "
            f"{reference.mean():.4g} reference"
        )
        return score, float(test.pvalue), "KS", message

    def feedback_labels(self, values: pd.Series, data: DataConfig) -> list:
        """A feedback file's target as the feedback log keeps it; a value the task cannot read is a ValueError."""
        import pandas as pd

        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna().to_numpy().nonzero()[0]
        if len(bad):
            raise ValueError(f"row {int(bad[0]) + 2}: target {values.iloc[bad[0]]!r} is not a number")
        return [float(v) for v in numbers]

    def feedback_truth(self, labels: pd.Series, classes: list | None) -> np.ndarray:
        """The joined feedback labels as the metrics read them beside `from_log`'s prediction."""
        import numpy as np

        return np.asarray(labels, dtype=float)

    def monitored_change(self, metric: str, live: float, evaluated: float) -> float:
        """Live against evaluated, + better, in max_drop's unit: the difference, sign flipped when lower is
        better."""
        return evaluated - live if metric in self.lower_is_better else live - evaluated


def _clip(p: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.clip(p, 1e-15, 1 - 1e-15)


class Binary(Task):
    name = "binary"
    metrics = ("pr_auc", "roc_auc", "f1", "precision", "recall", "brier")
    lower_is_better = frozenset({"brier"})
    headline = "pr_auc"
    compared = (("pr_auc", 0.02), ("roc_auc", 0.01))
    monitored = ("pr_auc", "roc_auc")
    label_type = "binary"
    model_checks = ("calibration", "prediction_drift")
    estimators = MappingProxyType(
        {
            "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingClassifier",
            "random_forest": "sklearn.ensemble.RandomForestClassifier",
            "logistic_regression": "sklearn.linear_model.LogisticRegression",
        }
    )
    threshold_applies = True
    deepchecks_classes = (0, 1)
    estimates_without_labels = True
    deepchecks_score_drift = True

    def log_score(self, model, frame):
        return self.predict(model, frame)

    bootstrapped = metrics

    def calibration(self, metrics):
        from mlgate.pipeline.metrics import brier_skill

        p = metrics["prevalence"]
        skill = brier_skill(metrics["brier"], p)
        return (
            skill,
            "Brier skill 1 - Brier / (p (1 - p))",
            f"Brier {metrics['brier']:.4f} vs {p * (1 - p):.4f} for a constant prevalence guess: skill {skill:.4f}",
        )

    def balance(self, labels, data):
        positive = float(labels.mean())
        message = f"{positive:.2%} of {len(labels)} labeled rows are positive ({data.positive!r})"
        return min(positive, 1 - positive), message

    def encode(self, labels, data):
        from mlgate.data.target import encode_target

        return encode_target(labels, data)

    def stored(self, encoded):
        return encoded.astype(int)

    def gate_labels(self, labels, data):
        """The positive label as 1.0, any other as 0.0, NaN unlabeled. A target that is not binary still gets a
        0/1 label here, so class_balance alone fails it instead of every check."""
        import pandas as pd

        from mlgate.errors import MlgateError

        try:
            return self.encode(labels, data)
        except MlgateError:
            wanted = str(data.positive).strip().lower()
            return labels.map(
                lambda v: float("nan") if pd.isna(v) else float(v == data.positive or str(v).strip().lower() == wanted)
            )

    def predict(self, model, frame):
        import numpy as np

        return np.asarray(model.predict_proba(frame)[:, 1], dtype=float)

    def truth(self, labels, model=None):
        import numpy as np

        return np.asarray(labels).astype(int)

    def point_metrics(self, y, prediction, threshold):
        from mlgate.pipeline.metrics import score_metrics

        return score_metrics(y, prediction, threshold)

    def extra_metrics(self, y, prediction, train_y, classes):
        return {"prevalence": float(y.mean())}

    def plots(self, y, prediction, classes, threshold):
        import pandas as pd

        from mlgate.pipeline.metrics import pr_points, roc_points

        confusion = pd.DataFrame({"actual": y, "predicted": (prediction >= threshold).astype(int)})
        return {"roc.json": roc_points(y, prediction), "pr.json": pr_points(y, prediction), "confusion.csv": confusion}

    # The PR report's chart
    chart_file = "pr.json"
    chart_title = "Precision-recall"
    chart_fields = MappingProxyType({"recall": float, "precision": float})

    def chart(self, ours, base, base_label):
        from mlgate.report.mermaid import caption, pr_chart

        return pr_chart(ours, base) + "\n\n" + caption(base_label if base else None)

    def scorer(self, y, prediction, threshold):
        from mlgate.evidence.bootstrap import _Ranked, weighted_metrics

        ranked = _Ranked(y, prediction)
        return lambda weights: weighted_metrics(y, prediction, weights, threshold, ranked)

    def baseline(self, metrics):
        from mlgate.pipeline.metrics import normalised_lift

        p = metrics["prevalence"]
        lift = normalised_lift(metrics["pr_auc"], p)
        return (
            lift,
            "(PR-AUC - p) / (1 - p) >= {margin}, p = prevalence",
            f"PR-AUC {metrics['pr_auc']:.4f} vs the trivial baseline {p:.4f}: normalised lift {lift:.4f}",
        )

    def answer(self, value, classes, threshold):
        return {"score": float(value), "positive": bool(value >= threshold)}

    def invocation(self, value):
        return [1 - float(value), float(value)]

    def logged(self, value, classes, threshold):
        return float(value), bool(value >= threshold), {}

    def log_problem(self, frame):
        import numpy as np

        problem = super().log_problem(frame)
        if problem is None:
            score = _numbers(frame[_score_column()]).to_numpy(float)
            outside = np.flatnonzero((score < 0) | (score > 1))
            if len(outside):
                return int(outside[0]), f"score {score[outside[0]]} is not a probability"
        return problem

    def feedback_labels(self, values, data):
        from mlgate.data.target import _same

        return [int(_same(v, data.positive)) for v in values]

    def feedback_truth(self, labels, classes):
        import numpy as np

        return np.asarray(labels).astype(int)


class Multiclass(Task):
    name = "multiclass"
    metrics = ("log_loss", "macro_f1", "balanced_accuracy", "roc_auc", "accuracy", "brier")
    lower_is_better = frozenset({"log_loss", "brier"})
    headline = "balanced_accuracy"
    compared = (("balanced_accuracy", 0.02), ("roc_auc", 0.01))
    monitored = ("balanced_accuracy", "macro_f1")
    label_type = "multiclass"
    model_checks = ("calibration", "prediction_drift")
    estimators = Binary.estimators
    bootstrapped = metrics

    def calibration(self, metrics):
        reference = metrics["prior_brier"]
        if reference <= 0:
            raise ValueError("Brier skill needs two or more classes in the test set")
        skill = 1 - metrics["brier"] / reference
        return (
            skill,
            "multiclass Brier skill 1 - Brier / Brier of the train class shares",
            f"Brier {metrics['brier']:.4f} vs {reference:.4f} for always predicting the train split's class shares: "
            f"skill {skill:.4f}",
        )

    def prediction_drift(self, train, test):
        """Cramér's V of the predicted classes' counts, train against test (2 x k table)."""
        import numpy as np
        from scipy.stats import chi2, chi2_contingency

        k = train.shape[1]
        counts = np.array([np.bincount(p.argmax(axis=1), minlength=k) for p in (train, test)])
        counts = counts[:, counts.sum(axis=0) > 0]
        n = counts.sum()
        if counts.shape[1] < 2:
            return 0.0, 0.0, "Cramér's V", "both splits predict one class only"
        statistic = float(chi2_contingency(counts, correction=False)[0])
        score = float(np.sqrt(statistic / n))
        chance = float(np.sqrt(chi2.ppf(0.99, counts.shape[1] - 1) / n))
        return score, chance, "Cramér's V", f"Cramér's V of train and test predicted classes {score:.4f}"

    def encode(self, labels, data):
        return labels.where(labels.notna())  # the labels as they are: the model's classes_ name them

    def predict(self, model, frame):
        import numpy as np

        return np.asarray(model.predict_proba(frame), dtype=float)

    def classes(self, model):
        return [c.item() if hasattr(c, "item") else c for c in model.classes_]

    def truth(self, labels, model=None):
        import numpy as np

        classes = np.asarray(model.classes_)
        labels = np.asarray(labels)
        index = np.searchsorted(classes, labels)
        index = np.clip(index, 0, len(classes) - 1)
        if not (classes[index] == labels).all():
            unknown = sorted({str(v) for v in labels[classes[index] != labels]})[:3]
            raise ValueError(f"labels {unknown} are not classes the model learned ({self.classes(model)})")
        return index

    def point_metrics(self, y, prediction, threshold):
        import numpy as np

        values = self.scorer(y, prediction, threshold)(np.ones((1, len(y))))
        return {m: float(values[m][0]) for m in self.metrics}

    def extra_metrics(self, y, prediction, train_y, classes):
        import numpy as np

        k = prediction.shape[1]
        predicted = prediction.argmax(axis=1)
        recalls = {str(c): float((predicted[y == i] == i).mean()) for i, c in enumerate(classes) if (y == i).any()}
        prior = np.bincount(train_y, minlength=k) / len(train_y)  # the constant guess: the train split's shares
        prior_brier = float(np.mean(((prior[None, :] - np.eye(k)[y]) ** 2).sum(axis=1)))
        return {"recall_per_class": recalls, "classes": k, "prior_brier": prior_brier}

    def plots(self, y, prediction, classes, threshold):
        import numpy as np
        import pandas as pd
        from sklearn.metrics import recall_score

        predicted = prediction.argmax(axis=1)
        names = [str(c) for c in classes]
        present = np.unique(y)  # a class absent from the test split has no recall; one never predicted has 0
        values = recall_score(y, predicted, labels=present, average=None)
        recall = [{"class": names[i], "recall": round(float(r), 4)} for i, r in zip(present, values, strict=True)]
        confusion = pd.DataFrame({"actual": [names[i] for i in y], "predicted": [names[i] for i in predicted]})
        return {"recall.json": recall, "confusion.csv": confusion}

    # The PR report's chart
    chart_file = "recall.json"
    chart_title = "Recall per class"
    chart_fields = MappingProxyType({"class": str, "recall": float})

    def chart(self, ours, base, base_label):
        from mlgate.report.mermaid import recall_chart

        return recall_chart(ours, base, base_label)

    def scorer(self, y, prediction, threshold):
        import numpy as np

        from mlgate.evidence.bootstrap import _Ranked

        y = np.asarray(y).astype(int)
        k = prediction.shape[1]
        onehot = np.eye(k)[y]
        per_row = {
            "log_loss": -np.log(_clip(prediction[np.arange(len(y)), y])),
            "brier": ((prediction - onehot) ** 2).sum(axis=1),
        }
        predicted = prediction.argmax(axis=1)
        correct = (predicted == y).astype(float)
        is_class = [(y == c).astype(float) for c in range(k)]
        hits = [((predicted == c) & (y == c)).astype(float) for c in range(k)]
        flagged = [(predicted == c).astype(float) for c in range(k)]
        ranked = [
            _Ranked((y == c).astype(int), prediction[:, c]) if 0 < (y == c).sum() < len(y) else None for c in range(k)
        ]

        def score(weights):
            w = weights.astype(np.float64)
            total = w.sum(axis=1)
            out = {name: (w @ v) / total for name, v in per_row.items()}
            out["accuracy"] = (w @ correct) / total
            recalls, f1s, aucs = [], [], []
            for c in range(k):
                support, tp, positive = w @ is_class[c], w @ hits[c], w @ flagged[c]
                recalls.append(np.divide(tp, support, out=np.zeros_like(tp), where=support > 0))
                denominator = support + positive  # 2 tp + fp + fn
                f1s.append(np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0))
                if ranked[c] is not None:
                    aucs.append(ranked[c].metrics(weights)["roc_auc"])
            out["balanced_accuracy"] = np.mean(recalls, axis=0)
            out["macro_f1"] = np.mean(f1s, axis=0)
            out["roc_auc"] = np.mean(aucs, axis=0) if aucs else np.full(len(w), np.nan)
            return out

        return score

    def baseline(self, metrics):
        k = metrics["classes"]
        chance = 1 / k
        lift = (metrics["balanced_accuracy"] - chance) / (1 - chance)
        return (
            lift,
            "(balanced accuracy - 1/k) / (1 - 1/k) >= {margin}, k = classes",
            f"balanced accuracy {metrics['balanced_accuracy']:.4f} vs {chance:.4f} for a constant or random guess "
            f"among {k} classes: normalised lift {lift:.4f}",
        )

    def answer(self, value, classes, threshold):
        best = int(value.argmax())
        return {
            "label": classes[best],
            "score": float(value[best]),
            "probabilities": {str(c): float(p) for c, p in zip(classes, value, strict=True)},
        }

    def invocation(self, value):
        return [float(p) for p in value]

    def smoke_value(self, value):
        return float(max(value))

    def logged(self, value, classes, threshold):
        from mlgate.monitor.log import CLASS, PROBABILITY, TASK

        best = int(value.argmax())
        columns = {TASK: self.name, CLASS: str(classes[best])}
        columns.update({f"{PROBABILITY}{c}": float(p) for c, p in zip(classes, value, strict=True)})
        return float(value[best]), None, columns

    def _log_classes(self, frame: pd.DataFrame) -> list[str]:
        """The classes of logged rows: their probability columns, in the model's order (as logged)."""
        from mlgate.monitor.log import PROBABILITY

        return [c[len(PROBABILITY) :] for c in frame.columns if c.startswith(PROBABILITY) and frame[c].notna().any()]

    def log_problem(self, frame):
        import numpy as np

        from mlgate.monitor.log import CLASS, PROBABILITY

        problem = super().log_problem(frame)
        if problem is not None:
            return problem
        classes = self._log_classes(frame)
        if len(classes) < 2 or CLASS not in frame.columns:
            return 0, f"no '{CLASS}' and '{PROBABILITY}<class>' columns of two or more classes"
        probabilities = frame[[PROBABILITY + c for c in classes]].apply(_numbers).to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(probabilities).all(axis=1) | (np.abs(probabilities.sum(axis=1) - 1) > 1e-3))
        if len(bad):
            return int(bad[0]), f"the class probabilities are not numbers that sum to 1 (classes {classes})"
        unknown = np.flatnonzero(~frame[CLASS].astype(str).isin(classes).to_numpy())
        if len(unknown):
            return int(unknown[0]), f"predicted class {frame[CLASS].iloc[unknown[0]]!r} is not one of {classes}"
        return None

    def from_log(self, frame):
        from mlgate.monitor.log import PROBABILITY

        classes = self._log_classes(frame)
        return frame[[PROBABILITY + c for c in classes]].apply(_numbers).to_numpy(float), classes

    def drift_values(self, prediction, classes):
        """The predicted class of each row (as text: the log's and the model's classes compare alike)."""
        import numpy as np

        return np.asarray([str(c) for c in classes], dtype=object)[np.asarray(prediction).argmax(axis=1)]

    def live_drift(self, reference, live):
        """Chi-squared test of the predicted classes' counts (2 x k) and Cramér's V of their shares: the two
        distributions weighted alike, so the effect size does not move with the two sizes (0 same, 1 disjoint)."""
        import numpy as np
        import pandas as pd
        from scipy.stats import chi2_contingency

        table = pd.concat([pd.Series(v).value_counts() for v in (reference, live)], axis=1).fillna(0)
        counts = table.to_numpy().T
        if counts.shape[1] < 2:
            return 0.0, 1.0, "Cramér's V", "the reference and the window predict one and the same class only"
        p = float(chi2_contingency(counts, correction=False).pvalue)
        shares = counts / counts.sum(axis=1, keepdims=True)
        score = float(np.sqrt(((shares[0] - shares[1]) ** 2 / (shares[0] + shares[1])).sum() / 2))
        moved = int(np.abs(shares[1] - shares[0]).argmax())
        message = (
            f"Cramér's V {score:.3f} (chi-squared p {p:.2g}); predicted {table.index[moved]!r} in "
            f"{shares[1][moved]:.1%} of the window vs {shares[0][moved]:.1%} of the reference"
        )
        return score, p, "Cramér's V", message

    def feedback_labels(self, values, data):
        return [str(v) for v in values]

    def feedback_truth(self, labels, classes):
        import numpy as np

        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted({str(v) for v in labels if str(v) not in index})[:3]
        if unknown:
            raise ValueError(f"labels {unknown} are not classes the model predicts ({classes})")
        return np.asarray([index[str(v)] for v in labels], dtype=int)


class Regression(Task):
    name = "regression"
    metrics = ("rmse", "mae", "r2", "skill")
    lower_is_better = frozenset({"rmse", "mae"})
    headline = "r2"
    compared = (("r2", 0.02),)
    monitored = ("rmse", "mae")
    label_type = "regression"
    model_checks = ("residual_bias", "prediction_drift")
    data_checks_skipped = ("class_balance",)
    pyfunc_predict_fn = "predict"
    estimators = MappingProxyType(
        {
            "hist_gradient_boosting": "sklearn.ensemble.HistGradientBoostingRegressor",
            "random_forest": "sklearn.ensemble.RandomForestRegressor",
            "ridge": "sklearn.linear_model.Ridge",
        }
    )
    smoke_field = "value"
    bootstrapped = ("rmse", "mae", "r2")

    def residual_bias(self, y: np.ndarray, prediction: np.ndarray, limit: float) -> tuple[float, float, str]:
        """(|mean residual| / std of the target, the limit it is held to, the message): a model that is off by a
        constant. Held to max(limit, the 1 % noise of a mean of these residuals), so few rows never fail it."""
        import numpy as np

        residual = np.asarray(prediction, float) - np.asarray(y, float)
        scale = float(np.std(y)) or 1.0
        ratio = abs(float(residual.mean())) / scale
        noise = 2.58 * float(residual.std()) / np.sqrt(len(residual)) / scale
        held = max(limit, noise)
        message = f"mean residual {residual.mean():+.4g} (prediction - actual), target std {scale:.4g}: "
        message += f"ratio {ratio:.4f}"
        return ratio, held, message

    def label_chance(self, n, m, labels):
        from mlgate.gates.chance import ks_level

        return ks_level(n, m)

    def encode(self, labels, data):
        import pandas as pd

        values = pd.to_numeric(labels, errors="coerce")
        bad = labels.notna() & values.isna()
        if bad.any():
            from mlgate.errors import MlgateError

            shown = sorted(map(str, labels[bad].unique()))[:3]
            raise MlgateError(f"{data.path}: target '{data.target}' of a regression must be numbers, found {shown}")
        return values.astype(float)

    def strata(self, y):
        """Deciles of the target by rank (ties broken by order, so the bins are as even as the rows allow)."""
        import numpy as np

        y = np.asarray(y, dtype=float)
        bins = max(1, min(REGRESSION_BINS, len(y) // 20))
        order = np.argsort(y, kind="mergesort")
        strata = np.empty(len(y), dtype=int)
        strata[order] = np.arange(len(y)) * bins // max(len(y), 1)
        return strata

    def predict(self, model, frame):
        import numpy as np

        return np.asarray(model.predict(frame), dtype=float).reshape(-1)

    def truth(self, labels, model=None):
        import numpy as np

        return np.asarray(labels, dtype=float)

    def point_metrics(self, y, prediction, threshold):
        import numpy as np

        values = self.scorer(y, prediction, threshold)(np.ones((1, len(y))))
        return {m: float(values[m][0]) for m in self.metrics if m != "skill"}

    def extra_metrics(self, y, prediction, train_y, classes):
        import numpy as np

        mean = float(np.mean(train_y))
        baseline_mse = float(np.mean((y - mean) ** 2))
        mse = float(np.mean((prediction - y) ** 2))
        skill = 1 - mse / baseline_mse if baseline_mse > 0 else float("nan")
        return {
            "skill": skill,
            "baseline_rmse": math.sqrt(baseline_mse),
            "mean_residual": float(np.mean(prediction - y)),
            "target_std": float(np.std(y)),
        }

    def plots(self, y, prediction, classes, threshold):
        """Mean actual against mean predicted per decile of the prediction: a calibrated model is the diagonal."""
        import numpy as np

        order = np.argsort(prediction, kind="mergesort")
        points = []
        for i, rows in enumerate(np.array_split(order, min(10, len(order)))):
            if len(rows):
                points.append(
                    {
                        "decile": i + 1,
                        "predicted": round(float(prediction[rows].mean()), 6),
                        "actual": round(float(y[rows].mean()), 6),
                    }
                )
        return {"deciles.json": points}

    # The PR report's chart
    chart_file = "deciles.json"
    chart_title = "Mean actual vs mean predicted per decile"
    chart_fields = MappingProxyType({"actual": float, "predicted": float})

    def chart(self, ours, base, base_label):
        from mlgate.report.mermaid import decile_charts

        return decile_charts(ours, base, base_label)

    def scorer(self, y, prediction, threshold):
        import numpy as np

        y = np.asarray(y, dtype=float)
        error = np.asarray(prediction, dtype=float) - y

        def score(weights):
            w = weights.astype(np.float64)
            total = w.sum(axis=1)
            sse = w @ error**2
            sst = w @ y**2 - (w @ y) ** 2 / total
            return {
                "rmse": np.sqrt(sse / total),
                "mae": (w @ np.abs(error)) / total,
                "r2": 1 - np.divide(sse, sst, out=np.full_like(sse, np.nan), where=sst > 0),
            }

        return score

    def baseline(self, metrics):
        skill = metrics["skill"]
        return (
            skill,
            "1 - MSE / MSE of the train mean >= {margin}",
            f"RMSE {metrics['rmse']:.4g} vs {metrics['baseline_rmse']:.4g} for always predicting the train mean: "
            f"skill {skill:.4f}",
        )

    def answer(self, value, classes, threshold):
        return {"value": float(value)}

    def invocation(self, value):
        return float(value)

    def monitored_change(self, metric, live, evaluated):
        """RMSE and MAE are in the target's units: their change is a share of the evaluated figure (max_drop 0.02
        is 2 % worse), so one limit means the same on any target."""
        if metric in self.lower_is_better:
            return (evaluated - live) / evaluated if evaluated > 0 else evaluated - live
        return live - evaluated


def _score_column() -> str:
    from mlgate.monitor.log import SCORE

    return SCORE


def _numbers(column: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.to_numeric(column, errors="coerce")


TASKS: dict[str, Task] = {task.name: task for task in (Binary(), Multiclass(), Regression())}
ALL_METRICS = tuple(dict.fromkeys(m for task in TASKS.values() for m in task.metrics))
LOWER_IS_BETTER = frozenset().union(*(task.lower_is_better for task in TASKS.values()))


def get(name: str) -> Task:
    return TASKS[name]
