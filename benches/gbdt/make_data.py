"""Deterministic synthetic binary-classification data for the GBDT benchmark.

1M rows x 50 float features (f00..f49) + label `y` (~15% positives), split 800k train / 200k
test, written as Parquet. Features are a churn-like mix: skewed amounts, counts with few distinct
values, bounded rates, missing values in a third of the columns (missingness is itself a weak
signal in two of them); the label depends nonlinearly on 12 features with interactions; the
other 38 are noise or correlated copies. Same seed => same files.

usage: python3 make_data.py OUT_DIR [--rows N] [--seed S]
"""

import argparse
import os

import numpy as np
import pandas as pd


def make(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.empty((n, 50), dtype=np.float64)
    # 0-9: informative continuous of various shapes
    x[:, 0] = rng.normal(0, 1, n)
    x[:, 1] = rng.uniform(-2, 2, n)
    x[:, 2] = rng.lognormal(3, 1, n)               # skewed amount
    x[:, 3] = rng.exponential(30, n)               # days since event
    x[:, 4] = rng.beta(2, 5, n)                    # a rate in [0, 1]
    x[:, 5] = rng.normal(0, 1, n)
    x[:, 6] = rng.uniform(0, 1, n)
    x[:, 7] = rng.gamma(2, 2, n)
    x[:, 8] = rng.normal(0, 1, n)
    x[:, 9] = rng.uniform(-1, 1, n)
    # 10-14: integer counts / categorical codes (few distinct values)
    x[:, 10] = rng.poisson(2, n)                   # support tickets
    x[:, 11] = rng.integers(0, 4, n)               # contract type code
    x[:, 12] = rng.integers(0, 12, n)              # region code
    x[:, 13] = rng.binomial(1, 0.3, n)             # flag
    x[:, 14] = rng.poisson(8, n)
    # 15-49: noise, some correlated with informative ones
    x[:, 15:40] = rng.normal(0, 1, (n, 25))
    x[:, 40:45] = x[:, 0:5] + rng.normal(0, 2, (n, 5)) * x[:, 0:5].std(axis=0)
    x[:, 45:50] = rng.uniform(0, 100, (n, 5))

    logit = (
        1.2 * np.sin(2.0 * x[:, 0])
        + 0.8 * x[:, 1] * (x[:, 5] > 0)                       # interaction
        - 0.6 * np.log1p(x[:, 2]) + 0.05 * x[:, 3] ** 0.8
        + 2.5 * (x[:, 4] - 0.3) ** 2 * 4
        + 0.9 * (x[:, 6] > 0.7) * (x[:, 11] == 0)             # month-to-month and high value
        + 0.35 * np.minimum(x[:, 10], 6)
        - 0.5 * x[:, 13]
        + 0.4 * np.tanh(x[:, 7] - 4) + 0.5 * x[:, 8] * x[:, 9]
        + 0.3 * np.cos(x[:, 12])
    )

    # Missing values: 15 columns, 2-30%; missingness of f03 and f07 raises churn.
    miss_cols = [2, 3, 7, 8, 14, 17, 20, 23, 26, 29, 33, 38, 41, 46, 49]
    for j, c in enumerate(miss_cols):
        rate = 0.02 + 0.02 * j
        mask = rng.uniform(0, 1, n) < rate
        if c in (3, 7):
            logit = logit + 0.8 * mask
        x[mask, c] = np.nan

    logit = logit + rng.normal(0, 0.5, n)
    # Intercept chosen by bisection for ~15% positives.
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() > 0.15:
            hi = mid
        else:
            lo = mid
    p = 1 / (1 + np.exp(-(logit + lo)))
    y = (rng.uniform(0, 1, n) < p).astype(np.float64)

    df = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(50)])
    df["y"] = y
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    df = make(a.rows, a.seed)
    n_train = a.rows * 4 // 5
    df.iloc[:n_train].to_parquet(os.path.join(a.out_dir, "train.parquet"), index=False)
    df.iloc[n_train:].to_parquet(os.path.join(a.out_dir, "test.parquet"), index=False)
    print(f"wrote {n_train} train + {a.rows - n_train} test rows, "
          f"{df.shape[1] - 1} features, positives {df['y'].mean():.3f}, to {a.out_dir}")


if __name__ == "__main__":
    main()
