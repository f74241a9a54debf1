//! Per-file extraction time over the corpus JPEGs, for comparison with exiftool (BENCH.md).
//! Ignored by default; run optimised:
//!
//!   cargo test --release --test bench -- --ignored --nocapture

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

#[test]
#[ignore]
fn jpeg_extraction_time() {
    let dir = std::env::var_os("EMBEDDED_META_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        });
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("corpus not found; skipped");
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    if let Ok(only) = std::env::var("BENCH_FILTER") {
        files.retain(|p| p.to_string_lossy().contains(&only));
    }
    let iterations: u32 = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut total = 0.0;
    let mut worst = (0.0, String::new());
    println!("{:>10} {:>6} {:>9}  file", "µs/file", "tags", "size KiB");
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tags = 0;
        let start = Instant::now();
        for _ in 0..iterations {
            // Open, read and drop per iteration: what Kura pays per upload.
            let file = File::open(path).expect("corpus file");
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let out = embedded_meta::read(&mut BufReader::new(file), len);
            tags = out.tags.len();
            std::hint::black_box(out.flat());
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) / 1024;
        println!("{us:>10.1} {tags:>6} {size:>9}  {name}");
        total += us;
        if us > worst.0 {
            worst = (us, name);
        }
    }
    let n = files.len().max(1) as f64;
    println!(
        "{} JPEGs: mean {:.1} µs/file, total {:.2} ms per pass, slowest {} ({:.1} µs)",
        files.len(),
        total / n,
        total / 1000.0,
        worst.1,
        worst.0
    );
}
