//! Routes: an HTTP verb and a REST path template (`v1/projects/{project}/locations/{location}/clusters/{cluster}:setResourceLabels`)
//! bound to a Discovery method id and a handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiResult;

/// One parsed request, as handlers see it.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: &'static str,
    pub method: Method,
    /// The REST path without the `/<service>` prefix, as sent (percent-encoded).
    pub path: String,
    /// Decoded query parameters (last value wins).
    pub query: BTreeMap<String, String>,
    /// Path variables captured by the template, percent-decoded.
    pub params: BTreeMap<&'static str, String>,
    /// The parsed JSON body, or `Null`.
    pub body: Value,
    /// The raw body (media uploads).
    pub raw: Bytes,
    pub content_type: String,
    pub headers: http::HeaderMap,
    /// Discovery method id.
    pub id: &'static str,
}

impl Call {
    /// A path variable. Every template variable is captured, so a missing one is a bug in the route table.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A query parameter, `None` when absent or empty (the Rust clients send deprecated ones empty).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A body field, `Null` when absent.
    pub fn field(&self, name: &str) -> &Value {
        self.body.get(name).unwrap_or(&Value::Null)
    }
}

#[derive(Debug, Clone)]
pub enum ReplyBody {
    Json(Value),
    Bytes { content_type: String, data: Bytes },
    Empty,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(value: Value) -> Self {
        Self { status: StatusCode::OK, body: ReplyBody::Json(value), headers: Vec::new() }
    }

    /// `{}`: what proto APIs answer for `google.protobuf.Empty`.
    pub fn empty_object() -> Self {
        Self::json(json!({}))
    }

    /// 204 No Content (storage deletes).
    pub fn no_content() -> Self {
        Self { status: StatusCode::NO_CONTENT, body: ReplyBody::Empty, headers: Vec::new() }
    }

    pub fn bytes(content_type: impl Into<String>, data: Bytes) -> Self {
        Self {
            status: StatusCode::OK,
            body: ReplyBody::Bytes { content_type: content_type.into(), data },
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

pub type SyncHandler = fn(&Arc<App>, &Call) -> ApiResult<Reply>;
pub type AsyncHandler = fn(Arc<App>, Call) -> BoxFuture<'static, ApiResult<Reply>>;

#[derive(Clone, Copy)]
pub enum Handler {
    Sync(SyncHandler),
    Async(AsyncHandler),
}

pub struct Route {
    pub verb: Method,
    pub template: Template,
    pub id: &'static str,
    pub handler: Handler,
}

/// Shorthand for a route table entry with a synchronous handler.
pub fn route(verb: Method, template: &'static str, id: &'static str, handler: SyncHandler) -> Route {
    Route { verb, template: Template::parse(template), id, handler: Handler::Sync(handler) }
}

/// Shorthand for a route table entry with an asynchronous handler (long polls).
pub fn route_async(verb: Method, template: &'static str, id: &'static str, handler: AsyncHandler) -> Route {
    Route { verb, template: Template::parse(template), id, handler: Handler::Async(handler) }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(&'static str),
    /// `{name}`: one path segment.
    Var(&'static str),
    /// `{name=**}`: the rest of the path (at least one segment).
    Rest(&'static str),
}

/// A REST path template; a trailing `:verb` is a custom method (AIP-136).
#[derive(Debug, Clone)]
pub struct Template {
    /// The template as written (the Discovery agreement test reads it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub text: &'static str,
    segments: Vec<Segment>,
    verb: Option<&'static str>,
}

impl Template {
    pub fn parse(text: &'static str) -> Self {
        let (path, verb) = match text.rfind(':') {
            Some(i) if !text[i..].contains('/') && !text[i..].contains('}') => (&text[..i], Some(&text[i + 1..])),
            _ => (text, None),
        };
        let segments = path
            .trim_start_matches('/')
            .split('/')
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => match var.strip_suffix("=**") {
                    Some(name) => Segment::Rest(name),
                    None => Segment::Var(var),
                },
                None => Segment::Literal(s),
            })
            .collect();
        Self { text, segments, verb }
    }

    /// Matches a raw (percent-encoded) path without its leading `/`; returns decoded variables.
    /// Whether the template ends in a custom verb (`:getIamPolicy`): such routes are tried first,
    /// so `.../repositories/r:getIamPolicy` is the custom method, not a resource named `r:getIamPolicy`.
    pub fn has_verb(&self) -> bool {
        self.verb.is_some()
    }

    pub fn matches(&self, path: &str) -> Option<BTreeMap<&'static str, String>> {
        let path = path.trim_start_matches('/');
        let path = match self.verb {
            Some(verb) => path.strip_suffix(verb)?.strip_suffix(':')?,
            None => path,
        };
        let parts: Vec<&str> = path.split('/').collect();
        let mut vars = BTreeMap::new();
        let mut i = 0;
        for (n, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(lit) => {
                    if parts.get(i) != Some(lit) {
                        return None;
                    }
                    i += 1;
                }
                Segment::Var(name) => {
                    let part = parts.get(i).filter(|p| !p.is_empty())?;
                    vars.insert(*name, decode(part));
                    i += 1;
                }
                Segment::Rest(name) => {
                    // Only at the end of a template (the route table never puts it elsewhere).
                    if n + 1 != self.segments.len() || i >= parts.len() {
                        return None;
                    }
                    let rest: Vec<String> = parts[i..].iter().map(|p| decode(p)).collect();
                    if rest.iter().any(String::is_empty) {
                        return None;
                    }
                    vars.insert(*name, rest.join("/"));
                    i = parts.len();
                }
            }
        }
        (i == parts.len()).then_some(vars)
    }
}

pub fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_variables_and_custom_verbs() {
        let t = Template::parse("v1/projects/{project}/locations/{location}/clusters/{cluster}");
        let vars = t.matches("/v1/projects/p/locations/us-central1/clusters/c1").unwrap();
        assert_eq!(vars["cluster"], "c1");
        assert!(t.matches("/v1/projects/p/locations/l/clusters").is_none());
        assert!(t.matches("/v1/projects/p/locations/l/clusters/c/nodePools").is_none());

        let verb = Template::parse("v1/projects/{project}/locations/{location}/clusters/{cluster}:setResourceLabels");
        assert_eq!(verb.matches("v1/projects/p/locations/l/clusters/c:setResourceLabels").unwrap()["cluster"], "c");
        assert!(verb.matches("v1/projects/p/locations/l/clusters/c").is_none());
    }

    #[test]
    fn rest_captures_many_segments_and_decodes() {
        let t = Template::parse("v1/{resource=**}:getIamPolicy");
        let vars = t.matches("v1/projects/p/iap_web/compute/services/bs:getIamPolicy").unwrap();
        assert_eq!(vars["resource"], "projects/p/iap_web/compute/services/bs");
        let o = Template::parse("storage/v1/b/{bucket}/o/{object}");
        assert_eq!(o.matches("storage/v1/b/b/o/a%2Fb.txt").unwrap()["object"], "a/b.txt");
        assert_eq!(o.matches("storage/v1/b/b/o/x:y").unwrap()["object"], "x:y", "object names may hold colons");
    }
}
