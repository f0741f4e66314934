//! JSON Web Tokens: signing keys, the claims, issuing pairs, verifying, and the
//! [`AuthUser`] extractor.
//!
//! Tokens are stateless: the signature is the proof, so any instance verifies
//! any token without asking a database or the others. The price is that a token
//! stays valid until it expires, which is why access tokens live briefly
//! (`JWT_ACCESS_TTL_SECS`, 15 minutes) and are renewed with a refresh token
//! (`JWT_REFRESH_TTL_SECS`, 7 days). To invalidate every token at once, change the
//! signing key.
//!
//! A token carries `sub` (the account id), `iss`, `aud`, `iat`, `nbf`, `exp`,
//! `jti` and `typ`: `access` or `refresh`. Verification pins the algorithm to the
//! configured key's, whatever the token's header claims (so `alg: none` or an
//! HMAC signature made with a public key are refused), requires every claim, checks
//! issuer, audience, expiry and not-before with [`LEEWAY`] of clock skew, and
//! refuses a token of the other `typ`: a refresh token is not an access token.
//!
//! Keys: HS256 with `JWT_SECRET` (one secret signs and verifies, shared by every
//! instance), or RS256 / EdDSA with `JWT_KEYS_DIR`, a directory holding
//! `private.pem` and `public.pem` (PKCS#8 or PKCS#1 RSA, or Ed25519): the public
//! key can then be handed to other services that only verify.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthConfig;
use crate::error::Problem;

/// Shortest `JWT_SECRET` accepted: 32 bytes, the output size of HS256's SHA-256.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock skew tolerated between instances when checking `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// The private key's file name in `JWT_KEYS_DIR`.
pub const PRIVATE_KEY_FILE: &str = "private.pem";
/// The public key's file name in `JWT_KEYS_DIR`.
pub const PUBLIC_KEY_FILE: &str = "public.pem";

/// The keys tokens are signed and verified with, and their algorithm.
///
/// `Debug` names the algorithm and where the keys came from, never the keys.
#[derive(Clone)]
pub struct JwtKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    source: Option<PathBuf>,
}

impl JwtKeys {
    /// HS256 keys from a shared secret of at least [`MIN_SECRET_BYTES`].
    pub fn from_secret(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "must be at least {MIN_SECRET_BYTES} bytes, and is {}; generate one with \
                 `openssl rand -base64 48`",
                secret.len()
            ));
        }
        Ok(Self {
            algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            source: None,
        })
    }

    /// RS256 or EdDSA keys from `dir`/[`PRIVATE_KEY_FILE`] and
    /// `dir`/[`PUBLIC_KEY_FILE`]; the algorithm follows the key type. The pair is
    /// checked to match by signing and verifying a token.
    pub fn from_dir(dir: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
        };
        let (private, public) = (read(PRIVATE_KEY_FILE)?, read(PUBLIC_KEY_FILE)?);
        let (algorithm, encoding) = if let Ok(key) = EncodingKey::from_ed_pem(&private) {
            (Algorithm::EdDSA, key)
        } else if let Ok(key) = EncodingKey::from_rsa_pem(&private) {
            (Algorithm::RS256, key)
        } else {
            return Err(format!(
                "`{PRIVATE_KEY_FILE}` is neither an Ed25519 nor an RSA private key in PEM"
            ));
        };
        let decoding = match algorithm {
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&public),
            _ => DecodingKey::from_rsa_pem(&public),
        }
        .map_err(|e| format!("`{PUBLIC_KEY_FILE}` is not a public key of the same type: {e}"))?;
        let keys = Self {
            algorithm,
            encoding,
            decoding,
            source: Some(dir.to_owned()),
        };
        keys.check_pair()?;
        Ok(keys)
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Signs a probe and verifies it, so a mismatched pair stops start-up rather
    /// than every login.
    fn check_pair(&self) -> Result<(), String> {
        let probe = jsonwebtoken::encode(
            &Header::new(self.algorithm),
            &Probe { probe: 1 },
            &self.encoding,
        )
        .map_err(|e| format!("cannot sign with `{PRIVATE_KEY_FILE}`: {e}"))?;
        let mut validation = Validation::new(self.algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Probe>(&probe, &self.decoding, &validation)
            .map(|_| ())
            .map_err(|_| format!("`{PUBLIC_KEY_FILE}` does not match `{PRIVATE_KEY_FILE}`"))
    }
}

#[derive(Serialize, Deserialize)]
struct Probe {
    probe: u8,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("JwtKeys");
        debug.field("algorithm", &self.algorithm);
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
    /// Exchanged at `POST /auth/refresh` for a new pair, and for nothing else.
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
    /// This token's own id, for logs and denylists.
    pub jti: Uuid,
    /// What the token may be used for.
    pub typ: TokenKind,
}

/// The body of a successful login or refresh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenPair {
    /// For `Authorization: Bearer`.
    pub access_token: String,
    /// For `POST /auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Issues and verifies tokens. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Tokens(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    keys: JwtKeys,
    issuer: String,
    audience: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
    validation: Validation,
}

impl Tokens {
    /// Tokens with the keys, issuer, audience and lifetimes of `config`.
    pub fn new(config: &AuthConfig) -> Self {
        let mut validation = Validation::new(config.keys.algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY.as_secs();
        Self(Arc::new(Inner {
            keys: config.keys.clone(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            access_ttl: config.access_ttl,
            refresh_ttl: config.refresh_ttl,
            validation,
        }))
    }

    /// A new access and refresh token for account `user`.
    pub fn issue(&self, user: Uuid) -> Result<TokenPair, jsonwebtoken::errors::Error> {
        let inner = &self.0;
        Ok(TokenPair {
            access_token: self.sign(user, TokenKind::Access, inner.access_ttl)?,
            refresh_token: self.sign(user, TokenKind::Refresh, inner.refresh_ttl)?,
            token_type: "Bearer",
            expires_in: inner.access_ttl.as_secs(),
        })
    }

    fn sign(
        &self,
        user: Uuid,
        typ: TokenKind,
        ttl: Duration,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = unix_now();
        let claims = Claims {
            sub: user,
            iss: self.0.issuer.clone(),
            aud: self.0.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + ttl.as_secs(),
            jti: Uuid::new_v4(),
            typ,
        };
        jsonwebtoken::encode(
            &Header::new(self.0.keys.algorithm),
            &claims,
            &self.0.keys.encoding,
        )
    }

    /// The claims of `token` if it is valid and of kind `kind`.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, AuthError> {
        let claims =
            jsonwebtoken::decode::<Claims>(token, &self.0.keys.decoding, &self.0.validation)
                .map_err(|err| match err.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    _ => AuthError::Invalid,
                })?
                .claims;
        if claims.typ != kind {
            return Err(AuthError::WrongKind(kind));
        }
        Ok(claims)
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Why a request was not authenticated: each answers 401 with a
/// `WWW-Authenticate: Bearer` challenge (RFC 6750), and says `invalid_token`
/// when a token was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("This request needs an access token: `Authorization: Bearer <token>`.")]
    Missing,
    /// The token has expired.
    #[error("The token has expired.")]
    Expired,
    /// The token is malformed, forged, or not meant for this service.
    #[error("The token is not valid.")]
    Invalid,
    /// A token of the other kind: a refresh token where an access token belongs,
    /// or the reverse.
    #[error("This is not {}.", match .0 { TokenKind::Access => "an access token", TokenKind::Refresh => "a refresh token" })]
    WrongKind(TokenKind),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let challenge = match self {
            Self::Missing => HeaderValue::from_static("Bearer"),
            Self::Expired => HeaderValue::from_static(
                "Bearer error=\"invalid_token\", error_description=\"the token has expired\"",
            ),
            Self::Invalid | Self::WrongKind(_) => {
                HeaderValue::from_static("Bearer error=\"invalid_token\"")
            }
        };
        let mut response = Problem::new(StatusCode::UNAUTHORIZED, self.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        response
    }
}

/// The account a request is made for, proven by its bearer access token.
///
/// As an extractor it answers 401 unless the request carries a valid access
/// token; handlers that take one are open to signed-in callers only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthUser {
    /// The account's id (the token's `sub`).
    pub id: Uuid,
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
        Ok(Self { id: claims.sub })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a test secret that is long enough to sign";

    fn config(keys: JwtKeys) -> AuthConfig {
        AuthConfig {
            keys,
            issuer: "issuer".into(),
            audience: "audience".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(604_800),
        }
    }

    fn tokens() -> Tokens {
        Tokens::new(&config(JwtKeys::from_secret(SECRET).unwrap()))
    }

    /// A token with `claims` edited by `edit`, signed with `key` and `algorithm`.
    fn forged(edit: impl FnOnce(&mut Claims), algorithm: Algorithm, key: &[u8]) -> String {
        let now = unix_now();
        let mut claims = Claims {
            sub: Uuid::now_v7(),
            iss: "issuer".into(),
            aud: "audience".into(),
            iat: now,
            nbf: now,
            exp: now + 900,
            jti: Uuid::new_v4(),
            typ: TokenKind::Access,
        };
        edit(&mut claims);
        jsonwebtoken::encode(
            &Header::new(algorithm),
            &claims,
            &EncodingKey::from_secret(key),
        )
        .unwrap()
    }

    #[test]
    fn issued_tokens_verify_as_their_own_kind_only() {
        let tokens = tokens();
        let user = Uuid::now_v7();
        let pair = tokens.issue(user).unwrap();
        assert_eq!((pair.token_type, pair.expires_in), ("Bearer", 900));
        let access = tokens
            .verify(&pair.access_token, TokenKind::Access)
            .unwrap();
        assert_eq!((access.sub, access.typ), (user, TokenKind::Access));
        assert_eq!(access.exp - access.iat, 900);
        let refresh = tokens
            .verify(&pair.refresh_token, TokenKind::Refresh)
            .unwrap();
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
    fn a_sound_forgery_with_the_right_key_verifies() {
        // The baseline for the refusals below: only their one change matters.
        let token = forged(|_| {}, Algorithm::HS256, SECRET);
        assert!(tokens().verify(&token, TokenKind::Access).is_ok());
    }

    #[test]
    fn expired_early_foreign_and_tampered_tokens_are_refused() {
        let tokens = tokens();
        let now = unix_now();
        let leeway = LEEWAY.as_secs();
        let expired = forged(|c| c.exp = now - leeway - 5, Algorithm::HS256, SECRET);
        assert_eq!(
            tokens.verify(&expired, TokenKind::Access),
            Err(AuthError::Expired)
        );
        let early = forged(|c| c.nbf = now + leeway + 60, Algorithm::HS256, SECRET);
        assert_eq!(
            tokens.verify(&early, TokenKind::Access),
            Err(AuthError::Invalid)
        );
        let other_audience = forged(|c| c.aud = "another".into(), Algorithm::HS256, SECRET);
        assert_eq!(
            tokens.verify(&other_audience, TokenKind::Access),
            Err(AuthError::Invalid)
        );
        let other_issuer = forged(|c| c.iss = "another".into(), Algorithm::HS256, SECRET);
        assert_eq!(
            tokens.verify(&other_issuer, TokenKind::Access),
            Err(AuthError::Invalid)
        );
        let other_key = forged(
            |_| {},
            Algorithm::HS256,
            b"another secret, just as long as it has to be",
        );
        assert_eq!(
            tokens.verify(&other_key, TokenKind::Access),
            Err(AuthError::Invalid)
        );
        // Same secret, another algorithm: the header's `alg` is not trusted.
        let other_algorithm = forged(|_| {}, Algorithm::HS512, SECRET);
        assert_eq!(
            tokens.verify(&other_algorithm, TokenKind::Access),
            Err(AuthError::Invalid)
        );
        let valid = forged(|_| {}, Algorithm::HS256, SECRET);
        let (head, signature) = valid.rsplit_once('.').unwrap();
        let tampered = format!("{head}x.{signature}");
        assert_eq!(
            tokens.verify(&tampered, TokenKind::Access),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            tokens.verify("not.a.token", TokenKind::Access),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        let err = JwtKeys::from_secret(&[7; MIN_SECRET_BYTES - 1]).unwrap_err();
        assert!(err.contains("at least 32 bytes"), "{err}");
        assert!(JwtKeys::from_secret(&[7; MIN_SECRET_BYTES]).is_ok());
        let debug = format!("{:?}", JwtKeys::from_secret(SECRET).unwrap());
        assert!(!debug.contains("test secret"), "{debug}");
    }

    /// A directory with `private` and `public` as the key files.
    fn key_dir(private: &str, public: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "{}-keys-{}",
            env!("CARGO_PKG_NAME"),
            Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(PRIVATE_KEY_FILE), private).unwrap();
        std::fs::write(dir.join(PUBLIC_KEY_FILE), public).unwrap();
        dir
    }

    fn round_trip(dir: &Path, algorithm: Algorithm) {
        let keys = JwtKeys::from_dir(dir).unwrap();
        assert_eq!(keys.algorithm(), algorithm);
        let tokens = Tokens::new(&config(keys));
        let pair = tokens.issue(Uuid::now_v7()).unwrap();
        let header = jsonwebtoken::decode_header(&pair.access_token).unwrap();
        assert_eq!(header.alg, algorithm);
        assert!(tokens.verify(&pair.access_token, TokenKind::Access).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ed25519_keys_from_a_directory_sign_with_eddsa() {
        round_trip(&key_dir(ED25519_PRIVATE, ED25519_PUBLIC), Algorithm::EdDSA);
    }

    #[test]
    fn rsa_keys_from_a_directory_sign_with_rs256() {
        round_trip(&key_dir(RSA_PRIVATE, RSA_PUBLIC), Algorithm::RS256);
    }

    #[test]
    fn mismatched_missing_and_foreign_keys_are_refused_saying_which() {
        let mismatched = key_dir(ED25519_PRIVATE, OTHER_ED25519_PUBLIC);
        let err = JwtKeys::from_dir(&mismatched).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let mixed = key_dir(ED25519_PRIVATE, RSA_PUBLIC);
        let err = JwtKeys::from_dir(&mixed).unwrap_err();
        assert!(err.contains("public.pem"), "{err}");
        let garbage = key_dir("not a key", ED25519_PUBLIC);
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
