//! The service as a library, so the binary stays thin and tests can run the real
//! application on a random port.
//!
//! [`run`] is what the binary calls: bind, serve, shut down on a signal.
//! [`app`] builds the complete router — [`routes`] wrapped in
//! [`middleware::apply`] — from an [`AppState`]; [`serve`] runs it on a listener
//! you bound yourself. Each concern lives in its own module and is wired here.

pub mod config;
pub mod error;
pub mod health;
pub mod middleware;
pub mod request_id;
pub mod server;
pub mod state;
pub mod telemetry;

use axum::Router;
use tokio::net::TcpListener;

pub use crate::config::Config;
pub use crate::error::{Error, Result};
pub use crate::server::ServerError;
pub use crate::state::AppState;

/// Every route of the service, without middleware.
pub fn routes() -> Router<AppState> {
    Router::new().merge(health::router())
}

/// The complete application: every route, the middleware stack and the state.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    middleware::apply(routes().with_state(state), &config)
}

/// Serves the application for `state` on `listener` until `state.shutdown` is
/// triggered, then drains for `SHUTDOWN_GRACE_SECS` at most.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let grace = state.config.shutdown_grace;
    server::serve(listener, app(state), shutdown, grace).await
}

/// Runs the service with `config` until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), ServerError> {
    let addr = config.listen_addr();
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local_addr = listener.local_addr().map_err(ServerError::Serve)?;

    let state = AppState::new(config);
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        server::os_signal().await;
        shutdown.trigger();
    });

    tracing::info!(
        address = %local_addr,
        version = env!("CARGO_PKG_VERSION"),
        "listening"
    );
    serve(listener, state).await.map_err(ServerError::Serve)
}
