//! The `[render]` table of a run's config: the pictures' layout and sizes.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::DEFAULT_SEED;

/// How the sprite canvas places the images.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum CanvasLayout {
    /// Every image at its map position, the map scaled between percentiles so that outliers
    /// sit on the border; images may overlap, drawn in a seeded random order.
    Scatter,
    /// Every image in its own cell of a square grid, map neighbours in nearby cells: no overlap,
    /// and the whole canvas used.
    #[default]
    Grid,
}

/// Render settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    pub layout: CanvasLayout,
    /// Side of the square sprite canvas, in pixels.
    pub canvas_size: u32,
    /// Space kept free on each side of the canvas.
    pub margin: u32,
    /// Side each image is drawn at on the canvas; 0 picks it from the item count: the side at
    /// which the images' total area equals the canvas's (the grid's cell, for `grid`).
    pub sprite_size: u32,
    /// `scatter`: the map is scaled so that this percentile and its mirror (100 − p) of each
    /// axis reach the canvas's edges; items beyond them are clamped to the border.
    pub clip_percentile: f32,
    /// `scatter`: how far each axis moves from the map's scale (0) towards the items' ranks along
    /// it (1). Ranks fill the canvas evenly, shrinking the empty gaps between a map's clusters,
    /// and keep every item's order along both axes.
    pub spread: f32,
    /// Leave the canvas background transparent instead of dark.
    pub transparent_background: bool,
    /// Query rows of the neighbour grid.
    pub neighbour_rows: usize,
    /// Side of one image in the neighbour grid.
    pub cell_size: u32,
    /// Seed of the neighbour grid's sample of queries and of the drawing orders.
    pub seed: u64,
    /// Write `map.html`, the interactive map (pan, zoom, hover for neighbours, search, selection).
    pub html: bool,
    /// Items from which `map.html` keeps its sprite atlases and neighbours in a folder `map/`
    /// beside it, loaded as the view needs them, instead of inside the page.
    pub html_tiles_from: usize,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            layout: CanvasLayout::default(),
            canvas_size: 2500,
            margin: 60,
            sprite_size: 0,
            clip_percentile: 1.0,
            spread: 0.5,
            transparent_background: false,
            neighbour_rows: 10,
            cell_size: 96,
            seed: DEFAULT_SEED,
            html: true,
            html_tiles_from: 100_000,
        }
    }
}

/// The largest neighbour-grid cell: a sprite drawn bigger than this shows nothing more.
const MAX_CELL_SIZE: u32 = 4096;

impl RenderConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        for (key, value) in [
            ("canvas_size", self.canvas_size as usize),
            ("neighbour_rows", self.neighbour_rows),
            ("cell_size", self.cell_size as usize),
        ] {
            if value == 0 {
                bail!("key `render.{key}`: expected a positive value, got 0");
            }
        }
        if self.cell_size > MAX_CELL_SIZE {
            bail!(
                "key `render.cell_size`: expected at most {MAX_CELL_SIZE} px per neighbour-grid cell, got {}",
                self.cell_size
            );
        }
        if 2 * self.margin >= self.canvas_size {
            bail!(
                "key `render.margin`: expected less than half of canvas_size ({}), got {}",
                self.canvas_size,
                self.margin
            );
        }
        if !(0.0..50.0).contains(&self.clip_percentile) {
            bail!("key `render.clip_percentile`: expected a percentile in [0, 50), got {}", self.clip_percentile);
        }
        if !(0.0..=1.0).contains(&self.spread) {
            bail!("key `render.spread`: expected a value in [0, 1], got {}", self.spread);
        }
        Ok(())
    }
}
