//! `map.html`: the interactive map of a run, one self-contained file. The page and its WebGL
//! viewer are ours (`map.html` beside this file); this module fills in the data: both layouts
//! (the map and the grid) in unit coordinates, labels, clusters, sources, every item's top
//! neighbours with their similarities, and the sprite atlases.
//!
//! The atlases are embedded as data URIs, not written beside the page: a page opened from
//! `file://` may draw a sibling image but not upload it to WebGL (browsers treat it as another
//! origin). There are two levels of detail, small sprites for the zoomed-out view and larger
//! ones (while the total stays within [`HIGH_LEVEL_BUDGET`] pixels) for close-ups; further out
//! the page draws coloured squares.

use std::io::Cursor;

use anyhow::{Context, Result};
use base64::Engine;
use image::imageops::FilterType;
use image::{ImageFormat, RgbaImage};
use rayon::prelude::*;
use serde::Serialize;

use super::canvas::unit_layout;
use super::{PALETTE, item_image};
use crate::config::{CanvasLayout, ColorMode, RenderConfig};
use crate::data::{ImageSet, label_groups};
use crate::neighbours::Neighbours;

/// The page, with `/*HEBB_DATA*/` where the data goes.
const TEMPLATE: &str = include_str!("map.html");

/// Side of an atlas image, within every WebGL implementation's texture limit.
const ATLAS_SIDE: u32 = 4096;

/// Side of the sprites of the zoomed-out level (never larger than the images as they were read:
/// a level above that would only hold the resize's blur).
const LOW_SIDE: u32 = 16;

/// Pixels that the close-up level may take in all: 64-px sprites up to about 11,700 items,
/// 32-px ones up to about 46,900, none beyond.
const HIGH_LEVEL_BUDGET: u64 = 48 << 20;

/// One level of detail: sprites of `side` px, `per_row` to an atlas row, `per_atlas` to an
/// atlas image; `rows_of` gives each image's rows.
#[derive(Serialize)]
struct Level {
    side: u32,
    per_row: u32,
    per_atlas: usize,
    rows_of: Vec<u32>,
    images_data: Vec<String>,
}

/// What the page reads.
#[derive(Serialize)]
struct PageData {
    title: String,
    /// Each item's source is `folders[folder[i]]` followed by `files[i]`: every folder is
    /// written once, not once per item.
    folders: Vec<String>,
    folder: Vec<u32>,
    files: Vec<String>,
    /// What each item is called ([`crate::data::Item::name`]): searched and shown.
    names: Vec<String>,
    labels: Vec<String>,
    label: Vec<usize>,
    cluster: Vec<usize>,
    cluster_names: Vec<String>,
    /// [`PALETTE`]: distinct colours for the largest groups, then "other".
    palette: Vec<[u8; 3]>,
    /// Unit coordinates, to 5 decimals (a 60,000-item grid is 245 cells wide: 1e-5 is a
    /// fortieth of a cell).
    map: Vec<f32>,
    map_sprite: f32,
    grid: Vec<f32>,
    grid_sprite: f32,
    k: usize,
    neighbours: Vec<i64>,
    /// Cosine similarities to 3 decimals, as the panel shows them.
    similarities: Vec<f32>,
    atlases: Vec<Level>,
}

/// The sides of the levels of detail for `n` images of `side` px.
fn level_sides(n: usize, side: u32) -> Vec<u32> {
    let low = LOW_SIDE.min(side);
    let high =
        [64, 32].into_iter().map(|s: u32| s.min(side)).find(|&s| n as u64 * (s as u64).pow(2) <= HIGH_LEVEL_BUDGET);
    match high {
        Some(high) if high > low => vec![low, high],
        _ => vec![low],
    }
}

/// One level's atlas images, encoded as data URIs (PNG when the images have alpha, else JPEG).
fn atlas_level(images: &ImageSet, side: u32) -> Result<Level> {
    let per_row = ATLAS_SIDE / side;
    let per_atlas = (per_row * per_row) as usize;
    let n = images.len();
    let (format, mime) = if images.color == ColorMode::Rgba {
        (ImageFormat::Png, "image/png")
    } else {
        (ImageFormat::Jpeg, "image/jpeg")
    };
    let mut rows_of = Vec::new();
    let mut images_data = Vec::new();
    for first in (0..n).step_by(per_atlas) {
        let count = per_atlas.min(n - first);
        let rows = (count as u32).div_ceil(per_row);
        let sprites: Vec<RgbaImage> = (first..first + count)
            .into_par_iter()
            .map(|i| image::imageops::resize(&item_image(images, i), side, side, FilterType::Triangle))
            .collect();
        let mut atlas = RgbaImage::new(per_row.min(count as u32) * side, rows * side);
        for (k, sprite) in sprites.iter().enumerate() {
            let (column, row) = (k as u32 % per_row, k as u32 / per_row);
            image::imageops::replace(&mut atlas, sprite, (column * side) as i64, (row * side) as i64);
        }
        let mut bytes = Vec::new();
        let mut cursor = Cursor::new(&mut bytes);
        if format == ImageFormat::Jpeg {
            image::DynamicImage::ImageRgba8(atlas).to_rgb8().write_to(&mut cursor, format)
        } else {
            atlas.write_with_encoder(image::codecs::png::PngEncoder::new_with_quality(
                &mut cursor,
                image::codecs::png::CompressionType::Best,
                image::codecs::png::FilterType::Adaptive,
            ))
        }
        .context("cannot encode a sprite atlas")?;
        rows_of.push(rows);
        images_data.push(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(&bytes)));
    }
    Ok(Level { side, per_row, per_atlas, rows_of, images_data })
}

/// The page for a run's map: `coords` (the UMAP map), `clusters`, and `neighbours` (each item's
/// top matches, itself excluded).
pub(crate) fn map_page(
    title: &str,
    images: &ImageSet,
    coords: &[[f32; 2]],
    clusters: &[usize],
    neighbours: &Neighbours,
    config: &RenderConfig,
) -> Result<String> {
    let n = images.len();
    let flat = |points: Vec<(f32, f32)>| points.into_iter().flat_map(|(x, y)| [x, y]).map(|v| rounded(v, 5)).collect();
    let (map, map_sprite) = unit_layout(coords, &RenderConfig { layout: CanvasLayout::Scatter, ..config.clone() });
    let (grid, grid_sprite) = unit_layout(coords, &RenderConfig { layout: CanvasLayout::Grid, ..config.clone() });
    let (label, labels) = if images.has_labels() { label_groups(&images.items) } else { (Vec::new(), Vec::new()) };
    let cluster_count = clusters.iter().copied().max().map_or(0, |c| c + 1);
    let cluster_names = (0..cluster_count).map(|c| format!("cluster {c}")).collect();
    let k = neighbours.k;
    let mut neighbour_ids = Vec::with_capacity(n * k);
    let mut similarities = Vec::with_capacity(n * k);
    for i in 0..n {
        let (ids, sims) = neighbours.row(i);
        neighbour_ids.extend(ids.iter().map(|&j| j as i64));
        similarities.extend(sims.iter().map(|&s| rounded(s, 3)));
    }
    let atlases = level_sides(n, images.side.min(images.source_side) as u32)
        .into_iter()
        .map(|side| atlas_level(images, side))
        .collect::<Result<Vec<_>>>()?;
    let (folders, folder, files) = split_sources(&images.items);
    let data = PageData {
        title: title.to_string(),
        folders,
        folder,
        files,
        names: images.items.iter().map(|i| i.name().to_string()).collect(),
        palette: PALETTE.to_vec(),
        labels,
        label,
        cluster: clusters.to_vec(),
        cluster_names,
        map: flat(map),
        map_sprite,
        grid: flat(grid),
        grid_sprite,
        k,
        neighbours: neighbour_ids,
        similarities,
        atlases,
    };
    // The page in one buffer: the template's head (with the title), the data, its tail.
    let (head, tail) = TEMPLATE.split_once("/*HEBB_DATA*/").context("map.html has no data marker")?;
    let head = head.replacen("<title>hebb map</title>", &format!("<title>hebb map: {}</title>", html_escape(title)), 1);
    let mut page = ScriptSafe { out: head.into_bytes(), after_lt: false };
    serde_json::to_writer(&mut page, &data)?;
    let mut page = page.out;
    page.extend_from_slice(tail.as_bytes());
    Ok(String::from_utf8(page)?)
}

/// `value` rounded to `decimals` places (serialised as its shortest form, "0.862").
fn rounded(value: f32, decimals: i32) -> f32 {
    let scale = 10f32.powi(decimals);
    (value * scale).round() / scale
}

/// The items' sources split after their last `/` or `\\` into the distinct folders, each
/// item's folder among them, and the rest (a sheet's `sheet.png#3,4`, a folder's file name).
fn split_sources(items: &[crate::data::Item]) -> (Vec<String>, Vec<u32>, Vec<String>) {
    let mut folders: Vec<String> = Vec::new();
    let mut known = std::collections::HashMap::new();
    let mut folder = Vec::with_capacity(items.len());
    let mut files = Vec::with_capacity(items.len());
    for item in items {
        let cut = item.source.rfind(['/', '\\']).map_or(0, |at| at + 1);
        let (dir, file) = item.source.split_at(cut);
        let index = *known.entry(dir.to_string()).or_insert_with(|| {
            folders.push(dir.to_string());
            folders.len() as u32 - 1
        });
        folder.push(index);
        files.push(file.to_string());
    }
    (folders, folder, files)
}

/// Appends JSON to a buffer with every `</` written as `<\/`, which would otherwise end the
/// script element that holds it (`<` only occurs inside JSON strings, where `\/` means `/`).
/// Escaped as it is written, so that a large page is never copied whole.
struct ScriptSafe {
    out: Vec<u8>,
    /// The last byte written was `<`.
    after_lt: bool,
}

impl std::io::Write for ScriptSafe {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for &byte in bytes {
            if self.after_lt && byte == b'/' {
                self.out.push(b'\\');
            }
            self.out.push(byte);
            self.after_lt = byte == b'<';
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `text` safe inside HTML.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_detail_follow_the_item_count() {
        assert_eq!(level_sides(1_911, 96), vec![16, 64]);
        assert_eq!(level_sides(30_000, 96), vec![16, 32]);
        assert_eq!(level_sides(100_000, 64), vec![16]);
        assert_eq!(level_sides(500, 12), vec![12]);
    }

    #[test]
    fn sources_keep_each_folder_once_and_numbers_are_rounded() {
        let item = |source: &str| crate::data::Item { source: source.into(), label: None, name: None };
        let items = [item("/data/a/x.png"), item("/data/b/y.png"), item("/data/a/z.png"), item("sheet.png#1,2")];
        let (folders, folder, files) = split_sources(&items);
        assert_eq!(folders, ["/data/a/", "/data/b/", ""]);
        assert_eq!(folder, [0, 1, 0, 2]);
        assert_eq!(files, ["x.png", "y.png", "z.png", "sheet.png#1,2"]);
        assert_eq!(serde_json::to_string(&rounded(0.862_345, 3)).unwrap(), "0.862");
        assert_eq!(serde_json::to_string(&rounded(0.123_456_7, 5)).unwrap(), "0.12346");
    }

    #[test]
    fn data_cannot_end_its_script_element() {
        // Split writes, as a serialiser makes them: a `<` at the end of one and `/` at the
        // start of the next is escaped too.
        use std::io::Write;
        let text = "a </script> b <</ c < / d";
        let json = serde_json::to_vec(&text).unwrap();
        for size in [1, 2, 3, json.len()] {
            let mut page = ScriptSafe { out: Vec::new(), after_lt: false };
            for piece in json.chunks(size) {
                page.write_all(piece).unwrap();
            }
            let written = String::from_utf8(page.out).unwrap();
            assert!(!written.contains("</"), "{written}");
            assert_eq!(serde_json::from_str::<String>(&written).unwrap(), text, "the JSON still reads back");
        }
    }
}
