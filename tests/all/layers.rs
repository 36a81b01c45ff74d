//! The layers of docs/architecture.md, checked: a module imports only from the layers below it
//! (`ui`, `cli` and `bench` sit side by side at the top; `cli` may start a benchmark).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layer of each top-level module, bottom (0) to top.
const LAYERS: &[(&str, u8)] = &[
    ("mapi", 0),
    ("profile", 1),
    ("eml", 1),
    ("durable", 1),
    ("store", 2),
    ("transport", 3),
    ("spooler", 4),
    ("ui", 5),
    ("cli", 5),
    ("bench", 5),
];

/// Sideways arrows allowed between modules of one layer.
const SIDEWAYS: &[(&str, &str)] = &[("cli", "bench")];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named after `crate::` in `text` (also inside `use crate::{a, b::c}`).
fn crate_imports(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // A group may span lines: read names up to the closing brace.
                let tail: String = text.lines().skip(n).collect::<Vec<_>>().join(" ");
                let start = tail.find("crate::{").map_or(0, |i| i + "crate::{".len());
                let mut depth = 1;
                let mut item = String::new();
                let mut names = Vec::new();
                for c in tail[start..].chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => {
                            names.push(std::mem::take(&mut item));
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 1 {
                        item.push(c);
                    }
                }
                names.push(item);
                for name in names {
                    let head: String = name
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !head.is_empty() {
                        out.push((n + 1, head));
                    }
                }
                rest = group;
            } else {
                let head: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((n + 1, head));
            }
        }
    }
    out
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        let Some(own) = layer(&top) else {
            // lib.rs and main.rs sit above everything.
            assert!(
                ["lib", "main"].contains(&top.as_str()),
                "{} is in no layer: add its module to LAYERS",
                rel.display()
            );
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        for (line, module) in crate_imports(&text) {
            *seen.entry(module.clone()).or_default() += 1;
            if module == top {
                continue;
            }
            let Some(theirs) = layer(&module) else {
                wrong.push(format!(
                    "{}:{line}: crate::{module} is in no layer",
                    rel.display()
                ));
                continue;
            };
            let sideways = theirs == own && SIDEWAYS.contains(&(top.as_str(), module.as_str()));
            if theirs >= own && !sideways {
                wrong.push(format!(
                    "{}:{line}: {top} (layer {own}) imports crate::{module} (layer {theirs})",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        seen.get("mapi").copied().unwrap_or(0) > 10,
        "the scan found too few imports to be reading the sources: {seen:?}"
    );
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_scan_reads_grouped_and_plain_imports() {
    let text = "use crate::mapi::Message;\nuse crate::{store::Store,\n  ui};\nlet x = crate::spooler::f(); // crate::bench\n";
    let got: Vec<String> = crate_imports(text).into_iter().map(|(_, m)| m).collect();
    assert_eq!(got, ["mapi", "store", "ui", "spooler"]);
}
