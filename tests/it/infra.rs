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
    assert_eq!(events.first().unwrap()["event"], "plan");
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
    assert_eq!(world.named("Firewall", "/firewalls/sd-demo-").len(), 2, "{:?}", world.resources());

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
    assert_eq!(firewalls.len(), 2, "public cluster: gameserver + health-check rules");
    for fw in &firewalls {
        let ranges = body(fw)["sourceRanges"].as_array().unwrap();
        assert!(!ranges.contains(&"0.0.0.0/0".into()), "never open to the world: {fw}");
    }
    let gameservers = firewalls.iter().find(|f| body(f)["name"] == "sd-demo-allow-gameservers").unwrap();
    assert_eq!(body(gameservers)["targetTags"], serde_json::json!(["sd-demo-gpu-node"]));
    assert_eq!(body(gameservers)["allowed"][0]["ports"], serde_json::json!(["7000-8000"]));
    assert_eq!(body(gameservers)["description"], "managed by sdctl, env sd-demo");

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
        .collect();
    for role in ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer"] {
        assert!(roles.contains(&role.to_string()), "node account lacks {role}: {roles:?}");
    }

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
    let down = world.sdctl(&["down", "-y", "-c", config.arg()]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(world.resources().is_empty(), "left behind: {:#?}", world.resources());
}
