"""What `mlgate init` decides from the user's data alone: the file's table, the task, the schema contract,
the positive label, the size- and prevalence-aware defaults and the data gate's data-dependent limits.
Pure functions, no files written."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.config import DATA_CHECK_DEFAULTS
from mlgate.errors import MlgateError

CATEGORY_CAP = 50  # a text column with at most this many distinct values gets an `allowed:` list
RANGE_MARGIN = 0.1  # numeric ranges are the observed ones widened by this share of their span
TRUTHY = ("1", "true", "yes", "y", "positive", "pos")  # labels that name the positive class themselves
PARQUET_MAGIC = b"PAR1"


COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}  # by magic bytes
THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$|^-?\d+(\.\d+)?$")  # 1,065 or 12.5


def _text_head(path: Path, compression: str | None) -> bytes:
    """The first 4 KiB of the (decompressed) text, for sniffing its delimiter."""
    if compression is None:
        return path.open("rb").read(4096)
    import bz2
    import gzip
    import lzma
    import zipfile

    if compression == "zip":
        with zipfile.ZipFile(path) as archive, archive.open(archive.namelist()[0]) as member:
            return member.read(4096)
    with {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[compression](path, "rb") as stream:
        return stream.read(4096)


def _read_csv(path: Path, head: bytes, compression: str | None) -> pd.DataFrame:
    frame = pd.read_csv(path, compression=compression)
    if len(frame.columns) == 1 and (sep := _other_delimiter(head)):  # e.g. Excel's ';' in many locales
        return max(
            (
                pd.read_csv(path, sep=sep, compression=compression),
                pd.read_csv(path, sep=sep, decimal=",", compression=compression),  # 12,8 where ',' is decimal
            ),
            key=lambda read: sum(pd.api.types.is_numeric_dtype(dtype) for dtype in read.dtypes),
        )
    if sum(str(name).startswith(" ") for name in frame.columns[1:]) == len(frame.columns) - 1:  # "a, b, c"
        return pd.read_csv(path, compression=compression, skipinitialspace=True)
    return frame


def _thousands(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns written with thousands separators ("1,065") as the numbers they are."""
    for name in frame.columns:
        values = frame[name].dropna()
        text = frame[name].dtype == object and len(values) and values.map(lambda v: isinstance(v, str)).all()
        if text and values.str.contains(",", regex=False).any() and values.str.match(THOUSANDS).all():
            frame[name] = pd.to_numeric(frame[name].str.replace(",", "", regex=False))
    return frame


def read_table(path: Path) -> pd.DataFrame:
    """The user's file as a frame: Parquet (by its magic bytes; a named index kept as a column) or CSV, also
    compressed; anything else is one clear line."""
    if not path.is_file():
        raise MlgateError(f"{path}: file not found (expected a CSV or Parquet file)")
    head = path.open("rb").read(4096)
    if not head:
        raise MlgateError(f"{path}: file is empty (expected a CSV with a header row, or Parquet)")
    compression = next((kind for magic, kind in COMPRESSED.items() if head.startswith(magic)), None)
    try:
        if head.startswith(PARQUET_MAGIC):
            frame = pd.read_parquet(path)
            if any(frame.index.names) or not isinstance(frame.index, pd.RangeIndex):  # e.g. a time series' dates
                frame = frame.reset_index()
        elif b"\0" in (head := _text_head(path, compression)):
            raise MlgateError(f"{path}: binary file, not a table (expected a CSV or Parquet file)")
        else:
            frame = _thousands(_read_csv(path, head, compression))
    except MlgateError:
        raise
    except UnicodeDecodeError as exc:  # Excel's "CSV" in many locales is cp1252 / latin-1
        raise MlgateError(
            f"{path}: not UTF-8 text (a byte 0x{exc.object[exc.start]:02x}): "
            "save it as UTF-8 (Excel: CSV UTF-8) and run init again"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise MlgateError(f"{path}: file is empty (expected a CSV with a header row, or Parquet)") from exc
    except (pd.errors.ParserError, ValueError, OSError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise MlgateError(f"{path}: not a readable table ({first})") from exc
    if frame.empty or len(frame.columns) < 2:
        what = "no data rows" if frame.empty else "a single column"
        raise MlgateError(f"{path}: {what} (expected a table: a target column and at least one feature)")
    return frame


def _other_delimiter(head: bytes) -> str | None:
    """';', tab or '|' when the file's first lines are separated by one of them (init writes a comma CSV)."""
    try:
        return csv.Sniffer().sniff(head.decode("utf-8", errors="ignore"), delimiters=";\t|").delimiter
    except csv.Error:
        return None


MAX_CLASSES = CATEGORY_CAP  # more text labels than this fit no task (free text, ids)
MAX_INTEGER_CLASSES = 20  # integer codes with at most this many values are classes; more are numbers
MIN_CLASS_ROWS = 5  # a class with fewer labeled rows cannot be in both splits and be judged in the test one
OVERRIDE = "override with --task binary|multiclass|regression"


def _present(frame: pd.DataFrame, target: str, path: Path) -> pd.Series:
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:10])) + (", ..." if len(frame.columns) > 10 else "")
        raise MlgateError(f"{path}: --target column '{target}' not found (columns: {shown})")
    values = frame[target].dropna()
    if values.empty:
        raise MlgateError(f"{path}: target '{target}' has no labels (every value is missing)")
    if values.nunique() == 1:
        raise MlgateError(
            f"{path}: target '{target}' is constant ({_plain(values.iloc[0])!r}); no task learns from one value"
        )
    return values


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def infer_task(frame: pd.DataFrame, target: str, given: str | None, path: Path) -> tuple[str, str]:
    """(the task, why): two labels are binary; a few text labels or integer codes multiclass; numbers with many
    values regression. A given --task is checked against the target. A target that fits none is one line."""
    values = _present(frame, target, path)
    distinct = int(values.nunique())
    numeric = _numeric(values)
    integral = numeric and bool(np.isfinite(values.astype(float)).all()) and bool((values % 1 == 0).all())
    shown = sorted(map(str, values.unique()))[:5]
    if given is not None:
        if given == "binary" and distinct != 2:
            raise MlgateError(f"{path}: --task binary needs two labels; target '{target}' has {distinct} {shown}")
        if given == "multiclass" and not 3 <= distinct <= MAX_CLASSES:
            fix = "use --task binary" if distinct == 2 else f"at most {MAX_CLASSES} classes"
            raise MlgateError(f"{path}: --task multiclass: target '{target}' has {distinct} labels ({fix})")
        if given == "regression" and not numeric:
            raise MlgateError(f"{path}: --task regression needs numbers; target '{target}' holds text {shown}")
        return given, "given with --task"
    if distinct == 2:
        return "binary", f"two labels in '{target}'"
    if not numeric:
        if distinct > MAX_CLASSES:
            raise MlgateError(
                f"{path}: target '{target}' fits no task: {distinct} text labels (at most {MAX_CLASSES} classes; "
                "a number column is a regression target)"
            )
        return "multiclass", f"{distinct} text labels in '{target}'"
    if integral and distinct <= MAX_INTEGER_CLASSES:
        return "multiclass", f"{distinct} integer codes in '{target}'"
    return "regression", f"numbers with {distinct} distinct values in '{target}'"


def check_classes(frame: pd.DataFrame, target: str, path: Path) -> None:
    """Every class has enough labeled rows for a stratified split (in train and in test)."""
    counts = frame[target].value_counts()
    few = counts[counts < MIN_CLASS_ROWS]
    if len(few):
        label, rows = few.index[0], int(few.iloc[0])
        raise MlgateError(
            f"{path}: class {_plain(label)!r} of '{target}' has {rows} labeled row{'s' * (rows != 1)}; each class "
            f"needs at least {MIN_CLASS_ROWS} to be in both the train and the test split (merge or drop it)"
        )


def _labels(frame: pd.DataFrame, target: str, path: Path) -> list[Any]:
    values = _present(frame, target, path)
    if values.nunique() > 2:
        shown = sorted(map(str, values.unique()))[:5]
        raise MlgateError(f"{path}: target '{target}' has {values.nunique()} labels {shown}; --positive is binary")
    return values.unique().tolist()


def _same(value: Any, wanted: Any) -> bool:
    return value == wanted or str(value).strip().lower() == str(wanted).strip().lower()


def choose_positive(frame: pd.DataFrame, target: str, given: str | None, path: Path) -> Any:
    """The positive label: --positive when given; else a label that says so (1, True, yes); else the rarer
    label (a tie: the one sorting last). Returned as the value the pipeline reads (int, float, bool or text)."""
    values = _labels(frame, target, path)
    if given is not None:
        matches = [v for v in values if _same(v, given)]
        if len(matches) != 1:
            raise MlgateError(f"--positive {given!r} is not a label of '{target}' (labels: {sorted(map(str, values))})")
        return _plain(matches[0])
    truthy = [v for v in values if str(v).strip().lower() in TRUTHY]
    if len(truthy) == 1:
        return _plain(truthy[0])
    counts = frame[target].value_counts()
    return _plain(min(values, key=lambda v: (counts[v], -sorted(map(str, values)).index(str(v)))))


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so they write to YAML as 1, 1.5, true or text."""
    return value.item() if hasattr(value, "item") else value


def _outward(value: float, step: float, down: bool) -> float:
    rounded = (math.floor if down else math.ceil)(value / step) * step
    return round(rounded, max(0, -math.floor(math.log10(step))))


def column_rule(series: pd.Series, is_id: bool = False) -> dict[str, Any]:
    """The contract of one column as observed: type, nullability, a range with a margin or the categories."""
    rule: dict[str, Any] = {}
    values = series.dropna()
    if is_id or not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        if pd.api.types.is_bool_dtype(series):
            rule["type"] = "float"  # True/False: numeric to the pipeline, not int64 to the schema check
            rule["allowed"] = [0, 1]
        else:
            rule["type"] = "string"
            distinct = values.astype(str).unique()
            if is_id:
                rule["unique"] = True
            elif 0 < len(distinct) <= CATEGORY_CAP:
                rule["allowed"] = sorted(distinct.tolist())
    else:
        is_int = pd.api.types.is_integer_dtype(series)
        rule["type"] = "int" if is_int else "float"
        if len(values) and bool(np.isfinite(values.astype(float)).all()):  # an infinity leaves it unbounded
            lo, hi = float(values.min()), float(values.max())
            span = hi - lo or max(abs(lo), 1.0)
            margin = span * RANGE_MARGIN
            step = 1.0 if is_int else 10.0 ** math.floor(math.log10(margin))
            low = 0.0 if lo >= 0 and lo - margin < 0 else _outward(lo - margin, step, down=True)
            high = _outward(hi + margin, step, down=False)
            rule["min"], rule["max"] = (int(low), int(high)) if is_int else (low, high)
    if series.isna().any():
        rule["nullable"] = True
    return rule


# A date (2014-01-31, 31/01/2014, 1.31.14), optionally with a time: as a category it is new in every test row.
DATE = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})([ T]\d{1,2}:\d{2}(:\d{2})?)?")
FREE_TEXT_SHARE = 0.5  # a text column with more distinct values than this share of its rows is text, not a category
ROWS_PER_CATEGORY = 5  # fewer rows than this per value (past CATEGORY_CAP values): codes, new in every test split


def not_features(frame: pd.DataFrame, target: str, id_column: str | None) -> dict[str, str]:
    """Columns that would be harmful features (data.not_features), with why: dates, free text such as titles or
    names (nearly a value per row: every test row is a "new category" and the model memorises), codes with a
    handful of rows per value (an id of a group: new values in every test split), and row numbers."""
    found = {}
    for name in frame.columns:
        column = frame[name]
        if name in (target, id_column):
            continue
        if pd.api.types.is_integer_dtype(column) and len(column) > 2 and _row_numbers(column):
            found[str(name)] = "row numbers (the file's order, not a property of the row)"
            continue
        if pd.api.types.is_numeric_dtype(column):
            continue
        values = column.dropna().astype(str)
        distinct = values.nunique()
        if len(values) and values.str.match(DATE).mean() >= 0.95:
            found[str(name)] = "dates"
        elif distinct > CATEGORY_CAP and distinct > FREE_TEXT_SHARE * len(values):
            found[str(name)] = f"free text: {distinct} distinct values in {len(values)} rows"
        elif distinct > CATEGORY_CAP and distinct * ROWS_PER_CATEGORY > len(values):
            each = round(len(values) / distinct)
            found[str(name)] = f"codes: {distinct} distinct values in {len(values)} rows (about {each} rows each)"
    return found


def _row_numbers(column: pd.Series) -> bool:
    """0, 1, 2, ... or 1, 2, 3, ... in file order: an index written with the data (pandas' `Unnamed: 0`)."""
    if column.isna().any():
        return False
    values = column.to_numpy(dtype="int64")
    return bool((values == np.arange(len(values))).all() or (values == np.arange(1, len(values) + 1)).all())


def infer_schema(frame: pd.DataFrame, target: str, id_column: str | None, labels: list[Any] | None) -> dict[str, dict]:
    """The `schema:` contract: every column (strict), a class target limited to its labels, a numeric one to its
    range with a margin (`labels` None)."""
    columns = {}
    for name in frame.columns:
        if name == target and labels is not None:
            rule = {"type": column_rule(frame[name])["type"], "allowed": sorted(labels, key=str)}
            if frame[name].isna().any():
                rule["nullable"] = True
        else:
            rule = column_rule(frame[name], is_id=name == id_column)
        columns[str(name)] = rule
    return columns


@dataclass(frozen=True)
class Defaults:
    """Settings that depend on the data's size and prevalence, written to params.yaml by init."""

    hyperparams: dict[str, Any]
    threshold: float
    pr_auc_floor: float
    min_minority_ratio: float | None = None  # the data gate's class_balance floor, where the data is below its default
    max_overfit_gap: float | None = None  # written when the task's own differs from the template's

    def floors(self, task: str, classes: int) -> dict[str, float]:
        """The task's absolute floors: above what a constant guess scores (binary PR-AUC = prevalence; a class
        guess's balanced accuracy = 1/k; a mean's R² = 0)."""
        if task == "binary":
            return {"pr_auc": self.pr_auc_floor}
        if task == "multiclass":
            return {"balanced_accuracy": round(1 / classes + 0.25 * (1 - 1 / classes), 2)}
        return {"r2": 0.1}


LIMIT_MARGIN = 0.25  # a data-dependent limit is the adopted data's own share, plus a quarter of it, plus 1 point


def integrity_limits(frame: pd.DataFrame, data) -> dict[str, tuple[str, float, float]]:
    """The data gate's data-dependent limits, measured on the adopted data as the gate measures them:
    {check: (key, measured, limit)} for those whose measure with a margin is above the default limit.
    Repeated or conflicting rows are natural in some data (surveys, integer-coded columns): the first data is the
    reference, and later data is judged on what changed."""
    from mlgate.config import DATA_CHECK_DEFAULTS
    from mlgate.gates.common import conflicting_share, duplicate_share, labeled

    rows = labeled(frame, data)
    features = frame.drop(columns=[data.target])
    measured = {
        "data_duplicates": ("max_ratio", duplicate_share(rows, data)),
        "conflicting_labels": ("max_ratio", conflicting_share(rows, data)),
        "percent_of_nulls": ("max_ratio", float(features.isna().mean().max()) if len(features.columns) else 0.0),
    }
    out = {}
    for check, (key, value) in measured.items():
        limit = min(1.0, math.ceil((value * (1 + LIMIT_MARGIN) + 0.01) * 1000) / 1000)
        if value > 0 and limit > DATA_CHECK_DEFAULTS[check][key]:
            out[check] = (key, value, limit)
    return out


REGRESSION_OVERFIT_GAP = 0.3  # train R² of a noisy target is always well above test's: memorising is far above this


def defaults(labeled_rows: int, prevalence: float, test_size: float = 0.2, task: str = "binary") -> Defaults:
    """Leaves scale with the training rows (small data must train: 5 rows a leaf on a few hundred rows,
    100 from 20,000 up); the operating threshold and the PR-AUC floor follow the positive share, since a
    constant guess already scores PR-AUC = prevalence."""
    train_rows = max(1, int(labeled_rows * (1 - test_size)))
    leaf = int(min(100, max(5, train_rows // 200)))
    threshold = round(min(0.5, max(0.05, 2 * prevalence)), 2)
    floor = round(prevalence + 0.25 * (1 - prevalence), 2)
    hyperparams = {"learning_rate": 0.1, "max_iter": 100, "max_depth": 3, "min_samples_leaf": leaf}
    # class_balance catches a class that collapses (a broken join, a filter): half the data's own share, where
    # the data is already rarer than the default floor.
    share = min(prevalence, 1 - prevalence)
    least = DATA_CHECK_DEFAULTS["class_balance"]["min_minority_ratio"]
    minority = round(share / 2, 5) if 0 < share < least else None
    gap = None
    if task == "regression":  # a value fits its train rows' noise too: slower learning on fuller leaves
        hyperparams |= {"learning_rate": 0.05, "min_samples_leaf": int(min(100, max(20, train_rows // 20)))}
        gap = REGRESSION_OVERFIT_GAP
    return Defaults(
        hyperparams=hyperparams,
        threshold=threshold,
        pr_auc_floor=floor,
        min_minority_ratio=minority,
        max_overfit_gap=gap,
    )
