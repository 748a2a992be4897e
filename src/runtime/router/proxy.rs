//! Forwarding to a user's WebUI: HTTP requests (bodies streamed both ways, long timeouts for
//! slow generations) and upgraded connections (Gradio's websocket queue), whose traffic counts
//! as activity.
//!
//! Connections to WebUIs are kept per serving thread, as nginx's `keepalive` keeps them per
//! worker: each carries one request at a time, goes back to its thread's pool as soon as the
//! WebUI's answer starts, and is taken again once that answer is done. The request and response
//! go through as they came, their headers edited in place. hyper-util's pooled client did the
//! same with a lock, a spawned task, a URI parse and two header copies per request, about a
//! fifth of the router's own instructions (callgrind, `cargo bench --bench router`, README).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Body;
use super::FastMap;
use super::identity::JWT_HEADER;

/// How long a WebUI may take to start answering a request (a generation can be slow).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A kept connection unused this long is closed. Below the WebUI's own keep-alive: AUTOMATIC1111
/// serves through Gradio, which starts uvicorn without `timeout_keep_alive`, so uvicorn closes a
/// connection idle for 5 s (gradio/http_server.py, uvicorn/config.py). A request written just as
/// the WebUI closes is lost (a 503 for the user); the router lets go first. Its clock starts when
/// the answer's head arrives, uvicorn's when the answer's end was handed to its socket: at most a
/// network trip apart, which the second's margin covers with scheduling delays.
const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
const _: () = assert!(IDLE_TIMEOUT.as_secs() < 5, "below uvicorn's keep-alive");
/// Connections kept per WebUI and thread (a browser opens about six; several share a WebUI).
const MAX_KEPT: usize = 64;

/// Headers that describe one connection, not the request (RFC 9110 7.6.1).
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// IAP's signed assertion is for the router; the WebUI (and its extensions) never see it.
const IAP_JWT: HeaderName = HeaderName::from_static(JWT_HEADER);

#[derive(Debug)]
pub enum ProxyError {
    /// The WebUI could not be reached at all (nothing was sent): safe to retry elsewhere.
    Connect(String),
    /// The WebUI failed or timed out mid-request.
    Upstream(String),
}

/// One serving thread's connections to WebUIs.
pub struct Proxy {
    /// Only this thread takes the lock, so it is never contended.
    kept: Mutex<Kept>,
    /// `IDLE_TIMEOUT`, shorter in tests.
    idle: Duration,
}

impl Default for Proxy {
    fn default() -> Self {
        Proxy { kept: Mutex::default(), idle: IDLE_TIMEOUT }
    }
}

#[derive(Default)]
struct Kept {
    by_target: FastMap<String, Vec<KeptConnection>>,
    /// When closed and expired connections of every target were last dropped.
    swept: Option<Instant>,
}

struct KeptConnection {
    sender: SendRequest<Body>,
    /// When it last carried a request.
    used: Instant,
}

/// A connection to a WebUI, ready for one request.
pub struct Upstream {
    sender: SendRequest<Body>,
    /// A kept one (the WebUI may have closed it just now), or a new one.
    kept: bool,
}

/// Whether the request asks to switch protocols (a websocket).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")))
}

impl Proxy {
    /// A connection to `target` (`address:port`): a kept one that is free, else a new one.
    /// Nothing is sent yet, so a user's request can still go elsewhere when this fails.
    pub async fn connect(&self, target: &str) -> Result<Upstream, ProxyError> {
        if let Some(sender) = self.take_kept(target) {
            return Ok(Upstream { sender, kept: true });
        }
        Ok(Upstream { sender: open(target).await?, kept: false })
    }

    /// Sends the request over `upstream` and returns the WebUI's response head with its body
    /// streaming. A kept connection the WebUI closed before the request went out is replaced
    /// once by a new one.
    pub async fn send(
        &self,
        target: &str,
        mut upstream: Upstream,
        mut request: Request<Body>,
    ) -> Result<Response<Incoming>, ProxyError> {
        loop {
            let sent = tokio::time::timeout(RESPONSE_TIMEOUT, upstream.sender.try_send_request(request)).await;
            let Ok(sent) = sent else {
                let minutes = RESPONSE_TIMEOUT.as_secs() / 60;
                return Err(ProxyError::Upstream(format!("no answer within {minutes} minutes")));
            };
            match sent {
                Ok(response) => {
                    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                        self.keep(target, upstream.sender);
                    }
                    return Ok(response);
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if upstream.kept => {
                        request = unsent;
                        let sender = open(target).await.map_err(|e| match e {
                            ProxyError::Connect(why) | ProxyError::Upstream(why) => ProxyError::Upstream(why),
                        })?;
                        upstream = Upstream { sender, kept: false };
                    }
                    _ => return Err(ProxyError::Upstream(describe(e.error()))),
                },
            }
        }
    }

    /// A free kept connection to `target`, dropping the closed and expired ones met on the way.
    fn take_kept(&self, target: &str) -> Option<SendRequest<Body>> {
        let mut kept = self.kept.lock().ok()?;
        kept.sweep_now_and_then(self.idle);
        let connections = kept.by_target.get_mut(target)?;
        // From the end, where the last kept ones mostly are: those are the least likely to have
        // been closed by the WebUI meanwhile.
        let mut i = connections.len();
        while i > 0 {
            i -= 1;
            let c = &connections[i];
            if c.sender.is_closed() || c.used.elapsed() >= self.idle {
                connections.swap_remove(i);
            } else if c.sender.is_ready() {
                return Some(connections.swap_remove(i).sender);
            }
        }
        None
    }

    /// Keeps a connection whose answer has started: it is free again once that answer is done.
    fn keep(&self, target: &str, sender: SendRequest<Body>) {
        let Ok(mut kept) = self.kept.lock() else { return };
        let connections = match kept.by_target.get_mut(target) {
            Some(connections) => connections,
            None => kept.by_target.entry(target.to_string()).or_default(),
        };
        if connections.len() >= MAX_KEPT {
            // Long answers (event streams) hold theirs; closed ones need not wait for the sweep.
            connections.retain(|c| !c.sender.is_closed());
        }
        if connections.len() < MAX_KEPT {
            connections.push(KeptConnection { sender, used: Instant::now() });
        }
    }
}

impl Kept {
    /// Now and then (every third of `idle`), drops closed and expired connections of all
    /// targets (a WebUI that went away is never asked for again).
    fn sweep_now_and_then(&mut self, idle: Duration) {
        if self.swept.is_some_and(|at| at.elapsed() < idle / 3) {
            return;
        }
        self.swept = Some(Instant::now());
        for connections in self.by_target.values_mut() {
            connections.retain(|c| !c.sender.is_closed() && c.used.elapsed() < idle);
        }
        self.by_target.retain(|_, connections| !connections.is_empty());
    }
}

/// A new connection to `target`, served by a task of this thread until either side closes it.
async fn open(target: &str) -> Result<SendRequest<Body>, ProxyError> {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(target)).await {
        Err(_) => {
            return Err(ProxyError::Connect(format!(
                "no connection to {target} within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(e)) => return Err(ProxyError::Connect(format!("cannot connect to {target}: {e}"))),
        Ok(Ok(stream)) => stream,
    };
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ProxyError::Connect(describe(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "connection to a WebUI ended");
        }
    });
    Ok(sender)
}

fn describe(e: &hyper::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Makes the user's request the WebUI's, in place: without hop-by-hop headers (an upgrade keeps
/// its own), IAP's assertion and IAP's cookies; with the client's address added to
/// `X-Forwarded-For` (`client`: that address as a header value, made once per connection).
pub fn prepare_request(parts: &mut http::request::Parts, target: &str, client: &HeaderValue) {
    let mut found = Found::in_headers(&parts.headers);
    let upgrade = found.upgrade(&parts.headers);
    found.strip(&mut parts.headers);
    if found.cookie {
        strip_iap_cookies(&mut parts.headers);
    }
    append_forwarded_for(&mut parts.headers, client, found.forwarded_for);
    if let Some(protocol) = upgrade {
        parts.headers.insert(header::UPGRADE, protocol);
        parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    if !found.host
        && let Ok(host) = HeaderValue::from_str(target)
    {
        parts.headers.insert(header::HOST, host);
    }
    parts.version = http::Version::HTTP_11;
    // Sent in origin form (`/path?query`), whatever form the client used.
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        parts.uri = parts.uri.path_and_query().map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
    }
}

/// Which of the headers the proxy edits a message has, from one look at its names: a removal
/// or a lookup hashes the name, and most messages carry few of them (callgrind: removing every
/// hop-by-hop name unseen cost about 2,400 instructions per request).
#[derive(Default)]
struct Found {
    /// Bit `i`: `HOP_BY_HOP[i]` is present.
    hop_by_hop: u16,
    jwt: bool,
    cookie: bool,
    forwarded_for: bool,
    host: bool,
}

impl Found {
    fn in_headers(headers: &HeaderMap) -> Found {
        let mut found = Found::default();
        for name in headers.keys() {
            if name == header::HOST {
                found.host = true;
            } else if name == header::COOKIE {
                found.cookie = true;
            } else if name == IAP_JWT {
                found.jwt = true;
            } else if name == X_FORWARDED_FOR {
                found.forwarded_for = true;
            } else if let Some(i) = HOP_BY_HOP.iter().position(|h| h == name) {
                found.hop_by_hop |= 1 << i;
            }
        }
        found
    }

    fn has(&self, hop_by_hop: &HeaderName) -> bool {
        HOP_BY_HOP.iter().position(|h| h == hop_by_hop).is_some_and(|i| self.hop_by_hop & (1 << i) != 0)
    }

    /// The protocol a websocket upgrade asks for (kept through the stripping).
    fn upgrade(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let asked = self.has(&header::UPGRADE) && self.has(&header::CONNECTION) && is_upgrade(headers);
        asked.then(|| headers.get(header::UPGRADE).cloned()).flatten()
    }

    /// Removes what is never passed on: the headers that describe one connection, those its
    /// `Connection` header names (no longer found after), and IAP's assertion.
    fn strip(&mut self, headers: &mut HeaderMap) {
        if self.has(&header::CONNECTION) {
            let listed: Vec<HeaderName> = headers
                .get_all(header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
                .collect();
            for name in listed {
                self.host &= name != header::HOST;
                self.cookie &= name != header::COOKIE;
                self.forwarded_for &= name != X_FORWARDED_FOR;
                headers.remove(name);
            }
        }
        for (i, name) in HOP_BY_HOP.iter().enumerate() {
            if self.hop_by_hop & (1 << i) != 0 {
                headers.remove(name);
            }
        }
        if self.jwt {
            headers.remove(&IAP_JWT);
        }
    }
}

/// IAP's session cookies (`GCP_IAP_UID`, `GCP_IAP_XSRF_NONCE_*`, `__Host-GCP_IAP_AUTH_TOKEN_*`)
/// let whoever holds them act as the user through IAP: code running in a WebUI never gets them.
/// Other cookies (the WebUI's own) pass.
fn strip_iap_cookies(headers: &mut HeaderMap) {
    if !headers.contains_key(header::COOKIE) {
        return;
    }
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

fn append_forwarded_for(headers: &mut HeaderMap, client: &HeaderValue, present: bool) {
    let previous = if present { headers.get(&X_FORWARDED_FOR) } else { None };
    let value = match previous {
        None => client.clone(),
        Some(prev) => match HeaderValue::from_bytes(&[prev.as_bytes(), b", ", client.as_bytes()].concat()) {
            Ok(joined) => joined,
            Err(_) => client.clone(),
        },
    };
    headers.insert(X_FORWARDED_FOR, value);
}

/// The WebUI's response for the user, in place: without hop-by-hop headers (an upgrade keeps its
/// own).
pub fn response_for_client(response: Response<Incoming>) -> (Response<Body>, Option<OnUpgrade>) {
    let (mut parts, body) = response.into_parts();
    let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
    let upgraded = if switching { parts.extensions.remove::<OnUpgrade>() } else { None };
    let mut found = Found::in_headers(&parts.headers);
    let protocol = if switching { parts.headers.get(header::UPGRADE).cloned() } else { None };
    found.strip(&mut parts.headers);
    if switching {
        if let Some(protocol) = protocol {
            parts.headers.insert(header::UPGRADE, protocol);
        }
        parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
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

    fn request(build: http::request::Builder) -> http::request::Parts {
        build.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_webui_gets_the_request_without_what_is_the_routers() {
        let mut parts = request(
            Request::get("/gradio_api/queue?x=1")
                .version(http::Version::HTTP_10)
                .header("host", "sd.example.com")
                .header("connection", "keep-alive, x-private")
                .header("keep-alive", "timeout=5")
                .header("proxy-connection", "keep-alive")
                .header("x-private", "mine")
                .header("te", "trailers")
                .header(JWT_HEADER, "eyJ.secret.sig")
                .header("cookie", "GCP_IAP_UID=1; theme=dark")
                .header("accept", "text/html"),
        );
        let client = HeaderValue::from_static("10.0.0.9");
        prepare_request(&mut parts, "127.0.0.1:7860", &client);
        let h = &parts.headers;
        for gone in ["connection", "keep-alive", "proxy-connection", "x-private", "te", JWT_HEADER] {
            assert!(!h.contains_key(gone), "{gone} must not reach the WebUI: {h:?}");
        }
        assert_eq!(h["host"], "sd.example.com", "the user's host passes");
        assert_eq!(h["cookie"], "theme=dark");
        assert_eq!(h["accept"], "text/html");
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
        assert_eq!(parts.version, http::Version::HTTP_11);
        assert_eq!(parts.uri, "/gradio_api/queue?x=1");
    }

    #[test]
    fn forwarded_for_grows_hosts_are_filled_in_and_absolute_forms_shrink() {
        let mut parts =
            request(Request::get("http://sd.example.com/file=a.png").header("x-forwarded-for", "203.0.113.7"));
        prepare_request(&mut parts, "127.0.0.1:7860", &HeaderValue::from_static("10.0.0.9"));
        assert_eq!(parts.headers["x-forwarded-for"], "203.0.113.7, 10.0.0.9");
        assert_eq!(parts.headers["host"], "127.0.0.1:7860", "HTTP/1.1 needs a Host");
        assert_eq!(parts.uri, "/file=a.png", "origin form");

        // A Host the client's `Connection` named goes, and the WebUI's own takes its place.
        let mut parts = request(Request::get("/").header("host", "sd.example.com").header("connection", "host"));
        prepare_request(&mut parts, "127.0.0.1:7860", &HeaderValue::from_static("10.0.0.9"));
        assert_eq!(parts.headers["host"], "127.0.0.1:7860");
    }

    #[test]
    fn websocket_upgrades_keep_their_own_headers_both_ways() {
        let mut parts = request(
            Request::get("/queue/join")
                .header("connection", "Upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        );
        prepare_request(&mut parts, "127.0.0.1:7860", &HeaderValue::from_static("10.0.0.9"));
        assert_eq!(parts.headers["connection"], "upgrade");
        assert_eq!(parts.headers["upgrade"], "websocket");
        assert_eq!(parts.headers["sec-websocket-key"], "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn responses_lose_hop_by_hop_headers_unless_switching_protocols() {
        let (mut ok, _) = Response::builder()
            .header("connection", "keep-alive")
            .header("keep-alive", "timeout=5")
            .header("transfer-encoding", "chunked")
            .header("content-type", "text/html")
            .header(JWT_HEADER, "eyJ.echoed.sig")
            .body(())
            .unwrap()
            .into_parts();
        Found::in_headers(&ok.headers).strip(&mut ok.headers);
        assert_eq!(ok.headers.len(), 1, "{:?}", ok.headers);
        assert_eq!(ok.headers["content-type"], "text/html");

        let (mut switching, _) = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            .body(())
            .unwrap()
            .into_parts();
        let mut found = Found::in_headers(&switching.headers);
        assert!(found.has(&header::CONNECTION) && found.has(&header::UPGRADE) && !found.has(&header::TE));
        assert_eq!(found.upgrade(&switching.headers), Some(HeaderValue::from_static("websocket")));
        found.strip(&mut switching.headers);
        assert_eq!(switching.headers.len(), 1, "{:?}", switching.headers);
    }

    /// A stand-in WebUI answering every request, and how many connections it accepted.
    async fn counting_webui() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(Response::new(http_body_util::Full::new(bytes::Bytes::from(
                        "ok",
                    ))))
                });
                tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), answer));
            }
        });
        (target, accepted)
    }

    async fn get(proxy: &Proxy, target: &str) {
        let upstream = proxy.connect(target).await.unwrap();
        let body = http_body_util::Empty::<bytes::Bytes>::new().map_err(|never| match never {}).boxed();
        let request = Request::get("/").header(header::HOST, target).body(body).unwrap();
        let response = proxy.send(target, upstream, request).await.unwrap();
        assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "ok");
        // The connection's task notices the answer is done and offers it again.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    #[tokio::test]
    async fn kept_connections_carry_the_next_requests_until_they_idle_out() {
        let (target, accepted) = counting_webui().await;
        let proxy = Proxy { kept: Mutex::default(), idle: Duration::from_millis(300) };
        get(&proxy, &target).await;
        get(&proxy, &target).await;
        get(&proxy, &target).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "requests in a row share one connection");
        tokio::time::sleep(Duration::from_millis(400)).await;
        get(&proxy, &target).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "a connection idle past the limit is not used again");
    }

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
