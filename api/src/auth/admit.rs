//! The one authorization prologue of every action that changes something:
//! the user's role is checked and a refusal is written to the audit trail
//! (result `denied`, detail `role <role>`, the target as given) before
//! anything else about the request is looked at.
//!
//! Handlers without a JSON body take [`Admitted`], which runs [`admit`]
//! before the extractors after it (so a viewer hears 403, not whether the
//! id they gave is well-formed). A handler whose body is checked first
//! (`POST /backups`, `POST /backups/{id}/restore`, and `POST /prune`,
//! whose `dry_run` is) calls [`admit`] itself once it has read it.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};

use super::AuthUser;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;

/// The least role an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Operator,
    Admin,
}

/// An audited action: the role it needs and its name in the audit trail.
pub trait Action {
    const NAME: &'static str;
    const NEEDS: Needs;
}

macro_rules! define_actions {
    ($($(#[$doc:meta])* $ty:ident = $name:literal, $needs:ident;)*) => {
        $(
            $(#[$doc])*
            pub struct $ty;
            impl super::Action for $ty {
                const NAME: &'static str = $name;
                const NEEDS: super::Needs = super::Needs::$needs;
            }
        )*
    };
}

/// The audited actions, one row each.
pub mod actions {
    define_actions! {
        /// `POST /backups`.
        CreateBackup = "backup.create", Operator;
        /// `DELETE /backups/{id}`.
        DeleteBackup = "backup.delete", Admin;
        /// `POST /backups/{id}/verify`.
        VerifyBackup = "backup.verify", Operator;
        /// `POST /backups/verify-all`.
        VerifyAll = "backup.verify_all", Operator;
        /// `POST /backups/{id}/restore`.
        RequestRestore = "restore.request", Admin;
        /// `POST /backups/{id}/offsite`.
        RequestOffsite = "offsite.request", Operator;
        /// `POST /backups/{id}/offsite/verify`.
        VerifyOffsite = "offsite.verify", Operator;
        /// `POST /prune`, `GET /prune/preview`.
        Prune = "backup.prune", Admin;
        /// `POST /reconcile`.
        Reconcile = "backup.reconcile", Admin;
    }
}

/// Lets `user` do `A` from `addr`, or writes the denial to the audit trail
/// and answers 403. `target` is what the action is on, as the client gave
/// it (cut to 100 characters). Returns the audit entry for the handler to
/// complete: result `accepted` unless it says otherwise.
pub async fn admit<A: Action>(
    state: &AppState,
    user: &AuthUser,
    addr: SocketAddr,
    target: Option<&str>,
) -> Result<AuditEntry, ApiError> {
    let entry = AuditEntry {
        target: target.map(|t| t.chars().take(100).collect()),
        ..audit_entry(user, addr, A::NAME)
    };
    let allowed = match A::NEEDS {
        Needs::Operator => user.require_operator(),
        Needs::Admin => user.require_admin(),
    };
    if let Err(e) = allowed {
        let denied = AuditEntry {
            result: AuditResult::Denied,
            ..entry
        }
        .detail(format!("role {}", user.role));
        state.catalog(move |c| c.append_audit(&denied)).await?;
        return Err(e);
    }
    Ok(entry)
}

/// An API request's audit entry: `user` from `addr` did `action`
/// (result `accepted`, no target or detail yet).
pub fn audit_entry(user: &AuthUser, addr: SocketAddr, action: &'static str) -> AuditEntry {
    AuditEntry {
        actor: user.username.clone(),
        actor_id: Some(user.id),
        source: AuditSource::Api,
        remote_addr: Some(addr.ip().to_string()),
        action,
        target: None,
        result: AuditResult::Accepted,
        detail: None,
    }
}

/// A user let in to do `A` (see [`admit`]); the route's `{id}`, if it has
/// one, is the audit target.
pub struct Admitted<A> {
    pub user: AuthUser,
    /// The entry to complete and append once the action is under way.
    pub audit: AuditEntry,
    action: PhantomData<A>,
}

impl<A: Action> FromRequestParts<AppState> for Admitted<A> {
    type Rejection = Response;

    /// In the order the handlers took these before: the client's address,
    /// the token (401), the path's text (400 if it is not UTF-8), the role.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ConnectInfo(addr) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let user = AuthUser::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let target = params.get("id").map(String::as_str);
        let audit = admit::<A>(state, &user, addr, target)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Admitted {
            user,
            audit,
            action: PhantomData,
        })
    }
}
