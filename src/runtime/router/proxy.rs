//! Forwarding to a user's WebUI: HTTP requests (bodies streamed both ways, long timeouts for
//! slow generations) and upgraded connections (Gradio's websocket queue), whose traffic counts
//! as activity.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Body;
use super::identity::JWT_HEADER;

/// How long a WebUI may take to start answering a request (a generation can be slow).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Headers that describe one connection, not the request (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

#[derive(Debug)]
pub enum ProxyError {
    /// The WebUI could not be reached at all (nothing was sent): safe to retry elsewhere.
    Connect(String),
    /// The WebUI failed or timed out mid-request.
    Upstream(String),
}

pub struct Proxy {
    client: Client<HttpConnector, Body>,
}

impl Default for Proxy {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(connector);
        Self { client }
    }
}

/// Whether the request asks to switch protocols (a websocket).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")))
}

/// A request that can be sent again (no body): method, URI and headers suffice.
pub fn is_replayable(parts: &http::request::Parts) -> bool {
    let no_length = parts.headers.get(header::CONTENT_LENGTH).is_none_or(|v| v.as_bytes() == b"0");
    matches!(parts.method, http::Method::GET | http::Method::HEAD)
        && no_length
        && !parts.headers.contains_key(header::TRANSFER_ENCODING)
}

pub fn empty() -> Body {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed()
}

impl Proxy {
    /// Sends the request to `target` (`address:port`) and returns the WebUI's response head
    /// with its body streaming.
    pub async fn forward(
        &self,
        parts: &http::request::Parts,
        body: Body,
        target: &str,
        client_addr: Option<std::net::IpAddr>,
    ) -> Result<Response<Incoming>, ProxyError> {
        let upgrade = is_upgrade(&parts.headers);
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let uri: Uri = format!("http://{target}{path}")
            .parse()
            .map_err(|e| ProxyError::Connect(format!("bad target {target}: {e}")))?;
        let mut out = Request::builder().method(parts.method.clone()).uri(uri).version(http::Version::HTTP_11);
        if let Some(headers) = out.headers_mut() {
            copy_headers(&parts.headers, headers, upgrade);
            strip_iap_cookies(headers);
            if let Some(ip) = client_addr {
                append_forwarded_for(headers, ip);
            }
        }
        let request = out.body(body).map_err(|e| ProxyError::Connect(format!("cannot build the request: {e}")))?;
        match tokio::time::timeout(RESPONSE_TIMEOUT, self.client.request(request)).await {
            Err(_) => {
                Err(ProxyError::Upstream(format!("no answer within {} minutes", RESPONSE_TIMEOUT.as_secs() / 60)))
            }
            Ok(Err(e)) if e.is_connect() => Err(ProxyError::Connect(describe(&e))),
            Ok(Err(e)) => Err(ProxyError::Upstream(describe(&e))),
            Ok(Ok(response)) => Ok(response),
        }
    }
}

fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap, upgrade: bool) {
    let listed: Vec<String> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    for (name, value) in from {
        let n = name.as_str();
        let hop = HOP_BY_HOP.contains(&n) || listed.iter().any(|l| l == n);
        // IAP's signed assertion is for the router; the WebUI (and its extensions) never see it.
        if hop || n == JWT_HEADER {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
    if upgrade {
        if let Some(u) = from.get(header::UPGRADE) {
            to.insert(header::UPGRADE, u.clone());
        }
        to.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// IAP's session cookies (`GCP_IAP_UID`, `GCP_IAP_XSRF_NONCE_*`, `__Host-GCP_IAP_AUTH_TOKEN_*`)
/// let whoever holds them act as the user through IAP: code running in a WebUI never gets them.
/// Other cookies (the WebUI's own) pass.
fn strip_iap_cookies(headers: &mut HeaderMap) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !is_iap_cookie(c))
        .map(String::from)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty()
        && let Ok(v) = HeaderValue::from_str(&kept.join("; "))
    {
        headers.insert(header::COOKIE, v);
    }
}

fn is_iap_cookie(pair: &str) -> bool {
    let name = pair.split('=').next().unwrap_or_default().trim();
    name.starts_with("GCP_IAP_") || name.starts_with("__Host-GCP_IAP_")
}

fn append_forwarded_for(headers: &mut HeaderMap, ip: std::net::IpAddr) {
    let name = HeaderName::from_static("x-forwarded-for");
    let value = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {ip}"),
        None => ip.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(name, v);
    }
}

/// The WebUI's response for the user, without hop-by-hop headers (an upgrade keeps its own).
pub fn response_for_client(response: Response<Incoming>) -> (Response<Body>, Option<OnUpgrade>) {
    let (mut parts, body) = response.into_parts();
    let switching = parts.status == http::StatusCode::SWITCHING_PROTOCOLS;
    let upgraded = if switching { parts.extensions.remove::<OnUpgrade>() } else { None };
    let mut headers = HeaderMap::new();
    copy_headers(&parts.headers, &mut headers, switching);
    parts.headers = headers;
    (Response::from_parts(parts, body.boxed()), upgraded)
}

/// Joins the user's upgraded connection to the WebUI's and pumps bytes both ways until either
/// side closes; `on_activity` runs (at most once per `every`) while bytes flow.
pub fn tunnel(client: OnUpgrade, backend: OnUpgrade, every: Duration, on_activity: Arc<dyn Fn() + Send + Sync>) {
    tokio::spawn(async move {
        let (client, backend) = match tokio::try_join!(client, backend) {
            Ok(both) => both,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        let (cr, cw) = tokio::io::split(TokioIo::new(client));
        let (br, bw) = tokio::io::split(TokioIo::new(backend));
        let seen = Arc::new(AtomicBool::new(true));
        let ticker = {
            let seen = seen.clone();
            async move {
                let mut every = tokio::time::interval(every);
                loop {
                    every.tick().await;
                    if seen.swap(false, Ordering::Relaxed) {
                        on_activity();
                    }
                }
            }
        };
        let pumps = async { tokio::try_join!(pump(cr, bw, &seen), pump(br, cw, &seen)) };
        tokio::select! {
            result = pumps => if let Err(e) = result { tracing::debug!(error = %e, "websocket closed") },
            () = ticker => {}
        }
    });
}

async fn pump<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut from: R,
    mut to: W,
    seen: &AtomicBool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        seen.store(true, Ordering::Relaxed);
        to.write_all(&buf[..n]).await?;
        to.flush().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iap_cookies_never_reach_the_webui() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("GCP_IAP_UID=123; theme=dark"));
        headers.append(header::COOKIE, HeaderValue::from_static("__Host-GCP_IAP_AUTH_TOKEN_abc=secret; gradio=1"));
        strip_iap_cookies(&mut headers);
        assert_eq!(headers.get_all(header::COOKIE).iter().collect::<Vec<_>>(), ["theme=dark; gradio=1"]);
        let mut only_iap = HeaderMap::new();
        only_iap.insert(header::COOKIE, HeaderValue::from_static("GCP_IAP_XSRF_NONCE_x=1"));
        strip_iap_cookies(&mut only_iap);
        assert!(only_iap.get(header::COOKIE).is_none());
    }
}
