//! A hand-written axum service: the reference that `benches/serve.rs` measures
//! the generated `full` preset against (issue #9).
//!
//! Per request it does what a production API does, written directly, and
//! nothing more — no rate limiter, no cache, no database:
//!
//! - a request id, taken from `x-request-id` or made (a UUID), and echoed;
//! - one JSON access log line per response (tracing-subscriber's JSON format,
//!   in the request's span, which carries the request id);
//! - Prometheus metrics: a counter and a latency histogram per method, route and
//!   status, and the requests in flight (`GET /metrics`);
//! - for `/api/` reads, a strong `ETag` (a hash of the body) and 304 for a
//!   matching `If-None-Match`;
//! - for `GET /auth/me`, an HS256 access token verified (issuer, audience,
//!   expiry, not-before), the answer taken from its claims.
//!
//! Routes: `GET /api/v1/products/{id}`, `GET /api/v1/products` (a page),
//! `GET /auth/me`, `GET /hello` (the hello world) and `GET /metrics`. Products
//! are served from memory: the ones in `REFERENCE_PRODUCTS` (a JSON array of
//! products as the generated API answers them), else one built-in product.
//!
//! Settings: `HOST` (127.0.0.1), `PORT` (8080), `JWT_SECRET` (required),
//! `JWT_ISSUER` and `JWT_AUDIENCE` (`serve-bench`), `RUST_LOG` (`info`).
//! Tokens issued by a generated project with the same secret, issuer and
//! audience are accepted here.

mod auth;
mod observe;
mod products;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::auth::Verifier;
use crate::products::Catalog;

/// What the handlers share.
#[derive(Clone)]
struct AppState {
    catalog: Arc<Catalog>,
    verifier: Arc<Verifier>,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl axum::extract::FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// `GET /hello`: the least a route can do.
async fn hello() -> &'static str {
    "Hello, world!"
}

/// Every route, inside the per-request work described in the module docs.
fn app(state: AppState) -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/metrics", get(observe::scrape))
        .route("/auth/me", get(auth::me))
        .route("/api/v1/products", get(products::list))
        .route("/api/v1/products/{id}", get(products::show))
        .with_state(state)
        .layer(axum::middleware::from_fn(observe::metrics))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(observe::access_log())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// An environment variable, or `default` when it is unset or blank.
fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    observe::init_logs(&env_or("RUST_LOG", "info"))?;
    let secret = std::env::var("JWT_SECRET").map_err(|_| "JWT_SECRET must be set")?;
    let verifier = Verifier::new(
        secret.as_bytes(),
        &env_or("JWT_ISSUER", "serve-bench"),
        &env_or("JWT_AUDIENCE", "serve-bench"),
    );
    let catalog = match std::env::var("REFERENCE_PRODUCTS") {
        Ok(json) => Catalog::from_json(&json)?,
        Err(_) => Catalog::sample(),
    };
    let state = AppState {
        catalog: Arc::new(catalog),
        verifier: Arc::new(verifier),
        metrics: observe::install_recorder()?,
    };
    let host: IpAddr = env_or("HOST", "127.0.0.1")
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let port: u16 = env_or("PORT", "8080").parse()?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(host, port)).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM can be handled");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await?;
    Ok(())
}
