//! The import rule of `src/`: modules form layers and a module only names modules of its own layer
//! or below (docs/architecture.md draws the picture). This test reads every source file and fails,
//! naming the file, the line and both layers, when one reaches upward; it also fails when a file
//! sits in a folder no layer claims, so a new module has to be placed deliberately.

use std::path::{Path, PathBuf};

/// The layers from the top down; each names the top-level modules (folders or files under `src/`)
/// it holds. A module may use `crate::` paths into its own layer and every layer below it.
const LAYERS: &[(&str, &[&str])] = &[
    ("entry", &["main", "lib", "cli", "start"]),
    ("HTTP composition", &["http"]),
    ("web console", &["console"]),
    (
        "features",
        &[
            "tenants",
            "calls",
            "messaging",
            "appointments",
            "numbers",
            "recordings",
            "events",
            "analytics",
            "outbox",
        ],
    ),
    ("web kit", &["web"]),
    ("state", &["state"]),
    (
        "infrastructure",
        &[
            "db",
            "jobs",
            "twilio",
            "config",
            "telemetry",
            "auth",
            "http_clients",
            "failure",
            "rate_limit",
            // Macros exported at the crate root by `db`.
            "with_db",
            "with_tx",
            "with_conn",
            "stored_row",
        ],
    ),
    ("domain values", &["domain", "clock", "secret"]),
];

/// The layer index of a top-level module (0 is the top), if any layer claims it.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// The top-level module a file under `src/` belongs to: `src/db/calls.rs` → `db`, `src/app.rs` →
/// `app`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("non-empty");
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<module>` a line of code names (comments are skipped: a doc link is no import).
/// `use crate::{a, b::c}` groups are read too.
fn named_modules(code: &str) -> Vec<String> {
    let code = code.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `switchboard_twilio::` or `my_crate::` are other crates, not ours.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// Items re-exported at the crate root, by the module that defines them.
fn root_item_module(name: &str) -> Option<&'static str> {
    match name {
        "AppState" => Some("state"),
        "Role" => Some("start"),
        _ => None,
    }
}

#[test]
fn imports_only_run_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files in src/", files.len());
    let mut upward = Vec::new();
    let mut unplaced = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let Some(here) = layer_of(&module) else {
            unplaced.push(format!("{}", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") {
                continue;
            }
            for named in named_modules(line) {
                let target = root_item_module(&named).unwrap_or(&named);
                let Some(there) = layer_of(target) else {
                    if target.chars().next().is_some_and(|c| c.is_lowercase()) {
                        unplaced.push(format!(
                            "crate::{named} named at {}:{}",
                            file.display(),
                            n + 1
                        ));
                    }
                    continue;
                };
                if there < here {
                    upward.push(format!(
                        "{}:{}: {} ({}) uses crate::{} ({})",
                        file.strip_prefix(&src).unwrap().display(),
                        n + 1,
                        module,
                        LAYERS[here].0,
                        named,
                        LAYERS[there].0
                    ));
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules no layer claims (add them to LAYERS in tests/integration/layers.rs and to \
         docs/architecture.md):\n{}",
        unplaced.join("\n")
    );
    assert!(
        upward.is_empty(),
        "{} upward imports:\n{}",
        upward.len(),
        upward.join("\n")
    );
}

#[test]
fn the_reader_sees_groups_and_skips_comments_and_other_crates() {
    assert_eq!(
        named_modules("use crate::{db::Db, web::error::ApiError};"),
        vec!["db", "web"]
    );
    assert_eq!(
        named_modules("let x = crate::http::router(s);"),
        vec!["http"]
    );
    assert_eq!(
        named_modules("use switchboard_twilio::x; // see crate::http"),
        Vec::<String>::new()
    );
    assert_eq!(layer_of("http"), Some(1));
    assert!(layer_of("web") > layer_of("voice"));
    assert_eq!(layer_of("nowhere"), None);
}
