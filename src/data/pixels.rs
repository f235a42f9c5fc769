//! One image in, one fixed-size planar `u8` array out: the preprocessing every source shares,
//! and that `query` applies to a new image file so it is encoded exactly as training data was.
//!
//! Steps: RGB is zeroed where alpha is 0 (sprite sheets carry invisible colour there), the image
//! is resized to `side x side` (bilinear), and the channels are laid out for the colour mode:
//! `rgba` keeps straight RGB plus alpha, `rgb` and `grey` composite onto black.

use std::path::Path;

use anyhow::{Context, Result};
use image::{RgbaImage, imageops::FilterType};

use crate::compute::memory;
use crate::config::ColorMode;
use crate::data::embedded;

/// Zeroes the colour of fully transparent pixels, in place.
pub(crate) fn clear_transparent(image: &mut RgbaImage) {
    for pixel in image.pixels_mut() {
        if pixel[3] == 0 {
            *pixel = image::Rgba([0, 0, 0, 0]);
        }
    }
}

/// Resizes `image` to `side x side` and lays it out planar for `color`.
pub(crate) fn to_planar(mut image: RgbaImage, side: usize, color: ColorMode) -> Vec<u8> {
    clear_transparent(&mut image);
    let side32 = side as u32;
    let image = if image.width() == side32 && image.height() == side32 {
        image
    } else {
        image::imageops::resize(&image, side32, side32, FilterType::Triangle)
    };
    let plane = side * side;
    let mut out = vec![0u8; color.channels() * plane];
    for (i, pixel) in image.pixels().enumerate() {
        let [r, g, b, a] = pixel.0;
        let premultiply = |v: u8| ((v as u32 * a as u32 + 127) / 255) as u8;
        match color {
            ColorMode::Rgba => {
                out[i] = r;
                out[plane + i] = g;
                out[2 * plane + i] = b;
                out[3 * plane + i] = a;
            }
            ColorMode::Rgb => {
                out[i] = premultiply(r);
                out[plane + i] = premultiply(g);
                out[2 * plane + i] = premultiply(b);
            }
            ColorMode::Grey => {
                let luma = (299 * r as u32 + 587 * g as u32 + 114 * b as u32 + 500) / 1000;
                out[i] = premultiply(luma as u8);
            }
        }
    }
    out
}

/// Reads a file's bytes; a missing file that is one of the embedded data files is served from
/// the binary, so the default configuration runs from any folder.
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>> {
    if !path.exists()
        && let Some(bytes) = embedded::file(path)
    {
        return Ok(bytes.to_vec());
    }
    memory::read_file(path, MAX_INPUT_BYTES)
}

/// The largest input file (an image, a sheet, an IDX file) hebb reads: 4 GiB.
const MAX_INPUT_BYTES: u64 = 4 << 30;

/// Decodes an image file of any supported format (grey, RGB or RGBA) into RGBA.
pub(crate) fn decode_file(path: &Path) -> Result<RgbaImage> {
    let bytes = read_input(path)?;
    decode_bytes(&bytes).with_context(|| format!("cannot decode image {}", path.display()))
}

/// Decodes image bytes of any supported format into RGBA. The decoder's message becomes one line:
/// `image`'s errors already print their cause, which a chained source would print twice.
pub(crate) fn decode_bytes(bytes: &[u8]) -> Result<RgbaImage> {
    let decoded =
        image::load_from_memory(bytes).map_err(|e| anyhow::anyhow!("{}", e.to_string().replace('\n', " ")))?;
    Ok(decoded.to_rgba8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_jpeg_is_one_line_that_says_it_once() {
        let err = format!("{:#}", decode_bytes(b"\xff\xd8\xff\xe0garbage").unwrap_err());
        assert!(!err.contains('\n'), "{err:?}");
        assert_eq!(err.matches("Not enough bytes").count(), 1, "{err:?}");
    }

    #[test]
    fn transparent_colour_is_cleared_before_layout() {
        let mut image = RgbaImage::from_pixel(2, 2, image::Rgba([10, 20, 30, 255]));
        image.put_pixel(0, 0, image::Rgba([200, 100, 50, 0]));
        let planar = to_planar(image, 2, ColorMode::Rgba);
        assert_eq!(planar.len(), 4 * 4);
        let plane = 4;
        let pixel = |i: usize| [planar[i], planar[plane + i], planar[2 * plane + i], planar[3 * plane + i]];
        assert_eq!(pixel(0), [0, 0, 0, 0]);
        assert_eq!(pixel(1), [10, 20, 30, 255]);
        assert_eq!(pixel(3), [10, 20, 30, 255]);
    }

    #[test]
    fn rgb_and_grey_composite_onto_black() {
        let mut image = RgbaImage::new(1, 1);
        image.put_pixel(0, 0, image::Rgba([255, 255, 255, 128]));
        assert_eq!(to_planar(image.clone(), 1, ColorMode::Rgb), vec![128, 128, 128]);
        assert_eq!(to_planar(image, 1, ColorMode::Grey), vec![128]);
    }
}
