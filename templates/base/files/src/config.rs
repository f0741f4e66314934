//! Configuration, read once from environment variables at start-up.
//!
//! Every setting has a default, so the service starts with no environment at all,
//! and every value is checked before anything binds a port: a typo in `PORT` stops
//! start-up with a message naming the variable and the bad value, instead of
//! surfacing later as a confusing runtime failure. All problems are reported
//! together, so one restart is enough to fix them.
//!
//! Reading goes through a lookup function ([`Config::from_lookup`]) rather than the
//! process environment directly, so tests can supply values without mutating
//! global state. An empty value counts as unset, which is what a blank line such as
//! `PORT=` in `.env` means to most people.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::http::HeaderValue;
use tracing_subscriber::EnvFilter;

/// Default `REQUEST_TIMEOUT_SECS`.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Default `BODY_LIMIT_BYTES`: 1 MiB.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 1024 * 1024;
/// Default `SHUTDOWN_GRACE_SECS`: five seconds less than Kubernetes' default
/// `terminationGracePeriodSeconds` (30), so the process exits on its own before it
/// is killed.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 25;

/// Everything the service reads from its environment, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (`HOST`).
    pub host: IpAddr,
    /// Port to listen on (`PORT`).
    pub port: u16,
    /// Log filter directives in `EnvFilter` syntax (`RUST_LOG`).
    pub log_filter: String,
    /// How log lines are written (`LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Longest time a request may take before it is answered with 408
    /// (`REQUEST_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes (`BODY_LIMIT_BYTES`).
    pub body_limit_bytes: usize,
    /// How long shutdown waits for in-flight requests before closing them
    /// (`SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
    /// Which browser origins may call the API (`CORS_ALLOWED_ORIGINS`).
    pub cors_allowed_origins: CorsOrigins,
}

/// Format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with the request span's fields: for log pipelines.
    Json,
    /// Human-readable lines, coloured on a terminal: for local development.
    Pretty,
}

/// Origins allowed to make cross-origin (CORS) requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin requests are allowed (empty `CORS_ALLOWED_ORIGINS`).
    None,
    /// Any origin is allowed (`CORS_ALLOWED_ORIGINS=*`).
    Any,
    /// Only these exact origins, such as `https://app.example.com`.
    List(Vec<HeaderValue>),
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// A value that is not valid Unicode is read lossily, so it fails validation with
    /// its variable named rather than being mistaken for an unset one.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// Reads the configuration through `lookup`, which returns a variable's value or
    /// `None` when it is unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = Env::new(lookup);
        let config = Self {
            host: env.parse("HOST", IpAddr::V4(Ipv4Addr::UNSPECIFIED), |v| {
                v.parse()
                    .map_err(|_| "expected an IP address such as 0.0.0.0 or 127.0.0.1".into())
            }),
            port: env.parse("PORT", 8080, |v| {
                v.parse()
                    .map_err(|_| "expected a port number from 0 to 65535".into())
            }),
            log_filter: env.parse("RUST_LOG", "info".to_owned(), parse_log_filter),
            log_format: env.parse("LOG_FORMAT", LogFormat::Json, parse_log_format),
            request_timeout: env.parse(
                "REQUEST_TIMEOUT_SECS",
                Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
                |v| parse_at_least(v, 1, "seconds").map(Duration::from_secs),
            ),
            body_limit_bytes: env.parse("BODY_LIMIT_BYTES", DEFAULT_BODY_LIMIT_BYTES, |v| {
                parse_at_least(v, 1, "bytes").and_then(|n| {
                    usize::try_from(n).map_err(|_| "too large for this platform".into())
                })
            }),
            shutdown_grace: env.parse(
                "SHUTDOWN_GRACE_SECS",
                Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECS),
                |v| parse_at_least(v, 0, "seconds").map(Duration::from_secs),
            ),
            cors_allowed_origins: env.parse(
                "CORS_ALLOWED_ORIGINS",
                CorsOrigins::None,
                parse_cors_origins,
            ),
        };
        env.finish().map(|()| config)
    }

    /// The socket address to listen on.
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

impl Default for Config {
    /// The configuration of an empty environment: every documented default.
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("the defaults are valid")
    }
}

/// One or more environment variables hold invalid values.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every invalid variable, in the order they were read.
    pub invalid: Vec<InvalidVar>,
}

/// An environment variable whose value could not be used.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidVar {
    /// The variable's name, such as `PORT`.
    pub name: &'static str,
    /// The value it held.
    pub value: String,
    /// What was expected instead.
    pub reason: String,
}

impl fmt::Display for InvalidVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value `{}` for {}: {}",
            self.value, self.name, self.reason
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.invalid.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} environment variables are invalid:", many.len())?;
                for var in many {
                    write!(f, "\n  - {var}")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads variables through a lookup function and collects every problem, so a
/// single [`ConfigError`] can report all of them.
struct Env<F> {
    lookup: F,
    invalid: Vec<InvalidVar>,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn new(lookup: F) -> Self {
        Self {
            lookup,
            invalid: Vec::new(),
        }
    }

    /// The parsed value of `name`, or `default` when it is unset or blank. An invalid
    /// value is recorded and `default` returned, so reading can go on.
    fn parse<T>(
        &mut self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        let Some(raw) = (self.lookup)(name) else {
            return default;
        };
        let value = raw.trim();
        if value.is_empty() {
            return default;
        }
        parse(value).unwrap_or_else(|reason| {
            self.invalid.push(InvalidVar {
                name,
                value: value.to_owned(),
                reason,
            });
            default
        })
    }

    fn finish(self) -> Result<(), ConfigError> {
        if self.invalid.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                invalid: self.invalid,
            })
        }
    }
}

fn parse_log_filter(value: &str) -> Result<String, String> {
    EnvFilter::builder()
        .parse(value)
        .map(|_| value.to_owned())
        .map_err(|e| {
            format!("not a valid log filter ({e}); expected e.g. `info` or `info,tower_http=debug`")
        })
}

fn parse_log_format(value: &str) -> Result<LogFormat, String> {
    match value.to_ascii_lowercase().as_str() {
        "json" => Ok(LogFormat::Json),
        "pretty" => Ok(LogFormat::Pretty),
        _ => Err("expected `json` or `pretty`".into()),
    }
}

fn parse_at_least(value: &str, min: u64, unit: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("expected a whole number of {unit}, at least {min}")),
    }
}

/// Parses a comma-separated list of origins, or `*` alone for any origin.
///
/// Each origin must be exactly what browsers send in the `Origin` header —
/// `scheme://host[:port]`, with no path or trailing slash — because origins are
/// compared byte for byte, and `https://app.example.com/` would silently never
/// match.
fn parse_cors_origins(value: &str) -> Result<CorsOrigins, String> {
    let entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if entries.contains(&"*") {
        return if entries.len() == 1 {
            Ok(CorsOrigins::Any)
        } else {
            Err("`*` allows every origin and cannot be combined with other origins".into())
        };
    }
    entries
        .into_iter()
        .map(|entry| {
            let origin = entry.to_ascii_lowercase();
            let valid = origin.split_once("://").is_some_and(|(scheme, authority)| {
                matches!(scheme, "http" | "https")
                    && !authority.is_empty()
                    && !authority.contains(['/', '?', '#', '@', ' '])
            });
            if !valid {
                return Err(format!(
                    "`{entry}` is not an origin; expected `scheme://host[:port]` such as \
                     `https://app.example.com`, with no path or trailing slash"
                ));
            }
            HeaderValue::from_str(&origin).map_err(|_| format!("`{entry}` is not a valid origin"))
        })
        .collect::<Result<_, _>>()
        .map(CorsOrigins::List)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn only_error(vars: &[(&str, &str)]) -> InvalidVar {
        let mut err = config(vars).expect_err("configuration should be invalid");
        assert_eq!(err.invalid.len(), 1, "{err}");
        err.invalid.remove(0)
    }

    #[test]
    fn defaults_apply_to_an_empty_environment() {
        let config = config(&[]).unwrap();
        assert_eq!(config.listen_addr(), "0.0.0.0:8080".parse().unwrap());
        assert_eq!(config.log_filter, "info");
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.body_limit_bytes, 1_048_576);
        assert_eq!(config.shutdown_grace, Duration::from_secs(25));
        assert_eq!(config.cors_allowed_origins, CorsOrigins::None);
    }

    #[test]
    fn blank_values_count_as_unset() {
        let config = config(&[("PORT", ""), ("LOG_FORMAT", "  ")]).unwrap();
        assert_eq!(config.port, 8080);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn values_are_read_and_trimmed() {
        let config = config(&[
            ("HOST", "127.0.0.1"),
            ("PORT", " 3000 "),
            ("RUST_LOG", "warn,tower_http=debug"),
            ("LOG_FORMAT", "Pretty"),
            ("REQUEST_TIMEOUT_SECS", "5"),
            ("BODY_LIMIT_BYTES", "2048"),
            ("SHUTDOWN_GRACE_SECS", "0"),
        ])
        .unwrap();
        assert_eq!(config.listen_addr(), "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.log_filter, "warn,tower_http=debug");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.request_timeout, Duration::from_secs(5));
        assert_eq!(config.body_limit_bytes, 2048);
        assert_eq!(config.shutdown_grace, Duration::ZERO);
    }

    #[test]
    fn ipv6_hosts_are_accepted() {
        let config = config(&[("HOST", "::")]).unwrap();
        assert_eq!(config.listen_addr(), "[::]:8080".parse().unwrap());
    }

    #[test]
    fn an_invalid_value_names_the_variable_and_the_value() {
        let err = only_error(&[("PORT", "80a")]);
        assert_eq!(err.name, "PORT");
        assert_eq!(err.value, "80a");
        assert_eq!(
            err.to_string(),
            "invalid value `80a` for PORT: expected a port number from 0 to 65535"
        );
    }

    #[test]
    fn every_invalid_variable_is_reported() {
        let err = config(&[
            ("HOST", "localhost"),
            ("PORT", "70000"),
            ("LOG_FORMAT", "xml"),
        ])
        .unwrap_err();
        let names: Vec<_> = err.invalid.iter().map(|v| v.name).collect();
        assert_eq!(names, ["HOST", "PORT", "LOG_FORMAT"]);
        let message = err.to_string();
        assert!(message.starts_with("3 environment variables are invalid:"));
        assert!(
            message.contains("invalid value `xml` for LOG_FORMAT: expected `json` or `pretty`")
        );
    }

    #[test]
    fn numeric_limits_are_enforced() {
        assert_eq!(
            only_error(&[("REQUEST_TIMEOUT_SECS", "0")]).name,
            "REQUEST_TIMEOUT_SECS"
        );
        assert_eq!(
            only_error(&[("BODY_LIMIT_BYTES", "0")]).name,
            "BODY_LIMIT_BYTES"
        );
        assert_eq!(
            only_error(&[("BODY_LIMIT_BYTES", "1MB")]).name,
            "BODY_LIMIT_BYTES"
        );
        assert_eq!(
            only_error(&[("SHUTDOWN_GRACE_SECS", "-1")]).name,
            "SHUTDOWN_GRACE_SECS"
        );
    }

    #[test]
    fn an_invalid_log_filter_is_rejected() {
        let err = only_error(&[("RUST_LOG", "info,tower_http=loud")]);
        assert_eq!(err.name, "RUST_LOG");
    }

    #[test]
    fn cors_origins_accept_a_list() {
        let config = config(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:5173,",
        )])
        .unwrap();
        assert_eq!(
            config.cors_allowed_origins,
            CorsOrigins::List(vec![
                HeaderValue::from_static("https://app.example.com"),
                HeaderValue::from_static("http://localhost:5173"),
            ])
        );
    }

    #[test]
    fn cors_origins_accept_a_lone_wildcard() {
        let config = config(&[("CORS_ALLOWED_ORIGINS", "*")]).unwrap();
        assert_eq!(config.cors_allowed_origins, CorsOrigins::Any);
    }

    #[test]
    fn cors_origins_reject_paths_wildcard_mixes_and_non_origins() {
        for bad in [
            "https://app.example.com/",
            "*,https://app.example.com",
            "app.example.com",
            "ftp://files.example.com",
        ] {
            let err = only_error(&[("CORS_ALLOWED_ORIGINS", bad)]);
            assert_eq!(err.name, "CORS_ALLOWED_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn default_matches_an_empty_environment() {
        let default = Config::default();
        assert_eq!(default.listen_addr(), config(&[]).unwrap().listen_addr());
    }
}
