//! The tree's one TLS crypto stack: ring (jsonwebtoken, lettre and
//! axum-server use it; reqwest is built without a provider of its own).
//! Every process that makes an HTTPS client calls [`install`] first.

/// Makes ring the process's rustls provider (once; later calls do nothing).
pub fn install() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
