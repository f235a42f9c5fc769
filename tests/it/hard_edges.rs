//! Bad input found by trying it: each case gets one clear error (or a warning), never a wrong
//! answer, a panic or a late failure.

use std::process::Output;

use hebb::testing::ColorMode;
use hebb::testing::sheet;

use crate::common::{hebb, sheet_config, write_mnist, write_sheet, write_tiny_config};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_error(out: &Output, expected: &[&str]) {
    let text = stderr(out);
    assert!(!out.status.success(), "expected a failure: {text}");
    assert!(!text.contains("panicked"), "{text}");
    for part in expected {
        assert!(text.contains(part), "error lacks {part:?}: {text}");
    }
}

#[test]
fn an_unwritable_output_folder_fails_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    write_sheet(&sheet, 2, 2, 8);
    let config = write_tiny_config(dir.path(), &sheet, "");
    std::fs::write(dir.path().join("outputs"), "a file where the output folder should be").unwrap();
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu"], dir.path());
    assert_error(&out, &["outputs"]);
    assert!(!stderr(&out).contains("loaded"), "nothing was loaded or trained: {}", stderr(&out));
}

#[test]
fn more_clusters_than_items_warns_and_query_survives_a_huge_top() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    let sprites = write_sheet(&sheet, 3, 2, 8);
    let config = write_tiny_config(dir.path(), &sheet, "");
    let text = std::fs::read_to_string(&config).unwrap().replace("n_clusters = 3", "n_clusters = 50");
    std::fs::write(&config, text).unwrap();
    // Warnings show without --quiet (which leaves only errors).
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("n_clusters is 50"), "{}", stderr(&out));

    let out = hebb(&["query", "--run", "outputs/tiny", "--item", "0", "--top", &u64::MAX.to_string()], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 2 + sprites - 1, "every other item, ranked: {table}");

    // A features.npy with a NaN row is refused, not ranked first.
    let features = dir.path().join("outputs/tiny/features.npy");
    let mut bytes = std::fs::read(&features).unwrap();
    let at = bytes.len() - 4;
    bytes[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&features, bytes).unwrap();
    let out = hebb(&["query", "--run", "outputs/tiny", "--item", "0"], dir.path());
    assert_error(&out, &["features.npy", "not finite"]);
}

#[test]
fn sheet_geometry_that_overflows_and_doubled_labels_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    write_sheet(&path, 2, 2, 8);
    let mut config = sheet_config(path.clone());
    config.tile_size = u32::MAX - 1;
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("too large") && err.contains("tile_size"), "{err}");

    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, "sheet_x,sheet_y,category\n0,0,A\n1,0,B\n0,0,C\n").unwrap();
    let mut config = sheet_config(path);
    config.labels = Some(labels);
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("line 4") && err.contains("labelled twice"), "{err}");

    // A label file with a header only, or a row naming a cell the 2 x 2 sheet does not have.
    std::fs::write(config.labels.as_ref().unwrap(), "sheet_x,sheet_y,category\n").unwrap();
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("has a header but no rows"), "{err}");
    std::fs::write(config.labels.as_ref().unwrap(), "sheet_x,sheet_y,category\n0,0,A\n5,1,B\n").unwrap();
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("line 3: cell (5, 1) is outside the sheet, which has 2 x 2 cells"), "{err}");

    // IDX images of 0 x 0 pixels are refused by the file, not encoded to nothing.
    let idx = dir.path().join("empty-idx3-ubyte");
    let mut bytes = vec![0, 0, 8, 3];
    for dim in [5u32, 0, 0] {
        bytes.extend(dim.to_be_bytes());
    }
    std::fs::write(&idx, bytes).unwrap();
    let err = format!("{:#}", hebb::testing::mnist::read_images(&idx).unwrap_err());
    assert!(err.contains("declares images of 0 x 0 pixels"), "{err}");
}

#[test]
fn hopfield_table_checks_the_label_count_and_repair_its_beta() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = (dir.path().join("images"), dir.path().join("labels"));
    write_mnist(&images, &labels, 20, 8, false);
    let (other_images, other_labels) = (dir.path().join("images-6"), dir.path().join("labels-6"));
    write_mnist(&other_images, &other_labels, 6, 8, false);
    let out = hebb(
        &["hopfield", "table", "--mnist", "images", "--labels", "labels-6", "--max-digits", "1", "--device", "cpu"],
        dir.path(),
    );
    assert_error(&out, &["labels-6", "6 labels", "20 images"]);

    let picture = image::RgbaImage::from_fn(16, 16, |x, _| image::Rgba([(x * 16) as u8, 0, 0, 255]));
    picture.save(dir.path().join("p.png")).unwrap();
    let out = hebb(
        &["hopfield", "repair", "--image", "p.png", "--dynamics", "dense", "--beta", "nan", "--device", "cpu"],
        dir.path(),
    );
    assert_error(&out, &["--beta", "NaN"]);
}

#[test]
fn sizes_that_cannot_fit_in_memory_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    write_sheet(&sheet, 2, 2, 8);
    let config = write_tiny_config(dir.path(), &sheet, "");
    let original = std::fs::read_to_string(&config).unwrap();
    for (from, to, key) in [
        ("image_size = 32", "image_size = 100000", "data.image_size"),
        ("channels = [4, 4, 8, 8]", "channels = [4, 8, 8, 100000000]", "encoder.channels"),
        ("canvas_size = 300", "canvas_size = 1000000", "render.canvas_size"),
        ("neighbour_rows = 4", "neighbour_rows = 1000000000", "render.neighbour_rows"),
    ] {
        assert!(original.contains(from), "{from}");
        std::fs::write(&config, original.replace(from, to)).unwrap();
        let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu"], dir.path());
        assert_error(&out, &[key, "needs about", "available"]);
        assert!(!stderr(&out).contains("loaded"), "refused before loading: {}", stderr(&out));
        assert!(!dir.path().join("outputs/tiny").exists());
    }
    // A learning rate that wipes the features out (or overflows the filters) is named, not mapped.
    std::fs::write(&config, original.replace("filter_min_images = 0", "filter_min_images = 0\nfilter_lr = 1e30"))
        .unwrap();
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert_error(&out, &["training.filter_lr", "too large"]);
    assert!(!dir.path().join("outputs/tiny").exists());
    // A cell size past any use is refused by value (it once overflowed the grid's size).
    std::fs::write(&config, original.replace("cell_size = 32", "cell_size = 1000000000")).unwrap();
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu"], dir.path());
    assert_error(&out, &["render.cell_size", "at most 4096"]);
    let picture = image::RgbaImage::from_pixel(8, 8, image::Rgba([0, 0, 0, 255]));
    picture.save(dir.path().join("p.png")).unwrap();
    let out = hebb(&["hopfield", "repair", "--image", "p.png", "--side", "100000", "--device", "cpu"], dir.path());
    assert_error(&out, &["--side", "needs about"]);
    // A network of 0 or 1 neurons is no network: refused where the flag is read.
    for args in
        [["hopfield", "store", "--random", "3", "--side", "0"], ["hopfield", "table", "--side", "1", "--device", "cpu"]]
    {
        assert_error(&hebb(&args, dir.path()), &["--side", "not in 2.."]);
    }
}

#[test]
fn command_line_sizes_past_memory_are_refused_by_flag_and_endless_files_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[&str]); 6] = [
        (&["hopfield", "store", "--random", "1000000000"], &["--random and --side", "needs about"]),
        (&["hopfield", "table", "--sweeps", "4294967295"], &["--sweeps and --side", "needs about"]),
        (&["hopfield", "capacity", "--neurons", "1000000"], &["--neurons, --loads and --trials", "needs about"]),
        (&["bench", "map", "--synthetic", "1000000000"], &["--synthetic and --dim", "needs about"]),
        (&["bench", "map", "--synthetic", "1000", "--dim", "1000000000"], &["--synthetic and --dim", "needs about"]),
        (&["bench", "hopfield", "--dense-neurons", "10000000"], &["--dense-neurons", "needs about"]),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().copied().chain(["--device", "cpu"]).collect();
        assert_error(&hebb(&args, dir.path()), expected);
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing was written");
    // A device that never ends is refused unread, as a config and as an image.
    if std::path::Path::new("/dev/zero").exists() {
        assert_error(&hebb(&["encode", "--config", "/dev/zero"], dir.path()), &["/dev/zero", "not a regular file"]);
        let out = hebb(&["hopfield", "repair", "--image", "/dev/zero", "--device", "cpu"], dir.path());
        assert_error(&out, &["/dev/zero", "not a regular file"]);
    }
}

#[test]
fn ctrl_c_or_sigterm_during_a_run_leaves_no_partial_folder_and_exits_with_the_signals_code() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let sheet = dir.path().join("sheet.png");
        write_sheet(&sheet, 6, 6, 8);
        // Enough filter epochs that the run is still training when the signal comes.
        let config = write_tiny_config(dir.path(), &sheet, "filter_epochs = 100000");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hebb"))
            .args(["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"])
            .current_dir(dir.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let outputs = dir.path().join("outputs");
        let partial = || {
            std::fs::read_dir(&outputs)
                .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with(".tiny.partial-")))
                .unwrap_or(false)
        };
        let started = std::time::Instant::now();
        while !partial() {
            assert!(started.elapsed().as_secs() < 60, "the run never started writing");
            assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be interrupted");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let status =
            std::process::Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {}", stderr(&out));
        assert!(stderr(&out).contains("interrupted: removed the partial outputs"), "SIG{signal}: {}", stderr(&out));
        assert!(!partial(), "SIG{signal}: the partial run folder was removed");
        assert!(!outputs.join("tiny").exists(), "SIG{signal}: no run folder either");
    }
}

#[test]
fn a_stored_transparent_sprite_recalls_itself_exactly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pics")).unwrap();
    // A disc, with noise hidden under alpha 0 around it (as sprite sheets carry).
    let sprite = image::RgbaImage::from_fn(32, 32, |x, y| {
        let inside = (x as i32 - 16).pow(2) + (y as i32 - 16).pow(2) < 100;
        if inside {
            image::Rgba([240, 200, 40, 255])
        } else {
            image::Rgba([(x * 37 % 256) as u8, (y * 91 % 256) as u8, 200, 0])
        }
    });
    sprite.save(dir.path().join("pics/sprite.png")).unwrap();
    for binarise in ["alpha", "mean", "threshold"] {
        let out = hebb(
            &["hopfield", "store", "--folder", "pics", "--side", "16", "--binarise", binarise, "--name", "net"],
            dir.path(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let out = hebb(&["hopfield", "recall", "--network", "outputs/net", "--image", "pics/sprite.png"], dir.path());
        assert!(out.status.success(), "{}", stderr(&out));
        let report = String::from_utf8_lossy(&out.stdout);
        let energy = report.lines().find(|l| l.starts_with("energy")).unwrap();
        let values: Vec<&str> = energy.split_whitespace().filter(|w| w.parse::<f32>().is_ok()).collect();
        assert_eq!(values[0], values[1], "{binarise}: the cue is the stored pattern, so nothing changes: {report}");
        assert!(report.starts_with("landed on    pattern 0"), "{report}");
    }
}

#[test]
fn eval_warns_when_some_items_have_no_label() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    write_sheet(&sheet, 3, 3, 8);
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, "sheet_x,sheet_y,category\n0,0,A\n1,0,A\n2,0,B\n0,1,B\n1,1,A\n2,1,B\n").unwrap();
    let config = write_tiny_config(dir.path(), &sheet, "");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace("border = 1", &format!("border = 1\nlabels = \"{}\"", labels.display()));
    std::fs::write(&config, text).unwrap();
    let out = hebb(&["encode", "--config", config.to_str().unwrap(), "--device", "cpu", "--quiet"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hebb(&["eval", "--run", "outputs/tiny", "--no-map", "--device", "cpu"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 of the 8 items have no label"), "{}", stderr(&out));
    let quiet = hebb(&["eval", "--run", "outputs/tiny", "--no-map", "--device", "cpu", "--quiet"], dir.path());
    assert!(quiet.status.success() && stderr(&quiet).is_empty(), "--quiet leaves only errors: {}", stderr(&quiet));
}
