//! The keys tokens are signed and verified with, and their ids.
//!
//! Kept apart from issuing and verifying tokens (see [`super::token`]) because
//! keys change on their own schedule — a rotation, a move from a secret to a key
//! pair — and should be read and tested without the claims in the way.
//!
//! HS256 with `JWT_SECRET` (one secret signs and verifies, shared by every
//! instance), or RS256 / EdDSA with `JWT_KEYS_DIR`, a directory holding
//! `private.pem` and `public.pem` (PKCS#8 or PKCS#1 RSA, or Ed25519), the
//! current pair. Rotation keeps the previous keys verifying while tokens they
//! signed may still be live: `JWT_PREVIOUS_SECRETS` (comma-separated) for HS256,
//! and every other `*.pem` file of `JWT_KEYS_DIR` (a public key) for RS256 /
//! EdDSA. New tokens are always signed with the current key. A key's id is the
//! RFC 7638 thumbprint of its public key, or for a secret a MAC of a fixed text
//! under it (telling no more about the secret than any token does). The public
//! keys are published by `GET /.well-known/jwks.json` ([`super::Tokens::jwks`]).

use std::fmt;
use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Shortest `JWT_SECRET` accepted: 32 bytes, the output size of HS256's SHA-256.
pub const MIN_SECRET_BYTES: usize = 32;
/// The private key's file name in `JWT_KEYS_DIR`.
pub const PRIVATE_KEY_FILE: &str = "private.pem";
/// The public key's file name in `JWT_KEYS_DIR`.
pub const PUBLIC_KEY_FILE: &str = "public.pem";

/// A key that verifies tokens, with its id and algorithm.
#[derive(Clone)]
pub(super) struct VerifyingKey {
    /// The `kid` of the tokens it verifies.
    pub(super) kid: String,
    /// The only algorithm it accepts, whatever a token's header claims.
    pub(super) algorithm: Algorithm,
    /// Checks the signatures.
    pub(super) decoding: DecodingKey,
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

    /// The keys that verify, current first.
    pub(super) fn verifying(&self) -> &[VerifyingKey] {
        &self.verifying
    }

    /// `claims` signed with the current key, its `kid` in the header.
    pub(super) fn sign<T: Serialize>(
        &self,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm());
        header.kid = Some(self.kid().to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// The public keys as a JWK set, each with its `kid`, current first; `None`
    /// with a secret (HS256), which has no public half.
    pub(super) fn jwks(&self) -> Option<JwkSet> {
        let public: Vec<Jwk> = self
            .verifying
            .iter()
            .filter_map(|key| key.jwk.clone())
            .collect();
        (!public.is_empty()).then_some(JwkSet { keys: public })
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

#[cfg(test)]
mod tests;
