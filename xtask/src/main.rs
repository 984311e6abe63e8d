//! Project tasks, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `bench [--quick] [--counts 10,100,500] [--reps 3] [--iterations 100] [...]`: builds hubbridge (and the
//!   cloud benchmark, hubbridge-bench-mqtt) in
//!   release, installs the end-to-end harness (`tests/e2e/install.sh`: the CHIP controller venv and the
//!   pinned matter.js and Matterbridge peers), then runs the benchmark driver (`bench/hbbench`, Python, in that venv) which
//!   writes `bench/report.{md,json,svg}`. Needs root (network namespaces). `--no-build` and
//!   `--no-install` skip the first two steps; every other argument goes to the driver
//!   (`cargo xtask bench --help` lists them).
//!
//! - `bench-z2m [--no-build] [--no-install] [--counts 100,500] [--merge-ms 100,0] [...]`: the same steps,
//!   then the Zigbee2MQTT latency and RSS bench (`bench/hbbench/z2m.py`: real mosquitto with
//!   `set_tcp_nodelay true`, the fake Zigbee2MQTT of the end-to-end tests, the CHIP controller), which
//!   writes `bench/z2m-latency.{md,json}`. Needs root.
//!
//! - `bench-clouds [--no-build] [--no-install] [--count 5000] [--seconds 10] [...]`: the same steps, then
//!   the registry throughput bench with all three cloud connectors on (`bench/hbbench/clouds.py`: real
//!   mosquitto brokers, the AWS and Azure fakes of the end-to-end tests, a raw MQTT command publisher),
//!   which writes `bench/clouds-5000.{md,json}`. Needs root.
//!
//! No dependencies: this crate is part of the workspace build.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str =
    "usage: cargo xtask bench [--no-build] [--no-install] [--quick] [driver options...]
       cargo xtask bench --help     (the driver's options)
       cargo xtask bench-z2m [--no-build] [--no-install] [z2m bench options...]
       cargo xtask bench-clouds [--no-build] [--no-install] [cloud bench options...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..], "hbbench"),
        Some("bench-z2m") => bench(&args[1..], "hbbench.z2m"),
        Some("bench-clouds") => bench(&args[1..], "hbbench.clouds"),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Runs `cmd`, printing it first; Err(exit code) if it failed.
fn run(cmd: &mut Command) -> Result<(), ExitCode> {
    eprintln!("[xtask] {cmd:?}");
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => {
            eprintln!("[xtask] failed: {s}");
            Err(ExitCode::from(
                s.code().map_or(1, |c| c.clamp(1, 255) as u8),
            ))
        }
        Err(e) => {
            eprintln!("[xtask] cannot run {:?}: {e}", cmd.get_program());
            Err(ExitCode::from(1))
        }
    }
}

/// Builds, installs the harness, then runs the Python `module` (a bench driver) in the e2e venv.
fn bench(args: &[String], module: &str) -> ExitCode {
    let root = workspace();
    let help = args.iter().any(|a| a == "--help" || a == "-h");
    let no_build = args.iter().any(|a| a == "--no-build");
    let no_install = args.iter().any(|a| a == "--no-install");
    let driver_args: Vec<&String> = args
        .iter()
        .filter(|a| *a != "--no-build" && *a != "--no-install")
        .collect();
    if !help && !is_root() {
        eprintln!(
            "cargo xtask bench needs root (it creates network namespaces): run `sudo -E cargo xtask bench`"
        );
        return ExitCode::from(2);
    }
    let steps = || -> Result<(), ExitCode> {
        if !no_build && !help {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            run(Command::new(cargo).current_dir(&root).args([
                "build",
                "--release",
                "--package",
                "hubbridge",
                "--package",
                "hubbridge-bench-mqtt",
                "--bin",
                "hubbridge",
                "--bin",
                "hubbridge-bench-mqtt",
            ]))?;
        }
        if !no_install && !help {
            run(Command::new("bash")
                .current_dir(&root)
                .arg(root.join("tests/e2e/install.sh")))?;
        }
        let python = root.join("target/e2e-venv/bin/python");
        if !python.exists() {
            eprintln!(
                "[xtask] {} is missing: run without --no-install",
                python.display()
            );
            return Err(ExitCode::from(1));
        }
        run(Command::new(python)
            .current_dir(&root)
            .env("PYTHONPATH", root.join("bench"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .args(["-m", module])
            .args(driver_args.iter().map(|s| s.as_str())))
    };
    match steps() {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
