//! Request ids: one per request, taken from `x-request-id` or generated, echoed on
//! the response and carried through logs and error bodies.
//!
//! The outermost middleware settles the id before anything else runs, so every
//! later layer agrees on it: the trace span records it (hence every log line of
//! the request carries it), handlers can extract it as [`RequestId`], and
//! [`current`] returns it anywhere on the request's task — which is how error
//! bodies include it without every handler passing it along.
//!
//! An incoming id is kept only if it looks like an id (1 to 128 visible ASCII
//! characters), so a client cannot fill the logs with a huge or odd value; anything
//! else is replaced by a fresh UUID.

use std::fmt;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

/// The header that carries the request id, in both directions.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming id that is propagated rather than replaced.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of one request.
///
/// Also an extractor: a handler that takes a `RequestId` argument receives the id
/// of the request it is serving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A new random id (a UUID v4).
    pub fn generate() -> Self {
        Self(
            HeaderValue::from_str(&Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value"),
        )
    }

    /// `value` as a request id, if it is 1 to [`MAX_LEN`] visible ASCII characters.
    pub fn parse(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let acceptable =
            (1..=MAX_LEN).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic);
        acceptable.then(|| Self(value.clone()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0
            .to_str()
            .expect("request ids are checked to be visible ASCII")
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Outside the middleware (a router used without `middleware::apply`), a
        // fresh id still lets the handler run.
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(RequestId::generate))
    }
}

/// The id of the request being served on this task, if any.
///
/// Task-local: it is not visible from tasks the handler spawns, so pass it along
/// explicitly (or enter a tracing span) when work moves to another task.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(RequestId::clone).ok()
}

/// Middleware that settles the request id, exposes it to the rest of the stack and
/// sets it on the response. Must be the outermost layer.
pub async fn middleware(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(RequestId::parse)
        .unwrap_or_else(RequestId::generate);
    request.headers_mut().insert(X_REQUEST_ID, id.0.clone());
    request.extensions_mut().insert(id.clone());

    let mut response = CURRENT.scope(id.clone(), next.run(request)).await;
    response.headers_mut().insert(X_REQUEST_ID, id.0);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_uuids() {
        let id = RequestId::generate();
        assert!(Uuid::parse_str(id.as_str()).is_ok());
        assert_ne!(id, RequestId::generate());
    }

    #[test]
    fn reasonable_incoming_ids_are_kept() {
        for value in ["abc-123", "01HZX3:trace/span", &"a".repeat(MAX_LEN)] {
            let header = HeaderValue::from_str(value).unwrap();
            assert_eq!(RequestId::parse(&header).unwrap().as_str(), value);
        }
    }

    #[test]
    fn odd_incoming_ids_are_refused() {
        for value in ["", "has space", &"a".repeat(MAX_LEN + 1)] {
            let header = HeaderValue::from_str(value).unwrap();
            assert!(RequestId::parse(&header).is_none(), "{value:?}");
        }
        let non_ascii = HeaderValue::from_bytes("café".as_bytes()).unwrap();
        assert!(RequestId::parse(&non_ascii).is_none());
    }

    #[tokio::test]
    async fn current_is_set_only_inside_the_scope() {
        assert!(current().is_none());
        let id = RequestId::generate();
        let seen = CURRENT.scope(id.clone(), async { current() }).await;
        assert_eq!(seen, Some(id));
    }
}
