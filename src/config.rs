//! Settings from flags and environment (flags win), with the embedded defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub const DEFAULT_MAX_UPLOAD_SIZE: u64 = 2 * 1024 * 1024 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "kura",
    version,
    about = "Self-hosted digital asset management, ImageKit-compatible"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server: the Media API and URL delivery.
    Serve(ServeArgs),
    /// Compare metadata with stored bytes: orphan blobs and rows whose bytes are missing.
    Check(CheckArgs),
    /// Queue a scrub: a running server re-reads every stored blob and checks its hash.
    /// Prints the job id.
    Scrub(StorageOnlyArgs),
    /// Show a background job (state, attempts, node, result) as JSON.
    Job(JobArgs),
    /// Copy this install (e.g. the embedded one) into PostgreSQL and/or S3, then verify it.
    /// Resumable: run it again after an interruption. Stop the server first.
    Migrate(MigrateArgs),
    /// Developer tools: synthetic data for benchmarks.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill an empty install with a synthetic benchmark library (metadata only, no bytes).
    ///
    /// Generates N files with realistic folders, names, formats, dimensions, sizes, dates,
    /// versions and Zipf-distributed tags, and writes them straight into the metadata store
    /// (SQLite in the data dir, or PostgreSQL with --database-url) in large transactions.
    /// Deterministic for a given --seed, --assets, --folders and --until.
    ///
    /// This is a synthetic benchmark library: no bytes are stored anywhere. Every version has
    /// a blob row of its own, whose hash names nothing in the blob store and whose size is
    /// only the made-up size of the version. Delivery, `kura check` (every blob is missing)
    /// and `kura scrub` are not meaningful on it; listing and search are what it is for.
    /// Refuses an install that already holds files or folders, and a data dir a server uses.
    GenLibrary(GenLibraryArgs),
}

#[derive(Debug, Args)]
pub struct GenLibraryArgs {
    #[command(flatten)]
    pub data: StorageArgs,
    /// Number of files (each ~10 % also get 1–2 older versions).
    #[arg(long)]
    pub assets: u64,
    /// Seed of the generator: the same seed gives the same library, ids included.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folders besides the root (default: assets / 500, between 20 and 2000).
    #[arg(long)]
    pub folders: Option<u32>,
    /// End of the five-year span of creation times (a date or ISO 8601 time, UTC).
    #[arg(long, default_value = crate::app::library_gen::DEFAULT_UNTIL)]
    pub until: String,
    /// Files generated and imported per chunk (one transaction per table and chunk).
    #[arg(long, default_value_t = crate::app::library_gen::DEFAULT_CHUNK)]
    pub chunk: usize,
}

#[derive(Debug, Args, Clone)]
pub struct StorageArgs {
    /// Where the embedded database, blobs, upload spool and key live.
    #[arg(long, env = "KURA_DATA_DIR", default_value = "./kura-data")]
    pub data_dir: PathBuf,
    /// `postgres://…` keeps metadata in PostgreSQL (scale-out); unset, the embedded SQLite
    /// database in the data dir.
    #[arg(long, env = "KURA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// `s3://bucket/prefix` keeps blobs in an S3-compatible object store (scale-out); unset,
    /// local disk under the data dir.
    #[arg(long, env = "KURA_STORAGE")]
    pub storage: Option<String>,
    /// S3 endpoint for S3-compatible servers, e.g. `http://127.0.0.1:8333`.
    #[arg(long, env = "KURA_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// S3 region (default from the AWS environment, else us-east-1).
    #[arg(long, env = "KURA_S3_REGION")]
    pub s3_region: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "KURA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: StorageArgs,
    /// Private API key; generated and stored in the data dir when absent.
    #[arg(long, env = "KURA_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
    /// Base of every URL the server hands out; default `http://{listen}`.
    #[arg(long, env = "KURA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest accepted upload, e.g. `2GiB`, `500MB`, `1000000`.
    #[arg(long, env = "KURA_MAX_UPLOAD_SIZE", value_parser = parse_size, default_value = "2GiB")]
    pub max_upload_size: u64,
    /// How long a node's claim on a background job lasts without renewal; another node takes
    /// the job over once it runs out (after a crash).
    #[arg(long, env = "KURA_JOB_LEASE_SECONDS", default_value_t = 60)]
    pub job_lease_seconds: u64,
    /// Files a folder copy or move handles per step. Each step is one transaction that also
    /// records the job's progress, so a crashed job resumes after the last finished step.
    #[arg(long, env = "KURA_JOB_BATCH_SIZE", default_value_t = 1000)]
    pub job_batch_size: u32,
    /// Answer `searchQuery` from an in-memory index built at startup and kept current from
    /// the event log (0: from SQL only; slower on large libraries, no memory cost).
    #[arg(long, env = "KURA_SEARCH_INDEX", value_parser = parse_flag, default_value = "true")]
    pub search_index: bool,
    /// Rows of recently served listing pages kept in memory (with the search index), so a
    /// page asked for again is not read from the database; dropped as soon as the event log
    /// shows their file or a folder changed. 0 turns it off.
    #[arg(long, env = "KURA_PAGE_CACHE_ROWS", default_value_t = 10_000)]
    pub page_cache_rows: usize,
    /// Most pixels an image may have to be transformed by URL (checked from its header
    /// before decoding: a decompression bomb is refused at once).
    #[arg(long, env = "KURA_MAX_IMAGE_PIXELS", default_value_t = 100_000_000)]
    pub max_image_pixels: u64,
    /// Bytes of derived images (URL transformations) kept in the blob store; the least
    /// recently used are dropped beyond it, e.g. `10GiB`.
    #[arg(long, env = "KURA_DERIVED_CACHE_SIZE", value_parser = parse_size, default_value = "10GiB")]
    pub derived_cache_size: u64,
    /// Transformations rendered at once on this node (default: one per core); the others
    /// wait, so memory stays bounded under load.
    #[arg(long, env = "KURA_RENDER_SLOTS")]
    pub render_slots: Option<usize>,
    /// Allow uploads from URLs on loopback, private and link-local addresses.
    #[arg(long, env = "KURA_ALLOW_PRIVATE_URLS", value_parser = parse_flag, default_value = "false")]
    pub allow_private_urls: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub data: StorageArgs,
    /// Remove orphan blobs (bytes no version references).
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Args)]
pub struct StorageOnlyArgs {
    #[command(flatten)]
    pub data: StorageArgs,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    #[command(flatten)]
    pub data: StorageArgs,
    /// The job id, as `kura scrub` printed it.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The source install.
    #[command(flatten)]
    pub data: StorageArgs,
    /// Target PostgreSQL database (`postgres://…`).
    #[arg(long)]
    pub to_database: Option<String>,
    /// Target bucket (`s3://bucket/prefix`).
    #[arg(long)]
    pub to_storage: Option<String>,
    /// Endpoint of the target S3-compatible server.
    #[arg(long)]
    pub to_s3_endpoint: Option<String>,
    /// Region of the target bucket.
    #[arg(long)]
    pub to_s3_region: Option<String>,
}

/// Sizes with an optional unit: `B`, `KB`/`MB`/`GB` (powers of 1000) or `KiB`/`MiB`/`GiB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 2GiB or 1000000"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "mb" => 1000 * 1000,
        "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

pub fn parse_flag(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("{other:?} is not a boolean (use 1 or 0)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1000000").unwrap(), 1_000_000);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert!(parse_size("2 parsecs").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn flags_win_over_env() {
        // SAFETY: tests in this module do not read this variable concurrently.
        unsafe { std::env::set_var("KURA_LISTEN", "127.0.0.1:9999") };
        let cli = Cli::parse_from(["kura", "serve", "--listen", "127.0.0.1:7777"]);
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(args.listen.port(), 7777);
        let cli = Cli::parse_from(["kura", "serve"]);
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(args.listen.port(), 9999);
        unsafe { std::env::remove_var("KURA_LISTEN") };
    }
}
