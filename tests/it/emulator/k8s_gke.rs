//! GKE's own controllers on the emulated cluster: an Ingress with IAP and a managed
//! certificate gets its load balancer from "Google" and gives it back when deleted; GPU pods
//! scale a pool from zero, and a stockout shows as GKE shows it (FailedScaleUp on the pod).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::k8s_agones::gvk_api;
use super::k8s_host::{TestCluster, TestHost, eventually, namespace, pool};

async fn apply(client: &Client, ns: &str, obj: Value) -> DynamicObject {
    let gvk =
        GroupVersionKind::try_from(&serde_json::from_value::<kube::core::TypeMeta>(obj.clone()).unwrap()).unwrap();
    let plural = match gvk.kind.as_str() {
        "Ingress" => "ingresses".to_string(),
        k => format!("{}s", k.to_lowercase()),
    };
    let ar = ApiResource::from_gvk_with_plural(&gvk, &plural);
    let api: Api<DynamicObject> =
        if ns.is_empty() { Api::all_with(client.clone(), &ar) } else { Api::namespaced_with(client.clone(), ns, &ar) };
    let name = obj["metadata"]["name"].as_str().unwrap().to_string();
    api.patch(
        &name,
        &PatchParams::apply("sdctl"),
        &Patch::Apply(&serde_json::from_value::<DynamicObject>(obj).unwrap()),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {}/{name}: {e}", gvk.kind))
}

fn router_objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "iap-oauth", "namespace": "sd"},
               "stringData": {"client_id": "id", "client_secret": "secret"}}),
        json!({"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": {"name": "router", "namespace": "sd"},
               "spec": {"timeoutSec": 900, "iap": {"enabled": true, "oauthclientCredentials": {"secretName": "iap-oauth"}},
                        "healthCheck": {"type": "HTTP", "requestPath": "/healthz", "port": 8080}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "router", "namespace": "sd",
                   "annotations": {"cloud.google.com/neg": "{\"ingress\": true}", "cloud.google.com/backend-config": "{\"default\": \"router\"}"}},
               "spec": {"type": "ClusterIP", "selector": {"app": "router"}, "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]}}),
        json!({"apiVersion": "networking.gke.io/v1", "kind": "ManagedCertificate", "metadata": {"name": "sd", "namespace": "sd"},
               "spec": {"domains": ["34-120-1-2.sslip.io"]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "sd", "namespace": "sd",
                   "annotations": {"kubernetes.io/ingress.class": "gce", "kubernetes.io/ingress.global-static-ip-name": "sd-demo-ip",
                                   "networking.gke.io/managed-certificates": "sd"}},
               "spec": {"defaultBackend": {"service": {"name": "router", "port": {"number": 8080}}}}}),
    ]
}

#[tokio::test]
async fn ingress_gets_its_load_balancer_and_certificate_and_returns_them_on_delete() {
    let t = TestCluster::start(1000.0).await;
    apply(&t.client, "", namespace("sd")).await;
    for o in router_objects() {
        apply(&t.client, "sd", o).await;
    }
    let ingresses: Api<Ingress> = Api::namespaced(t.client.clone(), "sd");
    let ing = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(ingresses.clone(), "sd", conditions::is_ingress_provisioned()),
    )
    .await
    .expect("an address within the scaled 2 minutes")
    .unwrap()
    .unwrap();
    let ip = ing.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0].ip.clone();
    assert_eq!(ip.as_deref(), Some("34.120.1.2"));
    let lbs = t.host.load_balancers.lock().unwrap().clone();
    assert_eq!(lbs.len(), 1);
    assert_eq!(lbs[0].static_ip_name.as_deref(), Some("sd-demo-ip"));
    assert_eq!(lbs[0].backends, ["sd/router:8080"]);
    assert!(lbs[0].iap, "IAP comes from the BackendConfig");
    let ing = ingresses.get("sd").await.unwrap();
    assert!(ing.finalizers().contains(&"networking.gke.io/ingress-finalizer-V2".to_string()));
    assert!(ing.annotations()["ingress.kubernetes.io/backends"].contains("k8s1-sd-sd-bs"));

    let certs: Api<DynamicObject> =
        gvk_api(&t.client, "networking.gke.io", "v1", "ManagedCertificate", "managedcertificates");
    let cert = eventually(10, "certificate Active", || async {
        let c = certs.get("sd").await.ok()?;
        (c.data["status"]["certificateStatus"] == "Active").then_some(c)
    })
    .await;
    assert_eq!(cert.data["status"]["domainStatus"][0], json!({"domain": "34-120-1-2.sslip.io", "status": "Active"}));
    assert_eq!(t.entry("ManagedCertificate", "sd", "sd").unwrap()["state"], "Active");

    // Deleting the Ingress removes the load balancer first, then the Ingress.
    ingresses.delete("sd", &DeleteParams::default()).await.unwrap();
    eventually(10, "ingress gone", || async { ingresses.get_opt("sd").await.unwrap().is_none().then_some(()) }).await;
    assert_eq!(*t.host.deleted_load_balancers.lock().unwrap(), [("sd".to_string(), "sd".to_string())]);
}

#[tokio::test]
async fn a_certificate_can_fail_as_the_scenario_says() {
    let host = TestHost::new(1000.0);
    host.set_scenario(sdctl_emulator::scenario::Scenario { certificate_fails: true, ..Default::default() });
    let t = TestCluster::start_with(host).await;
    apply(&t.client, "", namespace("sd")).await;
    for o in router_objects() {
        apply(&t.client, "sd", o).await;
    }
    let certs: Api<DynamicObject> =
        gvk_api(&t.client, "networking.gke.io", "v1", "ManagedCertificate", "managedcertificates");
    eventually(10, "certificate Provisioning first", || async {
        let c = certs.get("sd").await.ok()?;
        (c.data["status"]["certificateStatus"] == "Provisioning").then_some(())
    })
    .await;
    // FailedNotVisible is a domain's state; the certificate stays Provisioning (Google retries).
    let failed = eventually(10, "domain FailedNotVisible", || async {
        let c = certs.get("sd").await.ok()?;
        (c.data["status"]["domainStatus"][0]["status"] == "FailedNotVisible").then_some(c)
    })
    .await;
    assert_eq!(failed.data["status"]["certificateStatus"], "Provisioning");
}

#[tokio::test]
async fn ingress_with_a_missing_backend_gets_no_load_balancer_and_says_why() {
    let t = TestCluster::start(1000.0).await;
    apply(&t.client, "", namespace("sd")).await;
    let mut objs = router_objects();
    objs.remove(2); // no Service
    for o in objs {
        apply(&t.client, "sd", o).await;
    }
    let events: Api<Event> = Api::namespaced(t.client.clone(), "sd");
    let ev = eventually(10, "a Translate warning", || async {
        events.list(&ListParams::default().fields("involvedObject.name=sd,reason=Translate")).await.unwrap().items.pop()
    })
    .await;
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert_eq!(
        ev.message.as_deref(),
        Some(r#"Translation failed: invalid ingress spec: could not find service "sd/router""#)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(t.host.load_balancers.lock().unwrap().is_empty());
    assert_eq!(t.entry("Ingress", "sd", "sd").unwrap()["state"], "Pending");

    // BackendConfig schema: unknown fields refused, with their path.
    let bc = json!({"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": {"name": "bad", "namespace": "sd"},
                    "spec": {"iap": {"enabled": true, "oauthClientCredentials": {"secretName": "x"}}}});
    let api: Api<DynamicObject> = gvk_api(&t.client, "cloud.google.com", "v1", "BackendConfig", "backendconfigs");
    let err = match api.create(&PostParams::default(), &serde_json::from_value(bc).unwrap()).await.unwrap_err() {
        kube::Error::Api(s) => s,
        e => panic!("{e}"),
    };
    assert_eq!(err.code, 400);
    assert!(err.message.contains(r#"unknown field "spec.iap.oauthClientCredentials""#), "{}", err.message);
}

fn gpu_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "webui", "image": "sd-webui:1", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
    }))
    .unwrap()
}

#[tokio::test]
async fn gpu_pods_scale_a_pool_from_zero_and_a_stockout_shows_as_failed_scale_up() {
    let host = TestHost::new(1000.0);
    *host.pools.lock().unwrap() = vec![
        pool("default-pool", "e2-standard-4", None, 1, 1),
        pool("gpu-pool", "g2-standard-8", Some(("nvidia-l4", 1)), 0, 2),
    ];
    *host.scale_up_error.lock().unwrap() = Some("GCE out of resources".into());
    let t = TestCluster::start_with(host).await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    let created = pods.create(&PostParams::default(), &gpu_pod("webui-0")).await.unwrap();
    let tolerations = created.spec.unwrap().tolerations.unwrap();
    assert!(tolerations.iter().any(|t| t.key.as_deref() == Some("nvidia.com/gpu")), "GKE adds the GPU toleration");

    let events: Api<Event> = Api::namespaced(t.client.clone(), "default");
    let failed = eventually(10, "FailedScaleUp", || async {
        events
            .list(&ListParams::default().fields("involvedObject.name=webui-0,reason=FailedScaleUp"))
            .await
            .unwrap()
            .items
            .pop()
    })
    .await;
    assert_eq!(
        failed.message.as_deref(),
        Some(
            "Node scale up in zones us-central1-a associated with this pod failed: GCE out of resources. Pod is at risk of not being scheduled."
        )
    );
    assert_eq!(failed.source.and_then(|s| s.component).as_deref(), Some("cluster-autoscaler"));
    let scheduling = events
        .list(&ListParams::default().fields("involvedObject.name=webui-0,reason=FailedScheduling"))
        .await
        .unwrap()
        .items;
    assert!(
        scheduling[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."),
        "{scheduling:?}"
    );
    let pod = pods.get("webui-0").await.unwrap();
    assert!(pod.spec.unwrap().node_name.is_none(), "still pending");
    assert_eq!(t.host.scale_ups.lock().unwrap()[0], ("c1".to_string(), "gpu-pool".to_string(), 1));

    // The stock comes back: after the autoscaler's backoff the next scale-up adds a node.
    *t.host.scale_up_error.lock().unwrap() = None;
    let running = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(pods.clone(), "webui-0", conditions::is_pod_running()),
    )
    .await;
    assert!(running.is_ok(), "the pod runs on the new GPU node");
    let node = pods.get("webui-0").await.unwrap().spec.unwrap().node_name.unwrap();
    assert!(node.starts_with("gke-c1-gpu-pool-"), "{node}");
    let nodes = t.state().into_iter().filter(|e| e["kind"] == "Node").count();
    assert_eq!(nodes, 2);
    assert!(t.host.scale_ups.lock().unwrap().len() >= 2);
}

/// GKE grows the pool before the autoscaler hears that its scale-up finished; a controller pass in
/// between makes the node then, and the outcome arriving later adds no second node (it once did:
/// a flaky `full_up` test found two spot nodes for one WebUI).
#[tokio::test]
async fn a_scale_up_makes_one_node_however_late_its_outcome_arrives() {
    let host = TestHost::new(1000.0);
    *host.pools.lock().unwrap() = vec![
        pool("default-pool", "e2-standard-4", None, 1, 1),
        pool("gpu-pool", "custom-4-32768-ext", Some(("nvidia-tesla-t4", 1)), 0, 3),
    ];
    // Many 20 ms controller passes run inside this window.
    *host.outcome_lag.lock().unwrap() = Duration::from_millis(500);
    let t = TestCluster::start_with(host).await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    pods.create(&PostParams::default(), &gpu_pod("webui-0")).await.unwrap();
    let running = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(pods.clone(), "webui-0", conditions::is_pod_running()),
    )
    .await;
    assert!(running.is_ok(), "the pod runs on the new GPU node");
    // Past the outcome's arrival, and then some passes more.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let gpu_nodes: Vec<String> = t
        .state()
        .into_iter()
        .filter(|e| e["kind"] == "Node" && e["labels"]["cloud.google.com/gke-nodepool"] == "gpu-pool")
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(gpu_nodes.len(), 1, "one scale-up of one node: {gpu_nodes:?}");
    assert_eq!(t.host.scale_ups.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_driver_installer_daemonset_makes_gpus_allocatable() {
    let host = TestHost::new(1000.0);
    let mut gpu = pool("gpu-pool", "custom-4-32768-ext", Some(("nvidia-tesla-t4", 1)), 1, 3);
    gpu.labels.clear(); // no GKE-managed driver: the DaemonSet has to install it
    *host.pools.lock().unwrap() = vec![pool("default-pool", "e2-standard-4", None, 1, 1), gpu];
    let t = TestCluster::start_with(host).await;
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    pods.create(&PostParams::default(), &gpu_pod("webui-0")).await.unwrap();
    let events: Api<Event> = Api::namespaced(t.client.clone(), "default");
    let waiting = eventually(10, "FailedScheduling", || async {
        events
            .list(&ListParams::default().fields("involvedObject.name=webui-0,reason=FailedScheduling"))
            .await
            .unwrap()
            .items
            .pop()
    })
    .await;
    assert!(waiting.message.unwrap().contains("Insufficient nvidia.com/gpu"));

    let path = super::k8s_host::upstream_dir().join("nvidia-driver-installer/daemonset-preloaded.yaml");
    let ds: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let applied = apply(&t.client, "kube-system", ds).await;
    assert_eq!(applied.metadata.name.as_deref(), Some("nvidia-driver-installer"));
    let running = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(pods.clone(), "webui-0", conditions::is_pod_running()),
    )
    .await;
    assert!(running.is_ok(), "the pod runs once the driver is installed");
    let ds = Api::<k8s_openapi::api::apps::v1::DaemonSet>::namespaced(t.client.clone(), "kube-system")
        .get("nvidia-driver-installer")
        .await
        .unwrap();
    let status = ds.status.unwrap();
    assert_eq!((status.desired_number_scheduled, status.number_available), (1, Some(1)), "only the GPU node");
    let node = pods.get("webui-0").await.unwrap().spec.unwrap().node_name.unwrap();
    let n = Api::<k8s_openapi::api::core::v1::Node>::all(t.client.clone()).get(&node).await.unwrap();
    assert_eq!(n.status.unwrap().allocatable.unwrap()["nvidia.com/gpu"].0, "1");
    assert!(t.host.scale_ups.lock().unwrap().is_empty(), "a node installing its driver is not a reason to scale up");
}

/// A pod whose claim is bound to a zonal disk's volume in another zone than every node stays
/// Pending, as the scheduler's VolumeBinding plugin says; one in the nodes' zone runs.
#[tokio::test]
async fn a_pod_runs_only_where_its_volume_is() {
    let t = TestCluster::start(1000.0).await;
    let volume = |name: &str, zone: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
               "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                        "csi": {"driver": "pd.csi.storage.gke.io", "volumeHandle": format!("projects/p/zones/{zone}/disks/{name}")},
                        "claimRef": {"namespace": "default", "name": name},
                        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                            {"key": "topology.gke.io/zone", "operator": "In", "values": [zone]}]}]}}}})
    };
    let claim = |name: &str| {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": name,
                        "resources": {"requests": {"storage": "10Gi"}}}})
    };
    let pod = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}],
                        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]}})
    };
    for (name, zone) in [("elsewhere", "us-central1-b"), ("here", "us-central1-a")] {
        apply(&t.client, "", volume(name, zone)).await;
        apply(&t.client, "default", claim(name)).await;
        apply(&t.client, "default", pod(name)).await;
    }
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), "default");
    tokio::time::timeout(Duration::from_secs(10), await_condition(pods.clone(), "here", conditions::is_pod_running()))
        .await
        .expect("the pod in its volume's zone runs")
        .unwrap();
    let events: Api<Event> = Api::namespaced(t.client.clone(), "default");
    let refused = eventually(10, "FailedScheduling", || async {
        events
            .list(&ListParams::default().fields("involvedObject.name=elsewhere,reason=FailedScheduling"))
            .await
            .unwrap()
            .items
            .pop()
    })
    .await;
    assert!(
        refused
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("node(s) didn't match PersistentVolume's node affinity"),
        "{refused:?}"
    );
    assert!(pods.get("elsewhere").await.unwrap().spec.unwrap().node_name.is_none(), "still pending");
}
