//! The command line: `hubbridge run | pairing | token | check-config | status | devices`, and how flags
//! override the config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hubbridge::api::tokens;
use hubbridge::config::Config;

/// Bridges local devices to Matter controllers and cloud connectors.
#[derive(Debug, Parser)]
#[command(name = "hubbridge", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: auto (text on a terminal, journald otherwise), text, journald, json.
    #[arg(long, global = true, value_enum, default_value_t = crate::logging::LogFormat::Auto)]
    pub log_format: crate::logging::LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bridge (without --config: a built-in demo with one simulated device of each kind).
    Run(RunArgs),
    /// Print the pairing QR payload and manual code, and whether the bridge is paired.
    Pairing(PairingArgs),
    /// Print the local API's token (made on first start), or a read-only one with --name; --rotate
    /// replaces it with a new one (the running bridge accepts only the new one from then on).
    Token(TokenArgs),
    /// Check a configuration file and exit (status 0 if it is valid).
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Show the running bridge's health: devices, pairing, storage, connectors (over its API).
    Status(crate::remote::RemoteArgs),
    /// List the running bridge's devices with their state and reachability (over its API).
    Devices(crate::remote::RemoteArgs),
    /// List the controllers (fabrics) the running bridge is paired with; `fabrics remove INDEX`
    /// unpairs one (over its API, admin token).
    Fabrics(crate::remote::FabricsArgs),
    /// List the running bridge's Matter nodes (`[bridge]` and each `[[nodes]]`) with their port,
    /// device count and pairing state (over its API).
    Nodes(crate::remote::RemoteArgs),
    /// Zigbee2MQTT mapping coverage of a definitions dump (bench/z2m-coverage.sh); prints JSON.
    #[command(hide = true)]
    Z2mCoverage {
        /// Output of tests/e2e/z2m/dump.js all.
        dump: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (TOML); see hubbridge.example.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Storage directory (overrides bridge.storage_dir).
    #[arg(long, value_name = "DIR")]
    pub storage: Option<PathBuf>,
    /// Network interface for Matter and mDNS; repeat for several (overrides bridge.interfaces).
    #[arg(long = "interface", value_name = "IF")]
    pub interfaces: Vec<String>,
    /// Address of the local HTTP API (overrides api.listen).
    #[arg(long, value_name = "ADDR")]
    pub api_listen: Option<SocketAddr>,
    /// Use the well-known test passcode 20202021 / discriminator 3840 (tests only).
    #[arg(long)]
    pub test_passcode: bool,
}

#[derive(Debug, Args)]
pub struct PairingArgs {
    /// Configuration file (TOML); without it, the built-in demo's.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Storage directory (overrides bridge.storage_dir).
    #[arg(long, value_name = "DIR")]
    pub storage: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Configuration file (TOML); without it, the built-in demo's.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Storage directory (overrides bridge.storage_dir).
    #[arg(long, value_name = "DIR")]
    pub storage: Option<PathBuf>,
    /// A read-only token listed in api.read_only_tokens, instead of the admin token.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Replace the token with a new random one and print that.
    #[arg(long)]
    pub rotate: bool,
}

impl TokenArgs {
    /// Prints (after making or rotating) the token asked for.
    pub fn run(&self) -> anyhow::Result<String> {
        let mut config = load(self.config.as_deref())?;
        if let Some(storage) = &self.storage {
            config.bridge.storage_dir = storage.clone();
        }
        config.validate()?;
        if let Some(name) = &self.name {
            if !config.api.read_only_tokens.contains(name) {
                anyhow::bail!(
                    "--name {name:?}: no such read-only token; list it in api.read_only_tokens first"
                );
            }
        }
        let dir = &config.bridge.storage_dir;
        hubbridge::persist::ensure_dir(dir)?;
        let path = tokens::token_path(dir, self.name.as_deref());
        let token = if self.rotate {
            tokens::rotate(&path)?
        } else {
            tokens::load_or_create(&path)?
        };
        Ok(token)
    }
}

fn load(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(path) => Ok(Config::load(path)?),
        None => Ok(Config::demo()),
    }
}

impl RunArgs {
    /// The configuration to run with: the file (or the demo) with the flags applied.
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = load(self.config.as_deref())?;
        if self.config.is_none() {
            tracing::info!("no --config given: running the built-in demo");
        }
        if let Some(storage) = &self.storage {
            config.bridge.storage_dir = storage.clone();
        }
        if !self.interfaces.is_empty() {
            config.bridge.interfaces = self.interfaces.clone();
        }
        if let Some(listen) = self.api_listen {
            config.api.listen = listen;
        }
        if self.test_passcode {
            config.bridge.test_passcode = true;
        }
        config.validate().context("invalid command-line override")?;
        Ok(config)
    }
}

impl PairingArgs {
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = load(self.config.as_deref())?;
        if let Some(storage) = &self.storage {
            config.bridge.storage_dir = storage.clone();
        }
        config.validate()?;
        Ok(config)
    }
}

/// What `hubbridge check-config` prints for a valid file.
pub fn render_check(path: &Path, config: &Config) -> String {
    format!(
        "{}: OK — bridge \"{}\", {} device(s), Matter port {}, API on {}\n",
        path.display(),
        config.bridge.name,
        config.devices.len(),
        config.bridge.port,
        config.api.listen
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args.iter().copied()).unwrap()
    }

    #[test]
    fn run_flags_override_the_demo() {
        let Command::Run(args) = parse(&[
            "hubbridge",
            "run",
            "--storage",
            "/tmp/x",
            "--interface",
            "eth0",
            "--interface",
            "wlan0",
            "--api-listen",
            "127.0.0.1:9999",
            "--test-passcode",
        ])
        .command
        else {
            panic!("expected run");
        };
        let config = args.config().unwrap();
        assert_eq!(config.bridge.name, "hubbridge demo");
        assert_eq!(config.bridge.storage_dir, Path::new("/tmp/x"));
        assert_eq!(config.bridge.interfaces, ["eth0", "wlan0"]);
        assert_eq!(config.api.listen.port(), 9999);
        assert!(config.bridge.test_passcode);
    }

    #[test]
    fn run_without_flags_is_the_demo() {
        let Command::Run(args) = parse(&["hubbridge", "run"]).command else {
            panic!("expected run");
        };
        assert_eq!(args.config().unwrap(), Config::demo());
    }

    #[test]
    fn bad_flag_values_are_refused() {
        assert!(Cli::try_parse_from(["hubbridge", "run", "--api-listen", "nope"]).is_err());
        assert!(Cli::try_parse_from(["hubbridge", "check-config"]).is_err());
        assert!(Cli::try_parse_from(["hubbridge", "run", "--colour"]).is_err());
    }

    #[test]
    fn token_prints_creates_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("state");
        let run = |extra: &[&str]| {
            let mut args = vec!["hubbridge", "token", "--storage", storage.to_str().unwrap()];
            args.extend_from_slice(extra);
            let Command::Token(args) = parse(&args).command else {
                panic!("expected token");
            };
            args.run()
        };
        let first = run(&[]).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(run(&[]).unwrap(), first);
        let rotated = run(&["--rotate"]).unwrap();
        assert_ne!(rotated, first);
        assert_eq!(run(&[]).unwrap(), rotated);
        let e = run(&["--name", "dashboard"]).unwrap_err().to_string();
        assert!(
            e.contains("dashboard") && e.contains("api.read_only_tokens"),
            "{e}"
        );
    }

    #[test]
    fn example_config_checks() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hubbridge.example.toml");
        let Command::CheckConfig { file } =
            parse(&["hubbridge", "check-config", path.to_str().unwrap()]).command
        else {
            panic!("expected check-config");
        };
        let config = Config::load(&file).unwrap();
        assert!(render_check(&file, &config).contains("OK"));
    }
}
