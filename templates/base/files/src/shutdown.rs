//! The shutdown flag.
//!
//! Set once, on SIGTERM or Ctrl-C ([`crate::server::os_signal`]); read by
//! readiness, which then answers 503 so load balancers stop sending traffic, and
//! awaited by the servers, which then stop accepting connections and drain. A
//! module of its own, importing nothing of the crate, so that everything may
//! depend on it.

use std::sync::Arc;

use tokio::sync::watch;

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
