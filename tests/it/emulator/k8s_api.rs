//! The per-cluster Kubernetes API driven by kube-rs as sdctl drives it: TLS with the cluster
//! CA and a bearer token, discovery, CRUD with the API server's refusals, server-side apply,
//! watches and waits, finalizers and namespace deletion.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{GroupVersionKind, Status};
use kube::discovery::{Discovery, Scope};
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

use super::k8s_host::{TestCluster, client_from, eventually, namespace};

fn api_error(e: kube::Error) -> Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn deployment(name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 8080}]}]}},
        },
    })
}

#[tokio::test]
async fn tls_with_the_cluster_ca_and_any_bearer_token() {
    let t = TestCluster::start(1000.0).await;
    let v = t.client.apiserver_version().await.expect("version");
    assert_eq!(v.git_version, "v1.35.3-gke.200");
    assert_eq!(v.minor, "35");

    // Any non-empty token works; none at all is 401.
    let other_token = t.kubeconfig.replace("sdctl-emulator-token", "anonymous");
    let cms: Api<ConfigMap> = Api::namespaced(client_from(&other_token).await, "default");
    assert!(cms.list(&ListParams::default()).await.is_ok());
    let no_token = t.kubeconfig.replace("    token: sdctl-emulator-token\n", "    {}\n");
    let cms: Api<ConfigMap> = Api::namespaced(client_from(&no_token).await, "default");
    let err = api_error(cms.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(err.code, 401);

    // Another cluster's CA does not verify this server.
    let host2 = super::k8s_host::TestHost::new(1000.0);
    let other = sdctl_emulator::k8s::Clusters::new(host2);
    other.start("c2", "1.35.3-gke.200").await.unwrap();
    let foreign_ca = other.kubeconfig("c2").unwrap();
    let ca_line = |kc: &str| kc.lines().find(|l| l.contains("certificate-authority-data")).unwrap().to_string();
    let mixed = t.kubeconfig.replace(&ca_line(&t.kubeconfig), &ca_line(&foreign_ca));
    let cms: Api<ConfigMap> = Api::namespaced(client_from(&mixed).await, "default");
    assert!(matches!(cms.list(&ListParams::default()).await, Err(e) if !matches!(e, kube::Error::Api(_))));

    let logged = t.host.requests("GET", "/api/v1/namespaces/default/configmaps");
    assert!(logged.iter().any(|e| e["status"] == 401), "the refused request is logged: {logged:?}");
    assert!(logged.iter().all(|e| e["service"] == "k8s" && e["cluster"] == "c1"));
}

#[tokio::test]
async fn discovery_classic_and_aggregated_lists_builtin_and_gke_kinds() {
    let t = TestCluster::start(1000.0).await;
    for discovery in [
        Discovery::new(t.client.clone()).run_aggregated().await.expect("aggregated discovery"),
        Discovery::new(t.client.clone()).run().await.expect("discovery"),
    ] {
        for (g, v, k, scope) in [
            ("apps", "v1", "Deployment", Scope::Namespaced),
            ("", "v1", "Namespace", Scope::Cluster),
            ("networking.k8s.io", "v1", "Ingress", Scope::Namespaced),
            ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", Scope::Cluster),
            ("cloud.google.com", "v1", "BackendConfig", Scope::Namespaced),
            ("networking.gke.io", "v1", "ManagedCertificate", Scope::Namespaced),
        ] {
            let (ar, caps) =
                discovery.resolve_gvk(&GroupVersionKind::gvk(g, v, k)).unwrap_or_else(|| panic!("{k} is discovered"));
            assert_eq!(caps.scope, scope, "{k}");
            assert!(ar.plural.ends_with('s'));
        }
        assert!(!discovery.has_group("agones.dev"), "Agones is not installed yet");
    }
    // The aggregated form is two requests; the classic one asks each group version.
    assert_eq!(t.host.requests("GET", "/apis").iter().filter(|e| e["path"] == "/apis").count(), 2);
    assert_eq!(t.host.requests("GET", "/apis/apps/v1").len(), 1);
    assert_eq!(t.host.requests("GET", "/api/v1").len(), 1);
}

#[tokio::test]
async fn create_get_list_update_and_the_api_servers_refusals() {
    let t = TestCluster::start(1000.0).await;
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "settings", "labels": {"app.kubernetes.io/managed-by": "sdctl"}},
        "data": {"idleMinutes": "15"},
    }))
    .unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.expect("create");
    let uid = created.metadata.uid.clone().expect("uid assigned");
    assert!(created.metadata.creation_timestamp.is_some());
    assert!(created.metadata.resource_version.is_some());

    let err = api_error(cms.create(&PostParams::default(), &cm).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));

    let listed = cms.list(&ListParams::default().labels("app.kubernetes.io/managed-by=sdctl")).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(cms.list(&ListParams::default().labels("app=other")).await.unwrap().items.is_empty());

    // Optimistic concurrency: a stale resourceVersion is a 409 Conflict.
    let mut fresh = cms.get("settings").await.unwrap();
    fresh.data.as_mut().unwrap().insert("idleMinutes".into(), "30".into());
    let updated = cms.replace("settings", &PostParams::default(), &fresh).await.expect("update");
    assert_eq!(updated.metadata.uid.as_deref(), Some(uid.as_str()));
    let err = api_error(cms.replace("settings", &PostParams::default(), &fresh).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));

    let err = api_error(cms.get("missing").await.unwrap_err());
    assert_eq!((err.code, err.message.as_str()), (404, r#"configmaps "missing" not found"#));

    let elsewhere: Api<ConfigMap> = Api::namespaced(t.client.clone(), "nope");
    let err = api_error(elsewhere.create(&PostParams::default(), &cm).await.unwrap_err());
    assert_eq!((err.code, err.message.as_str()), (404, r#"namespaces "nope" not found"#));

    // Labels longer than 63 characters are invalid (422 naming the field).
    let mut long = cm.clone();
    long.metadata.name = Some("long".into());
    long.metadata.labels = Some([("sdctl.dev/user".to_string(), "x".repeat(64))].into());
    let err = api_error(cms.create(&PostParams::default(), &long).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert!(err.message.contains("metadata.labels: Invalid value"), "{}", err.message);

    // Built-in kinds: required fields and invariants, unknown fields refused.
    let deploys: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), "default", &kube::discovery::ApiResource::erase::<Deployment>(&()));
    let mut bad = deployment("web", 1, "nginx");
    bad["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    let err =
        api_error(deploys.create(&PostParams::default(), &serde_json::from_value(bad).unwrap()).await.unwrap_err());
    assert_eq!(err.code, 422);
    assert!(err.message.contains("spec.template.metadata.labels"), "{}", err.message);
    let mut typo = deployment("web", 1, "nginx");
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = json!("Always");
    let err =
        api_error(deploys.create(&PostParams::default(), &serde_json::from_value(typo).unwrap()).await.unwrap_err());
    assert_eq!(err.code, 400);
    assert!(
        err.message.contains(r#"unknown field "spec.template.spec.containers[0].imagePullPolice""#),
        "{}",
        err.message
    );

    let posts = t.host.requests("POST", "/api/v1/namespaces/default/configmaps");
    assert_eq!(posts[0]["status"], 201);
    assert_eq!(posts[0]["body"]["data"]["idleMinutes"], "15");
    assert_eq!(posts[1]["status"], 409);
}

#[tokio::test]
async fn server_side_apply_creates_reapplies_unchanged_and_reports_conflicts() {
    let t = TestCluster::start(1000.0).await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(t.client.clone(), "default", &kube::discovery::ApiResource::erase::<Deployment>(&()));
    let sdctl = PatchParams::apply("sdctl");
    let obj: DynamicObject = serde_json::from_value(deployment("router", 2, "router:1")).unwrap();
    let created = api.patch("router", &sdctl, &Patch::Apply(&obj)).await.expect("apply creates");
    let mf = created.metadata.managed_fields.clone().expect("managedFields");
    assert_eq!(mf[0].manager.as_deref(), Some("sdctl"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    let fields = serde_json::to_value(&mf[0].fields_v1).unwrap();
    assert!(fields["f:spec"]["f:replicas"].is_object(), "{fields}");

    // Once the controller has reported the rollout, an unchanged apply writes nothing.
    let typed: Api<Deployment> = Api::namespaced(t.client.clone(), "default");
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(typed, "router", conditions::is_deployment_completed()),
    )
    .await
    .unwrap()
    .unwrap();
    let rv = api.get("router").await.unwrap().metadata.resource_version;
    let again = api.patch("router", &sdctl, &Patch::Apply(&obj)).await.expect("re-apply");
    assert_eq!(again.metadata.resource_version, rv, "an unchanged apply writes nothing");

    // Another manager changing a field sdctl owns conflicts, unless it forces.
    let mut scaled = deployment("router", 3, "router:1");
    scaled["spec"] = json!({"replicas": 3});
    let scaled: DynamicObject = serde_json::from_value(scaled).unwrap();
    let err = api_error(api.patch("router", &PatchParams::apply("hpa"), &Patch::Apply(&scaled)).await.unwrap_err());
    assert_eq!(err.code, 409);
    assert_eq!(err.message, r#"Apply failed with 1 conflict: conflict with "sdctl" using apps/v1: .spec.replicas"#);
    let forced = api.patch("router", &PatchParams::apply("hpa").force(), &Patch::Apply(&scaled)).await.expect("forced");
    assert_eq!(forced.data["spec"]["replicas"], 3);
    let managers: Vec<String> =
        forced.metadata.managed_fields.unwrap().iter().filter_map(|m| m.manager.clone()).collect();
    assert!(managers.contains(&"hpa".to_string()) && managers.contains(&"sdctl".to_string()), "{managers:?}");

    // sdctl re-applying its old value now conflicts with hpa; a new image alone does not.
    let err = api_error(api.patch("router", &sdctl, &Patch::Apply(&obj)).await.unwrap_err());
    assert!(err.message.contains(r#"conflict with "hpa""#), "{}", err.message);
    let mut v2 = deployment("router", 3, "router:2");
    v2["spec"].as_object_mut().unwrap().remove("replicas");
    let v2: DynamicObject = serde_json::from_value(v2).unwrap();
    let updated = api.patch("router", &sdctl, &Patch::Apply(&v2)).await.expect("apply without replicas");
    assert_eq!(updated.data["spec"]["template"]["spec"]["containers"][0]["image"], "router:2");
    assert_eq!(updated.data["spec"]["replicas"], 3, "hpa still owns replicas");
    assert_eq!(updated.metadata.generation, Some(3));

    // A dry run changes nothing.
    let mut v3 = deployment("router", 3, "router:3");
    v3["spec"].as_object_mut().unwrap().remove("replicas");
    let v3: DynamicObject = serde_json::from_value(v3).unwrap();
    let dry = api.patch("router", &PatchParams::apply("sdctl").dry_run(), &Patch::Apply(&v3)).await.unwrap();
    assert_eq!(dry.data["spec"]["template"]["spec"]["containers"][0]["image"], "router:3");
    assert_eq!(api.get("router").await.unwrap().data["spec"]["template"]["spec"]["containers"][0]["image"], "router:2");

    // Secrets: stringData is stored as base64 data; re-applying the same Secret writes nothing.
    let secrets: Api<DynamicObject> = Api::namespaced_with(
        t.client.clone(),
        "default",
        &kube::discovery::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    );
    let secret: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "iap"}, "stringData": {"client_id": "abc"}}))
    .unwrap();
    let first = secrets.patch("iap", &sdctl, &Patch::Apply(&secret)).await.unwrap();
    assert_eq!(first.data["data"]["client_id"], "YWJj");
    assert!(first.data.get("stringData").is_none());
    let second = secrets.patch("iap", &sdctl, &Patch::Apply(&secret)).await.unwrap();
    assert_eq!(second.metadata.resource_version, first.metadata.resource_version);

    let applies = t.host.requests("PATCH", "/apis/apps/v1/namespaces/default/deployments/router");
    assert_eq!(applies[0]["query"]["fieldManager"], "sdctl");
    assert_eq!(applies[0]["status"], 201);
    assert_eq!(applies[1]["status"], 200);
    assert_eq!(applies[0]["body"]["spec"]["replicas"], 2, "the apply body is logged parsed");
}

#[tokio::test]
async fn watches_drive_await_condition_for_deployments_and_crds() {
    let t = TestCluster::start(1000.0).await;
    let api: Api<Deployment> = Api::namespaced(t.client.clone(), "default");
    let d: Deployment = serde_json::from_value(deployment("web", 2, "nginx:1.27")).unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "web", conditions::is_deployment_completed()),
    )
    .await
    .expect("deployment completes")
    .expect("watch works")
    .expect("exists");
    let status = done.status.unwrap();
    assert_eq!(status.available_replicas, Some(2));
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(t.entry("Deployment", "default", "web").unwrap()["state"], "Available");

    // A watcher with streaming lists: initial events, then the end-of-initial-events bookmark.
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let mut stream = watcher(api.clone(), watcher::Config::default().streaming_lists()).applied_objects().boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.expect("an event").unwrap().unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("web"));
    drop(stream);
    let streaming = t.host.requests("GET", "/apis/apps/v1/namespaces/default/deployments");
    assert!(
        streaming
            .iter()
            .any(|e| e["query"]["sendInitialEvents"] == "true" && e["query"]["resourceVersionMatch"] == "NotOlderThan")
    );

    let crds: Api<CustomResourceDefinition> = Api::all(t.client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}}}}}}]}
    }))
    .unwrap();
    crds.patch("widgets.example.com", &PatchParams::apply("sdctl"), &Patch::Apply(&crd)).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(crds.clone(), "widgets.example.com", conditions::is_crd_established()),
    )
    .await
    .expect("established")
    .unwrap();
    let widgets: Api<DynamicObject> = Api::namespaced_with(
        t.client.clone(),
        "default",
        &kube::discovery::ApiResource::from_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget")),
    );
    let w: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 0}}),
    )
    .unwrap();
    let err = api_error(widgets.create(&PostParams::default(), &w).await.unwrap_err());
    assert_eq!(err.code, 422);
    assert_eq!(
        err.message,
        r#"Widget.example.com "w" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"#
    );

    let watches = t.host.requests("GET", "/apis/apps/v1/namespaces/default/deployments");
    let watch = watches.iter().find(|e| e["query"]["watch"] == "true").expect("a watch was made");
    assert_eq!(watch["query"]["fieldSelector"], "metadata.name=web");
    assert_eq!(watch["query"]["allowWatchBookmarks"], "true");
    assert_eq!(watch["status"], 200);
}

#[tokio::test]
async fn finalizers_hold_deletion_and_namespaces_delete_their_contents() {
    let t = TestCluster::start(1000.0).await;
    let nss: Api<Namespace> = Api::all(t.client.clone());
    nss.create(&PostParams::default(), &serde_json::from_value(namespace("sd")).unwrap()).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), "sd");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "held", "finalizers": ["sdctl.dev/cleanup"]}})).unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    // The namespace's service account and CA bundle appear like on a real cluster.
    eventually(5, "kube-root-ca.crt", || async { cms.get_opt("kube-root-ca.crt").await.unwrap() }).await;

    cms.delete("held", &DeleteParams::default()).await.unwrap();
    let held = cms.get("held").await.expect("still there while the finalizer remains");
    assert!(held.metadata.deletion_timestamp.is_some());
    cms.patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await.unwrap();
    let uid = created.metadata.uid.unwrap();
    tokio::time::timeout(Duration::from_secs(5), await_condition(cms.clone(), "held", conditions::is_deleted(&uid)))
        .await
        .unwrap()
        .unwrap();

    let other: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "other", "finalizers": ["sdctl.dev/cleanup"]}})).unwrap();
    cms.create(&PostParams::default(), &other).await.unwrap();
    nss.delete("sd", &DeleteParams::default()).await.unwrap();
    assert_eq!(nss.get("sd").await.unwrap().status.unwrap().phase.as_deref(), Some("Terminating"));
    let err = api_error(
        cms.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "late"}})).unwrap())
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 403, "no new content in a terminating namespace");
    eventually(5, "contents deleted", || async {
        let left = cms.list(&ListParams::default()).await.unwrap().items;
        (left.len() == 1 && left[0].metadata.name.as_deref() == Some("other")).then_some(())
    })
    .await;
    assert!(nss.get_opt("sd").await.unwrap().is_some(), "the finalizer of `other` keeps the namespace");
    cms.patch("other", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": []}}))).await.unwrap();
    eventually(5, "namespace gone", || async { nss.get_opt("sd").await.unwrap().is_none().then_some(()) }).await;
    assert!(t.entry("Namespace", "", "sd").is_none());
}

#[tokio::test]
async fn json_merge_and_strategic_patches_status_and_scale_subresources() {
    let t = TestCluster::start(1000.0).await;
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "1"}})).unwrap(),
    )
    .await
    .unwrap();
    // A JSON patch (RFC 6902), sent with reqwest trusting the cluster CA.
    let ep = t.clusters.endpoint("c1").unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ep.ca_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let ops = json!([{"op": "add", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/data/a"}]);
    let resp = http
        .patch(format!("https://{}/api/v1/namespaces/default/configmaps/c", ep.endpoint))
        .bearer_auth("any")
        .header("content-type", "application/json-patch+json")
        .body(ops.to_string())
        .send()
        .await
        .expect("json patch");
    assert_eq!(resp.status(), 200);
    assert_eq!(cms.get("c").await.unwrap().data.unwrap(), [("b".to_string(), "2".to_string())].into());

    let api: Api<Deployment> = Api::namespaced(t.client.clone(), "default");
    let mut d = deployment("web", 1, "nginx:1");
    d["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sidecar", "image": "s:1"}));
    api.create(&PostParams::default(), &serde_json::from_value(d).unwrap()).await.unwrap();
    // Strategic merge: containers merge by name, the sidecar stays.
    let sm = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}});
    let patched = api.patch("web", &PatchParams::default(), &Patch::Strategic(sm)).await.expect("strategic merge");
    let containers = patched.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(
        containers.iter().map(|c| (c.name.as_str(), c.image.as_deref().unwrap())).collect::<Vec<_>>(),
        [("web", "nginx:2"), ("sidecar", "s:1")]
    );
    assert_eq!(patched.metadata.generation, Some(2));

    // The scale subresource.
    let scale = api.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(1));
    let scaled =
        api.patch_scale("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 4}}))).await.unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(4));
    assert_eq!(api.get("web").await.unwrap().spec.unwrap().replicas, Some(4));

    // Status goes through /status only; a status in a main-resource patch is ignored.
    let ignored =
        api.patch("web", &PatchParams::default(), &Patch::Merge(json!({"status": {"replicas": 99}}))).await.unwrap();
    assert_ne!(ignored.status.and_then(|s| s.replicas), Some(99));
    let via_status = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(json!({"status": {"observedGeneration": 77}})))
        .await
        .unwrap();
    assert_eq!(via_status.status.unwrap().observed_generation, Some(77));

    // Custom resources take no strategic merge patch (415), as on a real server.
    let crds: Api<CustomResourceDefinition> = Api::all(t.client.clone());
    let backendconfigs: Api<DynamicObject> = Api::namespaced_with(
        t.client.clone(),
        "default",
        &kube::discovery::ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("cloud.google.com", "v1", "BackendConfig"),
            "backendconfigs",
        ),
    );
    assert!(crds.get("backendconfigs.cloud.google.com").await.is_ok(), "GKE's CRD is installed");
    let bc: DynamicObject = serde_json::from_value(json!({"apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": {"name": "b"}, "spec": {"timeoutSec": 30}})).unwrap();
    backendconfigs.create(&PostParams::default(), &bc).await.unwrap();
    let err = api_error(
        backendconfigs
            .patch("b", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"timeoutSec": 60}})))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 415);
    let merged = backendconfigs
        .patch("b", &PatchParams::default(), &Patch::Merge(json!({"spec": {"timeoutSec": 60}})))
        .await
        .unwrap();
    assert_eq!(merged.data["spec"]["timeoutSec"], 60);
    let logged = t.host.requests("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale");
    assert_eq!(logged[0]["body"], json!({"spec": {"replicas": 4}}));
}

#[tokio::test]
async fn jobs_complete_and_cron_jobs_are_checked() {
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    let t = TestCluster::start(1000.0).await;
    let jobs: Api<Job> = Api::namespaced(t.client.clone(), "default");
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "prefetch-models"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
    }))
    .unwrap();
    let created = jobs.create(&PostParams::default(), &job).await.unwrap();
    let labels = created.spec.unwrap().template.metadata.unwrap().labels.unwrap();
    assert_eq!(labels["batch.kubernetes.io/job-name"], "prefetch-models", "the Job controller's labels");
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(jobs.clone(), "prefetch-models", conditions::is_job_completed()),
    )
    .await
    .expect("completes")
    .unwrap()
    .unwrap();
    assert_eq!(done.status.unwrap().succeeded, Some(1));
    assert_eq!(t.entry("Job", "default", "prefetch-models").unwrap()["state"], "Complete");

    let crons: Api<CronJob> = Api::namespaced(t.client.clone(), "default");
    let cron = |schedule: &str, restart: &str| -> CronJob {
        serde_json::from_value(json!({
            "metadata": {"name": "reclaim"},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": restart, "containers": [{"name": "reclaim", "image": "sdctl-runtime:1", "args": ["runtime", "reclaim"]}]}}}}},
        }))
        .unwrap()
    };
    let err = api_error(crons.create(&PostParams::default(), &cron("every minute", "Never")).await.unwrap_err());
    assert_eq!((err.code, err.details.unwrap().causes[0].field.as_str()), (422, "spec.schedule"));
    let err = api_error(crons.create(&PostParams::default(), &cron("*/5 * * * *", "Always")).await.unwrap_err());
    assert!(
        err.message.contains("spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\""),
        "{}",
        err.message
    );
    let ok = crons.create(&PostParams::default(), &cron("*/5 * * * *", "OnFailure")).await.unwrap();
    assert_eq!(ok.spec.unwrap().concurrency_policy.as_deref(), Some("Allow"), "defaulted");
}
