//! One function per subcommand, composing the pipeline stages.

#[cfg(feature = "store")]
pub mod calls;
pub mod catalog;
pub mod evidence;
pub mod progress;
#[cfg(feature = "store")]
pub mod query;
pub mod recommend;
#[cfg(feature = "store")]
pub mod run;

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
        #[cfg(feature = "store")]
        Command::Calls(args) => calls::run(&args, cli.quiet),
        Command::Evidence(args) => evidence::run(&args, cli.quiet),
        Command::Catalog(args) => catalog::run(&args),
    }
}
