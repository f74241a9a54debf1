//! `kura dev gen-library`: a synthetic but realistic library for benchmarks, written straight
//! into the metadata store through `MetadataStore::import_rows` in large transactions.
//!
//! What it looks like: a folder tree (~2 000 folders at 1M files, depth up to 5, file counts
//! per folder heavily skewed, most folders filled during a few weeks of activity); names
//! cameras, screenshots and people make (`IMG_20230412_0042.jpg`,
//! `product-shot-red-dress-003.png`, `Quarterly_Report_Q3_2024.pdf`, and a quarter of them
//! with the random suffix of a unique-name upload); formats jpg 55 %, png 20 %, webp 8 %
//! (nearly all of it from the last two years), pdf 7 %, mp4 5 % and a tail of others;
//! dimensions from common cameras, screens and social formats (none for non-images); sizes
//! log-normal per format; tags Zipf-distributed over a fixed vocabulary of ~5 000 tags (0–8
//! per file, `product` the most common, `sku-100000`… the rarest), AI tags on a quarter of
//! the images; creation times over five years before `until`, more of them recent;
//! ~10 % of files with 2–3 versions; 5 % private, 95 % published; custom metadata fields of
//! every type (`custom_field_rows`) set on a share of the files each: `price` (Number,
//! log-normal), `brand` (SingleSelect, Zipf), `campaign` (Text), `shootDate` (Date, before the
//! upload), `approved` (Boolean), `channels` (MultiSelect), `notes` (Textarea, rare).
//!
//! Deterministic: the same spec (seed, assets, folders, until) gives the same rows, ids
//! included. No bytes are stored: every version gets a blob row of its own (its hash is
//! derived from the seed, its size is the version's), so delivery, `kura check` and scrubs are
//! meaningless on such a library.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::Instant;

use crate::app::AppError;
use crate::model::Timestamp;
use crate::store::{Cell, MetadataStore, Table};

/// Default end of the generated time span (so that a seed alone fixes the library).
pub const DEFAULT_UNTIL: &str = "2026-12-01";
/// Files generated (and imported, one transaction per table) per chunk.
pub const DEFAULT_CHUNK: usize = 25_000;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const SPAN: i64 = 1826 * DAY;
/// The root folder's row, which every install has (see `store::sql`).
const ROOT_FOLDER_ID: &str = crate::store::sql::ROOT_FOLDER_ID;

/// What to generate.
#[derive(Debug, Clone)]
pub struct LibrarySpec {
    /// Files (each with its current version; ~10 % get older versions too).
    pub assets: u64,
    pub seed: u64,
    /// Folders besides the root; default `assets / 500` within 20..=2 000.
    pub folders: Option<u32>,
    /// Newest possible creation time; the library spans the five years before it.
    pub until: Timestamp,
    /// Files per chunk (one import transaction per table and chunk).
    pub chunk: usize,
}

impl LibrarySpec {
    pub fn new(assets: u64, seed: u64) -> Self {
        LibrarySpec {
            assets,
            seed,
            folders: None,
            until: Timestamp::parse_iso8601(DEFAULT_UNTIL).unwrap_or(Timestamp::from_millis(0)),
            chunk: DEFAULT_CHUNK,
        }
    }

    fn folder_count(&self) -> usize {
        match self.folders {
            Some(n) => n as usize,
            None => (self.assets / 500).clamp(20, 2000) as usize,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct GenReport {
    pub folders: u64,
    pub files: u64,
    pub versions: u64,
    pub blobs: u64,
    /// Tags on current versions (not AI tags).
    pub tags: u64,
    pub seconds: f64,
}

/// Generates the library described by `spec` into `store`, which must hold no files and no
/// folders but the root. Generation runs on a blocking thread, one chunk ahead of the import.
pub async fn generate_library(
    store: &dyn MetadataStore,
    spec: &LibrarySpec,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<GenReport, AppError> {
    let started = Instant::now();
    let files = store.count_rows(Table::Files).await?;
    let folders = store.count_rows(Table::Folders).await?;
    if files > 0 || folders > 1 {
        return Err(AppError::Conflict(format!(
            "gen-library needs an empty library; this one has {files} files and {} folders",
            folders.saturating_sub(1)
        )));
    }
    if spec.assets == 0 || spec.assets > 100_000_000 {
        return Err(AppError::InvalidParameter(
            "--assets must be between 1 and 100000000".into(),
        ));
    }
    let join = |e: tokio::task::JoinError| AppError::Io(std::io::Error::other(e.to_string()));
    let plan_spec = spec.clone();
    let mut generator = tokio::task::spawn_blocking(move || LibraryGenerator::new(&plan_spec))
        .await
        .map_err(join)?;
    let folder_rows = generator.folder_rows();
    let folder_count = folder_rows.len() as u64;
    for rows in folder_rows.chunks(10_000) {
        store.import_rows(Table::Folders, rows).await?;
    }
    store
        .import_rows(Table::CustomMetadataFields, &custom_field_rows(spec))
        .await?;
    progress(&format!(
        "gen-library: planned {} files in {folder_count} folders ({:.1} s)",
        spec.assets,
        started.elapsed().as_secs_f64()
    ));

    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Chunk>(2);
    let chunk_size = spec.chunk.max(1);
    let producer = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = generator.next_chunk(chunk_size) {
            if sender.blocking_send(chunk).is_err() {
                break;
            }
        }
        generator.report
    });
    let mut done = 0u64;
    let mut last_report = Instant::now();
    while let Some(chunk) = receiver.recv().await {
        store.import_rows(Table::Blobs, &chunk.blobs).await?;
        store.import_rows(Table::Files, &chunk.files).await?;
        store
            .import_rows(Table::FileVersions, &chunk.versions)
            .await?;
        done += chunk.files.len() as u64;
        if last_report.elapsed().as_secs_f64() >= 2.0 || done == spec.assets {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            progress(&format!(
                "gen-library: {done}/{} files ({:.0} %, {secs:.1} s, {:.0} files/s)",
                spec.assets,
                done as f64 * 100.0 / spec.assets as f64,
                done as f64 / secs
            ));
        }
    }
    let mut report = producer.await.map_err(join)?;
    report.folders = folder_count;
    // Rows whose key existed would have been skipped silently: make sure none were.
    let stored_files = store.count_rows(Table::Files).await?;
    let stored_versions = store.count_rows(Table::FileVersions).await?;
    if stored_files != report.files || stored_versions != report.versions {
        return Err(AppError::Conflict(format!(
            "gen-library generated {} files and {} versions but the store holds {stored_files} and {stored_versions}",
            report.files, report.versions
        )));
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

// ------------------------------------------------------------------------- custom metadata

const FIELD_BRANDS: &[&str] = &[
    "acme",
    "northwind",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "gringotts",
    "oscorp",
    "aperture",
    "vandelay",
];
const FIELD_CHANNELS: &[&str] = &["web", "print", "social", "email", "retail", "ooh"];

/// The fields every generated library defines, as `custom_metadata_fields` rows.
fn custom_field_rows(spec: &LibrarySpec) -> Vec<Vec<Cell>> {
    let created = spec.until.millis() - SPAN - DAY;
    let options = |items: &[&str]| serde_json::Value::from(items.to_vec());
    let fields = [
        (
            "price",
            "Price",
            serde_json::json!({"type": "Number", "minValue": 0}),
        ),
        (
            "brand",
            "Brand",
            serde_json::json!({"type": "SingleSelect", "selectOptions": options(FIELD_BRANDS)}),
        ),
        (
            "campaign",
            "Campaign",
            serde_json::json!({"type": "Text", "maxLength": 100}),
        ),
        (
            "shootDate",
            "Shoot date",
            serde_json::json!({"type": "Date"}),
        ),
        (
            "approved",
            "Approved",
            serde_json::json!({"type": "Boolean"}),
        ),
        (
            "channels",
            "Channels",
            serde_json::json!({"type": "MultiSelect", "selectOptions": options(FIELD_CHANNELS)}),
        ),
        ("notes", "Notes", serde_json::json!({"type": "Textarea"})),
    ];
    let mut rng = Rng::new(mix(spec.seed, 0xF1E1D));
    fields
        .iter()
        .enumerate()
        .map(|(i, (name, label, schema))| {
            vec![
                t(asset_id(created, i as u64, &mut rng)),
                t(*name),
                t(*label),
                Cell::Null,
                t(schema.to_string()),
                Cell::Bool(false),
                Cell::Int(created),
                Cell::Int(created),
            ]
        })
        .collect()
}

/// One file's custom metadata (the stored JSON text; dates normalised as the API stores them).
fn custom_values(rng: &mut Rng, created: i64) -> String {
    let mut values = serde_json::Map::new();
    if rng.chance(0.4) {
        let price = (rng.log_normal(40.0, 1.0) * 100.0).round() / 100.0;
        values.insert("price".into(), price.into());
    }
    if rng.chance(0.4) {
        let brand = FIELD_BRANDS[sample_cdf(&zipf_cdf(FIELD_BRANDS.len(), 1.0), rng)];
        values.insert("brand".into(), brand.into());
    }
    if rng.chance(0.2) {
        let campaign = format!("{} {}", rng.pick(CAMPAIGNS), 2020 + rng.below(7));
        values.insert("campaign".into(), campaign.into());
    }
    if rng.chance(0.3) {
        let shot = created - (rng.log_normal(3.0, 1.5) * DAY as f64) as i64;
        values.insert(
            "shootDate".into(),
            Timestamp::from_millis(shot).to_iso8601().into(),
        );
    }
    if rng.chance(0.5) {
        values.insert("approved".into(), rng.chance(0.7).into());
    }
    if rng.chance(0.25) {
        let chosen: Vec<&str> = FIELD_CHANNELS
            .iter()
            .copied()
            .filter(|_| rng.chance(0.35))
            .collect();
        values.insert("channels".into(), chosen.into());
    }
    if rng.chance(0.03) {
        let note = format!(
            "{} {} shot, retouch the {} before release",
            capitalise(rng.word(COLORS)),
            rng.pick(PRODUCTS),
            rng.pick(&["background", "shadows", "logo", "colours"])
        );
        values.insert("notes".into(), note.into());
    }
    serde_json::Value::Object(values).to_string()
}

const CAMERAS: &[(&str, &str)] = &[
    ("Apple", "iPhone 14 Pro"),
    ("Apple", "iPhone 12"),
    ("samsung", "SM-S911B"),
    ("Google", "Pixel 7"),
    ("Canon", "Canon EOS R5"),
    ("Canon", "Canon EOS 5D Mark IV"),
    ("NIKON CORPORATION", "NIKON Z 6"),
    ("SONY", "ILCE-7M3"),
    ("FUJIFILM", "X-T4"),
];
/// The `media_metadata` of generated versions (the `Metadata` fields read from bytes).
const GENERATED_TECHNICAL: &str = r#"{"exif":{},"hasColorProfile":false}"#;

/// City, country, latitude, longitude.
const PLACES: &[(&str, &str, f64, f64)] = &[
    ("Berlin", "Germany", 52.52, 13.405),
    ("Paris", "France", 48.8566, 2.3522),
    ("New York", "United States", 40.7128, -74.006),
    ("Tokyo", "Japan", 35.6762, 139.6503),
    ("Lisbon", "Portugal", 38.7223, -9.1393),
    ("Cape Town", "South Africa", -33.9249, 18.4241),
    ("São Paulo", "Brazil", -23.5505, -46.6333),
    ("Sydney", "Australia", -33.8688, 151.2093),
];

/// Camera metadata for photos (most JPEG and HEIC files), as `media::metadata` would read it
/// (the stored JSON text; date-times as ISO instants).
fn embedded_values(rng: &mut Rng, fmt: Fmt, created: i64) -> String {
    let photo = match fmt {
        Fmt::Jpg => rng.chance(0.6),
        Fmt::Heic => true,
        _ => false,
    };
    if !photo {
        return "{}".into();
    }
    let mut values = serde_json::Map::new();
    let (make, model) = *rng.pick(CAMERAS);
    values.insert("Make".into(), make.into());
    values.insert("Model".into(), model.into());
    let taken = created - (rng.log_normal(2.0, 1.5) * DAY as f64) as i64;
    values.insert(
        "DateTimeOriginal".into(),
        Timestamp::from_millis(taken - taken % 1000)
            .to_iso8601()
            .into(),
    );
    let iso = [50, 100, 200, 400, 800, 1600, 3200]
        [rng.weighted(&[5.0, 30.0, 20.0, 20.0, 12.0, 8.0, 5.0])];
    values.insert("ISO".into(), iso.into());
    let f_number =
        [1.8, 2.8, 4.0, 5.6, 8.0, 11.0][rng.weighted(&[30.0, 25.0, 20.0, 12.0, 8.0, 5.0])];
    values.insert("FNumber".into(), f_number.into());
    let exposure = [0.0005, 0.001, 0.004, 0.008, 0.0166667, 0.05]
        [rng.weighted(&[10.0, 20.0, 30.0, 20.0, 15.0, 5.0])];
    values.insert("ExposureTime".into(), exposure.into());
    values.insert(
        "Orientation".into(),
        if rng.chance(0.2) { 6 } else { 1 }.into(),
    );
    // Phones record where they were, most cameras do not; EXIF keeps magnitudes and
    // hemispheres. Places cluster around cities, within about 30 km.
    let phone = matches!(make, "Apple" | "samsung" | "Google");
    if rng.chance(if phone { 0.7 } else { 0.1 }) {
        let (city, country, lat, lng) = *rng.pick(PLACES);
        let lat = lat + (rng.unit() - 0.5) * 0.5;
        let lng = lng + (rng.unit() - 0.5) * 0.5;
        let round = |v: f64| (v.abs() * 1e6).round() / 1e6;
        values.insert("GPSLatitude".into(), round(lat).into());
        values.insert(
            "GPSLatitudeRef".into(),
            if lat < 0.0 { "S" } else { "N" }.into(),
        );
        values.insert("GPSLongitude".into(), round(lng).into());
        values.insert(
            "GPSLongitudeRef".into(),
            if lng < 0.0 { "W" } else { "E" }.into(),
        );
        if rng.chance(0.3) {
            values.insert("City".into(), city.into());
            values.insert("Country".into(), country.into());
        }
    }
    if rng.chance(0.1) {
        let keywords: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.word(COLORS)).collect();
        values.insert("Keywords".into(), keywords.into());
    }
    serde_json::Value::Object(values).to_string()
}

// ------------------------------------------------------------------------------ randomness

/// SplitMix64: tiny, fast, and good enough for synthetic data; seeded per file, so a file's
/// attributes do not depend on how many random numbers other files used.
#[derive(Debug, Clone)]
struct Rng(u64);

fn mix(a: u64, b: u64) -> u64 {
    Rng(a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len() as u64) as usize]
    }

    /// Index into `weights`, proportionally.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                return i;
            }
            target -= w;
        }
        weights.len() - 1
    }

    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// A point in [0, 1) of an age scale skewed towards 0 (recent): a truncated exponential
    /// whose density at the recent end is e^1.5 ≈ 4.5 times that at the old end.
    fn recent_fraction(&mut self) -> f64 {
        const K: f64 = 1.5;
        -(1.0 - self.unit() * (1.0 - (-K).exp())).ln() / K
    }

    fn alphanumeric(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len).map(|_| *self.pick(ALPHABET) as char).collect()
    }
}

/// Cumulative weights of a Zipf distribution over `n` ranks with exponent `s`.
fn zipf_cdf(n: usize, s: f64) -> Vec<f64> {
    let mut total = 0.0;
    (0..n)
        .map(|rank| {
            total += 1.0 / ((rank + 1) as f64).powf(s);
            total
        })
        .collect()
}

fn sample_cdf(cdf: &[f64], rng: &mut Rng) -> usize {
    let target = rng.unit() * cdf[cdf.len() - 1];
    cdf.partition_point(|&c| c <= target).min(cdf.len() - 1)
}

/// An id of the shape `AssetId::generate` makes (creation millis, counter, random), from
/// deterministic parts.
fn asset_id(millis: i64, counter: u64, rng: &mut Rng) -> String {
    let millis = (millis.max(0) as u64).to_be_bytes();
    let counter = (counter as u32).to_be_bytes();
    let random = rng.next_u64().to_be_bytes();
    let mut bytes = [0u8; 12];
    bytes[..6].copy_from_slice(&millis[2..]);
    bytes[6..9].copy_from_slice(&counter[1..]);
    bytes[9..].copy_from_slice(&random[..3]);
    hex::encode(bytes)
}

// ------------------------------------------------------------------------------ vocabulary

const COLORS: &[&str] = &[
    "red", "blue", "black", "white", "green", "navy", "beige", "pink", "grey", "yellow", "orange",
    "purple", "brown", "teal", "olive", "burgundy", "cream", "gold", "silver", "coral", "mint",
    "lavender", "khaki", "charcoal",
];

const PRODUCTS: &[&str] = &[
    "dress",
    "shirt",
    "sneaker",
    "handbag",
    "watch",
    "jacket",
    "scarf",
    "lamp",
    "sofa",
    "chair",
    "mug",
    "backpack",
    "sunglasses",
    "hat",
    "boots",
    "jeans",
    "skirt",
    "sweater",
    "hoodie",
    "coat",
    "belt",
    "wallet",
    "necklace",
    "ring",
    "earrings",
    "bracelet",
    "candle",
    "vase",
    "pillow",
    "rug",
    "table",
    "desk",
    "bottle",
    "tumbler",
    "headphones",
    "speaker",
    "phone-case",
    "laptop-sleeve",
    "notebook",
    "pen",
    "towel",
    "blanket",
    "sandals",
    "loafers",
    "blazer",
    "tshirt",
    "polo",
    "shorts",
    "leggings",
    "swimsuit",
    "tote",
    "clutch",
    "perfume",
    "lipstick",
    "serum",
    "moisturizer",
    "shampoo",
    "planter",
    "clock",
    "mirror",
];

const CITIES: &[&str] = &[
    "berlin",
    "paris",
    "london",
    "new-york",
    "tokyo",
    "milan",
    "barcelona",
    "amsterdam",
    "copenhagen",
    "stockholm",
    "lisbon",
    "vienna",
    "zurich",
    "sydney",
    "toronto",
    "chicago",
    "los-angeles",
    "seoul",
    "singapore",
    "dubai",
];

const MATERIALS: &[&str] = &[
    "cotton",
    "linen",
    "leather",
    "wool",
    "silk",
    "denim",
    "cashmere",
    "velvet",
    "suede",
    "canvas",
    "ceramic",
    "glass",
    "oak",
    "walnut",
    "bamboo",
    "marble",
    "brass",
    "steel",
    "recycled-plastic",
    "rattan",
];

const STYLES: &[&str] = &[
    "vintage",
    "modern",
    "minimal",
    "classic",
    "oversized",
    "slim",
    "cropped",
    "casual",
    "formal",
    "sporty",
    "boho",
    "luxe",
    "chunky",
];

const SEASONS: &[&str] = &["spring", "summer", "autumn", "winter"];

/// The most common tags, most common first (Zipf ranks 1, 2, …).
const HEAD_TAGS: &[&str] = &[
    "product",
    "marketing",
    "approved",
    "summer",
    "social",
    "hero",
    "banner",
    "lifestyle",
    "ecommerce",
    "instagram",
    "campaign",
    "new-arrival",
    "sale",
    "brand",
    "model",
    "outdoor",
    "studio",
    "white-background",
    "winter",
    "spring",
    "autumn",
    "website",
    "print",
    "holiday",
    "catalog",
    "packshot",
    "flatlay",
    "detail",
    "closeup",
    "team",
    "event",
    "behind-the-scenes",
    "ugc",
    "influencer",
    "newsletter",
    "email",
    "facebook",
    "tiktok",
    "linkedin",
    "pinterest",
    "youtube",
    "thumbnail",
    "logo",
    "icon",
    "illustration",
    "infographic",
    "presentation",
    "report",
    "legal",
    "draft",
    "final",
    "archived",
    "needs-review",
    "rejected",
    "retouched",
    "raw",
    "portrait",
    "landscape",
    "square",
    "vertical",
    "video",
    "animation",
    "black-friday",
    "christmas",
    "valentines",
    "back-to-school",
    "clearance",
    "bestseller",
    "limited-edition",
    "sustainable",
    "organic",
    "handmade",
    "premium",
    "kids",
    "women",
    "men",
    "unisex",
    "home",
    "office",
    "travel",
    "fitness",
    "beauty",
    "food",
    "nature",
    "city",
    "night",
    "sunset",
    "beach",
    "mountain",
    "interior",
    "exterior",
    "minimalist",
    "colorful",
    "monochrome",
    "retro",
    "contemporary",
];

/// Labels of the kind auto-tagging services return (names may contain spaces).
const AI_TAGS: &[&str] = &[
    "Clothing",
    "Sleeve",
    "Fashion",
    "Product",
    "Person",
    "Smile",
    "Outdoor",
    "Sky",
    "Text",
    "Font",
    "Logo",
    "Footwear",
    "Shoe",
    "Handbag",
    "Furniture",
    "Table",
    "Chair",
    "Room",
    "Interior design",
    "Plant",
    "Tree",
    "Building",
    "City",
    "Water",
    "Beach",
    "Food",
    "Dish",
    "Cuisine",
    "Drink",
    "Cup",
    "Bottle",
    "Jewellery",
    "Watch",
    "Fashion accessory",
    "Electronic device",
    "Gadget",
    "Car",
    "Vehicle",
    "Animal",
    "Dog",
    "Cat",
    "Flower",
    "Sunlight",
    "Cloud",
    "Mountain",
    "Landscape",
    "Event",
    "Crowd",
    "Stage",
    "Photograph",
    "Portrait",
    "Hair",
    "Face",
    "Hand",
    "Rectangle",
    "Pattern",
    "Textile",
    "Wood",
    "Metal",
    "Glasses",
];

const BRANDS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "soylent",
    "tyrell",
    "cyberdyne",
    "aperture",
    "vandelay",
    "pied-piper",
];

const CAMPAIGNS: &[&str] = &[
    "summer-sale",
    "black-friday",
    "spring-launch",
    "holiday-gift-guide",
    "back-to-school",
    "new-arrivals",
    "clearance",
    "valentines-day",
    "mothers-day",
    "cyber-monday",
    "fall-collection",
    "anniversary",
];

const PLACEMENTS: &[&str] = &[
    "banner", "hero", "story", "post", "ad", "tile", "header", "popup", "carousel",
];
const VARIANTS: &[&str] = &[
    "desktop",
    "mobile",
    "1080x1080",
    "1200x628",
    "v2",
    "v3",
    "final",
    "a",
    "b",
    "dark",
    "light",
];
const VIEWS: &[&str] = &[
    "front", "back", "side", "detail", "top", "45deg", "closeup", "on-model",
];
const SHOT_KINDS: &[&str] = &[
    "product-shot",
    "lifestyle",
    "model",
    "flatlay",
    "detail",
    "packshot",
];
const FIRST_NAMES: &[&str] = &[
    "anna", "ben", "carla", "david", "emma", "felix", "grace", "hugo", "ines", "jonas", "kim",
    "leo", "maya", "noah", "olivia", "paul",
];

/// The tag vocabulary in Zipf rank order: `HEAD_TAGS`, then combinations (colours, products,
/// materials, places, seasons, styles) in a fixed shuffled order, then `sku-100000`,
/// `sku-100001`, … to 5 000 tags. The same for every seed, so benchmark queries can name
/// common and rare tags.
pub fn tag_vocabulary() -> Vec<String> {
    const SIZE: usize = 5000;
    let mut seen = HashSet::new();
    let mut head: Vec<String> = Vec::new();
    for tag in HEAD_TAGS {
        if seen.insert(tag.to_string()) {
            head.push(tag.to_string());
        }
    }
    let mut middle: Vec<String> = Vec::new();
    let mut add = |tag: String, middle: &mut Vec<String>| {
        if seen.insert(tag.clone()) {
            middle.push(tag);
        }
    };
    for words in [COLORS, PRODUCTS, CITIES, MATERIALS] {
        for w in words {
            add(w.to_string(), &mut middle);
        }
    }
    for year in 2020..=2026 {
        add(year.to_string(), &mut middle);
        for season in SEASONS {
            add(format!("{season}-{year}"), &mut middle);
        }
        for city in CITIES {
            add(format!("{city}-{year}"), &mut middle);
        }
    }
    for product in PRODUCTS {
        for color in COLORS {
            add(format!("{color}-{product}"), &mut middle);
        }
        for material in MATERIALS {
            add(format!("{material}-{product}"), &mut middle);
        }
        for style in STYLES {
            add(format!("{style}-{product}"), &mut middle);
        }
    }
    for city in CITIES {
        for season in SEASONS {
            add(format!("shoot-{city}-{season}"), &mut middle);
        }
    }
    // A fixed shuffle (Fisher-Yates), independent of the library's seed.
    let mut rng = Rng::new(0x6b75_7261_7461_6773);
    for i in (1..middle.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        middle.swap(i, j);
    }
    let mut tags = head;
    tags.extend(middle);
    tags.truncate(SIZE);
    let mut sku = 100_000;
    while tags.len() < SIZE {
        tags.push(format!("sku-{sku}"));
        sku += 1;
    }
    tags
}

// ------------------------------------------------------------------------------ formats

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Jpg,
    Png,
    Webp,
    Pdf,
    Mp4,
    Gif,
    Svg,
    Mov,
    Heic,
    Docx,
    Pptx,
    Zip,
    Xlsx,
    Psd,
}

/// (format, share in %). Webp is moved towards the last two years after the draw.
const FORMATS: &[(Fmt, f64)] = &[
    (Fmt::Jpg, 55.0),
    (Fmt::Png, 20.0),
    (Fmt::Webp, 8.0),
    (Fmt::Pdf, 7.0),
    (Fmt::Mp4, 5.0),
    (Fmt::Gif, 1.2),
    (Fmt::Svg, 1.0),
    (Fmt::Mov, 0.8),
    (Fmt::Heic, 0.6),
    (Fmt::Docx, 0.4),
    (Fmt::Pptx, 0.3),
    (Fmt::Zip, 0.3),
    (Fmt::Xlsx, 0.2),
    (Fmt::Psd, 0.2),
];

impl Fmt {
    fn ext(self) -> &'static str {
        match self {
            Fmt::Jpg => "jpg",
            Fmt::Png => "png",
            Fmt::Webp => "webp",
            Fmt::Pdf => "pdf",
            Fmt::Mp4 => "mp4",
            Fmt::Gif => "gif",
            Fmt::Svg => "svg",
            Fmt::Mov => "mov",
            Fmt::Heic => "heic",
            Fmt::Docx => "docx",
            Fmt::Pptx => "pptx",
            Fmt::Zip => "zip",
            Fmt::Xlsx => "xlsx",
            Fmt::Psd => "psd",
        }
    }

    /// The MIME type `media::probe` reports for this format.
    fn mime(self) -> &'static str {
        match self {
            Fmt::Jpg => "image/jpeg",
            Fmt::Png => "image/png",
            Fmt::Webp => "image/webp",
            Fmt::Pdf => "application/pdf",
            Fmt::Mp4 => "video/mp4",
            Fmt::Gif => "image/gif",
            Fmt::Svg => "image/svg+xml",
            Fmt::Mov => "video/quicktime",
            Fmt::Heic => "image/heic",
            Fmt::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Fmt::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Fmt::Zip => "application/zip",
            Fmt::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Fmt::Psd => "image/vnd.adobe.photoshop",
        }
    }

    fn is_image(self) -> bool {
        matches!(
            self,
            Fmt::Jpg | Fmt::Png | Fmt::Webp | Fmt::Gif | Fmt::Svg | Fmt::Heic
        )
    }
}

/// Weighted (width, height) choices; (0, 0) stands for "some other size".
type Dims = &'static [((u32, u32), f64)];

const JPG_DIMS: Dims = &[
    ((4032, 3024), 22.0),
    ((3024, 4032), 12.0),
    ((4000, 3000), 5.0),
    ((6000, 4000), 6.0),
    ((4000, 6000), 3.0),
    ((5472, 3648), 3.0),
    ((1920, 1080), 12.0),
    ((1080, 1920), 4.0),
    ((1080, 1080), 8.0),
    ((1080, 1350), 4.0),
    ((1200, 800), 6.0),
    ((1600, 1067), 4.0),
    ((2048, 1365), 3.0),
    ((800, 600), 3.0),
    ((640, 480), 2.0),
    ((300, 200), 1.5),
    ((150, 150), 1.5),
    ((0, 0), 5.0),
];
const SCREENSHOT_DIMS: Dims = &[
    ((2880, 1800), 30.0),
    ((1920, 1080), 25.0),
    ((1440, 900), 15.0),
    ((2560, 1440), 10.0),
    ((1170, 2532), 12.0),
    ((3024, 1964), 8.0),
];
const ICON_DIMS: Dims = &[
    ((512, 512), 20.0),
    ((256, 256), 20.0),
    ((128, 128), 15.0),
    ((64, 64), 12.0),
    ((32, 32), 8.0),
    ((800, 400), 15.0),
    ((1200, 600), 10.0),
];
const CUTOUT_DIMS: Dims = &[
    ((2000, 2000), 50.0),
    ((1500, 1500), 25.0),
    ((3000, 3000), 20.0),
    ((5000, 5000), 2.0),
    ((0, 0), 3.0),
];
const GRAPHIC_DIMS: Dims = &[
    ((1200, 628), 30.0),
    ((1080, 1080), 25.0),
    ((1920, 1080), 20.0),
    ((1080, 1920), 10.0),
    ((0, 0), 15.0),
];
const WEBP_DIMS: Dims = &[
    ((1200, 628), 15.0),
    ((1920, 1080), 15.0),
    ((800, 800), 15.0),
    ((400, 400), 10.0),
    ((1600, 900), 10.0),
    ((1080, 1080), 10.0),
    ((2400, 1600), 5.0),
    ((0, 0), 20.0),
];
const GIF_DIMS: Dims = &[
    ((480, 270), 30.0),
    ((320, 240), 20.0),
    ((500, 500), 20.0),
    ((800, 600), 15.0),
    ((1200, 675), 15.0),
];
const SVG_DIMS: Dims = &[
    ((24, 24), 25.0),
    ((48, 48), 20.0),
    ((100, 100), 15.0),
    ((512, 512), 15.0),
    ((800, 600), 15.0),
    ((1200, 400), 10.0),
];
const HEIC_DIMS: Dims = &[((4032, 3024), 65.0), ((3024, 4032), 35.0)];

fn pick_dims(rng: &mut Rng, dims: Dims) -> (u32, u32) {
    let weights: Vec<f64> = dims.iter().map(|d| d.1).collect();
    let (w, h) = dims[rng.weighted(&weights)].0;
    if w > 0 {
        return (w, h);
    }
    let width = 400 + rng.below(2600) as u32;
    let aspect = *rng.pick(&[4.0 / 3.0, 1.5, 16.0 / 9.0, 1.0, 0.75, 2.0 / 3.0]);
    (width, ((f64::from(width) / aspect).round() as u32).max(1))
}

// ------------------------------------------------------------------------------ folders

const TOP_FOLDERS: &[&str] = &[
    "marketing",
    "products",
    "campaigns",
    "brand",
    "photos",
    "social",
    "website",
    "documents",
    "events",
    "videos",
    "clients",
    "archive",
    "uploads",
    "design",
];
const PRODUCT_CATEGORIES: &[&str] = &[
    "dresses",
    "shoes",
    "handbags",
    "outerwear",
    "accessories",
    "home-decor",
    "lighting",
    "furniture",
    "beauty",
    "jewelry",
    "kitchen",
    "kids",
    "menswear",
    "womenswear",
    "sportswear",
    "bags",
];
const STAGES: &[&str] = &[
    "raw",
    "edited",
    "final",
    "exports",
    "selects",
    "drafts",
    "approved",
    "retouched",
    "web",
    "print",
    "thumbnails",
    "originals",
    "old",
    "wip",
];
const CHANNELS: &[&str] = &[
    "instagram",
    "facebook",
    "tiktok",
    "linkedin",
    "pinterest",
    "youtube",
    "newsletter",
    "email",
    "display-ads",
    "google-ads",
];
const DOC_KINDS: &[&str] = &[
    "reports",
    "contracts",
    "invoices",
    "presentations",
    "legal",
    "hr",
    "finance",
    "guidelines",
    "briefs",
    "press",
];
const EVENTS: &[&str] = &[
    "team-offsite",
    "product-launch",
    "trade-show",
    "conference",
    "photo-shoot",
    "store-opening",
    "holiday-party",
    "workshop",
];

#[derive(Debug, Clone)]
struct Folder {
    id: String,
    path: String,
    name: String,
    parent: usize,
    depth: u32,
    children: u32,
    /// Index into `TOP_FOLDERS` of its top-level ancestor.
    category: usize,
    weight: f64,
    /// Files come from the whole span (root, top-level, uploads, archive) …
    general: bool,
    /// … or from this burst of activity: (start, length) in millis.
    window: (i64, i64),
    created: i64,
}

fn year(rng: &mut Rng) -> u32 {
    2021 + rng.below(6) as u32
}

fn child_name(rng: &mut Rng, category: &str, depth: u32) -> String {
    let stage = |rng: &mut Rng| rng.pick(STAGES).to_string();
    let campaign = |rng: &mut Rng| format!("{}-{}", rng.pick(CAMPAIGNS), year(rng));
    let month = |rng: &mut Rng| format!("{}-{:02}", year(rng), 1 + rng.below(12));
    let event = |rng: &mut Rng| format!("{}-{}-{}", rng.pick(EVENTS), rng.pick(CITIES), year(rng));
    if depth >= 4 {
        return stage(rng);
    }
    let roll = rng.unit();
    match category {
        "products" => match depth {
            2 => rng.pick(PRODUCT_CATEGORIES).to_string(),
            _ if roll < 0.5 => format!("sku-{}", 100_000 + rng.below(900_000)),
            _ if roll < 0.8 => rng.pick(COLORS).to_string(),
            _ => format!("{}-{}", rng.pick(SEASONS), year(rng)),
        },
        "marketing" | "campaigns" => match depth {
            2 if roll < 0.5 => campaign(rng),
            2 if roll < 0.8 => year(rng).to_string(),
            2 => rng.pick(CHANNELS).to_string(),
            _ if roll < 0.4 => rng.pick(CHANNELS).to_string(),
            _ if roll < 0.8 => stage(rng),
            _ => month(rng),
        },
        "social" => match depth {
            2 => rng.pick(CHANNELS).to_string(),
            _ if roll < 0.6 => month(rng),
            _ => year(rng).to_string(),
        },
        "photos" | "events" | "videos" => match depth {
            2 if roll < 0.5 => year(rng).to_string(),
            2 => event(rng),
            _ if roll < 0.5 => event(rng),
            _ => month(rng),
        },
        "documents" => match depth {
            2 => rng.pick(DOC_KINDS).to_string(),
            _ if roll < 0.5 => year(rng).to_string(),
            _ => format!("q{}-{}", 1 + rng.below(4), year(rng)),
        },
        "clients" => match depth {
            2 => format!(
                "{}-{}",
                rng.pick(BRANDS),
                rng.pick(&["corp", "inc", "gmbh", "co"])
            ),
            _ if roll < 0.4 => "projects".to_string(),
            _ if roll < 0.7 => year(rng).to_string(),
            _ => campaign(rng),
        },
        _ => {
            if roll < 0.3 {
                year(rng).to_string()
            } else if roll < 0.5 {
                stage(rng)
            } else if roll < 0.7 {
                campaign(rng)
            } else if roll < 0.85 {
                rng.pick(PRODUCT_CATEGORIES).to_string()
            } else {
                format!("{}-{}", rng.pick(STYLES), rng.pick(PRODUCTS))
            }
        }
    }
}

/// The folder tree: index 0 is the root, parents come before their children.
fn build_tree(rng: &mut Rng, count: usize, until: i64) -> Vec<Folder> {
    let root = Folder {
        id: ROOT_FOLDER_ID.to_owned(),
        path: "/".to_owned(),
        name: String::new(),
        parent: 0,
        depth: 0,
        children: 0,
        category: 0,
        weight: 0.0,
        general: true,
        window: (until - SPAN, SPAN),
        created: 0,
    };
    let mut folders = vec![root];
    let mut paths: HashSet<String> = HashSet::new();
    for (category, name) in TOP_FOLDERS.iter().enumerate().take(count) {
        paths.insert(format!("/{name}"));
        folders.push(Folder {
            id: String::new(),
            path: format!("/{name}"),
            name: name.to_string(),
            parent: 0,
            depth: 1,
            children: 0,
            category,
            weight: 0.0,
            general: true,
            window: (until - SPAN, SPAN),
            created: 0,
        });
        folders[0].children += 1;
    }
    // Shallow folders are preferred as parents, and folders with many children less so.
    const DEPTH_PREFERENCE: [f64; 5] = [0.0, 1.0, 0.8, 0.5, 0.25];
    while folders.len() <= count {
        let weights: Vec<f64> = folders
            .iter()
            .map(|f| {
                if (1..5).contains(&f.depth) {
                    DEPTH_PREFERENCE[f.depth as usize] / f64::from(1 + f.children).sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let parent = rng.weighted(&weights);
        let (category, depth) = (folders[parent].category, folders[parent].depth + 1);
        let mut name = child_name(rng, TOP_FOLDERS[category], depth);
        let mut path = format!("{}/{name}", folders[parent].path);
        let mut attempt = 1;
        while paths.contains(&path) {
            attempt += 1;
            name = if attempt < 4 {
                child_name(rng, TOP_FOLDERS[category], depth)
            } else {
                format!(
                    "{}-{attempt}",
                    child_name(rng, TOP_FOLDERS[category], depth)
                )
            };
            path = format!("{}/{name}", folders[parent].path);
        }
        paths.insert(path.clone());
        // Bursts of activity: most folders are filled during a few weeks.
        let length = ((rng.log_normal(40.0, 1.3) * DAY as f64) as i64).clamp(DAY, SPAN);
        let start = (until - (rng.recent_fraction() * SPAN as f64) as i64).min(until - length);
        let general = matches!(TOP_FOLDERS[category], "uploads" | "archive") && depth == 2;
        folders[parent].children += 1;
        folders.push(Folder {
            id: String::new(),
            path,
            name,
            parent,
            depth,
            children: 0,
            category,
            weight: 0.0,
            general,
            window: (start, length),
            created: 0,
        });
    }
    // How many files each folder gets: log-normal, so a few hold thousands and many a handful;
    // folders with subfolders hold fewer; the root about 1.5 %.
    let mut total = 0.0;
    for folder in folders.iter_mut().skip(1) {
        let mut weight = rng.log_normal(1.0, 1.25);
        if folder.children > 0 {
            weight *= 0.25;
        }
        if folder.general && folder.depth > 0 {
            weight *= 2.0;
        }
        folder.weight = weight;
        total += weight;
    }
    folders[0].weight = total * 0.015;
    folders
}

// ------------------------------------------------------------------------------ generation

/// One chunk of rows, in `store::sql::table_columns` order.
#[derive(Debug, Default)]
struct Chunk {
    blobs: Vec<Vec<Cell>>,
    files: Vec<Vec<Cell>>,
    versions: Vec<Vec<Cell>>,
}

struct LibraryGenerator {
    seed: u64,
    until: i64,
    folders: Vec<Folder>,
    /// (creation time, folder) of every file, oldest first.
    plan: Vec<(i64, u32)>,
    next: usize,
    counter: u64,
    /// Hashes of (folder, name) in use, for unique names per folder.
    names: HashSet<u64>,
    tags: Vec<String>,
    tag_cdf: Vec<f64>,
    ai_cdf: Vec<f64>,
    format_weights: Vec<f64>,
    report: GenReport,
}

fn t(text: impl Into<String>) -> Cell {
    Cell::Text(text.into())
}

fn opt_int(value: Option<u32>) -> Cell {
    value.map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
}

fn capitalise(word: &str) -> String {
    word.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// Date parts of a time: ("20230412", "2023-04-12", "104211", "10.42.11", year, quarter).
struct DateParts {
    compact: String,
    dashed: String,
    hms: String,
    dotted: String,
    year: String,
    quarter: u32,
}

fn date_parts(millis: i64) -> DateParts {
    let iso = Timestamp::from_millis(millis).to_iso8601();
    let month: u32 = iso[5..7].parse().unwrap_or(1);
    DateParts {
        compact: format!("{}{}{}", &iso[0..4], &iso[5..7], &iso[8..10]),
        dashed: iso[0..10].to_owned(),
        hms: format!("{}{}{}", &iso[11..13], &iso[14..16], &iso[17..19]),
        dotted: format!("{}.{}.{}", &iso[11..13], &iso[14..16], &iso[17..19]),
        year: iso[0..4].to_owned(),
        quarter: (month - 1) / 3 + 1,
    }
}

/// What a version looks like as media.
#[derive(Debug, Clone)]
struct Media {
    dims: Option<(u32, u32)>,
    has_alpha: bool,
    size: u64,
}

/// PNGs come in kinds that decide their names, sizes and transparency.
#[derive(Debug, Clone, Copy)]
enum PngKind {
    Screenshot,
    Logo,
    Cutout,
    Graphic,
}

impl LibraryGenerator {
    fn new(spec: &LibrarySpec) -> Self {
        let until = spec.until.millis();
        let mut rng = Rng::new(mix(spec.seed, 0xF01D));
        let mut folders = build_tree(&mut rng, spec.folder_count(), until);
        let folder_cdf: Vec<f64> = folders
            .iter()
            .scan(0.0, |total, f| {
                *total += f.weight;
                Some(*total)
            })
            .collect();
        let mut rng = Rng::new(mix(spec.seed, 0x7133));
        let mut plan: Vec<(i64, u32)> = (0..spec.assets)
            .map(|_| {
                let folder = sample_cdf(&folder_cdf, &mut rng);
                let f = &folders[folder];
                let time = if f.general || rng.chance(0.05) {
                    until - (rng.recent_fraction() * SPAN as f64) as i64
                } else {
                    f.window.0 + (rng.unit() * f.window.1 as f64) as i64
                };
                (time, folder as u32)
            })
            .collect();
        plan.sort_unstable();

        // A folder is created shortly before the first file in its subtree (empty ones at the
        // start of their window); parents before children.
        let mut first = vec![i64::MAX; folders.len()];
        for &(time, folder) in &plan {
            let slot = &mut first[folder as usize];
            *slot = (*slot).min(time);
        }
        for i in (1..folders.len()).rev() {
            if first[i] == i64::MAX {
                first[i] = folders[i].window.0;
            }
            let parent = folders[i].parent;
            first[parent] = first[parent].min(first[i]);
        }
        let mut counter = 0;
        for (i, folder) in folders.iter_mut().enumerate().skip(1) {
            folder.created =
                first[i] - i64::from(6 - folder.depth) * HOUR - rng.below(HOUR as u64 - 1) as i64;
            counter += 1;
            folder.id = asset_id(folder.created, counter, &mut rng);
        }

        let tags = tag_vocabulary();
        let tag_cdf = zipf_cdf(tags.len(), 1.0);
        LibraryGenerator {
            seed: spec.seed,
            until,
            folders,
            plan,
            next: 0,
            counter,
            names: HashSet::with_capacity(spec.assets as usize),
            tags,
            tag_cdf,
            ai_cdf: zipf_cdf(AI_TAGS.len(), 0.8),
            format_weights: FORMATS.iter().map(|f| f.1).collect(),
            report: GenReport::default(),
        }
    }

    fn folder_rows(&self) -> Vec<Vec<Cell>> {
        self.folders
            .iter()
            .skip(1)
            .map(|f| {
                let parent = &self.folders[f.parent].path;
                vec![
                    t(f.id.clone()),
                    t(f.path.clone()),
                    t(parent.clone()),
                    t(f.name.clone()),
                    Cell::Int(f.created),
                    Cell::Int(f.created),
                ]
            })
            .collect()
    }

    fn next_id(&mut self, millis: i64, rng: &mut Rng) -> String {
        self.counter += 1;
        asset_id(millis, self.counter, rng)
    }

    fn next_chunk(&mut self, size: usize) -> Option<Chunk> {
        if self.next >= self.plan.len() {
            return None;
        }
        let end = (self.next + size).min(self.plan.len());
        let mut chunk = Chunk {
            blobs: Vec::with_capacity((end - self.next) * 11 / 10),
            files: Vec::with_capacity(end - self.next),
            versions: Vec::with_capacity((end - self.next) * 11 / 10),
        };
        for index in self.next..end {
            self.file(index, &mut chunk);
        }
        self.next = end;
        // Ids grow from chunk to chunk anyway; in (folder, name) order within the chunk, the
        // inserts also sweep the files' (folder_id, name) index once instead of hopping about.
        chunk
            .files
            .sort_unstable_by(|a, b| (&a[1], &a[2]).cmp(&(&b[1], &b[2])));
        Some(chunk)
    }

    fn pick_format(&self, rng: &mut Rng, created: i64) -> Fmt {
        let fmt = FORMATS[rng.weighted(&self.format_weights)].0;
        // Webp took over recently: nearly all of it is from the last two years, where it
        // replaces some jpg, so its overall share stays about the same.
        let recent = created >= self.until - 730 * DAY;
        match fmt {
            Fmt::Webp if !recent && rng.chance(0.97) => Fmt::Jpg,
            Fmt::Jpg if recent && rng.chance(0.1) => Fmt::Webp,
            other => other,
        }
    }

    fn media(rng: &mut Rng, fmt: Fmt, png: PngKind) -> Media {
        let (dims, has_alpha) = match fmt {
            Fmt::Jpg => (Some(pick_dims(rng, JPG_DIMS)), false),
            Fmt::Png => match png {
                PngKind::Screenshot => (Some(pick_dims(rng, SCREENSHOT_DIMS)), false),
                PngKind::Logo => (Some(pick_dims(rng, ICON_DIMS)), rng.chance(0.9)),
                PngKind::Cutout => (Some(pick_dims(rng, CUTOUT_DIMS)), rng.chance(0.7)),
                PngKind::Graphic => (Some(pick_dims(rng, GRAPHIC_DIMS)), rng.chance(0.2)),
            },
            Fmt::Webp => (Some(pick_dims(rng, WEBP_DIMS)), rng.chance(0.15)),
            Fmt::Gif => (Some(pick_dims(rng, GIF_DIMS)), rng.chance(0.1)),
            Fmt::Svg => (Some(pick_dims(rng, SVG_DIMS)), true),
            Fmt::Heic => (Some(pick_dims(rng, HEIC_DIMS)), false),
            _ => (None, false),
        };
        let pixels = dims.map_or(0.0, |(w, h)| f64::from(w) * f64::from(h));
        let size = match fmt {
            Fmt::Jpg => pixels * rng.log_normal(0.25, 0.45),
            Fmt::Png => {
                let per_pixel = match png {
                    PngKind::Screenshot => 0.35,
                    PngKind::Logo => 0.6,
                    PngKind::Cutout => 0.9,
                    PngKind::Graphic => 0.8,
                };
                pixels * rng.log_normal(per_pixel, 0.5)
            }
            Fmt::Webp => pixels * rng.log_normal(0.08, 0.5),
            Fmt::Heic => pixels * rng.log_normal(0.12, 0.35),
            Fmt::Gif => rng.log_normal(600e3, 1.0),
            Fmt::Svg => rng.log_normal(6e3, 1.0),
            Fmt::Pdf => rng.log_normal(350e3, 1.4),
            Fmt::Mp4 => rng.log_normal(35e6, 1.2),
            Fmt::Mov => rng.log_normal(120e6, 1.1),
            Fmt::Docx => rng.log_normal(80e3, 1.0),
            Fmt::Pptx => rng.log_normal(4e6, 1.2),
            Fmt::Xlsx => rng.log_normal(60e3, 1.0),
            Fmt::Zip => rng.log_normal(25e6, 1.5),
            Fmt::Psd => rng.log_normal(60e6, 0.9),
        };
        Media {
            dims,
            has_alpha,
            size: size.clamp(200.0, 4e9) as u64,
        }
    }

    /// The file's base name (without extension) and the tags its name suggests.
    fn base_name(rng: &mut Rng, fmt: Fmt, png: PngKind, created: i64) -> (String, Vec<String>) {
        let d = date_parts(created);
        let color = *rng.pick(COLORS);
        let product = *rng.pick(PRODUCTS);
        let product_tags = |rng: &mut Rng| {
            let mut tags = Vec::new();
            if rng.chance(0.5) {
                tags.push(format!("{color}-{product}"));
            }
            if rng.chance(0.4) {
                tags.push(product.to_owned());
            }
            tags
        };
        let seq4 = |rng: &mut Rng| format!("{:04}", rng.below(10_000));
        let descriptive = |rng: &mut Rng| -> (String, Vec<String>) {
            let roll = rng.unit();
            let name = if roll < 0.4 {
                format!(
                    "{}-{color}-{product}-{:03}",
                    rng.pick(SHOT_KINDS),
                    1 + rng.below(40)
                )
            } else if roll < 0.6 {
                format!("{color}-{product}-{}", rng.pick(VIEWS))
            } else if roll < 0.75 {
                format!(
                    "{}_{}_{}",
                    capitalise(product),
                    capitalise(color),
                    capitalise(rng.word(VIEWS))
                )
            } else if roll < 0.92 {
                let campaign = rng.pick(CAMPAIGNS);
                let placement = rng.pick(PLACEMENTS);
                let variant = rng.pick(VARIANTS);
                return (format!("{campaign}-{placement}-{variant}"), Vec::new());
            } else {
                format!(
                    "lifestyle-{}-{product}-{:02}",
                    rng.pick(CITIES),
                    1 + rng.below(60)
                )
            };
            (name, product_tags(rng))
        };
        match fmt {
            Fmt::Jpg => {
                let roll = rng.unit();
                if roll < 0.45 {
                    (format!("IMG_{}_{}", d.compact, seq4(rng)), Vec::new())
                } else if roll < 0.55 {
                    (format!("DSC_{}", seq4(rng)), Vec::new())
                } else if roll < 0.6 {
                    (
                        format!("PXL_{}_{}{:03}", d.compact, d.hms, rng.below(1000)),
                        Vec::new(),
                    )
                } else {
                    descriptive(rng)
                }
            }
            Fmt::Png => match png {
                PngKind::Screenshot => (
                    format!("Screenshot_{}_at_{}", d.dashed, d.dotted),
                    Vec::new(),
                ),
                PngKind::Logo if rng.chance(0.5) => (
                    format!(
                        "logo-{}-{}",
                        rng.pick(BRANDS),
                        rng.pick(&[
                            "dark",
                            "light",
                            "mono",
                            "horizontal",
                            "stacked",
                            "full-color"
                        ])
                    ),
                    vec!["logo".to_owned()],
                ),
                PngKind::Logo => (
                    format!(
                        "icon-{product}-{}",
                        rng.pick(&[16, 24, 32, 48, 64, 128, 256, 512])
                    ),
                    vec!["icon".to_owned()],
                ),
                PngKind::Cutout | PngKind::Graphic => descriptive(rng),
            },
            Fmt::Webp => {
                if rng.chance(0.3) {
                    (
                        format!(
                            "hero-banner-{}-{}w",
                            rng.pick(CAMPAIGNS),
                            rng.pick(&[800, 1200, 1600, 2400])
                        ),
                        vec!["banner".to_owned()],
                    )
                } else {
                    descriptive(rng)
                }
            }
            Fmt::Gif => (
                format!("{color}-{product}-animation"),
                vec!["animation".to_owned()],
            ),
            Fmt::Svg => (
                if rng.chance(0.5) {
                    format!("icon-{product}")
                } else {
                    format!("logo-{}", rng.pick(BRANDS))
                },
                Vec::new(),
            ),
            Fmt::Heic => (format!("IMG_{}", seq4(rng)), Vec::new()),
            Fmt::Pdf => {
                let client = capitalise(rng.word(BRANDS));
                let name = match rng.below(8) {
                    0 => format!("Quarterly_Report_Q{}_{}", d.quarter, d.year),
                    1 => format!("Invoice_INV-{:06}", rng.below(1_000_000)),
                    2 => format!("Brand_Guidelines_v{}", 1 + rng.below(6)),
                    3 => format!("{client}_Contract_{}", d.year),
                    4 => format!("{}_Spec_Sheet", capitalise(product)),
                    5 => format!("Press_Release_{}", d.dashed),
                    6 => format!("Media_Kit_{}", d.year),
                    _ => format!("Catalog_{}_{}", capitalise(rng.word(SEASONS)), d.year),
                };
                (name, Vec::new())
            }
            Fmt::Mp4 => match rng.below(4) {
                0 | 1 => (format!("VID_{}_{}", d.compact, d.hms), Vec::new()),
                2 => (
                    format!("{product}-demo-{color}"),
                    vec!["video".to_owned(), product.to_owned()],
                ),
                _ => (
                    format!(
                        "{}-teaser-{}s",
                        rng.pick(CAMPAIGNS),
                        rng.pick(&[6, 15, 30, 60])
                    ),
                    vec!["video".to_owned()],
                ),
            },
            Fmt::Mov => {
                if rng.chance(0.6) {
                    (format!("IMG_{}", seq4(rng)), Vec::new())
                } else {
                    (
                        format!(
                            "testimonial-{}-take{}",
                            rng.pick(FIRST_NAMES),
                            1 + rng.below(5)
                        ),
                        Vec::new(),
                    )
                }
            }
            Fmt::Docx => (
                if rng.chance(0.5) {
                    format!(
                        "{}_Brief_v{}",
                        capitalise(rng.word(CAMPAIGNS)),
                        1 + rng.below(5)
                    )
                } else {
                    format!("Meeting_Notes_{}", d.dashed)
                },
                Vec::new(),
            ),
            Fmt::Pptx => (
                if rng.chance(0.5) {
                    format!("Q{}_{}_Business_Review", d.quarter, d.year)
                } else {
                    format!("Pitch_Deck_{}", capitalise(rng.word(BRANDS)))
                },
                vec!["presentation".to_owned()],
            ),
            Fmt::Xlsx => (
                if rng.chance(0.5) {
                    format!("Budget_{}", d.year)
                } else {
                    format!("Product_Inventory_{}", &d.dashed[..7])
                },
                Vec::new(),
            ),
            Fmt::Zip => (
                if rng.chance(0.5) {
                    format!("{}-assets", rng.pick(CAMPAIGNS))
                } else {
                    format!("export-{}", d.compact)
                },
                Vec::new(),
            ),
            Fmt::Psd => (
                format!("{}-{}-master", rng.pick(CAMPAIGNS), rng.pick(PLACEMENTS)),
                Vec::new(),
            ),
        }
    }

    fn unique_name(&mut self, rng: &mut Rng, folder: u32, base: &str, ext: &str) -> String {
        // A quarter were uploaded with a unique-name suffix, like `photo_Ab3dE9xYz.jpg`.
        let mut name = if rng.chance(0.25) {
            format!("{base}_{}.{ext}", rng.alphanumeric(9))
        } else {
            format!("{base}.{ext}")
        };
        loop {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (folder, &name).hash(&mut hasher);
            if self.names.insert(hasher.finish()) {
                return name;
            }
            name = format!("{base}_{}.{ext}", rng.alphanumeric(9));
        }
    }

    fn pick_tags(&self, rng: &mut Rng, suggested: Vec<String>) -> Vec<String> {
        const COUNT_WEIGHTS: [f64; 9] = [14.0, 16.0, 18.0, 16.0, 12.0, 9.0, 7.0, 5.0, 3.0];
        let count = rng.weighted(&COUNT_WEIGHTS);
        let mut tags: Vec<String> = suggested.into_iter().take(count).collect();
        let mut attempts = 0;
        while tags.len() < count && attempts < 40 {
            attempts += 1;
            let tag = &self.tags[sample_cdf(&self.tag_cdf, rng)];
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.clone());
            }
        }
        tags
    }

    fn ai_tags(&self, rng: &mut Rng) -> Option<String> {
        let count = 3 + rng.below(6) as usize;
        let source = if rng.chance(0.7) {
            "google-auto-tagging"
        } else {
            "aws-auto-tagging"
        };
        let mut names: Vec<&str> = Vec::with_capacity(count);
        let mut attempts = 0;
        while names.len() < count && attempts < 40 {
            attempts += 1;
            let name = AI_TAGS[sample_cdf(&self.ai_cdf, rng)];
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let tags: Vec<serde_json::Value> = names
            .iter()
            .map(|name| {
                serde_json::json!({
                    "name": name,
                    "confidence": (50.0 + rng.unit() * 49.0).round(),
                    "source": source,
                })
            })
            .collect();
        Some(serde_json::Value::from(tags).to_string())
    }

    fn file(&mut self, index: usize, chunk: &mut Chunk) {
        let (created, folder) = self.plan[index];
        let mut rng = Rng::new(mix(self.seed ^ 0xF11E, index as u64));
        let fmt = self.pick_format(&mut rng, created);
        let png = [
            PngKind::Screenshot,
            PngKind::Logo,
            PngKind::Cutout,
            PngKind::Graphic,
        ][rng.weighted(&[35.0, 30.0, 25.0, 10.0])];
        let (base, suggested) = Self::base_name(&mut rng, fmt, png, created);
        let name = self.unique_name(&mut rng, folder, &base, fmt.ext());
        let tags = self.pick_tags(&mut rng, suggested);
        let ai_tags = if fmt.is_image() && rng.chance(0.25) {
            self.ai_tags(&mut rng)
        } else {
            None
        };
        let is_private = rng.chance(0.05);
        let is_published = rng.chance(0.95);
        let description = rng.chance(0.05).then(|| {
            format!(
                "{} {} {} for the {} campaign",
                capitalise(rng.word(COLORS)),
                rng.pick(PRODUCTS),
                rng.pick(&[
                    "on white background",
                    "worn outdoors",
                    "in the studio",
                    "detail"
                ]),
                rng.pick(CAMPAIGNS)
            )
        });
        let versions = match rng.unit() {
            r if r < 0.90 => 1,
            r if r < 0.97 => 2,
            _ => 3,
        };
        let file_id = self.next_id(created, &mut rng);
        // From a generator of its own, so the other attributes are those of older libraries.
        let custom_metadata = custom_values(
            &mut Rng::new(mix(self.seed ^ 0xC057, index as u64)),
            created,
        );
        let embedded = embedded_values(
            &mut Rng::new(mix(self.seed ^ 0xE4BE, index as u64)),
            fmt,
            created,
        );

        // Version times: the first at the file's creation, each later one after a gap.
        let mut times = vec![created];
        for _ in 1..versions {
            let previous = *times.last().unwrap_or(&created);
            let gap = (rng.log_normal(15.0, 1.5) * DAY as f64) as i64;
            times.push((previous + gap.max(60_000)).min(self.until).max(previous));
        }
        let mut media = Self::media(&mut rng, fmt, png);
        let mut current_id = String::new();
        let mut updated = created;
        for (number, &v_created) in times.iter().enumerate() {
            let is_current = number + 1 == versions;
            if number > 0 {
                // A re-export: same format and usually the same dimensions, another size.
                let again = Self::media(&mut rng, fmt, png);
                media.size = again.size;
                if rng.chance(0.3) {
                    media.dims = again.dims;
                }
            }
            let v_updated = if rng.chance(0.3) {
                let edit = (rng.log_normal(7.0, 1.5) * DAY as f64) as i64;
                let limit = if is_current {
                    self.until
                } else {
                    times[number + 1]
                };
                (v_created + edit).min(limit).max(v_created)
            } else {
                v_created
            };
            updated = updated.max(v_updated);
            let version_id = if number == 0 {
                file_id.clone()
            } else {
                self.next_id(v_created, &mut rng)
            };
            // Older versions had fewer tags.
            let version_tags = if is_current {
                tags.clone()
            } else {
                tags[..tags.len().saturating_sub(versions - 1 - number)].to_vec()
            };
            // A counter, then digest digits: the hashes sort in generation order, so the blobs
            // table and the versions' index on blob_hash are appended to rather than written
            // all over (random keys made a 1M import several times slower). They name no bytes.
            let digest =
                blake3::hash(format!("kura-gen-library {} {version_id}", self.seed).as_bytes())
                    .to_hex();
            let blob = format!("{:016x}{}", self.report.blobs, &digest[16..]);
            chunk.blobs.push(vec![
                t(blob.clone()),
                Cell::Int(media.size as i64),
                t("live"),
                Cell::Int(v_created),
            ]);
            chunk.versions.push(vec![
                t(version_id.clone()),
                t(file_id.clone()),
                Cell::Int(number as i64 + 1),
                t(blob),
                Cell::Int(media.size as i64),
                t(fmt.mime()),
                t(fmt.ext()),
                t(if fmt.is_image() { "image" } else { "non-image" }),
                opt_int(media.dims.map(|d| d.0)),
                opt_int(media.dims.map(|d| d.1)),
                Cell::Bool(media.has_alpha),
                if version_tags.is_empty() {
                    Cell::Null
                } else {
                    t(serde_json::Value::from(version_tags.clone()).to_string())
                },
                if is_current {
                    ai_tags.clone().map_or(Cell::Null, Cell::Text)
                } else {
                    Cell::Null
                },
                Cell::Null,
                t(custom_metadata.clone()),
                description.clone().map_or(Cell::Null, Cell::Text),
                Cell::Bool(is_private),
                Cell::Bool(is_published),
                Cell::Int(v_created),
                Cell::Int(v_updated),
                t(embedded.clone()),
                // Read already, as far as the metadata backfill is concerned: generated
                // versions have no bytes to read.
                t(GENERATED_TECHNICAL),
            ]);
            self.report.versions += 1;
            self.report.blobs += 1;
            if is_current {
                current_id = version_id;
                self.report.tags += version_tags.len() as u64;
            }
        }
        chunk.files.push(vec![
            t(file_id),
            t(self.folders[folder as usize].id.clone()),
            t(name),
            t(current_id),
            Cell::Int(created),
            Cell::Int(updated),
        ]);
        self.report.files += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(assets: u64, seed: u64) -> (Vec<Vec<Cell>>, Chunk) {
        let mut spec = LibrarySpec::new(assets, seed);
        spec.folders = Some(60);
        let mut generator = LibraryGenerator::new(&spec);
        let folders = generator.folder_rows();
        let mut all = Chunk::default();
        while let Some(chunk) = generator.next_chunk(700) {
            all.blobs.extend(chunk.blobs);
            all.files.extend(chunk.files);
            all.versions.extend(chunk.versions);
        }
        (folders, all)
    }

    fn text(cell: &Cell) -> &str {
        match cell {
            Cell::Text(t) => t,
            other => panic!("expected text, got {other:?}"),
        }
    }

    fn int(cell: &Cell) -> Option<i64> {
        match cell {
            Cell::Int(i) => Some(*i),
            Cell::Null => None,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    #[test]
    fn same_seed_same_library_other_seed_another() {
        let (folders_a, a) = generate(3000, 7);
        let (folders_b, b) = generate(3000, 7);
        assert_eq!(folders_a, folders_b);
        assert_eq!(a.files, b.files);
        assert_eq!(a.versions, b.versions);
        assert_eq!(a.blobs, b.blobs);
        let (_, c) = generate(3000, 8);
        assert_ne!(a.files, c.files);
    }

    #[test]
    fn distributions_are_plausible() {
        let n = 8000;
        let (folders, lib) = generate(n, 1);
        assert_eq!(lib.files.len(), n as usize);
        assert_eq!(folders.len(), 60);

        // Folder paths unique, depth at most 5, parents present.
        let paths: HashSet<&str> = folders.iter().map(|f| text(&f[1])).collect();
        assert_eq!(paths.len(), folders.len());
        for f in &folders {
            let path = text(&f[1]);
            assert!(path.matches('/').count() <= 5, "{path}");
            let parent = text(&f[2]);
            assert!(parent == "/" || paths.contains(parent), "{path}");
        }
        let folder_ids: HashSet<&str> = folders.iter().map(|f| text(&f[0])).collect();

        // Unique names per folder; ids well formed, unique, and made of the creation time.
        let mut names = HashSet::new();
        let mut ids = HashSet::new();
        for f in &lib.files {
            let folder = text(&f[1]);
            assert!(folder == ROOT_FOLDER_ID || folder_ids.contains(folder));
            assert!(names.insert((folder.to_owned(), text(&f[2]).to_owned())));
            let id = text(&f[0]);
            assert!(crate::model::AssetId::parse(id).is_some());
            assert!(ids.insert(id.to_owned()));
            let created = int(&f[4]).unwrap();
            assert_eq!(i64::from_str_radix(&id[..12], 16).unwrap(), created);
            assert!(int(&f[5]).unwrap() >= created);
        }

        // ~10 % of files have older versions.
        let extra = lib.versions.len() - lib.files.len();
        let share = extra as f64 / n as f64;
        assert!((0.08..0.2).contains(&share), "{share}");
        assert_eq!(lib.blobs.len(), lib.versions.len());

        let current: HashSet<&str> = lib.files.iter().map(|f| text(&f[3])).collect();
        let mut formats = std::collections::HashMap::<String, usize>::new();
        let mut private = 0;
        let mut tag_total = 0;
        let mut product = 0;
        let until = Timestamp::parse_iso8601(DEFAULT_UNTIL).unwrap().millis();
        let mut recent = 0;
        for v in &lib.versions {
            assert!(int(&v[19]).unwrap() >= int(&v[18]).unwrap());
            assert!(int(&v[18]).unwrap() <= until);
            let image = text(&v[7]) == "image";
            assert_eq!(image, int(&v[8]).is_some(), "{v:?}");
            assert_eq!(image, int(&v[9]).is_some());
            if !current.contains(text(&v[0])) {
                continue;
            }
            *formats.entry(text(&v[6]).to_owned()).or_default() += 1;
            if v[16] == Cell::Bool(true) {
                private += 1;
            }
            if int(&v[18]).unwrap() > until - 365 * DAY {
                recent += 1;
            }
            if let Cell::Text(tags) = &v[11] {
                let tags: Vec<String> = serde_json::from_str(tags).unwrap();
                assert!(!tags.is_empty() && tags.len() <= 8);
                tag_total += tags.len();
                product += usize::from(tags.iter().any(|t| t == "product"));
            }
        }
        let share = |f: &str| *formats.get(f).unwrap_or(&0) as f64 / n as f64;
        assert!((0.48..0.62).contains(&share("jpg")), "{formats:?}");
        assert!((0.16..0.24).contains(&share("png")), "{formats:?}");
        assert!((0.05..0.11).contains(&share("pdf")), "{formats:?}");
        let private = private as f64 / n as f64;
        assert!((0.03..0.07).contains(&private), "{private}");
        let mean_tags = tag_total as f64 / n as f64;
        assert!((2.0..4.5).contains(&mean_tags), "{mean_tags}");
        // The most common tag is on a good share of files; recent files outnumber a fifth.
        let product = product as f64 / n as f64;
        assert!((0.15..0.5).contains(&product), "{product}");
        assert!(recent as f64 / n as f64 > 0.25);
    }

    #[test]
    fn vocabulary_has_the_ranks_benchmarks_name() {
        let tags = tag_vocabulary();
        assert_eq!(tags.len(), 5000);
        assert_eq!(tags[0], "product");
        assert!(tags.contains(&"sku-100500".to_owned()));
        assert_eq!(tags.iter().collect::<HashSet<_>>().len(), tags.len());
    }
}
