-- churn_prediction_features, customer_360_view and customer_segmentation_analysis for ONE as-of
-- date, in DuckDB SQL: the equivalent of `churn features --as-of D` (src/features/).
--
-- Placeholders (substituted by duckdb_features.py): ${D} the as-of date, ${OBS} the last date the
-- export covers (observed_until, computed by observed_until.sql), ${ADOPTION} one aggregate per
-- product category of dim_product. The views dim_customer (with file_row_number), dim_product,
-- fact_* are created by duckdb_features.py over the Parquet files.
--
-- Mirrors the Rust code rule for rule:
--   * active at D: signup_date <= D and (churn_date is null or churn_date > D);
--   * a fact is visible when its date <= D (tickets: the UTC day of opened_at); a window of N
--     days is (D - N, D]; paid_date / resolved_at / end_date after D have not happened yet;
--   * sums go through exact integers of 1e-6 units (units(v) = v * 1e6 rounded half to even, as
--     BIGINT), converted back once: bit-identical to src/features/exact.rs;
--   * sums and counts are 0 without facts; means, minima, "days since" and ratios are null
--     (ratio(n, d) = n / d when d > 0, else null);
--   * a column divided by a constant is multiplied by the constant's inverse (x * (1 / c)):
--     polars computes `column / scalar` that way (polars-compute prim_true_div_scalar), which can
--     differ from x / c in the last bit; written the same way here, the results are
--     bit-identical.

-- DuckDB's DOUBLE -> BIGINT cast rounds half to even (2.5 -> 2, 3.5 -> 4), like polars'
-- round(0, HalfToEven) then cast; it is ~5x faster than round_even(x, 0) here.
CREATE OR REPLACE MACRO units(v) AS CAST(CAST(v AS DOUBLE) * 1e6 AS BIGINT);
CREATE OR REPLACE MACRO from_units(s) AS CAST(s AS DOUBLE) * (1 / 1e6);
CREATE OR REPLACE MACRO ratio(n, d) AS CASE WHEN d > 0 THEN n / d END;

CREATE OR REPLACE TEMP TABLE frame AS
WITH
-- contract_end_date is the export's snapshot; at D it is the end of the term running at D
-- (src/features/contract.rs): step back whole terms (12 / 24 months) from the snapshot end to
-- the earliest end >= D, on the signup grid when the end lies on it; an end before D, a null
-- end or a type without a term stays as it is. With M = months from D to the end, the earliest
-- end >= D is grid point n0 = n_end - M // term or n0 + 1 (on the signup grid, n >= 1: the
-- first term ends at signup + term).
customers_m AS (
    SELECT *,
        CASE contract_type WHEN 'one_year' THEN 12 WHEN 'two_year' THEN 24 END AS _term,
        (year(contract_end_date) * 12 + month(contract_end_date))
            - (year(signup_date) * 12 + month(signup_date)) AS _m_signup,
        (year(contract_end_date) * 12 + month(contract_end_date))
            - (year(${D}) * 12 + month(${D})) AS _m_d
    FROM dim_customer
    WHERE signup_date <= ${D} AND (churn_date IS NULL OR churn_date > ${D})
),
customers_grid AS (
    SELECT *,
        CASE WHEN _grid THEN signup_date ELSE contract_end_date END AS _anchor,
        CASE WHEN _grid THEN greatest(_m_signup // _term - _m_d // _term, 1)
             ELSE -(_m_d // _term) END AS _n0
    FROM (
        SELECT *,
            coalesce(_m_signup > 0 AND _m_signup % _term = 0
                     AND CAST(signup_date + to_months(_m_signup) AS DATE) = contract_end_date,
                     false) AS _grid
        FROM customers_m
    )
),
active AS (
    SELECT * REPLACE (
        CASE WHEN contract_end_date IS NULL OR _term IS NULL OR contract_end_date < ${D}
                 THEN contract_end_date
             WHEN CAST(_anchor + to_months(_n0 * _term) AS DATE) >= ${D}
                 THEN CAST(_anchor + to_months(_n0 * _term) AS DATE)
             ELSE CAST(_anchor + to_months((_n0 + 1) * _term) AS DATE)
        END AS contract_end_date)
    FROM customers_grid
),
-- customers active at D - 90: the base of the trailing churn rates
base90 AS (
    SELECT region, segment, churn_date
    FROM dim_customer
    WHERE signup_date <= ${D} - 90 AND (churn_date IS NULL OR churn_date > ${D} - 90)
),
region_rate AS (
    SELECT region,
           CAST(count(*) FILTER (WHERE churn_date > ${D} - 90 AND churn_date <= ${D}) AS DOUBLE)
               / CAST(count(*) AS DOUBLE) AS region_churn_rate_90d
    FROM base90 GROUP BY region
),
segment_rate AS (
    SELECT segment,
           CAST(count(*) FILTER (WHERE churn_date > ${D} - 90 AND churn_date <= ${D}) AS DOUBLE)
               / CAST(count(*) AS DOUBLE) AS segment_churn_rate_90d
    FROM base90 GROUP BY segment
),
inv AS (
    SELECT customer_id,
        sum(units(amount)) AS lifetime_revenue,
        sum(units(amount)) FILTER (WHERE invoice_date > ${D} - 90) AS revenue_3m,
        sum(units(amount)) FILTER (WHERE invoice_date > ${D} - 180) AS revenue_6m,
        sum(units(amount)) FILTER (WHERE invoice_date > ${D} - 365) AS revenue_12m,
        count(*) FILTER (WHERE invoice_date > ${D} - 90) AS invoices_3m,
        sum(units(amount)) FILTER (WHERE invoice_date > ${D} - 180 AND invoice_date <= ${D} - 90)
            AS revenue_prev_3m,
        count(*) FILTER (WHERE invoice_date > ${D} - 180 AND invoice_date <= ${D} - 90)
            AS invoices_prev_3m,
        -- overdue at D: due before D, unpaid at D
        count(*) FILTER (WHERE due_date <= ${D} - 1 AND (paid_date IS NULL OR paid_date > ${D}))
            AS invoices_overdue,
        sum(units(amount)) FILTER (WHERE due_date <= ${D} - 1
                                     AND (paid_date IS NULL OR paid_date > ${D})) AS overdue_amount,
        count(*) FILTER (WHERE invoice_date > ${D} - 365 AND paid_date <= ${D}
                           AND paid_date > due_date) AS late_paid_12m,
        sum(units(CASE WHEN paid_date - due_date > 0 THEN paid_date - due_date ELSE 0 END))
            FILTER (WHERE invoice_date > ${D} - 365 AND paid_date <= ${D}) AS days_late_sum,
        count(*) FILTER (WHERE invoice_date > ${D} - 365 AND paid_date <= ${D}) AS days_late_n,
        sum(units(coalesce(overage_amount, 0))) FILTER (WHERE invoice_date > ${D} - 90) AS overage_3m,
        sum(units(coalesce(discount_amount, 0))) FILTER (WHERE invoice_date > ${D} - 90) AS discount_3m,
        -- bill_last: the latest invoice (the largest one when several share that date), to the
        -- cent: max of (day + 1e6) * 1e12 + cents, as src/features/customer_frame.rs does.
        max((CAST(invoice_date - DATE '1970-01-01' AS BIGINT) + 1000000) * 1000000000000
            + least(CAST(amount * 100 AS BIGINT), 999999999999)) AS last_bill_key
    FROM fact_invoice
    WHERE invoice_date <= ${D}
    GROUP BY customer_id
),
asg AS (
    SELECT a.customer_id,
        count(*) FILTER (WHERE a.held) AS products_held,
        count(DISTINCT p.category) FILTER (WHERE a.held) AS categories_held,
        sum(units(a.monthly_fee)) FILTER (WHERE a.held) AS monthly_fee_total,
        sum(units(p.data_allowance_gb)) FILTER (WHERE a.held) AS data_allowance_gb,
        count(*) FILTER (WHERE a.start_date > ${D} - 90) AS products_added_90d,
        count(*) FILTER (WHERE a.start_date > ${D} - 365) AS products_added_365d,
        count(*) FILTER (WHERE a.end_date > ${D} - 90 AND a.end_date <= ${D}) AS products_dropped_90d,
        count(*) FILTER (WHERE a.end_date > ${D} - 365 AND a.end_date <= ${D}) AS products_dropped_365d
    FROM (
        SELECT customer_id, product_id, start_date, end_date, monthly_fee,
               (end_date IS NULL OR end_date > ${D}) AS held
        FROM fact_service_assignment
        WHERE start_date <= ${D}
    ) a
    LEFT JOIN dim_product p ON a.product_id = p.product_id
    GROUP BY a.customer_id
),
tk AS (
    SELECT customer_id,
        count(*) FILTER (WHERE od > ${D} - 30) AS tickets_30d,
        count(*) FILTER (WHERE od > ${D} - 90) AS tickets_90d,
        count(*) FILTER (WHERE od > ${D} - 365) AS tickets_365d,
        count(*) FILTER (WHERE od > ${D} - 90 AND category = 'billing') AS tickets_billing_90d,
        count(*) FILTER (WHERE od > ${D} - 90 AND category = 'technical') AS tickets_technical_90d,
        count(*) FILTER (WHERE od > ${D} - 90 AND category = 'network') AS tickets_network_90d,
        count(*) FILTER (WHERE od > ${D} - 90 AND category = 'cancellation') AS tickets_cancellation_90d,
        count(*) FILTER (WHERE od > ${D} - 90
                           AND category NOT IN ('billing', 'technical', 'network', 'cancellation'))
            AS tickets_other_90d,
        count(*) FILTER (WHERE od > ${D} - 90 AND severity IN ('high', 'critical'))
            AS tickets_high_severity_90d,
        count(*) FILTER (WHERE rd IS NULL OR rd > ${D}) AS open_tickets,
        -- resolution time and satisfaction: tickets opened in the last 365 days, resolved by D
        sum(units(hours)) FILTER (WHERE od > ${D} - 365 AND rd <= ${D}) AS hours_sum,
        count(hours) FILTER (WHERE od > ${D} - 365 AND rd <= ${D}) AS hours_n,
        sum(units(satisfaction_score)) FILTER (WHERE od > ${D} - 365 AND rd <= ${D}) AS sat_sum,
        count(satisfaction_score) FILTER (WHERE od > ${D} - 365 AND rd <= ${D}) AS sat_n,
        min(CAST(satisfaction_score AS DOUBLE)) FILTER (WHERE od > ${D} - 365 AND rd <= ${D})
            AS min_satisfaction_365d,
        max(od) AS last_ticket_day
    FROM (
        SELECT customer_id, category, severity, satisfaction_score,
               CAST(opened_at AS DATE) AS od,
               CAST(resolved_at AS DATE) AS rd,
               CASE WHEN h < 0 THEN 0.0 ELSE h END AS hours
        FROM (
            SELECT *, (CAST(epoch_us(resolved_at) AS DOUBLE) - CAST(epoch_us(opened_at) AS DOUBLE))
                      * (1 / 3600000000::DOUBLE) AS h
            FROM fact_support_ticket
        )
    )
    WHERE od <= ${D}
    GROUP BY customer_id
),
us AS (
    SELECT customer_id,
        sum(units(data_gb)) FILTER (WHERE usage_date > ${D} - 30) AS data_gb_30d,
        sum(units(data_gb)) FILTER (WHERE usage_date > ${D} - 90) AS data_gb_90d,
        sum(units(data_gb)) FILTER (WHERE usage_date > ${D} - 180 AND usage_date <= ${D} - 90)
            AS data_gb_prev_90d,
        sum(units(voice_minutes)) FILTER (WHERE usage_date > ${D} - 30) AS voice_minutes_30d,
        sum(units(voice_minutes)) FILTER (WHERE usage_date > ${D} - 90) AS voice_minutes_90d,
        sum(units(voice_minutes)) FILTER (WHERE usage_date > ${D} - 180 AND usage_date <= ${D} - 90)
            AS voice_minutes_prev_90d,
        sum(units(dropped_calls)) FILTER (WHERE usage_date > ${D} - 90) AS dropped_calls_90d,
        sum(units(outage_minutes)) FILTER (WHERE usage_date > ${D} - 90) AS outage_minutes_90d,
        max(usage_date) AS last_usage_day
    FROM fact_network_usage
    WHERE usage_date > ${D} - 365 AND usage_date <= ${D}
    GROUP BY customer_id
),
cp AS (
    SELECT customer_id,
        count(*) FILTER (WHERE target_date > ${D} - 365) AS campaigns_targeted_365d,
        count(*) FILTER (WHERE target_date > ${D} - 365 AND treatment_group = 'treatment')
            AS campaigns_treated_365d,
        count(*) FILTER (WHERE target_date > ${D} - 365 AND treatment_group = 'control')
            AS campaigns_control_365d,
        -- responses only of campaigns targeted in (D - 365, D - 30]
        count(*) FILTER (WHERE target_date > ${D} - 365 AND target_date <= ${D} - 30
                           AND responded = true) AS campaigns_responded_365d,
        max(target_date) FILTER (WHERE campaign_type = 'retention') AS last_retention_day
    FROM fact_campaign_target
    WHERE target_date <= ${D}
    GROUP BY customer_id
),
joined AS (
    SELECT
        c.file_row_number AS _row,
        c.customer_id,
        ${D} AS as_of_date,
        c.customer_name, c.segment, c.tier, c.region, c.contract_type, c.account_manager_id,
        c.signup_date, c.contract_end_date,
        -- profile
        CAST(${D} - c.signup_date AS DOUBLE) AS tenure_days,
        CASE c.tier WHEN 'bronze' THEN 1.0 WHEN 'silver' THEN 2.0 WHEN 'gold' THEN 3.0
                    WHEN 'platinum' THEN 4.0 END::DOUBLE AS tier_ordinal,
        CAST(c.segment = 'consumer' AS DOUBLE) AS segment_consumer,
        CAST(c.segment = 'smb' AS DOUBLE) AS segment_smb,
        CAST(c.segment = 'enterprise' AS DOUBLE) AS segment_enterprise,
        CAST(c.contract_type = 'month_to_month' AS DOUBLE) AS is_month_to_month,
        CASE c.contract_type WHEN 'month_to_month' THEN 0.0 WHEN 'one_year' THEN 12.0
                             WHEN 'two_year' THEN 24.0 END::DOUBLE AS contract_term_months,
        CAST(c.account_manager_id IS NOT NULL AS DOUBLE) AS has_account_manager,
        CASE WHEN c.contract_end_date - ${D} < 0 THEN 0.0
             ELSE CAST(c.contract_end_date - ${D} AS DOUBLE) END AS days_to_contract_end,
        CAST(coalesce(c.contract_end_date > ${D} AND c.contract_end_date <= ${D} + 60, false) AS DOUBLE)
            AS in_renewal_window_60d,
        CAST(c.contract_end_date IS NULL OR c.contract_end_date <= ${D} AS DOUBLE) AS out_of_contract,
        rr.region_churn_rate_90d,
        sr.segment_churn_rate_90d,
        -- invoices
        from_units(coalesce(inv.lifetime_revenue, 0)) AS lifetime_revenue,
        from_units(coalesce(inv.revenue_3m, 0)) AS revenue_3m,
        from_units(coalesce(inv.revenue_6m, 0)) AS revenue_6m,
        from_units(coalesce(inv.revenue_12m, 0)) AS revenue_12m,
        CAST(coalesce(inv.invoices_3m, 0) AS DOUBLE) AS invoices_3m,
        from_units(coalesce(inv.revenue_prev_3m, 0)) AS revenue_prev_3m,
        CAST(coalesce(inv.invoices_prev_3m, 0) AS DOUBLE) AS invoices_prev_3m,
        CAST(coalesce(inv.invoices_overdue, 0) AS DOUBLE) AS invoices_overdue,
        from_units(coalesce(inv.overdue_amount, 0)) AS overdue_amount,
        CAST(coalesce(inv.late_paid_12m, 0) AS DOUBLE) AS late_paid_12m,
        CASE WHEN inv.days_late_n > 0
             THEN from_units(inv.days_late_sum) / CAST(inv.days_late_n AS DOUBLE) END
            AS avg_days_late_12m,
        from_units(coalesce(inv.overage_3m, 0)) AS overage_3m,
        from_units(coalesce(inv.discount_3m, 0)) AS discount_3m,
        CAST(inv.last_bill_key % 1000000000000 AS DOUBLE) * (1 / 100::DOUBLE) AS bill_last,
        -- services
        CAST(coalesce(asg.products_held, 0) AS DOUBLE) AS products_held,
        CAST(coalesce(asg.categories_held, 0) AS DOUBLE) AS categories_held,
        from_units(coalesce(asg.monthly_fee_total, 0)) AS monthly_fee_total,
        from_units(asg.data_allowance_gb) AS data_allowance_gb,
        CAST(coalesce(asg.products_added_90d, 0) AS DOUBLE) AS products_added_90d,
        CAST(coalesce(asg.products_added_365d, 0) AS DOUBLE) AS products_added_365d,
        CAST(coalesce(asg.products_dropped_90d, 0) AS DOUBLE) AS products_dropped_90d,
        CAST(coalesce(asg.products_dropped_365d, 0) AS DOUBLE) AS products_dropped_365d,
        -- tickets
        CAST(coalesce(tk.tickets_30d, 0) AS DOUBLE) AS tickets_30d,
        CAST(coalesce(tk.tickets_90d, 0) AS DOUBLE) AS tickets_90d,
        CAST(coalesce(tk.tickets_365d, 0) AS DOUBLE) AS tickets_365d,
        CAST(coalesce(tk.tickets_billing_90d, 0) AS DOUBLE) AS tickets_billing_90d,
        CAST(coalesce(tk.tickets_technical_90d, 0) AS DOUBLE) AS tickets_technical_90d,
        CAST(coalesce(tk.tickets_network_90d, 0) AS DOUBLE) AS tickets_network_90d,
        CAST(coalesce(tk.tickets_cancellation_90d, 0) AS DOUBLE) AS tickets_cancellation_90d,
        CAST(coalesce(tk.tickets_other_90d, 0) AS DOUBLE) AS tickets_other_90d,
        CAST(coalesce(tk.tickets_high_severity_90d, 0) AS DOUBLE) AS tickets_high_severity_90d,
        CAST(coalesce(tk.open_tickets, 0) AS DOUBLE) AS open_tickets,
        CASE WHEN tk.hours_n > 0 THEN from_units(tk.hours_sum) / CAST(tk.hours_n AS DOUBLE) END
            AS avg_resolution_hours_365d,
        CASE WHEN tk.sat_n > 0 THEN from_units(tk.sat_sum) / CAST(tk.sat_n AS DOUBLE) END
            AS avg_satisfaction_365d,
        tk.min_satisfaction_365d,
        CAST(${D} - tk.last_ticket_day AS DOUBLE) AS days_since_last_ticket,
        -- usage
        from_units(coalesce(us.data_gb_30d, 0)) AS data_gb_30d,
        from_units(coalesce(us.data_gb_90d, 0)) AS data_gb_90d,
        from_units(coalesce(us.data_gb_prev_90d, 0)) AS data_gb_prev_90d,
        from_units(coalesce(us.voice_minutes_30d, 0)) AS voice_minutes_30d,
        from_units(coalesce(us.voice_minutes_90d, 0)) AS voice_minutes_90d,
        from_units(coalesce(us.voice_minutes_prev_90d, 0)) AS voice_minutes_prev_90d,
        from_units(coalesce(us.dropped_calls_90d, 0)) AS dropped_calls_90d,
        from_units(coalesce(us.outage_minutes_90d, 0)) AS outage_minutes_90d,
        CAST(${D} - us.last_usage_day AS DOUBLE) AS days_since_last_usage,
        -- campaigns
        CAST(coalesce(cp.campaigns_targeted_365d, 0) AS DOUBLE) AS campaigns_targeted_365d,
        CAST(coalesce(cp.campaigns_treated_365d, 0) AS DOUBLE) AS campaigns_treated_365d,
        CAST(coalesce(cp.campaigns_control_365d, 0) AS DOUBLE) AS campaigns_control_365d,
        CAST(coalesce(cp.campaigns_responded_365d, 0) AS DOUBLE) AS campaigns_responded_365d,
        CAST(${D} - cp.last_retention_day AS DOUBLE) AS days_since_last_retention_campaign,
        -- label: known only when D + 90 <= observed_until
        CASE WHEN ${D} + 90 <= ${OBS}
             THEN CAST(coalesce(c.churn_date > ${D} AND c.churn_date <= ${D} + 90, false) AS INTEGER)
        END AS churned_90d
    FROM active c
    LEFT JOIN inv ON inv.customer_id = c.customer_id
    LEFT JOIN asg ON asg.customer_id = c.customer_id
    LEFT JOIN tk ON tk.customer_id = c.customer_id
    LEFT JOIN us ON us.customer_id = c.customer_id
    LEFT JOIN cp ON cp.customer_id = c.customer_id
    LEFT JOIN region_rate rr ON rr.region = c.region
    LEFT JOIN segment_rate sr ON sr.segment = c.segment
),
derived AS (
    SELECT *,
        ratio(overage_3m, revenue_3m) AS overage_share_3m,
        ratio(ratio(revenue_3m, invoices_3m), ratio(revenue_prev_3m, invoices_prev_3m))
            AS bill_change_ratio,
        ratio(data_gb_90d, data_gb_prev_90d) AS data_gb_trend,
        ratio(voice_minutes_90d, voice_minutes_prev_90d) AS voice_minutes_trend,
        ratio(dropped_calls_90d * 100.0::DOUBLE, voice_minutes_90d) AS dropped_call_rate_90d,
        ratio(data_gb_90d * (1 / 3::DOUBLE), data_allowance_gb) AS data_allowance_usage_90d
    FROM joined
)
SELECT *, CASE WHEN bill_change_ratio > 1.2::DOUBLE THEN 1.0 ELSE 0.0 END::DOUBLE AS bill_shock
FROM derived
ORDER BY _row;

-- customer_segmentation_analysis: one row per segment x tier, from the frame of D.
CREATE OR REPLACE TEMP TABLE segmentation AS
WITH
now AS (
    SELECT segment, tier,
        count(*) AS customers,
        sum(units(revenue_3m)) AS revenue_u,
        sum(units(tenure_days)) AS tenure_u,
        count(tenure_days) AS tenure_n,
        sum(units(tickets_90d)) AS tickets_u,
        sum(units(products_dropped_90d)) AS dropped_u
    FROM frame
    GROUP BY segment, tier
),
churn AS (
    SELECT segment, tier,
           CAST(count(*) FILTER (WHERE churn_date > ${D} - 90 AND churn_date <= ${D}) AS DOUBLE)
               / CAST(count(*) AS DOUBLE) AS churn_rate_90d
    FROM dim_customer
    WHERE signup_date <= ${D} - 90 AND (churn_date IS NULL OR churn_date > ${D} - 90)
    GROUP BY segment, tier
),
-- which active customer holds at least one product of which category at D
holders AS (
    SELECT f.segment, f.tier, h.category, CAST(count(*) AS DOUBLE) AS holders
    FROM (
        SELECT DISTINCT a.customer_id, p.category
        FROM fact_service_assignment a
        JOIN dim_product p ON a.product_id = p.product_id
        WHERE a.start_date <= ${D} AND (a.end_date IS NULL OR a.end_date > ${D})
    ) h
    JOIN frame f ON f.customer_id = h.customer_id
    GROUP BY f.segment, f.tier, h.category
),
adoption AS (
    SELECT segment, tier ${ADOPTION_SUMS}
    FROM holders
    GROUP BY segment, tier
),
groups AS (
    SELECT segment, tier,
        CAST(coalesce(now.customers, 0) AS DOUBLE) AS customers,
        churn.churn_rate_90d,
        from_units(coalesce(now.revenue_u, 0)) AS revenue_90d,
        CASE WHEN now.tenure_n > 0 THEN from_units(now.tenure_u) / CAST(now.tenure_n AS DOUBLE) END
            AS avg_tenure_days,
        from_units(coalesce(now.tickets_u, 0)) AS tickets,
        from_units(coalesce(now.dropped_u, 0)) AS products_dropped_90d
        ${ADOPTION_FILLED}
    FROM now
    FULL JOIN churn USING (segment, tier)
    LEFT JOIN adoption USING (segment, tier)
)
SELECT
    ${D} AS as_of_date,
    segment, tier,
    CAST(customers AS BIGINT) AS customers,
    churn_rate_90d,
    ratio(revenue_90d * (1 / 3::DOUBLE), customers) AS arpu_monthly,
    -- the total is one value broadcast over the groups: polars divides by it as a scalar
    CASE WHEN total_revenue > 0 THEN revenue_90d * (1 / total_revenue) END AS revenue_share,
    avg_tenure_days,
    ratio(tickets, customers) AS tickets_per_customer_90d,
    products_dropped_90d
    ${ADOPTION_RATIOS}
-- (the total is a single value divided by 1e6: a true division, not a column kernel)
FROM (SELECT *, CAST(sum(units(revenue_90d)) OVER () AS DOUBLE) / 1e6 AS total_revenue FROM groups)
ORDER BY segment, tier;
