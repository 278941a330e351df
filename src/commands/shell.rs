//! `iamtrim completions SHELL` and `iamtrim man`: generated from the same clap definitions the
//! binary parses with, so they never disagree with `--help`.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::Outcome;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "iamtrim", &mut out);
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the completion script")?;
    Ok(Outcome::Clean)
}

pub fn man(subcommand: Option<&str>) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    command.build();
    let page = match subcommand {
        None => clap_mangen::Man::new(command),
        Some(name) => {
            let found = command.find_subcommand(name).cloned().with_context(|| {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
                format!("no subcommand {name} (one of: {})", names.join(", "))
            })?;
            // iamtrim-recommend(1), as git and cargo name theirs.
            clap_mangen::Man::new(found)
                .title(format!("iamtrim-{name}"))
                .source(concat!("iamtrim ", env!("CARGO_PKG_VERSION")))
        }
    };
    let mut out = Vec::new();
    page.render(&mut out)
        .context("cannot render the man page")?;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the man page")?;
    Ok(Outcome::Clean)
}
