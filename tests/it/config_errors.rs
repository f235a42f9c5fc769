//! Config parsing: defaults, and errors that name the key.

use hebb::config::{ColorMode, DataSource, EncodeConfig, EncoderConfig, FilterMode, LateralMode};

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
fn shipped_configs_parse() {
    for name in ["emoji", "seed-emoji", "tinyimagenet", "tinyimagenet-full", "pokemon", "mnist"] {
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
    let err = error_of(&format!("{MINIMAL}\n[encoder]\nchannels = [4, 4]\n"));
    assert!(err.contains("encoder.channels"), "{err}");
    let err = error_of(&format!("{MINIMAL}\n[training]\nfilter_layers = 100\n"));
    assert!(err.contains("training.filter_layers") && err.contains("0 (all) to 4"), "{err}");
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
