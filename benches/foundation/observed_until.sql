-- observed_until: the last date the export covers (src/warehouse/mod.rs Warehouse::observed_until):
-- the latest fact date and latest date of a later event, over every table.
SELECT max(d) AS observed_until FROM (
    SELECT max(signup_date) AS d FROM dim_customer
    UNION ALL SELECT max(churn_date) FROM dim_customer
    UNION ALL SELECT max(invoice_date) FROM fact_invoice
    UNION ALL SELECT max(paid_date) FROM fact_invoice
    UNION ALL SELECT max(start_date) FROM fact_service_assignment
    UNION ALL SELECT max(end_date) FROM fact_service_assignment
    UNION ALL SELECT CAST(max(opened_at) AS DATE) FROM fact_support_ticket
    UNION ALL SELECT CAST(max(resolved_at) AS DATE) FROM fact_support_ticket
    UNION ALL SELECT max(target_date) FROM fact_campaign_target
    UNION ALL SELECT max(usage_date) FROM fact_network_usage
);
