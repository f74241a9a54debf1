//! Syntax tree → typed filter: what each field means, which operators it takes, and what its
//! values are (dates to milliseconds, sizes to bytes, paths normalised, words lowercased).
//! Evaluators (the SQL compiler, the in-memory reference) only ever see a `Filter`.

use super::custom::{CustomScalar, CustomTest};
use super::parser::{Condition, Expr, Operand, Operator, Scalar};
use super::{SearchError, words};
use crate::model::geo::GeoArea;
use crate::model::{FieldSet, FieldType, FileKind, FolderPath, Timestamp};

/// What a search row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetKind {
    File,
    FileVersion,
    Folder,
}

impl AssetKind {
    pub const ALL: [AssetKind; 3] = [AssetKind::File, AssetKind::FileVersion, AssetKind::Folder];

    fn parse(text: &str) -> Option<Self> {
        match text {
            "file" => Some(AssetKind::File),
            "file-version" => Some(AssetKind::FileVersion),
            "folder" => Some(AssetKind::Folder),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericField {
    CreatedAt,
    UpdatedAt,
    Size,
    Width,
    Height,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagField {
    Private,
    Published,
    Transparency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Comparison::Eq => left == right,
            Comparison::Lt => left < right,
            Comparison::Le => left <= right,
            Comparison::Gt => left > right,
            Comparison::Ge => left >= right,
        }
    }
}

/// A `HAS` search: every word must be a word of the text, the last one may be a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    pub whole: Vec<String>,
    pub prefix: String,
}

/// A case-insensitive match on names; the text is lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    Prefix(String),
    Contains(String),
}

impl NameMatch {
    pub fn prefix(text: &str) -> Self {
        NameMatch::Prefix(text.to_lowercase())
    }

    pub fn contains(text: &str) -> Self {
        NameMatch::Contains(text.to_lowercase())
    }

    /// Names are ASCII (`FileName::sanitise`), so folding them is ASCII lowercasing.
    pub fn matches(&self, name: &str) -> bool {
        let folded = name.to_ascii_lowercase();
        match self {
            NameMatch::Prefix(p) => folded.starts_with(p.as_str()),
            NameMatch::Contains(c) => folded.contains(c.as_str()),
        }
    }
}

/// One test on one field. A test on a field an asset does not have is false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Kind(Vec<AssetKind>),
    /// fileId (files and their versions) or folderId.
    Id(Vec<String>),
    NameIn(Vec<String>),
    NamePrefix(String),
    /// Case-insensitive name search for people typing (not in ImageKit's language).
    NameFolded(NameMatch),
    NameWords(Words),
    /// Any tag or AI tag is one of these.
    TagsAny(Vec<String>),
    TagWords(Words),
    TagsExist,
    Compare(NumericField, Comparison, i64),
    NumberIn(NumericField, Vec<i64>),
    FormatIn(Vec<String>),
    FileTypeIn(Vec<FileKind>),
    Flag(FlagField, bool),
    /// The folder a file is in (a folder's parent) is one of these.
    FolderIn(Vec<FolderPath>),
    /// … is this folder or one below it.
    FolderWithin(FolderPath),
    /// A test on the custom metadata field with this name.
    Custom(String, CustomTest),
    /// A test on the embedded metadata (`embeddedMetadata`) key with this name.
    Embedded(String, CustomTest),
    /// `"embeddedMetadata.LocationTaken"`: where the file was made is in one of these areas.
    LocationIn(Vec<GeoArea>),
    /// … the file says where it was made.
    LocationKnown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Const(bool),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Test(Test),
}

impl Filter {
    fn not(inner: Filter) -> Filter {
        Filter::Not(Box::new(inner))
    }

    /// Whether a `type` test appears anywhere.
    fn mentions_kind(&self) -> bool {
        match self {
            Filter::Const(_) => false,
            Filter::And(parts) | Filter::Or(parts) => parts.iter().any(Filter::mentions_kind),
            Filter::Not(inner) => inner.mentions_kind(),
            Filter::Test(test) => matches!(test, Test::Kind(_)),
        }
    }

    /// This filter as it applies to rows of one kind: `type` tests and tests on fields the
    /// kind lacks become constants, and constants are folded away. What is left holds only
    /// tests a row of that kind can answer from its own columns.
    pub fn for_kind(&self, kind: AssetKind) -> Filter {
        match self {
            Filter::Const(v) => Filter::Const(*v),
            Filter::Test(test) => match known_for_kind(test, kind) {
                Some(v) => Filter::Const(v),
                None => Filter::Test(test.clone()),
            },
            Filter::Not(inner) => match inner.for_kind(kind) {
                Filter::Const(v) => Filter::Const(!v),
                other => Filter::not(other),
            },
            Filter::And(parts) => {
                let mut kept = Vec::new();
                for part in parts {
                    match part.for_kind(kind) {
                        Filter::Const(false) => return Filter::Const(false),
                        Filter::Const(true) => {}
                        other => kept.push(other),
                    }
                }
                match kept.len() {
                    0 => Filter::Const(true),
                    1 => kept.remove(0),
                    _ => Filter::And(kept),
                }
            }
            Filter::Or(parts) => {
                let mut kept = Vec::new();
                for part in parts {
                    match part.for_kind(kind) {
                        Filter::Const(true) => return Filter::Const(true),
                        Filter::Const(false) => {}
                        other => kept.push(other),
                    }
                }
                match kept.len() {
                    0 => Filter::Const(false),
                    1 => kept.remove(0),
                    _ => Filter::Or(kept),
                }
            }
        }
    }
}

/// The answer a test has for every row of a kind, when the kind alone decides it.
fn known_for_kind(test: &Test, kind: AssetKind) -> Option<bool> {
    let folder = kind == AssetKind::Folder;
    match test {
        Test::Kind(kinds) => Some(kinds.contains(&kind)),
        // Folders have no tags: none of them matches, and they have none to exist.
        Test::TagsAny(_) | Test::TagWords(_) | Test::TagsExist if folder => Some(false),
        Test::Compare(field, ..) | Test::NumberIn(field, _)
            if folder
                && matches!(
                    field,
                    NumericField::Size | NumericField::Width | NumericField::Height
                ) =>
        {
            Some(false)
        }
        Test::FormatIn(_)
        | Test::FileTypeIn(_)
        | Test::Flag(..)
        | Test::Custom(..)
        | Test::Embedded(..)
        | Test::LocationIn(_)
        | Test::LocationKnown
            if folder =>
        {
            Some(false)
        }
        Test::FolderWithin(root) if root.is_root() => Some(true),
        _ => None,
    }
}

/// A bound query: the filter, and which kinds of rows it looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchFilter {
    pub filter: Filter,
    /// Files only, unless the query tests `type`.
    pub kinds: Vec<AssetKind>,
}

impl SearchFilter {
    /// Whether every `embeddedMetadata` key the filter names is one a search index keeps.
    pub fn embedded_keys_indexed(&self) -> bool {
        fn check(filter: &Filter) -> bool {
            match filter {
                Filter::Const(_) => true,
                Filter::And(parts) | Filter::Or(parts) => parts.iter().all(check),
                Filter::Not(inner) => check(inner),
                Filter::Test(Test::Embedded(name, _)) => {
                    super::INDEXED_EMBEDDED.contains(&name.as_str())
                }
                Filter::Test(_) => true,
            }
        }
        check(&self.filter)
    }

    /// Parses and binds `text`; `Ok(None)` when it is empty. Relative dates count back from
    /// `now`; `"customMetadata.x"` is typed by the field `x` of `fields`.
    pub fn parse(
        text: &str,
        now: Timestamp,
        fields: &FieldSet,
    ) -> Result<Option<SearchFilter>, SearchError> {
        let Some(expr) = super::parser::parse(text)? else {
            return Ok(None);
        };
        let filter = bind(&expr, now, fields)?;
        let kinds = if filter.mentions_kind() {
            AssetKind::ALL.to_vec()
        } else {
            vec![AssetKind::File]
        };
        Ok(Some(SearchFilter { filter, kinds }))
    }
}

fn bind(expr: &Expr, now: Timestamp, fields: &FieldSet) -> Result<Filter, SearchError> {
    Ok(match expr {
        Expr::And(parts) => Filter::And(
            parts
                .iter()
                .map(|p| bind(p, now, fields))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(parts) => Filter::Or(
            parts
                .iter()
                .map(|p| bind(p, now, fields))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Condition(c) => bind_condition(c, now, fields)?,
    })
}

/// The operators a field takes, for the error that names them.
fn unsupported(c: &Condition, allowed: &str) -> SearchError {
    SearchError::at(
        c.operator_column,
        format!(
            "`{}` does not take `{}`; it takes {allowed}",
            c.field,
            c.operator.as_str()
        ),
    )
}

/// The values of a condition, one for `=`-like operators, all of a list for `IN`.
fn values(c: &Condition) -> Vec<&Scalar> {
    match &c.operand {
        Some(Operand::Scalar(s)) => vec![s],
        Some(Operand::List(list)) => list.iter().collect(),
        None => Vec::new(),
    }
}

/// `= v` / `IN [..]` give the test, `NOT =` / `NOT IN` its negation.
fn membership(c: &Condition, test: Test) -> Filter {
    match c.operator {
        Operator::NotEq | Operator::NotIn => Filter::not(Filter::Test(test)),
        _ => Filter::Test(test),
    }
}

fn is_membership(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq | Operator::NotEq | Operator::In | Operator::NotIn
    )
}

const MEMBERSHIP: &str = "`=`, `NOT =`, `IN` and `NOT IN`";

fn bind_condition(c: &Condition, now: Timestamp, fields: &FieldSet) -> Result<Filter, SearchError> {
    match c.field.as_str() {
        "name" => bind_name(c),
        "tags" => bind_tags(c),
        "type" => {
            if !is_membership(c.operator) {
                return Err(unsupported(c, MEMBERSHIP));
            }
            let kinds = values(c)
                .into_iter()
                .map(|v| {
                    AssetKind::parse(&v.text).ok_or_else(|| {
                        SearchError::at(
                            v.column,
                            format!(
                                "`type` is \"file\", \"file-version\" or \"folder\", not \"{}\"",
                                v.text
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(membership(c, Test::Kind(kinds)))
        }
        "id" => {
            if !is_membership(c.operator) {
                return Err(unsupported(c, MEMBERSHIP));
            }
            let ids = values(c).into_iter().map(|v| v.text.clone()).collect();
            Ok(membership(c, Test::Id(ids)))
        }
        "createdAt" | "updatedAt" => {
            let field = if c.field == "createdAt" {
                NumericField::CreatedAt
            } else {
                NumericField::UpdatedAt
            };
            bind_numeric(c, field, |v| parse_date(v, now))
        }
        "size" => bind_numeric(c, NumericField::Size, parse_size),
        "width" | "height" => {
            let field = if c.field == "width" {
                NumericField::Width
            } else {
                NumericField::Height
            };
            bind_numeric(c, field, |v| parse_number(v, &c.field))
        }
        "format" => {
            if !is_membership(c.operator) {
                return Err(unsupported(c, MEMBERSHIP));
            }
            let formats = values(c)
                .into_iter()
                .map(|v| v.text.to_lowercase())
                .collect();
            Ok(membership(c, Test::FormatIn(formats)))
        }
        "fileType" => {
            if !is_membership(c.operator) {
                return Err(unsupported(c, MEMBERSHIP));
            }
            let kinds = values(c)
                .into_iter()
                .map(|v| {
                    FileKind::parse(&v.text).ok_or_else(|| {
                        SearchError::at(
                            v.column,
                            format!(
                                "`fileType` is \"image\" or \"non-image\", not \"{}\"",
                                v.text
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(membership(c, Test::FileTypeIn(kinds)))
        }
        "private" | "published" | "transparency" => {
            let field = match c.field.as_str() {
                "private" => FlagField::Private,
                "published" => FlagField::Published,
                _ => FlagField::Transparency,
            };
            if !matches!(c.operator, Operator::Eq | Operator::NotEq) {
                return Err(unsupported(c, "`=` and `NOT =`"));
            }
            let value = values(c)[0];
            let flag = match value.text.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(SearchError::at(
                        value.column,
                        format!("`{}` is true or false, not \"{}\"", c.field, value.text),
                    ));
                }
            };
            Ok(membership(c, Test::Flag(field, flag)))
        }
        "path" => bind_path(c),
        "videoDuration" => Err(SearchError::at(
            c.field_column,
            "`videoDuration` is not searchable yet",
        )),
        "createdBy" => Err(SearchError::at(
            c.field_column,
            "`createdBy` is not searchable: Kura does not record who uploaded a file",
        )),
        field if field.starts_with("customMetadata.") => {
            bind_custom(c, &field["customMetadata.".len()..], now, fields)
        }
        field if field.starts_with("embeddedMetadata.") => {
            bind_embedded(c, &field["embeddedMetadata.".len()..], now)
        }
        field => Err(SearchError::at(
            c.field_column,
            format!(
                "unknown field `{}`; the fields are name, tags, type, id, createdAt, updatedAt, size, width, height, format, fileType, private, published, transparency and path",
                super::shorten(field)
            ),
        )),
    }
}

fn bind_custom(
    c: &Condition,
    name: &str,
    now: Timestamp,
    fields: &FieldSet,
) -> Result<Filter, SearchError> {
    let Some(field) = fields.get(name) else {
        return Err(SearchError::at(
            c.field_column,
            format!(
                "`{}`: there is no custom metadata field named \"{}\"",
                super::shorten(&c.field),
                super::shorten(name)
            ),
        ));
    };
    let field_type = field.schema.field_type();
    let test = |t: CustomTest| Filter::Test(Test::Custom(name.to_owned(), t));
    // A value as the field's type reads it.
    let typed = |v: &Scalar| -> Result<CustomScalar, SearchError> {
        match field_type {
            FieldType::Text | FieldType::Textarea => Ok(CustomScalar::Text(v.text.clone())),
            FieldType::Number => custom_number(v, &c.field),
            FieldType::Date => {
                let millis = parse_date(v, now)?.floor;
                Ok(CustomScalar::Instant(
                    Timestamp::from_millis(millis).to_iso8601(),
                ))
            }
            FieldType::Boolean => match v.text.to_ascii_lowercase().as_str() {
                "true" => Ok(CustomScalar::Bool(true)),
                "false" => Ok(CustomScalar::Bool(false)),
                _ => Err(SearchError::at(
                    v.column,
                    format!(
                        "`{}` is true or false, not \"{}\"",
                        c.field,
                        super::shorten(&v.text)
                    ),
                )),
            },
            // Options may be strings, numbers or booleans: a quoted value is a string, a
            // bare one a boolean or number when it reads as one.
            FieldType::SingleSelect | FieldType::MultiSelect => Ok(if v.quoted {
                CustomScalar::Text(v.text.clone())
            } else if v.text.eq_ignore_ascii_case("true") {
                CustomScalar::Bool(true)
            } else if v.text.eq_ignore_ascii_case("false") {
                CustomScalar::Bool(false)
            } else if let Ok(n) = custom_number(v, &c.field) {
                n
            } else {
                CustomScalar::Text(v.text.clone())
            }),
        }
    };
    let ordered = matches!(
        field_type,
        FieldType::Number | FieldType::Date | FieldType::SingleSelect
    );
    let prefixable = matches!(
        field_type,
        FieldType::Text | FieldType::Textarea | FieldType::SingleSelect
    );
    let allowed = match field_type {
        FieldType::Text | FieldType::Textarea => {
            "`=`, `:`, `IN`, `NOT =`, `NOT IN`, `HAS`, `EXISTS` and `NOT EXISTS`"
        }
        FieldType::Number | FieldType::Date => {
            "`=`, `<`, `<=`, `>`, `>=`, `IN`, `NOT =`, `NOT IN`, `EXISTS` and `NOT EXISTS`"
        }
        FieldType::Boolean => "`=`, `NOT =`, `EXISTS` and `NOT EXISTS`",
        FieldType::SingleSelect => {
            "`=`, `:`, `<`, `<=`, `>`, `>=`, `IN`, `NOT =`, `NOT IN`, `EXISTS` and `NOT EXISTS`"
        }
        FieldType::MultiSelect => "`=`, `IN`, `NOT =`, `NOT IN`, `EXISTS` and `NOT EXISTS`",
    };
    match c.operator {
        Operator::Exists => Ok(test(CustomTest::Exists)),
        Operator::NotExists => Ok(Filter::not(test(CustomTest::Exists))),
        Operator::In | Operator::NotIn if field_type == FieldType::Boolean => {
            Err(unsupported(c, allowed))
        }
        op if is_membership(op) => {
            let wanted = values(c)
                .into_iter()
                .map(typed)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(membership(
                c,
                Test::Custom(name.to_owned(), CustomTest::AnyOf(wanted)),
            ))
        }
        Operator::Has if matches!(field_type, FieldType::Text | FieldType::Textarea) => {
            Ok(test(CustomTest::Words(has_words(values(c)[0])?)))
        }
        Operator::Prefix if prefixable => Ok(test(CustomTest::Prefix(values(c)[0].text.clone()))),
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge if ordered => {
            let v = values(c)[0];
            let bound = match field_type {
                FieldType::SingleSelect => custom_number(v, &c.field)?,
                _ => typed(v)?,
            };
            let cmp = match c.operator {
                Operator::Lt => Comparison::Lt,
                Operator::Le => Comparison::Le,
                Operator::Gt => Comparison::Gt,
                _ => Comparison::Ge,
            };
            Ok(test(CustomTest::Compare(cmp, bound)))
        }
        _ => Err(unsupported(c, allowed)),
    }
}

/// Embedded metadata has no schema: the query's value decides how it compares (docs/search.md).
fn bind_embedded(c: &Condition, name: &str, now: Timestamp) -> Result<Filter, SearchError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    {
        return Err(SearchError::at(
            c.field_column,
            format!(
                "`{}`: an embedded metadata name is letters, digits, `_` and `-`",
                super::shorten(&c.field)
            ),
        ));
    }
    if name == "LocationTaken" {
        return bind_location(c);
    }
    let test = |t: CustomTest| Filter::Test(Test::Embedded(name.to_owned(), t));
    let ranged = matches!(
        c.operator,
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge
    );
    let typed = |v: &Scalar| -> CustomScalar {
        let text = v.text.trim();
        if !v.quoted {
            if text.eq_ignore_ascii_case("true") {
                return CustomScalar::Bool(true);
            }
            if text.eq_ignore_ascii_case("false") {
                return CustomScalar::Bool(false);
            }
            if let Ok(CustomScalar::Number(n)) = custom_number(v, &c.field) {
                return CustomScalar::Number(n);
            }
        }
        // Relative dates only bound ranges: "7d" could be a lens's name.
        let instant = Timestamp::parse_iso8601(text).or_else(|| {
            ranged
                .then(|| relative_date(text, now).map(Timestamp::from_millis))
                .flatten()
        });
        match instant {
            Some(t) => CustomScalar::Instant(t.to_iso8601()),
            None => CustomScalar::Text(v.text.clone()),
        }
    };
    match c.operator {
        Operator::Exists => Ok(test(CustomTest::Exists)),
        Operator::NotExists => Ok(Filter::not(test(CustomTest::Exists))),
        op if is_membership(op) => {
            let wanted = values(c).into_iter().map(typed).collect();
            Ok(membership(
                c,
                Test::Embedded(name.to_owned(), CustomTest::AnyOf(wanted)),
            ))
        }
        Operator::Prefix => Ok(test(CustomTest::Prefix(values(c)[0].text.clone()))),
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => {
            let cmp = match c.operator {
                Operator::Lt => Comparison::Lt,
                Operator::Le => Comparison::Le,
                Operator::Gt => Comparison::Gt,
                _ => Comparison::Ge,
            };
            Ok(test(CustomTest::Compare(cmp, typed(values(c)[0]))))
        }
        _ => Err(unsupported(
            c,
            "`=`, `:`, `<`, `<=`, `>`, `>=`, `IN`, `NOT =`, `NOT IN`, `EXISTS` and `NOT EXISTS`",
        )),
    }
}

/// `"embeddedMetadata.LocationTaken"`: a virtual key, where the file's GPS tags place it.
fn bind_location(c: &Condition) -> Result<Filter, SearchError> {
    match c.operator {
        Operator::Exists => Ok(Filter::Test(Test::LocationKnown)),
        Operator::NotExists => Ok(Filter::not(Filter::Test(Test::LocationKnown))),
        op if is_membership(op) => {
            let areas = values(c)
                .into_iter()
                .map(|v| {
                    if !v.quoted {
                        return Err(SearchError::at(
                            v.column,
                            "a location is a quoted string: \"lat,lng 5km\", \"lat,lng|lat,lng\" \
                             or \"lat,lng|lat,lng|lat,lng…\"",
                        ));
                    }
                    GeoArea::parse(&v.text).map_err(|why| {
                        SearchError::at(v.column, format!("`{}`: {why}", super::shorten(&v.text)))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(membership(c, Test::LocationIn(areas)))
        }
        _ => Err(unsupported(
            c,
            "`=`, `NOT =`, `IN`, `NOT IN`, `EXISTS` and `NOT EXISTS`",
        )),
    }
}

fn custom_number(v: &Scalar, field: &str) -> Result<CustomScalar, SearchError> {
    v.text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(CustomScalar::Number)
        .ok_or_else(|| {
            SearchError::at(
                v.column,
                format!(
                    "`{field}` takes a number, not \"{}\"",
                    super::shorten(&v.text)
                ),
            )
        })
}

fn bind_name(c: &Condition) -> Result<Filter, SearchError> {
    match c.operator {
        op if is_membership(op) => {
            let names = values(c).into_iter().map(|v| v.text.clone()).collect();
            Ok(membership(c, Test::NameIn(names)))
        }
        Operator::Prefix => Ok(Filter::Test(Test::NamePrefix(values(c)[0].text.clone()))),
        Operator::Has => Ok(Filter::Test(Test::NameWords(has_words(values(c)[0])?))),
        _ => Err(unsupported(
            c,
            "`=`, `:`, `IN`, `NOT =`, `NOT IN` and `HAS`",
        )),
    }
}

fn bind_tags(c: &Condition) -> Result<Filter, SearchError> {
    match c.operator {
        op if is_membership(op) => {
            let tags = values(c).into_iter().map(|v| v.text.clone()).collect();
            Ok(membership(c, Test::TagsAny(tags)))
        }
        Operator::Has => Ok(Filter::Test(Test::TagWords(has_words(values(c)[0])?))),
        Operator::Exists => Ok(Filter::Test(Test::TagsExist)),
        Operator::NotExists => Ok(Filter::not(Filter::Test(Test::TagsExist))),
        _ => Err(unsupported(
            c,
            "`IN`, `NOT IN`, `=`, `NOT =`, `HAS`, `EXISTS` and `NOT EXISTS`",
        )),
    }
}

fn has_words(value: &Scalar) -> Result<Words, SearchError> {
    let mut all: Vec<String> = words(&value.text).collect();
    let Some(prefix) = all.pop() else {
        return Err(SearchError::at(
            value.column,
            "`HAS` needs at least one word (letters or digits) to look for",
        ));
    };
    Ok(Words { whole: all, prefix })
}

fn bind_path(c: &Condition) -> Result<Filter, SearchError> {
    let folder = |v: &Scalar| {
        FolderPath::parse_lenient(&v.text)
            .map_err(|e| SearchError::at(v.column, format!("`path` must be a folder path: {e}")))
    };
    match c.operator {
        op if is_membership(op) => {
            let folders = values(c)
                .into_iter()
                .map(folder)
                .collect::<Result<_, _>>()?;
            Ok(membership(c, Test::FolderIn(folders)))
        }
        Operator::Prefix => Ok(Filter::Test(Test::FolderWithin(folder(values(c)[0])?))),
        _ => Err(unsupported(c, "`=`, `:`, `IN`, `NOT =` and `NOT IN`")),
    }
}

/// A numeric bound as a fraction-free comparison: the columns hold integers, so
/// `x < 10.5` is `x <= 10` and `x = 10.5` holds for none.
#[derive(Debug, Clone, Copy)]
struct Number {
    /// Rounded down.
    floor: i64,
    exact: bool,
}

fn bind_numeric(
    c: &Condition,
    field: NumericField,
    parse: impl Fn(&Scalar) -> Result<Number, SearchError>,
) -> Result<Filter, SearchError> {
    let compare = |cmp, n: i64| Filter::Test(Test::Compare(field, cmp, n));
    match c.operator {
        Operator::Eq | Operator::NotEq | Operator::In | Operator::NotIn => {
            let numbers = values(c)
                .into_iter()
                .map(&parse)
                .collect::<Result<Vec<_>, _>>()?;
            let exact: Vec<i64> = numbers
                .into_iter()
                .filter(|n| n.exact)
                .map(|n| n.floor)
                .collect();
            let test = if exact.is_empty() {
                Filter::Const(false)
            } else {
                Filter::Test(Test::NumberIn(field, exact))
            };
            Ok(match c.operator {
                Operator::NotEq | Operator::NotIn => Filter::not(test),
                _ => test,
            })
        }
        Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => {
            let n = parse(values(c)[0])?;
            let cmp = match c.operator {
                Operator::Lt => Comparison::Lt,
                Operator::Le => Comparison::Le,
                Operator::Gt => Comparison::Gt,
                _ => Comparison::Ge,
            };
            // A bound with a fraction lies between floor and floor + 1.
            let cmp = match (cmp, n.exact) {
                (cmp, true) => cmp,
                (Comparison::Lt | Comparison::Le, false) => Comparison::Le,
                (_, false) => Comparison::Gt,
            };
            Ok(compare(cmp, n.floor))
        }
        _ => Err(unsupported(
            c,
            "`=`, `<`, `<=`, `>`, `>=`, `IN`, `NOT =` and `NOT IN`",
        )),
    }
}

/// A plain non-negative decimal: digits, optionally a fraction.
fn decimal(text: &str) -> Option<(u64, f64)> {
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = int_part.parse().ok()?;
    let fraction = match frac_part {
        None => 0.0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("0.{f}").parse().ok()?
        }
        Some(_) => return None,
    };
    Some((whole, fraction))
}

fn scaled(whole: u64, fraction: f64, unit: u64) -> Option<Number> {
    let base = whole.checked_mul(unit)?;
    let extra = fraction * unit as f64;
    let floor = base.checked_add(extra.floor() as u64)?;
    Some(Number {
        floor: i64::try_from(floor).ok()?,
        exact: extra.fract() == 0.0,
    })
}

fn parse_number(v: &Scalar, field: &str) -> Result<Number, SearchError> {
    decimal(&v.text)
        .and_then(|(whole, fraction)| scaled(whole, fraction, 1))
        .ok_or_else(|| {
            SearchError::at(
                v.column,
                format!(
                    "`{field}` takes a number of pixels, not \"{}\"",
                    super::shorten(&v.text)
                ),
            )
        })
}

fn parse_size(v: &Scalar) -> Result<Number, SearchError> {
    let lower = v.text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let unit = match unit.trim() {
        "" | "b" => Some(1),
        "kb" => Some(1 << 10),
        "mb" => Some(1 << 20),
        "gb" => Some(1 << 30),
        _ => None,
    };
    unit.and_then(|unit| {
        let (whole, fraction) = decimal(digits)?;
        scaled(whole, fraction, unit)
    })
    .ok_or_else(|| {
        SearchError::at(
            v.column,
            format!(
                "`size` takes bytes or a size like \"500kb\", \"1.5mb\", \"2gb\", not \"{}\"",
                super::shorten(&v.text)
            ),
        )
    })
}

fn parse_date(v: &Scalar, now: Timestamp) -> Result<Number, SearchError> {
    let millis = Timestamp::parse_iso8601(v.text.trim())
        .map(Timestamp::millis)
        .or_else(|| relative_date(v.text.trim(), now));
    match millis {
        Some(m) => Ok(Number {
            floor: m,
            exact: true,
        }),
        None => Err(SearchError::at(
            v.column,
            format!(
                "expected a date like \"2024-01-31\", \"2024-01-31T10:00:00Z\" or \"7d\" (h, d, w, m, y ago), not \"{}\"",
                super::shorten(&v.text)
            ),
        )),
    }
}

/// `7d` → seven days before `now`; `m` and `y` are calendar months and years.
fn relative_date(text: &str, now: Timestamp) -> Option<i64> {
    let lower = text.to_ascii_lowercase();
    let unit = lower.chars().last()?;
    let count: i64 = lower[..lower.len() - 1].parse().ok()?;
    if !(0..=100_000).contains(&count) {
        return None;
    }
    const HOUR: i64 = 3_600_000;
    match unit {
        'h' => Some(now.millis() - count * HOUR),
        'd' => Some(now.millis() - count * 24 * HOUR),
        'w' => Some(now.millis() - count * 7 * 24 * HOUR),
        'm' => Some(now.minus_months(count).millis()),
        'y' => Some(now.minus_months(count * 12).millis()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z

    fn bound(text: &str) -> SearchFilter {
        SearchFilter::parse(text, Timestamp::from_millis(NOW), &Default::default())
            .unwrap()
            .unwrap()
    }

    fn filter(text: &str) -> Filter {
        bound(text).filter
    }

    fn error(text: &str) -> SearchError {
        SearchFilter::parse(text, Timestamp::from_millis(NOW), &Default::default()).unwrap_err()
    }

    #[test]
    fn sizes_and_units() {
        assert_eq!(
            filter("size > \"1mb\""),
            Filter::Test(Test::Compare(NumericField::Size, Comparison::Gt, 1 << 20))
        );
        assert_eq!(
            filter("size >= 0.5KB"),
            Filter::Test(Test::Compare(NumericField::Size, Comparison::Ge, 512))
        );
        // 1.0001 kb = 1024.1024 bytes: `<` it means `<= 1024`, `>=` it means `> 1024`.
        assert_eq!(
            filter("size < \"1.0001kb\""),
            Filter::Test(Test::Compare(NumericField::Size, Comparison::Le, 1024))
        );
        assert_eq!(
            filter("size >= \"1.0001kb\""),
            Filter::Test(Test::Compare(NumericField::Size, Comparison::Gt, 1024))
        );
        assert_eq!(filter("width = 10.5"), Filter::Const(false));
        assert!(error("size > \"big\"").message.contains("size"));
        assert!(error("size > -1").message.contains("size"));
        assert!(error("width > 1e3").message.contains("pixels"));
    }

    #[test]
    fn dates_absolute_and_relative() {
        let day = 86_400_000;
        assert_eq!(
            filter("createdAt > \"7d\""),
            Filter::Test(Test::Compare(
                NumericField::CreatedAt,
                Comparison::Gt,
                NOW - 7 * day
            ))
        );
        assert_eq!(
            filter("updatedAt <= 2024-01-02"),
            Filter::Test(Test::Compare(
                NumericField::UpdatedAt,
                Comparison::Le,
                1_704_153_600_000
            ))
        );
        assert_eq!(
            filter("createdAt = \"2024-01-02 03:04:05\""),
            Filter::Test(Test::NumberIn(
                NumericField::CreatedAt,
                vec![1_704_164_645_000]
            ))
        );
        // 2023-11-14 minus one calendar month: 2023-10-14, same time of day.
        assert_eq!(
            filter("createdAt > \"1m\""),
            Filter::Test(Test::Compare(
                NumericField::CreatedAt,
                Comparison::Gt,
                NOW - 31 * day
            ))
        );
        assert!(error("createdAt > 12").message.contains("date"));
        assert!(error("createdAt > \"7x\"").message.contains("date"));
    }

    #[test]
    fn kinds_follow_type_tests() {
        assert_eq!(bound("name = a").kinds, vec![AssetKind::File]);
        assert_eq!(
            bound("name = a OR type = \"folder\"").kinds,
            AssetKind::ALL.to_vec()
        );
        assert!(error("type = \"photo\"").message.contains("photo"));
    }

    #[test]
    fn operators_fields_take() {
        assert_eq!(error("width HAS \"x\"").column, 7);
        assert!(
            error("tags < 3")
                .message
                .contains("`tags` does not take `<`")
        );
        assert!(error("private > true").message.contains("`=` and `NOT =`"));
        assert!(error("private = maybe").message.contains("true or false"));
        assert!(error("nope = 1").message.contains("unknown field"));
        assert!(
            error("\"customMetadata.brand\" = x")
                .message
                .contains("custom metadata")
        );
        assert!(
            error("videoDuration > 3")
                .message
                .contains("not searchable yet")
        );
        assert!(
            error("name HAS \"--\"")
                .message
                .contains("at least one word")
        );
    }

    #[test]
    fn has_splits_words() {
        assert_eq!(
            filter("name HAS \"Red dre\""),
            Filter::Test(Test::NameWords(Words {
                whole: vec!["red".into()],
                prefix: "dre".into()
            }))
        );
    }

    #[test]
    fn specialising_for_a_kind_folds_constants() {
        let f = filter("type = \"folder\" OR (size > 10 AND tags IN [a])");
        assert_eq!(f.for_kind(AssetKind::Folder), Filter::Const(true));
        assert_eq!(
            f.for_kind(AssetKind::File),
            Filter::And(vec![
                Filter::Test(Test::Compare(NumericField::Size, Comparison::Gt, 10)),
                Filter::Test(Test::TagsAny(vec!["a".into()])),
            ])
        );
        let f = filter("width NOT = 3 AND type IN [\"folder\"]");
        assert_eq!(f.for_kind(AssetKind::Folder), Filter::Const(true));
        assert_eq!(f.for_kind(AssetKind::File), Filter::Const(false));
        assert_eq!(
            filter("path : \"/\"").for_kind(AssetKind::File),
            Filter::Const(true)
        );
    }
}
