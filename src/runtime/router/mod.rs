//! `sdctl runtime router`: the per-user reverse proxy behind Identity-Aware Proxy. Every request
//! is tied to the signed-in user's own WebUI (an Agones GameServer allocated on the first
//! request, or with OpenKruiseGame the user's own instance of the template they chose), and
//! proxied there, websockets included.

mod assign;
mod capacity;
mod dashboard;
pub mod identity;
mod pages;
mod proxy;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;

use self::assign::{AssignError, Assigner, WebUis, Who};
use self::identity::{IapVerifier, Identity, Refusal};
use self::proxy::{Proxy, ProxyError, Upstream};
use super::gameservers::GameServers;
use super::instances::Instances;
use super::now_unix;
use super::store::{RedisOptions, Store};
use crate::plan::TimeScale;

pub use assign::Assigned;
pub use server::default_threads;

/// The maps each request looks in (verified tokens, users, WebUIs): hashed with foldhash, as
/// SipHash cost hundreds of instructions per lookup (callgrind). Their keys are verified tokens,
/// their users and the cluster's WebUIs, never what an unauthenticated request chose.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Body of every response the router sends.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// The path load-balancer health checks use (also answered to `GoogleHC` user agents).
pub const HEALTH_PATH: &str = "/healthz";
/// `lastaccess` is written at most this often per user.
pub const TOUCH_EVERY: Duration = Duration::from_secs(5);
/// Largest request body accepted (images and masks for img2img are a few MB).
pub const MAX_BODY: u64 = 256 * 1024 * 1024;
/// Users whose last activity write is remembered before the ones not seen for `TOUCH_EVERY`
/// are dropped.
const TOUCHED_MAX: usize = 10_000;

/// How the router identifies users.
#[derive(Debug, Clone)]
pub enum IdentityOptions {
    Iap { audience: String, jwks_url: String },
    TrustHeader,
}

/// Where the router finds users' WebUIs.
#[derive(Debug, Clone)]
pub enum WebUiSource {
    /// Agones Fleets' GameServers (with more than one, a Fleet per template).
    Fleets(Vec<String>),
    /// OpenKruiseGame GameServerSets, one per template (users' own instances).
    Templates(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct RouterOptions {
    pub listen: SocketAddr,
    pub redis: RedisOptions,
    pub namespace: String,
    pub source: WebUiSource,
    pub identity: IdentityOptions,
    /// `SDCTL_TIME_SCALE` (tests): shortens how long a checked mapping is trusted and how often
    /// `lastaccess` is written.
    pub time: TimeScale,
    /// Threads serving requests, each with its own runtime and connections.
    pub threads: NonZeroUsize,
}

/// Runs the router until SIGTERM; in-flight requests get a few seconds to finish.
pub async fn run(options: RouterOptions) -> anyhow::Result<()> {
    let store = Store::connect(&options.redis).await?;
    let (mut news, mut board, mut default_fleet) = (None, None, None);
    let (webuis, templates) = match &options.source {
        WebUiSource::Fleets(fleets) => {
            let client = super::gameservers::client().await?;
            news = Some(capacity::CapacityNews::new(client.clone(), &options.namespace));
            let timeout = options.time.scale(assign::QUEUE_TIMEOUT);
            board = Some(Arc::new(capacity::QueueBoard::new(client.clone(), &options.namespace, timeout)));
            default_fleet = fleets.first().cloned();
            let servers = GameServers::new(client, &options.namespace);
            // One Fleet: no templates to choose from (no dashboard, no cookie).
            let templates = if fleets.len() > 1 { fleets.clone() } else { Vec::new() };
            (WebUis::Fleet { servers: Box::new(servers), fleets: fleets.clone() }, templates)
        }
        WebUiSource::Templates(templates) => {
            (WebUis::Instances(Box::new(Instances::connect(&options.namespace).await?)), templates.clone())
        }
    };
    let identity = match &options.identity {
        IdentityOptions::Iap { audience, jwks_url } => {
            let refetch = options.time.scale(identity::REFETCH_MIN_INTERVAL);
            let verifier = Arc::new(IapVerifier::new(audience.clone(), jwks_url.clone(), refetch));
            match verifier.prefetch().await {
                Ok(n) => tracing::info!(keys = n, url = %jwks_url, "IAP keys loaded"),
                Err(e) => tracing::warn!(error = %e, "IAP keys not loaded yet; retrying on the first request"),
            }
            let refresher = verifier.clone();
            let every = options.time.scale(identity::KEYS_REFRESH);
            tokio::spawn(async move { refresher.refresh_forever(every).await });
            Identity::Iap(verifier)
        }
        IdentityOptions::TrustHeader => {
            tracing::warn!("--trust-iap-header: identities are NOT verified (tests only)");
            Identity::TrustHeader
        }
    };
    let listener = server::listen(options.listen)?;
    tracing::info!(
        listen = %listener.local_addr().unwrap_or(options.listen),
        threads = options.threads,
        namespace = %options.namespace,
        webuis = ?options.source,
        redis = %super::store::redact(&options.redis.url),
        "router ready"
    );
    let router = Arc::new(Router {
        identity,
        assigner: Arc::new(Assigner::new(
            store,
            webuis,
            options.time.scale(assign::VERIFIED_FOR),
            options.time.scale(assign::QUEUE_TIMEOUT),
        )),
        templates,
        touch_every: options.time.scale(TOUCH_EVERY),
        touched: Mutex::new(HashMap::default()),
        // Scaled in tests, but not below a second: a request head must still have time to come.
        client_idle: options.time.scale(server::CLIENT_IDLE).max(Duration::from_secs(1)),
        news,
        board,
        default_fleet,
    });
    server::serve(listener, router, options.threads).await
}

/// The client end of a connection, as each of its requests needs it.
pub struct Peer {
    pub addr: SocketAddr,
    /// Its address as `X-Forwarded-For` gets it, made once per connection.
    pub forwarded_for: http::HeaderValue,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Self {
        let forwarded_for = http::HeaderValue::from_str(&addr.ip().to_string())
            // An IP address is always a valid header value.
            .unwrap_or_else(|_| http::HeaderValue::from_static("unknown"));
        Self { addr, forwarded_for }
    }
}

struct Router {
    identity: Identity,
    assigner: Arc<Assigner>,
    /// The templates users choose from (OpenKruiseGame: always; Agones: with more than one
    /// Fleet). Empty: every request goes to the one Fleet.
    templates: Vec<String>,
    touch_every: Duration,
    /// When each user's `lastaccess` was last written.
    touched: Mutex<FastMap<String, Instant>>,
    /// How long a client's idle connection is kept (`server::CLIENT_IDLE`, scaled in tests).
    client_idle: Duration,
    /// The autoscaler's word for users waiting for a GPU (Agones Fleets).
    news: Option<capacity::CapacityNews>,
    /// Where the queues' lengths are published for `sdctl status` (Agones Fleets).
    board: Option<Arc<capacity::QueueBoard>>,
    /// The one Fleet when there are no templates to choose from.
    default_fleet: Option<String>,
}

impl Router {
    /// Answers one request, forwarding it with `proxy` (the serving thread's own).
    async fn handle(self: &Arc<Self>, proxy: &Proxy, mut req: Request<Incoming>, peer: &Peer) -> Response<Body> {
        let started = Instant::now();
        if is_health_check(&req) {
            return pages::text(StatusCode::OK, "ok\n");
        }
        let email = match self.identity.email(req.headers()).await {
            Ok(email) => email,
            Err(refusal) => {
                let reason = match &refusal {
                    Refusal::Missing => "no identity header".to_string(),
                    Refusal::Invalid(why) => why.clone(),
                };
                tracing::warn!(peer = %peer.addr.ip(), path = req.uri().path(), reason = %reason, "refused a request without a valid identity");
                return pages::unauthorized(&reason);
            }
        };
        if let Some(refusal) = refused_request(&req) {
            tracing::warn!(user = %email, peer = %peer.addr.ip(), path = req.uri().path(), reason = refusal, "request refused");
            return pages::refused(refusal);
        }
        // With templates: the router's own pages, and which of the user's instances this is for.
        let template = match dashboard::route(self, &req, &email).await {
            dashboard::Route::Answer(response) => return response,
            dashboard::Route::Template(t) => t,
            dashboard::Route::Fleet => None,
        };
        let who = Who { email: &email, template: template.as_deref(), may_start: may_start(&req) };
        let assigned = match self.assigner.assign(who).await {
            Ok(a) => a,
            Err(e) => return self.not_assigned(who, e).await,
        };
        if assigned.how == "allocated" {
            // The user may have left the queue.
            self.publish_queue(who);
        }
        let key = who.key();
        self.touch(&key);
        let client_upgrade = proxy::is_upgrade(req.headers()).then(|| hyper::upgrade::on(&mut req));
        let mut target = assigned;
        let upstream = match self.upstream(proxy, who, &mut target).await {
            Ok(upstream) => upstream,
            Err(page) => return page,
        };
        let (mut parts, body) = req.into_parts();
        // For the log line: the request itself goes on to the WebUI.
        let (method, uri) = (parts.method.clone(), parts.uri.clone());
        proxy::prepare_request(&mut parts, &target.target, &peer.forwarded_for);
        let response = match proxy.send(&target.target, upstream, Request::from_parts(parts, body.boxed())).await {
            Ok(response) => response,
            Err(ProxyError::Connect(why) | ProxyError::Upstream(why)) => {
                return self.did_not_answer(who, &target, &why);
            }
        };
        let (response, backend_upgrade) = proxy::response_for_client(response);
        // One line per request only at debug level (`-v`, or RUST_LOG=sdctl=debug): it costs
        // the proxy about a tenth of its throughput (`cargo bench --bench router`), and the load
        // balancer can log every request itself. A WebUI's own server errors are always logged.
        macro_rules! proxied {
            ($level:ident) => {
                tracing::$level!(
                    user = %email,
                    gameserver = %target.gameserver,
                    target = %target.target,
                    how = target.how,
                    method = %method,
                    path = uri.path(),
                    status = response.status().as_u16(),
                    latency_ms = started.elapsed().as_millis() as u64,
                    "proxied"
                )
            };
        }
        if response.status().is_server_error() {
            proxied!(info);
        } else {
            proxied!(debug);
        }
        if let (Some(client), Some(backend)) = (client_upgrade, backend_upgrade) {
            let (router, key) = (self.clone(), key.into_owned());
            proxy::tunnel(client, backend, self.touch_every, Arc::new(move || router.touch(&key)));
        }
        response
    }

    /// A connection to the user's WebUI (`target`). When it is unreachable its GameServer may be
    /// gone: the mapping is checked again (allocating a new one if needed) and `target` becomes
    /// the WebUI found; nothing was sent yet, so the request can go there. Else the page to send.
    async fn upstream(&self, proxy: &Proxy, who: Who<'_>, target: &mut Assigned) -> Result<Upstream, Response<Body>> {
        let why = match proxy.connect(&target.target).await {
            Ok(upstream) => return Ok(upstream),
            Err(ProxyError::Connect(why) | ProxyError::Upstream(why)) => why,
        };
        tracing::warn!(user = %who.email, target = %target.target, error = %why, "WebUI unreachable; re-checking its GameServer");
        self.assigner.forget(who);
        match self.assigner.assign(who).await {
            Ok(again) if again.target != target.target => *target = again,
            Ok(_) => return Err(self.did_not_answer(who, target, &why)),
            Err(AssignError::Backend(e)) => {
                tracing::error!(user = %who.email, error = %format!("{e:#}"), "cannot re-assign a WebUI");
                return Err(self.did_not_answer(who, target, &why));
            }
            Err(e) => return Err(self.not_assigned(who, e).await),
        }
        match proxy.connect(&target.target).await {
            Ok(upstream) => Ok(upstream),
            Err(ProxyError::Connect(why) | ProxyError::Upstream(why)) => Err(self.did_not_answer(who, target, &why)),
        }
    }

    /// The page for a user whose WebUI could not be reached or failed mid-request; the next
    /// request checks the mapping again.
    fn did_not_answer(&self, who: Who<'_>, target: &Assigned, why: &str) -> Response<Body> {
        tracing::warn!(user = %who.email, gameserver = %target.gameserver, target = %target.target, error = %why, "WebUI did not answer");
        self.assigner.forget(who);
        pages::unavailable("it did not answer")
    }

    /// The page for a user without a WebUI to send the request to.
    async fn not_assigned(&self, who: Who<'_>, e: AssignError) -> Response<Body> {
        match e {
            AssignError::NoCapacity(wait) => {
                self.publish_queue(who);
                let news = match &self.news {
                    Some(news) => news.latest().await,
                    None => None,
                };
                pages::no_capacity(wait, news.as_deref())
            }
            AssignError::Starting(why) => pages::starting(who.template.unwrap_or_default(), &why),
            AssignError::NoTemplate(t) => {
                tracing::warn!(user = %who.email, template = %t, "no GameServerSet for this template");
                pages::internal(&format!("template {t} is not set up in this cluster"))
            }
            AssignError::Backend(e) => {
                tracing::error!(user = %who.email, error = %format!("{e:#}"), "cannot assign a WebUI");
                pages::internal("Redis or the Kubernetes API did not answer")
            }
        }
    }

    /// Publishes the length of the queue `who` waits in (or just left), without delaying the
    /// request.
    fn publish_queue(&self, who: Who<'_>) {
        let (Some(board), Some(fleet)) = (&self.board, who.template.or(self.default_fleet.as_deref())) else { return };
        let (board, assigner, fleet) = (board.clone(), self.assigner.clone(), fleet.to_string());
        tokio::spawn(async move { board.publish(assigner.store(), &fleet).await });
    }

    /// Records the user's activity (`key`: their Redis key), at most every few seconds, without
    /// delaying the request.
    fn touch(&self, email: &str) {
        let due = match self.touched.lock() {
            Ok(mut map) => {
                let due = map.get(email).is_none_or(|t| t.elapsed() >= self.touch_every);
                if due {
                    if map.len() >= TOUCHED_MAX {
                        map.retain(|_, t| t.elapsed() < self.touch_every);
                    }
                    map.insert(email.to_string(), Instant::now());
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let store = self.assigner.store().clone();
            let email = email.to_string();
            tokio::spawn(async move {
                if let Err(e) = store.touch(&email, now_unix()).await {
                    tracing::warn!(user = %email, error = %e, "cannot record activity");
                }
            });
        }
    }
}

/// Why a signed-in user's request is not passed on, if it is not:
/// - a cross-site request that changes something, or any cross-site websocket: browsers send
///   `Origin` with those, and a page of another site must not drive a user's WebUI with the
///   user's IAP session (cross-site request forgery, websocket hijacking);
/// - a body larger than `MAX_BODY`.
fn refused_request(req: &Request<Incoming>) -> Option<&'static str> {
    let headers = req.headers();
    let length =
        headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|l| l > MAX_BODY) {
        return Some("the request body is too large");
    }
    let safe = matches!(*req.method(), http::Method::GET | http::Method::HEAD | http::Method::OPTIONS);
    if safe && !proxy::is_upgrade(headers) {
        return None;
    }
    let origin = headers.get(http::header::ORIGIN)?.to_str().unwrap_or("null");
    let host = headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, h)| h.trim_end_matches('/')).unwrap_or("");
    (origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host)).then_some("a request from another site")
}

/// Whether a request may start the user's stopped instance: not when another site's page made
/// the browser send it (an image or a script pointing here would start a GPU for the user),
/// unless the user followed a link themselves (Fetch Metadata: `Sec-Fetch-Site`,
/// `Sec-Fetch-User`; browsers without it are let through).
fn may_start(req: &Request<Incoming>) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match header("sec-fetch-site") {
        "" | "none" | "same-origin" => true,
        _ => header("sec-fetch-mode") == "navigate" && header("sec-fetch-user") == "?1",
    }
}

/// Load-balancer health checks: the health path, or Google's checker without an identity.
fn is_health_check(req: &Request<Incoming>) -> bool {
    if req.uri().path() == HEALTH_PATH {
        return true;
    }
    let google_hc = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("GoogleHC"));
    google_hc && !Identity::has_identity_header(req.headers())
}
