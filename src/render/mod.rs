//! The pictures of a run: the sprite scatter canvas (every image pasted at its map position with
//! its alpha), the same canvas framed by cluster, scatter plots of the map, the top-5 neighbour
//! grid, the training curves and the first layer's filters. Text uses an embedded font (DejaVu Sans), so charts render on a
//! machine with no system fonts.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result};
use image::imageops::{FilterType, overlay};
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use plotters::prelude::*;

pub mod browser;
pub(crate) mod canvas;
pub(crate) mod html;

use rand::seq::SliceRandom;

use crate::compute::rng::seeded;
use crate::config::{DataConfig, RenderConfig};
use crate::data::ImageSet;
use crate::encoder::train::{LayerStats, Stage, TrainingLog};
use crate::neighbours::Neighbours;
use crate::run::{CANVAS_FILE, CLUSTERS_FILE, MAP_CLUSTERS_FILE, MAP_HTML_FILE, MAP_LABELS_FILE, RunFolder};

/// The family name the embedded font is registered under.
pub(crate) const FONT: &str = "sans-serif";
const BACKGROUND: [u8; 3] = [22, 22, 28];
const TEXT: RGBColor = RGBColor(230, 230, 230);

/// A plotters drawing area over a picture.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Draws with plotters on `picture` (the embedded font registered) and returns it.
pub(crate) fn plot_on(mut picture: RgbImage, draw: impl FnOnce(&Canvas) -> Result<()>) -> Result<RgbImage> {
    register_font();
    let (w, h) = picture.dimensions();
    {
        let root = BitMapBackend::with_buffer(picture.as_mut(), (w, h)).into_drawing_area();
        draw(&root)?;
        root.present().map_err(plot_error)?;
    }
    Ok(picture)
}

/// A white `w x h` chart drawn by `draw`.
pub(crate) fn plot(w: u32, h: u32, draw: impl FnOnce(&Canvas) -> Result<()>) -> Result<RgbImage> {
    plot_on(RgbImage::from_pixel(w, h, Rgb([255, 255, 255])), draw)
}

/// Registers the embedded DejaVu Sans for plotters (once per process).
fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans font is valid"));
    });
}

/// Item `index` of `images` as an RGBA picture (grey and RGB items are opaque).
pub(crate) fn item_image(images: &ImageSet, index: usize) -> RgbaImage {
    let planar = images.image(index);
    let side = images.side;
    let plane = side * side;
    RgbaImage::from_fn(side as u32, side as u32, |x, y| {
        let i = y as usize * side + x as usize;
        match images.channels() {
            1 => Rgba([planar[i], planar[i], planar[i], 255]),
            3 => Rgba([planar[i], planar[plane + i], planar[2 * plane + i], 255]),
            _ => Rgba([planar[i], planar[plane + i], planar[2 * plane + i], planar[3 * plane + i]]),
        }
    })
}

/// The group colours of every picture and of the map page: twenty that stay apart on a dark and a
/// light background, then a grey ("other") for the groups past them.
pub(crate) const PALETTE: [[u8; 3]; 21] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [188, 189, 34],
    [23, 190, 207],
    [174, 199, 232],
    [255, 187, 120],
    [152, 223, 138],
    [255, 152, 150],
    [197, 176, 213],
    [196, 156, 148],
    [247, 182, 210],
    [219, 219, 141],
    [158, 218, 229],
    [255, 217, 47],
    [166, 118, 29],
    [128, 128, 128],
];

/// The colour of series `g` (a layer, a load, a cluster centre): the palette's distinct colours
/// in turn.
pub(crate) fn group_colour(g: usize) -> [u8; 3] {
    PALETTE[g % (PALETTE.len() - 1)]
}

/// Each of `count` groups' colour (`groups` holds every item's group): the palette's distinct
/// colours go to the largest groups in order of size (ties to the lower index), the grey to
/// every smaller one, as the map page colours them.
pub(crate) fn colours_by_size(groups: &[usize], count: usize) -> Vec<[u8; 3]> {
    let mut sizes = vec![0usize; count];
    for &g in groups {
        if g < count {
            sizes[g] += 1;
        }
    }
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut colours = vec![PALETTE[PALETTE.len() - 1]; count];
    for (rank, &g) in order.iter().enumerate().take(PALETTE.len() - 1) {
        colours[g] = PALETTE[rank];
    }
    colours
}

/// Width of the legend column beside a picture or a chart: legends never cover what they explain.
const LEGEND_WIDTH: u32 = 300;

/// A legend column: a colour square and the name of each group, one row each, in `text` at
/// `size` px; names too long for the column end in "…", and when not every group fits, the last
/// row says how many more there are.
fn draw_legend(area: &Canvas, names: &[String], colours: &[[u8; 3]], text: RGBColor, size: u32) -> Result<()> {
    let style = TextStyle::from((FONT, size).into_font()).color(&text);
    let (width, height) = area.dim_in_pixel();
    let row = size as i32 + 8;
    let fits = ((height as i32 - 16) / row).max(1) as usize;
    let shown = if names.len() > fits { fits - 1 } else { names.len() };
    let room = width as i32 - 28 - size as i32;
    for (g, name) in names.iter().take(shown).enumerate() {
        let y = 12 + row * g as i32;
        let [r, gr, b] = colours[g];
        area.draw(&Rectangle::new([(12, y), (12 + size as i32, y + size as i32)], RGBColor(r, gr, b).filled()))
            .map_err(plot_error)?;
        area.draw_text(&fitted(area, name, &style, room), &style, (20 + size as i32, y)).map_err(plot_error)?;
    }
    if shown < names.len() {
        let more = format!("… and {} more", names.len() - shown);
        area.draw_text(&more, &style, (12, 12 + row * shown as i32)).map_err(plot_error)?;
    }
    Ok(())
}

/// `text` as drawn in `style` within `room` px: whole when it fits, else cut and ended by "…".
fn fitted(area: &Canvas, text: &str, style: &TextStyle, room: i32) -> String {
    let wide = |t: &str| area.estimate_text_size(t, style).map_or(0, |(w, _)| w as i32);
    if wide(text) <= room {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() && wide(&format!("{}…", chars.iter().collect::<String>())) > room {
        chars.pop();
    }
    format!("{}…", chars.iter().collect::<String>())
}

/// An opaque canvas with a legend column (colour square and name per group, in `colours`) on
/// its right.
/// The canvas is freed once flattened: at 100,000 items the render stage sets the peak memory.
pub(crate) fn add_legend(canvas: RgbaImage, names: &[String], colours: &[[u8; 3]]) -> Result<RgbImage> {
    let (w, h) = canvas.dimensions();
    let mut picture = RgbImage::from_pixel(w + LEGEND_WIDTH, h, Rgb(BACKGROUND));
    image::imageops::replace(&mut picture, &flatten(&canvas), 0, 0);
    drop(canvas);
    plot_on(picture, |root| {
        let (_, legend) = root.split_horizontally(w);
        draw_legend(&legend, names, colours, TEXT, 20)
    })
}

/// An RGBA picture composited onto the dark background.
pub(crate) fn flatten(image: &RgbaImage) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y);
        let a = p[3] as u32;
        let mix = |c: usize| ((p[c] as u32 * a + BACKGROUND[c] as u32 * (255 - a)) / 255) as u8;
        Rgb([mix(0), mix(1), mix(2)])
    })
}

/// A plotters error as an anyhow error.
pub(crate) fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {e:?}")
}

/// One row of the neighbour grid: a query item and its neighbours with their similarities.
pub(crate) type GridRow = (usize, Vec<(usize, f32)>);

/// One row per query: the query, framed, then its neighbours; under each picture its name (and
/// label), and under each neighbour its cosine similarity to the query.
pub(crate) fn neighbour_grid(images: &ImageSet, rows: &[GridRow], cell: u32) -> Result<RgbImage> {
    let columns = rows.iter().map(|(_, n)| n.len() + 1).max().unwrap_or(1) as u32;
    let pad = 8;
    let caption = 42;
    let (w, h) = (columns * (cell + pad) + pad, rows.len() as u32 * (cell + caption + pad) + pad);
    let mut canvas = RgbaImage::from_pixel(w, h, Rgba([BACKGROUND[0], BACKGROUND[1], BACKGROUND[2], 255]));
    let mut captions = Vec::new();
    let mut frames = Vec::new();
    for (r, (query, neighbours)) in rows.iter().enumerate() {
        let y = pad + r as u32 * (cell + caption + pad);
        let cells = std::iter::once((*query, None)).chain(neighbours.iter().map(|&(i, s)| (i, Some(s))));
        for (c, (item, similarity)) in cells.enumerate() {
            let x = pad + c as u32 * (cell + pad);
            let picture = image::imageops::resize(&item_image(images, item), cell, cell, FilterType::Triangle);
            overlay(&mut canvas, &picture, x as i64, y as i64);
            let about = &images.items[item];
            let name = match &about.label {
                Some(label) => format!("{} · {label}", about.name()),
                None => about.name().to_string(),
            };
            let second = match similarity {
                None => {
                    frames.push((x as i32, y as i32));
                    "query".to_string()
                }
                Some(s) => format!("{s:.3}"),
            };
            captions.push((name, second, x as i32 + 2, (y + cell + 3) as i32));
        }
    }
    let frame = RGBColor(255, 196, 64);
    plot_on(flatten(&canvas), |root| {
        let style = TextStyle::from((FONT, 15).into_font()).color(&TEXT);
        for (x, y) in frames {
            let (a, b) = ((x - 3, y - 3), (x + cell as i32 + 2, y + cell as i32 + 2));
            root.draw(&Rectangle::new([a, b], frame.stroke_width(3))).map_err(plot_error)?;
        }
        for (name, second, x, y) in captions {
            root.draw_text(&fitted(root, &name, &style, cell as i32 - 2), &style, (x, y)).map_err(plot_error)?;
            root.draw_text(&second, &style, (x, y + 19)).map_err(plot_error)?;
        }
        Ok(())
    })
}

/// A scatter plot of the map, one colour per group, with a legend of group names.
/// Points are drawn in `order` (a seeded shuffle, so that no group systematically covers
/// another), with a radius that shrinks as their number grows.
pub(crate) fn scatter_chart(
    coords: &[[f32; 2]],
    groups: &[usize],
    names: &[String],
    order: &[usize],
    title: &str,
    size: u32,
) -> Result<RgbImage> {
    let radius = (120.0 / (coords.len().max(1) as f64).sqrt()).round().clamp(1.0, 5.0) as i32;
    plot(size + LEGEND_WIDTH, size, |root| {
        let (area, legend) = root.split_horizontally(size);
        let bounds = |d: usize| {
            let lo = coords.iter().map(|p| p[d]).fold(f32::INFINITY, f32::min);
            let hi = coords.iter().map(|p| p[d]).fold(f32::NEG_INFINITY, f32::max);
            let pad = ((hi - lo) * 0.03).max(1e-3);
            (lo - pad, hi + pad)
        };
        let ((x0, x1), (y0, y1)) = (bounds(0), bounds(1));
        // y grows downwards, as on the map page and the sprite canvas.
        let mut chart = ChartBuilder::on(&area)
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(x0..x1, y1..y0)
            .map_err(plot_error)?;
        chart.configure_mesh().label_style((FONT, 14)).draw().map_err(plot_error)?;
        let colours = colours_by_size(groups, names.len());
        let colour = |g: usize| {
            let [r, gr, b] = colours.get(g).copied().unwrap_or(PALETTE[PALETTE.len() - 1]);
            RGBColor(r, gr, b)
        };
        chart
            .draw_series(
                order.iter().map(|&i| Circle::new((coords[i][0], coords[i][1]), radius, colour(groups[i]).filled())),
            )
            .map_err(plot_error)?;
        draw_legend(&legend.margin(40, 0, 0, 0), names, &colours, BLACK, 14)
    })
}

/// Points a training curve is drawn with at most: a panel is about 380 px wide, and thousands of
/// noisy steps drawn as one thick line make spikes (its joins) far outside the frame.
const CURVE_POINTS: usize = 300;

/// `points` (in step order) averaged over `count` runs of consecutive points, or as they are
/// when there are no more than that.
fn bucket_means(points: &[(f32, f32)], count: usize) -> Vec<(f32, f32)> {
    if points.len() <= count {
        return points.to_vec();
    }
    (0..count)
        .map(|b| {
            let run = &points[b * points.len() / count..(b + 1) * points.len() / count];
            let n = run.len() as f32;
            (run.iter().map(|p| p.0).sum::<f32>() / n, run.iter().map(|p| p.1).sum::<f32>() / n)
        })
        .collect()
}

/// The training curves (each the means of runs of steps, [`CURVE_POINTS`] at most): for filter learning (when it ran) energy, |Δw|, the norm gap and the
/// winners' share per layer against the layer's step; for the lateral path (when it ran) energy,
/// delta and norm per layer against the step. One row of panels per stage.
pub(crate) fn training_chart(log: &TrainingLog) -> Result<RgbImage> {
    type Pick = fn(&LayerStats) -> f32;
    let filter_metrics: Vec<(&str, Pick)> = vec![
        ("filters: energy E[u²]", |r| r.energy),
        ("filters: mean |Δw|", |r| r.delta),
        ("filters: mean |‖w‖ − 1|", |r| r.norm),
        ("filters: share winning", |r| r.winners.unwrap_or(0.0)),
    ];
    let lateral_metrics: Vec<(&str, Pick)> = vec![
        ("lateral: energy E[|a|²]", |r| r.energy),
        ("lateral: delta mean |ΔW|", |r| r.delta),
        ("lateral: norm ‖W‖F", |r| r.norm),
    ];
    let stages: Vec<(Stage, Vec<(&str, Pick)>)> = [(Stage::Filters, filter_metrics), (Stage::Lateral, lateral_metrics)]
        .into_iter()
        .filter(|(stage, _)| log.stage(*stage).next().is_some())
        .collect();
    let (w, row_height) = (1600u32, 420u32);
    let h = row_height * stages.len().max(1) as u32;
    plot(w, h, |root| {
        if stages.is_empty() {
            let style = TextStyle::from((FONT, 22).into_font()).color(&BLACK);
            root.draw_text("nothing was learned: random filters and no lateral path", &style, (40, 40))
                .map_err(plot_error)?;
        }
        let rows = root.split_evenly((stages.len().max(1), 1));
        for ((stage, metrics), row) in stages.iter().zip(rows) {
            let rows: Vec<&LayerStats> = log.stage(*stage).collect();
            let layers = rows.iter().map(|r| r.layer).max().unwrap_or(0);
            let last_step = rows.iter().map(|r| r.step).max().unwrap_or(1).max(2) as f32;
            for (panel, (title, pick)) in row.split_evenly((1, metrics.len())).iter().zip(metrics) {
                // Each layer's curve: only finite values (an overflow, inf, would stretch the axis
                // without end), as the means of runs of steps.
                let curves: Vec<Vec<(f32, f32)>> = (1..=layers)
                    .map(|layer| {
                        let points: Vec<(f32, f32)> = rows
                            .iter()
                            .filter(|row| row.layer == layer && pick(row).is_finite())
                            .map(|row| (row.step as f32, pick(row)))
                            .collect();
                        bucket_means(&points, CURVE_POINTS)
                    })
                    .collect();
                let top = curves.iter().flatten().map(|p| p.1).fold(0.0f32, f32::max).max(1e-12) * 1.05;
                let mut chart = ChartBuilder::on(panel)
                    .caption(*title, (FONT, 18))
                    .margin(12)
                    .x_label_area_size(30)
                    .y_label_area_size(70)
                    .build_cartesian_2d(1f32..last_step, 0f32..top)
                    .map_err(plot_error)?;
                chart
                    .configure_mesh()
                    .x_desc("step")
                    .label_style((FONT, 13))
                    .x_label_formatter(&|v| format!("{v:.0}"))
                    .y_label_formatter(&|v| format!("{v:.2e}"))
                    .draw()
                    .map_err(plot_error)?;
                for (layer, curve) in (1..=layers).zip(curves) {
                    let [r, g, b] = group_colour(layer - 1);
                    let colour = RGBColor(r, g, b);
                    chart
                        .draw_series(LineSeries::new(curve, colour.stroke_width(2)))
                        .map_err(plot_error)?
                        .label(format!("layer {layer}"))
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
                }
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .label_font((FONT, 13))
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    })
}

/// The first layer's filters as a grid of k x k pictures, `filters` being `[K, C, k, k]` values.
/// Each filter is scaled on its own so that 0 is mid-grey and its largest |weight| is black or
/// full colour; grey inputs show as grey, RGB as colour, and RGBA as its colour beside its alpha.
pub(crate) fn filter_grid(filters: &[f32], count: usize, channels: usize, kernel: usize) -> Result<RgbImage> {
    let (cell, pad) = (30u32, 6u32);
    let tiles = if channels == 4 { 2 } else { 1 } as u32;
    let columns = (count as f32).sqrt().ceil().max(1.0) as u32;
    let rows = (count as u32).div_ceil(columns);
    let width = columns * (tiles * cell + pad) + pad;
    let title = 48u32;
    let height = title + rows * (cell + pad) + pad;
    let mut picture = RgbImage::from_pixel(width, height, Rgb(BACKGROUND));
    let taps = kernel * kernel;
    let per_filter = channels * taps;
    for (k, weights) in filters.chunks(per_filter).take(count).enumerate() {
        let peak = weights.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        let level = |v: f32| ((0.5 + 0.5 * v / peak) * 255.0).round().clamp(0.0, 255.0) as u8;
        let (x0, y0) =
            (pad + (k as u32 % columns) * (tiles * cell + pad), title + pad + (k as u32 / columns) * (cell + pad));
        for tile in 0..tiles {
            for (px, py) in (0..cell).flat_map(|y| (0..cell).map(move |x| (x, y))) {
                let side = kernel as u32;
                let tap = (py * side / cell * side + px * side / cell) as usize;
                let at = |c: usize| level(weights[c * taps + tap]);
                let colour = match (channels, tile) {
                    (1, _) => [at(0); 3],
                    (_, 0) => [at(0), at(1), at(2)],
                    _ => [at(3); 3],
                };
                picture.put_pixel(x0 + tile * cell + px, y0 + py, Rgb(colour));
            }
        }
    }
    let kinds = match channels {
        1 => "grey",
        3 => "colour",
        _ => "colour | alpha",
    };
    plot_on(picture, |root| {
        let style = TextStyle::from((FONT, 15).into_font()).color(&TEXT);
        let room = width as i32 - 2 * pad as i32;
        root.draw_text(&fitted(root, &format!("layer 1: {count} filters"), &style, room), &style, (pad as i32, 6))
            .map_err(plot_error)?;
        let scale = format!("{kinds}; each scaled on its own, 0 = mid-grey");
        root.draw_text(&fitted(root, &scale, &style, room), &style, (pad as i32, 26)).map_err(plot_error)
    })
}

/// Saves a picture as PNG.
pub(crate) fn save_png<P: image::PixelWithColorType, C: std::ops::Deref<Target = [P::Subpixel]>>(
    picture: &image::ImageBuffer<P, C>,
    path: &Path,
) -> Result<()>
where
    [P::Subpixel]: image::EncodableLayout,
{
    picture.save_with_format(path, image::ImageFormat::Png).with_context(|| format!("cannot write {}", path.display()))
}

/// A finished map, as the pictures draw it: the images, each one's place and cluster, and its
/// nearest neighbours (the interactive map shows them).
#[derive(Clone, Copy)]
pub(crate) struct MapData<'a> {
    pub images: &'a ImageSet,
    pub coords: &'a [[f32; 2]],
    pub clusters: &'a [usize],
    pub neighbours: &'a Neighbours,
}

/// The pictures of the map: the sprite canvas, the same framed by cluster with a legend, the
/// scatter charts by cluster and (when there are labels) by label, and (`render.html`) the
/// interactive map, which shows each item's `neighbours`. `on_picture` is called after each of
/// the [`map_picture_count`] files.
pub(crate) fn save_map_pictures(
    folder: &RunFolder,
    title: &str,
    map: &MapData,
    render_config: &RenderConfig,
    on_picture: &dyn Fn(),
) -> Result<MapPictures> {
    let MapData { images, coords, clusters, .. } = *map;
    let placement = canvas::place(coords, render_config);
    let coverage = canvas::coverage(&placement, render_config.canvas_size, render_config.margin, canvas::COVERAGE_CELL);
    let n_clusters = clusters.iter().copied().max().unwrap_or(0) + 1;
    let cluster_colours = colours_by_size(clusters, n_clusters);
    let (plain, framed) = canvas::sprite_canvases(images, &placement, render_config, clusters, &cluster_colours);
    save_png(&plain, &folder.path(CANVAS_FILE))?;
    drop(plain);
    on_picture();
    let mut order: Vec<usize> = (0..coords.len()).collect();
    order.shuffle(&mut seeded(render_config.seed));
    let cluster_names: Vec<String> =
        (0..n_clusters).map(|c| format!("cluster {c} ({})", clusters.iter().filter(|&&x| x == c).count())).collect();
    save_png(&add_legend(framed, &cluster_names, &cluster_colours)?, &folder.path(CLUSTERS_FILE))?;
    on_picture();
    let mut files = vec![CANVAS_FILE, CLUSTERS_FILE];
    save_png(
        &scatter_chart(coords, clusters, &cluster_names, &order, "UMAP map, K-Means clusters", 1200)?,
        &folder.path(MAP_CLUSTERS_FILE),
    )?;
    files.push(MAP_CLUSTERS_FILE);
    on_picture();
    if images.has_labels() {
        let (labels, label_names) = crate::data::label_groups(&images.items);
        save_png(
            &scatter_chart(coords, &labels, &label_names, &order, "UMAP map, labels", 1200)?,
            &folder.path(MAP_LABELS_FILE),
        )?;
        files.push(MAP_LABELS_FILE);
        on_picture();
    }
    if render_config.html {
        let tiles = folder.path(html::TILES_FOLDER);
        folder.write(MAP_HTML_FILE, html::map_page(title, map, render_config, &tiles)?)?;
        files.push(MAP_HTML_FILE);
        on_picture();
    }
    Ok(MapPictures { files, coverage })
}

/// The side (px) at which the map's pictures of `n` images need them: the canvas's sprites and,
/// with `render.html`, the map page's closest level, never above `image_size`. At a million
/// items that is 16 px, a 36th of the pixels at 96 px. The neighbour grid, which shows a few items
/// at `render.cell_size`, takes them at `image_size` ([`crate::data::load_items`]).
pub(crate) fn picture_side(n: usize, image_size: u32, config: &RenderConfig) -> u32 {
    let page = if config.html { html::closest_level_side(n, image_size) } else { 0 };
    canvas::sprite_side(n, config).max(page).min(image_size)
}

/// The data set as the map's pictures of its `n` items load it: at [`picture_side`].
pub(crate) fn pictures_data(data: &DataConfig, n: usize, config: &RenderConfig) -> DataConfig {
    DataConfig { image_size: picture_side(n, data.image_size, config), ..data.clone() }
}

/// How many files [`save_map_pictures`] writes for `images` under `render_config`.
pub(crate) fn map_picture_count(images: &ImageSet, render_config: &RenderConfig) -> u64 {
    3 + u64::from(images.has_labels()) + u64::from(render_config.html)
}

/// What [`save_map_pictures`] wrote.
pub(crate) struct MapPictures {
    pub files: Vec<&'static str>,
    /// Share of the canvas's 50-px cells that the sprites touch ([`canvas::coverage`]).
    pub coverage: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_groups_get_the_distinct_colours_and_the_rest_share_grey() {
        // Group 2 is the largest, then 0; 22 groups of one item each after them.
        let mut groups = vec![2, 2, 2, 0, 0];
        groups.extend(3..25);
        let colours = colours_by_size(&groups, 25);
        assert_eq!((colours[2], colours[0]), (PALETTE[0], PALETTE[1]));
        assert_eq!(colours[1], PALETTE[20], "an empty group is past the twenty");
        let distinct: std::collections::BTreeSet<[u8; 3]> = colours.iter().copied().collect();
        assert_eq!(distinct.len(), 21, "twenty colours and the grey");
        assert_eq!(colours.iter().filter(|&&c| c == PALETTE[20]).count(), 5);
    }

    #[test]
    fn long_curves_are_drawn_as_the_means_of_runs_of_steps() {
        let points: Vec<(f32, f32)> = (0..10).map(|i| (i as f32, (i % 2) as f32)).collect();
        assert_eq!(bucket_means(&points, 20), points, "few points stay as they are");
        assert_eq!(bucket_means(&points, 5), [(0.5, 0.5), (2.5, 0.5), (4.5, 0.5), (6.5, 0.5), (8.5, 0.5)]);
        assert_eq!(bucket_means(&points[..7], 3).len(), 3);
    }

    #[test]
    fn training_curves_with_overflowed_values_still_draw() {
        use crate::encoder::train::{LayerStats, Stage};
        let row = |step: usize, energy: f32| LayerStats {
            stage: Stage::Filters,
            step,
            epoch: 1,
            layer: 1,
            energy,
            delta: 0.5,
            norm: f32::NAN,
            winners: Some(1.0),
        };
        let log = TrainingLog { rows: vec![row(1, 2.0), row(2, f32::INFINITY), row(3, 3e38), row(4, 1.0)] };
        let chart = training_chart(&log).unwrap();
        assert_eq!(chart.dimensions(), (1600, 420));
    }

    #[test]
    fn image_s_overlay_blends_as_the_canvases_need() {
        let mut canvas = RgbaImage::from_pixel(2, 1, Rgba([10, 10, 10, 255]));
        let mut sprite = RgbaImage::from_pixel(2, 1, Rgba([200, 0, 0, 255]));
        sprite.put_pixel(1, 0, Rgba([0, 255, 0, 0]));
        overlay(&mut canvas, &sprite, 0, 0);
        assert_eq!(canvas.get_pixel(0, 0), &Rgba([200, 0, 0, 255]));
        assert_eq!(canvas.get_pixel(1, 0), &Rgba([10, 10, 10, 255]));
        let mut clear = RgbaImage::from_pixel(1, 1, Rgba([0, 0, 0, 0]));
        overlay(&mut clear, &RgbaImage::from_pixel(1, 1, Rgba([100, 50, 0, 128])), 0, 0);
        assert_eq!(clear.get_pixel(0, 0), &Rgba([100, 50, 0, 128]));
    }

    #[test]
    fn the_pictures_need_the_canvas_sprites_and_the_page_s_closest_level_at_most() {
        let config = RenderConfig::default();
        assert_eq!(canvas::sprite_side(1_000_000, &config), 2);
        assert_eq!(picture_side(1_000_000, 96, &config), 16, "the page's one level");
        assert_eq!(canvas::sprite_side(1_911, &config), 53, "44 x 44 cells of 54 px");
        assert_eq!(picture_side(1_911, 96, &config), 64, "the page's close-up level");
        let no_page = RenderConfig { html: false, ..config.clone() };
        assert_eq!(picture_side(1_911, 96, &no_page), 53);
        assert_eq!(picture_side(1_911, 32, &config), 32, "never above the images' size");
        let large = RenderConfig { layout: crate::config::CanvasLayout::Scatter, sprite_size: 200, ..config };
        assert_eq!(picture_side(1_000_000, 96, &large), 96);
        let data = crate::config::EncodeConfig::load(None).unwrap().data;
        assert_eq!((data.image_size, pictures_data(&data, 1_000_000, &no_page).image_size), (96, 2));
    }

    #[test]
    fn every_map_picture_is_announced_and_reported() {
        use crate::config::ColorMode;
        use crate::data::Item;
        let side = 8;
        let items = (0..6).map(|i| {
            let item = Item { source: format!("#{i}"), label: Some(format!("label {}", i % 2)), name: None };
            (item, vec![(40 * i) as u8; side * side * 4])
        });
        let images = ImageSet::new(side, ColorMode::Rgba, items.collect(), Vec::new()).unwrap();
        let coords: Vec<[f32; 2]> = (0..6).map(|i| [i as f32, (i * i) as f32]).collect();
        let clusters = [0, 0, 1, 1, 2, 2];
        let neighbours = Neighbours { k: 1, indices: vec![1, 0, 3, 2, 5, 4], similarities: vec![0.9; 6] };
        let dir = tempfile::tempdir().unwrap();
        let folder = RunFolder::create(&dir.path().join("run")).unwrap();
        let config = RenderConfig { canvas_size: 200, ..Default::default() };
        let calls = std::sync::atomic::AtomicU64::new(0);
        let map = MapData { images: &images, coords: &coords, clusters: &clusters, neighbours: &neighbours };
        let pictures = save_map_pictures(&folder, "t", &map, &config, &|| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(calls.into_inner(), map_picture_count(&images, &config));
        assert_eq!(pictures.files.len() as u64, map_picture_count(&images, &config));
    }
}
