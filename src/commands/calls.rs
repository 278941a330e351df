//! `iamtrim calls`: the call table, iamtrim's attribution at the granularity SQL engines can
//! compute from the standard CloudTrail table (`store::calls_table`; docs/SCALE.md).

use std::io::Write;

use anyhow::Context;
use polars::prelude::{CsvWriter, SerWriter};

use crate::cli::run::CallsArgs;
use crate::commands::progress;
use crate::exit::Outcome;
use crate::pipeline;
use crate::settings::Settings;

pub fn run(args: &CallsArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let mut settings = Settings::resolve(args.options(), jiff::Timestamp::now())?;
    settings.ingest.calls_table = true;
    let spec = settings
        .source()
        .context("the call table is computed from log files")?;
    let source = spec
        .build(settings.window(), false)
        .context("cannot open the trail")?;
    let mut config = settings.ingest.clone();
    let mut lookups = pipeline::lookups(&settings.context, config.clusters.clone())?;
    config.clusters = lookups.clusters.clone();
    let (finished, input) = pipeline::ingest_workloads(
        &*source,
        &config,
        &mut lookups,
        &*progress::for_stderr(quiet),
    )?;
    let mut df = crate::store::calls_table::frame(&finished)?;
    match &args.out {
        Some(path) if path.extension().is_some_and(|e| e == "parquet") => {
            crate::store::tables::write_parquet(path, &mut df)?;
        }
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            CsvWriter::new(&mut file)
                .finish(&mut df)
                .map_err(anyhow::Error::new)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            CsvWriter::new(&mut stdout)
                .finish(&mut df)
                .map_err(anyhow::Error::new)
                .context("cannot write to stdout")?;
            stdout.flush().context("cannot write to stdout")?;
        }
    }
    if !quiet {
        eprintln!(
            "iamtrim calls: {} files, {} records, {} rows, {} skipped",
            input.files,
            input.counts.records,
            df.height(),
            input.skipped.len() as u64 + input.skipped_not_listed
        );
        super::print_skipped(&mut std::io::stderr().lock(), &input, false);
    }
    Ok(Outcome::of(input.incomplete(), false))
}
