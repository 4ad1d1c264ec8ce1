//! The modules point one way, down the data flow:
//! `util → data → models → train → eval → run → quant → bench, predict, study, import` (and `main.rs`, the command
//! layer, on top). A module may use its own layer and the ones before it, never one after.

use std::path::Path;

const LAYERS: [&str; 11] =
    ["util", "data", "models", "train", "eval", "run", "quant", "bench", "predict", "study", "import"];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|&l| l == module)
}

/// `(line number, module)` of every `crate::<module>` in the code (comments skipped).
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            out.push((n + 1, name));
        }
    }
    out
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut uphill = Vec::new();
    for path in &all {
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
        let Some(own) = rank(&top) else { continue }; // lib.rs, main.rs
        for (line, module) in uses(&std::fs::read_to_string(path).unwrap()) {
            match rank(&module) {
                Some(r) if r > own => uphill.push(format!("{}:{line} uses crate::{module}", rel.display())),
                None => uphill.push(format!("{}:{line} uses unknown layer crate::{module}", rel.display())),
                _ => {}
            }
        }
    }
    assert!(uphill.is_empty(), "imports against the data flow:\n{}", uphill.join("\n"));
    // The check sees every layer (a renamed folder would silently pass).
    for layer in LAYERS {
        assert!(src.join(layer).is_dir() || src.join(format!("{layer}.rs")).is_file(), "{layer}");
    }
}

#[test]
fn the_checker_finds_an_uphill_import() {
    let found = uses("use crate::quant::x;\n// crate::run in a comment\nlet y = crate::eval::f();");
    assert_eq!(found, vec![(1, "quant".to_string()), (3, "eval".to_string())]);
}
