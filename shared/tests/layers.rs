//! The layers of docs/architecture.md, kept by a test: the crates of the
//! workspace depend only downwards (the compiler then keeps the engine
//! free of the catalog, the queue and HTTP), and inside `nexus-shared`
//! each module uses only modules of a lower layer, so there is no cycle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each workspace crate and the workspace crates it may depend on.
#[rustfmt::skip]
const CRATES: &[(&str, &[&str])] = &[
    ("shared/domain", &[]),
    ("shared/engine", &["nexus-domain"]),
    ("shared",        &["nexus-domain", "nexus-engine"]),
    ("api",           &["nexus-shared"]),
    ("worker",        &["nexus-shared"]),
    ("cli",           &["nexus-shared"]),
];

/// The modules of `nexus-shared` by layer: a module may use the modules of
/// lower layers only. Layer 0 is what comes from below the crate (the
/// domain and engine crates, the crate root's helpers).
#[rustfmt::skip]
const MODULES: &[(u8, &[&str])] = &[
    (0, &["domain", "engine", "fsutil", "os_user"]),
    (1, &["blocking", "crypto", "demo", "password", "retention", "schedule", "signals"]),
    (2, &["settings"]),
    (3, &["alert", "catalog"]),
    (4, &["offsite", "queue", "views"]),
    (5, &["service", "stores"]),
    (6, &["runner", "telemetry"]),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace folder")
        .to_path_buf()
}

fn layer_of(module: &str) -> u8 {
    MODULES
        .iter()
        .find(|(_, names)| names.contains(&module))
        .map(|(layer, _)| *layer)
        .unwrap_or_else(|| {
            panic!("module `{module}` has no layer in MODULES (and docs/architecture.md)")
        })
}

#[test]
fn each_workspace_crate_depends_only_on_the_crates_below_it() {
    for (dir, allowed) in CRATES {
        let manifest = workspace().join(dir).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).expect("a manifest");
        let manifest: toml::Table = text.parse().expect("a TOML manifest");
        let deps = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        for name in deps.keys().filter(|n| n.starts_with("nexus-")) {
            assert!(
                allowed.contains(&name.as_str()),
                "{dir} depends on {name}, which is not below it (allowed: {allowed:?})"
            );
        }
    }
}

#[test]
fn each_module_of_the_shared_crate_uses_only_lower_layers() {
    let src = workspace().join("shared/src");
    let mut uses: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
    for (module, file) in sources(&src) {
        for used in crate_paths(&production_code(&file)) {
            if used != module {
                uses.entry(module.clone())
                    .or_default()
                    .push((used, file.clone()));
            }
        }
    }
    assert!(
        uses.contains_key("runner"),
        "the scan found nothing: {uses:?}"
    );
    let mut wrong = Vec::new();
    for (module, used) in &uses {
        for (other, file) in used {
            if layer_of(other) >= layer_of(module) {
                wrong.push(format!(
                    "{module} (layer {}) uses {other} (layer {}) in {}",
                    layer_of(module),
                    layer_of(other),
                    file.display()
                ));
            }
        }
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "uses against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_architecture_document_names_every_module_of_the_table() {
    let doc = std::fs::read_to_string(workspace().join("docs/architecture.md")).expect("the doc");
    for (_, names) in MODULES {
        for name in names.iter().filter(|n| **n != "os_user") {
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/architecture.md does not name `{name}`"
            );
        }
    }
}

/// The only file of the workspace that may hold `unsafe` code: the FFI
/// calls of SQLite's snapshot API, which rusqlite does not wrap.
const UNSAFE_ALLOWED_IN: &str = "shared/engine/src/pinned.rs";

#[test]
fn unsafe_code_is_allowed_in_the_snapshot_ffi_module_alone() {
    let root = workspace();
    let mut allowing = Vec::new();
    for folder in [
        "shared/domain",
        "shared/engine",
        "shared",
        "api",
        "worker",
        "cli",
        "tests",
    ] {
        let mut stack = vec![root.join(folder)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("a folder").flatten() {
                let path = entry.path();
                let name = entry.file_name();
                if path.is_dir() && name != "target" && name != "node_modules" {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("a source file");
                    if text.contains(concat!("#![allow(", "unsafe_code)]")) {
                        let relative = path.strip_prefix(&root).expect("in the workspace");
                        allowing.push(relative.to_string_lossy().into_owned());
                    }
                }
            }
        }
    }
    allowing.sort();
    allowing.dedup();
    assert_eq!(allowing, [UNSAFE_ALLOWED_IN]);
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains("unsafe_code = \"deny\""),
        "the workspace denies unsafe code"
    );
}

/// Every `.rs` file under `src` with the top-level module it belongs to.
fn sources(src: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).expect("under src");
                let top = relative.components().next().expect("a component");
                let top = top
                    .as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned();
                if top != "lib" && path.file_name().is_some_and(|n| n != "tests.rs") {
                    found.push((top, path));
                }
            }
        }
    }
    assert!(found.len() > 20, "too few sources under {}", src.display());
    found
}

/// The file without its `#[cfg(test)]` module (tests may use anything).
fn production_code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("a source file");
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The modules named by `crate::<module>` and `crate::{<module>, …}` paths.
fn crate_paths(code: &str) -> Vec<String> {
    let name = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, m) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + m.len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                names.extend(group.split(',').map(name));
            }
            None => names.push(name(rest)),
        }
    }
    names.retain(|n| !n.is_empty());
    names
}
