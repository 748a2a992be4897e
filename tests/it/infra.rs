//! The Google Cloud infrastructure steps end to end against the emulator: `up` of the
//! infrastructure steps, a second `up` that changes nothing, `status`, `down` to an empty project;
//! the request bodies carry what the guide's gcloud flags meant, and sdctl's improvements.

use serde_json::Value;

use crate::support::world::World;
use crate::support::{Run, example_with};

/// The steps of issue 4 (Google Cloud resources only).
pub const INFRA: &[&str] = &["apis", "network", "cluster", "gpu-pool", "storage", "redis", "registry", "address"];

pub fn up_args<'a>(config: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["up"];
    args.extend_from_slice(INFRA);
    args.extend_from_slice(&["-c", config]);
    args.extend_from_slice(extra);
    args
}

fn finished(run: &Run) -> Vec<(String, String)> {
    run.json_lines()
        .iter()
        .filter(|e| e["event"] == "step_finished")
        .map(|e| (e["step"].as_str().unwrap().to_string(), e["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn outcome_of(run: &Run, step: &str) -> String {
    finished(run)
        .into_iter()
        .find(|(s, _)| s == step)
        .map(|(_, o)| o)
        .unwrap_or_else(|| panic!("{step} did not finish: {run:?}"))
}

fn body(request: &Value) -> &Value {
    &request["body"]
}

/// A proto3 number: omitted when 0, int64 values as strings.
pub fn num(v: &Value) -> i64 {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or(0)
}

/// Enums arrive as names (Compute) or proto numbers (the proto-based clients).
fn enum_is(v: &Value, name: &str, number: i64) -> bool {
    v.as_str() == Some(name) || v.as_i64() == Some(number)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t4_filestore_life_cycle() {
    let world = World::start().await;
    let config = example_with("sd-agones-t4.yaml", &[]);

    // The user runs `up` for the infrastructure: everything is created, in parallel.
    let up = world.sdctl(&up_args(config.arg(), &["-o", "json"])).await;
    assert_eq!(up.code, 0, "{up:?}");
    let events = up.json_lines();
    assert_eq!(events[0]["event"], "preflight", "preflight runs first");
    assert_eq!(events[1]["event"], "plan");
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["ok"], true);
    for key in ["staticIp", "redisHost", "url", "dnsRecord", "filestore"] {
        assert!(summary["outputs"][key].is_string(), "summary lacks {key}: {summary}");
    }
    assert!(summary["outputs"]["dnsRecord"].as_str().unwrap().starts_with("sd.example.com. A "));
    for step in INFRA {
        let want = if *step == "apis" { ["created", "unchanged"].as_slice() } else { &["created"] };
        assert!(want.contains(&outcome_of(&up, step).as_str()), "{step}: {}", outcome_of(&up, step));
    }
    for (kind, n) in
        [("Cluster", 1), ("NodePool", 2), ("Instance", 2), ("Repository", 1), ("Address", 1), ("ServiceAccount", 1)]
    {
        assert_eq!(world.count(kind), n, "{kind}: {:?}", world.resources());
    }
    assert_eq!(world.named("Firewall", "/firewalls/sd-demo-").len(), 1, "{:?}", world.resources());

    // What the guide's gcloud flags meant, and what sdctl does better.
    let cluster = body(&world.request("container.projects.locations.clusters.create"))["cluster"].clone();
    assert_eq!(cluster["name"], "sd-demo-gke");
    assert_eq!(cluster["addonsConfig"]["gcpFilestoreCsiDriverConfig"]["enabled"], true);
    assert_eq!(cluster["workloadIdentityConfig"]["workloadPool"], "my-project.svc.id.goog");
    assert_eq!(cluster["ipAllocationPolicy"]["useIpAliases"], true);
    assert!(cluster["privateClusterConfig"].is_null(), "a public cluster was asked for");
    let system = &cluster["nodePools"][0];
    assert_eq!(system["config"]["machineType"], "e2-standard-4");
    assert_eq!(
        system["config"]["serviceAccount"], "sd-demo-nodes@my-project.iam.gserviceaccount.com",
        "dedicated node account"
    );
    assert_eq!(cluster["resourceLabels"]["sdctl-env"], "sd-demo");

    let pool = body(&world.request("container.projects.locations.clusters.nodePools.create"))["nodePool"].clone();
    let accel = &pool["config"]["accelerators"][0];
    assert_eq!(accel["acceleratorType"], "nvidia-tesla-t4");
    assert_eq!(num(&accel["acceleratorCount"]), 1, "{accel}");
    assert!(enum_is(&accel["gpuDriverInstallationConfig"]["gpuDriverVersion"], "LATEST", 3), "{accel}");
    assert_eq!(pool["config"]["machineType"], "custom-4-32768-ext");
    assert_eq!(pool["config"]["imageType"], "COS_CONTAINERD");
    assert_eq!(num(&pool["autoscaling"]["totalMinNodeCount"]), 0);
    assert_eq!(num(&pool["autoscaling"]["totalMaxNodeCount"]), 3);
    assert!(enum_is(&pool["autoscaling"]["locationPolicy"], "ANY", 2), "{}", pool["autoscaling"]);
    assert!(pool["config"]["tags"].as_array().unwrap().contains(&"sd-demo-gpu-node".into()));
    assert_eq!(pool["config"]["taints"][0]["key"], "sdctl.dev/gpu");

    let firewalls = world.requests_of("compute.firewalls.insert");
    let names: Vec<&str> = firewalls.iter().map(|f| body(f)["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sd-demo-allow-health-checks"], "public cluster: health checks only, nothing for WebUIs");
    let health = body(&firewalls[0]);
    assert_eq!(health["sourceRanges"], serde_json::json!(["35.191.0.0/16", "130.211.0.0/22"]));
    assert_eq!(health["description"], "managed by sdctl, env sd-demo");

    let redis = body(&world.request("redis.projects.locations.instances.create")).clone();
    assert!(enum_is(&redis["tier"], "STANDARD_HA", 3), "{redis}");
    assert_eq!(num(&redis["memorySizeGb"]), 1);
    assert_eq!(redis["authEnabled"], true);
    assert_eq!(redis["redisVersion"], "REDIS_7_2");
    let filestore = body(&world.request("file.projects.locations.instances.create")).clone();
    assert!(enum_is(&filestore["tier"], "BASIC_HDD", 3), "{filestore}");
    assert_eq!(filestore["fileShares"][0]["name"], "vol1");
    assert_eq!(num(&filestore["fileShares"][0]["capacityGb"]), 1024);
    let roles: Vec<String> = world
        .requests_of("cloudresourcemanager.projects.setIamPolicy")
        .iter()
        .flat_map(|r| body(r)["policy"]["bindings"].as_array().cloned().unwrap_or_default())
        .filter(|b| {
            b["members"]
                .as_array()
                .is_some_and(|m| m.contains(&"serviceAccount:sd-demo-nodes@my-project.iam.gserviceaccount.com".into()))
        })
        .map(|b| b["role"].as_str().unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // GKE's documented minimum for a node service account, and nothing more on the project (a
    // write IAM refused while it propagated the new account is sent again: roles, not requests).
    assert_eq!(roles, ["roles/container.defaultNodeServiceAccount"]);

    // A second `up` changes nothing and sends no mutating request.
    let before = world.requests().len();
    let again = world.sdctl(&up_args(config.arg(), &["-o", "json"])).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(world.mutating_since(before).is_empty(), "second up mutated: {:#?}", world.mutating_since(before));
    for step in INFRA {
        assert_eq!(outcome_of(&again, step), "unchanged", "{step}");
    }

    // `status` shows every infrastructure step in sync, with its live state.
    let status = world.sdctl(&["status", "-c", config.arg(), "-o", "json"]).await;
    let doc: Value = serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("{e}: {status:?}"));
    for step in INFRA {
        let s = doc["steps"].as_array().unwrap().iter().find(|s| s["id"] == *step).unwrap();
        assert_eq!(s["status"], "in-sync", "{s}");
    }
    let cluster = doc["steps"].as_array().unwrap().iter().find(|s| s["id"] == "cluster").unwrap();
    assert!(cluster["state"].as_str().unwrap().starts_with("Running"), "{cluster}");

    // `down` leaves nothing but what the project had.
    let manifest = crate::kube_layer::agones_manifest();
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(world.resources().is_empty(), "left behind: {:#?}", world.resources());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l4_gcs_private_regional_spot_life_cycle() {
    let world = World::start().await;
    let config = example_with("sd-agones-l4-gcs.yaml", &[]);
    let up = world.sdctl(&up_args(config.arg(), &[])).await;
    assert_eq!(up.code, 0, "{up:?}");
    // Regional clusters multiply per-zone counts: said before anything is created.
    assert!(up.stderr.contains("1 per zone x 2 zones = 2"), "{}", up.stderr);
    assert!(up.stderr.contains("warning: [cluster] node counts are per zone"), "{}", up.stderr);

    let cluster = body(&world.request("container.projects.locations.clusters.create"))["cluster"].clone();
    assert_eq!(cluster["addonsConfig"]["gcsFuseCsiDriverConfig"]["enabled"], true);
    assert_eq!(cluster["networkConfig"]["defaultEnablePrivateNodes"], true);
    assert_eq!(cluster["locations"], serde_json::json!(["us-central1-a", "us-central1-c"]));
    let master = cluster["privateClusterConfig"]["masterIpv4CidrBlock"].as_str().unwrap().to_string();
    let pool = body(&world.request("container.projects.locations.clusters.nodePools.create"))["nodePool"].clone();
    assert_eq!(pool["config"]["accelerators"][0]["acceleratorType"], "nvidia-l4");
    assert_eq!(pool["config"]["machineType"], "g2-standard-8");
    assert_eq!(pool["config"]["spot"], true);
    assert_eq!(num(&pool["config"]["diskSizeGb"]), 200, "GCS-Fuse buffers on the boot disk");
    assert_eq!(num(&pool["autoscaling"]["totalMaxNodeCount"]), 4);

    // Private: NAT for egress, and the control plane may reach Agones' webhooks.
    let router = body(&world.request("compute.routers.insert")).clone();
    assert_eq!(router["nats"][0]["natIpAllocateOption"], "AUTO_ONLY");
    let webhooks =
        world.requests_of("compute.firewalls.insert").into_iter().find(|f| body(f)["name"] == "sd-l4-allow-webhooks");
    let webhooks = body(&webhooks.expect("webhook rule")).clone();
    assert_eq!(webhooks["sourceRanges"], serde_json::json!([master]));

    // The bucket: labelled, uniform access, and usable by the WebUI pods' KSA through Workload Identity.
    let bucket = body(&world.request("storage.buckets.insert")).clone();
    let name = bucket["name"].as_str().unwrap();
    assert!(name.starts_with("sd-l4-models-"), "{name}");
    assert_eq!(bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"], true);
    assert_eq!(bucket["labels"]["sdctl-env"], "sd-l4");
    // The WebUI pods' access to the bucket waits for the cluster (its identity pool): `volumes`.
    assert!(world.requests_of("storage.buckets.setIamPolicy").is_empty());
    let redis = body(&world.request("redis.projects.locations.instances.create")).clone();
    assert!(enum_is(&redis["tier"], "BASIC", 1), "{redis}");
    assert!(enum_is(&redis["transitEncryptionMode"], "SERVER_AUTHENTICATION", 1), "{redis}");

    let before = world.requests().len();
    let again = world.sdctl(&up_args(config.arg(), &[])).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(world.mutating_since(before).is_empty(), "{:#?}", world.mutating_since(before));

    let manifest = crate::kube_layer::agones_manifest();
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(world.resources().is_empty(), "left behind: {:#?}", world.resources());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_are_retried_and_shown() {
    let world = World::with_scenario(
        "faults:\n  - { method: container.projects.locations.clusters.create, status: 503, times: 2 }\n  - { method: redis.projects.locations.instances.create, status: 429, times: 1, retryAfter: 1 }\n",
    )
    .await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let up = world.sdctl(&up_args(config.arg(), &["-o", "json"])).await;
    assert_eq!(up.code, 0, "{up:?}");
    let retries: Vec<Value> = up.json_lines().into_iter().filter(|e| e["event"] == "retry").collect();
    // (The cluster step may also wait for its new node service account to reach IAM.)
    let cluster_retries = retries
        .iter()
        .filter(|e| e["step"] == "cluster" && e["reason"].as_str().is_some_and(|r| r.starts_with("503")))
        .count();
    assert_eq!(cluster_retries, 2, "{retries:?}");
    let redis_retry = retries.iter().find(|e| e["step"] == "redis").expect("redis retried");
    assert!(redis_retry["reason"].as_str().unwrap().starts_with("429"), "{redis_retry}");
    assert_eq!(world.requests_of("container.projects.locations.clusters.create").len(), 3);
    assert_eq!(world.count("Cluster"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_refusal_fails_its_step_at_once_and_others_finish() {
    let world = World::with_scenario("quotas: { us-central1: { CPUS: 2 } }\n").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    // Preflight would stop this before anything is created (tests/it/preflight.rs): skip it to
    // exercise the refusal at create time.
    let up = world.sdctl(&up_args(config.arg(), &["-o", "json", "--skip-preflight"])).await;
    assert_eq!(up.code, 4, "{up:?}");
    let failed = up.json_lines().into_iter().find(|e| e["event"] == "step_finished" && e["step"] == "cluster").unwrap();
    assert_eq!(failed["outcome"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("quota exceeded") && error.contains("CPUS") && error.contains("us-central1"), "{error}");
    assert!(error.contains("fix: request more CPUS quota"), "{error}");
    assert_eq!(
        world.requests_of("container.projects.locations.clusters.create").len(),
        1,
        "a quota refusal is not retried"
    );
    assert_eq!(outcome_of(&up, "gpu-pool"), "skipped");
    for independent in ["storage", "redis", "registry", "address"] {
        assert_eq!(outcome_of(&up, independent), "created", "{independent}");
    }
    assert!(up.stderr.contains("run `sdctl up` again: it resumes"), "{}", up.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accelerator_not_offered_in_the_zone_names_the_zone() {
    let world = World::with_scenario("accelerators: { us-central1-a: [nvidia-l4] }\n").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let up = world.sdctl(&up_args(config.arg(), &["-o", "json", "--skip-preflight"])).await;
    assert_eq!(up.code, 4, "{up:?}");
    let failed =
        up.json_lines().into_iter().find(|e| e["event"] == "step_finished" && e["step"] == "gpu-pool").unwrap();
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("nvidia-tesla-t4") && error.contains("us-central1-a"), "{error}");
    assert_eq!(world.count("Cluster"), 1);
    assert!(world.named("NodePool", "/nodePools/gpu").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_config_updates_in_place_or_names_the_field() {
    let world = World::start().await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    assert_eq!(world.sdctl(&up_args(config.arg(), &[])).await.code, 0);

    let bigger = example_with("sd-agones-t4.yaml", &[("maxNodes: 3", "maxNodes: 5"), ("sizeGb: 1,", "sizeGb: 2,")]);
    let plan = world.sdctl(&["plan", "-c", bigger.arg()]).await;
    assert!(plan.stdout.contains("gpu.minNodes/maxNodes: 0-3 -> 0-5"), "{plan:?}");
    assert!(plan.stdout.contains("redis.sizeGb: 1 -> 2"), "{plan:?}");
    let before = world.requests().len();
    let up = world.sdctl(&up_args(bigger.arg(), &[])).await;
    assert_eq!(up.code, 0, "{up:?}");
    let mut methods: Vec<String> =
        world.mutating_since(before).iter().map(|r| r["methodId"].as_str().unwrap().to_string()).collect();
    methods.sort();
    assert_eq!(
        methods,
        ["container.projects.locations.clusters.nodePools.setAutoscaling", "redis.projects.locations.instances.patch"],
        "only the changed fields are sent"
    );

    let other = example_with("sd-agones-t4.yaml", &[("machineType: custom-4-32768-ext", "machineType: n1-standard-8")]);
    let up = world.sdctl(&up_args(other.arg(), &[])).await;
    assert_eq!(up.code, 4, "{up:?}");
    assert!(up.stderr.contains("gpu.machineType of GPU node pool gpu cannot change in place"), "{}", up.stderr);
    assert!(up.stderr.contains("sdctl down gpu-pool"), "{}", up.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_of_someone_else_are_never_touched() {
    let world = World::with_scenario("enabledApis: [compute.googleapis.com]").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    // Another tool made an address with our derived name, without our label.
    let url = format!("{}/compute/compute/v1/projects/my-project/global/addresses", world.emu.url());
    let made = reqwest::Client::new().post(&url).json(&serde_json::json!({"name": "sd-demo-ip"})).send().await.unwrap();
    assert!(made.status().is_success(), "{:?}", made.text().await);
    let up = world.sdctl(&["up", "address", "-c", config.arg()]).await;
    assert_eq!(up.code, 4, "{up:?}");
    assert!(
        up.stderr.contains("global address sd-demo-ip exists but is not managed by sdctl environment sd-demo"),
        "{}",
        up.stderr
    );
    let down = world.sdctl(&["down", "address", "-y", "-c", config.arg()]).await;
    assert_ne!(down.code, 0, "{down:?}");
    assert_eq!(world.count("Address"), 1, "someone else's address survives");
}

/// Kill `up` (like a CI timeout: SIGKILL, no chance to clean up) at several points, then run it
/// again: it converges, with no duplicate resources.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_resume_without_duplicates() {
    let speed = 200.0;
    let world = World::with(sdctl_emulator::Scenario::default(), speed).await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    for after_ms in [150u64, 900, 1900] {
        let mut child = world.command(&up_args(config.arg(), &[])).spawn().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().await.unwrap();
        }
    }
    let up = world.sdctl(&up_args(config.arg(), &[])).await;
    assert_eq!(up.code, 0, "{up:?}");
    for (kind, n) in
        [("Cluster", 1), ("NodePool", 2), ("Instance", 2), ("Repository", 1), ("Address", 1), ("ServiceAccount", 1)]
    {
        assert_eq!(world.count(kind), n, "{kind}: {:#?}", world.resources());
    }
    assert_eq!(world.named("Firewall", "/firewalls/sd-demo-").len(), 1);
    // The host-port rule earlier versions made (the WebUIs have no host ports now) goes.
    let former = serde_json::json!({
        "name": "sd-demo-allow-gameservers", "description": "managed by sdctl, env sd-demo",
        "network": "projects/my-project/global/networks/default", "sourceRanges": ["10.20.0.0/14"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["7000-8000"]}], "targetTags": ["sd-demo-gpu-node"],
    });
    world.create("/compute/compute/v1/projects/my-project/global/firewalls", &former).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let plan = world.sdctl(&["plan", "-c", config.arg()]).await;
    assert!(plan.stdout.contains("delete firewall rule sd-demo-allow-gameservers (not needed any more)"), "{plan:?}");
    assert_eq!(world.sdctl(&up_args(config.arg(), &[])).await.code, 0);
    assert!(world.named("Firewall", "/firewalls/sd-demo-allow-gameservers").is_empty(), "{:?}", world.resources());
    let before = world.requests().len();
    assert_eq!(world.sdctl(&up_args(config.arg(), &[])).await.code, 0);
    assert!(world.mutating_since(before).is_empty());
}

/// Ctrl-C: running steps stop at their next wait point, the summary says what is left, exit 130;
/// `up` again resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_and_up_resumes() {
    let speed = 100.0;
    let world = World::with(sdctl_emulator::Scenario::default(), speed).await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let child =
        world.command(&up_args(config.arg(), &["-o", "json"])).stdout(std::process::Stdio::piped()).spawn().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let pid = child.id().expect("running").to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let output = child.wait_with_output().await.unwrap();
    let run = Run::from(output);
    assert_eq!(run.code, 130, "{run:?}");
    let events = run.json_lines();
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary", "{run:?}");
    assert_eq!(summary["ok"], false);
    let left = summary["left"].as_array().unwrap();
    assert!(left.iter().any(|s| s == "gpu-pool"), "{summary}");
    for e in events.iter().filter(|e| e["event"] == "step_finished" && e["outcome"] == "failed") {
        assert!(e["error"].as_str().unwrap().contains("interrupted"), "{e}");
    }
    let up = world.sdctl(&up_args(config.arg(), &[])).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(world.count("Cluster"), 1);
}

/// A project whose IAM policy holds a conditional binding (common in organizations): sdctl reads
/// and writes it at version 3 and keeps the condition. Reading at version 1 would show the role
/// renamed `_withcond_`, and writing that back is refused by IAM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_bindings_of_the_project_are_kept() {
    let world = World::with_scenario("enabledApis: [cloudresourcemanager.googleapis.com]\n").await;
    let http = reqwest::Client::new();
    let url = |verb: &str| format!("{}/cloudresourcemanager/v3/projects/my-project:{verb}", world.emu.url());
    let v3 = serde_json::json!({"options": {"requestedPolicyVersion": 3}});
    let mut policy: Value = http.post(url("getIamPolicy")).json(&v3).send().await.unwrap().json().await.unwrap();
    let condition = serde_json::json!({"title": "business hours", "expression": "request.time.getHours('UTC') < 18"});
    policy["version"] = 3.into();
    policy["bindings"].as_array_mut().unwrap().push(serde_json::json!({
        "role": "roles/viewer", "members": ["group:auditors@example.com"], "condition": condition,
    }));
    let seeded = http.post(url("setIamPolicy")).json(&serde_json::json!({"policy": policy})).send().await.unwrap();
    assert!(seeded.status().is_success());

    let config = example_with("sd-agones-t4.yaml", &[]);
    let up = world.sdctl(&["up", "cluster", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let after: Value = http.post(url("getIamPolicy")).json(&v3).send().await.unwrap().json().await.unwrap();
    let bindings = after["bindings"].as_array().unwrap();
    assert!(bindings.iter().any(|b| b["role"] == "roles/viewer" && b["condition"] == condition), "{after:#}");
    assert!(bindings.iter().any(|b| b["role"] == "roles/container.defaultNodeServiceAccount"), "{after:#}");
    for read in world.requests_of("cloudresourcemanager.projects.getIamPolicy") {
        assert_eq!(read["body"]["options"]["requestedPolicyVersion"], 3, "{read}");
    }
    for write in world.requests_of("cloudresourcemanager.projects.setIamPolicy").iter().skip(1) {
        assert_eq!(write["body"]["policy"]["version"], 3, "{write}");
    }

    // `down` takes the node account's role away and keeps the condition too.
    let down = world.sdctl(&["down", "cluster", "-y", "-c", config.arg()]).await;
    assert_eq!(down.code, 0, "{down:?}");
    let after: Value = http.post(url("getIamPolicy")).json(&v3).send().await.unwrap().json().await.unwrap();
    assert!(after["bindings"].as_array().unwrap().iter().any(|b| b["condition"] == condition), "{after:#}");
}

/// A service account sdctl just made is unknown to IAM for a while; binding it is retried,
/// visibly, until IAM knows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_service_accounts_are_waited_for_visibly() {
    let world = World::with_scenario("serviceAccountPropagationSeconds: 400\n").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let up = world.sdctl(&["up", "cluster", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let retries: Vec<Value> = up.json_lines().into_iter().filter(|e| e["event"] == "retry").collect();
    assert!(
        retries.iter().any(|r| r["reason"].as_str().unwrap().starts_with("a new identity not known to IAM yet")),
        "{retries:#?}"
    );
    assert_eq!(outcome_of(&up, "cluster"), "created");
}

/// Creates a subnetwork through the emulator's Compute API.
async fn subnet(world: &World, network: &str, name: &str, range: &str) {
    let http = reqwest::Client::new();
    let base = format!("{}/compute/compute/v1/projects/my-project", world.emu.url());
    if network != "default" {
        let made = http
            .post(format!("{base}/global/networks"))
            .json(&serde_json::json!({"name": network, "autoCreateSubnetworks": false}))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "{:?}", made.text().await);
        wait_for(&format!("{base}/global/networks/{network}")).await;
    }
    let made = http
        .post(format!("{base}/regions/us-central1/subnetworks"))
        .json(&serde_json::json!({"name": name, "network": format!("global/networks/{network}"), "ipCidrRange": range}))
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{:?}", made.text().await);
    wait_for(&format!("{base}/regions/us-central1/subnetworks/{name}")).await;
}

/// Compute operations finish after a while: waits until `url` reads back.
async fn wait_for(url: &str) {
    for _ in 0..200 {
        if reqwest::get(url).await.unwrap().status().is_success() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{url} never appeared");
}

/// The cluster's, Redis' and Filestore's ranges are chosen after reading the VPC and passed
/// explicitly: none overlaps what the network holds (a busy subnet here), nor each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_are_chosen_free_in_the_vpc_and_passed_explicitly() {
    let world = World::with_scenario("enabledApis: [compute.googleapis.com]\n").await;
    subnet(&world, "default", "busy", "10.0.0.0/10").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let preflight = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    let report: Value = serde_json::from_str(&preflight.stdout).unwrap();
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["id"] == "ip-ranges").cloned().unwrap();
    assert_eq!(check["status"], "pass", "{check}");
    let up = world.sdctl(&["up", "cluster", "redis", "storage", "-c", config.arg()]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let cluster = body(&world.request("container.projects.locations.clusters.create")).clone();
    let pods = cluster["cluster"]["ipAllocationPolicy"]["clusterIpv4CidrBlock"].as_str().unwrap().to_string();
    let services = cluster["cluster"]["ipAllocationPolicy"]["servicesIpv4CidrBlock"].as_str().unwrap().to_string();
    let redis = body(&world.request("redis.projects.locations.instances.create"))["reservedIpRange"]
        .as_str()
        .unwrap()
        .to_string();
    let filestore = body(&world.request("file.projects.locations.instances.create"))["networks"][0]["reservedIpRange"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = [&pods, &services, &redis, &filestore];
    for (i, a) in mine.iter().enumerate() {
        assert!(!sdctl::steps::ranges::overlaps(a, "10.0.0.0/10"), "{a} overlaps the busy subnet");
        assert!(!sdctl::steps::ranges::overlaps(a, "10.128.0.0/9"), "{a} overlaps the auto-mode subnets");
        for b in &mine[i + 1..] {
            assert!(!sdctl::steps::ranges::overlaps(a, b), "{a} and {b} overlap");
        }
    }
    assert!(check["message"].as_str().unwrap().contains(&pods), "preflight showed what up used: {check}");
    // A second `up` keeps them (they now show as used in the VPC) and changes nothing.
    let before = world.requests().len();
    let again = world.sdctl(&["up", "cluster", "redis", "storage", "-c", config.arg()]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(world.mutating_since(before).is_empty(), "{:#?}", world.mutating_since(before));
}

/// A network with no free range left: preflight says so before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_network_is_caught_by_preflight() {
    let world = World::with_scenario("enabledApis: [compute.googleapis.com]\n").await;
    subnet(&world, "busy", "everything", "10.0.0.0/8").await;
    let config = example_with(
        "sd-agones-t4.yaml",
        &[("network: default", "network: busy"), ("subnetwork: default", "subnetwork: everything")],
    );
    let preflight = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(preflight.code, 3, "{preflight:?}");
    let report: Value = serde_json::from_str(&preflight.stdout).unwrap();
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["id"] == "ip-ranges").cloned().unwrap();
    assert_eq!(check["status"], "fail", "{check}");
    assert!(check["message"].as_str().unwrap().contains("no free pods range left in the network"), "{check}");
    assert!(check["fix"].as_str().unwrap().contains("cluster.network"), "{check}");
}
