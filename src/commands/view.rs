//! `hebb view`: writes (or rewrites) a finished run's interactive map, `map.html` (and its tiles,
//! `map/`, for a large run), from its features, map and clusters, without encoding anything
//! again.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::compute::device::RunContext;
use crate::config::TOP_K;
use crate::neighbours;
use crate::render;
use crate::render::MapData;
use crate::render::html::{TILES_FOLDER, map_page};
use crate::run::items::read_map_csv;
use crate::run::reader::load_run_images;
use crate::run::{MAP_FILE, MAP_HTML_FILE, Run, write_atomically, write_folder_atomically};

/// Writes `map.html` into the run's folder and returns its path.
pub(crate) fn run(run: &Run, context: &RunContext) -> Result<PathBuf> {
    let data = render::pictures_data(&run.config.data, run.items.len(), &run.config.render);
    let images = load_run_images(&data, &run.items, context.progress)?;
    let (coords, clusters) = read_map_csv(&run.dir.join(MAP_FILE))?;
    if coords.len() != run.items.len() {
        bail!("{} has {} rows for the run's {} items", MAP_FILE, coords.len(), run.items.len());
    }
    let width = (TOP_K + 1).min(run.features.rows);
    let neighbours = neighbours::drop_self(
        &neighbours::search_all_for_map(&run.features, width, &run.config.map, context.device(), context.progress)?.0,
    );
    // The tiles of a large map first, so that the page never names tiles that are not there.
    let mut page = String::new();
    write_folder_atomically(&run.dir.join(TILES_FOLDER), |tiles| {
        let map = MapData { images: &images, coords: &coords, clusters: &clusters, neighbours: &neighbours };
        page = map_page(&run.config.name, &map, &run.config.render, tiles)?;
        Ok(())
    })?;
    let path = run.dir.join(MAP_HTML_FILE);
    write_atomically(&path, page.as_bytes())?;
    Ok(path)
}
