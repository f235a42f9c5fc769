//! `map.html`: the interactive map of a run. The page and its WebGL viewer are ours (`map.html`
//! beside this file); this module fills in the data: both layouts (the map and the grid) in unit
//! coordinates, labels, clusters, sources, every item's top neighbours with their similarities,
//! and the sprite atlases.
//!
//! An atlas holds the sprites of one square block of grid cells, at the cell's place in the
//! block, so that a view of one region of the map needs only the atlases of that region. There
//! are up to two levels of detail, small sprites for the zoomed-out view and larger ones (while
//! the total stays within [`HIGH_LEVEL_BUDGET`] pixels) for close-ups; further out the page draws
//! coloured squares.
//!
//! Up to `render.html_tiles_from` items the page is one self-contained file: the atlases are embedded as
//! data URIs (a page opened from `file://` may draw a sibling image but not upload it to WebGL,
//! as browsers treat it as another origin). From `render.html_tiles_from` items on, the atlases and the
//! neighbours go into script files in a folder beside the page ([`TILES_FOLDER`]), which the
//! page loads as the view needs them: a script from `file://` may run, and the data URI it hands
//! over is the page's own.

use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine;
use image::imageops::FilterType;
use image::{ImageFormat, RgbaImage};
use rayon::prelude::*;
use serde::Serialize;

use super::canvas::{grid_shape, unit_grid, unit_layout};
use super::{MapData, PALETTE, item_image};
use crate::config::{CanvasLayout, ColorMode, RenderConfig};
use crate::data::{ImageSet, label_groups};

/// The page, with `/*HEBB_DATA*/` where the data goes.
const TEMPLATE: &str = include_str!("map.html");

/// Side of an atlas image, within every WebGL implementation's texture limit.
const ATLAS_SIDE: u32 = 4096;

/// Side of the sprites of the zoomed-out level (never larger than the images as they were read:
/// a level above that would only hold the resize's blur).
const LOW_SIDE: u32 = 16;

/// The folder beside `map.html` that holds its tiles when it has `render.html_tiles_from` items or more.
pub(crate) const TILES_FOLDER: &str = "map";

/// Items per neighbour tile.
const NEIGHBOUR_CHUNK: usize = 65_536;

/// Pixels that the close-up level may take in all: 64-px sprites up to about 6,100 items,
/// 32-px ones up to about 24,500, none beyond (60,000 28-px digits would add 15 MB to the page).
const HIGH_LEVEL_BUDGET: u64 = 24 << 20;

/// One level of detail: sprites of `side` px. Atlas `a` holds the block of `per_row x per_row`
/// grid cells at block column `a % blocks_x`, block row `a / blocks_x`, each sprite at its
/// cell's place in the block; `cells` is each atlas's width and height in cells (smaller at the
/// grid's right and bottom edges).
#[derive(Serialize)]
struct Level {
    side: u32,
    per_row: u32,
    blocks_x: u32,
    cells: Vec<[u32; 2]>,
    /// The atlases as data URIs; empty when they are tiles (`atlas-<side>-<a>`).
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
    /// What each item is called ([`crate::data::Item::name`]): searched and shown; empty where
    /// that is the source's last part (the page fills it in).
    names: Vec<String>,
    labels: Vec<String>,
    label: Vec<usize>,
    cluster: Vec<usize>,
    cluster_names: Vec<String>,
    /// [`PALETTE`]: distinct colours for the largest groups, then "other".
    palette: Vec<[u8; 3]>,
    /// Unit coordinates x, y of every item, as [`unit_u16`].
    map: String,
    map_sprite: f32,
    /// Every item's grid cell (column, row) as u16 pairs; its centre is (cell + 0.5) ·
    /// `grid_sprite`, so that the cells tile without seams.
    grid: String,
    grid_sprite: f32,
    k: usize,
    /// Each item's `k` neighbours as [`ids_u24`]; empty when they are tiles (`neighbours-<c>`,
    /// [`NEIGHBOUR_CHUNK`] items each).
    neighbours: String,
    /// Their cosine similarities in thousandths, as [`thousandths_i16`] (the panel shows 3
    /// decimals).
    similarities: String,
    neighbour_chunk: usize,
    /// Where the tiles are, relative to the page (`map/`), or empty when everything is embedded.
    tiles: String,
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

/// The side of the closest level of detail the page draws `n` images of `side` px at.
pub(crate) fn closest_level_side(n: usize, side: u32) -> u32 {
    level_sides(n, side).into_iter().max().unwrap_or(side)
}

/// One level's atlases ([`Level`]) for the items in grid `cells` of a `columns x rows` grid,
/// each encoded as a data URI ([`encode_atlas`]) and handed to `keep` with its index.
fn atlas_level(
    images: &ImageSet,
    cells: &[(u32, u32)],
    (columns, rows): (usize, usize),
    side: u32,
    keep: &mut dyn FnMut(usize, String) -> Result<()>,
) -> Result<Level> {
    let per_row = ATLAS_SIDE / side;
    let (blocks_x, blocks_y) = ((columns as u32).div_ceil(per_row), (rows as u32).div_ceil(per_row));
    let atlas_of = |(column, row): (u32, u32)| ((row / per_row) * blocks_x + column / per_row) as usize;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); (blocks_x * blocks_y) as usize];
    for (item, &cell) in cells.iter().enumerate() {
        members[atlas_of(cell)].push(item);
    }
    let mut sizes = Vec::with_capacity(members.len());
    for (a, items) in members.iter().enumerate() {
        let (bx, by) = (a as u32 % blocks_x, a as u32 / blocks_x);
        let width = per_row.min(columns as u32 - bx * per_row);
        let height = per_row.min(rows as u32 - by * per_row);
        let sprites: Vec<RgbaImage> = items
            .par_iter()
            .map(|&i| image::imageops::resize(&item_image(images, i), side, side, FilterType::Triangle))
            .collect();
        let mut atlas = RgbaImage::new(width * side, height * side);
        for (&i, sprite) in items.iter().zip(&sprites) {
            let (column, row) = (cells[i].0 % per_row, cells[i].1 % per_row);
            image::imageops::replace(&mut atlas, sprite, (column * side) as i64, (row * side) as i64);
        }
        drop(sprites);
        keep(a, encode_atlas(atlas, images.color)?)?;
        sizes.push([width, height]);
    }
    Ok(Level { side, per_row, blocks_x, cells: sizes, images_data: Vec::new() })
}

/// An atlas as a data URI: PNG when the images have alpha; JPEG for colour; for grey images one
/// grey channel, as PNG or JPEG, whichever is smaller (digits and glyphs on a flat ground
/// compress better without loss, grey photographs as JPEG).
fn encode_atlas(atlas: RgbaImage, color: ColorMode) -> Result<String> {
    let png = |image: &image::DynamicImage| -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        image
            .write_with_encoder(image::codecs::png::PngEncoder::new_with_quality(
                &mut bytes,
                image::codecs::png::CompressionType::Best,
                image::codecs::png::FilterType::Adaptive,
            ))
            .context("cannot encode a sprite atlas")?;
        Ok(bytes)
    };
    let jpeg = |image: &image::DynamicImage| -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg).context("cannot encode a sprite atlas")?;
        Ok(bytes)
    };
    let (mime, bytes) = match color {
        ColorMode::Rgba => ("image/png", png(&image::DynamicImage::ImageRgba8(atlas))?),
        ColorMode::Rgb => {
            ("image/jpeg", jpeg(&image::DynamicImage::ImageRgb8(image::DynamicImage::ImageRgba8(atlas).to_rgb8()))?)
        }
        ColorMode::Grey => {
            let grey = image::DynamicImage::ImageLuma8(image::DynamicImage::ImageRgba8(atlas).to_luma8());
            let (lossless, lossy) = (png(&grey)?, jpeg(&grey)?);
            if lossless.len() <= lossy.len() { ("image/png", lossless) } else { ("image/jpeg", lossy) }
        }
    };
    Ok(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(&bytes)))
}

/// The page for a run's map: its `coords` (the UMAP map), `clusters`, and `neighbours` (each item's
/// top matches, itself excluded). From `render.html_tiles_from` items on, its tiles are written into the
/// folder `tiles` (created), which must end up as [`TILES_FOLDER`] beside the page.
pub(crate) fn map_page(title: &str, map: &MapData, config: &RenderConfig, tiles: &Path) -> Result<String> {
    let MapData { images, coords, clusters, neighbours } = *map;
    let n = images.len();
    if n >= NO_NEIGHBOUR as usize {
        bail!("map.html holds at most {} items; this run has {n}", NO_NEIGHBOUR - 1);
    }
    let tiled = n >= config.html_tiles_from;
    if tiled {
        std::fs::create_dir_all(tiles).with_context(|| format!("cannot create {}", tiles.display()))?;
    }
    // A tile is a script that hands its name and its data (JSON) to the page's `hebbTile`.
    let write_tile = |name: &str, payload: String| -> Result<()> {
        let path = tiles.join(format!("{name}.js"));
        let script = format!("hebbTile({},{payload});\n", serde_json::to_string(name)?);
        std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))
    };
    let flat = |points: Vec<(f32, f32)>| unit_u16(points.into_iter().flat_map(|(x, y)| [x, y]));
    let (map, map_sprite) = unit_layout(coords, &RenderConfig { layout: CanvasLayout::Scatter, ..config.clone() });
    let (cells, grid_sprite) = unit_grid(coords);
    let grid =
        base64(&cells.iter().flat_map(|&(c, r)| [c as u16, r as u16]).flat_map(u16::to_le_bytes).collect::<Vec<u8>>());
    let (label, labels) = if images.has_labels() { label_groups(&images.items) } else { (Vec::new(), Vec::new()) };
    let cluster_count = clusters.iter().copied().max().map_or(0, |c| c + 1);
    let cluster_names = (0..cluster_count).map(|c| format!("cluster {c}")).collect();
    let k = neighbours.k;
    let rows = |range: std::ops::Range<usize>| range.map(|i| neighbours.row(i));
    let neighbour_pair = |range: std::ops::Range<usize>| {
        (
            ids_u24(rows(range.clone()).flat_map(|(ids, _)| ids.iter().copied())),
            thousandths_i16(rows(range).flat_map(|(_, sims)| sims.iter().copied())),
        )
    };
    let (neighbour_ids, similarities) = if tiled {
        for (chunk, first) in (0..n).step_by(NEIGHBOUR_CHUNK).enumerate() {
            let pair = neighbour_pair(first..(first + NEIGHBOUR_CHUNK).min(n));
            write_tile(&format!("neighbours-{chunk}"), serde_json::to_string(&pair)?)?;
        }
        (String::new(), String::new())
    } else {
        neighbour_pair(0..n)
    };
    let shape = grid_shape(n.max(1));
    let mut atlases = Vec::new();
    for side in level_sides(n, images.side.min(images.source_side) as u32) {
        let mut embedded = Vec::new();
        let mut level = atlas_level(images, &cells, shape, side, &mut |a, uri| {
            if tiled {
                write_tile(&format!("atlas-{side}-{a}"), serde_json::to_string(&uri)?)
            } else {
                embedded.push(uri);
                Ok(())
            }
        })?;
        level.images_data = embedded;
        atlases.push(level);
    }
    let (folders, folder, files) = split_sources(&images.items);
    let data = PageData {
        title: title.to_string(),
        folders,
        folder,
        files,
        names: images.items.iter().map(|i| i.name.clone().unwrap_or_default()).collect(),
        palette: PALETTE.to_vec(),
        labels,
        label,
        cluster: clusters.to_vec(),
        cluster_names,
        map: flat(map),
        map_sprite,
        grid,
        grid_sprite,
        k,
        neighbours: neighbour_ids,
        similarities,
        neighbour_chunk: NEIGHBOUR_CHUNK,
        tiles: if tiled { format!("{TILES_FOLDER}/") } else { String::new() },
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

/// Marks "no neighbour" in [`ids_u24`] (the page reads it as -1).
const NO_NEIGHBOUR: u32 = 0xff_ffff;

/// Base64 of little-endian binary values: what the page decodes into typed arrays, at 1.33
/// characters a byte where JSON numbers take 6 to 8 characters each.
fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Values in [0, 1] as u16 in 65,535ths.
fn unit_u16(values: impl Iterator<Item = f32>) -> String {
    let bytes: Vec<u8> = values.flat_map(|v| ((v.clamp(0.0, 1.0) * 65_535.0).round() as u16).to_le_bytes()).collect();
    base64(&bytes)
}

/// Item ids as 3-byte little-endian values (up to 16,777,214 items), [`NO_NEIGHBOUR`] for none.
fn ids_u24(ids: impl Iterator<Item = u32>) -> String {
    let bytes: Vec<u8> = ids.flat_map(|id| id.min(NO_NEIGHBOUR).to_le_bytes().into_iter().take(3)).collect();
    base64(&bytes)
}

/// Values in [-1, 1] as i16 in thousandths.
fn thousandths_i16(values: impl Iterator<Item = f32>) -> String {
    let bytes: Vec<u8> = values.flat_map(|v| ((v.clamp(-1.0, 1.0) * 1000.0).round() as i16).to_le_bytes()).collect();
    base64(&bytes)
}

/// The items' sources split after their last `/`, `\\` or `#` into the distinct prefixes (a
/// folder, `sheet.png#`, `t10k-images-idx3-ubyte#`), each item's prefix among them, and the rest
/// (a file name, a sprite's `3,4`, an IDX entry's index).
fn split_sources(items: &[crate::data::Item]) -> (Vec<String>, Vec<u32>, Vec<String>) {
    let mut folders: Vec<String> = Vec::new();
    let mut known = std::collections::HashMap::new();
    let mut folder = Vec::with_capacity(items.len());
    let mut files = Vec::with_capacity(items.len());
    for item in items {
        let cut = item.source.rfind(['/', '\\', '#']).map_or(0, |at| at + 1);
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
        assert_eq!(level_sides(20_000, 96), vec![16, 32]);
        assert_eq!(level_sides(30_000, 96), vec![16]);
        assert_eq!(level_sides(100_000, 64), vec![16]);
        assert_eq!(level_sides(500, 12), vec![12]);
    }

    #[test]
    fn each_atlas_holds_one_block_of_grid_cells_at_their_places() {
        use crate::config::ColorMode;
        use crate::data::Item;
        // Nine solid 2-px images on a 9 x 1 grid, item i in column 8 - i; at 512 px a block is
        // 8 cells wide, so atlas 0 holds columns 0-7 and atlas 1 column 8 alone.
        let items = (0..9u8).map(|i| {
            let item = Item { source: format!("#{i}"), label: None, name: None };
            (item, [vec![20 * i; 4], vec![7; 4], vec![200; 4], vec![255; 4]].concat())
        });
        let images = ImageSet::new(2, ColorMode::Rgba, items.collect(), Vec::new()).unwrap();
        let cells: Vec<(u32, u32)> = (0..9).map(|i| (8 - i, 0)).collect();
        let mut atlases = Vec::new();
        let level = atlas_level(&images, &cells, (9, 1), 512, &mut |a, uri| {
            atlases.push((a, uri));
            Ok(())
        })
        .unwrap();
        assert_eq!((level.per_row, level.blocks_x), (8, 2));
        assert_eq!(level.cells, [[8, 1], [1, 1]]);
        let decode = |uri: &str| {
            let png = base64::engine::general_purpose::STANDARD.decode(uri.split_once(',').unwrap().1).unwrap();
            image::load_from_memory(&png).unwrap().to_rgba8()
        };
        let first = decode(&atlases[0].1);
        assert_eq!(first.dimensions(), (8 * 512, 512));
        for column in 0..8u32 {
            let red = first.get_pixel(column * 512 + 256, 256)[0];
            assert_eq!(red, 20 * (8 - column as u8), "column {column} holds item {}", 8 - column);
        }
        let second = decode(&atlases[1].1);
        assert_eq!((atlases[1].0, second.dimensions()), (1, (512, 512)));
        assert_eq!(second.get_pixel(256, 256)[0], 0, "item 0 sits in column 8");
    }

    #[test]
    fn sources_keep_each_prefix_once() {
        let item = |source: &str| crate::data::Item { source: source.into(), label: None, name: None };
        let items = [item("/data/a/x.png"), item("/data/b/y.png"), item("/data/a/z.png"), item("sheet.png#1,2")];
        let (folders, folder, files) = split_sources(&items);
        assert_eq!(folder, [0, 1, 0, 2]);
        assert_eq!(folders, ["/data/a/", "/data/b/", "sheet.png#"]);
        assert_eq!(files, ["x.png", "y.png", "z.png", "1,2"]);
    }

    #[test]
    fn binary_arrays_are_little_endian_base64() {
        let bytes = |text: String| base64::engine::general_purpose::STANDARD.decode(text).unwrap();
        // 0 -> 0, 1 -> 65535, 0.5 -> 32768 (rounded), out of range clamped.
        assert_eq!(bytes(unit_u16([0.0, 1.0, 0.5, 2.0].into_iter())), [0, 0, 255, 255, 0, 128, 255, 255]);
        // 1 and 70,000 in three bytes each; u32::MAX (none) as 0xffffff.
        assert_eq!(bytes(ids_u24([1, 70_000, u32::MAX].into_iter())), [1, 0, 0, 0x70, 0x11, 0x01, 255, 255, 255]);
        // 0.862 -> 862, -0.5 -> -500 (two's complement).
        assert_eq!(bytes(thousandths_i16([0.862_3, -0.5].into_iter())), [0x5e, 0x03, 0x0c, 0xfe]);
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
