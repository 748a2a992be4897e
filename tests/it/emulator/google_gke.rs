//! GKE through the official `ClusterManager` client: cluster and node pool life cycles, GKE's
//! one-operation-at-a-time rule, accelerator/quota refusals, autoscaler stockouts, faults.

use std::time::Duration;

use base64::Engine;
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_container_v1::model::{
    self, AcceleratorConfig, GPUDriverInstallationConfig, NodeConfig, NodePool, NodePoolAutoscaling, NodeTaint,
    gpu_driver_installation_config::GPUDriverVersion, node_pool_autoscaling::LocationPolicy, node_taint::Effect,
    operation::Status as OpStatus,
};
use sdctl_emulator::Emulator;
use sdctl_emulator::k8s::LoadBalancerRequest;
use serde_json::json;

use super::google_support::{calls, client, emulator, eventually, resource, run_big, status};

const ZONE: &str = "projects/p1/locations/us-central1-a";
const CLUSTER: &str = "projects/p1/locations/us-central1-a/clusters/sd";

async fn gke_client(emu: &Emulator) -> ClusterManager {
    client!(emu, ClusterManager, "container")
}

/// Polls `get_operation` like sdctl does until DONE.
async fn wait(gke: &ClusterManager, op: &model::Operation) -> model::Operation {
    let name = format!("{ZONE}/operations/{}", op.name);
    for _ in 0..2000 {
        let op = gke.get_operation().set_name(&name).send().await.expect("get_operation");
        if op.status == OpStatus::Done {
            return op;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("operation {name} never finished");
}

fn system_pool() -> NodePool {
    NodePool::new()
        .set_name("system")
        .set_initial_node_count(1)
        .set_config(NodeConfig::new().set_machine_type("e2-standard-4"))
}

fn gpu_pool(initial: i32, max: i32) -> NodePool {
    NodePool::new()
        .set_name("gpu")
        .set_initial_node_count(initial)
        .set_config(
            NodeConfig::new()
                .set_machine_type("custom-4-32768-ext")
                .set_spot(false)
                .set_accelerators([AcceleratorConfig::new()
                    .set_accelerator_type("nvidia-tesla-t4")
                    .set_accelerator_count(1)
                    .set_gpu_driver_installation_config(
                        GPUDriverInstallationConfig::new().set_gpu_driver_version(GPUDriverVersion::Latest),
                    )])
                .set_taints([NodeTaint::new()
                    .set_key("sdctl.dev/gpu")
                    .set_value("true")
                    .set_effect(Effect::NoSchedule)]),
        )
        .set_autoscaling(
            NodePoolAutoscaling::new()
                .set_enabled(true)
                .set_total_min_node_count(0)
                .set_total_max_node_count(max)
                .set_location_policy(LocationPolicy::Any),
        )
}

fn cluster(pools: Vec<NodePool>) -> model::Cluster {
    model::Cluster::new()
        .set_name("sd")
        .set_node_pools(pools)
        .set_release_channel(model::ReleaseChannel::new().set_channel(model::release_channel::Channel::Regular))
        .set_resource_labels([("sdctl-env", "demo")])
}

async fn create_running(gke: &ClusterManager, pools: Vec<NodePool>) -> model::Cluster {
    let op = gke.create_cluster().set_parent(ZONE).set_cluster(cluster(pools)).send().await.expect("create");
    let done = wait(gke, &op).await;
    assert!(done.error.is_none(), "{:?}", done.error);
    gke.get_cluster().set_name(CLUSTER).send().await.expect("get")
}

#[test]
fn gke_cluster_and_node_pool_life_cycle() {
    run_big(|| async {
        life_cycle().await;
    });
}

async fn life_cycle() {
    // Slow enough that the refusals below happen while the operations run.
    let emu = emulator(
        "latency: { container.projects.locations.clusters.create: 3000, container.projects.locations.clusters.setResourceLabels: 3000 }",
    )
    .await;
    let gke = gke_client(&emu).await;
    Box::pin(create_with_refusals(&emu, &gke)).await;
    Box::pin(labels_and_node_pools(&emu, &gke)).await;
    Box::pin(delete_everything(&emu, &gke)).await;
    emu.shutdown().await;
}

async fn create_with_refusals(emu: &Emulator, gke: &ClusterManager) {
    let config = gke.get_server_config().set_name(ZONE).send().await.unwrap();
    assert_eq!(config.default_cluster_version, "1.35.3-gke.200");
    let regular = config.channels.iter().find(|c| c.channel == model::release_channel::Channel::Regular).unwrap();
    assert_eq!(regular.default_version, "1.35.3-gke.200");
    assert_eq!(regular.valid_versions.len(), 3);

    let op = gke
        .create_cluster()
        .set_parent(ZONE)
        .set_cluster(cluster(vec![system_pool(), gpu_pool(0, 3)]))
        .send()
        .await
        .unwrap();
    assert_eq!(op.status, OpStatus::Running);
    assert_eq!(op.operation_type, model::operation::Type::CreateCluster);
    let provisioning = gke.get_cluster().set_name(CLUSTER).send().await.unwrap();
    assert_eq!(provisioning.status, model::cluster::Status::Provisioning);

    // GKE's refusals while the create runs.
    let e = gke.create_cluster().set_parent(ZONE).set_cluster(cluster(vec![system_pool()])).send().await.unwrap_err();
    assert_eq!(status(&e), (Some(409), format!("Already exists: {CLUSTER}.")));
    let e = gke
        .create_node_pool()
        .set_parent(CLUSTER)
        .set_node_pool(system_pool().set_name("extra"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(400));
    assert_eq!(
        e.status().unwrap().message,
        format!("Operation {} is currently creating cluster sd. Please wait and try again once it is done.", op.name)
    );

    let done = wait(gke, &op).await;
    assert!(done.error.is_none());
    let c = gke.get_cluster().set_name(CLUSTER).send().await.unwrap();
    assert_eq!(c.status, model::cluster::Status::Running);
    assert!(c.endpoint.starts_with("127.0.0.1:"), "endpoint {}", c.endpoint);
    let ca = base64::engine::general_purpose::STANDARD
        .decode(&c.master_auth.as_ref().unwrap().cluster_ca_certificate)
        .unwrap();
    assert!(String::from_utf8(ca).unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(c.current_master_version, "1.35.3-gke.200");
    assert_eq!(c.resource_labels.get("sdctl-env").map(String::as_str), Some("demo"));
    assert_eq!(c.node_pools.len(), 2);
    assert!(c.node_pools.iter().all(|p| p.status == model::node_pool::Status::Running));
    let gpu = c.node_pools.iter().find(|p| p.name == "gpu").unwrap();
    let config = gpu.config.as_ref().unwrap();
    assert_eq!(config.taints[0].effect, Effect::NoSchedule, "enums sent as numbers come back as names");
    assert_eq!(
        config.accelerators[0].gpu_driver_installation_config.as_ref().unwrap().gpu_driver_version,
        Some(GPUDriverVersion::Latest)
    );
    let nodes: Vec<(String, u32)> = emu.host().node_pools("sd").into_iter().map(|p| (p.name, p.node_count)).collect();
    assert_eq!(
        nodes,
        [("system".to_string(), 1), ("gpu".to_string(), 0)],
        "the GPU pool starts empty (autoscaling from 0)"
    );
    assert!(
        emu.state()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "Firewall" && r["name"].as_str().unwrap().contains("/gke-sd-"))
    );

    // The Rust client sends enums as proto numbers: the log shows what went over the wire.
    let create = &calls(emu, "container.projects.locations.clusters.create")[0];
    assert_eq!(create["body"]["cluster"]["releaseChannel"]["channel"], json!(2));
    assert_eq!(create["query"]["$alt"], "json;enum-encoding=int");
    assert_eq!(create["status"], 200);

    let listed = gke.list_clusters().set_parent("projects/p1/locations/-").send().await.unwrap();
    assert_eq!(listed.clusters.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["sd"]);
}

async fn labels_and_node_pools(emu: &Emulator, gke: &ClusterManager) {
    let c = gke.get_cluster().set_name(CLUSTER).send().await.unwrap();
    // Labels, with the fingerprint; a second mutation during it is refused.
    let op = gke
        .set_labels()
        .set_name(CLUSTER)
        .set_resource_labels([("sdctl-env", "demo"), ("team", "ml")])
        .set_label_fingerprint(&c.label_fingerprint)
        .send()
        .await
        .unwrap();
    let e = gke
        .set_node_pool_size()
        .set_name(format!("{CLUSTER}/nodePools/system"))
        .set_node_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), (Some(400), format!("Cluster is running incompatible operation {}.", op.name)));
    wait(gke, &op).await;
    let c = gke.get_cluster().set_name(CLUSTER).send().await.unwrap();
    assert_eq!(c.resource_labels.len(), 2);

    // Node pools: create, resize, autoscaling, delete.
    let op =
        gke.create_node_pool().set_parent(CLUSTER).set_node_pool(system_pool().set_name("extra")).send().await.unwrap();
    assert_eq!(op.operation_type, model::operation::Type::CreateNodePool);
    let pool = gke.get_node_pool().set_name(format!("{CLUSTER}/nodePools/extra")).send().await.unwrap();
    assert_eq!(pool.status, model::node_pool::Status::Provisioning);
    wait(gke, &op).await;
    let e = gke
        .create_node_pool()
        .set_parent(CLUSTER)
        .set_node_pool(system_pool().set_name("extra"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(409));
    let op =
        gke.set_node_pool_size().set_name(format!("{CLUSTER}/nodePools/extra")).set_node_count(2).send().await.unwrap();
    wait(gke, &op).await;
    // A secondary boot disk names an existing image; as an image cache it needs image streaming.
    let cached = |image: &str, streaming: bool| {
        system_pool().set_name("cached").set_config(
            NodeConfig::new()
                .set_machine_type("e2-standard-4")
                .set_gcfs_config(model::GcfsConfig::new().set_enabled(streaming))
                .set_secondary_boot_disks([model::SecondaryBootDisk::new()
                    .set_disk_image(image)
                    .set_mode(model::secondary_boot_disk::Mode::ContainerImageCache)]),
        )
    };
    let e = gke.create_node_pool().set_parent(CLUSTER).set_node_pool(cached("projects/p1/global/images/none", true));
    let e = e.send().await.unwrap_err();
    assert!(status(&e).1.contains("Secondary boot disk image \"projects/p1/global/images/none\" was not found"), "{e}");
    let images = format!("{}/compute/compute/v1/projects/p1/global/images", emu.url());
    let raw = json!({ "name": "cache", "rawDisk": { "source": "https://storage.googleapis.com/b/disk.tar.gz" } });
    let made = reqwest::Client::new().post(&images).json(&raw).send().await.unwrap();
    assert_eq!(made.status(), 200);
    eventually("the image", || resource(emu, "projects/p1/global/images/cache").is_some_and(|r| r["state"] == "READY"))
        .await;
    let image = "projects/p1/global/images/cache";
    let e = gke.create_node_pool().set_parent(CLUSTER).set_node_pool(cached(image, false)).send().await.unwrap_err();
    assert!(status(&e).1.contains("need image streaming (gcfsConfig.enabled)"), "{e}");
    let op = gke.create_node_pool().set_parent(CLUSTER).set_node_pool(cached(image, true)).send().await.unwrap();
    wait(gke, &op).await;
    let op = gke.delete_node_pool().set_name(format!("{CLUSTER}/nodePools/cached")).send().await.unwrap();
    wait(gke, &op).await;
    let op = gke
        .set_node_pool_autoscaling()
        .set_name(format!("{CLUSTER}/nodePools/gpu"))
        .set_autoscaling(
            NodePoolAutoscaling::new().set_enabled(true).set_total_min_node_count(0).set_total_max_node_count(5),
        )
        .send()
        .await
        .unwrap();
    wait(gke, &op).await;
    let pools = gke.list_node_pools().set_parent(CLUSTER).send().await.unwrap().node_pools;
    assert_eq!(pools.len(), 3);
    assert_eq!(pools.iter().find(|p| p.name == "gpu").unwrap().autoscaling.as_ref().unwrap().total_max_node_count, 5);
    assert_eq!(emu.host().node_pools("sd").iter().map(|p| p.node_count).sum::<u32>(), 3);
    let op = gke.delete_node_pool().set_name(format!("{CLUSTER}/nodePools/extra")).send().await.unwrap();
    assert_eq!(
        gke.get_node_pool().set_name(format!("{CLUSTER}/nodePools/extra")).send().await.unwrap().status,
        model::node_pool::Status::Stopping
    );
    wait(gke, &op).await;
    let e = gke.get_node_pool().set_name(format!("{CLUSTER}/nodePools/extra")).send().await.unwrap_err();
    assert_eq!(status(&e), (Some(404), format!("Not found: {CLUSTER}/nodePools/extra.")));
}

async fn delete_everything(emu: &Emulator, gke: &ClusterManager) {
    // Delete: STOPPING, then gone with its firewall rules and its Kubernetes API.
    let op = gke.delete_cluster().set_name(CLUSTER).send().await.unwrap();
    assert_eq!(gke.get_cluster().set_name(CLUSTER).send().await.unwrap().status, model::cluster::Status::Stopping);
    wait(gke, &op).await;
    let e = gke.get_cluster().set_name(CLUSTER).send().await.unwrap_err();
    assert_eq!(status(&e), (Some(404), format!("Not found: {CLUSTER}.")));
    assert!(resource(emu, CLUSTER).is_none());
    assert!(
        !emu.state()["resources"].as_array().unwrap().iter().any(|r| r["name"].as_str().unwrap().contains("/gke-sd-"))
    );
    let ops = gke.list_operations().set_parent(ZONE).send().await.unwrap().operations;
    assert!(ops.iter().all(|o| o.status == OpStatus::Done) && ops.len() == 9, "{} operations", ops.len());
}

#[test]
fn gke_refuses_unoffered_accelerators_and_missing_quota() {
    run_big(|| async {
        let emu = emulator("accelerators: { us-central1-a: [nvidia-l4] }\nquotas: { us-central1: { CPUS: 6 } }").await;
        let gke = gke_client(&emu).await;
        let e = gke
            .create_cluster()
            .set_parent(ZONE)
            .set_cluster(cluster(vec![system_pool(), gpu_pool(0, 2)]))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            status(&e),
            (Some(400), "Accelerator type \"nvidia-tesla-t4\" does not exist in zone us-central1-a.".to_string())
        );

        let big = system_pool().set_initial_node_count(2);
        let e = gke.create_cluster().set_parent(ZONE).set_cluster(cluster(vec![big])).send().await.unwrap_err();
        let (code, message) = status(&e);
        assert_eq!(code, Some(403));
        assert!(
            message.contains("resource \"CPUS\": request requires '8.0'")
                && message.contains("quota of '6.0'")
                && message.contains("us-central1"),
            "{message}"
        );
        assert!(calls(&emu, "container.projects.locations.clusters.create").iter().all(|c| c["status"] != 200));
        assert!(resource(&emu, CLUSTER).is_none(), "nothing is created by a refused request");
        emu.shutdown().await;

        // A GPU quota of 0 does not stop a pool that starts empty: GKE reports it at scale-up.
        let emu = emulator("quotas: { us-central1: { NVIDIA_T4_GPUS: 0 } }").await;
        let gke = gke_client(&emu).await;
        let e = gke
            .create_cluster()
            .set_parent(ZONE)
            .set_cluster(cluster(vec![system_pool(), gpu_pool(1, 2)]))
            .send()
            .await
            .unwrap_err();
        assert!(status(&e).1.contains("NVIDIA_T4_GPUS"));
        create_running(&gke, vec![system_pool(), gpu_pool(0, 2)]).await;
        let err = emu.host().scale_up("sd", "gpu", 1).await.unwrap_err();
        assert!(err.contains("GCE quota exceeded"), "{err}");
        let pool = gke.get_node_pool().set_name(format!("{CLUSTER}/nodePools/gpu")).send().await.unwrap();
        assert!(
            pool.conditions[0].message.contains("Quota 'NVIDIA_T4_GPUS' exceeded. Limit: 0.0 in region us-central1."),
            "{:?}",
            pool.conditions
        );
        emu.shutdown().await;
    });
}

#[test]
fn gke_scale_up_meets_stockouts_then_succeeds_up_to_the_maximum() {
    run_big(|| async {
        let emu = emulator("stockouts: [ { zone: us-central1-a, machineType: custom-4-32768-ext } ]").await;
        let gke = gke_client(&emu).await;
        create_running(&gke, vec![system_pool(), gpu_pool(0, 2)]).await;
        let host = emu.host();
        let pools = host.node_pools("sd");
        let gpu = pools.iter().find(|p| p.name == "gpu").unwrap();
        assert_eq!((gpu.node_count, gpu.max_node_count), (0, 2));
        assert_eq!(gpu.accelerator, Some(("nvidia-tesla-t4".to_string(), 1)));
        assert!(gpu.taints.contains(&"nvidia.com/gpu=present:NoSchedule".to_string()));
        assert!(gpu.taints.contains(&"sdctl.dev/gpu=true:NoSchedule".to_string()));
        assert_eq!(gpu.labels.get("cloud.google.com/gke-accelerator").map(String::as_str), Some("nvidia-tesla-t4"));

        let err = host.scale_up("sd", "gpu", 1).await.unwrap_err();
        assert!(err.contains("GCE out of resources"), "{err}");
        let pool = gke.get_node_pool().set_name(format!("{CLUSTER}/nodePools/gpu")).send().await.unwrap();
        assert!(
            pool.conditions[0].message.contains("does not have enough resources available to fulfill the request")
                && pool.conditions[0].message.contains("ZONE_RESOURCE_POOL_EXHAUSTED"),
            "{:?}",
            pool.conditions
        );
        assert!(format!("{:?}", pool.conditions[0].canonical_code).contains("ResourceExhausted"));

        emu.set_scenario(sdctl_emulator::Scenario { enabled_apis: vec!["*".into()], ..Default::default() });
        let nodes = host.scale_up("sd", "gpu", 2).await.unwrap();
        assert_eq!(nodes.len(), 2);
        assert!(nodes[0].starts_with("gke-sd-gpu-"));
        let pool = gke.get_node_pool().set_name(format!("{CLUSTER}/nodePools/gpu")).send().await.unwrap();
        assert!(pool.conditions.is_empty());
        assert_eq!(host.node_pools("sd").iter().find(|p| p.name == "gpu").unwrap().node_count, 2);
        let err = host.scale_up("sd", "gpu", 1).await.unwrap_err();
        assert!(err.contains("max node group size reached"), "{err}");
        emu.shutdown().await;
    });
}

/// A stockout limited to one provisioning model (`provisioning: spot`) stops spot pools only;
/// flex-start pools (`flexStart`) and on-demand pools of the same machine type still scale.
#[test]
fn gke_stockouts_can_hit_one_provisioning_model() {
    run_big(|| async {
        let emu =
            emulator("stockouts: [ { zone: us-central1-a, machineType: custom-4-32768-ext, provisioning: spot } ]")
                .await;
        let gke = gke_client(&emu).await;
        let pool = |name: &str, spot: bool, flex: bool| {
            let mut p = gpu_pool(0, 2).set_name(name);
            if let Some(c) = p.config.as_mut() {
                c.spot = spot;
                c.flex_start = flex.then_some(true);
            }
            p
        };
        create_running(&gke, vec![system_pool(), pool("spot", true, false), pool("flex", false, true), gpu_pool(0, 2)])
            .await;
        let host = emu.host();
        let err = host.scale_up("sd", "spot", 1).await.unwrap_err();
        assert!(err.contains("GCE out of resources"), "{err}");
        assert_eq!(host.scale_up("sd", "flex", 1).await.unwrap().len(), 1);
        assert_eq!(host.scale_up("sd", "gpu", 1).await.unwrap().len(), 1);
        emu.shutdown().await;
    });
}

#[test]
fn gke_faults_are_injected_per_method() {
    run_big(|| async {
        let emu = emulator(
        "faults:\n  - { method: container.projects.locations.clusters.get, status: 503, times: 2 }\n  - { method: container.projects.locations.clusters.create, status: 429, times: 1, retryAfter: 7 }",
    )
    .await;
        let gke = gke_client(&emu).await;
        let e =
            gke.create_cluster().set_parent(ZONE).set_cluster(cluster(vec![system_pool()])).send().await.unwrap_err();
        assert_eq!(e.http_status_code(), Some(429), "a POST is not retried by the client");
        let headers = e.http_headers().expect("headers");
        assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
        create_running(&gke, vec![system_pool()]).await;
        // The two 503s were retried by the client (GET is idempotent).
        let statuses: Vec<u64> = calls(&emu, "container.projects.locations.clusters.get")
            .iter()
            .map(|c| c["status"].as_u64().unwrap())
            .collect();
        assert_eq!(statuses, [503, 503, 200]);
        emu.shutdown().await;
    });
}

#[test]
fn gke_org_policy_on_external_ips_fails_public_clusters() {
    run_big(|| async {
        let emu = emulator("orgPolicies: { compute.vmExternalIpAccess: deny }").await;
        let gke = gke_client(&emu).await;
        let op = gke.create_cluster().set_parent(ZONE).set_cluster(cluster(vec![system_pool()])).send().await.unwrap();
        let done = wait(&gke, &op).await;
        let error = done.error.expect("the operation fails");
        assert!(error.message.contains("constraints/compute.vmExternalIpAccess"), "{}", error.message);
        let c = gke.get_cluster().set_name(CLUSTER).send().await.unwrap();
        assert_eq!(c.status, model::cluster::Status::Error);
        // An ERROR cluster can be deleted.
        let op = gke.delete_cluster().set_name(CLUSTER).send().await.unwrap();
        wait(&gke, &op).await;

        let private = cluster(vec![system_pool()])
            .set_network_config(model::NetworkConfig::new().set_default_enable_private_nodes(true));
        let op = gke.create_cluster().set_parent(ZONE).set_cluster(private).send().await.unwrap();
        assert!(wait(&gke, &op).await.error.is_none(), "private nodes need no external IP");
        emu.shutdown().await;
    });
}

#[test]
fn ingress_load_balancer_leaks_when_the_cluster_is_deleted_first() {
    run_big(|| async {
        let emu = emulator("").await;
        let gke = gke_client(&emu).await;
        create_running(&gke, vec![system_pool()]).await;
        let host = emu.host();
        let request = LoadBalancerRequest {
            namespace: "sd".into(),
            ingress: "webui".into(),
            static_ip_name: None,
            backends: vec!["sd/router:80".into()],
            iap: true,
            iap_client_id: String::new(),
        };
        let lb = host.create_load_balancer("sd", &request);
        assert!(lb.ip.starts_with("127.34."), "{}", lb.ip);
        assert_eq!(lb.backend_services.len(), 1);
        let kinds = |emu: &Emulator| -> Vec<String> {
            let state = emu.state();
            let mut kinds: Vec<String> = state["resources"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["name"].as_str().unwrap().contains("/k8s"))
                .map(|r| r["kind"].as_str().unwrap().to_string())
                .collect();
            kinds.sort();
            kinds
        };
        assert_eq!(
            kinds(&emu),
            ["BackendService", "ForwardingRule", "HealthCheck", "NetworkEndpointGroup", "TargetHttpProxy", "UrlMap"]
        );

        // Deleting the Ingress removes them ...
        host.delete_load_balancer("sd", "sd", "webui");
        assert!(kinds(&emu).is_empty());
        // ... deleting the cluster first leaves them behind, billable, as on Google.
        host.create_load_balancer("sd", &request);
        let op = gke.delete_cluster().set_name(CLUSTER).send().await.unwrap();
        wait(&gke, &op).await;
        eventually("cluster gone", || resource(&emu, CLUSTER).is_none()).await;
        assert_eq!(kinds(&emu).len(), 6, "the load balancer leaked");
        emu.shutdown().await;
    });
}
