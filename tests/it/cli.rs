//! The command line as a user meets it: `plan --offline`, JSON events, exit codes, help,
//! completions and the config schema kept fresh.

use std::io::Read;
use std::process::Stdio;

use serde_json::Value;

use crate::support::{example_with, read, repo_root, run, sdctl};

/// The step graph of design.md for a config without the driver DaemonSet.
const T4_GRAPH: &[(&str, &[&str])] = &[
    ("apis", &[]),
    ("network", &["apis"]),
    ("cluster", &["apis", "network"]),
    ("gpu-pool", &["cluster"]),
    ("storage", &["apis", "network"]),
    ("redis", &["apis", "network"]),
    ("registry", &["apis"]),
    ("address", &["apis"]),
    ("images", &["registry"]),
    ("agones", &["cluster"]),
    ("volumes", &["agones", "storage"]),
    ("fleet", &["agones", "volumes", "images", "gpu-pool"]),
    ("router", &["agones", "redis", "images"]),
    ("reclaim", &["agones", "redis", "images"]),
    ("ingress", &["router", "address"]),
];

#[test]
fn plan_offline_prints_every_step_with_its_dependencies() {
    let r = run(&["plan", "--offline", "-c", "examples/sd-agones-t4.yaml"]);
    assert_eq!(r.code, 0, "{r:?}");
    for (id, deps) in T4_GRAPH {
        let line = r
            .stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_else(|| panic!("no line for step {id}:\n{}", r.stdout));
        assert!(line.starts_with("create"), "{line}");
        if !deps.is_empty() {
            assert!(line.ends_with(&format!("[after {}]", deps.join(", "))), "{line}");
        }
    }
    assert!(r.stdout.contains("GKE cluster sd-demo-gke in us-central1-a"), "{}", r.stdout);
    assert!(r.stdout.contains("Plan: 15 to create, 0 to update, 0 unchanged."), "{}", r.stdout);
}

#[test]
fn plan_json_is_one_plan_event_with_each_steps_dependencies() {
    for example in ["examples/sd-agones-t4.yaml", "examples/sd-agones-l4-gcs.yaml"] {
        let r = run(&["plan", "--offline", "-o", "json", "-c", example]);
        assert_eq!(r.code, 0, "{r:?}");
        let events = r.json_lines();
        assert_eq!(events.len(), 1, "stdout carries only the plan event: {r:?}");
        assert_eq!(events[0]["event"], "plan");
        let steps = events[0]["steps"].as_array().unwrap();
        let got: Vec<(String, Vec<String>)> = steps
            .iter()
            .map(|s| {
                assert_eq!(s["action"], "create");
                let deps =
                    s["depends_on"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect();
                (s["id"].as_str().unwrap().to_string(), deps)
            })
            .collect();
        let want: Vec<(String, Vec<String>)> =
            T4_GRAPH.iter().map(|(id, deps)| (id.to_string(), deps.iter().map(|d| d.to_string()).collect())).collect();
        assert_eq!(got, want, "{example}");
    }
}

#[test]
fn the_driver_daemonset_is_a_step_only_when_configured() {
    let c = example_with("sd-agones-t4.yaml", &[("driver: latest", "driver: daemonset")]);
    let r = run(&["plan", "--offline", "-o", "json", "-c", c.arg()]);
    let steps = r.json_lines()[0]["steps"].as_array().unwrap().clone();
    let find = |id: &str| steps.iter().find(|s| s["id"] == id).cloned().unwrap_or(Value::Null);
    assert_eq!(find("drivers")["depends_on"], serde_json::json!(["gpu-pool"]));
    assert_eq!(find("fleet")["depends_on"], serde_json::json!(["agones", "volumes", "images", "gpu-pool", "drivers"]));
    assert!(
        find("drivers")["description"].as_str().unwrap().contains("daemonset-preloaded.yaml"),
        "T4: the default driver"
    );
}

#[test]
fn plan_exit_code_reports_pending_changes() {
    let r = run(&["plan", "--offline", "--exit-code", "-c", "examples/sd-agones-t4.yaml"]);
    assert_eq!(r.code, 10, "{r:?}");
}

#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    let before = run(&["-o", "json", "-c", "examples/sd-agones-t4.yaml", "plan", "--offline"]);
    let after = run(&["plan", "--offline", "-o", "json", "-c", "examples/sd-agones-t4.yaml"]);
    assert_eq!(before.code, 0, "{before:?}");
    assert_eq!(before.stdout, after.stdout);
}

#[test]
fn unknown_steps_are_usage_errors() {
    let r = run(&["up", "gpu", "-c", "examples/sd-agones-t4.yaml"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("unknown step \"gpu\"; steps of this configuration: apis, network, cluster, gpu-pool"),
        "{r:?}"
    );
}

#[test]
fn runtime_commands_name_what_they_lack() {
    let r = run(&["runtime", "router"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--redis-url"), "{r:?}");
    let r = run(&["runtime", "reclaim", "--redis-url", "redis://127.0.0.1:1"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--idle-minutes"), "{r:?}");
    let r = run(&["runtime", "router", "--redis-url", "redis://x", "--trust-iap-header", "--iap-audience", "a"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("cannot be used with"), "{r:?}");
}

#[test]
fn down_refuses_without_a_terminal_or_yes() {
    let r = run(&["down", "-c", "examples/sd-agones-t4.yaml"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("needs confirmation: run it in a terminal, or pass -y"), "{r:?}");
}

#[test]
fn help_teaches() {
    let r = run(&["--help"]);
    assert_eq!(r.code, 0);
    for needle in ["sdctl init", "sdctl up", "Exit codes: 0 ok", "--api-endpoint", "130"] {
        assert!(r.stdout.contains(needle), "--help lacks {needle:?}");
    }
    let r = run(&["up", "--help"]);
    for needle in ["--no-wait", "--skip-preflight", "--agones-manifest", "gpu-pool", "resume"] {
        assert!(r.stdout.contains(needle), "up --help lacks {needle:?}");
    }
}

/// Every command's `--help` fits a 100-column terminal: clap wraps what it writes, and the
/// examples and notes written by hand stay within it.
#[test]
fn every_help_fits_100_columns() {
    use clap::CommandFactory;
    fn paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(prefix.clone());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut next = prefix.clone();
            next.push(sub.get_name().to_string());
            paths(sub, next, out);
        }
    }
    let mut all = Vec::new();
    paths(&sdctl::cli::Cli::command(), Vec::new(), &mut all);
    assert!(all.len() > 20, "{all:?}");
    for path in all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let r = crate::support::run_cmd(crate::support::sdctl().args(&args).env("COLUMNS", "100"));
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        for line in r.stdout.lines() {
            assert!(line.chars().count() <= 100, "sdctl {}: {} columns:\n{line}", args.join(" "), line.chars().count());
        }
    }
}

#[test]
fn a_closed_pipe_is_a_normal_end() {
    let mut child = sdctl()
        .args(["plan", "--offline", "-c", "examples/sd-agones-t4.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.code().is_some(), "killed by a signal");
}

/// Checked-in generated files must match what the code generates. `SDCTL_UPDATE_GENERATED=1`
/// rewrites them.
fn assert_fresh(path: &str, fresh: &str) {
    if std::env::var_os("SDCTL_UPDATE_GENERATED").is_some() {
        std::fs::write(repo_root().join(path), fresh).unwrap();
        return;
    }
    assert!(
        read(path) == fresh,
        "{path} is stale: regenerate it with `SDCTL_UPDATE_GENERATED=1 cargo test --test it fresh`"
    );
}

#[test]
fn completions_are_fresh() {
    for (shell, file) in [
        ("bash", "completions/sdctl.bash"),
        ("zsh", "completions/_sdctl"),
        ("fish", "completions/sdctl.fish"),
        ("powershell", "completions/_sdctl.ps1"),
    ] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("sdctl"));
        assert_fresh(file, &r.stdout);
    }
}

#[test]
fn json_schema_is_fresh_and_describes_the_examples() {
    assert_fresh("docs/sdctl.schema.json", &sdctl::config::schema_text());
    let schema: Value = serde_json::from_str(&sdctl::config::schema_text()).unwrap();
    assert_eq!(schema["properties"]["gpu"]["anyOf"][0]["$ref"], "#/$defs/GpuFile");
    assert_eq!(schema["$defs"]["GpuFile"]["additionalProperties"], false);
}

#[test]
fn both_examples_are_valid() {
    for example in ["sd-agones-t4.yaml", "sd-agones-l4-gcs.yaml"] {
        let c = example_with(example, &[]);
        let r = run(&["plan", "--offline", "-c", c.arg()]);
        assert_eq!(r.code, 0, "{example}: {r:?}");
    }
}
