//! The HTTPS front of a cluster: TLS, bearer-token check, routing of Kubernetes API paths
//! to discovery and the verbs, `Status` errors, and the request log.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::api::{self, DeleteOpts, ListQuery, Opts, Sub, Validation};
use super::cluster::Cluster;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, ApiResult};
use super::types::{Origin, ResourceType};
use super::watch::{self, WatchOpts};
use super::{agones, discovery, meta, reviews};

pub type Body = BoxBody<Bytes, Infallible>;

/// Accept connections until the task is aborted (dropping every connection with it).
pub async fn serve(cluster: Arc<Cluster>, listener: TcpListener, tls: Arc<rustls::ServerConfig>) {
    let acceptor = TlsAcceptor::from(tls);
    let mut conns = JoinSet::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else { continue };
        while conns.try_join_next().is_some() {}
        let acceptor = acceptor.clone();
        let cluster = cluster.clone();
        conns.spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else { return };
            let svc = service_fn(move |req| {
                let cluster = cluster.clone();
                async move { Ok::<_, Infallible>(handle(cluster, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// A parsed request, kept for the log.
struct Req {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn param(&self, k: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.param(k), Some("true" | "1"))
    }

    fn header(&self, k: &str) -> &str {
        self.headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// What a handler produced.
enum Reply {
    Json(u16, Value, Vec<String>),
    Raw(u16, &'static str, Bytes),
    Stream(tokio::sync::mpsc::Receiver<Bytes>),
}

async fn handle(cluster: Arc<Cluster>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let raw_query = parts.uri.query().unwrap_or("");
    let r = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parse_query(raw_query),
        headers: parts.headers,
        body,
    };
    let reply = if authorized(&cluster, &r) {
        match forbidden(&cluster, &r) {
            Some(e) => Reply::Json(e.code, e.to_status(), Vec::new()),
            None => route(&cluster, &r).unwrap_or_else(|e| Reply::Json(e.code, e.to_status(), Vec::new())),
        }
    } else {
        let e = ApiError::new(401, "Unauthorized", "Unauthorized");
        Reply::Json(401, e.to_status(), Vec::new())
    };
    let status = match &reply {
        Reply::Json(c, ..) | Reply::Raw(c, ..) => *c,
        Reply::Stream(_) => 200,
    };
    let mut entry = json!({
        "ts": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        "service": "k8s",
        "method": r.method.as_str(),
        "path": r.path,
        "query": r.query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<String, Value>>(),
        "status": status,
        "body": logged_body(&r),
    });
    match &reply {
        Reply::Json(_, _, warnings) if !warnings.is_empty() => entry["warnings"] = json!(warnings),
        Reply::Json(400, v, _) if r.param("fieldValidation").is_none() && is_strict_refusal(v) => {
            eprintln!(
                "sdctl-emulator: {} {} refused for unknown fields: the request set no fieldValidation, which the emulator treats as Strict (GKE would default to Warn and drop them)",
                r.method, r.path
            );
        }
        _ => {}
    }
    cluster.log(entry);
    respond(reply, &r)
}

fn is_strict_refusal(status: &Value) -> bool {
    status.get("message").and_then(Value::as_str).is_some_and(|m| m.contains("strict decoding error"))
}

/// Any non-empty bearer token is accepted, unless it is too old: a token `anonymous-<unix ms>`
/// (what sdctl sends over plain HTTP) is refused once older than the scenario's
/// `tokenLifetimeSeconds` (default 3600: Google access tokens live at most an hour), as a
/// cluster refuses an expired Google token. Discovery of the version and health are public.
fn authorized(cluster: &Cluster, r: &Req) -> bool {
    if matches!(r.path.as_str(), "/version" | "/healthz" | "/livez" | "/readyz") {
        return true;
    }
    let Some(token) = r.header("authorization").strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()) else {
        return false;
    };
    let minted = token.strip_prefix("anonymous-").and_then(|ms| ms.parse::<u64>().ok());
    let Some(minted) = minted else { return true };
    let lifetime =
        cluster.host.scaled(std::time::Duration::from_secs_f64(cluster.host.scenario().token_lifetime_seconds()));
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH + std::time::Duration::from_millis(minted))
        .unwrap_or_default();
    age <= lifetime
}

/// Test hook: a bearer token `serviceaccount:NS:NAME` acts as that service account, and its
/// requests are authorized by RBAC as the API server does (request attributes from the path:
/// kubernetes.io/docs/reference/access-authn-authz/authorization, "Determine the request verb").
/// Discovery is open to every authenticated caller (`system:discovery`). None: allowed.
fn forbidden(cluster: &Cluster, r: &Req) -> Option<ApiError> {
    let token = r.header("authorization").strip_prefix("Bearer ")?.trim();
    let (sa_namespace, account) = token.strip_prefix("serviceaccount:")?.split_once(':')?;
    let segs: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
    // `/api/v1/...` or `/apis/GROUP/VERSION/...`; shorter paths are discovery.
    let (group, rest) = match segs.as_slice() {
        ["api", _, rest @ ..] => ("", rest),
        ["apis", g, _, rest @ ..] => (*g, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (*ns, more),
        _ => ("", rest),
    };
    let (resource, name, sub) = match rest {
        [] => return None,
        [res] => (res.to_string(), None, None),
        [res, name] => (res.to_string(), Some(*name), None),
        [res, name, sub, ..] => (res.to_string(), Some(*name), Some(*sub)),
    };
    let resource = match sub {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource,
    };
    let verb = match (&r.method, name) {
        (&Method::GET | &Method::HEAD, _) if r.flag("watch") => "watch",
        (&Method::GET | &Method::HEAD, Some(_)) => "get",
        (&Method::GET | &Method::HEAD, None) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        (&Method::DELETE, None) => "deletecollection",
        _ => return None,
    };
    let request = super::rbac::Request { group, resource: &resource, name, verb };
    let st = cluster.lock();
    if super::rbac::allows_in(&st, sa_namespace, account, namespace, request) {
        return None;
    }
    let user = format!("system:serviceaccount:{sa_namespace}:{account}");
    let what = match name {
        Some(n) => format!("{resource} \"{n}\" is forbidden"),
        None => format!("{resource} is forbidden"),
    };
    let scope = if namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{namespace}\"")
    };
    let message =
        format!("{what}: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}");
    Some(ApiError::new(403, "Forbidden", message))
}

fn logged_body(r: &Req) -> Value {
    if r.body.is_empty() {
        return Value::Null;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
        return v;
    }
    std::str::from_utf8(&r.body).ok().and_then(|t| serde_saphyr::from_str::<Value>(t).ok()).unwrap_or(Value::Null)
}

fn respond(reply: Reply, r: &Req) -> Response<Body> {
    let mut b = Response::builder();
    let body: Body = match reply {
        Reply::Json(code, v, warnings) => {
            b = b.status(code).header("content-type", content_type(r, &v));
            for w in warnings {
                b = b.header("warning", format!("299 - {w:?}"));
            }
            Full::new(Bytes::from(serde_json::to_vec(&v).unwrap_or_default())).boxed()
        }
        Reply::Raw(code, ct, bytes) => {
            b = b.status(code).header("content-type", ct);
            Full::new(bytes).boxed()
        }
        Reply::Stream(rx) => {
            b = b.status(200).header("content-type", "application/json").header("transfer-encoding", "chunked");
            let s = tokio_stream::wrappers::ReceiverStream::new(rx).map(|c| Ok::<_, Infallible>(Frame::data(c)));
            BodyExt::boxed(StreamBody::new(s))
        }
    };
    b.body(body).unwrap_or_else(|_| {
        let mut resp = Response::new(Full::new(Bytes::new()).boxed());
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp
    })
}

fn content_type(r: &Req, v: &Value) -> &'static str {
    if v.get("kind").and_then(Value::as_str) == Some("APIGroupDiscoveryList") {
        if r.header("accept").contains("v=v2;") {
            return "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
        }
        return "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
    }
    "application/json"
}

/// Decode `a=b&c=d%2Ce`.
fn parse_query(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A resource request: `/api/v1/...` or `/apis/GROUP/VERSION/...`.
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
}

fn route(cluster: &Arc<Cluster>, r: &Req) -> ApiResult<Reply> {
    let segs: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
    let aggregated = r.header("accept").contains("as=APIGroupDiscoveryList");
    let get = r.method == Method::GET;
    match segs.as_slice() {
        ["version"] if get => return Ok(Reply::Json(200, discovery::version(cluster), vec![])),
        ["healthz" | "livez" | "readyz"] if get => return Ok(Reply::Raw(200, "text/plain", Bytes::from_static(b"ok"))),
        ["api"] if get => {
            let st = cluster.lock();
            let v =
                if aggregated { discovery::aggregated(&st.registry, true) } else { discovery::core_versions(cluster) };
            return Ok(Reply::Json(200, v, vec![]));
        }
        ["apis"] if get => {
            let st = cluster.lock();
            let v =
                if aggregated { discovery::aggregated(&st.registry, false) } else { discovery::groups(&st.registry) };
            return Ok(Reply::Json(200, v, vec![]));
        }
        ["api", "v1"] if get => {
            let st = cluster.lock();
            return Ok(Reply::Json(200, discovery::resources(&st.registry, "", "v1"), vec![]));
        }
        ["apis", g] if get => {
            let st = cluster.lock();
            return discovery::group(&st.registry, g)
                .map(|v| Reply::Json(200, v, vec![]))
                .ok_or_else(ApiError::no_resource);
        }
        ["apis", g, v] if get => {
            let st = cluster.lock();
            if st.registry.in_group_version(g, v).is_empty() {
                if unavailable_api_service(&st, g, v) {
                    return Err(ApiError::service_unavailable("the server is currently unable to handle the request"));
                }
                return Err(ApiError::no_resource());
            }
            return Ok(Reply::Json(200, discovery::resources(&st.registry, g, v), vec![]));
        }
        _ => {}
    }
    let t = parse_target(&segs).ok_or_else(ApiError::no_resource)?;
    let rt = {
        let st = cluster.lock();
        match st.registry.find(&t.group, &t.version, &t.plural) {
            Some(rt) => rt,
            None if unavailable_api_service(&st, &t.group, &t.version) => {
                return Err(ApiError::service_unavailable("the server is currently unable to handle the request"));
            }
            None => return Err(ApiError::no_resource()),
        }
    };
    if !rt.namespaced && t.namespace.is_some() {
        return Err(ApiError::no_resource());
    }
    if rt.namespaced && t.namespace.is_none() && t.name.is_some() {
        return Err(ApiError::no_resource());
    }
    let sub = match t.sub.as_deref() {
        None => Sub::Main,
        Some("status") if rt.status => Sub::Status,
        Some("scale") if rt.scale.is_some() => Sub::Scale,
        Some(_) => return Err(ApiError::no_resource()),
    };
    match &t.name {
        Some(name) => item(cluster, r, &rt, t.namespace.as_deref().unwrap_or(""), name, sub),
        None => collection(cluster, r, &rt, t.namespace.as_deref()),
    }
}

/// A registered aggregated API whose backend is not available answers 503, as the aggregator does.
fn unavailable_api_service(st: &super::store::Store, group: &str, version: &str) -> bool {
    st.get("apiservices.apiregistration.k8s.io", "", &format!("{version}.{group}")).is_some_and(|a| {
        a.pointer("/spec/service").is_some_and(|s| !s.is_null()) && !meta::condition_true(&a, "Available")
    })
}

fn parse_target(segs: &[&str]) -> Option<Target> {
    let (group, version, rest) = match segs {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return None,
    };
    let s = |x: &str| Some(x.to_string());
    let (namespace, plural, name, sub) = match rest {
        // The namespace object itself (and its subresources) sits where namespaced paths start.
        ["namespaces", n] if group.is_empty() => (None, "namespaces".into(), s(n), None),
        ["namespaces", n, sub @ ("status" | "finalize")] if group.is_empty() => {
            (None, "namespaces".into(), s(n), s(sub))
        }
        ["namespaces", ns, plural] => (s(ns), plural.to_string(), None, None),
        ["namespaces", ns, plural, name] => (s(ns), plural.to_string(), s(name), None),
        ["namespaces", ns, plural, name, sub] => (s(ns), plural.to_string(), s(name), s(sub)),
        [plural] => (None, plural.to_string(), None, None),
        [plural, name] => (None, plural.to_string(), s(name), None),
        [plural, name, sub] => (None, plural.to_string(), s(name), s(sub)),
        _ => return None,
    };
    Some(Target { group, version, namespace, plural, name, sub })
}

fn write_opts(r: &Req) -> ApiResult<Opts> {
    let validation = match r.param("fieldValidation") {
        None | Some("") | Some("Strict") => Validation::Strict,
        Some("Warn") => Validation::Warn,
        Some("Ignore") => Validation::Ignore,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
            )));
        }
    };
    let manager = r
        .param("fieldManager")
        .map(String::from)
        .unwrap_or_else(|| r.header("user-agent").split('/').next().unwrap_or("").to_string());
    Ok(Opts {
        manager,
        dry_run: r.param("dryRun") == Some("All"),
        validation,
        force: r.flag("force"),
        warnings: Vec::new(),
        internal: false,
    })
}

/// `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` requests.
fn wants_partial(r: &Req) -> bool {
    r.header("accept").contains("as=PartialObjectMetadata")
}

fn body_value(r: &Req) -> ApiResult<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(&r.body).map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    serde_saphyr::from_str(text).map_err(|e| ApiError::bad_request(format!("error decoding the request body: {e}")))
}

fn item(cluster: &Arc<Cluster>, r: &Req, rt: &Arc<ResourceType>, ns: &str, name: &str, sub: Sub) -> ApiResult<Reply> {
    if matches!(rt.origin, Origin::Aggregated) || !rt.supports("get") {
        return Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource"));
    }
    let mut st = cluster.lock();
    let reply = match r.method {
        Method::GET => {
            let obj = api::get(&st, rt, ns, name)?;
            let v = match sub {
                Sub::Scale => api::scale_of(rt, &obj),
                _ if wants_partial(r) => watch::partial(&obj),
                _ => api::present(rt, &obj),
            };
            Reply::Json(200, v, vec![])
        }
        Method::PUT => {
            let mut opts = write_opts(r)?;
            let out = api::update(&mut st, rt, ns, name, body_value(r)?, sub, &mut opts)?;
            Reply::Json(200, out_for(rt, sub, out), opts.warnings)
        }
        Method::PATCH => {
            let mut opts = write_opts(r)?;
            let ct = r.header("content-type").to_string();
            let (out, created) = api::patch(&mut st, rt, ns, name, &ct, &r.body, sub, &mut opts)?;
            Reply::Json(if created { 201 } else { 200 }, out_for(rt, sub, out), opts.warnings)
        }
        Method::DELETE => {
            let d = delete_opts(r)?;
            let out = api::delete(&mut st, rt, ns, name, &d)?;
            Reply::Json(200, api::present(rt, &out), vec![])
        }
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    refresh(&mut st);
    drop(st);
    cluster.wake.notify_one();
    Ok(reply)
}

fn out_for(rt: &ResourceType, sub: Sub, out: Value) -> Value {
    if sub == Sub::Scale && out.get("kind").and_then(Value::as_str) == Some("Scale") {
        out
    } else {
        api::present(rt, &out)
    }
}

fn delete_opts(r: &Req) -> ApiResult<DeleteOpts> {
    let body = if r.body.is_empty() { json!({}) } else { body_value(r)? };
    Ok(DeleteOpts {
        propagation: r
            .param("propagationPolicy")
            .map(String::from)
            .or_else(|| body.get("propagationPolicy").and_then(Value::as_str).map(String::from)),
        uid: body.pointer("/preconditions/uid").and_then(Value::as_str).map(String::from),
        resource_version: body.pointer("/preconditions/resourceVersion").and_then(Value::as_str).map(String::from),
        dry_run: r.param("dryRun") == Some("All")
            || body.get("dryRun").and_then(Value::as_array).is_some_and(|a| !a.is_empty()),
    })
}

fn list_query(r: &Req, rt: &ResourceType) -> ApiResult<ListQuery> {
    Ok(ListQuery {
        labels: LabelSelector::parse(r.param("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(r.param("fieldSelector").unwrap_or(""), &rt.kind)?,
        limit: r.param("limit").and_then(|l| l.parse().ok()),
        continue_token: r.param("continue").filter(|c| !c.is_empty()).map(String::from),
    })
}

fn collection(cluster: &Arc<Cluster>, r: &Req, rt: &Arc<ResourceType>, ns: Option<&str>) -> ApiResult<Reply> {
    match r.method {
        Method::GET if r.flag("watch") => {
            if !rt.supports("watch") {
                return Err(ApiError::method_not_allowed("watch is not supported"));
            }
            let q = list_query(r, rt)?;
            let opts = WatchOpts {
                resource_version: r.param("resourceVersion").map(String::from),
                bookmarks: r.flag("allowWatchBookmarks"),
                send_initial_events: r.flag("sendInitialEvents"),
                timeout: r.param("timeoutSeconds").and_then(|t| t.parse().ok()).map(Duration::from_secs),
                partial_metadata: wants_partial(r),
            };
            let rx = watch::start(cluster, rt.clone(), ns.map(String::from), q, opts)?;
            Ok(Reply::Stream(rx))
        }
        Method::GET => {
            if !rt.supports("list") {
                return Err(ApiError::method_not_allowed("list is not supported"));
            }
            let q = list_query(r, rt)?;
            let st = cluster.lock();
            let mut v = api::list(&st, rt, ns, &q)?;
            if wants_partial(r) {
                let items: Vec<Value> = v["items"].as_array().into_iter().flatten().map(watch::partial).collect();
                v = json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": v["metadata"], "items": items});
            }
            Ok(Reply::Json(200, v, vec![]))
        }
        Method::POST => {
            let ns = ns.unwrap_or("");
            let body = body_value(r)?;
            let mut opts = write_opts(r)?;
            let mut st = cluster.lock();
            let out = match rt.origin {
                Origin::Aggregated => agones::allocation::allocate(cluster, &mut st, rt, ns, body)?,
                _ if rt.kind.ends_with("Review") => reviews::answer(rt, body)?,
                _ => api::present(rt, &api::create(&mut st, rt, ns, body, &mut opts)?),
            };
            refresh(&mut st);
            drop(st);
            cluster.wake.notify_one();
            Ok(Reply::Json(201, out, opts.warnings))
        }
        Method::DELETE => {
            if !rt.supports("deletecollection") {
                return Err(ApiError::method_not_allowed("deletecollection is not supported"));
            }
            let q = list_query(r, rt)?;
            let d = delete_opts(r)?;
            let mut st = cluster.lock();
            let mut v = api::list(&st, rt, ns, &ListQuery { limit: None, continue_token: None, ..q })?;
            let mut deleted = Vec::new();
            for o in v["items"].as_array().cloned().unwrap_or_default() {
                if let Ok(out) = api::delete(&mut st, rt, meta::namespace(&o), meta::name(&o), &d) {
                    deleted.push(api::present(rt, &out));
                }
            }
            v["items"] = json!(deleted);
            refresh(&mut st);
            drop(st);
            cluster.wake.notify_one();
            Ok(Reply::Json(200, v, vec![]))
        }
        _ => Err(ApiError::method_not_allowed("the server does not allow this method on the requested resource")),
    }
}

/// Recompute served types after a CRD or APIService changed.
pub fn refresh(st: &mut super::store::Store) {
    if st.types_dirty {
        discovery::refresh_types(st);
    }
}
