//! Password hashing with Argon2id (argon2's defaults: 19 MiB of memory, two
//! passes, one lane — the OWASP recommendation).
//!
//! A hash is deliberately slow and memory-hungry, so it never runs on the async
//! runtime's threads (it would stall every request on them): it runs in
//! `spawn_blocking`, and at most one hash per CPU runs at a time, so a burst of
//! logins queues instead of allocating 19 MiB per request at once.
//!
//! Logging in with an unknown email still verifies the password against a
//! [`DummyHash`], so both failures take as long, and timing does not reveal which
//! emails have accounts. The dummy is hashed at start-up (by `Tokens::new`): made
//! lazily, the first unknown email would pay for two hashes and stand out. Hashes are PHC strings (`$argon2id$v=19$m=...`) carrying
//! their own parameters and salt, so stronger parameters later still verify old
//! hashes.

use std::fmt;
use std::sync::{Arc, LazyLock};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::Error;

/// At most one hash per CPU at a time.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(1, usize::from)));

/// The hash that unknown emails are checked against: of a random password no one
/// can know, with the same parameters as real ones. Cheap to clone.
#[derive(Clone)]
pub struct DummyHash(Arc<str>);

impl DummyHash {
    /// Hashes a fresh random password, now (a few tens of milliseconds, once at
    /// start-up; it blocks, by design: nothing is served before it is done).
    pub fn new() -> Self {
        let hash = hash_now(uuid::Uuid::new_v4().to_string().as_bytes())
            .expect("hashing a fresh password works");
        Self(hash.into())
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for DummyHash {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for DummyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DummyHash")
    }
}

/// The PHC string of `password`, with a fresh random salt.
pub async fn hash(password: String) -> Result<String, Error> {
    let _permit = HASHING.acquire().await.map_err(Error::internal)?;
    tokio::task::spawn_blocking(move || hash_now(password.as_bytes()))
        .await
        .map_err(Error::internal)?
}

/// Whether `password` matches `hash`. With no hash (the account does not exist)
/// it checks against `dummy` and answers `false`, taking as long as a real
/// check.
pub async fn verify(
    password: String,
    hash: Option<String>,
    dummy: &DummyHash,
) -> Result<bool, Error> {
    let _permit = HASHING.acquire().await.map_err(Error::internal)?;
    let dummy = dummy.clone();
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_now(password.as_bytes(), &hash),
        None => verify_now(password.as_bytes(), dummy.as_str()).map(|_| false),
    })
    .await
    .map_err(Error::internal)?
}

fn hash_now(password: &[u8]) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password)
        .map(|hash| hash.to_string())
        .map_err(|err| Error::internal(format!("cannot hash a password: {err}")))
}

fn verify_now(password: &[u8], hash: &str) -> Result<bool, Error> {
    let parsed = PasswordHash::new(hash)
        .map_err(|err| Error::internal(format!("a stored password hash is malformed: {err}")))?;
    Ok(Argon2::default().verify_password(password, &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_matches_its_hash_and_no_other() {
        let hash = hash("correct horse battery staple".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        let dummy = DummyHash::new();
        let check = |password: &str| verify(password.to_owned(), Some(hash.clone()), &dummy);
        assert!(check("correct horse battery staple").await.unwrap());
        assert!(!check("correct horse battery stapler").await.unwrap());
    }

    #[tokio::test]
    async fn hashes_of_one_password_differ_by_their_salt() {
        let first = hash("same password".into()).await.unwrap();
        let second = hash("same password".into()).await.unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn without_an_account_nothing_matches() {
        let dummy = DummyHash::new();
        assert!(dummy.as_str().starts_with("$argon2id$v=19$"));
        assert!(!verify("anything".into(), None, &dummy).await.unwrap());
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_internal_error() {
        let err = verify(
            "anything".into(),
            Some("not a hash".into()),
            &DummyHash::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err:?}");
    }
}
