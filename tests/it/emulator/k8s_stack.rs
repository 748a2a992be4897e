//! The whole emulator, as sdctl meets it: a GKE cluster created through the official client
//! serves its Kubernetes API at the cluster's `endpoint` with its `clusterCaCertificate`; an
//! Ingress builds compute load-balancer pieces; deleting the cluster first stops the API and
//! leaves those pieces behind, billable, as on Google.

use std::time::Duration;

use google_cloud_container_v1::client::ClusterManager;
use google_cloud_container_v1::model::{self, NodeConfig, NodePool, operation::Status as OpStatus};
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use sdctl_emulator::Emulator;
use serde_json::json;

use super::k8s_host::{client_from, namespace};

const ZONE: &str = "projects/p1/locations/us-central1-a";
const CLUSTER: &str = "projects/p1/locations/us-central1-a/clusters/sd";

/// The whole emulator, 10 000 times faster than real time.
async fn emulator() -> Emulator {
    let scenario = sdctl_emulator::Scenario { enabled_apis: vec!["*".into()], ..Default::default() };
    Emulator::start(sdctl_emulator::Options { speed: 10_000.0, scenario, ..Default::default() })
        .await
        .expect("emulator starts")
}

/// GKE's official client pointed at the emulator, anonymous, polling fast.
async fn gke(emu: &Emulator) -> ClusterManager {
    let fast = google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder::new()
        .with_initial_delay(Duration::from_millis(2))
        .with_maximum_delay(Duration::from_millis(20))
        .build()
        .expect("backoff");
    ClusterManager::builder()
        .with_endpoint(format!("{}/container", emu.url()))
        .with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build())
        .with_backoff_policy(fast)
        .build()
        .await
        .expect("client")
}

async fn wait(gke: &ClusterManager, op: &model::Operation) {
    let name = format!("{ZONE}/operations/{}", op.name);
    for _ in 0..5000 {
        if gke.get_operation().set_name(&name).send().await.expect("get_operation").status == OpStatus::Done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("operation {name} never finished");
}

/// A kubeconfig built from the cluster resource, as sdctl builds it.
fn kubeconfig(c: &model::Cluster) -> String {
    let ca = c.master_auth.as_ref().map(|m| m.cluster_ca_certificate.clone()).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sd\n  cluster:\n    server: https://{}\n    certificate-authority-data: {ca}\ncontexts:\n- name: sd\n  context: {{cluster: sd, user: sd}}\ncurrent-context: sd\nusers:\n- name: sd\n  user: {{token: anonymous}}\n",
        c.endpoint
    )
}

fn compute_lb_kinds(emu: &Emulator) -> Vec<String> {
    let mut kinds: Vec<String> = emu.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["service"] == "compute" && r["name"].as_str().unwrap_or("").contains("k8s"))
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn a_gke_cluster_serves_kubernetes_and_leaks_its_ingress_load_balancer_when_deleted_first() {
    let emu = emulator().await;
    let gke = gke(&emu).await;
    let pool = NodePool::new()
        .set_name("system")
        .set_initial_node_count(2)
        .set_config(NodeConfig::new().set_machine_type("e2-standard-4"));
    let op = gke
        .create_cluster()
        .set_parent(ZONE)
        .set_cluster(model::Cluster::new().set_name("sd").set_node_pools([pool]))
        .send()
        .await
        .expect("create");
    wait(&gke, &op).await;
    let cluster = gke.get_cluster().set_name(CLUSTER).send().await.expect("get");
    assert!(cluster.endpoint.starts_with("127.0.0.1:"), "{}", cluster.endpoint);

    let client = client_from(&kubeconfig(&cluster)).await;
    let version = client.apiserver_version().await.expect("the API answers with the cluster CA");
    assert_eq!(format!("v{}", cluster.current_master_version), version.git_version);
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = nodes.list(&ListParams::default().labels("cloud.google.com/gke-nodepool=system")).await.unwrap().items;
    assert_eq!(nodes.len(), 2, "the node pool's nodes are Node objects");

    // The control endpoint's kubeconfig reaches the same server.
    let kc = reqwest::get(format!("{}/_emulator/kubeconfig/sd", emu.url())).await.unwrap().text().await.unwrap();
    let same = client_from(&kc).await;
    assert!(Api::<Namespace>::all(same).get("kube-system").await.is_ok());

    // An Ingress: GKE's controller builds the load balancer in compute.
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(&PostParams::default(), &serde_json::from_value(namespace("sd")).unwrap()).await.unwrap();
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "router", "annotations": {"cloud.google.com/neg": "{\"ingress\": true}"}},
        "spec": {"selector": {"app": "router"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), "sd").create(&PostParams::default(), &svc).await.unwrap();
    let ing: Ingress = serde_json::from_value(json!({
        "metadata": {"name": "webui", "annotations": {"kubernetes.io/ingress.class": "gce"}},
        "spec": {"defaultBackend": {"service": {"name": "router", "port": {"number": 80}}}},
    }))
    .unwrap();
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), "sd");
    ingresses.create(&PostParams::default(), &ing).await.unwrap();
    let ing = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(ingresses.clone(), "webui", conditions::is_ingress_provisioned()),
    )
    .await
    .expect("provisioned")
    .unwrap()
    .unwrap();
    let ip = ing.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0].ip.clone().unwrap();
    assert!(ip.starts_with("127.34."), "a loopback address: {ip}");
    assert!(compute_lb_kinds(&emu).contains(&"ForwardingRule".to_string()), "{:?}", compute_lb_kinds(&emu));
    let k8s_entries = emu.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["service"] == "k8s" && r["kind"] == "Ingress")
        .count();
    assert_eq!(k8s_entries, 1, "Kubernetes objects are in /_emulator/state");

    // Delete the cluster before the Ingress: the API goes away, the load balancer stays.
    let pieces = compute_lb_kinds(&emu);
    let op = gke.delete_cluster().set_name(CLUSTER).send().await.unwrap();
    wait(&gke, &op).await;
    assert!(client.apiserver_version().await.is_err(), "the cluster's API is gone");
    assert_eq!(compute_lb_kinds(&emu), pieces, "the load balancer leaked");
    let logged: Vec<_> =
        emu.requests().into_iter().filter(|r| r["service"] == "k8s" && r["method"] == "POST").collect();
    assert!(
        logged.iter().any(|r| r["path"] == "/apis/networking.k8s.io/v1/namespaces/sd/ingresses" && r["status"] == 201)
    );
    assert!(logged.iter().all(|r| r["cluster"] == "sd"));
    emu.shutdown().await;
}
