//! `hebb hopfield table`: the Russian notebook's experiment. Networks store the first example of
//! the digits 0..k (k = 1..`max_digits`) under the Hebbian rule; the stored 0, with 0-45% of its
//! pixels flipped, is recalled for a given number of asynchronous sweeps, and the accuracy
//! (share of pixels equal to the stored 0) fills a table per sweep count: noise x stored digits.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};
use image::{GrayImage, Luma, RgbImage, imageops::FilterType};
use plotters::prelude::*;

use super::dynamics::recall_async_batch;
use super::params::TableParams;
use super::rules::{Rule, learn};
use super::schedule::Schedule;
use super::{Patterns, accuracy, flip_fraction, neurons};
use crate::compute::device::ComputeDevice;
use crate::data::mnist::{read_images, read_labels};
use crate::render;

/// Noise levels of the table, in percent.
pub(crate) const NOISE_PERCENTS: [u32; 10] = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45];

/// Accuracy per (sweeps, noise, stored digits).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccuracyTable {
    pub sweeps: Vec<usize>,
    pub max_digits: usize,
    /// `[sweeps][noise][digits - 1]`.
    pub accuracy: Vec<Vec<Vec<f32>>>,
}

/// The first example of each digit 0..10, binarised at `side` (ink = +1, threshold at the mean).
fn first_digits(images: &Path, labels: &Path, side: u32) -> Result<Vec<Vec<f32>>> {
    let idx = read_images(images)?;
    let label_file = labels;
    let labels = read_labels(labels)?;
    if labels.len() != idx.count {
        bail!(
            "{} has {} labels for the {} images of {}; give the label file that belongs to them",
            label_file.display(),
            labels.len(),
            idx.count,
            images.display()
        );
    }
    let mut digits = Vec::new();
    for digit in 0..10u8 {
        let Some(i) = labels.iter().position(|&l| l == digit) else {
            bail!("{} has no digit {digit}", images.display());
        };
        let plane = idx.rows * idx.columns;
        let picture = GrayImage::from_fn(idx.columns as u32, idx.rows as u32, |x, y| {
            Luma([idx.pixels[i * plane + y as usize * idx.columns + x as usize]])
        });
        let resized = image::imageops::resize(&picture, side, side, FilterType::Triangle);
        let mean = resized.pixels().map(|p| p[0] as f32).sum::<f32>() / (side * side) as f32;
        digits.push(resized.pixels().map(|p| if p[0] as f32 > mean { 1.0 } else { -1.0 }).collect());
    }
    Ok(digits)
}

/// Runs the experiment.
pub(crate) fn run(params: &TableParams, device: &ComputeDevice) -> Result<AccuracyTable> {
    params.check()?;
    let TableParams { images, labels, side, max_digits, sweeps, seed } = params;
    let (side, max_digits, seed) = (*side, *max_digits, *seed);
    let digits = first_digits(images, labels, side)?;
    let n = neurons(side)?;
    let zero = &digits[0];
    let cues: Vec<f32> = NOISE_PERCENTS
        .iter()
        .map(|&p| flip_fraction(zero, p as f64 / 100.0, seed + p as u64))
        .collect::<Result<Vec<_>>>()?
        .concat();
    let mut accuracy_table = vec![vec![vec![0.0; max_digits]; NOISE_PERCENTS.len()]; sweeps.len()];
    for k in 1..=max_digits {
        let patterns = Patterns::new(k, n, digits[..k].concat())?;
        let weights = learn(Rule::Hebbian, &patterns, &device.device)?;
        for (s, &count) in sweeps.iter().enumerate() {
            let (states, _) = recall_async_batch(&weights, &cues, &Schedule::zero_temperature(n, count, seed))?;
            for (noise, state) in states.chunks(n).enumerate() {
                accuracy_table[s][noise][k - 1] = accuracy(zero, state);
            }
        }
    }
    Ok(AccuracyTable { sweeps: sweeps.to_vec(), max_digits, accuracy: accuracy_table })
}

impl AccuracyTable {
    /// One block per sweep count: rows noise, columns the number of stored digits.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        for (s, count) in self.sweeps.iter().enumerate() {
            let _ = write!(out, "sweeps {count}\nnoise ");
            for k in 1..=self.max_digits {
                let _ = write!(out, " {:>7}", format!("{k} dig"));
            }
            out.push('\n');
            for (row, percent) in NOISE_PERCENTS.iter().enumerate() {
                let _ = write!(out, "{:>4}% ", percent);
                for k in 0..self.max_digits {
                    let _ = write!(out, " {:>7.4}", self.accuracy[s][row][k]);
                }
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }

    /// A heatmap panel per sweep count (accuracy 0.5 white .. 1.0 green).
    pub(crate) fn heatmap(&self) -> Result<RgbImage> {
        let (panel_w, h) = (420u32, 480u32);
        let w = panel_w * self.sweeps.len() as u32;
        render::plot(w, h, |root| {
            for (s, panel) in root.split_evenly((1, self.sweeps.len())).iter().enumerate() {
                let mut chart = ChartBuilder::on(panel)
                    .caption(format!("accuracy, {} sweep(s)", self.sweeps[s]), (render::FONT, 18))
                    .margin(10)
                    .x_label_area_size(35)
                    .y_label_area_size(45)
                    .build_cartesian_2d(1..self.max_digits + 1, 0..NOISE_PERCENTS.len())
                    .map_err(render::plot_error)?;
                chart
                    .configure_mesh()
                    .disable_mesh()
                    .x_desc("stored digits")
                    .y_desc("noise %")
                    .y_label_formatter(&|row| NOISE_PERCENTS.get(*row).map(|p| p.to_string()).unwrap_or_default())
                    .label_style((render::FONT, 12))
                    .draw()
                    .map_err(render::plot_error)?;
                let colour = |a: f32| {
                    let t = ((a - 0.5) * 2.0).clamp(0.0, 1.0);
                    RGBColor(
                        (255.0 * (1.0 - t) + 20.0 * t) as u8,
                        (255.0 * (1.0 - t) + 140.0 * t) as u8,
                        (255.0 * (1.0 - t) + 60.0 * t) as u8,
                    )
                };
                chart
                    .draw_series(
                        (0..NOISE_PERCENTS.len()).flat_map(|row| (0..self.max_digits).map(move |k| (row, k))).map(
                            |(row, k)| {
                                Rectangle::new(
                                    [(k + 1, row), (k + 2, row + 1)],
                                    colour(self.accuracy[s][row][k]).filled(),
                                )
                            },
                        ),
                    )
                    .map_err(render::plot_error)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_stored_digit_is_always_recalled_and_the_table_has_its_shape() {
        let mnist = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
        let params = TableParams {
            images: mnist.join("t10k-1000-images-idx3-ubyte.gz"),
            labels: mnist.join("t10k-1000-labels-idx1-ubyte.gz"),
            side: 20,
            max_digits: 3,
            sweeps: vec![1, 4],
            seed: 7,
        };
        let table = run(&params, &crate::compute::device::cpu()).unwrap();
        assert_eq!((table.accuracy.len(), table.accuracy[0].len(), table.accuracy[0][0].len()), (2, 10, 3));
        for sweeps in &table.accuracy {
            assert!(sweeps.iter().all(|row| row[0] == 1.0), "a single pattern below 50% noise comes back whole");
        }
        assert_eq!(table.text().lines().filter(|l| l.ends_with('%') || l.contains("% ")).count(), 20);
        assert!(table.heatmap().is_ok());
    }
}
