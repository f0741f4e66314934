//! The middleware stack every request goes through, configured from [`Config`].
//!
//! Order matters, and is outermost first:
//!
//! 1. **request id** — settled before anything else, so every layer below, every
//!    log line and every error body agree on it, and every response carries it
//!    (as well as `X-Content-Type-Options: nosniff`, so browsers never guess a
//!    content type for an API response);
//! 2. **trace** — one span per request (method, path, matched route, request id)
//!    and one log line per response with status and latency;
//! 3. **CORS** — outside the error layers, so browsers can read error bodies too;
//! 4. **gzip** — compresses whatever the layers below produce, errors included;
//! 5. **problem normalisation** — rewrites the bare error responses of the layers
//!    below (408, 413, 404, 405, extractor rejections) into problem+json;
//! 6. **timeout** and **body limit** — the service's resource limits;
//! 7. **panic catcher** — a panicking handler answers 500 instead of dropping the
//!    connection.
//!
//! Components add their layers here (metrics next to trace, rate limiting inside
//! CORS, authentication per route where it belongs).

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::{Level, Span};

use crate::config::{Config, CorsOrigins};
use crate::error::{self, Limits};
use crate::request_id::{self, RequestId, X_REQUEST_ID};

/// How long browsers may cache a CORS preflight answer.
const CORS_MAX_AGE: Duration = Duration::from_hours(1);

/// Wraps every route of `router` in the service's middleware stack.
pub fn apply(router: Router, config: &Config) -> Router {
    let limits = Limits {
        request_timeout: config.request_timeout,
        body_limit_bytes: config.body_limit_bytes,
    };
    router.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(request_id::middleware))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_request(DefaultOnRequest::new().level(Level::DEBUG))
                    .on_response(
                        DefaultOnResponse::new()
                            .level(Level::INFO)
                            .latency_unit(LatencyUnit::Millis),
                    ),
            )
            .option_layer(cors(&config.cors_allowed_origins))
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(
                limits,
                error::normalize,
            ))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                config.request_timeout,
            ))
            // axum's own 2 MiB default would cap bodies below a larger configured
            // limit; the tower-http layer enforces the configured one, by
            // `Content-Length` up front and while streaming otherwise.
            .layer(DefaultBodyLimit::disable())
            .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
            .layer(CatchPanicLayer::custom(error::panic_response)),
    )
}

/// The span every log line of a request is recorded in. The path is logged
/// without its query string, which may hold tokens or personal data.
fn request_span(request: &Request) -> Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(RequestId::as_str);
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

/// The CORS layer for `origins`, or none when cross-origin requests are not
/// allowed — browsers then refuse cross-origin calls on their own.
fn cors(origins: &CorsOrigins) -> Option<CorsLayer> {
    let allow_origin = match origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::ACCEPT,
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                X_REQUEST_ID,
            ])
            .expose_headers([X_REQUEST_ID])
            .max_age(CORS_MAX_AGE),
    )
}
