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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::emulator::k8s_agones::{agones_namespace_objects, gpu_host, gvk_api, install_agones, nfs_volume, state_of};
use crate::emulator::k8s_host::{TestCluster, eventually, upstream_dir};

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

/// A stand-in WebUI: `/` answers with a page naming its address, `/echo` with what it received
/// (and its own address, so that a test sees which WebUI answered), `/queue/join` is a websocket
/// echo; `hits` counts every request; `status` switches `/`'s answers (200 or e.g. 503 while
/// "loading").
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route(
                "/",
                get(move || {
                    let s = s.clone();
                    async move {
                        let code = StatusCode::from_u16(s.load(Ordering::Relaxed)).unwrap();
                        (code, format!("<html>stand-in WebUI at {addr}</html>"))
                    }
                }),
            )
            .route("/echo", get(echo).post(echo))
            // A generation in progress: answers after a second.
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    "done"
                }),
            )
            .route("/queue/join", get(ws_echo))
            .layer(axum::Extension(addr))
            // Every request counts, whatever its path.
            .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
                h.fetch_add(1, Ordering::Relaxed);
                next.run(req)
            }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WebUi { addr, hits, status }
    }
}

async fn echo(
    axum::Extension(me): axum::Extension<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: String,
) -> impl IntoResponse {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    axum::Json(json!({
        "webui": me.to_string(),
        "uri": uri.to_string(),
        "cookie": h("cookie"),
        "authorization": h("authorization"),
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

/// An emulated cluster with Agones, namespace `sd` and the Fleet `webui` as the fleet step
/// renders it, whose GameServers report the stand-in WebUIs as their `webui` endpoints (the
/// GameServer on the n-th GPU node the n-th stand-in).
pub struct Cluster {
    pub t: TestCluster,
    pub kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(webui: SocketAddr, replicas: i64, ready_by_sidecar: bool) -> Cluster {
        Self::start_many(&[webui], replicas, ready_by_sidecar).await
    }

    pub async fn start_many(webuis: &[SocketAddr], replicas: i64, ready_by_sidecar: bool) -> Cluster {
        let host = gpu_host(1000.0);
        host.set_scenario(Scenario {
            game_server_endpoints: webuis.iter().map(|w| w.to_string()).collect(),
            game_server_ready_by_sidecar: ready_by_sidecar,
            ..Scenario::default()
        });
        {
            // One GPU node per GameServer, already there (no scale-up to wait for), labelled as
            // sdctl's GPU pool is.
            let gpu = &mut host.pools.lock().unwrap()[1];
            gpu.node_count = replicas.max(1) as u32;
            gpu.max_node_count = gpu.max_node_count.max(gpu.node_count);
            gpu.labels.insert("sdctl.dev/pool".into(), "gpu".into());
        }
        let t = TestCluster::start_with(host).await;
        install_agones(&t).await;
        agones_namespace_objects(&t.client, NS).await;
        // The shared volume the rendered Fleet mounts.
        nfs_volume(&t.client, "sd-demo-shared", "sdctl-shared").await;
        // The ConfigMap the router step makes, where the router publishes the queue's length.
        let maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(t.client.clone(), NS);
        let map = serde_json::from_value(json!({"metadata": {"name": "sdctl-queue"}})).expect("a ConfigMap");
        maps.create(&Default::default(), &map).await.expect("the queue's ConfigMap is created");
        let fleets = gvk_api(&t.client, "agones.dev", "v1", "Fleet", "fleets");
        let fleet: DynamicObject = serde_json::from_value(fleet(replicas)).unwrap();
        fleets.patch(FLEET, &PatchParams::apply("sdctl"), &Patch::Apply(&fleet)).await.expect("fleet applies");
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, &t.kubeconfig).unwrap();
        Cluster { t, kubeconfig, dir }
    }

    /// The emulator's API server, as the kubeconfig names it.
    pub fn api_addr(&self) -> SocketAddr {
        let text = std::fs::read_to_string(&self.kubeconfig).unwrap();
        let server = text.lines().find_map(|l| l.trim().strip_prefix("server: ")).expect("a server in the kubeconfig");
        server.trim_start_matches("https://").trim_end_matches('/').parse().expect("the server is ip:port")
    }

    /// A copy of the kubeconfig whose API server is `addr` (a relay in front of the emulator).
    pub fn kubeconfig_via(&self, addr: SocketAddr) -> PathBuf {
        let text = std::fs::read_to_string(&self.kubeconfig).unwrap();
        let path = self.dir.path().join(format!("kubeconfig-via-{}", addr.port()));
        std::fs::write(&path, text.replace(&self.api_addr().to_string(), &addr.to_string())).unwrap();
        path
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

/// The WebUI Fleet exactly as `sdctl render` writes it for the T4 example, with `replicas` (the
/// autoscaler's job in a real cluster).
pub fn fleet(replicas: i64) -> Value {
    static RENDERED: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let mut fleet = RENDERED
        .get_or_init(|| {
            let out = tempfile::tempdir().unwrap();
            let manifest = upstream_dir().join("agones-1.60.0/install.yaml");
            let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sd-agones-t4.yaml");
            let run = crate::support::sdctl()
                .args(["render", "--offline", "--out"])
                .arg(out.path())
                .arg("-c")
                .arg(&config)
                .arg("--agones-manifest")
                .arg(&manifest)
                .output()
                .expect("sdctl runs");
            assert!(run.status.success(), "sdctl render: {}", String::from_utf8_lossy(&run.stderr));
            let file = std::fs::read_dir(out.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.to_string_lossy().ends_with("-fleet.yaml"))
                .expect("the fleet step's objects");
            let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(file).unwrap()).unwrap();
            docs.into_iter().find(|d| d["kind"] == "Fleet").expect("a Fleet")
        })
        .clone();
    fleet["spec"]["replicas"] = json!(replicas);
    fleet
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
        Self::start_scaled(redis, cluster, identity, 100).await
    }

    /// With `SDCTL_TIME_SCALE=scale` (3600 turns the hourly key refresh into one per second).
    pub async fn start_scaled(redis: &Redis, cluster: &Cluster, identity: &[&str], scale: u32) -> RouterProcess {
        Self::start_with(redis, &cluster.kubeconfig, identity, scale).await
    }

    /// With the given kubeconfig and further arguments (`extra`).
    pub async fn start_with(redis: &Redis, kubeconfig: &std::path::Path, extra: &[&str], scale: u32) -> RouterProcess {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["runtime", "router", "--listen", &listen, "--namespace", NS];
        if !extra.contains(&"--fleet") {
            args.extend(["--fleet", FLEET]);
        }
        args.extend_from_slice(extra);
        let redis_url = redis.url();
        let kubeconfig = kubeconfig.to_str().unwrap().to_string();
        let process = Process::spawn(
            &args,
            &[
                ("SDCTL_REDIS_URL", &redis_url),
                ("SDCTL_REDIS_PASSWORD", REDIS_PASSWORD),
                ("KUBECONFIG", &kubeconfig),
                ("SDCTL_TIME_SCALE", &scale.to_string()),
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

/// An ES256 key pair for signing test tokens, and its public JWK.
pub struct SigningKey {
    encoding: jsonwebtoken::EncodingKey,
    pub jwk: Value,
}

impl SigningKey {
    pub fn new(kid: &str) -> SigningKey {
        use base64::Engine;
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let raw = pair.public_key_raw();
        assert_eq!(raw.len(), 65, "uncompressed P-256 point");
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk = json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                         "x": b64(&raw[1..33]), "y": b64(&raw[33..])});
        let encoding = jsonwebtoken::EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        SigningKey { encoding, jwk }
    }

    pub fn sign(&self, kid: &str, claims: Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}

/// A TCP relay on loopback that counts the connections made through it and the bytes sent, and
/// can go away like a WebUI whose pod is gone (`stop`).
pub struct CountingRelay {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub bytes_sent: Arc<AtomicUsize>,
    /// The accepting task, then one per relayed connection.
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl CountingRelay {
    pub async fn start(to: SocketAddr) -> CountingRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (connections, bytes_sent) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (c, b, t) = (connections.clone(), bytes_sent.clone(), tasks.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let b = b.clone();
                let relayed = tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(to).await else { return };
                    let (mut from_client, mut to_client) = client.into_split();
                    let (mut from_server, mut to_server) = server.into_split();
                    let up = async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                            b.fetch_add(n, Ordering::SeqCst);
                            if to_server.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = to_server.shutdown().await;
                    };
                    let down = async move {
                        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                        let _ = to_client.shutdown().await;
                    };
                    let _ = tokio::join!(up, down);
                });
                t.lock().unwrap().push(relayed.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accepting.abort_handle());
        CountingRelay { addr, connections, bytes_sent, tasks }
    }

    /// Closes every relayed connection and the listening socket: connecting is refused from now.
    pub async fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        // Aborted tasks drop their sockets when next polled.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
