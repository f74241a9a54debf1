//! A `SearchFilter` evaluated against the in-memory table: every test becomes a bit set of
//! matching rows (from posting lists, or from a binary search in a sorted order plus a scan
//! of the few rows appended since), combined with AND / OR / NOT; then the page is cut from
//! the sort order.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use super::bits::{Bits, Posting};
use super::folders::Folders;
use super::table::{ABSENT, SortKey, Table};
use super::table::{compare_names, parse_id};
use crate::model::search::{
    AssetKind, Comparison, Filter, FlagField, NameMatch, NumericField, SearchFilter, Test, Words,
};
use crate::model::{FileKind, FileTypeFilter, ListQuery, SortField, SortOrder};

pub struct Evaluator<'a> {
    pub table: &'a Table,
    pub folders: &'a Folders,
}

impl Evaluator<'_> {
    fn bits(&self) -> Bits {
        Bits::empty(self.table.len())
    }

    fn postings<'p>(&self, lists: impl IntoIterator<Item = &'p Posting>) -> Bits {
        let mut bits = self.bits();
        for list in lists {
            list.add_to(&mut bits);
        }
        bits
    }

    /// The rows matching the search, the `folder` and `fileType` parameters included.
    pub fn hits(&self, search: &SearchFilter, query: &ListQuery) -> Bits {
        let mut hits = self.eval(&search.filter);
        hits.and_with(&self.table.alive);
        let kinds: Vec<&Posting> = search
            .kinds
            .iter()
            .map(|k| {
                &self.table.by_kind[match k {
                    AssetKind::File => 0,
                    AssetKind::FileVersion => 1,
                    AssetKind::Folder => 2,
                }]
            })
            .collect();
        hits.and_with(&self.postings(kinds));
        if let Some(folder) = &query.folder {
            let rows = self
                .folders
                .slot_of_path(folder)
                .and_then(|slot| self.table.by_folder.get(slot as usize));
            hits.and_with(&self.postings(rows));
        }
        if let FileTypeFilter::Only(kind) = query.file_type {
            let mut keep = self.postings([&self.table.by_kind[2]]);
            keep.or_with(&self.file_types(&[kind]));
            hits.and_with(&keep);
        }
        hits
    }

    fn eval(&self, filter: &Filter) -> Bits {
        match filter {
            Filter::Const(true) => Bits::full(self.table.len()),
            Filter::Const(false) => self.bits(),
            Filter::And(parts) => {
                let mut acc = Bits::full(self.table.len());
                for part in parts {
                    acc.and_with(&self.eval(part));
                }
                acc
            }
            Filter::Or(parts) => {
                let mut acc = self.bits();
                for part in parts {
                    acc.or_with(&self.eval(part));
                }
                acc
            }
            Filter::Not(inner) => {
                let mut bits = self.eval(inner);
                bits.invert();
                bits
            }
            Filter::Test(test) => self.test(test),
        }
    }

    fn file_types(&self, kinds: &[FileKind]) -> Bits {
        self.postings(kinds.iter().map(|k| {
            &self.table.by_file_type[match k {
                FileKind::Image => 0,
                FileKind::NonImage => 1,
            }]
        }))
    }

    fn test(&self, test: &Test) -> Bits {
        let t = self.table;
        match test {
            Test::Kind(kinds) => self.postings(kinds.iter().map(|k| {
                &t.by_kind[match k {
                    AssetKind::File => 0,
                    AssetKind::FileVersion => 1,
                    AssetKind::Folder => 2,
                }]
            })),
            Test::Id(ids) => {
                let mut bits = self.bits();
                for rows in ids
                    .iter()
                    .filter_map(|id| parse_id(id))
                    .filter_map(|id| t.by_asset.get(&id))
                {
                    bits.set_all(rows);
                }
                bits
            }
            Test::NameIn(names) => {
                let mut bits = self.bits();
                for name in names {
                    self.names_where(&mut bits, name, |n| n == name.as_str());
                }
                bits
            }
            Test::NamePrefix(prefix) => {
                let mut bits = self.bits();
                self.names_where(&mut bits, prefix, |n| n.starts_with(prefix.as_str()));
                bits
            }
            Test::NameFolded(m @ NameMatch::Prefix(prefix)) => {
                let mut bits = self.bits();
                self.names_where(&mut bits, prefix, |n| m.matches(n));
                bits
            }
            Test::NameFolded(NameMatch::Contains(text)) => {
                let mut bits = self.bits();
                t.names_containing(text, |row| bits.set(row));
                bits
            }
            Test::NameWords(search) => self.words(&t.name_words, search),
            Test::TagsAny(tags) => self.postings(
                tags.iter()
                    .filter_map(|tag| t.tag_id(tag))
                    .map(|id| &t.by_tag[id as usize]),
            ),
            Test::TagWords(search) => self.words(&t.tag_words, search),
            Test::TagsExist => self.postings([&t.tagged]),
            Test::Compare(field, cmp, bound) => {
                self.numbers(*field, |v| cmp_holds(*cmp, v, *bound), {
                    let b = *bound;
                    match cmp {
                        Comparison::Eq => (Bound::Included(b), Bound::Included(b)),
                        Comparison::Lt => (Bound::Unbounded, Bound::Excluded(b)),
                        Comparison::Le => (Bound::Unbounded, Bound::Included(b)),
                        Comparison::Gt => (Bound::Excluded(b), Bound::Unbounded),
                        Comparison::Ge => (Bound::Included(b), Bound::Unbounded),
                    }
                })
            }
            Test::NumberIn(field, values) => {
                let mut bits = self.bits();
                for &v in values {
                    bits.or_with(&self.numbers(
                        *field,
                        |x| x == v,
                        (Bound::Included(v), Bound::Included(v)),
                    ));
                }
                bits
            }
            Test::FormatIn(formats) => self.postings(
                formats
                    .iter()
                    .filter_map(|f| t.format_id(f))
                    .map(|id| &t.by_format[id as usize]),
            ),
            Test::FileTypeIn(kinds) => self.file_types(kinds),
            Test::Custom(name, test) => {
                let mut bits = self.bits();
                if let Some(column) = t.custom.get(name) {
                    column.matching(test, &mut bits);
                }
                bits
            }
            Test::Embedded(name, test) => {
                let mut bits = self.bits();
                if let Some(column) = t.embedded.get(name) {
                    column.matching(test, &mut bits);
                }
                bits
            }
            Test::LocationKnown => {
                let mut bits = self.bits();
                t.locations.known(&mut bits);
                bits
            }
            Test::LocationIn(areas) => {
                let mut bits = self.bits();
                t.locations.within(areas, &mut bits);
                bits
            }
            Test::Flag(field, value) => {
                let slot = match field {
                    FlagField::Private => 0,
                    FlagField::Published => 1,
                    FlagField::Transparency => 2,
                };
                let set = self.postings([&t.flag_set[slot]]);
                if *value {
                    set
                } else {
                    // Only files and versions have flags; folders answer neither way.
                    let mut unset = set;
                    unset.invert();
                    unset.and_with(&self.postings([&t.by_kind[0], &t.by_kind[1]]));
                    unset
                }
            }
            Test::FolderIn(paths) => self.postings(
                paths
                    .iter()
                    .filter_map(|p| self.folders.slot_of_path(p))
                    .filter_map(|slot| t.by_folder.get(slot as usize)),
            ),
            Test::FolderWithin(root) => self.postings(
                self.folders
                    .slots_within(root)
                    .filter_map(|slot| t.by_folder.get(slot as usize)),
            ),
        }
    }

    /// `HAS`: every whole word's posting list, and the union over words starting with the
    /// last one.
    fn words(&self, map: &BTreeMap<Box<str>, Posting>, search: &Words) -> Bits {
        let mut acc = self.postings(
            map.range::<str, _>((Bound::Included(search.prefix.as_str()), Bound::Unbounded))
                .take_while(|(word, _)| word.starts_with(search.prefix.as_str()))
                .map(|(_, rows)| rows),
        );
        for word in &search.whole {
            match map.get(word.as_str()) {
                Some(rows) => acc.and_with(&self.postings([rows])),
                None => return self.bits(),
            }
        }
        acc
    }

    /// Rows whose name satisfies `exact`, found through names equal to `text` ignoring ASCII
    /// case (or starting with it), which lie together in name order.
    fn names_where(&self, bits: &mut Bits, text: &str, exact: impl Fn(&str) -> bool) {
        let t = self.table;
        let order = t.sorted(SortKey::Name);
        let lower = text.to_ascii_lowercase();
        let start = order.partition_point(|&r| compare_names(t.name(r), &lower).is_lt());
        for &row in &order[start..] {
            let name = t.name(row);
            let folded = name.to_ascii_lowercase();
            if !folded.starts_with(&lower) {
                break;
            }
            if exact(name) {
                bits.set(row);
            }
        }
        for row in t.delta() {
            if exact(t.name(row)) {
                bits.set(row);
            }
        }
    }

    /// Rows whose number lies in `range` (never an absent one): a binary search in the sorted
    /// order, plus the delta rows tested one by one.
    fn numbers(
        &self,
        field: NumericField,
        test: impl Fn(i64) -> bool,
        range: (Bound<i64>, Bound<i64>),
    ) -> Bits {
        let t = self.table;
        let key = match field {
            NumericField::CreatedAt => SortKey::Created,
            NumericField::UpdatedAt => SortKey::Updated,
            NumericField::Size => SortKey::Size,
            NumericField::Width => SortKey::Width,
            NumericField::Height => SortKey::Height,
        };
        let order = t.sorted(key);
        let start = match range.0 {
            Bound::Included(b) => order.partition_point(|&r| t.number(key, r) < b),
            Bound::Excluded(b) => order.partition_point(|&r| t.number(key, r) <= b),
            Bound::Unbounded => order.partition_point(|&r| t.number(key, r) == ABSENT),
        };
        let end = match range.1 {
            Bound::Included(b) => order.partition_point(|&r| t.number(key, r) <= b),
            Bound::Excluded(b) => order.partition_point(|&r| t.number(key, r) < b),
            Bound::Unbounded => order.len(),
        };
        let end = end.max(start);
        // Setting a bit is a random access: for a wide range, start full and clear the rows
        // outside it instead. Rows in no order (dead at the last sort, or the delta) are
        // decided below or by the final intersection with the live rows.
        let mut bits = if end - start > order.len() / 2 {
            let mut bits = Bits::full(t.len());
            for &r in order[..start].iter().chain(&order[end..]) {
                bits.clear(r);
            }
            bits
        } else {
            let mut bits = self.bits();
            bits.set_all(&order[start..end]);
            bits
        };
        for row in t.delta() {
            let v = t.number(key, row);
            if v != ABSENT && test(v) {
                bits.set(row);
            } else {
                bits.clear(row);
            }
        }
        bits
    }
}

fn cmp_holds(cmp: Comparison, value: i64, bound: i64) -> bool {
    value != ABSENT && cmp.holds(value, bound)
}

pub fn sort_key(field: SortField) -> SortKey {
    match field {
        SortField::Name => SortKey::Name,
        SortField::Created
        | SortField::Relevance
        | SortField::Duration
        | SortField::OriginalCreationDate => SortKey::Created,
        SortField::Updated => SortKey::Updated,
        SortField::Height => SortKey::Height,
        SortField::Width => SortKey::Width,
        SortField::Size => SortKey::Size,
    }
}

/// The `skip..skip+limit` slice of the hits in the query's order.
pub fn page(table: &Table, hits: &Bits, query: &ListQuery, sort_hits_below: usize) -> Vec<u32> {
    let (field, order) = query.sort;
    let key = sort_key(field);
    let skip = usize::try_from(query.skip).unwrap_or(usize::MAX);
    let need = skip.saturating_add(query.limit as usize);
    let directed = |a: u32, b: u32| -> Ordering {
        let o = table.compare(key, a, b);
        match order {
            SortOrder::Asc => o,
            SortOrder::Desc => o.reverse(),
        }
    };
    let count = hits.count();
    if count <= skip {
        return Vec::new();
    }
    let ordered: Vec<u32> = if count <= sort_hits_below {
        let mut all: Vec<u32> = hits.ones().collect();
        all.sort_unstable_by(|&a, &b| directed(a, b));
        all.truncate(need);
        all
    } else {
        // Walk the sorted order, merging in the few hits appended since it was built.
        let base = table.base as u32;
        let mut delta: Vec<u32> = hits.ones_from(base).collect();
        delta.sort_unstable_by(|&a, &b| directed(a, b));
        let sorted = table.sorted(key);
        let walk: Box<dyn Iterator<Item = &u32>> = match order {
            SortOrder::Asc => Box::new(sorted.iter()),
            SortOrder::Desc => Box::new(sorted.iter().rev()),
        };
        let mut from_base = walk.copied().filter(|&r| hits.get(r)).peekable();
        let mut from_delta = delta.into_iter().peekable();
        let mut out = Vec::with_capacity(need.min(count));
        while out.len() < need {
            let next = match (from_base.peek(), from_delta.peek()) {
                (Some(&a), Some(&b)) => {
                    if directed(a, b).is_le() {
                        from_base.next()
                    } else {
                        from_delta.next()
                    }
                }
                (Some(_), None) => from_base.next(),
                (None, Some(_)) => from_delta.next(),
                (None, None) => None,
            };
            match next {
                Some(r) => out.push(r),
                None => break,
            }
        }
        out
    };
    ordered.into_iter().skip(skip).collect()
}
