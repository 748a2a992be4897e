//! What the runtime tests stand on: a real `redis-server`, an emulated cluster with Agones and a
//! WebUI Fleet, a stand-in WebUI (HTTP and a websocket echo), and the real sdctl binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use sdctl_emulator::scenario::Scenario;
use serde_json::{Value, json};

use crate::emulator::k8s_agones::{
    agones_namespace_objects, gpu_host, gvk_api, install_agones, models_volume, state_of,
};
use crate::emulator::k8s_host::{TestCluster, eventually};

pub const NS: &str = "sd";
pub const FLEET: &str = "webui";
pub const REDIS_PASSWORD: &str = "test-auth-string-0f9c";

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `redis-server` on a free port with an AUTH password, stopped on drop.
pub struct Redis {
    pub port: u16,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--requirepass", REDIS_PASSWORD, "--dir", dir.path().to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        let redis = Redis { port, child, _dir: dir };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        let url = format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}", self.port);
        redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    /// The mapping hash of a user (empty when none).
    pub async fn mapping(&self, email: &str) -> std::collections::HashMap<String, String> {
        let mut c = self.conn().await;
        redis::cmd("HGETALL").arg(format!("sdctl:user:{email}")).query_async(&mut c).await.unwrap()
    }

    pub async fn set_field(&self, email: &str, field: &str, value: &str) {
        let mut c = self.conn().await;
        let _: () = redis::cmd("HSET")
            .arg(format!("sdctl:user:{email}"))
            .arg(field)
            .arg(value)
            .query_async(&mut c)
            .await
            .unwrap();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stand-in WebUI: `/` answers with a page, `/echo` with what it received, `/queue/join` is a
/// websocket echo; `status` switches its answers (200 or e.g. 503 while "loading").
pub struct WebUi {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    pub status: Arc<AtomicU16>,
}

impl WebUi {
    pub async fn start() -> WebUi {
        let hits = Arc::new(AtomicUsize::new(0));
        let status = Arc::new(AtomicU16::new(200));
        let (h, s) = (hits.clone(), status.clone());
        let app = axum::Router::new()
            .route(
                "/",
                get(move || {
                    let (h, s) = (h.clone(), s.clone());
                    async move {
                        h.fetch_add(1, Ordering::Relaxed);
                        let code = StatusCode::from_u16(s.load(Ordering::Relaxed)).unwrap();
                        (code, "<html>stand-in WebUI</html>")
                    }
                }),
            )
            .route("/echo", get(echo).post(echo))
            .route("/queue/join", get(ws_echo));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebUi { addr, hits, status }
    }
}

async fn echo(headers: HeaderMap, uri: axum::http::Uri, body: String) -> impl IntoResponse {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    axum::Json(json!({
        "uri": uri.to_string(),
        "body": body,
        "user": h("x-goog-authenticated-user-email"),
        "assertion": h("x-goog-iap-jwt-assertion"),
        "forwardedFor": h("x-forwarded-for"),
        "host": h("host"),
    }))
}

async fn ws_echo(ws: WebSocketUpgrade) -> impl IntoResponse {
    ws.on_upgrade(|mut socket: WebSocket| async move {
        while let Some(Ok(msg)) = socket.recv().await {
            let reply = match msg {
                Message::Text(t) => Message::Text(format!("echo: {}", t.as_str()).into()),
                Message::Binary(b) => Message::Binary(b),
                Message::Close(_) => break,
                _ => continue,
            };
            if socket.send(reply).await.is_err() {
                break;
            }
        }
    })
}

/// An emulated cluster with Agones, namespace `sd` and a Fleet `webui` whose GameServers all
/// report the stand-in WebUI as their `webui` endpoint.
pub struct Cluster {
    pub t: TestCluster,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(webui: SocketAddr, replicas: i64, ready_by_sidecar: bool) -> Cluster {
        let host = gpu_host(1000.0);
        host.set_scenario(Scenario {
            game_server_endpoint: Some(webui.to_string()),
            game_server_ready_by_sidecar: ready_by_sidecar,
            ..Scenario::default()
        });
        {
            // One GPU node per GameServer, already there (no scale-up to wait for).
            let gpu = &mut host.pools.lock().unwrap()[1];
            gpu.node_count = replicas.max(1) as u32;
            gpu.max_node_count = gpu.max_node_count.max(gpu.node_count);
        }
        let t = TestCluster::start_with(host).await;
        install_agones(&t).await;
        agones_namespace_objects(&t.client, NS).await;
        models_volume(&t.client).await;
        let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
        let fleet: DynamicObject = serde_json::from_value(fleet(replicas)).unwrap();
        fleets.patch(FLEET, &PatchParams::apply("sdctl"), &Patch::Apply(&fleet)).await.expect("fleet applies");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, &t.kubeconfig).unwrap();
        Cluster { t, kubeconfig, _dir: dir }
    }

    pub fn game_servers_api(&self) -> Api<DynamicObject> {
        gvk_api(&self.t.client, "agones.dev", "v1", "GameServer", "gameservers")
    }

    /// Live (not deleting) GameServers of the Fleet.
    pub async fn game_servers(&self) -> Vec<DynamicObject> {
        self.game_servers_api()
            .list(&ListParams::default().labels(&format!("agones.dev/fleet={FLEET}")))
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|g| g.metadata.deletion_timestamp.is_none())
            .collect()
    }

    pub async fn wait_ready(&self, n: usize) -> Vec<DynamicObject> {
        eventually(30, &format!("{n} Ready GameServers"), || async {
            let ready: Vec<_> = self.game_servers().await.into_iter().filter(|g| state_of(g) == "Ready").collect();
            (ready.len() >= n).then_some(ready)
        })
        .await
    }

    /// Allocated GameServers by name -> `sdctl.dev/user` label.
    pub async fn allocated(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .game_servers()
            .await
            .into_iter()
            .filter(|g| state_of(g) == "Allocated")
            .map(|g| (g.name_any(), g.labels().get("sdctl.dev/user").cloned().unwrap_or_default()))
            .collect();
        out.sort();
        out
    }

    /// GameServerAllocation requests the cluster has served.
    pub fn allocations(&self) -> Vec<Value> {
        self.t.host.requests("POST", "/apis/allocation.agones.dev/v1/namespaces/sd/gameserverallocations")
    }
}

/// The WebUI Fleet as the Kubernetes steps deploy it: the WebUI container with its `webui` port
/// and the sdctl sidecar.
pub fn fleet(replicas: i64) -> Value {
    json!({
        "apiVersion": "agones.dev/v1", "kind": "Fleet",
        "metadata": {"name": FLEET, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "scheduling": "Packed",
            "template": {
                "spec": {
                    "container": "webui",
                    "ports": [{"name": "webui", "containerPort": 7860, "protocol": "TCP", "portPolicy": "Dynamic"}],
                    "health": {"initialDelaySeconds": 60, "periodSeconds": 10, "failureThreshold": 5},
                    "template": {"spec": {
                        "serviceAccountName": "agones-sdk",
                        "containers": [
                            {"name": "webui", "image": "us-central1-docker.pkg.dev/p/sd-images/sd-webui:1",
                             "resources": {"limits": {"nvidia.com/gpu": "1"}}},
                            {"name": "sidecar", "image": "us-central1-docker.pkg.dev/p/sd-images/sdctl-runtime:1",
                             "args": ["runtime", "sidecar"]}
                        ]
                    }}
                }
            }
        }
    })
}

/// The real sdctl binary running `runtime ...`, killed on drop.
pub struct Process {
    pub child: tokio::process::Child,
    pub stderr: Arc<std::sync::Mutex<String>>,
}

impl Process {
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Process {
        let mut cmd = crate::support::sdctl();
        cmd.args(args).envs(env.iter().copied()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        let mut child = cmd.spawn().expect("sdctl starts");
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        Process { child, stderr }
    }

    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGTERM, as the kubelet sends; returns the exit code.
    pub async fn terminate(mut self) -> i32 {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await.expect("exits").unwrap();
        status.code().unwrap_or(-1)
    }
}

/// A router on a free port, ready when this returns.
pub struct RouterProcess {
    pub process: Process,
    pub url: String,
}

impl RouterProcess {
    pub async fn start(redis: &Redis, cluster: &Cluster, identity: &[&str]) -> RouterProcess {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["runtime", "router", "--listen", &listen, "--namespace", NS, "--fleet", FLEET];
        args.extend_from_slice(identity);
        let redis_url = redis.url();
        let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
        let process = Process::spawn(
            &args,
            &[
                ("SDCTL_REDIS_URL", &redis_url),
                ("SDCTL_REDIS_PASSWORD", REDIS_PASSWORD),
                ("KUBECONFIG", &kubeconfig),
                ("SDCTL_TIME_SCALE", "100"),
            ],
        );
        let url = format!("http://{listen}");
        let http = reqwest::Client::new();
        eventually(20, "the router answers its health check", || async {
            http.get(format!("{url}/healthz")).send().await.ok().filter(|r| r.status() == 200).map(|_| ())
        })
        .await;
        RouterProcess { process, url }
    }
}

impl Cluster {
    /// Allocates a Ready GameServer to `email` as the router would (label and annotation).
    pub async fn allocate_for(&self, email: &str) -> String {
        let api =
            gvk_api(&self.t.client, "allocation.agones.dev", "v1", "GameServerAllocation", "gameserverallocations");
        let request = json!({
            "apiVersion": "allocation.agones.dev/v1", "kind": "GameServerAllocation",
            "spec": {"selectors": [{"matchLabels": {"agones.dev/fleet": FLEET}, "gameServerState": "Ready"}],
                     "metadata": {"labels": {"sdctl.dev/user": sdctl::runtime::user::label(email)},
                                  "annotations": {"sdctl.dev/user-email": email}}},
        });
        let answer = api.create(&Default::default(), &serde_json::from_value(request).unwrap()).await.unwrap();
        assert_eq!(answer.data["status"]["state"], "Allocated", "{:?}", answer.data);
        answer.data["status"]["gameServerName"].as_str().unwrap().to_string()
    }

    pub async fn state_of(&self, name: &str) -> Option<String> {
        let gs = self.game_servers_api().get_opt(name).await.unwrap()?;
        if gs.metadata.deletion_timestamp.is_some() {
            return None;
        }
        Some(gs.data["status"]["state"].as_str().unwrap_or("").to_string())
    }
}
