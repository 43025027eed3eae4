#!/usr/bin/env bash
# BG/NBD + Gamma-Gamma on the full CDNOW master file (23,570 customers): churn vs lifetimes
# 0.11.3, side by side in one run. Bar (issue 4): same parameters, churn's fit ≤ 0.1× lifetimes'.
#
# Gets CDNOW_master.txt from the lifetimes wheel on PyPI (never committed), converts it to CSV
# (customer_id,date,amount), then
#   1. fit time: median of 5 fits in each tool (summary building excluded on both sides;
#      churn's `seconds_fit` from run_summary.json of 5 CLI runs, lifetimes' from 5 fits in one
#      Python process), parameters compared to 4 significant digits;
#   2. end to end (read CSV + summary + fit + predictions + write) with hyperfine.
# Usage: benches/clv/run.sh [WORKDIR]   (default /tmp/churn-clv-bench)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${1:-/tmp/churn-clv-bench}"
mkdir -p "$WORK"
cd "$WORK"

if [ ! -x venv/bin/python ]; then
  python3 -m venv venv
fi
venv/bin/pip install --quiet lifetimes==0.11.3
if [ ! -f CDNOW_master.txt ]; then
  venv/bin/pip download --quiet --no-deps lifetimes==0.11.3 -d wheel
  python3 -c "import zipfile,glob; z=zipfile.ZipFile(glob.glob('wheel/*.whl')[0]); open('CDNOW_master.txt','wb').write(z.read('lifetimes/datasets/CDNOW_master.txt'))"
fi
python3 - <<'PY'
with open("CDNOW_master.txt") as f, open("cdnow_master.csv", "w") as out:
    out.write("customer_id,date,amount\n")
    next(f)  # header line
    for line in f:
        c, d, _, amount = line.split()
        out.write(f"{c},{d},{amount}\n")
PY
command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null

(cd "$REPO" && cargo build --release --quiet)
CHURN="$REPO/target/release/churn"

echo "== lifetimes 0.11.3 (median of 5 fits)"
venv/bin/python "$HERE/lifetimes_fit.py" cdnow_master.csv 5 | tee lifetimes.json

echo "== churn (5 runs)"
: > churn_fit_times.txt
for i in 1 2 3 4 5; do
  "$CHURN" clv --transactions cdnow_master.csv --amount-col amount --out churn_out > churn_stdout.txt
  python3 -c "import json; s=json.load(open('churn_out/run_summary.json')); print(s['seconds_bgnbd_fit'], s['seconds_gamma_gamma_fit'], s['seconds_fit'])" >> churn_fit_times.txt
done
cat churn_stdout.txt

python3 - <<'PY' | tee comparison.txt
import json, statistics
lt = json.load(open("lifetimes.json"))
ch = json.load(open("churn_out/run_summary.json"))
rows = [l.split() for l in open("churn_fit_times.txt")]
bg = statistics.median(float(r[0]) for r in rows)
gg = statistics.median(float(r[1]) for r in rows)
fit = statistics.median(float(r[2]) for r in rows)
print(f"customers: churn {ch['customers']}, lifetimes {lt['customers']}")
ok = True
for model, keys in (("bgnbd", ("r", "alpha", "a", "b")), ("gamma_gamma", ("p", "q", "v"))):
    for k in keys:
        a, b = ch[model]["params"][k], lt[model][k]
        same = f"{a:.4g}" == f"{b:.4g}" or abs(a - b) / abs(b) < 5e-5
        ok &= same
        print(f"{model:12} {k:6} churn {a:.6f}  lifetimes {b:.6f}  rel.diff {abs(a-b)/abs(b):.1e}  {'same' if same else 'DIFFERENT'} to 4 s.f.")
print(f"fit seconds (median): BG/NBD churn {bg:.4f} vs lifetimes {lt['seconds_bgnbd_fit']:.4f}; "
      f"Gamma-Gamma churn {gg:.4f} vs lifetimes {lt['seconds_gamma_gamma_fit']:.4f}")
ratio = fit / lt["seconds_fit"]
print(f"total fit: churn {fit:.4f} s, lifetimes {lt['seconds_fit']:.4f} s, ratio {ratio:.3f} (bar ≤ 0.1)")
print("BAR", "MET" if ok and ratio <= 0.1 else "NOT MET")
PY

echo "== end to end (hyperfine)"
hyperfine --warmup 1 --runs 5 --export-markdown hyperfine.md \
  -n churn "$CHURN clv --transactions cdnow_master.csv --amount-col amount --out churn_out" \
  -n lifetimes "venv/bin/python $HERE/lifetimes_fit.py cdnow_master.csv 1"
nproc; free -g | head -2
