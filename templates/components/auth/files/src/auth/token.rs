//! JSON Web Tokens: signing keys and their ids, the claims, issuing, verifying,
//! and the [`AuthUser`] and [`Admin`] extractors.
//!
//! Access tokens are stateless: the signature is the proof, so any instance
//! verifies any access token without asking a database or the others. That is
//! why they live briefly (`JWT_ACCESS_TTL_SECS`, 15 minutes) and carry what
//! handlers need of the account: `sub` (its id), `email` and `roles` (`admin`
//! may write products), so that neither [`AuthUser`] nor `GET /auth/me` queries
//! anything. Roles are decided when a token is issued (from `AUTH_ADMIN_EMAILS`),
//! so a change reaches an account at its next refresh. Refresh tokens
//! (`JWT_REFRESH_TTL_SECS`, 7 days) are not stateless: each is recorded and
//! single-use (see [`super::refresh`]), and carries its family (`fam`).
//!
//! Every token carries `sub`, `iss`, `aud`, `iat`, `nbf`, `exp`, `jti` and `typ`
//! (`access` or `refresh`), and a `kid` header naming the key that signed it.
//! Verification picks the key by `kid` — a token without one, or with a `kid`
//! this service does not hold, is refused — and pins the algorithm to that key's,
//! whatever the header claims (so `alg: none` or an HMAC signature made with a
//! public key are refused). It requires every claim, checks issuer, audience,
//! expiry and not-before with [`LEEWAY`] of clock skew, and refuses a token of
//! the other `typ`: a refresh token is not an access token.
//!
//! Keys: HS256 with `JWT_SECRET` (one secret signs and verifies, shared by every
//! instance), or RS256 / EdDSA with `JWT_KEYS_DIR`, a directory holding
//! `private.pem` and `public.pem` (PKCS#8 or PKCS#1 RSA, or Ed25519), the
//! current pair. Rotation keeps the previous keys verifying while tokens they
//! signed may still be live: `JWT_PREVIOUS_SECRETS` (comma-separated) for HS256,
//! and every other `*.pem` file of `JWT_KEYS_DIR` (a public key) for RS256 /
//! EdDSA. New tokens are always signed with the current key. A key's id is the
//! RFC 7638 thumbprint of its public key, or for a secret a MAC of a fixed text
//! under it (telling no more about the secret than any token does). The public
//! keys are published by `GET /.well-known/jwks.json` ([`Tokens::jwks`]).

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthConfig;
use super::password::DummyHash;
use crate::error::Problem;

/// Shortest `JWT_SECRET` accepted: 32 bytes, the output size of HS256's SHA-256.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock skew tolerated between instances when checking `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// The private key's file name in `JWT_KEYS_DIR`.
pub const PRIVATE_KEY_FILE: &str = "private.pem";
/// The public key's file name in `JWT_KEYS_DIR`.
pub const PUBLIC_KEY_FILE: &str = "public.pem";
/// The role that may write products.
pub const ADMIN: &str = "admin";

/// A key that verifies tokens, with its id and algorithm.
#[derive(Clone)]
struct VerifyingKey {
    kid: String,
    algorithm: Algorithm,
    decoding: DecodingKey,
    /// The public key as a JWK, for RS256 / EdDSA; `None` for a secret.
    jwk: Option<Jwk>,
}

impl VerifyingKey {
    /// An HS256 secret. It has no public half: its id is a MAC under it.
    fn secret(secret: &[u8]) -> Result<Self, String> {
        let mac =
            jsonwebtoken::crypto::sign(b"kid", &EncodingKey::from_secret(secret), Algorithm::HS256)
                .map_err(|e| format!("cannot derive the key id: {e}"))?;
        Ok(Self {
            kid: mac.chars().take(22).collect(),
            algorithm: Algorithm::HS256,
            decoding: DecodingKey::from_secret(secret),
            jwk: None,
        })
    }

    /// A public key; its id is its RFC 7638 thumbprint.
    fn public(algorithm: Algorithm, decoding: DecodingKey) -> Result<Self, String> {
        let mut jwk = Jwk::from_decoding_key(&decoding, Some(algorithm))
            .map_err(|e| format!("cannot describe the public key: {e}"))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| format!("cannot derive the key id: {e}"))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self {
            kid,
            algorithm,
            decoding,
            jwk: Some(jwk),
        })
    }
}

/// The keys tokens are signed and verified with: the current key, which signs
/// and verifies, and previous ones, which only verify.
///
/// `Debug` names the algorithm, the key ids and where the keys came from, never
/// the keys.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    /// The current key first, then the previous ones.
    verifying: Vec<VerifyingKey>,
    source: Option<PathBuf>,
}

impl JwtKeys {
    /// HS256 keys from a shared secret of at least [`MIN_SECRET_BYTES`].
    pub fn from_secret(secret: &[u8]) -> Result<Self, String> {
        Self::from_secrets(secret, &[])
    }

    /// HS256 keys: `current` signs, `current` and each of `previous` verify.
    /// Each is at least [`MIN_SECRET_BYTES`] long.
    pub fn from_secrets(current: &[u8], previous: &[&[u8]]) -> Result<Self, String> {
        for secret in std::iter::once(current).chain(previous.iter().copied()) {
            if secret.len() < MIN_SECRET_BYTES {
                return Err(format!(
                    "must be at least {MIN_SECRET_BYTES} bytes, and one is {}; generate one \
                     with `openssl rand -base64 48`",
                    secret.len()
                ));
            }
        }
        let verifying = std::iter::once(current)
            .chain(previous.iter().copied())
            .map(VerifyingKey::secret)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            encoding: EncodingKey::from_secret(current),
            verifying,
            source: None,
        })
    }

    /// RS256 or EdDSA keys from `dir`: [`PRIVATE_KEY_FILE`] signs and
    /// [`PUBLIC_KEY_FILE`] verifies (the current pair, checked to match by signing
    /// and verifying a token); every other `*.pem` file is the public key of a
    /// previous pair, which still verifies. Each key's algorithm follows its type.
    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
        };
        let private = read(&dir.join(PRIVATE_KEY_FILE))?;
        let (algorithm, encoding) = if let Ok(key) = EncodingKey::from_ed_pem(&private) {
            (Algorithm::EdDSA, key)
        } else if let Ok(key) = EncodingKey::from_rsa_pem(&private) {
            (Algorithm::RS256, key)
        } else {
            return Err(format!(
                "`{PRIVATE_KEY_FILE}` is neither an Ed25519 nor an RSA private key in PEM"
            ));
        };
        let public = read(&dir.join(PUBLIC_KEY_FILE))?;
        let decoding = match algorithm {
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&public),
            _ => DecodingKey::from_rsa_pem(&public),
        }
        .map_err(|e| format!("`{PUBLIC_KEY_FILE}` is not a public key of the same type: {e}"))?;
        let mut verifying = vec![VerifyingKey::public(algorithm, decoding)?];
        verifying.extend(previous_public_keys(dir)?);
        let keys = Self {
            encoding,
            verifying,
            source: Some(dir.to_owned()),
        };
        keys.check_pair()?;
        Ok(keys)
    }

    /// The current key's signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.current().algorithm
    }

    /// The current key's id, the `kid` of every token issued.
    pub fn kid(&self) -> &str {
        &self.current().kid
    }

    fn current(&self) -> &VerifyingKey {
        &self.verifying[0]
    }

    /// Signs a probe and verifies it, so a mismatched pair stops start-up rather
    /// than every login.
    fn check_pair(&self) -> Result<(), String> {
        let current = self.current();
        let probe = jsonwebtoken::encode(
            &Header::new(current.algorithm),
            &Probe { probe: 1 },
            &self.encoding,
        )
        .map_err(|e| format!("cannot sign with `{PRIVATE_KEY_FILE}`: {e}"))?;
        let mut validation = Validation::new(current.algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Probe>(&probe, &current.decoding, &validation)
            .map(|_| ())
            .map_err(|_| format!("`{PUBLIC_KEY_FILE}` does not match `{PRIVATE_KEY_FILE}`"))
    }
}

/// The public keys of `dir` other than [`PUBLIC_KEY_FILE`] and
/// [`PRIVATE_KEY_FILE`], in file name order.
fn previous_public_keys(dir: &Path) -> Result<Vec<VerifyingKey>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?
            .path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if name.ends_with(".pem") && name != PRIVATE_KEY_FILE && name != PUBLIC_KEY_FILE {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            let (algorithm, decoding) = if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
                (Algorithm::EdDSA, key)
            } else if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
                (Algorithm::RS256, key)
            } else {
                return Err(format!(
                    "`{}` is neither an Ed25519 nor an RSA public key in PEM (every `*.pem` \
                     besides the current pair is a previous public key)",
                    path.display()
                ));
            };
            VerifyingKey::public(algorithm, decoding)
        })
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Probe {
    probe: u8,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("JwtKeys");
        debug.field("algorithm", &self.algorithm());
        let kids: Vec<&str> = self.verifying.iter().map(|key| key.kid.as_str()).collect();
        debug.field("kids", &kids);
        match &self.source {
            Some(dir) => debug.field("dir", dir),
            None => debug.field("secret", &"[redacted]"),
        };
        debug.finish()
    }
}

/// What a token may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Sent as `Authorization: Bearer` to call the API.
    Access,
    /// Exchanged at `POST /auth/refresh` for a new pair, or revoked at
    /// `POST /auth/logout`, and for nothing else.
    Refresh,
}

/// The claims of every token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account's id.
    pub sub: Uuid,
    /// The issuer (`JWT_ISSUER`).
    pub iss: String,
    /// The audience (`JWT_AUDIENCE`).
    pub aud: String,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: u64,
    /// Not valid before, in seconds since the Unix epoch.
    pub nbf: u64,
    /// Expires at, in seconds since the Unix epoch.
    pub exp: u64,
    /// This token's own id: a refresh token's record.
    pub jti: Uuid,
    /// What the token may be used for.
    pub typ: TokenKind,
    /// Access tokens: the account's email, so `GET /auth/me` needs no query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Access tokens: the account's roles (required, possibly empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Refresh tokens: the family, every token rotated from one login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<Uuid>,
}

/// The body of a successful login or refresh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// For `Authorization: Bearer`.
    pub access_token: String,
    /// For `POST /auth/refresh`, once, and `POST /auth/logout`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// A pair just issued, and the claims of its refresh token, to be recorded.
#[derive(Clone, Debug)]
pub struct Issued {
    /// What the client gets.
    pub pair: TokenPair,
    /// The refresh token's claims (`jti`, `fam`, `exp`).
    pub refresh: Claims,
}

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

/// Issues and verifies tokens, and holds what logins need from start-up on.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Tokens(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    keys: JwtKeys,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
    admins: AdminEmails,
    /// One validation per key, each pinned to its key's algorithm.
    validations: Vec<Validation>,
    jwks: Option<JwkSet>,
    dummy_hash: DummyHash,
}

impl Tokens {
    /// Tokens with the keys, issuer, audience, lifetimes and administrators of
    /// `config`. Also hashes the dummy password that logins with an unknown
    /// email are checked against (see [`super::password`]), here at start-up, so
    /// that the first such login takes no longer than the others.
    pub fn new(config: &AuthConfig) -> Self {
        let validations = config
            .keys
            .verifying
            .iter()
            .map(|key| {
                let mut validation = Validation::new(key.algorithm);
                validation.set_issuer(&[&config.issuer]);
                validation.set_audience(&[&config.audience]);
                validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.leeway = LEEWAY.as_secs();
                validation
            })
            .collect();
        let public: Vec<Jwk> = config
            .keys
            .verifying
            .iter()
            .filter_map(|key| key.jwk.clone())
            .collect();
        let jwks = (!public.is_empty()).then_some(JwkSet { keys: public });
        Self(Arc::new(Inner {
            keys: config.keys.clone(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
            admins: config.admin_emails.clone(),
            validations,
            jwks,
            dummy_hash: DummyHash::new(),
        }))
    }

    /// The public keys, each with its `kid`, current first; `None` with a
    /// secret (HS256), which has no public half.
    pub fn jwks(&self) -> Option<&JwkSet> {
        self.0.jwks.as_ref()
    }

    /// The hash an unknown email's password is checked against.
    pub fn dummy_hash(&self) -> &DummyHash {
        &self.0.dummy_hash
    }

    /// The roles of an account with `email` (`AUTH_ADMIN_EMAILS`).
    pub fn roles_of(&self, email: &str) -> Vec<String> {
        self.0.admins.roles_of(email)
    }

    /// A new pair for `user`: an access token carrying its id, email and roles,
    /// and a refresh token of `family` (a new one at login, the presented
    /// token's on refresh).
    pub fn issue(
        &self,
        user: &AuthUser,
        family: Uuid,
    ) -> Result<Issued, jsonwebtoken::errors::Error> {
        let (refresh_token, refresh) = self.refresh_token(user.id, family)?;
        Ok(Issued {
            pair: TokenPair {
                access_token: self.access_token(user)?,
                refresh_token,
                token_type: "Bearer",
                expires_in: self.0.access_ttl.as_secs(),
            },
            refresh,
        })
    }

    /// An access token for `user`.
    pub fn access_token(&self, user: &AuthUser) -> Result<String, jsonwebtoken::errors::Error> {
        let mut claims = self.claims(user.id, TokenKind::Access, self.0.access_ttl);
        claims.email.clone_from(&user.email);
        claims.roles = Some(user.roles.clone());
        self.sign(&claims)
    }

    /// A refresh token of account `user` in `family`, and its claims. It is
    /// accepted only once recorded (see [`super::refresh`]).
    pub fn refresh_token(
        &self,
        user: Uuid,
        family: Uuid,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let mut claims = self.claims(user, TokenKind::Refresh, self.0.refresh_ttl);
        claims.fam = Some(family);
        Ok((self.sign(&claims)?, claims))
    }

    fn claims(&self, user: Uuid, typ: TokenKind, ttl: Duration) -> Claims {
        let now = unix_now();
        Claims {
            sub: user,
            iss: self.0.issuer.clone(),
            aud: self.0.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl.as_secs(),
            jti: Uuid::new_v4(),
            typ,
            email: None,
            roles: None,
            fam: None,
        }
    }

    fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let keys = &self.0.keys;
        let mut header = Header::new(keys.algorithm());
        header.kid = Some(keys.kid().to_owned());
        jsonwebtoken::encode(&header, claims, &keys.encoding)
    }

    /// The claims of `token` if it is valid and of kind `kind`: signed by a key
    /// this service holds (named by its `kid`), with the claims its kind needs.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        let keys = &self.0.keys;
        let index = header
            .kid
            .and_then(|kid| keys.verifying.iter().position(|key| key.kid == kid))
            .ok_or(AuthError::Invalid)?;
        let claims = jsonwebtoken::decode::<Claims>(
            token,
            &keys.verifying[index].decoding,
            &self.0.validations[index],
        )
        .map_err(|err| match err.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid,
        })?
        .claims;
        if claims.typ != kind {
            return Err(AuthError::WrongKind(kind));
        }
        let complete = match kind {
            TokenKind::Access => claims.roles.is_some(),
            TokenKind::Refresh => claims.fam.is_some(),
        };
        if !complete {
            return Err(AuthError::Invalid);
        }
        Ok(claims)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
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
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(AuthError::Missing)?;
        let token = value
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(AuthError::Missing)?;
        let claims = Tokens::from_ref(state).verify(token, TokenKind::Access)?;
        Ok(Self::from_claims(claims))
    }
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
    use serde_json::{Value, json};

    use super::*;

    const SECRET: &[u8] = b"a test secret that is long enough to sign";
    const OLD_SECRET: &[u8] = b"the secret before the last rotation, long enough";

    fn config(keys: JwtKeys) -> AuthConfig {
        AuthConfig {
            keys,
            issuer: "issuer".into(),
            audience: "audience".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(604_800),
            admin_emails: AdminEmails::default(),
        }
    }

    fn tokens() -> Tokens {
        Tokens::new(&config(JwtKeys::from_secret(SECRET).unwrap()))
    }

    fn user(roles: &[&str]) -> AuthUser {
        AuthUser {
            id: Uuid::now_v7(),
            email: Some("ann@example.com".into()),
            roles: roles.iter().map(|&role| role.to_owned()).collect(),
        }
    }

    /// The claims of a sound access token; tests change one thing.
    fn access_claims() -> Value {
        let now = unix_now();
        json!({
            "sub": Uuid::now_v7(), "iss": "issuer", "aud": "audience", "iat": now,
            "nbf": now, "exp": now + 900, "jti": Uuid::new_v4(), "typ": "access",
            "email": "ann@example.com", "roles": ["admin"],
        })
    }

    /// `claims` signed with `key` and `algorithm`, with `kid` in the header.
    fn forged(claims: &Value, algorithm: Algorithm, key: &[u8], kid: Option<&str>) -> String {
        let mut header = Header::new(algorithm);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
    }

    /// [`forged`] with the current key's `kid`.
    fn signed(claims: &Value) -> String {
        let kid = tokens().0.keys.kid().to_owned();
        forged(claims, Algorithm::HS256, SECRET, Some(&kid))
    }

    #[test]
    fn issued_tokens_verify_as_their_own_kind_only() {
        let tokens = tokens();
        let admin = user(&[ADMIN]);
        let family = Uuid::new_v4();
        let Issued { pair, refresh } = tokens.issue(&admin, family).unwrap();
        assert_eq!((pair.token_type, pair.expires_in), ("Bearer", 900));
        let header = jsonwebtoken::decode_header(&pair.access_token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(tokens.0.keys.kid()));
        let access = tokens
            .verify(&pair.access_token, TokenKind::Access)
            .unwrap();
        assert_eq!((access.sub, access.typ), (admin.id, TokenKind::Access));
        assert_eq!(access.exp - access.iat, 900);
        assert_eq!(AuthUser::from_claims(access.clone()), admin);
        let verified = tokens
            .verify(&pair.refresh_token, TokenKind::Refresh)
            .unwrap();
        assert_eq!(verified, refresh);
        assert_eq!((refresh.fam, refresh.roles), (Some(family), None));
        assert_eq!(refresh.exp - refresh.iat, 604_800);
        assert_ne!(access.jti, refresh.jti);
        assert_eq!(
            tokens.verify(&pair.refresh_token, TokenKind::Access),
            Err(AuthError::WrongKind(TokenKind::Access))
        );
        assert_eq!(
            tokens.verify(&pair.access_token, TokenKind::Refresh),
            Err(AuthError::WrongKind(TokenKind::Refresh))
        );
    }

    #[test]
    fn claims_parse_into_the_caller_with_its_roles() {
        let tokens = tokens();
        let claims = access_claims();
        let caller =
            AuthUser::from_claims(tokens.verify(&signed(&claims), TokenKind::Access).unwrap());
        assert_eq!(caller.id.to_string(), claims["sub"].as_str().unwrap());
        assert_eq!(caller.email.as_deref(), Some("ann@example.com"));
        assert!(caller.has_role(ADMIN));
        assert!(!caller.has_role("auditor"));

        // No email and no roles: a caller who may do nothing special.
        let mut plain = access_claims();
        plain["roles"] = json!([]);
        plain.as_object_mut().unwrap().remove("email");
        let caller =
            AuthUser::from_claims(tokens.verify(&signed(&plain), TokenKind::Access).unwrap());
        assert_eq!((caller.email, caller.roles), (None, vec![]));
    }

    #[test]
    fn access_tokens_without_roles_or_with_malformed_ones_are_refused() {
        let tokens = tokens();
        let mut without = access_claims();
        without.as_object_mut().unwrap().remove("roles");
        let mut not_a_list = access_claims();
        not_a_list["roles"] = json!("admin");
        let mut not_strings = access_claims();
        not_strings["roles"] = json!([1]);
        for claims in [without, not_a_list, not_strings] {
            assert_eq!(
                tokens.verify(&signed(&claims), TokenKind::Access),
                Err(AuthError::Invalid),
                "{claims}"
            );
        }
        // A refresh token needs its family.
        let mut refresh = access_claims();
        refresh["typ"] = json!("refresh");
        assert_eq!(
            tokens.verify(&signed(&refresh), TokenKind::Refresh),
            Err(AuthError::Invalid)
        );
        refresh["fam"] = json!(Uuid::new_v4());
        assert!(tokens.verify(&signed(&refresh), TokenKind::Refresh).is_ok());
    }

    #[test]
    fn expired_early_foreign_and_tampered_tokens_are_refused() {
        let tokens = tokens();
        let kid = tokens.0.keys.kid().to_owned();
        let now = unix_now();
        let leeway = LEEWAY.as_secs();
        let with = |edit: &dyn Fn(&mut Value)| {
            let mut claims = access_claims();
            edit(&mut claims);
            claims
        };
        let expired = with(&|c| c["exp"] = json!(now - leeway - 5));
        assert_eq!(
            tokens.verify(&signed(&expired), TokenKind::Access),
            Err(AuthError::Expired)
        );
        let refused = [
            signed(&with(&|c| c["nbf"] = json!(now + leeway + 60))),
            signed(&with(&|c| c["aud"] = json!("another"))),
            signed(&with(&|c| c["iss"] = json!("another"))),
            forged(
                &access_claims(),
                Algorithm::HS256,
                b"another secret, just as long as it has to be",
                Some(&kid),
            ),
            // Same secret, another algorithm: the header's `alg` is not trusted.
            forged(&access_claims(), Algorithm::HS512, SECRET, Some(&kid)),
            "not.a.token".to_owned(),
        ];
        for token in &refused {
            assert_eq!(
                tokens.verify(token, TokenKind::Access),
                Err(AuthError::Invalid),
                "{token}"
            );
        }
        let valid = signed(&access_claims());
        let (head, signature) = valid.rsplit_once('.').unwrap();
        let tampered = format!("{head}x.{signature}");
        assert_eq!(
            tokens.verify(&tampered, TokenKind::Access),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn a_token_without_a_kid_or_with_an_unknown_one_is_refused() {
        let tokens = tokens();
        for kid in [None, Some("unknown-key")] {
            let token = forged(&access_claims(), Algorithm::HS256, SECRET, kid);
            assert_eq!(
                tokens.verify(&token, TokenKind::Access),
                Err(AuthError::Invalid),
                "{kid:?}"
            );
        }
    }

    #[test]
    fn previous_secrets_verify_and_only_the_current_one_signs() {
        let old = Tokens::new(&config(JwtKeys::from_secret(OLD_SECRET).unwrap()));
        let old_token = old.access_token(&user(&[])).unwrap();
        let rotated = Tokens::new(&config(
            JwtKeys::from_secrets(SECRET, &[OLD_SECRET]).unwrap(),
        ));
        assert!(rotated.verify(&old_token, TokenKind::Access).is_ok());
        assert_eq!(rotated.0.keys.kid(), tokens().0.keys.kid());
        assert_ne!(rotated.0.keys.kid(), old.0.keys.kid());
        let new_token = rotated.access_token(&user(&[])).unwrap();
        assert!(tokens().verify(&new_token, TokenKind::Access).is_ok());
        assert_eq!(
            old.verify(&new_token, TokenKind::Access),
            Err(AuthError::Invalid),
            "signed with the current secret"
        );
        // Once dropped from the list, the old secret's tokens are refused.
        assert_eq!(
            tokens().verify(&old_token, TokenKind::Access),
            Err(AuthError::Invalid)
        );
        assert!(rotated.jwks().is_none(), "secrets are never published");
    }

    #[test]
    fn short_secrets_are_refused() {
        let err = JwtKeys::from_secret(&[7; MIN_SECRET_BYTES - 1]).unwrap_err();
        assert!(err.contains("at least 32 bytes"), "{err}");
        let err = JwtKeys::from_secrets(SECRET, &[&[7; MIN_SECRET_BYTES - 1]]).unwrap_err();
        assert!(err.contains("at least 32 bytes"), "{err}");
        assert!(JwtKeys::from_secret(&[7; MIN_SECRET_BYTES]).is_ok());
        let debug = format!("{:?}", JwtKeys::from_secret(SECRET).unwrap());
        assert!(!debug.contains("test secret"), "{debug}");
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

    /// A directory with `files` (name, contents).
    fn key_dir(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "{}-keys-{}",
            env!("CARGO_PKG_NAME"),
            Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents).unwrap();
        }
        dir
    }

    fn pair(private: &str, public: &str) -> PathBuf {
        key_dir(&[(PRIVATE_KEY_FILE, private), (PUBLIC_KEY_FILE, public)])
    }

    fn round_trip(dir: &Path, algorithm: Algorithm) {
        let keys = JwtKeys::from_dir(dir).unwrap();
        assert_eq!(keys.algorithm(), algorithm);
        let tokens = Tokens::new(&config(keys));
        let token = tokens.access_token(&user(&[])).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, algorithm);
        assert!(tokens.verify(&token, TokenKind::Access).is_ok());
        let jwks = tokens.jwks().unwrap();
        assert_eq!(jwks.keys.len(), 1);
        assert_eq!(jwks.keys[0].common.key_id, header.kid);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ed25519_keys_from_a_directory_sign_with_eddsa() {
        round_trip(&pair(ED25519_PRIVATE, ED25519_PUBLIC), Algorithm::EdDSA);
    }

    #[test]
    fn rsa_keys_from_a_directory_sign_with_rs256() {
        round_trip(&pair(RSA_PRIVATE, RSA_PUBLIC), Algorithm::RS256);
    }

    #[test]
    fn previous_public_keys_in_the_directory_still_verify() {
        let old_dir = pair(RSA_PRIVATE, RSA_PUBLIC);
        let old = Tokens::new(&config(JwtKeys::from_dir(&old_dir).unwrap()));
        let old_token = old.access_token(&user(&[])).unwrap();
        let dir = key_dir(&[
            (PRIVATE_KEY_FILE, ED25519_PRIVATE),
            (PUBLIC_KEY_FILE, ED25519_PUBLIC),
            ("2026-01-rsa.pem", RSA_PUBLIC),
        ]);
        let rotated = Tokens::new(&config(JwtKeys::from_dir(&dir).unwrap()));
        assert_eq!(rotated.0.keys.algorithm(), Algorithm::EdDSA);
        assert!(rotated.verify(&old_token, TokenKind::Access).is_ok());
        let kids: Vec<_> = rotated
            .jwks()
            .unwrap()
            .keys
            .iter()
            .map(|key| key.common.key_id.clone().unwrap())
            .collect();
        assert_eq!(kids, [rotated.0.keys.kid(), old.0.keys.kid()]);
        let garbage = key_dir(&[
            (PRIVATE_KEY_FILE, ED25519_PRIVATE),
            (PUBLIC_KEY_FILE, ED25519_PUBLIC),
            ("old.pem", "not a key"),
        ]);
        let err = JwtKeys::from_dir(&garbage).unwrap_err();
        assert!(err.contains("old.pem"), "{err}");
        for dir in [old_dir, dir, garbage] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn mismatched_missing_and_foreign_keys_are_refused_saying_which() {
        let mismatched = pair(ED25519_PRIVATE, OTHER_ED25519_PUBLIC);
        let err = JwtKeys::from_dir(&mismatched).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let mixed = pair(ED25519_PRIVATE, RSA_PUBLIC);
        let err = JwtKeys::from_dir(&mixed).unwrap_err();
        assert!(err.contains("public.pem"), "{err}");
        let garbage = pair("not a key", ED25519_PUBLIC);
        let err = JwtKeys::from_dir(&garbage).unwrap_err();
        assert!(err.contains("neither an Ed25519 nor an RSA"), "{err}");
        let err = JwtKeys::from_dir(Path::new("/no/such/dir")).unwrap_err();
        assert!(err.contains("/no/such/dir/private.pem"), "{err}");
        for dir in [mismatched, mixed, garbage] {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    // Test keys, made with `openssl genpkey`. Never use them for anything else.
    const ED25519_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEILEk7qtwCdhDonH3SAMFslsf12pyyP8xwBxV5QMMj5Hz
-----END PRIVATE KEY-----
";
    const ED25519_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEACpor36qtEYvf7WD/hNt8LTuk29114CIHYqN9frsylxU=
-----END PUBLIC KEY-----
";
    const OTHER_ED25519_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEABkcZ80OBuE1jbdtaD7078vWjNndwBRkUXskGSYzITsc=
-----END PUBLIC KEY-----
";
    const RSA_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCwG0q2d9c+BVxk
zSrE4Iq3Wnb+PsQFv+X7gvJDq1yQqXpG8vzYveoDNTl8QyC1blujjZyqXzvuhLra
Wre+8Bl0ZWAl0brBEs4Vna6bxF+NA83HKHzUhP5vUPD7i3cNsQGxO/BzaoSnx5/j
VVx45GC1zskkQdQb3gb+YascTyo0qvhqRqVnL7QcWLDiq2ew5poSDNTFGe9pY9WN
n5X1M4axx6PqOwV2oe6+y7Qj9LLKor2y4UmIoxNRlWhnS2dPQVf2sUm7m4/U3hKm
N+m7tWHOJbou5r20ze346uL6kSUyqfs+4FAh65hypN4dZlxCFsr83aCJ5uknzUL4
GAWYziInAgMBAAECggEAGlmbDj5UOHV446RHN/oZB2JD17rwfaO+96kaMsHbMdIJ
97+30X5pG13FYjBxHnSKxagUvvFM+F1nz/Au+iTWyjG49y+wb98uctGLJMd3PJRL
H/eQ5gOYRnOn+xtdDvFjPW+ohLx1aN1XsR4+neAeEFYGhqRK5niMN1fJ0IyP1h1W
uMv6htx3BSmaZk/SEGHU+W9BI0tPBXwgYKSZRv6fUQAAn2bJl1bD2Om7cUKKPsrJ
o6AfGjdCWSCaSJrhOikiyJD69guvBLWnrSom0Sy/ptK4cHqCNdy7tLbwwSvmoL68
qnC6rRJYXSVbg/de1JZWCTbjJqK2AQK0DPYWRDGxUQKBgQDzS/wHMwVfyLXO6cAX
IoOCE7pZ3ecp80RUJRzAjw/gRCp19RTMm9GaV+LbTivvvwypqsdyGGzXt1sNT9/0
gciLC6y4wmtouZenqkXr0W4DdtCf1b9Bjp04OLVlDhAUsgYMjBdjPaXgKpYMaKep
kr3wMp22skk1pRTt3AMknw9MgwKBgQC5TTZt4ofYiiFaliBnySEdBmjCk8Aaft1o
U3Ga+7tfba8ZMUMEiLnLghI+Gi8B+rHKxCA+p4xRNWFFFAw3aMu9/i+ngKnwEFhR
Hgt45OmFMuDKsTZzu7QWxuAV3E0QzIW3bSYLSOmGzAHaZBrinhYcOX3GtySnqmIn
RobumIaqjQKBgFW7suX+jqhAHAD70drVKK5PsV01mt3ngW59XXJld1y56JSEdn3b
crMGwUQyeb0T/6xSJ9IG1WP2krlQKkUI7thAlu7MY/kVXWGR2O3OcQv7dGy+b5T0
YmaLZTBlEjmYuhT10NABy1AA8bsRrfNNaG0aCQV2MeIbeBKRcvIWstdtAoGANZ0j
jHOovnxo3h7lzWGiVRWPpgy93myqfw71pdQECL5hlTZtn5g3uawuvw0wYLA6VOKe
OcKclLqPJD+CsV1+5b/v5dUSVkVEaGP7CcWh00o/RCY2DRJYLubn2ytcmOm0HrhT
85vrBXdtadTg+oSm/Q+dVquSzXg84gRD8jDrddkCgYEAhPztpsJwlRL/MQsPms8v
MB+C5in1ARWeWUOw2otMu6QUsLzURi/KQC+2CWKvdNpBwT1XcEG57Pi3OBMDUgd2
jLjlAOytkpMjAgX5Z/vvIMKoyckNbg/2ERXjILH2cFGrLz3vIGp12xH1ZC8U8JML
7tIUX/xkN/C2sBPDwSv88oo=
-----END PRIVATE KEY-----
";
    const RSA_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsBtKtnfXPgVcZM0qxOCK
t1p2/j7EBb/l+4LyQ6tckKl6RvL82L3qAzU5fEMgtW5bo42cql877oS62lq3vvAZ
dGVgJdG6wRLOFZ2um8RfjQPNxyh81IT+b1Dw+4t3DbEBsTvwc2qEp8ef41VceORg
tc7JJEHUG94G/mGrHE8qNKr4akalZy+0HFiw4qtnsOaaEgzUxRnvaWPVjZ+V9TOG
scej6jsFdqHuvsu0I/SyyqK9suFJiKMTUZVoZ0tnT0FX9rFJu5uP1N4Spjfpu7Vh
ziW6Lua9tM3t+Ori+pElMqn7PuBQIeuYcqTeHWZcQhbK/N2giebpJ81C+BgFmM4i
JwIDAQAB
-----END PUBLIC KEY-----
";
}
