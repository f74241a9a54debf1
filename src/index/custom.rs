//! Custom (and embedded) metadata in the index: one column per field name, holding
//! (row, scalar) entries in row order — a MultiSelect row once per selected option. Entries
//! present at the last re-sort are also in value order (`order`: numbers, then texts by
//! bytes, then booleans), so equality, ranges and prefixes are binary searches that touch only
//! the matching entries; entries appended since (the delta) and the tests an order cannot
//! answer (`HAS`, `EXISTS`) are scanned, with each distinct text tested once.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::bits::Bits;
use crate::model::search::custom::{is_instant, scalars};
use crate::model::search::{CustomScalar, CustomTest};

#[derive(Debug, Clone, Copy)]
enum Cell {
    Text(u32),
    Number(f64),
    Bool(bool),
}

#[derive(Default)]
pub struct CustomColumn {
    rows: Vec<u32>,
    cells: Vec<Cell>,
    texts: Vec<Box<str>>,
    text_ids: HashMap<Box<str>, u32>,
    /// Entries `0..sorted` in value order, and their rows in the same order (read in
    /// sequence when a range of the order matches, instead of one random access each).
    order: Vec<u32>,
    order_rows: Vec<u32>,
    sorted: usize,
    /// Whether every text is an instant (a Date field's always are), so that a range against
    /// an instant needs no per-entry shape check.
    all_instants: bool,
}

/// Numbers sort before texts before booleans; a test only ever matches its own kind.
fn rank(cell: &Cell) -> u8 {
    match cell {
        Cell::Number(_) => 0,
        Cell::Text(_) => 1,
        Cell::Bool(_) => 2,
    }
}

fn scalar_rank(value: &CustomScalar) -> u8 {
    match value {
        CustomScalar::Number(_) => 0,
        CustomScalar::Text(_) | CustomScalar::Instant(_) => 1,
        CustomScalar::Bool(_) => 2,
    }
}

impl CustomColumn {
    fn push(&mut self, row: u32, value: &CustomScalar) {
        let cell = match value {
            CustomScalar::Text(t) | CustomScalar::Instant(t) => Cell::Text(self.intern(t)),
            CustomScalar::Number(n) => Cell::Number(*n),
            CustomScalar::Bool(b) => Cell::Bool(*b),
        };
        self.rows.push(row);
        self.cells.push(cell);
    }

    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.text_ids.get(text) {
            return id;
        }
        if self.texts.is_empty() {
            self.all_instants = true;
        }
        self.all_instants &= is_instant(text);
        let id = self.texts.len() as u32;
        self.texts.push(text.into());
        self.text_ids.insert(text.into(), id);
        id
    }

    fn compare_cell(&self, cell: &Cell, value: &CustomScalar) -> Ordering {
        match (cell, value) {
            (Cell::Number(a), CustomScalar::Number(b)) => {
                a.partial_cmp(b).unwrap_or(Ordering::Equal)
            }
            (Cell::Text(id), CustomScalar::Text(b) | CustomScalar::Instant(b)) => {
                self.texts[*id as usize].as_bytes().cmp(b.as_bytes())
            }
            (Cell::Bool(a), CustomScalar::Bool(b)) => a.cmp(b),
            _ => rank(cell).cmp(&scalar_rank(value)),
        }
    }

    fn compare_entries(&self, a: u32, b: u32) -> Ordering {
        let (x, y) = (&self.cells[a as usize], &self.cells[b as usize]);
        match (x, y) {
            (Cell::Number(p), Cell::Number(q)) => p.partial_cmp(q).unwrap_or(Ordering::Equal),
            (Cell::Text(p), Cell::Text(q)) => self.texts[*p as usize]
                .as_bytes()
                .cmp(self.texts[*q as usize].as_bytes()),
            (Cell::Bool(p), Cell::Bool(q)) => p.cmp(q),
            _ => rank(x).cmp(&rank(y)),
        }
    }

    /// The value order of the entries of rows below `rows`, computed without changing
    /// anything (under a shared lock).
    fn sorted_order(&self, rows: usize) -> ColumnOrder {
        let covered = self.rows.partition_point(|&r| (r as usize) < rows);
        let mut order: Vec<u32> = (0..covered as u32).collect();
        order.sort_unstable_by(|&a, &b| self.compare_entries(a, b));
        let order_rows = order.iter().map(|&e| self.rows[e as usize]).collect();
        ColumnOrder {
            order,
            order_rows,
            sorted: covered,
        }
    }

    /// The positions in `order` of the sorted entries of `value`'s kind comparing with it
    /// as asked: below it (`below`), equal to it (`equal`), or above it (neither).
    fn sorted_range(&self, value: &CustomScalar, below: bool, equal: bool) -> (usize, usize) {
        let cmp = |&e: &u32| self.compare_cell(&self.cells[e as usize], value);
        let kind = scalar_rank(value);
        let kind_start = self
            .order
            .partition_point(|&e| rank(&self.cells[e as usize]) < kind);
        let kind_end = self
            .order
            .partition_point(|&e| rank(&self.cells[e as usize]) <= kind);
        let less = self.order.partition_point(|e| cmp(e) == Ordering::Less);
        let not_greater = self.order.partition_point(|e| cmp(e) != Ordering::Greater);
        match (below, equal) {
            (true, false) => (kind_start, less),
            (true, true) => (kind_start, not_greater),
            (false, true) => (less, not_greater),
            (false, false) => (not_greater, kind_end),
        }
    }

    fn set_sorted(&self, (start, end): (usize, usize), bits: &mut Bits) {
        for &row in self.order_rows.get(start..end).unwrap_or_default() {
            bits.set(row);
        }
    }

    /// Sets the bit of every row with a value passing `test`.
    pub fn matching(&self, test: &CustomTest, bits: &mut Bits) {
        use crate::model::search::Comparison;
        let ordered = match test {
            CustomTest::AnyOf(values) => {
                for value in values {
                    self.set_sorted(self.sorted_range(value, false, true), bits);
                }
                true
            }
            CustomTest::Compare(cmp, bound) => {
                let range = match cmp {
                    Comparison::Eq => self.sorted_range(bound, false, true),
                    Comparison::Lt => self.sorted_range(bound, true, false),
                    Comparison::Le => self.sorted_range(bound, true, true),
                    Comparison::Gt => self.sorted_range(bound, false, false),
                    Comparison::Ge => {
                        let (start, _) = self.sorted_range(bound, false, true);
                        let (_, end) = self.sorted_range(bound, false, false);
                        (start, end)
                    }
                };
                if matches!(bound, CustomScalar::Instant(_)) && !self.all_instants {
                    // Only texts shaped like instants are ordered against an instant.
                    for &e in self.order.get(range.0..range.1).unwrap_or_default() {
                        if let Cell::Text(id) = self.cells[e as usize]
                            && is_instant(&self.texts[id as usize])
                        {
                            bits.set(self.rows[e as usize]);
                        }
                    }
                } else {
                    self.set_sorted(range, bits);
                }
                true
            }
            CustomTest::Prefix(prefix) => {
                // Texts starting with the prefix follow it directly in byte order.
                let probe = CustomScalar::Text(prefix.clone());
                let (start, _) = self.sorted_range(&probe, false, true);
                let rest = self.order.get(start..).unwrap_or_default();
                let len = rest.partition_point(|&e| match self.cells[e as usize] {
                    Cell::Text(id) => self.texts[id as usize].starts_with(prefix.as_str()),
                    _ => false,
                });
                self.set_sorted((start, start + len), bits);
                true
            }
            CustomTest::Words(_) | CustomTest::Exists => false,
        };
        let first = if ordered { self.sorted } else { 0 };
        self.scan(test, first, bits);
    }

    /// Tests entries `first..` one by one.
    fn scan(&self, test: &CustomTest, first: usize, bits: &mut Bits) {
        if first >= self.cells.len() {
            return;
        }
        let text_passes: Vec<bool> = self.texts.iter().map(|t| test.holds_for_text(t)).collect();
        let entries = self.rows.iter().zip(&self.cells).skip(first);
        for (&row, cell) in entries {
            let passes = match *cell {
                Cell::Text(id) => text_passes[id as usize],
                Cell::Number(n) => test.holds_for_number(n),
                Cell::Bool(b) => test.holds_for_bool(b),
            };
            if passes {
                bits.set(row);
            }
        }
    }

    /// The column with dead rows dropped and live ones renumbered by `new_row`.
    fn remapped(&self, new_row: &[u32]) -> CustomColumn {
        let mut fresh = CustomColumn::default();
        for (&row, cell) in self.rows.iter().zip(&self.cells) {
            let mapped = new_row[row as usize];
            if mapped == u32::MAX {
                continue;
            }
            let value = match *cell {
                Cell::Text(id) => CustomScalar::Text(self.texts[id as usize].to_string()),
                Cell::Number(n) => CustomScalar::Number(n),
                Cell::Bool(b) => CustomScalar::Bool(b),
            };
            fresh.push(mapped, &value);
        }
        fresh
    }

    fn shrink(&mut self) {
        self.order.shrink_to_fit();
        self.order_rows.shrink_to_fit();
        self.rows.shrink_to_fit();
        self.cells.shrink_to_fit();
        self.texts.shrink_to_fit();
        self.text_ids.shrink_to_fit();
    }
}

/// Every field's column, by field name.
#[derive(Default)]
pub struct CustomColumns {
    by_name: HashMap<Box<str>, CustomColumn>,
}

impl CustomColumns {
    pub fn push(&mut self, row: u32, values: &Map<String, Value>) {
        for (name, value) in values {
            let column = match self.by_name.get_mut(name.as_str()) {
                Some(column) => column,
                None => self.by_name.entry(name.as_str().into()).or_default(),
            };
            for scalar in scalars(value) {
                column.push(row, &scalar);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&CustomColumn> {
        self.by_name.get(name)
    }

    /// `new_row[old]` is the row's number after compaction, `u32::MAX` for a dead row.
    pub fn remapped(&self, new_row: &[u32]) -> CustomColumns {
        CustomColumns {
            by_name: self
                .by_name
                .iter()
                .map(|(name, column)| (name.clone(), column.remapped(new_row)))
                .filter(|(_, column)| !column.rows.is_empty())
                .collect(),
        }
    }

    pub fn shrink(&mut self) {
        for column in self.by_name.values_mut() {
            column.shrink();
        }
    }

    /// Every column's value order over the entries of rows below `rows`.
    pub fn sorted_orders(&self, rows: usize) -> ColumnOrders {
        ColumnOrders(
            self.by_name
                .iter()
                .map(|(name, column)| (name.clone(), column.sorted_order(rows)))
                .collect(),
        )
    }

    /// Puts orders computed by `sorted_orders` in place; entries appended since stay in the
    /// delta.
    pub fn install_orders(&mut self, orders: ColumnOrders) {
        for (name, computed) in orders.0 {
            if let Some(column) = self.by_name.get_mut(&name) {
                column.order = computed.order;
                column.order_rows = computed.order_rows;
                column.sorted = computed.sorted;
            }
        }
    }
}

/// One column's value order and how many of its entries it covers.
pub struct ColumnOrder {
    order: Vec<u32>,
    order_rows: Vec<u32>,
    sorted: usize,
}

/// Value orders computed apart from installing them.
#[derive(Default)]
pub struct ColumnOrders(Vec<(Box<str>, ColumnOrder)>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::search::Comparison;

    fn column(values: &[CustomScalar], sorted_rows: usize) -> CustomColumn {
        let mut c = CustomColumn::default();
        for (row, v) in values.iter().enumerate() {
            c.push(row as u32, v);
        }
        let computed = c.sorted_order(sorted_rows);
        c.order = computed.order;
        c.order_rows = computed.order_rows;
        c.sorted = computed.sorted;
        c
    }

    fn rows(c: &CustomColumn, test: &CustomTest, len: usize) -> Vec<u32> {
        let mut bits = Bits::empty(len);
        c.matching(test, &mut bits);
        bits.ones().collect()
    }

    #[test]
    fn ordered_and_scanned_answers_agree() {
        let text = |t: &str| CustomScalar::Text(t.into());
        let values = [
            text("2023-11-14T22:13:20.000Z"),
            CustomScalar::Number(3.0),
            text("9999-12-31T23:59:59.999Z"),
            text("Canon"),
            CustomScalar::Bool(true),
            CustomScalar::Number(-1.0),
            text("2024-01-02T00:00:00.000Z"),
        ];
        let instant = CustomScalar::Instant("2024-01-02T00:00:00.000Z".into());
        let tests = [
            CustomTest::Compare(Comparison::Ge, instant.clone()),
            CustomTest::Compare(Comparison::Gt, instant.clone()),
            CustomTest::Compare(Comparison::Lt, instant.clone()),
            CustomTest::Compare(Comparison::Le, instant.clone()),
            CustomTest::AnyOf(vec![instant.clone(), CustomScalar::Number(3.0)]),
            CustomTest::Compare(Comparison::Ge, CustomScalar::Number(0.0)),
            CustomTest::Prefix("20".into()),
            CustomTest::Exists,
        ];
        // Mixed texts (a per-entry shape check) and instants only (none needed).
        let instants_only: Vec<CustomScalar> = values
            .iter()
            .filter(|v| !matches!(v, CustomScalar::Text(t) if t == "Canon"))
            .cloned()
            .collect();
        for values in [&values[..], &instants_only[..]] {
            for test in &tests {
                let expected: Vec<u32> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| test.holds_for(v))
                    .map(|(i, _)| i as u32)
                    .collect();
                for sorted_rows in [0, 3, values.len()] {
                    let c = column(values, sorted_rows);
                    assert_eq!(
                        rows(&c, test, values.len()),
                        expected,
                        "{test:?} sorted {sorted_rows}"
                    );
                }
            }
        }
    }
}
