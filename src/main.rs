use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: the hot path allocates and frees small strings
/// and map entries per file, where glibc malloc showed up at about 11% of a run
/// (docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = iamtrim::cli::Cli::parse();
    iamtrim::exit::exit_code(iamtrim::commands::run(cli))
}
