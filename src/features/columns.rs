//! Every output column name of the three feature tables, defined once.
//!
//! [`FEATURES`] is the ordered list of the numeric features of `churn_prediction_features`
//! (all `Float64`); the ML table is `[CUSTOMER_ID, AS_OF_DATE] ++ FEATURES ++ [CHURNED_90D]`.
//! `features/catalog.toml` describes the same columns in the same order (checked by
//! `tests/catalog.rs`).

use crate::warehouse::schema::customer;

// ---- keys and label --------------------------------------------------------------------------
pub const CUSTOMER_ID: &str = customer::ID;
pub const AS_OF_DATE: &str = "as_of_date";
/// `1` when `churn_date ∈ (D, D + 90]`, `0` otherwise, null when `D + 90` is past the end of the
/// export (`Int32`).
pub const CHURNED_90D: &str = "churned_90d";
/// The label horizon in days.
pub const LABEL_HORIZON_DAYS: i32 = 90;

// ---- profile ---------------------------------------------------------------------------------
pub const TENURE_DAYS: &str = "tenure_days";
pub const TIER_ORDINAL: &str = "tier_ordinal";
pub const SEGMENT_CONSUMER: &str = "segment_consumer";
pub const SEGMENT_SMB: &str = "segment_smb";
pub const SEGMENT_ENTERPRISE: &str = "segment_enterprise";
pub const IS_MONTH_TO_MONTH: &str = "is_month_to_month";
pub const CONTRACT_TERM_MONTHS: &str = "contract_term_months";
pub const HAS_ACCOUNT_MANAGER: &str = "has_account_manager";
pub const DAYS_TO_CONTRACT_END: &str = "days_to_contract_end";
pub const IN_RENEWAL_WINDOW_60D: &str = "in_renewal_window_60d";
pub const OUT_OF_CONTRACT: &str = "out_of_contract";
pub const REGION_CHURN_RATE_90D: &str = "region_churn_rate_90d";
pub const SEGMENT_CHURN_RATE_90D: &str = "segment_churn_rate_90d";

// ---- relationship (invoices, services) -------------------------------------------------------
pub const LIFETIME_REVENUE: &str = "lifetime_revenue";
pub const REVENUE_3M: &str = "revenue_3m";
pub const REVENUE_6M: &str = "revenue_6m";
pub const REVENUE_12M: &str = "revenue_12m";
pub const PRODUCTS_HELD: &str = "products_held";
pub const CATEGORIES_HELD: &str = "categories_held";
pub const MONTHLY_FEE_TOTAL: &str = "monthly_fee_total";
pub const PRODUCTS_ADDED_90D: &str = "products_added_90d";
pub const PRODUCTS_ADDED_365D: &str = "products_added_365d";
pub const PRODUCTS_DROPPED_90D: &str = "products_dropped_90d";
pub const PRODUCTS_DROPPED_365D: &str = "products_dropped_365d";

// ---- billing ---------------------------------------------------------------------------------
pub const INVOICES_OVERDUE: &str = "invoices_overdue";
pub const OVERDUE_AMOUNT: &str = "overdue_amount";
pub const LATE_PAID_12M: &str = "late_paid_12m";
pub const AVG_DAYS_LATE_12M: &str = "avg_days_late_12m";
pub const OVERAGE_3M: &str = "overage_3m";
pub const OVERAGE_SHARE_3M: &str = "overage_share_3m";
pub const DISCOUNT_3M: &str = "discount_3m";
pub const BILL_LAST: &str = "bill_last";
pub const BILL_CHANGE_RATIO: &str = "bill_change_ratio";
pub const BILL_SHOCK: &str = "bill_shock";
/// `bill_shock` is `1` when `bill_change_ratio` is above this.
pub const BILL_SHOCK_RATIO: f64 = 1.2;

// ---- support ---------------------------------------------------------------------------------
pub const TICKETS_30D: &str = "tickets_30d";
pub const TICKETS_90D: &str = "tickets_90d";
pub const TICKETS_365D: &str = "tickets_365d";
pub const TICKETS_BILLING_90D: &str = "tickets_billing_90d";
pub const TICKETS_TECHNICAL_90D: &str = "tickets_technical_90d";
pub const TICKETS_NETWORK_90D: &str = "tickets_network_90d";
pub const TICKETS_CANCELLATION_90D: &str = "tickets_cancellation_90d";
pub const TICKETS_OTHER_90D: &str = "tickets_other_90d";
/// Ticket categories counted in their own column (`(category, column)`); any other category is
/// counted in [`TICKETS_OTHER_90D`].
pub const TICKET_CATEGORY_COLUMNS: [(&str, &str); 4] = [
    ("billing", TICKETS_BILLING_90D),
    ("technical", TICKETS_TECHNICAL_90D),
    ("network", TICKETS_NETWORK_90D),
    ("cancellation", TICKETS_CANCELLATION_90D),
];
pub const TICKETS_HIGH_SEVERITY_90D: &str = "tickets_high_severity_90d";
/// Severities counted by [`TICKETS_HIGH_SEVERITY_90D`].
pub const HIGH_SEVERITIES: [&str; 2] = ["high", "critical"];
pub const OPEN_TICKETS: &str = "open_tickets";
pub const AVG_RESOLUTION_HOURS_365D: &str = "avg_resolution_hours_365d";
pub const AVG_SATISFACTION_365D: &str = "avg_satisfaction_365d";
pub const MIN_SATISFACTION_365D: &str = "min_satisfaction_365d";
pub const DAYS_SINCE_LAST_TICKET: &str = "days_since_last_ticket";

// ---- usage and network -----------------------------------------------------------------------
pub const DATA_GB_30D: &str = "data_gb_30d";
pub const DATA_GB_90D: &str = "data_gb_90d";
pub const VOICE_MINUTES_30D: &str = "voice_minutes_30d";
pub const VOICE_MINUTES_90D: &str = "voice_minutes_90d";
pub const DATA_GB_TREND: &str = "data_gb_trend";
pub const VOICE_MINUTES_TREND: &str = "voice_minutes_trend";
pub const DROPPED_CALLS_90D: &str = "dropped_calls_90d";
pub const OUTAGE_MINUTES_90D: &str = "outage_minutes_90d";
pub const DROPPED_CALL_RATE_90D: &str = "dropped_call_rate_90d";
pub const DATA_ALLOWANCE_GB: &str = "data_allowance_gb";
pub const DATA_ALLOWANCE_USAGE_90D: &str = "data_allowance_usage_90d";
pub const DAYS_SINCE_LAST_USAGE: &str = "days_since_last_usage";

// ---- campaigns -------------------------------------------------------------------------------
pub const CAMPAIGNS_TARGETED_365D: &str = "campaigns_targeted_365d";
pub const CAMPAIGNS_TREATED_365D: &str = "campaigns_treated_365d";
pub const CAMPAIGNS_CONTROL_365D: &str = "campaigns_control_365d";
pub const CAMPAIGNS_RESPONDED_365D: &str = "campaigns_responded_365d";
pub const DAYS_SINCE_LAST_RETENTION_CAMPAIGN: &str = "days_since_last_retention_campaign";
/// The `campaign_type` whose last date feeds [`DAYS_SINCE_LAST_RETENTION_CAMPAIGN`].
pub const RETENTION_CAMPAIGN_TYPE: &str = "retention";
/// A response is only counted for campaigns targeted at least this many days before `D`
/// (the export has no response date, so a fresher response might have been recorded after `D`).
pub const RESPONSE_LAG_DAYS: i32 = 30;

// ---- customer_segmentation_analysis ----------------------------------------------------------
pub const CUSTOMERS: &str = "customers";
pub const CHURN_RATE_90D: &str = "churn_rate_90d";
pub const ARPU_MONTHLY: &str = "arpu_monthly";
pub const REVENUE_SHARE: &str = "revenue_share";
pub const AVG_TENURE_DAYS: &str = "avg_tenure_days";
pub const TICKETS_PER_CUSTOMER_90D: &str = "tickets_per_customer_90d";
/// Prefix of the per-category adoption columns (`adoption_<category>`).
pub const ADOPTION_PREFIX: &str = "adoption_";

/// The numeric features of `churn_prediction_features`, in table order (all `Float64`).
pub const FEATURES: &[&str] = &[
    TENURE_DAYS,
    TIER_ORDINAL,
    SEGMENT_CONSUMER,
    SEGMENT_SMB,
    SEGMENT_ENTERPRISE,
    IS_MONTH_TO_MONTH,
    CONTRACT_TERM_MONTHS,
    HAS_ACCOUNT_MANAGER,
    DAYS_TO_CONTRACT_END,
    IN_RENEWAL_WINDOW_60D,
    OUT_OF_CONTRACT,
    REGION_CHURN_RATE_90D,
    SEGMENT_CHURN_RATE_90D,
    LIFETIME_REVENUE,
    REVENUE_3M,
    REVENUE_6M,
    REVENUE_12M,
    PRODUCTS_HELD,
    CATEGORIES_HELD,
    MONTHLY_FEE_TOTAL,
    PRODUCTS_ADDED_90D,
    PRODUCTS_ADDED_365D,
    PRODUCTS_DROPPED_90D,
    PRODUCTS_DROPPED_365D,
    INVOICES_OVERDUE,
    OVERDUE_AMOUNT,
    LATE_PAID_12M,
    AVG_DAYS_LATE_12M,
    OVERAGE_3M,
    OVERAGE_SHARE_3M,
    DISCOUNT_3M,
    BILL_LAST,
    BILL_CHANGE_RATIO,
    BILL_SHOCK,
    TICKETS_30D,
    TICKETS_90D,
    TICKETS_365D,
    TICKETS_BILLING_90D,
    TICKETS_TECHNICAL_90D,
    TICKETS_NETWORK_90D,
    TICKETS_CANCELLATION_90D,
    TICKETS_OTHER_90D,
    TICKETS_HIGH_SEVERITY_90D,
    OPEN_TICKETS,
    AVG_RESOLUTION_HOURS_365D,
    AVG_SATISFACTION_365D,
    MIN_SATISFACTION_365D,
    DAYS_SINCE_LAST_TICKET,
    DATA_GB_30D,
    DATA_GB_90D,
    VOICE_MINUTES_30D,
    VOICE_MINUTES_90D,
    DATA_GB_TREND,
    VOICE_MINUTES_TREND,
    DROPPED_CALLS_90D,
    OUTAGE_MINUTES_90D,
    DROPPED_CALL_RATE_90D,
    DATA_ALLOWANCE_GB,
    DATA_ALLOWANCE_USAGE_90D,
    DAYS_SINCE_LAST_USAGE,
    CAMPAIGNS_TARGETED_365D,
    CAMPAIGNS_TREATED_365D,
    CAMPAIGNS_CONTROL_365D,
    CAMPAIGNS_RESPONDED_365D,
    DAYS_SINCE_LAST_RETENTION_CAMPAIGN,
];

/// Features of the ML table that the human-readable customer_360_view leaves out because it
/// shows the profile strings they encode instead.
pub const ENCODINGS: &[&str] = &[
    TIER_ORDINAL,
    SEGMENT_CONSUMER,
    SEGMENT_SMB,
    SEGMENT_ENTERPRISE,
    IS_MONTH_TO_MONTH,
    CONTRACT_TERM_MONTHS,
    HAS_ACCOUNT_MANAGER,
];
