//! `iamtrim run --config iamtrim.toml`: the scheduled batch job (`pipeline::run`), with its
//! progress and summary on stderr as text or JSON lines.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use jiff::Timestamp;

use crate::cli::run::{LogFormat, RunArgs};
use crate::config::Config;
use crate::exit::Outcome;
use crate::settings::run::RunSettings;
use crate::store::ingest::Log;

pub fn run(args: &RunArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let config = Config::load(&args.config)?;
    let (options, run_options) = config.options();
    let settings = RunSettings::resolve(options, run_options, Timestamp::now())
        .with_context(|| format!("{} is not valid", args.config.display()))?;
    if args.check_config {
        println!(
            "{}: valid (store {}, {} trail(s), window {} days, output {})",
            args.config.display(),
            settings.store.display(),
            config.source.trails.len(),
            settings.window_days,
            settings.output.dir.display()
        );
        return Ok(Outcome::Clean);
    }
    let log = StderrLog {
        json: args.log_format == LogFormat::Json,
        quiet,
    };
    let started = Instant::now();
    let report =
        crate::pipeline::run::run(&settings, args.reingest, args.partials.as_deref(), &log)?;

    for warning in &report.lookups.summary.warnings {
        log.warn(&format!("warning: {warning}"));
    }
    if report.empty_window() {
        log.warn(&format!(
            "warning: the window holds no usage: {}",
            match &report.range {
                None if report.store_days == 0 => "the store holds no day of the trail (is \
                         `source.since` after every day of it? days before it are not listed)"
                    .to_owned(),
                None => format!(
                    "the store's {} days all lie before `source.since`, where the window starts",
                    report.store_days
                ),
                Some((first, last)) => format!("no records in {first}..{last}"),
            }
        ));
    }
    match report.reingested {
        Some(true) => log.warn(&format!(
            "reingested: {} replaces the store it was rebuilt from",
            settings.store.display()
        )),
        Some(false) => log.warn(&format!(
            "warning: not reingested: the rebuild could not read every object or listing, \
             or its window holds no usage; {} is unchanged and the rebuild is left in {}",
            settings.store.display(),
            crate::store::reingest_path(&settings.store).display()
        )),
        None => {}
    }
    let drift = crate::pipeline::drift(&report.recommendation);
    let outcome = Outcome::of(report.incomplete(), report.finding());
    let ran = &report.ran;
    let input = &report.input;
    let (first, last) = report.range.clone().unwrap_or_default();
    log.event(
        "summary",
        serde_json::json!({
            "new_objects": ran.new_objects,
            "new_records": ran.new_records,
            "days_committed": ran.days_committed,
            "already_ingested": ran.already_ingested,
            "unread": ran.unread.len(),
            "changed_since_ingest": ran.changed.len(),
            "listing_failures": ran.listing_failures.len(),
            "store_days": report.store_days,
            "store_objects": report.store_objects,
            "records_outside_window": report.records_outside_window,
            "days_outside_window": report.days_outside_window,
            "rebuilt_for_late_day": report.late_day,
            "window_first_day": first,
            "window_last_day": last,
            "workloads": report.recommendation.workloads.len(),
            "uploaded": report.uploaded,
            "input_skipped": input.skipped.len() as u64 + input.skipped_not_listed,
            "drift": drift,
            "exit_status": outcome.code(),
            "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        }),
        &|| {
            format!(
                "iamtrim run: {} new objects ({} records) in {} days, {} already in the store, {} unread; store holds {} days, {} objects ({} records in {} days outside the window); {} workloads over {first}..{last}; {} skipped input problems in the window; wrote {} in {:.2}s",
                ran.new_objects,
                ran.new_records,
                ran.days_committed,
                ran.already_ingested,
                ran.unread.len(),
                report.store_days,
                report.store_objects,
                report.records_outside_window,
                report.days_outside_window,
                report.recommendation.workloads.len(),
                input.skipped.len() as u64 + input.skipped_not_listed,
                settings.output.dir.display(),
                started.elapsed().as_secs_f64()
            )
        },
    );
    Ok(outcome)
}

/// Progress and the summary on stderr: lines for a person, or JSON objects for a log pipeline.
struct StderrLog {
    json: bool,
    quiet: bool,
}

impl Log for StderrLog {
    fn event(&self, event: &str, fields: serde_json::Value, text: &dyn Fn() -> String) {
        let mut stderr = std::io::stderr().lock();
        if self.json {
            let mut object = serde_json::Map::new();
            object.insert("time".into(), Timestamp::now().to_string().into());
            object.insert("level".into(), "info".into());
            object.insert("event".into(), event.into());
            if let serde_json::Value::Object(fields) = fields {
                object.extend(fields);
            }
            let _ = writeln!(stderr, "{}", serde_json::Value::Object(object));
        } else if !self.quiet {
            let _ = writeln!(stderr, "{}", text());
        }
    }

    fn warn(&self, message: &str) {
        let mut stderr = std::io::stderr().lock();
        if self.json {
            let line = serde_json::json!({
                "time": Timestamp::now().to_string(),
                "level": "warn",
                "event": "warning",
                "message": message,
            });
            let _ = writeln!(stderr, "{line}");
        } else if !self.quiet {
            let _ = writeln!(stderr, "{message}");
        }
    }
}
