//! The index's rows, column by column, with posting lists and sorted orders.
//!
//! Rows are append-only: changing a file appends its new rows and tombstones the old ones
//! (`alive`), so posting lists only ever grow at the end and stay sorted. Sorted orders
//! (`sorted`) cover the rows that existed at the last `reorder`; rows appended since form a
//! small "delta" that queries sort on the fly. `compact` renumbers when tombstones pile up.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use super::bits::{Bits, Posting};
use super::custom::{ColumnOrders, CustomColumns};
use super::locations::Locations;
use crate::model::FileKind;
use crate::model::geo::{GeoPoint, Located};
use crate::model::search::{AssetKind, IndexedVersion, words};

/// A 24-hex-digit id as 12 bytes; byte order equals the text's order.
pub type Id = [u8; 12];

pub fn parse_id(text: &str) -> Option<Id> {
    let mut id = [0u8; 12];
    hex::decode_to_slice(text, &mut id).ok()?;
    Some(id)
}

pub fn format_id(id: &Id) -> String {
    hex::encode(id)
}

/// A missing number (a PDF's width, a folder's size); sorts before every value.
pub const ABSENT: i64 = i64::MIN;

/// The fields rows can be sorted (and range-searched) by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Created,
    Updated,
    Width,
    Height,
    Size,
}

pub const SORT_KEYS: [SortKey; 6] = [
    SortKey::Name,
    SortKey::Created,
    SortKey::Updated,
    SortKey::Width,
    SortKey::Height,
    SortKey::Size,
];

impl SortKey {
    fn slot(self) -> usize {
        self as usize
    }
}

pub const FLAG_PRIVATE: u8 = 1;
pub const FLAG_PUBLISHED: u8 = 2;
pub const FLAG_TRANSPARENCY: u8 = 4;

/// One row as it goes in.
pub struct NewRow<'a> {
    pub kind: AssetKind,
    pub asset: Id,
    pub row: Id,
    pub name: &'a str,
    pub folder: u32,
    pub created: i64,
    pub updated: i64,
    pub size: i64,
    pub width: i64,
    pub height: i64,
    pub format: Option<&'a str>,
    pub file_type: Option<FileKind>,
    pub flags: u8,
    pub tags: &'a [String],
    pub custom: Option<&'a serde_json::Map<String, serde_json::Value>>,
    pub embedded: Option<&'a serde_json::Map<String, serde_json::Value>>,
    pub location: Option<Located>,
}

impl<'a> NewRow<'a> {
    pub fn version(v: &'a IndexedVersion, folder: u32) -> Option<Self> {
        Some(NewRow {
            kind: if v.current {
                AssetKind::File
            } else {
                AssetKind::FileVersion
            },
            asset: parse_id(&v.file_id)?,
            row: parse_id(&v.version_id)?,
            name: &v.name,
            folder,
            created: v.created_at,
            updated: v.updated_at,
            size: v.size,
            width: v.width.unwrap_or(ABSENT),
            height: v.height.unwrap_or(ABSENT),
            format: Some(&v.format),
            file_type: Some(v.file_type),
            flags: (if v.private { FLAG_PRIVATE } else { 0 })
                | (if v.published { FLAG_PUBLISHED } else { 0 })
                | (if v.transparency { FLAG_TRANSPARENCY } else { 0 }),
            tags: &v.tags,
            custom: Some(&v.custom_metadata),
            embedded: Some(&v.embedded_metadata),
            location: v.location.map(GeoPoint::located),
        })
    }
}

fn kind_slot(kind: AssetKind) -> usize {
    match kind {
        AssetKind::File => 0,
        AssetKind::FileVersion => 1,
        AssetKind::Folder => 2,
    }
}

fn kind_of_slot(slot: u8) -> AssetKind {
    match slot {
        0 => AssetKind::File,
        1 => AssetKind::FileVersion,
        _ => AssetKind::Folder,
    }
}

const NO_FILE_TYPE: u8 = u8::MAX;
const NO_FORMAT: u16 = u16::MAX;

fn file_type_slot(kind: FileKind) -> usize {
    match kind {
        FileKind::Image => 0,
        FileKind::NonImage => 1,
    }
}

/// New sorted orders, computed apart from installing them.
pub struct SortedOrders {
    orders: [Vec<u32>; 6],
    base: usize,
    custom: ColumnOrders,
    embedded: ColumnOrders,
}

/// Compares names as `ASC_NAME` orders them: ASCII case-insensitively, byte by byte.
pub fn compare_names(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

#[derive(Default)]
pub struct Table {
    kind: Vec<u8>,
    pub asset: Vec<Id>,
    pub row: Vec<Id>,
    pub folder: Vec<u32>,
    pub created: Vec<i64>,
    pub updated: Vec<i64>,
    pub size: Vec<i64>,
    pub width: Vec<i64>,
    pub height: Vec<i64>,
    format: Vec<u16>,
    file_type: Vec<u8>,
    flags: Vec<u8>,
    tags: Vec<Box<[u32]>>,
    pub alive: Bits,
    live: usize,
    /// Every row's name, each followed by a newline (names hold none); `folded_names` the
    /// same ASCII-lowercased: one buffer a substring search runs through at memory speed.
    names: String,
    folded_names: String,
    /// Where each row's name starts in `names` and `folded_names`.
    folded_at: Vec<u32>,

    pub by_kind: [Posting; 3],
    /// Live rows of each file (its current version and older ones) or folder.
    pub by_asset: HashMap<Id, Vec<u32>>,
    /// Rows in each folder slot (files, and folders by their parent).
    pub by_folder: Vec<Posting>,
    pub by_tag: Vec<Posting>,
    pub tagged: Posting,
    pub tag_words: BTreeMap<Box<str>, Posting>,
    pub name_words: BTreeMap<Box<str>, Posting>,
    pub by_format: Vec<Posting>,
    pub by_file_type: [Posting; 2],
    /// Rows whose flag is set: private, published, transparency.
    pub flag_set: [Posting; 3],
    pub custom: CustomColumns,
    pub embedded: CustomColumns,
    pub locations: Locations,

    tag_ids: HashMap<Box<str>, u32>,
    tag_names: Vec<Box<str>>,
    format_ids: HashMap<Box<str>, u16>,
    format_names: Vec<Box<str>>,

    /// Rows `0..base` in each `SortKey`'s order (ascending, ties by asset then row id).
    pub base: usize,
    sorted: [Vec<u32>; 6],
}

impl Table {
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    pub fn live(&self) -> usize {
        self.live
    }

    pub fn name(&self, row: u32) -> &str {
        let start = self.folded_at[row as usize] as usize;
        let end = self
            .folded_at
            .get(row as usize + 1)
            .map_or(self.names.len(), |&next| next as usize);
        // Without the newline that ends every name.
        &self.names[start..end - 1]
    }

    /// Gives back the room vectors grew into; after a build, when nothing is appended for a
    /// while.
    pub fn shrink(&mut self) {
        self.kind.shrink_to_fit();
        self.asset.shrink_to_fit();
        self.row.shrink_to_fit();
        self.folder.shrink_to_fit();
        for column in [
            &mut self.created,
            &mut self.updated,
            &mut self.size,
            &mut self.width,
            &mut self.height,
        ] {
            column.shrink_to_fit();
        }
        self.format.shrink_to_fit();
        self.file_type.shrink_to_fit();
        self.flags.shrink_to_fit();
        self.tags.shrink_to_fit();
        self.names.shrink_to_fit();
        self.folded_names.shrink_to_fit();
        self.folded_at.shrink_to_fit();
        let postings = self
            .by_kind
            .iter_mut()
            .chain(self.by_folder.iter_mut())
            .chain(self.by_tag.iter_mut())
            .chain(std::iter::once(&mut self.tagged))
            .chain(self.tag_words.values_mut())
            .chain(self.name_words.values_mut())
            .chain(self.by_format.iter_mut())
            .chain(self.by_file_type.iter_mut())
            .chain(self.flag_set.iter_mut());
        for posting in postings {
            posting.shrink();
        }
        for rows in self.by_asset.values_mut() {
            rows.shrink_to_fit();
        }
        self.custom.shrink();
        self.embedded.shrink();
        self.locations.shrink();
    }

    pub fn kind(&self, row: u32) -> AssetKind {
        kind_of_slot(self.kind[row as usize])
    }

    pub fn tag_id(&self, tag: &str) -> Option<u32> {
        self.tag_ids.get(tag).copied()
    }

    pub fn format_id(&self, format: &str) -> Option<u16> {
        self.format_ids.get(format).copied()
    }

    pub fn sorted(&self, key: SortKey) -> &[u32] {
        &self.sorted[key.slot()]
    }

    pub fn number(&self, key: SortKey, row: u32) -> i64 {
        let r = row as usize;
        match key {
            SortKey::Created => self.created[r],
            SortKey::Updated => self.updated[r],
            SortKey::Width => self.width[r],
            SortKey::Height => self.height[r],
            SortKey::Size => self.size[r],
            SortKey::Name => ABSENT,
        }
    }

    /// The order of `SortKey`: by the value, then asset id, then row id.
    pub fn compare(&self, key: SortKey, a: u32, b: u32) -> Ordering {
        let by_value = match key {
            SortKey::Name => compare_names(self.name(a), self.name(b)),
            _ => self.number(key, a).cmp(&self.number(key, b)),
        };
        by_value
            .then_with(|| self.asset[a as usize].cmp(&self.asset[b as usize]))
            .then_with(|| self.row[a as usize].cmp(&self.row[b as usize]))
    }

    pub fn push(&mut self, new: &NewRow<'_>) -> u32 {
        let ordinal = self.kind.len() as u32;
        let kind = kind_slot(new.kind);
        self.kind.push(kind as u8);
        self.asset.push(new.asset);
        self.row.push(new.row);
        self.folded_at.push(self.folded_names.len() as u32);
        self.folded_names.push_str(&new.name.to_ascii_lowercase());
        self.folded_names.push('\n');
        self.names.push_str(new.name);
        self.names.push('\n');
        self.folder.push(new.folder);
        self.created.push(new.created);
        self.updated.push(new.updated);
        self.size.push(new.size);
        self.width.push(new.width);
        self.height.push(new.height);
        let format = match new.format {
            Some(f) => {
                let id = self.intern_format(f);
                self.by_format[id as usize].push(ordinal);
                id
            }
            None => NO_FORMAT,
        };
        self.format.push(format);
        self.file_type.push(match new.file_type {
            Some(k) => {
                self.by_file_type[file_type_slot(k)].push(ordinal);
                file_type_slot(k) as u8
            }
            None => NO_FILE_TYPE,
        });
        self.flags.push(new.flags);
        for (bit, list) in [FLAG_PRIVATE, FLAG_PUBLISHED, FLAG_TRANSPARENCY]
            .into_iter()
            .zip(self.flag_set.iter_mut())
        {
            if new.flags & bit != 0 {
                list.push(ordinal);
            }
        }
        let mut tag_ids: Vec<u32> = new.tags.iter().map(|t| self.intern_tag(t)).collect();
        tag_ids.sort_unstable();
        tag_ids.dedup();
        let mut seen_words: Vec<String> = Vec::new();
        for &tag in &tag_ids {
            self.by_tag[tag as usize].push(ordinal);
            for word in words(&self.tag_names[tag as usize]) {
                if !seen_words.contains(&word) {
                    seen_words.push(word);
                }
            }
        }
        for word in seen_words {
            push_posting(&mut self.tag_words, word, ordinal);
        }
        if !tag_ids.is_empty() {
            self.tagged.push(ordinal);
        }
        self.tags.push(tag_ids.into_boxed_slice());
        let mut name_words: Vec<String> = words(new.name).collect();
        name_words.sort_unstable();
        name_words.dedup();
        for word in name_words {
            push_posting(&mut self.name_words, word, ordinal);
        }
        if let Some(custom) = new.custom {
            self.custom.push(ordinal, custom);
        }
        if let Some(embedded) = new.embedded {
            self.embedded.push(ordinal, embedded);
        }
        if let Some(point) = new.location {
            self.locations.push(ordinal, point);
        }
        self.by_kind[kind].push(ordinal);
        self.by_asset.entry(new.asset).or_default().push(ordinal);
        let folder = new.folder as usize;
        if self.by_folder.len() <= folder {
            self.by_folder.resize_with(folder + 1, Posting::default);
        }
        self.by_folder[folder].push(ordinal);
        self.alive.grow(self.kind.len());
        self.alive.set(ordinal);
        self.live += 1;
        ordinal
    }

    fn intern_tag(&mut self, tag: &str) -> u32 {
        if let Some(&id) = self.tag_ids.get(tag) {
            return id;
        }
        let id = self.tag_names.len() as u32;
        self.tag_names.push(tag.into());
        self.tag_ids.insert(tag.into(), id);
        self.by_tag.push(Posting::default());
        id
    }

    fn intern_format(&mut self, format: &str) -> u16 {
        if let Some(&id) = self.format_ids.get(format) {
            return id;
        }
        // Formats are a short list of short names; past u16 every new one shares the last.
        let id = self.format_names.len().min(usize::from(NO_FORMAT) - 1) as u16;
        if usize::from(id) == self.format_names.len() {
            self.format_names.push(format.into());
            self.by_format.push(Posting::default());
        }
        self.format_ids.insert(format.into(), id);
        id
    }

    /// Calls `found` for every row whose lowercased name contains `text` (lowercase).
    pub fn names_containing(&self, text: &str, mut found: impl FnMut(u32)) {
        if text.is_empty() {
            (0..self.len() as u32).for_each(found);
            return;
        }
        if text.contains('\n') {
            return;
        }
        let mut last = None;
        for (at, _) in self.folded_names.match_indices(text) {
            let row = self
                .folded_at
                .partition_point(|&start| start as usize <= at)
                - 1;
            if last != Some(row) {
                found(row as u32);
                last = Some(row);
            }
        }
    }

    /// Tombstones every live row of an asset.
    pub fn remove_asset(&mut self, asset: &Id) {
        if let Some(rows) = self.by_asset.remove(asset) {
            for row in rows {
                if self.alive.get(row) {
                    self.alive.clear(row);
                    self.live -= 1;
                }
            }
        }
    }

    /// Sorts every live row into each `SortKey`'s order; rows appended later are the delta.
    pub fn reorder(&mut self) {
        self.reorder_first(usize::MAX);
    }

    /// `reorder`, but only rows numbered below `rows`; the others stay in the delta.
    pub fn reorder_first(&mut self, rows: usize) {
        let orders = self.sorted_orders(rows);
        self.install_orders(orders);
    }

    /// The sorted orders of the live rows numbered below `rows`, computed without changing
    /// anything (so under a shared lock, while searches go on).
    pub fn sorted_orders(&self, rows: usize) -> SortedOrders {
        let base = rows.min(self.len());
        let live: Vec<u32> = self
            .alive
            .ones()
            .take_while(|&r| (r as usize) < base)
            .collect();
        let orders = SORT_KEYS.map(|key| {
            let mut order = live.clone();
            order.sort_unstable_by(|&a, &b| self.compare(key, a, b));
            order
        });
        SortedOrders {
            orders,
            base,
            custom: self.custom.sorted_orders(base),
            embedded: self.embedded.sorted_orders(base),
        }
    }

    /// Puts orders computed by `sorted_orders` in place. Rows tombstoned since stay in them
    /// (queries skip dead rows); rows appended since stay in the delta.
    pub fn install_orders(&mut self, sorted: SortedOrders) {
        self.sorted = sorted.orders;
        self.base = sorted.base;
        self.custom.install_orders(sorted.custom);
        self.embedded.install_orders(sorted.embedded);
    }

    /// Rows appended since the last `reorder`.
    pub fn delta(&self) -> std::ops::Range<u32> {
        self.base as u32..self.len() as u32
    }

    /// A copy holding only the live rows, renumbered, and sorted.
    pub fn compacted(&self) -> Table {
        let mut fresh = Table::default();
        let mut new_row = vec![u32::MAX; self.len()];
        for row in self.alive.ones() {
            new_row[row as usize] = fresh.len() as u32;
            let r = row as usize;
            let tags: Vec<String> = self.tags[r]
                .iter()
                .map(|&t| self.tag_names[t as usize].to_string())
                .collect();
            let format = (self.format[r] != NO_FORMAT)
                .then(|| self.format_names[self.format[r] as usize].as_ref());
            let file_type = match self.file_type[r] {
                0 => Some(FileKind::Image),
                1 => Some(FileKind::NonImage),
                _ => None,
            };
            fresh.push(&NewRow {
                kind: self.kind(row),
                asset: self.asset[r],
                row: self.row[r],
                name: self.name(row),
                folder: self.folder[r],
                created: self.created[r],
                updated: self.updated[r],
                size: self.size[r],
                width: self.width[r],
                height: self.height[r],
                format,
                file_type,
                flags: self.flags[r],
                tags: &tags,
                custom: None,
                embedded: None,
                location: self.locations.get(row).copied(),
            });
        }
        fresh.custom = self.custom.remapped(&new_row);
        fresh.embedded = self.embedded.remapped(&new_row);
        fresh.reorder();
        fresh
    }
}

fn push_posting(map: &mut BTreeMap<Box<str>, Posting>, word: String, ordinal: u32) {
    match map.get_mut(word.as_str()) {
        Some(list) => list.push(ordinal),
        None => {
            let mut posting = Posting::default();
            posting.push(ordinal);
            map.insert(word.into_boxed_str(), posting);
        }
    }
}
