//! Serving HTTP and shutting down gracefully.
//!
//! On SIGTERM (what orchestrators send) or Ctrl-C, the service stops accepting
//! connections, readiness starts answering 503, and requests in flight are given
//! `SHUTDOWN_GRACE_SECS` to finish. Graceful shutdown alone can wait forever — a
//! slow client or a stuck handler keeps its connection open — so after the grace
//! period the remaining connections are dropped and the process exits anyway,
//! with status 0: the shutdown was asked for, and it happened.
//!
//! Behind a load balancer, also delay the SIGTERM a few seconds (a Kubernetes
//! `preStop` sleep) so the instance is removed from rotation before it stops
//! accepting connections.

use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address from `HOST` and `PORT`.
        addr: SocketAddr,
        /// Why, such as "address in use".
        #[source]
        source: io::Error,
    },
    /// Serving failed.
    #[error("the server failed")]
    Serve(#[source] io::Error),
}

/// A shutdown flag that any part of the service can trigger, check or wait for.
/// Cheap to clone; clones share the flag.
#[derive(Clone, Debug)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Shutdown {
    /// A flag that is not triggered yet.
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }

    /// Starts shutdown. Idempotent.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Whether shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once shutdown has begun.
    pub async fn triggered(&self) {
        let mut receiver = self.0.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|&triggered| triggered).await;
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `app` on `listener` until `shutdown` is triggered, then waits up to
/// `grace` for requests in flight before returning.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: Shutdown,
    grace: Duration,
) -> io::Result<()> {
    // Small JSON responses should not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    let stop = shutdown.clone();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.triggered().await })
        .into_future();
    tokio::pin!(server);

    tokio::select! {
        result = &mut server => return result,
        () = shutdown.triggered() => {}
    }
    tracing::info!(
        grace_secs = grace.as_secs_f64(),
        "shutting down: no new connections, waiting for requests in flight"
    );
    match tokio::time::timeout(grace, server).await {
        Ok(result) => {
            tracing::info!("shutdown complete");
            result
        }
        Err(_) => {
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "grace period over: closing the connections still open"
            );
            Ok(())
        }
    }
}

/// Completes when the process receives SIGTERM or Ctrl-C (SIGINT).
///
/// If a signal handler cannot be installed, that signal is logged and ignored
/// rather than treated as received, which would stop the service at once.
pub async fn os_signal() {
    let ctrl_c = async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("received Ctrl-C"),
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
                tracing::info!("received SIGTERM");
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
