"""Reading the raw dataset with errors that name the file and what was expected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlgate.config import DataConfig
from mlgate.errors import MlgateError


def read_raw(data: DataConfig, path: Path | None = None) -> pd.DataFrame:
    """Load the raw CSV; a missing, empty or unparsable file, or no target column, is an MlgateError."""
    path = Path(path or data.path)
    if not path.is_file():
        raise MlgateError(f"{path}: data file not found (run `make data` to fetch or generate it)")
    try:
        frame = pd.read_csv(path, dtype=data.read_dtypes())
    except pd.errors.EmptyDataError as exc:
        raise MlgateError(f"{path}: file is empty (expected a CSV with a header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise MlgateError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from exc
    if frame.empty:
        raise MlgateError(f"{path}: no data rows (expected at least one record)")
    if data.target not in frame.columns:
        raise MlgateError(f"{path}: target column '{data.target}' missing (set data.target in params.yaml)")
    return frame
