//! The SQL search, on both engines, and the in-memory search index (`kura::index`), against
//! the reference evaluator
//! (`kura::model::search::reference`): seeded random libraries are bulk-imported into a
//! store and described to the reference as `SearchRecord`s; seeded random query texts (every
//! field and operator of docs/search.md, nested AND/OR, `type` tests, relative dates, sizes
//! with units, `NOT` forms, `EXISTS`) are parsed once and handed to both with random
//! `path`/`fileType`/`sort`/`skip`/`limit` parameters. Both must answer the same rows in the
//! same order.
//!
//! Reproducing a failure: the report names the library seed and the case number;
//! `KURA_SEARCH_SEED=<seed> KURA_SEARCH_CASE=<case> cargo test --test search_contract <test>`
//! runs exactly that case again (`KURA_SEARCH_CASES=<n>` changes how many run per library).
//! Paging cases are numbered from 10 000; the seed alone reruns them.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use kura::index::{IndexTuning, SearchIndex};
use kura::model::search::reference::{self, SearchRecord};
use kura::model::search::{AssetKind, NameMatch, SearchFilter};
use kura::model::{
    AssetTypeFilter, FileKind, FileTypeFilter, FolderPath, ListQuery, ListedAsset, SortField,
    SortOrder, Timestamp,
};
use kura::store::{Cell, MetadataStore, Table};

mod common;
use common::{drop_database, postgres_with as postgres, sqlite};

// ---------------------------------------------------------------------------------------------
// Randomness: a seeded xorshift, so every library and query can be made again from its seed.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that neighbouring seeds start far apart (and never at 0).
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0 ..= n - 1.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// lo ..= hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// 24 lowercase hex digits, like `AssetId`.
    fn hex_id(&mut self) -> String {
        format!("{:08x}{:016x}", self.next() as u32, self.next())
    }
}

/// The seed of one query case: a function of the library's seed and the case number.
fn case_seed(library_seed: u64, case: usize) -> u64 {
    library_seed
        .wrapping_mul(0x100_0000_01b3)
        .wrapping_add(case as u64 + 1)
}

// ---------------------------------------------------------------------------------------------
// Libraries

/// "Now" for every relative date; 2023-11-14T22:13:20Z.
const NOW: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A few instants, so that sorting by time has many ties; several sit exactly on the bounds
/// of relative dates (`"7d"`, `"1m"`, `"1y"`), to tell `>` from `>=`.
fn times() -> Vec<i64> {
    let now = Timestamp::from_millis(NOW);
    vec![
        NOW - HOUR,
        NOW - 3 * DAY,
        NOW - 7 * DAY,
        NOW - 7 * DAY + 1,
        now.minus_months(1).millis(),
        now.minus_months(12).millis(),
        1_600_000_000_123,
        1_704_153_600_000, // 2024-01-02, midnight UTC
    ]
}

const SIZES: [i64; 10] = [
    0,
    1,
    512,
    1023,
    1024,
    1536,
    10_240,
    1 << 20,
    3 << 19,
    1 << 31,
];
const PIXELS: [i64; 5] = [1, 100, 640, 1024, 1920];
const IMAGE_FORMATS: [&str; 5] = ["jpg", "png", "webp", "gif", "svg"];
const OTHER_FORMATS: [&str; 4] = ["pdf", "mp4", "txt", ""];

/// Folder names: prefixes of each other (`a`, `a-b`, `a_b`, `ab`) to catch path ranges that
/// are too wide, and case variants.
const FOLDER_NAMES: [&str; 16] = [
    "a",
    "A",
    "a-b",
    "a_b",
    "ab",
    "red",
    "Red",
    "RED",
    "shop",
    "summer",
    "Summer-2024",
    "photos",
    "x1",
    "2024",
    "_private",
    "products",
];

/// Folders every library has (besides random ones).
const SKELETON: [&str; 8] = ["/a", "/a/b", "/a/b/c", "/a-b", "/a_b", "/ab", "/A", "/red"];

const FILE_STEMS: [&str; 20] = [
    "Red_Dress-2024",
    "red",
    "RED",
    "Red",
    "red-dress",
    "red_dress",
    "redder",
    "blue",
    "Blue.Sky",
    "sale_2024",
    "summer-sale",
    "IMG_0001",
    "img_0001",
    "a",
    "A",
    "_hidden",
    "-dash",
    "x.y.z",
    "report-final",
    "2024",
];

const FILE_EXTENSIONS: [&str; 9] = [
    ".jpg", ".JPG", ".png", ".pdf", ".mp4", "", ".tar.gz", ".webp", ".",
];

/// Tags: multi-word, mixed case, unicode, quotes and backslashes, words shared with names.
const TAGS: [&str; 18] = [
    "sale",
    "Sale",
    "SALE",
    "summer sale",
    "Summer",
    "red",
    "RED dress",
    "Été",
    "été",
    "naïve café",
    "say \"hi\"",
    "back\\slash",
    "2024",
    "a-b_c",
    "x.y",
    "Straße",
    "  spaced  out ",
    "dress",
];

const AI_TAGS: [&str; 6] = ["Dress", "red", "Beach", "été", "Sale", "sunny day"];

struct Folder {
    id: String,
    path: FolderPath,
    created_at: i64,
    updated_at: i64,
}

struct Version {
    id: String,
    size: i64,
    format: String,
    kind: FileKind,
    width: Option<i64>,
    height: Option<i64>,
    has_alpha: bool,
    tags: Option<Vec<String>>,
    ai_tags: Option<Vec<String>>,
    private: bool,
    published: bool,
    created_at: i64,
    updated_at: i64,
}

struct File {
    id: String,
    /// Index into `Library::folders`.
    folder: usize,
    name: String,
    versions: Vec<Version>,
    /// Index into `versions`.
    current: usize,
}

struct Library {
    seed: u64,
    /// The root first.
    folders: Vec<Folder>,
    files: Vec<File>,
    /// The same library as the reference sees it.
    records: Vec<SearchRecord>,
}

fn depth(path: &FolderPath) -> usize {
    path.lineage().len()
}

impl Library {
    fn generate(seed: u64) -> Library {
        let mut rng = Rng::new(seed);
        let times = times();
        let mut ids = HashSet::new();
        let mut fresh_id = |rng: &mut Rng| loop {
            let id = rng.hex_id();
            if id != "000000000000000000000000" && ids.insert(id.clone()) {
                return id;
            }
        };
        let mut folders = vec![Folder {
            id: "000000000000000000000000".into(),
            path: FolderPath::root(),
            created_at: 0,
            updated_at: 0,
        }];
        // Always these: siblings whose paths are prefixes of each other (`/a`, `/a-b`, `/a_b`,
        // `/ab`: `-` sorts before `/`, `_` and `b` after it), so `path :` ranges that are too
        // wide or too narrow show; case variants; a few levels below `/a`.
        let mut paths = HashSet::new();
        for path in SKELETON {
            let path = FolderPath::parse_lenient(path).unwrap();
            paths.insert(path.clone());
            folders.push(Folder {
                id: fresh_id(&mut rng),
                path,
                created_at: *rng.pick(&times),
                updated_at: *rng.pick(&times),
            });
        }
        let folder_count = rng.range(10, 25);
        while folders.len() <= folder_count {
            let parent = folders[rng.below(folders.len())].path.clone();
            if depth(&parent) >= 4 {
                continue;
            }
            let name = *rng.pick(&FOLDER_NAMES);
            let path = parent.child(name);
            if !paths.insert(path.clone()) {
                continue;
            }
            folders.push(Folder {
                id: fresh_id(&mut rng),
                path,
                created_at: *rng.pick(&times),
                updated_at: *rng.pick(&times),
            });
        }
        let file_count = rng.range(60, 150);
        let mut names = HashSet::new();
        let mut files = Vec::new();
        while files.len() < file_count {
            // A third of the files at the top, where most listings look, and many in the
            // folders whose paths are prefixes of each other.
            let folder = match rng.below(10) {
                0..=2 => 0,
                3..=5 => rng.range(1, SKELETON.len()),
                _ => rng.below(folders.len()),
            };
            let name = format!("{}{}", rng.pick(&FILE_STEMS), rng.pick(&FILE_EXTENSIONS));
            if !names.insert((folder, name.clone())) {
                continue;
            }
            let id = fresh_id(&mut rng);
            let version_count = rng.range(1, 3);
            let versions = (0..version_count)
                .map(|n| {
                    // The first version shares the file's id, as uploads make it.
                    let vid = if n == 0 {
                        id.clone()
                    } else {
                        fresh_id(&mut rng)
                    };
                    Version::generate(&mut rng, vid, &times)
                })
                .collect();
            // Mostly the newest version is current; sometimes an older one was restored.
            let current = if rng.chance(75) {
                version_count - 1
            } else {
                rng.below(version_count)
            };
            files.push(File {
                id,
                folder,
                name,
                versions,
                current,
            });
        }
        let mut library = Library {
            seed,
            folders,
            files,
            records: Vec::new(),
        };
        library.records = library.search_records();
        library
    }

    fn search_records(&self) -> Vec<SearchRecord> {
        let mut records = Vec::new();
        for folder in &self.folders[1..] {
            records.push(SearchRecord {
                kind: AssetKind::Folder,
                id: folder.id.clone(),
                row_id: folder.id.clone(),
                name: folder.path.name().to_owned(),
                folder: folder.path.parent().unwrap(),
                created_at: folder.created_at,
                updated_at: folder.updated_at,
                size: None,
                width: None,
                height: None,
                format: None,
                file_type: None,
                private: None,
                published: None,
                transparency: None,
                tags: Vec::new(),
                custom_metadata: Default::default(),
            });
        }
        for file in &self.files {
            for (i, v) in file.versions.iter().enumerate() {
                records.push(SearchRecord {
                    kind: if i == file.current {
                        AssetKind::File
                    } else {
                        AssetKind::FileVersion
                    },
                    id: file.id.clone(),
                    row_id: v.id.clone(),
                    name: file.name.clone(),
                    folder: self.folders[file.folder].path.clone(),
                    created_at: v.created_at,
                    updated_at: v.updated_at,
                    size: Some(v.size),
                    width: v.width,
                    height: v.height,
                    format: Some(v.format.clone()),
                    file_type: Some(v.kind),
                    private: Some(v.private),
                    published: Some(v.published),
                    transparency: Some(v.has_alpha),
                    tags: v
                        .tags
                        .iter()
                        .flatten()
                        .chain(v.ai_tags.iter().flatten())
                        .cloned()
                        .collect(),
                    custom_metadata: Default::default(),
                });
            }
        }
        records
    }

    async fn import(&self, store: &dyn MetadataStore) {
        let text = |s: &str| Cell::Text(s.to_owned());
        let int_or_null = |v: Option<i64>| v.map_or(Cell::Null, Cell::Int);
        let folders: Vec<Vec<Cell>> = self.folders[1..]
            .iter()
            .map(|f| {
                vec![
                    text(&f.id),
                    text(f.path.as_str()),
                    text(f.path.parent().unwrap().as_str()),
                    text(f.path.name()),
                    Cell::Int(f.created_at),
                    Cell::Int(f.updated_at),
                ]
            })
            .collect();
        let mut blobs = Vec::new();
        let mut files = Vec::new();
        let mut versions = Vec::new();
        for file in &self.files {
            let current = &file.versions[file.current];
            files.push(vec![
                text(&file.id),
                text(&self.folders[file.folder].id),
                text(&file.name),
                text(&current.id),
                Cell::Int(file.versions[0].created_at),
                Cell::Int(current.updated_at),
            ]);
            for (n, v) in file.versions.iter().enumerate() {
                let blob = format!("{:0>64}", v.id);
                blobs.push(vec![
                    text(&blob),
                    Cell::Int(v.size),
                    text("live"),
                    Cell::Int(0),
                ]);
                let ai_tags = v.ai_tags.as_ref().map(|tags| {
                    serde_json::Value::from(
                        tags.iter()
                            .map(|name| {
                                serde_json::json!({
                                    "name": name,
                                    "confidence": 93.5,
                                    "source": "google-auto-tagging",
                                })
                            })
                            .collect::<Vec<_>>(),
                    )
                    .to_string()
                });
                let mime = match v.kind {
                    FileKind::Image => format!("image/{}", v.format),
                    FileKind::NonImage => "application/octet-stream".to_owned(),
                };
                versions.push(vec![
                    text(&v.id),
                    text(&file.id),
                    Cell::Int(n as i64 + 1),
                    text(&blob),
                    Cell::Int(v.size),
                    text(&mime),
                    text(&v.format),
                    text(v.kind.as_str()),
                    int_or_null(v.width),
                    int_or_null(v.height),
                    Cell::Bool(v.has_alpha),
                    v.tags.as_ref().map_or(Cell::Null, |t| {
                        Cell::Text(serde_json::Value::from(t.clone()).to_string())
                    }),
                    ai_tags.map_or(Cell::Null, Cell::Text),
                    Cell::Null,
                    text("{}"),
                    Cell::Null,
                    Cell::Bool(v.private),
                    Cell::Bool(v.published),
                    Cell::Int(v.created_at),
                    Cell::Int(v.updated_at),
                ]);
            }
        }
        for (table, rows) in [
            (Table::Blobs, blobs),
            (Table::Folders, folders),
            (Table::Files, files),
            (Table::FileVersions, versions),
        ] {
            let inserted = store.import_rows(table, &rows).await.unwrap();
            assert_eq!(inserted, rows.len() as u64, "importing {}", table.name());
        }
    }

    fn record(&self, kind: AssetKind, row_id: &str) -> Option<&SearchRecord> {
        self.records
            .iter()
            .find(|r| r.kind == kind && r.row_id == row_id)
    }

    fn folder_paths(&self) -> Vec<&FolderPath> {
        self.folders.iter().map(|f| &f.path).collect()
    }

    /// Every name a query may look for: files' and folders'.
    fn names(&self) -> Vec<&str> {
        self.files
            .iter()
            .map(|f| f.name.as_str())
            .chain(self.folders[1..].iter().map(|f| f.path.name()))
            .collect()
    }
}

/// One to `most` distinct tags from `vocabulary`.
fn tag_list(rng: &mut Rng, vocabulary: &[&str], most: usize) -> Vec<String> {
    let count = rng.range(1, most);
    let mut tags: Vec<String> = Vec::new();
    for _ in 0..count {
        let tag = rng.pick(vocabulary).to_string();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

impl Version {
    fn generate(rng: &mut Rng, id: String, times: &[i64]) -> Version {
        let image = rng.chance(60);
        let (format, kind) = if image {
            (*rng.pick(&IMAGE_FORMATS), FileKind::Image)
        } else {
            (*rng.pick(&OTHER_FORMATS), FileKind::NonImage)
        };
        // Images have dimensions, except now and then (an image Kura could not measure).
        let measured = image && rng.chance(90);
        let width = measured.then(|| *rng.pick(&PIXELS));
        let height = measured.then(|| *rng.pick(&PIXELS));
        let tags = match rng.below(10) {
            0 | 1 => None,
            2 => Some(Vec::new()),
            _ => Some(tag_list(rng, &TAGS, 3)),
        };
        let ai_tags = match rng.below(20) {
            0..=4 => Some(tag_list(rng, &AI_TAGS, 2)),
            5 => Some(Vec::new()),
            _ => None,
        };
        Version {
            id,
            size: *rng.pick(&SIZES),
            format: format.to_owned(),
            kind,
            width,
            height,
            has_alpha: rng.chance(30),
            tags,
            ai_tags,
            private: rng.chance(30),
            published: rng.chance(70),
            created_at: *rng.pick(times),
            updated_at: *rng.pick(times),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Query texts

/// Writes random `searchQuery` texts over a library's values.
struct QueryWriter<'a> {
    rng: Rng,
    library: &'a Library,
    mentions_type: bool,
}

/// Characters that end a bare word (the parser's rule); `:` too, to keep it simple.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')' | '[' | ']' | ',' | '"' | '=' | '<' | '>' | '!' | ':' | '\\'
        )
}

impl QueryWriter<'_> {
    fn query(&mut self) -> String {
        let want_type = self.rng.chance(25);
        let (mut text, _) = self.expr(0);
        if want_type && !self.mentions_type {
            let test = self.type_condition();
            let and = self.keyword("AND");
            let or = self.keyword("OR");
            text = match self.rng.below(4) {
                0 => format!("{test} {and} {text}"),
                1 => format!("({text}) {and} {test}"),
                2 => format!("{text} {or} {test}"),
                _ => format!("{test} {or} ({text})"),
            };
        }
        if self.rng.chance(10) {
            text = format!("  ({text}) ");
        }
        text
    }

    /// An expression and whether it is compound (holds AND or OR at its top).
    fn expr(&mut self, depth: usize) -> (String, bool) {
        let leaf = depth >= 3 || self.rng.chance(if depth == 0 { 25 } else { 55 });
        if leaf {
            return (self.condition(), false);
        }
        let joiner = if self.rng.chance(50) { "AND" } else { "OR" };
        let count = self.rng.range(2, 3);
        let mut parts = Vec::new();
        for _ in 0..count {
            let (sub, compound) = self.expr(depth + 1);
            // Parentheses mostly where they group, sometimes around a single condition, and
            // sometimes left out so that AND and OR meet with their own precedence.
            let wrap = (compound && self.rng.chance(80)) || self.rng.chance(8);
            parts.push(if wrap { format!("({sub})") } else { sub });
        }
        let joiner = format!(" {} ", self.keyword(joiner));
        (parts.join(&joiner), true)
    }

    /// A keyword in one of the spellings the parser takes (keywords are case-insensitive).
    fn keyword(&mut self, word: &str) -> String {
        match self.rng.below(6) {
            0 => word.to_lowercase(),
            1 => {
                let lower = word.to_lowercase();
                let mut chars = lower.chars();
                let first = chars.next().unwrap().to_ascii_uppercase();
                format!("{first}{}", chars.as_str())
            }
            _ => word.to_owned(),
        }
    }

    fn field(&mut self, name: &str) -> String {
        if self.rng.chance(10) {
            format!("\"{name}\"")
        } else {
            name.to_owned()
        }
    }

    /// A symbolic operator with or without spaces around it.
    fn symbol(&mut self, op: &str) -> String {
        match self.rng.below(5) {
            0 => op.to_owned(),
            1 => format!(" {op}"),
            _ => format!(" {op} "),
        }
    }

    fn not_eq(&mut self) -> String {
        let not = self.keyword("NOT");
        if self.rng.chance(20) {
            format!(" {not}=")
        } else {
            format!(" {not} = ")
        }
    }

    /// A string value: quoted (escaping `"` and `\`, now and then a needless `\x`), or as a
    /// bare word where the parser reads it back unchanged.
    fn value(&mut self, text: &str) -> String {
        let bare_ok = !text.is_empty()
            && !text.chars().any(is_delimiter)
            && !["and", "or"].contains(&text.to_ascii_lowercase().as_str());
        if bare_ok && self.rng.chance(40) {
            return text.to_owned();
        }
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_ascii_alphanumeric() && self.rng.chance(3) => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn list(&mut self, values: &[String]) -> String {
        let sep = if self.rng.chance(50) { ", " } else { "," };
        format!("[{}]", values.join(sep))
    }

    /// Upper-cases, lower-cases or flips the first letter, a third of the time.
    fn recase(&mut self, text: &str) -> String {
        match self.rng.below(9) {
            0 => text.to_uppercase(),
            1 => text.to_lowercase(),
            2 => {
                let mut chars = text.chars();
                match chars.next() {
                    Some(c) if c.is_uppercase() => {
                        format!("{}{}", c.to_lowercase(), chars.as_str())
                    }
                    Some(c) => format!("{}{}", c.to_uppercase(), chars.as_str()),
                    None => String::new(),
                }
            }
            _ => text.to_owned(),
        }
    }

    /// `=`-like and list operators, with a value maker: `= v`, `NOT = v`, `IN [..]`,
    /// `NOT IN [..]`.
    fn membership(&mut self, field: &str, mut make: impl FnMut(&mut Self) -> String) -> String {
        let field = self.field(field);
        match self.rng.below(4) {
            0 => {
                let op = self.symbol("=");
                format!("{field}{op}{}", make(self))
            }
            1 => {
                let op = self.not_eq();
                format!("{field}{op}{}", make(self))
            }
            n => {
                let count = self.rng.range(1, 4);
                let values: Vec<String> = (0..count).map(|_| make(self)).collect();
                let keyword = if n == 2 {
                    self.keyword("IN")
                } else {
                    format!("{} {}", self.keyword("NOT"), self.keyword("IN"))
                };
                format!("{field} {keyword} {}", self.list(&values))
            }
        }
    }

    /// A numeric field with every operator it takes.
    fn numeric(&mut self, field: &str, mut make: impl FnMut(&mut Self) -> String) -> String {
        if self.rng.chance(45) {
            return self.membership(field, make);
        }
        let op = *self.rng.pick(&["<", "<=", ">", ">="]);
        let field = self.field(field);
        let op = self.symbol(op);
        format!("{field}{op}{}", make(self))
    }

    fn condition(&mut self) -> String {
        match self.rng.below(100) {
            0..=15 => self.name_condition(),
            16..=31 => self.tags_condition(),
            32..=35 => self.type_condition(),
            36..=40 => self.membership("id", |w| w.id_value()),
            41..=48 => {
                let field = if self.rng.chance(50) {
                    "createdAt"
                } else {
                    "updatedAt"
                };
                self.numeric(field, |w| w.date_value())
            }
            49..=56 => self.numeric("size", |w| w.size_value()),
            57..=63 => {
                let field = if self.rng.chance(50) {
                    "width"
                } else {
                    "height"
                };
                self.numeric(field, |w| w.pixel_value())
            }
            64..=69 => self.membership("format", |w| {
                let format = *w.rng.pick(&[
                    "jpg", "png", "webp", "gif", "svg", "pdf", "mp4", "txt", "", "heic",
                ]);
                let format = w.recase(format);
                w.value(&format)
            }),
            70..=74 => self.membership("fileType", |w| {
                let kind = *w.rng.pick(&["image", "non-image"]);
                w.value(kind)
            }),
            75..=83 => {
                let field = *self.rng.pick(&["private", "published", "transparency"]);
                let field = self.field(field);
                let op = if self.rng.chance(65) {
                    self.symbol("=")
                } else {
                    self.not_eq()
                };
                let flag =
                    *self
                        .rng
                        .pick(&["true", "false", "TRUE", "False", "\"true\"", "\"false\""]);
                format!("{field}{op}{flag}")
            }
            _ => self.path_condition(),
        }
    }

    fn name_condition(&mut self) -> String {
        match self.rng.below(6) {
            0..=2 => self.membership("name", |w| {
                let name = w.name_value();
                w.value(&name)
            }),
            3 => {
                let name = self.name_value();
                let cut = self.rng.range(1, name.chars().count().max(1));
                let prefix: String = name.chars().take(cut).collect();
                let field = self.field("name");
                let op = self.symbol(":");
                format!("{field}{op}{}", self.value(&prefix))
            }
            _ => {
                let name = self.name_value();
                let words = self.has_words(&name);
                let field = self.field("name");
                format!("{field} {} {}", self.keyword("HAS"), self.value(&words))
            }
        }
    }

    fn name_value(&mut self) -> String {
        match self.rng.below(100) {
            0..=3 => return "no-such-name.jpg".into(),
            4 => return String::new(),
            _ => {}
        }
        let names = self.library.names();
        let name = self.rng.pick(&names).to_string();
        if self.rng.chance(20) {
            self.recase(&name)
        } else {
            name
        }
    }

    fn tag_value(&mut self) -> String {
        match self.rng.below(100) {
            0..=2 => return "no such tag".into(),
            3 => return String::new(),
            _ => {}
        }
        let tag = if self.rng.chance(75) {
            *self.rng.pick(&TAGS)
        } else {
            *self.rng.pick(&AI_TAGS)
        };
        if self.rng.chance(15) {
            self.recase(tag)
        } else {
            tag.to_owned()
        }
    }

    /// A `HAS` text from `source`'s words: one to three of them, in any case, the last cut
    /// to a prefix, joined by separators the word search ignores. Now and then a word from
    /// elsewhere, which usually makes it match nothing.
    fn has_words(&mut self, source: &str) -> String {
        let mut words: Vec<String> = kura::model::search::words(source).collect();
        if words.is_empty() {
            words.push("x".into());
        }
        let count = self.rng.range(1, words.len().min(3));
        let mut chosen: Vec<String> = (0..count).map(|_| self.rng.pick(&words).clone()).collect();
        if self.rng.chance(10) {
            let other = *self
                .rng
                .pick(&["sale", "red", "zzz", "2024", "été", "dress"]);
            chosen.push(other.to_owned());
        }
        let last = chosen.pop().unwrap();
        let cut = self.rng.range(1, last.chars().count());
        chosen.push(last.chars().take(cut).collect());
        // A word before the last must be whole; cut one short now and then (which should
        // then match nothing through it).
        if chosen.len() > 1 && self.rng.chance(25) {
            let i = self.rng.below(chosen.len() - 1);
            let length = chosen[i].chars().count();
            if length > 1 {
                chosen[i] = chosen[i].chars().take(length - 1).collect();
            }
        }
        let mut text = String::new();
        for (i, word) in chosen.iter().enumerate() {
            if i > 0 {
                let separator = *self.rng.pick(&[" ", "  ", "-", "_", ".", ", "]);
                text.push_str(separator);
            }
            let word = self.recase(word);
            text.push_str(&word);
        }
        text
    }

    fn tags_condition(&mut self) -> String {
        match self.rng.below(10) {
            0..=5 => self.membership("tags", |w| {
                let tag = w.tag_value();
                w.value(&tag)
            }),
            6 | 7 => {
                let tag = self.tag_value();
                let words = self.has_words(&tag);
                let field = self.field("tags");
                format!("{field} {} {}", self.keyword("HAS"), self.value(&words))
            }
            8 => {
                let field = self.field("tags");
                format!("{field} {}", self.keyword("EXISTS"))
            }
            _ => {
                let field = self.field("tags");
                format!("{field} {} {}", self.keyword("NOT"), self.keyword("EXISTS"))
            }
        }
    }

    fn type_condition(&mut self) -> String {
        self.mentions_type = true;
        self.membership("type", |w| {
            let kind = *w.rng.pick(&["file", "file-version", "folder"]);
            w.value(kind)
        })
    }

    fn id_value(&mut self) -> String {
        let id = match self.rng.below(10) {
            0..=4 => self.rng.pick(&self.library.files).id.clone(),
            5..=6 => self.rng.pick(&self.library.folders).id.clone(),
            7 | 8 => {
                let file = self.rng.pick(&self.library.files);
                self.rng.pick(&file.versions).id.clone()
            }
            _ => "not-an-id".into(),
        };
        self.value(&id)
    }

    /// One of the library's instants (or "now" minus a few units), written in one of the
    /// forms dates take.
    fn date_value(&mut self) -> String {
        if self.rng.chance(30) {
            let count = *self.rng.pick(&[0, 1, 3, 7, 12, 100]);
            let unit = *self.rng.pick(&["h", "d", "w", "m", "y", "D", "M"]);
            return self.value(&format!("{count}{unit}"));
        }
        let t = *self.rng.pick(&times());
        let iso = Timestamp::from_millis(t).to_iso8601(); // 2023-11-14T22:13:20.000Z
        let text = match self.rng.below(7) {
            0 | 1 => iso,
            2 => iso.trim_end_matches('Z').to_owned(),
            3 => iso.replacen('T', " ", 1),
            4 => iso[..10].to_owned(),
            5 => {
                let shifted = Timestamp::from_millis(t + 2 * HOUR).to_iso8601();
                format!("{}+02:00", shifted.trim_end_matches('Z'))
            }
            _ => {
                let shifted = Timestamp::from_millis(t - 5 * HOUR - 30 * 60_000).to_iso8601();
                format!("{}-05:30", shifted.trim_end_matches('Z'))
            }
        };
        // A bare date is one word only without a space (`2024-01-02T10:00:00` stays one).
        if text.contains(' ') || self.rng.chance(60) {
            format!("\"{text}\"")
        } else {
            text
        }
    }

    fn size_value(&mut self) -> String {
        let v = *self.rng.pick(&SIZES);
        let mut forms = vec![v.to_string(), format!("{v}b")];
        for (unit, names) in [
            (1i64 << 10, ["kb", "KB", "Kb"]),
            (1 << 20, ["mb", "MB", "mB"]),
            (1 << 30, ["gb", "GB", "Gb"]),
        ] {
            let name = *self.rng.pick(&names);
            if v % unit == 0 {
                forms.push(format!("{}{name}", v / unit));
            }
            // 1536 = "1.5kb", 512 = "0.5kb"; exact as a short decimal or left out.
            let fraction = v as f64 / unit as f64;
            let short = format!("{fraction}");
            if v % unit != 0 && short.len() <= 6 && short.parse::<f64>() == Ok(fraction) {
                forms.push(format!("{short}{name}"));
            }
        }
        // Bounds with a fraction of a byte: `< 1.0001kb` is `<= 1024`.
        forms.extend(["1.0001kb".into(), "0.3KB".into(), "\"1 kb\"".into()]);
        let form = self.rng.pick(&forms).clone();
        if form.starts_with('"') {
            form
        } else {
            self.value(&form)
        }
    }

    fn pixel_value(&mut self) -> String {
        let v = *self.rng.pick(&PIXELS);
        let text = match self.rng.below(8) {
            0 => format!("{v}.0"),
            1 => format!("{v}.5"),
            2 => format!("{}", v + 1),
            _ => v.to_string(),
        };
        self.value(&text)
    }

    fn path_condition(&mut self) -> String {
        if self.rng.chance(50) {
            // Mostly the folders whose paths are prefixes of each other.
            let path = if self.rng.chance(50) {
                let root = *self.rng.pick(&["/a", "/a-b", "/a_b", "/ab", "/A", "/a/b"]);
                self.value(root)
            } else {
                self.path_value()
            };
            let field = self.field("path");
            let op = self.symbol(":");
            return format!("{field}{op}{path}");
        }
        self.membership("path", |w| w.path_value())
    }

    /// A folder of the library in one of the spellings `path` takes (`/a/b`, `/a/b/`, `a/b`,
    /// `a b` for `a_b`), sometimes in another case or one that does not exist.
    fn path_value(&mut self) -> String {
        let path = if self.rng.chance(35) {
            (*self.rng.pick(&SKELETON)).to_owned()
        } else {
            let paths = self.library.folder_paths();
            self.rng.pick(&paths).as_str().to_owned()
        };
        let path = match self.rng.below(12) {
            0 => format!("{path}/"),
            1 => path.trim_start_matches('/').to_owned(),
            2 => path.replace('_', " "),
            3 => self.recase(&path),
            4 => format!("{path}/nope"),
            5 if path != "/" => format!("/{}", path.replace('/', "//")),
            6 if path == "/" => String::new(),
            _ => path,
        };
        self.value(&path)
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

const SORT_FIELDS: [SortField; 9] = [
    SortField::Name,
    SortField::Created,
    SortField::Updated,
    SortField::Height,
    SortField::Width,
    SortField::Size,
    SortField::Relevance,
    SortField::Duration,
    SortField::OriginalCreationDate,
];

/// One random case: a query text and the listing parameters around it.
struct Case {
    text: String,
    query: ListQuery,
}

fn random_list_query(rng: &mut Rng, library: &Library) -> ListQuery {
    let folder = if rng.chance(15) {
        let paths = library.folder_paths();
        Some((*rng.pick(&paths)).clone())
    } else {
        None
    };
    let file_type = match rng.below(10) {
        0 => FileTypeFilter::Only(FileKind::Image),
        1 => FileTypeFilter::Only(FileKind::NonImage),
        _ => FileTypeFilter::All,
    };
    let sort = (
        *rng.pick(&SORT_FIELDS),
        if rng.chance(50) {
            SortOrder::Asc
        } else {
            SortOrder::Desc
        },
    );
    let skip = if rng.chance(60) {
        0
    } else {
        rng.range(0, 20) as u64
    };
    let limit = if rng.chance(10) {
        1000
    } else {
        rng.range(1, 50) as u32
    };
    // Ignored with a searchQuery: set now and then, to show that they are.
    let asset_type = *rng.pick(&[
        AssetTypeFilter::File,
        AssetTypeFilter::FileVersion,
        AssetTypeFilter::Folder,
        AssetTypeFilter::All,
    ]);
    let tags = rng.chance(10).then(|| vec!["sale".to_owned()]);
    let name = rng.chance(10).then(|| "red.png".to_owned());
    // Kura's name search box: a piece of some file's name, in any case.
    let name_match = if rng.chance(20) {
        let file = rng.pick(&library.files);
        let chars: Vec<char> = file.name.chars().collect();
        let start = rng.range(0, chars.len() - 1);
        let end = rng.range(start, chars.len());
        let piece: String = chars[start..end].iter().collect();
        let piece = if rng.chance(50) {
            piece.to_uppercase()
        } else {
            piece
        };
        Some(if rng.chance(50) {
            NameMatch::contains(&piece)
        } else {
            NameMatch::prefix(&chars[..end].iter().collect::<String>())
        })
    } else {
        None
    };
    ListQuery {
        asset_type,
        folder,
        file_type,
        tags,
        name,
        sort,
        skip,
        limit,
        search: None,
        name_match,
    }
}

fn make_case(library: &Library, case: usize) -> Case {
    let mut rng = Rng::new(case_seed(library.seed, case));
    let query = random_list_query(&mut rng, library);
    let mut writer = QueryWriter {
        rng,
        library,
        mentions_type: false,
    };
    let text = writer.query();
    Case { text, query }
}

fn parse(text: &str) -> SearchFilter {
    match SearchFilter::parse(text, Timestamp::from_millis(NOW), &Default::default()) {
        Ok(Some(filter)) => filter,
        Ok(None) => panic!("query {text:?} parsed as empty"),
        Err(e) => panic!("query {text:?} does not parse: {e}"),
    }
}

/// A row of an answer: (kind, id, row id).
type Row = (AssetKind, String, String);

/// The answer of the store's SQL, or of a search index built over the store.
async fn store_rows(
    store: &dyn MetadataStore,
    index: Option<&SearchIndex>,
    query: &ListQuery,
) -> Vec<Row> {
    let listed = match index {
        None => store.list(query).await,
        Some(index) => {
            let page = index
                .search(query)
                .await
                .unwrap_or_else(|e| panic!("index search failed: {e}\n{query:#?}"))
                .expect("the index is built");
            store.listed_assets(&page).await
        }
    };
    listed
        .unwrap_or_else(|e| panic!("list failed: {e}\n{query:#?}"))
        .into_iter()
        .map(|asset| match asset {
            ListedAsset::File(f) => (
                if f.is_current {
                    AssetKind::File
                } else {
                    AssetKind::FileVersion
                },
                f.id.as_str().to_owned(),
                f.version.id.as_str().to_owned(),
            ),
            ListedAsset::Folder(f) => (
                AssetKind::Folder,
                f.id.as_str().to_owned(),
                f.id.as_str().to_owned(),
            ),
        })
        .collect()
}

fn reference_rows(library: &Library, search: &SearchFilter, query: &ListQuery) -> Vec<Row> {
    reference::search(&library.records, search, query)
        .into_iter()
        .map(|r| (r.kind, r.id.clone(), r.row_id.clone()))
        .collect()
}

/// The value a row sorts by under `field`, for reports.
fn sort_value(record: &SearchRecord, field: SortField) -> String {
    match field {
        SortField::Name => format!("{:?}", record.name),
        SortField::Updated => record.updated_at.to_string(),
        SortField::Height => format!("{:?}", record.height),
        SortField::Width => format!("{:?}", record.width),
        SortField::Size => format!("{:?}", record.size),
        _ => record.created_at.to_string(),
    }
}

fn describe_rows(library: &Library, rows: &[Row], field: SortField) -> String {
    let mut out = String::new();
    for (i, (kind, id, row_id)) in rows.iter().enumerate() {
        let details = match library.record(*kind, row_id) {
            Some(r) => format!(
                "sort={} name={:?} folder={} tags={:?}",
                sort_value(r, field),
                r.name,
                r.folder,
                r.tags
            ),
            None => "NOT IN THE LIBRARY".to_owned(),
        };
        out.push_str(&format!(
            "    {i:>3} {kind:?} id={id} row={row_id} {details}\n"
        ));
    }
    out
}

/// One checked case, for reports.
struct Checked<'a> {
    engine: &'a str,
    library: &'a Library,
    case: usize,
    text: &'a str,
    search: &'a SearchFilter,
    query: &'a ListQuery,
}

fn report(checked: &Checked<'_>, expected: &[Row], actual: &[Row]) -> String {
    let Checked {
        engine,
        library,
        case,
        text,
        search,
        query,
    } = checked;
    let expected_set: BTreeSet<&Row> = expected.iter().collect();
    let actual_set: BTreeSet<&Row> = actual.iter().collect();
    let missing: Vec<Row> = expected_set
        .difference(&actual_set)
        .map(|r| (*r).clone())
        .collect();
    let extra: Vec<Row> = actual_set
        .difference(&expected_set)
        .map(|r| (*r).clone())
        .collect();
    let shown = ListQuery {
        search: None,
        ..(*query).clone()
    };
    let field = query.sort.0;
    format!(
        "{engine}: store and reference differ\n  reproduce: KURA_SEARCH_SEED={} KURA_SEARCH_CASE={case}\n  \
         query text: {text}\n  filter: {search:?}\n  list query: {shown:?}\n  \
         expected (reference), {} rows:\n{}  actual (store), {} rows:\n{}  \
         missing from the store:\n{}  extra in the store:\n{}",
        library.seed,
        expected.len(),
        describe_rows(library, expected, field),
        actual.len(),
        describe_rows(library, actual, field),
        describe_rows(library, &missing, field),
        describe_rows(library, &extra, field),
    )
}

fn env_u64(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

/// The libraries a run covers.
fn library_seeds() -> Vec<u64> {
    match env_u64("KURA_SEARCH_SEED") {
        Some(seed) => vec![seed],
        None => vec![0x5ea2_c401, 0x5ea2_c402, 0x5ea2_c403],
    }
}

fn cases() -> std::ops::Range<usize> {
    match env_u64("KURA_SEARCH_CASE") {
        Some(case) => case as usize..case as usize + 1,
        None => 0..env_u64("KURA_SEARCH_CASES").unwrap_or(200) as usize,
    }
}

#[derive(Default)]
struct Stats {
    cases: usize,
    nonempty: usize,
    rows: usize,
    with_type: usize,
}

/// Runs the random cases of one library; returns the reports of those that differ.
async fn check_library(
    store: &dyn MetadataStore,
    index: Option<&SearchIndex>,
    engine: &str,
    library: &Library,
    stats: &mut Stats,
) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases() {
        let Case { text, mut query } = make_case(library, case);
        let search = parse(&text);
        query.search = Some(search.clone());
        let expected = reference_rows(library, &query.effective_search(), &query);
        let actual = store_rows(store, index, &query).await;
        stats.cases += 1;
        stats.nonempty += usize::from(!expected.is_empty());
        stats.rows += expected.len();
        stats.with_type += usize::from(search.kinds.len() > 1);
        if expected != actual {
            let checked = Checked {
                engine,
                library,
                case,
                text: &text,
                search: &search,
                query: &query,
            };
            failures.push(report(&checked, &expected, &actual));
        }
    }
    failures
}

/// Pages of `k` rows, concatenated, are the unpaged answer (and the reference's).
async fn check_paging(
    store: &dyn MetadataStore,
    index: Option<&SearchIndex>,
    engine: &str,
    library: &Library,
    stats: &mut Stats,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut rng = Rng::new(library.seed ^ 0x9a9e);
    for case in 10_000..10_012 {
        let Case { text, mut query } = make_case(library, case);
        // Broad enough to page through: the random query OR something many rows match.
        let broad = *rng.pick(&[
            "tags EXISTS",
            "size > 1000",
            "type = \"folder\"",
            "createdAt < \"5d\"",
            "format IN [jpg, png, pdf]",
            "path : \"/\"",
        ]);
        let text = format!("({text}) OR {broad}");
        let search = parse(&text);
        query.search = Some(search.clone());
        query.skip = 0;
        query.limit = 1000;
        let full = store_rows(store, index, &query).await;
        let expected = reference_rows(library, &query.effective_search(), &query);
        if full != expected {
            let checked = Checked {
                engine,
                library,
                case,
                text: &text,
                search: &search,
                query: &query,
            };
            failures.push(report(&checked, &expected, &full));
            continue;
        }
        stats.cases += 1;
        stats.nonempty += usize::from(!full.is_empty());
        stats.rows += full.len();
        stats.with_type += usize::from(search.kinds.len() > 1);
        let k = *rng.pick(&[1u32, 2, 3, 5, 7, 16]);
        let mut paged = Vec::new();
        loop {
            let page_query = ListQuery {
                skip: paged.len() as u64,
                limit: k,
                ..query.clone()
            };
            let page = store_rows(store, index, &page_query).await;
            let len = page.len();
            paged.extend(page);
            if len < k as usize {
                break;
            }
        }
        if paged != full {
            failures.push(format!(
                "{engine}: pages of {k} differ from the unpaged answer\n  query text: {text}\n  \
                 sort: {:?}\n  unpaged:\n{}  paged:\n{}",
                query.sort,
                describe_rows(library, &full, query.sort.0),
                describe_rows(library, &paged, query.sort.0),
            ));
        }
    }
    failures
}

fn finish(engine: &str, failures: Vec<String>, stats: &Stats, random_cases: bool) {
    println!(
        "{engine}: {} cases, {} with rows ({} rows in all), {} looking at every kind",
        stats.cases, stats.nonempty, stats.rows, stats.with_type
    );
    if !failures.is_empty() {
        for failure in failures.iter().take(5) {
            eprintln!("{failure}\n");
        }
        panic!(
            "{engine}: {} case(s) where the store and the reference differ (first {} above)",
            failures.len(),
            failures.len().min(5)
        );
    }
    // A generator whose queries mostly match nothing would prove little.
    if random_cases && stats.cases >= 50 {
        assert!(
            stats.nonempty * 2 > stats.cases,
            "{engine}: only {} of {} queries matched anything",
            stats.nonempty,
            stats.cases
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn generated_queries_parse_and_libraries_are_consistent() {
    for seed in library_seeds() {
        let library = Library::generate(seed);
        assert!((60..=150).contains(&library.files.len()));
        assert!((11..=26).contains(&library.folders.len()));
        // Names and paths as the server would have stored them.
        for file in &library.files {
            let name = kura::model::FileName::sanitise(&file.name).unwrap();
            assert_eq!(name.as_str(), file.name);
            assert!((1..=3).contains(&file.versions.len()));
        }
        for folder in &library.folders {
            let path = FolderPath::parse_lenient(folder.path.as_str()).unwrap();
            assert_eq!(path, folder.path);
            assert!(depth(&path) <= 4);
        }
        for case in 0..500 {
            let Case { text, .. } = make_case(&library, case);
            parse(&text);
        }
    }
}

/// Where a run keeps its libraries.
#[derive(Clone, Copy)]
enum Engine {
    Sqlite,
    /// PostgreSQL, with these `CREATE DATABASE` options.
    Postgres(&'static str),
}

/// A PostgreSQL database whose text collation is a linguistic one (ICU's en-US: `_x < /a <
/// a < B`), as many installs have, instead of the server's C default: the search SQL must
/// not depend on it. Needs PostgreSQL 15 or later with ICU.
const ICU_DATABASE: &str =
    "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'";

#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Random cases against the reference.
    Reference,
    /// Pages of a few rows against the unpaged answer.
    Paging,
}

async fn check(
    store: Arc<dyn MetadataStore>,
    via: Via,
    label: &str,
    library: &Library,
    check: Check,
    stats: &mut Stats,
) -> Vec<String> {
    let tuning = match via {
        Via::Sql => None,
        Via::Index => Some(IndexTuning::default()),
        Via::IndexWalkingWithDelta => Some(IndexTuning {
            sort_hits_below: 0,
            delta_limit: usize::MAX,
            build_sorted: library.files.len(),
        }),
    };
    let index = match tuning {
        None => None,
        Some(tuning) => {
            let index = SearchIndex::tuned(store.clone(), tuning);
            index.build().await.expect("the search index builds");
            Some(index)
        }
    };
    let index = index.as_deref();
    match check {
        Check::Reference => check_library(store.as_ref(), index, label, library, stats).await,
        Check::Paging => check_paging(store.as_ref(), index, label, library, stats).await,
    }
}

/// Who answers: the store's SQL, or the in-memory search index — as configured by default
/// (small libraries: pages cut by sorting the hits), or tuned to walk the sorted orders with
/// half the rows left in the unsorted delta.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Sql,
    Index,
    IndexWalkingWithDelta,
}

async fn run(engine: Engine, via: Via, label: &str, what: Check) {
    let mut failures = Vec::new();
    let mut stats = Stats::default();
    for seed in library_seeds() {
        let library = Library::generate(seed);
        match engine {
            Engine::Sqlite => {
                let (store, _dir) = sqlite().await;
                library.import(&store).await;
                let store = Arc::new(store);
                failures.extend(check(store, via, label, &library, what, &mut stats).await);
            }
            Engine::Postgres(options) => {
                let (store, db) = postgres(options).await;
                library.import(&store).await;
                let store = Arc::new(store);
                failures.extend(check(store.clone(), via, label, &library, what, &mut stats).await);
                match Arc::try_unwrap(store) {
                    Ok(store) => drop_database(store, &db).await,
                    Err(_) => panic!("the store is still shared"),
                }
            }
        }
    }
    finish(label, failures, &stats, what == Check::Reference);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_search_matches_the_reference() {
    run(Engine::Sqlite, Via::Sql, "sqlite", Check::Reference).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_index_matches_the_reference() {
    run(Engine::Sqlite, Via::Index, "index", Check::Reference).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_index_pages_concatenate_to_the_whole_answer() {
    run(Engine::Sqlite, Via::Index, "index paging", Check::Paging).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_index_walking_sorted_orders_and_delta_matches_the_reference() {
    let via = Via::IndexWalkingWithDelta;
    run(
        Engine::Sqlite,
        via,
        "index (walk + delta)",
        Check::Reference,
    )
    .await;
    run(
        Engine::Sqlite,
        via,
        "index (walk + delta) paging",
        Check::Paging,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_search_matches_the_reference() {
    run(Engine::Postgres(""), Via::Sql, "postgres", Check::Reference).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_search_ignores_the_database_collation() {
    run(
        Engine::Postgres(ICU_DATABASE),
        Via::Sql,
        "postgres (ICU en-US)",
        Check::Reference,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_pages_concatenate_to_the_whole_answer() {
    run(Engine::Sqlite, Via::Sql, "sqlite paging", Check::Paging).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_pages_concatenate_to_the_whole_answer() {
    run(
        Engine::Postgres(""),
        Via::Sql,
        "postgres paging",
        Check::Paging,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Catching up with writes

/// Writes through the store (each logs its events), then searches: the index, tuned to re-sort
/// at almost every catch-up and to walk its sorted orders, must answer exactly as the SQL
/// (itself held to the reference above).
async fn check_catch_up(store: Arc<dyn MetadataStore>, label: &str, library: &Library) {
    use kura::model::{AssetId, FileName, Principal, TagChange};
    let index = SearchIndex::tuned(
        store.clone(),
        IndexTuning {
            sort_hits_below: 0,
            delta_limit: 0,
            build_sorted: usize::MAX,
        },
    );
    index.build().await.expect("the search index builds");
    let actor = Principal::AccountKey;
    let mut rng = Rng::new(library.seed ^ 0xca7c);
    let mut failures = Vec::new();
    for step in 0..60 {
        let file = rng.pick(&library.files);
        let id = AssetId::from_stored(file.id.clone());
        let what = match rng.below(7) {
            0 | 1 => {
                let tag = format!("caught-{}", rng.below(4));
                store
                    .change_tags(
                        std::slice::from_ref(&id),
                        &TagChange::Add(vec![tag]),
                        &actor,
                    )
                    .await
                    .map(|_| "add a tag")
            }
            2 => {
                let name = FileName::sanitise(&format!("Renamed-{step}.png")).unwrap();
                store
                    .rename_file(&id, &name, &actor)
                    .await
                    .map(|_| "rename a file")
            }
            3 => {
                let paths = library.folder_paths();
                let target = if rng.chance(50) {
                    (*rng.pick(&paths)).clone()
                } else {
                    FolderPath::parse_lenient(&format!("/moved/m{step}")).unwrap()
                };
                store
                    .move_file(&id, &target, &actor)
                    .await
                    .map(|_| "move a file")
            }
            4 => store
                .delete_files(std::slice::from_ref(&id), &actor)
                .await
                .map(|_| "delete a file"),
            5 => store
                .create_folder(
                    &FolderPath::parse_lenient(&format!("/made/f{step}/inner")).unwrap(),
                    &actor,
                )
                .await
                .map(|_| "create folders"),
            _ => {
                let paths = library.folder_paths();
                let victim = (*rng.pick(&paths)).clone();
                store
                    .delete_folder(&victim, &actor)
                    .await
                    .map(|_| "delete a folder")
            }
        };
        let what = what.unwrap_or_else(|e| panic!("{label}: step {step}: {e}"));
        for case in 0..8 {
            let Case { text, mut query } = make_case(library, 20_000 + step * 8 + case);
            query.search = Some(parse(&text));
            let sql = store_rows(store.as_ref(), None, &query).await;
            let indexed = store_rows(store.as_ref(), Some(&index), &query).await;
            if sql != indexed {
                failures.push(format!(
                    "{label}: after step {step} ({what}), the index and SQL differ\n  query: {text}\n  \
                     list query: {:?}\n  sql:   {sql:?}\n  index: {indexed:?}",
                    ListQuery {
                        search: None,
                        ..query.clone()
                    }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences; the first:\n{}",
        failures.len(),
        failures[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn search_index_catches_up_with_writes_on_sqlite() {
    let library = Library::generate(library_seeds()[0]);
    let (store, _dir) = sqlite().await;
    library.import(&store).await;
    check_catch_up(Arc::new(store), "sqlite", &library).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_index_catches_up_with_writes_on_postgres() {
    let library = Library::generate(library_seeds()[0]);
    let (store, db) = postgres("").await;
    library.import(&store).await;
    let store = Arc::new(store);
    check_catch_up(store.clone(), "postgres", &library).await;
    match Arc::try_unwrap(store) {
        Ok(store) => drop_database(store, &db).await,
        Err(_) => panic!("the store is still shared"),
    }
}
