//! The binary's stderr logger. The library reports through the `log` crate, so a program that
//! embeds it can silence or redirect those messages; the command line prints hebb's own records
//! (warnings prefixed `warning:`) and leaves the dependencies' records out. Debug records (the
//! training's per-step statistics) appear with `--verbose`.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.target().starts_with(env!("CARGO_CRATE_NAME")) && metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        match record.level() {
            Level::Error => eprintln!("error: {}", record.args()),
            Level::Warn => eprintln!("warning: {}", record.args()),
            _ => eprintln!("{}", record.args()),
        }
    }

    fn flush(&self) {}
}

/// Sends hebb's log records to stderr (once per process; later calls do nothing): debug records
/// too when `verbose`, only errors when `quiet`.
pub(crate) fn install(verbose: bool, quiet: bool) {
    static LOGGER: StderrLogger = StderrLogger;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(match (verbose, quiet) {
            (_, true) => LevelFilter::Error,
            (true, false) => LevelFilter::Debug,
            (false, false) => LevelFilter::Info,
        });
    }
}
