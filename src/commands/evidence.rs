//! `iamtrim evidence`: an evidence pack (docs/EVIDENCE.md), and `evidence verify`.

use anyhow::Context;

use crate::cli::evidence::{EvidenceAction, EvidenceArgs};
use crate::evidence::verify;
use crate::exit::Outcome;
use crate::pipeline::{self, evidence::Pack};
use crate::settings::Settings;

pub fn run(args: &EvidenceArgs, quiet: bool) -> anyhow::Result<Outcome> {
    if let Some(EvidenceAction::Verify { dir }) = &args.action {
        let problems = verify(dir)?;
        if problems.is_empty() {
            println!(
                "{}: intact (every hash and the manifest check out)",
                dir.display()
            );
            return Ok(Outcome::Clean);
        }
        for problem in &problems {
            println!("{}: {problem}", dir.display());
        }
        println!(
            "{}: NOT intact ({} problems)",
            dir.display(),
            problems.len()
        );
        return Ok(Outcome::Finding);
    }
    let out = args.out.as_ref().context("give --out DIR")?;
    // Read before the run, so a bad key file stops it early.
    let public_keys = args
        .digest_public_keys
        .as_deref()
        .map(crate::evidence::signature::PublicKeys::read)
        .transpose()?;
    let settings = Settings::resolve(args.options(), jiff::Timestamp::now())?;
    let computed = pipeline::recommend(
        &settings,
        &*crate::commands::progress::for_stderr(quiet),
        true,
    )?;
    let manifest = pipeline::evidence::write(
        out,
        &settings,
        Pack {
            recommendation: &computed.recommendation,
            input: &computed.input,
            source: computed.source.as_deref(),
            catalog: &computed.catalog,
            lookups: &computed.lookups,
            policy_file: computed.policy_file.as_ref(),
            public_keys,
        },
    )?;
    if args.archive {
        let archive = crate::evidence::archive(out)?;
        if !quiet {
            eprintln!("iamtrim evidence: archived as {}", archive.display());
        }
    }
    if !quiet {
        eprintln!(
            "iamtrim evidence: {} workloads, {} inputs, {} files in {}; log file integrity: {} (digest signatures: {})",
            manifest.workloads.len(),
            manifest.inputs.len(),
            manifest.files.len() + 2,
            out.display(),
            manifest.integrity.status,
            manifest.integrity.signatures
        );
        super::print_skipped(&mut std::io::stderr().lock(), &computed.input, false);
    }
    Ok(Outcome::of(
        computed.input.incomplete() || computed.diff_problems,
        computed.finding() || manifest.integrity.status == "failed",
    ))
}
