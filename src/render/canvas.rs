//! The sprite canvas: where each image goes and how big it is drawn.
//!
//! - `scatter` places every image at its map position. The map is scaled per axis so that the
//!   `clip_percentile`-th and (100 − p)-th percentiles reach the drawable area's edges, and the
//!   few items beyond them are clamped onto the border, so that far outliers no longer squeeze
//!   the rest into the middle. Each axis is then blended (`spread`) with the items' ranks along
//!   it, which shrinks the empty gaps between clusters while keeping every item's order along
//!   both axes. Images are drawn in a seeded random order, so that no group systematically
//!   covers another.
//! - `grid` gives every image its own cell of a square grid with map neighbours in nearby cells,
//!   by recursive bisection: the block of cells is halved along its longer side, the items are
//!   split between the halves in proportion to their cells by their coordinate along that side,
//!   and each half is recursed into. O(N log N), a few hundred milliseconds at 100,000 items.

use image::imageops::{FilterType, overlay};
use image::{Rgba, RgbaImage};
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::{BACKGROUND, item_image};
use crate::compute::rng::seeded;
use crate::config::{CanvasLayout, RenderConfig};
use crate::data::ImageSet;

/// Side of the square cells in which [`coverage`] counts the canvas's use.
pub(crate) const COVERAGE_CELL: u32 = 50;

/// Sprites resized at once.
const SPRITE_CHUNK: usize = 4096;

/// Where every image goes: its centre on the canvas, the side it is drawn at, and the drawing
/// order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placement {
    pub centres: Vec<(f32, f32)>,
    pub sprite: u32,
    pub order: Vec<usize>,
}

/// The `p`-th percentile (0..=100) of `values`, by linear interpolation between order statistics.
fn percentile(values: &mut [f32], p: f32) -> f32 {
    values.sort_unstable_by(f32::total_cmp);
    let rank = p / 100.0 * (values.len() - 1) as f32;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    values[low] + (values[high] - values[low]) * (rank - low as f32)
}

/// Map coordinates scaled into [0, 1] on both axes so that each axis's `clip`-th and
/// (100 − clip)-th percentiles reach the edges (the items beyond are clamped), then moved the
/// fraction `spread` of the way towards their rank along the axis.
pub(crate) fn scatter_unit(coords: &[[f32; 2]], clip: f32, spread: f32) -> Vec<(f32, f32)> {
    let axis = |d: usize| -> Vec<f32> {
        let mut values: Vec<f32> = coords.iter().map(|p| p[d]).collect();
        let lo = percentile(&mut values, clip);
        let range = (percentile(&mut values, 100.0 - clip) - lo).max(1e-8);
        let mut by_value: Vec<usize> = (0..coords.len()).collect();
        by_value.sort_by(|&a, &b| coords[a][d].total_cmp(&coords[b][d]).then(a.cmp(&b)));
        let mut rank = vec![0.0; coords.len()];
        for (r, &i) in by_value.iter().enumerate() {
            rank[i] = r as f32 / (coords.len() - 1).max(1) as f32;
        }
        coords
            .iter()
            .zip(rank)
            .map(|(p, rank)| (1.0 - spread) * ((p[d] - lo) / range).clamp(0.0, 1.0) + spread * rank)
            .collect()
    };
    axis(0).into_iter().zip(axis(1)).collect()
}

/// The columns and rows of the most nearly square grid with at least `n` cells.
pub(crate) fn grid_shape(n: usize) -> (usize, usize) {
    let columns = (n as f64).sqrt().ceil().max(1.0) as usize;
    (columns, n.div_ceil(columns).max(1))
}

/// A distinct (column, row) cell of a `columns x rows` grid for every item, map neighbours in
/// nearby cells (see the module's doc). Needs `columns * rows >= coords.len()`.
pub(crate) fn grid_cells(coords: &[[f32; 2]], columns: usize, rows: usize) -> Vec<(u32, u32)> {
    assert!(columns * rows >= coords.len(), "the grid has fewer cells than items");
    let mut cells = vec![(0, 0); coords.len()];
    let mut items: Vec<u32> = (0..coords.len() as u32).collect();
    bisect(&mut items, coords, (0, 0, columns, rows), &mut cells);
    cells
}

/// Assigns `items` to the cells of the block (x, y, width, height), which has room for them.
fn bisect(items: &mut [u32], coords: &[[f32; 2]], block: (usize, usize, usize, usize), cells: &mut [(u32, u32)]) {
    let (x, y, width, height) = block;
    match items.len() {
        0 => return,
        1 if width * height == 1 => {
            cells[items[0] as usize] = (x as u32, y as u32);
            return;
        }
        _ => {}
    }
    let along_x = width >= height;
    let (first, second) = if along_x {
        let half = width / 2;
        ((x, y, half, height), (x + half, y, width - half, height))
    } else {
        let half = height / 2;
        ((x, y, width, half), (x, y + half, width, height - half))
    };
    let (first_cells, second_cells) = (first.2 * first.3, second.2 * second.3);
    let n = items.len();
    let share = (n as f64 * first_cells as f64 / (width * height) as f64).round() as usize;
    let split = share.clamp(n.saturating_sub(second_cells), first_cells.min(n));
    let axis = if along_x { 0 } else { 1 };
    let key = |&i: &u32| (coords[i as usize][axis], i);
    if split > 0 && split < n {
        items.select_nth_unstable_by(split, |a, b| key(a).0.total_cmp(&key(b).0).then(key(a).1.cmp(&key(b).1)));
    }
    let (left, right) = items.split_at_mut(split);
    bisect(left, coords, first, cells);
    bisect(right, coords, second, cells);
}

/// Where every image goes in the unit square, its centre in [0, 1]², and the side of the square
/// each image may take (as a fraction of the unit square's side): the grid's cell, or for the
/// scatter the side at which the images' total area equals the square's.
pub(crate) fn unit_layout(coords: &[[f32; 2]], config: &RenderConfig) -> (Vec<(f32, f32)>, f32) {
    let n = coords.len().max(1);
    match config.layout {
        CanvasLayout::Scatter => (scatter_unit(coords, config.clip_percentile, config.spread), 1.0 / (n as f32).sqrt()),
        CanvasLayout::Grid => {
            let (cells, cell) = unit_grid(coords);
            let centres = cells.into_iter().map(|(c, r)| ((c as f32 + 0.5) * cell, (r as f32 + 0.5) * cell)).collect();
            (centres, cell)
        }
    }
}

/// The grid layout in the unit square: every image's (column, row) and the cells' side; cell
/// (c, r)'s centre is ((c + 0.5) · side, (r + 0.5) · side).
pub(crate) fn unit_grid(coords: &[[f32; 2]]) -> (Vec<(u32, u32)>, f32) {
    let (columns, rows) = grid_shape(coords.len().max(1));
    (grid_cells(coords, columns, rows), 1.0 / columns.max(rows) as f32)
}

/// Where every image goes on the canvas `config` describes.
pub(crate) fn place(coords: &[[f32; 2]], config: &RenderConfig) -> Placement {
    let (margin, span) = (config.margin as f32, (config.canvas_size - 2 * config.margin) as f32);
    let (unit, _) = unit_layout(coords, config);
    let centres = unit.into_iter().map(|(x, y)| (margin + x * span, margin + y * span)).collect();
    let sprite = sprite_side(coords.len(), config);
    let order = match config.layout {
        CanvasLayout::Scatter => {
            let mut order: Vec<usize> = (0..coords.len()).collect();
            order.shuffle(&mut seeded(config.seed));
            order
        }
        CanvasLayout::Grid => (0..coords.len()).collect(),
    };
    Placement { centres, sprite, order }
}

/// The side (px) the canvas draws each of `n` images at: `render.sprite_size`, or for 0 the
/// scatter's side at which the images' total area equals the canvas's (4 to 128 px), or the
/// grid's cell (less a 1-px gap once cells are large enough to spare it), which also bounds a
/// set `sprite_size` on the grid.
pub(crate) fn sprite_side(n: usize, config: &RenderConfig) -> u32 {
    let span = (config.canvas_size - 2 * config.margin) as f32;
    match config.layout {
        CanvasLayout::Scatter => {
            let auto = (1.0 / (n.max(1) as f32).sqrt() * span).round().clamp(4.0, 128.0) as u32;
            if config.sprite_size > 0 { config.sprite_size } else { auto }
        }
        CanvasLayout::Grid => {
            let (columns, rows) = grid_shape(n.max(1));
            let cell = 1.0 / columns.max(rows) as f32 * span;
            let auto = if cell >= 8.0 { cell.floor() as u32 - 1 } else { cell.floor().max(1.0) as u32 };
            if config.sprite_size > 0 { config.sprite_size.min(auto) } else { auto }
        }
    }
}

/// Share of the canvas's `cell`-px cells (those inside the margin) that some image's square
/// touches.
pub(crate) fn coverage(placement: &Placement, size: u32, margin: u32, cell: u32) -> f64 {
    let per_side = (size - 2 * margin).div_ceil(cell) as i64;
    let mut touched = vec![false; (per_side * per_side) as usize];
    let half = placement.sprite as f32 / 2.0;
    let cell_of = |v: f32| (((v - margin as f32) / cell as f32).floor() as i64).clamp(0, per_side - 1);
    for &(x, y) in &placement.centres {
        // The last pixel a sprite covers is at centre + half − 1.
        let (c0, c1) = (cell_of(x - half), cell_of(x + half - 1.0));
        let (r0, r1) = (cell_of(y - half), cell_of(y + half - 1.0));
        for r in r0..=r1 {
            for c in c0..=c1 {
                touched[(r * per_side + c) as usize] = true;
            }
        }
    }
    touched.iter().filter(|&&t| t).count() as f64 / touched.len() as f64
}

/// The sprite canvas twice: each image resized once and drawn at its place in both, plainly in
/// the first and in the second with a frame in its cluster's colour (`colours`, one per cluster).
pub(crate) fn sprite_canvases(
    images: &ImageSet,
    placement: &Placement,
    config: &RenderConfig,
    clusters: &[usize],
    colours: &[[u8; 3]],
) -> (RgbaImage, RgbaImage) {
    let size = config.canvas_size;
    let background = if config.transparent_background {
        Rgba([0, 0, 0, 0])
    } else {
        Rgba([BACKGROUND[0], BACKGROUND[1], BACKGROUND[2], 255])
    };
    let mut plain = RgbaImage::from_pixel(size, size, background);
    let mut framed = plain.clone();
    let s = placement.sprite;
    let frame = if s >= 12 { 2 } else { 1 };
    // Sprites are resized in parallel a chunk at a time and drawn in the placement's order, so
    // the canvases do not depend on the thread count and memory stays at one chunk of sprites.
    for chunk in placement.order.chunks(SPRITE_CHUNK) {
        let sprites: Vec<RgbaImage> = chunk
            .par_iter()
            .map(|&i| image::imageops::resize(&item_image(images, i), s, s, FilterType::Triangle))
            .collect();
        for (mut sprite, &i) in sprites.into_iter().zip(chunk) {
            let (x, y) = placement.centres[i];
            let (x, y) = ((x - s as f32 / 2.0).round() as i64, (y - s as f32 / 2.0).round() as i64);
            overlay(&mut plain, &sprite, x, y);
            let [r, g, b] = colours[clusters[i]];
            for (px, py, pixel) in sprite.enumerate_pixels_mut() {
                if px < frame || py < frame || px + frame >= s || py + frame >= s {
                    *pixel = Rgba([r, g, b, 255]);
                }
            }
            overlay(&mut framed, &sprite, x, y);
        }
    }
    (plain, framed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded stand-in for a map: `n` points in a few blobs, one far outlier.
    fn blobs(n: usize) -> Vec<[f32; 2]> {
        let mut rng = seeded(5);
        use rand::RngExt;
        let mut coords: Vec<[f32; 2]> = (0..n)
            .map(|i| {
                let centre = [(i % 4) as f32 * 3.0, (i % 3) as f32 * 2.0];
                [centre[0] + rng.random_range(-1.0..1.0), centre[1] + rng.random_range(-1.0..1.0)]
            })
            .collect();
        coords[0] = [500.0, -400.0];
        coords
    }

    #[test]
    fn percentile_scaling_spreads_the_bulk_and_clamps_outliers_to_the_border() {
        let coords = blobs(1000);
        let positions = scatter_unit(&coords, 1.0, 0.0);
        assert_eq!(positions[0], (1.0, 0.0), "the outlier is clamped onto the border");
        assert!(positions.iter().all(|&(x, y)| (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y)));
        // Min-max scaling would squeeze the other 999 points into under 3% of the width.
        let xs: Vec<f32> = positions[1..].iter().map(|p| p.0).collect();
        let spread = xs.iter().cloned().fold(f32::MIN, f32::max) - xs.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread >= 0.98, "the bulk spans the canvas: {spread}");
        // Spread moves each item towards its rank, keeping the order along each axis.
        let spread = scatter_unit(&coords, 1.0, 0.5);
        for d in [0, 1] {
            let coordinate = |p: &(f32, f32)| if d == 0 { p.0 } else { p.1 };
            let mut by_map: Vec<usize> = (0..coords.len()).collect();
            by_map.sort_by(|&a, &b| coords[a][d].total_cmp(&coords[b][d]));
            assert!(by_map.windows(2).all(|w| coordinate(&spread[w[0]]) <= coordinate(&spread[w[1]])));
        }
        let mut values = vec![3.0, 1.0, 2.0, 4.0, 5.0];
        assert_eq!(percentile(&mut values, 50.0), 3.0);
        assert_eq!(percentile(&mut values, 25.0), 2.0);
        assert_eq!(percentile(&mut values, 10.0), 1.4);
    }

    #[test]
    fn grid_cells_are_a_permutation_that_keeps_neighbourhoods() {
        let coords = blobs(997);
        let (columns, rows) = grid_shape(coords.len());
        assert!(columns * rows >= 997 && (columns - 1) * rows < 997);
        let cells = grid_cells(&coords, columns, rows);
        let mut seen = std::collections::HashSet::new();
        for &(c, r) in &cells {
            assert!((c as usize) < columns && (r as usize) < rows);
            assert!(seen.insert((c, r)), "two items in cell ({c}, {r})");
        }
        // Items in horizontally adjacent cells are near on the map, far nearer than in a random grid.
        let at: std::collections::HashMap<(u32, u32), usize> = cells.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        let distance =
            |a: usize, b: usize| ((coords[a][0] - coords[b][0]).powi(2) + (coords[a][1] - coords[b][1]).powi(2)).sqrt();
        let mean_gap = |at: &std::collections::HashMap<(u32, u32), usize>| {
            let pairs: Vec<f32> = at
                .iter()
                .filter_map(|(&(c, r), &i)| at.get(&(c + 1, r)).map(|&j| distance(i, j)))
                .filter(|d| *d < 100.0)
                .collect();
            pairs.iter().sum::<f32>() / pairs.len() as f32
        };
        let mut shuffled: Vec<(u32, u32)> = cells.clone();
        shuffled.shuffle(&mut seeded(1));
        let random: std::collections::HashMap<(u32, u32), usize> =
            shuffled.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        let (ours, theirs) = (mean_gap(&at), mean_gap(&random));
        assert!(ours < 0.3 * theirs, "grid neighbours {ours}, random grid {theirs}");
    }

    #[test]
    fn coverage_counts_the_cells_that_sprites_touch() {
        let placement = Placement { centres: vec![(100.0, 100.0), (160.0, 60.0)], sprite: 50, order: vec![0, 1] };
        // 200 px inside the margin: 4 x 4 cells of 50 px; the first sprite touches 4, the second 2,
        // one of them shared.
        assert_eq!(coverage(&placement, 300, 50, 50), 5.0 / 16.0);
        let config = RenderConfig { canvas_size: 1100, margin: 50, ..RenderConfig::default() };
        let coords = blobs(400);
        let scatter = place(&coords, &config);
        let grid = place(&coords, &RenderConfig { layout: CanvasLayout::Grid, ..config.clone() });
        assert_eq!(grid.sprite, 49, "a 20 x 20 grid of 50-px cells with a 1-px gap");
        assert!(coverage(&grid, 1100, 50, 50) >= 0.99);
        assert!(coverage(&scatter, 1100, 50, 50) >= 0.5, "{}", coverage(&scatter, 1100, 50, 50));
    }
}
