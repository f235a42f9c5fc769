//! Docs that cannot drift: every config key the code knows is in docs/config.md, and every key
//! docs/config.md shows is one the code knows; `hebb config` prints what the reference describes;
//! the man page and shell completions come from the command line's own definition.

use std::collections::BTreeSet;
use std::path::Path;

use hebb::testing::EncodeConfig;

use crate::common::hebb;

/// `table.key` for every key of a TOML table, nested tables included.
fn keys_of(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::Table(inner) if key != "include" => keys_of(inner, &path, out),
            _ => {
                out.insert(path);
            }
        }
    }
}

/// The keys docs/config.md's TOML block shows, commented-out ones (other sources) included.
fn documented_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md")).unwrap();
    let block = text.split("```toml").nth(1).unwrap().split("```").next().unwrap();
    let mut table = String::new();
    let mut keys = BTreeSet::new();
    for line in block.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some(rest) = line.strip_prefix('[') {
            table = rest.split(']').next().unwrap().to_string();
        } else if let Some((key, _)) = line.split_once(" = ") {
            let key = key.trim();
            if !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                keys.insert(if table.is_empty() { key.to_string() } else { format!("{table}.{key}") });
            }
        }
    }
    keys
}

/// Every key a resolved config can hold: each data source, with its optional keys set.
fn code_keys() -> BTreeSet<String> {
    let sources = [
        "[data.sheet]\npath = \"s.png\"\ntile_size = 8\nlabels = \"l.csv\"\nname_column = \"n\"\ninclude = { a = \"1\" }",
        "[data.folder]\nroot = \"f\"\nnames = \"w.txt\"",
        "[data.mnist]\nimages = \"i\"\nlabels = \"l\"",
        "[data.cifar]\npath = \"c\"",
        "[data.stl10]\npath = \"s\"",
    ];
    let mut keys = BTreeSet::new();
    for source in sources {
        let config = EncodeConfig::from_toml(&format!("name = \"x\"\n{source}\n"), "test").unwrap();
        keys_of(&toml::from_str(&config.to_toml().unwrap()).unwrap(), "", &mut keys);
    }
    keys
}

#[test]
fn the_config_reference_names_every_key_and_only_real_ones() {
    let (documented, code) = (documented_keys(), code_keys());
    assert!(code.len() > 60, "{} keys in the code", code.len());
    let undocumented: Vec<_> = code.difference(&documented).collect();
    assert!(undocumented.is_empty(), "keys missing from docs/config.md: {undocumented:?}");
    let unknown: Vec<_> = documented.difference(&code).collect();
    assert!(unknown.is_empty(), "docs/config.md shows keys the code does not know: {unknown:?}");
}

/// Every value docs/config.md's TOML block sets on a line of its own (not commented out), as
/// (`table.key`, the value as TOML).
fn documented_values() -> Vec<(String, toml::Value)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md")).unwrap();
    let block = text.split("```toml").nth(1).unwrap().split("```").next().unwrap();
    let (mut table, mut values) = (String::new(), Vec::new());
    for line in block.lines().filter(|line| !line.trim_start().starts_with('#')) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('[') {
            table = rest.split(']').next().unwrap().to_string();
        } else if let Some((key, value)) = line.split_once(" = ") {
            // The value, without its trailing comment (a comment starts with "  #").
            let value = value.split("  #").next().unwrap().trim();
            let parsed: toml::Table = toml::from_str(&format!("v = {value}")).unwrap_or_else(|e| panic!("{line}: {e}"));
            let key = if table.is_empty() { key.trim().to_string() } else { format!("{table}.{}", key.trim()) };
            values.push((key, parsed["v"].clone()));
        }
    }
    values
}

#[test]
fn the_config_reference_shows_the_default_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = hebb(&["config", "--defaults"], dir.path());
    let defaults: toml::Table = toml::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let mut checked = 0;
    for (key, documented) in documented_values() {
        let mut value = toml::Value::Table(defaults.clone());
        for part in key.split('.') {
            value = value.get(part).unwrap_or_else(|| panic!("{key} is not in `hebb config --defaults`")).clone();
        }
        assert_eq!(value, documented, "docs/config.md shows {key} = {documented}, the code's default is {value}");
        checked += 1;
    }
    assert!(checked > 40, "{checked} values checked");
}

#[test]
fn hebb_config_prints_the_resolved_config_and_checks_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = hebb(&["config"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: toml::Table = toml::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let mut keys = BTreeSet::new();
    keys_of(&printed, "", &mut keys);
    assert!(keys.contains("encoder.lateral_layers") && keys.contains("data.sheet.name_column"), "{keys:?}");
    let defaults = hebb(&["config", "--defaults"], dir.path());
    assert!(defaults.status.success() && defaults.stdout == out.stdout, "--defaults prints the same");
    let both = hebb(&["config", "--defaults", "--config", "x.toml"], dir.path());
    assert!(!both.status.success() && String::from_utf8_lossy(&both.stderr).contains("--config"));
    std::fs::write(dir.path().join("bad.toml"), "name = \"x\"\n[data.folder]\nroot = \"f\"\n[map]\nn_neighbors = 1\n")
        .unwrap();
    let out = hebb(&["config", "--config", "bad.toml"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("map.n_neighbors"), "{stderr}");
}

#[test]
fn completions_and_the_man_page_are_generated_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [("bash", "_hebb()"), ("zsh", "#compdef hebb"), ("fish", "complete -c hebb")] {
        let out = hebb(&["completions", shell], dir.path());
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["encode", "query", "hopfield", "bench", "completions"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let out = hebb(&["completions", "tcsh"], dir.path());
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("bash"), "the shells are listed");
    let out = hebb(&["man"], dir.path());
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH hebb 1") && page.contains("Hebbian image encoders"), "{page}");
    assert!(page.contains("encode") && page.contains("\\-\\-quiet"), "{page}");
}
