//! `iamtrim list` and `iamtrim extract`: the map side of a run past one machine
//! (`crate::partials`, docs/SCALE.md).

use std::io::Write;

use anyhow::Context;

use crate::cli::recommend::RecommendArgs;
use crate::commands::progress;
use crate::exit::Outcome;
use crate::ingest::ingest;
use crate::partials::wire::SessionNamer;
use crate::partials::{self, JoinedWriter, ListedSource, StreamWriter};
use crate::settings::{Input, Settings};

/// The output: `--out FILE`, else stdout.
fn output(args: &RecommendArgs) -> anyhow::Result<Box<dyn Write>> {
    Ok(match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(crate::errors::FileError::at("create", path))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

pub fn list(args: &RecommendArgs) -> anyhow::Result<Outcome> {
    let settings = Settings::resolve(args.options(false), jiff::Timestamp::now())?;
    let spec = settings
        .source()
        .context("`iamtrim list` lists a trail (--trail)")?;
    if matches!(spec, crate::source::SourceSpec::LookupEvents { .. }) {
        anyhow::bail!(
            "cloudtrail:lookup has no log objects to list: read it with `iamtrim recommend`"
        );
    }
    let source = spec
        .build(settings.window(), false)
        .context("cannot open the trail")?;
    let mut out = output(args)?;
    partials::write_listing(&*source, &mut out).context("cannot write the listing")?;
    Ok(Outcome::Clean)
}

pub fn extract(args: &RecommendArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let settings = Settings::resolve(args.options(false), jiff::Timestamp::now())?;
    let Input::Partials(path) = &settings.input else {
        anyhow::bail!("`iamtrim extract` reads a listing: --partials FILE (or - for stdin)");
    };
    let (input, name) = partials::open(path)?;
    let source = ListedSource::new(
        input,
        &name,
        &settings.aws,
        settings.s3_path_style,
        settings.window(),
    );
    // Unset: session names are unkeyed SHA-256 (as the usage store's join keys). Any bytes are
    // a secret, so none is refused.
    let secret = std::env::var_os(partials::KEY_VARIABLE);
    let namer = SessionNamer::new(secret.as_ref().map(|s| s.as_encoded_bytes()));
    let writer = StreamWriter::new(output(args)?, namer);
    let context = crate::pipeline::partition_context(&settings)?;
    // Each batch carries its object's hashes, for a usage store seeded from the stream
    // (`iamtrim run --partials`); `recommend --partials` leaves them out.
    let mut config = settings.ingest.clone();
    config.hash_objects = true;
    config.clusters = context.clusters.clone();
    let progress = progress::for_stderr(quiet);
    let stats = if args.join_partition {
        let mut joined = JoinedWriter::new(writer, context);
        let stats = ingest(&source, &config, &mut joined, &*progress);
        joined.finish().context("cannot write the partials")?;
        stats
    } else {
        let mut writer = writer;
        let stats = ingest(&source, &config, &mut writer, &*progress);
        writer.finish().context("cannot write the partials")?;
        stats
    }
    .context("cannot read the listing")?;
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "iamtrim extract: {} files, {} records, {} skipped (reported in the output)",
            stats.files,
            stats.counts.records,
            stats.skipped.len() as u64 + stats.skipped_not_listed,
        );
    }
    // Problems with objects travel in the stream, to be reported by `recommend --partials`;
    // the extract itself is complete when it wrote every line.
    Ok(Outcome::Clean)
}
