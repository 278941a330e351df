//! `iamtrim recommend` and `iamtrim diff`: trail → one least-privilege policy per workload,
//! printed, and written as policy files with `--out`.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::Context;

use crate::cli::recommend::{Format, RecommendArgs};
use crate::commands::progress;
use crate::exit::Outcome;
use crate::pipeline::{self, Computed};
use crate::policy::render::PolicyFormat;
use crate::report;
use crate::settings::Settings;

pub fn run(args: &RecommendArgs, quiet: bool, diff_only: bool) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let settings = Settings::resolve(args.options(diff_only), jiff::Timestamp::now())?;
    // Taken apart at once, and the settings dropped: the catalog (about 10 MB) and the source
    // are freed before rendering, which is when the run's memory peaks.
    let Computed {
        recommendation,
        input,
        lookups,
        diff_problems,
        ..
    } = pipeline::recommend(&settings, &*progress::for_stderr(quiet), false)?;
    let policy_format = settings.policy_format;
    drop(settings);
    let (recommendation, input) = (&recommendation, &input);

    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Text
    } else {
        Format::Json
    });
    let rendered = match format {
        Format::Json => report::to_json(recommendation),
        Format::Text if diff_only => report::text::render_diffs(recommendation),
        Format::Text => report::text::render(recommendation),
        Format::Terraform => report::files::all_policies(recommendation, PolicyFormat::Terraform),
        Format::CloudFormation => {
            report::files::all_policies(recommendation, PolicyFormat::CloudFormation)
        }
    };
    std::io::stdout()
        .lock()
        .write_all(rendered.as_bytes())
        .context("cannot write to stdout")?;
    if let Some(dir) = &args.out {
        report::files::write_policies(dir, recommendation, policy_format)
            .with_context(|| format!("cannot write policies to {}", dir.display()))?;
    }

    if !quiet {
        let mut stderr = std::io::stderr().lock();
        for warning in &lookups.summary.warnings {
            let _ = writeln!(stderr, "warning: {warning}");
        }
        for note in &input.source_notes {
            let _ = writeln!(stderr, "note: {note}");
        }
        super::print_skipped(&mut stderr, input, true);
        let duplicates = if input.counts.duplicates > 0 {
            format!(", {} duplicate events", input.counts.duplicates)
        } else {
            String::new()
        };
        let _ = writeln!(
            stderr,
            "iamtrim: {} files, {} records, {} workloads, {} skipped, {} ignored{duplicates} in {:.2}s",
            input.files,
            input.counts.records,
            recommendation.workloads.len(),
            input.skipped.len() as u64 + input.skipped_not_listed,
            input.ignored.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Outcome::of(
        input.incomplete() || diff_problems,
        pipeline::finding(recommendation),
    ))
}
