//! `iamtrim query FILE.sql`: one SQL statement over the usage store, through polars' SQL engine.
//! The tables are the store's committed files (`usage`, `workloads`, `objects`), scanned lazily.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use polars::prelude::*;

use crate::cli::run::{QueryArgs, QueryFormat};
use crate::config::Config;
use crate::exit::Outcome;
use crate::store::{self, Store};

pub fn run(args: &QueryArgs) -> anyhow::Result<Outcome> {
    let root = match (&args.store, &args.config) {
        (Some(store), _) => store.clone(),
        (None, Some(config)) => Config::load(config)?.store.path,
        (None, None) => anyhow::bail!("give --store DIR or --config FILE"),
    };
    let sql = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut df =
        query(&root, &sql).with_context(|| format!("query {} failed", args.file.display()))?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        QueryFormat::Csv => CsvWriter::new(&mut stdout)
            .finish(&mut df)
            .map_err(anyhow::Error::new)
            .context("cannot write the result")?,
        QueryFormat::Table => {
            writeln!(stdout, "{df}").context("cannot write the result")?;
        }
    }
    Ok(Outcome::Clean)
}

/// Runs `sql` against the store at `root`.
pub fn query(root: &Path, sql: &str) -> anyhow::Result<DataFrame> {
    let manifest = Store::read_only(root)?;
    let days: Vec<&String> = manifest.days.keys().collect();
    let mut context = store::sql_context(root, &manifest, &days)?;
    Ok(context.execute(sql)?.collect()?)
}
