//! The corpus in ../shared/corpus beside the repository (or $EMBEDDED_META_CORPUS) against exiftool's readings of
//! it (`exiftool -json -G1 -n`, one JSON per file):
//! - agreement: for every (group, tag) both report in the groups this crate supports, the
//!   values must agree; the overall rate may not fall below `AGREEMENT_FLOOR`;
//! - coverage: how many of exiftool's tags in those groups are produced at all (reported,
//!   floor-checked too);
//! - hostility: every corpus file, non-images and bombs included, goes through `read` without
//!   panicking and in bounded time.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Raise these when the reader improves; they may never go down.
const AGREEMENT_FLOOR: f64 = 0.9994;
const COVERAGE_FLOOR: f64 = 0.994;
/// The same for video, audio and GIF files (their own groups included).
const MEDIA_AGREEMENT_FLOOR: f64 = 0.989;
const MEDIA_COVERAGE_FLOOR: f64 = 1.0;

/// The shared corpus beside the repository (`../shared/corpus`), or `$EMBEDDED_META_CORPUS`.
/// Missing, the tests fail: a comparison that silently compares nothing proves nothing.
fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("EMBEDDED_META_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus"
            ))
        });
    assert!(
        dir.join("MANIFEST.tsv").exists(),
        "the media corpus is not at {} (set EMBEDDED_META_CORPUS)",
        dir.display()
    );
    Some(dir)
}

fn files(dir: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_default();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(str::to_owned)
        .collect()
}

fn is_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        ".jpg", ".jpeg", ".mpo", ".png", ".webp", ".heic", ".heif", ".avif", ".tif", ".tiff",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

fn is_media(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        ".mp4", ".mov", ".m4a", ".3gp", ".webm", ".mkv", ".mp3", ".wav", ".gif",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
}

/// Groups read from video, audio and GIF files, on top of the image groups (XMP in MOV and
/// GIF); Composite tags only where this crate computes them as exiftool does.
fn supported_media(group: &str, tag: &str) -> bool {
    let known = supported(group)
        || matches!(
            group,
            "QuickTime"
                | "UserData"
                | "Keys"
                | "ItemList"
                | "Matroska"
                | "MPEG"
                | "ID3v1"
                | "ID3v2_2"
                | "ID3v2_3"
                | "ID3v2_4"
                | "RIFF"
                | "GIF"
        )
        || (group.starts_with("Track") && group[5..].bytes().all(|c| c.is_ascii_digit()))
        || (group == "Composite" && matches!(tag, "Duration" | "Rotation" | "AvgBitrate"));
    // exiftool's warnings are not tags.
    known && tag != "Warning"
}

/// Groups this crate reads. exiftool's numbered ICC groups (ICC-header2...) describe profiles
/// of secondary images (MPF, gain maps), which are not read.
fn supported(group: &str) -> bool {
    matches!(
        group,
        "IFD0"
            | "IFD1"
            | "ExifIFD"
            | "GPS"
            | "InteropIFD"
            | "IPTC"
            | "ICC-header"
            | "ICC_Profile"
            | "ICC-meas"
            | "ICC-view"
            | "ICC-chrm"
            | "Photoshop"
            | "JFIF"
            | "PNG"
            | "PNG-pHYs"
    ) || group.starts_with("XMP-")
        || group.starts_with("SubIFD")
        || (group.starts_with("IFD") && group[3..].bytes().all(|c| c.is_ascii_digit()))
}

fn read_file(path: &Path) -> embedded_meta::EmbeddedMetadata {
    let file = File::open(path).expect("corpus file");
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    embedded_meta::read(&mut BufReader::new(file), len)
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
        return x == y || (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1e-300);
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    };
    let (ta, tb) = (text(a), text(b));
    if ta.eq_ignore_ascii_case(&tb) && matches!(ta.to_ascii_lowercase().as_str(), "true" | "false")
    {
        return true;
    }
    if ta == tb {
        return true;
    }
    // Space-joined number lists ("0.9642 1 0.82491") compare elementwise.
    let (wa, wb): (Vec<&str>, Vec<&str>) = (
        ta.split_whitespace().collect(),
        tb.split_whitespace().collect(),
    );
    wa.len() > 1
        && wa.len() == wb.len()
        && wa
            .iter()
            .zip(&wb)
            .all(|(x, y)| scalar_eq(&Value::String((*x).into()), &Value::String((*y).into())))
}

fn values_eq(ours: &Value, theirs: &Value) -> bool {
    let list = |v: &Value| match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let (a, b) = (list(ours), list(theirs));
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| scalar_eq(x, y))
}

fn is_capped(v: &Value) -> bool {
    match v {
        Value::String(s) => s.ends_with('…'),
        Value::Array(a) => a.iter().any(is_capped),
        _ => false,
    }
}

#[derive(Default)]
struct Tally {
    files: u32,
    agree: u32,
    disagree: u32,
    theirs_total: u32,
    produced: u32,
    capped: u32,
    extra: u32,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.files += o.files;
        self.agree += o.agree;
        self.disagree += o.disagree;
        self.theirs_total += o.theirs_total;
        self.produced += o.produced;
        self.capped += o.capped;
        self.extra += o.extra;
    }

    fn agreement(&self) -> f64 {
        self.agree as f64 / (self.agree + self.disagree).max(1) as f64
    }

    fn coverage(&self) -> f64 {
        self.produced as f64 / self.theirs_total.max(1) as f64
    }

    fn print(&self, label: &str) {
        println!(
            "{label}: {} files; agreement {}/{} = {:.2}% (plus {} values capped on purpose); coverage {}/{} = {:.2}% of exiftool's tags in supported groups; {} tags exiftool does not report",
            self.files,
            self.agree,
            self.agree + self.disagree,
            self.agreement() * 100.0,
            self.capped,
            self.produced,
            self.theirs_total,
            self.coverage() * 100.0,
            self.extra
        );
    }
}

fn compare(
    dir: &Path,
    names: &[String],
    supported: &dyn Fn(&str, &str) -> bool,
    missing_names: &mut std::collections::BTreeMap<String, u32>,
) -> Tally {
    let mut t = Tally::default();
    let show_missing = std::env::var_os("SHOW_MISSING").is_some();
    for name in names {
        let json_path = dir.join("exiftool").join(format!("{name}.json"));
        let Ok(text) = std::fs::read_to_string(&json_path) else {
            continue;
        };
        let reference: Value = serde_json::from_str(&text).expect("reference JSON");
        let Some(reference) = reference.get(0).and_then(Value::as_object) else {
            continue;
        };
        t.files += 1;
        let ours = read_file(&dir.join(name));
        let mut lines = Vec::new();
        for (key, theirs) in reference {
            let Some((group, tag)) = key.split_once(':') else {
                continue;
            };
            if !supported(group, tag) {
                continue;
            }
            t.theirs_total += 1;
            match ours.get(group, tag) {
                None => {
                    if show_missing {
                        println!("  missing in {name}: {key}");
                    }
                    *missing_names.entry(key.clone()).or_default() += 1;
                }
                Some(mine) => {
                    t.produced += 1;
                    if is_capped(mine) {
                        t.capped += 1;
                    } else if values_eq(mine, theirs) {
                        t.agree += 1;
                    } else {
                        t.disagree += 1;
                        let show = |v: &Value| {
                            let s = v.to_string();
                            s.chars().take(100).collect::<String>()
                        };
                        lines.push(format!(
                            "  {key}: ours {} exiftool {}",
                            show(mine),
                            show(theirs)
                        ));
                    }
                }
            }
        }
        for tag in &ours.tags {
            if !reference.contains_key(&format!("{}:{}", tag.group, tag.name)) {
                if show_missing {
                    println!(
                        "  extra in {name}: {}:{} = {}",
                        tag.group, tag.name, tag.value
                    );
                }
                t.extra += 1;
            }
        }
        if !lines.is_empty() {
            println!("{name}: {} disagreement(s)", lines.len());
            for l in lines {
                println!("{l}");
            }
        }
    }
    t
}

#[test]
fn agrees_with_exiftool() {
    let Some(dir) = corpus() else {
        eprintln!("corpus not found; skipped");
        return;
    };
    let mut missing_names: std::collections::BTreeMap<String, u32> = Default::default();
    let all = files(&dir);
    let images: Vec<String> = all.iter().filter(|n| is_image(n)).cloned().collect();
    let media: Vec<String> = all.iter().filter(|n| is_media(n)).cloned().collect();
    let image_tally = compare(&dir, &images, &|g, _| supported(g), &mut missing_names);
    let media_tally = compare(&dir, &media, &supported_media, &mut missing_names);
    if std::env::var_os("SHOW_MISSING").is_some() {
        let mut m: Vec<_> = missing_names.into_iter().collect();
        m.sort_by_key(|e| std::cmp::Reverse(e.1));
        for (k, n) in m.iter().take(200) {
            println!("missing {n:4} {k}");
        }
    }
    let mut total = Tally::default();
    total.add(&image_tally);
    total.add(&media_tally);
    image_tally.print("images");
    media_tally.print("video/audio/GIF");
    total.print("total");
    assert!(
        image_tally.agreement() >= AGREEMENT_FLOOR,
        "agreement regressed"
    );
    assert!(
        image_tally.coverage() >= COVERAGE_FLOOR,
        "coverage regressed"
    );
    assert!(
        media_tally.agreement() >= MEDIA_AGREEMENT_FLOOR,
        "media agreement regressed"
    );
    assert!(
        media_tally.coverage() >= MEDIA_COVERAGE_FLOOR,
        "media coverage regressed"
    );
}

#[test]
fn every_corpus_file_is_survived_quickly() {
    let Some(dir) = corpus() else {
        eprintln!("corpus not found; skipped");
        return;
    };
    // Generous for unoptimised test builds on a loaded machine; real cost is ~1000x lower.
    let limit = Duration::from_secs(5);
    let mut slowest = (Duration::ZERO, String::new());
    let all = files(&dir);
    for name in &all {
        let start = Instant::now();
        let out = read_file(&dir.join(name));
        let took = start.elapsed();
        assert!(took < limit, "{name} took {took:?}");
        if took > slowest.0 {
            slowest = (took, name.clone());
        }
        if !out.warnings.is_empty() {
            println!(
                "{name}: {} tags, warnings {:?}",
                out.tags.len(),
                out.warnings
            );
        }
    }
    println!(
        "{} files read; slowest {} in {:?}",
        all.len(),
        slowest.1,
        slowest.0
    );
}

/// `DUMP=file cargo test --test corpus dump -- --ignored --nocapture` prints what is read.
#[test]
#[ignore]
fn dump() {
    let (Some(dir), Some(name)) = (corpus(), std::env::var_os("DUMP")) else {
        return;
    };
    let out = read_file(&dir.join(name));
    for t in &out.tags {
        let v = t.value.to_string();
        println!(
            "{}:{} = {}",
            t.group,
            t.name,
            v.chars().take(120).collect::<String>()
        );
    }
    println!("warnings: {:?}", out.warnings);
}

/// A poor man's fuzzer that needs no nightly: every small corpus file with random bytes
/// overwritten, bytes flipped and cut short, through `read` (debug builds check arithmetic
/// overflow too). Deterministic, so a failure names its seed.
#[test]
fn mutated_corpus_files_do_not_panic() {
    let Some(dir) = corpus() else {
        eprintln!("corpus not found; skipped");
        return;
    };
    let rounds: u64 = std::env::var("MUTATION_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in files(&dir)
        .into_iter()
        .filter(|n| is_image(n) || is_media(n))
    {
        let Ok(original) = std::fs::read(dir.join(&name)) else {
            continue;
        };
        if original.len() > 256 * 1024 || original.is_empty() {
            continue;
        }
        for round in 0..rounds {
            let mut data = original.clone();
            // Mutations cluster in the first 64 KiB, where the metadata is.
            let span = data.len().min(64 * 1024) as u64;
            for _ in 0..(1 + next() % 16) {
                let at = (next() % span) as usize;
                match next() % 4 {
                    0 => data[at] ^= 1 << (next() % 8),
                    1 => data[at] = 0xFF,
                    2 => data[at] = 0,
                    _ => data[at] = next() as u8,
                }
            }
            if round % 5 == 4 {
                data.truncate((next() % data.len() as u64) as usize);
            }
            let len = data.len() as u64;
            let out = embedded_meta::read(&mut std::io::Cursor::new(&data), len);
            let _ = (out.exif_sections(), out.flat());
        }
    }
}

#[test]
fn output_shapes() {
    let Some(dir) = corpus() else {
        eprintln!("corpus not found; skipped");
        return;
    };
    let canon = read_file(&dir.join("Canon_40D.jpg"));
    let sections = canon.exif_sections();
    assert_eq!(sections["image"]["Make"], "Canon");
    assert_eq!(sections["exif"]["FNumber"], 7.1);
    assert_eq!(sections["thumbnail"]["ThumbnailLength"], 1378);
    assert_eq!(sections["interoperability"]["InteropIndex"], "R98");
    assert!(
        sections["makernote"]
            .as_object()
            .is_some_and(|m| m.is_empty())
    );
    let flat = canon.flat();
    assert_eq!(flat["Model"], "Canon EOS 40D");
    assert_eq!(flat["ExposureTime"], 0.00625);
    assert_eq!(flat["DateTimeOriginal"], "2008:05:30 15:56:01");
    // IFD0's resolution wins over the thumbnail's and JFIF's.
    assert_eq!(flat["XResolution"], 72);

    let iptc = read_file(&dir.join("IPTC-PhotometadataRef-Std2024.1.jpg")).flat();
    assert!(iptc["Keywords"].is_array());
    for key in [
        "City",
        "Country",
        "Headline",
        "Creator",
        "Copyright",
        "Artist",
    ] {
        assert!(iptc.contains_key(key), "{key} missing");
    }
    let summary = |name: &str| read_file(&dir.join(name)).media_summary();
    let mp4 = summary("video_h264_aac.mp4").expect("mp4 summary");
    assert_eq!(mp4.video_codec.as_deref(), Some("h264"));
    assert_eq!(mp4.audio_codec.as_deref(), Some("aac"));
    assert_eq!((mp4.width, mp4.height), (Some(1920), Some(1080)));
    assert_eq!(mp4.duration, Some(0.171));
    assert!(mp4.bit_rate.is_some_and(|b| b > 10_000_000));
    let mpeg4 = summary("video_mpeg4_aac.mp4").expect("mpeg4 summary");
    assert_eq!(mpeg4.video_codec.as_deref(), Some("mpeg4"));
    assert_eq!((mpeg4.width, mpeg4.height), (Some(190), Some(240)));
    let mov = summary("video_rotated.mov").expect("mov summary");
    assert_eq!(mov.rotation, Some(90));
    assert_eq!(mov.audio_channels, Some(1));
    let webm = summary("video_vp8_1080p.webm").expect("webm summary");
    assert_eq!(webm.video_codec.as_deref(), Some("vp8"));
    assert!(
        webm.duration
            .is_some_and(|d| (d - 4.243877369).abs() < 1e-9)
    );
    let mp3 = summary("audio.mp3").expect("mp3 summary");
    assert_eq!(mp3.audio_codec.as_deref(), Some("mp3"));
    assert_eq!(mp3.bit_rate, Some(32_000));
    assert_eq!(mp3.duration, Some(3.7355));
    let wav = summary("audio.wav").expect("wav summary");
    assert_eq!(wav.audio_codec.as_deref(), Some("pcm_s16le"));
    assert_eq!(wav.bit_rate, Some(705_600));
    let gif = summary("gif_animated.gif").expect("gif summary");
    assert_eq!(gif.frame_count, Some(42));
    assert!(summary("gif_transparent.gif").is_none());
    assert!(summary("Canon_40D.jpg").is_none());

    let gps = read_file(&dir.join("gps_DSCN0010.jpg")).flat();
    assert!(
        gps["GPSLatitude"]
            .as_f64()
            .is_some_and(|l| l > 43.0 && l < 44.0)
    );
    assert_eq!(gps["GPSLatitudeRef"], "N");
}
