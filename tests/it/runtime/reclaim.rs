//! `sdctl runtime reclaim` against redis-server and the emulated cluster: exactly the idle, the
//! dead, the orphaned and the tainted go; two passes at once do each thing once.

use super::support::{Cluster, NS, Process, REDIS_PASSWORD, Redis, RouterProcess, WebUi};
use crate::emulator::k8s_host::eventually;

async fn reclaim(redis: &Redis, cluster: &Cluster, extra: &[&str]) -> String {
    let mut args = vec!["runtime", "reclaim", "--namespace", NS, "--idle-minutes", "15"];
    args.extend_from_slice(extra);
    let url = redis.url();
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let mut p = Process::spawn(
        &args,
        &[("SDCTL_REDIS_URL", &url), ("SDCTL_REDIS_PASSWORD", REDIS_PASSWORD), ("KUBECONFIG", &kubeconfig)],
    );
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), p.child.wait()).await.unwrap().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(status.success(), "{}", p.log());
    p.log()
}

async fn map(redis: &Redis, email: &str, gameserver: &str, lastaccess: i64) {
    redis.set_field(email, "target", "127.0.0.1:7000").await;
    redis.set_field(email, "gameserver", gameserver).await;
    redis.set_field(email, "lastaccess", &lastaccess.to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reclaim_removes_exactly_the_idle_the_dead_and_the_orphaned() {
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 4, false).await;
    cluster.wait_ready(4).await;
    let now = sdctl::runtime::now_unix();
    let active = cluster.allocate_for("active@example.com").await;
    map(&redis, "active@example.com", &active, now - 60).await;
    let idle = cluster.allocate_for("idle@example.com").await;
    map(&redis, "idle@example.com", &idle, now - 3600).await;
    map(&redis, "dead@example.com", "webui-gone-1234", now).await;
    let orphan = cluster.allocate_for("orphan@example.com").await;
    // Bob's mapping names Active's GameServer: not his, so it is dead too.
    map(&redis, "bob@example.com", &active, now).await;

    let log = reclaim(&redis, &cluster, &[]).await;
    assert!(log.contains("reclaim finished idle=1 dead=2 orphaned=0 tainted=0 active=1"), "{log}");
    assert_eq!(cluster.state_of(&idle).await, None, "the idle user's GameServer was released");
    assert!(redis.mapping("idle@example.com").await.is_empty());
    assert!(redis.mapping("dead@example.com").await.is_empty());
    assert!(redis.mapping("bob@example.com").await.is_empty());
    assert_eq!(redis.mapping("active@example.com").await["gameserver"], active);
    assert_eq!(cluster.state_of(&active).await.as_deref(), Some("Allocated"));
    assert_eq!(cluster.state_of(&orphan).await.as_deref(), Some("Allocated"), "within its grace period");

    // Past the grace period, two passes at once: the orphan goes once, nothing else moves.
    let (a, b) = tokio::join!(
        reclaim(&redis, &cluster, &["--orphan-grace", "0s"]),
        reclaim(&redis, &cluster, &["--orphan-grace", "0s"])
    );
    let orphaned = |log: &str| log.contains("orphaned=1") as usize;
    assert_eq!(orphaned(&a) + orphaned(&b), 1, "{a}\n{b}");
    assert!(a.contains("idle=0 dead=0") && b.contains("idle=0 dead=0") && a.contains("active=1"), "{a}\n{b}");
    assert_eq!(cluster.state_of(&orphan).await, None);
    assert_eq!(cluster.state_of(&active).await.as_deref(), Some("Allocated"));
    let ready = cluster.game_servers().await.iter().filter(|g| g.data["status"]["state"] == "Ready").count();
    assert!(ready >= 1, "Ready GameServers are never touched");
    assert!(!format!("{a}{b}{log}").contains(REDIS_PASSWORD));
}

/// Code in a WebUI can call its Agones SDK sidecar's unauthenticated `POST /ready`, which sends
/// its Allocated GameServer back to Ready (Agones allows that, to reuse game servers). Nobody
/// else is ever handed that pod: allocation refuses GameServers that carry a user's label, and
/// reclaim deletes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webui_that_sends_itself_back_to_ready_is_never_handed_to_another_user() {
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 1, false).await;
    cluster.wait_ready(1).await;
    let router = RouterProcess::start(&redis, &cluster, &["--trust-iap-header"]).await;
    let get_as = |user: &str| {
        let request = reqwest::Client::new()
            .get(format!("{}/", router.url))
            .header("x-goog-authenticated-user-email", format!("accounts.google.com:{user}"));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get_as("alice@example.com").await, 200);
    let alices = redis.mapping("alice@example.com").await["gameserver"].clone();

    // Alice's WebUI calls its SDK's /ready: her GameServer is Ready again, with her label.
    cluster.t.clusters.sdk_ready("c1", NS, &alices).unwrap();
    eventually(20, "alice's GameServer back to Ready", || async {
        (cluster.state_of(&alices).await.as_deref() == Some("Ready")).then_some(())
    })
    .await;
    assert_eq!(get_as("bob@example.com").await, 503, "bob waits rather than get alice's pod");
    assert!(redis.mapping("bob@example.com").await.is_empty());
    let refused = cluster.allocations().last().cloned().unwrap();
    assert_eq!(refused["body"]["spec"]["selectors"][0]["matchExpressions"][0]["operator"], "DoesNotExist");

    // Reclaim deletes it; the Fleet's replacement is fresh, and bob gets that one.
    let log = reclaim(&redis, &cluster, &[]).await;
    assert!(log.contains("tainted=1"), "{log}");
    assert_eq!(cluster.state_of(&alices).await, None, "the tainted GameServer is gone");
    let fresh = cluster.wait_ready(1).await;
    assert!(fresh.iter().all(|g| kube::ResourceExt::name_any(g) != alices));
    eventually(20, "bob gets the fresh GameServer", || async {
        (get_as("bob@example.com").await == 200).then_some(())
    })
    .await;
    assert_ne!(redis.mapping("bob@example.com").await["gameserver"], alices);
}
