//! The daemon's log output (stderr): the format (`--log-format`) and the filter (`RUST_LOG`).
//!
//! - `auto` (default): `text` on a terminal; `journald` otherwise (a service's stderr).
//! - `text`: timestamp, level, target, fields; colours only on a terminal.
//! - `journald`: no colours and no timestamp (journald stamps every line), each line prefixed with its
//!   syslog priority (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug), which journald strips
//!   and keeps as the entry's priority, so `journalctl -p warning` works.
//! - `json`: one JSON object per line (`timestamp`, `level`, `target`, `fields`, `spans`) for log
//!   shippers.

use std::io::IsTerminal;

use anyhow::Context;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// `--log-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Auto,
    Text,
    Journald,
    Json,
}

/// `RUST_LOG` filters (default `default_level`); rs-matter's `log` records are routed into tracing,
/// rate-limited per cause (`hubbridge::log_limit`).
pub fn init(format: LogFormat, default_level: &str) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let terminal = std::io::stderr().is_terminal();
    let format = match format {
        LogFormat::Auto if terminal => LogFormat::Text,
        LogFormat::Auto => LogFormat::Journald,
        f => f,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Json => tracing::subscriber::set_global_default(
            builder
                .json()
                .flatten_event(false)
                .with_current_span(false)
                .with_span_list(true)
                .finish(),
        ),
        LogFormat::Journald => tracing::subscriber::set_global_default(
            builder
                .with_ansi(false)
                .event_format(Journald(
                    tracing_subscriber::fmt::format()
                        .without_time()
                        .with_ansi(false),
                ))
                .finish(),
        ),
        LogFormat::Text | LogFormat::Auto => {
            tracing::subscriber::set_global_default(builder.with_ansi(terminal).finish())
        }
    };
    installed.context("cannot install the log subscriber")?;
    // rs-matter's warnings and errors are rate-limited per call site (a flood of garbage datagrams
    // must not become a flood of log lines).
    hubbridge::log_limit::RateLimitedLog::init()
        .context("cannot route `log` records into tracing")?;
    Ok(())
}

/// The syslog priority prefix journald reads from a service's stderr, then the inner format.
struct Journald<F>(F);

impl<S, N, F> FormatEvent<S, N> for Journald<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let priority = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(ctx, writer, event)
    }
}
