//! Every config error names the field and the fix, and exits 2 — as a user sees it from
//! `sdctl plan --offline`.

use crate::support::{TempConfig, example_with, run, run_cmd, sdctl};

const T4: &str = "sd-agones-t4.yaml";

/// Runs `plan --offline` on the config and expects exit 2 with each `(line, fix)` on stderr.
fn expect_problems(config: &TempConfig, expected: &[(&str, &str)]) {
    let r = run(&["plan", "--offline", "-c", config.arg()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty(), "nothing on stdout when the config is invalid: {r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    for (line, fix) in expected {
        let at =
            lines.iter().position(|l| l.contains(line)).unwrap_or_else(|| panic!("missing {line:?} in\n{}", r.stderr));
        let next = lines.get(at + 1).copied().unwrap_or_default().trim_start();
        assert!(
            next.starts_with("fix: ") && next.contains(fix),
            "the line after {line:?} should be a fix containing {fix:?}:\n{}",
            r.stderr
        );
    }
}

#[test]
fn unsupported_gpu_type() {
    let c = example_with(T4, &[("type: t4", "type: a100")]);
    expect_problems(&c, &[(r#"gpu.type: "a100" is not supported (expected t4 or l4)"#, "set gpu.type to t4 or l4")]);
}

#[test]
fn unknown_keys_suggest_the_nearest_valid_key() {
    let c = example_with(
        T4,
        &[
            ("maxNodes: 3", "maxNode: 3"),
            ("machineType: custom-4-32768-ext", "machine_type: custom-4-32768-ext"),
            ("labels:", "lables:"),
        ],
    );
    expect_problems(
        &c,
        &[
            ("gpu.maxNode: unknown key", "did you mean `gpu.maxNodes`?"),
            ("gpu.machine_type: unknown key", "did you mean `gpu.machineType`?"),
            ("lables: unknown key", "did you mean `labels`?"),
        ],
    );
    let c = example_with(T4, &[("idleMinutes: 15", "coffeeBreaks: 15")]);
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("runtime.coffeeBreaks: unknown key"), "{r:?}");
    assert!(r.stderr.contains("valid keys here: kind, agonesVersion, namespace"), "{r:?}");
}

#[test]
fn environment_name_must_be_short_lower_case() {
    let c = example_with(T4, &[("name: sd-demo ", "name: SD_Demo ")]);
    expect_problems(
        &c,
        &[(r#"name: "SD_Demo" must match [a-z][a-z0-9-]{0,19}"#, "choose a short name such as sd-demo")],
    );
    let c = example_with(T4, &[("name: sd-demo ", "name: a-name-that-is-far-too-long ")]);
    expect_problems(&c, &[("name: \"a-name-that-is-far-too-long\" must match", "choose a short name")]);
}

#[test]
fn filestore_capacity_below_the_tier_minimum() {
    let c = example_with(T4, &[("capacityGb: 1024", "capacityGb: 512")]);
    expect_problems(
        &c,
        &[(
            "storage.filestore.capacityGb: 512 GiB is below the BASIC_HDD tier's minimum of 1024 GiB",
            "set storage.filestore.capacityGb to at least 1024",
        )],
    );
    let c = example_with(T4, &[("tier: BASIC_HDD, capacityGb: 1024", "tier: BASIC_SSD, capacityGb: 2048")]);
    expect_problems(&c, &[("minimum of 2560 GiB", "at least 2560")]);
}

#[test]
fn buffer_size_must_be_at_least_one() {
    let c = example_with(T4, &[("bufferSize: 1 ", "bufferSize: 0 ")]);
    expect_problems(&c, &[("runtime.bufferSize: must be at least 1", "set runtime.bufferSize: 1")]);
}

#[test]
fn max_users_beyond_the_gpus_says_how_many_are_needed() {
    let c = example_with(T4, &[("maxUsers: 3 ", "maxUsers: 5 ")]);
    expect_problems(
        &c,
        &[(
            "runtime.maxUsers: 5 users need 5 GPUs (one each), but gpu.maxNodes x gpu.count allows 3 x 1 = 3",
            "raise gpu.maxNodes to 5 or lower runtime.maxUsers to 3",
        )],
    );
}

#[test]
fn zones_outside_the_region() {
    let c = example_with(T4, &[("zones: [us-central1-a]", "zones: [us-central1-a, europe-west4-a]")]);
    expect_problems(
        &c,
        &[(r#"zones[1]: "europe-west4-a" is not a zone of region us-central1"#, "use zones of us-central1")],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let c = example_with(
        T4,
        &[
            ("type: t4", "type: a100"),
            ("bufferSize: 1 ", "bufferSize: 0 "),
            ("sizeGb: 1,", "sizeGb: 0,"),
            ("tier: STANDARD_HA", "tierr: BASIC"),
        ],
    );
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("has 4 problems:"), "{r:?}");
    assert!(r.stderr.contains("redis.tierr: unknown key"), "{r:?}");
}

#[test]
fn gpu_machine_types_must_take_the_gpu() {
    let c = example_with(T4, &[("machineType: custom-4-32768-ext", "machineType: g2-standard-8")]);
    expect_problems(&c, &[("gpu.machineType: \"g2-standard-8\" cannot take T4 GPUs", "use an N1 type")]);
    let c = example_with("sd-agones-l4-gcs.yaml", &[("  count: 1", "  count: 2")]);
    expect_problems(&c, &[("gpu.count: g2-standard-8 has 1 L4 GPU, not 2", "set gpu.count: 1")]);
}

#[test]
fn wrong_types_name_the_field() {
    let c = example_with(T4, &[("count: 1 ", "count: many ")]);
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("gpu.count: invalid type: string \"many\", expected a whole number"), "{r:?}");
    // The fix is the field's own documentation.
    assert!(r.stderr.contains("fix: GPUs per node"), "{r:?}");

    let c = example_with(T4, &[("idleMinutes: 15", "idleMinutes: 15\n  insecureExtensionAccess: maybe")]);
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("runtime.insecureExtensionAccess: invalid type: string \"maybe\", expected true or false")
    );
    assert!(r.stderr.contains("fix: Let signed-in users install WebUI extensions from the UI"), "{r:?}");
    assert!(r.stderr.contains("every field: docs/sdctl.schema.json"), "{r:?}");
}

#[test]
fn other_rules_name_the_field_and_fix() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "apiVersion: sdctl/v1",
            "apiVersion: sdctl/v2",
            "apiVersion: \"sdctl/v2\" is not supported",
            "set apiVersion: sdctl/v1",
        ),
        ("team: research", "sdctl-env: other", "labels.sdctl-env: is set by sdctl itself", "remove labels.sdctl-env"),
        (
            "oauthClient: managed",
            "oauthClient: { clientIdEnv: ID, clientSecretEnv: \"my secret\" }",
            "access.iap.oauthClient.clientSecretEnv",
            "never the secret itself",
        ),
        (
            "members: [user:alice@example.com]",
            "members: [alice@example.com]",
            "access.iap.members[0]: \"alice@example.com\" is not an IAM member",
            "write it as user:alice@example.com",
        ),
        (
            "portRange: [7000, 8000]",
            "portRange: [8000, 7000]",
            "runtime.portRange",
            "set runtime.portRange: [7000, 8000]",
        ),
        (
            "driver: latest",
            "driver: newest",
            "gpu.driver: \"newest\" is not supported (expected latest, default, daemonset)",
            "set gpu.driver to latest, default, daemonset",
        ),
        ("location: zonal", "location: Zonal", "cluster.location: \"Zonal\" is not supported", "(did you mean zonal?)"),
        ("domain: sd.example.com", "domain: https://sd.example.com/", "access.domain", "no scheme, no path"),
        (
            "agonesVersion: auto",
            "agonesVersion: 1.30.0",
            "runtime.agonesVersion: \"1.30.0\" is not a pinned Agones release",
            "--agones-manifest FILE",
        ),
        ("minNodes: 0 ", "minNodes: 4 ", "gpu.minNodes: 4 is more than gpu.maxNodes (3)", "lower gpu.minNodes"),
    ];
    for (from, to, line, fix) in cases {
        let c = example_with(T4, &[(from, to)]);
        expect_problems(&c, &[(line, fix)]);
    }
}

#[test]
fn missing_and_unreadable_files() {
    let r = run(&["plan", "--offline", "-c", "no/such/sdctl.yaml"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no/such/sdctl.yaml: cannot be read"), "{r:?}");
    assert!(r.stderr.contains("run `sdctl init`"), "{r:?}");
    let c = TempConfig::new("name: [unclosed\n");
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("is not valid YAML"), "{r:?}");
    let c = TempConfig::new("just a string\n");
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("must be a YAML mapping"), "{r:?}");
}

#[test]
fn missing_required_fields_say_where_to_set_them() {
    let c = TempConfig::new("apiVersion: sdctl/v1\n");
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 2);
    for needle in [
        "name: missing",
        "project: missing",
        "--project / SDCTL_PROJECT",
        "region: missing",
        "zones: at least one zone",
    ] {
        assert!(r.stderr.contains(needle), "missing {needle:?}: {r:?}");
    }
}

#[test]
fn flags_beat_environment_beat_file() {
    let c = example_with(T4, &[]);
    let plan = |cmd: &mut std::process::Command| {
        let r = run_cmd(cmd.args(["plan", "--offline", "-o", "json", "-c", c.arg()]));
        assert_eq!(r.code, 0, "{r:?}");
        r.json_lines()[0]["steps"][0]["description"].as_str().unwrap().to_string()
    };
    assert!(plan(&mut sdctl()).ends_with("in project my-project"));
    assert!(plan(sdctl().env("SDCTL_PROJECT", "env-project")).ends_with("in project env-project"));
    assert!(
        plan(sdctl().env("SDCTL_PROJECT", "env-project").args(["--project", "flag-project"]))
            .ends_with("in project flag-project")
    );
    // A bad override is reported as coming from the flag or variable, not the file.
    let r = run_cmd(sdctl().env("SDCTL_REGION", "europe-west4").args(["plan", "--offline", "-c", c.arg()]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(r#"zones[0]: "us-central1-a" is not a zone of region europe-west4"#), "{r:?}");
    let r = run(&["plan", "--offline", "-c", c.arg(), "--project", "Not A Project"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("project (from --project or SDCTL_PROJECT): \"Not A Project\""), "{r:?}");
}

#[test]
fn namespaces_of_kubernetes_agones_and_openkruise_are_refused() {
    // `down` deletes the runtime namespace: it must be one sdctl owns.
    let reserved = [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "agones-system",
        "kruise-system",
        "kruise-game-system",
        "kruise-daemon-config",
    ];
    for reserved in reserved {
        let c = example_with(T4, &[("namespace: sd", &format!("namespace: {reserved}"))]);
        expect_problems(
            &c,
            &[(
                &format!("runtime.namespace: \"{reserved}\" belongs to Kubernetes, Agones or OpenKruise"),
                "use a namespace of your own, such as sd",
            )],
        );
    }
    let c = example_with(T4, &[("namespace: sd", "namespace: Not_A_Label")]);
    expect_problems(&c, &[("runtime.namespace: \"Not_A_Label\" is not a Kubernetes namespace name", "such as sd")]);
}

#[test]
fn templates_name_each_problem_and_its_fix() {
    const OKG: &str = "sd-okg-t4.yaml";
    let c = example_with(
        OKG,
        &[
            ("name: sd15 ", "name: SD-15 "),
            ("name: sdxl", "name: sd-xl-with-a-long-name"),
            ("diskGb: 100", "diskGb: 5"),
        ],
    );
    expect_problems(
        &c,
        &[
            (r#"templates[0].name: "SD-15" must be 1-16 lower-case letters"#, "choose a short name such as sd15"),
            (r#"templates[1].name: "sd-xl-with-a-long-name" must be"#, "choose a short name"),
        ],
    );
    let c = example_with(OKG, &[("name: sdxl", "name: sd15"), ("diskGb: 100", "diskGb: 5")]);
    expect_problems(
        &c,
        &[
            (r#"templates[1].name: "sd15" is used by an earlier template"#, "give each template its own name"),
            ("templates[1].diskGb: 5 GB is outside a persistent disk's 10-65536 GB", "set diskGb to 50"),
        ],
    );
    let c = example_with(OKG, &[("engine: a1111\n    diskGb: 100", "engine: A1111\n    diskGb: 100")]);
    expect_problems(&c, &[(r#"templates[1].engine: "A1111" is not supported"#, "(did you mean a1111?)")]);
    let c = example_with(OKG, &[("engine: a1111\n    diskGb: 50", "engine: ComfyUI\n    diskGb: 50")]);
    expect_problems(&c, &[(r#"templates[0].engine: "ComfyUI" is not supported"#, "(did you mean comfyui?)")]);
    // Agones keeps a warm WebUI per template's Fleet: the GPUs must hold them.
    let c = example_with(
        OKG,
        &[("kind: okg", "kind: agones"), ("maxNodes: 3", "maxNodes: 1"), ("maxUsers: 3", "maxUsers: 1")],
    );
    expect_problems(
        &c,
        &[(
            "runtime.bufferSize: 2 templates keep 1 warm WebUI(s) each, 2 GPUs, but gpu.maxNodes x gpu.count allows 1",
            "raise gpu.maxNodes to 2, or use fewer templates",
        )],
    );
    // An empty list would leave users nothing to start.
    let text = std::fs::read_to_string(crate::support::repo_root().join("examples").join(OKG)).unwrap();
    let at = text.find("templates:").unwrap();
    let end = text.find("access:").unwrap();
    let c = TempConfig::new(&format!("{}templates: []\n{}", &text[..at], &text[end..]));
    expect_problems(&c, &[("templates: is empty", "remove `templates:`")]);
}

#[test]
fn runtime_kind_names_both_runtimes() {
    let c = example_with(T4, &[("kind: agones", "kind: kubevirt")]);
    expect_problems(
        &c,
        &[(
            r#"runtime.kind: "kubevirt" is not supported (expected agones or okg)"#,
            "set runtime.kind to agones or okg",
        )],
    );
}

#[test]
fn gpu_fallbacks_name_each_rung_and_fix() {
    let rungs = "    - { spot: true }\n    - { type: l4, machineType: n1-standard-8 }\n    - { type: t4, spot: true, flexStart: true }\n    - { type: t4, spot: true }\n    - { type: l4, maxNodes: 0 }\n    - { type: l4 }\n    - { type: l4 }\n";
    let example = "    - { type: t4 }                # rung 1: on-demand T4s\n    - { type: l4, maxNodes: 2 }   # rung 2: L4s on g2-standard-8\n";
    let c = example_with("sd-agones-ladder.yaml", &[(example, rungs)]);
    expect_problems(
        &c,
        &[
            ("gpu.fallbacks[0].type: is missing", "set type: t4 or type: l4"),
            (
                "gpu.fallbacks[1].machineType: \"n1-standard-8\" is not a G2 machine type",
                "g2-standard-8 is the default",
            ),
            ("gpu.fallbacks[2].flexStart: flex-start and spot are two provisioning models", "make them two rungs"),
            ("gpu.fallbacks[3]: t4 spot on custom-4-32768-ext is already the primary (gpu.type)", "remove this rung"),
            ("gpu.fallbacks[4].maxNodes: must be at least 1", "remove the rung"),
            ("gpu.fallbacks[6]: l4 on g2-standard-8 is already gpu.fallbacks[5]", "remove this rung"),
        ],
    );
    // An invalid rung is reported once, not also as a repeat.
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert!(r.stderr.contains("has 6 problems"), "{}", r.stderr);
    assert!(!r.stderr.contains("gpu.fallbacks[2]: t4 spot"), "{}", r.stderr);
    let c = example_with("sd-agones-ladder.yaml", &[]);
    let r = run(&["plan", "--offline", "-c", c.arg()]);
    assert_eq!(r.code, 0, "the example's ladder is valid: {r:?}");
}

#[test]
fn the_driver_daemonset_takes_one_gpu_type() {
    let c = example_with("sd-agones-ladder.yaml", &[("driver: latest", "driver: daemonset")]);
    expect_problems(
        &c,
        &[(
            "gpu.driver: daemonset installs the driver of one GPU type, but gpu.fallbacks mixes types",
            "set gpu.driver: latest",
        )],
    );
}
