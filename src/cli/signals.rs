//! What an interrupted run does: Ctrl-C (SIGINT), SIGTERM and SIGHUP remove the partial run
//! folders and files this process is writing, then exit with the shell's code for the signal:
//! 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.
//!
//! `ctrlc` catches all three but runs one handler for them. On Unix a SIGTERM or SIGHUP handler of
//! our own records which signal came and raises SIGINT (both are async-signal-safe), so `ctrlc`'s
//! handler runs the clean-up and knows the exit code.

use std::sync::atomic::{AtomicI32, Ordering};

/// The exit code of the signal that interrupted the run: 128 + its number.
static EXIT_CODE: AtomicI32 = AtomicI32::new(128 + 2);

/// Installs the clean-up handlers; a warning when they cannot be installed.
pub(crate) fn install() {
    let interrupted = ctrlc::set_handler(|| {
        crate::run::writer::remove_pending();
        eprintln!("interrupted: removed the partial outputs");
        std::process::exit(EXIT_CODE.load(Ordering::SeqCst));
    });
    if let Err(e) = interrupted {
        log::warn!("cannot catch Ctrl-C ({e}); an interrupted run may leave a partial folder");
        return;
    }
    #[cfg(unix)]
    unix::tell_signals_apart();
}

#[cfg(unix)]
mod unix {
    use std::os::raw::c_int;
    use std::sync::atomic::Ordering;

    use super::EXIT_CODE;

    // The same numbers on Linux and the BSDs / macOS.
    const SIGHUP: c_int = 1;
    const SIGINT: c_int = 2;
    const SIGTERM: c_int = 15;
    /// `SIG_ERR`, `(sighandler_t) -1`.
    const SIG_ERR: usize = usize::MAX;

    unsafe extern "C" {
        /// C's `signal`, the handler as a pointer-sized address.
        fn signal(signum: c_int, handler: usize) -> usize;
        fn raise(signum: c_int) -> c_int;
    }

    /// Records which signal came, then hands over to `ctrlc`'s SIGINT handler.
    extern "C" fn record_and_interrupt(signum: c_int) {
        EXIT_CODE.store(128 + signum, Ordering::SeqCst);
        // SAFETY: raise is async-signal-safe (POSIX), and SIGINT's handler is ctrlc's.
        unsafe { raise(SIGINT) };
    }

    /// Replaces `ctrlc`'s SIGTERM and SIGHUP handlers with [`record_and_interrupt`].
    pub(super) fn tell_signals_apart() {
        for signum in [SIGTERM, SIGHUP] {
            let handler = record_and_interrupt as extern "C" fn(c_int) as usize;
            // SAFETY: the handler only stores an atomic and calls raise, both async-signal-safe.
            if unsafe { signal(signum, handler) } == SIG_ERR {
                log::warn!("cannot tell signal {signum} from Ctrl-C; an interrupted run will exit 130");
            }
        }
    }
}
