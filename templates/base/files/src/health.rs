//! Liveness and readiness endpoints, for orchestrators and load balancers.
//!
//! `GET /health/live` answers 200 as long as the process can serve HTTP at all; it
//! checks nothing else, because restarting the process would not fix a database
//! outage. `GET /health/ready` runs every registered [`Readiness`] check,
//! concurrently and each under a timeout, and answers:
//!
//! - 200 `{"status": "ok", ...}` when all pass;
//! - 200 `{"status": "degraded", ...}` when only optional checks fail (a cache the
//!   service can work without, say), so the instance keeps its traffic;
//! - 503 problem+json naming the failed required checks otherwise, and as soon as
//!   shutdown has begun, so load balancers stop sending new requests.
//!
//! Components register their checks where they build the state
//! (`Readiness::with_check("database", Criticality::Required, ...)`); this module
//! does not know about any of them. Check failures are logged with their cause but
//! only named in the response, since the health endpoints are often reachable from
//! outside and a cause can reveal internal addresses.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::error::{BoxError, Problem};
use crate::state::AppState;

/// How long one check may take before it counts as failed. Keep the orchestrator's
/// probe timeout above it (Kubernetes' `timeoutSeconds` defaults to 1: set it to 3).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The health routes: `GET /health/live` and `GET /health/ready`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

/// Whether a failing check makes the service unready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criticality {
    /// The service cannot work without it: failure answers 503.
    Required,
    /// The service works without it, less well: failure is reported as degraded.
    Optional,
}

type Probe =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

#[derive(Clone)]
struct Check {
    name: &'static str,
    criticality: Criticality,
    probe: Probe,
}

/// The set of readiness checks. Cheap to clone.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Vec<Check>>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.checks
                    .iter()
                    .map(|check| (check.name, check.criticality)),
            )
            .finish()
    }
}

impl Readiness {
    /// No checks: the service is ready whenever it runs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check called `name` that runs `probe`, which succeeds when the
    /// dependency answers.
    ///
    /// # Panics
    ///
    /// If a check with the same name exists, since the report is keyed by name.
    pub fn with_check<F, Fut>(
        mut self,
        name: &'static str,
        criticality: Criticality,
        probe: F,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        assert!(
            self.checks.iter().all(|check| check.name != name),
            "two readiness checks are named `{name}`"
        );
        Arc::make_mut(&mut self.checks).push(Check {
            name,
            criticality,
            probe: Arc::new(move || Box::pin(probe())),
        });
        self
    }

    /// Runs every check concurrently, each limited to [`CHECK_TIMEOUT`].
    pub async fn run(&self) -> Report {
        let running: Vec<_> = self
            .checks
            .iter()
            .map(|check| {
                let probe = (check.probe)();
                (
                    check,
                    tokio::spawn(tokio::time::timeout(CHECK_TIMEOUT, probe)),
                )
            })
            .collect();

        let mut checks = BTreeMap::new();
        for (check, handle) in running {
            let failure = match handle.await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(err))) => Some(err.to_string()),
                Ok(Err(_elapsed)) => Some(format!("no answer within {CHECK_TIMEOUT:?}")),
                Err(join_error) => Some(format!("the check panicked: {join_error}")),
            };
            if let Some(cause) = &failure {
                tracing::warn!(check = check.name, cause = %cause, "readiness check failed");
            }
            checks.insert(
                check.name,
                CheckReport {
                    status: if failure.is_none() {
                        CheckStatus::Up
                    } else {
                        CheckStatus::Down
                    },
                    required: check.criticality == Criticality::Required,
                },
            );
        }
        Report { checks }
    }
}

/// The result of every readiness check.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Each check's result, by name.
    pub checks: BTreeMap<&'static str, CheckReport>,
}

impl Report {
    /// Names of the required checks that failed.
    pub fn failed_required(&self) -> Vec<&'static str> {
        self.failed(true)
    }

    /// Names of the optional checks that failed.
    pub fn failed_optional(&self) -> Vec<&'static str> {
        self.failed(false)
    }

    fn failed(&self, required: bool) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|(_, report)| report.required == required && report.status == CheckStatus::Down)
            .map(|(name, _)| *name)
            .collect()
    }
}

/// One check's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Whether it passed.
    pub status: CheckStatus,
    /// Whether its failure makes the service unready.
    pub required: bool,
}

/// Whether a check passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// It passed.
    Up,
    /// It failed or timed out.
    Down,
}

#[derive(Serialize)]
struct Healthy<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<&'a BTreeMap<&'static str, CheckReport>>,
}

/// `GET /health/live`: 200 while the process runs.
async fn live() -> Response {
    no_store(Json(Healthy {
        status: "ok",
        checks: None,
    }))
}

/// `GET /health/ready`: 200 when every required check passes, else 503.
async fn ready(State(state): State<AppState>) -> Response {
    if state.shutdown.is_triggered() {
        return no_store(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is shutting down.",
        ));
    }
    let report = state.readiness.run().await;
    let failed = report.failed_required();
    if !failed.is_empty() {
        let names = failed
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let detail = format!("Required check(s) failed: {names}.");
        return no_store(
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail)
                .with_extension("checks", &report.checks),
        );
    }
    let status = if report.failed_optional().is_empty() {
        "ok"
    } else {
        "degraded"
    };
    no_store(Json(Healthy {
        status,
        checks: Some(&report.checks),
    }))
}

/// Health answers describe this instant; caches must not keep them.
fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_checks_means_nothing_failed() {
        let report = Readiness::new().run().await;
        assert!(report.checks.is_empty());
        assert!(report.failed_required().is_empty());
    }

    #[tokio::test]
    async fn failures_are_sorted_by_criticality() {
        let readiness = Readiness::new()
            .with_check("database", Criticality::Required, || async { Ok(()) })
            .with_check("queue", Criticality::Required, || async {
                Err("connection refused".into())
            })
            .with_check("cache", Criticality::Optional, || async {
                Err("timed out".into())
            });
        let report = readiness.run().await;
        assert_eq!(report.checks["database"].status, CheckStatus::Up);
        assert_eq!(report.failed_required(), ["queue"]);
        assert_eq!(report.failed_optional(), ["cache"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_check_fails_after_the_timeout() {
        let readiness = Readiness::new().with_check("slow", Criticality::Required, || async {
            tokio::time::sleep(CHECK_TIMEOUT * 10).await;
            Ok(())
        });
        assert_eq!(readiness.run().await.failed_required(), ["slow"]);
    }

    #[tokio::test]
    async fn a_panicking_check_fails() {
        let readiness = Readiness::new().with_check("buggy", Criticality::Required, || async {
            panic!("bug in check")
        });
        assert_eq!(readiness.run().await.failed_required(), ["buggy"]);
    }

    #[test]
    #[should_panic(expected = "two readiness checks are named `database`")]
    fn duplicate_names_are_refused() {
        let _ = Readiness::new()
            .with_check("database", Criticality::Required, || async { Ok(()) })
            .with_check("database", Criticality::Optional, || async { Ok(()) });
    }
}
