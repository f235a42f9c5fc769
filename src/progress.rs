//! Progress bars for every long step, in one style, and [`Progress`], the verbosity every stage
//! takes: bars draw on stderr only when it is a terminal, and never under `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether long work reports itself: bars and info lines on stderr (`Shown`), or nothing
/// (`Hidden`: `--quiet`, and work done inside another measurement, such as a benchmark's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Shown,
    Hidden,
}

impl Progress {
    /// `Hidden` when `quiet`.
    pub(crate) fn unless(quiet: bool) -> Self {
        if quiet { Progress::Hidden } else { Progress::Shown }
    }

    pub(crate) fn is_shown(self) -> bool {
        self == Progress::Shown
    }

    /// A bar over `len` units of work, labelled `message` (drawn only when shown).
    pub(crate) fn bar(self, len: u64, message: &str) -> ProgressBar {
        let target = if self.is_shown() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        bar.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar
    }
}
