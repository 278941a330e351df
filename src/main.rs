use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = iamtrim::cli::Cli::parse();
    iamtrim::exit::exit_code(iamtrim::commands::run(cli))
}
