//! JSON Web Tokens: the claims, issuing and verifying.
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
//! A client sends the same access token with every request of its 15 minutes,
//! so the claims of access tokens verified lately are kept in memory (at most
//! [`VERIFIED_CAPACITY`] tokens, each for at most [`VERIFIED_TTL`]): a token
//! seen again is not decoded and its signature not checked again, only its
//! expiry and not-before, against the clock as before. The keys do not change
//! while the process runs, so nothing else could have changed the outcome.
//!
//! The signing keys are in `keys.rs`, the extractors that check callers in
//! `extract.rs`; what those held when all of this was one file is re-exported
//! here, so `crate::auth::token::…` paths keep working.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthConfig;
pub use super::extract::{ADMIN, Admin, AdminEmails, AuthError, AuthUser};
pub use super::keys::{JwtKeys, MIN_SECRET_BYTES, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};
use super::password::DummyHash;

/// Clock skew tolerated between instances when checking `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// Most access tokens whose verified claims are kept.
pub const VERIFIED_CAPACITY: u64 = 10_000;

/// Longest the verified claims of an access token are kept.
pub const VERIFIED_TTL: Duration = Duration::from_secs(60);

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
    /// The claims of access tokens verified lately, by token.
    verified: moka::sync::Cache<Box<str>, Arc<Claims>>,
}

impl Tokens {
    /// Tokens with the keys, issuer, audience, lifetimes and administrators of
    /// `config`. Also hashes the dummy password that logins with an unknown
    /// email are checked against (see [`super::password`]), here at start-up, so
    /// that the first such login takes no longer than the others.
    pub fn new(config: &AuthConfig) -> Self {
        let validations = config
            .keys
            .verifying()
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
        let jwks = config.keys.jwks();
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
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_TTL)
                .build(),
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
        self.0.keys.sign(&claims)
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
        Ok((self.0.keys.sign(&claims)?, claims))
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

    /// The claims of `token` if it is valid and of kind `kind`: signed by a key
    /// this service holds (named by its `kid`), with the claims its kind needs.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, AuthError> {
        if kind == TokenKind::Access
            && let Some(claims) = self.0.verified.get(token)
        {
            // Verified before: only the time may have made it invalid since.
            let now = unix_now();
            let leeway = LEEWAY.as_secs();
            if claims.exp.saturating_add(leeway) < now {
                return Err(AuthError::Expired);
            }
            if claims.nbf > now.saturating_add(leeway) {
                return Err(AuthError::Invalid);
            }
            return Ok(Claims::clone(&claims));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        let keys = &self.0.keys;
        let index = header
            .kid
            .and_then(|kid| keys.verifying().iter().position(|key| key.kid == kid))
            .ok_or(AuthError::Invalid)?;
        let claims = jsonwebtoken::decode::<Claims>(
            token,
            &keys.verifying()[index].decoding,
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
        if kind == TokenKind::Access {
            self.0
                .verified
                .insert(token.into(), Arc::new(claims.clone()));
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

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;

    const SECRET: &[u8] = b"a test secret that is long enough to sign";

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
    fn a_verified_access_token_is_kept_and_still_expires() {
        let tokens = tokens();
        let now = unix_now();
        let leeway = LEEWAY.as_secs();
        // Valid for one more second (with the leeway).
        let mut claims = access_claims();
        claims["exp"] = json!(now - leeway + 1);
        let token = signed(&claims);
        let verified = tokens.verify(&token, TokenKind::Access).unwrap();
        assert!(tokens.0.verified.contains_key(token.as_str()));
        assert_eq!(tokens.verify(&token, TokenKind::Access), Ok(verified));
        // Kept for access tokens only: a refresh token is checked every time.
        assert_eq!(
            tokens.verify(&token, TokenKind::Refresh),
            Err(AuthError::WrongKind(TokenKind::Refresh))
        );
        std::thread::sleep(Duration::from_millis(2100));
        assert_eq!(
            tokens.verify(&token, TokenKind::Access),
            Err(AuthError::Expired),
            "kept, and expired all the same"
        );
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
}
