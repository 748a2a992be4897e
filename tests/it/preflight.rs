//! `sdctl preflight` and the preflight `up` runs first, against emulator scenarios that break one
//! thing each (the Kubeflow guide hit them one by one, after creating things). Each is caught with
//! the right fix before any mutating request, and `up` stops with exit 3.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::world::World;
use crate::support::{Run, TempConfig, example_with, sdctl};

/// `sdctl preflight -o json` as one document.
fn doc(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {run:?}"))
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {doc:#}"))
}

/// Preflight fails check `id` with `message` and `fix` fragments, sending nothing that mutates;
/// then `up` stops with exit 3, again before any mutating request.
async fn caught(world: &World, config: &TempConfig, id: &str, message: &[&str], fix: &[&str]) -> Value {
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(r.code, 3, "{r:?}");
    let d = doc(&r);
    assert_eq!(d["ok"], false);
    let c = check(&d, id).clone();
    assert_eq!(c["status"], "fail", "{c:#}");
    for m in message {
        assert!(c["message"].as_str().unwrap().contains(m), "message lacks {m:?}: {c:#}");
    }
    for f in fix {
        assert!(c["fix"].as_str().unwrap().contains(f), "fix lacks {f:?}: {c:#}");
    }
    assert!(r.stderr.contains("`sdctl up` would stop before creating anything"), "{r:?}");
    assert!(world.mutating_since(0).is_empty(), "preflight mutated: {:#?}", world.mutating_since(0));

    let before = world.requests().len();
    let up = world.sdctl(&["up", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(up.code, 3, "{up:?}");
    let events = up.json_lines();
    assert_eq!(events[0]["event"], "preflight", "{up:?}");
    assert!(events[0]["checks"].as_array().unwrap().iter().any(|c| c["id"] == id && c["status"] == "fail"));
    let summary = events.last().unwrap();
    assert_eq!((summary["event"].as_str(), summary["ok"].as_bool()), (Some("summary"), Some(false)));
    assert!(!events.iter().any(|e| e["event"] == "step_started"), "{up:?}");
    assert!(up.stderr.contains("preflight failed") && up.stderr.contains("Nothing was created"), "{}", up.stderr);
    assert!(world.mutating_since(before).is_empty(), "up mutated: {:#?}", world.mutating_since(before));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_project_passes_every_check() {
    let world = World::used_project("").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let r = world.sdctl(&["preflight", "-c", config.arg()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    for line in [
        "pass credentials",
        "owner@example.com",
        "pass billing",
        "pass permissions",
        "pass quota-nvidia-t4-gpus",
        "pass accelerator",
        "custom-4-32768-ext (n1 family)",
        "pass kubernetes-version",
        "Agones 1.60.0 supports Kubernetes 1.34-1.36",
        "pass iap-members",
        "every member is in example.com (the organization)",
        "pass network-policy",
        "will be created with Dataplane V2",
    ] {
        assert!(r.stdout.contains(line), "stdout lacks {line:?}:\n{}", r.stdout);
    }
    // Filestore's quota cannot be read: said, not hidden.
    assert!(r.stdout.contains("skip quota-filestore"), "{}", r.stdout);
    assert!(world.mutating_since(0).is_empty());
    // testIamPermissions carried every step's permissions.
    let tested = world.request("cloudresourcemanager.projects.testIamPermissions");
    let asked: Vec<&str> =
        tested["body"]["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    for p in [
        "container.clusters.create",
        "iam.serviceAccounts.actAs",
        "file.instances.create",
        "redis.instances.getAuthString",
    ] {
        assert!(asked.contains(&p), "{p} not tested: {asked:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_t4_quota_is_caught() {
    let world = World::used_project("quotas: { us-central1: { NVIDIA_T4_GPUS: 0 } }").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    caught(
        &world,
        &config,
        "quota-nvidia-t4-gpus",
        &["NVIDIA_T4_GPUS in us-central1: needs 3", "0 of 0 available"],
        &["request more NVIDIA_T4_GPUS quota in us-central1", "gpu.spot: true draws on PREEMPTIBLE_NVIDIA_T4_GPUS"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_gpus_all_regions_is_caught() {
    let world = World::used_project("quotas: { global: { GPUS_ALL_REGIONS: 0 } }").await;
    let config = example_with("sd-agones-l4-gcs.yaml", &[]);
    caught(
        &world,
        &config,
        "quota-gpus-all-regions",
        &["GPUS_ALL_REGIONS project-wide: needs 4"],
        &["new projects often have GPUS_ALL_REGIONS = 0", "request more GPUS_ALL_REGIONS quota (global)"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_without_l4_is_caught_and_zones_that_have_it_suggested() {
    let world = World::used_project("accelerators: { us-central1-a: [nvidia-tesla-t4] }").await;
    let config = example_with("sd-agones-l4-gcs.yaml", &[]);
    caught(
        &world,
        &config,
        "accelerator",
        &["nvidia-l4 is not offered in us-central1-a"],
        &[
            "zones of us-central1 that offer nvidia-l4: us-central1-b, us-central1-c, us-central1-f",
            "set zones: [us-central1-b, us-central1-c]",
        ],
    )
    .await;
    // G2 machines come with their L4s: the machine type is missing there too.
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    let machines = check(&doc(&r), "machine-types").clone();
    assert_eq!(machines["status"], "fail");
    assert!(
        machines["message"].as_str().unwrap().contains("gpu.machineType g2-standard-8 is not offered in us-central1-a")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_is_named_with_its_step_and_role() {
    let world = World::used_project("permissionsDenied: [container.clusters.create, iam.serviceAccounts.actAs]").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let c = caught(
        &world,
        &config,
        "permissions",
        &["2 of", "cluster: container.clusters.create, iam.serviceAccounts.actAs", "gpu-pool: iam.serviceAccounts.actAs"],
        &[
            "gcloud projects add-iam-policy-binding my-project --member=user:owner@example.com --role=roles/container.admin",
            "--role=roles/iam.serviceAccountUser",
        ],
    )
    .await;
    assert!(!c["message"].as_str().unwrap().contains("network:"), "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_disabled_is_caught() {
    let world = World::used_project("billingEnabled: false").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    caught(
        &world,
        &config,
        "billing",
        &["project my-project has no billing account"],
        &["gcloud billing projects link my-project --billing-account=ACCOUNT_ID"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_org_policy_is_caught_and_private_nodes_avoid_it() {
    let world =
        World::used_project("orgPolicies: { compute.vmExternalIpAccess: deny, compute.requireShieldedVm: deny }").await;
    let public = example_with("sd-agones-t4.yaml", &[]);
    caught(
        &world,
        &public,
        "org-policy:compute.vmExternalIpAccess",
        &["nodes of a public cluster", "steps cluster and gpu-pool would fail"],
        &["set cluster.private: true", "gcloud org-policies reset compute.vmExternalIpAccess --project=my-project"],
    )
    .await;
    let private = example_with("sd-agones-t4.yaml", &[("private: false", "private: true")]);
    let r = world.sdctl(&["preflight", "-c", private.arg(), "-o", "json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let d = doc(&r);
    assert_eq!(check(&d, "org-policy:compute.vmExternalIpAccess")["status"], "pass");
    let shielded = check(&d, "org-policy:compute.requireShieldedVm");
    assert_eq!(shielded["status"], "pass");
    assert!(shielded["message"].as_str().unwrap().starts_with("enforced; sdctl's nodes are Shielded VMs"));
}

/// Organization policies that break what sdctl does itself: creating its service accounts,
/// peering the VPC with Memorystore, and the locations resources may live in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_policies_that_break_up_are_caught() {
    let world = World::used_project("orgPolicies: { iam.disableServiceAccountCreation: deny }").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    caught(
        &world,
        &config,
        "org-policy:iam.disableServiceAccountCreation",
        &[
            "forbids creating service accounts",
            "sd-demo-nodes@",
            "sd-demo-build@",
            "steps cluster and images would fail",
        ],
        &["gcloud org-policies reset iam.disableServiceAccountCreation --project=my-project"],
    )
    .await;

    let world = World::used_project("orgPolicies: { compute.restrictVpcPeering: deny }").await;
    caught(
        &world,
        &config,
        "org-policy:compute.restrictVpcPeering",
        &["forbids VPC peering", "steps redis and storage"],
        &[],
    )
    .await;

    let world = World::used_project("orgPolicies: { gcp.resourceLocations: 'allow:in:europe-locations' }").await;
    caught(
        &world,
        &config,
        "org-policy:gcp.resourceLocations",
        &["allows resources only in in:europe-locations", "us-central1, us-central1-a are not"],
        &["choose an allowed region and zones"],
    )
    .await;

    // Allowed locations, default accounts without roles (sdctl uses its own): all pass.
    let world = World::used_project(
        "orgPolicies: { gcp.resourceLocations: 'allow:in:us-locations', iam.automaticIamGrantsForDefaultServiceAccounts: deny }",
    )
    .await;
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let d = doc(&r);
    assert_eq!(check(&d, "org-policy:gcp.resourceLocations")["status"], "pass");
    let grants = check(&d, "org-policy:iam.automaticIamGrantsForDefaultServiceAccounts");
    assert!(grants["message"].as_str().unwrap().contains("run as their own accounts"), "{grants}");
    let world = World::used_project("orgPolicies: { gcp.resourceLocations: 'allow:in:eu-locations' }").await;
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(check(&doc(&r), "org-policy:gcp.resourceLocations")["status"], "warn", "a group sdctl cannot evaluate");
}

/// The Kubeflow guide's surprise: 4 nodes became 12 because the cluster was regional.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regional_cluster_over_the_cpu_quota_only_by_zone_multiplication() {
    let world = World::used_project("quotas: { us-central1: { CPUS: 20 } }").await;
    let shape = [
        ("location: zonal", "location: regional"),
        ("zones: [us-central1-a]", "zones: [us-central1-a, us-central1-b, us-central1-c]"),
        ("nodes: 1 }", "nodes: 2 }"),
        ("maxNodes: 3", "maxNodes: 1"),
        ("maxUsers: 3", "maxUsers: 1"),
    ];
    let regional = example_with("sd-agones-t4.yaml", &shape);
    caught(
        &world,
        &regional,
        "quota-cpus",
        &[
            "CPUS in us-central1: needs 28",
            "system pool 3 zones x 2 node(s) (regional: per zone) x 4 vCPUs = 24",
            "GPU pool at gpu.maxNodes 1 x 4 vCPUs = 4",
            "20 of 20 available",
        ],
        &["or use one zone (zones: [us-central1-a], cluster.location: zonal)", "x3 now"],
    )
    .await;
    // The same pools in one zone fit: 2 x 4 + 4 = 12.
    let zonal = example_with("sd-agones-t4.yaml", &shape[2..]);
    let r = world.sdctl(&["preflight", "-c", zonal.arg(), "-o", "json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(check(&doc(&r), "quota-cpus")["message"].as_str().unwrap().contains("needs 12"));
}

/// A check that needs a disabled API is skipped with the reason; `up` enables the API, runs the
/// check again before anything else, and stops there when it fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_api_defers_its_checks_until_up_enabled_it() {
    let world =
        World::used_project("disabledApis: [compute.googleapis.com]\nquotas: { us-central1: { NVIDIA_T4_GPUS: 0 } }")
            .await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(r.code, 0, "nothing failed, some could not be read: {r:?}");
    let d = doc(&r);
    let apis = check(&d, "apis");
    assert_eq!(apis["status"], "warn");
    assert!(apis["message"].as_str().unwrap().contains("compute.googleapis.com"), "{apis}");
    assert!(
        apis["fix"].as_str().unwrap().contains("gcloud services enable compute.googleapis.com --project my-project")
    );
    for id in ["quotas", "accelerator", "machine-types"] {
        let c = check(&d, id);
        assert_eq!(c["status"], "skipped", "{c}");
        assert!(c["message"].as_str().unwrap().contains("compute.googleapis.com is not enabled yet"), "{c}");
        assert!(c["fix"].as_str().unwrap().contains("run `sdctl up` (its apis step enables it)"), "{c}");
    }
    assert!(world.mutating_since(0).is_empty());

    let before = world.requests().len();
    let up = world.sdctl(&["up", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(up.code, 3, "{up:?}");
    let kinds: Vec<String> = up.json_lines().iter().map(|e| e["event"].as_str().unwrap().to_string()).collect();
    let second = up.json_lines().into_iter().filter(|e| e["event"] == "preflight").nth(1).expect("checks again");
    assert!(
        second["checks"].as_array().unwrap().iter().any(|c| c["id"] == "quota-nvidia-t4-gpus" && c["status"] == "fail"),
        "{second}"
    );
    assert_eq!(kinds.first().map(String::as_str), Some("preflight"));
    assert_eq!(kinds.get(1).map(String::as_str), Some("plan"));
    let started: Vec<String> = up
        .json_lines()
        .iter()
        .filter(|e| e["event"] == "step_started")
        .map(|e| e["step"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(started, ["apis"], "only the APIs were touched: {up:?}");
    let mutated: Vec<String> =
        world.mutating_since(before).iter().map(|r| r["methodId"].as_str().unwrap().to_string()).collect();
    assert_eq!(mutated, ["serviceusage.services.batchEnable"]);
    assert!(up.stderr.contains("Only the APIs were enabled"), "{}", up.stderr);
}

/// With healthy quotas, `up` goes on after the deferred checks pass: preflight, plan, apis, the
/// checks again, then the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_continues_once_the_deferred_checks_pass() {
    let world = World::used_project("disabledApis: [compute.googleapis.com]").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let up = world.sdctl(&["up", "apis", "network", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let order: Vec<String> = up
        .json_lines()
        .iter()
        .filter(|e| e["event"] != "step_progress" && e["event"] != "retry")
        .map(|e| match e["step"].as_str() {
            Some(step) => format!("{}:{step}", e["event"].as_str().unwrap()),
            None => e["event"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(
        order,
        [
            "preflight",
            "plan",
            "step_started:apis",
            "step_finished:apis",
            "preflight",
            "step_started:network",
            "step_finished:network",
            "summary"
        ],
        "{up:?}"
    );
    let plan = up.json_lines().into_iter().find(|e| e["event"] == "plan").unwrap();
    assert!(plan["cost"]["fullLoadPerHour"].as_f64().unwrap() > 1.0, "the plan carries the cost: {plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_versions_no_pinned_agones_supports_are_caught() {
    let world = World::used_project("kubernetesVersions: [1.37.2-gke.100, 1.38.0-gke.20]").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    caught(
        &world,
        &config,
        "kubernetes-version",
        &["the regular channel gives Kubernetes 1.3", "Agones 1.60.0 supports Kubernetes 1.34-1.36"],
        &["use an sdctl release that pins a newer Agones"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iap_members_outside_the_organization_are_pointed_out() {
    let world = World::used_project("organizationDomain: corp.example").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(r.code, 0, "a warning: {r:?}");
    let c = check(&doc(&r), "iap-members").clone();
    assert_eq!(c["status"], "warn");
    assert!(
        c["message"].as_str().unwrap().contains("user:alice@example.com is outside corp.example (the organization)"),
        "{c}"
    );
    assert!(c["fix"].as_str().unwrap().contains("clientIdEnv"), "{c}");
    let own = example_with(
        "sd-agones-t4.yaml",
        &[("oauthClient: managed", "oauthClient: { clientIdEnv: ID, clientSecretEnv: SECRET }")],
    );
    let r = world.sdctl(&["preflight", "-c", own.arg(), "-o", "json"]).await;
    assert_eq!(check(&doc(&r), "iap-members")["status"], "pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cost_cap_refuses_up_with_exit_3() {
    let world = World::used_project("").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let up = world.sdctl(&["up", "-c", config.arg(), "--max-hourly-cost", "2", "-o", "json"]).await;
    assert_eq!(up.code, 3, "{up:?}");
    let cap = up.json_lines()[0]["checks"].as_array().unwrap().iter().find(|c| c["id"] == "cost-cap").cloned().unwrap();
    assert_eq!(cap["status"], "fail");
    assert!(cap["message"].as_str().unwrap().contains("$2.65/hour"), "{cap}");
    assert!(world.mutating_since(0).is_empty());
    // Skipping preflight keeps the cap, and sends nothing at all.
    let before = world.requests().len();
    let up = world.sdctl(&["up", "-c", config.arg(), "--skip-preflight", "--max-hourly-cost", "2"]).await;
    assert_eq!(up.code, 3, "{up:?}");
    assert!(up.stderr.contains("above --max-hourly-cost 2.00"), "{}", up.stderr);
    assert_eq!(world.requests().len(), before);
    // Under the cap, it passes.
    let r = world.sdctl(&["preflight", "-c", config.arg(), "--max-hourly-cost", "3"]).await;
    assert!(r.stdout.contains("pass cost-cap"), "{r:?}");
}

#[test]
fn without_credentials_the_first_check_fails_and_says_how_to_log_in() {
    let config = example_with("sd-agones-t4.yaml", &[]);
    let r = crate::support::run_cmd(
        sdctl()
            .args(["preflight", "-c", config.arg(), "-o", "json"])
            // https: real credentials are needed (never sent over plain HTTP); none exist.
            .env("SDCTL_API_ENDPOINT", "https://127.0.0.1:9")
            .env("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json"),
    );
    assert_eq!(r.code, 3, "{r:?}");
    let d = doc(&r);
    let c = check(&d, "credentials");
    assert_eq!(c["status"], "fail");
    assert!(c["fix"].as_str().unwrap().contains("gcloud auth application-default login"), "{c}");
    assert_eq!(check(&d, "permissions")["status"], "skipped");
}

/// Every step of both examples lists its permissions, and together they cover every permission
/// the emulator checks for the requests an infrastructure `up` sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_permission_lists_cover_what_up_uses() {
    for example in ["sd-agones-t4.yaml", "sd-agones-l4-gcs.yaml"] {
        let text = std::fs::read_to_string(crate::support::repo_root().join("examples").join(example)).unwrap();
        let config = sdctl::config::parse(&text, &Default::default()).unwrap();
        let env = sdctl::steps::Env::new(config, Default::default(), Default::default());
        let graph = sdctl::steps::graph(&env.config).unwrap();
        let all = graph.select_with_dependencies(&[]);
        for (step, permissions) in graph.permissions(&env, &all) {
            assert!(!permissions.is_empty(), "{example}: step {step} lists no permissions");
        }
        let declared: BTreeSet<&str> =
            graph.permissions(&env, &all).into_iter().flat_map(|(_, p)| p.into_iter()).collect();

        let world = World::used_project("").await;
        let config = example_with(example, &[]);
        let up = world.sdctl(&crate::infra::up_args(config.arg(), &["--skip-preflight"])).await;
        assert_eq!(up.code, 0, "{up:?}");
        let used: BTreeSet<String> = world
            .requests()
            .iter()
            .filter(|r| r["service"] != "k8s")
            .filter_map(|r| sdctl_emulator::iam_permission(r["methodId"].as_str()?))
            .collect();
        let undeclared: Vec<&String> = used.iter().filter(|p| !declared.contains(p.as_str())).collect();
        assert!(undeclared.is_empty(), "{example}: steps use but do not declare {undeclared:?}");
    }
}

/// A cluster made without Dataplane V2 (by hand, or by an earlier sdctl) enforces no
/// NetworkPolicy: preflight says what that exposes and how to get out of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_without_network_policy_enforcement_is_pointed_out() {
    let world = World::used_project("").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let legacy = serde_json::json!({"cluster": {
        "name": "sd-demo-gke", "initialNodeCount": 1, "resourceLabels": {"sdctl-env": "sd-demo"},
        "networkConfig": {"datapathProvider": "LEGACY_DATAPATH"},
    }});
    world.create("/container/v1/projects/my-project/locations/us-central1-a/clusters", &legacy).await;
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(r.code, 0, "a warning, not a failure: {r:?}");
    let c = check(&doc(&r), "network-policy").clone();
    assert_eq!(c["status"], "warn", "{c}");
    let message = c["message"].as_str().unwrap();
    assert!(message.contains("sd-demo-gke enforces no NetworkPolicies"), "{c}");
    assert!(message.contains("open a user's WebUI without signing in"), "{c}");
    let fix = c["fix"].as_str().unwrap();
    assert!(fix.contains("`sdctl down cluster` then `sdctl up`") && fix.contains("--enable-dataplane-v2"), "{c}");
}

/// A ladder is checked rung by rung: a rung whose GPU a zone does not sell fails (GKE would refuse
/// its pool), a rung short of quota only warns (the autoscaler goes on to the next), and a ladder
/// where no rung can get a single node fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_ladder_is_checked_rung_by_rung() {
    let world = World::used_project(
        "accelerators: { us-central1-a: [nvidia-tesla-t4] }\nquotas: { us-central1: { PREEMPTIBLE_NVIDIA_T4_GPUS: 1 } }",
    )
    .await;
    let config = example_with("sd-agones-ladder.yaml", &[]);
    caught(
        &world,
        &config,
        "accelerator-rung-2",
        &["nvidia-l4 is not offered in us-central1-a"],
        &["remove gpu.fallbacks[1] from the ladder", "zones of us-central1 that offer nvidia-l4: us-central1-b"],
    )
    .await;
    let r = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    let d = doc(&r);
    assert_eq!(check(&d, "accelerator")["status"], "pass", "the primary's T4 is sold there");
    let spot = check(&d, "quota-rung-0");
    assert_eq!(spot["status"], "warn", "{spot}");
    assert!(spot["message"].as_str().unwrap().contains("PREEMPTIBLE_NVIDIA_T4_GPUS 1 available"), "{spot}");
    assert!(spot["fix"].as_str().unwrap().contains("or lower gpu.maxNodes to 1"), "{spot}");
    assert_eq!(check(&d, "quota-rung-1")["status"], "pass");
    assert_eq!(check(&d, "gpu-ladder-version")["status"], "pass", "GKE 1.35 runs compute classes");
    // The primary's GPU quota is judged as a rung, not also as a failing need of its own.
    assert!(d["checks"].as_array().unwrap().iter().all(|c| c["id"] != "quota-preemptible-nvidia-t4-gpus"), "{d:#}");

    let world = World::used_project(
        "quotas: { us-central1: { PREEMPTIBLE_NVIDIA_T4_GPUS: 0, NVIDIA_T4_GPUS: 0, NVIDIA_L4_GPUS: 0 } }",
    )
    .await;
    caught(
        &world,
        &config,
        "quota-ladder",
        &["no rung of the GPU ladder can get a single node"],
        &["request GPU quota"],
    )
    .await;

    // Flex-start GPU pools need a newer GKE than the channel gives.
    let world = World::used_project("kubernetesVersions: [1.32.9-gke.100]").await;
    let flex = example_with(
        "sd-agones-ladder.yaml",
        &[("    - { type: l4, maxNodes: 2 }", "    - { type: l4, maxNodes: 2 }\n    - { type: l4, flexStart: true }")],
    );
    caught(
        &world,
        &flex,
        "gpu-ladder-version",
        &["GKE 1.32.9-gke.100 is older than 1.33.0-gke.1712000, which flex-start GPU node pools need"],
        &["remove gpu.fallbacks[2].flexStart"],
    )
    .await;
}
