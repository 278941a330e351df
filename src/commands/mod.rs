//! One function per subcommand, composing the pipeline stages.

pub mod catalog;
pub mod progress;
pub mod recommend;

use crate::cli::{Cli, Command};
use crate::exit::Outcome;

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Recommend(args) => recommend::run(&args, cli.quiet, false),
        Command::Diff(args) => recommend::run(&args, cli.quiet, true),
        Command::Catalog(args) => catalog::run(&args),
    }
}
