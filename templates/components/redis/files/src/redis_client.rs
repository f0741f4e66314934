//! The Redis that the components using one share (`REDIS_URL`): one server, or
//! a Redis Cluster.
//!
//! The URL is parsed at start-up, so a typo stops the service with a message
//! naming the variable; connections open lazily, so the service starts while
//! Redis is down, and each user decides what an outage means.
//!
//! **One server or a cluster, one type.** `REDIS_URL` names one server
//! (`redis://host:6379`), or, as a comma-separated list of two or more URLs,
//! nodes of a Redis Cluster (`redis://h1:7000,redis://h2:7001`): the client
//! starts from them and learns the rest of the cluster, its slots and their
//! moves. Either way the components get a [`RedisConnection`], which runs
//! commands, pipelines and scripts through the redis crate's
//! `ConnectionLike`, so the cache and the rate limiter never ask which it is.
//! What they must respect on a cluster is its one rule: a command, a pipeline
//! or a script touches keys of a single slot, which their hash-tagged keys
//! (`prefix:{...}`) make sure of.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;

use crate::env::Env;

/// Default `REDIS_URL`: a Redis server on this machine.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Longest wait for a new Redis connection. Short: Redis is a local, fast
/// dependency, and a request must not wait long for one that is gone.
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest wait for the answer to one Redis command.
pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);

/// A parsed, valid `REDIS_URL`: one server, or the nodes of a cluster.
///
/// Its `Debug` and `Display` forms name only the servers and the database
/// number, never a password, so a logged configuration leaks no secret.
#[derive(Clone)]
pub struct RedisUrl(Servers);

#[derive(Clone)]
enum Servers {
    Single(redis::ConnectionInfo),
    /// The nodes named, at least two; the client learns the others.
    Cluster(Vec<redis::ConnectionInfo>),
}

impl RedisUrl {
    /// Reads `REDIS_URL`, or [`DEFAULT_REDIS_URL`].
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Self {
        env.parse(
            "REDIS_URL",
            Self::parse(DEFAULT_REDIS_URL).expect("the default URL is valid"),
            Self::parse,
        )
    }

    /// Parses `url`: one server, such as `redis://:password@host:6379/0`, or
    /// the nodes of a cluster, such as `redis://h1:7000,redis://h2:7001`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if !url.contains(',') {
            return parse_server(url).map(|server| Self(Servers::Single(server)));
        }
        let nodes = url
            .split(',')
            .map(|node| match node.trim() {
                "" => Err("an empty entry in the list of cluster nodes".to_owned()),
                node => parse_server(node),
            })
            .collect::<Result<Vec<_>, _>>()?;
        for node in &nodes {
            if matches!(node.addr(), redis::ConnectionAddr::Unix(_)) {
                return Err("a cluster's nodes are reached over TCP: use redis://".into());
            }
            if node.redis_settings().db() != 0 {
                return Err("a Redis Cluster has only database 0".into());
            }
        }
        // The crate's own checks: one password, username and protocol for all.
        cluster_client(&nodes).map_err(|e| format!("not a valid list of cluster nodes: {e}"))?;
        Ok(Self(Servers::Cluster(nodes)))
    }

    /// A client for a pub/sub subscription, whose messages a connection of its
    /// own receives. On a cluster, a `PUBLISH` reaches every node, so one
    /// subscription on any node hears all; `attempt` picks the node, in the
    /// order `REDIS_URL` names them, so a subscriber whose node died counts up
    /// and tries the next one. Opens nothing.
    pub fn subscription_client(&self, attempt: usize) -> redis::Client {
        let server = match &self.0 {
            Servers::Single(server) => server,
            Servers::Cluster(nodes) => &nodes[attempt % nodes.len()],
        };
        redis::Client::open(server.clone()).expect("a parsed URL makes a client")
    }

    /// A connection that is opened on first use and reopened after a failure,
    /// multiplexing every command over one socket (per node, on a cluster).
    ///
    /// Nothing is attempted here, so the service starts while Redis is down.
    /// There are no retries inside a command: with the short timeouts above, a
    /// command fails fast and its caller decides what an outage means (the cache
    /// answers a miss, the rate limiter fails open or closed); the next command
    /// tries to reconnect. On a cluster the client follows `MOVED` and `ASK`
    /// redirections within the same response timeout. Call it inside the Tokio
    /// runtime.
    pub fn connect_lazy(&self) -> RedisConnection {
        match &self.0 {
            Servers::Single(server) => {
                let client =
                    redis::Client::open(server.clone()).expect("a parsed URL makes a client");
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_CONNECT_TIMEOUT))
                    .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT))
                    .set_number_of_retries(0);
                let connection = ConnectionManager::new_lazy_with_config(client, config)
                    .expect("a configuration without push messages is accepted");
                RedisConnection(Connection::Single(connection))
            }
            Servers::Cluster(nodes) => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(REDIS_CONNECT_TIMEOUT)
                    .set_response_timeout(REDIS_RESPONSE_TIMEOUT);
                let connection = cluster_client(nodes)
                    .expect("parsed nodes make a client")
                    .get_pending_async_connection_with_config(config);
                RedisConnection(Connection::Cluster(connection))
            }
        }
    }
}

/// Parses the URL of one server or cluster node.
fn parse_server(url: &str) -> Result<redis::ConnectionInfo, String> {
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
        _ => {
            return Err(
                "expected a Redis URL such as redis://127.0.0.1:6379, or a cluster's nodes \
                 such as redis://10.0.0.1:7000,redis://10.0.0.2:7001"
                    .into(),
            );
        }
    }
    redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|e| format!("not a valid Redis URL: {e}"))
}

fn cluster_client(
    nodes: &[redis::ConnectionInfo],
) -> redis::RedisResult<redis::cluster::ClusterClient> {
    redis::cluster::ClusterClient::builder(nodes.iter().cloned()).build()
}

impl fmt::Display for RedisUrl {
    /// `host:port/database`, or `cluster host:port,host:port` for a cluster.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Servers::Single(server) => {
                write!(f, "{}/{}", server.addr(), server.redis_settings().db())
            }
            Servers::Cluster(nodes) => {
                f.write_str("cluster ")?;
                for (i, node) in nodes.iter().enumerate() {
                    let separator = if i == 0 { "" } else { "," };
                    write!(f, "{separator}{}", node.addr())?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedisUrl")
            .field(&format_args!("{self}"))
            .finish()
    }
}

/// A lazily opened, reconnecting connection to the Redis of `REDIS_URL`, one
/// server or a cluster. Cheap to clone: clones share the connection.
///
/// It runs whatever takes a `ConnectionLike` (`Cmd::query_async`,
/// `Pipeline::exec_async`, `ScriptInvocation::invoke_async`). On a cluster,
/// each command goes to the node that owns its key's slot (`PING` to every
/// primary, so a readiness check asks the whole cluster), and a pipeline must
/// keep to one slot.
#[derive(Clone)]
pub struct RedisConnection(Connection);

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(
        &'a mut self,
        command: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match &mut self.0 {
            Connection::Single(connection) => connection.req_packed_command(command),
            Connection::Cluster(connection) => connection.req_packed_command(command),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match &mut self.0 {
            Connection::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match &self.0 {
            Connection::Single(connection) => connection.get_db(),
            Connection::Cluster(connection) => connection.get_db(),
        }
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
    fn a_list_of_urls_names_a_cluster() {
        let url = read_vars(
            &[(
                "REDIS_URL",
                "redis://:hunter2@10.0.0.1:7000, redis://:hunter2@10.0.0.2:7001",
            )],
            RedisUrl::from_env,
        )
        .unwrap();
        assert_eq!(url.to_string(), "cluster 10.0.0.1:7000,10.0.0.2:7001");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn invalid_redis_urls_are_refused_saying_why() {
        for (bad, why) in [
            ("http://cache.internal:6379", "expected a Redis URL"),
            ("rediss://cache.internal:6379", "tokio-rustls-comp"),
            ("redis://10.0.0.1:7000,", "empty entry"),
            (
                "redis://10.0.0.1:7000,redis://10.0.0.2:7001/1",
                "only database 0",
            ),
            (
                "redis://:a@10.0.0.1:7000,redis://:b@10.0.0.2:7001",
                "password",
            ),
        ] {
            let err = read_vars(&[("REDIS_URL", bad)], RedisUrl::from_env).unwrap_err();
            assert_eq!(err.invalid.len(), 1, "{err}");
            assert_eq!(err.invalid[0].name, "REDIS_URL");
            assert!(err.invalid[0].reason.contains(why), "{bad}: {err}");
        }
    }
}
