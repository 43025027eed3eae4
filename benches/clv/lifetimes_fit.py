"""Fit BG/NBD + Gamma-Gamma with lifetimes 0.11.3 on CDNOW_master.txt (converted to CSV customer_id,date,amount by run.sh) (summary in days, as
lifetimes' summary_data_from_transaction_data does by default) and print the parameters and
the median fit time over N repeats (summary building excluded, as in churn's seconds_fit).
Usage: lifetimes_fit.py CDNOW.csv [N]"""
import json
import statistics
import sys
import time
import warnings

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

warnings.simplefilter("ignore")
path = sys.argv[1]
df = pd.read_csv(path, dtype={"customer_id": str, "date": str})
df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
t0 = time.perf_counter()
summary = summary_data_from_transaction_data(df, "customer_id", "date", monetary_value_col="amount")
t_summary = time.perf_counter() - t0
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
rep = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
bg_times, gg_times = [], []
for _ in range(repeats):
    t1 = time.perf_counter()
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
    bg_times.append(time.perf_counter() - t1)
    t2 = time.perf_counter()
    gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])
    gg_times.append(time.perf_counter() - t2)
t_bg = statistics.median(bg_times)
t_gg = statistics.median(gg_times)
print(json.dumps({
    "customers": int(len(summary)),
    "repeat_customers": int(len(rep)),
    "bgnbd": {k: float(v) for k, v in bg.params_.items()},
    "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
    "seconds_summary": t_summary,
    "seconds_bgnbd_fit": t_bg,
    "seconds_gamma_gamma_fit": t_gg,
    "seconds_fit": t_bg + t_gg,
    "repeats": repeats,
}, indent=2))
