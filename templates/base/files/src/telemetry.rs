//! Logging: `tracing` events written to stdout, filtered by `RUST_LOG`.
//!
//! `LOG_FORMAT=json` writes one JSON object per line, for log pipelines;
//! `LOG_FORMAT=pretty` writes readable lines for a terminal. Either way each line
//! carries the fields of the spans it happened in — in particular the request span
//! opened by the trace middleware, so every line logged while serving a request
//! includes its `request_id`. Colours are used only on a terminal, and never when
//! `NO_COLOR` is set.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` is not a valid filter. [`Config`] validates it, so this only
    /// happens to a hand-built configuration.
    #[error("invalid RUST_LOG filter `{filter}`")]
    Filter {
        /// The filter.
        filter: String,
        /// Why it was refused.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was already installed.
    #[error("cannot install the log subscriber")]
    Install(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Installs the global log subscriber described by `config`. Call once, early.
pub fn init(config: &Config) -> Result<(), TelemetryError> {
    let filter = EnvFilter::builder()
        .parse(&config.log_filter)
        .map_err(|source| TelemetryError::Filter {
            filter: config.log_filter.clone(),
            source,
        })?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = match config.log_format {
        LogFormat::Json => builder
            .json()
            // Event fields at the top level, next to `span` and `spans`.
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => {
            // Left unset on a terminal so tracing-subscriber honours `NO_COLOR`.
            let builder = if std::io::stdout().is_terminal() {
                builder
            } else {
                builder.with_ansi(false)
            };
            builder.try_init()
        }
    };
    installed.map_err(TelemetryError::Install)
}
