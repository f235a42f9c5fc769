//! Loaders on sheets, folders and IDX files made in the test, including bad input.

use std::path::PathBuf;

use hebb::testing::Progress;
use hebb::testing::{ColorMode, FolderConfig, FolderLayout, GridOrder, MnistConfig};
use hebb::testing::{Part, folder, mnist, sheet};
use image::{GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

use crate::common::{sheet_config, write_mnist, write_sheet};

#[test]
fn sheet_skips_empty_tiles_keeps_alpha_and_clears_hidden_colour() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    let filled = write_sheet(&path, 3, 2, 8);
    let set = sheet::load(&sheet_config(path.clone()), 8, ColorMode::Rgba).unwrap();
    assert_eq!(set.len(), filled);
    assert_eq!(set.channels(), 4);
    let image = set.image(0);
    let plane = 64;
    // Top-left pixel of the tile is in the transparent corner: all four channels are zero.
    assert_eq!([image[0], image[plane], image[2 * plane], image[3 * plane]], [0, 0, 0, 0]);
    // An opaque pixel keeps its colour and alpha.
    let at = 7 * 8 + 7;
    assert_eq!(image[3 * plane + at], 255);
    assert!(set.items[0].source.ends_with("#0,0"));
    assert!(set.items[2].source.ends_with("#2,0"));

    let mut column_major = sheet_config(path);
    column_major.order = GridOrder::ColumnMajor;
    column_major.max_sprites = 3;
    let set = sheet::load(&column_major, 16, ColorMode::Rgb).unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(set.image_len(), 3 * 16 * 16);
    assert!(set.items[1].source.ends_with("#0,1"));
}

#[test]
fn sheet_labels_come_from_the_csv_by_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    write_sheet(&path, 2, 2, 8);
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, "sheet_x,sheet_y,category\n0,0,\"Smileys, faces\"\n1,0,Animals\n0,1,Food\n").unwrap();
    let mut config = sheet_config(path);
    config.labels = Some(labels.clone());
    let set = sheet::load(&config, 8, ColorMode::Rgba).unwrap();
    let got: Vec<_> = set.items.iter().map(|i| i.label.clone()).collect();
    assert_eq!(got, vec![Some("Smileys, faces".into()), Some("Animals".into()), Some("Food".into())]);

    // Without a name column an item is called by its cell; with one, by the column's value.
    assert_eq!(set.items[1].name(), "sheet.png#1,0");
    std::fs::write(&labels, "sheet_x,sheet_y,category,short_name\n0,0,Smileys,grin\n1,0,Animals,\n0,1,Food,pear\n")
        .unwrap();
    config.name_column = Some("short_name".into());
    let set = sheet::load(&config, 8, ColorMode::Rgba).unwrap();
    let names: Vec<&str> = set.items.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["grin", "sheet.png#1,0", "pear"], "an empty name falls back to the cell");

    config.name_column = Some("nickname".into());
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("no column `nickname`") && err.contains("name_column"), "{err}");
    config.name_column = None;
    config.label_column = "colour".into();
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("no column `colour`") && err.contains("label_column"), "{err}");
}

#[test]
fn sheet_include_keeps_only_the_matching_label_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    write_sheet(&path, 3, 2, 8); // five non-empty tiles, the last cell transparent
    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, "sheet_x,sheet_y,category,is_skin_variant\n0,0,A,0\n1,0,A,1\n2,0,B,0\n0,1,B,1\n1,1,C,0\n")
        .unwrap();
    let mut config = sheet_config(path);
    config.labels = Some(labels);
    config.include.insert("is_skin_variant".into(), "0".into());
    let set = sheet::load(&config, 8, ColorMode::Rgba).unwrap();
    let got: Vec<_> =
        set.items.iter().map(|i| (i.source.rsplit('#').next().unwrap().to_string(), i.label.clone())).collect();
    let want =
        [("0,0", "A"), ("2,0", "B"), ("1,1", "C")].map(|(cell, label)| (cell.to_string(), Some(label.to_string())));
    assert_eq!(got, want);

    config.include.insert("variant".into(), "0".into());
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("no column `variant`") && err.contains("data.sheet.include"), "{err}");
    config.include.clear();
    config.include.insert("category".into(), "Z".into());
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("data.sheet.include"), "{err}");
}

#[test]
fn sheet_geometry_that_does_not_fit_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.png");
    write_sheet(&path, 3, 2, 8);
    let mut config = sheet_config(path);
    config.tile_size = 7;
    let err = format!("{:#}", sheet::load(&config, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("sheet.png") && err.contains("not a whole number"), "{err}");

    let missing = sheet_config(dir.path().join("nope.png"));
    let err = format!("{:#}", sheet::load(&missing, 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("nope.png"), "{err}");
}

#[test]
fn fully_transparent_sheet_is_an_empty_data_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.png");
    RgbaImage::from_pixel(20, 10, Rgba([5, 5, 5, 0])).save(&path).unwrap();
    let err = format!("{:#}", sheet::load(&sheet_config(path), 8, ColorMode::Rgba).unwrap_err());
    assert!(err.contains("no non-empty tile"), "{err}");
}

fn folder_config(root: PathBuf) -> FolderConfig {
    FolderConfig { root, layout: FolderLayout::Classes, limit: 0, per_class: 0, seed: 7, names: None }
}

#[test]
fn folder_loads_grey_rgb_rgba_and_skips_a_corrupt_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("train");
    // Tiny ImageNet layout: train/<wnid>/images/*.JPEG, plus a non-image file beside them.
    let cats = root.join("n001").join("images");
    let dogs = root.join("n002").join("images");
    std::fs::create_dir_all(&cats).unwrap();
    std::fs::create_dir_all(&dogs).unwrap();
    RgbImage::from_pixel(12, 10, Rgb([200, 30, 30])).save(cats.join("a.JPEG")).unwrap();
    GrayImage::from_pixel(9, 9, Luma([128])).save(cats.join("b.png")).unwrap();
    RgbaImage::from_pixel(8, 8, Rgba([10, 200, 10, 255])).save(dogs.join("c.png")).unwrap();
    std::fs::write(dogs.join("broken.jpg"), b"this is not a jpeg").unwrap();
    std::fs::write(root.join("n001").join("n001_boxes.txt"), "x").unwrap();

    let set = folder::load(&folder_config(root.clone()), 16, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(set.skipped.len(), 1);
    assert!(set.skipped[0].source.ends_with("broken.jpg"), "{:?}", set.skipped);
    assert!(!set.skipped[0].reason.is_empty());
    let labels: Vec<_> = set.items.iter().map(|i| i.label.clone().unwrap()).collect();
    assert_eq!(labels, vec!["n001", "n001", "n002"]);
    let names: Vec<&str> = set.items.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["a", "b", "c"], "a folder's items are called by their file stems");
    // The image after the broken file closed up behind it: c is green.
    assert_eq!((set.image(2)[0], set.image(2)[256], set.image(2)[512]), (10, 200, 10));
    // Images too large for the memory are refused before anything is allocated.
    let err = format!(
        "{:#}",
        folder::load(&folder_config(root.clone()), 1 << 20, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap_err()
    );
    assert!(err.contains("4 images of 1048576 x 1048576 px") && err.contains("data.image_size"), "{err}");

    // Tiny ImageNet's words.txt beside the root turns class ids into their first names.
    std::fs::write(dir.path().join("words.txt"), "n001\ttabby, tabby cat\nn002\tdog, domestic dog\nn999\tunused\n")
        .unwrap();
    let set = folder::load(&folder_config(root.clone()), 16, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap();
    let labels: Vec<_> = set.items.iter().map(|i| i.label.clone().unwrap()).collect();
    assert_eq!(labels, vec!["tabby", "tabby", "dog"]);
    // An explicit names file wins; a line without a tab is refused by line.
    let mut named = folder_config(root.clone());
    named.names = Some(dir.path().join("other.txt"));
    std::fs::write(dir.path().join("other.txt"), "n002\tpuppy\n").unwrap();
    let set = folder::load(&named, 16, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap();
    let labels: Vec<_> = set.items.iter().map(|i| i.label.clone().unwrap()).collect();
    assert_eq!(labels, vec!["n001", "n001", "puppy"], "ids without a name keep their id");
    std::fs::write(dir.path().join("other.txt"), "n002 puppy\n").unwrap();
    let err = format!("{:#}", folder::load(&named, 16, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap_err());
    assert!(err.contains("other.txt line 1: expected `id<TAB>name"), "{err}");
    std::fs::remove_file(dir.path().join("words.txt")).unwrap();
    // The grey image is grey in all three channels.
    let grey = set.image(1);
    assert_eq!(grey[0], 128);
    assert_eq!(grey[256], 128);
    assert_eq!(grey[512], 128);

    let mut sampled = folder_config(root.clone());
    sampled.per_class = 1;
    let set = folder::load(&sampled, 16, ColorMode::Grey, Part::All, Progress::Hidden).unwrap();
    assert_eq!(set.len() + set.skipped.len(), 2, "one file per class");
    let again = folder::load(&sampled, 16, ColorMode::Grey, Part::All, Progress::Hidden).unwrap();
    assert_eq!(set.items, again.items, "the same seed samples the same files");

    let mut limited = folder_config(root);
    limited.limit = 2;
    let set = folder::load(&limited, 16, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap();
    assert_eq!(set.len() + set.skipped.len(), 2);
}

#[test]
fn folder_links_that_loop_are_followed_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("train");
    let class = root.join("class0");
    std::fs::create_dir_all(&class).unwrap();
    for name in ["a.png", "b.png", "c.png"] {
        RgbImage::from_pixel(8, 8, Rgb([90, 90, 90])).save(class.join(name)).unwrap();
    }
    // class0/loop -> .. and class0/again -> . : without the check, the walk never ends.
    std::os::unix::fs::symlink("..", class.join("loop")).unwrap();
    std::os::unix::fs::symlink(".", class.join("again")).unwrap();
    // class1 -> class0: another label for the same folder, read once.
    std::os::unix::fs::symlink("class0", root.join("class1")).unwrap();
    let set = folder::load(&folder_config(root), 8, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap();
    assert_eq!(set.len(), 3, "each real image once: {:?}", set.items);
}

#[test]
fn folder_errors_name_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        folder::load(
            &folder_config(dir.path().join("tiny-imagenet-200/train")),
            16,
            ColorMode::Rgb,
            Part::All,
            Progress::Hidden
        )
        .unwrap_err()
    );
    assert!(
        err.contains("tiny-imagenet-200/train") && err.contains("does not exist") && err.contains("unzip"),
        "{err}"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("class")).unwrap();
    let err = format!(
        "{:#}",
        folder::load(&folder_config(empty), 16, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap_err()
    );
    assert!(err.contains("holds no image file"), "{err}");

    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("x.png"), b"nope").unwrap();
    let err = format!(
        "{:#}",
        folder::load(&folder_config(broken), 16, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap_err()
    );
    assert!(err.contains("could be decoded"), "{err}");
}

#[test]
fn mnist_idx_raw_and_gzip_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    for gzip in [false, true] {
        let images = dir.path().join(format!("images-{gzip}"));
        let labels = dir.path().join(format!("labels-{gzip}"));
        write_mnist(&images, &labels, 12, 6, gzip);
        let config = MnistConfig { images: images.clone(), labels: Some(labels), limit: 10 };
        let set = mnist::load(&config, 6, ColorMode::Grey).unwrap();
        assert_eq!(set.len(), 10);
        assert_eq!(set.items[3].label.as_deref(), Some("3"));
        // Image 0: pixel p is ink when p % 3 == 0.
        assert_eq!(&set.image(0)[..4], &[255, 0, 0, 255]);
    }
}

#[test]
fn mnist_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let labels = dir.path().join("labels");
    write_mnist(&images, &labels, 4, 5, false);
    // Labels given as images: wrong magic.
    let swapped = MnistConfig { images: labels.clone(), labels: None, limit: 0 };
    let err = format!("{:#}", mnist::load(&swapped, 8, ColorMode::Grey).unwrap_err());
    assert!(err.contains("labels") && err.contains("magic"), "{err}");
    // Truncated payload.
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..bytes.len() - 3]).unwrap();
    let config = MnistConfig { images: images.clone(), labels: None, limit: 0 };
    let err = format!("{:#}", mnist::load(&config, 8, ColorMode::Grey).unwrap_err());
    assert!(err.contains("announces"), "{err}");
}

#[test]
fn shipped_mnist_test_set_reads_as_the_reference() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let parsed = mnist::read_images(&root.join("t10k-1000-images-idx3-ubyte.gz")).unwrap();
    assert_eq!((parsed.count, parsed.rows, parsed.columns), (1_000, 28, 28));
    let labels = mnist::read_labels(&root.join("t10k-1000-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(labels.len(), 1_000);
    // The first test digit is a 7.
    assert_eq!(labels[0], 7);
}

/// A CIFAR record: `labels` bytes, then 32 x 32 pixels whose red plane holds the record's number,
/// green its pixel index's low byte, blue 200.
fn cifar_record(labels: &[u8], number: u8) -> Vec<u8> {
    let mut record = labels.to_vec();
    record.extend(std::iter::repeat_n(number, 1024));
    record.extend((0..1024).map(|at| at as u8));
    record.extend(std::iter::repeat_n(200, 1024));
    record
}

#[test]
fn tiny_imagenet_val_layout_takes_its_labels_from_the_annotations_and_names_from_words_txt() {
    // tiny-imagenet-200/{words.txt, val/{images/*.JPEG, val_annotations.txt}}, the real layout.
    let dir = tempfile::tempdir().unwrap();
    let val = dir.path().join("val");
    std::fs::create_dir_all(val.join("images")).unwrap();
    for (file, shade) in [("val_0.JPEG", 30), ("val_1.JPEG", 120), ("val_2.JPEG", 220)] {
        RgbImage::from_pixel(8, 8, Rgb([shade, 0, 0]))
            .save_with_format(val.join("images").join(file), image::ImageFormat::Jpeg)
            .unwrap();
    }
    std::fs::write(
        val.join("val_annotations.txt"),
        "val_0.JPEG\tn002\t0\t1\t6\t7\nval_1.JPEG\tn001\t0\t0\t8\t8\ngone.JPEG\tn001\t0\t0\t1\t1\n",
    )
    .unwrap();
    let config = FolderConfig { layout: FolderLayout::TinyimagenetVal, ..folder_config(val.clone()) };
    let set = folder::load(&config, 8, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap();
    let labels: Vec<Option<String>> = set.items.iter().map(|i| i.label.clone()).collect();
    assert_eq!(labels, [Some("n002".to_string()), Some("n001".to_string()), None], "val_2 has no line: unlabelled");
    std::fs::write(dir.path().join("words.txt"), "n001\tgoldfish, Carassius auratus\nn002\tcat\n").unwrap();
    let set = folder::load(&config, 8, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap();
    let labels: Vec<Option<String>> = set.items.iter().map(|i| i.label.clone()).collect();
    assert_eq!(labels, [Some("cat".to_string()), Some("goldfish".to_string()), None]);
    // A malformed line is named by line; a folder without the annotations names the key.
    std::fs::write(val.join("val_annotations.txt"), "val_0.JPEG n002\n").unwrap();
    let err = format!("{:#}", folder::load(&config, 8, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap_err());
    assert!(err.contains("val_annotations.txt line 1: expected `file<TAB>class"), "{err}");
    let train_like =
        FolderConfig { layout: FolderLayout::TinyimagenetVal, ..folder_config(dir.path().join("nothing")) };
    std::fs::create_dir_all(dir.path().join("nothing")).unwrap();
    let err = format!("{:#}", folder::load(&train_like, 8, ColorMode::Rgb, Part::All, Progress::Hidden).unwrap_err());
    assert!(err.contains("data.folder.layout") && err.contains("val_annotations.txt"), "{err}");
}

#[test]
fn cifar_10_and_100_load_their_splits_with_class_names() {
    use hebb::testing::cifar;
    use hebb::testing::{CifarConfig, CifarLabels, Split};
    let dir = tempfile::tempdir().unwrap();
    let ten = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&ten).unwrap();
    std::fs::write(ten.join("batches.meta.txt"), "airplane\nautomobile\nbird\n\n").unwrap();
    // Two training batches of two records each (the real set has five of 10,000), one test batch.
    std::fs::write(ten.join("data_batch_1.bin"), [cifar_record(&[2], 0), cifar_record(&[0], 1)].concat()).unwrap();
    std::fs::write(ten.join("data_batch_2.bin"), [cifar_record(&[1], 2), cifar_record(&[1], 3)].concat()).unwrap();
    std::fs::write(ten.join("test_batch.bin"), cifar_record(&[0], 9)).unwrap();
    let config = |path: &std::path::Path, split| CifarConfig {
        path: path.to_path_buf(),
        split,
        labels: CifarLabels::Fine,
        limit: 0,
    };
    let set = cifar::load(&config(&ten, Split::Train), 32, ColorMode::Rgb).unwrap();
    let labels: Vec<_> = set.items.iter().map(|i| i.label.clone().unwrap()).collect();
    assert_eq!(labels, ["bird", "airplane", "automobile", "automobile"]);
    assert!(set.items[2].source.ends_with("data_batch_2.bin#0"), "{}", set.items[2].source);
    // Planar RGB: record 3's red plane is 3, green the pixel's index, blue 200.
    let image = set.image(3);
    assert_eq!([image[0], image[1024 + 33], image[2 * 1024 + 5]], [3, 33, 200]);
    let test = cifar::load(&config(&ten, Split::Test), 32, ColorMode::Rgb).unwrap();
    assert_eq!((test.len(), test.items[0].label.as_deref()), (1, Some("airplane")));
    let limited = cifar::load(&CifarConfig { limit: 3, ..config(&ten, Split::Train) }, 16, ColorMode::Grey).unwrap();
    assert_eq!((limited.len(), limited.image_len()), (3, 16 * 16));

    // CIFAR-100: coarse then fine label bytes.
    let hundred = dir.path().join("cifar-100-binary");
    std::fs::create_dir(&hundred).unwrap();
    std::fs::write(hundred.join("fine_label_names.txt"), "apple\naquarium_fish\nbaby\n").unwrap();
    std::fs::write(hundred.join("coarse_label_names.txt"), "aquatic_mammals\nfish\n").unwrap();
    std::fs::write(hundred.join("train.bin"), [cifar_record(&[1, 2], 0), cifar_record(&[0, 0], 1)].concat()).unwrap();
    let fine = cifar::load(&config(&hundred, Split::Train), 32, ColorMode::Rgb).unwrap();
    assert_eq!(fine.items.iter().map(|i| i.label.clone().unwrap()).collect::<Vec<_>>(), ["baby", "apple"]);
    let coarse = CifarConfig { labels: CifarLabels::Coarse, ..config(&hundred, Split::Train) };
    let coarse = cifar::load(&coarse, 32, ColorMode::Rgb).unwrap();
    assert_eq!(coarse.items.iter().map(|i| i.label.clone().unwrap()).collect::<Vec<_>>(), ["fish", "aquatic_mammals"]);

    // A truncated file, a label past the class list, a folder of neither kind, a missing split.
    let mut cut = cifar_record(&[0], 0);
    cut.pop();
    std::fs::write(ten.join("test_batch.bin"), cut).unwrap();
    let err = format!("{:#}", cifar::load(&config(&ten, Split::Test), 32, ColorMode::Rgb).unwrap_err());
    assert!(err.contains("test_batch.bin is 3072 bytes, not a whole number of 3073-byte records"), "{err}");
    std::fs::write(ten.join("test_batch.bin"), [cifar_record(&[0], 0), cifar_record(&[7], 0)].concat()).unwrap();
    let err = format!("{:#}", cifar::load(&config(&ten, Split::Test), 32, ColorMode::Rgb).unwrap_err());
    assert!(err.contains("test_batch.bin record 1 has label 7") && err.contains("lists 3 classes"), "{err}");
    let err = format!("{:#}", cifar::load(&config(dir.path(), Split::Train), 32, ColorMode::Rgb).unwrap_err());
    assert!(err.contains("data.cifar.path") && err.contains("batches.meta.txt"), "{err}");
    std::fs::remove_file(hundred.join("train.bin")).unwrap();
    let err = format!("{:#}", cifar::load(&config(&hundred, Split::Train), 32, ColorMode::Rgb).unwrap_err());
    assert!(err.contains("data.cifar.split"), "{err}");
}

#[test]
fn stl10_loads_column_major_images_and_labels_from_one() {
    use hebb::testing::stl10;
    use hebb::testing::{Split, Stl10Config};
    let dir = tempfile::tempdir().unwrap();
    let plane = 96 * 96;
    // Image k: red is 10k, green is the column x (column-major: byte x * 96 + y), blue 7.
    let image = |k: u8| -> Vec<u8> {
        let mut bytes = vec![10 * k; plane];
        bytes.extend((0..plane).map(|at| (at / 96) as u8));
        bytes.extend(std::iter::repeat_n(7, plane));
        bytes
    };
    std::fs::write(dir.path().join("train_X.bin"), [image(1), image(2)].concat()).unwrap();
    std::fs::write(dir.path().join("train_y.bin"), [3u8, 1]).unwrap();
    std::fs::write(dir.path().join("unlabeled_X.bin"), [image(4), image(5), image(6)].concat()).unwrap();
    std::fs::write(dir.path().join("class_names.txt"), "airplane\nbird\ncar\n").unwrap();
    let config = |split, limit| Stl10Config { path: dir.path().to_path_buf(), split, limit };
    let set = stl10::load(&config(Split::Train, 0), 96, ColorMode::Rgb).unwrap();
    assert_eq!(set.items.iter().map(|i| i.label.clone().unwrap()).collect::<Vec<_>>(), ["car", "airplane"]);
    // Planar, row-major after loading: pixel (x = 5, y = 2) of image 1 has green 5.
    let pixels = set.image(1);
    assert_eq!([pixels[2 * 96 + 5], pixels[plane + 2 * 96 + 5], pixels[2 * plane]], [20, 5, 7]);
    let unlabeled = stl10::load(&config(Split::Unlabeled, 2), 32, ColorMode::Rgb).unwrap();
    assert_eq!(unlabeled.len(), 2);
    assert!(unlabeled.items.iter().all(|i| i.label.is_none()));
    // Label 0 (they start at 1) and a label file of the wrong length are named.
    std::fs::write(dir.path().join("train_y.bin"), [0u8, 1]).unwrap();
    let err = format!("{:#}", stl10::load(&config(Split::Train, 0), 96, ColorMode::Rgb).unwrap_err());
    assert!(err.contains("train_y.bin record 0 has label 0") && err.contains("classes 1 to 3"), "{err}");
    std::fs::write(dir.path().join("train_y.bin"), [1u8]).unwrap();
    let err = format!("{:#}", stl10::load(&config(Split::Train, 0), 96, ColorMode::Rgb).unwrap_err());
    assert!(err.contains("has 1 labels but") && err.contains("has 2 images"), "{err}");
    let err = format!("{:#}", stl10::load(&config(Split::Test, 0), 96, ColorMode::Rgb).unwrap_err());
    assert!(err.contains("data.stl10.path") && err.contains("test_X.bin"), "{err}");
}
