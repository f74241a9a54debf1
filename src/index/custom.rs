//! Custom metadata in the index: one column per field name, holding (row, scalar) entries
//! in row order — a MultiSelect row once per selected option. A test scans only the rows that
//! have the field; texts are interned, so a text test runs once per distinct text.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::bits::Bits;
use crate::model::search::{CustomScalar, CustomTest, custom::scalars};

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
}

impl CustomColumn {
    fn push(&mut self, row: u32, value: &CustomScalar) {
        let cell = match value {
            CustomScalar::Text(t) => Cell::Text(self.intern(t)),
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
        let id = self.texts.len() as u32;
        self.texts.push(text.into());
        self.text_ids.insert(text.into(), id);
        id
    }

    /// Sets the bit of every row with a value passing `test`.
    pub fn matching(&self, test: &CustomTest, bits: &mut Bits) {
        let text_passes: Vec<bool> = self.texts.iter().map(|t| test.holds_for_text(t)).collect();
        for (&row, cell) in self.rows.iter().zip(&self.cells) {
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
}
