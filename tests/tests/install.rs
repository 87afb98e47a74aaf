//! `make install` (SPEC §11, service units): run into a temporary DESTDIR
//! with the debug binaries `cargo build` made (`BINDIR_SRC`, so no release
//! build), it lays out the binaries, the units, the script and a commented
//! configuration; the units hold the hardening the service needs, name the
//! installed binaries and pass `systemd-analyze verify`; a second install
//! keeps a configuration the operator edited.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `make install DESTDIR=<dest> PREFIX=/usr BINDIR_SRC=<cargo's binaries>`.
fn make_install(dest: &Path) -> String {
    let bins = nexus_e2e::binary("nexus-api")
        .parent()
        .unwrap()
        .to_path_buf();
    let out = Command::new("make")
        .arg("-C")
        .arg(workspace())
        .arg("install")
        .arg(format!("DESTDIR={}", dest.display()))
        .arg("PREFIX=/usr")
        .arg(format!("BINDIR_SRC={}", bins.display()))
        .output()
        .expect("run make (Debian package `make`)");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "make install failed: {said}");
    said
}

fn installed() -> (TempDir, String) {
    let dest = tempfile::tempdir().unwrap();
    let said = make_install(dest.path());
    (dest, said)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A unit file as section → key → values (a key may repeat).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_owned());
            unit.entry(name.to_owned()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a key=value line: {line:?}"));
        let section = section.as_ref().expect("a key before any section");
        unit.get_mut(section)
            .unwrap()
            .entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    unit
}

fn one<'a>(unit: &'a Unit, section: &str, key: &str) -> &'a str {
    match unit[section].get(key).map(Vec::as_slice) {
        Some([value]) => value,
        other => panic!("[{section}] {key}: {other:?}"),
    }
}

#[test]
fn make_install_lays_out_the_binaries_units_script_and_config() {
    let (dest, _) = installed();
    let d = dest.path();

    for bin in ["nexus-api", "nexus-worker", "nexus-backup"] {
        assert_eq!(mode(&d.join("usr/bin").join(bin)), 0o755, "{bin}");
    }
    for unit in ["nexus-api", "nexus-worker"] {
        assert_eq!(
            mode(&d.join(format!("usr/lib/systemd/system/{unit}.service"))),
            0o644
        );
    }
    let script = d.join("usr/share/nexus-backup/backup.sh");
    assert_eq!(mode(&script), 0o755);
    let help = Command::new(&script)
        .arg("--help")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(
        help.status.success() && String::from_utf8_lossy(&help.stdout).contains("--type"),
        "the installed backup.sh runs the installed nexus-backup backup: {help:?}"
    );
    assert!(d.join("usr/lib/sysusers.d/nexus-backup.conf").is_file());
    assert!(d.join("usr/lib/tmpfiles.d/nexus-backup.conf").is_file());
    assert!(
        d.join("usr/share/nexus-backup/prometheus/nexus-backup.rules.yml")
            .is_file()
    );
    assert!(
        d.join("usr/share/nexus-backup/grafana/nexus-backup.json")
            .is_file()
    );
    assert_eq!(mode(&d.join("etc/nexus-backup/nexus-backup.env")), 0o600);

    // The configuration is the printed default with the service's paths,
    // and the service loads it.
    let config = d.join("etc/nexus-backup/nexus-backup.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("# metrics_token"), "commented settings kept");
    let env = [("NEXUS_CONFIG".to_owned(), config.display().to_string())].into();
    let settings = nexus_shared::settings::Settings::load_from(&env, d).unwrap();
    assert_eq!(settings.data_dir, Path::new("/var/lib/nexus-backup"));
    assert_eq!(settings.backup_root, Path::new("/backups"));
    assert_eq!(
        settings.db_path,
        Path::new("/var/lib/itsm-nexus/itsm_nexus.db")
    );
}

#[test]
fn the_units_run_the_installed_binaries_as_their_own_hardened_user() {
    let (dest, _) = installed();
    let d = dest.path();
    for (name, binary) in [
        ("nexus-api", "/usr/bin/nexus-api"),
        ("nexus-worker", "/usr/bin/nexus-worker"),
    ] {
        let text =
            std::fs::read_to_string(d.join(format!("usr/lib/systemd/system/{name}.service")))
                .unwrap();
        assert!(!text.contains('@'), "every @…@ is filled in: {text}");
        let unit = parse_unit(&text);
        assert_eq!(
            unit.keys().collect::<Vec<_>>(),
            ["Install", "Service", "Unit"],
            "{name}"
        );
        assert_eq!(one(&unit, "Service", "ExecStart"), binary);
        assert!(
            d.join(binary.trim_start_matches('/')).is_file(),
            "{binary} is installed"
        );
        for (key, value) in [
            ("User", "nexus-backup"),
            ("UMask", "0077"),
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("PrivateTmp", "yes"),
            ("Restart", "on-failure"),
            ("EnvironmentFile", "-/etc/nexus-backup/nexus-backup.env"),
            (
                "Environment",
                "NEXUS_CONFIG=/etc/nexus-backup/nexus-backup.toml",
            ),
        ] {
            assert_eq!(one(&unit, "Service", key), value, "{name}: {key}");
        }
        let writable = one(&unit, "Service", "ReadWritePaths");
        assert!(writable.contains("/var/lib/nexus-backup") && writable.contains("/backups"));
        assert_eq!(one(&unit, "Install", "WantedBy"), "multi-user.target");
    }
    let worker = parse_unit(
        &std::fs::read_to_string(d.join("usr/lib/systemd/system/nexus-worker.service")).unwrap(),
    );
    assert!(
        one(&worker, "Service", "ReadWritePaths").contains("/var/lib/itsm-nexus"),
        "a restore writes the database's folder"
    );
    // A running backup of a large database takes minutes; it must not be
    // killed on stop.
    assert_eq!(one(&worker, "Service", "TimeoutStopSec"), "1h");
}

#[test]
fn systemd_analyze_verify_accepts_the_installed_units() {
    let (dest, _) = installed();
    let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("systemd-analyze is missing: install Debian's `systemd` package; .ci/run does");
    // verify checks that ExecStart is executable; the binaries are under
    // DESTDIR, so the copies it reads point there.
    let copies = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for name in ["nexus-api.service", "nexus-worker.service"] {
        let text =
            std::fs::read_to_string(dest.path().join("usr/lib/systemd/system").join(name)).unwrap();
        let copy = copies.path().join(name);
        let text = text.replace(
            "ExecStart=/",
            &format!("ExecStart={}/", dest.path().display()),
        );
        std::fs::write(&copy, text).unwrap();
        units.push(copy);
    }
    let out = Command::new(analyze)
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.trim().is_empty(), "no warning either: {said}");
}

#[test]
fn a_second_install_keeps_the_configuration_the_operator_edited() {
    let (dest, _) = installed();
    let config = dest.path().join("etc/nexus-backup/nexus-backup.toml");
    let secrets = dest.path().join("etc/nexus-backup/nexus-backup.env");
    let edited = std::fs::read_to_string(&config).unwrap() + "\n# edited by the operator\n";
    std::fs::write(&config, &edited).unwrap();
    std::fs::write(&secrets, "NEXUS_METRICS_TOKEN=kept-secret-0123456789\n").unwrap();

    let said = make_install(dest.path());

    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    assert_eq!(
        std::fs::read_to_string(&secrets).unwrap(),
        "NEXUS_METRICS_TOKEN=kept-secret-0123456789\n"
    );
    assert!(said.contains("kept"), "{said}");
}
