//! Where files were made (`"embeddedMetadata.LocationTaken"`): the located rows and their
//! points, in row order. Only photos with GPS tags have one, so a search scans this short
//! list with `GeoArea::contains`, the very test SQL and the reference make.

use super::bits::Bits;
use crate::model::geo::{GeoArea, Located};

#[derive(Default)]
pub struct Locations {
    rows: Vec<u32>,
    points: Vec<Located>,
}

impl Locations {
    /// Rows arrive in increasing order (the table is append-only).
    pub fn push(&mut self, row: u32, point: Located) {
        self.rows.push(row);
        self.points.push(point);
    }

    pub fn get(&self, row: u32) -> Option<&Located> {
        let at = self.rows.binary_search(&row).ok()?;
        self.points.get(at)
    }

    pub fn known(&self, bits: &mut Bits) {
        self.rows.iter().for_each(|&row| bits.set(row));
    }

    /// Sets the bits of rows within any of `areas`.
    pub fn within(&self, areas: &[GeoArea], bits: &mut Bits) {
        for (&row, point) in self.rows.iter().zip(&self.points) {
            if areas.iter().any(|area| area.contains(point)) {
                bits.set(row);
            }
        }
    }

    pub fn shrink(&mut self) {
        self.rows.shrink_to_fit();
        self.points.shrink_to_fit();
    }
}
