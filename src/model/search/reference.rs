//! The plain in-memory evaluator: a search over a slice of rows, written for obviousness, not
//! speed. Property tests hold every fast path (SQL on each engine) to its answers — same set,
//! same order.

use std::cmp::Ordering;

use super::{AssetKind, Filter, FlagField, NumericField, SearchFilter, Test};
use super::{words, words_match};
use crate::model::geo::GeoPoint;
use crate::model::{FileKind, FileTypeFilter, FolderPath, ListQuery, SortField, SortOrder};

/// One searchable row: a file (its current version), an older file version, or a folder.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRecord {
    pub kind: AssetKind,
    /// fileId for files and their versions, folderId for folders.
    pub id: String,
    /// The version's id for files and versions, the folder's id for folders.
    pub row_id: String,
    pub name: String,
    /// The folder a file is in, a folder's parent.
    pub folder: FolderPath,
    pub created_at: i64,
    pub updated_at: i64,
    pub size: Option<i64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub format: Option<String>,
    pub file_type: Option<FileKind>,
    pub private: Option<bool>,
    pub published: Option<bool>,
    pub transparency: Option<bool>,
    /// Tags and AI tag names.
    pub tags: Vec<String>,
    pub custom_metadata: serde_json::Map<String, serde_json::Value>,
    pub embedded_metadata: serde_json::Map<String, serde_json::Value>,
}

impl SearchRecord {
    fn number(&self, field: NumericField) -> Option<i64> {
        match field {
            NumericField::CreatedAt => Some(self.created_at),
            NumericField::UpdatedAt => Some(self.updated_at),
            NumericField::Size => self.size,
            NumericField::Width => self.width,
            NumericField::Height => self.height,
        }
    }

    fn flag(&self, field: FlagField) -> Option<bool> {
        match field {
            FlagField::Private => self.private,
            FlagField::Published => self.published,
            FlagField::Transparency => self.transparency,
        }
    }
}

pub fn matches(filter: &Filter, row: &SearchRecord) -> bool {
    match filter {
        Filter::Const(v) => *v,
        Filter::And(parts) => parts.iter().all(|p| matches(p, row)),
        Filter::Or(parts) => parts.iter().any(|p| matches(p, row)),
        Filter::Not(inner) => !matches(inner, row),
        Filter::Test(test) => passes(test, row),
    }
}

fn passes(test: &Test, row: &SearchRecord) -> bool {
    match test {
        Test::Kind(kinds) => kinds.contains(&row.kind),
        Test::Id(ids) => ids.contains(&row.id),
        Test::NameIn(names) => names.contains(&row.name),
        Test::NamePrefix(prefix) => row.name.starts_with(prefix.as_str()),
        Test::NameFolded(m) => m.matches(&row.name),
        Test::NameWords(search) => words_match(search, &words(&row.name).collect::<Vec<_>>()),
        Test::TagsAny(tags) => row.tags.iter().any(|t| tags.contains(t)),
        Test::TagWords(search) => {
            let all: Vec<String> = row.tags.iter().flat_map(|t| words(t)).collect();
            words_match(search, &all)
        }
        Test::TagsExist => !row.tags.is_empty(),
        Test::Compare(field, cmp, bound) => row
            .number(*field)
            .is_some_and(|value| cmp.holds(value, *bound)),
        Test::NumberIn(field, values) => row
            .number(*field)
            .is_some_and(|value| values.contains(&value)),
        Test::FormatIn(formats) => row.format.as_ref().is_some_and(|f| formats.contains(f)),
        Test::FileTypeIn(kinds) => row.file_type.is_some_and(|k| kinds.contains(&k)),
        Test::Flag(field, value) => row.flag(*field) == Some(*value),
        Test::FolderIn(folders) => folders.contains(&row.folder),
        Test::FolderWithin(root) => &row.folder == root || row.folder.is_within(root),
        Test::Custom(name, test) => row
            .custom_metadata
            .get(name)
            .is_some_and(|value| test.holds(&super::custom::scalars(value))),
        Test::Embedded(name, test) => row
            .embedded_metadata
            .get(name)
            .is_some_and(|value| test.holds(&super::custom::scalars(value))),
        Test::LocationIn(areas) => GeoPoint::from_embedded(&row.embedded_metadata)
            .is_some_and(|p| areas.iter().any(|a| a.contains(&p.located()))),
        Test::LocationKnown => GeoPoint::from_embedded(&row.embedded_metadata).is_some(),
    }
}

/// Missing values first: the order both engines are told to use ascending.
fn compare_optional(a: Option<i64>, b: Option<i64>) -> Ordering {
    a.cmp(&b)
}

fn sort_key_order(a: &SearchRecord, b: &SearchRecord, field: SortField) -> Ordering {
    let by_value = match field {
        SortField::Name => a
            .name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase()),
        SortField::Created
        | SortField::Relevance
        | SortField::Duration
        | SortField::OriginalCreationDate => a.created_at.cmp(&b.created_at),
        SortField::Updated => a.updated_at.cmp(&b.updated_at),
        SortField::Height => compare_optional(a.height, b.height),
        SortField::Width => compare_optional(a.width, b.width),
        SortField::Size => compare_optional(a.size, b.size),
    };
    by_value
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.row_id.cmp(&b.row_id))
}

/// What `GET /v1/files` with this `searchQuery` answers, computed the slow, obvious way.
pub fn search<'a>(
    rows: &'a [SearchRecord],
    search: &SearchFilter,
    query: &ListQuery,
) -> Vec<&'a SearchRecord> {
    let mut hits: Vec<&SearchRecord> = rows
        .iter()
        .filter(|r| search.kinds.contains(&r.kind))
        .filter(|r| query.folder.as_ref().is_none_or(|f| &r.folder == f))
        .filter(|r| match query.file_type {
            FileTypeFilter::All => true,
            FileTypeFilter::Only(kind) => r.kind == AssetKind::Folder || r.file_type == Some(kind),
        })
        .filter(|r| matches(&search.filter, r))
        .collect();
    let (field, order) = query.sort;
    hits.sort_by(|a, b| {
        let ordering = sort_key_order(a, b, field);
        match order {
            SortOrder::Asc => ordering,
            SortOrder::Desc => ordering.reverse(),
        }
    });
    hits.into_iter()
        .skip(usize::try_from(query.skip).unwrap_or(usize::MAX))
        .take(query.limit as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn file(name: &str, folder: &str, tags: &[&str], width: Option<i64>) -> SearchRecord {
        SearchRecord {
            kind: AssetKind::File,
            id: format!("id-{name}"),
            row_id: format!("v-{name}"),
            name: name.into(),
            folder: FolderPath::parse_lenient(folder).unwrap(),
            created_at: 10,
            updated_at: 10,
            size: Some(100),
            width,
            height: width,
            format: Some("png".into()),
            file_type: Some(if width.is_some() {
                FileKind::Image
            } else {
                FileKind::NonImage
            }),
            private: Some(false),
            published: Some(true),
            transparency: Some(false),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            custom_metadata: Default::default(),
            embedded_metadata: Default::default(),
        }
    }

    fn names(rows: &[SearchRecord], text: &str) -> Vec<String> {
        let search = SearchFilter::parse(text, Timestamp::from_millis(0), &Default::default())
            .unwrap()
            .unwrap();
        let query = ListQuery {
            sort: (SortField::Name, SortOrder::Asc),
            ..ListQuery::default()
        };
        super::search(rows, &search, &query)
            .into_iter()
            .map(|r| r.name.clone())
            .collect()
    }

    #[test]
    fn the_documented_semantics() {
        let rows = vec![
            file(
                "Red_Dress-2024.jpg",
                "/shop/summer",
                &["Sale", "summer sale"],
                Some(10),
            ),
            file("blue.pdf", "/shop", &[], None),
            file("red-shoe.png", "/other", &["sale"], Some(300)),
        ];
        assert_eq!(names(&rows, "name HAS \"red dre\""), ["Red_Dress-2024.jpg"]);
        assert_eq!(names(&rows, "name HAS \"RED\"").len(), 2);
        assert_eq!(names(&rows, "tags HAS \"summ\""), ["Red_Dress-2024.jpg"]);
        assert_eq!(names(&rows, "tags IN [\"sale\"]"), ["red-shoe.png"]);
        assert_eq!(names(&rows, "tags NOT EXISTS"), ["blue.pdf"]);
        assert_eq!(names(&rows, "path : \"/shop\"").len(), 2);
        assert_eq!(names(&rows, "path = \"/shop/\""), ["blue.pdf"]);
        // Absent values: false for the test, true for its negation.
        assert_eq!(names(&rows, "width > 0").len(), 2);
        assert_eq!(names(&rows, "width NOT = 10"), ["blue.pdf", "red-shoe.png"]);
        assert_eq!(
            names(&rows, "width < 100 OR path = \"/other\" AND tags IN [sale]"),
            ["red-shoe.png", "Red_Dress-2024.jpg"]
        );
    }
}
