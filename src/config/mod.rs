//! `sdctl.yaml`: schema, defaults, validation, and flags > env > file > defaults, resolved once.

mod file;
mod keys;
mod model;
mod problems;
pub mod resolve;

use std::path::Path;

use serde_json::Value;

pub use file::ConfigFile;
pub use model::*;
pub use problems::{ConfigError, Problem};
pub use resolve::{Overrides, Sourced};

use problems::Problems;

/// Reads, checks and resolves the configuration file. Every problem is reported at once.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let fix = if e.kind() == std::io::ErrorKind::NotFound {
            "run `sdctl init` to write one, or pass -c FILE (examples/ has two)".to_string()
        } else {
            format!("check the file's permissions ({e})")
        };
        ConfigError {
            file: path.to_path_buf(),
            problems: vec![Problem::new(path.display().to_string(), "cannot be read", fix)],
        }
    })?;
    parse(&text, overrides).map_err(|problems| ConfigError { file: path.to_path_buf(), problems })
}

/// Parses configuration text; on failure returns every problem found.
pub fn parse(text: &str, overrides: &Overrides) -> Result<Config, Vec<Problem>> {
    let mut problems = Problems::default();
    let mut value: Value = if text.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_saphyr::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return Err(vec![Problem::new(
                    "(file)",
                    format!("is not valid YAML: {e}"),
                    "fix the syntax at the position shown",
                )]);
            }
        }
    };
    if !value.is_object() {
        return Err(vec![Problem::new(
            "(file)",
            "must be a YAML mapping of settings",
            "start from examples/sd-agones-t4.yaml or run `sdctl init`",
        )]);
    }
    keys::strip_unknown_keys(&schema(), &mut value, &mut problems);
    let file: ConfigFile = match serde_path_to_error::deserialize(value) {
        Ok(file) => file,
        Err(e) => {
            let path = e.path().to_string();
            let fix = match keys::describe(&schema(), &path) {
                Some(doc) => format!("{doc} (every field: docs/sdctl.schema.json)"),
                None => "see docs/sdctl.schema.json for the field's type".to_string(),
            };
            problems.push(path, type_message(e.inner()), fix);
            return Err(problems.0);
        }
    };
    let config = resolve::resolve(file, overrides, &mut problems);
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(problems.0),
    }
}

/// serde's "invalid type: string \"x\", expected u32" reads better as "expected a whole number".
fn type_message(e: &serde_json::Error) -> String {
    e.to_string()
        .replace("expected u32", "expected a whole number")
        .replace("expected u16", "expected a port number")
        .replace("expected a boolean", "expected true or false")
}

/// The JSON Schema of `sdctl.yaml`, generated from the file types.
pub fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or(Value::Null)
}

/// The schema as checked in under `docs/` (pretty JSON, trailing newline).
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}
