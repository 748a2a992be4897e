//! `sdctl runtime router` against a real redis-server and the emulated cluster: users get their
//! own GameServers (each at its own stand-in WebUI, so a request routed to the wrong one shows)
//! and keep them, parallel first requests allocate once, dead GameServers are replaced, IAP's JWT
//! is verified, IAP's cookies never reach a WebUI, cross-site requests are refused, websockets
//! pass, a full cluster shows the 503 page, every serving thread finishes its requests on
//! SIGTERM, the Kubernetes connections outlast a quiet spell, connections to a WebUI are kept,
//! and a request for a WebUI that went away goes to the next one, body and all; idle client
//! connections outlast Google's load balancer's keep-alive.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use kube::ResourceExt;
use kube::api::DeleteParams;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::support::{Cluster, CountingRelay, Redis, RouterProcess, SigningKey, WebUi};
use crate::emulator::k8s_host::eventually;

const EMAIL: &str = "x-goog-authenticated-user-email";

fn label(email: &str) -> String {
    sdctl::runtime::user::label(email)
}

async fn get_as(router: &RouterProcess, user: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", router.url))
        .header(EMAIL, format!("accounts.google.com:{user}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_get_their_own_webui_and_keep_it() {
    let webuis = [WebUi::start().await, WebUi::start().await];
    let redis = Redis::start();
    let cluster = Cluster::start_many(&[webuis[0].addr, webuis[1].addr], 2, false).await;
    cluster.wait_ready(2).await;
    // The Fleet's port policy is None: no WebUI port is open on any node.
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(cluster.t.client.clone(), "sd");
    for pod in pods.list(&Default::default()).await.unwrap() {
        for c in pod.spec.unwrap().containers {
            assert!(c.ports.unwrap_or_default().iter().all(|p| p.host_port.is_none()), "{}: a host port", c.name);
        }
    }
    let router = RouterProcess::start(&redis, &cluster, &["--trust-iap-header"]).await;

    // Health checks: the health path and Google's checker get 200 without an identity.
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{}/healthz", router.url)).send().await.unwrap().status(), 200);
    let hc = http.get(format!("{}/", router.url)).header("user-agent", "GoogleHC/1.0").send().await.unwrap();
    assert_eq!(hc.status(), 200);
    let anonymous = http.get(format!("{}/", router.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.text().await.unwrap().contains("Identity-Aware Proxy"));
    assert!(cluster.allocations().is_empty(), "no allocation without a user");

    // Alice's browser opens the page with ten parallel requests: one allocation.
    let first: Vec<_> = futures::future::join_all((0..10).map(|_| get_as(&router, "alice@example.com", "/"))).await;
    let mut pages = Vec::new();
    for r in first {
        assert_eq!(r.status(), 200);
        pages.push(r.text().await.unwrap());
    }
    assert_eq!(cluster.allocations().len(), 1, "parallel first requests allocate once");
    let mapping = redis.mapping("alice@example.com").await;
    let alices_webui = mapping["target"].clone();
    assert!(webuis.iter().any(|w| w.addr.to_string() == alices_webui), "{alices_webui}");
    assert!(pages.iter().all(|p| *p == format!("<html>stand-in WebUI at {alices_webui}</html>")), "{pages:?}");
    let alices = mapping["gameserver"].clone();
    assert!(mapping["lastaccess"].parse::<i64>().unwrap() > 1_700_000_000);
    let allocation = &cluster.allocations()[0]["body"]["spec"];
    assert_eq!(allocation["selectors"][0]["matchLabels"]["agones.dev/fleet"], "webui");
    assert_eq!(allocation["metadata"]["labels"]["sdctl.dev/user"], label("alice@example.com"));
    assert_eq!(allocation["metadata"]["annotations"]["sdctl.dev/user-email"], "alice@example.com");

    // Bob gets the other GameServer; the GameServers carry their users' labels.
    assert_eq!(get_as(&router, "bob@example.com", "/").await.status(), 200);
    let bobs = redis.mapping("bob@example.com").await["gameserver"].clone();
    assert_ne!(alices, bobs);
    let bobs_webui = redis.mapping("bob@example.com").await["target"].clone();
    assert_ne!(alices_webui, bobs_webui, "each GameServer is its own WebUI");
    let page = get_as(&router, "bob@example.com", "/").await.text().await.unwrap();
    assert_eq!(page, format!("<html>stand-in WebUI at {bobs_webui}</html>"), "bob reaches his own WebUI");
    let mut want = vec![(alices.clone(), label("alice@example.com")), (bobs.clone(), label("bob@example.com"))];
    want.sort();
    assert_eq!(cluster.allocated().await, want);

    // Carol finds no free GPU: a page that says so and reloads itself.
    let carol = get_as(&router, "carol@example.com", "/").await;
    assert_eq!(carol.status(), 503);
    assert_eq!(carol.headers()["retry-after"], "10");
    let page = carol.text().await.unwrap();
    assert!(page.contains("Waiting for a free GPU") && page.contains(r#"http-equiv="refresh""#), "{page}");
    assert!(redis.mapping("carol@example.com").await.is_empty());

    // Requests and bodies pass through to her WebUI; IAP's assertion and session cookies (which
    // would let code in the WebUI act as her through IAP) do not, the WebUI's own cookies do.
    let echoed: Value = reqwest::Client::new()
        .post(format!("{}/echo?x=1", router.url))
        .header(EMAIL, "accounts.google.com:alice@example.com")
        .header("x-goog-iap-jwt-assertion", "not-for-the-webui")
        .header("cookie", "GCP_IAP_UID=1234; theme=dark; __Host-GCP_IAP_AUTH_TOKEN_0A1B=forged-or-real")
        .header("cookie", "GCP_IAP_XSRF_NONCE_abc=1")
        .body("prompt=a cat")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["webui"], alices_webui.as_str());
    assert_eq!(echoed["uri"], "/echo?x=1");
    assert_eq!(echoed["body"], "prompt=a cat");
    assert_eq!(echoed["assertion"], "");
    assert_eq!(echoed["cookie"], "theme=dark");
    assert_eq!(echoed["forwardedFor"], "127.0.0.1");
    assert_eq!(echoed["user"], "accounts.google.com:alice@example.com");

    // A page of another site cannot drive her WebUI with her IAP session: state-changing requests
    // and websockets carrying a foreign Origin are refused; her own page's are not.
    let hits = webuis.iter().map(|w| w.hits.load(std::sync::atomic::Ordering::Relaxed)).sum::<usize>();
    let host = router.url.trim_start_matches("http://").to_string();
    for (origin, want) in [("https://evil.example", 403), ("null", 403), (&*format!("http://{host}"), 200)] {
        let r = reqwest::Client::new()
            .post(format!("{}/echo", router.url))
            .header(EMAIL, "accounts.google.com:alice@example.com")
            .header("origin", origin)
            .body("delete everything")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "POST with Origin {origin}");
    }
    let mut request = format!("{}/queue/join", router.url.replace("http://", "ws://")).into_client_request().unwrap();
    request.headers_mut().insert(EMAIL, "accounts.google.com:alice@example.com".parse().unwrap());
    request.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await.expect_err("a cross-site websocket is refused");
    assert!(refused.to_string().contains("403"), "{refused}");
    // An oversized body is refused from its headers, before it reaches anyone.
    let mut raw = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /echo HTTP/1.1\r\nhost: {host}\r\n{EMAIL}: accounts.google.com:alice@example.com\r\ncontent-length: {}\r\n\r\n",
        sdctl::runtime::router::MAX_BODY + 1
    );
    tokio::io::AsyncWriteExt::write_all(&mut raw, head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = tokio::io::AsyncReadExt::read(&mut raw, &mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 403"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    let after = webuis.iter().map(|w| w.hits.load(std::sync::atomic::Ordering::Relaxed)).sum::<usize>();
    assert_eq!(after, hits + 1, "only the same-site request reached a WebUI");

    // Gradio's queue: a websocket through the router, counted as activity.
    redis.set_field("alice@example.com", "lastaccess", "1").await;
    let mut request = format!("{}/queue/join", router.url.replace("http://", "ws://")).into_client_request().unwrap();
    request.headers_mut().insert(EMAIL, "accounts.google.com:alice@example.com".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.expect("websocket through the router");
    assert_eq!(response.status(), 101);
    for i in 0..5 {
        ws.send(Message::text(format!("step {i}"))).await.unwrap();
        let reply = ws.next().await.unwrap().unwrap();
        assert_eq!(reply.into_text().unwrap().as_str(), format!("echo: step {i}"));
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    ws.close(None).await.unwrap();
    eventually(5, "websocket traffic recorded as activity", || async {
        (redis.mapping("alice@example.com").await["lastaccess"] != "1").then_some(())
    })
    .await;

    // A restarted router finds the same GameServers (Redis), without allocating.
    assert_eq!(router.process.terminate().await, 0, "clean exit on SIGTERM");
    let router = RouterProcess::start(&redis, &cluster, &["--trust-iap-header"]).await;
    assert_eq!(get_as(&router, "alice@example.com", "/").await.status(), 200);
    assert_eq!(redis.mapping("alice@example.com").await["gameserver"], alices);
    // Even with her mapping lost, her labelled GameServer is found again, not re-allocated.
    let mut c = redis.conn().await;
    let _: () = redis::cmd("DEL").arg("sdctl:user:alice@example.com").query_async(&mut c).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(get_as(&router, "alice@example.com", "/").await.status(), 200);
    // (Her request did not wait: the router's check runs beside it and restores the mapping.)
    eventually(10, "the mapping restored", || async {
        (redis.mapping("alice@example.com").await.get("gameserver") == Some(&alices)).then_some(())
    })
    .await;
    assert_eq!(cluster.allocations().len(), 3, "alice, bob and carol's refused attempt");

    // Alice's GameServer dies: the Fleet replaces it and her next request gets the new one.
    cluster.game_servers_api().delete(&alices, &DeleteParams::default()).await.unwrap();
    eventually(20, "a replacement Ready GameServer", || async {
        let all = cluster.game_servers().await;
        (all.iter().all(|g| g.name_any() != alices) && all.iter().any(|g| g.data["status"]["state"] == "Ready"))
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(get_as(&router, "alice@example.com", "/").await.status(), 200);
    // The request may have been served from the router's memory while a check beside it finds
    // the GameServer gone and allocates another: the mapping is repaired shortly.
    let replaced = eventually(10, "the stale mapping repaired", || async {
        redis.mapping("alice@example.com").await.get("gameserver").filter(|g| **g != alices).cloned()
    })
    .await;
    assert!(cluster.allocated().await.contains(&(replaced, label("alice@example.com"))));
    assert!(router.process.log().contains("stale mapping"), "{}", router.process.log());
    assert!(!router.process.log().contains(super::support::REDIS_PASSWORD), "no secret in the logs");
}

/// The audience `up` gives the router once the load balancer exists: exactly its backend service.
const AUDIENCE: &str = "/projects/123456789/global/backendServices/987654321";

/// With a Fleet per template (runtime.kind agones and two templates), a user without the
/// template cookie gets their dashboard; opening a template allocates from its Fleet, under the
/// key `<fleet>/<email>`, and stopping releases it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_fleet_per_template_users_choose_on_their_dashboard() {
    let webuis = [WebUi::start().await, WebUi::start().await];
    let redis = Redis::start();
    let cluster = Cluster::start_many(&[webuis[0].addr, webuis[1].addr], 2, false).await;
    // The second template's Fleet, rendered alike; one warm WebUI each.
    let fleets = crate::emulator::k8s_agones::gvk_api(&cluster.t.client, "agones.dev", "v1", "Fleet", "fleets");
    let apply = kube::api::PatchParams::apply("sdctl");
    for (name, replicas) in [("webui", 1), ("sdxl", 1)] {
        let mut fleet = super::support::fleet(replicas);
        fleet["metadata"]["name"] = json!(name);
        let fleet: kube::api::DynamicObject = serde_json::from_value(fleet).unwrap();
        fleets.patch(name, &apply, &kube::api::Patch::Apply(&fleet)).await.unwrap();
    }
    let servers = cluster.game_servers_api();
    eventually(30, "a Ready GameServer in each Fleet", || async {
        let list = servers.list(&Default::default()).await.unwrap().items;
        let ready = |fleet: &str| {
            list.iter().any(|g| {
                g.labels().get("agones.dev/fleet").map(String::as_str) == Some(fleet)
                    && g.data["status"]["state"] == "Ready"
            })
        };
        (ready("webui") && ready("sdxl")).then_some(())
    })
    .await;
    let router = RouterProcess::start(&redis, &cluster, &["--trust-iap-header", "--fleet", "webui,sdxl"]).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let as_alice = |req: reqwest::RequestBuilder| req.header(EMAIL, "accounts.google.com:alice@example.com");

    let page = as_alice(http.get(format!("{}/", router.url))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("webui") && page.contains("sdxl") && page.contains("none yet"), "{page}");
    assert!(!page.contains("/_sdctl/delete"), "no disks to delete with agones: {page}");
    assert!(cluster.allocations().is_empty(), "the dashboard allocates nothing");

    let open = as_alice(http.post(format!("{}/_sdctl/open?template=sdxl", router.url))).send().await.unwrap();
    assert_eq!(open.status(), 303);
    assert_eq!(cluster.allocations().len(), 1);
    assert_eq!(cluster.allocations()[0]["body"]["spec"]["selectors"][0]["matchLabels"]["agones.dev/fleet"], "sdxl");
    let mapping = redis.mapping("sdxl/alice@example.com").await;
    assert!(redis.mapping("alice@example.com").await.is_empty());
    let echoed: Value = as_alice(http.get(format!("{}/echo", router.url)))
        .header("cookie", "sdctl-template=sdxl")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["webui"], mapping["target"].as_str(), "her sdxl WebUI answers");
    let page = as_alice(http.get(format!("{}/_sdctl/", router.url))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"action="/_sdctl/stop?template=sdxl""#), "{page}");
    assert!(!page.contains(r#"action="/_sdctl/stop?template=webui""#), "{page}");

    // Stop releases her sdxl GameServer (the Fleet makes a fresh one) and forgets the mapping.
    let stop = as_alice(http.post(format!("{}/_sdctl/stop?template=sdxl", router.url))).send().await.unwrap();
    assert_eq!(stop.status(), 303);
    assert_eq!(cluster.state_of(&mapping["gameserver"]).await, None, "released");
    assert!(redis.mapping("sdxl/alice@example.com").await.is_empty());
    drop(router);
}

fn claims(email: &str, aud: &str, exp_in: i64) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({"iss": "https://cloud.google.com/iap", "aud": aud, "email": email, "sub": "accounts.google.com:1",
           "iat": now - 60, "exp": now + exp_in})
}

/// A token with `alg: none` (no signature), which a verifier must never accept.
fn unsigned(kid: &str, claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})), b64(claims))
}

/// IAP's key endpoint as a test drives it: the keys it serves, and whether it answers, fails
/// (500) or hangs.
#[derive(Clone)]
struct KeyServer {
    url: String,
    keys: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// `KeyServer::mode`: 0 serves the keys.
const FAIL: u8 = 1;
const HANG: u8 = 2;

impl KeyServer {
    async fn start(keys: Vec<Value>) -> KeyServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = KeyServer {
            url: format!("http://{}/jwk", listener.local_addr().unwrap()),
            keys: std::sync::Arc::new(std::sync::Mutex::new(keys)),
            mode: Default::default(),
            fetches: Default::default(),
        };
        let state = server.clone();
        let app = axum::Router::new().route(
            "/jwk",
            axum::routing::get(move || {
                let state = state.clone();
                async move {
                    use axum::response::IntoResponse;
                    state.fetches.fetch_add(1, Ordering::SeqCst);
                    match state.mode.load(Ordering::SeqCst) {
                        FAIL => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                        HANG => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            axum::http::StatusCode::GATEWAY_TIMEOUT.into_response()
                        }
                        _ => axum::Json(json!({"keys": *state.keys.lock().unwrap()})).into_response(),
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        server
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Waits for the router's background refresh to read the keys again (no request asks for it).
    async fn refreshed(&self) {
        let before = self.fetches();
        eventually(20, "a background key refresh", || async { (self.fetches() > before).then_some(()) }).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn iap_jwts_are_verified_against_the_published_keys() {
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 1, false).await;
    cluster.wait_ready(1).await;
    let (k1, k2) = (SigningKey::new("k1"), SigningKey::new("k2"));
    let keys = KeyServer::start(vec![k1.jwk.clone()]).await;
    // Scale 3600: the hourly background refresh runs every second.
    let router =
        RouterProcess::start_scaled(&redis, &cluster, &["--iap-audience", AUDIENCE, "--iap-jwks-url", &keys.url], 3600)
            .await;
    let send = |token: String| {
        let url = format!("{}/", router.url);
        async move {
            let r = reqwest::Client::new().get(url).header("x-goog-iap-jwt-assertion", token).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let page = format!("<html>stand-in WebUI at {}</html>", webui.addr);

    let (status, body) = send(k1.sign("k1", claims("Dana@Example.com", AUDIENCE, 600))).await;
    assert_eq!((status, body.as_str()), (200, page.as_str()));
    assert_eq!(redis.mapping("dana@example.com").await["target"], webui.addr.to_string());

    let forger = SigningKey::new("k1");
    let mut wrong_issuer = claims("dana@example.com", AUDIENCE, 600);
    wrong_issuer["iss"] = json!("https://accounts.google.com");
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header { kid: Some("k1".into()), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256) },
        &claims("dana@example.com", AUDIENCE, 600),
        // The classic confusion: the public key used as an HMAC secret.
        &jsonwebtoken::EncodingKey::from_secret(k1.jwk.to_string().as_bytes()),
    )
    .unwrap();
    let same_project_other_backend = "/projects/123456789/global/backendServices/111";
    let mut from_the_future = claims("dana@example.com", AUDIENCE, 600);
    from_the_future["iat"] = json!(from_the_future["exp"].as_i64().unwrap() - 60);
    for (token, why) in [
        (forger.sign("k1", claims("dana@example.com", AUDIENCE, 600)), "bad signature"),
        (k1.sign("k1", claims("dana@example.com", AUDIENCE, -600)), "token expired"),
        (k1.sign("k1", claims("dana@example.com", "/projects/1/global/backendServices/2", 600)), "wrong audience"),
        (k1.sign("k1", claims("dana@example.com", same_project_other_backend, 600)), "wrong audience"),
        (k1.sign("k1", wrong_issuer), "wrong issuer"),
        (k1.sign("k1", from_the_future), "issued in the future"),
        (hs256, "not ES256"),
        (unsigned("k1", &claims("dana@example.com", AUDIENCE, 600)), "malformed token"),
        (k2.sign("k2", claims("dana@example.com", AUDIENCE, 600)), "unknown key"),
        ("not.a.jwt".to_string(), "malformed token"),
    ] {
        let (status, body) = send(token).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert!(body.contains(why), "{why}: {body}");
    }
    // Without the signed header, the unsigned e-mail header is not believed.
    let spoofed = reqwest::Client::new()
        .get(format!("{}/", router.url))
        .header(EMAIL, "accounts.google.com:dana@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 401);
    // Keys are cached, not fetched per request (the background refresh may run once meanwhile).
    let before = keys.fetches();
    for _ in 0..20 {
        assert_eq!(send(k1.sign("k1", claims("dana@example.com", AUDIENCE, 600))).await.0, 200);
    }
    assert!(keys.fetches() <= before + 2, "{} fetches for 20 requests", keys.fetches() - before);

    // Rotation: Google publishes k2 beside k1, then retires k1. The background refresh follows.
    // A token verified before (the router remembers it until its expiry) is refused too.
    let k1_session = k1.sign("k1", claims("dana@example.com", AUDIENCE, 600));
    assert_eq!(send(k1_session.clone()).await.0, 200);
    assert_eq!(send(k1_session.clone()).await.0, 200, "the same token again");
    keys.keys.lock().unwrap().push(k2.jwk.clone());
    keys.refreshed().await;
    assert_eq!(send(k2.sign("k2", claims("dana@example.com", AUDIENCE, 600))).await.0, 200);
    *keys.keys.lock().unwrap() = vec![k2.jwk.clone()];
    keys.refreshed().await;
    keys.refreshed().await;
    let (status, body) = send(k1.sign("k1", claims("dana@example.com", AUDIENCE, 600))).await;
    assert_eq!(status, 401, "a retired key is dropped: {body}");
    let (status, body) = send(k1_session).await;
    assert_eq!(status, 401, "a token of a retired key is not remembered as verified: {body}");

    // An outage of the key endpoint keeps the known keys in use.
    keys.mode.store(FAIL, Ordering::SeqCst);
    keys.refreshed().await;
    keys.refreshed().await;
    assert_eq!(send(k2.sign("k2", claims("dana@example.com", AUDIENCE, 600))).await.0, 200);
    // A hanging key endpoint holds up only the request that needs an unknown key, no one else.
    keys.mode.store(HANG, Ordering::SeqCst);
    let k3 = SigningKey::new("k3");
    let waiting = tokio::spawn(send(k3.sign("k3", claims("dana@example.com", AUDIENCE, 600))));
    keys.refreshed().await;
    let known =
        tokio::time::timeout(Duration::from_secs(5), send(k2.sign("k2", claims("dana@example.com", AUDIENCE, 600))))
            .await
            .expect("a request with a known key does not wait for the key endpoint");
    assert_eq!(known.0, 200);
    assert_eq!(waiting.await.unwrap().0, 401, "the unknown key is refused once the read times out");
    assert_eq!(cluster.allocations().len(), 1);
    assert!(!router.process.log().contains(&k2.sign("k2", claims("dana@example.com", AUDIENCE, 600))[..20]));
}

/// Three users asking for two GPUs, then a fourth: the third waits first in line and is served
/// when a GPU frees, before the fourth who came later (even when the fourth's page asks first);
/// a user whose page stops polling loses their place.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiting_users_are_served_in_arrival_order() {
    let webuis = [WebUi::start().await, WebUi::start().await];
    let redis = Redis::start();
    let cluster = Cluster::start_many(&[webuis[0].addr, webuis[1].addr], 2, false).await;
    cluster.wait_ready(2).await;
    // Where the router publishes the queue's length (made by the cluster set-up, as the router step does).
    let maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(cluster.t.client.clone(), "sd");
    let published = || async {
        let map = maps.get("sdctl-queue").await.unwrap();
        let entry = map.data.unwrap_or_default().get("webui").cloned()?;
        serde_json::from_str::<Value>(&entry).ok()?["waiting"].as_u64()
    };
    // Time runs 20 times faster: a place is kept 3 s (60 s) after the page's last poll.
    let router = RouterProcess::start_scaled(&redis, &cluster, &["--trust-iap-header"], 20).await;
    assert_eq!(get_as(&router, "alice@example.com", "/").await.status(), 200);
    assert_eq!(get_as(&router, "bob@example.com", "/").await.status(), 200);

    let wait_page = |user: &'static str| {
        let router = &router;
        async move {
            let r = get_as(router, user, "/").await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, page) = wait_page("carol@example.com").await;
    assert_eq!(status, 503);
    assert!(page.contains("You are next in line."), "{page}");
    let (status, page) = wait_page("dave@example.com").await;
    assert_eq!(status, 503);
    assert!(page.contains("You are number 2 in line: one person is ahead of you."), "{page}");
    let mut conn = redis.conn().await;
    let queue: Vec<String> = redis::AsyncCommands::zrange(&mut conn, "sdctl:queue:webui", 0, -1).await.unwrap();
    assert_eq!(queue, ["carol@example.com", "dave@example.com"]);
    // Users who have a WebUI are not held up by the queue.
    assert_eq!(get_as(&router, "alice@example.com", "/").await.status(), 200);
    // `sdctl status` sees how many wait (not who).
    eventually(10, "2 waiting published", || async { (published().await == Some(2)).then_some(()) }).await;

    // Alice's GPU frees (her GameServer goes; the Fleet makes a new one). Dave's page keeps
    // asking first, yet the new WebUI goes to Carol.
    let alices = redis.mapping("alice@example.com").await["gameserver"].clone();
    cluster.game_servers_api().delete(&alices, &DeleteParams::default()).await.unwrap();
    let mut served = false;
    for _ in 0..200 {
        let (status, page) = wait_page("dave@example.com").await;
        assert_eq!(status, 503, "dave came after carol: {page}");
        assert!(page.contains("number 2 in line"), "{page}");
        if wait_page("carol@example.com").await.0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "carol got the freed GPU");
    let carols = redis.mapping("carol@example.com").await["gameserver"].clone();
    assert_ne!(carols, alices);
    let (status, page) = wait_page("dave@example.com").await;
    assert_eq!(status, 503);
    assert!(page.contains("You are next in line."), "dave moved up: {page}");
    eventually(10, "1 waiting published", || async { (published().await == Some(1)).then_some(()) }).await;

    // Erin comes; Dave's page stops polling: after the timeout Erin is next.
    let (_, page) = wait_page("erin@example.com").await;
    assert!(page.contains("number 2 in line"), "{page}");
    for _ in 0..7 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(wait_page("erin@example.com").await.0, 503);
    }
    let (status, page) = wait_page("erin@example.com").await;
    assert_eq!(status, 503);
    assert!(page.contains("You are next in line."), "dave's place lapsed: {page}");
    let (_, page) = wait_page("dave@example.com").await;
    assert!(page.contains("number 2 in line"), "dave comes back at the end: {page}");
}

/// The router serves on several threads (`--threads`), each with its own connections; on SIGTERM
/// every thread lets its in-flight requests finish before the router exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sigterm_requests_in_flight_on_every_thread_finish() {
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 1, false).await;
    cluster.wait_ready(1).await;
    let router = RouterProcess::start(&redis, &cluster, &["--trust-iap-header", "--threads", "3"]).await;
    assert_eq!(get_as(&router, "alice@example.com", "/").await.status(), 200, "alice gets her WebUI");
    let before = webui.hits.load(Ordering::SeqCst);
    // Slow requests, each on its own connection: the kernel hands them to the threads.
    let slow: Vec<_> = (0..6)
        .map(|_| {
            let url = format!("{}/slow", router.url);
            tokio::spawn(async move {
                let r = reqwest::Client::new()
                    .get(url)
                    .header(EMAIL, "accounts.google.com:alice@example.com")
                    .send()
                    .await
                    .expect("an answer, not a cut connection");
                (r.status(), r.text().await.unwrap_or_default())
            })
        })
        .collect();
    eventually(10, "six slow requests reached the WebUI", || async {
        (webui.hits.load(Ordering::SeqCst) >= before + 6).then_some(())
    })
    .await;
    let log = router.process.log();
    assert!(log.contains("threads=3"), "the router says how many threads serve: {log}");
    assert_eq!(router.process.terminate().await, 0, "clean exit on SIGTERM");
    for request in slow {
        let (status, body) = request.await.unwrap();
        assert_eq!((status.as_u16(), body.as_str()), (200, "done"), "an in-flight request finished");
    }
}

/// The router's Kubernetes connections survive a quiet spell longer than a call's timeout: the
/// background re-check of a user's GameServer (due every 10 s, as a call's timeout) reuses one
/// rather than failing on a connection that kube's read timer is closing ("connection error:
/// timed out", seen in `cargo bench --bench router`). Real time (scale 1): the re-check runs as
/// it does in a cluster, in the background while the request goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubernetes_connections_outlive_a_quiet_spell() {
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 1, false).await;
    cluster.wait_ready(1).await;
    let relay = CountingRelay::start(cluster.api_addr()).await;
    let kubeconfig = cluster.kubeconfig_via(relay.addr);
    let router = RouterProcess::start_with(&redis, &kubeconfig, &["--trust-iap-header"], 1).await;
    let first = get_as(&router, "alice@example.com", "/").await;
    assert_eq!(first.status(), 200, "alice gets her WebUI: {}\n{}", first.text().await.unwrap(), router.process.log());
    // The allocation's last writes (the queue's ConfigMap) are done when nothing moves for a second.
    let mut sent = relay.bytes_sent.load(Ordering::SeqCst);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = relay.bytes_sent.load(Ordering::SeqCst);
        if now == sent {
            break;
        }
        sent = now;
    }
    let connections = relay.connections.load(Ordering::SeqCst);
    assert!(connections > 0, "the router reached the Kubernetes API through the relay");
    // Longer than a call's timeout and than a mapping is trusted unchecked (10 s each), within the
    // time it is used while re-checked (30 s) and the time the pool keeps a connection (90 s).
    tokio::time::sleep(sdctl::runtime::gameservers::CALL_TIMEOUT + Duration::from_secs(2)).await;
    assert_eq!(relay.bytes_sent.load(Ordering::SeqCst), sent, "nothing was sent to the API while alice was away");
    let back = get_as(&router, "alice@example.com", "/").await;
    assert_eq!(back.status(), 200, "alice is back: {}\n{}", back.text().await.unwrap(), router.process.log());
    eventually(10, "her GameServer checked again", || async {
        (relay.bytes_sent.load(Ordering::SeqCst) > sent).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(relay.connections.load(Ordering::SeqCst), connections, "the check reused a pooled connection");
    let log = router.process.log();
    assert!(!log.contains("cannot re-check"), "{log}");
}

/// Google's load balancer keeps its connections to the router for a fixed 600 s and asks
/// backends to keep them longer, else its next request can meet a closing connection (a 502).
/// At SDCTL_TIME_SCALE=600 a second stands for ten minutes: an idle connection still carries a
/// request after 360 (scaled) seconds, and the router does close it in the end, not much before
/// 620 (that it is above 600 is a compile-time check of `CLIENT_IDLE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_client_connections_outlast_the_load_balancers_keepalive() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 1, false).await;
    let router = RouterProcess::start_scaled(&redis, &cluster, &["--trust-iap-header"], 600).await;
    let addr = router.url.trim_start_matches("http://").to_string();
    let mut connection = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: GoogleHC/1.0\r\n\r\n");
    let mut answer = vec![0u8; 4096];
    for (round, idle) in [Duration::ZERO, Duration::from_millis(600)].into_iter().enumerate() {
        tokio::time::sleep(idle).await;
        connection.write_all(request.as_bytes()).await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), connection.read(&mut answer)).await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&answer[..n]);
        assert!(text.starts_with("HTTP/1.1 200"), "request {round} on the kept connection: {text:?}");
    }
    let idle = std::time::Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(10), connection.read(&mut answer)).await.unwrap().unwrap();
    assert_eq!(n, 0, "the router closes an idle connection in the end");
    assert!(
        idle.elapsed() >= Duration::from_millis(800),
        "closed after {:?}, long before 620 (scaled) s",
        idle.elapsed()
    );
}

/// Connections to a WebUI are kept: one user's requests in a row go over one (or a few). When her WebUI's
/// pod goes away (connections closed, the address refusing), her next request, a POST with a
/// body, goes to the WebUI the router finds for her next: nothing was sent before the router
/// had a connection, so nothing is lost (hyper-util's client sent only bodiless requests again).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kept_connections_carry_requests_and_a_gone_webui_loses_none() {
    let webui = WebUi::start().await;
    let relays = [CountingRelay::start(webui.addr).await, CountingRelay::start(webui.addr).await];
    let redis = Redis::start();
    let cluster = Cluster::start_many(&[relays[0].addr, relays[1].addr], 2, false).await;
    // No GPU node beyond the two: a replacement of alice's GameServer stays pending below.
    cluster.t.host.pools.lock().unwrap()[1].max_node_count = 2;
    cluster.wait_ready(2).await;
    let router = RouterProcess::start(&redis, &cluster, &["--trust-iap-header"]).await;
    let http = reqwest::Client::new();
    let as_alice = |r: reqwest::RequestBuilder| r.header(EMAIL, "accounts.google.com:alice@example.com");
    for _ in 0..20 {
        let r = as_alice(http.get(format!("{}/", router.url))).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", router.process.log());
        // Read to the end, so the client's own connection is reused too.
        r.text().await.unwrap();
    }
    let mapping = redis.mapping("alice@example.com").await;
    let gone = relays.iter().position(|r| r.addr.to_string() == mapping["target"]).expect("alice's WebUI is a relay");
    let (dead, alive) = (&relays[gone], &relays[1 - gone]);
    // One connection, or a few: a request that comes before the connection has finished the last
    // answer (a loaded machine) opens another rather than wait.
    let kept = dead.connections.load(Ordering::SeqCst);
    assert!((1..=4).contains(&kept), "20 requests in a row over kept connections, not one each: {kept}");
    assert_eq!(alive.connections.load(Ordering::SeqCst), 0);

    // Her pod goes: its node takes no new pod, its address refuses, its GameServer is deleted.
    let gameserver = cluster.game_servers_api().get(&mapping["gameserver"]).await.unwrap();
    let node = gameserver.data["status"]["nodeName"].as_str().unwrap().to_string();
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(cluster.t.client.clone());
    let cordon = json!({"spec": {"unschedulable": true}});
    nodes.patch(&node, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&cordon)).await.unwrap();
    dead.stop().await;
    cluster.game_servers_api().delete(&mapping["gameserver"], &DeleteParams::default()).await.unwrap();
    eventually(10, "her GameServer gone", || async {
        cluster.game_servers().await.iter().all(|g| g.name_any() != mapping["gameserver"]).then_some(())
    })
    .await;

    let prompt = "a lighthouse at dusk, oil on canvas";
    let r = as_alice(http.post(format!("{}/echo", router.url))).body(prompt).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", router.process.log());
    let echoed: Value = r.json().await.unwrap();
    assert_eq!(echoed["body"], prompt, "the body reached a WebUI");
    assert_eq!(alive.connections.load(Ordering::SeqCst), 1, "through the other WebUI's address");
    assert_eq!(redis.mapping("alice@example.com").await["target"], alive.addr.to_string());
    assert!(router.process.log().contains("re-checking its GameServer"), "{}", router.process.log());
}
