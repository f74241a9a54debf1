//! How a listing is asked for: the typed form of `GET /v1/files`' query parameters.

use super::search::{AssetKind, Filter, NameMatch, SearchFilter, Test};
use super::{FileKind, FolderPath};

/// Largest page a listing returns, and the default page size (ImageKit's).
pub const MAX_LIST_LIMIT: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetTypeFilter {
    File,
    FileVersion,
    Folder,
    /// Files and folders, not versions.
    All,
}

impl AssetTypeFilter {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "file" => Some(Self::File),
            "file-version" => Some(Self::FileVersion),
            "folder" => Some(Self::Folder),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileTypeFilter {
    All,
    Only(FileKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Name,
    Created,
    Updated,
    Height,
    Width,
    Size,
    /// Without a text query every match is equally relevant; falls back to creation order.
    Relevance,
    /// No media probed for duration yet: every file has none, so creation order decides.
    Duration,
    /// Falls back to upload time for files without an original creation date, as ImageKit does.
    OriginalCreationDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// Parses `ASC_NAME` … `DESC_ORIGINAL_CREATION_DATE`.
pub fn parse_sort(text: &str) -> Option<(SortField, SortOrder)> {
    let (order, field) = if let Some(f) = text.strip_prefix("ASC_") {
        (SortOrder::Asc, f)
    } else if let Some(f) = text.strip_prefix("DESC_") {
        (SortOrder::Desc, f)
    } else {
        return None;
    };
    let field = match field {
        "NAME" => SortField::Name,
        "CREATED" => SortField::Created,
        "UPDATED" => SortField::Updated,
        "HEIGHT" => SortField::Height,
        "WIDTH" => SortField::Width,
        "SIZE" => SortField::Size,
        "RELEVANCE" => SortField::Relevance,
        "DURATION" => SortField::Duration,
        "ORIGINAL_CREATION_DATE" => SortField::OriginalCreationDate,
        _ => return None,
    };
    Some((field, order))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub asset_type: AssetTypeFilter,
    /// Only the direct children of this folder.
    pub folder: Option<FolderPath>,
    pub file_type: FileTypeFilter,
    /// Any of these tags.
    pub tags: Option<Vec<String>>,
    /// Exact name.
    pub name: Option<String>,
    pub sort: (SortField, SortOrder),
    pub skip: u64,
    pub limit: u32,
    /// A `searchQuery`: replaces `asset_type`, `tags` and `name`; `folder` and `file_type`
    /// still apply.
    pub search: Option<SearchFilter>,
    /// Kura's name search for people typing (`namePrefix`, `nameContains`): case-insensitive,
    /// with or without a `searchQuery`.
    pub name_match: Option<NameMatch>,
}

impl ListQuery {
    /// What this listing selects, as a search: the `searchQuery` when there is one, else the
    /// plain parameters — `type`, `tags` (any of them, as `tags IN […]`) and `name` (exactly)
    /// — said in the same terms, so that one evaluator serves both.
    pub fn effective_search(&self) -> SearchFilter {
        let typed = |mut search: SearchFilter| {
            if let Some(m) = &self.name_match {
                search.filter = Filter::And(vec![
                    search.filter,
                    Filter::Test(Test::NameFolded(m.clone())),
                ]);
            }
            search
        };
        if let Some(search) = &self.search {
            return typed(search.clone());
        }
        let kinds = match self.asset_type {
            AssetTypeFilter::File => vec![AssetKind::File],
            AssetTypeFilter::FileVersion => vec![AssetKind::FileVersion],
            AssetTypeFilter::Folder => vec![AssetKind::Folder],
            AssetTypeFilter::All => vec![AssetKind::File, AssetKind::Folder],
        };
        let mut tests = Vec::new();
        if let Some(tags) = &self.tags {
            tests.push(Filter::Test(Test::TagsAny(tags.clone())));
        }
        if let Some(name) = &self.name {
            tests.push(Filter::Test(Test::NameIn(vec![name.clone()])));
        }
        typed(SearchFilter {
            filter: Filter::And(tests),
            kinds,
        })
    }
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            asset_type: AssetTypeFilter::File,
            folder: None,
            file_type: FileTypeFilter::All,
            tags: None,
            name: None,
            sort: (SortField::Created, SortOrder::Asc),
            skip: 0,
            limit: MAX_LIST_LIMIT,
            search: None,
            name_match: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_values_parse() {
        assert_eq!(
            parse_sort("DESC_SIZE"),
            Some((SortField::Size, SortOrder::Desc))
        );
        assert_eq!(
            parse_sort("ASC_ORIGINAL_CREATION_DATE"),
            Some((SortField::OriginalCreationDate, SortOrder::Asc))
        );
        assert_eq!(parse_sort("asc_name"), None);
        assert_eq!(parse_sort("ASC_COLOUR"), None);
    }
}
