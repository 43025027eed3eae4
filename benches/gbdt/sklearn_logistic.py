"""scikit-learn side of the logistic-regression comparison: the same preprocessing as the
project's logistic model (median imputation, a missing-value indicator for every feature that
had a missing value in training, standardisation with the population standard deviation), then
`LogisticRegression(C, tol=1e-4, solver="lbfgs")`, which minimises `C * sum(log loss) + |w|^2/2`
with an unpenalised intercept -- the project's objective with alpha = 1/C. Prints one JSON line:
fit time and the test AUC of predict_proba.

usage: python3 sklearn_logistic.py TRAIN TEST [--c 1.0] [--max-iter 200]
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path):
    df = pd.read_parquet(path)
    y = df.pop("y").to_numpy(dtype=np.float64)
    return df.to_numpy(dtype=np.float64), y


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--max-iter", type=int, default=200)
    a = ap.parse_args()
    xtr, ytr = load(a.train)
    xte, yte = load(a.test)
    model = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True),
        StandardScaler(),
        LogisticRegression(C=a.c, tol=1e-4, max_iter=a.max_iter, solver="lbfgs"),
    )
    t0 = time.perf_counter()
    model.fit(xtr, ytr)
    fit_s = time.perf_counter() - t0
    p = model.predict_proba(xte)[:, 1]
    lr = model[-1]
    print(json.dumps({
        "impl": "scikit-learn " + sklearn.__version__,
        "c": a.c,
        "max_iter": a.max_iter,
        "n_iter": int(lr.n_iter_[0]),
        "fit_s": round(fit_s, 3),
        "test_auc": round(float(roc_auc_score(yte, p)), 5),
        "columns": int(lr.coef_.shape[1]),
    }), flush=True)


if __name__ == "__main__":
    main()
