//! The HTTP front: `/_emulator/...` control endpoints, and `/<service>/<REST path>` dispatched to the
//! Google API modules through validation, fault injection, API enablement and permission checks,
//! with every request written to the request log.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};

use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, Style, canonical_message};
use crate::google::{self, Service};
use crate::route::{Call, Handler, Reply, ReplyBody};
use crate::scenario::Scenario;

/// Largest request body accepted (build contexts are uploaded through storage).
const MAX_BODY: usize = 1 << 30;

pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(app)
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let raw = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(raw) => raw,
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("cannot read body: {e}")),
    };
    if let Some(control) = path.strip_prefix("/_emulator/") {
        return control_endpoint(&app, &parts.method, control, parts.uri.query().unwrap_or(""), &raw).await;
    }
    let (service_name, rest) = match path[1..].split_once('/') {
        Some((service, rest)) => (service.to_string(), format!("/{rest}")),
        None => (path[1..].to_string(), "/".to_string()),
    };
    // A repeated parameter (`names=a&names=b`, as the Rust clients send lists) becomes `a,b`.
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned() {
        query
            .entry(k)
            .and_modify(|have| {
                have.push(',');
                have.push_str(&v);
            })
            .or_insert(v);
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let parsed = if content_type.contains("json") && !raw.is_empty() {
        Some(serde_json::from_slice::<Value>(&raw))
    } else {
        None
    };
    let logged_body = match &parsed {
        Some(Ok(v)) => v.clone(),
        _ => Value::Null,
    };

    let service = google::services().iter().find(|s| s.name == service_name);
    let (method_id, reply, style) = match service {
        None => {
            eprintln!(
                "sdctl-emulator: UNKNOWN SERVICE {} {path} (no emulated Google API is named {service_name:?})",
                parts.method
            );
            let e = ApiError::not_found(format!("The requested URL {path} was not found on this server."));
            (None, Err(e), Style::Aip193)
        }
        Some(service) => {
            // Custom methods (`:verb`) first: `r:getIamPolicy` is not a resource named so.
            let mut verbs_first = service
                .routes
                .iter()
                .filter(|r| r.template.has_verb())
                .chain(service.routes.iter().filter(|r| !r.template.has_verb()));
            let found = verbs_first.find_map(|r| {
                (r.verb == parts.method).then(|| r.template.matches(&rest)).flatten().map(|params| (r, params))
            });
            match found {
                None => {
                    eprintln!(
                        "sdctl-emulator: UNKNOWN ROUTE {} /{service_name}{rest} (no {service_name} method is emulated at this path)",
                        parts.method
                    );
                    let e = ApiError::not_found(format!(
                        "The requested URL /{}{rest} was not found on this server.",
                        service.name
                    ));
                    (None, Err(e), service.style)
                }
                Some((route, params)) => {
                    let body = match parsed {
                        Some(Ok(v)) => Ok(v),
                        Some(Err(e)) => Err(ApiError::invalid(format!("Invalid JSON payload received. {e}"))),
                        None => Ok(Value::Null),
                    };
                    let reply = match body {
                        Err(e) => Err(e),
                        Ok(body) => {
                            let call = Call {
                                service: service.name,
                                method: parts.method.clone(),
                                path: rest.clone(),
                                query: query.clone(),
                                params,
                                body,
                                raw: raw.clone(),
                                content_type,
                                headers: parts.headers.clone(),
                                id: route.id,
                            };
                            dispatch(&app, service, route.handler, call).await
                        }
                    };
                    (Some(route.id), reply, service.style)
                }
            }
        }
    };

    let response = match reply {
        Ok(reply) => to_response(reply),
        Err(e) => error_response(&e, style),
    };
    let mut entry = json!({
        "ts": now_rfc3339(),
        "service": service_name,
        "method": parts.method.as_str(),
        "path": rest,
        "query": query,
        "status": response.status().as_u16(),
        "body": logged_body,
    });
    if let Some(id) = method_id {
        entry["methodId"] = json!(id);
    }
    app.log.push(entry);
    response
}

/// Checks in Google's order (validation, then the service's availability, then IAM), then the handler.
async fn dispatch(app: &Arc<App>, service: &Service, handler: Handler, call: Call) -> Result<Reply, ApiError> {
    if let Some(validator) = &app.validator {
        validator.check(&call)?;
    }
    if let Some(fault) = app.take_fault(call.id, &call.path) {
        let message = fault.message.clone().unwrap_or_else(|| canonical_message(fault.status).to_string());
        let mut e = ApiError::new(fault.status, message);
        e.retry_after = fault.retry_after;
        return Err(e);
    }
    google::check_enabled(app, service, &call)?;
    google::check_permission(app, &call)?;
    match handler {
        Handler::Sync(f) => f(app, &call),
        Handler::Async(f) => f(app.clone(), call).await,
    }
}

fn to_response(reply: Reply) -> Response {
    let mut response = match reply.body {
        ReplyBody::Json(value) => {
            let mut r = Response::new(Body::from(value.to_string()));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
            r
        }
        ReplyBody::Bytes { content_type, data } => {
            let mut r = Response::new(Body::from(data));
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r
        }
        ReplyBody::Empty => Response::new(Body::empty()),
    };
    *response.status_mut() = reply.status;
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn error_response(e: &ApiError, style: Style) -> Response {
    let mut response = Response::new(Body::from(e.body(style).to_string()));
    *response.status_mut() = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
    if let Some(secs) = e.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

fn json_response(value: Value) -> Response {
    to_response(Reply::json(value))
}

async fn control_endpoint(app: &Arc<App>, method: &Method, path: &str, query: &str, body: &[u8]) -> Response {
    match (method, path) {
        (&Method::GET, p) if p.starts_with("connect/") => {
            let cluster = &p["connect/".len()..];
            let q: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            let arg = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
            let Ok(port) = arg("port").parse::<u16>() else {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "connect needs from=, to= and port= (protocol= defaults to TCP)\n".into(),
                );
            };
            let protocol = if arg("protocol").is_empty() { "TCP" } else { arg("protocol") };
            match app.clusters.connect(cluster, arg("from"), arg("to"), port, protocol) {
                Ok(verdict) => json_response(serde_json::to_value(verdict).unwrap_or_default()),
                Err(e) => plain(StatusCode::NOT_FOUND, format!("{e}\n")),
            }
        }
        (&Method::POST, p) if p.starts_with("preempt/") => {
            // preempt/CLUSTER/NODE: Compute Engine reclaims a spot node.
            let Some((cluster, node)) = p["preempt/".len()..].split_once('/') else {
                return plain(StatusCode::BAD_REQUEST, "preempt/CLUSTER/NODE\n".into());
            };
            let shrink = |pool: &str| crate::google::container::preempted(app, cluster, pool);
            match app.clusters.preempt(cluster, node, shrink) {
                Ok(pool) => json_response(json!({ "pool": pool })),
                Err(e) => plain(StatusCode::BAD_REQUEST, format!("{e}\n")),
            }
        }
        (&Method::GET, "state") => json_response(json!({ "resources": state(app) })),
        (&Method::POST, "reset") => {
            app.reset().await;
            json_response(json!({}))
        }
        (&Method::GET, "requests") => json_response(Value::Array(app.log.entries())),
        (&Method::PUT, "scenario") => match Scenario::from_yaml(&String::from_utf8_lossy(body)) {
            Ok(scenario) => {
                app.set_scenario(scenario);
                json_response(json!({}))
            }
            Err(e) => plain(StatusCode::BAD_REQUEST, e.to_string()),
        },
        (&Method::GET, p) if p.starts_with("kubeconfig/") => {
            let cluster = &p["kubeconfig/".len()..];
            match app.clusters.kubeconfig(cluster) {
                Some(text) => {
                    let mut r = plain(StatusCode::OK, text);
                    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
                    r
                }
                None => plain(StatusCode::NOT_FOUND, format!("cluster {cluster:?} is not running\n")),
            }
        }
        _ => plain(StatusCode::NOT_FOUND, format!("no emulator endpoint {method} /_emulator/{path}\n")),
    }
}

/// Every live resource: Google's, then the Kubernetes objects of every running cluster.
pub fn state(app: &App) -> Vec<Value> {
    // The world lock is released before asking the Kubernetes side, which may call back into us.
    let mut resources = app.world().state();
    resources.extend(app.clusters.state());
    resources
}
