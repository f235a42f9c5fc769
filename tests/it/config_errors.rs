//! Config parsing: defaults, and errors that name the key.

use hebb::testing::{ColorMode, DataSource, EncodeConfig, EncoderConfig, FilterMode, LateralMode, LayoutThreads};

const MINIMAL: &str = r#"
name = "x"
[data.sheet]
path = "s.png"
tile_size = 8
"#;

fn error_of(text: &str) -> String {
    format!("{:#}", EncodeConfig::from_toml(text, "test.toml").unwrap_err())
}

#[test]
fn defaults_fill_everything_but_the_source() {
    let config = EncodeConfig::from_toml(MINIMAL, "test.toml").unwrap();
    assert_eq!(config.data.image_size, 96);
    assert_eq!(config.encoder, EncoderConfig::default());
    assert_eq!(config.encoder.lateral, LateralMode::None);
    assert_eq!(config.encoder.filters, FilterMode::Hebbian);
    assert_eq!(config.training.lr, 0.001);
    assert_eq!(config.data.color, ColorMode::Rgba);
    assert!(matches!(config.data.source, DataSource::Sheet(_)));
    // The resolved config round-trips through TOML.
    let again = EncodeConfig::from_toml(&config.to_toml().unwrap(), "resolved").unwrap();
    assert_eq!(config, again);
}

#[test]
fn map_parallel_takes_true_false_or_auto_and_round_trips() {
    assert_eq!(EncodeConfig::from_toml(MINIMAL, "test.toml").unwrap().map.parallel, LayoutThreads::Auto);
    for (written, want) in
        [("true", LayoutThreads::LockFree), ("false", LayoutThreads::InOrder), ("\"auto\"", LayoutThreads::Auto)]
    {
        let config = EncodeConfig::from_toml(&format!("{MINIMAL}[map]\nparallel = {written}\n"), "test.toml").unwrap();
        assert_eq!(config.map.parallel, want, "{written}");
        let again = EncodeConfig::from_toml(&config.to_toml().unwrap(), "resolved").unwrap();
        assert_eq!(again.map.parallel, want, "{written} after a round trip");
    }
    for bad in ["\"yes\"", "1"] {
        let message = error_of(&format!("{MINIMAL}[map]\nparallel = {bad}\n"));
        assert!(message.contains("parallel") && message.contains("expected true, false or \"auto\""), "{message}");
    }
}

#[test]
fn shipped_configs_parse() {
    for name in ["emoji", "seed-emoji", "tinyimagenet", "tinyimagenet-full", "pokemon", "mnist", "cifar10", "stl10"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("configs/{name}.toml"));
        EncodeConfig::load(Some(&path)).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
    for name in ["mnist", "glyphs", "papirus", "desktop-icons", "supertux"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("configs/suite/{name}.toml"));
        EncodeConfig::load(Some(&path)).unwrap_or_else(|e| panic!("suite/{name}: {e:#}"));
    }
    let default = EncodeConfig::load(None).unwrap();
    assert_eq!(default.name, "emoji");
}

#[test]
fn cifar_and_stl10_tables_resolve_and_cifar_has_no_unlabeled_split() {
    use hebb::testing::{CifarLabels, Split};
    let cifar = "name = \"x\"\n[data.cifar]\npath = \"c\"\nsplit = \"test\"\nlabels = \"coarse\"\n";
    let config = EncodeConfig::from_toml(cifar, "test.toml").unwrap();
    assert_eq!(config.data.color, ColorMode::Rgb);
    let DataSource::Cifar(table) = &config.data.source else { panic!("{:?}", config.data.source) };
    assert_eq!((table.split, table.labels), (Split::Test, CifarLabels::Coarse));
    assert_eq!(EncodeConfig::from_toml(&config.to_toml().unwrap(), "resolved").unwrap(), config);
    let err = error_of(&cifar.replace("\"test\"", "\"unlabeled\""));
    assert!(err.contains("data.cifar.split") && err.contains("no unlabeled split"), "{err}");
    let stl = "name = \"x\"\n[data.stl10]\npath = \"s\"\nsplit = \"unlabeled\"\n";
    let config = EncodeConfig::from_toml(stl, "test.toml").unwrap();
    assert!(matches!(config.data.source, DataSource::Stl10(_)));
    let err = error_of(&format!("{stl}[data.cifar]\npath = \"c\"\n"));
    assert!(err.contains("expected exactly one of") && err.contains("[data.stl10]"), "{err}");
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let err = error_of(&format!("{MINIMAL}\n[training]\nepoch = 3\n"));
    assert!(err.contains("epoch") && err.contains("test.toml"), "{err}");
    let err = error_of(&MINIMAL.replace("tile_size = 8", "tile_size = 8\ntile_sise = 9"));
    assert!(err.contains("tile_sise"), "{err}");
}

#[test]
fn zero_and_negative_sizes_are_rejected_by_key() {
    let err = error_of(&MINIMAL.replace("tile_size = 8", "tile_size = 0"));
    assert!(err.contains("data.sheet.tile_size"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[training]\nbatch_size = 0\n"));
    assert!(err.contains("training.batch_size"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[training]\nbatch_size = -4\n"));
    assert!(err.contains("batch_size"), "{err}");
    let err = error_of(&MINIMAL.replace("name = \"x\"", "name = \"x\"\n[data]\nimage_size = -96"));
    assert!(err.contains("image_size"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[training]\nlr = -0.1\n"));
    assert!(err.contains("training.lr"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[training]\ntemperature_growth = 0\n"));
    assert!(err.contains("training.temperature_growth") && err.contains("positive"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[training]\nfilter_lr_growth = -1\n"));
    assert!(err.contains("training.filter_lr_growth") && err.contains("positive"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[encoder]\nchannels = [4, 4]\n"));
    assert!(err.contains("encoder.channels"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[training]\nfilter_layers = 100\n"));
    assert!(err.contains("training.filter_layers") && err.contains("0 (all) to 4"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[encoder]\nkernel_sizes = [5, 3, 3]\n"));
    assert!(err.contains("encoder.kernel_sizes") && err.contains("expected 4"), "{err}");
    for side in ["4", "9", "0"] {
        let err = error_of(&format!("{MINIMAL}\n[encoder]\nkernel_sizes = [{side}, 3, 3, 3]\n"));
        assert!(err.contains("encoder.kernel_sizes") && err.contains("odd kernel sides from 1 to 7"), "{err}");
    }
    let err = error_of(&format!("{MINIMAL}\n[encoder]\nlateral_layers = 5\n"));
    assert!(err.contains("encoder.lateral_layers") && err.contains("0 (all) to 4"), "{err}");
}

#[test]
fn exactly_one_source_is_required() {
    let err = error_of("name = \"x\"\n[data]\nimage_size = 32\n");
    assert!(err.contains("found none"), "{err}");
    let both = format!("{MINIMAL}\n[data.mnist]\nimages = \"m\"\n");
    let err = error_of(&both);
    assert!(err.contains("found several"), "{err}");
}

/// Random values of the right and the wrong types for every key of the resolved config, a few
/// keys at a time (seeded), through `hebb encode --dry-run`: each is accepted or refused with one
/// line naming what was wrong, never a panic or a multi-line dump.
#[test]
fn random_values_for_every_key_give_a_verdict_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.png");
    crate::common::write_sheet(&sheet, 2, 2, 8);
    let config = crate::common::write_tiny_config(dir.path(), &sheet, "");
    let base: toml::Table = {
        let resolved = EncodeConfig::from_toml(&std::fs::read_to_string(&config).unwrap(), "tiny").unwrap();
        toml::from_str(&resolved.to_toml().unwrap()).unwrap()
    };
    // Every (table, key) of the resolved config; the data source's own table too.
    let mut keys: Vec<(Vec<String>, String)> = Vec::new();
    fn collect(table: &toml::Table, path: &mut Vec<String>, keys: &mut Vec<(Vec<String>, String)>) {
        for (key, value) in table {
            match value {
                toml::Value::Table(inner) => {
                    path.push(key.clone());
                    collect(inner, path, keys);
                    path.pop();
                }
                _ => keys.push((path.clone(), key.clone())),
            }
        }
    }
    collect(&base, &mut Vec::new(), &mut keys);
    assert!(keys.len() > 40, "{} keys", keys.len());
    let values: Vec<toml::Value> = [
        "0",
        "1",
        "-1",
        "7",
        "4294967297",
        "9223372036854775807",
        "0.0",
        "-2.5",
        "1e30",
        "nan",
        "inf",
        "\"\"",
        "\"x\"",
        "\"relu\"",
        "true",
        "[]",
        "[1]",
        "[3, 3, 3, 3]",
        "[1000000000, 1, 1, 1]",
        "[\"a\"]",
        "{ a = 1 }",
    ]
    .iter()
    .map(|text| toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap().remove("v").unwrap())
    .collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..120 {
        let mut table = base.clone();
        let mut changed = Vec::new();
        for _ in 0..1 + next(2) {
            let (path, key) = &keys[next(keys.len())];
            let value = values[next(values.len())].clone();
            let mut target = &mut table;
            for part in path {
                target = target.get_mut(part).and_then(|v| v.as_table_mut()).unwrap();
            }
            changed.push(format!("{}.{key} = {value}", path.join(".")));
            target.insert(key.clone(), value);
        }
        let file = dir.path().join(format!("round{round}.toml"));
        std::fs::write(&file, toml::to_string(&table).unwrap()).unwrap();
        let out = crate::common::hebb(&["encode", "--dry-run", "--config", file.to_str().unwrap()], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                accepted += 1;
                assert!(String::from_utf8_lossy(&out.stdout).contains("config valid"), "{changed:?}");
            }
            Some(1) => {
                refused += 1;
                let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
                assert!(lines.len() == 1 && lines[0].starts_with("error: "), "{changed:?}: {stderr}");
            }
            other => panic!("{changed:?}: exit {other:?}: {stderr}"),
        }
    }
    // Most random values are of the wrong type; the seeded draw still has both verdicts.
    assert!(accepted > 0 && refused > 50, "{accepted} accepted, {refused} refused");
    assert!(!dir.path().join("outputs").exists(), "a dry run writes nothing");
}
