//! The whole `up` (Google resources, images, Agones, volumes, Fleet, router, reclaim, IAP ingress)
//! against the emulator for both example configurations, a second `up` that changes nothing,
//! `down` to an empty project, and a GPU stockout that `up` reports plainly.

use crate::emulator::k8s_agones::gvk_api;
use crate::kube_layer::{agones_manifest, applies, k8s_state as k8s};
use crate::support::example_with;
use crate::support::world::World;
use serde_json::Value;

async fn life_cycle(example: &str, env: &str, scenario: &str) {
    let world = World::with_scenario(scenario).await;
    let config = example_with(example, &[]);
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let events = up.json_lines();
    let summary = events.last().unwrap();
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(summary["outputs"]["url"].as_str().unwrap().starts_with("https://"), "{summary}");

    // The Kubernetes layer is in place.
    for (kind, ns, name) in [
        ("Fleet", "sd", "webui"),
        ("FleetAutoscaler", "sd", "webui-buffer"),
        ("PersistentVolumeClaim", "sd", "sdctl-shared"),
        ("Deployment", "sd", "sdctl-router"),
        ("Service", "sd", "sdctl-router"),
        ("CronJob", "sd", "sdctl-reclaim"),
        ("Ingress", "sd", "sdctl-ingress"),
        ("BackendConfig", "sd", "sdctl-iap"),
        ("ManagedCertificate", "sd", "sdctl-cert"),
        ("Secret", "sd", "sdctl-redis"),
    ] {
        assert!(k8s(&world, kind, ns, name).is_some(), "{kind} {ns}/{name} missing");
    }
    // The smoke check saw a warm WebUI: a Ready GameServer of the Fleet.
    let ready = world.emu.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["kind"] == "GameServer" && r["state"] == "Ready");
    assert!(ready, "no Ready GameServer after up");
    network_isolation(&world, env, example.contains("gcs")).await;
    // IAP access for the configured members on the load balancer's backend, and the router was
    // given the exact audience.
    let iap = world.request("iap.setIamPolicy");
    let bindings = iap["body"]["policy"]["bindings"].as_array().unwrap().clone();
    assert!(bindings.iter().any(|b| b["role"] == "roles/iap.httpsResourceAccessor"), "{bindings:?}");
    let audience = summary["outputs"]["iapAudience"].as_str().expect("the audience is an output");
    assert!(audience.starts_with("/projects/") && !audience.ends_with('/'), "{audience}");
    // With GCS, the WebUI pods' Kubernetes service account may read the bucket and write only
    // under outputs/ (Workload Identity, an IAM condition); the top folders were made by sdctl.
    if let Some(bucket) = summary["outputs"]["bucket"].as_str() {
        let name = bucket.trim_start_matches("gs://");
        let policy = world
            .requests_of("storage.buckets.setIamPolicy")
            .into_iter()
            .rfind(|r| r["path"].as_str().is_some_and(|p| p.contains(&format!("/b/{name}/"))))
            .expect("the models bucket's policy was written");
        let bindings = policy["body"]["bindings"].as_array().unwrap().clone();
        let member = |role: &str, conditional: bool| {
            let b = bindings
                .iter()
                .find(|b| b["role"] == role && b.get("condition").is_some() == conditional)
                .unwrap_or_else(|| panic!("no {role} binding (conditional: {conditional}): {bindings:?}"));
            (b["members"][0].as_str().unwrap().to_string(), b["condition"]["expression"].clone())
        };
        let (reader, _) = member("roles/storage.objectViewer", false);
        assert!(
            reader.starts_with("principal://iam.googleapis.com/projects/")
                && reader.ends_with(
                    "/locations/global/workloadIdentityPools/my-project.svc.id.goog/subject/ns/sd/sa/agones-sdk"
                ),
            "{reader}"
        );
        let (writer, condition) = member("roles/storage.objectUser", true);
        assert_eq!(writer, reader);
        assert_eq!(condition, format!("resource.name.startsWith(\"projects/_/buckets/{name}/objects/outputs/\")"));
        assert!(!bindings.iter().any(|b| b["role"] == "roles/storage.objectUser" && b.get("condition").is_none()));
        let uploads: Vec<String> = world
            .requests_of("storage.objects.insert")
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(&format!("/b/{name}/"))))
            .map(|r| r["query"]["name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(uploads, ["models/", "embeddings/", "outputs/"], "the bucket's folders");
    }
    // No secret in the events.
    assert!(!up.stdout.contains("AUTH") && !up.stderr.contains("auth_string"), "a secret leaked");

    // A second `up` changes nothing: no mutating Google request, no apply with another body.
    let first = applies(&world, 0);
    let before = world.requests().len();
    let again = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(world.mutating_since(before).is_empty(), "{:#?}", world.mutating_since(before));
    for (path, body) in applies(&world, before) {
        let earlier = first.iter().rev().find(|(p, _)| *p == path).map(|(_, b)| b);
        assert_eq!(earlier, Some(&body), "second up changed the body applied to {path}");
    }
    for e in again.json_lines().iter().filter(|e| e["event"] == "step_finished") {
        assert_eq!(e["outcome"], "unchanged", "{e}");
    }

    // `down` empties the project, load-balancer pieces included (the Ingress goes first), and
    // checks every kind sdctl can make: an API never enabled (Filestore with GCS) holds nothing.
    // No Agones manifest (nor internet): what runs in the cluster goes with it.
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    let events = down.json_lines();
    assert!(!events.iter().any(|e| e["event"] == "warning"), "{env}: {down:?}");
    let summary = events.last().unwrap();
    assert_eq!((summary["ok"].as_bool(), summary["left"].as_array().map(Vec::len)), (Some(true), Some(0)), "{summary}");
    assert!(world.resources().is_empty(), "{env}: left behind: {:#?}", world.resources());
}

/// Who reaches a WebUI, and what a WebUI reaches, as the cluster's NetworkPolicies decide
/// (Dataplane V2, chosen at creation, enforces them).
async fn network_isolation(world: &World, env: &str, gcs: bool) {
    use k8s_openapi::api::core::v1::Pod;
    let created = world.request("container.projects.locations.clusters.create");
    let datapath = &created["body"]["cluster"]["networkConfig"]["datapathProvider"];
    assert!(*datapath == "ADVANCED_DATAPATH" || *datapath == 2, "Dataplane V2 at creation: {created}");
    let cluster = format!("{env}-gke");
    let client = crate::kube_layer::cluster_client(world, &cluster).await;
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), "sd");
    let first = |label: &'static str| {
        let pods = pods.clone();
        async move {
            let list = pods.list(&kube::api::ListParams::default().labels(label)).await.unwrap();
            let pod = list.items.into_iter().next().unwrap_or_else(|| panic!("no pod {label}"));
            format!("sd/{}", kube::ResourceExt::name_any(&pod))
        }
    };
    let webui = first("app.kubernetes.io/name=sdctl-webui").await;
    // The emulator runs no pods for Deployments: one as the router's ReplicaSet makes them (its
    // template's labels), and any other pod (code some user got to run in the cluster).
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> = kube::Api::namespaced(client.clone(), "sd");
    let template = deployments.get("sdctl-router").await.unwrap().spec.unwrap().template;
    let labels = template.metadata.unwrap().labels.unwrap();
    let router = "sd/router-pod".to_string();
    for (name, labels) in [("router-pod", serde_json::json!(labels)), ("attacker", serde_json::json!({}))] {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "sd", "labels": labels},
            "spec": {"containers": [{"name": "sh", "image": "busybox"}]},
        }))
        .unwrap();
        pods.create(&Default::default(), &pod).await.unwrap();
    }
    let connect = |from: &str, to: &str, port: u16, protocol: &str| {
        let url = format!(
            "{}/_emulator/connect/{cluster}?from={from}&to={to}&port={port}&protocol={protocol}",
            world.emu.url()
        );
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
    };
    for (from, to, port, protocol, allowed) in [
        (router.as_str(), webui.as_str(), 7860, "TCP", true),
        ("sd/attacker", webui.as_str(), 7860, "TCP", false),
        ("sd/attacker", webui.as_str(), 7861, "TCP", false),
        // A WebUI reaches DNS, HTTPS anywhere (the control plane for Agones' SDK) and the internet...
        (webui.as_str(), "169.254.20.10", 53, "UDP", true),
        (webui.as_str(), "10.0.0.2", 443, "TCP", true),
        (webui.as_str(), "8.8.8.8", 80, "TCP", true),
        // ... but no private address (Redis, nodes' kubelets, other pods) on other ports.
        (webui.as_str(), "10.0.0.3", 6378, "TCP", false),
        (webui.as_str(), "10.128.0.2", 10250, "TCP", false),
        (webui.as_str(), "240.10.0.2", 10250, "TCP", false),
        (webui.as_str(), "sd/attacker", 8080, "TCP", false),
        // The metadata server only where GCS-Fuse in the pod needs it.
        (webui.as_str(), "169.254.169.254", 80, "TCP", gcs),
        (webui.as_str(), "169.254.169.252", 988, "TCP", gcs),
    ] {
        let verdict = connect(from, to, port, protocol).await;
        assert_eq!(verdict["allowed"], allowed, "{from} -> {to} {protocol}/{port}: {verdict}");
    }
    for name in ["router-pod", "attacker"] {
        pods.delete(name, &Default::default()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_up_and_down_t4_filestore() {
    // Cluster tokens expire after 3000 simulated seconds (3 s; the run takes about 10): waits
    // outlive them. (1 s flaked on a loaded machine: a request's token aged past it in flight.)
    life_cycle("sd-agones-t4.yaml", "sd-demo", "tokenLifetimeSeconds: 3000\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_up_and_down_l4_gcs_private() {
    life_cycle("sd-agones-l4-gcs.yaml", "sd-l4", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_stockout_ends_up_with_failed_scale_up_and_the_fix() {
    let world = World::with_scenario("stockouts: [ { zone: us-central1-a, machineType: custom-4-32768-ext } ]\n").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &agones_manifest(), "-o", "json"]).await;
    assert_eq!(up.code, 4, "{up:?}");
    let fleet = up.json_lines().into_iter().find(|e| e["event"] == "step_finished" && e["step"] == "fleet").unwrap();
    let error = fleet["error"].as_str().unwrap();
    assert!(error.contains("no GPU node could be added for the WebUI"), "{error}");
    assert!(error.contains("FailedScaleUp") || error.contains("resources"), "GKE's reason is shown: {error}");
    assert!(error.contains("fix:") && error.contains("NVIDIA_T4_GPUS"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_drift_and_down_keep_data_keeps_storage_and_redis() {
    let world = World::start().await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let status = world.sdctl(&["status", "--exit-code", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(status.code, 0, "everything in sync: {status:?}");
    assert!(status.stdout.contains("in-sync  ingress"), "{}", status.stdout);
    assert!(
        status.stdout.contains("Outputs:\n") && status.stdout.contains("\n  url "),
        "as up shows them: {}",
        status.stdout
    );
    let changed = example_with("sd-agones-t4.yaml", &[("maxNodes: 3", "maxNodes: 4")]);
    let status = world.sdctl(&["status", "--exit-code", "-c", changed.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(status.code, 10, "{status:?}");
    assert!(status.stdout.contains("gpu.minNodes/maxNodes: 0-3 -> 0-4"), "{}", status.stdout);

    let down = world
        .sdctl(&["down", "-y", "--keep-data", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"])
        .await;
    assert_eq!(down.code, 0, "{down:?}");
    let events = down.json_lines();
    for step in ["storage", "redis"] {
        let e = events.iter().find(|e| e["event"] == "step_finished" && e["step"] == step).unwrap();
        assert_eq!(e["outcome"], "kept", "{e}");
    }
    let summary = events.last().unwrap();
    assert_eq!(summary["ok"], true, "{summary}");
    let left: Vec<&str> = summary["left"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(left.iter().any(|l| l.starts_with("Filestore instance") && l.ends_with("(kept)")), "{left:?}");
    assert!(left.iter().any(|l| l.starts_with("Redis instance") && l.ends_with("(kept)")), "{left:?}");
    let remaining: Vec<String> = world.resources().into_iter().map(|(kind, _, _)| kind).collect();
    assert_eq!(remaining, ["Instance", "Instance"], "only Filestore and Redis are kept: {:#?}", world.resources());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_down_resumes() {
    // Filestore takes long enough to delete (40 minutes) that the second `down` surely finds it
    // still DELETING, when Google refuses another delete.
    let scenario = "latency: { file.projects.locations.instances.delete: 2400 }\n";
    let world = World::with(sdctl_emulator::Scenario::from_yaml(scenario).unwrap(), 400.0).await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "--no-wait"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let mut child = world.command(&["down", "-y", "-c", config.arg(), "--agones-manifest", &manifest]).spawn().unwrap();
    let deleting = || {
        world
            .resources()
            .iter()
            .any(|(kind, name, state)| kind == "Instance" && name.ends_with("/sd-demo-files") && state == "DELETING")
    };
    let started = std::time::Instant::now();
    while !deleting() {
        assert!(child.try_wait().unwrap().is_none(), "down ended before anything was deleting");
        assert!(started.elapsed().as_secs() < 60, "nothing reached DELETING: {:#?}", world.resources());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().await.unwrap();
    // No Agones manifest (nor internet): what runs in the cluster goes with it.
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(world.resources().is_empty(), "left behind: {:#?}", world.resources());
    let waited = down.json_lines().into_iter().any(|e| {
        e["event"] == "step_progress"
            && e["step"] == "storage"
            && e["message"].as_str().is_some_and(|m| m.contains("to finish its running operation (Deleting)"))
    });
    assert!(waited, "the second down waited for the first one's deletion: {}", down.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_oauth_client_goes_into_a_secret_never_into_output() {
    let world = World::start().await;
    let config = example_with(
        "sd-agones-t4.yaml",
        &[("oauthClient: managed", "oauthClient: { clientIdEnv: SD_OAUTH_ID, clientSecretEnv: SD_OAUTH_SECRET }")],
    );
    let secret = "GOCSPX-very-secret-value";
    let manifest = agones_manifest();
    let mut cmd = world.command(&[
        "up",
        "-c",
        config.arg(),
        "--agones-manifest",
        &manifest,
        "--wait-for-certificate",
        "-o",
        "json",
    ]);
    cmd.env("SD_OAUTH_ID", "1234.apps.googleusercontent.com").env("SD_OAUTH_SECRET", secret);
    let up = crate::support::Run::from(cmd.output().await.unwrap());
    assert_eq!(up.code, 0, "{up:?}");
    assert!(!up.stdout.contains(secret) && !up.stderr.contains(secret), "the client secret leaked");
    assert!(
        !world.requests().iter().any(|r| r["service"] != "k8s" && r.to_string().contains(secret)),
        "sent to Google"
    );
    let backend = k8s(&world, "BackendConfig", "sd", "sdctl-iap").expect("BackendConfig");
    assert!(k8s(&world, "Secret", "sd", "sdctl-iap-oauth").is_some(), "{backend}");
    let cert = k8s(&world, "ManagedCertificate", "sd", "sdctl-cert").unwrap();
    assert_eq!(cert["state"], "Active", "--wait-for-certificate waited for it: {cert}");
    // Without the variables, up names what is missing.
    let again = world.sdctl(&["up", "ingress", "-c", config.arg(), "--agones-manifest", &agones_manifest()]).await;
    assert_eq!(again.code, 4, "{again:?}");
    assert!(
        again.stderr.contains("environment variable SD_OAUTH_ID (access.iap.oauthClient) is not set"),
        "{}",
        again.stderr
    );

    // Back to the managed client: GKE's ingress controller would refuse to move the backend off
    // the own client (kubernetes/ingress-gce#2924) while sdctl reported success; sdctl says what
    // works instead, and changes nothing.
    let managed = example_with("sd-agones-t4.yaml", &[]);
    let args = ["-c", managed.arg(), "--agones-manifest", &manifest];
    let before = world.requests().len();
    let up = world.sdctl(&[&["up", "ingress"][..], &args].concat()).await;
    assert_eq!(up.code, 4, "{up:?}");
    for words in ["GKE cannot switch a load balancer from your own OAuth client back", "sdctl down ingress"] {
        assert!(up.stderr.contains(words), "{}", up.stderr);
    }
    assert!(
        !world.requests().iter().skip(before).any(|r| r["service"] == "k8s" && r["method"] == "PATCH"),
        "nothing applied"
    );
    let status = world.sdctl(&[&["status"][..], &args].concat()).await;
    assert!(status.stdout.contains("GKE cannot switch") || status.stderr.contains("GKE cannot switch"), "{status:?}");
    // What it says works: a new load balancer on the managed client, the client's Secret gone.
    let down = world.sdctl(&[&["down", "ingress", "-y"][..], &args].concat()).await;
    assert_eq!(down.code, 0, "{down:?}");
    let up = world.sdctl(&[&["up"][..], &args].concat()).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert!(k8s(&world, "Secret", "sd", "sdctl-iap-oauth").is_none(), "the client secret is gone");
    let client = crate::kube_layer::cluster_client(&world, "sd-demo-gke").await;
    let backend_configs = gvk_api(&client, "cloud.google.com", "v1", "BackendConfig", "backendconfigs");
    let backend = serde_json::to_value(backend_configs.get("sdctl-iap").await.unwrap()).unwrap();
    assert_eq!(backend["spec"]["iap"]["enabled"], true, "{backend}");
    assert!(backend["spec"]["iap"].get("oauthclientCredentials").is_none(), "{backend}");
    let status = world.sdctl(&[&["status", "--exit-code"][..], &args].concat()).await;
    assert_eq!(status.code, 0, "in sync again: {status:?}");
}

/// A certificate whose domain Google cannot see yet stays Provisioning while Google retries:
/// `--wait-for-certificate` shows the domain's state and what to do, and keeps waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_waiting_for_dns_says_so() {
    let world = World::with_scenario("certificateFails: true\n").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "--no-wait"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    // Follow its events until the ingress step reports the certificate's state, then stop it.
    let mut cmd = world.command(&[
        "up",
        "ingress",
        "-c",
        config.arg(),
        "--agones-manifest",
        &manifest,
        "--wait-for-certificate",
        "-o",
        "json",
    ]);
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
    let wanted = "sd.example.com FailedNotVisible (its DNS A record does not point at the static IP";
    let seen = tokio::time::timeout(std::time::Duration::from_secs(90), async {
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let event: Value = serde_json::from_str(&line).unwrap();
            if event["event"] == "step_progress" && event["step"] == "ingress" {
                let message = event["message"].as_str().unwrap().to_string();
                if message.contains(wanted) {
                    return Ok(message);
                }
            }
            seen.push(line);
        }
        Err(seen)
    })
    .await;
    child.kill().await.unwrap();
    let message = seen.expect("the wait shows progress in time").unwrap_or_else(|seen| panic!("{seen:#?}"));
    assert!(message.contains("Provisioning"), "{message}");
}

/// A teardown whose leftovers cannot be listed is not a clean one: exit 5, with what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_that_cannot_check_for_leftovers_says_so() {
    let world =
        World::with_scenario("faults: [ { method: redis.projects.locations.instances.list, status: 403 } ]\n").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(down.code, 5, "{down:?}");
    // A new project: its APIs are disabled, so every step finds nothing to delete.
    for e in down.json_lines().iter().filter(|e| e["event"] == "step_finished") {
        assert!(e["outcome"] == "unchanged" || (e["step"] == "apis" && e["outcome"] == "kept"), "{e}");
    }
    let summary = down.json_lines().pop().unwrap();
    assert_eq!(summary["ok"], false, "{summary}");
    let left = summary["left"][0].as_str().unwrap();
    assert!(left.starts_with("unknown: cannot check what is left of environment sd-demo"), "{left}");
    assert!(down.stderr.contains("fix: run `sdctl down` again"), "{}", down.stderr);
}

/// Two environments in one project, with the same namespace: each finds its own load balancer
/// (by its Ingress, not by name fragments), gets IAP access and audience for its own backend,
/// and `down` of one leaves the other whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_environments_in_one_project_live_and_die_independently() {
    let world = World::start().await;
    let manifest = agones_manifest();
    let a = example_with("sd-agones-t4.yaml", &[]);
    let b = example_with(
        "sd-agones-t4.yaml",
        &[
            ("name: sd-demo ", "name: sd-two "),
            ("members: [user:alice@example.com]", "members: [user:bob@example.com]"),
        ],
    );
    let mut audiences = Vec::new();
    for config in [&a, &b] {
        let up =
            world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json", "--no-wait"]).await;
        assert_eq!(up.code, 0, "{up:?}");
        let summary = up.json_lines().pop().unwrap();
        audiences.push(summary["outputs"]["iapAudience"].as_str().unwrap().to_string());
    }
    assert_ne!(audiences[0], audiences[1], "each router checks its own backend");
    // Each backend's IAP policy names its own environment's members only.
    for (audience, member, other) in [
        (&audiences[0], "user:alice@example.com", "user:bob@example.com"),
        (&audiences[1], "user:bob@example.com", "user:alice@example.com"),
    ] {
        let id = audience.rsplit('/').next().unwrap();
        let writes: Vec<Value> = world
            .requests_of("iap.setIamPolicy")
            .into_iter()
            .filter(|r| r["path"].as_str().unwrap().ends_with(&format!("/services/{id}:setIamPolicy")))
            .collect();
        let text = serde_json::to_string(&writes).unwrap();
        assert!(text.contains(member) && !text.contains(other), "{id}: {text}");
    }

    let down = world.sdctl(&["down", "-y", "-c", a.arg(), "-o", "json"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    let status = world.sdctl(&["status", "--exit-code", "-c", b.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(status.code, 0, "the other environment is untouched: {status:?}");
    assert!(!world.named("BackendService", "k8s1-").is_empty(), "sd-two's load balancer is still there");
    let down = world.sdctl(&["down", "-y", "-c", b.arg()]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(world.resources().is_empty(), "left behind: {:#?}", world.resources());
}

/// `runtime.kind: agones` with two templates: `up` ends with a Fleet and a warm WebUI per
/// template (the smoke check waits for each), and `down` leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agones_with_two_templates_warms_a_webui_of_each() {
    let world = World::start().await;
    let config = example_with(
        "sd-agones-t4.yaml",
        &[("access:", "templates:\n  - { name: sd15, engine: a1111 }\n  - { name: sdxl, engine: comfyui }\naccess:")],
    );
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(up.code, 0, "{up:?}");
    for (kind, name) in [("Fleet", "sd15"), ("Fleet", "sdxl"), ("FleetAutoscaler", "sd15-buffer")] {
        assert!(k8s(&world, kind, "sd", name).is_some(), "{kind} {name} missing");
    }
    assert!(k8s(&world, "Fleet", "sd", "webui").is_none(), "no Fleet of a template that is not configured");
    let client = crate::kube_layer::cluster_client(&world, "sd-demo-gke").await;
    // The ComfyUI template's Fleet runs ComfyUI's image, built with the others.
    let fleets = gvk_api(&client, "agones.dev", "v1", "Fleet", "fleets");
    let fleet = fleets.get("sdxl").await.unwrap().data;
    let image = fleet["spec"]["template"]["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(image.contains("/sd-comfyui:"), "{fleet:#}");
    let built: Vec<String> = world
        .requests_of("cloudbuild.projects.builds.create")
        .iter()
        .map(|r| r["body"]["images"][0].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(built.contains(&image), "{built:?}");
    let servers = gvk_api(&client, "agones.dev", "v1", "GameServer", "gameservers");
    let list = servers.list(&Default::default()).await.unwrap().items;
    for fleet in ["sd15", "sdxl"] {
        assert!(
            list.iter().any(|g| g.metadata.labels.as_ref().and_then(|l| l.get("agones.dev/fleet")).map(String::as_str)
                == Some(fleet)
                && g.data["status"]["state"] == "Ready"),
            "no warm WebUI of {fleet}"
        );
    }
    // Back to one template: its Fleet is `webui` again, the templates' Fleets (nobody on them) go.
    let one =
        example_with("sd-agones-t4.yaml", &[("access:", "templates:\n  - { name: sd15, engine: a1111 }\naccess:")]);
    let again =
        world.sdctl(&["up", "fleet", "-c", one.arg(), "--agones-manifest", &manifest, "--skip-preflight"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    for (kind, name, present) in [
        ("Fleet", "webui", true),
        ("FleetAutoscaler", "webui-buffer", true),
        ("Fleet", "sd15", false),
        ("Fleet", "sdxl", false),
        ("FleetAutoscaler", "sdxl-buffer", false),
    ] {
        assert_eq!(k8s(&world, kind, "sd", name).is_some(), present, "{kind} {name}");
    }
    let down = world.sdctl(&["down", "-y", "-c", config.arg()]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert!(world.resources().is_empty(), "{:#?}", world.resources());
}

/// A node pool of the examples' cluster as GKE answers `nodePools.get`.
async fn node_pool(world: &World, pool: &str) -> Value {
    let url = format!(
        "{}/container/v1/projects/my-project/locations/us-central1-a/clusters/sd-demo-gke/nodePools/{pool}",
        world.emu.url()
    );
    reqwest::Client::new().get(url).bearer_auth("t").send().await.unwrap().json().await.unwrap()
}

/// The GPU ladder (gpu.fallbacks): with spot and on-demand T4s out of stock in every zone of the
/// config, the autoscaler tries the ComputeClass's pools in order and `up` ends with a warm
/// WebUI on the L4 rung; `status` counts the GPU nodes per rung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stocked_out_primary_ends_warm_on_the_first_rung_with_capacity() {
    let world = World::with_scenario(
        "stockouts:\n\
         - { zone: us-central1-a, machineType: custom-4-32768-ext, provisioning: spot }\n\
         - { zone: us-central1-a, machineType: custom-4-32768-ext, provisioning: standard }\n",
    )
    .await;
    let config = example_with("sd-agones-ladder.yaml", &[]);
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");

    // One pool per rung, each joined to the class by its label and taint, in the ladder's order.
    let mut pools: Vec<Value> = world
        .requests_of("container.projects.locations.clusters.nodePools.create")
        .into_iter()
        .map(|r| r["body"]["nodePool"].clone())
        .collect();
    pools.sort_by_key(|p| p["name"].as_str().unwrap().to_string());
    let names: Vec<&str> = pools.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["gpu", "gpu-r1-fea189", "gpu-r2-cbf6c4"], "{pools:#?}");
    for (pool, (accelerator, spot)) in
        pools.iter().zip([("nvidia-tesla-t4", true), ("nvidia-tesla-t4", false), ("nvidia-l4", false)])
    {
        let c = &pool["config"];
        assert_eq!(c["labels"]["cloud.google.com/compute-class"], "sdctl-gpu", "{pool}");
        assert!(
            c["taints"].as_array().unwrap().iter().any(|t| t["key"] == "cloud.google.com/compute-class"
                && t["value"] == "sdctl-gpu"
                // The SDK sends enums as numbers: 1 is NO_SCHEDULE.
                && (t["effect"] == "NO_SCHEDULE" || t["effect"] == 1)),
            "{pool}"
        );
        assert_eq!(c["accelerators"][0]["acceleratorType"], accelerator, "{pool}");
        assert_eq!(c["spot"].as_bool().unwrap_or(false), spot, "{pool}");
    }
    let class = k8s(&world, "ComputeClass", "", "sdctl-gpu").expect("the ladder's ComputeClass");
    assert_eq!(class["labels"]["sdctl.dev/env"], "sd-demo", "{class}");

    // The autoscaler tried each T4 pool (GKE shows the stockout on the pool) before the L4 pool,
    // where the WebUI got its node.
    for (pool, stocked_out) in [("gpu", true), ("gpu-r1-fea189", true), ("gpu-r2-cbf6c4", false)] {
        let got = node_pool(&world, pool).await;
        let code = got["conditions"][0]["code"].as_str().unwrap_or("");
        assert_eq!(code == "GCE_STOCKOUT", stocked_out, "{pool}: {got}");
    }

    // The warm WebUI runs on rung 2: the T4 pools never got a node.
    let status = world.sdctl(&["status", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    let doc: Value = serde_json::from_str(&status.stdout).unwrap();
    let nodes: Vec<(u64, String, u64)> = doc["gpuNodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|r| (r["rung"].as_u64().unwrap(), r["gpu"].as_str().unwrap().to_string(), r["nodes"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        nodes,
        [
            (0, "t4 spot on custom-4-32768-ext".to_string(), 0),
            (1, "t4 on custom-4-32768-ext".to_string(), 0),
            (2, "l4 on g2-standard-8".to_string(), 1)
        ],
        "{doc}"
    );
    let text = world.sdctl(&["status", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert!(text.stdout.contains("rung 2 gpu-r2-cbf6c4 (l4 on g2-standard-8): 1"), "{}", text.stdout);
    assert!(text.stdout.contains("users waiting for a GPU: none"), "{}", text.stdout);

    // What the router publishes about its queue shows in `status`, and is no drift.
    let client = crate::kube_layer::cluster_client(&world, "sd-demo-gke").await;
    let maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(client, "sd");
    let patch = serde_json::json!({"data": {"webui": r#"{"waiting":3,"at":"2026-12-03T21:00:00Z"}"#}});
    maps.patch("sdctl-queue", &Default::default(), &kube::api::Patch::Merge(&patch)).await.unwrap();
    let text = world.sdctl(&["status", "--exit-code", "-c", config.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(text.code, 0, "the router's counts are not drift: {text:?}");
    assert!(text.stdout.contains("users waiting for a GPU: webui 3 (as of 2026-12-03T21:00:00Z)"), "{}", text.stdout);
}

/// Every rung of the ladder out of stock: `up` fails only once each has failed, with GKE's
/// reasons and the quota metrics of every rung in the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ladder_with_every_rung_stocked_out_fails_with_each_reason() {
    let world = World::with_scenario(
        "stockouts:\n\
         - { zone: us-central1-a, machineType: custom-4-32768-ext }\n\
         - { zone: us-central1-a, machineType: g2-standard-8 }\n",
    )
    .await;
    let config = example_with("sd-agones-ladder.yaml", &[]);
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &agones_manifest(), "-o", "json"]).await;
    assert_eq!(up.code, 4, "{up:?}");
    let fleet = up.json_lines().into_iter().find(|e| e["event"] == "step_finished" && e["step"] == "fleet").unwrap();
    let error = fleet["error"].as_str().unwrap();
    assert!(error.contains("every rung of gpu.fallbacks failed") && error.contains("GCE out of resources"), "{error}");
    for metric in ["PREEMPTIBLE_NVIDIA_T4_GPUS", "NVIDIA_T4_GPUS", "NVIDIA_L4_GPUS"] {
        assert!(error.contains(metric), "{metric}: {error}");
    }
    assert!(error.contains("nvidia-l4 / nvidia-tesla-t4"), "{error}");
    // Each pool was tried: GKE shows the stockout on all three.
    for pool in ["gpu", "gpu-r1-fea189", "gpu-r2-cbf6c4"] {
        let got = node_pool(&world, pool).await;
        assert_eq!(got["conditions"][0]["code"], "GCE_STOCKOUT", "{pool}: {got}");
    }
}

/// Adding a ladder to a running environment keeps its GPU pool (it joins the ComputeClass in
/// place: node label and taint) and only adds the fallback pools; removing the ladder takes the
/// primary out of the class and retires the fallbacks and the class. Nothing waits on a pool no
/// WebUI may use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_and_removing_a_ladder_keeps_the_primary_pool() {
    let world = World::start().await;
    let manifest = agones_manifest();
    let plain = example_with("sd-agones-t4.yaml", &[]);
    assert_eq!(world.sdctl(&["up", "-c", plain.arg(), "--agones-manifest", &manifest]).await.code, 0);
    let ladder =
        example_with("sd-agones-t4.yaml", &[("  spot: false\n", "  spot: false\n  fallbacks: [ { type: l4 } ]\n")]);
    let method = |r: &Value| -> String {
        let path = r["path"].as_str().unwrap_or_default();
        format!("{} {}", r["method"].as_str().unwrap_or_default(), path.rsplit("/nodePools").next().unwrap_or_default())
    };

    let before = world.requests().len();
    let up = world.sdctl(&["up", "-c", ladder.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let pools: Vec<String> = world
        .mutating_since(before)
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains("/nodePools")))
        .map(method)
        .collect();
    assert!(pools.iter().any(|m| m.starts_with("POST")), "a fallback pool is made: {pools:?}");
    assert!(pools.iter().all(|m| !m.starts_with("DELETE")), "no pool goes: {pools:?}");
    let update = world.requests_of("container.projects.locations.clusters.nodePools.update");
    let joined = update.last().expect("the primary's pool is updated in place");
    assert!(joined["path"].as_str().unwrap().ends_with("/nodePools/gpu"), "{joined}");
    // The version and image type GKE requires are the pool's own: nothing is upgraded.
    let pool = node_pool(&world, "gpu").await;
    assert_eq!(joined["body"]["nodeVersion"], pool["version"], "{joined}");
    assert_eq!(joined["body"]["imageType"], pool["config"]["imageType"], "{joined}");
    assert_eq!(joined["body"]["labels"]["labels"]["sdctl.dev/pool"], "gpu", "the pool's own labels stay: {joined}");
    assert_eq!(joined["body"]["labels"]["labels"]["cloud.google.com/compute-class"], "sdctl-gpu", "{joined}");
    let taints = joined["body"]["taints"]["taints"].as_array().unwrap();
    assert!(taints.iter().any(|t| t["key"] == "cloud.google.com/compute-class"), "{joined}");
    assert!(taints.iter().any(|t| t["key"] == "sdctl.dev/gpu"), "sdctl's own taint stays: {joined}");
    assert!(k8s(&world, "ComputeClass", "", "sdctl-gpu").is_some());
    let status = world.sdctl(&["status", "--exit-code", "-c", ladder.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(status.code, 0, "in sync after the change: {status:?}");

    let before = world.requests().len();
    let up = world.sdctl(&["up", "-c", plain.arg(), "--agones-manifest", &manifest]).await;
    assert_eq!(up.code, 0, "{up:?}");
    // Leaving, the taint goes first (the ladder's pods still select the label until the Fleet
    // changes), the label once the fallbacks are retired.
    let left: Vec<Value> = world
        .requests_of("container.projects.locations.clusters.nodePools.update")
        .into_iter()
        .filter(|r| r["ts"].as_str() >= world.requests().get(before).and_then(|b| b["ts"].as_str()))
        .collect();
    let left: Vec<&Value> = left.iter().rev().take(2).rev().collect();
    assert_eq!(left.len(), 2, "{left:#?}");
    let class_taint = |r: &Value| {
        r["body"]["taints"]["taints"].as_array().unwrap().iter().any(|t| t["key"] == "cloud.google.com/compute-class")
    };
    assert!(!class_taint(left[0]) && left[0]["body"].get("labels").is_none(), "taint first: {:#}", left[0]);
    assert!(left[1]["body"]["labels"]["labels"].get("cloud.google.com/compute-class").is_none(), "{:#}", left[1]);
    assert_eq!(left[1]["body"]["labels"]["labels"]["sdctl.dev/pool"], "gpu", "{:#}", left[1]);
    let deleted: Vec<String> = world
        .mutating_since(before)
        .iter()
        .filter(|r| r["method"] == "DELETE" && r["path"].as_str().is_some_and(|p| p.contains("/nodePools/")))
        .map(|r| r["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert!(deleted[0].starts_with("gpu-r1-"), "the fallback pool is retired: {deleted:?}");
    assert!(k8s(&world, "ComputeClass", "", "sdctl-gpu").is_none(), "the class goes with the ladder");
}

/// Compute Engine preempts the spot node of the warm WebUI while spot T4s are out of stock: the
/// GameServer goes Unhealthy, the Fleet makes another, and the autoscaler brings it up on the
/// next rung of the ladder, which `status` shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preempted_spot_node_comes_back_on_the_next_rung() {
    let world = World::start().await;
    let config = example_with("sd-agones-ladder.yaml", &[]);
    let manifest = agones_manifest();
    assert_eq!(world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest]).await.code, 0);
    let nodes_of = |pool: &str| -> Vec<String> {
        world.emu.state()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "Node" && r["labels"]["cloud.google.com/gke-nodepool"] == pool)
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    let spot = nodes_of("gpu");
    assert_eq!(spot.len(), 1, "the warm WebUI runs on a spot T4: {spot:?}");

    world.emu.set_scenario(
        sdctl_emulator::Scenario::from_yaml(
            "stockouts: [ { zone: us-central1-a, machineType: custom-4-32768-ext, provisioning: spot } ]",
        )
        .unwrap(),
    );
    let url = format!("{}/_emulator/preempt/sd-demo-gke/{}", world.emu.url(), spot[0]);
    let preempted = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!(preempted.status(), 200, "{}", preempted.text().await.unwrap());
    // Only spot nodes are preempted.
    let system = nodes_of("system");
    let url = format!("{}/_emulator/preempt/sd-demo-gke/{}", world.emu.url(), system[0]);
    assert_eq!(reqwest::Client::new().post(&url).send().await.unwrap().status(), 400);

    // Up to a minute of wall time: the whole suite shares two cores (30 s was once too short).
    let mut back = false;
    for _ in 0..600 {
        let ready = world.emu.state()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "GameServer" && r["state"] == "Ready");
        if ready && nodes_of("gpu").is_empty() && nodes_of("gpu-r1-fea189").len() == 1 {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "a Ready WebUI on rung 1: {:#}", world.emu.state());
    let status = world.sdctl(&["status", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    let doc: Value = serde_json::from_str(&status.stdout).unwrap();
    let nodes: Vec<u64> = doc["gpuNodes"].as_array().unwrap().iter().map(|r| r["nodes"].as_u64().unwrap()).collect();
    assert_eq!(nodes, [0, 1, 0], "{doc}");
}
