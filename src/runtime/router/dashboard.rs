//! With templates (OpenKruiseGame, or Agones with a Fleet per template): which of the user's
//! WebUIs a request is for, and the router's own pages under `/_sdctl/` (design.md):
//! - the cookie `sdctl-template=NAME` sends requests to the user's instance of NAME; with one
//!   template no cookie is needed;
//! - `/` without it (and `/_sdctl/` always) is the user's dashboard: each template with the
//!   state of the user's instance, and buttons to open or stop it;
//! - `POST /_sdctl/open?template=NAME` starts the instance and sets the cookie;
//!   `POST /_sdctl/stop?template=NAME` stops it (the user's disk stays) and clears the cookie;
//!   `POST /_sdctl/delete?template=NAME` stops it and deletes the user's disk of it (the page
//!   asks first).
//!
//! Only the signed-in user's own instances are ever looked at or changed: the template is the
//! only thing a request chooses.

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use super::assign::{AssignError, Who};
use super::pages::{self, escape};
use super::{Body, Router};
use crate::runtime::instances::State;
use crate::runtime::{now_unix, user};

/// The cookie that selects the template.
pub const TEMPLATE_COOKIE: &str = "sdctl-template";
/// The router's own paths.
pub const OWN_PREFIX: &str = "/_sdctl/";

pub enum Route {
    /// The router answers itself.
    Answer(Response<Body>),
    /// The request goes to the user's instance of this template.
    Template(Option<String>),
    /// Agones with one Fleet: no templates.
    Fleet,
}

pub async fn route(router: &Router, req: &Request<Incoming>, email: &str) -> Route {
    if router.templates.is_empty() {
        return Route::Fleet;
    }
    let path = req.uri().path();
    if path == "/_sdctl" || path.starts_with(OWN_PREFIX) {
        return Route::Answer(own_page(router, req, email).await);
    }
    match chosen(req.headers(), &router.templates) {
        Some(t) => Route::Template(Some(t)),
        None if router.templates.len() == 1 => Route::Template(router.templates.first().cloned()),
        None if path == "/" => Route::Answer(dashboard(router, email).await),
        None => Route::Answer(pages::see_other(OWN_PREFIX, "")),
    }
}

/// The configured template the request's cookie names, if any.
fn chosen(headers: &http::HeaderMap, templates: &[String]) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == TEMPLATE_COOKIE)
        .map(|(_, value)| value.trim())
        .find_map(|value| templates.iter().find(|t| *t == value).cloned())
}

fn query_template<'a>(req: &Request<Incoming>, templates: &'a [String]) -> Option<&'a String> {
    let query = req.uri().query().unwrap_or_default();
    let wanted = query.split('&').find_map(|kv| kv.strip_prefix("template="))?;
    templates.iter().find(|t| *t == wanted)
}

fn cookie(template: Option<&str>) -> String {
    match template {
        Some(t) => format!("{TEMPLATE_COOKIE}={t}; Path=/; Secure; HttpOnly; SameSite=Lax"),
        None => format!("{TEMPLATE_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"),
    }
}

async fn own_page(router: &Router, req: &Request<Incoming>, email: &str) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/');
    let action = match path {
        "/_sdctl" => return dashboard(router, email).await,
        "/_sdctl/open" => Action::Open,
        "/_sdctl/stop" => Action::Stop,
        "/_sdctl/delete" => Action::Delete,
        _ => return pages::own(StatusCode::NOT_FOUND, page("Not found", "<p>No such page.</p>")),
    };
    if req.method() != Method::POST {
        return pages::own(StatusCode::METHOD_NOT_ALLOWED, page("Use the buttons", &back()));
    }
    let Some(template) = query_template(req, &router.templates) else {
        return pages::own(StatusCode::NOT_FOUND, page("No such template", &back()));
    };
    // A POST from another site never gets here (`refused_request`).
    let who = Who { email, template: Some(template), may_start: true };
    match action {
        // Waiting (for a GPU, or for the instance to start) happens on `/`, whose page refreshes
        // itself with a GET.
        Action::Open => match router.assigner.assign(who).await {
            Ok(_) | Err(AssignError::Starting(_) | AssignError::NoCapacity(_)) => {
                pages::see_other("/", &cookie(Some(template)))
            }
            Err(e) => {
                tracing::error!(user = %email, template = %template, error = ?e, "cannot open a WebUI");
                pages::own(
                    StatusCode::SERVICE_UNAVAILABLE,
                    page(
                        "Not opened",
                        &format!("<p>Redis or the Kubernetes API did not answer; try again in a moment.</p>{}", back()),
                    ),
                )
            }
        },
        Action::Stop | Action::Delete => match stop(router, who, matches!(action, Action::Delete)).await {
            Ok(()) => pages::see_other(OWN_PREFIX, &cookie(None)),
            Err(e) => {
                tracing::error!(user = %email, template = %template, error = %format!("{e:#}"), "cannot stop an instance");
                let why = escape(&format!("{e:#}"));
                pages::own(
                    StatusCode::SERVICE_UNAVAILABLE,
                    page("Not stopped yet", &format!("<p>{why}. Try again in a moment.</p>{}", back())),
                )
            }
        },
    }
}

enum Action {
    Open,
    Stop,
    Delete,
}

/// Stops the user's WebUI of the template (the instance first, then the mapping), and with
/// `delete` deletes their disk of it; under the user's lock, as the router opens one, so that a
/// request of the user in another tab never gets it while it stops.
async fn stop(router: &Router, who: Who<'_>, delete: bool) -> anyhow::Result<()> {
    let store = router.assigner.store();
    let key = who.key();
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let lock = loop {
        if let Some(lock) = store.try_lock(&key, LOCK_TTL).await? {
            break lock;
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("your WebUI is busy starting");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let template = who.template.unwrap_or_default();
    let released = router.assigner.webuis().release(template, &user::label(who.email), who.email, delete).await;
    let removed = match released {
        Ok(()) => store.remove(&key).await,
        Err(e) => Err(e),
    };
    router.assigner.forget(who);
    if let Err(e) = store.unlock(lock).await {
        tracing::warn!(user = %who.email, error = %e, "could not release the lock (it expires by itself)");
    }
    removed
}

/// The user's lock, as the router takes it to open a WebUI (a stop waits at most 15 s for
/// OpenKruiseGame's set).
const LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a stop waits for an open of the same user to finish.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The user's templates and instances.
async fn dashboard(router: &Router, email: &str) -> Response<Body> {
    let webuis = router.assigner.webuis();
    let label = user::label(email);
    let mut rows = String::new();
    for template in &router.templates {
        let who = Who { email, template: Some(template), may_start: false };
        let state = match webuis.user_state(template, &label, email).await {
            Ok(state) => state,
            Err(e) => return failed(email, e),
        };
        let idle = match router.assigner.store().get(&who.key()).await {
            Ok(Some(m)) if m.lastaccess > 0 => Some((now_unix() - m.lastaccess).max(0) / 60),
            _ => None,
        };
        let shown = match (&state, idle) {
            (None, _) if webuis.has_disks() => "not created yet (opening it creates your own disk)".to_string(),
            (None, _) => "none yet (opening it gives you a WebUI that is ready)".to_string(),
            (Some(State::Ready), Some(minutes)) if minutes > 0 => format!("ready, idle for {minutes} min"),
            (Some(State::Starting(why)), _) => format!("starting: {why}"),
            (Some(s), _) => s.word().to_string(),
        };
        let t = escape(template);
        let mut buttons = format!(
            r#"<form method="post" action="/_sdctl/open?template={t}"><button type="submit">Open</button></form>"#
        );
        if matches!(state, Some(State::Ready | State::Starting(_))) {
            buttons.push_str(&format!(
                r#"<form method="post" action="/_sdctl/stop?template={t}"><button type="submit">Stop</button></form>"#
            ));
        }
        if state.is_some() && webuis.has_disks() {
            let question = format!("Delete your {t} instance and its disk, with everything on it?");
            buttons.push_str(&format!(
                r#"<form method="post" action="/_sdctl/delete?template={t}" onsubmit="return confirm('{question}')"><button type="submit">Delete (and its disk)</button></form>"#
            ));
        }
        rows.push_str(&format!(
            "<tr><td><b>{t}</b></td><td class=\"state\">{}</td><td>{buttons}</td></tr>",
            escape(&shown)
        ));
    }
    let about = if webuis.has_disks() {
        "Each template is your own WebUI with your own disk; a stopped one keeps your disk and starts again where \
         you left it."
    } else {
        "Each template is a WebUI of your own while you use it; your images stay in your folder of the shared \
         storage."
    };
    let body = format!(
        "<p>Signed in as {}. {about}</p>\
         <table><tr><th>Template</th><th>Your instance</th><th></th></tr>{rows}</table>",
        escape(email)
    );
    pages::own(StatusCode::OK, page("Your Stable Diffusion WebUIs", &body))
}

fn failed(email: &str, e: anyhow::Error) -> Response<Body> {
    tracing::error!(user = %email, error = %format!("{e:#}"), "cannot show the dashboard");
    pages::internal("the Kubernetes API did not answer")
}

fn back() -> String {
    format!(r#"<p><a href="{OWN_PREFIX}">Your instances</a></p>"#)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:48em;margin:3em auto;line-height:1.5}}\
         table{{border-collapse:collapse;width:100%}}td,th{{text-align:left;padding:.5em;border-bottom:1px solid #ddd}}\
         form{{display:inline;margin-right:.5em}}</style></head><body><h1>{title}</h1>{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_template_is_chosen_by_the_cookie() {
        let templates = vec!["sd15".to_string(), "sdxl".to_string()];
        let mut h = http::HeaderMap::new();
        h.append(header::COOKIE, "theme=dark; sdctl-template=sdxl".parse().unwrap());
        assert_eq!(chosen(&h, &templates).as_deref(), Some("sdxl"));
        let mut forged = http::HeaderMap::new();
        forged.append(header::COOKIE, "sdctl-template=../sd15-0; sdctl-template=other".parse().unwrap());
        assert_eq!(chosen(&forged, &templates), None);
        assert!(cookie(Some("sd15")).starts_with("sdctl-template=sd15; Path=/; Secure; HttpOnly"));
        assert!(cookie(None).contains("Max-Age=0"));
    }
}
