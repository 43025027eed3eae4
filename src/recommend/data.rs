//! Plain-Rust views of the warehouse tables the recommender reads: the product catalogue with
//! its eligibility per segment, the customers (index, segment, activity dates), and column
//! readers that turn a polars column into a typed chunked array with a named error.
//!
//! Dates are handled as days since 1970-01-01 (`i32`, the physical value of a polars `Date`).

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::{
    ChunkedArray, Column, DataFrame, Float64Chunked, Int32Chunked, PolarsDataType, PolarsResult,
    StaticArray, StringChunked,
};

use super::RecommendError;
use crate::warehouse::schema::{customer, product};
use crate::warehouse::{Table, Warehouse};

/// Days since 1970-01-01 of a date.
pub fn day(date: NaiveDate) -> i32 {
    crate::features::pit::day_number(date)
}

/// The date `days` days after 1970-01-01.
pub fn date_of(days: i32) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    epoch + chrono::Duration::days(days as i64)
}

/// Column `column` of a `table` frame as the typed array `typed` returns, with the table and
/// column in the error.
fn typed<'a, T: ?Sized>(
    df: &'a DataFrame,
    table: Table,
    column: &'static str,
    typed: impl FnOnce(&'a Column) -> PolarsResult<&'a T>,
) -> Result<&'a T, RecommendError> {
    df.column(column)
        .and_then(typed)
        .map_err(|e| RecommendError::Column {
            table,
            column,
            problem: e.to_string(),
        })
}

pub(crate) fn strs<'a>(
    df: &'a DataFrame,
    table: Table,
    column: &'static str,
) -> Result<&'a StringChunked, RecommendError> {
    typed(df, table, column, |c| c.str())
}

pub(crate) fn floats<'a>(
    df: &'a DataFrame,
    table: Table,
    column: &'static str,
) -> Result<&'a Float64Chunked, RecommendError> {
    typed(df, table, column, |c| c.f64())
}

/// A Date column as its physical days since 1970-01-01.
pub(crate) fn dates<'a>(
    df: &'a DataFrame,
    table: Table,
    column: &'static str,
) -> Result<&'a Int32Chunked, RecommendError> {
    typed(df, table, column, |c| c.date().map(|d| &d.phys))
}

/// Calls `f(row, value)` for every non-null value of a date (or other `i32`) column that
/// `keep` accepts, rows in increasing order: a plain scan of the values, so that the other
/// columns are only read for the rows kept (with [`RowCursor`]s).
pub(crate) fn each_row_where(
    ca: &Int32Chunked,
    keep: impl Fn(i32) -> bool,
    mut f: impl FnMut(usize, i32),
) {
    let mut offset = 0;
    for arr in ca.downcast_iter() {
        let values: &[i32] = arr.values();
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            Some(valid) => {
                for (i, (&x, ok)) in values.iter().zip(valid.iter()).enumerate() {
                    if ok && keep(x) {
                        f(offset + i, x);
                    }
                }
            }
            None => {
                for (i, &x) in values.iter().enumerate() {
                    if keep(x) {
                        f(offset + i, x);
                    }
                }
            }
        }
        offset += values.len();
    }
}

/// Reads a chunked column at increasing row numbers, finding each row's chunk by walking
/// forward (a `ChunkedArray::get` per row searches the chunks every time).
pub(crate) struct RowCursor<'a, T: PolarsDataType> {
    chunks: Vec<(&'a T::Array, usize)>,
    /// Row where chunk `at` starts.
    start: usize,
    at: usize,
}

impl<'a, T: PolarsDataType> RowCursor<'a, T> {
    pub fn new(ca: &'a ChunkedArray<T>) -> Self {
        RowCursor {
            chunks: ca.downcast_iter().zip(ca.chunk_lengths()).collect(),
            start: 0,
            at: 0,
        }
    }

    /// The value at `row` (`None` when null or past the end); `row` must not be smaller than
    /// in the previous call.
    pub fn get(&mut self, row: usize) -> Option<T::Physical<'a>> {
        while let Some(&(arr, len)) = self.chunks.get(self.at) {
            if row < self.start + len {
                return arr.get(row - self.start);
            }
            self.start += len;
            self.at += 1;
        }
        None
    }
}

/// A fast non-cryptographic hasher for id strings (the Fx hash of rustc): ids come from our
/// own warehouse, so hash flooding is not a concern, and SipHash was the largest cost of
/// reading facts at 1M customers.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }
    fn finish(&self) -> u64 {
        // Fx multiplies carry entropy upwards only, and ids differ in their last characters;
        // a final avalanche (murmur3's fmix64) spreads it over the low bits hashbrown indexes by.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A HashMap with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Maps customer ids of a fact table to customer indices. Exports list a customer's rows
/// together and customers in dim_customer order, so the id of the previous row, then the
/// customer after it, are tried before the hash index: most rows cost one short comparison.
pub(crate) struct IdLookup<'c, 'a> {
    customers: &'c Customers<'a>,
    last: Option<usize>,
}

impl<'c, 'a> IdLookup<'c, 'a> {
    pub fn new(customers: &'c Customers<'a>) -> Self {
        IdLookup {
            customers,
            last: None,
        }
    }

    pub fn get(&mut self, id: &str) -> Option<u32> {
        let ids = &self.customers.ids;
        if let (Some(c), true) = (self.last, self.customers.unique) {
            if ids[c] == id {
                return Some(c as u32);
            }
            if ids.get(c + 1).is_some_and(|next| *next == id) {
                self.last = Some(c + 1);
                return Some(c as u32 + 1);
            }
        }
        let found = self.customers.index.get(id).copied();
        if let Some(c) = found {
            self.last = Some(c as usize);
        }
        found
    }
}

/// Product ids to catalogue indices with [`FxHasher`], remembering the previous row's product.
pub(crate) struct ProductLookup<'c> {
    index: FxMap<&'c str, usize>,
    last: Option<(&'c str, Option<usize>)>,
}

impl<'c> ProductLookup<'c> {
    pub fn new(cat: &'c Catalogue) -> Self {
        ProductLookup {
            index: cat.by_id.iter().map(|(k, &v)| (k.as_str(), v)).collect(),
            last: None,
        }
    }

    pub fn get<'r>(&mut self, id: &'r str) -> Option<usize>
    where
        'r: 'c,
    {
        if let Some((last, found)) = self.last {
            if last == id {
                return found;
            }
        }
        let found = self.index.get(id).copied();
        self.last = Some((id, found));
        found
    }
}

/// One product of dim_product.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    pub category: String,
    pub monthly_price: f64,
    pub margin_rate: f64,
    /// `None`: not a data plan, or unlimited (see [`Catalogue::is_plan`]).
    pub data_allowance_gb: Option<f64>,
    /// `None`: every segment may buy it.
    pub eligible_segments: Option<Vec<String>>,
}

impl Product {
    /// monthly_price × margin_rate.
    pub fn monthly_margin(&self) -> f64 {
        self.monthly_price * self.margin_rate
    }

    pub fn eligible_for(&self, segment: &str) -> bool {
        match &self.eligible_segments {
            None => true,
            Some(list) => list.iter().any(|s| s == segment),
        }
    }
}

/// The catalogue: products in dim_product order, their index by id, categories interned.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Catalogue {
    pub products: Vec<Product>,
    pub by_id: HashMap<String, usize>,
    /// Category index of every product.
    pub category_of: Vec<usize>,
    pub categories: Vec<String>,
    /// Categories holding at least one product with a data allowance: their products are data
    /// plans, and a null allowance in them means unlimited.
    pub plan_categories: Vec<bool>,
}

impl Catalogue {
    pub fn from_warehouse(wh: &Warehouse) -> Result<Self, RecommendError> {
        let df = &wh.products;
        let t = Table::Product;
        let ids = strs(df, t, product::ID)?;
        let names = strs(df, t, product::NAME)?;
        let cats = strs(df, t, product::CATEGORY)?;
        let prices = floats(df, t, product::MONTHLY_PRICE)?;
        let margins = floats(df, t, product::MARGIN_RATE)?;
        let allowances = floats(df, t, product::DATA_ALLOWANCE_GB)?;
        let eligible = strs(df, t, product::ELIGIBLE_SEGMENTS)?;
        let mut products = Vec::with_capacity(df.height());
        let mut by_id = HashMap::new();
        let mut categories: Vec<String> = Vec::new();
        let mut category_of = Vec::with_capacity(df.height());
        for row in 0..df.height() {
            let id = ids.get(row).unwrap_or_default().to_string();
            let category = cats.get(row).unwrap_or_default().to_string();
            let cat_index = match categories.iter().position(|c| *c == category) {
                Some(i) => i,
                None => {
                    categories.push(category.clone());
                    categories.len() - 1
                }
            };
            let eligible_segments = eligible.get(row).map(|s| {
                s.split(';')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
            });
            by_id.insert(id.clone(), products.len());
            category_of.push(cat_index);
            products.push(Product {
                id,
                name: names.get(row).unwrap_or_default().to_string(),
                category,
                monthly_price: prices.get(row).unwrap_or(0.0),
                margin_rate: margins.get(row).unwrap_or(0.0),
                data_allowance_gb: allowances.get(row),
                eligible_segments,
            });
        }
        let mut plan_categories = vec![false; categories.len()];
        for (i, p) in products.iter().enumerate() {
            if p.data_allowance_gb.is_some() {
                plan_categories[category_of[i]] = true;
            }
        }
        Ok(Catalogue {
            products,
            by_id,
            category_of,
            categories,
            plan_categories,
        })
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Whether product `p` is a data plan (its category has data allowances).
    pub fn is_plan(&self, p: usize) -> bool {
        self.plan_categories[self.category_of[p]]
    }

    /// The allowance of a data plan: `f64::INFINITY` for unlimited (null in a plan category).
    pub fn allowance(&self, p: usize) -> f64 {
        self.products[p].data_allowance_gb.unwrap_or(f64::INFINITY)
    }
}

/// Customers of dim_customer: index by id, segment index, signup and churn days. Ids borrow
/// the warehouse's string column (no per-customer allocation at 1M customers).
#[derive(Debug, Clone)]
pub struct Customers<'a> {
    pub ids: Vec<&'a str>,
    pub index: FxMap<&'a str, u32>,
    pub segment: Vec<u16>,
    pub segments: Vec<String>,
    pub signup: Vec<i32>,
    pub churn: Vec<Option<i32>>,
    /// No id appears twice (always so in a validated warehouse); [`IdLookup`] relies on it
    /// to try neighbouring rows first.
    pub unique: bool,
}

impl<'a> Customers<'a> {
    pub fn from_warehouse(wh: &'a Warehouse) -> Result<Self, RecommendError> {
        let df = &wh.customers;
        let t = Table::Customer;
        let ids_col = strs(df, t, customer::ID)?;
        let seg_col = strs(df, t, customer::SEGMENT)?;
        let signup_col = dates(df, t, customer::SIGNUP_DATE)?;
        let churn_col = dates(df, t, customer::CHURN_DATE)?;
        let n = df.height();
        let mut ids = Vec::with_capacity(n);
        let mut index = FxMap::with_capacity_and_hasher(n, Default::default());
        let mut segment = Vec::with_capacity(n);
        let mut segments: Vec<String> = Vec::new();
        // A handful of segments: a linear search beats hashing, and runs of one segment cost
        // one comparison.
        let mut last: Option<(&str, u16)> = None;
        let mut unique = true;
        for (row, (id, seg)) in ids_col.iter().zip(seg_col.iter()).enumerate() {
            let id = id.unwrap_or_default();
            let seg = seg.unwrap_or_default();
            let s = match last {
                Some((l, s)) if l == seg => s,
                _ => {
                    let s = match segments.iter().position(|x| x == seg) {
                        Some(s) => s as u16,
                        None => {
                            segments.push(seg.to_string());
                            (segments.len() - 1) as u16
                        }
                    };
                    last = Some((seg, s));
                    s
                }
            };
            unique &= index.insert(id, row as u32).is_none();
            ids.push(id);
            segment.push(s);
        }
        let signup = signup_col.iter().map(|d| d.unwrap_or(i32::MAX)).collect();
        let churn = churn_col.iter().collect();
        Ok(Customers {
            ids,
            index,
            segment,
            segments,
            signup,
            churn,
            unique,
        })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Active at day `d`: signed up on or before it, not churned on or before it.
    pub fn active_at(&self, c: usize, d: i32) -> bool {
        self.signup[c] <= d && self.churn[c].is_none_or(|x| x > d)
    }
}

/// Per-segment eligibility: `eligible[segment][product]`.
pub fn eligibility(cat: &Catalogue, customers: &Customers) -> Vec<Vec<bool>> {
    customers
        .segments
        .iter()
        .map(|s| cat.products.iter().map(|p| p.eligible_for(s)).collect())
        .collect()
}
