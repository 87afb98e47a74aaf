//! The monitoring files in `deploy/`: `promtool` accepts the alert rules and
//! their unit tests pass (each alert fires on the series it should and
//! stays quiet on healthy ones); the Grafana dashboard is one Grafana can
//! import. (That they name only served metrics: tests/metrics.rs.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nexus_e2e::prom::promtool;
use serde_json::Value;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

fn run_promtool(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(promtool())
        .args(args)
        .current_dir(deploy("prometheus"))
        .output()
        .expect("run promtool");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let (ok, said) = run_promtool(&["check", "rules", "nexus-backup.rules.yml"]);
    assert!(ok, "{said}");
    assert!(said.contains("SUCCESS: 5 rules found"), "{said}");
}

#[test]
fn each_alert_fires_on_the_series_it_should_in_promtools_unit_tests() {
    let (ok, said) = run_promtool(&["test", "rules", "nexus-backup.rules.test.yml"]);
    assert!(ok, "{said}");
    let tests = std::fs::read_to_string(deploy("prometheus/nexus-backup.rules.test.yml")).unwrap();
    let rules = std::fs::read_to_string(deploy("prometheus/nexus-backup.rules.yml")).unwrap();
    for alert in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        assert!(
            tests.contains(&format!(
                "alertname: {alert}\n        exp_alerts:\n          - exp_labels"
            )),
            "no unit test shows {alert} firing"
        );
    }
}

#[test]
fn the_grafana_dashboard_is_an_importable_dashboard() {
    let text = std::fs::read_to_string(deploy("grafana/nexus-backup.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).expect("valid JSON");

    assert_eq!(dashboard["uid"], "nexus-backup");
    assert!(dashboard["title"].is_string());
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "prometheus");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10);
    let mut ids = BTreeSet::new();
    for panel in panels {
        assert!(ids.insert(panel["id"].as_i64().unwrap()), "unique ids");
        assert!(panel["title"].is_string() && panel["type"].is_string());
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "{panel}");
        }
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{panel}");
        for target in targets {
            assert!(
                target["expr"]
                    .as_str()
                    .is_some_and(|e| e.contains("nexus_"))
            );
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}");
        }
    }
}
