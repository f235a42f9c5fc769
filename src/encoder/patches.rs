//! The k x k patches a stride-2 conv layer (padding k / 2) sees, cut from its input: what the
//! filters learn from ([`crate::encoder::filters`]) and what the patch whitening is fitted on.
//!
//! The input is standardised and zero-padded once ([`PaddedInput`]); a patch is then k² taps
//! of every channel, gathered by index. A step that learns from one in nine of a batch's patches
//! gathers only those, and the padded input of all training images can be kept across epochs
//! and cut from directly, so that a step's cost follows the patches it learns from.

use burn::tensor::ops::PadMode;
use burn::tensor::{Int, Tensor, TensorData};

use crate::encoder::output_side;

/// A layer's standardised input, zero-padded by k / 2 pixels on every side and flattened:
/// the values a stride-2 k x k conv reads, for `images` images.
#[derive(Clone)]
pub(crate) struct PaddedInput {
    values: Tensor<1>,
    /// `[images, channels, height + 2 pad, width + 2 pad]`.
    shape: [usize; 4],
    /// The kernel's side k (odd); the padding is k / 2.
    kernel: usize,
}

impl PaddedInput {
    /// `standardised` (`[B, C, H, W]`) padded with `kernel / 2` pixels of zeros, as the conv pads
    /// it for a `kernel` x `kernel` filter.
    pub(crate) fn new(standardised: Tensor<4>, kernel: usize) -> Self {
        let [images, channels, height, width] = standardised.dims();
        let pad = kernel / 2;
        let padded = standardised.pad([(pad, pad), (pad, pad)], PadMode::Constant(0.0));
        Self { values: padded.flatten::<1>(0, 3), shape: [images, channels, height + 2 * pad, width + 2 * pad], kernel }
    }

    /// `images` images' padded input assembled in place from `parts` (of this shape but for
    /// their number of images), one after another: at most one part is alive beside it.
    pub(crate) fn assembled(images: usize, parts: impl IntoIterator<Item = Self>) -> Self {
        let mut parts = parts.into_iter().peekable();
        let first = parts.peek().expect("at least one part");
        let (mut shape, kernel) = (first.shape, first.kernel);
        let per_image = shape[1] * shape[2] * shape[3];
        let mut values = Tensor::zeros([images * per_image], &first.values.device());
        let mut at = 0;
        for part in parts {
            let len = part.shape[0] * per_image;
            values = values.slice_assign([at..at + len], part.values);
            at += len;
        }
        shape[0] = images;
        Self { values, shape, kernel }
    }

    /// Images held.
    pub(crate) fn images(&self) -> usize {
        self.shape[0]
    }

    /// Bytes held per image.
    pub(crate) fn bytes_per_image(&self) -> usize {
        self.shape[1] * self.shape[2] * self.shape[3] * size_of::<f32>()
    }

    /// The conv's output positions per image (each one patch).
    pub(crate) fn positions(&self) -> usize {
        let pad = 2 * (self.kernel / 2);
        output_side(self.shape[2] - pad) * output_side(self.shape[3] - pad)
    }

    /// The patches at `rows` (image, position), one per row: `[rows, channels · k²]`, each
    /// ordered as the conv's flattened filters (channel, then kernel row, then kernel column).
    pub(crate) fn patches(&self, rows: &[(usize, usize)]) -> Tensor<2> {
        let [_, channels, height, width] = self.shape;
        let k = self.kernel;
        let taps_per_channel = k * k;
        let out_width = output_side(width - 2 * (k / 2));
        let device = self.values.device();
        // Each row's first tap (channel 0, kernel row 0, column 0), plus every tap's offset from it.
        let starts: Vec<i64> = rows
            .iter()
            .map(|&(image, position)| {
                let (y, x) = (2 * (position / out_width), 2 * (position % out_width));
                ((image * channels * height + y) * width + x) as i64
            })
            .collect();
        let dim = channels * taps_per_channel;
        let taps: Vec<i64> = (0..dim)
            .map(|t| {
                let (channel, tap) = (t / taps_per_channel, t % taps_per_channel);
                ((channel * height + tap / k) * width + tap % k) as i64
            })
            .collect();
        let starts = Tensor::<1, Int>::from_data(TensorData::new(starts, [rows.len()]), &device);
        let taps = Tensor::<1, Int>::from_data(TensorData::new(taps, [dim]), &device);
        let at = starts.unsqueeze_dim::<2>(1) + taps.unsqueeze::<2>();
        self.values.clone().select(0, at.flatten::<1>(0, 1)).reshape([rows.len(), dim])
    }

    /// Every patch, image by image and position by position (the conv's order).
    pub(crate) fn all_patches(&self) -> Tensor<2> {
        let positions = self.positions();
        let rows: Vec<(usize, usize)> =
            (0..self.images()).flat_map(|image| (0..positions).map(move |p| (image, p))).collect();
        self.patches(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;

    fn input(shape: [usize; 4]) -> Tensor<4> {
        let count = shape.iter().product::<usize>();
        let values: Vec<f32> = (0..count).map(|i| ((i * 37) % 23) as f32 - 11.0).collect();
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    #[test]
    fn patches_times_filters_is_the_conv_at_odd_and_even_sides_and_every_kernel() {
        let device = Device::flex();
        for k in [1, 3, 5] {
            for shape in [[2, 3, 9, 9], [1, 2, 8, 6], [2, 1, 7, 4]] {
                let [images, channels, height, width] = shape;
                let input = input(shape);
                let taps = channels * k * k;
                let filters: Vec<f32> = (0..5 * taps).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
                let filters = Tensor::<4>::from_data(TensorData::new(filters, [5, channels, k, k]), &device);
                let options = ConvOptions::new([2, 2], [k / 2, k / 2], [1, 1], 1);
                let conv = conv2d(input.clone(), filters.clone(), None, options);
                let [_, _, rows, columns] = conv.dims();
                assert_eq!((rows, columns), (output_side(height), output_side(width)));
                let padded = PaddedInput::new(input, k);
                assert_eq!(padded.positions(), rows * columns);
                let via_patches = padded.all_patches().matmul(filters.reshape([5, taps]).transpose());
                assert_eq!(via_patches.dims(), [images * rows * columns, 5]);
                let conv: Vec<f32> = conv.swap_dims(1, 2).swap_dims(2, 3).into_data().try_into_vec().unwrap();
                let via_patches: Vec<f32> = via_patches.into_data().try_into_vec().unwrap();
                assert_eq!(conv, via_patches, "{k}x{k}, {shape:?}: integer values, so exactly the conv");
            }
        }
    }

    #[test]
    fn picked_rows_are_those_rows_of_all_patches_and_parts_join_in_order() {
        let whole = PaddedInput::new(input([3, 2, 5, 5]), 3);
        let all: Vec<f32> = whole.all_patches().into_data().try_into_vec().unwrap();
        let width = 2 * 9;
        let rows = [(2, 8), (0, 0), (1, 4), (2, 0)];
        let picked: Vec<f32> = whole.patches(&rows).into_data().try_into_vec().unwrap();
        let expected: Vec<f32> = rows
            .iter()
            .flat_map(|&(image, position)| {
                let row = image * whole.positions() + position;
                all[row * width..(row + 1) * width].to_vec()
            })
            .collect();
        assert_eq!(picked, expected);
        let everything = input([3, 2, 5, 5]);
        let parts = PaddedInput::assembled(
            3,
            [PaddedInput::new(everything.clone().slice([0..1]), 3), PaddedInput::new(everything.slice([1..3]), 3)],
        );
        assert_eq!(parts.images(), 3);
        assert_eq!(parts.bytes_per_image(), 2 * 7 * 7 * 4);
        let joined: Vec<f32> = parts.all_patches().into_data().try_into_vec().unwrap();
        assert_eq!(joined, all);
    }
}
