#!/usr/bin/env bash
# Model benchmarks of issue 3, side by side in one run on the same synthetic 1M x 50 table
# (800k train / 200k test, benches/gbdt/make_data.py):
# 1. the project's own gradient boosting (src/training/gbdt) against LightGBM from PyPI, same
#    parameters (100 trees, 31 leaves, learning rate 0.1, 255 bins, min 20 rows per leaf, no
#    bagging), each with 1 and 2 threads:
#      AUC >= LightGBM's - 0.005; fit time <= 1.5 x LightGBM's best thread setting;
# 2. the project's logistic regression (examples/logistic_bench.rs, the code `churn train
#    --algorithms logistic` runs) against scikit-learn's LogisticRegression with the same
#    preprocessing (median imputation + missing indicators + standardisation) and C = 1:
#      AUC within +-0.002 of scikit-learn's;
# 3. batch scoring with the GBDT model of 1. over all 1M rows (examples/gbdt_score_bench.rs,
#    best of PASSES passes, 1 and 2 threads):  >= 1M rows/s on 2 cores.
# Prints a table and the verdicts.
#
# usage: benches/gbdt/run.sh [DATA_DIR]   (default: /tmp/gbdt-bench; data is reused if there)
# env:   ROWS (default 1000000), REPEAT (fits per setting, best kept; default 1),
#        PASSES (scoring passes per thread count; default 7), SKIP_BUILD=1 (use the built examples)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data="${1:-/tmp/gbdt-bench}"
rows="${ROWS:-1000000}"
repeat="${REPEAT:-1}"
passes="${PASSES:-7}"
mkdir -p "$data"

echo "== python packages" >&2
python3 -m pip install --quiet --disable-pip-version-check lightgbm scikit-learn numpy pandas pyarrow >&2

if [[ ! -s "$data/train.parquet" || ! -s "$data/test.parquet" || "${REGEN:-0}" == 1 ]]; then
  echo "== data ($rows rows)" >&2
  python3 "$here/make_data.py" "$data" --rows "$rows" >&2
fi

echo "== build (release)" >&2
# SKIP_BUILD=1 uses the example binaries already in target/release/examples.
[[ "${SKIP_BUILD:-0}" == 1 ]] || (cd "$repo" && cargo build --release --example gbdt_bench --example logistic_bench \
  --example gbdt_score_bench >&2)

echo "== machine" >&2
nproc >&2; uptime >&2

results="$data/results.jsonl"
: > "$results"
# Alternate the two implementations so that a change in machine load hits both alike.
for t in 1 2; do
  echo "== lightgbm, $t thread(s)" >&2
  python3 "$here/lgbm_bench.py" "$data/train.parquet" "$data/test.parquet" \
    --threads "$t" --repeat "$repeat" | tee -a "$results" >&2
  echo "== churn gbdt, $t thread(s)" >&2
  "$repo/target/release/examples/gbdt_bench" "$data/train.parquet" "$data/test.parquet" \
    --threads "$t" --repeat "$repeat" --save-model "$data/gbdt_model.json" | tee -a "$results" >&2
done

echo "== scikit-learn logistic regression" >&2
python3 "$here/sklearn_logistic.py" "$data/train.parquet" "$data/test.parquet" | tee -a "$results" >&2
echo "== churn logistic regression" >&2
"$repo/target/release/examples/logistic_bench" "$data/train.parquet" "$data/test.parquet" \
  | tee -a "$results" >&2

echo "== churn gbdt batch scoring ($passes passes per thread count)" >&2
uptime >&2
"$repo/target/release/examples/gbdt_score_bench" "$data/train.parquet" "$data/test.parquet" \
  "$data/gbdt_model.json" --threads 1,2 --passes "$passes" | tee -a "$results" >&2

python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lgb = [r for r in rows if r["impl"].startswith("lightgbm")]
ours = [r for r in rows if r["impl"] == "churn gbdt"]
sk = [r for r in rows if r["impl"].startswith("scikit-learn")]
our_lr = [r for r in rows if r["impl"] == "churn logistic"]
scoring_runs = [r for r in rows if r["impl"] == "churn gbdt scoring"]
print(f"{'implementation':<18}{'threads':>8}{'fit s':>9}{'fit cpu s':>11}{'test AUC':>10}"
      f"{'score rows/s':>15}")
for r in lgb + ours:
    print(f"{r['impl']:<18}{r['threads']:>8}{r['fit_s']:>9.2f}{r.get('fit_cpu_s', float('nan')):>11.2f}"
          f"{r['test_auc']:>10.5f}{r['predict_rows_per_s']:>15,.0f}")
best_lgb = min(lgb, key=lambda r: r["fit_s"])
best_ours = min(ours, key=lambda r: r["fit_s"])
ours2 = [r for r in ours if r["threads"] == 2] or ours
auc_gap = best_ours["test_auc"] - best_lgb["test_auc"]
ratio = best_ours["fit_s"] / best_lgb["fit_s"]
print()
print(f"AUC: ours {best_ours['test_auc']:.5f} vs LightGBM {best_lgb['test_auc']:.5f} "
      f"(gap {auc_gap:+.5f}; bar >= -0.005): {'PASS' if auc_gap >= -0.005 else 'FAIL'}")
print(f"fit time: ours best {best_ours['fit_s']:.2f}s ({best_ours['threads']} thr) vs LightGBM best "
      f"{best_lgb['fit_s']:.2f}s ({best_lgb['threads']} thr) = {ratio:.2f}x (bar <= 1.5x): "
      f"{'PASS' if ratio <= 1.5 else 'FAIL'}")
for r in sk + our_lr:
    print(f"{r['impl']:<18} logistic C={r['c']}: fit {r['fit_s']:.2f}s, test AUC {r['test_auc']:.5f}")
if sk and our_lr:
    gap = our_lr[0]["test_auc"] - sk[0]["test_auc"]
    print(f"logistic AUC: ours {our_lr[0]['test_auc']:.5f} vs scikit-learn {sk[0]['test_auc']:.5f} "
          f"(gap {gap:+.5f}; bar within +-0.002): {'PASS' if abs(gap) <= 0.002 else 'FAIL'}")
for r in scoring_runs:
    print(f"scoring, {r['threads']} thread(s): best {r['best_rows_per_s']:,.0f} rows/s, median "
          f"{r['median_rows_per_s']:,.0f} rows/s, {r['rows_per_cpu_s']:,.0f} rows per CPU-second "
          f"(load avg {r['load_avg_1m']})")
two = [r for r in scoring_runs if r["threads"] == 2]
if two:
    best = two[0]["best_rows_per_s"]
    print(f"batch scoring, 2 threads: {best:,.0f} rows/s (bar >= 1,000,000): "
          f"{'PASS' if best >= 1e6 else 'FAIL'}")
EOF
