//! The one place that turns a run's outcome into an exit status and prints errors.
//!
//! 0: clean. 1: a finding (e.g. drift). 2: an error, or a result built from incomplete input.
//! Errors print as `error: …` followed by `Caused by:` lines; never a panic or a backtrace.

use std::io::Write;
use std::process::ExitCode;

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Finding,
    Incomplete,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Self::Clean => 0,
            Self::Finding => 1,
            Self::Incomplete => 2,
        }
    }
}

impl Outcome {
    /// The one ladder: incomplete input (or an error-like result) wins over a finding.
    pub fn of(incomplete: bool, finding: bool) -> Outcome {
        if incomplete {
            Self::Incomplete
        } else if finding {
            Self::Finding
        } else {
            Self::Clean
        }
    }
}

pub fn exit_code(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {err}");
            for cause in err.chain().skip(1) {
                let _ = writeln!(stderr, "  Caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

/// A closed stdout (`iamtrim … | head`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
