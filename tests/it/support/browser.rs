//! A real browser against the router: Debian's headless Chromium, behind a stand-in for
//! Identity-Aware Proxy that adds the signed-in user's header (as IAP does) to every request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;

/// Serves on a free loopback port, forwarding every request to `upstream` as `email` (the
/// header IAP adds); the answer comes back as it is, redirects included. Returns its URL.
pub async fn iap_stand_in(upstream: &str, email: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (upstream, email) = (upstream.to_string(), email.to_string());
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (http, upstream, email) = (http.clone(), upstream.clone(), email.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
            let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let mut forward = http.request(parts.method.clone(), format!("{upstream}{path}")).body(body);
            for (name, value) in parts.headers.iter() {
                if name != "host" {
                    forward = forward.header(name, value);
                }
            }
            forward = forward.header("x-goog-authenticated-user-email", format!("accounts.google.com:{email}"));
            let answer = forward.send().await.unwrap();
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            response.body(Body::from(answer.bytes().await.unwrap_or_default())).unwrap()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Runs headless Chromium with `args` and the URL; its stdout.
async fn chromium(args: &[&str], url: &str, profile: &Path) -> String {
    let mut cmd = tokio::process::Command::new("chromium");
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("chromium finishes within 90 s")
        .expect("chromium runs (apt-get install chromium)");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's DOM after it loaded, and a screenshot of it at `png`.
pub async fn render(url: &str, png: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium(&["--dump-dom"], url, profile.path()).await;
    let shot = format!("--screenshot={}", png.display());
    chromium(&[&shot, "--window-size=1000,460"], url, profile.path()).await;
    assert!(std::fs::metadata(png).map(|m| m.len() > 1000).unwrap_or(false), "no screenshot at {}", png.display());
    dom
}

/// Where tests leave screenshots: `$CARGO_TARGET_DIR/screenshots` (or `target/screenshots`).
pub fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
