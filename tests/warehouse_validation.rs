//! Loading and validating a warehouse export: every kind of bad row lands in quarantine with its
//! reason, every hard error names its table and column, and the rows always add up.
//!
//! Each test starts from a tiny valid seven-table CSV export (written inline below) and breaks
//! one thing.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use chrono::NaiveDate;
use churn::warehouse::schema::{campaign, customer, invoice, ticket, usage};
use churn::warehouse::{self, LoadError, LoadReport, Table, TableReport, Warehouse};
use polars::prelude::*;

const CUSTOMERS: &str = "\
customer_id,customer_name,segment,tier,region,account_manager_id,signup_date,contract_type,contract_end_date,churn_date
C1,Ann,consumer,gold,north,,2023-01-15,one_year,2024-01-15,
C2,Bob,smb,silver,south,AM1,2023-02-01,month_to_month,,2024-05-31
C3,Cy,enterprise,platinum,east,AM2,2023-03-10,two_year,2025-03-10,
";

const PRODUCTS: &str = "\
product_id,product_name,category,monthly_price,margin_rate,data_allowance_gb,eligible_segments
P1,Mobile S,mobile,20,0.4,10,consumer;smb
P2,Fibre,broadband,45.5,0.3,,
";

const INVOICES: &str = "\
invoice_id,customer_id,invoice_date,amount,overage_amount,discount_amount,due_date,paid_date
I1,C1,2024-01-01,20,0,0,2024-01-15,2024-01-10
I2,C2,2024-01-01,45.5,0,0,2024-01-15,
I3,C3,2024-02-01,65.5,5,0,2024-02-15,2024-02-14
";

const ASSIGNMENTS: &str = "\
assignment_id,customer_id,product_id,start_date,end_date,monthly_fee
A1,C1,P1,2023-01-15,,20
A2,C2,P2,2023-02-01,2024-05-31,45.5
";

const TICKETS: &str = "\
ticket_id,customer_id,opened_at,resolved_at,category,severity,satisfaction_score
T1,C1,2024-03-01T10:00:00Z,2024-03-02T09:30:00Z,billing,low,4
T2,C2,2024-04-10 08:00:00,,network,high,
";

const CAMPAIGNS: &str = "\
campaign_id,customer_id,campaign_type,target_date,treatment_group,responded,offered_product_id
K1,C1,retention,2024-02-01,treatment,true,P2
K1,C2,retention,2024-02-01,control,,
";

const USAGE: &str = "\
customer_id,usage_date,data_gb,voice_minutes,sms_count,dropped_calls,outage_minutes
C1,2024-01-01,3.5,120,10,0,0
C1,2024-02-01,4.0,100,,1,15
C2,2024-01-01,10,300,5,2,0
";

/// A warehouse export as CSV text per table, to be broken by a test and written to disk.
struct Export {
    tables: BTreeMap<Table, String>,
}

impl Export {
    /// The minimal valid export above.
    fn valid() -> Self {
        let tables = [
            (Table::Customer, CUSTOMERS),
            (Table::Product, PRODUCTS),
            (Table::Invoice, INVOICES),
            (Table::ServiceAssignment, ASSIGNMENTS),
            (Table::SupportTicket, TICKETS),
            (Table::CampaignTarget, CAMPAIGNS),
            (Table::NetworkUsage, USAGE),
        ]
        .into_iter()
        .map(|(t, s)| (t, s.to_string()))
        .collect();
        Export { tables }
    }

    /// Adds one data line to a table.
    fn append(mut self, t: Table, line: &str) -> Self {
        let csv = self.tables.get_mut(&t).expect("table");
        csv.push_str(line);
        csv.push('\n');
        self
    }

    /// Replaces the first occurrence of `from` in a table's text.
    fn replace(mut self, t: Table, from: &str, to: &str) -> Self {
        let csv = self.tables.get_mut(&t).expect("table");
        assert!(csv.contains(from), "{t}: `{from}` not in fixture");
        *csv = csv.replacen(from, to, 1);
        self
    }

    /// Replaces a table's whole text.
    fn set(mut self, t: Table, csv: &str) -> Self {
        self.tables.insert(t, csv.to_string());
        self
    }

    fn write(&self, dir: &Path) {
        for (t, csv) in &self.tables {
            std::fs::write(dir.join(format!("{}.csv", t.file_stem())), csv).expect("write csv");
        }
    }

    fn load(&self) -> Result<(Warehouse, LoadReport), LoadError> {
        let dir = tempfile::tempdir().expect("tempdir");
        self.write(dir.path());
        warehouse::load(dir.path())
    }

    fn load_ok(&self) -> (Warehouse, LoadReport) {
        self.load().expect("export should load")
    }
}

fn report(r: &LoadReport, t: Table) -> &TableReport {
    r.tables
        .iter()
        .find(|x| x.table == t)
        .expect("table report")
}

/// `(source row, reason)` of every quarantined row of a table.
fn quarantined(r: &LoadReport, t: Table) -> Vec<(i64, String)> {
    let q = &report(r, t).quarantine;
    let rows = q.column(warehouse::SOURCE_ROW).expect("_source_row");
    let reasons = q.column(warehouse::REASON).expect("_reason");
    rows.i64()
        .expect("i64")
        .iter()
        .zip(reasons.str().expect("str").iter())
        .map(|(r, s)| (r.expect("row"), s.expect("reason").to_string()))
        .collect()
}

/// Asserts a table quarantined exactly one row, `row`, for `reason` of kind `kind`.
fn assert_one_quarantined(r: &LoadReport, t: Table, row: i64, kind: &str, reason: &str) {
    assert_eq!(quarantined(r, t), vec![(row, reason.to_string())], "{t}");
    let tr = report(r, t);
    assert_eq!(tr.rows_quarantined, 1, "{t}");
    assert_eq!(tr.reasons, BTreeMap::from([(kind.to_string(), 1)]), "{t}");
    assert_eq!(
        tr.rows_read,
        tr.rows_used + tr.rows_quarantined + tr.duplicates_collapsed
    );
}

fn strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .expect("column")
        .str()
        .expect("str")
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

#[test]
fn valid_export_loads_whole_with_canonical_types() {
    let (wh, rep) = Export::valid().load_ok();
    let heights: Vec<usize> = Table::ALL.iter().map(|&t| wh.table(t).height()).collect();
    assert_eq!(heights, [3, 2, 3, 2, 2, 2, 3]);
    assert_eq!(rep.total_quarantined(), 0);
    for t in Table::ALL {
        let spec = t.spec();
        let df = wh.table(t);
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, spec.column_names(), "{t}");
        for c in spec.columns {
            assert_eq!(
                df.column(c.name).expect("col").dtype(),
                &c.kind.dtype(),
                "{t}.{}",
                c.name
            );
        }
        let tr = report(&rep, t);
        assert_eq!(tr.rows_read, tr.rows_used);
        assert_eq!(tr.format, warehouse::Format::Csv);
    }
    // The latest date anywhere: C2's churn date and A2's end date, 2024-05-31.
    assert_eq!(rep.observed_until, NaiveDate::from_ymd_opt(2024, 5, 31));
    assert_eq!(wh.observed_until(), rep.observed_until);
    let amounts: Vec<Option<f64>> = wh
        .invoices
        .column(invoice::AMOUNT)
        .expect("amount")
        .f64()
        .expect("f64")
        .iter()
        .collect();
    assert_eq!(amounts, [Some(20.0), Some(45.5), Some(65.5)]);
}

#[test]
fn unparseable_number_is_quarantined_with_the_value() {
    let (wh, rep) = Export::valid()
        .append(Table::Invoice, "I4,C1,2024-03-01,\"12,5\",0,0,2024-03-15,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "unparseable value",
        "column `amount`: expected a number, got `12,5`",
    );
    assert_eq!(wh.invoices.height(), 3);
}

#[test]
fn nan_is_not_a_number() {
    let (_, rep) = Export::valid()
        .append(Table::Invoice, "I4,C1,2024-03-01,NaN,0,0,2024-03-15,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "unparseable value",
        "column `amount`: expected a number, got `NaN` (NaN and infinity are not accepted)",
    );
}

#[test]
fn unparseable_date_is_quarantined() {
    let (_, rep) = Export::valid()
        .append(Table::Invoice, "I4,C1,2024/03/01,10,0,0,2024-03-15,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "unparseable value",
        "column `invoice_date`: expected a date (YYYY-MM-DD), got `2024/03/01`",
    );
}

#[test]
fn unparseable_timestamp_is_quarantined() {
    let (_, rep) = Export::valid()
        .append(Table::SupportTicket, "T3,C1,yesterday,,billing,low,3")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::SupportTicket,
        3,
        "unparseable value",
        "column `opened_at`: expected a timestamp (ISO 8601 or epoch seconds), got `yesterday`",
    );
}

#[test]
fn unparseable_bool_is_quarantined() {
    let (_, rep) = Export::valid()
        .append(
            Table::CampaignTarget,
            "K2,C1,upsell,2024-03-01,treatment,yes,",
        )
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::CampaignTarget,
        3,
        "unparseable value",
        "column `responded`: expected a boolean (true/false/1/0), got `yes`",
    );
}

#[test]
fn negative_amount_is_out_of_range() {
    let (_, rep) = Export::valid()
        .append(Table::Invoice, "I4,C1,2024-03-01,-3,0,0,2024-03-15,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "out of range",
        "column `amount`: -3 is negative",
    );
}

#[test]
fn margin_rate_above_one_is_out_of_range() {
    let (wh, rep) = Export::valid()
        .append(Table::Product, "P3,Cloud,cloud,9.99,1.5,,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Product,
        3,
        "out of range",
        "column `margin_rate`: 1.5 is outside [0, 1]",
    );
    assert_eq!(wh.products.height(), 2);
}

#[test]
fn satisfaction_seven_is_out_of_range() {
    let (_, rep) = Export::valid()
        .append(
            Table::SupportTicket,
            "T3,C1,2024-03-05T10:00:00Z,,billing,low,7",
        )
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::SupportTicket,
        3,
        "out of range",
        "column `satisfaction_score`: 7 is outside [1, 5]",
    );
}

#[test]
fn unknown_severity_is_out_of_range() {
    let (_, rep) = Export::valid()
        .append(
            Table::SupportTicket,
            "T3,C1,2024-03-05T10:00:00Z,,billing,urgent,",
        )
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::SupportTicket,
        3,
        "out of range",
        "column `severity`: `urgent` is not one of low, medium, high, critical",
    );
}

#[test]
fn unknown_treatment_group_is_out_of_range() {
    let (_, rep) = Export::valid()
        .append(Table::CampaignTarget, "K2,C1,upsell,2024-03-01,maybe,,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::CampaignTarget,
        3,
        "out of range",
        "column `treatment_group`: `maybe` is not one of treatment, control",
    );
}

#[test]
fn empty_customer_id_is_missing() {
    let (_, rep) = Export::valid()
        .append(Table::Invoice, "I4,,2024-03-01,10,0,0,2024-03-15,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "missing required value",
        "column `customer_id`: missing required value",
    );
}

#[test]
fn whitespace_only_counts_as_empty() {
    let (_, rep) = Export::valid()
        .append(
            Table::Customer,
            "   ,Dee,consumer,gold,north,,2023-01-15,one_year,,",
        )
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Customer,
        4,
        "missing required value",
        "column `customer_id`: missing required value",
    );
}

#[test]
fn orphan_customer_in_an_invoice() {
    let (_, rep) = Export::valid()
        .append(Table::Invoice, "I4,C999,2024-03-01,10,0,0,2024-03-15,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "orphan foreign key",
        "column `customer_id`: `C999` not found in dim_customer",
    );
}

#[test]
fn orphan_product_in_an_assignment() {
    let (_, rep) = Export::valid()
        .append(Table::ServiceAssignment, "A3,C3,P9,2024-01-01,,10")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::ServiceAssignment,
        3,
        "orphan foreign key",
        "column `product_id`: `P9` not found in dim_product",
    );
}

#[test]
fn null_optional_foreign_key_is_fine_but_unknown_one_is_an_orphan() {
    let (wh, rep) = Export::valid()
        .append(
            Table::CampaignTarget,
            "K2,C3,upsell,2024-03-01,treatment,false,P7",
        )
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::CampaignTarget,
        3,
        "orphan foreign key",
        "column `offered_product_id`: `P7` not found in dim_product",
    );
    // K1/C2 has no offered product and is used.
    assert_eq!(wh.campaigns.height(), 2);
}

#[test]
fn facts_of_a_quarantined_customer_become_orphans() {
    // C3's signup date is bad, so C3 is not used, and its invoice I3 has no customer.
    let (wh, rep) = Export::valid()
        .replace(Table::Customer, "2023-03-10", "10/03/2023")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Customer,
        3,
        "unparseable value",
        "column `signup_date`: expected a date (YYYY-MM-DD), got `10/03/2023`",
    );
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        3,
        "orphan foreign key",
        "column `customer_id`: `C3` not found in dim_customer",
    );
    assert_eq!(wh.customers.height(), 2);
}

#[test]
fn conflicting_duplicate_key_keeps_the_first_row() {
    let (wh, rep) = Export::valid()
        .append(
            Table::Invoice,
            "I1,C1,2024-01-01,99,0,0,2024-01-15,2024-01-10",
        )
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "conflicting duplicate key",
        "conflicting duplicate key `invoice_id` = `I1`: row 1 has the same key with other \
         values (the first occurrence is kept)",
    );
    let i1: Vec<Option<f64>> = wh
        .invoices
        .clone()
        .lazy()
        .filter(col(invoice::ID).eq(lit("I1")))
        .collect()
        .expect("filter")
        .column(invoice::AMOUNT)
        .expect("amount")
        .f64()
        .expect("f64")
        .iter()
        .collect();
    assert_eq!(i1, [Some(20.0)]);
}

#[test]
fn conflicting_composite_key_names_every_key_column() {
    let (_, rep) = Export::valid()
        .append(
            Table::CampaignTarget,
            "K1,C1,retention,2024-02-01,control,,",
        )
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::CampaignTarget,
        3,
        "conflicting duplicate key",
        "conflicting duplicate key (`campaign_id`, `customer_id`) = (`K1`, `C1`): row 1 has \
         the same key with other values (the first occurrence is kept)",
    );
}

#[test]
fn exact_duplicates_are_collapsed_and_counted() {
    // Same row twice more; "4.0" vs "4" parse to the same number, so it is an exact copy.
    let (wh, rep) = Export::valid()
        .append(Table::NetworkUsage, "C1,2024-02-01,4.0,100,,1,15")
        .append(Table::NetworkUsage, "C1,2024-02-01,4,100,,1,15")
        .load_ok();
    let tr = report(&rep, Table::NetworkUsage);
    assert_eq!(
        (
            tr.rows_read,
            tr.rows_used,
            tr.rows_quarantined,
            tr.duplicates_collapsed
        ),
        (5, 3, 0, 2)
    );
    assert!(tr.reasons.is_empty());
    assert_eq!(wh.usage.height(), 3);
}

#[test]
fn a_row_with_several_problems_reports_its_first_column() {
    let (_, rep) = Export::valid()
        .append(Table::Invoice, "I4,C999,not-a-date,-5,0,0,2024-03-15,")
        .load_ok();
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        4,
        "orphan foreign key",
        "column `customer_id`: `C999` not found in dim_customer",
    );
}

#[test]
fn messy_export_adds_up_exactly() {
    let (wh, rep) = Export::valid()
        // invoices: 3 good + 1 unparseable + 1 negative + 1 orphan + 1 conflict + 2 copies
        .append(Table::Invoice, "I4,C1,2024-03-01,\"12,5\",0,0,2024-03-15,")
        .append(Table::Invoice, "I5,C1,2024-03-01,-3,0,0,2024-03-15,")
        .append(Table::Invoice, "I6,C999,2024-03-01,10,0,0,2024-03-15,")
        .append(Table::Invoice, "I2,C2,2024-01-01,46,0,0,2024-01-15,")
        .append(
            Table::Invoice,
            "I1,C1,2024-01-01,20,0,0,2024-01-15,2024-01-10",
        )
        .append(
            Table::Invoice,
            "I1,C1,2024-01-01,20.0,0,0,2024-01-15,2024-01-10",
        )
        // customers: C4 has an empty segment, so C4's usage row is an orphan
        .append(Table::Customer, "C4,Dee,,gold,north,,2023-01-15,one_year,,")
        .append(Table::NetworkUsage, "C4,2024-01-01,1,1,1,0,0")
        .append(Table::NetworkUsage, "C2,2024-01-01,10,300,5,2,0")
        // tickets: bad severity and bad score
        .append(
            Table::SupportTicket,
            "T3,C1,2024-03-05T10:00:00Z,,billing,urgent,",
        )
        .append(
            Table::SupportTicket,
            "T4,C1,2024-03-05T10:00:00Z,,billing,low,0",
        )
        .load_ok();

    let counts = |t| {
        let r = report(&rep, t);
        (
            r.rows_read,
            r.rows_used,
            r.rows_quarantined,
            r.duplicates_collapsed,
        )
    };
    assert_eq!(counts(Table::Invoice), (9, 3, 4, 2));
    assert_eq!(counts(Table::Customer), (4, 3, 1, 0));
    assert_eq!(counts(Table::NetworkUsage), (5, 3, 1, 1));
    assert_eq!(counts(Table::SupportTicket), (4, 2, 2, 0));
    assert_eq!(counts(Table::Product), (2, 2, 0, 0));
    assert_eq!(rep.total_quarantined(), 8);
    for t in &rep.tables {
        assert_eq!(
            t.rows_read,
            t.rows_used + t.rows_quarantined + t.duplicates_collapsed,
            "{}",
            t.table
        );
        assert_eq!(wh.table(t.table).height(), t.rows_used);
        assert_eq!(t.quarantine.height(), t.rows_quarantined);
        assert_eq!(t.reasons.values().sum::<usize>(), t.rows_quarantined);
    }
    assert_eq!(
        report(&rep, Table::Invoice).reasons,
        BTreeMap::from([
            ("conflicting duplicate key".to_string(), 1),
            ("orphan foreign key".to_string(), 1),
            ("out of range".to_string(), 1),
            ("unparseable value".to_string(), 1),
        ])
    );
    let rows: Vec<i64> = quarantined(&rep, Table::Invoice)
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(rows, [4, 5, 6, 7]);
}

#[test]
fn missing_table_is_a_hard_error_naming_table_and_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    Export::valid().write(dir.path());
    std::fs::remove_file(dir.path().join("fact_support_ticket.csv")).expect("rm");
    let err = warehouse::load(dir.path()).expect_err("must fail");
    match &err {
        LoadError::MissingTable {
            table,
            dir: d,
            looked_for,
        } => {
            assert_eq!(*table, Table::SupportTicket);
            assert_eq!(d, dir.path());
            assert_eq!(
                looked_for,
                &["fact_support_ticket.parquet", "fact_support_ticket.csv"]
            );
        }
        other => panic!("unexpected error: {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("fact_support_ticket.csv"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn missing_required_column_is_a_hard_error_listing_the_columns_found() {
    let err = Export::valid()
        .set(
            Table::Invoice,
            "invoice_id,customer_id,invoice_date,due_date,paid_date\nI1,C1,2024-01-01,2024-01-15,\n",
        )
        .load()
        .expect_err("must fail");
    match &err {
        LoadError::MissingColumn {
            table,
            column,
            found,
            ..
        } => {
            assert_eq!(*table, Table::Invoice);
            assert_eq!(*column, invoice::AMOUNT);
            assert_eq!(
                found,
                &[
                    "invoice_id",
                    "customer_id",
                    "invoice_date",
                    "due_date",
                    "paid_date"
                ]
            );
        }
        other => panic!("unexpected error: {other}"),
    }
    assert_eq!(err.table(), Some(Table::Invoice));
    assert_eq!(err.column(), Some("amount"));
    assert!(err.to_string().contains("`amount`"));
}

#[test]
fn csv_column_where_nothing_parses_is_a_hard_error() {
    let err = Export::valid()
        .replace(Table::Invoice, "20,0,0", "twenty,0,0")
        .replace(Table::Invoice, "45.5,0,0", "lots,0,0")
        .replace(Table::Invoice, "65.5,5,0", ",5,0")
        .load()
        .expect_err("must fail");
    match &err {
        LoadError::WrongKind {
            table,
            column,
            non_empty,
            example,
            ..
        } => {
            assert_eq!(*table, Table::Invoice);
            assert_eq!(*column, invoice::AMOUNT);
            assert_eq!(*non_empty, 2);
            assert_eq!(example, "twenty");
        }
        other => panic!("unexpected error: {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("fact_invoice.csv") && msg.contains("`amount`"),
        "{msg}"
    );
}

/// Writes every loaded table of `wh` as Parquet into `dir`.
fn write_parquet_copies(wh: &Warehouse, dir: &Path) {
    for t in Table::ALL {
        let mut df = wh.table(t).clone();
        write_parquet(&mut df, &dir.join(format!("{}.parquet", t.file_stem())));
    }
}

fn write_parquet(df: &mut DataFrame, path: &Path) {
    let f = File::create(path).expect("create parquet");
    ParquetWriter::new(f).finish(df).expect("write parquet");
}

#[test]
fn parquet_column_of_the_wrong_physical_type_is_a_hard_error() {
    let (wh, _) = Export::valid().load_ok();
    let dir = tempfile::tempdir().expect("tempdir");
    write_parquet_copies(&wh, dir.path());
    let mut bad = wh.invoices.clone();
    bad.with_column(Column::new(invoice::AMOUNT.into(), [true, false, true]))
        .expect("replace amount");
    write_parquet(&mut bad, &dir.path().join("fact_invoice.parquet"));
    let err = warehouse::load(dir.path()).expect_err("must fail");
    match &err {
        LoadError::WrongType {
            table,
            column,
            found,
            ..
        } => {
            assert_eq!(*table, Table::Invoice);
            assert_eq!(*column, invoice::AMOUNT);
            assert_eq!(found, "Boolean");
        }
        other => panic!("unexpected error: {other}"),
    }

    // A float column cannot hold a date either.
    let mut bad = wh.customers.clone();
    bad.with_column(Column::new(
        customer::SIGNUP_DATE.into(),
        [1.0f64, 2.0, 3.0],
    ))
    .expect("replace signup_date");
    write_parquet(&mut bad, &dir.path().join("dim_customer.parquet"));
    let err = warehouse::load(dir.path()).expect_err("must fail");
    assert_eq!(err.table(), Some(Table::Customer));
    assert_eq!(err.column(), Some(customer::SIGNUP_DATE));
}

#[test]
fn unreadable_file_is_a_hard_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    Export::valid().write(dir.path());
    let bad = dir.path().join("fact_network_usage.parquet");
    std::fs::write(&bad, b"this is not parquet").expect("write");
    let err = warehouse::load(dir.path()).expect_err("must fail");
    match &err {
        LoadError::Unreadable { table, file, .. } => {
            assert_eq!(*table, Table::NetworkUsage);
            assert_eq!(file, &bad);
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(err.to_string().contains("fact_network_usage.parquet"));
}

#[test]
fn timestamp_formats_give_the_same_instant() {
    let (wh, rep) = Export::valid()
        .set(
            Table::SupportTicket,
            "ticket_id,customer_id,opened_at,resolved_at,category,severity,satisfaction_score\n\
             T1,C1,2024-03-01T10:00:00Z,,billing,low,\n\
             T2,C1,2024-03-01 12:00:00+02:00,,billing,low,\n\
             T3,C1,2024-03-01T10:00:00.000Z,,billing,low,\n\
             T4,C1,1709287200,,billing,low,\n\
             T5,C1,2024-03-01T05:00:00-0500,,billing,low,\n\
             T6,C1,2024-03-01T10:00:00.250,,billing,low,\n",
        )
        .load_ok();
    assert_eq!(rep.total_quarantined(), 0);
    let opened: Vec<Option<i64>> = wh
        .tickets
        .column(ticket::OPENED_AT)
        .expect("opened_at")
        .datetime()
        .expect("datetime")
        .phys
        .iter()
        .collect();
    let ten = NaiveDate::from_ymd_opt(2024, 3, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date")
        .and_utc()
        .timestamp_micros();
    assert_eq!(
        opened,
        [ten, ten, ten, ten, ten, ten + 250_000].map(Some).to_vec()
    );
}

#[test]
fn absent_optional_columns_get_their_defaults() {
    let (wh, rep) = Export::valid()
        .set(
            Table::Invoice,
            "invoice_id,customer_id,invoice_date,amount,due_date,paid_date\n\
             I1,C1,2024-01-01,20,2024-01-15,\n",
        )
        .set(
            Table::NetworkUsage,
            "customer_id,usage_date,data_gb,voice_minutes,dropped_calls,outage_minutes\n\
             C1,2024-01-01,3.5,120,0,0\n",
        )
        .set(
            Table::Customer,
            "customer_id,segment,tier,region,account_manager_id,signup_date,contract_type,contract_end_date,churn_date\n\
             C1,consumer,gold,north,,2023-01-15,one_year,,\n\
             C2,smb,silver,south,,2023-02-01,one_year,,\n\
             C3,smb,silver,south,,2023-02-01,one_year,,\n",
        )
        .load_ok();
    assert_eq!(rep.total_quarantined(), 0);
    let f = |df: &DataFrame, c: &str| -> Vec<Option<f64>> {
        df.column(c)
            .expect("col")
            .f64()
            .expect("f64")
            .iter()
            .collect()
    };
    assert_eq!(f(&wh.invoices, invoice::OVERAGE_AMOUNT), [Some(0.0)]);
    assert_eq!(f(&wh.invoices, invoice::DISCOUNT_AMOUNT), [Some(0.0)]);
    let sms = wh.usage.column(usage::SMS_COUNT).expect("sms");
    assert_eq!(sms.dtype(), &DataType::Int64);
    assert_eq!(sms.null_count(), 1);
    let names = wh.customers.column(customer::NAME).expect("name");
    assert_eq!(names.dtype(), &DataType::String);
    assert_eq!(names.null_count(), 3);
    assert_eq!(
        wh.invoices.get_column_names().len(),
        Table::Invoice.spec().columns.len()
    );
}

#[test]
fn extra_columns_are_ignored_and_order_does_not_matter() {
    let (wh, rep) = Export::valid()
        .set(
            Table::Product,
            "notes,margin_rate,product_id,category,product_name,monthly_price,eligible_segments,data_allowance_gb\n\
             hello,0.4,P1,mobile,Mobile S,20,,10\n\
             ,0.3,P2,broadband,Fibre,45.5,,\n",
        )
        .load_ok();
    assert_eq!(report(&rep, Table::Product).rows_used, 2);
    let names: Vec<&str> = wh
        .products
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(names, Table::Product.spec().column_names());
    assert_eq!(
        strs(&wh.products, "product_id"),
        [Some("P1".to_string()), Some("P2".to_string())]
    );
}

#[test]
fn byte_order_mark_and_windows_line_endings_are_fine() {
    let (wh, rep) = Export::valid()
        .set(
            Table::Product,
            "\u{feff}product_id,product_name,category,monthly_price,margin_rate,data_allowance_gb,eligible_segments\r\n\
             P1,Mobile S,mobile,20,0.4,10,consumer;smb\r\n\
             P2,Fibre,broadband,45.5,0.3,,\r\n",
        )
        .load_ok();
    assert_eq!(rep.total_quarantined(), 0);
    assert_eq!(
        strs(&wh.products, "product_id"),
        [Some("P1".to_string()), Some("P2".to_string())]
    );
    assert_eq!(
        strs(&wh.products, "eligible_segments"),
        [Some("consumer;smb".to_string()), None]
    );
}

#[test]
fn csv_and_parquet_copies_load_to_equal_frames() {
    let export = Export::valid();
    let (from_csv, _) = export.load_ok();

    // Typed copies, as the generator or a warehouse would write them.
    let dir = tempfile::tempdir().expect("tempdir");
    write_parquet_copies(&from_csv, dir.path());
    let (from_parquet, rep) = warehouse::load(dir.path()).expect("parquet loads");
    assert!(rep
        .tables
        .iter()
        .all(|t| t.format == warehouse::Format::Parquet));
    for t in Table::ALL {
        assert!(
            from_csv.table(t).equals_missing(from_parquet.table(t)),
            "{t}: csv {:?}\nparquet {:?}",
            from_csv.table(t),
            from_parquet.table(t)
        );
    }

    // Other natural physical types: narrower ints, ms timestamps in a zone, text columns.
    let mut tickets = from_csv.tickets.clone();
    let opened = tickets
        .column(ticket::OPENED_AT)
        .expect("opened")
        .cast(&DataType::Datetime(
            TimeUnit::Milliseconds,
            Some(TimeZone::UTC),
        ))
        .expect("cast");
    let score = tickets
        .column(ticket::SATISFACTION_SCORE)
        .expect("score")
        .cast(&DataType::Int32)
        .expect("cast");
    tickets.with_column(opened).expect("opened");
    tickets.with_column(score).expect("score");
    write_parquet(
        &mut tickets,
        &dir.path().join("fact_support_ticket.parquet"),
    );
    let mut text_usage = from_csv.usage.clone();
    let as_text: Vec<Column> = text_usage
        .columns()
        .iter()
        .map(|c| c.cast(&DataType::String).expect("to text"))
        .collect();
    text_usage = DataFrame::new(text_usage.height(), as_text).expect("frame");
    write_parquet(
        &mut text_usage,
        &dir.path().join("fact_network_usage.parquet"),
    );
    let (again, _) = warehouse::load(dir.path()).expect("parquet loads");
    assert!(
        from_csv.tickets.equals_missing(&again.tickets),
        "{:?}",
        again.tickets
    );
    assert!(
        from_csv.usage.equals_missing(&again.usage),
        "{:?}",
        again.usage
    );
}

#[test]
fn parquet_is_preferred_when_both_files_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    Export::valid().write(dir.path());
    let (wh, _) = Export::valid().load_ok();
    let mut two = wh.products.head(Some(1));
    write_parquet(&mut two, &dir.path().join("dim_product.parquet"));
    // The CSV still has P2, which the assignments refer to; the Parquet copy does not.
    let (wh, rep) = warehouse::load(dir.path()).expect("loads");
    let tr = report(&rep, Table::Product);
    assert_eq!(tr.format, warehouse::Format::Parquet);
    assert_eq!(wh.products.height(), 1);
    assert_eq!(
        report(&rep, Table::ServiceAssignment).reasons,
        BTreeMap::from([("orphan foreign key".to_string(), 1)])
    );
}

#[test]
fn parquet_bad_rows_are_quarantined_as_text_with_every_file_column() {
    let (wh, _) = Export::valid().load_ok();
    let dir = tempfile::tempdir().expect("tempdir");
    write_parquet_copies(&wh, dir.path());
    let mut inv = df!(
        "note" => ["x", "y"],
        invoice::ID => ["I1", "I9"],
        invoice::CUSTOMER_ID => ["C1", "C2"],
        invoice::INVOICE_DATE => [NaiveDate::from_ymd_opt(2024, 1, 1), NaiveDate::from_ymd_opt(2024, 1, 2)],
        invoice::AMOUNT => [10.0, -2.5],
        invoice::DUE_DATE => [NaiveDate::from_ymd_opt(2024, 1, 15), NaiveDate::from_ymd_opt(2024, 1, 16)],
        invoice::PAID_DATE => [None::<NaiveDate>, None],
    )
    .expect("frame");
    write_parquet(&mut inv, &dir.path().join("fact_invoice.parquet"));
    let (_, rep) = warehouse::load(dir.path()).expect("loads");
    assert_one_quarantined(
        &rep,
        Table::Invoice,
        2,
        "out of range",
        "column `amount`: -2.5 is negative",
    );
    let q = &report(&rep, Table::Invoice).quarantine;
    let names: Vec<&str> = q.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "_source_row",
            "_reason",
            "note",
            "invoice_id",
            "customer_id",
            "invoice_date",
            "amount",
            "due_date",
            "paid_date"
        ]
    );
    assert_eq!(strs(q, "note"), [Some("y".to_string())]);
    assert_eq!(strs(q, "invoice_date"), [Some("2024-01-02".to_string())]);
}

#[test]
fn write_quarantine_writes_original_values_and_reasons() {
    let (_, rep) = Export::valid()
        .append(
            Table::Invoice,
            "I4, C1 ,2024-03-01,\"12,5\",0,0,2024-03-15,",
        )
        .append(
            Table::SupportTicket,
            "T3,C1,2024-03-05T10:00:00Z,,billing,urgent,",
        )
        .load_ok();
    let out = tempfile::tempdir().expect("tempdir");
    // A stale file from an earlier run for a table that is now clean goes away.
    let stale = out.path().join("quarantine").join("dim_product.csv");
    std::fs::create_dir_all(stale.parent().expect("parent")).expect("mkdir");
    std::fs::write(&stale, "old").expect("stale");

    let written = rep.write_quarantine(out.path()).expect("write");
    assert_eq!(
        written,
        [
            out.path().join("quarantine").join("fact_invoice.csv"),
            out.path()
                .join("quarantine")
                .join("fact_support_ticket.csv"),
        ]
    );
    assert!(!stale.exists());
    let text = std::fs::read_to_string(&written[0]).expect("read");
    assert_eq!(
        text,
        "_source_row,_reason,invoice_id,customer_id,invoice_date,amount,overage_amount,discount_amount,due_date,paid_date\n\
         4,\"column `amount`: expected a number, got `12,5`\",I4, C1 ,2024-03-01,\"12,5\",0,0,2024-03-15,\n"
    );
    let text = std::fs::read_to_string(&written[1]).expect("read");
    assert!(
        text.ends_with(
            "3,\"column `severity`: `urgent` is not one of low, medium, high, critical\",T3,C1,2024-03-05T10:00:00Z,,billing,urgent,\n"
        ),
        "{text}"
    );
}

#[test]
fn values_are_trimmed_and_booleans_accept_any_case() {
    let (wh, rep) = Export::valid()
        .append(
            Table::CampaignTarget,
            "K2 , C3 ,upsell, 2024-03-01 ,treatment,TRUE,",
        )
        .append(Table::CampaignTarget, "K3,C3,upsell,2024-03-01,control,0,")
        .load_ok();
    assert_eq!(rep.total_quarantined(), 0);
    assert_eq!(
        strs(&wh.campaigns, campaign::ID),
        ["K1", "K1", "K2", "K3"]
            .map(|s| Some(s.to_string()))
            .to_vec()
    );
    let responded: Vec<Option<bool>> = wh
        .campaigns
        .column(campaign::RESPONDED)
        .expect("responded")
        .bool()
        .expect("bool")
        .iter()
        .collect();
    assert_eq!(responded, [Some(true), None, Some(true), Some(false)]);
}
