-- The contract checks of the Rust loader (src/warehouse/), as counts: one row per
-- (table, check) with the number of offending rows. Every count is 0 on a clean export.
-- The Rust loader does more: it also parses/converts every value, tells exact duplicate rows
-- (collapsed) from conflicting ones (quarantined), and removes the bad rows before building
-- features; here the counts are computed and reported, nothing is removed.
WITH
c AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE customer_id IS NULL OR customer_id = '' OR segment IS NULL OR segment = ''
            OR tier IS NULL OR tier = '' OR region IS NULL OR region = '' OR signup_date IS NULL
            OR contract_type IS NULL OR contract_type = '') AS missing,
        count(*) - count(DISTINCT customer_id) AS duplicate_keys
    FROM dim_customer
),
p AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE product_id IS NULL OR product_id = '' OR product_name IS NULL
            OR category IS NULL OR category = '' OR monthly_price IS NULL OR margin_rate IS NULL) AS missing,
        count(*) FILTER (WHERE monthly_price < 0 OR margin_rate < 0 OR margin_rate > 1
            OR data_allowance_gb < 0) AS out_of_range,
        count(*) - count(DISTINCT product_id) AS duplicate_keys
    FROM dim_product
),
i AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE invoice_id IS NULL OR invoice_id = '' OR customer_id IS NULL
            OR customer_id = '' OR invoice_date IS NULL OR amount IS NULL OR due_date IS NULL) AS missing,
        count(*) FILTER (WHERE amount < 0 OR overage_amount < 0 OR discount_amount < 0) AS out_of_range,
        count(*) - count(DISTINCT invoice_id) AS duplicate_keys
    FROM fact_invoice
),
i_fk AS (
    SELECT count(*) AS orphans FROM fact_invoice f ANTI JOIN dim_customer d USING (customer_id)
),
a AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE assignment_id IS NULL OR assignment_id = '' OR customer_id IS NULL
            OR customer_id = '' OR product_id IS NULL OR product_id = '' OR start_date IS NULL
            OR monthly_fee IS NULL) AS missing,
        count(*) FILTER (WHERE monthly_fee < 0) AS out_of_range,
        count(*) - count(DISTINCT assignment_id) AS duplicate_keys
    FROM fact_service_assignment
),
a_fk AS (
    SELECT
        (SELECT count(*) FROM fact_service_assignment f ANTI JOIN dim_customer d USING (customer_id))
        + (SELECT count(*) FROM fact_service_assignment f ANTI JOIN dim_product d USING (product_id))
        AS orphans
),
t AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE ticket_id IS NULL OR ticket_id = '' OR customer_id IS NULL
            OR customer_id = '' OR opened_at IS NULL OR category IS NULL OR category = ''
            OR severity IS NULL) AS missing,
        count(*) FILTER (WHERE severity NOT IN ('low', 'medium', 'high', 'critical')
            OR satisfaction_score < 1 OR satisfaction_score > 5) AS out_of_range,
        count(*) - count(DISTINCT ticket_id) AS duplicate_keys
    FROM fact_support_ticket
),
t_fk AS (
    SELECT count(*) AS orphans FROM fact_support_ticket f ANTI JOIN dim_customer d USING (customer_id)
),
k AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE campaign_id IS NULL OR campaign_id = '' OR customer_id IS NULL
            OR customer_id = '' OR campaign_type IS NULL OR campaign_type = '' OR target_date IS NULL
            OR treatment_group IS NULL) AS missing,
        count(*) FILTER (WHERE treatment_group NOT IN ('treatment', 'control')) AS out_of_range,
        count(*) - count(DISTINCT (campaign_id, customer_id)) AS duplicate_keys
    FROM fact_campaign_target
),
k_fk AS (
    SELECT
        (SELECT count(*) FROM fact_campaign_target f ANTI JOIN dim_customer d USING (customer_id))
        + (SELECT count(*) FROM fact_campaign_target f
           WHERE offered_product_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM dim_product d WHERE d.product_id = f.offered_product_id))
        AS orphans
),
u AS (
    SELECT
        count(*) AS n,
        count(*) FILTER (WHERE customer_id IS NULL OR customer_id = '' OR usage_date IS NULL
            OR data_gb IS NULL OR voice_minutes IS NULL OR dropped_calls IS NULL
            OR outage_minutes IS NULL) AS missing,
        count(*) FILTER (WHERE data_gb < 0 OR voice_minutes < 0 OR sms_count < 0 OR dropped_calls < 0
            OR outage_minutes < 0) AS out_of_range,
        count(*) - count(DISTINCT (customer_id, usage_date)) AS duplicate_keys
    FROM fact_network_usage
),
u_fk AS (
    SELECT count(*) AS orphans FROM fact_network_usage f ANTI JOIN dim_customer d USING (customer_id)
)
SELECT 'dim_customer' AS "table", n AS rows_read, missing, 0 AS out_of_range, duplicate_keys, 0 AS orphans FROM c
UNION ALL SELECT 'dim_product', n, missing, out_of_range, duplicate_keys, 0 FROM p
UNION ALL SELECT 'fact_invoice', n, missing, out_of_range, duplicate_keys, (SELECT orphans FROM i_fk) FROM i
UNION ALL SELECT 'fact_service_assignment', n, missing, out_of_range, duplicate_keys, (SELECT orphans FROM a_fk) FROM a
UNION ALL SELECT 'fact_support_ticket', n, missing, out_of_range, duplicate_keys, (SELECT orphans FROM t_fk) FROM t
UNION ALL SELECT 'fact_campaign_target', n, missing, out_of_range, duplicate_keys, (SELECT orphans FROM k_fk) FROM k
UNION ALL SELECT 'fact_network_usage', n, missing, out_of_range, duplicate_keys, (SELECT orphans FROM u_fk) FROM u;
