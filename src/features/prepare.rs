//! Checks the warehouse frames the features read and turns them into lazy frames whose dates are
//! day numbers (see [`super::pit`]), once per build, shared by every as-of date.

use polars::prelude::{col, lit, Column, DataFrame, DataType, Expr, IntoLazy, LazyFrame, TimeUnit};

use super::pit::AsOf;
use super::FeatureError;
use crate::warehouse::schema::{
    assignment, campaign, customer, invoice, product, ticket, usage, Kind, Table,
};
use crate::warehouse::Warehouse;

/// UTC day number of `opened_at` (a derived column of the prepared ticket frame).
pub const OPENED_DAY: &str = "_opened_day";
/// UTC day number of `resolved_at` (null while unresolved).
pub const RESOLVED_DAY: &str = "_resolved_day";
/// Position of a product's category in [`Prepared::categories`] (Int32).
pub const CATEGORY_CODE: &str = "_category_code";
/// Hours from `opened_at` to `resolved_at` (≥ 0; null while unresolved).
pub const RESOLUTION_HOURS: &str = "_resolution_hours";

const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

/// The warehouse, ready for any number of as-of dates.
pub struct Prepared {
    /// dim_customer; `signup_date`, `contract_end_date`, `churn_date` as day numbers.
    /// `contract_end_date` is the export's snapshot: read it at `D` through
    /// [`Prepared::customers_at`] only.
    pub customers: LazyFrame,
    /// `customers`, collected (the term running at each `D` is derived from it in Rust).
    customers_df: DataFrame,
    /// dim_product: id, category, [`CATEGORY_CODE`], data allowance.
    pub products: LazyFrame,
    /// fact_invoice; `invoice_date`, `due_date`, `paid_date` as day numbers.
    pub invoices: LazyFrame,
    /// fact_service_assignment; `start_date`, `end_date` as day numbers.
    pub assignments: LazyFrame,
    /// fact_support_ticket plus [`OPENED_DAY`], [`RESOLVED_DAY`], [`RESOLUTION_HOURS`].
    pub tickets: LazyFrame,
    /// fact_campaign_target; `target_date` as a day number.
    pub campaigns: LazyFrame,
    /// fact_network_usage; `usage_date` as a day number.
    pub usage: LazyFrame,
    /// Distinct product categories of dim_product, sorted (the adoption columns).
    pub categories: Vec<String>,
}

/// A contract column as its canonical dtype (a no-op on a loaded warehouse; also turns an
/// all-null column of dtype `Null` into the right type).
fn typed(table: Table, name: &str) -> Expr {
    let dtype = table
        .spec()
        .column(name)
        .map(|c| c.kind.dtype())
        .unwrap_or(DataType::Null);
    col(name).cast(dtype)
}

/// A `Date` column as its day number, under the same name.
fn day(table: Table, name: &str) -> Expr {
    typed(table, name).cast(DataType::Int32).alias(name)
}

/// The UTC day number of a timestamp column.
fn ts_day(name: &str) -> Expr {
    col(name)
        .cast(DataType::Datetime(TimeUnit::Microseconds, None))
        .cast(DataType::Int64)
        .floor_div(lit(MICROS_PER_DAY))
        .cast(DataType::Int32)
}

/// Fails with a clear error when a column the features read is missing or has the wrong dtype.
/// A nullable column may also be all-null with dtype `Null`.
pub fn check_inputs(wh: &Warehouse) -> Result<(), FeatureError> {
    for table in Table::ALL {
        let frame = wh.table(table);
        for spec in table.spec().columns {
            let Some(found) = frame.schema().get(spec.name).cloned() else {
                return Err(FeatureError::MissingColumn {
                    table: table.file_stem(),
                    column: spec.name,
                });
            };
            let expected = spec.kind.dtype();
            let ok = found == expected
                || (spec.nullable && found == DataType::Null)
                // Any time unit of a UTC timestamp is accepted (it is converted to µs).
                || (spec.kind == Kind::Timestamp && matches!(found, DataType::Datetime(_, None)));
            if !ok {
                return Err(FeatureError::WrongDtype {
                    table: table.file_stem(),
                    column: spec.name,
                    expected: expected.to_string(),
                    found: found.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Distinct non-null categories of dim_product, sorted.
fn product_categories(wh: &Warehouse) -> Result<Vec<String>, FeatureError> {
    let polars = |source| FeatureError::Polars {
        table: Table::Product.file_stem(),
        as_of: None,
        source,
    };
    let column = wh.products.column(product::CATEGORY).map_err(polars)?;
    let mut categories: Vec<String> = column
        .str()
        .map_err(polars)?
        .iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    categories.sort();
    categories.dedup();
    Ok(categories)
}

impl Prepared {
    pub fn new(wh: &Warehouse) -> Result<Self, FeatureError> {
        check_inputs(wh)?;
        let t = Table::Customer;
        let customers_df = wh.customers.clone().lazy().select([
            typed(t, customer::ID),
            typed(t, customer::NAME),
            typed(t, customer::SEGMENT),
            typed(t, customer::TIER),
            typed(t, customer::REGION),
            typed(t, customer::ACCOUNT_MANAGER_ID),
            day(t, customer::SIGNUP_DATE),
            typed(t, customer::CONTRACT_TYPE),
            day(t, customer::CONTRACT_END_DATE),
            day(t, customer::CHURN_DATE),
        ]);
        let customers_df = customers_df
            .collect()
            .map_err(|source| FeatureError::Polars {
                table: t.file_stem(),
                as_of: None,
                source,
            })?;
        let customers = customers_df.clone().lazy();
        let t = Table::Product;
        let categories = product_categories(wh)?;
        let codes = DataFrame::new_infer_height(vec![
            Column::new(product::CATEGORY.into(), &categories),
            Column::new(
                CATEGORY_CODE.into(),
                (0..categories.len() as i32).collect::<Vec<_>>(),
            ),
        ])
        .map_err(|source| FeatureError::Polars {
            table: Table::Product.file_stem(),
            as_of: None,
            source,
        })?;
        let products = wh
            .products
            .clone()
            .lazy()
            .select([
                typed(t, product::ID),
                typed(t, product::CATEGORY),
                typed(t, product::DATA_ALLOWANCE_GB),
            ])
            .left_join(codes.lazy(), col(product::CATEGORY), col(product::CATEGORY));
        let t = Table::Invoice;
        let invoices = wh.invoices.clone().lazy().select([
            typed(t, invoice::CUSTOMER_ID),
            day(t, invoice::INVOICE_DATE),
            typed(t, invoice::AMOUNT),
            typed(t, invoice::OVERAGE_AMOUNT).fill_null(lit(0.0)),
            typed(t, invoice::DISCOUNT_AMOUNT).fill_null(lit(0.0)),
            day(t, invoice::DUE_DATE),
            day(t, invoice::PAID_DATE),
        ]);
        let t = Table::ServiceAssignment;
        let assignments = wh.assignments.clone().lazy().select([
            typed(t, assignment::CUSTOMER_ID),
            typed(t, assignment::PRODUCT_ID),
            day(t, assignment::START_DATE),
            day(t, assignment::END_DATE),
            typed(t, assignment::MONTHLY_FEE),
        ]);
        let t = Table::SupportTicket;
        let micros = |name: &str| {
            col(name)
                .cast(DataType::Datetime(TimeUnit::Microseconds, None))
                .cast(DataType::Int64)
                .cast(DataType::Float64)
        };
        let hours =
            (micros(ticket::RESOLVED_AT) - micros(ticket::OPENED_AT)) / lit(MICROS_PER_HOUR);
        let tickets = wh.tickets.clone().lazy().select([
            typed(t, ticket::CUSTOMER_ID),
            ts_day(ticket::OPENED_AT).alias(OPENED_DAY),
            ts_day(ticket::RESOLVED_AT).alias(RESOLVED_DAY),
            // A resolution stamped before the opening is bad data: count it as zero hours.
            polars::prelude::when(hours.clone().lt(lit(0.0)))
                .then(lit(0.0))
                .otherwise(hours)
                .alias(RESOLUTION_HOURS),
            typed(t, ticket::CATEGORY),
            typed(t, ticket::SEVERITY),
            typed(t, ticket::SATISFACTION_SCORE).cast(DataType::Float64),
        ]);
        let t = Table::CampaignTarget;
        let campaigns = wh.campaigns.clone().lazy().select([
            typed(t, campaign::CUSTOMER_ID),
            typed(t, campaign::CAMPAIGN_TYPE),
            day(t, campaign::TARGET_DATE),
            typed(t, campaign::TREATMENT_GROUP),
            typed(t, campaign::RESPONDED),
        ]);
        let t = Table::NetworkUsage;
        let usage = wh.usage.clone().lazy().select([
            typed(t, usage::CUSTOMER_ID),
            day(t, usage::USAGE_DATE),
            typed(t, usage::DATA_GB),
            typed(t, usage::VOICE_MINUTES),
            typed(t, usage::DROPPED_CALLS).cast(DataType::Float64),
            typed(t, usage::OUTAGE_MINUTES),
        ]);
        Ok(Prepared {
            customers,
            customers_df,
            products,
            invoices,
            assignments,
            tickets,
            campaigns,
            usage,
            categories,
        })
    }
}

impl Prepared {
    /// dim_customer as seen at `D`: like [`Prepared::customers`], but `contract_end_date` is the
    /// end of the contract term running at `D` (see [`super::contract`]), not the export's
    /// snapshot, which reveals renewals signed after `D`.
    pub fn customers_at(&self, at: AsOf) -> Result<LazyFrame, FeatureError> {
        super::contract::with_term_end(&self.customers_df, at)
            .map(IntoLazy::lazy)
            .map_err(|source| FeatureError::Polars {
                table: Table::Customer.file_stem(),
                as_of: Some(at.date),
                source,
            })
    }
}
