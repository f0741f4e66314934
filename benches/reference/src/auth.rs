//! Bearer access tokens (HS256) and `GET /auth/me`, answered from the claims.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Checks access tokens: the signature (HS256 only), issuer, audience, expiry
/// and not-before, with 30 s of clock skew.
pub(crate) struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    /// A verifier of tokens signed with `secret` by `issuer` for `audience`.
    pub(crate) fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }
}

/// The claims an access token carries.
#[derive(Deserialize)]
struct Claims {
    sub: Uuid,
    typ: String,
    email: Option<String>,
    roles: Vec<String>,
}

/// The caller of a request, as its bearer access token says: the body of
/// `GET /auth/me`.
#[derive(Serialize)]
pub(crate) struct Caller {
    id: Uuid,
    email: Option<String>,
    roles: Vec<String>,
}

/// 401 with the bearer challenge.
pub(crate) struct Unauthorized;

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(serde_json::json!({ "status": 401, "title": "Unauthorized" })),
        )
            .into_response()
    }
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Verifier>: FromRef<S>,
{
    type Rejection = Unauthorized;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Unauthorized)?;
        let verifier = Arc::<Verifier>::from_ref(state);
        let claims = jsonwebtoken::decode::<Claims>(token, &verifier.key, &verifier.validation)
            .map_err(|_| Unauthorized)?
            .claims;
        if claims.typ != "access" {
            return Err(Unauthorized);
        }
        Ok(Self {
            id: claims.sub,
            email: claims.email,
            roles: claims.roles,
        })
    }
}

/// `GET /auth/me`: the caller, from its token; no lookup.
pub(crate) async fn me(caller: Caller) -> Json<Caller> {
    Json(caller)
}
