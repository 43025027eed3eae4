#!/usr/bin/env python3
"""Checks that the DuckDB SQL of this benchmark computes what `churn features` computes.

Usage: check_equivalence.py [--churn BIN] [--dir DIR] [--customers N] [--seed S]

Generates a small warehouse with `churn generate` (default 5,000 customers × 24 months, seed 7),
and an "edge" copy of it with cases the generator does not produce (unknown tier, segment,
contract type and ticket category; several invoices of one customer on one date with amounts
that are not whole cents; null overage amounts; tickets resolved before they were opened; daily
usage rows beside the monthly ones). Then, for the export's last day (label unknown, null) and
184 days earlier (label known) on the generated warehouse, and the earlier date on the edge copy,
it runs `churn features` and duckdb_features.py and compares the three tables:
same columns in the same order with the same types, same rows in the same order, and every
value equal: nulls in the same places, numbers within 1e-9 (absolute), everything else exactly.
Prints one line per table and date, and per differing column its count and an example.
Exit code 0 when everything matches, 1 otherwise.
"""

import argparse
import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TABLES = ["churn_prediction_features", "customer_segmentation_analysis", "customer_360_view"]
TOL = 1e-9


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= TOL
    return a == b


def compare(name, rust_path, duck_path):
    """Returns (ok, report lines, number of bit-identical columns, number of columns)."""
    r, d = pq.read_table(rust_path), pq.read_table(duck_path)
    lines = []
    ok = True
    if r.column_names != d.column_names:
        only_r = [c for c in r.column_names if c not in d.column_names]
        only_d = [c for c in d.column_names if c not in r.column_names]
        lines.append(f"  columns differ: only in churn {only_r}, only in duckdb {only_d}"
                     + ("" if only_r or only_d else " (order)"))
        ok = False
    for c in r.column_names:
        if c in d.column_names:
            tr, td = r.schema.field(c).type, d.schema.field(c).type
            # Polars writes strings as large_string/string_view, DuckDB as string: same values.
            if str(tr) != str(td) and not ({"string", "large_string", "string_view"} >= {str(tr), str(td)}):
                lines.append(f"  {c}: type {tr} (churn) vs {td} (duckdb)")
                ok = False
    if r.num_rows != d.num_rows:
        lines.append(f"  rows: {r.num_rows} (churn) vs {d.num_rows} (duckdb)")
        return False, lines, 0, len(r.column_names)
    exact = 0
    for c in r.column_names:
        if c not in d.column_names:
            continue
        a, b = r.column(c).to_pylist(), d.column(c).to_pylist()
        bad = [i for i, (x, y) in enumerate(zip(a, b)) if not same(x, y)]
        if bad:
            ok = False
            i = bad[0]
            key = r.column(r.column_names[0]).to_pylist()[i] if r.column_names[0] == "customer_id" else i
            lines.append(f"  {c}: {len(bad)} of {len(a)} values differ, e.g. row {i} ({key}): "
                         f"churn {a[i]!r} vs duckdb {b[i]!r}")
        elif all((x is None and y is None) or x == y for x, y in zip(a, b)):
            exact += 1
    return ok, lines, exact, len(r.column_names)


EDGE_SQL = """
COPY (SELECT * REPLACE (
        CASE WHEN hash(customer_id) % 31 = 0 THEN 'diamond' ELSE tier END AS tier,
        CASE WHEN hash(customer_id) % 37 = 1 THEN 'public' ELSE segment END AS segment,
        CASE WHEN hash(customer_id) % 41 = 2 THEN 'rolling' ELSE contract_type END AS contract_type)
      FROM read_parquet('{src}/dim_customer.parquet')) TO '{dst}/dim_customer.parquet' (FORMAT parquet);
COPY (SELECT * FROM read_parquet('{src}/dim_product.parquet')) TO '{dst}/dim_product.parquet' (FORMAT parquet);
COPY (SELECT * FROM read_parquet('{src}/fact_service_assignment.parquet'))
  TO '{dst}/fact_service_assignment.parquet' (FORMAT parquet);
COPY (SELECT * FROM read_parquet('{src}/fact_campaign_target.parquet'))
  TO '{dst}/fact_campaign_target.parquet' (FORMAT parquet);
COPY (
    SELECT * REPLACE (CASE WHEN hash(invoice_id) % 23 = 0 THEN NULL ELSE overage_amount END AS overage_amount)
    FROM read_parquet('{src}/fact_invoice.parquet')
    UNION ALL
    SELECT * REPLACE (invoice_id || '-b' AS invoice_id, amount * 0.5 + 1.234567 AS amount)
    FROM read_parquet('{src}/fact_invoice.parquet') WHERE hash(invoice_id) % 7 = 0
    UNION ALL
    SELECT * REPLACE (invoice_id || '-c' AS invoice_id, amount AS amount)
    FROM read_parquet('{src}/fact_invoice.parquet') WHERE hash(invoice_id) % 11 = 0
) TO '{dst}/fact_invoice.parquet' (FORMAT parquet);
COPY (SELECT * REPLACE (
        CASE WHEN hash(ticket_id) % 13 = 0 AND resolved_at IS NOT NULL
             THEN opened_at - INTERVAL 2 HOUR ELSE resolved_at END AS resolved_at,
        CASE WHEN hash(ticket_id) % 17 = 0 THEN 'fraud' ELSE category END AS category)
      FROM read_parquet('{src}/fact_support_ticket.parquet')) TO '{dst}/fact_support_ticket.parquet' (FORMAT parquet);
COPY (
    SELECT * FROM read_parquet('{src}/fact_network_usage.parquet')
    UNION ALL
    SELECT * REPLACE (usage_date - 3 AS usage_date, data_gb / 7 AS data_gb)
    FROM read_parquet('{src}/fact_network_usage.parquet') WHERE hash(customer_id, usage_date) % 5 = 0
) TO '{dst}/fact_network_usage.parquet' (FORMAT parquet);
"""


def make_edge(src, dst):
    """The edge-case copy of the warehouse in `src` (see the module doc)."""
    import duckdb

    dst.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(EDGE_SQL.format(src=src, dst=dst))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--churn", default=str(REPO / "target" / "release" / "churn"))
    ap.add_argument("--dir", default="/tmp/churn-equivalence")
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    base = Path(args.dir)
    data = base / "warehouse"
    summary_path = data / "generate_summary.json"
    wanted = {"customers": args.customers, "months": 24, "seed": args.seed}
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    if not summary or any(summary["config"].get(k) != v for k, v in wanted.items()):
        run([args.churn, "generate", "--customers", str(args.customers), "--months", "24",
             "--seed", str(args.seed), "--out", str(data)])
        summary = json.loads(summary_path.read_text())
    last = dt.date.fromisoformat(summary["observed_until"])
    earlier = last - dt.timedelta(days=184)
    edge = base / "edge"
    make_edge(data, edge)
    runs = [("generated", data, last), ("generated", data, earlier), ("edge", edge, earlier)]

    all_ok = True
    for label, data, d in runs:
        rust_out, duck_out = base / f"churn-{label}-{d}", base / f"duckdb-{label}-{d}"
        run([args.churn, "features", "--data", str(data), "--as-of", str(d), "--out", str(rust_out)])
        run([sys.executable, str(HERE / "duckdb_features.py"), str(data), str(d), str(duck_out)])
        for t in TABLES:
            ok, lines, exact, ncols = compare(t, rust_out / f"{t}.parquet", duck_out / f"{t}.parquet")
            rows = pq.read_metadata(rust_out / f"{t}.parquet").num_rows
            verdict = "EQUAL" if ok else "DIFFERENT"
            print(f"{label:<9} as of {d}  {t:<32} {rows:>6} rows × {ncols:>2} columns: {verdict} "
                  f"({exact} of {ncols} columns bit-identical)")
            for line in lines:
                print(line)
            all_ok &= ok
    print("all tables equivalent (|Δ| ≤ 1e-9, same nulls, same row order)" if all_ok else "DIFFERENCES FOUND")
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
