"""Fit BG/NBD + Gamma-Gamma with lifetimes 0.11.3 on CDNOW_master.txt (converted to CSV customer_id,date,amount by run.sh) (summary in days, as
lifetimes' summary_data_from_transaction_data does by default) and print the parameters and
the fit time (summary building excluded, as for churn's fit timing)."""
import json
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
t1 = time.perf_counter()
bg = BetaGeoFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
t_bg = time.perf_counter() - t1
rep = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
t2 = time.perf_counter()
gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])
t_gg = time.perf_counter() - t2
print(json.dumps({
    "customers": int(len(summary)),
    "repeat_customers": int(len(rep)),
    "bgnbd": {k: float(v) for k, v in bg.params_.items()},
    "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
    "seconds_summary": t_summary,
    "seconds_bgnbd_fit": t_bg,
    "seconds_gamma_gamma_fit": t_gg,
    "seconds_fit": t_bg + t_gg,
}, indent=2))
