//! `hebb hopfield capacity`: how many random patterns a network of N neurons recalls, as a
//! success rate against the load α = P/N for each learning rule. A recall succeeds when the
//! final state's overlap with the stored pattern reaches the threshold. Every stored pattern is
//! cued `trials` times with fresh noise, and all cues of one load recall together as one batch.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use image::RgbImage;
use plotters::prelude::*;
use serde::Serialize;

use super::dynamics::{Dynamics, recall_async_batch, recall_sync};
use super::params::CapacityParams;
use super::rules::{Rule, learn};
use super::schedule::Schedule;
use super::{Patterns, flip_fraction, overlap};
use crate::compute::device::ComputeDevice;
use crate::render;

/// One (rule, load) cell of the result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct CapacityPoint {
    pub rule: Rule,
    pub load: f64,
    pub patterns: usize,
    pub success_rate: f64,
    pub mean_overlap: f64,
}

/// Runs the experiment.
pub(crate) fn run(settings: &CapacityParams, device: &ComputeDevice) -> Result<Vec<CapacityPoint>> {
    settings.check()?;
    let n = settings.neurons;
    let mut points = Vec::new();
    for (l, &load) in settings.loads.iter().enumerate() {
        let count = ((load * n as f64).round() as usize).max(1);
        let patterns = match &settings.pool {
            None => Patterns::random(count, n, settings.seed.wrapping_add(l as u64)),
            Some(pool) if pool.len != n => {
                bail!("the pattern pool has {} states per pattern, the network {n} neurons", pool.len)
            }
            Some(pool) if pool.count < count => {
                bail!("load {load} needs {count} patterns but the pool has {}", pool.count)
            }
            Some(pool) => Patterns::new(count, n, pool.states[..count * n].to_vec())?,
        };
        let mut cues = Vec::with_capacity(count * settings.trials * n);
        for t in 0..settings.trials {
            for k in 0..count {
                let seed = settings.seed ^ ((l * 1_000_003 + t * 10_007 + k) as u64);
                cues.extend(flip_fraction(patterns.pattern(k), settings.noise, seed)?);
            }
        }
        for &rule in &settings.rules {
            let weights = learn(rule, &patterns, &device.device)?;
            let finals = match settings.dynamics {
                Dynamics::Sync => recall_sync(&weights, &cues, n, settings.max_iterations)?.0,
                Dynamics::Async => {
                    recall_async_batch(
                        &weights,
                        &cues,
                        &Schedule::zero_temperature(n, settings.max_iterations, settings.seed),
                    )?
                    .0
                }
                Dynamics::Dense | Dynamics::RandomNeuron => unreachable!("rejected above"),
            };
            let overlaps: Vec<f32> =
                finals.chunks(n).enumerate().map(|(i, state)| overlap(patterns.pattern(i % count), state)).collect();
            let successes = overlaps.iter().filter(|&&m| m >= settings.threshold).count();
            points.push(CapacityPoint {
                rule,
                load,
                patterns: count,
                success_rate: successes as f64 / overlaps.len() as f64,
                mean_overlap: overlaps.iter().map(|&m| m as f64).sum::<f64>() / overlaps.len() as f64,
            });
        }
    }
    Ok(points)
}

/// The result as a table: one row per load, one column per rule.
pub(crate) fn table(points: &[CapacityPoint], rules: &[Rule]) -> String {
    let mut out = format!("{:>8} {:>8}", "load", "patterns");
    for rule in rules {
        let _ = write!(out, " {:>14}", rule.to_string());
    }
    out.push('\n');
    let mut loads: Vec<(f64, usize)> = points.iter().map(|p| (p.load, p.patterns)).collect();
    loads.dedup();
    for (load, patterns) in loads {
        let _ = write!(out, "{load:>8.3} {patterns:>8}");
        for rule in rules {
            let rate =
                points.iter().find(|p| p.load == load && p.rule == *rule).map(|p| p.success_rate).unwrap_or(f64::NAN);
            let _ = write!(out, " {rate:>14.3}");
        }
        out.push('\n');
    }
    out
}

/// `rule,load,patterns,success_rate,mean_overlap`.
pub(crate) fn csv(points: &[CapacityPoint]) -> String {
    let mut out = String::from("rule,load,patterns,success_rate,mean_overlap\n");
    for p in points {
        let _ = writeln!(out, "{},{},{},{},{}", p.rule, p.load, p.patterns, p.success_rate, p.mean_overlap);
    }
    out
}

/// Success rate against load, one line per rule, with the 90% line.
pub(crate) fn chart(points: &[CapacityPoint], rules: &[Rule], neurons: usize) -> Result<RgbImage> {
    let (w, h) = (1000u32, 700u32);
    let max_load = points.iter().map(|p| p.load).fold(0.0f64, f64::max).max(1e-3) * 1.05;
    render::plot(w, h, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Recall success against load, N = {neurons}"), (render::FONT, 24))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..max_load, 0f64..1.02f64)
            .map_err(render::plot_error)?;
        chart
            .configure_mesh()
            .x_desc("load α = P / N")
            .y_desc("success rate")
            .label_style((render::FONT, 14))
            .draw()
            .map_err(render::plot_error)?;
        let ninety = RGBColor(90, 90, 90);
        chart
            .draw_series(LineSeries::new([(0.0, 0.9), (max_load, 0.9)], ninety.stroke_width(3)))
            .map_err(render::plot_error)?
            .label("90% success")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], ninety.stroke_width(3)));
        for (r, rule) in rules.iter().enumerate() {
            let [red, green, blue] = render::group_colour(r);
            let colour = RGBColor(red, green, blue);
            let series: Vec<(f64, f64)> =
                points.iter().filter(|p| p.rule == *rule).map(|p| (p.load, p.success_rate)).collect();
            chart
                .draw_series(LineSeries::new(series.clone(), colour.stroke_width(2)))
                .map_err(render::plot_error)?
                .label(rule.to_string())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
            chart
                .draw_series(series.into_iter().map(|p| Circle::new(p, 4, colour.filled())))
                .map_err(render::plot_error)?;
        }
        chart
            .configure_series_labels()
            .label_font((render::FONT, 14))
            .border_style(BLACK)
            .draw()
            .map_err(render::plot_error)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hebbian_collapses_where_the_pseudo_inverse_holds() {
        let settings = CapacityParams {
            neurons: 300,
            pool: None,
            rules: vec![Rule::Hebbian, Rule::Storkey, Rule::PseudoInverse],
            loads: vec![0.05, 0.3],
            noise: 0.02,
            trials: 1,
            threshold: 0.95,
            dynamics: Dynamics::Sync,
            max_iterations: 30,
            seed: 1,
        };
        let points = run(&settings, &crate::compute::device::cpu()).unwrap();
        let rate =
            |rule: Rule, load: f64| points.iter().find(|p| p.rule == rule && p.load == load).unwrap().success_rate;
        for rule in [Rule::Hebbian, Rule::Storkey, Rule::PseudoInverse] {
            assert!(rate(rule, 0.05) >= 0.95, "{rule:?} at low load: {}", rate(rule, 0.05));
        }
        assert!(rate(Rule::Hebbian, 0.3) < 0.2, "Hebbian above its capacity: {}", rate(Rule::Hebbian, 0.3));
        assert!(rate(Rule::Storkey, 0.3) > rate(Rule::Hebbian, 0.3));
        assert!(rate(Rule::PseudoInverse, 0.3) >= 0.9, "pseudo-inverse: {}", rate(Rule::PseudoInverse, 0.3));
        assert!(table(&points, &settings.rules).lines().count() == 3);
        assert_eq!(csv(&points).lines().count(), 7);
    }

    #[test]
    fn correlated_digits_fill_a_network_sooner_than_random_patterns() {
        let mnist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist/t10k-1000-images-idx3-ubyte.gz");
        let source = crate::hopfield::network::PatternSource::Mnist { images: mnist, limit: 40 };
        let (pool, _) = crate::hopfield::network::load_patterns(&source, 16, crate::hopfield::Binarise::Mean).unwrap();
        let mut settings = CapacityParams {
            neurons: 256,
            pool: Some(pool),
            rules: vec![Rule::Hebbian],
            loads: vec![0.1],
            noise: 0.05,
            trials: 1,
            threshold: 0.95,
            dynamics: Dynamics::Sync,
            max_iterations: 30,
            seed: 2,
        };
        let digits = run(&settings, &crate::compute::device::cpu()).unwrap()[0].success_rate;
        settings.pool = None;
        let random = run(&settings, &crate::compute::device::cpu()).unwrap()[0].success_rate;
        // 26 random patterns at load 0.1 mostly recall (the exact share depends on the seeded draw); the digits do not.
        assert!(random >= 0.8 && digits < random, "digits {digits}, random {random}");
    }

    #[test]
    fn daydreaming_raises_capacity_above_hebbian() {
        // The seed notebook's setting at one load: N = 400, 30% noise, 90% overlap, asynchronous.
        let settings = CapacityParams {
            neurons: 400,
            pool: None,
            rules: vec![Rule::Hebbian, Rule::Daydreaming],
            loads: vec![0.11],
            noise: 0.3,
            trials: 5,
            threshold: 0.9,
            dynamics: Dynamics::Async,
            max_iterations: 30,
            seed: 4,
        };
        let points = run(&settings, &crate::compute::device::cpu()).unwrap();
        let (hebbian, daydreaming) = (points[0].success_rate, points[1].success_rate);
        assert!(daydreaming > hebbian + 0.15, "daydreaming {daydreaming} vs Hebbian {hebbian}");
    }
}
