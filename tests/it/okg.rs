//! `runtime.kind: okg`: OpenKruise and OpenKruiseGame installed without Helm from their pinned
//! release files, the way their managers need (webhook configurations kruise's manager only
//! fills in, kruise-game's manager makes its own), idempotent, harmless to other pods when
//! OpenKruise is down, and gone again with `down`.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::emulator::k8s_host::eventually;
use crate::kube_layer::{applies, cluster_client};
use crate::support::example_with;
use crate::support::world::{World, upstream_dir};

pub fn okg_manifests() -> String {
    upstream_dir().to_str().unwrap().to_string()
}

fn webhook_api(client: &kube::Client, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", kind);
    let plural = format!("{}s", kind.to_lowercase());
    Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, &plural))
}

async fn webhooks(client: &kube::Client, kind: &str, name: &str) -> Option<Value> {
    let obj = webhook_api(client, kind).get_opt(name).await.unwrap()?;
    Some(serde_json::to_value(obj).unwrap())
}

async fn scale(client: &kube::Client, ns: &str, name: &str, replicas: i32) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    api.patch(name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": replicas}}))).await.unwrap();
    for _ in 0..500 {
        let d = api.get(name).await.unwrap();
        if d.status.and_then(|s| s.available_replicas).unwrap_or(0) == replicas {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{ns}/{name} never reached {replicas} available replicas");
}

fn pod(name: &str, labels: Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okg_installs_once_spares_other_pods_when_kruise_is_down_and_goes_with_down() {
    let world = World::start().await;
    let config = example_with("sd-okg-t4.yaml", &[]);
    let dir = okg_manifests();
    let up = world.sdctl(&["up", "okg", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let client = cluster_client(&world, "sd-okg-gke").await;

    // kruise's configurations: made by sdctl, filled in by its manager (CA, snapshot); the pod
    // webhooks ignore an unreachable manager and skip kruise's own namespace and kube-system.
    let mutating =
        webhooks(&client, "MutatingWebhookConfiguration", "kruise-mutating-webhook-configuration").await.unwrap();
    assert_ne!(mutating["metadata"]["annotations"]["template"], "", "the manager keeps its snapshot");
    let hooks = mutating["webhooks"].as_array().unwrap();
    assert!(hooks.iter().all(|h| h["clientConfig"]["caBundle"].as_str().is_some_and(|c| !c.is_empty())));
    let mpod = hooks.iter().find(|h| h["name"] == "mpod.kb.io").expect("the pod webhook");
    assert_eq!(mpod["failurePolicy"], "Ignore");
    assert_eq!(mpod["clientConfig"]["service"]["name"], "kruise-webhook-service");
    assert_eq!(mpod["namespaceSelector"]["matchExpressions"][0]["values"][0], "openkruise");
    let validating =
        webhooks(&client, "ValidatingWebhookConfiguration", "kruise-validating-webhook-configuration").await.unwrap();
    let names: Vec<&str> =
        validating["webhooks"].as_array().unwrap().iter().filter_map(|h| h["name"].as_str()).collect();
    assert!(names.contains(&"vpod.kb.io") && !names.contains(&"vservice.kb.io"), "{names:?}");
    // kruise-game's own configurations, made by its manager; the StatefulSet CRD converts
    // through kruise's webhook with kruise's CA.
    for kind in ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"] {
        let name = if kind.starts_with("Mutating") {
            "kruise-game-mutating-webhook"
        } else {
            "kruise-game-validating-webhook"
        };
        let cfg = webhooks(&client, kind, name).await.unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(cfg["webhooks"][0]["clientConfig"]["service"]["name"], "kruise-game-webhook-service");
    }
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let asts = serde_json::to_value(crds.get("statefulsets.apps.kruise.io").await.unwrap()).unwrap();
    assert_eq!(asts["spec"]["conversion"]["strategy"], "Webhook");
    assert!(asts["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(crds.get_opt("gameserversets.game.kruise.io").await.unwrap().is_some());
    // Managers on the system pool, images pinned.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "kruise-system");
    let manager = serde_json::to_value(deployments.get("kruise-controller-manager").await.unwrap()).unwrap();
    assert_eq!(manager["spec"]["template"]["spec"]["nodeSelector"]["cloud.google.com/gke-nodepool"], "system");
    assert_eq!(
        manager["spec"]["template"]["spec"]["containers"][0]["image"],
        "docker.io/openkruise/kruise-manager:v1.9.0"
    );

    // A second `up` applies nothing (the managers' changes are no drift).
    let before = world.requests().len();
    let again = world.sdctl(&["up", "okg", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(applies(&world, before).len(), 0, "{:#?}", applies(&world, before));
    assert!(world.mutating_since(before).is_empty(), "{:#?}", world.mutating_since(before));

    // OpenKruise down: an ordinary pod is still created. OpenKruiseGame down: its own pods are
    // refused (its webhook fails closed, as upstream), which shows the check can fail.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "sd");
    scale(&client, "kruise-system", "kruise-controller-manager", 0).await;
    pods.create(&PostParams::default(), &pod("ordinary", json!({})))
        .await
        .expect("an ordinary pod with OpenKruise down");
    scale(&client, "kruise-game-system", "kruise-game-controller-manager", 0).await;
    let refused = pods
        .create(&PostParams::default(), &pod("instance", json!({"game.kruise.io/owner-gss": "sd15"})))
        .await
        .expect_err("kruise-game's pods need its webhook");
    assert!(refused.to_string().contains("kruise-game-webhook-service"), "{refused}");

    // Both managers back (kruise-game's makes its configurations once, at start), then `down
    // okg` deletes what kruise-game's manager made too, and everything sdctl applied.
    scale(&client, "kruise-system", "kruise-controller-manager", 2).await;
    scale(&client, "kruise-game-system", "kruise-game-controller-manager", 1).await;
    assert!(webhooks(&client, "ValidatingWebhookConfiguration", "kruise-game-validating-webhook").await.is_some());
    let down = world.sdctl(&["down", "okg", "-y", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(webhooks(&client, "MutatingWebhookConfiguration", "kruise-game-mutating-webhook").await.is_none());
    assert!(webhooks(&client, "MutatingWebhookConfiguration", "kruise-mutating-webhook-configuration").await.is_none());
    assert!(crds.get_opt("statefulsets.apps.kruise.io").await.unwrap().is_none());
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    assert!(namespaces.get_opt("kruise-system").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_okg_makes_a_game_server_set_per_template_and_down_deletes_the_users_disks() {
    let world = World::start().await;
    let config = example_with("sd-okg-t4.yaml", &[]);
    let dir = okg_manifests();
    let up = world.sdctl(&["up", "-c", config.arg(), "--okg-manifests", &dir, "--skip-preflight", "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let events = up.json_lines();
    let finished = |step: &str| {
        events.iter().find(|e| e["event"] == "step_finished" && e["step"] == step).cloned().unwrap_or(Value::Null)
    };
    for step in ["okg", "fleet", "router", "reclaim", "ingress"] {
        assert_eq!(finished(step)["outcome"], "created", "{step}: {:#}", finished(step));
    }

    // A GameServerSet per template, no instance running, the users' disks of its size.
    let client = cluster_client(&world, "sd-okg-gke").await;
    let api = gss_api(&client);
    for (template, size) in [("sd15", "50Gi"), ("sdxl", "100Gi")] {
        let gss = serde_json::to_value(api.get(template).await.unwrap()).unwrap();
        assert_eq!(gss["spec"]["replicas"], 0);
        assert_eq!(gss["spec"]["scaleStrategy"]["scaleDownStrategyType"], "ReserveIds");
        let claim = &gss["spec"]["gameServerTemplate"]["volumeClaimTemplates"][0];
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], size);
        assert_eq!(claim["spec"]["storageClassName"], "sdctl-user-disk");
        let pod = &gss["spec"]["gameServerTemplate"]["spec"];
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(gss["spec"]["gameServerTemplate"]["metadata"]["labels"]["sdctl.dev/template"], template);
        assert_eq!(gss["spec"]["updateStrategy"]["type"], "OnDelete");
        // Made with replicas alone under `sdctl-create`; sdctl's apply owns the rest.
        let creator = gss["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["manager"] == "sdctl-create")
            .expect("created by sdctl-create")
            .clone();
        let spec_fields: Vec<&String> = creator["fieldsV1"]["f:spec"].as_object().unwrap().keys().collect();
        assert_eq!(spec_fields, vec!["f:replicas"], "{creator:#}");
    }

    // A user's instance (as the router will start it): replicas belong to whoever scales, so
    // the next `up` leaves them alone.
    scale_gss(&api, 1, Value::Null).await;
    let before = world.requests().len();
    let again = world.sdctl(&["up", "fleet", "-c", config.arg(), "--okg-manifests", &dir, "--skip-preflight"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        applies(&world, before).iter().all(|(path, _)| !path.contains("gameserversets")),
        "{:#?}",
        applies(&world, before)
    );
    assert_eq!(serde_json::to_value(api.get("sd15").await.unwrap()).unwrap()["spec"]["replicas"], 1);
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(client.clone(), "sd");
    let mut bound = false;
    for _ in 0..500 {
        let claim = claims.get_opt("data-sd15-0").await.unwrap();
        if claim.and_then(|c| c.status).and_then(|s| s.phase).as_deref() == Some("Bound") {
            bound = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if !bound {
        let state: Vec<Value> = world.emu.state()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["service"] == "k8s" && (r["namespace"] == "sd" || r["kind"] == "Node"))
            .cloned()
            .collect();
        let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "sd");
        let events: Vec<String> = events
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|e| format!("{:?} {:?} {:?}", e.involved_object.name, e.reason, e.message))
            .collect();
        let gvk = GroupVersionKind::gvk("apps.kruise.io", "v1beta1", "StatefulSet");
        let sets: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "sd", &ApiResource::from_gvk_with_plural(&gvk, "statefulsets"));
        let set = serde_json::to_value(sets.get("sd15").await.unwrap()).unwrap();
        let gss = serde_json::to_value(api.get("sd15").await.unwrap()).unwrap();
        panic!(
            "the user's disk data-sd15-0 was never provisioned:\n{state:#?}\n{events:#?}\nSET {}\nGSS {}",
            set["spec"]["template"]["spec"]["volumes"], gss["spec"]["gameServerTemplate"]["spec"]["volumes"]
        );
    }

    // `templates ls` shows each template's instances and users' disks.
    let ls = world.sdctl(&["templates", "ls", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(ls.code, 0, "{ls:?}");
    let listed: Value = serde_json::from_str(&ls.stdout).unwrap();
    let row = |name: &str| listed["templates"].as_array().unwrap().iter().find(|t| t["name"] == name).cloned().unwrap();
    assert_eq!(row("sd15")["running"], 1, "{listed:#}");
    assert_eq!(row("sd15")["disks"], 1, "{listed:#}");
    assert_eq!(row("sdxl")["running"], 0, "{listed:#}");
    assert_eq!(row("sdxl")["diskGb"], 100, "{listed:#}");
    // A set made again (here: deleted by hand) reserves the ids whose disks exist, so the next
    // user never gets the first user's disk.
    let foreground = kube::api::DeleteParams::foreground();
    api.delete("sd15", &foreground).await.unwrap();
    for _ in 0..1000 {
        if api.get_opt("sd15").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let again = world.sdctl(&["up", "fleet", "-c", config.arg(), "--okg-manifests", &dir, "--skip-preflight"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    let gss = serde_json::to_value(api.get("sd15").await.unwrap()).unwrap();
    assert_eq!(gss["spec"]["reserveGameServerIds"], json!([0]), "{gss:#}");
    assert_eq!(gss["spec"]["replicas"], 0);
    // The user's disk is a Compute Engine disk with the environment's label.
    let disk = world.emu.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Disk" && r["name"].as_str().unwrap_or("").contains("/disks/pvc-"))
        .cloned()
        .expect("the user's disk is a Compute Engine disk");
    assert_eq!(disk["labels"]["sdctl-env"], "sd-okg", "{disk:#}");
    // A template removed from the config while an instance of it runs: `up` stops only with -y,
    // and the set goes; its users' disks stay.
    api.patch("sdxl", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 1}}))).await.unwrap();
    let without_sdxl = example_with("sd-okg-t4.yaml", &[("  - name: sdxl\n    engine: a1111\n    diskGb: 100\n", "")]);
    let refused = world.sdctl(&["up", "-c", without_sdxl.arg(), "--okg-manifests", &dir, "--skip-preflight"]).await;
    assert_eq!(refused.code, 4, "{refused:?}");
    // Nothing the change reaches moved: the router and reclaim still serve both templates.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "sd");
    let router = deployments.get("sdctl-router").await.unwrap().spec.unwrap().template.spec.unwrap();
    let args = router.containers[0].args.clone().unwrap();
    assert!(args.windows(2).any(|w| w == ["--templates", "sd15,sdxl"]), "{args:?}");
    assert!(
        refused.stderr.contains("template sdxl was removed from the config but 1 of its instances are running"),
        "{refused:?}"
    );
    assert!(refused.stderr.contains("`sdctl up -y` stops them"), "{refused:?}");
    assert!(api.get_opt("sdxl").await.unwrap().is_some());
    // At a terminal `up` asks once, before anything; no changes nothing.
    let mut cmd =
        world.std_command(&["up", "fleet", "-c", without_sdxl.arg(), "--okg-manifests", &dir, "--skip-preflight"]);
    cmd.stdin(std::process::Stdio::inherit()).env("TERM", "xterm");
    let (seen, status) = tokio::task::spawn_blocking(move || {
        use expectrl::Expect;
        let mut s = expectrl::Session::spawn(cmd).unwrap();
        s.set_expect_timeout(Some(Duration::from_secs(60)));
        let asked = s.expect("Go on?").unwrap_or_else(|e| panic!("no question: {e}"));
        let seen = String::from_utf8_lossy(asked.before()).to_string();
        s.send("n").unwrap();
        let said = s.expect("nothing changed").is_ok();
        let _ = s.expect(expectrl::Eof);
        (seen + if said { "nothing changed" } else { "" }, s.get_process().wait().unwrap())
    })
    .await
    .unwrap();
    assert!(matches!(status, expectrl::process::unix::WaitStatus::Exited(_, 2)), "{status:?}\n{seen}");
    assert!(seen.contains("template sdxl was removed from the config but 1 of its instances are running"), "{seen}");
    assert!(seen.contains("nothing changed"), "{seen}");
    assert!(api.get_opt("sdxl").await.unwrap().is_some(), "answered no: the set stays");
    let yes = world
        .sdctl(&["up", "fleet", "-y", "-c", without_sdxl.arg(), "--okg-manifests", &dir, "--skip-preflight"])
        .await;
    assert_eq!(yes.code, 0, "{yes:?}");
    assert!(yes.stderr.contains("deleting GameServerSet sd/sdxl"), "{yes:?}");
    assert!(api.get_opt("sdxl").await.unwrap().is_none(), "the removed template's set is gone");
    assert!(api.get_opt("sd15").await.unwrap().is_some());
    assert!(claims.get_opt("data-sd15-0").await.unwrap().is_some(), "users' disks stay");
    // `down --keep-data` keeps the users' disks with the shared data, and says so; nothing
    // else is left.
    let down = world.sdctl(&["down", "-y", "--keep-data", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(down.code, 0, "{down:?}");
    // sd15's user's and the removed template sdxl's.
    assert!(down.stderr.contains("keeping 2 user disk(s) (--keep-data)"), "{down:?}");
    assert!(
        down.stderr.contains(&format!("user disk {}", disk["name"].as_str().unwrap().rsplit('/').next().unwrap())),
        "{down:?}"
    );
    let left: Vec<String> = world.resources().into_iter().map(|(kind, name, _)| format!("{kind} {name}")).collect();
    assert!(left.iter().any(|l| l.starts_with("Disk ") && l.contains("/disks/pvc-")), "{left:#?}");
    assert!(
        left.iter().all(|l| ["Disk ", "Instance ", "Bucket "].iter().any(|k| l.starts_with(k))
            || l.contains("filestore")
            || l.contains("redis")),
        "only what --keep-data keeps: {left:#?}"
    );
    // GKE copies the cluster's labels onto its nodes' boot disks: one left over (here made by
    // hand) carries the environment's label but is no user's disk.
    let boot = "gke-sd-okg-gke-gpu-5f3a9c2e-x7q1";
    world
        .create(
            "/compute/compute/v1/projects/my-project/zones/us-central1-a/disks",
            &json!({"name": boot, "sizeGb": "100", "labels": {"sdctl-env": "sd-okg"}}),
        )
        .await;
    // Without a user written on them, those disks are not given back; `users ls` lists them,
    // and `down` deletes them with the cluster gone.
    let ls = world.sdctl(&["users", "ls", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(ls.code, 0, "{ls:?}");
    let users: Value = serde_json::from_str(&ls.stdout).unwrap();
    let rows = users["users"].as_array().unwrap();
    assert!(rows.len() == 2 && rows.iter().all(|u| u["email"].is_null() && u["state"] == "kept"), "{users:#}");
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(down.stderr.matches("deleting user disk pvc-").count(), 2, "{down:?}");
    let left: Vec<String> = world.resources().into_iter().map(|(kind, name, _)| format!("{kind} {name}")).collect();
    assert_eq!(left, [format!("Disk projects/my-project/zones/us-central1-a/disks/{boot}")], "only the node's disk");
}

fn gss_api(client: &kube::Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("game.kruise.io", "v1alpha1", "GameServerSet");
    Api::namespaced_with(client.clone(), "sd", &ApiResource::from_gvk_with_plural(&gvk, "gameserversets"))
}

/// Waits until the pods of GameServerSet `sd15` are exactly `ids`, all Ready with a Ready
/// GameServer each; returns the claims' uids by id.
async fn running(client: &kube::Client, ids: &[u32]) -> std::collections::BTreeMap<u32, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "sd");
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(client.clone(), "sd");
    let gvk = GroupVersionKind::gvk("game.kruise.io", "v1alpha1", "GameServer");
    let game_servers: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "sd", &ApiResource::from_gvk_with_plural(&gvk, "gameservers"));
    let want: Vec<String> = ids.iter().map(|i| format!("sd15-{i}")).collect();
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let list = pods.list(&kube::api::ListParams::default().labels("game.kruise.io/owner-gss=sd15")).await.unwrap();
        let live: Vec<&Pod> = list.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
        seen = live.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect::<Vec<_>>();
        seen.sort();
        let ready = live.iter().all(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        let mut states = Vec::new();
        for name in &want {
            let gs = game_servers.get_opt(name).await.unwrap().map(|g| serde_json::to_value(g).unwrap());
            states.push(gs.and_then(|g| g["status"]["currentState"].as_str().map(String::from)));
        }
        if seen == want && ready && states.iter().all(|s| s.as_deref() == Some("Ready")) {
            let mut uids = std::collections::BTreeMap::new();
            for i in ids {
                let claim = claims.get(&format!("data-sd15-{i}")).await.unwrap();
                uids.insert(*i, claim.metadata.uid.unwrap_or_default());
            }
            return uids;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("GameServerSet sd15 runs {seen:?}, not {want:?}");
}

/// Sets replicas and reserved ids in one write, guarded by the resourceVersion read, once the
/// set has settled (OpenKruiseGame patches it unguarded while it scales): what the router will
/// do to stop or resume a user's instance.
async fn scale_gss(api: &Api<DynamicObject>, replicas: u32, reserve: Value) {
    for _ in 0..500 {
        let gss = api.get("sd15").await.unwrap();
        let v = serde_json::to_value(&gss).unwrap();
        let settled = v["status"]["observedGeneration"] == v["metadata"]["generation"];
        if settled {
            let patch = json!({
                "metadata": {"resourceVersion": gss.metadata.resource_version},
                "spec": {"replicas": replicas, "reserveGameServerIds": reserve},
            });
            match api.patch("sd15", &PatchParams::default(), &Patch::Merge(patch)).await {
                Ok(_) => return,
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => panic!("cannot scale sd15: {e}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("GameServerSet sd15 never settled");
}

/// A world whose cluster has OpenKruise and OpenKruiseGame (`up okg` of the okg example), that
/// config, and a client of the cluster.
async fn okg_installed() -> (World, crate::support::TempConfig, kube::Client) {
    let world = World::start().await;
    let config = example_with("sd-okg-t4.yaml", &[]);
    let up = world.sdctl(&["up", "okg", "-c", config.arg(), "--okg-manifests", &okg_manifests()]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let client = cluster_client(&world, "sd-okg-gke").await;
    (world, config, client)
}

/// A GameServerSet `sd15` in `sd` that reserves the ids of stopped instances, with no instance
/// yet: its pods' metadata and one container, and each instance's claim `data` (10 Gi) labelled so.
fn sd15_set(pod_metadata: Value, container: Value, claim_labels: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "game.kruise.io/v1alpha1", "kind": "GameServerSet",
        "metadata": {"name": "sd15", "namespace": "sd"},
        "spec": {
            "replicas": 0,
            "scaleStrategy": {"scaleDownStrategyType": "ReserveIds"},
            "gameServerTemplate": {
                "metadata": pod_metadata,
                "spec": {"containers": [container]},
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data", "labels": claim_labels},
                    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard-rwo", "resources": {"requests": {"storage": "10Gi"}}},
                }],
            },
        },
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_server_set_keeps_a_stopped_users_id_and_disk_for_them() {
    let (world, config, client) = okg_installed().await;
    let api = gss_api(&client);
    // As sdctl labels its users' claims (what `down` looks for).
    let claim_labels = json!({"sdctl.dev/env": "sd-okg"});
    let container = json!({"name": "webui", "image": "registry.k8s.io/pause:3.10"});
    let gss = sd15_set(json!({"labels": {"app": "webui"}}), container, claim_labels);
    api.create(&PostParams::default(), &gss).await.unwrap();

    // Two users: ids 0 and 1, a disk each.
    scale_gss(&api, 2, Value::Null).await;
    let disks = running(&client, &[0, 1]).await;
    // The first user stops: their id is reserved, their pod goes, their disk stays.
    scale_gss(&api, 1, json!([0])).await;
    running(&client, &[1]).await;
    // A new user gets a new id, never the stopped user's (and so never their disk).
    scale_gss(&api, 2, json!([0])).await;
    let with_new = running(&client, &[1, 2]).await;
    assert!(!with_new.values().any(|uid| uid == &disks[&0]), "a new user got the stopped user's disk");
    // The first user comes back: the same id, the same disk.
    scale_gss(&api, 3, Value::Null).await;
    let resumed = running(&client, &[0, 1, 2]).await;
    assert_eq!(resumed[&0], disks[&0], "the user's disk survives a stop");
    // A plain scale-down under ReserveIds removes the highest id and reserves it.
    scale_gss(&api, 2, Value::Null).await;
    running(&client, &[0, 1]).await;
    let gss = serde_json::to_value(api.get("sd15").await.unwrap()).unwrap();
    assert_eq!(gss["spec"]["reserveGameServerIds"], json!([2]), "{gss:#}");
    assert_eq!(gss["metadata"]["annotations"]["game.kruise.io/reserve-ids"], "2");
    assert_eq!(gss["status"]["replicas"], 2);

    // Each id that ran has a Compute Engine disk; `down` deletes the claims of the templates'
    // sets, and so the disks, before the cluster.
    assert_eq!(world.named("Disk", "/disks/pvc-").len(), 3, "one disk per id that ran");
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "--okg-manifests", &okg_manifests()]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(down.stderr.contains("deleting user disk data-sd15-0"), "{down:?}");
    assert!(world.resources().is_empty(), "{:#?}", world.resources());
}

/// With GCS storage, users' instances run as their own service account, which may only read the
/// bucket (Workload Identity): their files are on their own disks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_gcs_the_instances_read_the_bucket_as_their_own_account() {
    let world = World::start().await;
    let config = example_with("sd-agones-l4-gcs.yaml", &[("runtime:\n", "runtime:\n  kind: okg\n")]);
    let dir = okg_manifests();
    let up = world.sdctl(&["up", "-c", config.arg(), "--okg-manifests", &dir, "--skip-preflight", "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let summary = up.json_lines().last().unwrap().clone();
    let bucket = summary["outputs"]["bucket"].as_str().unwrap().trim_start_matches("gs://").to_string();
    let policy = world
        .requests_of("storage.buckets.setIamPolicy")
        .into_iter()
        .rfind(|r| r["path"].as_str().is_some_and(|p| p.contains(&format!("/b/{bucket}/"))))
        .expect("the models bucket's policy was written");
    let bindings = policy["body"]["bindings"].as_array().unwrap().clone();
    let members = |role: &str| -> Vec<String> {
        bindings
            .iter()
            .filter(|b| b["role"] == role)
            .flat_map(|b| b["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()))
            .collect()
    };
    let readers = members("roles/storage.objectViewer");
    assert_eq!(readers.len(), 1, "{bindings:#?}");
    assert!(readers[0].ends_with("/subject/ns/sd/sa/sdctl-webui"), "{readers:?}");
    assert!(members("roles/storage.objectUser").is_empty(), "instances write nothing to the bucket: {bindings:#?}");
    // The account exists, without a token, and the instances' pods run as it.
    let client = cluster_client(&world, "sd-l4-gke").await;
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(client.clone(), "sd");
    let account = accounts.get("sdctl-webui").await.unwrap();
    assert_eq!(account.automount_service_account_token, Some(false));
    let gss = serde_json::to_value(gss_api(&client).get("webui").await.unwrap()).unwrap();
    let pod = &gss["spec"]["gameServerTemplate"]["spec"];
    assert_eq!(
        (pod["serviceAccountName"].as_str(), pod["automountServiceAccountToken"].as_bool()),
        (Some("sdctl-webui"), Some(false))
    );
    assert_eq!(gss["spec"]["gameServerTemplate"]["metadata"]["annotations"]["gke-gcsfuse/volumes"], "true");
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(down.code, 0, "{down:?}");
}

/// An instance whose pod can never be made (here: its claim is being deleted) would keep the
/// set from settling, and so every other user of the template from starting: reclaim stops it
/// once two passes `--orphan-grace` apart have seen it so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reclaim_stops_an_instance_whose_pod_is_never_made_and_a_stray_ones_disk() {
    use crate::runtime::support::{REDIS_PASSWORD, Redis};
    let (world, _config, client) = okg_installed().await;
    let api = gss_api(&client);
    let container = json!({"name": "webui", "image": "registry.k8s.io/pause:3.10",
                           "ports": [{"name": "webui", "containerPort": 7860}]});
    let gss = sd15_set(json!({}), container, json!({}));
    api.create(&PostParams::default(), &gss).await.unwrap();
    // Id 0's claim is held by a finalizer while being deleted: its pod cannot be made.
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(client.clone(), "sd");
    let claim = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-sd15-0", "namespace": "sd", "finalizers": ["example.com/hold"],
                     "labels": {"sdctl.dev/template": "sd15"}, "annotations": {"sdctl.dev/user-email": "alice@example.com"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard-rwo", "resources": {"requests": {"storage": "10Gi"}}},
    }))
    .unwrap();
    claims.create(&PostParams::default(), &claim).await.unwrap();
    claims.delete("data-sd15-0", &Default::default()).await.unwrap();
    scale_gss(&api, 1, Value::Null).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "sd");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(pods.get_opt("sd15-0").await.unwrap().is_none(), "the pod cannot be made");

    let redis = Redis::start();
    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(kubeconfig.path(), world.kubeconfig("sd-okg-gke").await).unwrap();
    let reclaim = || {
        let mut cmd = world.command(&[
            "runtime",
            "reclaim",
            "--namespace",
            "sd",
            "--idle-minutes",
            "15",
            "--templates",
            "sd15",
            "--orphan-grace",
            "1s",
        ]);
        cmd.env("SDCTL_REDIS_URL", redis.url())
            .env("SDCTL_REDIS_PASSWORD", REDIS_PASSWORD)
            .env("KUBECONFIG", kubeconfig.path());
        cmd
    };
    // Once OpenKruiseGame has carried out the scale (on a busy machine it takes a moment), the
    // first pass only notes the instance; a pass after the grace stops it (its id reserved).
    eventually(30, "the scale carried out", || async {
        let v = serde_json::to_value(api.get("sd15").await.unwrap()).unwrap();
        (v["status"]["observedGeneration"] == v["metadata"]["generation"]).then_some(())
    })
    .await;
    let first = reclaim().output().await.unwrap();
    let log = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success() && !log.contains("never made stopped"), "{log}");
    let set = serde_json::to_value(api.get("sd15").await.unwrap()).unwrap();
    assert_eq!(set["spec"]["replicas"], 1, "not on the first sight: {set:#}");
    let mut stopped = false;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let pass = reclaim().output().await.unwrap();
        let log = String::from_utf8_lossy(&pass.stderr);
        assert!(pass.status.success(), "{log}");
        if log.contains("instance whose pod was never made stopped") {
            stopped = true;
            break;
        }
    }
    assert!(stopped, "no later pass stopped the instance whose pod is never made");
    eventually(30, "id 0 stopped and reserved", || async {
        let set = serde_json::to_value(api.get("sd15").await.unwrap()).unwrap();
        (set["spec"]["replicas"] == 0 && set["spec"]["reserveGameServerIds"] == json!([0])).then_some(())
    })
    .await;
    // A stray instance (started by the set itself, on a fresh disk nobody's) is stopped as
    // unused, and its disk goes with it; a user's disk never does.
    scale_gss(&api, 1, json!([0])).await;
    eventually(30, "the stray instance is Ready", || async {
        let pod = pods.get_opt("sd15-1").await.unwrap()?;
        let ready = pod.status?.conditions?.iter().any(|c| c.type_ == "Ready" && c.status == "True");
        ready.then_some(())
    })
    .await;
    assert!(claims.get_opt("data-sd15-1").await.unwrap().is_some(), "the set made its disk");
    let mut deleted = false;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let pass = reclaim().output().await.unwrap();
        let log = String::from_utf8_lossy(&pass.stderr);
        assert!(pass.status.success(), "{log}");
        if log.contains("its disk, nobody's, deleted") {
            deleted = true;
            break;
        }
    }
    assert!(deleted, "no pass stopped the stray instance and deleted its disk");
    eventually(30, "the stray disk is gone", || async {
        let claim = claims.get_opt("data-sd15-1").await.unwrap();
        claim.is_none_or(|c| c.metadata.deletion_timestamp.is_some()).then_some(())
    })
    .await;
    assert!(claims.get_opt("data-sd15-0").await.unwrap().is_some(), "alice's disk (held, being deleted) is left alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_ls_lists_the_configured_templates_without_a_cluster() {
    let world = World::start().await;
    let config = example_with("sd-okg-t4.yaml", &[]);
    let ls = world.sdctl(&["templates", "ls", "-c", config.arg()]).await;
    assert_eq!(ls.code, 0, "{ls:?}");
    let lines: Vec<&str> = ls.stdout.lines().collect();
    assert!(lines[0].starts_with("TEMPLATE") && lines[0].contains("DISKS"), "{ls:?}");
    assert!(lines[1].starts_with("sd15") && lines[1].contains("a1111") && lines[1].contains("50"), "{ls:?}");
    assert!(lines[2].starts_with("sdxl") && lines[2].contains("100"), "{ls:?}");
    assert!(ls.stderr.contains("the cluster is not running"), "{ls:?}");
    // Without `templates:`, the one WebUI of today.
    let agones = example_with("sd-agones-t4.yaml", &[]);
    let ls = world.sdctl(&["templates", "ls", "-c", agones.arg(), "-o", "json"]).await;
    let listed: Value = serde_json::from_str(&ls.stdout).unwrap();
    assert_eq!(
        listed["templates"],
        json!([{"name": "webui", "engine": "a1111", "diskGb": 50, "runtime": "agones", "running": null, "ready": null, "disks": null}])
    );
}

async fn post_as(router: &str, user: &str, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = http.post(format!("{router}{path}")).header(EMAIL, format!("accounts.google.com:{user}"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn get_as(router: &str, user: &str, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = http.get(format!("{router}{path}")).header(EMAIL, format!("accounts.google.com:{user}"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

const EMAIL: &str = "x-goog-authenticated-user-email";

/// `sdctl runtime router` for both templates as its Deployment runs it, once it answers; its URL.
async fn start_router(listen: &str, env: &[(&str, &str)]) -> (crate::runtime::support::Process, String) {
    let router = crate::runtime::support::Process::spawn(
        &[
            "runtime",
            "router",
            "--listen",
            listen,
            "--namespace",
            "sd",
            "--templates",
            "sd15,sdxl",
            "--trust-iap-header",
        ],
        env,
    );
    let url = format!("http://{listen}");
    eventually(20, "the router answers", || async {
        reqwest::get(format!("{url}/healthz")).await.ok().filter(|r| r.status() == 200).map(|_| ())
    })
    .await;
    (router, url)
}

/// What the user's WebUI answers once their instance is Ready (the stand-in's `/echo`).
async fn reach(router: &str, user: &str, cookie: &str) -> Value {
    eventually(60, &format!("{user}'s instance answers"), || async {
        let r = get_as(router, user, "/echo", Some(cookie)).await;
        if r.status() == 503 {
            let page = r.text().await.unwrap();
            assert!(page.contains("Starting your WebUI") || page.contains("is still changing"), "{page}");
            return None;
        }
        assert_eq!(r.status(), 200);
        Some(r.json::<Value>().await.unwrap())
    })
    .await
}

fn claim_user(claim: &k8s_openapi::api::core::v1::PersistentVolumeClaim) -> (String, String) {
    let labels = claim.metadata.labels.clone().unwrap_or_default();
    let email = claim.metadata.annotations.clone().unwrap_or_default().get("sdctl.dev/user-email").cloned();
    (labels.get("sdctl.dev/user").cloned().unwrap_or_default(), email.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_get_their_own_instances_and_disks_through_the_router_and_keep_them() {
    use crate::runtime::support::{REDIS_PASSWORD, Redis, WebUi, free_port};
    let webuis = [WebUi::start().await, WebUi::start().await, WebUi::start().await];
    let endpoints: Vec<String> = webuis.iter().map(|w| format!("\"{}\"", w.addr)).collect();
    let world = World::with_scenario(&format!("gameServerEndpoints: [{}]", endpoints.join(", "))).await;
    let config = example_with("sd-okg-t4.yaml", &[]);
    let dir = okg_manifests();
    let up = world.sdctl(&["up", "-c", config.arg(), "--okg-manifests", &dir, "--skip-preflight"]).await;
    assert_eq!(up.code, 0, "{up:?}");

    // The router and reclaim run with the templates, allowed to scale the sets and make claims.
    let client = cluster_client(&world, "sd-okg-gke").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "sd");
    let router_spec = deployments.get("sdctl-router").await.unwrap().spec.unwrap().template.spec.unwrap();
    let args = router_spec.containers[0].args.clone().unwrap();
    assert!(args.windows(2).any(|w| w == ["--templates", "sd15,sdxl"]), "{args:?}");
    let roles: Api<k8s_openapi::api::rbac::v1::Role> = Api::namespaced(client.clone(), "sd");
    let rules = serde_json::to_value(roles.get("sdctl-router").await.unwrap().rules.unwrap()).unwrap();
    assert_eq!(
        rules,
        json!([{"apiGroups": ["game.kruise.io"], "resources": ["gameserversets"], "resourceNames": ["sd15", "sdxl"],
                "verbs": ["get", "update"]},
               {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
               {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "create", "patch", "delete"]}])
    );

    // The router, as the Deployment runs it, against the cluster and a real Redis.
    let redis = Redis::start();
    let kubeconfig_text = world.kubeconfig("sd-okg-gke").await;
    // Each runs as its own service account (the emulator authorizes that token by RBAC): what
    // its Role does not allow fails here as on GKE.
    let kdir = tempfile::tempdir().unwrap();
    let as_account = |account: &str| {
        let path = kdir.path().join(account);
        let token = kubeconfig_text.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap();
        std::fs::write(&path, kubeconfig_text.replace(token, &format!("serviceaccount:sd:{account}"))).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (router_kubeconfig, reclaim_kubeconfig) = (as_account("sdctl-router"), as_account("sdctl-reclaim"));
    // The router's account reads no Secret, and changes no set but the templates'.
    let as_router = crate::emulator::k8s_host::client_from(&std::fs::read_to_string(&router_kubeconfig).unwrap()).await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(as_router.clone(), "sd");
    match secrets.list(&Default::default()).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 403, "{e:?}"),
        other => panic!("the router listed Secrets: {other:?}"),
    }
    match gss_api(&as_router).get("not-a-template").await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 403, "{e:?}"),
        other => panic!("the router read a set that is no template: {other:?}"),
    }
    let listen = format!("127.0.0.1:{}", free_port());
    let runtime_env = |kubeconfig: &str| {
        vec![
            ("SDCTL_REDIS_URL", redis.url()),
            ("SDCTL_REDIS_PASSWORD", REDIS_PASSWORD.to_string()),
            ("KUBECONFIG", kubeconfig.to_string()),
            ("SDCTL_TIME_SCALE", "100".to_string()),
        ]
    };
    let router_env = runtime_env(&router_kubeconfig);
    let env: Vec<(&str, &str)> = router_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reclaim_env = runtime_env(&reclaim_kubeconfig);
    let reclaim_env: Vec<(&str, &str)> = reclaim_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (router, url) = start_router(&listen, &env).await;

    // Alice has no template chosen: her dashboard lists both, nothing created yet.
    let page = get_as(&url, "alice@example.com", "/", None).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("sd15") && page.contains("sdxl") && page.contains("not created yet"), "{page}");
    // Opening sd15 starts her instance and sets the cookie.
    let open = post_as(&url, "alice@example.com", "/_sdctl/open?template=sd15", None).await;
    assert_eq!(open.status(), 303, "{:?}", open.text().await);
    let set_cookie = open.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("sdctl-template=sd15;"), "{set_cookie}");
    let alice_cookie = "sdctl-template=sd15";
    let alice = reach(&url, "alice@example.com", alice_cookie).await;
    // Bob opens the same template: his own instance at another WebUI.
    assert_eq!(post_as(&url, "bob@example.com", "/_sdctl/open?template=sd15", None).await.status(), 303);
    let bob = reach(&url, "bob@example.com", "sdctl-template=sd15").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "sd");
    let placed: Vec<String> = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| format!("{:?} on {:?}", p.metadata.name, p.spec.as_ref().unwrap().node_name))
        .collect();
    assert_ne!(alice["webui"], bob["webui"], "each user has their own instance: {placed:?}");

    // Each one's disk is labelled with its user: ids 0 and 1 of sd15.
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(client.clone(), "sd");
    let alice_label = sdctl::runtime::user::label("alice@example.com");
    let bob_label = sdctl::runtime::user::label("bob@example.com");
    assert_eq!(
        claim_user(&claims.get("data-sd15-0").await.unwrap()),
        (alice_label.clone(), "alice@example.com".to_string())
    );
    assert_eq!(claim_user(&claims.get("data-sd15-1").await.unwrap()), (bob_label, "bob@example.com".to_string()));
    let alice_volume = claims.get("data-sd15-0").await.unwrap().spec.unwrap().volume_name;

    // Ownership: whatever cookie, path or header Bob sends, he reaches only his own instance.
    for (path, cookie) in [
        ("/echo", "sdctl-template=sd15-0"),
        ("/echo?instance=sd15-0", "sdctl-template=sd15"),
        ("/_sdctl/../echo", "sdctl-template=sd15"),
    ] {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = http
            .get(format!("{url}{path}"))
            .header(EMAIL, "accounts.google.com:bob@example.com")
            .header("cookie", cookie)
            .header("x-sdctl-instance", "sd15-0")
            .header("x-forwarded-for", "alice")
            .send()
            .await
            .unwrap();
        let status = r.status();
        let page = r.text().await.unwrap();
        match serde_json::from_str::<Value>(&page) {
            Ok(echoed) => assert_eq!(echoed["webui"], bob["webui"], "{path} {cookie}"),
            // Not a template: the dashboard (Bob's own), never Alice's WebUI.
            Err(_) => assert!(status == 303 && page.is_empty(), "{path} {cookie}: {status} {page}"),
        }
    }
    // Bob's stop button cannot stop Alice's instance: it stops his own.
    let stop = post_as(&url, "bob@example.com", "/_sdctl/stop?template=sd15", Some(alice_cookie)).await;
    assert_eq!(stop.status(), 303);
    assert!(stop.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(reach(&url, "alice@example.com", alice_cookie).await["webui"], alice["webui"]);
    let gss = gss_api(&client);
    // Another site's page (an image pointing here) does not start Bob's instance again.
    eventually(30, "bob's instance stopped", || async {
        pods.get_opt("sd15-1").await.unwrap().is_none().then_some(())
    })
    .await;
    let cross_site = reqwest::Client::new()
        .get(format!("{url}/"))
        .header(EMAIL, "accounts.google.com:bob@example.com")
        .header("cookie", "sdctl-template=sd15")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "no-cors")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 503);
    assert!(cross_site.text().await.unwrap().contains("open it from your instances page"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(pods.get_opt("sd15-1").await.unwrap().is_none(), "not started by another site");
    eventually(30, "bob's instance stopped, his id reserved", || async {
        let set = serde_json::to_value(gss.get("sd15").await.unwrap()).unwrap();
        let pods: Api<Pod> = Api::namespaced(client.clone(), "sd");
        let gone = pods.get_opt("sd15-1").await.unwrap().is_none();
        (gone && set["spec"]["reserveGameServerIds"] == json!([1]) && set["spec"]["replicas"] == 1).then_some(())
    })
    .await;

    // Alice is idle: reclaim stops her instance; her disk stays hers.
    redis.set_field("sd15/alice@example.com", "lastaccess", "1000").await;
    let reclaim = world
        .command(&["runtime", "reclaim", "--namespace", "sd", "--idle-minutes", "15", "--templates", "sd15,sdxl"])
        .envs(reclaim_env.iter().copied())
        .output()
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&reclaim.stderr);
    assert!(reclaim.status.success(), "{log}");
    assert!(log.contains("idle instance stopped"), "{log}");
    eventually(30, "both ids reserved, nothing running", || async {
        let set = serde_json::to_value(gss.get("sd15").await.unwrap()).unwrap();
        (set["spec"]["reserveGameServerIds"] == json!([0, 1]) && set["spec"]["replicas"] == 0).then_some(())
    })
    .await;

    // Carol is new: she gets a new id (2), never a stopped user's disk.
    assert_eq!(post_as(&url, "carol@example.com", "/_sdctl/open?template=sd15", None).await.status(), 303);
    reach(&url, "carol@example.com", "sdctl-template=sd15").await;
    let (carol_label, _) = claim_user(&claims.get("data-sd15-2").await.unwrap());
    assert_eq!(carol_label, sdctl::runtime::user::label("carol@example.com"));
    // Dan tries it once and deletes it from his dashboard: instance and disk go.
    assert_eq!(post_as(&url, "dan@example.com", "/_sdctl/open?template=sdxl", None).await.status(), 303);
    reach(&url, "dan@example.com", "sdctl-template=sdxl").await;
    assert!(claims.get_opt("data-sdxl-0").await.unwrap().is_some());
    let deleted = post_as(&url, "dan@example.com", "/_sdctl/delete?template=sdxl", None).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(deleted.headers()["location"], "/_sdctl/");
    eventually(30, "dan's disk gone", || async {
        claims.get_opt("data-sdxl-0").await.unwrap().is_none().then_some(())
    })
    .await;
    let page = get_as(&url, "dan@example.com", "/_sdctl/", None).await.text().await.unwrap();
    assert_eq!(page.matches("not created yet").count(), 2, "{page}");
    // Alice comes back: her own id and the same disk.
    let again = reach(&url, "alice@example.com", alice_cookie).await;
    assert!(again["webui"].is_string());
    assert!(pods.get_opt("sd15-0").await.unwrap().is_some(), "alice runs as id 0 again");
    assert_eq!(claims.get("data-sd15-0").await.unwrap().spec.unwrap().volume_name, alice_volume, "the same disk");
    let page = get_as(&url, "alice@example.com", "/_sdctl/", Some(alice_cookie)).await.text().await.unwrap();
    assert!(page.contains("ready") && page.contains("not created yet"), "sd15 ready, sdxl not made: {page}");
    assert!(!page.contains("bob@"), "{page}");
    // The same dashboard in a browser, behind a stand-in for IAP: both templates, the state of
    // her instance of each, and the buttons.
    let signed_in = crate::support::browser::iap_stand_in(&url, "alice@example.com").await;
    let png = crate::support::browser::screenshot_path("okg-dashboard.png");
    let dom = crate::support::browser::render(&format!("{signed_in}/_sdctl/"), &png).await;
    println!("dashboard screenshot: {}", png.display());
    assert!(dom.contains("Your Stable Diffusion WebUIs") && dom.contains("alice@example.com"), "{dom}");
    assert!(dom.contains(r#"action="/_sdctl/open?template=sdxl""#), "{dom}");
    assert!(dom.contains(r#"action="/_sdctl/stop?template=sd15""#), "sd15 runs: it can be stopped: {dom}");
    assert!(!dom.contains(r#"action="/_sdctl/stop?template=sdxl""#), "sdxl has no instance to stop: {dom}");
    assert!(dom.contains("Delete your sd15 instance and its disk"), "deleting asks first: {dom}");
    assert!(!dom.contains("/_sdctl/delete?template=sdxl"), "no sdxl disk to delete: {dom}");

    // The administrator's view: every user's instance and disk, the last activity reclaim saw.
    let pass = world
        .command(&["runtime", "reclaim", "--namespace", "sd", "--idle-minutes", "15", "--templates", "sd15,sdxl"])
        .envs(reclaim_env.iter().copied())
        .output()
        .await
        .unwrap();
    assert!(pass.status.success(), "{}", String::from_utf8_lossy(&pass.stderr));
    let ls = world.sdctl(&["users", "ls", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(ls.code, 0, "{ls:?}");
    let users: Value = serde_json::from_str(&ls.stdout).unwrap();
    let row = |email: &str| {
        users["users"].as_array().unwrap().iter().find(|u| u["email"] == email).cloned().unwrap_or(Value::Null)
    };
    assert_eq!(row("alice@example.com")["instance"], "sd15-0", "{users:#}");
    assert_eq!(row("alice@example.com")["state"], "ready");
    assert_eq!(row("bob@example.com")["state"], "stopped");
    assert_eq!(row("bob@example.com")["disk"], json!({"claim": "data-sd15-1", "sizeGb": 50.0, "monthlyUsd": 5.0}));
    assert!(row("carol@example.com")["lastActivity"].as_str().is_some_and(|t| t.starts_with("20")), "{users:#}");
    let human = world.sdctl(&["users", "ls", "-c", config.arg()]).await;
    assert!(human.stdout.contains("bob@example.com") && human.stdout.contains("50 GB, $5.00/month"), "{human:?}");
    assert!(human.stderr.contains("users' disks: $15.00/month"), "{human:?}");

    // `users stop`: Alice's instance stops; her next request starts it again on the same disk.
    let stop = world.sdctl(&["users", "stop", "Alice@Example.com", "-c", config.arg()]).await;
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(stop.stderr.contains("stopped sd15-0 (template sd15; disk data-sd15-0 kept)"), "{stop:?}");
    eventually(30, "alice's instance stopped", || async {
        pods.get_opt("sd15-0").await.unwrap().is_none().then_some(())
    })
    .await;
    reach(&url, "alice@example.com", alice_cookie).await;
    assert_eq!(claims.get("data-sd15-0").await.unwrap().spec.unwrap().volume_name, alice_volume, "the same disk");

    // `users delete`: asks first (no terminal: exit 2, nothing deleted), then deletes Bob's disk.
    let asked = world.sdctl(&["users", "delete", "bob@example.com", "-c", config.arg()]).await;
    assert_eq!(asked.code, 2, "{asked:?}");
    assert!(asked.stderr.contains("needs confirmation"), "{asked:?}");
    assert!(claims.get_opt("data-sd15-1").await.unwrap().is_some());
    let deleted = world.sdctl(&["users", "delete", "bob@example.com", "-y", "-c", config.arg()]).await;
    assert_eq!(deleted.code, 0, "{deleted:?}");
    eventually(30, "bob's disk gone", || async {
        claims.get_opt("data-sd15-1").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(claims.get_opt("data-sd15-0").await.unwrap().is_some(), "only bob's");
    let bad = world.sdctl(&["users", "stop", "not-an-address", "-c", config.arg()]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("not an e-mail address"), "{bad:?}");
    let bad = world.sdctl(&["users", "stop", "alice@example.com", "--template", "sd21", "-c", config.arg()]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("--template sd21: no such template (configured: sd15, sdxl)"), "{bad:?}");
    drop(router);

    // `down --keep-data` keeps Alice's and Carol's disks, each labelled with its owner: the
    // template, the id and a hash of the e-mail (labels are readable project-wide: no address).
    let down = world.sdctl(&["down", "-y", "--keep-data", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(down.stderr.contains("user disk data-sd15-0 kept for its user (template sd15)"), "{down:?}");
    let alice_disk = alice_volume.clone().expect("alice's claim is bound");
    let alice_hash = sdctl::runtime::user::hash("alice@example.com");
    let labels = world.emu.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Disk" && r["name"].as_str().unwrap_or("").ends_with(&format!("/disks/{alice_disk}")))
        .map(|r| r["labels"].clone())
        .expect("alice's disk is kept");
    assert_eq!(
        (labels["sdctl-template"].as_str(), labels["sdctl-instance"].as_str(), labels["sdctl-user"].as_str()),
        (Some("sd15"), Some("0"), Some(alice_hash.as_str()))
    );
    assert_eq!(labels["sdctl-env"], "sd-okg", "{labels:#}");
    assert!(!labels.to_string().contains("alice") && !labels.to_string().contains("example"), "{labels:#}");
    // With no cluster, `users ls` lists the kept disks (whose: the hash) and what they cost;
    // so does `status`.
    let ls = world.sdctl(&["users", "ls", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(ls.code, 0, "{ls:?}");
    let users: Value = serde_json::from_str(&ls.stdout).unwrap();
    let kept = |email: &str| {
        let hash = sdctl::runtime::user::hash(email);
        users["users"].as_array().unwrap().iter().find(|u| u["userHash"] == hash.as_str()).cloned()
    };
    let alice_row = kept("alice@example.com").expect("alice's kept disk");
    assert_eq!((alice_row["template"].as_str(), alice_row["state"].as_str()), (Some("sd15"), Some("kept")));
    assert!(alice_row["email"].is_null(), "{alice_row:#}");
    assert_eq!(alice_row["disk"]["name"], alice_disk.as_str());
    assert_eq!(alice_row["disk"]["monthlyUsd"], 5.0);
    assert!(kept("carol@example.com").is_some() && kept("bob@example.com").is_none(), "{users:#}");
    // Carol leaves meanwhile: her kept disk is deleted in Compute Engine.
    let carol_disk = kept("carol@example.com").unwrap()["disk"]["name"].as_str().unwrap().to_string();
    let gone = world.sdctl(&["users", "delete", "carol@example.com", "-y", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(gone.code, 0, "{gone:?}");
    let deleted: Value = serde_json::from_str(&gone.stdout).unwrap();
    assert_eq!(deleted["deletedDisks"], json!([carol_disk]), "{gone:?}");
    let status = world.sdctl(&["status", "-c", config.arg()]).await;
    assert!(
        status.stdout.contains("users' disks: 1 (50 GB, $5.00/month")
            && status.stdout.contains("kept without a cluster"),
        "{status:?}"
    );
    // The next `up` gives it back: a claim on the same disk, in its zone, with the hash of its
    // user's e-mail, its id reserved so that no one else gets it.
    let up = world.sdctl(&["up", "-c", config.arg(), "--okg-manifests", &dir, "--skip-preflight"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let client = cluster_client(&world, "sd-okg-gke").await;
    let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(client.clone(), "sd");
    let claim = claims.get("data-sd15-0").await.unwrap();
    assert_eq!(claim.metadata.labels.as_ref().unwrap()["sdctl.dev/user-hash"], alice_hash);
    assert_eq!(claim_user(&claim), (String::new(), String::new()), "not hers until she comes back");
    assert_eq!(claim.spec.as_ref().unwrap().volume_name.as_deref(), Some(alice_disk.as_str()));
    let volumes: Api<k8s_openapi::api::core::v1::PersistentVolume> = Api::all(client.clone());
    let volume = serde_json::to_value(volumes.get(&alice_disk).await.unwrap()).unwrap();
    let handle = volume["spec"]["csi"]["volumeHandle"].as_str().unwrap_or_default();
    assert!(
        handle.starts_with("projects/") && handle.ends_with(&format!("/zones/us-central1-a/disks/{alice_disk}")),
        "{volume:#}"
    );
    assert_eq!(
        volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"],
        json!(["us-central1-a"])
    );
    let gss = gss_api(&client);
    let set = serde_json::to_value(gss.get("sd15").await.unwrap()).unwrap();
    assert_eq!(set["spec"]["reserveGameServerIds"], json!([0]), "{set:#}");
    assert!(claims.get_opt("data-sd15-2").await.unwrap().is_none(), "carol's disk is gone");
    // Alice comes back through the router (as its account, on the new cluster): her first
    // request makes the disk hers and starts her instance on it.
    let kubeconfig_text = world.kubeconfig("sd-okg-gke").await;
    let token = kubeconfig_text.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap();
    let router_kubeconfig = kdir.path().join("router-again");
    std::fs::write(&router_kubeconfig, kubeconfig_text.replace(token, "serviceaccount:sd:sdctl-router")).unwrap();
    let router_env = runtime_env(router_kubeconfig.to_str().unwrap());
    let env: Vec<(&str, &str)> = router_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listen = format!("127.0.0.1:{}", free_port());
    let (router, url) = start_router(&listen, &env).await;
    // Bob comes first: a disk of his own, never the one kept for Alice.
    reach(&url, "bob@example.com", "sdctl-template=sd15").await;
    let bobs = claims.list(&Default::default()).await.unwrap().items;
    let bobs: Vec<String> =
        bobs.iter().filter(|c| claim_user(c).1 == "bob@example.com").filter_map(|c| c.metadata.name.clone()).collect();
    assert!(bobs.len() == 1 && bobs[0] != "data-sd15-0", "{bobs:?}");
    assert_eq!(claim_user(&claims.get("data-sd15-0").await.unwrap()), (String::new(), String::new()));
    reach(&url, "alice@example.com", alice_cookie).await;
    let claim = claims.get("data-sd15-0").await.unwrap();
    assert_eq!(claim_user(&claim), (alice_label, "alice@example.com".to_string()), "hers again");
    assert_eq!(claim.spec.unwrap().volume_name.as_deref(), Some(alice_disk.as_str()), "on her kept disk");
    drop(router);
    // The next `up` has nothing more to give back.
    let before = world.requests().len();
    let again = world.sdctl(&["up", "fleet", "-c", config.arg(), "--okg-manifests", &dir, "--skip-preflight"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    let applied = applies(&world, before);
    assert!(applied.iter().all(|(path, _)| !path.contains("persistentvolume")), "{applied:#?}");

    // `down` deletes every user's disk before the cluster: nothing is left.
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "--okg-manifests", &dir]).await;
    assert_eq!(down.code, 0, "{down:?}");
    let left: Vec<String> = world.resources().into_iter().map(|(kind, name, _)| format!("{kind} {name}")).collect();
    assert!(left.is_empty(), "{left:#?}");
}
