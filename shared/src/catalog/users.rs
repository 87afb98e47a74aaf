//! Users and their password hashes.

use rusqlite::Row;

use super::{Catalog, CatalogError, OptionalRow, Result, time};
use crate::domain::Role;

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Tokens carry this; a password change increments it, revoking them.
    pub token_version: i64,
}

impl User {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, i64)> {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ))
    }
}

fn to_user(
    (id, username, role, password_hash, token_version): (i64, String, String, String, i64),
) -> Result<User> {
    let role = role
        .parse()
        .map_err(|e| CatalogError::Corrupt(format!("user {username}: {e}")))?;
    Ok(User {
        id,
        username,
        role,
        password_hash,
        token_version,
    })
}

impl Catalog {
    pub fn count_users(&self) -> Result<u64> {
        let conn = self.reader()?;
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        Ok(count.max(0) as u64)
    }

    /// Creates a user; `Conflict` if the name is taken.
    pub fn create_user(&self, username: &str, password_hash: &str, role: Role) -> Result<User> {
        let conn = self.writer()?;
        let inserted = conn.execute(
            "INSERT INTO users (username, password_hash, role, created_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO NOTHING",
            (username, password_hash, role.as_str(), time::now_text()),
        )?;
        if inserted == 0 {
            return Err(CatalogError::Conflict(format!(
                "user {username} already exists"
            )));
        }
        Ok(User {
            id: conn.last_insert_rowid(),
            username: username.to_owned(),
            role,
            password_hash: password_hash.to_owned(),
            token_version: 0,
        })
    }

    /// Creates the first user only while there is no user at all, in one
    /// transaction, so two processes starting together create one admin.
    /// Returns `None` when a user already existed.
    pub fn create_first_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Option<User>> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: i64 = tx.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
        if existing > 0 {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            (username, password_hash, role.as_str(), time::now_text()),
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Some(User {
            id,
            username: username.to_owned(),
            role,
            password_hash: password_hash.to_owned(),
            token_version: 0,
        }))
    }

    /// Replaces a user's password hash and revokes their tokens; `NotFound`
    /// if there is no such user.
    pub fn set_password(&self, username: &str, password_hash: &str) -> Result<()> {
        let conn = self.writer()?;
        let updated = conn.execute(
            "UPDATE users SET password_hash = ?2, token_version = token_version + 1 WHERE username = ?1",
            (username, password_hash),
        )?;
        if updated == 0 {
            return Err(CatalogError::NotFound);
        }
        Ok(())
    }

    pub fn find_user(&self, username: &str) -> Result<User> {
        let conn = self.reader()?;
        let row = conn
            .query_row(
                "SELECT id, username, role, password_hash, token_version FROM users WHERE username = ?1",
                [username],
                User::from_row,
            )
            .found()?;
        to_user(row)
    }

    pub fn get_user(&self, id: i64) -> Result<User> {
        let conn = self.reader()?;
        let row = conn
            .query_row(
                "SELECT id, username, role, password_hash, token_version FROM users WHERE id = ?1",
                [id],
                User::from_row,
            )
            .found()?;
        to_user(row)
    }
}
