//! The access log, the metrics and `GET /metrics`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::LatencyUnit;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::RequestId;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};
use tracing_subscriber::EnvFilter;

use crate::AppState;

/// Requests answered, by method, route and status.
const REQUESTS_TOTAL: &str = "http_requests_total";
/// Time to answer a request, in seconds, by method, route and status.
const REQUEST_DURATION: &str = "http_request_duration_seconds";
/// Requests being served right now.
const REQUESTS_IN_FLIGHT: &str = "http_requests_in_flight";
/// The latency histogram's buckets: Prometheus' defaults, 5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// JSON log lines on stdout, one object per line, filtered by `filter`.
pub(crate) fn init_logs(filter: &str) -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter(EnvFilter::try_new(filter)?)
        .try_init()
        .map_err(|err| err.to_string().into())
}

/// Installs the global Prometheus recorder.
pub(crate) fn install_recorder() -> Result<PrometheusHandle, Box<dyn std::error::Error>> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), LATENCY_BUCKETS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    // Folds histogram samples into their buckets between scrapes.
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The span of a request: method, path, matched route and request id, which
/// every line logged while serving it carries.
#[derive(Clone, Copy)]
pub(crate) struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok());
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = request.uri().path(),
            route,
            request_id,
        )
    }
}

/// One log line per response (status, latency), in the request's span.
pub(crate) fn access_log() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        )
}

/// Counts and times each request, and tracks those in flight.
pub(crate) async fn metrics(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    metrics::gauge!(REQUESTS_IN_FLIGHT).increment(1.0);
    let response = next.run(request).await;
    metrics::gauge!(REQUESTS_IN_FLIGHT).decrement(1.0);
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: every series in the Prometheus text format.
pub(crate) async fn scrape(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
