use std::process::ExitCode;

use clap::Parser;
use kura::config::{Cli, Command, DevCommand, GenLibraryArgs};

/// glibc's malloc spent ~45 % of a listing's CPU time on its chunk bookkeeping (large bit sets
/// and response buffers trigger consolidation); mimalloc does not (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KURA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kura: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            kura::server::serve(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Scrub(args) => {
            println!("{}", kura::server::scrub(args).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Job(args) => match kura::server::job(args).await? {
            Some(job) => {
                println!("{job}");
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("kura: no such job");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Migrate(args) => {
            let report = kura::server::migrate(args, &|line: &str| println!("{line}")).await?;
            println!(
                "blobs: {} copied ({} bytes), {} already in the target, {} verified by content hash",
                report.blobs_copied,
                report.bytes_copied,
                report.blobs_already_there,
                report.blobs_verified
            );
            for (table, copied, source, target) in &report.tables {
                println!(
                    "{}: {copied} copied, {source} in source, {target} in target",
                    table.name()
                );
            }
            println!("migrate: done and verified");
            Ok(ExitCode::SUCCESS)
        }
        Command::Dev(DevCommand::GenLibrary(args)) => {
            gen_library(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => {
            let repair = args.repair;
            let report = kura::server::check(args).await?;
            println!(
                "blobs stored: {}, referenced by versions: {}",
                report.blobs_stored, report.blobs_referenced
            );
            println!("orphan blobs: {}", report.orphan_blobs.len());
            for hash in &report.orphan_blobs {
                println!("  orphan {hash}");
            }
            if repair {
                println!("orphan blobs removed: {}", report.removed_orphans);
            }
            println!("dangling rows (bytes missing): {}", report.dangling.len());
            for hash in &report.dangling {
                println!("  missing {hash}");
            }
            if report.is_clean() {
                println!("check: clean");
                Ok(ExitCode::SUCCESS)
            } else {
                println!("check: problems found");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// `kura dev gen-library`: opens the metadata store the way the server does (PostgreSQL for a
/// `postgres://` URL, else SQLite in the data dir), holding the data dir's lock so no server
/// runs on it meanwhile, and fills it with a synthetic library.
async fn gen_library(args: GenLibraryArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use kura::app::library_gen::{LibrarySpec, generate_library};
    use kura::store::DynMetadataStore;

    let until = kura::model::Timestamp::parse_iso8601(&args.until)
        .with_context(|| format!("--until {:?} is not a date like 2026-12-01", args.until))?;
    let root = &args.data.data_dir;
    std::fs::create_dir_all(root)
        .with_context(|| format!("creating data directory {}", root.display()))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join("kura.lock"))
        .with_context(|| format!("opening {}", root.join("kura.lock").display()))?;
    if lock.try_lock().is_err() {
        anyhow::bail!(
            "another kura process is using the data directory {}",
            root.display()
        );
    }
    let url = args
        .data
        .database_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let store: DynMetadataStore = match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            std::sync::Arc::new(kura::store::postgres::PostgresStore::open(url).await?)
        }
        Some(_) => anyhow::bail!("KURA_DATABASE_URL must start with postgres://"),
        None => std::sync::Arc::new(
            kura::store::sqlite::SqliteStore::open(&root.join("kura.db")).await?,
        ),
    };
    let mut spec = LibrarySpec::new(args.assets, args.seed);
    spec.folders = args.folders;
    spec.until = until;
    spec.chunk = args.chunk;
    let report = generate_library(store.as_ref(), &spec, &|line: &str| eprintln!("{line}")).await?;
    println!(
        "gen-library: {} files ({} versions, {} blobs, {} tags on current versions) in {} folders, seed {}, in {:.1} s",
        report.files,
        report.versions,
        report.blobs,
        report.tags,
        report.folders,
        args.seed,
        report.seconds
    );
    Ok(())
}
