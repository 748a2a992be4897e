//! `sdctl runtime router` against a real redis-server and the emulated cluster: users get their
//! own GameServers and keep them, parallel first requests allocate once, dead GameServers are
//! replaced, IAP's JWT is verified, websockets pass, and a full cluster shows the 503 page.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use kube::ResourceExt;
use kube::api::DeleteParams;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::support::{Cluster, Redis, RouterProcess, WebUi};
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
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 2, false).await;
    cluster.wait_ready(2).await;
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
    for r in first {
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "<html>stand-in WebUI</html>");
    }
    assert_eq!(cluster.allocations().len(), 1, "parallel first requests allocate once");
    let mapping = redis.mapping("alice@example.com").await;
    assert_eq!(mapping["target"], webui.addr.to_string());
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

    // Requests and bodies pass through; IAP's assertion does not reach the WebUI.
    let echoed: Value = reqwest::Client::new()
        .post(format!("{}/echo?x=1", router.url))
        .header(EMAIL, "accounts.google.com:alice@example.com")
        .header("x-goog-iap-jwt-assertion", "not-for-the-webui")
        .body("prompt=a cat")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echoed["uri"], "/echo?x=1");
    assert_eq!(echoed["body"], "prompt=a cat");
    assert_eq!(echoed["assertion"], "");
    assert_eq!(echoed["forwardedFor"], "127.0.0.1");
    assert_eq!(echoed["user"], "accounts.google.com:alice@example.com");

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
    assert_eq!(redis.mapping("alice@example.com").await["gameserver"], alices);
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
    let replaced = redis.mapping("alice@example.com").await["gameserver"].clone();
    assert_ne!(replaced, alices, "the stale mapping was repaired");
    assert!(cluster.allocated().await.contains(&(replaced, label("alice@example.com"))));
    assert!(router.process.log().contains("stale mapping"), "{}", router.process.log());
    assert!(!router.process.log().contains(super::support::REDIS_PASSWORD), "no secret in the logs");
}

/// An ES256 key pair for signing test tokens, and its public JWK.
struct SigningKey {
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn new(kid: &str) -> SigningKey {
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

    fn sign(&self, kid: &str, claims: Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
    }
}

const AUDIENCE: &str = "/projects/123456789/global/backendServices/987654321";

fn claims(email: &str, aud: &str, exp_in: i64) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({"iss": "https://cloud.google.com/iap", "aud": aud, "email": email, "sub": "accounts.google.com:1",
           "iat": now - 60, "exp": now + exp_in})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn iap_jwts_are_verified_against_the_published_keys() {
    let webui = WebUi::start().await;
    let redis = Redis::start();
    let cluster = Cluster::start(webui.addr, 1, false).await;
    cluster.wait_ready(1).await;
    let key = SigningKey::new("k1");
    let jwks = json!({"keys": [key.jwk.clone()]});
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = fetches.clone();
    let app = axum::Router::new().route(
        "/jwk",
        axum::routing::get(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwk", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The audience prefix accepts any backend service of the project.
    let router = RouterProcess::start(
        &redis,
        &cluster,
        &["--iap-audience", "/projects/123456789/global/backendServices/", "--iap-jwks-url", &jwks_url],
    )
    .await;
    let send = |token: Option<String>| {
        let url = format!("{}/", router.url);
        async move {
            let mut req = reqwest::Client::new().get(url);
            if let Some(t) = token {
                req = req.header("x-goog-iap-jwt-assertion", t);
            }
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    let (status, body) = send(Some(key.sign("k1", claims("Dana@Example.com", AUDIENCE, 600)))).await;
    assert_eq!((status, body.as_str()), (200, "<html>stand-in WebUI</html>"));
    assert_eq!(redis.mapping("dana@example.com").await["target"], webui.addr.to_string());

    let forger = SigningKey::new("k1");
    for (token, why) in [
        (forger.sign("k1", claims("dana@example.com", AUDIENCE, 600)), "bad signature"),
        (key.sign("k1", claims("dana@example.com", AUDIENCE, -600)), "token expired"),
        (key.sign("k1", claims("dana@example.com", "/projects/1/global/backendServices/2", 600)), "wrong audience"),
        (key.sign("k2", claims("dana@example.com", AUDIENCE, 600)), "unknown key"),
        ("not.a.jwt".to_string(), "malformed token"),
    ] {
        let (status, body) = send(Some(token)).await;
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
    assert!(fetches.load(std::sync::atomic::Ordering::Relaxed) <= 3, "keys are cached, not fetched per request");
    assert_eq!(cluster.allocations().len(), 1);
}
