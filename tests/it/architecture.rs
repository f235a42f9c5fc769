//! The tidy test: reads `src/`, `shaders/` and `tests/` and fails on a broken invariant of
//! ARCHITECTURE.md, naming the file and the reference that breaks it. Only code counts: comments
//! and `#[cfg(test)]` modules may name any module.

use std::path::{Path, PathBuf};

/// The stages and helpers from the bottom up: code may use its own module and those below it.
const LAYERS: &[&[&str]] = &[
    &["choice", "progress"],
    &["compute"],
    &["config"],
    &["data"],
    &["encoder"],
    &["neighbours"],
    &["map"],
    &["eval"],
    &["run"],
    &["render"],
    &["hopfield"],
    &["commands"],
    &["cli"],
];

/// The crate root files, which may use every module (`testing` re-exports what the integration
/// tests reach).
const ROOTS: &[&str] = &["lib", "main", "testing"];

/// The only modules `lib.rs` makes public: the binary's entry point and the tests' surface.
const PUBLIC_MODULES: &[&str] = &["cli", "testing"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// A source file: its path under `src/` (with `/` separators) and its text.
struct Source {
    path: String,
    text: String,
}

impl Source {
    /// The top-level module the file belongs to (`encoder` for `encoder/train.rs`, `lib` for `lib.rs`).
    fn module(&self) -> &str {
        let first = self.path.split('/').next().unwrap_or("");
        first.strip_suffix(".rs").unwrap_or(first)
    }

    /// The file's code: no comment lines, and nothing from its `#[cfg(test)]` module on.
    fn code(&self) -> String {
        let end =
            self.text.find("#[cfg(test)]\nmod tests").or_else(|| self.text.find("#[cfg(test)]\npub(crate) mod tests"));
        self.text[..end.unwrap_or(self.text.len())]
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Every `crate::NAME` the code names.
fn crate_references(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        found.push(name);
    }
    found
}

/// Every broken invariant of the tree made of `sources` (under `src/`), the WGSL kernel names
/// (`shaders/NAME.wgsl`) and the integration tests' texts.
fn violations(sources: &[Source], kernels: &[String], tests: &[String]) -> Vec<String> {
    let mut broken = Vec::new();
    for source in sources {
        let module = source.module();
        let code = source.code();
        if !source.text.starts_with("//!") {
            broken.push(format!("src/{}: no `//!` doc comment at the top", source.path));
        }
        // Stages use only the stages before them; commands never import commands.
        for name in crate_references(&code) {
            if ROOTS.contains(&module) || name == module {
                continue;
            }
            match (layer_of(module), layer_of(&name)) {
                (Some(own), Some(used)) if used > own => {
                    broken.push(format!("src/{}: `{module}` uses `crate::{name}`, a later stage", source.path))
                }
                (None, _) => broken.push(format!("src/{}: module `{module}` is in no layer", source.path)),
                _ => {}
            }
        }
        if module == "commands" && source.path != "commands/mod.rs" {
            let own = source.path.split('/').nth(1).map(|c| c.trim_end_matches(".rs")).unwrap_or("");
            // A file directly under commands/ reaches its siblings through `super::`.
            let direct_child = source.path.matches('/').count() == 1;
            let needles: &[&str] =
                if direct_child { &["crate::commands::", "super::"] } else { &["crate::commands::"] };
            for needle in needles {
                for (at, _) in code.match_indices(needle) {
                    let other: String =
                        code[at + needle.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !other.is_empty() && other != own {
                        broken.push(format!("src/{}: command `{own}` uses command `{other}`", source.path));
                    }
                }
            }
        }
        // The crate's public surface is `cli::main` and `testing`.
        if source.path == "lib.rs" {
            for line in code.lines().filter_map(|l| l.trim().strip_prefix("pub mod ")) {
                let name = line.trim_end_matches(';');
                if !PUBLIC_MODULES.contains(&name) {
                    broken.push(format!("src/lib.rs: `pub mod {name}` (only cli and testing are public)"));
                }
            }
        }
        // Only the command line knows clap.
        if module != "cli" && !ROOTS.contains(&module) && (code.contains("clap::") || code.contains("use clap")) {
            broken.push(format!("src/{}: uses clap outside cli/", source.path));
        }
    }
    // The integration tests reach the library through `hebb::testing` alone.
    for test in tests {
        for (at, _) in test.match_indices("hebb::") {
            let path: String =
                test[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            if !path.starts_with("hebb::testing") {
                broken.push(format!("tests/: `{path}` is reached outside hebb::testing"));
            }
        }
    }
    // Every WGSL kernel is launched through compute/wgsl.rs, and a test proves it ran.
    let wgsl = sources.iter().find(|s| s.path == "compute/wgsl.rs").map_or("", |s| s.text.as_str());
    for kernel in kernels {
        if !wgsl.contains(&format!("\"{kernel}\"")) {
            broken.push(format!("shaders/{kernel}.wgsl: not in compute/wgsl.rs's KERNELS"));
        }
        if !tests.iter().any(|t| t.contains(&format!("launch_count(\"{kernel}\")"))) {
            broken.push(format!("shaders/{kernel}.wgsl: no test checks that it ran (launch_count)"));
        }
    }
    broken
}

fn files_under(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path, extension));
        } else if path.extension().is_some_and(|e| e == extension) {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn the_tree_keeps_its_invariants() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let sources: Vec<Source> = files_under(&src, "rs")
        .into_iter()
        .map(|path| Source {
            path: path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/"),
            text: std::fs::read_to_string(&path).unwrap(),
        })
        .collect();
    assert!(sources.len() > 50, "read {} files under src/", sources.len());
    let kernels: Vec<String> = files_under(&root.join("shaders"), "wgsl")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(!kernels.is_empty());
    // This file names library paths as data, not as uses.
    let tests: Vec<String> = files_under(&root.join("tests"), "rs")
        .iter()
        .filter(|p| !p.ends_with("architecture.rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let broken = violations(&sources, &kernels, &tests);
    assert!(broken.is_empty(), "ARCHITECTURE.md's invariants are broken:\n{}", broken.join("\n"));
}

#[test]
fn each_kind_of_break_is_found() {
    let source = |path: &str, text: &str| Source { path: path.into(), text: text.into() };
    let sources = vec![
        source("encoder/train.rs", "//! Training.\nuse crate::map::pipeline;\nuse crate::data::ImageSet;\n"),
        source("commands/query.rs", "//! Query.\nuse crate::commands::encode::run;\nuse super::eval;\n"),
        source("map/mod.rs", "use clap::Args;\n"),
        source("compute/wgsl.rs", "//! Kernels.\nconst KERNELS: [&str; 1] = [\"known\"];\n"),
        source("lib.rs", "//! The crate.\npub mod cli;\npub(crate) mod data;\npub mod map;\npub mod testing;\n"),
        source(
            "data/mod.rs",
            "//! Data.\n// crate::cli in a comment is fine\n#[cfg(test)]\nmod tests {\n    use crate::commands::encode;\n}\n",
        ),
    ];
    let kernels = vec!["known".to_string(), "unlisted".to_string()];
    let tests = vec![
        "launch_count(\"known\")".to_string(),
        "use hebb::testing::Features;\nuse hebb::map::lay_out;".to_string(),
    ];
    let broken = violations(&sources, &kernels, &tests);
    let expect = [
        "src/encoder/train.rs: `encoder` uses `crate::map`",
        "src/commands/query.rs: command `query` uses command `encode`",
        "src/commands/query.rs: command `query` uses command `eval`",
        "src/map/mod.rs: no `//!` doc comment",
        "src/map/mod.rs: uses clap outside cli/",
        "src/lib.rs: `pub mod map`",
        "tests/: `hebb::map::lay_out` is reached outside hebb::testing",
        "shaders/unlisted.wgsl: not in compute/wgsl.rs's KERNELS",
        "shaders/unlisted.wgsl: no test checks that it ran",
    ];
    for want in expect {
        assert!(broken.iter().any(|b| b.starts_with(want)), "missing {want:?} in {broken:#?}");
    }
    assert_eq!(broken.len(), expect.len(), "{broken:#?}");
}
