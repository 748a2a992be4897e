//! Agones on the emulated cluster: the real 1.60 install.yaml applied with server-side apply,
//! then a Fleet of GPU GameServers with a FleetAutoscaler, GPU nodes scaled up, allocation
//! through the aggregated `allocation.agones.dev` API, and Agones' refusals.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Discovery, Scope};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, ResourceExt};
use sdctl_emulator::scenario::Scenario;
use serde_json::{Value, json};

use super::k8s_host::{TestCluster, TestHost, agones_install_yaml, eventually, namespace, pool};

/// Apply every object of a multi-document manifest with server-side apply (field manager
/// `sdctl`, force), resolving kinds through aggregated discovery, as sdctl does.
pub(crate) async fn apply_manifest(client: &Client, yaml: &str, default_ns: &str) -> usize {
    apply_with(client, yaml, default_ns, &PatchParams::apply("sdctl").force()).await
}

/// Agones 1.60's CRDs carry `x-kubernetes-patch-*` keys the CRD API does not know
/// (agones-dev/agones#4670): server-side apply refuses them whatever the field validation, so
/// they are dropped first, as sdctl does; the rest is applied with Warn, as kubectl does.
async fn apply_upstream(client: &Client, yaml: &str, default_ns: &str) -> usize {
    let mut docs: Vec<Value> = serde_saphyr::from_multiple(yaml).expect("manifest parses");
    docs.iter_mut().for_each(sdctl::kube::agones::drop_patch_hints);
    let text: Vec<String> = docs.iter().map(|d| serde_json::to_string(d).unwrap()).collect();
    apply_with(client, &text.join("\n---\n"), default_ns, &PatchParams::apply("sdctl").force().validation_warn()).await
}

async fn apply_with(client: &Client, yaml: &str, default_ns: &str, params: &PatchParams) -> usize {
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).expect("manifest parses");
    let discovery = Discovery::new(client.clone()).run_aggregated().await.expect("discovery");
    let mut n = 0;
    for doc in docs.into_iter().filter(|d| d.is_object()) {
        let obj: DynamicObject = serde_json::from_value(doc).expect("object");
        let gvk = GroupVersionKind::try_from(obj.types.as_ref().expect("types")).expect("gvk");
        let (ar, caps) = discovery.resolve_gvk(&gvk).unwrap_or_else(|| panic!("{gvk:?} is served"));
        let api: Api<DynamicObject> = if caps.scope == Scope::Cluster {
            Api::all_with(client.clone(), &ar)
        } else {
            Api::namespaced_with(client.clone(), obj.namespace().as_deref().unwrap_or(default_ns), &ar)
        };
        api.patch(&obj.name_any(), params, &Patch::Apply(&obj))
            .await
            .unwrap_or_else(|e| panic!("apply {} {}: {e}", gvk.kind, obj.name_any()));
        n += 1;
    }
    n
}

async fn create_namespaces(client: &Client, names: &[&str]) {
    let nss: Api<Namespace> = Api::all(client.clone());
    for n in names {
        nss.create(&PostParams::default(), &serde_json::from_value(namespace(n)).unwrap()).await.unwrap();
    }
}

/// What Agones needs in a GameServer namespace (install.yaml has them for `default` only).
pub(crate) async fn agones_namespace_objects(client: &Client, ns: &str) {
    let yaml = format!(
        r#"
apiVersion: v1
kind: ServiceAccount
metadata: {{name: agones-sdk, namespace: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: agones-sdk-access, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agones-sdk}}
subjects: [{{kind: ServiceAccount, name: agones-sdk, namespace: {ns}}}]
"#
    );
    apply_manifest(client, &yaml, ns).await;
}

/// Install Agones and wait until its CRDs, controller and allocation API are up.
pub(crate) async fn install_agones(t: &TestCluster) {
    create_namespaces(&t.client, &["agones-system", "sd"]).await;
    let applied = apply_upstream(&t.client, &agones_install_yaml(), "agones-system").await;
    assert_eq!(applied, 39, "every object of install.yaml");
    let crds: Api<CustomResourceDefinition> = Api::all(t.client.clone());
    for crd in [
        "fleets.agones.dev",
        "gameservers.agones.dev",
        "gameserversets.agones.dev",
        "fleetautoscalers.autoscaling.agones.dev",
    ] {
        tokio::time::timeout(
            Duration::from_secs(20),
            await_condition(crds.clone(), crd, conditions::is_crd_established()),
        )
        .await
        .unwrap()
        .unwrap();
    }
    let deploys: Api<Deployment> = Api::namespaced(t.client.clone(), "agones-system");
    for d in ["agones-controller", "agones-extensions"] {
        tokio::time::timeout(
            Duration::from_secs(20),
            await_condition(deploys.clone(), d, conditions::is_deployment_completed()),
        )
        .await
        .unwrap()
        .unwrap();
    }
    eventually(20, "allocation API available", || async {
        let d = Discovery::new(t.client.clone()).run_aggregated().await.ok()?;
        d.has_group("allocation.agones.dev").then_some(())
    })
    .await;
}

fn fleet(replicas: i64) -> Value {
    json!({
        "apiVersion": "agones.dev/v1", "kind": "Fleet",
        "metadata": {"name": "sd-webui", "namespace": "sd", "labels": {"sdctl.dev/env": "demo", "app.kubernetes.io/managed-by": "sdctl"}},
        "spec": {
            "replicas": replicas,
            "scheduling": "Packed",
            "template": {
                "metadata": {"labels": {"app": "sd-webui"}},
                "spec": {
                    "container": "webui",
                    "ports": [{"name": "webui", "containerPort": 7860, "protocol": "TCP", "portPolicy": "Dynamic", "container": "webui"}],
                    "health": {"initialDelaySeconds": 60, "periodSeconds": 10, "failureThreshold": 5},
                    "template": {"spec": {
                        "serviceAccountName": "agones-sdk",
                        "nodeSelector": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
                        "containers": [
                            {"name": "webui", "image": "us-central1-docker.pkg.dev/p/sd-images/sd-webui:1",
                             "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "2", "memory": "16Gi"}},
                             "volumeMounts": [{"name": "models", "mountPath": "/models", "readOnly": true}]},
                            {"name": "sidecar", "image": "us-central1-docker.pkg.dev/p/sd-images/sdctl-runtime:1",
                             "args": ["runtime", "sidecar"], "env": [{"name": "WEBUI_PORT", "value": "7860"}]}
                        ],
                        "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": "models", "readOnly": true}}]
                    }}
                }
            }
        }
    })
}

fn autoscaler(buffer: i64, min: i64, max: i64) -> Value {
    json!({
        "apiVersion": "autoscaling.agones.dev/v1", "kind": "FleetAutoscaler",
        "metadata": {"name": "sd-webui", "namespace": "sd"},
        "spec": {"fleetName": "sd-webui", "policy": {"type": "Buffer", "buffer": {"bufferSize": buffer, "minReplicas": min, "maxReplicas": max}}},
    })
}

/// The shared models volume: a Filestore NFS PV and its claim.
pub(crate) async fn models_volume(client: &Client) {
    nfs_volume(client, "sd-models", "models").await;
}

/// An NFS PersistentVolume `pv` (a share nobody serves: pods only need it bound) and its claim
/// `claim` in namespace `sd`.
pub(crate) async fn nfs_volume(client: &Client, pv: &str, claim: &str) {
    let yaml = format!(
        r#"
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {pv}}}
spec:
  capacity: {{storage: 1Ti}}
  accessModes: [ReadWriteMany]
  storageClassName: ""
  nfs: {{server: 10.0.0.2, path: /vol1}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: {claim}, namespace: sd}}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ""
  volumeName: {pv}
  resources: {{requests: {{storage: 1Ti}}}}
"#
    );
    apply_manifest(client, &yaml, "sd").await;
}

pub(crate) fn gvk_api(client: &Client, group: &str, version: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Api::namespaced_with(client.clone(), "sd", &ar)
}

/// Applies the test Fleet with `replicas` as sdctl would.
async fn apply_fleet(fleets: &Api<DynamicObject>, replicas: i64) {
    let fleet: DynamicObject = serde_json::from_value(fleet(replicas)).unwrap();
    fleets.patch("sd-webui", &PatchParams::apply("sdctl"), &Patch::Apply(&fleet)).await.expect("the Fleet applies");
}

pub(crate) fn state_of(gs: &DynamicObject) -> String {
    gs.data["status"]["state"].as_str().unwrap_or("").to_string()
}

async fn game_servers(api: &Api<DynamicObject>) -> Vec<DynamicObject> {
    api.list(&ListParams::default().labels("agones.dev/fleet=sd-webui"))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|g| g.metadata.deletion_timestamp.is_none())
        .collect()
}

pub(crate) fn gpu_host(speed: f64) -> std::sync::Arc<TestHost> {
    let host = TestHost::new(speed);
    *host.pools.lock().unwrap() = vec![
        pool("default-pool", "e2-standard-4", None, 2, 2),
        pool("gpu-pool", "custom-4-32768-ext", Some(("nvidia-tesla-t4", 1)), 0, 3),
    ];
    host.set_scenario(Scenario { game_server_endpoint: Some("127.0.0.1:17860".into()), ..Scenario::default() });
    host
}

#[tokio::test]
async fn agones_install_fleet_autoscaler_and_allocation() {
    let t = TestCluster::start_with(gpu_host(1000.0)).await;
    install_agones(&t).await;
    agones_namespace_objects(&t.client, "sd").await;
    models_volume(&t.client).await;

    let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
    let fas = gvk_api(&t.client, "autoscaling.agones.dev", "v1", "FleetAutoscaler", "fleetautoscalers");
    let gss = gvk_api(&t.client, "agones.dev", "v1", "GameServer", "gameservers");
    let allocations =
        gvk_api(&t.client, "allocation.agones.dev", "v1", "GameServerAllocation", "gameserverallocations");
    let apply = PatchParams::apply("sdctl");
    apply_fleet(&fleets, 1).await;
    let fa: DynamicObject = serde_json::from_value(autoscaler(1, 1, 3)).unwrap();
    let fa = fas.patch("sd-webui", &apply, &Patch::Apply(&fa)).await.expect("autoscaler applies");
    assert_eq!(fa.data["spec"]["sync"]["fixedInterval"]["seconds"], 30, "Agones' webhook defaults the sync");

    // No GPU node yet: the pod waits, the autoscaler adds a node, the GameServer becomes Ready.
    let ready = eventually(20, "a Ready GameServer", || async {
        game_servers(&gss).await.into_iter().find(|g| state_of(g) == "Ready")
    })
    .await;
    assert_eq!(t.host.scale_ups.lock().unwrap()[0].1, "gpu-pool");
    // As Agones 1.60 reports it: `address` is the node's ExternalIP; `addresses` the node's
    // addresses in node order, then the pod IP (the served endpoint's host).
    let node = ready.data["status"]["nodeName"].as_str().unwrap().to_string();
    let addresses = ready.data["status"]["addresses"].as_array().unwrap().clone();
    let types: Vec<&str> = addresses.iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["InternalIP", "ExternalIP", "Hostname", "PodIP"], "{addresses:?}");
    assert_eq!(addresses[3]["address"], "127.0.0.1");
    assert_eq!(ready.data["status"]["address"], addresses[1]["address"]);
    assert_eq!(addresses[2]["address"], node.as_str());
    for a in [&addresses[0], &addresses[1], &addresses[3]] {
        let ip: std::net::Ipv4Addr = a["address"].as_str().unwrap().parse().unwrap();
        assert!(ip.is_loopback(), "every address a test could dial is loopback: {ip}");
    }
    assert_eq!(ready.data["status"]["ports"], json!([{"name": "webui", "port": 17860}]));
    assert!(node.starts_with("gke-c1-gpu-pool-"), "{node}");
    assert_eq!(ready.labels()["agones.dev/fleet"], "sd-webui");
    let events: Api<Event> = Api::namespaced(t.client.clone(), "sd");
    let pod_events = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={}", ready.name_any())))
        .await
        .unwrap()
        .items;
    let reasons: Vec<String> = pod_events.iter().filter_map(|e| e.reason.clone()).collect();
    assert!(reasons.contains(&"TriggeredScaleUp".into()) && reasons.contains(&"Scheduled".into()), "{reasons:?}");

    // Allocate for alice: the GameServer is hers, with her labels.
    let request = json!({
        "apiVersion": "allocation.agones.dev/v1", "kind": "GameServerAllocation",
        "spec": {"selectors": [{"matchLabels": {"agones.dev/fleet": "sd-webui"}, "gameServerState": "Ready"}],
                 "metadata": {"labels": {"sdctl.dev/user": "alice-3f2a"}, "annotations": {"sdctl.dev/user-email": "alice@example.com"}}},
    });
    let alloc = allocations
        .create(&PostParams::default(), &serde_json::from_value(request.clone()).unwrap())
        .await
        .expect("allocation");
    assert_eq!(alloc.data["status"]["state"], "Allocated");
    assert_eq!(alloc.data["status"]["gameServerName"], ready.name_any());
    // The allocation reports the GameServer's addresses as Agones does (status.addresses too).
    assert_eq!(alloc.data["status"]["address"], ready.data["status"]["address"]);
    assert_eq!(alloc.data["status"]["addresses"], ready.data["status"]["addresses"]);
    assert_eq!(alloc.data["status"]["ports"], json!([{"name": "webui", "port": 17860}]));
    assert_eq!(alloc.data["status"]["nodeName"], node);
    let hers = gss.get(&ready.name_any()).await.unwrap();
    assert_eq!(state_of(&hers), "Allocated");
    assert_eq!(hers.labels()["sdctl.dev/user"], "alice-3f2a");
    assert_eq!(hers.annotations()["sdctl.dev/user-email"], "alice@example.com");
    assert_eq!(t.entry("GameServer", "sd", &ready.name_any()).unwrap()["state"], "Allocated");

    // Finding her GameServer again: the Allocated selector by user label.
    let again = json!({"apiVersion": "allocation.agones.dev/v1", "kind": "GameServerAllocation",
        "spec": {"selectors": [{"matchLabels": {"sdctl.dev/user": "alice-3f2a"}, "gameServerState": "Allocated"}]}});
    let again = allocations.create(&PostParams::default(), &serde_json::from_value(again).unwrap()).await.unwrap();
    assert_eq!(again.data["status"]["gameServerName"], ready.name_any());

    // The buffer refills: one Allocated + one Ready, on a second GPU node.
    let spare = eventually(20, "a spare Ready GameServer", || async {
        game_servers(&gss).await.into_iter().find(|g| state_of(g) == "Ready")
    })
    .await;
    let live = fleets.get("sd-webui").await.unwrap();
    assert_eq!(live.data["spec"]["replicas"], 2, "the autoscaler scaled the Fleet");
    assert_eq!(live.data["status"]["allocatedReplicas"], 1);
    let fa = fas.get("sd-webui").await.unwrap();
    assert_eq!(fa.data["status"]["desiredReplicas"], 2);
    assert_eq!(fa.data["status"]["ableToScale"], true);

    // The autoscaler now owns spec.replicas: re-applying the Fleet with its old replicas
    // conflicts; without replicas the re-apply is accepted and changes nothing.
    let again: DynamicObject = serde_json::from_value(fleet(1)).unwrap();
    let err = match fleets.patch("sd-webui", &apply, &Patch::Apply(&again)).await.unwrap_err() {
        kube::Error::Api(s) => s,
        e => panic!("{e}"),
    };
    assert_eq!(err.code, 409);
    assert!(
        err.message.contains(r#"conflict with "agones-controller""#) && err.message.contains(".spec.replicas"),
        "{}",
        err.message
    );
    let mut no_replicas = fleet(1);
    no_replicas["spec"].as_object_mut().unwrap().remove("replicas");
    let before = fleets.get("sd-webui").await.unwrap().metadata.generation;
    let after = fleets
        .patch("sd-webui", &apply, &Patch::Apply(&serde_json::from_value::<DynamicObject>(no_replicas).unwrap()))
        .await
        .unwrap();
    assert_eq!(after.metadata.generation, before, "the spec did not change");
    assert_eq!(after.data["spec"]["replicas"], 2);

    // Bob takes the spare; Carol finds nothing free until the buffer catches up.
    let mut bob = request.clone();
    bob["spec"]["metadata"]["labels"]["sdctl.dev/user"] = json!("bob-77aa");
    let bob = allocations.create(&PostParams::default(), &serde_json::from_value(bob).unwrap()).await.unwrap();
    assert_eq!(bob.data["status"]["gameServerName"], spare.name_any());
    let carol =
        allocations.create(&PostParams::default(), &serde_json::from_value(request.clone()).unwrap()).await.unwrap();
    assert_eq!(carol.data["status"]["state"], "UnAllocated");

    // Releasing a GameServer (deleting it) makes the Fleet replace it.
    gss.delete(&ready.name_any(), &DeleteParams::default()).await.unwrap();
    eventually(20, "the deleted GameServer gone and replaced", || async {
        let all = game_servers(&gss).await;
        let gone = all.iter().all(|g| g.name_any() != ready.name_any());
        (gone && all.len() >= 2).then_some(())
    })
    .await;

    let posts = t.host.requests("POST", "/apis/allocation.agones.dev/v1/namespaces/sd/gameserverallocations");
    assert_eq!(posts.len(), 4);
    assert!(posts.iter().all(|p| p["status"] == 201));
    assert_eq!(posts[0]["body"]["spec"]["metadata"]["labels"]["sdctl.dev/user"], "alice-3f2a");
    let pvc = t.entry("PersistentVolumeClaim", "sd", "models").unwrap();
    assert_eq!(pvc["state"], "Bound");
}

#[tokio::test]
async fn agones_refuses_bad_fleets_and_autoscalers_with_field_paths() {
    // Slow enough (speed 8) to see the webhook before its Deployment is up.
    let t = TestCluster::start_with(gpu_host(8.0)).await;
    create_namespaces(&t.client, &["agones-system", "sd"]).await;
    // Server-side apply refuses the upstream CRDs whatever the field validation, naming an
    // offending field (structured-merge-diff: "field not declared in schema", a 500).
    let crds: Api<DynamicObject> =
        Api::all_with(t.client.clone(), &ApiResource::erase::<CustomResourceDefinition>(&()));
    let fleet_crd: Value = serde_saphyr::from_multiple::<Value>(&agones_install_yaml())
        .unwrap()
        .into_iter()
        .find(|d| d["kind"] == "CustomResourceDefinition" && d["metadata"]["name"] == "fleets.agones.dev")
        .unwrap();
    for params in
        [PatchParams::apply("sdctl").force().validation_strict(), PatchParams::apply("sdctl").force().validation_warn()]
    {
        let err = match crds.patch("fleets.agones.dev", &params, &Patch::Apply(&fleet_crd)).await.unwrap_err() {
            kube::Error::Api(s) => s,
            e => panic!("{e}"),
        };
        assert_eq!(err.code, 500);
        assert!(err.message.contains(".spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.template.properties.metadata.properties.finalizers.x-kubernetes-patch-strategy: field not declared in schema"), "{}", &err.message[..300]);
    }
    apply_upstream(&t.client, &agones_install_yaml(), "agones-system").await;
    let crds: Api<CustomResourceDefinition> = Api::all(t.client.clone());
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(crds, "fleets.agones.dev", conditions::is_crd_established()),
    )
    .await
    .unwrap()
    .unwrap();
    let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
    let create = |v: Value| {
        let fleets = fleets.clone();
        async move { fleets.create(&PostParams::default(), &serde_json::from_value(v).unwrap()).await }
    };

    // The validating webhook's Service has no endpoints yet: refused like on a real cluster.
    let err = match create(fleet(1)).await.unwrap_err() {
        kube::Error::Api(s) => s,
        e => panic!("{e}"),
    };
    assert_eq!(err.code, 500);
    assert!(err.message.contains(r#"failed calling webhook "mutations.agones.dev""#), "{}", err.message);
    assert!(
        err.message.contains(r#"no endpoints available for service "agones-controller-service""#),
        "{}",
        err.message
    );

    // The aggregated allocation API is registered but its backend is not up: 503, which
    // kube-rs retries until the APIService is available.
    let alloc = GroupVersionKind::gvk("allocation.agones.dev", "v1", "GameServerAllocation");
    let (ar, caps) = kube::discovery::pinned_kind(&t.client, &alloc).await.expect("served once available");
    assert_eq!(
        (ar.plural.as_str(), caps.operations.as_slice()),
        ("gameserverallocations", ["create".to_string()].as_slice())
    );
    let tries = t.host.requests("GET", "/apis/allocation.agones.dev/v1");
    assert_eq!(tries.first().unwrap()["status"], 503);
    assert_eq!(tries.last().unwrap()["status"], 200);

    let deploys: Api<Deployment> = Api::namespaced(t.client.clone(), "agones-system");
    tokio::time::timeout(
        Duration::from_secs(20),
        await_condition(deploys, "agones-extensions", conditions::is_deployment_completed()),
    )
    .await
    .unwrap()
    .unwrap();

    // The real CRD schema: enum values, unknown fields.
    let mut bad = fleet(1);
    bad["spec"]["template"]["spec"]["ports"][0]["portPolicy"] = json!("Dynamik");
    let err = match create(bad).await.unwrap_err() {
        kube::Error::Api(s) => s,
        e => panic!("{e}"),
    };
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains(r#"spec.template.spec.ports[0].portPolicy: Unsupported value: "Dynamik""#),
        "{}",
        err.message
    );
    let mut typo = fleet(1);
    typo["spec"]["replicaz"] = json!(1);
    let err = match create(typo).await.unwrap_err() {
        kube::Error::Api(s) => s,
        e => panic!("{e}"),
    };
    assert_eq!(err.code, 400);
    assert!(err.message.contains(r#"unknown field "spec.replicaz""#), "{}", err.message);

    // Agones' own rules (its validating webhook): a host port with a Dynamic policy.
    let mut host_port = fleet(1);
    host_port["spec"]["template"]["spec"]["ports"][0]["hostPort"] = json!(7000);
    let err = match create(host_port).await.unwrap_err() {
        kube::Error::Api(s) => s,
        e => panic!("{e}"),
    };
    assert_eq!(err.code, 422);
    assert!(
        err.message.starts_with(
            r#"admission webhook "validations.agones.dev" denied the request: Fleet.agones.dev "sd-webui" is invalid"#
        ),
        "{}",
        err.message
    );
    assert!(err.message.contains("spec.template.spec.ports[0].hostPort: Forbidden: HostPort cannot be specified with a Dynamic or Passthrough PortPolicy"), "{}", err.message);

    // FleetAutoscaler Buffer rules.
    let fas = gvk_api(&t.client, "autoscaling.agones.dev", "v1", "FleetAutoscaler", "fleetautoscalers");
    for (fa, field) in [
        (autoscaler(0, 0, 3), "spec.policy.buffer.bufferSize"),
        (autoscaler(2, 1, 3), "spec.policy.buffer.minReplicas"),
        (autoscaler(4, 0, 3), "spec.policy.buffer.maxReplicas"),
    ] {
        let err = match fas.create(&PostParams::default(), &serde_json::from_value(fa).unwrap()).await.unwrap_err() {
            kube::Error::Api(s) => s,
            e => panic!("{e}"),
        };
        assert_eq!(err.code, 422, "{}", err.message);
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    assert!(create(fleet(0)).await.is_ok(), "a valid Fleet is admitted");
}

#[tokio::test]
async fn game_servers_wait_for_the_sdk_ready_call_when_the_sidecar_owns_readiness() {
    let host = gpu_host(1000.0);
    host.set_scenario(Scenario { game_server_ready_by_sidecar: true, ..Scenario::default() });
    host.pools.lock().unwrap()[1].node_count = 2;
    let t = TestCluster::start_with(host).await;
    install_agones(&t).await;
    agones_namespace_objects(&t.client, "sd").await;
    models_volume(&t.client).await;
    let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
    let gss = gvk_api(&t.client, "agones.dev", "v1", "GameServer", "gameservers");
    apply_fleet(&fleets, 2).await;
    let scheduled = eventually(20, "two Scheduled GameServers", || async {
        let all = game_servers(&gss).await;
        (all.len() == 2 && all.iter().all(|g| state_of(g) == "Scheduled")).then_some(all)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(game_servers(&gss).await.iter().all(|g| state_of(g) == "Scheduled"), "no Ready without the SDK call");
    assert!(t.host.scale_ups.lock().unwrap().is_empty(), "the pool had room");

    // The sidecar's SDK Ready, through the emulator's hook...
    t.clusters.sdk_ready("c1", "sd", &scheduled[0].name_any()).unwrap();
    // ...or as the SDK server does it: the GameServer's status.state set to RequestReady.
    let patch = json!({"status": {"state": "RequestReady"}});
    gss.patch(&scheduled[1].name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    eventually(10, "both Ready", || async {
        game_servers(&gss).await.iter().all(|g| state_of(g) == "Ready").then_some(())
    })
    .await;
}

#[tokio::test]
async fn game_servers_fail_without_the_agones_sdk_service_account_in_their_namespace() {
    let host = gpu_host(1000.0);
    host.pools.lock().unwrap()[1].node_count = 1;
    let t = TestCluster::start_with(host).await;
    install_agones(&t).await;
    models_volume(&t.client).await;
    let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
    let gss = gvk_api(&t.client, "agones.dev", "v1", "GameServer", "gameservers");
    apply_fleet(&fleets, 1).await;
    let failed = eventually(10, "a GameServer in Error", || async {
        game_servers(&gss).await.into_iter().find(|g| state_of(g) == "Error")
    })
    .await;
    let events: Api<Event> = Api::namespaced(t.client.clone(), "sd");
    let ev = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={},reason=Error", failed.name_any())))
        .await
        .unwrap()
        .items;
    assert!(
        ev[0]
            .message
            .as_deref()
            .unwrap()
            .contains(r#"error looking up service account sd/agones-sdk: serviceaccount "agones-sdk" not found"#),
        "{ev:?}"
    );
    // With Agones' per-namespace objects in place, the replacement GameServer comes up.
    agones_namespace_objects(&t.client, "sd").await;
    eventually(10, "a Ready GameServer", || async {
        game_servers(&gss).await.into_iter().find(|g| state_of(g) == "Ready")
    })
    .await;
}

/// The SDK sidecar needs the `agones-sdk` role (list, watch, patch GameServers) as the pod's
/// service account: a pod running as an account without it never becomes Ready (its SDK server
/// never serves), and says why in an event. A template naming no account gets `agones-sdk`, with
/// its token hidden from the game server container.
#[tokio::test]
async fn game_servers_need_the_sdk_role_for_their_service_account() {
    let host = gpu_host(1000.0);
    host.pools.lock().unwrap()[1].node_count = 1;
    let t = TestCluster::start_with(host).await;
    install_agones(&t).await;
    agones_namespace_objects(&t.client, "sd").await;
    models_volume(&t.client).await;
    let sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sdctl-webui, namespace: sd}\n";
    apply_manifest(&t.client, sa, "sd").await;
    let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
    let gss = gvk_api(&t.client, "agones.dev", "v1", "GameServer", "gameservers");
    let mut own = fleet(1);
    own["spec"]["template"]["spec"]["template"]["spec"]["serviceAccountName"] = json!("sdctl-webui");
    let own: DynamicObject = serde_json::from_value(own).unwrap();
    fleets.patch("sd-webui", &PatchParams::apply("sdctl"), &Patch::Apply(&own)).await.unwrap();
    let stuck = eventually(10, "an SDKForbidden event", || async {
        let events: Api<Event> = Api::namespaced(t.client.clone(), "sd");
        events.list(&ListParams::default().fields("reason=SDKForbidden")).await.unwrap().items.into_iter().next()
    })
    .await;
    assert!(stuck.message.as_deref().unwrap().contains("service account sd/sdctl-webui"), "{stuck:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(game_servers(&gss).await.iter().all(|g| state_of(g) == "Scheduled"), "never Ready without the SDK role");

    // No account named: Agones' SDK account, bound in this namespace, and the WebUI container
    // gets an empty directory over the token path.
    let mut plain = fleet(1);
    plain["spec"]["template"]["spec"]["template"]["spec"].as_object_mut().unwrap().remove("serviceAccountName");
    let plain: DynamicObject = serde_json::from_value(plain).unwrap();
    fleets.patch("sd-webui", &PatchParams::apply("sdctl").force(), &Patch::Apply(&plain)).await.unwrap();
    let ready = eventually(10, "a Ready GameServer", || async {
        game_servers(&gss).await.into_iter().find(|g| state_of(g) == "Ready")
    })
    .await;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(t.client.clone(), "sd");
    let pod = pods.get(&ready.name_any()).await.unwrap();
    let spec = pod.spec.unwrap();
    assert_eq!(spec.service_account_name.as_deref(), Some("agones-sdk"));
    let webui = spec.containers.iter().find(|c| c.name == "webui").unwrap();
    let hidden =
        webui.volume_mounts.iter().flatten().find(|m| m.mount_path == "/var/run/secrets/kubernetes.io/serviceaccount");
    assert_eq!(hidden.map(|m| m.name.as_str()), Some("empty"), "{webui:?}");
}

#[tokio::test]
async fn teardown_order_matters_game_servers_hold_their_namespace_until_agones_finalizes_them() {
    let host = gpu_host(1000.0);
    host.pools.lock().unwrap()[1].node_count = 1;
    let t = TestCluster::start_with(host).await;
    install_agones(&t).await;
    agones_namespace_objects(&t.client, "sd").await;
    models_volume(&t.client).await;
    let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
    let gss = gvk_api(&t.client, "agones.dev", "v1", "GameServer", "gameservers");
    apply_fleet(&fleets, 1).await;
    let gs = eventually(10, "a Ready GameServer", || async {
        game_servers(&gss).await.into_iter().find(|g| state_of(g) == "Ready")
    })
    .await;
    assert!(gs.finalizers().contains(&"agones.dev".to_string()));

    // Agones removed first: the GameServer's finalizer is never released, the namespace hangs.
    let deploys: Api<Deployment> = Api::namespaced(t.client.clone(), "agones-system");
    let controller = deploys.get("agones-controller").await.unwrap();
    deploys.delete("agones-controller", &DeleteParams::default()).await.unwrap();
    let nss: Api<Namespace> = Api::all(t.client.clone());
    nss.delete("sd", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stuck = gss.get(&gs.name_any()).await.expect("the GameServer is still there");
    assert!(stuck.metadata.deletion_timestamp.is_some());
    assert_eq!(nss.get("sd").await.unwrap().status.unwrap().phase.as_deref(), Some("Terminating"));
    assert_eq!(t.entry("Namespace", "", "sd").unwrap()["state"], "Terminating");

    // Agones back: it finalizes the GameServer, the namespace goes.
    let mut again: Deployment = controller;
    again.metadata = kube::api::ObjectMeta {
        name: Some("agones-controller".into()),
        namespace: Some("agones-system".into()),
        ..Default::default()
    };
    again.status = None;
    deploys.create(&PostParams::default(), &again).await.unwrap();
    eventually(10, "namespace sd gone", || async { nss.get_opt("sd").await.unwrap().is_none().then_some(()) }).await;
    assert!(t.state().iter().all(|e| e["namespace"] != "sd"), "nothing left in sd");
}

#[tokio::test]
async fn a_template_change_replaces_ready_game_servers_and_keeps_allocated_ones() {
    let host = gpu_host(1000.0);
    host.pools.lock().unwrap()[1].node_count = 3;
    let t = TestCluster::start_with(host).await;
    install_agones(&t).await;
    agones_namespace_objects(&t.client, "sd").await;
    models_volume(&t.client).await;
    let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
    let gss = gvk_api(&t.client, "agones.dev", "v1", "GameServer", "gameservers");
    let allocations =
        gvk_api(&t.client, "allocation.agones.dev", "v1", "GameServerAllocation", "gameserverallocations");
    let apply = PatchParams::apply("sdctl");
    apply_fleet(&fleets, 2).await;
    eventually(10, "two Ready", || async {
        (game_servers(&gss).await.iter().filter(|g| state_of(g) == "Ready").count() == 2).then_some(())
    })
    .await;
    let request = json!({"apiVersion": "allocation.agones.dev/v1", "kind": "GameServerAllocation",
        "spec": {"selectors": [{"matchLabels": {"agones.dev/fleet": "sd-webui"}}], "metadata": {"labels": {"sdctl.dev/user": "alice-1"}}}});
    let alloc = allocations.create(&PostParams::default(), &serde_json::from_value(request).unwrap()).await.unwrap();
    let alices = alloc.data["status"]["gameServerName"].as_str().unwrap().to_string();

    // A new WebUI image: a new GameServerSet; Alice keeps her GameServer of the old one.
    let mut v2 = fleet(2);
    v2["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("us-central1-docker.pkg.dev/p/sd-images/sd-webui:2");
    fleets
        .patch("sd-webui", &apply, &Patch::Apply(&serde_json::from_value::<DynamicObject>(v2).unwrap()))
        .await
        .unwrap();
    let image = |g: &DynamicObject| {
        g.data["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap_or("").to_string()
    };
    let all = eventually(10, "one new Ready GameServer beside Alice's", || async {
        let all = game_servers(&gss).await;
        let new_ready = all.iter().filter(|g| image(g).ends_with(":2") && state_of(g) == "Ready").count();
        (all.len() == 2 && new_ready == 1).then_some(all)
    })
    .await;
    let hers = all.iter().find(|g| g.name_any() == alices).expect("Alice's GameServer survives the rollout");
    assert_eq!(state_of(hers), "Allocated");
    assert!(image(hers).ends_with(":1"));
    let sets = gvk_api(&t.client, "agones.dev", "v1", "GameServerSet", "gameserversets")
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(sets.len(), 2, "old and new GameServerSet");
    let live = fleets.get("sd-webui").await.unwrap();
    assert_eq!(
        (live.data["status"]["replicas"].as_i64(), live.data["status"]["allocatedReplicas"].as_i64()),
        (Some(2), Some(1))
    );
}
