//! `hebb bench suite`: every speed benchmark in one command, so that a machine with a GPU gives
//! all its figures in one call. It runs `bench map` on synthetic features (10,000 and 100,000
//! items of 4,608 values; 10,000 only with `--quick`), `bench encode` on the embedded default and
//! `bench hopfield`, each with the baselines it measures in the same run, and writes one report:
//! `bench.json` and `bench.md` beside it, naming the device. A bench that fails is reported and
//! the suite goes on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use super::map::MapInput;
use super::{check_report_output, encode, hopfield, map};
use crate::compute::device::{ComputeDevice, RunContext};
use crate::config::EncodeConfig;
use crate::run::write_atomically;

/// The `format` field of `bench.json`, and the first line of `bench.md`.
pub(crate) const SUITE_FORMAT: &str = "hebb-bench-1";

/// One benchmark of the suite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bench {
    /// `bench encode` on the first `images` images of the embedded default.
    Encode { images: usize },
    /// `bench map` on `rows` synthetic features of `dim` values.
    Map { rows: usize, dim: usize },
    /// `bench hopfield` with a dense sweep of `neurons`.
    Hopfield { neurons: usize },
}

impl Bench {
    /// The command that runs this benchmark alone.
    fn command(self, device: &str) -> String {
        match self {
            Bench::Encode { images } => format!("hebb bench encode --images {images} --device {device}"),
            Bench::Map { rows, dim } => format!("hebb bench map --synthetic {rows} --dim {dim} --device {device}"),
            Bench::Hopfield { neurons } => format!("hebb bench hopfield --dense-neurons {neurons} --device {device}"),
        }
    }

    fn run(self, device: &ComputeDevice) -> Result<String> {
        match self {
            Bench::Encode { images } => encode::run(&EncodeConfig::load(None)?, device, images),
            Bench::Map { rows, dim } => map::run(&MapInput::synthetic(rows, dim, 42)?, device, None),
            Bench::Hopfield { neurons } => hopfield::run(device, neurons),
        }
    }
}

/// The benchmarks of a suite on `device` (a GPU measures larger sizes), fewer with `quick`.
pub(crate) fn plan(device: &ComputeDevice, quick: bool) -> Vec<Bench> {
    // The maps first: `bench map` reports the process's peak memory, which the other benches
    // would otherwise have set.
    let mut plan = vec![Bench::Map { rows: 10_000, dim: 4608 }];
    if !quick {
        plan.push(Bench::Map { rows: 100_000, dim: 4608 });
    }
    plan.push(Bench::Encode { images: if quick { 64 } else { 256 } });
    let neurons = match (device.is_gpu, quick) {
        (true, _) => 16_384,
        (false, true) => 2048,
        (false, false) => 4096,
    };
    plan.push(Bench::Hopfield { neurons });
    plan
}

/// One benchmark's outcome: its table, or why it failed.
#[derive(Debug, Serialize)]
pub(crate) struct Section {
    pub command: String,
    pub seconds: f64,
    pub table: Option<String>,
    pub error: Option<String>,
}

/// The suite's report.
#[derive(Debug, Serialize)]
pub(crate) struct BenchReport {
    pub format: String,
    pub hebb_version: String,
    pub device: String,
    pub quick: bool,
    pub sections: Vec<Section>,
}

/// Runs every benchmark of `plan` on `device`, with a progress bar over them.
pub(crate) fn run(plan: &[Bench], context: &RunContext, device_flag: &str, quick: bool) -> BenchReport {
    let device = &context.compute;
    let bar = context.progress.bar(plan.len() as u64, "benchmarks");
    let sections = plan
        .iter()
        .map(|&bench| {
            let command = bench.command(device_flag);
            bar.set_message(command.clone());
            let started = Instant::now();
            let outcome = bench.run(device);
            bar.inc(1);
            let seconds = started.elapsed().as_secs_f64();
            match outcome {
                Ok(table) => Section { command, seconds, table: Some(table), error: None },
                Err(e) => Section { command, seconds, table: None, error: Some(format!("{e:#}")) },
            }
        })
        .collect();
    bar.finish_and_clear();
    BenchReport {
        format: SUITE_FORMAT.to_string(),
        hebb_version: env!("CARGO_PKG_VERSION").to_string(),
        device: device.description.clone(),
        quick,
        sections,
    }
}

/// The report as Markdown: the device, then each command with its time and its table.
pub(crate) fn markdown(report: &BenchReport) -> String {
    let mut out =
        format!("<!-- {SUITE_FORMAT} -->\n# hebb bench suite\n\nhebb {} on {}", report.hebb_version, report.device);
    out.push_str(if report.quick { " (--quick)\n" } else { "\n" });
    for section in &report.sections {
        out.push_str(&format!("\n## `{}` ({:.1} s)\n\n", section.command, section.seconds));
        match (&section.table, &section.error) {
            (Some(table), _) => out.push_str(&format!("```\n{}\n```\n", table.trim_end())),
            (None, Some(error)) => out.push_str(&format!("failed: {error}\n")),
            (None, None) => {}
        }
    }
    out
}

/// `bench.md` beside the report's `bench.json`.
pub(crate) fn markdown_path(json: &Path) -> PathBuf {
    json.with_extension("md")
}

/// Refuses an output (the JSON or the Markdown beside it) that holds something hebb did not
/// write, before any work.
pub(crate) fn check_output(path: &Path) -> Result<()> {
    check_report_output(path, SUITE_FORMAT, "bench.json")?;
    let md = markdown_path(path);
    if md.exists() {
        let ours = std::fs::read_to_string(&md).is_ok_and(|text| text.starts_with(&format!("<!-- {SUITE_FORMAT} -->")));
        if !ours {
            anyhow::bail!(
                "--output {}: {} exists and is not a report hebb wrote; choose another path or remove it",
                path.display(),
                md.display()
            );
        }
    }
    Ok(())
}

/// Writes `bench.json` and `bench.md`.
pub(crate) fn write(report: &BenchReport, path: &Path) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(report)?.as_bytes())?;
    write_atomically(&markdown_path(path), markdown(report).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> BenchReport {
        BenchReport {
            format: SUITE_FORMAT.into(),
            hebb_version: "0.1.0".into(),
            device: "cpu (flex, 2 threads)".into(),
            quick: true,
            sections: vec![
                Section {
                    command: "hebb bench encode".into(),
                    seconds: 1.25,
                    table: Some("a | b\n".into()),
                    error: None,
                },
                Section {
                    command: "hebb bench map".into(),
                    seconds: 0.5,
                    table: None,
                    error: Some("no memory".into()),
                },
            ],
        }
    }

    #[test]
    fn a_quick_suite_is_smaller_and_a_gpu_sweeps_more_neurons() {
        let cpu = crate::compute::device::select(crate::compute::device::DeviceChoice::Cpu).unwrap();
        assert_eq!(
            plan(&cpu, true),
            [Bench::Map { rows: 10_000, dim: 4608 }, Bench::Encode { images: 64 }, Bench::Hopfield { neurons: 2048 }]
        );
        let full = plan(&cpu, false);
        assert_eq!(full.len(), 4);
        assert_eq!(full[1], Bench::Map { rows: 100_000, dim: 4608 });
        assert_eq!(Bench::Encode { images: 64 }.command("gpu"), "hebb bench encode --images 64 --device gpu");
    }

    #[test]
    fn the_markdown_names_the_device_and_each_command_s_table_or_failure() {
        let md = markdown(&report());
        assert!(md.starts_with("<!-- hebb-bench-1 -->\n# hebb bench suite"), "{md}");
        assert!(md.contains("hebb 0.1.0 on cpu (flex, 2 threads) (--quick)"), "{md}");
        assert!(md.contains("## `hebb bench encode` (1.2 s)\n\n```\na | b\n```"), "{md}");
        assert!(md.contains("## `hebb bench map` (0.5 s)\n\nfailed: no memory"), "{md}");
    }

    #[test]
    fn outputs_hebb_did_not_write_are_refused_and_its_own_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("out/bench.json");
        check_output(&json).unwrap();
        write(&report(), &json).unwrap();
        check_output(&json).expect("hebb's own report may be replaced");
        std::fs::write(markdown_path(&json), "my notes").unwrap();
        let err = check_output(&json).unwrap_err().to_string();
        assert!(err.contains("bench.md exists and is not a report hebb wrote"), "{err}");
        std::fs::write(&json, "{}").unwrap();
        assert!(check_output(&json).unwrap_err().to_string().contains("not a bench.json that hebb wrote"));
    }
}
