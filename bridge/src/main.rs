//! The `hubbridge` binary: parse the command line, set up logging, dispatch to the library (the
//! cloud-path benchmark is its own binary, `hubbridge-bench-mqtt`, in bench/mqtt).

mod cli;
mod logging;
mod remote;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    hubbridge::memory::limit_arenas();
    // rs-matter captures a backtrace in every `Error` when backtraces are enabled, which turns
    // routine protocol errors into megabytes of allocation (RSS 5 -> 42 MB). Library backtraces
    // stay off unless asked for explicitly; panics still honour RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    // One rustls crypto provider (ring) for every TLS client in the process.
    connectors::tls::install_crypto_provider();
    let cli = Cli::parse();
    if !matches!(
        cli.command,
        Command::CheckConfig { .. }
            | Command::Status(_)
            | Command::Devices(_)
            | Command::Fabrics(_)
            | Command::Nodes(_)
    ) {
        // Every file the daemon makes is private from the first byte, its own and its libraries'.
        hubbridge::persist::restrict_umask();
    }
    if let Err(e) = logging::init(cli.log_format, "info") {
        eprintln!("hubbridge: {e:#}");
        return ExitCode::FAILURE;
    }
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hubbridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => {
            let config = args.config()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("hubbridge")
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(hubbridge::app::run(config))
        }
        Command::Pairing(args) => {
            let config = args.config()?;
            let status = hubbridge::matter::pairing_info(&config)?;
            print!("{}", status.render());
            // Each further node's own code (`[[nodes]]`).
            for node in hubbridge::nodes::NodeSpec::all(&config).iter().skip(1) {
                let status = hubbridge::matter::node_pairing_info(&config, node)?;
                print!(
                    "\nNode `{}` ({}, port {}):\n{}",
                    node.id,
                    node.name,
                    node.port,
                    status.render()
                );
            }
            Ok(())
        }
        Command::Token(args) => {
            println!("{}", args.run()?);
            Ok(())
        }
        Command::Status(args) => {
            print!("{}", client_runtime()?.block_on(remote::status(&args))?);
            Ok(())
        }
        Command::Devices(args) => {
            print!("{}", client_runtime()?.block_on(remote::devices(&args))?);
            Ok(())
        }
        Command::Fabrics(args) => {
            print!("{}", client_runtime()?.block_on(remote::fabrics(&args))?);
            Ok(())
        }
        Command::Nodes(args) => {
            print!("{}", client_runtime()?.block_on(remote::nodes(&args))?);
            Ok(())
        }
        Command::Z2mCoverage { dump } => {
            let bytes =
                std::fs::read(&dump).with_context(|| format!("cannot read {}", dump.display()))?;
            let coverage = hubbridge::sources::zigbee2mqtt::coverage::of_dump(&bytes)
                .with_context(|| format!("{}: not a definitions dump", dump.display()))?;
            println!("{}", serde_json::to_string_pretty(&coverage)?);
            Ok(())
        }
        Command::CheckConfig { file } => {
            let config = hubbridge::config::Config::load(&file)?;
            print!("{}", cli::render_check(&file, &config));
            Ok(())
        }
    }
}

/// A small runtime for the commands that talk to a running bridge.
fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
