//! One function per subcommand, composing the pipeline stages.

pub mod calls;
pub mod catalog;
pub mod progress;
pub mod query;
pub mod recommend;
pub mod run;

use crate::cli::{Cli, Command};
use crate::exit::Outcome;

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Recommend(args) => recommend::run(&args, cli.quiet, false),
        Command::Diff(args) => recommend::run(&args, cli.quiet, true),
        Command::Run(args) => run::run(&args, cli.quiet),
        Command::Query(args) => query::run(&args),
        Command::Calls(args) => calls::run(&args, cli.quiet),
        Command::Catalog(args) => catalog::run(&args),
    }
}
