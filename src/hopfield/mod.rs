//! Binary Hopfield associative memory: images as ±1 patterns, learning rules that store them
//! ([`rules`]), recall dynamics that repair corrupted cues ([`dynamics`]), saved networks
//! ([`network`]), and the experiments with their checked settings ([`params`]): the
//! self-repairing picture ([`repair`]), the recall table ([`table`]) and the capacity curve
//! ([`capacity`]). The `hebb hopfield` commands that run them and write their folders are in
//! [`crate::commands::hopfield`]. Matrix work runs on the run's device through burn; flex on the
//! CPU is its twin.

pub(crate) mod capacity;
pub(crate) mod dynamics;
pub(crate) mod network;
pub(crate) mod params;
pub(crate) mod repair;
pub(crate) mod rules;
pub(crate) mod schedule;
pub(crate) mod sweep_kernel;
pub(crate) mod sync_kernel;
pub(crate) mod table;

use crate::compute::memory;
use crate::compute::rng::seeded;
use anyhow::{Result, bail};
use burn::tensor::{Device, Tensor, TensorData};
use image::{GrayImage, Luma, RgbaImage, imageops::FilterType};
use rand::RngExt;
use rand::seq::index::sample;

use crate::choice::choice;

/// `count` patterns of `len` states (each +1 or -1), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Patterns {
    pub count: usize,
    pub len: usize,
    pub states: Vec<f32>,
}

impl Patterns {
    pub(crate) fn new(count: usize, len: usize, states: Vec<f32>) -> Result<Self> {
        if states.len() != count * len {
            bail!("{} states for {count} patterns of {len}", states.len());
        }
        if states.iter().any(|&s| s != 1.0 && s != -1.0) {
            bail!("pattern states must be +1 or -1");
        }
        Ok(Self { count, len, states })
    }

    /// The `count x len` pattern matrix Ξ on `device`.
    pub(crate) fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(self.states.clone(), [self.count, self.len]), device)
    }

    pub fn pattern(&self, index: usize) -> &[f32] {
        &self.states[index * self.len..(index + 1) * self.len]
    }

    /// `count` random patterns of `len` states, each state ±1 with equal odds.
    pub fn random(count: usize, len: usize, seed: u64) -> Self {
        let mut rng = seeded(seed);
        let states = (0..count * len).map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 }).collect();
        Self { count, len, states }
    }
}

choice! {
    /// How a grey image becomes ±1.
    #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub(crate) enum Binarise {
        /// Bright pixels (grey >= 128) are +1.
        Threshold = "threshold",
        /// Pixels brighter than the image's mean are +1 (as the MNIST notebooks do).
        Mean = "mean",
        /// Opaque pixels (alpha >= 128) are +1: for transparent sprites.
        Alpha = "alpha",
        /// Floyd-Steinberg dithering of the grey image: keeps the tones of photos.
        Dither = "dither",
    }
}

/// The neurons of a network of `side x side` images, refused (naming `--side`) when the weights
/// W (N x N) and their working copies cannot fit in memory.
/// Refuses a network of `neurons` that cannot fit in memory with `states` more values (patterns,
/// cues, sweep orders) beside it; `what` names the options that set the sizes. The weights are
/// held twice, on the device and read back, in f32.
pub(crate) fn check_memory(what: &str, neurons: usize, states: f64) -> Result<()> {
    let n = neurons as f64;
    memory::check(what, (2.0 * n * n + states) * 4.0)
}

pub(crate) fn neurons(side: u32) -> Result<usize> {
    let n = side as f64 * side as f64;
    crate::compute::memory::check("--side (the weights W are side² x side²)", n * n * 4.0 * 3.0)?;
    Ok(n as usize)
}

/// An image file as one pattern, read exactly as `store --folder` reads the files of a folder
/// (hidden colour under alpha 0 cleared, resized as the data loader does), so that a stored
/// picture recalls itself.
pub(crate) fn image_file_pattern(path: &std::path::Path, side: u32, binarise: Binarise) -> Result<Vec<f32>> {
    use crate::config::ColorMode;
    use crate::data::pixels::{decode_file, to_planar};
    use crate::data::{ImageSet, Item};
    let planar = to_planar(decode_file(path)?, side as usize, ColorMode::Rgba);
    let item = Item { source: path.display().to_string(), label: None, name: None };
    let single = ImageSet::new(side as usize, ColorMode::Rgba, vec![(item, planar)], Vec::new())?;
    Ok(image_pattern(&crate::render::item_image(&single, 0), side, binarise))
}

/// An image resized to `side x side` and binarised into one pattern (row-major; +1 is white).
pub(crate) fn image_pattern(image: &RgbaImage, side: u32, binarise: Binarise) -> Vec<f32> {
    let resized = image::imageops::resize(image, side, side, FilterType::Triangle);
    let grey: Vec<f32> = resized
        .pixels()
        .map(|p| {
            let a = p[3] as f32 / 255.0;
            (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) * a
        })
        .collect();
    if binarise == Binarise::Dither {
        return floyd_steinberg(grey, side as usize);
    }
    let mean = grey.iter().sum::<f32>() / grey.len() as f32;
    resized
        .pixels()
        .zip(&grey)
        .map(|(p, &g)| {
            let on = match binarise {
                Binarise::Threshold => g >= 128.0,
                Binarise::Mean => g > mean,
                Binarise::Alpha => p[3] >= 128,
                Binarise::Dither => unreachable!("dithered above"),
            };
            if on { 1.0 } else { -1.0 }
        })
        .collect()
}

/// Floyd-Steinberg error diffusion of a grey `side x side` image (0..255) to ±1.
fn floyd_steinberg(mut grey: Vec<f32>, side: usize) -> Vec<f32> {
    let mut out = vec![0.0; grey.len()];
    for y in 0..side {
        for x in 0..side {
            let i = y * side + x;
            let on = grey[i] >= 128.0;
            out[i] = if on { 1.0 } else { -1.0 };
            let error = grey[i] - if on { 255.0 } else { 0.0 };
            let mut spread = |dx: isize, dy: usize, weight: f32| {
                let (nx, ny) = (x as isize + dx, y + dy);
                if nx >= 0 && (nx as usize) < side && ny < side {
                    grey[ny * side + nx as usize] += error * weight;
                }
            };
            spread(1, 0, 7.0 / 16.0);
            spread(-1, 1, 3.0 / 16.0);
            spread(0, 1, 5.0 / 16.0);
            spread(1, 1, 1.0 / 16.0);
        }
    }
    out
}

/// How a cue is corrupted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Corruption {
    /// Flip exactly this fraction of the states, chosen without replacement.
    Flip(f64),
    /// Flip exactly this many states in every row of the image.
    FlipPerRow(usize),
    /// Set this fraction of the states (without replacement) to random black or white.
    SaltPepper(f64),
    /// Set a rectangle (x, y, width, height) to -1 (black).
    Rectangle(usize, usize, usize, usize),
    /// Set the bottom half of the image to -1 (black).
    BottomHalf,
}

/// Corrupts a `side x side` pattern.
pub(crate) fn corrupt(states: &[f32], side: usize, corruption: Corruption, seed: u64) -> Result<Vec<f32>> {
    let mut rng = seeded(seed);
    let mut out = states.to_vec();
    match corruption {
        Corruption::Flip(fraction) => return flip_fraction(states, fraction, seed),
        Corruption::FlipPerRow(k) => {
            if k > side {
                bail!("cannot flip {k} states in a row of {side}");
            }
            for row in out.chunks_mut(side) {
                for i in sample(&mut rng, side, k) {
                    row[i] = -row[i];
                }
            }
        }
        Corruption::SaltPepper(fraction) => {
            if !(0.0..=1.0).contains(&fraction) {
                bail!("noise fraction: expected a value in [0, 1], got {fraction}");
            }
            let count = (fraction * states.len() as f64).round() as usize;
            for i in sample(&mut rng, states.len(), count) {
                out[i] = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            }
        }
        Corruption::Rectangle(x, y, w, h) => {
            if x + w > side || y + h > side {
                bail!("rectangle {x},{y} {w}x{h} does not fit a {side}x{side} image");
            }
            for row in y..y + h {
                out[row * side + x..row * side + x + w].fill(-1.0);
            }
        }
        Corruption::BottomHalf => out[side * (side / 2)..].fill(-1.0),
    }
    Ok(out)
}

/// The pairwise overlaps ξ_a·ξ_b / N of a pattern set (`count x count`).
pub(crate) fn overlap_matrix(patterns: &Patterns) -> Vec<f32> {
    let p = patterns.count;
    (0..p * p).map(|k| overlap(patterns.pattern(k / p), patterns.pattern(k % p))).collect()
}

/// A pattern as a silhouette: +1 opaque black, -1 fully transparent (for alpha-binarised sprites).
pub(crate) fn pattern_silhouette(states: &[f32], side: u32) -> RgbaImage {
    RgbaImage::from_fn(side, side, |x, y| {
        if states[(y * side + x) as usize] > 0.0 { image::Rgba([0, 0, 0, 255]) } else { image::Rgba([0, 0, 0, 0]) }
    })
}

/// A pattern of `side x side` states as a black-and-white picture.
pub(crate) fn pattern_image(states: &[f32], side: u32) -> GrayImage {
    GrayImage::from_fn(side, side, |x, y| Luma([if states[(y * side + x) as usize] > 0.0 { 255 } else { 0 }]))
}

/// Flips exactly `round(fraction · N)` states, chosen without replacement.
pub fn flip_fraction(states: &[f32], fraction: f64, seed: u64) -> Result<Vec<f32>> {
    if !(0.0..=1.0).contains(&fraction) {
        bail!("noise fraction: expected a value in [0, 1], got {fraction}");
    }
    let mut out = states.to_vec();
    let flips = (fraction * states.len() as f64).round() as usize;
    for i in sample(&mut seeded(seed), states.len(), flips) {
        out[i] = -out[i];
    }
    Ok(out)
}

/// Overlap m = ξ·s / N.
pub(crate) fn overlap(pattern: &[f32], state: &[f32]) -> f32 {
    pattern.iter().zip(state).map(|(a, b)| a * b).sum::<f32>() / pattern.len() as f32
}

/// Number of differing states.
pub(crate) fn hamming(a: &[f32], b: &[f32]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// Share of equal states.
pub(crate) fn accuracy(a: &[f32], b: &[f32]) -> f32 {
    1.0 - hamming(a, b) as f32 / a.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_flips_exactly_the_fraction_and_measures_agree() {
        let p = Patterns::random(1, 200, 1);
        let noisy = flip_fraction(p.pattern(0), 0.25, 9).unwrap();
        assert_eq!(hamming(p.pattern(0), &noisy), 50);
        assert!((accuracy(p.pattern(0), &noisy) - 0.75).abs() < 1e-6);
        assert!((overlap(p.pattern(0), &noisy) - 0.5).abs() < 1e-6);
        assert_eq!(noisy, flip_fraction(p.pattern(0), 0.25, 9).unwrap());
        assert!(flip_fraction(p.pattern(0), 1.5, 0).is_err());
    }

    #[test]
    fn corruptions_change_what_they_say() {
        let p = Patterns::random(1, 64, 3);
        let x = p.pattern(0);
        let per_row = corrupt(x, 8, Corruption::FlipPerRow(2), 1).unwrap();
        for (a, b) in x.chunks(8).zip(per_row.chunks(8)) {
            assert_eq!(hamming(a, b), 2);
        }
        let salted = corrupt(x, 8, Corruption::SaltPepper(0.5), 1).unwrap();
        assert!(hamming(x, &salted) <= 32);
        let boxed = corrupt(x, 8, Corruption::Rectangle(2, 3, 4, 2), 1).unwrap();
        assert!((0..64).all(|i| {
            let (c, r) = (i % 8, i / 8);
            if (2..6).contains(&c) && (3..5).contains(&r) { boxed[i] == -1.0 } else { boxed[i] == x[i] }
        }));
        let half = corrupt(x, 8, Corruption::BottomHalf, 1).unwrap();
        assert!(half[32..].iter().all(|&s| s == -1.0) && half[..32] == x[..32]);
        assert!(corrupt(x, 8, Corruption::Rectangle(6, 0, 4, 1), 1).is_err());
    }

    #[test]
    fn overlaps_and_dithering() {
        let p = Patterns::new(2, 4, vec![1., 1., -1., -1., 1., -1., 1., -1.]).unwrap();
        assert_eq!(overlap_matrix(&p), vec![1.0, 0.0, 0.0, 1.0]);
        // A mid-grey image dithers to about half white.
        let grey = RgbaImage::from_pixel(16, 16, image::Rgba([128, 128, 128, 255]));
        let dithered = image_pattern(&grey, 16, Binarise::Dither);
        let white = dithered.iter().filter(|&&s| s > 0.0).count();
        assert!((100..=156).contains(&white), "{white} of 256 white");
    }

    #[test]
    fn silhouettes_are_transparent_where_the_pattern_is_off() {
        let picture = pattern_silhouette(&[1.0, -1.0, -1.0, 1.0], 2);
        assert_eq!(picture.get_pixel(0, 0)[3], 255);
        assert_eq!(picture.get_pixel(1, 0)[3], 0);
    }

    #[test]
    fn binarisation_modes() {
        let mut image = RgbaImage::from_pixel(2, 1, image::Rgba([200, 200, 200, 255]));
        image.put_pixel(1, 0, image::Rgba([100, 100, 100, 0]));
        assert_eq!(image_pattern(&image, 2, Binarise::Alpha)[..2], [1.0, -1.0]);
        assert_eq!(image_pattern(&image, 2, Binarise::Threshold)[..2], [1.0, -1.0]);
    }
}
