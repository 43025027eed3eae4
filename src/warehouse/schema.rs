//! The warehouse data contract as data: the seven tables, their columns, kinds, checks and keys.
//!
//! Every column name used anywhere in the crate for an input table is defined here once
//! (`customer::SIGNUP_DATE`, `invoice::AMOUNT`, ...). The loader validates against
//! [`TableSpec`]s, the generator writes them, the features read them.
//!
//! After loading, every table is a polars `DataFrame` holding exactly the contract's columns in
//! the order listed here, with the canonical dtype of each [`Kind`] (see [`Kind::dtype`]).
//! Absent optional columns are added: `overage_amount` / `discount_amount` as `0.0`,
//! `customer_name` and `sms_count` as nulls.

use polars::prelude::{DataType, TimeUnit};

/// The seven tables of a warehouse export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Customer,
    Product,
    Invoice,
    ServiceAssignment,
    SupportTicket,
    CampaignTarget,
    NetworkUsage,
}

impl Table {
    /// All tables, dimensions first (the order in which they are validated: facts check their
    /// foreign keys against the dimension rows that survived validation).
    pub const ALL: [Table; 7] = [
        Table::Customer,
        Table::Product,
        Table::Invoice,
        Table::ServiceAssignment,
        Table::SupportTicket,
        Table::CampaignTarget,
        Table::NetworkUsage,
    ];

    /// The file stem of the table in an export directory (`dim_customer`, `fact_invoice`, ...).
    pub fn file_stem(self) -> &'static str {
        self.spec().name
    }

    /// The contract of this table.
    pub fn spec(self) -> &'static TableSpec {
        match self {
            Table::Customer => &CUSTOMER,
            Table::Product => &PRODUCT,
            Table::Invoice => &INVOICE,
            Table::ServiceAssignment => &SERVICE_ASSIGNMENT,
            Table::SupportTicket => &SUPPORT_TICKET,
            Table::CampaignTarget => &CAMPAIGN_TARGET,
            Table::NetworkUsage => &NETWORK_USAGE,
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file_stem())
    }
}

/// The kind of a contract column, and so its parser and its dtype after loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text → `String`.
    Str,
    /// `YYYY-MM-DD` → `Date`.
    Date,
    /// ISO 8601 (with `T` or space, optional fraction, optional `Z`/`±HH:MM`) or integer Unix
    /// epoch seconds → `Datetime(µs)` in UTC without a zone attached.
    Timestamp,
    /// Decimal number with `.` → `Float64`.
    Float,
    /// Whole number → `Int64`.
    Int,
    /// `true`/`false`/`1`/`0` → `Boolean`.
    Bool,
}

impl Kind {
    /// The polars dtype of a loaded column of this kind.
    pub fn dtype(self) -> DataType {
        match self {
            Kind::Str => DataType::String,
            Kind::Date => DataType::Date,
            Kind::Timestamp => DataType::Datetime(TimeUnit::Microseconds, None),
            Kind::Float => DataType::Float64,
            Kind::Int => DataType::Int64,
            Kind::Bool => DataType::Boolean,
        }
    }

    /// A short human name used in error messages ("a date", "a number", ...).
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Str => "text",
            Kind::Date => "a date (YYYY-MM-DD)",
            Kind::Timestamp => "a timestamp (ISO 8601 or epoch seconds)",
            Kind::Float => "a number",
            Kind::Int => "a whole number",
            Kind::Bool => "a boolean (true/false/1/0)",
        }
    }
}

/// A value-level rule; a value that breaks it puts its row in quarantine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// No rule beyond parsing.
    Any,
    /// Text must not be empty (after trimming).
    NonEmpty,
    /// Number ≥ 0.
    NonNegative,
    /// Number in `[lo, hi]` (inclusive).
    Range(f64, f64),
    /// Text must be one of these values (exact match).
    OneOf(&'static [&'static str]),
}

/// What an absent *optional* column becomes after loading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// All nulls.
    Null,
    /// This number in every row.
    Float(f64),
}

/// One column of the contract.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// `Some(default)` when the column may be absent from the file.
    pub optional: Option<Default>,
    /// Whether a null (empty field) is allowed.
    pub nullable: bool,
    pub check: Check,
}

/// A foreign key: `column` must hold a key of `references` (or be null where nullable).
#[derive(Debug, Clone, Copy)]
pub struct ForeignKey {
    pub column: &'static str,
    pub references: Table,
}

/// One table of the contract.
#[derive(Debug)]
pub struct TableSpec {
    pub table: Table,
    /// The file stem, e.g. `fact_invoice`.
    pub name: &'static str,
    pub columns: &'static [ColumnSpec],
    pub primary_key: &'static [&'static str],
    pub foreign_keys: &'static [ForeignKey],
}

impl TableSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Names of all contract columns, in canonical order.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

const fn req(name: &'static str, kind: Kind, check: Check) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: None,
        nullable: false,
        check,
    }
}

const fn nullable(name: &'static str, kind: Kind, check: Check) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: None,
        nullable: true,
        check,
    }
}

const fn optional(name: &'static str, kind: Kind, default: Default, check: Check) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: Some(default),
        nullable: true,
        check,
    }
}

/// Severity levels of a support ticket, least to most severe.
pub const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];
/// Treatment groups of a campaign target.
pub const TREATMENT_GROUPS: &[&str] = &["treatment", "control"];

pub mod customer {
    pub const ID: &str = "customer_id";
    pub const NAME: &str = "customer_name";
    pub const SEGMENT: &str = "segment";
    pub const TIER: &str = "tier";
    pub const REGION: &str = "region";
    pub const ACCOUNT_MANAGER_ID: &str = "account_manager_id";
    pub const SIGNUP_DATE: &str = "signup_date";
    pub const CONTRACT_TYPE: &str = "contract_type";
    pub const CONTRACT_END_DATE: &str = "contract_end_date";
    pub const CHURN_DATE: &str = "churn_date";
}

pub mod product {
    pub const ID: &str = "product_id";
    pub const NAME: &str = "product_name";
    pub const CATEGORY: &str = "category";
    pub const MONTHLY_PRICE: &str = "monthly_price";
    pub const MARGIN_RATE: &str = "margin_rate";
    pub const DATA_ALLOWANCE_GB: &str = "data_allowance_gb";
    pub const ELIGIBLE_SEGMENTS: &str = "eligible_segments";
}

pub mod invoice {
    pub const ID: &str = "invoice_id";
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const INVOICE_DATE: &str = "invoice_date";
    pub const AMOUNT: &str = "amount";
    pub const OVERAGE_AMOUNT: &str = "overage_amount";
    pub const DISCOUNT_AMOUNT: &str = "discount_amount";
    pub const DUE_DATE: &str = "due_date";
    pub const PAID_DATE: &str = "paid_date";
}

pub mod assignment {
    pub const ID: &str = "assignment_id";
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const PRODUCT_ID: &str = "product_id";
    pub const START_DATE: &str = "start_date";
    pub const END_DATE: &str = "end_date";
    pub const MONTHLY_FEE: &str = "monthly_fee";
}

pub mod ticket {
    pub const ID: &str = "ticket_id";
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const OPENED_AT: &str = "opened_at";
    pub const RESOLVED_AT: &str = "resolved_at";
    pub const CATEGORY: &str = "category";
    pub const SEVERITY: &str = "severity";
    pub const SATISFACTION_SCORE: &str = "satisfaction_score";
}

pub mod campaign {
    pub const ID: &str = "campaign_id";
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const CAMPAIGN_TYPE: &str = "campaign_type";
    pub const TARGET_DATE: &str = "target_date";
    pub const TREATMENT_GROUP: &str = "treatment_group";
    pub const RESPONDED: &str = "responded";
    pub const OFFERED_PRODUCT_ID: &str = "offered_product_id";
}

pub mod usage {
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const USAGE_DATE: &str = "usage_date";
    pub const DATA_GB: &str = "data_gb";
    pub const VOICE_MINUTES: &str = "voice_minutes";
    pub const SMS_COUNT: &str = "sms_count";
    pub const DROPPED_CALLS: &str = "dropped_calls";
    pub const OUTAGE_MINUTES: &str = "outage_minutes";
}

use Check::{Any, NonEmpty, NonNegative, OneOf, Range};
use Kind::{Bool, Date, Float, Int, Str, Timestamp};

pub static CUSTOMER: TableSpec = TableSpec {
    table: Table::Customer,
    name: "dim_customer",
    columns: &[
        req(customer::ID, Str, NonEmpty),
        optional(customer::NAME, Str, Default::Null, Any),
        req(customer::SEGMENT, Str, NonEmpty),
        req(customer::TIER, Str, NonEmpty),
        req(customer::REGION, Str, NonEmpty),
        nullable(customer::ACCOUNT_MANAGER_ID, Str, Any),
        req(customer::SIGNUP_DATE, Date, Any),
        req(customer::CONTRACT_TYPE, Str, NonEmpty),
        nullable(customer::CONTRACT_END_DATE, Date, Any),
        nullable(customer::CHURN_DATE, Date, Any),
    ],
    primary_key: &[customer::ID],
    foreign_keys: &[],
};

pub static PRODUCT: TableSpec = TableSpec {
    table: Table::Product,
    name: "dim_product",
    columns: &[
        req(product::ID, Str, NonEmpty),
        req(product::NAME, Str, Any),
        req(product::CATEGORY, Str, NonEmpty),
        req(product::MONTHLY_PRICE, Float, NonNegative),
        req(product::MARGIN_RATE, Float, Range(0.0, 1.0)),
        nullable(product::DATA_ALLOWANCE_GB, Float, NonNegative),
        nullable(product::ELIGIBLE_SEGMENTS, Str, Any),
    ],
    primary_key: &[product::ID],
    foreign_keys: &[],
};

pub static INVOICE: TableSpec = TableSpec {
    table: Table::Invoice,
    name: "fact_invoice",
    columns: &[
        req(invoice::ID, Str, NonEmpty),
        req(invoice::CUSTOMER_ID, Str, NonEmpty),
        req(invoice::INVOICE_DATE, Date, Any),
        req(invoice::AMOUNT, Float, NonNegative),
        optional(
            invoice::OVERAGE_AMOUNT,
            Float,
            Default::Float(0.0),
            NonNegative,
        ),
        optional(
            invoice::DISCOUNT_AMOUNT,
            Float,
            Default::Float(0.0),
            NonNegative,
        ),
        req(invoice::DUE_DATE, Date, Any),
        nullable(invoice::PAID_DATE, Date, Any),
    ],
    primary_key: &[invoice::ID],
    foreign_keys: &[ForeignKey {
        column: invoice::CUSTOMER_ID,
        references: Table::Customer,
    }],
};

pub static SERVICE_ASSIGNMENT: TableSpec = TableSpec {
    table: Table::ServiceAssignment,
    name: "fact_service_assignment",
    columns: &[
        req(assignment::ID, Str, NonEmpty),
        req(assignment::CUSTOMER_ID, Str, NonEmpty),
        req(assignment::PRODUCT_ID, Str, NonEmpty),
        req(assignment::START_DATE, Date, Any),
        nullable(assignment::END_DATE, Date, Any),
        req(assignment::MONTHLY_FEE, Float, NonNegative),
    ],
    primary_key: &[assignment::ID],
    foreign_keys: &[
        ForeignKey {
            column: assignment::CUSTOMER_ID,
            references: Table::Customer,
        },
        ForeignKey {
            column: assignment::PRODUCT_ID,
            references: Table::Product,
        },
    ],
};

pub static SUPPORT_TICKET: TableSpec = TableSpec {
    table: Table::SupportTicket,
    name: "fact_support_ticket",
    columns: &[
        req(ticket::ID, Str, NonEmpty),
        req(ticket::CUSTOMER_ID, Str, NonEmpty),
        req(ticket::OPENED_AT, Timestamp, Any),
        nullable(ticket::RESOLVED_AT, Timestamp, Any),
        req(ticket::CATEGORY, Str, NonEmpty),
        req(ticket::SEVERITY, Str, OneOf(SEVERITIES)),
        nullable(ticket::SATISFACTION_SCORE, Int, Range(1.0, 5.0)),
    ],
    primary_key: &[ticket::ID],
    foreign_keys: &[ForeignKey {
        column: ticket::CUSTOMER_ID,
        references: Table::Customer,
    }],
};

pub static CAMPAIGN_TARGET: TableSpec = TableSpec {
    table: Table::CampaignTarget,
    name: "fact_campaign_target",
    columns: &[
        req(campaign::ID, Str, NonEmpty),
        req(campaign::CUSTOMER_ID, Str, NonEmpty),
        req(campaign::CAMPAIGN_TYPE, Str, NonEmpty),
        req(campaign::TARGET_DATE, Date, Any),
        req(campaign::TREATMENT_GROUP, Str, OneOf(TREATMENT_GROUPS)),
        nullable(campaign::RESPONDED, Bool, Any),
        nullable(campaign::OFFERED_PRODUCT_ID, Str, Any),
    ],
    primary_key: &[campaign::ID, campaign::CUSTOMER_ID],
    foreign_keys: &[
        ForeignKey {
            column: campaign::CUSTOMER_ID,
            references: Table::Customer,
        },
        ForeignKey {
            column: campaign::OFFERED_PRODUCT_ID,
            references: Table::Product,
        },
    ],
};

pub static NETWORK_USAGE: TableSpec = TableSpec {
    table: Table::NetworkUsage,
    name: "fact_network_usage",
    columns: &[
        req(usage::CUSTOMER_ID, Str, NonEmpty),
        req(usage::USAGE_DATE, Date, Any),
        req(usage::DATA_GB, Float, NonNegative),
        req(usage::VOICE_MINUTES, Float, NonNegative),
        optional(usage::SMS_COUNT, Int, Default::Null, NonNegative),
        req(usage::DROPPED_CALLS, Int, NonNegative),
        req(usage::OUTAGE_MINUTES, Float, NonNegative),
    ],
    primary_key: &[usage::CUSTOMER_ID, usage::USAGE_DATE],
    foreign_keys: &[ForeignKey {
        column: usage::CUSTOMER_ID,
        references: Table::Customer,
    }],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_foreign_key_names_a_column_of_its_table() {
        for t in Table::ALL {
            let spec = t.spec();
            assert_eq!(spec.table, t);
            for k in spec.primary_key {
                assert!(spec.column(k).is_some(), "{t}: key {k} is not a column");
            }
            for fk in spec.foreign_keys {
                assert!(spec.column(fk.column).is_some(), "{t}: fk {}", fk.column);
                assert_eq!(fk.references.spec().primary_key.len(), 1);
            }
        }
    }

    #[test]
    fn table_file_stems_follow_the_contract() {
        let stems: Vec<_> = Table::ALL.iter().map(|t| t.file_stem()).collect();
        assert_eq!(
            stems,
            [
                "dim_customer",
                "dim_product",
                "fact_invoice",
                "fact_service_assignment",
                "fact_support_ticket",
                "fact_campaign_target",
                "fact_network_usage"
            ]
        );
    }
}
