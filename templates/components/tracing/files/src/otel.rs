//! Distributed tracing: OpenTelemetry spans, exported over OTLP/HTTP.
//!
//! Each request's span (opened by the trace middleware) becomes an OpenTelemetry
//! server span named after its route, such as `GET /api/v1/products/{id}`, with
//! the method, route, path and response status as attributes, and an error status
//! for 5xx answers. Spans of this crate opened inside a request, with
//! `tracing::info_span!` or `#[tracing::instrument]`, become its children.
//!
//! A caller's W3C trace context (`traceparent`, `tracestate`) is honoured: the
//! request span continues the caller's trace instead of starting a new one. The
//! trace id is recorded on the request span as `trace_id`, so every JSON log line
//! of the request carries it next to `request_id` — from a trace, find its logs.
//!
//! Export is on only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Unset, no
//! OpenTelemetry layer is installed at all: spans stay log context, as without
//! this module, and the only work left per request is reading `traceparent`, so a
//! caller's trace id still reaches the logs.
//!
//! Spans are sent in batches (protobuf, `{endpoint}/v1/traces`) from the batch
//! processor's own thread with a blocking HTTP client. Export never runs on the
//! request-serving runtime, and does not need it either: the asynchronous client
//! would panic ("no reactor running") on that thread. At most 2048 spans wait in
//! the queue, sent every 5 seconds or 512 at a time; past that, spans are dropped
//! rather than slowing requests down. [`Tracing::shutdown`] sends what is queued
//! when the service stops. The SDK also reads the standard variables
//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (sampling),
//! `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_BSP_*` (batching).

use std::fmt;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, StatusCode};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, Status, TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{ExporterBuildError, Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::{Level, Span, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use crate::env::Env;

/// Where traces go and what they are called.
#[derive(Clone, Debug)]
pub struct TracingConfig {
    /// The OTLP/HTTP collector (`OTEL_EXPORTER_OTLP_ENDPOINT`); unset turns export
    /// off.
    pub otlp_endpoint: Option<OtlpEndpoint>,
    /// The `service.name` of every span (`OTEL_SERVICE_NAME`).
    pub service_name: String,
}

impl TracingConfig {
    /// Reads `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME`.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Self {
        Self {
            otlp_endpoint: env.parse("OTEL_EXPORTER_OTLP_ENDPOINT", None, |v| {
                OtlpEndpoint::parse(v).map(Some)
            }),
            service_name: env.parse(
                "OTEL_SERVICE_NAME",
                env!("CARGO_PKG_NAME").to_owned(),
                |v| Ok(v.to_owned()),
            ),
        }
    }
}

/// The base URL of an OTLP/HTTP collector, such as `http://otel-collector:4318`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpEndpoint(String);

impl OtlpEndpoint {
    /// Parses `url`, an `http://` URL with a host and no query.
    ///
    /// `https://` is refused rather than failing at the first export: the exporter
    /// is built without a TLS library (it would double the build time), and talks
    /// to a collector running next to the service, which forwards over TLS.
    pub fn parse(url: &str) -> Result<Self, String> {
        const EXAMPLE: &str = "such as http://otel-collector:4318";
        let uri: axum::http::Uri = url
            .parse()
            .map_err(|_| format!("expected an http:// URL {EXAMPLE}"))?;
        match uri.scheme_str() {
            Some("http") if uri.host().is_some() && uri.query().is_none() => {
                Ok(Self(url.trim_end_matches('/').to_owned()))
            }
            Some("https") => Err(format!(
                "https is not supported: traces are sent over plain HTTP to a collector \
                 next to the service, {EXAMPLE}"
            )),
            _ => Err(format!(
                "expected an http:// URL with a host and no query, {EXAMPLE}"
            )),
        }
    }

    /// Where spans are sent: the endpoint followed by `/v1/traces`, as the OTLP
    /// specification says for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.0)
    }
}

impl fmt::Display for OtlpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The trace exporter while it runs. Keep it for the life of the process, and
/// call [`Tracing::shutdown`] at the end so queued spans are sent.
#[derive(Debug, Default)]
pub struct Tracing {
    provider: Option<SdkTracerProvider>,
}

impl Tracing {
    /// Starts exporting as `config` says. Without an endpoint, nothing is started
    /// and no tracer is returned.
    pub fn start(config: &TracingConfig) -> Result<(Self, Option<SdkTracer>), ExporterBuildError> {
        let Some(endpoint) = &config.otlp_endpoint else {
            return Ok((Self::default(), None));
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.traces_url())
            .build()?;
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
        Ok((
            Self {
                provider: Some(provider),
            },
            Some(tracer),
        ))
    }

    /// Whether spans are being exported.
    pub fn is_exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Sends every span finished so far, and waits until they are sent.
    pub async fn flush(&self) {
        if let Some(provider) = self.provider.clone() {
            let flushed = tokio::task::spawn_blocking(move || provider.force_flush()).await;
            if let Ok(Err(err)) = flushed {
                tracing::warn!(error = %err, "cannot send the queued spans");
            }
        }
    }

    /// Sends the queued spans and stops the exporter.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            // Waits for the exporter's thread, so not on the runtime's threads.
            let stopped = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(err)) = stopped {
                tracing::warn!(error = %err, "cannot send the last spans");
            }
        }
    }
}

/// The layer that turns this crate's spans, from `INFO` up, into OpenTelemetry
/// spans for `tracer`. It has its own filter: `RUST_LOG` says what is logged, not
/// what is traced.
pub fn layer<S>(tracer: SdkTracer) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(Targets::new().with_target(env!("CARGO_CRATE_NAME"), Level::INFO))
}

/// The name of a request's span: `GET /api/v1/products/{id}`, or the method
/// alone when no route matched. Recorded by [`continue_trace`] when spans are
/// exported, it is written out where it is used, never formatted into a string
/// of its own.
pub fn span_name(request: &Request) -> impl fmt::Display + '_ {
    SpanName {
        method: request.method().as_str(),
        route: request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    }
}

/// See [`span_name`].
struct SpanName<'a> {
    method: &'a str,
    route: Option<&'a str>,
}

impl fmt::Display for SpanName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.route {
            Some(route) => write!(f, "{} {route}", self.method),
            None => f.write_str(self.method),
        }
    }
}

/// Makes the request span `span` continue the trace of the caller's
/// `traceparent` header (if any), gives it its attributes, and records its
/// `trace_id`. Called as the span is created, before anything enters it.
///
/// Without export (no OpenTelemetry layer) there is no span to attach or
/// describe, so nothing is done but reading the caller's trace id for the logs:
/// the span's name and kind (`otel.name`, `otel.kind`) are recorded for the
/// exporter only, and log lines do not carry them.
///
/// The span must declare the fields `trace_id`, `otel.name` and `otel.kind`,
/// empty.
pub fn continue_trace(span: &Span, request: &Request) {
    let parent = caller_context(request.headers());
    // Fails only when no OpenTelemetry layer is installed (export is off).
    let exporting = span.set_parent(parent.clone()).is_ok();
    let own = if exporting {
        // Before `context()`, which starts the OpenTelemetry span: its name
        // and kind can no longer change once it has started.
        span.record("otel.name", tracing::field::display(span_name(request)));
        span.record("otel.kind", "server");
        span.context()
    } else {
        Context::new()
    };
    let trace = [own.span().span_context(), parent.span().span_context()]
        .into_iter()
        .find(|context| context.is_valid())
        .map(SpanContext::trace_id);
    if let Some(trace_id) = trace {
        span.record("trace_id", tracing::field::display(trace_id));
    }
    if !exporting {
        return;
    }
    span.set_attribute("http.request.method", request.method().as_str().to_owned());
    span.set_attribute("url.path", request.uri().path().to_owned());
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        span.set_attribute("http.route", route.as_str().to_owned());
    }
}

/// The caller's trace context from the W3C `traceparent` and `tracestate`
/// headers; empty when they are absent or malformed.
pub fn caller_context(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Records the response status on the request span, and marks the span as
/// failed for a 5xx answer. The access log calls it as the answer leaves.
pub fn record_status(span: &Span, status: StatusCode) {
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_status(Status::error(status.to_string()));
    }
}

/// Reads trace context from HTTP headers.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_callers_trace_context_is_read_from_traceparent() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", TRACEPARENT.parse().unwrap());
        let context = caller_context(&headers);
        let span = context.span();
        let span_context = span.span_context();
        assert!(span_context.is_remote());
        assert_eq!(
            span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(span_context.span_id().to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn a_malformed_traceparent_is_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", "00-not-a-trace-01".parse().unwrap());
        assert!(!caller_context(&headers).span().span_context().is_valid());
    }

    /// Log output captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn without_export_the_callers_trace_id_still_reaches_the_logs() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry().with(
            json_subscriber::fmt::layer()
                .with_current_span(true)
                .with_writer(move || writer.clone()),
        );
        let request = Request::builder()
            .uri("/health/live")
            .header("traceparent", TRACEPARENT)
            .body(Body::empty())
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                trace_id = tracing::field::Empty,
                otel.name = tracing::field::Empty,
                otel.kind = tracing::field::Empty,
            );
            continue_trace(&span, &request);
            span.in_scope(|| tracing::info!("inside the request"));
        });
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            logs.contains(r#""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736""#),
            "{logs}"
        );
        // The span's name and kind are the exporter's, not the logs'.
        assert!(!logs.contains("otel."), "{logs}");
    }

    #[tokio::test]
    async fn spans_are_named_after_their_route_or_else_their_method() {
        use tower::ServiceExt;

        let request = |uri: &str| Request::put(uri).body(Body::empty()).unwrap();
        assert_eq!(span_name(&request("/anywhere")).to_string(), "PUT");
        // The route is known once the router matched it.
        let named = axum::Router::new().route(
            "/api/v1/products/{id}",
            axum::routing::put(|request: Request| async move { span_name(&request).to_string() }),
        );
        let response = named.oneshot(request("/api/v1/products/7")).await.unwrap();
        let name = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(name, "PUT /api/v1/products/{id}");
    }

    fn read(vars: &[(&str, &str)]) -> Result<TracingConfig, crate::env::ConfigError> {
        crate::env::read_vars(vars, TracingConfig::from_env)
    }

    #[test]
    fn tracing_exports_nothing_by_default_and_is_named_after_the_package() {
        let tracing = read(&[]).unwrap();
        assert_eq!(tracing.otlp_endpoint, None);
        assert_eq!(tracing.service_name, env!("CARGO_PKG_NAME"));
    }

    #[test]
    fn tracing_settings_are_read() {
        let tracing = read(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4318/"),
            ("OTEL_SERVICE_NAME", "checkout"),
        ])
        .unwrap();
        let endpoint = tracing.otlp_endpoint.unwrap();
        assert_eq!(endpoint.to_string(), "http://otel-collector:4318");
        assert_eq!(
            endpoint.traces_url(),
            "http://otel-collector:4318/v1/traces"
        );
        assert_eq!(tracing.service_name, "checkout");
    }

    #[test]
    fn invalid_otlp_endpoints_name_their_variable() {
        for bad in [
            "otel-collector:4318",
            "https://collector.example.com",
            "http://",
            "http://collector:4318/?x=1",
        ] {
            let err = read(&[("OTEL_EXPORTER_OTLP_ENDPOINT", bad)]).unwrap_err();
            assert_eq!(err.invalid[0].name, "OTEL_EXPORTER_OTLP_ENDPOINT", "{bad}");
        }
    }
}
