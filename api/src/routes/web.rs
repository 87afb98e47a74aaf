//! The web UI (SPEC §8): the static files under `web/`, embedded into the
//! binary at compile time so the server needs no folder at run time (and
//! `make run` works from anywhere). `/` redirects to the backup page.
//!
//! Every file is answered with its content type, an `ETag` (a hash of the
//! content, computed at compile time) with `Cache-Control: no-cache` so a
//! new build is picked up at once and an unchanged file costs a 304, and
//! security headers: the page loads nothing but its own files.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::state::AppState;

/// The page operators open (guide §4.1).
pub const BACKUP_PAGE: &str = "/views/backup.html";

/// One embedded file: its URL path (also its path under `web/`).
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: u64,
}

macro_rules! asset {
    ($path:literal, $content_type:expr) => {{
        const BODY: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../web", $path));
        Asset {
            path: $path,
            content_type: $content_type,
            body: BODY,
            etag: fnv1a(BODY),
        }
    }};
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("/views/backup.html", "text/html; charset=utf-8"),
    asset!("/assets/app.css", "text/css; charset=utf-8"),
    asset!("/assets/favicon.svg", "image/svg+xml"),
    asset!("/assets/app.js", JS),
    asset!("/assets/actions.js", JS),
    asset!("/assets/api.js", JS),
    asset!("/assets/dom.js", JS),
    asset!("/assets/format.js", JS),
    asset!("/assets/i18n.js", JS),
    asset!("/assets/notices.js", JS),
    asset!("/assets/progress.js", JS),
    asset!("/assets/storage.js", JS),
    asset!("/assets/table.js", JS),
];

/// No inline script or style, no other origin, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let redirect = || async { Redirect::to(BACKUP_PAGE) };
    ASSETS.iter().fold(
        Router::new()
            .route("/", get(redirect))
            .route("/views", get(redirect))
            .route("/views/", get(redirect)),
        |router, asset| router.route(asset.path, get(move |headers| serve(asset, headers))),
    )
}

async fn serve(asset: &'static Asset, request: HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.etag);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header value"),
    );
    for (name, value) in [
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart, and a
/// `const fn`, so the ETags cost nothing at run time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn web_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
    }

    fn files_under(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, found);
            } else {
                let relative = path.strip_prefix(web_dir()).unwrap();
                found.push(format!("/{}", relative.display()));
            }
        }
    }

    #[test]
    fn every_file_under_web_is_embedded() {
        let mut found = Vec::new();
        files_under(&web_dir(), &mut found);
        for path in found {
            assert!(
                ASSETS.iter().any(|a| a.path == path),
                "{path} is not in ASSETS in api/src/routes/web.rs: the browser would get a 404"
            );
        }
    }

    #[test]
    fn every_module_the_scripts_import_is_embedded() {
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            let source = std::str::from_utf8(asset.body).unwrap();
            for line in source.lines().filter(|l| l.contains(" from './")) {
                let name = line.split(" from './").nth(1).unwrap();
                let name = name.split('\'').next().unwrap();
                let path = format!("/assets/{name}");
                assert!(
                    ASSETS.iter().any(|a| a.path == path),
                    "{} imports {path}, which is not embedded",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn different_contents_have_different_etags() {
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        let mut tags: Vec<u64> = ASSETS.iter().map(|a| a.etag).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
    }
}
