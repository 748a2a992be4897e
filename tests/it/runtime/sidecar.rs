//! `sdctl runtime sidecar` beside a stand-in WebUI, talking to a stand-in of the Agones SDK
//! server that acts on the emulated cluster (Ready moves the GameServer, `GET /gameserver`
//! reads it).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use kube::ResourceExt;
use serde_json::{Value, json};

use super::support::{Cluster, NS, Process, WebUi, free_port};
use crate::emulator::k8s_host::eventually;

#[derive(Clone)]
struct Sdk {
    cluster: Arc<Cluster>,
    gameserver: String,
    ready: Arc<AtomicUsize>,
    health: Arc<AtomicUsize>,
}

async fn ready(State(sdk): State<Sdk>, body: String) -> axum::Json<Value> {
    assert_eq!(body, "{}");
    sdk.ready.fetch_add(1, Ordering::SeqCst);
    sdk.cluster.t.clusters.sdk_ready("c1", NS, &sdk.gameserver).unwrap();
    axum::Json(json!({}))
}

async fn health(State(sdk): State<Sdk>) -> axum::Json<Value> {
    sdk.health.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({}))
}

/// The SDK's REST shape of the GameServer (`object_meta`, `status`).
async fn gameserver(State(sdk): State<Sdk>) -> axum::Json<Value> {
    let gs = sdk.cluster.game_servers_api().get(&sdk.gameserver).await.unwrap();
    axum::Json(json!({
        "object_meta": {"name": gs.name_any(), "namespace": NS, "labels": gs.labels(), "annotations": gs.annotations()},
        "status": {"state": gs.data["status"]["state"]},
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sidecar_marks_ready_only_when_the_webui_answers_and_names_the_user() {
    let webui = WebUi::start().await;
    webui.status.store(503, Ordering::SeqCst);
    let cluster = Arc::new(Cluster::start(webui.addr, 1, true).await);
    let gs = eventually(30, "a Scheduled GameServer", || async {
        cluster.game_servers().await.into_iter().find(|g| g.data["status"]["state"] == "Scheduled")
    })
    .await
    .name_any();

    let sdk = Sdk {
        cluster: cluster.clone(),
        gameserver: gs.clone(),
        ready: Arc::new(AtomicUsize::new(0)),
        health: Arc::new(AtomicUsize::new(0)),
    };
    let port = free_port();
    let app = axum::Router::new()
        .route("/ready", post(ready))
        .route("/health", post(health))
        .route("/gameserver", get(gameserver))
        .with_state(sdk.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let user_file = dir.path().join("user");
    let webui_url = format!("http://{}/", webui.addr);
    let sidecar = Process::spawn(
        &[
            "runtime",
            "sidecar",
            "--webui-url",
            &webui_url,
            "--user-file",
            user_file.to_str().unwrap(),
            "--interval",
            "50ms",
            "--startup-timeout",
            "30s",
        ],
        &[("AGONES_SDK_HTTP_PORT", &port.to_string())],
    );

    // The WebUI is still loading (a checkpoint over NFS takes minutes): no Ready, so the
    // GameServer is not allocatable, but health pings keep Agones from killing it meanwhile.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(webui.hits.load(Ordering::SeqCst) >= 3, "the sidecar polls the WebUI");
    assert_eq!(sdk.ready.load(Ordering::SeqCst), 0);
    assert!(sdk.health.load(Ordering::SeqCst) >= 3, "a starting WebUI is kept healthy");
    assert_eq!(cluster.state_of(&gs).await.as_deref(), Some("Scheduled"));

    // It answers: Ready once, the GameServer becomes Ready, health pings flow.
    webui.status.store(200, Ordering::SeqCst);
    eventually(10, "the GameServer Ready", || async {
        (cluster.state_of(&gs).await.as_deref() == Some("Ready")).then_some(())
    })
    .await;
    eventually(10, "health pings", || async { (sdk.health.load(Ordering::SeqCst) >= 3).then_some(()) }).await;
    assert_eq!(sdk.ready.load(Ordering::SeqCst), 1);

    // The WebUI hangs: pings stop (Agones would mark it Unhealthy), and resume when it recovers.
    webui.status.store(500, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let paused = sdk.health.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(sdk.health.load(Ordering::SeqCst) <= paused + 1, "no pings while the WebUI does not answer");
    webui.status.store(200, Ordering::SeqCst);
    eventually(10, "pings resumed", || async { (sdk.health.load(Ordering::SeqCst) > paused + 2).then_some(()) }).await;

    // Allocated to a user: the user's label lands in the shared file for the start script.
    let name = cluster.allocate_for("erin@example.com").await;
    assert_eq!(name, gs);
    let label = sdctl::runtime::user::label("erin@example.com");
    eventually(10, "the user file", || async {
        (std::fs::read_to_string(&user_file).ok()? == format!("{label}\n")).then_some(())
    })
    .await;
    let log = sidecar.log();
    assert!(log.contains("health pings paused") && log.contains("resumed"), "{log}");
    assert_eq!(sidecar.terminate().await, 0, "clean exit on SIGTERM");
}

/// A WebUI that never answers within its start-up budget is left to Agones: the pings stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webui_that_never_starts_is_given_up_after_its_startup_budget() {
    let webui = WebUi::start().await;
    webui.status.store(503, Ordering::SeqCst);
    let health = Arc::new(AtomicUsize::new(0));
    let counter = health.clone();
    let app = axum::Router::new().route(
        "/health",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({}))
            }
        }),
    );
    let port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let webui_url = format!("http://{}/", webui.addr);
    let user_file = dir.path().join("user");
    let sidecar = Process::spawn(
        &[
            "runtime",
            "sidecar",
            "--webui-url",
            &webui_url,
            "--user-file",
            user_file.to_str().unwrap(),
            "--interval",
            "50ms",
            "--startup-timeout",
            "400ms",
        ],
        &[("AGONES_SDK_HTTP_PORT", &port.to_string())],
    );
    eventually(10, "pings while starting", || async { (health.load(Ordering::SeqCst) >= 2).then_some(()) }).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let after_budget = health.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(health.load(Ordering::SeqCst), after_budget, "no pings once the start-up budget is spent");
    assert!(sidecar.log().contains("did not answer within its start-up budget"), "{}", sidecar.log());
    assert_eq!(sidecar.terminate().await, 0);
}
