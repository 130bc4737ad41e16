"""Deterministic synthetic card-transaction data for the fraud example.

The sample stands in for a team's real data: same rows and seed give a byte-identical
CSV (so its hash matches data.dvc), fraud is rare (~3 %), and the label depends on
the features through noise, so a good model scores well but far from perfectly.
`shift` moves the feature distributions the way production data drifts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MERCHANTS = {  # category: (frequency, log-odds of fraud)
    "grocery": (0.24, -0.6),
    "restaurants": (0.16, -0.3),
    "fuel": (0.12, -0.2),
    "online_retail": (0.16, 0.5),
    "travel": (0.07, 0.3),
    "electronics": (0.10, 0.8),
    "gaming": (0.08, 0.7),
    "jewelry": (0.07, 1.0),
}
COUNTRIES = {
    "US": (0.42, 0.0),
    "GB": (0.14, 0.0),
    "DE": (0.12, 0.0),
    "FR": (0.10, 0.1),
    "ES": (0.07, 0.1),
    "IN": (0.06, 0.3),
    "BR": (0.04, 0.6),
    "NG": (0.03, 0.9),
    "CN": (0.02, 0.5),
}
CHANNELS = {"pos": (0.45, 0.0), "contactless": (0.25, -0.3), "online": (0.24, 0.7), "atm": (0.06, 0.3)}
CARD_TYPES = {"debit": (0.55, 0.0), "credit": (0.38, 0.1), "prepaid": (0.07, 0.7)}

INTERCEPT = -8.42  # tuned so that about 3 % of the unshifted sample is fraud
SIGNAL = 2.5  # strength of the features against the noise: a good model reaches PR-AUC ~0.5


def _categorical(rng: np.random.Generator, table: dict, n: int, tilt: dict[str, float] | None = None):
    names = list(table)
    freq = np.array([table[k][0] for k in names], dtype=float)
    if tilt:
        freq = freq * np.array([tilt.get(k, 1.0) for k in names])
    picks = rng.choice(len(names), size=n, p=freq / freq.sum())
    values = np.array(names, dtype=object)[picks]
    effect = np.array([table[k][1] for k in names])[picks]
    return values, effect


def generate(rows: int = 50_000, seed: int = 42, shift: float = 0.0) -> pd.DataFrame:
    """Return `rows` synthetic transactions; `shift` > 0 drifts amounts, hours and channels."""
    if rows <= 0:
        raise ValueError("rows must be positive")
    rng = np.random.default_rng(seed)
    n = rows

    avg_amount = np.round(rng.lognormal(3.6, 0.6, n), 2)
    amount = np.round(avg_amount * rng.lognormal(0.0 + 0.6 * shift, 0.8, n), 2)
    night = rng.random(n) < 0.12 + 0.25 * shift
    hour = np.where(night, rng.integers(0, 6, n), rng.integers(6, 24, n))
    distance_home = np.round(rng.lognormal(1.5 + 0.8 * shift, 1.2, n), 2)
    distance_last = np.round(rng.lognormal(1.0, 1.3, n), 2)
    card_age = rng.integers(1, 3650, n)
    tx_24h = rng.poisson(2.0 + shift, n)
    customer_age = rng.integers(18, 90, n).astype(float)
    chip = (rng.random(n) < 0.7).astype(int)

    merchant, m_eff = _categorical(rng, MERCHANTS, n)
    country, c_eff = _categorical(rng, COUNTRIES, n)
    channel, ch_eff = _categorical(rng, CHANNELS, n, {"online": 1 + 2 * shift} if shift else None)
    card_type, t_eff = _categorical(rng, CARD_TYPES, n)

    logit = (
        INTERCEPT
        + SIGNAL
        * (
            1.0 * np.clip(np.log(amount / avg_amount), -3, 4)
            + 1.0 * night
            + 0.45 * np.log1p(distance_home)
            + 0.25 * np.log1p(distance_last)
            - 0.35 * np.log1p(card_age / 30)
            + 0.25 * tx_24h
            - 0.7 * chip
            + m_eff
            + c_eff
            + ch_eff
            + t_eff
        )
        + rng.normal(0.0, 1.0, n)
    )
    is_fraud = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)

    # Missing values, as real feeds have them: not every terminal reports everything.
    distance_last[rng.random(n) < 0.03] = np.nan
    customer_age[rng.random(n) < 0.02] = np.nan
    merchant[rng.random(n) < 0.01] = None

    return pd.DataFrame(
        {
            "transaction_id": [f"tx{i:07d}" for i in range(n)],
            "amount": amount,
            "hour": hour,
            "distance_from_home_km": distance_home,
            "distance_from_last_tx_km": distance_last,
            "card_age_days": card_age,
            "tx_count_24h": tx_24h,
            "avg_amount_30d": avg_amount,
            "customer_age": customer_age,
            "chip_used": chip,
            "merchant_category": merchant,
            "country": country,
            "channel": channel,
            "card_type": card_type,
            "is_fraud": is_fraud,
        }
    )


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write with fixed formatting so the bytes (and the DVC hash) never vary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.2f", lineterminator="\n")
    return path
