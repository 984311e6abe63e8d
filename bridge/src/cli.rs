//! The command line: `hubbridge run | pairing | check-config`, and how flags override the config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hubbridge::config::Config;

/// Bridges local devices to Matter controllers and cloud connectors.
#[derive(Debug, Parser)]
#[command(name = "hubbridge", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bridge (without --config: a built-in demo with one simulated device of each kind).
    Run(RunArgs),
    /// Print the pairing QR payload and manual code, and whether the bridge is paired.
    Pairing(PairingArgs),
    /// Check a configuration file and exit (status 0 if it is valid).
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Benchmark the MQTT cloud path against a mosquitto it starts on loopback; writes a report.
    BenchMqtt(crate::bench_mqtt::BenchArgs),
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
