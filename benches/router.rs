//! What the router's hop costs, side by side with nginx: many concurrent users on loopback, each
//! request sent straight to a stand-in WebUI, through nginx `proxy_pass` with a keep-alive
//! upstream (the guide's proxy, without its per-request Lua and Redis lookup), and through
//! `sdctl runtime router` (IAP's ES256 JWT verified, real redis-server, the emulator's Kubernetes
//! API with Agones). The same load generator, headers and WebUI for all three, in rounds that
//! alternate between them, so the ratios compare like with like on a noisy machine. Websocket
//! round trips (Gradio's queue) too. Beside rates and latencies, each proxy's CPU time per
//! request (its processes' user and system time from /proc): what it costs, whatever share of
//! the shared cores the load generator leaves it.
//!
//! `cargo bench --bench router` (needs redis-server; nginx for its rows: Debian's `nginx-light`;
//! the upstream files as the tests get them: SDCTL_UPSTREAM_DIR or downloaded). Knobs: BENCH_USERS (32),
//! BENCH_CONCURRENCY (64), BENCH_SECONDS (3 per round), BENCH_ROUNDS (3), BENCH_WEBSOCKETS (16),
//! BENCH_LOAD (`tokio`: the bench's own HTTP clients even when wrk is installed), BENCH_WRK_THREADS (2),
//! BENCH_ROUTER_LOG (a RUST_LOG filter for the router), BENCH_ROUTER_LOG_FILE (where its log is
//! kept), BENCH_ROUTER_WRAPPER (a command the router runs under, to profile it: `valgrind
//! --tool=callgrind --callgrind-out-file=/tmp/router.cg`, a command that runs the router in its own
//! process and passes SIGTERM on; its figures are then the profiler's, not the router's); the
//! router's own SDCTL_ROUTER_THREADS passes through.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use http::HeaderValue;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

// The integration tests' helpers, shared rather than copied.
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/emulator/k8s_agones.rs"]
mod k8s_agones;
#[allow(dead_code, unused_imports)]
#[path = "../tests/it/emulator/k8s_host.rs"]
mod k8s_host;
mod emulator {
    pub(crate) use super::{k8s_agones, k8s_host};
}

#[allow(dead_code, unused_imports)]
#[path = "../tests/it/runtime/support.rs"]
mod runtime_support;

#[path = "../tests/it/support/upstream.rs"]
mod upstream_files;

/// What the shared test support expects of `crate::support`.
#[allow(dead_code)]
mod support {
    pub(crate) use super::upstream_files as upstream;

    pub fn sdctl() -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sdctl"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        cmd
    }
}

use runtime_support::{Cluster, REDIS_PASSWORD, Redis, SigningKey, WebUi, free_port};

const JWT_HEADER: &str = "x-goog-iap-jwt-assertion";
/// The audience `up` gives the router: exactly the backend service.
const AUDIENCE: &str = "/projects/123456789/global/backendServices/987654321";

/// BENCH_ROUTER_WRAPPER split into words (empty: the router runs on its own).
fn wrapper() -> Vec<String> {
    std::env::var("BENCH_ROUTER_WRAPPER").unwrap_or_default().split_whitespace().map(String::from).collect()
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Requests (or websocket round trips) of one target, over every round.
#[derive(Default)]
struct Sample {
    /// Requests (or round trips) answered.
    done: usize,
    errors: usize,
    elapsed: Duration,
    /// Sorted. From wrk, with its correction for coordinated omission: a connection that waited
    /// long also counts the requests it would have sent meanwhile (so there may be more than
    /// `done`).
    latencies: Vec<Duration>,
    /// CPU time the proxy's processes used meanwhile (none for direct: the WebUI is in-process).
    cpu: Option<Duration>,
}

impl Sample {
    fn add(&mut self, other: Sample) {
        self.done += other.done;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self.cpu = match (self.cpu, other.cpu) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// The proxy's CPU time per request or message, in microseconds.
    fn cpu_per_request(&self) -> Option<f64> {
        self.cpu.map(|cpu| cpu.as_secs_f64() * 1e6 / self.done.max(1) as f64)
    }

    fn rate(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(i).copied().unwrap_or_default()
    }
}

/// CPU time (user and system) used so far by `pid` and its children processes (nginx's
/// workers), from /proc: the proxies' own cost, whatever the load generator beside them gets.
fn cpu_of(pid: Option<u32>) -> Option<Duration> {
    let pid = pid?;
    // Fields after the command's closing parenthesis: state is 3rd, ppid 4th, utime 14th, stime 15th.
    let stat = |p: &str| -> Option<(u32, u64)> {
        let text = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        Some((
            fields.get(1)?.parse().ok()?,
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
        ))
    };
    let mut ticks = stat(&pid.to_string())?.1;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.bytes().all(|b| b.is_ascii_digit())
            && let Some((ppid, t)) = stat(&name)
            && ppid == pid
        {
            ticks += t;
        }
    }
    // Linux counts in USER_HZ, 100 per second on every architecture it runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Runs one load and adds to it the CPU time `pid` (and its children) used meanwhile.
async fn measured(pid: Option<u32>, load: impl std::future::Future<Output = Sample>) -> Sample {
    let before = cpu_of(pid);
    let mut sample = load.await;
    sample.cpu = before.zip(cpu_of(pid)).map(|(b, a)| a.saturating_sub(b));
    sample
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `concurrency` clients send GET / for `seconds`, each request as the next user (its IAP token).
async fn http_load(base: &str, tokens: &Arc<Vec<HeaderValue>>, concurrency: usize, seconds: u64) -> Sample {
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let (client, stop, tokens, url) = (client.clone(), stop.clone(), tokens.clone(), format!("{base}/"));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    let request = client.get(&url).header(JWT_HEADER, tokens[n % tokens.len()].clone());
                    let sent = Instant::now();
                    let ok = match request.send().await {
                        Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                    n += concurrency;
                }
                (latencies, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    collect(tasks, started).await
}

/// HTTP load from wrk (Debian's `wrk`), a load generator in C in a process of its own, as the issue's
/// first measurement was made: its threads cost the shared cores less than the bench's own clients.
/// Each request goes as the next user, as with those clients; wrk's latency histogram comes back
/// whole, so that rounds add up as exactly as the in-process samples do.
struct Wrk {
    binary: std::path::PathBuf,
    threads: usize,
    /// The Lua script and the users' tokens, one per line.
    dir: tempfile::TempDir,
}

const WRK_SCRIPT: &str = r#"
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
init = function(args)
  requests = {}
  for token in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", "/", { ["x-goog-iap-jwt-assertion"] = token })
  end
  n = (id or 0) * 7 % #requests
end
request = function()
  n = n % #requests + 1
  return requests[n]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("bench-summary %d %d %d\n", summary.requests - e.status, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
  for i = 1, #latency do
    local us, count = latency(i)
    io.write(string.format("bench-latency %d %d\n", us, count))
  end
end
"#;

impl Wrk {
    /// wrk when it is installed and BENCH_LOAD is not `tokio`.
    fn find(tokens: &[HeaderValue]) -> Option<Wrk> {
        if std::env::var("BENCH_LOAD").is_ok_and(|l| l == "tokio") {
            return None;
        }
        let binary = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).map(|d| d.join("wrk")).collect::<Vec<_>>())?
            .into_iter()
            .find(|p| p.is_file())?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("load.lua"), WRK_SCRIPT).unwrap();
        let lines: Vec<&str> = tokens.iter().map(|t| t.to_str().unwrap()).collect();
        std::fs::write(dir.path().join("tokens"), lines.join("\n") + "\n").unwrap();
        Some(Wrk { binary, threads: knob("BENCH_WRK_THREADS", 2), dir })
    }

    async fn load(&self, base: &str, concurrency: usize, seconds: u64) -> Sample {
        let out = tokio::process::Command::new(&self.binary)
            .args(["-t", &self.threads.min(concurrency).to_string(), "-c", &concurrency.to_string()])
            .args(["-d", &format!("{seconds}s"), "-s"])
            .arg(self.dir.path().join("load.lua"))
            .arg(format!("{base}/"))
            .arg("--")
            .arg(self.dir.path().join("tokens"))
            .output()
            .await
            .expect("wrk runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("bench-summary"),
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut sample = Sample::default();
        for line in text.lines() {
            let numbers: Vec<u64> = line.split_whitespace().skip(1).filter_map(|n| n.parse().ok()).collect();
            match (line.split_whitespace().next(), numbers.as_slice()) {
                (Some("bench-summary"), [done, micros, errors]) => {
                    sample.done = *done as usize;
                    sample.elapsed = Duration::from_micros(*micros);
                    sample.errors = *errors as usize;
                }
                (Some("bench-latency"), [micros, count]) => {
                    sample.latencies.extend(std::iter::repeat_n(Duration::from_micros(*micros), *count as usize))
                }
                _ => {}
            }
        }
        sample.latencies.sort();
        sample
    }
}

/// `connections` websockets (one user each) send a message and wait for its echo, for `seconds`.
async fn ws_load(base: &str, tokens: &Arc<Vec<HeaderValue>>, connections: usize, seconds: u64) -> Sample {
    let stop = Arc::new(AtomicBool::new(false));
    let mut sockets = Vec::new();
    for c in 0..connections {
        let mut request = format!("{base}/queue/join").into_client_request().unwrap();
        request.headers_mut().insert(JWT_HEADER, tokens[c % tokens.len()].clone());
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket connects");
        sockets.push(socket);
    }
    let started = Instant::now();
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let ok = socket.send(Message::text("{\"msg\":\"estimation\"}")).await.is_ok()
                        && matches!(socket.next().await, Some(Ok(Message::Text(_))));
                    if ok {
                        latencies.push(sent.elapsed());
                    } else {
                        errors += 1;
                        break;
                    }
                }
                let _ = socket.close(None).await;
                (latencies, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    collect(tasks, started).await
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>, started: Instant) -> Sample {
    let mut sample = Sample::default();
    for t in tasks {
        let (l, e) = t.await.unwrap();
        sample.latencies.extend(l);
        sample.errors += e;
    }
    sample.elapsed = started.elapsed();
    sample.done = sample.latencies.len();
    sample.latencies.sort();
    sample
}

/// Debian's nginx as a reverse proxy to `upstream`, configured as one would put it in front of a
/// WebUI: keep-alive upstream connections, websockets passed on, an access log. None (and why)
/// when nginx is not installed.
struct Nginx {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: SocketAddr) -> Result<Nginx, String> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .ok_or("nginx is not installed (Debian: apt-get install nginx-light)")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path().display();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let conf = format!(
            r#"daemon off;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream webui {{ server {upstream}; keepalive 64; }}
  map $http_upgrade $connection_upgrade {{ default upgrade; '' ''; }}
  server {{
    listen {addr};
    location / {{
      proxy_pass http://webui;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_read_timeout 900s;
    }}
  }}
}}
"#
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).map_err(|e| e.to_string())?;
        let child = std::process::Command::new(binary)
            .args(["-p", &d.to_string(), "-e", &format!("{d}/error.log"), "-c", &path.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        Ok(Nginx { child, addr, _dir: dir })
    }
}

impl Drop for Nginx {
    /// A fast shutdown (SIGTERM): the master stops its workers before it exits. SIGKILL left the
    /// workers of every run behind, holding their ports.
    fn drop(&mut self) {
        if !terminate(self.child.id()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM to `pid`; whether it was sent.
fn terminate(pid: u32) -> bool {
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().is_ok_and(|s| s.success())
}

/// IAP as the bench plays it: an ES256 key, its JWKS served on loopback, a token per user.
struct Iap {
    jwks_url: String,
    tokens: Arc<Vec<HeaderValue>>,
}

impl Iap {
    async fn start(users: usize) -> Iap {
        let key = SigningKey::new("bench");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let tokens = (0..users)
            .map(|u| {
                let claims = json!({"iss": "https://cloud.google.com/iap", "aud": AUDIENCE,
                                    "email": format!("u{u}@example.com"), "sub": format!("accounts.google.com:{u}"),
                                    "iat": now - 10, "exp": now + 600});
                HeaderValue::from_str(&key.sign("bench", claims)).unwrap()
            })
            .collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let jwks_url = format!("http://{}/jwk", listener.local_addr().unwrap());
        let keys = json!({"keys": [key.jwk]});
        let app = axum::Router::new().route("/jwk", axum::routing::get(move || async move { axum::Json(keys) }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Iap { jwks_url, tokens: Arc::new(tokens) }
    }
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 << 20).build().unwrap();
    rt.block_on(bench());
}

async fn wait_until_answering(url: &str, what: &str) {
    let http = reqwest::Client::new();
    // A router under valgrind takes a while to read its own symbols.
    let patience = if wrapper().is_empty() { 20 } else { 300 };
    let deadline = Instant::now() + Duration::from_secs(patience);
    while http.get(url).send().await.is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bench() {
    let users = knob("BENCH_USERS", 32);
    let concurrency = knob("BENCH_CONCURRENCY", 64);
    let seconds = knob("BENCH_SECONDS", 3) as u64;
    let rounds = knob("BENCH_ROUNDS", 3);
    let websockets = knob("BENCH_WEBSOCKETS", 16);
    eprintln!("setting up: redis-server, the emulated cluster with {users} WebUI GameServers, the router, nginx");
    // The stand-in WebUI on a runtime of its own, as a WebUI is a process of its own: the
    // emulated cluster's work (the router's background checks) must not stall its answers.
    let webui_runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let webui = webui_runtime.spawn(WebUi::start()).await.unwrap();
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, users as i64, false).await;
    cluster.wait_ready(users).await;
    let iap = Iap::start(users).await;
    let log_dir = tempfile::tempdir().unwrap();
    let router_log = std::fs::File::create(log_dir.path().join("router.log")).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut router = match wrapper().split_first() {
        Some((program, args)) => {
            let mut wrapped = tokio::process::Command::new(program);
            wrapped.args(args).arg(support::sdctl().get_program());
            wrapped
        }
        None => tokio::process::Command::from(support::sdctl()),
    };
    router
        .args(["runtime", "router", "--listen", &listen, "--namespace", "sd", "--fleet", "webui"])
        .args(["--iap-audience", AUDIENCE, "--iap-jwks-url", &iap.jwks_url])
        .env("SDCTL_REDIS_URL", redis.url())
        .env("SDCTL_REDIS_PASSWORD", REDIS_PASSWORD)
        .env("KUBECONFIG", &cluster.kubeconfig)
        // BENCH_ROUTER_LOG (a RUST_LOG filter) measures another log level than the default.
        .env_remove("RUST_LOG")
        .envs(std::env::var("BENCH_ROUTER_LOG").ok().map(|f| ("RUST_LOG", f)))
        .stdout(Stdio::null())
        // Its logs go to a file, as a container's go to the node's disk.
        .stderr(router_log)
        .kill_on_drop(true);
    let mut router = router.spawn().expect("router starts");
    let proxied = format!("http://{listen}");
    wait_until_answering(&format!("{proxied}/healthz"), "the router").await;
    let nginx = Nginx::start(webui.addr);
    if let Ok(n) = &nginx {
        wait_until_answering(&format!("http://{}/", n.addr), "nginx").await;
    }

    // Every user's first request allocates her GameServer; after that the mapping is warm.
    let http = reqwest::Client::new();
    let first = Instant::now();
    for token in iap.tokens.iter() {
        let r = http.get(format!("{proxied}/")).header(JWT_HEADER, token.clone()).send().await.unwrap();
        assert_eq!(r.status(), 200, "a user got a WebUI");
    }
    let first = first.elapsed() / users as u32;
    assert_eq!(cluster.allocated().await.len(), users, "one GameServer per user");

    // Each target with the process serving it, whose CPU time is measured (direct: none).
    let mut targets = vec![("direct", format!("http://{}", webui.addr))];
    let mut pids = vec![None];
    if let Ok(n) = &nginx {
        targets.push(("nginx", format!("http://{}", n.addr)));
        pids.push(Some(n.child.id()));
    }
    targets.push(("router", proxied.clone()));
    pids.push(router.id());
    let mut http_samples: Vec<Sample> = targets.iter().map(|_| Sample::default()).collect();
    let mut ws_samples: Vec<Sample> = targets.iter().map(|_| Sample::default()).collect();
    let wrk = Wrk::find(&iap.tokens);
    let http_round = async |base: &str, seconds: u64| match &wrk {
        Some(wrk) => wrk.load(base, concurrency, seconds).await,
        None => http_load(base, &iap.tokens, concurrency, seconds).await,
    };
    for round in 0..rounds {
        // Each round starts with another target, so that none always runs on a warmer machine.
        for i in (0..targets.len()).map(|i| (i + round) % targets.len()) {
            let base = &targets[i].1;
            // A second unmeasured first, so that each round measures users who are active: the
            // router checks a mapping unused for 30 s again before it uses it (a Redis and a
            // Kubernetes call, slow here, where the emulated API shares the cores with the load),
            // and the other targets' rounds last longer than that.
            http_round(base, 1).await;
            http_samples[i].add(measured(pids[i], http_round(base, seconds)).await);
            let ws = base.replacen("http://", "ws://", 1);
            ws_samples[i].add(measured(pids[i], ws_load(&ws, &iap.tokens, websockets, seconds.div_ceil(2))).await);
        }
    }

    println!(
        "router benchmark: {users} users, {concurrency} concurrent HTTP clients, {websockets} websockets, \
         {rounds} rounds of {seconds} s, loopback, {} cores shared by all",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "first request per user (IAP token, allocation through the Kubernetes API + Redis): {:.1} ms average",
        ms(first)
    );
    match &wrk {
        Some(wrk) => println!("HTTP load: wrk, {} threads, in a process of its own", wrk.threads),
        None => {
            println!("HTTP load: the bench's own tokio clients, in-process (wrk is not installed or BENCH_LOAD=tokio)")
        }
    }
    if let Err(why) = &nginx {
        println!("nginx rows skipped: {why}");
    }
    table("HTTP GET /", "req/s", &targets, &http_samples);
    table("websocket round trips", "msg/s", &targets, &ws_samples);
    if !wrapper().is_empty() {
        // A profiler writes its figures when the router ends as it does in a pod: on SIGTERM.
        if let Some(pid) = router.id() {
            terminate(pid);
        }
        let _ = tokio::time::timeout(Duration::from_secs(120), router.wait()).await;
    }
    webui_runtime.shutdown_background();
    let logged = std::fs::read_to_string(log_dir.path().join("router.log")).unwrap_or_default();
    if let Ok(keep) = std::env::var("BENCH_ROUTER_LOG_FILE") {
        std::fs::write(&keep, &logged).unwrap_or_else(|e| panic!("cannot write {keep}: {e}"));
    }
    let trouble: Vec<&str> = logged.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect();
    println!("\nrouter log: {} lines, {} warnings or errors", logged.lines().count(), trouble.len());
    for line in trouble.iter().take(5) {
        println!("  {line}");
    }
}

/// One table, and the router's figures relative to nginx's (or, without nginx, to direct).
fn table(title: &str, unit: &str, targets: &[(&str, String)], samples: &[Sample]) {
    println!("\n{title}");
    println!("{:<8} {:>10} {:>9} {:>9} {:>7} {:>9}", "", unit, "p50 ms", "p99 ms", "errors", "CPU µs");
    for ((name, _), s) in targets.iter().zip(samples) {
        let cpu = s.cpu_per_request().map_or("-".to_string(), |us| format!("{us:.1}"));
        println!(
            "{name:<8} {:>10.0} {:>9.2} {:>9.2} {:>7} {cpu:>9}",
            s.rate(),
            ms(s.pct(0.5)),
            ms(s.pct(0.99)),
            s.errors
        );
    }
    let Some(router) = samples.last() else { return };
    let base_at = targets.iter().position(|(n, _)| *n == "nginx").unwrap_or(0);
    let base = &samples[base_at];
    let cpu = match (router.cpu_per_request(), base.cpu_per_request()) {
        (Some(r), Some(b)) => format!(", CPU per request {:.2}x", r / b.max(0.001)),
        _ => String::new(),
    };
    println!(
        "router/{}: throughput {:.2}x, p50 {:+.2} ms, p99 {:.2}x{cpu}",
        targets[base_at].0,
        router.rate() / base.rate(),
        ms(router.pct(0.5)) - ms(base.pct(0.5)),
        ms(router.pct(0.99)) / ms(base.pct(0.99)).max(0.001),
    );
}
