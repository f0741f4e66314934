//! The unit tests of [`super`]: loading, rotating and publishing keys, with
//! test key pairs. A file of their own, as the key pairs alone are longer than
//! most of the code they test.

use std::time::Duration;

use uuid::Uuid;

use super::super::{AdminEmails, AuthConfig, AuthError, AuthUser, TokenKind, Tokens};
use super::*;

const SECRET: &[u8] = b"a test secret that is long enough to sign";
const OLD_SECRET: &[u8] = b"the secret before the last rotation, long enough";

/// Tokens signed and verified with `keys`.
fn tokens(keys: JwtKeys) -> Tokens {
    Tokens::new(&AuthConfig {
        keys,
        issuer: "issuer".into(),
        audience: "audience".into(),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(604_800),
        admin_emails: AdminEmails::default(),
    })
}

fn user() -> AuthUser {
    AuthUser {
        id: Uuid::now_v7(),
        email: Some("ann@example.com".into()),
        roles: Vec::new(),
    }
}

#[test]
fn previous_secrets_verify_and_only_the_current_one_signs() {
    let current = JwtKeys::from_secret(SECRET).unwrap();
    let old_keys = JwtKeys::from_secret(OLD_SECRET).unwrap();
    let old = tokens(old_keys.clone());
    let old_token = old.access_token(&user()).unwrap();
    let rotated_keys = JwtKeys::from_secrets(SECRET, &[OLD_SECRET]).unwrap();
    let rotated = tokens(rotated_keys.clone());
    assert!(rotated.verify(&old_token, TokenKind::Access).is_ok());
    assert_eq!(rotated_keys.kid(), current.kid());
    assert_ne!(rotated_keys.kid(), old_keys.kid());
    let new_token = rotated.access_token(&user()).unwrap();
    assert!(
        tokens(current.clone())
            .verify(&new_token, TokenKind::Access)
            .is_ok()
    );
    assert_eq!(
        old.verify(&new_token, TokenKind::Access),
        Err(AuthError::Invalid),
        "signed with the current secret"
    );
    // Once dropped from the list, the old secret's tokens are refused.
    assert_eq!(
        tokens(current).verify(&old_token, TokenKind::Access),
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
    let tokens = tokens(keys);
    let token = tokens.access_token(&user()).unwrap();
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
    let old_keys = JwtKeys::from_dir(&old_dir).unwrap();
    let old_token = tokens(old_keys.clone()).access_token(&user()).unwrap();
    let dir = key_dir(&[
        (PRIVATE_KEY_FILE, ED25519_PRIVATE),
        (PUBLIC_KEY_FILE, ED25519_PUBLIC),
        ("2026-01-rsa.pem", RSA_PUBLIC),
    ]);
    let rotated_keys = JwtKeys::from_dir(&dir).unwrap();
    assert_eq!(rotated_keys.algorithm(), Algorithm::EdDSA);
    let rotated = tokens(rotated_keys.clone());
    assert!(rotated.verify(&old_token, TokenKind::Access).is_ok());
    let kids: Vec<_> = rotated
        .jwks()
        .unwrap()
        .keys
        .iter()
        .map(|key| key.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, [rotated_keys.kid(), old_keys.kid()]);
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
