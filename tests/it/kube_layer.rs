//! The Kubernetes layer against the emulator's per-cluster API: Agones installed from the real
//! 1.60 manifest with per-cluster certificates, volumes, idempotent re-runs, `render --offline`
//! output valid against the real CRD schemas and Kubernetes' rules.

use base64::Engine;
use kube::api::{Api, DynamicObject, Patch, PatchParams, ValidationDirective};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

use crate::emulator::k8s_agones::gvk_api;
use crate::emulator::k8s_host::client_from;
use crate::support::example_with;
use crate::support::world::{World, upstream_dir};

pub fn agones_manifest() -> String {
    upstream_dir().join("agones-1.60.0/install.yaml").to_str().unwrap().to_string()
}

/// The well-known CA Agones publishes in install.yaml (base64 of its PEM).
fn published_ca_bundle() -> String {
    let text = std::fs::read_to_string(agones_manifest()).unwrap();
    let at = text.find("caBundle: ").expect("install.yaml has a caBundle") + "caBundle: ".len();
    text[at..].lines().next().unwrap().trim().to_string()
}

pub async fn cluster_client(world: &World, cluster: &str) -> kube::Client {
    client_from(&world.kubeconfig(cluster).await).await
}

/// Every apply (server-side PATCH) the emulator saw: `(path, body)`.
pub fn applies(world: &World, since: usize) -> Vec<(String, Value)> {
    world
        .requests()
        .into_iter()
        .skip(since)
        .filter(|r| r["service"] == "k8s" && r["method"] == "PATCH")
        .map(|r| (r["path"].as_str().unwrap_or("").to_string(), r["body"].clone()))
        .collect()
}

pub fn k8s_state(world: &World, kind: &str, namespace: &str, name: &str) -> Option<Value> {
    world.emu.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == "k8s" && r["kind"] == kind && r["namespace"] == namespace && r["name"] == name)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agones_and_volumes_install_once_with_per_cluster_certificates() {
    let world = World::start().await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "agones", "volumes", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(up.code, 0, "{up:?}");

    let client = cluster_client(&world, "sd-demo-gke").await;
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let get = |group: &str, kind: &str, ns: Option<&str>, name: &str| {
        let (ar, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(group, "v1", kind))
            .unwrap_or_else(|| panic!("{kind} not served"));
        let api: Api<DynamicObject> = match (caps.scope, ns) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        };
        let name = name.to_string();
        async move { serde_json::to_value(api.get(&name).await.unwrap()).unwrap() }
    };

    // Allocator and ping reachable only inside the cluster (the reference made them public LBs).
    for svc in ["agones-allocator", "agones-ping-http-service", "agones-ping-udp-service"] {
        let s = get("", "Service", Some("agones-system"), svc).await;
        assert_eq!(s["spec"]["type"], "ClusterIP", "{svc}");
    }
    // Per-cluster certificates: the webhooks' and API service's CA is ours, not the published one.
    let published = published_ca_bundle();
    let api_service = get("apiregistration.k8s.io", "APIService", None, "v1.allocation.agones.dev").await;
    let ca = api_service["spec"]["caBundle"].as_str().unwrap().to_string();
    assert_ne!(ca, published, "the well-known Agones CA must not be used");
    let webhook =
        get("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", None, "agones-validation-webhook").await;
    assert_eq!(webhook["webhooks"][0]["clientConfig"]["caBundle"], ca.as_str());
    let pki = get("", "Secret", Some("agones-system"), "sdctl-agones-pki").await;
    let stored_ca = base64::engine::general_purpose::STANDARD.decode(pki["data"]["ca.crt"].as_str().unwrap()).unwrap();
    assert_eq!(base64::engine::general_purpose::STANDARD.encode(stored_ca), ca);
    // Controllers on the system pool; GameServer ports from the config; sdctl's labels.
    let controller = get("apps", "Deployment", Some("agones-system"), "agones-controller").await;
    assert_eq!(controller["spec"]["template"]["spec"]["nodeSelector"]["cloud.google.com/gke-nodepool"], "system");
    assert_eq!(controller["metadata"]["labels"]["sdctl.dev/env"], "sd-demo");
    assert_eq!(controller["metadata"]["labels"]["app.kubernetes.io/managed-by"], "sdctl");
    // GameServers of namespace sd get Agones' per-namespace objects.
    let sdk = get("rbac.authorization.k8s.io", "RoleBinding", Some("sd"), "agones-sdk-access").await;
    assert_eq!(sdk["subjects"][0]["name"], "system:serviceaccount:sd:agones-sdk");
    // The shared volume is bound to the Filestore share.
    let pv = get("", "PersistentVolume", None, "sd-demo-shared").await;
    assert_eq!(pv["spec"]["nfs"]["path"], "/vol1");
    assert!(k8s_state(&world, "PersistentVolumeClaim", "sd", "sdctl-shared").is_some());

    // A second `up` applies nothing whose body changed, sends no mutating Google request, and
    // keeps the certificates.
    let first = applies(&world, 0);
    let before = world.requests().len();
    let again = world.sdctl(&["up", "agones", "volumes", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(again.code, 0, "{again:?}");
    for (path, body) in applies(&world, before) {
        let earlier = first.iter().rev().find(|(p, _)| *p == path).map(|(_, b)| b);
        assert_eq!(earlier, Some(&body), "second up changed the body applied to {path}");
    }
    assert!(world.mutating_since(before).is_empty(), "{:#?}", world.mutating_since(before));
    let again_ca = get("apiregistration.k8s.io", "APIService", None, "v1.allocation.agones.dev").await;
    assert_eq!(again_ca["spec"]["caBundle"].as_str().unwrap(), ca);

    let down = world.sdctl(&["down", "agones", "-y", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(k8s_state(&world, "Deployment", "agones-system", "agones-controller").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_objects_are_valid_against_crds_and_kubernetes_rules() {
    let world = World::start().await;
    for example in ["sd-agones-t4.yaml", "sd-agones-l4-gcs.yaml", "sd-agones-ladder.yaml"] {
        let config = example_with(example, &[]);
        let out = tempfile::tempdir().unwrap();
        let render = crate::support::run(&[
            "render",
            "--offline",
            "--out",
            out.path().to_str().unwrap(),
            "-c",
            config.arg(),
            "--agones-manifest",
            &agones_manifest(),
        ]);
        assert_eq!(render.code, 0, "{render:?}");
        let mut files: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        for step in ["agones", "volumes", "fleet", "router", "reclaim", "ingress"] {
            assert!(names.iter().any(|n| n.ends_with(&format!("-{step}.yaml"))), "{step} not rendered: {names:?}");
        }
        // A cluster with Agones' CRDs (and GKE's own) validates every rendered object, strictly.
        let up = world.sdctl(&["up", "agones", "-c", config.arg(), "--agones-manifest", &agones_manifest()]).await;
        assert_eq!(up.code, 0, "{up:?}");
        let cluster = if example.contains("l4") { "sd-l4-gke" } else { "sd-demo-gke" };
        let client = cluster_client(&world, cluster).await;
        let discovery = Discovery::new(client.clone()).run().await.unwrap();
        let mut checked = 0;
        let mut hardened_pods = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
            for obj in docs.into_iter().filter(|d| d.is_object()) {
                let api_version = obj["apiVersion"].as_str().unwrap();
                let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
                let kind = obj["kind"].as_str().unwrap();
                let (ar, caps) = discovery
                    .resolve_gvk(&GroupVersionKind::gvk(group, version, kind))
                    .unwrap_or_else(|| panic!("{api_version} {kind} is not served"));
                let name = obj["metadata"]["name"].as_str().unwrap();
                let api: Api<DynamicObject> = match (caps.scope, obj["metadata"]["namespace"].as_str()) {
                    (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
                    _ => Api::all_with(client.clone(), &ar),
                };
                let mut params = PatchParams::apply("render-check").force();
                params.dry_run = true;
                // No unknown field anywhere, Agones' patched objects included (server-side apply
                // refuses them anyway, null-valued ones too).
                params.field_validation = Some(ValidationDirective::Strict);
                // Agones' CRDs leave the GameServer pod template unchecked: check it as a Pod.
                if kind == "Fleet" {
                    let template = &obj["spec"]["template"]["spec"]["template"];
                    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": template["metadata"], "spec": template["spec"]});
                    let unknown = sdctl_emulator::k8s::typed::undeclared("Pod", &pod);
                    assert!(unknown.is_empty(), "{example}: the Fleet's pod template has unknown fields {unknown:?}");
                    assert!(sdctl_emulator::k8s::typed::decode("Pod", &pod).error.is_none(), "{example}: pod template");
                    webui_sees_only_the_shared_models(example, &template["spec"]);
                }
                api.patch(name, &params, &Patch::Apply(&obj))
                    .await
                    .unwrap_or_else(|e| panic!("{example}: {kind} {name} is not valid: {e}"));
                checked += 1;
                if let Some(pod) = pod_spec_of(&obj) {
                    hardened(&format!("{example}: {kind} {name}"), pod);
                    hardened_pods += 1;
                }
            }
        }
        assert!(checked > 50, "only {checked} objects checked");
        assert_eq!(hardened_pods, 3, "{example}: the router, reclaim and WebUI pods");
    }
}

/// Another user's outputs are out of reach: of the share, the WebUI container mounts only the
/// models and embeddings, read-only; only the sidecar writes (to the share's outputs/), and it
/// holds no Kubernetes token.
fn webui_sees_only_the_shared_models(example: &str, pod: &Value) {
    let container = |name: &str| {
        pod["containers"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name}"))
    };
    let shared_mounts = |c: &Value| -> Vec<(String, bool)> {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["name"] == "shared")
            .map(|m| (m["subPath"].as_str().unwrap_or("<the whole share>").to_string(), m["readOnly"] == true))
            .collect()
    };
    assert_eq!(
        shared_mounts(container("webui")),
        [("models".to_string(), true), ("embeddings".to_string(), true)],
        "{example}: the WebUI container's view of the share"
    );
    assert_eq!(shared_mounts(container("sidecar")), [("outputs".to_string(), false)], "{example}: the sidecar's");
    let token = "/var/run/secrets/kubernetes.io/serviceaccount";
    let sidecar_mounts = container("sidecar")["volumeMounts"].as_array().unwrap().clone();
    assert!(sidecar_mounts.iter().any(|m| m["mountPath"] == token), "{example}: the sidecar gets no token");
    assert!(pod.get("serviceAccountName").is_none(), "{example}: Agones picks the SDK account (and hides its token)");
}

/// The pod spec of sdctl's own workloads (Agones' objects are Agones' business).
fn pod_spec_of(obj: &Value) -> Option<&Value> {
    let ours = obj["metadata"]["namespace"] == "sd" || obj["metadata"]["namespace"] == "sd-l4";
    match obj["kind"].as_str()? {
        "Deployment" if ours => Some(&obj["spec"]["template"]["spec"]),
        "CronJob" => Some(&obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "Fleet" => Some(&obj["spec"]["template"]["spec"]["template"]["spec"]),
        _ => None,
    }
}

/// Every container sdctl writes runs as non-root (the share's preparation excepted: it may
/// need to chown a root-owned share, with CHOWN only), cannot gain privileges, keeps no
/// capability, has the runtime's default seccomp profile and a read-only root file system
/// unless the program writes there (the WebUI).
fn hardened(what: &str, pod: &Value) {
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}: pod runAsNonRoot");
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{what}: seccomp");
    for c in pod["containers"].as_array().unwrap().iter().chain(pod["initContainers"].as_array().into_iter().flatten())
    {
        let name = c["name"].as_str().unwrap();
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}/{name}: allowPrivilegeEscalation");
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]), "{what}/{name}: capabilities");
        if name == "prepare" {
            let added = sc["capabilities"]["add"].as_array().cloned().unwrap_or_default();
            assert!(added.iter().all(|a| a == "CHOWN"), "{what}/{name}: only CHOWN: {added:?}");
        } else {
            assert_ne!(sc["runAsNonRoot"], false, "{what}/{name}: root");
            assert_ne!(sc["runAsUser"], 0, "{what}/{name}: root");
            assert!(sc["capabilities"].get("add").is_none(), "{what}/{name}: capabilities added");
        }
        if name != "webui" && name != "prepare" {
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}/{name}: read-only root");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_adds_one_context_and_keeps_the_others() {
    let world = World::start().await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    assert_eq!(world.sdctl(&["up", "cluster", "-c", config.arg()]).await.code, 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let theirs = "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: other\n  cluster:\n    server: https://203.0.113.9\n    custom-field: kept\nusers:\n- name: other\n  user:\n    token: theirs\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: other\n";
    std::fs::write(&path, theirs).unwrap();
    for _ in 0..2 {
        let r = world.sdctl(&["kubeconfig", "-c", config.arg(), "--kubeconfig", path.to_str().unwrap()]).await;
        assert_eq!(r.code, 0, "{r:?}");
    }
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ours = "gke_my-project_us-central1-a_sd-demo-gke";
    assert_eq!(doc["current-context"], ours);
    for list in ["clusters", "users", "contexts"] {
        let names: Vec<&str> = doc[list].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["other", ours], "{list}");
    }
    assert_eq!(doc["clusters"][0]["cluster"]["custom-field"], "kept", "other entries are not rewritten");
    assert_eq!(doc["users"][0]["user"]["token"], "theirs");
    // The written context works.
    let client = client_from(&std::fs::read_to_string(&path).unwrap()).await;
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
    assert!(
        namespaces
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some("kube-system"))
    );
    // --no-switch leaves the user's current context alone.
    std::fs::write(&path, theirs).unwrap();
    let r =
        world.sdctl(&["kubeconfig", "-c", config.arg(), "--kubeconfig", path.to_str().unwrap(), "--no-switch"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["current-context"], "other");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_daemonset_replaces_gke_managed_drivers_when_asked() {
    let world = World::start().await;
    let config = example_with("sd-agones-t4.yaml", &[("driver: latest", "driver: daemonset")]);
    let installer = upstream_dir().join("nvidia-driver-installer/daemonset-preloaded.yaml");
    let up =
        world.sdctl(&["up", "drivers", "-c", config.arg(), "--driver-manifest", installer.to_str().unwrap()]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let pool = world.request("container.projects.locations.clusters.nodePools.create")["body"]["nodePool"].clone();
    let driver = &pool["config"]["accelerators"][0]["gpuDriverInstallationConfig"]["gpuDriverVersion"];
    assert!(driver == "INSTALLATION_DISABLED" || driver == 1, "GKE must not install a driver too: {driver}");
    let ds = k8s_state(&world, "DaemonSet", "kube-system", "nvidia-driver-installer").expect("installer applied");
    assert_eq!(ds["labels"]["sdctl.dev/env"], "sd-demo");
    let again = world
        .sdctl(&["up", "drivers", "-c", config.arg(), "--driver-manifest", installer.to_str().unwrap(), "-o", "json"])
        .await;
    let drivers =
        again.json_lines().into_iter().find(|e| e["event"] == "step_finished" && e["step"] == "drivers").unwrap();
    assert_eq!(drivers["outcome"], "unchanged");
}

/// The WebUI container's environment variable names in the live Fleet.
async fn webui_env(client: &kube::Client) -> Vec<String> {
    let fleets = gvk_api(client, "agones.dev", "v1", "Fleet", "fleets");
    let fleet = serde_json::to_value(fleets.get("webui").await.unwrap()).unwrap();
    let containers = fleet["spec"]["template"]["spec"]["template"]["spec"]["containers"].as_array().unwrap().clone();
    let webui = containers.iter().find(|c| c["name"] == "webui").expect("a webui container");
    webui["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_installs_stay_off_unless_the_config_opts_in() {
    const OPT_IN: &str = "SDCTL_WEBUI_INSECURE_EXTENSION_ACCESS";
    let world = World::start().await;
    let manifest = agones_manifest();
    let open = example_with(
        "sd-agones-t4.yaml",
        &[("portRange: [7000, 8000]", "portRange: [7000, 8000]\n  insecureExtensionAccess: true")],
    );
    // Preflight says what opting in means before anything is created.
    let preflight = world.sdctl(&["preflight", "-c", open.arg()]).await;
    assert_eq!(preflight.code, 0, "a warning, not a failure: {preflight:?}");
    assert!(preflight.stdout.contains("warn webui-extensions"), "{}", preflight.stdout);
    assert!(preflight.stdout.contains("run any code in their WebUI pod"), "{}", preflight.stdout);

    let up = world.sdctl(&["up", "fleet", "--no-wait", "-c", open.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let client = cluster_client(&world, "sd-demo-gke").await;
    assert!(webui_env(&client).await.contains(&OPT_IN.to_string()), "opted in");

    // Back to the default: drift is seen, and the next `up` takes the opt-in away.
    let closed = example_with("sd-agones-t4.yaml", &[]);
    let args = ["-c", closed.arg(), "--agones-manifest", &manifest];
    let status = world.sdctl(&[&["status", "--exit-code"][..], &args].concat()).await;
    assert_eq!(status.code, 10, "{status:?}");
    assert!(status.stdout.contains("drift    fleet"), "{}", status.stdout);
    let preflight = world.sdctl(&["preflight", "-c", closed.arg()]).await;
    assert!(!preflight.stdout.contains("webui-extensions"), "nothing to say when off: {}", preflight.stdout);
    let up = world.sdctl(&[&["up", "fleet", "--no-wait"][..], &args].concat()).await;
    assert_eq!(up.code, 0, "{up:?}");
    let env = webui_env(&client).await;
    assert!(!env.contains(&OPT_IN.to_string()), "off by default: {env:?}");
    assert!(env.contains(&"SAFETENSORS_FAST_GPU".to_string()), "{env:?}");
}

/// With runtime.kind agones and two templates: a Fleet and a buffer autoscaler per template, and
/// the router and reclaim told both Fleets; without `templates`, the one Fleet `webui` as always.
/// The objects `sdctl render --offline` writes for `config` (with the upstream files `extra`
/// names).
fn rendered(config: &crate::support::TempConfig, extra: &[&str]) -> Vec<Value> {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["render", "--offline", "--out", out.path().to_str().unwrap(), "-c", config.arg()];
    args.extend_from_slice(extra);
    let run = crate::support::run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    let mut objects = Vec::new();
    for file in std::fs::read_dir(out.path()).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        objects.extend(docs.into_iter().filter(|d| d.is_object()));
    }
    objects
}

/// With a GPU ladder the WebUI pods select its ComputeClass and tolerate the class's taint (GKE
/// may add the toleration itself: unconfirmed), and the class lists the rungs' pools in order;
/// without one, neither the selector nor a class.
#[test]
fn webui_pods_select_the_ladders_compute_class() {
    let manifest = agones_manifest();
    let pod_spec = |objects: &[Value]| {
        objects.iter().find(|o| o["kind"] == "Fleet").unwrap()["spec"]["template"]["spec"]["template"]["spec"].clone()
    };
    let ladder = rendered(&example_with("sd-agones-ladder.yaml", &[]), &["--agones-manifest", &manifest]);
    let spec = pod_spec(&ladder);
    assert_eq!(spec["nodeSelector"]["cloud.google.com/compute-class"], "sdctl-gpu", "{spec:#}");
    assert_eq!(spec["nodeSelector"]["sdctl.dev/pool"], "gpu");
    let tolerates = spec["tolerations"].as_array().unwrap().iter().any(|t| {
        t["key"] == "cloud.google.com/compute-class" && t["value"] == "sdctl-gpu" && t["effect"] == "NoSchedule"
    });
    assert!(tolerates, "{spec:#}");
    let class = ladder.iter().find(|o| o["kind"] == "ComputeClass").expect("the class is rendered");
    assert_eq!(class["apiVersion"], "cloud.google.com/v1");
    let priorities = &class["spec"]["priorities"];
    assert_eq!(
        *priorities,
        serde_json::json!([{"nodepools": ["gpu"]}, {"nodepools": ["gpu-r1-fea189"]}, {"nodepools": ["gpu-r2-cbf6c4"]}])
    );
    assert_eq!(class["spec"]["whenUnsatisfiable"], "DoNotScaleUp");
    assert_eq!(class["spec"]["activeMigration"]["optimizeRulePriority"], false);

    let plain = rendered(&example_with("sd-agones-t4.yaml", &[]), &["--agones-manifest", &manifest]);
    let spec = pod_spec(&plain);
    assert!(spec["nodeSelector"].get("cloud.google.com/compute-class").is_none(), "{spec:#}");
    assert!(!plain.iter().any(|o| o["kind"] == "ComputeClass"));
}

#[test]
fn agones_renders_a_fleet_per_template() {
    let manifest = agones_manifest();
    let render = |config: &crate::support::TempConfig| rendered(config, &["--agones-manifest", &manifest]);
    let named = |objects: &[Value], kind: &str| -> Vec<String> {
        let mut names: Vec<String> = objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let args = |objects: &[Value], kind: &str| -> Vec<String> {
        let name = if kind == "CronJob" { "sdctl-reclaim" } else { "sdctl-router" };
        let o = objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name).unwrap();
        let pod = if kind == "CronJob" {
            &o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        } else {
            &o["spec"]["template"]["spec"]
        };
        serde_json::from_value(pod["containers"][0]["args"].clone()).unwrap()
    };
    let plain = render(&example_with("sd-agones-t4.yaml", &[]));
    assert_eq!(named(&plain, "Fleet"), ["webui"]);
    assert_eq!(named(&plain, "FleetAutoscaler"), ["webui-buffer"]);
    assert!(args(&plain, "Deployment").windows(2).any(|w| w == ["--fleet", "webui"]));
    assert!(!args(&plain, "CronJob").contains(&"--fleet".to_string()));
    // One template keeps the Fleet `webui` whatever its name (as before templates existed).
    let one = render(&example_with(
        "sd-agones-t4.yaml",
        &[("access:", "templates:\n  - { name: sd15, engine: a1111 }\naccess:")],
    ));
    assert_eq!(named(&one, "Fleet"), ["webui"]);

    let two = example_with(
        "sd-agones-t4.yaml",
        &[("access:", "templates:\n  - { name: sd15, engine: a1111 }\n  - { name: sdxl, engine: a1111 }\naccess:")],
    );
    let objects = render(&two);
    assert_eq!(named(&objects, "Fleet"), ["sd15", "sdxl"]);
    assert_eq!(named(&objects, "FleetAutoscaler"), ["sd15-buffer", "sdxl-buffer"]);
    let fleet_of = |name: &str| {
        objects.iter().find(|o| o["kind"] == "FleetAutoscaler" && o["metadata"]["name"] == name).unwrap()["spec"]
            ["fleetName"]
            .clone()
    };
    assert_eq!(fleet_of("sdxl-buffer"), "sdxl");
    assert!(args(&objects, "Deployment").windows(2).any(|w| w == ["--fleet", "sd15,sdxl"]));
    assert!(args(&objects, "CronJob").windows(2).any(|w| w == ["--fleet", "sd15,sdxl"]));
    // The dashboard's Stop releases a GameServer: the router may delete them (only then).
    let verbs = |objects: &[Value]| {
        let role = objects.iter().find(|o| o["kind"] == "Role" && o["metadata"]["name"] == "sdctl-router").unwrap();
        role["rules"][0]["verbs"].clone()
    };
    assert_eq!(verbs(&objects), serde_json::json!(["get", "list", "watch", "delete"]));
    assert_eq!(verbs(&plain), serde_json::json!(["get", "list", "watch"]));

    // Each template's Fleet runs its engine's image: ComfyUI's for a comfyui template.
    let engines = render(&example_with(
        "sd-agones-t4.yaml",
        &[("access:", "templates:\n  - { name: sd15, engine: a1111 }\n  - { name: comfy, engine: comfyui }\naccess:")],
    ));
    let pod_of = |fleet: &str| {
        let f = engines.iter().find(|o| o["kind"] == "Fleet" && o["metadata"]["name"] == fleet).unwrap();
        f["spec"]["template"]["spec"]["template"]["spec"].clone()
    };
    let image = |pod: &Value, container: &str| -> String {
        let all = pod["containers"].as_array().unwrap().iter().chain(pod["initContainers"].as_array().unwrap());
        all.filter(|c| c["name"] == container).map(|c| c["image"].as_str().unwrap().to_string()).next().unwrap()
    };
    let (a1111, comfy) = (pod_of("sd15"), pod_of("comfy"));
    assert!(image(&a1111, "webui").contains("/sd-webui:"), "{a1111:#}");
    assert!(image(&comfy, "webui").contains("/sd-comfyui:"), "{comfy:#}");
    assert_eq!(image(&comfy, "prepare"), image(&comfy, "webui"), "the share is prepared by the same image");
}

/// With okg, each template's set runs its engine's image and probes the engine's own answer.
#[test]
fn okg_sets_run_their_engines_image() {
    let config =
        example_with("sd-okg-t4.yaml", &[("name: sdxl\n    engine: a1111", "name: sdxl\n    engine: comfyui")]);
    let sets: Vec<Value> = rendered(&config, &["--okg-manifests", &crate::okg::okg_manifests()])
        .into_iter()
        .filter(|d| d["kind"] == "GameServerSet")
        .collect();
    let container = |set: &str| {
        let gss = sets.iter().find(|s| s["metadata"]["name"] == set).unwrap();
        gss["spec"]["gameServerTemplate"]["spec"]["containers"][0].clone()
    };
    let (sd15, sdxl) = (container("sd15"), container("sdxl"));
    assert!(sd15["image"].as_str().unwrap().contains("/sd-webui:"), "{sd15:#}");
    assert_eq!(sd15["readinessProbe"]["httpGet"]["path"], "/internal/ping");
    assert!(sdxl["image"].as_str().unwrap().contains("/sd-comfyui:"), "{sdxl:#}");
    assert_eq!(sdxl["readinessProbe"]["httpGet"]["path"], "/queue");
    assert_eq!(sdxl["startupProbe"]["httpGet"]["path"], "/queue");
    assert_eq!(sdxl["ports"][0]["containerPort"], 7860, "the same port for every engine");
}
