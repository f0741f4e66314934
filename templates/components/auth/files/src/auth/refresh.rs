//! The record of refresh tokens, which makes each one single-use.
//!
//! A login starts a family; every refresh token issued from then on by rotation
//! belongs to it. Each token issued is recorded (`refresh_tokens`: its `jti`,
//! family, account and expiry) and is exchanged at most once: [`exchange`] marks
//! it used in the same transaction that records its successor. A token presented
//! again after that is a replay — its holder and the legitimate client both have
//! it, and there is no telling which is which — so the whole family is revoked
//! (its rows deleted) and the next refresh of either fails, as the OAuth 2.0
//! Security BCP recommends. Two refreshes with one token at the same moment count
//! as a replay too: a well-behaved client never sends them. A token whose row is
//! gone (revoked, logged out, or its account deleted, which cascades) is refused.
//!
//! Expired rows are deleted when a login records a new family ([`record`] with
//! `sweep`): logins are rare next to requests, already pay for an argon2 hash,
//! and the delete is one range of the index on `expires_at`, so the table holds
//! little beyond the live tokens without a periodic task that every instance would
//! run (or that would need electing one).
//!
//! Access tokens are not recorded: they stay stateless and expire quickly.

use sqlx::{Row, Transaction};
use uuid::Uuid;

use super::token::{Claims, unix_now};
use crate::db::{Database, Db};
use crate::error::{Error, Result};

const INSERT: &str =
    "INSERT INTO refresh_tokens (jti, family, user_id, expires_at) VALUES ($1, $2, $3, $4)";
const SWEEP: &str = "DELETE FROM refresh_tokens WHERE expires_at < $1";
const MARK_USED: &str =
    "UPDATE refresh_tokens SET used = TRUE WHERE jti = $1 AND user_id = $2 AND NOT used";
const FIND: &str = "SELECT family FROM refresh_tokens WHERE jti = $1";
const REVOKE: &str = "DELETE FROM refresh_tokens WHERE family = $1";
const SELECT_EMAIL: &str = "SELECT email FROM users WHERE id = $1";

/// Why a refresh token cannot be exchanged.
const REVOKED: &str = "This refresh token has been used, revoked or logged out; log in again.";

/// What [`exchange`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exchange<T> {
    /// The token was unused: it is now used, and its successor, what `issue`
    /// made, is recorded.
    Rotated(T),
    /// The token had been used already: its family (this one) is now revoked.
    Reused(Uuid),
}

/// Records the refresh token of `claims`. With `sweep`, first deletes every
/// expired row.
pub async fn record(db: &Database, claims: &Claims, sweep: bool) -> Result<()> {
    let mut tx = db.writer().begin().await?;
    if sweep {
        sqlx::query(SWEEP)
            .bind(seconds(unix_now()))
            .execute(&mut *tx)
            .await?;
    }
    insert(&mut tx, claims).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert(tx: &mut Transaction<'_, Db>, claims: &Claims) -> Result<()> {
    let family = claims
        .fam
        .ok_or_else(|| Error::internal("a refresh token without a family"))?;
    sqlx::query(INSERT)
        .bind(claims.jti)
        .bind(family)
        .bind(claims.sub)
        .bind(seconds(claims.exp))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Exchanges the verified refresh token of `claims`: marks it used and records
/// `successor` (the claims of the token that replaces it, made by `issue` once
/// the account's email is known) in one transaction. A reused token revokes its
/// family ([`Exchange::Reused`]); an unknown one is refused with 401.
pub async fn exchange<T>(
    db: &Database,
    claims: &Claims,
    issue: impl FnOnce(&str) -> Result<(T, Claims)>,
) -> Result<Exchange<T>> {
    let mut tx = db.writer().begin().await?;
    let marked = sqlx::query(MARK_USED)
        .bind(claims.jti)
        .bind(claims.sub)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if marked == 0 {
        let family: Option<Uuid> = sqlx::query(FIND)
            .bind(claims.jti)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("family"))
            .transpose()?;
        let Some(family) = family else {
            super::failure::refused(super::failure::Reason::RefreshRevoked);
            return Err(Error::Unauthorized(REVOKED.into()));
        };
        sqlx::query(REVOKE).bind(family).execute(&mut *tx).await?;
        tx.commit().await?;
        return Ok(Exchange::Reused(family));
    }
    let email: Option<String> = sqlx::query(SELECT_EMAIL)
        .bind(claims.sub)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("email"))
        .transpose()?;
    // Rows cascade with their account, so this is a deletion racing us.
    let Some(email) = email else {
        super::failure::refused(super::failure::Reason::RefreshRevoked);
        return Err(Error::Unauthorized(REVOKED.into()));
    };
    let (issued, successor) = issue(&email)?;
    insert(&mut tx, &successor).await?;
    tx.commit().await?;
    Ok(Exchange::Rotated(issued))
}

/// Revokes `family`: every refresh token rotated from one login. Revoking a
/// family already gone is not an error.
pub async fn revoke(db: &Database, family: Uuid) -> Result<()> {
    sqlx::query(REVOKE)
        .bind(family)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Seconds since the Unix epoch as the database stores them.
fn seconds(unix: u64) -> i64 {
    i64::try_from(unix).unwrap_or(i64::MAX)
}
