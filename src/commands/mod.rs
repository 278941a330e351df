//! One function per subcommand: resolve the settings, call the pipeline (`crate::pipeline`),
//! print and write. No pipeline logic lives here.

pub mod catalog;
pub mod evidence;
pub mod partials;
pub mod progress;
#[cfg(feature = "store")]
pub mod query;
pub mod recommend;
#[cfg(feature = "store")]
pub mod run;
pub mod shell;

use crate::cli::{Cli, Command};
use crate::exit::Outcome;

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Recommend(args) => recommend::run(&args, cli.quiet, false),
        Command::Diff(args) => recommend::run(&args, cli.quiet, true),
        #[cfg(feature = "store")]
        Command::Run(args) => run::run(&args, cli.quiet),
        #[cfg(feature = "store")]
        Command::Query(args) => query::run(&args),
        Command::List(args) => partials::list(&args),
        Command::Extract(args) => partials::extract(&args, cli.quiet),
        Command::Evidence(args) => evidence::run(&args, cli.quiet),
        Command::Catalog(args) => catalog::run(&args),
        Command::Completions { shell } => shell::completions(shell),
        Command::Man { subcommand } => shell::man(subcommand.as_deref()),
    }
}

/// The first 20 input problems as warnings; with `more`, a line counting the rest.
fn print_skipped(out: &mut dyn std::io::Write, input: &crate::stats::InputStats, more: bool) {
    for skipped in input.skipped.iter().take(20) {
        let _ = writeln!(out, "warning: {}: {}", skipped.location, skipped.reason);
    }
    let rest = (input.skipped.len().saturating_sub(20)) as u64 + input.skipped_not_listed;
    if more && rest > 0 {
        let _ = writeln!(
            out,
            "warning: ... and {rest} more problems (see input.skipped in the JSON output)"
        );
    }
}
