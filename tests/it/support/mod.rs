//! Helpers to run sdctl the way a user does: the real binary, a config file, exit code and output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod browser;
pub mod upstream;
pub mod world;

/// The result of one sdctl invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// stdout parsed as newline-delimited JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
            .collect()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// `sdctl` with a clean environment (no SDCTL_* leaking in from the developer's shell).
pub fn sdctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sdctl"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SDCTL_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    // A pinned download never leaves loopback: it fails at once (files come from flags, or the
    // cache a World seeds).
    cmd.env(sdctl::kube::upstream::MIRROR_ENV, "http://127.0.0.1:1");
    cmd.current_dir(repo_root());
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs sdctl with these arguments.
pub fn run(args: &[&str]) -> Run {
    run_cmd(sdctl().args(args))
}

pub fn run_cmd(cmd: &mut Command) -> Run {
    Run::from(cmd.output().expect("sdctl runs"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A config file in a fresh temporary directory.
pub struct TempConfig {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempConfig {
    pub fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sdctl.yaml");
        std::fs::write(&path, text).expect("write config");
        Self { _dir: dir, path }
    }

    pub fn arg(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }
}

/// An example config with `edit` applied (a line-based replace of `from` with `to`).
pub fn example_with(example: &str, edits: &[(&str, &str)]) -> TempConfig {
    let mut text = std::fs::read_to_string(repo_root().join("examples").join(example)).expect("example exists");
    for (from, to) in edits {
        assert!(text.contains(from), "example {example} has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    TempConfig::new(&text)
}

pub fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap_or_default()
}
