//! Label selectors (query string form and `LabelSelector` objects) and field selectors.

use std::collections::BTreeMap;

use serde_json::Value;

use super::meta;
use super::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

impl LabelSelector {
    /// Parse `a=b,c!=d,e in (x,y),!f,g`.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for term in split_terms(s) {
            let t = term.trim();
            if t.is_empty() {
                continue;
            }
            reqs.push(parse_term(t).ok_or_else(|| {
                ApiError::bad_request(format!("unable to parse requirement: found '{t}', expected a valid selector"))
            })?);
        }
        Ok(Self(reqs))
    }

    /// From a `metav1.LabelSelector` object (`matchLabels` + `matchExpressions`).
    /// `None` (absent selector) is empty; a malformed one matches nothing.
    pub fn from_object(sel: Option<&Value>) -> Self {
        let Some(sel) = sel.filter(|v| v.is_object()) else { return Self::default() };
        let mut reqs: Vec<Req> =
            meta::string_map(sel.get("matchLabels")).into_iter().map(|(k, v)| Req::Eq(k, v)).collect();
        for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("").to_string();
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => reqs.push(Req::In(key, values)),
                Some("NotIn") => reqs.push(Req::NotIn(key, values)),
                Some("Exists") => reqs.push(Req::Exists(key)),
                Some("DoesNotExist") => reqs.push(Req::NotExists(key)),
                _ => reqs.push(Req::In(key, Vec::new())),
            }
        }
        Self(reqs)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::NotEq(k, v) => labels.get(k) != Some(v),
            Req::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Req::Exists(k) => labels.contains_key(k),
            Req::NotExists(k) => !labels.contains_key(k),
        })
    }

    pub fn matches_object(&self, obj: &Value) -> bool {
        self.is_empty() || self.matches(&meta::labels(obj))
    }
}

/// Split on commas that are not inside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_term(t: &str) -> Option<Req> {
    if let Some(k) = t.strip_prefix('!') {
        return valid_key(k.trim()).then(|| Req::NotExists(k.trim().to_string()));
    }
    for (op, neg) in [(" notin ", true), (" in ", false)] {
        if let Some(i) = t.find(op) {
            let key = t[..i].trim();
            let set = t[i + op.len()..].trim().strip_prefix('(')?.strip_suffix(')')?;
            let values: Vec<String> = set.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
            if !valid_key(key) {
                return None;
            }
            return Some(if neg { Req::NotIn(key.into(), values) } else { Req::In(key.into(), values) });
        }
    }
    for (op, neg) in [("!=", true), ("==", false), ("=", false)] {
        if let Some(i) = t.find(op) {
            let (k, v) = (t[..i].trim(), t[i + op.len()..].trim());
            if !valid_key(k) {
                return None;
            }
            return Some(if neg { Req::NotEq(k.into(), v.into()) } else { Req::Eq(k.into(), v.into()) });
        }
    }
    valid_key(t).then(|| Req::Exists(t.to_string()))
}

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// A parsed field selector (`metadata.name=x,status.phase!=Running`).
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parse, refusing fields the resource does not index (as the API server does).
    pub fn parse(s: &str, kind: &str) -> Result<Self, ApiError> {
        let mut out = Vec::new();
        for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, neg, value) = if let Some(i) = term.find("!=") {
                (&term[..i], true, &term[i + 2..])
            } else if let Some(i) = term.find("==") {
                (&term[..i], false, &term[i + 2..])
            } else if let Some(i) = term.find('=') {
                (&term[..i], false, &term[i + 1..])
            } else {
                return Err(ApiError::bad_request(format!("invalid selector: '{s}'; can't understand '{term}'")));
            };
            let field = field.trim();
            if !supported_field(kind, field) {
                return Err(ApiError::bad_request(format!("field label not supported: {field}")));
            }
            out.push((field.to_string(), neg, value.trim().to_string()));
        }
        Ok(Self(out))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, neg, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = obj.pointer(&pointer).map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            });
            let actual = actual.unwrap_or_default();
            (actual == *value) != *neg
        })
    }
}

fn supported_field(kind: &str, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match kind {
        "Pod" => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        "Event" => {
            field.starts_with("involvedObject.") || matches!(field, "reason" | "type" | "source" | "reportingComponent")
        }
        "Secret" => field == "type",
        "Node" => field == "spec.unschedulable",
        "Namespace" => field == "status.phase",
        "Job" => field == "status.successful",
        // Custom resources only index metadata.name/namespace.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_set_and_equality_terms() {
        let s = LabelSelector::parse("app=web,tier in (a, b),!gone,env!=prod").unwrap();
        assert!(s.matches(&labels(&[("app", "web"), ("tier", "b")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "c")])));
        assert!(!s.matches(&labels(&[("app", "web"), ("tier", "a"), ("gone", "x")])));
        assert!(LabelSelector::parse("a b").is_err());
    }

    #[test]
    fn selector_objects_match() {
        let s = LabelSelector::from_object(Some(&json!({
            "matchLabels": {"agones.dev/fleet": "sd"},
            "matchExpressions": [{"key": "user", "operator": "DoesNotExist"}]
        })));
        assert!(s.matches(&labels(&[("agones.dev/fleet", "sd")])));
        assert!(!s.matches(&labels(&[("agones.dev/fleet", "sd"), ("user", "x")])));
    }

    #[test]
    fn field_selectors_refuse_unindexed_fields() {
        let f = FieldSelector::parse("metadata.name=web", "Deployment").unwrap();
        assert!(f.matches(&json!({"metadata": {"name": "web"}})));
        assert!(FieldSelector::parse("spec.replicas=1", "Deployment").is_err());
        let e = FieldSelector::parse("involvedObject.name=p,reason=FailedScaleUp", "Event").unwrap();
        assert!(e.matches(&json!({"involvedObject": {"name": "p"}, "reason": "FailedScaleUp"})));
    }
}
