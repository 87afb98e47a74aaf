//! `audit verify`: walks the hash chain of the audit trail and reports the
//! first broken link (exit 5). `audit export --format csv|jsonl`: the whole
//! trail, oldest first, on stdout.

use std::collections::BTreeMap;
use std::io::Write as _;

use nexus_shared::catalog::{AuditFilter, AuditRecord};
use nexus_shared::views::AuditLogView;

use super::Env;
use crate::exit::{CliError, FAILURE};
use crate::json::local_time;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check that no audit record was edited, removed or reordered.
    Verify,
    /// Write the whole audit trail, oldest first, to stdout.
    Export {
        /// csv (with a header row) or jsonl (one JSON object a line).
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

pub async fn run(env: &Env, command: Command) -> Result<(), CliError> {
    match command {
        Command::Verify => verify(env),
        Command::Export { format } => export(env, format),
    }
}

fn verify(env: &Env) -> Result<(), CliError> {
    let report = env
        .catalog
        .verify_audit_chain()
        .map_err(anyhow::Error::from)?;
    match report.problem {
        None => {
            println!(
                "OK: {} audit records, the chain is intact{}",
                report.records,
                if report.unchained > 0 {
                    format!(
                        " ({} older records from before the chain)",
                        report.unchained
                    )
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Some((id, what)) => Err(CliError::new(
            FAILURE,
            format!("Error: the audit trail is broken at record {id}: {what}"),
        )),
    }
}

/// Every record, oldest first. The catalog lists newest first; pages are
/// keyed by id so records appended meanwhile never appear twice.
fn all_records(env: &Env) -> Result<Vec<AuditRecord>, CliError> {
    const PAGE: u32 = 1000;
    let mut records = BTreeMap::new();
    let mut offset = 0;
    loop {
        let filter = AuditFilter {
            limit: PAGE,
            offset,
            ..AuditFilter::default()
        };
        let (page, _) = env
            .catalog
            .list_audit_filtered(&filter)
            .map_err(anyhow::Error::from)?;
        let last = page.len() < PAGE as usize;
        records.extend(page.into_iter().map(|r| (r.id, r)));
        if last {
            return Ok(records.into_values().collect());
        }
        offset += PAGE;
    }
}

const COLUMNS: [&str; 9] = [
    "id",
    "occurred_at",
    "actor",
    "source",
    "remote_addr",
    "action",
    "target",
    "result",
    "detail",
];

fn export(env: &Env, format: Format) -> Result<(), CliError> {
    let tz = env.settings.tz();
    let records = all_records(env)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let write = |out: &mut dyn std::io::Write, line: String| {
        writeln!(out, "{line}").map_err(|e| CliError::from(anyhow::Error::from(e)))
    };
    if matches!(format, Format::Csv) {
        write(&mut out, COLUMNS.join(","))?;
    }
    for r in &records {
        let at = local_time(r.occurred_at, tz);
        let line = match format {
            Format::Jsonl => crate::json::value(&AuditLogView::new(r.clone(), tz)).to_string(),
            Format::Csv => {
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                [
                    r.id.to_string(),
                    at,
                    r.actor.clone(),
                    r.source.clone(),
                    opt(&r.remote_addr),
                    r.action.clone(),
                    opt(&r.target),
                    r.result.clone(),
                    opt(&r.detail),
                ]
                .iter()
                .map(|field| csv_field(field))
                .collect::<Vec<_>>()
                .join(",")
            }
        };
        write(&mut out, line)?;
    }
    out.flush()
        .map_err(|e| CliError::from(anyhow::Error::from(e)))
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its
/// quotes doubled.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn fields_with_commas_quotes_or_newlines_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
