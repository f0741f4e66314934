//! The API's error type and its wire format, RFC 9457 problem details.
//!
//! Handlers return [`Error`]; it becomes an `application/problem+json` body
//! ([`Problem`]) with `type`, `title`, `status`, `detail` and `request_id`, and
//! validation errors add `errors: [{field, message}]`. The request id comes from
//! the task-local set by [`crate::request_id::middleware`], so no handler has to
//! thread it through.
//!
//! Not every error response comes from a handler: the timeout layer answers 408,
//! the body limit 413, the router 404 and 405, axum's extractors plain-text 4xx
//! rejections. [`normalize`] rewrites those into problem documents too, so clients
//! see one error format whatever produced the error. Responses that already carry a
//! body of another type (JSON, HTML) are left alone: whoever chose that type meant
//! it.
//!
//! Internal errors are logged with their cause and answered with a generic detail:
//! a 500 body never reveals what failed inside, only the request id to quote.

use std::any::Any;
use std::borrow::Cow;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::request_id;

/// A boxed error, for causes of any type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Media type of problem documents (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

const INTERNAL_DETAIL: &str =
    "The server hit an unexpected error. Quote the request id when reporting it.";

/// Everything a handler can fail with. Each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request lacks valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the resource's current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Fields of the request failed validation (422).
    #[error("{} field(s) failed validation", .0.len())]
    Validation(Vec<FieldError>),
    /// A dependency is unavailable; retrying later may work (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500). The cause is logged, never sent to the client.
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

impl Error {
    /// An internal error caused by `cause`.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document sent to the client.
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        match self {
            Self::Validation(errors) => {
                Problem::new(status, "The request has invalid fields.").with_errors(errors.clone())
            }
            Self::Internal(_) => Problem::new(status, INTERNAL_DETAIL),
            Self::BadRequest(detail)
            | Self::Unauthorized(detail)
            | Self::Forbidden(detail)
            | Self::NotFound(detail)
            | Self::Conflict(detail)
            | Self::Unavailable(detail) => Problem::new(status, detail.clone()),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // Logged inside the request span, so the line carries the request id.
            tracing::error!(error = %cause, error.details = ?cause, "internal error");
        }
        let mut response = self.to_problem().into_response();
        if let Self::Unauthorized(_) = self {
            // A 401 must say how to authenticate (RFC 9110); this API uses bearer
            // tokens (RFC 6750).
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// One invalid field of a request, reported in a 422 problem's `errors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the client sent it, such as `price_cents`.
    pub field: String,
    /// What is wrong with it, for a person to read.
    pub message: String,
}

impl FieldError {
    /// A validation error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document: the body of every error response.
///
/// `type` is `about:blank`, meaning the problem is just its HTTP status, so `title`
/// is the status's reason phrase. `request_id` is filled in from the request being
/// served when the document becomes a response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    kind: Cow<'static, str>,
    title: Cow<'static, str>,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError>,
    #[serde(flatten)]
    extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// A problem with `status` and a human-readable `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: Cow::Borrowed("about:blank"),
            title: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: None,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        }
    }

    /// Adds field-level validation errors (the `errors` member).
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds an extension member, such as the readiness report's `checks`.
    pub fn with_extension(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.extensions.insert(name.to_owned(), value);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        if self.request_id.is_none() {
            self.request_id = request_id::current().map(|id| id.to_string());
        }
        let status = self.status();
        match serde_json::to_vec(&self) {
            Ok(body) => (
                status,
                [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
                body,
            )
                .into_response(),
            Err(err) => {
                tracing::error!(error = %err, "cannot serialize a problem document");
                status.into_response()
            }
        }
    }
}

/// The limits [`normalize`] quotes in its details.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The request timeout, quoted in 408 details.
    pub request_timeout: Duration,
    /// The body limit, quoted in 413 details.
    pub body_limit_bytes: usize,
}

/// Largest plain-text error body reused as a problem's `detail`.
const MAX_TEXT_DETAIL: usize = 1024;

/// Middleware that turns plain-text and bodiless error responses into problems.
///
/// The status and headers (such as `Allow` on a 405) are kept. Plain text from a
/// 4xx — typically an axum extractor's rejection, such as a JSON syntax error —
/// becomes the `detail`.
pub async fn normalize(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.to_ascii_lowercase());
    if !content_type.is_none_or(|ct| ct.starts_with("text/plain")) {
        return response;
    }

    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT_DETAIL)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let detail = match status {
        StatusCode::NOT_FOUND => "No resource exists at this path.".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "This resource does not support the request method.".to_owned()
        }
        StatusCode::REQUEST_TIMEOUT => format!(
            "The request did not complete within {} seconds.",
            limits.request_timeout.as_secs_f64()
        ),
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "The request body exceeds the limit of {} bytes.",
            limits.body_limit_bytes
        ),
        _ if status.is_server_error() => INTERNAL_DETAIL.to_owned(),
        _ => text.unwrap_or_else(|| {
            status.canonical_reason().map_or_else(
                || format!("The request failed with status {status}."),
                |r| format!("{r}."),
            )
        }),
    };

    let problem = Problem::new(status, detail).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    let (problem_parts, problem_body) = problem.into_parts();
    parts.headers.extend(problem_parts.headers);
    Response::from_parts(parts, problem_body)
}

/// Answers a panicking handler with a 500 problem, after logging the panic.
/// Used with tower-http's `CatchPanicLayer`.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "handler panicked");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_DETAIL).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn errors_render_as_problem_json() {
        let response = Error::NotFound("No product with id 42.".into()).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(
            body_json(response).await,
            serde_json::json!({
                "type": "about:blank",
                "title": "Not Found",
                "status": 404,
                "detail": "No product with id 42.",
            })
        );
    }

    #[tokio::test]
    async fn validation_errors_list_their_fields() {
        let response =
            Error::Validation(vec![FieldError::new("name", "must not be empty")]).into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = body_json(response).await;
        assert_eq!(body["status"], 422);
        assert_eq!(
            body["errors"],
            serde_json::json!([{ "field": "name", "message": "must not be empty" }])
        );
    }

    #[tokio::test]
    async fn unauthorized_answers_carry_a_bearer_challenge() {
        let response = Error::Unauthorized("Wrong password.".into()).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert!(
            Error::Forbidden("No.".into())
                .into_response()
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .is_none()
        );
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response = Error::internal("connection refused by 10.0.0.7").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_json(response).await;
        assert_eq!(body["detail"], INTERNAL_DETAIL);
        assert!(!body.to_string().contains("10.0.0.7"));
    }

    #[test]
    fn extensions_are_flattened_into_the_document() {
        let problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Not ready.")
            .with_extension("checks", serde_json::json!({ "database": "down" }));
        let value = serde_json::to_value(&problem).unwrap();
        assert_eq!(value["checks"]["database"], "down");
        assert_eq!(value["title"], "Service Unavailable");
    }

    #[test]
    fn panic_messages_are_not_sent_to_the_client() {
        let response = panic_response(Box::new("secret state"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
