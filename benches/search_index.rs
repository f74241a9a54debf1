//! The search query suite of bench/search_queries.py, in process and without HTTP: the
//! in-memory search index (`SearchIndex::search`, its catch-up read included) against the
//! store's SQL (`MetadataStore::list`'s page query), on one generated library.
//!
//!   cargo bench --bench search_index                      # 1 000 000 files, SQLite
//!   ASSETS=100000 SQL_REPS=5 cargo bench --bench search_index
//!
//! The library is generated once per size (`kura dev gen-library`'s generator, seed 1) into
//! target/bench-search-<ASSETS>.db and reused by later runs.

use std::sync::Arc;
use std::time::Instant;

use kura::app::library_gen::{LibrarySpec, generate_library};
use kura::index::SearchIndex;
use kura::model::list::parse_sort;
use kura::model::search::SearchFilter;
use kura::model::{ListQuery, Timestamp};
use kura::store::MetadataStore;
use kura::store::sqlite::SqliteStore;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A /proc/self/status figure in MiB: VmRSS (all resident memory, mapped database pages
/// included) or RssAnon (the process's own memory: the index).
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rss_mib() -> String {
    format!(
        "{:.0} MiB (anonymous {:.0} MiB)",
        status_mib("VmRSS:"),
        status_mib("RssAnon:")
    )
}

struct Case {
    label: &'static str,
    query: Option<String>,
    sort: &'static str,
    skip: u64,
    limit: u32,
}

fn case(label: &'static str, sort: &'static str, skip: u64, limit: u32) -> Case {
    Case {
        label,
        query: (!label.starts_with("list")).then(|| label.to_owned()),
        sort,
        skip,
        limit,
    }
}

fn suite() -> Vec<Case> {
    vec![
        case("list (no searchQuery)", "DESC_CREATED", 0, 50),
        case(r#"tags IN ["sku-100500"]"#, "DESC_CREATED", 0, 50),
        case(r#"tags IN ["product"]"#, "DESC_CREATED", 0, 50),
        case(r#"tags IN ["product"]"#, "ASC_NAME", 10_000, 50),
        case(
            r#"format = "webp" AND createdAt < "2024-12-01""#,
            "ASC_NAME",
            0,
            50,
        ),
        case(
            r#"(format = "mp4" AND size > "100mb") OR (format = "mov" AND size > "300mb")"#,
            "DESC_SIZE",
            0,
            50,
        ),
        case(
            r#"format NOT IN ["jpg", "png", "webp"]"#,
            "ASC_CREATED",
            10_000,
            50,
        ),
        case(r#"name HAS "red dress""#, "ASC_NAME", 0, 50),
        case(r#"name HAS "quarterly report q3""#, "DESC_CREATED", 0, 50),
        case(r#"path : "/products""#, "DESC_UPDATED", 0, 50),
        case(
            r#"path : "/marketing" AND tags IN ["summer"]"#,
            "DESC_CREATED",
            0,
            100,
        ),
        case(r#"size > "10mb" AND size < "50mb""#, "DESC_SIZE", 0, 100),
        case(r#"createdAt > "30d""#, "DESC_CREATED", 0, 100),
        case("width >= 4000 AND height >= 3000", "DESC_WIDTH", 0, 50),
        case(
            r#"type IN ["file", "folder"] AND name HAS "summer""#,
            "ASC_NAME",
            0,
            50,
        ),
        case(r#"format = "pdf" AND private = true"#, "ASC_SIZE", 0, 50),
        case(r#"tags HAS "black friday""#, "DESC_CREATED", 0, 50),
        case(
            r#"tags NOT IN ["product", "marketing"] AND fileType = "image""#,
            "ASC_SIZE",
            10_000,
            50,
        ),
        case(
            r#""customMetadata.price" >= 100 AND "customMetadata.price" < 200"#,
            "DESC_CREATED",
            0,
            50,
        ),
        case(
            r#""customMetadata.brand" = "acme" AND "customMetadata.channels" IN ["print"] AND "customMetadata.shootDate" > "2y""#,
            "ASC_NAME",
            0,
            50,
        ),
        case(
            r#""customMetadata.approved" = false AND "customMetadata.campaign" HAS "summer""#,
            "DESC_UPDATED",
            0,
            50,
        ),
    ]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let assets = env_usize("ASSETS", 1_000_000);
    let reps = env_usize("REPS", 100);
    let sql_reps = env_usize("SQL_REPS", 3);
    let path = std::path::PathBuf::from(format!("target/bench-search-v2-{assets}.db"));
    let fresh = !path.exists();
    let store = Arc::new(SqliteStore::open(&path).await.expect("open store"));
    if fresh {
        let started = Instant::now();
        generate_library(store.as_ref(), &LibrarySpec::new(assets as u64, 1), &|_| {})
            .await
            .expect("generate");
        println!(
            "generated {assets} files in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let fields = kura::model::FieldSet::new(store.custom_fields().await.expect("fields"));
    let before = rss_mib();
    let index = SearchIndex::new(store.clone());
    let started = Instant::now();
    let stats = index.build().await.expect("build");
    println!(
        "index: {} rows built in {:.2} s; RSS {} before, {} after",
        stats.live,
        started.elapsed().as_secs_f64(),
        before,
        rss_mib()
    );
    // Relative dates against the library's own "now" (the generator's default end).
    let now = Timestamp::parse_iso8601(kura::app::library_gen::DEFAULT_UNTIL).expect("until");
    println!(
        "\n| query | sort, skip, limit | rows | index p50 ms | index p99 ms | page load p50 ms | SQL p50 ms |\n|---|---|---|---|---|---|---|"
    );
    for c in suite() {
        let mut query = ListQuery {
            sort: parse_sort(c.sort).expect("sort"),
            skip: c.skip,
            limit: c.limit,
            ..ListQuery::default()
        };
        if let Some(text) = &c.query {
            query.search = SearchFilter::parse(text, now, &fields).expect("parses");
        }
        let mut rows = 0;
        for _ in 0..5 {
            rows = index.search(&query).await.unwrap().unwrap().len();
        }
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            let page = index.search(&query).await.unwrap().unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(page);
        }
        times.sort_by(f64::total_cmp);
        // Loading the page's rows, which a listing does after either evaluator.
        let page = index.search(&query).await.unwrap().unwrap();
        let mut loads = Vec::with_capacity(reps);
        for _ in 0..reps.min(30) {
            let t = Instant::now();
            let assets = store.listed_assets(&page).await.unwrap();
            loads.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(assets);
        }
        loads.sort_by(f64::total_cmp);
        let mut sql = Vec::new();
        for _ in 0..sql_reps {
            let t = Instant::now();
            let page = store.list(&query).await.unwrap();
            sql.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(page);
        }
        sql.sort_by(f64::total_cmp);
        let sql_p50 = if sql.is_empty() {
            "–".to_owned()
        } else {
            format!("{:.1}", percentile(&sql, 0.5))
        };
        let skip = if c.skip > 0 {
            format!(", skip {}", c.skip)
        } else {
            String::new()
        };
        println!(
            "| `{}` | {}{skip}, {} | {rows} | {:.2} | {:.2} | {:.2} | {sql_p50} |",
            c.label,
            c.sort,
            c.limit,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            percentile(&loads, 0.5),
        );
    }
    println!("\nRSS at the end: {}", rss_mib());
}
