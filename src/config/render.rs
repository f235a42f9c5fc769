//! The `[render]` table of a run's config: the pictures' sizes.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::DEFAULT_SEED;

/// Render settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RenderConfig {
    /// Side of the square sprite canvas, in pixels.
    pub canvas_size: u32,
    /// Space kept free on each side of the canvas.
    pub margin: u32,
    /// Side each image is drawn at on the canvas.
    pub sprite_size: u32,
    /// Leave the canvas background transparent instead of dark.
    pub transparent_background: bool,
    /// Query rows of the neighbour grid.
    pub neighbour_rows: usize,
    /// Side of one image in the neighbour grid.
    pub cell_size: u32,
    /// Seed of the neighbour grid's sample of queries.
    pub seed: u64,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            canvas_size: 2500,
            margin: 60,
            sprite_size: 48,
            transparent_background: false,
            neighbour_rows: 10,
            cell_size: 96,
            seed: DEFAULT_SEED,
        }
    }
}

impl RenderConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        for (key, value) in [
            ("canvas_size", self.canvas_size as usize),
            ("sprite_size", self.sprite_size as usize),
            ("neighbour_rows", self.neighbour_rows),
            ("cell_size", self.cell_size as usize),
        ] {
            if value == 0 {
                bail!("key `render.{key}`: expected a positive value, got 0");
            }
        }
        if 2 * self.margin >= self.canvas_size {
            bail!(
                "key `render.margin`: expected less than half of canvas_size ({}), got {}",
                self.canvas_size,
                self.margin
            );
        }
        Ok(())
    }
}
