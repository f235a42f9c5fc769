//! Small synthetic data sets written into a temporary folder, and the binary under test.

use std::path::Path;
use std::process::{Command, Output};

use hebb::testing::{GridOrder, SheetConfig};
use image::{Rgba, RgbaImage};

/// Runs the `hebb` binary with `args` in `cwd`. With `RUST_BACKTRACE=1` a panic keeps Rust's own
/// report ("panicked", exit 101) instead of hebb's one-line one, so that the tests' "no panic"
/// checks see it.
pub(crate) fn hebb(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hebb")).args(args).env("RUST_BACKTRACE", "1").current_dir(cwd).output().unwrap()
}

/// A sheet of 8-px tiles with a 1-px border, no labels, every non-empty tile kept.
pub(crate) fn sheet_config(path: std::path::PathBuf) -> SheetConfig {
    SheetConfig {
        path,
        tile_size: 8,
        border: 1,
        order: GridOrder::RowMajor,
        max_sprites: 0,
        skip_empty: true,
        labels: None,
        label_column: "category".into(),
        name_column: None,
        column_key: "sheet_x".into(),
        row_key: "sheet_y".into(),
        include: Default::default(),
    }
}

/// A sprite sheet of `columns x rows` cells of `tile` px with a 1-px border; the last cell is
/// fully transparent, every other cell a distinct colour with a transparent corner whose RGB is
/// noise. Returns the number of non-empty tiles.
pub(crate) fn write_sheet(path: &Path, columns: u32, rows: u32, tile: u32) -> usize {
    let pitch = tile + 2;
    let mut sheet = RgbaImage::from_pixel(columns * pitch, rows * pitch, Rgba([90, 10, 200, 0]));
    let mut filled = 0;
    for row in 0..rows {
        for column in 0..columns {
            if row == rows - 1 && column == columns - 1 {
                continue;
            }
            filled += 1;
            let shade = (filled * 37 % 256) as u8;
            for y in 0..tile {
                for x in 0..tile {
                    let corner = x < tile / 4 && y < tile / 4;
                    let pixel = if corner {
                        Rgba([250, 250, 250, 0])
                    } else {
                        Rgba([shade, 255 - shade, (x * 255 / tile) as u8, 255])
                    };
                    sheet.put_pixel(column * pitch + 1 + x, row * pitch + 1 + y, pixel);
                }
            }
        }
    }
    sheet.save(path).unwrap();
    filled
}

/// An IDX image file of `count` images of `side x side` (optionally gzip-compressed) and its
/// label file.
pub(crate) fn write_mnist(images: &Path, labels: &Path, count: usize, side: usize, gzip: bool) {
    let mut image_bytes = vec![0, 0, 8, 3];
    for dim in [count, side, side] {
        image_bytes.extend_from_slice(&(dim as u32).to_be_bytes());
    }
    for i in 0..count {
        for p in 0..side * side {
            image_bytes.push(if (p + i) % 3 == 0 { 255 } else { 0 });
        }
    }
    let mut label_bytes = vec![0, 0, 8, 1];
    label_bytes.extend_from_slice(&(count as u32).to_be_bytes());
    label_bytes.extend((0..count).map(|i| (i % 10) as u8));
    let write = |path: &Path, bytes: Vec<u8>| {
        if gzip {
            use std::io::Write;
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&bytes).unwrap();
            std::fs::write(path, encoder.finish().unwrap()).unwrap();
        } else {
            std::fs::write(path, bytes).unwrap();
        }
    };
    write(images, image_bytes);
    write(labels, label_bytes);
}

/// A 4 x 3 sheet of 8-px sprites at `dir/sheet.png`, labelled by column pair (`left`, `right`) in
/// `dir/labels.csv`, and [`write_tiny_config`] for it with those labels; returns the config's path
/// and the sprite count.
pub(crate) fn write_labelled_tiny_config(dir: &Path) -> (std::path::PathBuf, usize) {
    let sheet = dir.join("sheet.png");
    let sprites = write_sheet(&sheet, 4, 3, 8);
    let labels = dir.join("labels.csv");
    let mut csv = String::from("sheet_x,sheet_y,category\n");
    for (row, column) in (0..3).flat_map(|row| (0..4).map(move |column| (row, column))) {
        csv.push_str(&format!("{column},{row},{}\n", if column < 2 { "left" } else { "right" }));
    }
    std::fs::write(&labels, csv).unwrap();
    let config = write_tiny_config(dir, &sheet, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("border = 1\n", &format!("border = 1\nlabels = \"{}\"\n", labels.display()));
    std::fs::write(&config, text).unwrap();
    (config, sprites)
}

/// A tiny encode config for a sheet at `sheet`, written to `dir/tiny.toml`. Filter learning has no
/// minimum of images unless `extra_training` sets `filter_min_images` (a dozen sprites would
/// otherwise learn for hundreds of epochs).
pub(crate) fn write_tiny_config(dir: &Path, sheet: &Path, extra_training: &str) -> std::path::PathBuf {
    let minimum = if extra_training.contains("filter_min_images") { "" } else { "filter_min_images = 0" };
    let config = format!(
        r#"name = "tiny"
output_dir = "{out}"

[data]
image_size = 32

[data.sheet]
path = "{sheet}"
tile_size = 8
border = 1

[encoder]
channels = [4, 4, 8, 8]

[training]
batch_size = 4
log_every = 2
{minimum}
{extra_training}

[map]
n_neighbors = 5
epochs = 60

[clusters]
n_clusters = 3

[render]
canvas_size = 300
margin = 20
sprite_size = 16
transparent_background = true
neighbour_rows = 4
cell_size = 32
"#,
        out = dir.join("outputs").display(),
        sheet = sheet.display()
    );
    let path = dir.join("tiny.toml");
    std::fs::write(&path, config).unwrap();
    path
}
