//! The router's own short pages: health, who-are-you, and the self-refreshing waits.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Full};

use super::Body;

/// Seconds after which the waiting pages reload themselves.
pub const REFRESH_SECS: u32 = 10;

pub fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    build(status, "text/plain; charset=utf-8", body.to_string(), None)
}

fn build(status: StatusCode, content_type: &str, body: String, retry_after: Option<u32>) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    if let Some(secs) = retry_after {
        h.insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    r
}

fn html(title: &str, message: &str, refresh: bool) -> String {
    let meta = if refresh { format!(r#"<meta http-equiv="refresh" content="{REFRESH_SECS}">"#) } else { String::new() };
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">{meta}<title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.5}}</style></head>\
         <body><h1>{title}</h1><p>{message}</p></body></html>\n"
    )
}

/// No usable identity: the request did not come through Identity-Aware Proxy.
pub fn unauthorized(reason: &str) -> Response<Body> {
    let message = format!(
        "This service is only reachable through Identity-Aware Proxy ({}). Open it through its https:// address \
         and sign in.",
        escape(reason)
    );
    build(StatusCode::UNAUTHORIZED, "text/html; charset=utf-8", html("Sign-in required", &message, false), None)
}

/// Every GPU is in use: the page says so, with the user's place in line, and reloads itself.
pub fn no_capacity(wait: super::assign::Wait, news: Option<&str>) -> Response<Body> {
    let place = match wait.place {
        0 => "You are next in line.".to_string(),
        1 => "You are number 2 in line: one person is ahead of you.".to_string(),
        n => format!("You are number {} in line: {n} people are ahead of you.", n + 1),
    };
    let news = news.map(|n| format!(" {}", escape(n))).unwrap_or_default();
    let message = format!(
        "Every GPU is in use by other people right now, or a new one is still starting (a new GPU node takes \
         about five minutes).{news} {place} Users are served in the order they came; keep this page open to keep \
         your place. It tries again every {REFRESH_SECS} seconds; you will get your own WebUI as soon as a GPU is \
         free for you."
    );
    build(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/html; charset=utf-8",
        html("Waiting for a free GPU", &message, true),
        Some(REFRESH_SECS),
    )
}

/// The user's WebUI did not answer (restarting, or its pod just went away).
pub fn unavailable(what: &str) -> Response<Body> {
    let message = format!(
        "Your WebUI is not answering ({}). It may be restarting; this page tries again every {REFRESH_SECS} \
         seconds.",
        escape(what)
    );
    build(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/html; charset=utf-8",
        html("Your WebUI is starting", &message, true),
        Some(REFRESH_SECS),
    )
}

/// The router cannot reach Redis or the Kubernetes API.
pub fn internal(what: &str) -> Response<Body> {
    let message = format!("The service cannot assign you a WebUI right now ({}). Trying again shortly.", escape(what));
    build(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/html; charset=utf-8",
        html("Temporarily unavailable", &message, true),
        Some(REFRESH_SECS),
    )
}

/// A request the router does not pass on (from another site, too large).
pub fn refused(why: &str) -> Response<Body> {
    let message = format!("This request was refused: {}.", escape(why));
    build(StatusCode::FORBIDDEN, "text/html; charset=utf-8", html("Refused", &message, false), None)
}

/// The user's instance is starting: what it waits for, and a way back to their dashboard.
pub fn starting(template: &str, why: &str) -> Response<Body> {
    let message = format!(
        "Your <b>{}</b> instance: {}. This page tries again every {STARTING_REFRESH_SECS} seconds. \
         <a href=\"/_sdctl/\">Your instances</a>",
        escape(template),
        escape(why)
    );
    let mut page = html("Starting your WebUI", &message, false);
    page = page.replacen(
        "<title>",
        &format!(r#"<meta http-equiv="refresh" content="{STARTING_REFRESH_SECS}"><title>"#),
        1,
    );
    build(StatusCode::SERVICE_UNAVAILABLE, "text/html; charset=utf-8", page, Some(STARTING_REFRESH_SECS))
}

/// A starting instance is looked at again this often.
pub const STARTING_REFRESH_SECS: u32 = 5;

/// A page of the router's own (the dashboard), never cached.
pub fn own(status: StatusCode, body: String) -> Response<Body> {
    build(status, "text/html; charset=utf-8", body, None)
}

/// 303 to `location`, setting or clearing the template cookie.
pub fn see_other(location: &'static str, set_cookie: &str) -> Response<Body> {
    let mut r = build(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", String::new(), None);
    r.headers_mut().insert(header::LOCATION, header::HeaderValue::from_static(location));
    if let Ok(v) = header::HeaderValue::from_str(set_cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
