//! Embeds the web console (every file under the workspace's `web/` whose kind
//! the server knows how to serve) in the binary: writes `console_assets.rs`
//! into `OUT_DIR`, a table of (path relative to `web/`, bytes), so that a new
//! file of the console needs no change to the Rust code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file name endings the console serves (see `rest/console.rs`).
const SERVED: &[&str] = &[
    "html", "js", "mjs", "css", "svg", "png", "ico", "json", "woff2", "txt",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    // A directory: cargo looks at every file under it.
    println!("cargo:rerun-if-changed=../../web");
    let mut files = Vec::new();
    collect(&web, "", &mut files);
    files.sort();
    let mut out = String::from("/// The console's files: (path under `web/`, content).\n");
    out.push_str("pub(super) static ASSETS: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        let _ = writeln!(out, "    ({name:?}, include_bytes!({:?})),", path.display());
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(dest.join("console_assets.rs"), out).expect("write console_assets.rs");
}

/// Adds the served files under `dir` (named `prefix` + their path) to `files`;
/// hidden files and directories are left out.
fn collect(dir: &Path, prefix: &str, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(&path, &format!("{prefix}{name}/"), files);
        } else if kind.is_file()
            && name
                .rsplit_once('.')
                .is_some_and(|(_, ext)| SERVED.contains(&ext.to_ascii_lowercase().as_str()))
        {
            let path = path.canonicalize().unwrap_or(path);
            files.push((format!("{prefix}{name}"), path));
        }
    }
}
