import hashlib

import numpy as np
import pandas as pd

from mlgate.data.generate import CHANNELS, generate, write_csv


def _md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes(tmp_path):
    a = write_csv(generate(3000, seed=5), tmp_path / "a.csv")
    b = write_csv(generate(3000, seed=5), tmp_path / "b.csv")
    c = write_csv(generate(3000, seed=6), tmp_path / "c.csv")
    assert _md5(a) == _md5(b) != _md5(c)


def test_schema_and_types(sample: pd.DataFrame):
    numeric = sample.select_dtypes("number").columns.drop("is_fraud")
    categorical = sample.select_dtypes("object").columns.drop("transaction_id")
    assert len(numeric) + len(categorical) >= 10
    assert len(categorical) >= 3
    assert set(sample["channel"].unique()) == set(CHANNELS)
    assert sample["transaction_id"].is_unique
    assert set(sample["is_fraud"].unique()) == {0, 1}
    assert (sample["amount"] > 0).all() and sample["hour"].between(0, 23).all()


def test_missing_values_present(sample: pd.DataFrame):
    missing = sample.isna().mean()
    assert 0.01 < missing["distance_from_last_tx_km"] < 0.06
    assert missing["merchant_category"] > 0
    assert missing[["amount", "is_fraud", "channel"]].sum() == 0


def test_class_balance_is_rare_fraud():
    share = generate(50_000, seed=42)["is_fraud"].mean()
    assert 0.02 <= share <= 0.05


def test_shift_moves_distributions(sample: pd.DataFrame):
    shifted = generate(len(sample), seed=7, shift=1.0)
    assert shifted["amount"].median() > 1.5 * sample["amount"].median()
    assert (shifted["channel"] == "online").mean() > 1.5 * (sample["channel"] == "online").mean()
    assert np.isclose(generate(len(sample), seed=7, shift=0.0)["amount"], sample["amount"]).all()
