"""LightGBM side of the GBDT benchmark: fit on train.parquet with the same parameters as the
Rust side, once per thread count, timing the fit only: Dataset construction (binning) plus
training, as the Rust fit bins inside fit; both parts are also reported. LightGBM gets its
fastest configuration: `force_col_wise=True` (what it auto-chooses here, without the ~1 s of
testing both layouts). Reports test AUC and batch prediction speed as JSON lines.

usage: python3 lgbm_bench.py TRAIN TEST [--threads 1,2] [--repeat N]
"""

import argparse
import json
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

PARAMS = dict(
    objective="binary",
    num_leaves=31,
    learning_rate=0.1,
    max_bin=255,
    min_data_in_leaf=20,
    min_sum_hessian_in_leaf=1e-3,
    lambda_l2=0.0,
    feature_fraction=1.0,
    bagging_fraction=1.0,
    bagging_freq=0,
    max_depth=-1,
    verbose=-1,
    seed=0,
    force_col_wise=True,
)
N_TREES = 100


def load(path):
    df = pd.read_parquet(path)
    y = df.pop("y").to_numpy(dtype=np.float64)
    return np.ascontiguousarray(df.to_numpy(dtype=np.float64)), y


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    xtr, ytr = load(a.train)
    xte, yte = load(a.test)
    for threads in [int(t) for t in a.threads.split(",")]:
        best_fit = None
        for _ in range(a.repeat):
            params = dict(PARAMS, num_threads=threads)
            t0 = time.perf_counter()
            c0 = time.process_time()
            ds = lgb.Dataset(xtr, label=ytr, params=params)
            ds.construct()
            construct_s = time.perf_counter() - t0
            booster = lgb.train(params, ds, num_boost_round=N_TREES)
            fit_s = time.perf_counter() - t0
            cpu_s = time.process_time() - c0
            if best_fit is None or fit_s < best_fit:
                best_fit, best_cpu, best_construct = fit_s, cpu_s, construct_s
        t0 = time.perf_counter()
        p = booster.predict(xte, num_threads=threads)
        pred_s = time.perf_counter() - t0
        print(json.dumps({
            "impl": "lightgbm " + lgb.__version__,
            "threads": threads,
            "fit_s": round(best_fit, 3),
            "fit_cpu_s": round(best_cpu, 3),
            "phases_s": {"binning": round(best_construct, 3),
                         "train": round(best_fit - best_construct, 3)},
            "predict_s": round(pred_s, 3),
            "predict_rows_per_s": round(len(yte) / pred_s),
            "test_auc": round(float(roc_auc_score(yte, p)), 5),
            "trees": booster.num_trees(),
        }), flush=True)


if __name__ == "__main__":
    main()
