//! Who is calling, and what they may do: the [`AuthUser`] and [`Admin`]
//! extractors, the roles they check, and [`AuthError`], the answer when they
//! refuse a request.
//!
//! This is the part of `auth` the rest of the application touches: a handler
//! takes an [`AuthUser`] or an [`Admin`] argument and never sees a token. Kept
//! apart from issuing and verifying tokens (see [`super::token`]) so that what a
//! handler relies on, and the answers a client gets, can be read in one place.
//!
//! A request's token is verified once, by whichever asks first — a layer such
//! as the rate limiter (which counts an account as itself, when there is one),
//! or the extractor — through [`authenticate`], which keeps the outcome in the
//! request's extensions for everything after it. A signature check is most of
//! what an authenticated request costs; verifying it again would double that.

use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::failure::Reason;
use super::token::{Claims, TokenKind, Tokens};
use crate::error::Problem;

/// The role that may write products.
pub const ADMIN: &str = "admin";

/// The emails of `AUTH_ADMIN_EMAILS`: their accounts get the `admin` role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminEmails(Vec<String>);

impl AdminEmails {
    /// Parses a comma-separated list: each entry trimmed and lower-cased, blank
    /// entries skipped; an entry that is no email address is an error.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut emails = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let email = entry.to_lowercase();
            super::check_email(&email).map_err(|reason| format!("`{entry}` {reason}"))?;
            if !emails.contains(&email) {
                emails.push(email);
            }
        }
        Ok(Self(emails))
    }

    /// Whether `email` (any case, surrounding spaces ignored) is listed.
    pub fn contains(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        self.0.contains(&email)
    }

    /// The roles of an account with `email`.
    pub fn roles_of(&self, email: &str) -> Vec<String> {
        if self.contains(email) {
            vec![ADMIN.to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// Why a request was not authenticated, or not allowed: each but
/// [`AuthError::MissingRole`] answers 401 with a `WWW-Authenticate: Bearer`
/// challenge (RFC 6750), saying `invalid_token` when a token was presented;
/// a missing role answers 403, `insufficient_scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("This request needs an access token: `Authorization: Bearer <token>`.")]
    Missing,
    /// The token has expired.
    #[error("The token has expired.")]
    Expired,
    /// The token is malformed, forged, signed by an unknown key, or not meant
    /// for this service.
    #[error("The token is not valid.")]
    Invalid,
    /// A token of the other kind: a refresh token where an access token belongs,
    /// or the reverse.
    #[error("This is not {}.", match .0 { TokenKind::Access => "an access token", TokenKind::Refresh => "a refresh token" })]
    WrongKind(TokenKind),
    /// A valid access token, of an account without this role.
    #[error("This request needs the `{0}` role.")]
    MissingRole(&'static str),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        super::failure::refused(match self {
            Self::Missing => Reason::MissingToken,
            Self::Expired => Reason::ExpiredToken,
            Self::Invalid | Self::WrongKind(_) => Reason::InvalidToken,
            Self::MissingRole(_) => Reason::Forbidden,
        });
        let (status, challenge) = match self {
            Self::Missing => (StatusCode::UNAUTHORIZED, HeaderValue::from_static("Bearer")),
            Self::Expired => (
                StatusCode::UNAUTHORIZED,
                HeaderValue::from_static(
                    "Bearer error=\"invalid_token\", error_description=\"the token has expired\"",
                ),
            ),
            Self::Invalid | Self::WrongKind(_) => (
                StatusCode::UNAUTHORIZED,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            ),
            Self::MissingRole(_) => (
                StatusCode::FORBIDDEN,
                HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
            ),
        };
        let mut response = Problem::new(status, self.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        response
    }
}

/// The account a request is made for, proven by its bearer access token, as its
/// claims say (no query is made).
///
/// As an extractor it answers 401 unless the request carries a valid access
/// token; handlers that take one are open to signed-in callers only. Serialized,
/// it is the body of `GET /auth/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthUser {
    /// The account's id (the token's `sub`).
    pub id: Uuid,
    /// The account's email, lower-cased, when the token carries it.
    pub email: Option<String>,
    /// The account's roles when the token was issued.
    pub roles: Vec<String>,
}

impl AuthUser {
    /// Whether the account has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }

    /// The caller of valid access token `claims`.
    pub fn from_claims(claims: Claims) -> Self {
        Self {
            id: claims.sub,
            email: claims.email,
            roles: claims.roles.unwrap_or_default(),
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Tokens: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        authenticate(parts, &Tokens::from_ref(state)).cloned()
    }
}

/// The outcome of verifying a request's bearer access token, kept in its
/// extensions by [`authenticate`]. Private: only a verification can put one
/// there, and a client cannot put anything in a request's extensions.
#[derive(Clone, Debug)]
struct Verified(Result<AuthUser, AuthError>);

/// The caller of the request of `parts`, as its bearer access token proves.
///
/// The token is verified with `tokens` the first time a request asks, and the
/// outcome (a refusal too) kept in the request's extensions: the rate limiter
/// and the extractors of one request share a single verification.
pub fn authenticate<'a>(parts: &'a mut Parts, tokens: &Tokens) -> Result<&'a AuthUser, AuthError> {
    let Parts {
        headers,
        extensions,
        ..
    } = parts;
    extensions
        .get_or_insert_with(|| Verified(verify_bearer(headers, tokens)))
        .0
        .as_ref()
        .map_err(|&err| err)
}

/// Verifies the `Authorization: Bearer` access token of `headers`.
fn verify_bearer(headers: &HeaderMap, tokens: &Tokens) -> Result<AuthUser, AuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(AuthError::Missing)?;
    let claims = tokens.verify(token, TokenKind::Access)?;
    Ok(AuthUser::from_claims(claims))
}

/// A caller with the [`ADMIN`] role: 401 as [`AuthUser`] without a valid access
/// token, 403 with one that lacks the role. Dereferences to the [`AuthUser`].
///
/// Another role needs an extractor of the same shape (or a check of
/// [`AuthUser::has_role`] in the handler).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admin(pub AuthUser);

impl Deref for Admin {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    Tokens: FromRef<S>,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if !user.has_role(ADMIN) {
            return Err(AuthError::MissingRole(ADMIN));
        }
        Ok(Self(user))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::Request;

    use super::super::{AuthConfig, JwtKeys};
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(&AuthConfig {
            keys: JwtKeys::from_secret(b"a test secret that is long enough to sign").unwrap(),
            issuer: "issuer".into(),
            audience: "audience".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(604_800),
            admin_emails: AdminEmails::default(),
        })
    }

    fn user(roles: &[&str]) -> AuthUser {
        AuthUser {
            id: Uuid::now_v7(),
            email: Some("ann@example.com".into()),
            roles: roles.iter().map(|&role| role.to_owned()).collect(),
        }
    }

    /// The request parts of a `GET /` with `authorization` as its header.
    fn parts(authorization: Option<&str>) -> Parts {
        let mut request = Request::get("/");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn claims_parse_into_the_caller_with_its_roles() {
        let tokens = tokens();
        let admin = user(&[ADMIN]);
        let token = tokens.access_token(&admin).unwrap();
        let caller = AuthUser::from_claims(tokens.verify(&token, TokenKind::Access).unwrap());
        assert_eq!(caller, admin);
        assert!(caller.has_role(ADMIN));
        assert!(!caller.has_role("auditor"));

        // No email and no roles: a caller who may do nothing special.
        let plain = AuthUser {
            email: None,
            ..user(&[])
        };
        let token = tokens.access_token(&plain).unwrap();
        let caller = AuthUser::from_claims(tokens.verify(&token, TokenKind::Access).unwrap());
        assert_eq!((caller.email, caller.roles), (None, vec![]));
    }

    #[test]
    fn admin_emails_are_trimmed_case_insensitive_and_checked() {
        let admins =
            AdminEmails::parse(" Ann@Example.com, ,bob@example.com,ann@example.com ").unwrap();
        assert_eq!(
            admins,
            AdminEmails(vec!["ann@example.com".into(), "bob@example.com".into()])
        );
        assert!(admins.contains("ANN@example.COM "));
        assert_eq!(admins.roles_of("bob@example.com"), [ADMIN]);
        assert!(admins.roles_of("carol@example.com").is_empty());
        assert_eq!(AdminEmails::parse("").unwrap(), AdminEmails::default());
        let err = AdminEmails::parse("ann@example.com, not-an-email").unwrap_err();
        assert!(err.contains("`not-an-email`"), "{err}");
    }

    #[tokio::test]
    async fn callers_need_a_bearer_access_token_and_admins_the_role() {
        let tokens = tokens();
        let ann = user(&[]);
        let access = tokens.access_token(&ann).unwrap();
        let (refresh, _) = tokens.refresh_token(ann.id, Uuid::new_v4()).unwrap();
        let caller = |authorization: String| {
            let tokens = tokens.clone();
            async move { AuthUser::from_request_parts(&mut parts(Some(&authorization)), &tokens).await }
        };
        assert_eq!(caller(format!("bearer {access}")).await, Ok(ann.clone()));
        assert_eq!(
            AuthUser::from_request_parts(&mut parts(None), &tokens).await,
            Err(AuthError::Missing)
        );
        assert_eq!(
            caller(format!("Basic {access}")).await,
            Err(AuthError::Missing)
        );
        assert_eq!(caller(access.clone()).await, Err(AuthError::Missing));
        assert_eq!(
            caller(format!("Bearer {refresh}")).await,
            Err(AuthError::WrongKind(TokenKind::Access))
        );

        let mut request = parts(Some(&format!("Bearer {access}")));
        assert_eq!(
            Admin::from_request_parts(&mut request, &tokens).await,
            Err(AuthError::MissingRole(ADMIN))
        );
        let admin = user(&[ADMIN]);
        let token = tokens.access_token(&admin).unwrap();
        let mut request = parts(Some(&format!("Bearer {token}")));
        let found = Admin::from_request_parts(&mut request, &tokens)
            .await
            .unwrap();
        assert_eq!(found.id, admin.id);
    }

    #[test]
    fn a_request_is_verified_once_and_the_outcome_kept() {
        let tokens = tokens();
        let ann = user(&[]);
        let bearer = format!("Bearer {}", tokens.access_token(&ann).unwrap());
        let mut request = parts(Some(&bearer));
        assert_eq!(authenticate(&mut request, &tokens), Ok(&ann));
        // Asked again, the request answers from what was verified: the header
        // is not read, nor the signature checked, a second time.
        request.headers.remove(header::AUTHORIZATION);
        assert_eq!(authenticate(&mut request, &tokens), Ok(&ann));

        // A refusal is kept as well.
        let mut request = parts(Some("Bearer not-a-token"));
        assert_eq!(authenticate(&mut request, &tokens), Err(AuthError::Invalid));
        request
            .headers
            .insert(header::AUTHORIZATION, bearer.parse().unwrap());
        assert_eq!(authenticate(&mut request, &tokens), Err(AuthError::Invalid));
    }

    #[test]
    fn refusals_answer_401_with_a_challenge_or_403_for_a_missing_role() {
        for (err, status, challenge) in [
            (AuthError::Missing, StatusCode::UNAUTHORIZED, "Bearer"),
            (
                AuthError::Invalid,
                StatusCode::UNAUTHORIZED,
                "Bearer error=\"invalid_token\"",
            ),
            (
                AuthError::WrongKind(TokenKind::Access),
                StatusCode::UNAUTHORIZED,
                "Bearer error=\"invalid_token\"",
            ),
            (
                AuthError::MissingRole(ADMIN),
                StatusCode::FORBIDDEN,
                "Bearer error=\"insufficient_scope\"",
            ),
        ] {
            let response = err.into_response();
            assert_eq!(response.status(), status, "{err:?}");
            assert_eq!(response.headers()[header::WWW_AUTHENTICATE], challenge);
        }
        let expired = AuthError::Expired.into_response();
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        let challenge = expired.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.contains("has expired"), "{challenge}");
    }
}
