//! A `SearchFilter` as SQL, for both engines: one `SELECT` per kind of row the query looks at
//! (files, file versions, folders), each with the filter specialised to that kind
//! (`Filter::for_kind`), under one `ORDER BY … LIMIT … OFFSET`.
//!
//! Every test compiles to an expression that is never NULL, so `NOT` means "not this" even for
//! rows lacking the field — the two-valued logic `model::search::reference` defines.

use super::sql::{Dialect, JsonFlavour, Statement};
use crate::model::geo::GeoArea;
use crate::model::search::custom::{INSTANT_GLOB, INSTANT_REGEX};
use crate::model::search::{
    AssetKind, Comparison, CustomScalar, CustomTest, Filter, FlagField, NameMatch, NumericField,
    SearchFilter, Test, Words,
};
use crate::model::{FileTypeFilter, ListQuery, SortField, SortOrder};

/// Column names a kind's `SELECT` uses for each field.
struct Columns {
    id: &'static str,
    name: &'static str,
    folder_path: &'static str,
    created_at: &'static str,
    updated_at: &'static str,
}

const FILE_COLUMNS: Columns = Columns {
    id: "f.id",
    name: "f.name",
    folder_path: "d.path",
    created_at: "v.created_at",
    updated_at: "v.updated_at",
};

const FOLDER_COLUMNS: Columns = Columns {
    id: "id",
    name: "name",
    folder_path: "parent_path",
    created_at: "created_at",
    updated_at: "updated_at",
};

/// The page of `(kind, id)` rows a search answers, in order; None when no kind can match.
pub fn search_page_query(
    search: &SearchFilter,
    query: &ListQuery,
    dialect: &Dialect,
) -> Option<Statement> {
    let mut st = Statement::new("SELECT kind, id FROM (");
    let mut branches = 0;
    for kind in &search.kinds {
        let filter = search.filter.for_kind(*kind);
        if filter == Filter::Const(false) {
            continue;
        }
        if branches > 0 {
            st.push(" UNION ALL ");
        }
        branches += 1;
        let columns = match kind {
            AssetKind::Folder => {
                st.push(
                    "SELECT 'folder' AS kind, id, id AS asset_id, name, created_at, updated_at,
                            NULL AS width, NULL AS height, NULL AS size
                     FROM folders WHERE path <> '/'",
                );
                if let Some(folder) = &query.folder {
                    st.push(" AND parent_path = ")
                        .bind(folder.as_str().to_owned());
                }
                &FOLDER_COLUMNS
            }
            AssetKind::File | AssetKind::FileVersion => {
                st.push(
                    "SELECT 'file' AS kind, v.id AS id, f.id AS asset_id, f.name AS name,
                            v.created_at AS created_at, v.updated_at AS updated_at,
                            v.width AS width, v.height AS height, v.size AS size
                     FROM files f JOIN folders d ON d.id = f.folder_id ",
                );
                st.push(if *kind == AssetKind::File {
                    "JOIN file_versions v ON v.id = f.current_version_id WHERE 1 = 1"
                } else {
                    "JOIN file_versions v ON v.file_id = f.id WHERE v.id <> f.current_version_id"
                });
                if let Some(folder) = &query.folder {
                    st.push(" AND d.path = ").bind(folder.as_str().to_owned());
                }
                if let FileTypeFilter::Only(file_kind) = query.file_type {
                    st.push(" AND v.file_type = ")
                        .bind(file_kind.as_str().to_owned());
                }
                &FILE_COLUMNS
            }
        };
        if filter != Filter::Const(true) {
            st.push(" AND ");
            push_filter(&mut st, &filter, columns, dialect);
        }
    }
    if branches == 0 {
        return None;
    }
    st.push(") AS page");
    push_order(&mut st, query, dialect);
    Some(st)
}

/// `ORDER BY … LIMIT … OFFSET …` over a union with `name`, `created_at`, `updated_at`,
/// `width`, `height`, `size`, `asset_id` and `id` columns. Missing values sort first
/// ascending and last descending on both engines; ties go by asset id, then row id.
pub fn push_order(st: &mut Statement, query: &ListQuery, dialect: &Dialect) {
    let (field, order) = query.sort;
    let column = match field {
        SortField::Name => dialect.name_order,
        SortField::Created
        | SortField::Relevance
        | SortField::Duration
        | SortField::OriginalCreationDate => "created_at",
        SortField::Updated => "updated_at",
        SortField::Height => "height",
        SortField::Width => "width",
        SortField::Size => "size",
    };
    let (direction, nulls) = match order {
        SortOrder::Asc => ("ASC", "NULLS FIRST"),
        SortOrder::Desc => ("DESC", "NULLS LAST"),
    };
    st.push(&format!(
        " ORDER BY {column} {direction} {nulls}, asset_id {direction}, id {direction} LIMIT "
    ));
    st.bind(i64::from(query.limit));
    st.push(" OFFSET ");
    st.bind(query.skip.min(i64::MAX as u64) as i64);
}

fn push_filter(st: &mut Statement, filter: &Filter, columns: &Columns, dialect: &Dialect) {
    match filter {
        Filter::Const(true) => {
            st.push("1 = 1");
        }
        Filter::Const(false) => {
            st.push("1 = 0");
        }
        Filter::And(parts) | Filter::Or(parts) => {
            let joiner = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            st.push("(");
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    st.push(joiner);
                }
                push_filter(st, part, columns, dialect);
            }
            st.push(")");
        }
        Filter::Not(inner) => {
            st.push("NOT ");
            push_filter(st, inner, columns, dialect);
        }
        Filter::Test(test) => push_test(st, test, columns, dialect),
    }
}

fn in_list(st: &mut Statement, column: &str, values: impl IntoIterator<Item = String>) {
    st.push("(").push(column).push(" IN (");
    st.bind_list(values);
    st.push("))");
}

fn comparison(cmp: Comparison) -> &'static str {
    match cmp {
        Comparison::Eq => " = ",
        Comparison::Lt => " < ",
        Comparison::Le => " <= ",
        Comparison::Gt => " > ",
        Comparison::Ge => " >= ",
    }
}

/// `HAS` against a column of words framed by spaces (see `search::indexed_words`). Words
/// are letters and digits only, so they need no escaping inside a `LIKE` pattern.
fn push_words(st: &mut Statement, words_column: &str, search: &Words) {
    st.push("(");
    for word in &search.whole {
        st.push(words_column)
            .push(" LIKE ")
            .bind(format!("% {word} %"))
            .push(" AND ");
    }
    st.push(words_column)
        .push(" LIKE ")
        .bind(format!("% {}%", search.prefix))
        .push(")");
}

fn push_test(st: &mut Statement, test: &Test, columns: &Columns, dialect: &Dialect) {
    match test {
        // `for_kind` has replaced these by constants.
        Test::Kind(_) => {
            st.push("1 = 0");
        }
        Test::Id(ids) => in_list(st, columns.id, ids.iter().cloned()),
        Test::NameIn(names) => in_list(st, columns.name, names.iter().cloned()),
        Test::NamePrefix(prefix) => {
            let length = prefix.chars().count();
            st.push(&format!("(substr({}, 1, {length}) = ", columns.name))
                .bind(prefix.clone())
                .push(")");
        }
        Test::NameFolded(NameMatch::Prefix(prefix)) => {
            let length = prefix.chars().count();
            st.push(&format!("(substr(lower({}), 1, {length}) = ", columns.name))
                .bind(prefix.clone())
                .push(")");
        }
        Test::NameFolded(NameMatch::Contains(text)) => {
            st.push(&format!("({}(lower({}), ", dialect.position, columns.name))
                .bind(text.clone())
                .push(") > 0)");
        }
        Test::NameWords(search) => {
            // Names hold only ASCII letters, digits, `_`, `-` and `.` (`FileName::sanitise`,
            // `FolderPath::parse_lenient`), so these three separators cut them into the same
            // words `search::words` does.
            let words = format!(
                "(' ' || lower(replace(replace(replace({}, '_', ' '), '-', ' '), '.', ' ')) || ' ')",
                columns.name
            );
            push_words(st, &words, search);
        }
        Test::TagsAny(tags) => {
            st.push("(").push(dialect.tags_any_of);
            st.bind_list(tags.iter().cloned());
            st.push(")) OR ").push(dialect.ai_tags_any_of);
            st.bind_list(tags.iter().cloned());
            st.push(")))");
        }
        Test::TagWords(search) => {
            st.push("(v.tag_words IS NOT NULL AND ");
            push_words(st, "v.tag_words", search);
            st.push(")");
        }
        Test::TagsExist => {
            st.push("(").push(dialect.tag_count).push(" > 0)");
        }
        Test::Compare(field, cmp, bound) => {
            let column = numeric_column(*field, columns);
            st.push(&format!("({column} IS NOT NULL AND {column}"))
                .push(comparison(*cmp))
                .bind(*bound)
                .push(")");
        }
        Test::NumberIn(field, values) => {
            let column = numeric_column(*field, columns);
            st.push(&format!("({column} IS NOT NULL AND {column} IN ("));
            st.bind_list(values.iter().copied());
            st.push("))");
        }
        Test::FormatIn(formats) => in_list(st, "v.format", formats.iter().cloned()),
        Test::FileTypeIn(kinds) => in_list(
            st,
            "v.file_type",
            kinds.iter().map(|k| k.as_str().to_owned()),
        ),
        Test::Flag(field, value) => {
            let column = match field {
                FlagField::Private => "v.is_private",
                FlagField::Published => "v.is_published",
                FlagField::Transparency => "v.has_alpha",
            };
            st.push("(").push(column).push(" = ").bind(*value).push(")");
        }
        Test::FolderIn(folders) => in_list(
            st,
            columns.folder_path,
            folders.iter().map(|f| f.as_str().to_owned()),
        ),
        Test::FolderWithin(root) => {
            // `root` itself, or a path in ['/a/', '/a0'): '0' follows '/' in byte order,
            // which is the order `byte_order` asks the engine for.
            let column = format!("{}{}", columns.folder_path, dialect.byte_order);
            st.push(&format!("({} = ", columns.folder_path))
                .bind(root.as_str().to_owned())
                .push(&format!(" OR ({column} > "))
                .bind(format!("{}/", root.as_str()))
                .push(&format!(" AND {column} < "))
                .bind(format!("{}0", root.as_str()))
                .push("))");
        }
        Test::Custom(name, test) => push_custom(st, "v.custom_metadata", name, test, dialect),
        Test::Embedded(name, test) => push_custom(st, "v.embedded_metadata", name, test, dialect),
        Test::LocationKnown => {
            st.push("(v.gps_lat IS NOT NULL)");
        }
        Test::LocationIn(areas) => {
            st.push("(v.gps_lat IS NOT NULL AND (");
            for (i, area) in areas.iter().enumerate() {
                if i > 0 {
                    st.push(" OR ");
                }
                push_area(st, area);
            }
            st.push("))");
        }
    }
}

/// `GeoArea::contains` in SQL, operation for operation, so that a point on an edge gets the
/// same answer from every evaluator.
fn push_area(st: &mut Statement, area: &GeoArea) {
    let range = |st: &mut Statement, column: &str, (low, high): (f64, f64)| {
        st.push(&format!("{column} >= "))
            .bind(low)
            .push(&format!(" AND {column} <= "))
            .bind(high);
    };
    st.push("(");
    match area {
        GeoArea::Circle {
            centre,
            min_dot,
            lat,
        } => {
            range(st, "v.gps_lat", *lat);
            st.push(" AND v.gps_x * ")
                .bind(centre[0])
                .push(" + v.gps_y * ")
                .bind(centre[1])
                .push(" + v.gps_z * ")
                .bind(centre[2])
                .push(" >= ")
                .bind(*min_dot);
        }
        GeoArea::Box { lat, lng } => {
            range(st, "v.gps_lat", *lat);
            st.push(" AND ");
            range(st, "v.gps_lng", *lng);
        }
        GeoArea::Polygon { lat, lng, edges } => {
            range(st, "v.gps_lat", *lat);
            st.push(" AND ");
            range(st, "v.gps_lng", *lng);
            st.push(" AND (0");
            for edge in edges {
                st.push(" + CASE WHEN v.gps_lat >= ")
                    .bind(edge.lat_from)
                    .push(" AND v.gps_lat < ")
                    .bind(edge.lat_to)
                    .push(" AND v.gps_lng < ")
                    .bind(edge.slope)
                    .push(" * (v.gps_lat - ")
                    .bind(edge.lat_at)
                    .push(") + ")
                    .bind(edge.lng_at)
                    .push(" THEN 1 ELSE 0 END");
            }
            st.push(") % 2 = 1");
        }
    }
    st.push(")");
}

/// `EXISTS (SELECT 1 FROM <the field's scalars> c WHERE <test on one scalar>)`: a stored
/// value is one scalar or an array of them (`model::search::custom`). A missing key yields
/// no scalar (SQLite) or a JSON null that no test accepts (PostgreSQL).
fn push_custom(st: &mut Statement, column: &str, name: &str, test: &CustomTest, dialect: &Dialect) {
    if let CustomTest::Words(search) = test {
        // `v.custom_words` holds " name:word … " (`search::indexed_custom_words`). Field
        // names are case-sensitive, so SQLite matches with GLOB (its LIKE ignores ASCII case);
        // PostgreSQL's LIKE is case-sensitive but takes `_` in a name for a wildcard. Words
        // and names hold no other wildcard of either.
        let (op, any, field, escape) = match dialect.json {
            JsonFlavour::Sqlite => (" GLOB ", "*", name.to_owned(), ""),
            JsonFlavour::Postgres => (" LIKE ", "%", name.replace('_', "\\_"), " ESCAPE '\\'"),
        };
        st.push("(v.custom_words IS NOT NULL");
        for word in &search.whole {
            st.push(" AND v.custom_words")
                .push(op)
                .bind(format!("{any} {field}:{word} {any}"))
                .push(escape);
        }
        st.push(" AND v.custom_words")
            .push(op)
            .bind(format!("{any} {field}:{}{any}", search.prefix))
            .push(escape)
            .push(")");
        return;
    }
    let json = dialect.json;
    match json {
        JsonFlavour::Sqlite => {
            st.push(&format!("EXISTS (SELECT 1 FROM json_each({column}, "))
                .bind(format!("$.\"{name}\""))
                .push(") c WHERE ");
        }
        JsonFlavour::Postgres => {
            st.push(&format!(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof({column}::jsonb -> "
            ))
            .bind(name.to_owned())
            .push(&format!(") WHEN 'array' THEN {column}::jsonb -> "))
            .bind(name.to_owned())
            .push(&format!(" ELSE jsonb_build_array({column}::jsonb -> "))
            .bind(name.to_owned())
            .push(") END) c(value) WHERE ");
        }
    }
    let (is_text, text, is_number, number, is_bool) = match json {
        JsonFlavour::Sqlite => (
            "c.type = 'text'",
            "c.value",
            "c.type IN ('integer', 'real')",
            // As doubles, as the reference compares: SQLite compares integers with reals
            // exactly, which differs beyond 2^53.
            "CAST(c.value AS REAL)",
            "c.type IN ('true', 'false')",
        ),
        JsonFlavour::Postgres => (
            "jsonb_typeof(c.value) = 'string'",
            "(c.value #>> '{}')",
            "jsonb_typeof(c.value) = 'number'",
            // The cast only where it cannot fail: PostgreSQL may test conditions in any order.
            "(CASE WHEN jsonb_typeof(c.value) = 'number' THEN (c.value #>> '{}')::float8 END)",
            "jsonb_typeof(c.value) = 'boolean'",
        ),
    };
    let bool_is = |b: bool| match (json, b) {
        (JsonFlavour::Sqlite, true) => "c.type = 'true'",
        (JsonFlavour::Sqlite, false) => "c.type = 'false'",
        (JsonFlavour::Postgres, true) => "c.value = 'true'::jsonb",
        (JsonFlavour::Postgres, false) => "c.value = 'false'::jsonb",
    };
    match test {
        CustomTest::Exists => {
            st.push(&format!("({is_text} OR {is_number} OR {is_bool})"));
        }
        CustomTest::AnyOf(values) => {
            let texts: Vec<String> = values
                .iter()
                .filter_map(|v| match v {
                    CustomScalar::Text(t) | CustomScalar::Instant(t) => Some(t.clone()),
                    _ => None,
                })
                .collect();
            let numbers: Vec<f64> = values
                .iter()
                .filter_map(|v| match v {
                    CustomScalar::Number(n) => Some(*n),
                    _ => None,
                })
                .collect();
            st.push("(1 = 0");
            if !texts.is_empty() {
                st.push(&format!(" OR ({is_text} AND {text} IN ("));
                st.bind_list(texts);
                st.push("))");
            }
            if !numbers.is_empty() {
                st.push(&format!(" OR ({is_number} AND {number} IN ("));
                st.bind_list(numbers);
                st.push("))");
            }
            for b in [true, false] {
                if values.contains(&CustomScalar::Bool(b)) {
                    st.push(" OR ").push(bool_is(b));
                }
            }
            st.push(")");
        }
        CustomTest::Prefix(prefix) => {
            st.push(&format!(
                "({is_text} AND substr({text}, 1, {}) = ",
                prefix.chars().count()
            ))
            .bind(prefix.clone())
            .push(")");
        }
        CustomTest::Compare(cmp, bound) => match bound {
            CustomScalar::Text(t) => {
                // Byte order, as the reference compares (dates are ISO text).
                st.push(&format!("({is_text} AND {text}{}", dialect.byte_order))
                    .push(comparison(*cmp))
                    .bind(t.clone())
                    .push(")");
            }
            CustomScalar::Number(n) => {
                st.push(&format!("({is_number} AND {number}"))
                    .push(comparison(*cmp))
                    .bind(*n)
                    .push(")");
            }
            CustomScalar::Instant(t) => {
                let shape = match json {
                    JsonFlavour::Sqlite => format!("{text} GLOB '{INSTANT_GLOB}'"),
                    JsonFlavour::Postgres => format!("{text} ~ '{INSTANT_REGEX}'"),
                };
                st.push(&format!(
                    "({is_text} AND {shape} AND {text}{}",
                    dialect.byte_order
                ))
                .push(comparison(*cmp))
                .bind(t.clone())
                .push(")");
            }
            CustomScalar::Bool(_) => {
                st.push("1 = 0");
            }
        },
        // Answered from `v.custom_words` above.
        CustomTest::Words(_) => {
            st.push("1 = 0");
        }
    }
    st.push(")");
}

fn numeric_column(field: NumericField, columns: &Columns) -> &'static str {
    match field {
        NumericField::CreatedAt => columns.created_at,
        NumericField::UpdatedAt => columns.updated_at,
        NumericField::Size => "v.size",
        NumericField::Width => "v.width",
        NumericField::Height => "v.height",
    }
}
