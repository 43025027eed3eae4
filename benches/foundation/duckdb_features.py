#!/usr/bin/env python3
"""The DuckDB side of the foundation benchmark: `churn features` for ONE as-of date, in SQL.

Usage: duckdb_features.py DATA_DIR AS_OF OUT_DIR [--threads N] [--no-validate]

Reads the seven contract tables from DATA_DIR/<table>.parquet, runs the contract checks of the
Rust loader as counts (validate.sql; skipped with --no-validate), computes observed_until
(observed_until.sql), builds customer_360_view, customer_segmentation_analysis and
churn_prediction_features as of AS_OF (features.sql) and writes them to OUT_DIR as zstd Parquet
(the compression polars' ParquetWriter uses by default), each to a temporary file then renamed,
plus run_summary.json with the timings. DuckDB uses all cores unless --threads is given.
"""

import argparse
import json
import os
import sys
import time
import tomllib
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TABLES = [
    "dim_customer",
    "dim_product",
    "fact_invoice",
    "fact_service_assignment",
    "fact_support_ticket",
    "fact_campaign_target",
    "fact_network_usage",
]
# Features that customer_360_view leaves out (src/features/columns.rs ENCODINGS).
ENCODINGS = [
    "tier_ordinal",
    "segment_consumer",
    "segment_smb",
    "segment_enterprise",
    "is_month_to_month",
    "contract_term_months",
    "has_account_manager",
]
PROFILE = [
    "customer_id",
    "as_of_date",
    "customer_name",
    "segment",
    "tier",
    "region",
    "contract_type",
    "account_manager_id",
    "signup_date",
    "contract_end_date",
]


def ml_columns():
    """churn_prediction_features' columns in table order, from features/catalog.toml."""
    with open(REPO / "features" / "catalog.toml", "rb") as f:
        return [c["name"] for c in tomllib.load(f)["column"]]


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("as_of")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-validate", action="store_true")
    args = ap.parse_args()

    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    t0 = time.perf_counter()

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    con.execute("SET preserve_insertion_order = true")
    for t in TABLES:
        path = data / f"{t}.parquet"
        if not path.is_file():
            sys.exit(f"error: {path} is missing (this script reads Parquet exports only)")
        extra = ", file_row_number = true" if t == "dim_customer" else ""
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet({sql_literal(str(path))}{extra})")

    validation = None
    if not args.no_validate:
        t = time.perf_counter()
        cur = con.execute((HERE / "validate.sql").read_text())
        cols = [d[0] for d in cur.description]
        validation = [dict(zip(cols, row)) for row in cur.fetchall()]
        timings["seconds_validate"] = time.perf_counter() - t

    t = time.perf_counter()
    observed_until = con.execute((HERE / "observed_until.sql").read_text()).fetchone()[0]
    categories = sorted(
        r[0] for r in con.execute("SELECT DISTINCT category FROM dim_product WHERE category IS NOT NULL").fetchall()
    )
    timings["seconds_observed_until"] = time.perf_counter() - t

    d = f"DATE {sql_literal(args.as_of)}"
    obs = f"DATE {sql_literal(observed_until.isoformat())}" if observed_until else "CAST(NULL AS DATE)"
    adoption = [("adoption_" + c, c) for c in categories]
    sql = (HERE / "features.sql").read_text()
    sql = (
        sql.replace("${ADOPTION_SUMS}", "".join(
            f", coalesce(sum(holders) FILTER (WHERE category = {sql_literal(c)}), 0) AS {quote(n)}"
            for n, c in adoption))
        .replace("${ADOPTION_FILLED}", "".join(f", coalesce({quote(n)}, 0.0) AS {quote(n)}" for n, _ in adoption))
        .replace("${ADOPTION_RATIOS}", "".join(f", ratio({quote(n)}, customers) AS {quote(n)}" for n, _ in adoption))
        .replace("${D}", d)
        .replace("${OBS}", obs)
    )
    t = time.perf_counter()
    con.execute(sql)
    timings["seconds_features"] = time.perf_counter() - t

    ml = ml_columns()
    view = PROFILE + [c for c in ml if c not in ("customer_id", "as_of_date", "churned_90d") and c not in ENCODINGS]
    outputs = {
        # `frame` was created ORDER BY dim_customer's row number and DuckDB preserves insertion
        # order (preserve_insertion_order = true): a scan returns the rows in that order.
        "customer_360_view": "SELECT " + ", ".join(map(quote, view)) + " FROM frame",
        "customer_segmentation_analysis": "SELECT * FROM segmentation",
        "churn_prediction_features": "SELECT " + ", ".join(map(quote, ml)) + " FROM frame",
    }
    t = time.perf_counter()
    written = []
    for name, query in outputs.items():
        final = out / f"{name}.parquet"
        tmp = out / f".{name}.tmp-{os.getpid()}.parquet"
        rows = con.execute(f"COPY ({query}) TO {sql_literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)").fetchone()[0]
        os.replace(tmp, final)
        written.append({"table": name, "rows": rows, "path": str(final)})
    timings["seconds_write"] = time.perf_counter() - t
    timings["seconds_total"] = time.perf_counter() - t0

    summary = {
        "command": "duckdb_features",
        "duckdb": duckdb.__version__,
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        "data": str(data),
        "as_of": args.as_of,
        "observed_until": observed_until.isoformat() if observed_until else None,
        "validation": validation,
        "outputs": written,
        **timings,
    }
    (out / "run_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    bad = [v for v in validation or [] if v["missing"] or v["out_of_range"] or v["duplicate_keys"] or v["orphans"]]
    for v in bad:
        print(f"warning: {v['table']} breaks the contract: {v}", file=sys.stderr)
    print(json.dumps({k: v for k, v in summary.items() if k != "validation"}, default=str))


if __name__ == "__main__":
    main()
