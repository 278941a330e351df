//! The progress bar on a terminal: objects read of those listed so far, compressed bytes, rate
//! and ETA. Nothing when stderr is not a terminal or with `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::{Reporter, Silent};

struct Bar {
    bar: ProgressBar,
    bytes: AtomicU64,
}

impl Reporter for Bar {
    fn listed(&self) {
        self.bar.inc_length(1);
    }

    fn read(&self, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.bar.inc(1);
        self.bar
            .set_message(indicatif::HumanBytes(total).to_string());
    }

    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}

/// A bar on stderr when it is a terminal and not `quiet`, else silence.
pub fn for_stderr(quiet: bool) -> Box<dyn Reporter> {
    if quiet || !std::io::stderr().is_terminal() {
        return Box::new(Silent);
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} {pos}/{len} objects  {msg} read  {per_sec}  ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Box::new(Bar {
        bar,
        bytes: AtomicU64::new(0),
    })
}
