//! What the router's hop costs: many concurrent users on loopback, each request through
//! `sdctl runtime router` (real redis-server, the emulator's Kubernetes API with Agones, a
//! stand-in WebUI) versus straight to the WebUI, measured in one run.
//!
//! `cargo bench --bench router` (needs redis-server; set SDCTL_UPSTREAM_DIR if ../shared is not
//! beside the checkout). Knobs: BENCH_USERS (32), BENCH_CONCURRENCY (64), BENCH_SECONDS (5).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// What the shared test support expects of `crate::support`.
#[allow(dead_code)]
mod support {
    pub fn sdctl() -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sdctl"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        cmd
    }
}

use runtime_support::{Cluster, REDIS_PASSWORD, Redis, WebUi, free_port};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Sample {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Sample {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies.get(i).copied().unwrap_or_default()
    }
}

/// `concurrency` tasks send GET / as `users` different users for `seconds`.
async fn load(base: &str, proxied: bool, users: usize, concurrency: usize, seconds: u64) -> Sample {
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let (client, stop, base) = (client.clone(), stop.clone(), base.to_string());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    let mut req = client.get(format!("{base}/"));
                    if proxied {
                        req = req.header(
                            "x-goog-authenticated-user-email",
                            format!("accounts.google.com:u{}@example.com", n % users),
                        );
                    }
                    let sent = Instant::now();
                    let ok = match req.send().await {
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
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Sample { requests: latencies.len(), errors, elapsed, latencies }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 << 20).build().unwrap();
    rt.block_on(bench());
}

async fn bench() {
    let users = knob("BENCH_USERS", 32);
    let concurrency = knob("BENCH_CONCURRENCY", 64);
    let seconds = knob("BENCH_SECONDS", 5) as u64;
    eprintln!("setting up: redis-server, the emulated cluster with {users} WebUI GameServers, the router");
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, users as i64, false).await;
    cluster.wait_ready(users).await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut router = tokio::process::Command::from(support::sdctl());
    router
        .args(["runtime", "router", "--listen", &listen, "--namespace", "sd", "--fleet", "webui", "--trust-iap-header"])
        .env("SDCTL_REDIS_URL", redis.url())
        .env("SDCTL_REDIS_PASSWORD", REDIS_PASSWORD)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let _router = router.spawn().expect("router starts");
    let proxied = format!("http://{listen}");
    let direct = format!("http://{}", webui.addr);
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{proxied}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "router did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every user's first request allocates her GameServer; after that the mapping is warm.
    let first = Instant::now();
    for u in 0..users {
        let r = http
            .get(format!("{proxied}/"))
            .header("x-goog-authenticated-user-email", format!("accounts.google.com:u{u}@example.com"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "user {u} got a WebUI");
    }
    let first = first.elapsed() / users as u32;
    assert_eq!(cluster.allocated().await.len(), users, "one GameServer per user");

    load(&direct, false, users, concurrency, 1).await;
    load(&proxied, true, users, concurrency, 1).await;
    let d = load(&direct, false, users, concurrency, seconds).await;
    let p = load(&proxied, true, users, concurrency, seconds).await;
    println!(
        "router benchmark: {users} users, {concurrency} concurrent clients, {seconds} s per run, loopback, 2 shared cores"
    );
    println!("first request per user (allocation through the Kubernetes API + Redis): {:.1} ms average", ms(first));
    println!("{:<10} {:>10} {:>9} {:>9} {:>7}", "", "req/s", "p50 ms", "p99 ms", "errors");
    for (name, s) in [("direct", &d), ("router", &p)] {
        println!("{name:<10} {:>10.0} {:>9.2} {:>9.2} {:>7}", s.rps(), ms(s.pct(0.5)), ms(s.pct(0.99)), s.errors);
    }
    println!(
        "router/direct: throughput {:.2}x, p50 +{:.2} ms, p99 +{:.2} ms added by the proxy hop",
        p.rps() / d.rps(),
        ms(p.pct(0.5)) - ms(d.pct(0.5)),
        ms(p.pct(0.99)) - ms(d.pct(0.99))
    );
}
