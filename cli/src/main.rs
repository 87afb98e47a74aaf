#![forbid(unsafe_code)]
//! `nexus-backup`: the operators' command line (guide §4.2, appendix A/B).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod commands;
mod exit;
mod json;
mod log;
mod progress;

use clap::Parser;

use crate::commands::Cli;
use crate::exit::CliError;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            // clap's usage exit code (2) would read as "database missing".
            std::process::exit(if usage { exit::USAGE } else { 0 });
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("cannot start the async runtime");
    if let Err(e) = runtime.block_on(commands::run(cli)) {
        let CliError { code, message } = e;
        eprintln!("{message}");
        std::process::exit(code);
    }
}
