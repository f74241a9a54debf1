use std::process::ExitCode;

use clap::Parser;
use kura::config::{Cli, Command};

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
