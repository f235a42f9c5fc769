//! How a failure reaches the user: one line on stderr, exit 1. An error's chain is printed on one
//! line (a dependency's multi-line text, such as wgpu's validation reports, folded into it); a
//! panic is reported the same way and the run's partial outputs are removed. hebb itself should
//! never panic, but its GPU dependencies do when device memory runs out (wgpu's "Not enough memory
//! left", cubecl's "No pool handles allocation"): a failure that says so gets a line naming what to
//! lower. `RUST_BACKTRACE=1` keeps Rust's full panic report.

use std::panic::PanicHookInfo;

/// The longest panic message a report line carries.
const MAX_MESSAGE: usize = 300;

/// Installs the one-line panic report, unless `RUST_BACKTRACE` asks for Rust's own.
pub(crate) fn install() {
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|value| value != "0") {
        return;
    }
    std::panic::set_hook(Box::new(|info: &PanicHookInfo<'_>| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info.location().map(|at| format!("{}:{}", at.file(), at.line()));
        eprintln!("error: {}", report_line(&message, location.as_deref()));
    }));
}

/// What to lower when a device runs out of memory.
const MEMORY_HINT: &str =
    "lower `training.batch_size`, `training.keep_input_mb` or `data.image_size`, or run with --device cpu";

/// `text`'s lines, trimmed, the empty ones dropped, joined by " · ".
fn folded(text: &str) -> String {
    text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" · ")
}

/// Whether `text` says that memory ran out on a device.
fn out_of_memory(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["out of memory", "not enough memory", "no pool handles allocation", "outofmemory"]
        .iter()
        .any(|s| lower.contains(s))
}

/// The one-line report of an error (its chain, as `{:#}` prints it).
pub(crate) fn error_line(error: &str) -> String {
    let text = folded(error);
    if out_of_memory(error) { format!("{text}; {MEMORY_HINT}") } else { text }
}

/// The one-line report of a panic with `message` raised at `location`.
pub(crate) fn report_line(message: &str, location: Option<&str>) -> String {
    let mut text = folded(message);
    if text.chars().count() > MAX_MESSAGE {
        text = text.chars().take(MAX_MESSAGE).chain(['…']).collect();
    }
    if out_of_memory(message) {
        return format!("the device ran out of memory ({text}); {MEMORY_HINT}");
    }
    let at = location.map(|at| format!(" at {at}")).unwrap_or_default();
    format!("internal error{at}: {text} (a bug: please report it; RUST_BACKTRACE=1 shows where it happened)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_allocation_failure_is_one_line_naming_what_to_lower() {
        let wgpu = "wgpu error: Validation Error\n\nCaused by:\n    In Device::create_buffer\n      note: label = \
                    `Buffer Src`\n    Not enough memory left.\n\n";
        let line = report_line(wgpu, Some("wgpu-core/src/x.rs:12"));
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("the device ran out of memory (wgpu error: Validation Error · Caused by:"), "{line}");
        assert!(line.contains("Not enough memory left.") && line.contains("training.batch_size"), "{line}");
        let cubecl = report_line("No pool handles allocation of size 411041792", None);
        assert!(cubecl.contains("ran out of memory") && cubecl.contains("411041792"), "{cubecl}");
    }

    #[test]
    fn an_error_with_a_dependency_s_multi_line_text_is_one_line() {
        let chain = "cannot save the encoder to out/encoder.bpk: wgpu error: Validation Error\n\nCaused by:\n    In \
                     Device::create_buffer\n    Not enough memory left.\n";
        let line = error_line(chain);
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.starts_with("cannot save the encoder to out/encoder.bpk: wgpu error: Validation Error · Caused by:")
        );
        assert!(line.ends_with("or run with --device cpu"), "{line}");
        assert_eq!(
            error_line("key `map.epochs`: expected a positive number, got 0"),
            "key `map.epochs`: expected a positive number, got 0"
        );
    }

    #[test]
    fn any_other_panic_is_one_line_with_its_place_and_a_long_message_is_cut() {
        let line = report_line("index out of bounds: the len is 3 but the index is 7", Some("src/a.rs:9"));
        assert_eq!(
            line,
            "internal error at src/a.rs:9: index out of bounds: the len is 3 but the index is 7 (a bug: please report \
             it; RUST_BACKTRACE=1 shows where it happened)"
        );
        let long = report_line(&"x".repeat(1000), None);
        assert!(long.contains(&format!("{}…", "x".repeat(MAX_MESSAGE))) && !long.contains(&"x".repeat(301)), "{long}");
    }
}
