//! Row-level validation: which rows break the contract, and why (the first problem, columns in
//! schema order), and which rows repeat a primary key.
//!
//! Everything here works on whole columns: each check yields a boolean mask (kept only when at
//! least one row is flagged), masks are combined, and row numbers are materialised only for the
//! rows that fail. Duplicate keys are found with polars' `is_duplicated`; only the rows whose
//! key repeats are grouped and compared value by value.

use polars::prelude::*;
use rayon::slice::ParallelSliceMut;

use super::parse::Parsed;
use super::schema::{Check, ColumnSpec, Kind, Table};

/// What is wrong with a row (its first problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The file had a value that is not a valid value of the column's kind.
    Unparseable,
    /// A non-nullable column is empty.
    Missing,
    /// The value parsed but breaks the column's [`Check`].
    OutOfRange,
    /// A foreign key whose value is not a key of a used row of this table.
    Orphan(Table),
    /// Same primary key as an earlier used row (0-based row `first`), other values differ.
    Conflict { first: IdxSize },
}

impl Problem {
    /// The reason kind counted in [`super::TableReport::reasons`].
    pub fn label(self) -> &'static str {
        match self {
            Problem::Unparseable => "unparseable value",
            Problem::Missing => "missing required value",
            Problem::OutOfRange => "out of range",
            Problem::Orphan(_) => "orphan foreign key",
            Problem::Conflict { .. } => "conflicting duplicate key",
        }
    }
}

/// A quarantined row: its 0-based row number, the contract column (schema index) its problem is
/// in (`None` for a conflicting key), and the problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowProblem {
    pub row: IdxSize,
    pub column: Option<usize>,
    pub problem: Problem,
}

/// The rows of a table that have a problem.
pub(crate) struct Judged {
    /// The first problem of each such row, sorted by row.
    pub problems: Vec<RowProblem>,
    /// Those rows as a mask (`None`: no row has a problem).
    pub bad: Option<BooleanChunked>,
}

/// Rows flagged in one contract column, one mask per kind of problem (`None`: no row flagged).
#[derive(Default, Clone)]
pub(crate) struct ColumnFlags {
    pub unparseable: Option<BooleanChunked>,
    pub missing: Option<BooleanChunked>,
    pub out_of_range: Option<BooleanChunked>,
    pub orphan: Option<(BooleanChunked, Table)>,
}

impl ColumnFlags {
    /// The masks in the order their problems are reported.
    fn in_order(&self) -> impl Iterator<Item = (&BooleanChunked, Problem)> {
        [
            self.unparseable.as_ref().map(|m| (m, Problem::Unparseable)),
            self.missing.as_ref().map(|m| (m, Problem::Missing)),
            self.out_of_range.as_ref().map(|m| (m, Problem::OutOfRange)),
            self.orphan.as_ref().map(|(m, t)| (m, Problem::Orphan(*t))),
        ]
        .into_iter()
        .flatten()
    }
}

/// A mask with nulls read as false, or `None` when no row is flagged.
fn flagged(mask: BooleanChunked) -> PolarsResult<Option<BooleanChunked>> {
    let mask = if mask.null_count() > 0 {
        mask.fill_null_with_values(false)?
    } else {
        mask
    };
    Ok(mask.any().then_some(mask))
}

/// The value-level flags of one column: unparseable, missing required, breaking its check.
pub(crate) fn value_flags(spec: &ColumnSpec, parsed: &Parsed) -> PolarsResult<ColumnFlags> {
    let unparseable = flagged(parsed.unparseable())?;
    let missing = if spec.nullable {
        None
    } else {
        flagged(!&parsed.present)?
    };
    let out_of_range = out_of_range(&parsed.series, spec)?;
    Ok(ColumnFlags {
        unparseable,
        missing,
        out_of_range,
        orphan: None,
    })
}

/// Rows whose (parsed, non-null) value breaks the column's check. Comparisons are polars'
/// vectorised kernels (a null compares as null, read as "not flagged").
fn out_of_range(s: &Series, spec: &ColumnSpec) -> PolarsResult<Option<BooleanChunked>> {
    let mask: BooleanChunked = match (spec.check, spec.kind) {
        (Check::NonNegative, Kind::Float) => s.f64()?.lt(0.0),
        (Check::NonNegative, Kind::Int) => s.i64()?.lt(0),
        (Check::Range(lo, hi), Kind::Float) => {
            let ca = s.f64()?;
            &ca.lt(lo) | &ca.gt(hi)
        }
        (Check::Range(lo, hi), Kind::Int) => {
            // For a whole number v: v < lo ⇔ v < ⌈lo⌉ and v > hi ⇔ v > ⌊hi⌋.
            let ca = s.i64()?;
            &ca.lt(lo.ceil() as i64) | &ca.gt(hi.floor() as i64)
        }
        (Check::OneOf(allowed), Kind::Str) => s
            .str()?
            .iter()
            .map(|v| v.is_some_and(|v| !allowed.contains(&v)))
            .collect(),
        // Empty text is null after parsing, so `NonEmpty` is enforced as "not null" for
        // required columns; `Any` has nothing to check.
        _ => return Ok(None),
    };
    flagged(mask)
}

/// The used keys of a dimension, for checking foreign keys against.
pub(crate) fn key_set(keys: &StringChunked) -> PlHashSet<&str> {
    let mut set = PlHashSet::with_capacity(keys.len());
    set.extend(keys.iter().flatten());
    set
}

/// Rows whose non-null `values` are not among `keys` (the used keys of the referenced table).
/// Consecutive equal values (a fact table grouped by customer) are looked up once, and the
/// mask is only built when some value is an orphan.
pub(crate) fn orphans<'a>(
    values: &'a StringChunked,
    keys: &PlHashSet<&str>,
) -> Option<BooleanChunked> {
    let mut last: Option<(&'a str, bool)> = None;
    let mut orphan = |v: Option<&'a str>| -> bool {
        let Some(v) = v else { return false };
        if let Some((prev, known)) = last {
            if prev == v {
                return !known;
            }
        }
        let known = keys.contains(v);
        last = Some((v, known));
        !known
    };
    let any = if values.null_count() == 0 {
        values
            .downcast_iter()
            .any(|arr| arr.values_iter().any(|v| orphan(Some(v))))
    } else {
        values.iter().any(&mut orphan)
    };
    if !any {
        return None;
    }
    let mask: BooleanChunked = values.iter().map(orphan).collect();
    Some(mask)
}

/// The first problem of every row that has one (columns in schema order, and within a column
/// unparseable, missing, out of range, orphan), sorted by row; plus the mask of those rows.
pub(crate) fn first_problems(flags: &[ColumnFlags]) -> PolarsResult<Judged> {
    let mut taken: Option<BooleanChunked> = None;
    let mut out = Vec::new();
    for (column, f) in flags.iter().enumerate() {
        for (mask, problem) in f.in_order() {
            let new = match &taken {
                Some(t) => flagged(mask & &!t)?,
                None => Some(mask.clone()),
            };
            let Some(new) = new else { continue };
            out.extend(true_rows(&new).map(|row| RowProblem {
                row,
                column: Some(column),
                problem,
            }));
            taken = Some(match taken {
                Some(t) => &t | &new,
                None => new,
            });
        }
    }
    out.sort_unstable_by_key(|p| p.row);
    Ok(Judged {
        problems: out,
        bad: taken,
    })
}

/// Row numbers where a null-free mask is true.
pub(crate) fn true_rows(mask: &BooleanChunked) -> impl Iterator<Item = IdxSize> + '_ {
    mask.iter()
        .enumerate()
        .filter_map(|(i, v)| (v == Some(true)).then_some(i as IdxSize))
}

/// Rows that repeat the primary key of an earlier row (0-based, in file order).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Duplicates {
    /// Rows equal in every column to the first row with their key.
    pub collapsed: Vec<IdxSize>,
    /// `(row, first)`: rows whose key is that of the earlier row `first`, other values differ.
    pub conflicts: Vec<(IdxSize, IdxSize)>,
}

/// Finds repeated primary keys among the rows not in `bad`. The first occurrence of a key (in
/// file order) wins; a later row is a collapsed duplicate when every column equals that first
/// row (nulls equal nulls), otherwise a conflict.
///
/// Cheap checks come first, because a large clean table has no repeated key: keys that strictly
/// increase in file order cannot repeat; otherwise rows are hashed on their key and only rows
/// whose hash repeats are compared exactly.
pub(crate) fn duplicates(
    frame: &DataFrame,
    key: &[&str],
    bad: Option<&BooleanChunked>,
) -> PolarsResult<Duplicates> {
    // Candidate rows, as original row numbers (None: every row).
    let candidates: Option<Vec<IdxSize>> = bad.map(|b| true_rows(&!b).collect());
    let keys = frame.select(key.iter().copied())?;
    let keys = match &candidates {
        Some(c) => keys.take(&IdxCa::from_vec("".into(), c.clone()))?,
        None => keys,
    };
    if keys.height() < 2 || strictly_increasing(&keys)? == Some(true) {
        return Ok(Duplicates::default());
    }
    // Candidate positions that may repeat a key, in file order.
    let suspects: Option<Vec<IdxSize>> = hash_suspects(&keys)?;
    let (keys, suspects) = match suspects {
        Some(s) if s.is_empty() => return Ok(Duplicates::default()),
        Some(s) => (keys.take(&IdxCa::from_vec("".into(), s.clone()))?, Some(s)),
        None => (keys, None),
    };
    let dup = keys.is_duplicated()?;
    if !dup.any() {
        return Ok(Duplicates::default());
    }
    // Original row numbers of the rows whose key repeats, in file order.
    let rows: Vec<IdxSize> = true_rows(&dup)
        .map(|i| suspects.as_ref().map_or(i, |s| s[i as usize]))
        .map(|i| candidates.as_ref().map_or(i, |c| c[i as usize]))
        .collect();
    let sub = frame.take(&IdxCa::from_vec("".into(), rows.clone()))?;

    // For each row of `sub`, the position in `sub` of the first row with its key.
    let mut first_of: Vec<IdxSize> = (0..sub.height() as IdxSize).collect();
    let gb = sub.group_by_stable(key.iter().copied())?;
    for g in gb.get_groups().iter() {
        match g {
            GroupsIndicator::Idx((first, members)) => {
                for &m in members.iter() {
                    first_of[m as usize] = first;
                }
            }
            GroupsIndicator::Slice([first, len]) => {
                for m in first..first + len {
                    first_of[m as usize] = first;
                }
            }
        }
    }
    let firsts = sub.take(&IdxCa::from_vec("".into(), first_of.clone()))?;
    let mut same = BooleanChunked::full("".into(), true, sub.height());
    for (a, b) in sub.columns().iter().zip(firsts.columns()) {
        let eq = a
            .as_materialized_series()
            .equal_missing(b.as_materialized_series())?;
        same = &same & &eq.fill_null_with_values(false)?;
    }

    let mut out = Duplicates::default();
    for (i, (&first, eq)) in first_of.iter().zip(same.iter()).enumerate() {
        if first as usize == i {
            continue;
        }
        if eq == Some(true) {
            out.collapsed.push(rows[i]);
        } else {
            out.conflicts.push((rows[i], rows[first as usize]));
        }
    }
    Ok(out)
}

/// Whether the key tuples strictly increase from row to row (then no key repeats); `None` when
/// a key column has a dtype this check does not handle.
fn strictly_increasing(keys: &DataFrame) -> PolarsResult<Option<bool>> {
    // Per column, for each row after the first: the ordering of the previous value to this one.
    let mut orders: Vec<Vec<std::cmp::Ordering>> = Vec::with_capacity(keys.width());
    for c in keys.columns() {
        let o = match c.dtype() {
            DataType::String => adjacent_orders(c.str()?.iter()),
            DataType::Date => adjacent_orders(c.date()?.phys.iter()),
            DataType::Int64 => adjacent_orders(c.i64()?.iter()),
            DataType::Datetime(..) => adjacent_orders(c.datetime()?.phys.iter()),
            _ => return Ok(None),
        };
        orders.push(o);
    }
    let n = keys.height().saturating_sub(1);
    let increasing = (0..n).all(|i| {
        orders
            .iter()
            .map(|o| o[i])
            .find(|o| o.is_ne())
            .is_some_and(std::cmp::Ordering::is_lt)
    });
    Ok(Some(increasing))
}

/// `prev.cmp(current)` for every value after the first (nulls sort first).
fn adjacent_orders<T: Ord>(mut values: impl Iterator<Item = Option<T>>) -> Vec<std::cmp::Ordering> {
    let Some(mut prev) = values.next() else {
        return Vec::new();
    };
    values
        .map(|v| {
            let o = prev.cmp(&v);
            prev = v;
            o
        })
        .collect()
}

/// Positions of the rows whose key hash is shared with another row (a superset of the rows
/// whose key repeats), in order; `None` when a key column has a dtype this does not hash.
fn hash_suspects(keys: &DataFrame) -> PolarsResult<Option<Vec<IdxSize>>> {
    let state = PlSeedableRandomStateQuality::seed_from_u64(0x6b65_7973);
    let mut hashes: Vec<u64> = Vec::with_capacity(keys.height());
    for (i, c) in keys.columns().iter().enumerate() {
        let combine = i > 0;
        macro_rules! hash {
            ($ca:expr) => {
                if combine {
                    $ca.vec_hash_combine(state.clone(), &mut hashes)?
                } else {
                    $ca.vec_hash(state.clone(), &mut hashes)?
                }
            };
        }
        match c.dtype() {
            DataType::String => hash!(c.str()?),
            DataType::Date => hash!(&c.date()?.phys),
            DataType::Int64 => hash!(c.i64()?),
            DataType::Datetime(..) => hash!(&c.datetime()?.phys),
            _ => return Ok(None),
        }
    }
    let mut sorted = hashes.clone();
    sorted.par_sort_unstable();
    let shared: PlHashSet<u64> = sorted
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(sorted);
    if shared.is_empty() {
        return Ok(Some(Vec::new()));
    }
    Ok(Some(
        hashes
            .iter()
            .enumerate()
            .filter(|(_, h)| shared.contains(*h))
            .map(|(i, _)| i as IdxSize)
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "id" => ["a", "b", "a", "c", "a", "b"],
            "v" => [Some(1.0), None, Some(1.0), Some(3.0), Some(2.0), None],
        )
        .expect("frame")
    }

    #[test]
    fn first_occurrence_wins_copies_collapse_and_conflicts_point_at_it() {
        let d = duplicates(&frame(), &["id"], None).expect("dups");
        assert_eq!(
            d,
            Duplicates {
                collapsed: vec![2, 5],
                conflicts: vec![(4, 0)],
            }
        );
    }

    #[test]
    fn bad_rows_take_no_part_in_key_matching() {
        // Row 0 is bad: the first valid "a" is row 2, so row 4 conflicts with row 2.
        let bad = BooleanChunked::new("".into(), [true, false, false, false, false, false]);
        let d = duplicates(&frame(), &["id"], Some(&bad)).expect("dups");
        assert_eq!(
            d,
            Duplicates {
                collapsed: vec![5],
                conflicts: vec![(4, 2)],
            }
        );
    }

    #[test]
    fn first_problem_follows_schema_order() {
        let m = |v: [bool; 3]| Some(BooleanChunked::new("".into(), v));
        let flags = vec![
            ColumnFlags {
                missing: m([false, true, false]),
                ..Default::default()
            },
            ColumnFlags {
                unparseable: m([true, true, false]),
                ..Default::default()
            },
        ];
        let Judged { problems, bad } = first_problems(&flags).expect("problems");
        let got: Vec<_> = problems
            .iter()
            .map(|p| (p.row, p.column, p.problem))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, Some(1), Problem::Unparseable),
                (1, Some(0), Problem::Missing)
            ]
        );
        let bad: Vec<_> = bad.expect("some bad").iter().collect();
        assert_eq!(bad, [Some(true), Some(true), Some(false)]);
    }

    #[test]
    fn orphans_ignore_nulls_and_repeat_lookups_give_the_same_answer() {
        let values = StringChunked::new(
            "fk".into(),
            [Some("x"), Some("x"), None, Some("z"), Some("z"), Some("x")],
        );
        let keys = StringChunked::new("k".into(), ["x", "y"]);
        let m = orphans(&values, &key_set(&keys)).expect("two orphans");
        let got: Vec<_> = m.iter().map(|v| v == Some(true)).collect();
        assert_eq!(got, [false, false, false, true, true, false]);
    }

    #[test]
    fn sorted_keys_skip_the_search_and_unsorted_ones_are_searched() {
        let sorted = df!("a" => ["x", "x", "y"], "d" => [1i64, 2, 1]).expect("df");
        assert_eq!(strictly_increasing(&sorted).expect("ok"), Some(true));
        let repeated = df!("a" => ["x", "x", "y"], "d" => [1i64, 1, 1]).expect("df");
        assert_eq!(strictly_increasing(&repeated).expect("ok"), Some(false));
        let unsorted = df!("a" => ["y", "x", "z", "x"], "d" => [1i64, 1, 1, 1]).expect("df");
        assert_eq!(strictly_increasing(&unsorted).expect("ok"), Some(false));
        let d = duplicates(&unsorted, &["a", "d"], None).expect("dups");
        assert_eq!(d.collapsed, vec![3]);
        assert_eq!(
            hash_suspects(&unsorted).expect("ok"),
            Some(vec![1, 3]),
            "only the two rows sharing a key hash"
        );
    }
}
