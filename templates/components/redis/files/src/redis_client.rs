//! The Redis server that the components using one share (`REDIS_URL`).
//!
//! The URL is parsed at start-up, so a typo stops the service with a message
//! naming the variable; connections open lazily, so the service starts while
//! Redis is down, and each user decides what an outage means.

use std::fmt;
use std::time::Duration;

use crate::env::Env;

/// Default `REDIS_URL`: a Redis server on this machine.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Longest wait for a new Redis connection. Short: Redis is a local, fast
/// dependency, and a request must not wait long for one that is gone.
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest wait for the answer to one Redis command.
pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);

/// A parsed, valid Redis URL.
///
/// Its `Debug` and `Display` forms name only the server and the database number,
/// never the password, so a logged configuration leaks no secret.
#[derive(Clone)]
pub struct RedisUrl(redis::ConnectionInfo);

impl RedisUrl {
    /// Reads `REDIS_URL`, or [`DEFAULT_REDIS_URL`].
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Self {
        env.parse(
            "REDIS_URL",
            Self::parse(DEFAULT_REDIS_URL).expect("the default URL is valid"),
            Self::parse,
        )
    }

    /// Parses `url`, such as `redis://:password@host:6379/0`.
    pub fn parse(url: &str) -> Result<Self, String> {
        match url.split_once("://").map(|(scheme, _)| scheme) {
            Some("redis" | "redis+unix" | "unix") => {}
            Some("rediss") => {
                return Err(
                    "TLS (`rediss://`) needs the `tokio-rustls-comp` feature of the \
                     redis crate, which this build leaves out: add it in Cargo.toml, or use \
                     redis://"
                        .into(),
                );
            }
            _ => return Err("expected a Redis URL such as redis://127.0.0.1:6379".into()),
        }
        redis::IntoConnectionInfo::into_connection_info(url)
            .map(Self)
            .map_err(|e| format!("not a valid Redis URL: {e}"))
    }

    /// A client for this server, for connections of another kind than
    /// [`RedisUrl::connect_lazy`]'s (a pub/sub subscription). Opens nothing.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.0.clone()).expect("a parsed URL makes a client")
    }

    /// A connection to this server that is opened on first use and reopened
    /// after a failure, multiplexing every command over one socket.
    ///
    /// Nothing is attempted here, so the service starts while Redis is down.
    /// There are no retries inside a command: with the short timeouts above, a
    /// command fails fast and its caller decides what an outage means (the cache
    /// answers a miss, the rate limiter fails open or closed); the next command
    /// tries to reconnect. Call it inside the Tokio runtime.
    pub fn connect_lazy(&self) -> redis::aio::ConnectionManager {
        let client = self.client();
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_CONNECT_TIMEOUT))
            .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT))
            .set_number_of_retries(0);
        redis::aio::ConnectionManager::new_lazy_with_config(client, config)
            .expect("a configuration without push messages is accepted")
    }
}

impl fmt::Display for RedisUrl {
    /// `host:port/database`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0.addr(), self.0.redis_settings().db())
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedisUrl")
            .field(&format_args!("{self}"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::read_vars;

    #[test]
    fn redis_url_defaults_to_this_machine_and_never_shows_its_password() {
        let url = read_vars(&[], RedisUrl::from_env).unwrap();
        assert_eq!(url.to_string(), "127.0.0.1:6379/0");
        let url = read_vars(
            &[("REDIS_URL", "redis://:hunter2@cache.internal:6380/2")],
            RedisUrl::from_env,
        )
        .unwrap();
        assert_eq!(url.to_string(), "cache.internal:6380/2");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn invalid_redis_urls_are_refused_saying_why() {
        for (bad, why) in [
            ("http://cache.internal:6379", "expected a Redis URL"),
            ("rediss://cache.internal:6379", "tokio-rustls-comp"),
        ] {
            let err = read_vars(&[("REDIS_URL", bad)], RedisUrl::from_env).unwrap_err();
            assert_eq!(err.invalid.len(), 1, "{err}");
            assert_eq!(err.invalid[0].name, "REDIS_URL");
            assert!(err.invalid[0].reason.contains(why), "{err}");
        }
    }
}
