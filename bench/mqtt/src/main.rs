//! `hubbridge-bench-mqtt`: the cloud-path benchmark (see [`bench`]). Bench tooling, built with the
//! workspace and run by `cargo xtask bench`; the product binary does not carry it.

mod bench;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "hubbridge-bench-mqtt",
    version,
    about = "Benchmark hubbridge's MQTT cloud path against a mosquitto it starts on loopback; writes a report."
)]
struct Cli {
    #[command(flatten)]
    args: bench::BenchArgs,
}

fn main() -> ExitCode {
    // The product's allocator set-up, so the throughput measured is the product's.
    hubbridge::memory::limit_arenas();
    let cli = Cli::parse();
    // The benchmark changes reachability 100k times: per-change info logs would measure the terminal.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(bench::run(cli.args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hubbridge-bench-mqtt: {e:#}");
            ExitCode::FAILURE
        }
    }
}
