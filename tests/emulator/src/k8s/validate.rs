//! Validation of built-in kinds: object metadata and the required fields and invariants the
//! API server checks (one small function per kind). Errors read like the API server's.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::meta;
use super::selectors::LabelSelector;
use super::status::Cause;

static DNS_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("valid regex"));
static DNS_1035: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z]([-a-z0-9]*[a-z0-9])?$").expect("valid regex"));
static DNS_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").expect("valid regex")
});
static QUALIFIED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").expect("valid regex"));
static CONFIG_KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[-._a-zA-Z0-9]+$").expect("valid regex"));

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

pub fn dns_label(field: &str, v: &str, out: &mut Vec<Cause>) {
    if v.len() > 63 {
        out.push(Cause::invalid(field, &json!(v), "must be no more than 63 characters"));
    } else if !DNS_LABEL.is_match(v) {
        out.push(Cause::invalid(field, &json!(v), LABEL_MSG));
    }
}

fn dns_subdomain(field: &str, v: &str, out: &mut Vec<Cause>) {
    if v.len() > 253 {
        out.push(Cause::invalid(field, &json!(v), "must be no more than 253 characters"));
    } else if !DNS_SUBDOMAIN.is_match(v) {
        out.push(Cause::invalid(field, &json!(v), SUBDOMAIN_MSG));
    }
}

/// A label or annotation key: `[prefix/]name`.
fn qualified_name(field: &str, k: &str, out: &mut Vec<Cause>) {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > 253 || !DNS_SUBDOMAIN.is_match(p))
    {
        out.push(Cause::invalid(field, &json!(k), &format!("prefix part {SUBDOMAIN_MSG}")));
    }
    if name.is_empty() || name.len() > 63 || !QUALIFIED.is_match(name) {
        out.push(Cause::invalid(
            field,
            &json!(k),
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ));
    }
}

/// Label keys and values (values: at most 63 characters).
pub fn labels(field: &str, labels: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(m) = labels.and_then(Value::as_object) else { return };
    for (k, v) in m {
        qualified_name(field, k, out);
        let Some(v) = v.as_str() else {
            out.push(Cause::invalid(format!("{field}.{k}"), v, "must be a string"));
            continue;
        };
        if v.len() > 63 {
            out.push(Cause::invalid(field, &json!(v), "must be no more than 63 characters"));
        } else if !v.is_empty() && !QUALIFIED.is_match(v) {
            out.push(Cause::invalid(
                field,
                &json!(v),
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ));
        }
    }
}

fn annotations(field: &str, ann: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(m) = ann.and_then(Value::as_object) else { return };
    let mut total = 0;
    for (k, v) in m {
        qualified_name(field, k, out);
        total += k.len() + v.as_str().map(str::len).unwrap_or(0);
    }
    if total > 262_144 {
        out.push(Cause {
            reason: "FieldValueTooLong",
            field: field.into(),
            message: format!("{field}: Too long: must have at most 262144 bytes"),
        });
    }
}

/// `metadata` of any object: name rule per kind, labels, annotations.
pub fn object_meta(kind: &str, obj: &Value, out: &mut Vec<Cause>) {
    let name = meta::name(obj);
    match kind {
        "Namespace" => dns_label("metadata.name", name, out),
        "Service" => {
            if name.len() > 63 || !DNS_1035.is_match(name) {
                out.push(Cause::invalid("metadata.name", &json!(name), DNS1035_MSG));
            }
        }
        // RBAC objects (and events) are path segment names: `system:auth-delegator` is fine.
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" | "Event" => {
            if name == "." || name == ".." || name.contains('/') || name.contains('%') {
                out.push(Cause::invalid(
                    "metadata.name",
                    &json!(name),
                    "may not contain '/' or '%', nor be '.' or '..'",
                ));
            }
        }
        _ => dns_subdomain("metadata.name", name, out),
    }
    labels("metadata.labels", obj.pointer("/metadata/labels"), out);
    annotations("metadata.annotations", obj.pointer("/metadata/annotations"), out);
}

/// Kind-specific checks of a built-in object (`old` on update for immutable fields).
pub fn kind(kind: &str, obj: &Value, old: Option<&Value>, out: &mut Vec<Cause>) {
    match kind {
        "Pod" => pod_spec("spec", obj.get("spec"), out),
        "Deployment" | "DaemonSet" | "ReplicaSet" | "StatefulSet" => workload(obj, old, out),
        "Job" => job(obj, out),
        "CronJob" => cron_job(obj, out),
        "Service" => service(obj, old, out),
        "Ingress" => ingress(obj, out),
        "PersistentVolumeClaim" => pvc(obj, old, out),
        "PersistentVolume" => pv(obj, out),
        "ConfigMap" | "Secret" => config_keys(obj, out),
        "RoleBinding" | "ClusterRoleBinding" => binding(obj, old, out),
        "PodDisruptionBudget" => pdb(obj, out),
        "CustomResourceDefinition" => crd(obj, out),
        "APIService" => api_service(obj, out),
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => webhooks(obj, out),
        _ => {}
    }
}

/// Containers, ports, volumes and mounts of a pod spec at `path`.
pub fn pod_spec(path: &str, spec: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(spec) = spec else {
        out.push(Cause::required(path, ""));
        return;
    };
    let containers = spec.get("containers").and_then(Value::as_array);
    if containers.is_none_or(|c| c.is_empty()) {
        out.push(Cause::required(format!("{path}.containers"), ""));
    }
    let volumes: BTreeSet<&str> = spec
        .get("volumes")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter_map(|v| v.get("name").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let mut names = BTreeSet::new();
    for (list, key) in [("initContainers", true), ("containers", false)] {
        for (i, c) in spec.get(list).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let _ = key;
            let cp = format!("{path}.{list}[{i}]");
            container(&cp, c, &volumes, &mut names, out);
        }
    }
    if let Some(rp) = spec.get("restartPolicy").and_then(Value::as_str)
        && !matches!(rp, "Always" | "OnFailure" | "Never")
    {
        out.push(Cause::not_supported(
            format!("{path}.restartPolicy"),
            &json!(rp),
            &[json!("Always"), json!("OnFailure"), json!("Never")],
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, v) in spec.get("volumes").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let n = v.get("name").and_then(Value::as_str).unwrap_or("");
        if n.is_empty() {
            out.push(Cause::required(format!("{path}.volumes[{i}].name"), ""));
        } else if !seen.insert(n) {
            out.push(Cause::duplicate(format!("{path}.volumes[{i}].name"), &json!(n)));
        }
    }
}

fn container(path: &str, c: &Value, volumes: &BTreeSet<&str>, names: &mut BTreeSet<String>, out: &mut Vec<Cause>) {
    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() {
        out.push(Cause::required(format!("{path}.name"), ""));
    } else {
        dns_label(&format!("{path}.name"), name, out);
        if !names.insert(name.to_string()) {
            out.push(Cause::duplicate(format!("{path}.name"), &json!(name)));
        }
    }
    if c.get("image").and_then(Value::as_str).is_none_or(|i| i.trim().is_empty()) {
        out.push(Cause::required(format!("{path}.image"), ""));
    }
    let mut port_names = BTreeSet::new();
    for (j, p) in c.get("ports").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let pp = format!("{path}.ports[{j}]");
        match meta::int_at(p, "/containerPort") {
            Some(n) if (1..=65535).contains(&n) => {}
            Some(n) => out.push(Cause::invalid(
                format!("{pp}.containerPort"),
                &json!(n),
                "must be between 1 and 65535, inclusive",
            )),
            None => out.push(Cause::required(format!("{pp}.containerPort"), "")),
        }
        if let Some(h) = meta::int_at(p, "/hostPort")
            && !(0..=65535).contains(&h)
        {
            out.push(Cause::invalid(format!("{pp}.hostPort"), &json!(h), "must be between 1 and 65535, inclusive"));
        }
        if let Some(proto) = p.get("protocol").and_then(Value::as_str)
            && !matches!(proto, "TCP" | "UDP" | "SCTP")
        {
            out.push(Cause::not_supported(
                format!("{pp}.protocol"),
                &json!(proto),
                &[json!("SCTP"), json!("TCP"), json!("UDP")],
            ));
        }
        if let Some(n) = p.get("name").and_then(Value::as_str) {
            if n.len() > 15 || !DNS_LABEL.is_match(n) || !n.chars().any(|c| c.is_ascii_lowercase()) {
                out.push(Cause::invalid(
                    format!("{pp}.name"),
                    &json!(n),
                    "must be no more than 15 characters and an IANA_SVC_NAME",
                ));
            } else if !port_names.insert(n) {
                out.push(Cause::duplicate(format!("{pp}.name"), &json!(n)));
            }
        }
    }
    for (j, m) in c.get("volumeMounts").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let mp = format!("{path}.volumeMounts[{j}]");
        let vn = m.get("name").and_then(Value::as_str).unwrap_or("");
        if vn.is_empty() {
            out.push(Cause::required(format!("{mp}.name"), ""));
        } else if !volumes.contains(vn) {
            out.push(Cause {
                reason: "FieldValueNotFound",
                field: format!("{mp}.name"),
                message: format!("{mp}.name: Not found: {vn:?}"),
            });
        }
        if m.get("mountPath").and_then(Value::as_str).is_none_or(str::is_empty) {
            out.push(Cause::required(format!("{mp}.mountPath"), ""));
        }
    }
    for (j, e) in c.get("env").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if e.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            out.push(Cause::required(format!("{path}.env[{j}].name"), ""));
        }
    }
}

/// Deployments, DaemonSets, ReplicaSets, StatefulSets: selector required, non-empty,
/// matching the template labels, immutable.
fn workload(obj: &Value, old: Option<&Value>, out: &mut Vec<Cause>) {
    let sel = obj.pointer("/spec/selector");
    match sel {
        None => out.push(Cause::required("spec.selector", "")),
        Some(s) if LabelSelector::from_object(Some(s)).is_empty() => {
            out.push(Cause::invalid("spec.selector", s, "empty selector is invalid for deployment"));
        }
        Some(s) => {
            let tl = meta::string_map(obj.pointer("/spec/template/metadata/labels"));
            if !LabelSelector::from_object(Some(s)).matches(&tl) {
                out.push(Cause::invalid(
                    "spec.template.metadata.labels",
                    obj.pointer("/spec/template/metadata/labels").unwrap_or(&Value::Null),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    if let Some(old) = old
        && old.pointer("/spec/selector") != sel
    {
        out.push(Cause::invalid("spec.selector", sel.unwrap_or(&Value::Null), "field is immutable"));
    }
    if let Some(r) = meta::int_at(obj, "/spec/replicas")
        && r < 0
    {
        out.push(Cause::invalid("spec.replicas", &json!(r), "must be greater than or equal to 0"));
    }
    labels("spec.template.metadata.labels", obj.pointer("/spec/template/metadata/labels"), out);
    pod_spec("spec.template.spec", obj.pointer("/spec/template/spec"), out);
}

fn job(obj: &Value, out: &mut Vec<Cause>) {
    pod_spec("spec.template.spec", obj.pointer("/spec/template/spec"), out);
    let rp = obj.pointer("/spec/template/spec/restartPolicy").and_then(Value::as_str).unwrap_or("");
    if !matches!(rp, "Never" | "OnFailure") {
        out.push(Cause::not_supported(
            "spec.template.spec.restartPolicy",
            &json!(rp),
            &[json!("OnFailure"), json!("Never")],
        ));
    }
}

fn cron_job(obj: &Value, out: &mut Vec<Cause>) {
    match obj.pointer("/spec/schedule").and_then(Value::as_str) {
        None | Some("") => out.push(Cause::required("spec.schedule", "")),
        Some(s) if !valid_cron(s) => {
            out.push(Cause::invalid("spec.schedule", &json!(s), "unparseable cron expression"))
        }
        _ => {}
    }
    let tmpl = obj.pointer("/spec/jobTemplate/spec/template/spec");
    pod_spec("spec.jobTemplate.spec.template.spec", tmpl, out);
    let rp = tmpl.and_then(|t| t.get("restartPolicy")).and_then(Value::as_str).unwrap_or("");
    if !matches!(rp, "Never" | "OnFailure") {
        out.push(Cause::not_supported(
            "spec.jobTemplate.spec.template.spec.restartPolicy",
            &json!(rp),
            &[json!("OnFailure"), json!("Never")],
        ));
    }
}

/// Five cron fields or a macro (`@hourly`).
fn valid_cron(s: &str) -> bool {
    let s = s.trim();
    if s.starts_with('@') {
        return matches!(s, "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly")
            || s.starts_with("@every ");
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    fields.len() == 5 && fields.iter().all(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || "*/,-?".contains(c)))
}

fn service(obj: &Value, old: Option<&Value>, out: &mut Vec<Cause>) {
    let ty = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP");
    if !matches!(ty, "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName") {
        out.push(Cause::not_supported(
            "spec.type",
            &json!(ty),
            &[json!("ClusterIP"), json!("ExternalName"), json!("LoadBalancer"), json!("NodePort")],
        ));
    }
    let headless = obj.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None");
    let ports = obj.pointer("/spec/ports").and_then(Value::as_array);
    if ty != "ExternalName" && !headless && ports.is_none_or(|p| p.is_empty()) {
        out.push(Cause::required("spec.ports", ""));
    }
    let ports = ports.cloned().unwrap_or_default();
    let mut names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = format!("spec.ports[{i}]");
        match meta::int_at(p, "/port") {
            Some(n) if (1..=65535).contains(&n) => {}
            Some(n) => {
                out.push(Cause::invalid(format!("{pp}.port"), &json!(n), "must be between 1 and 65535, inclusive"))
            }
            None => out.push(Cause::required(format!("{pp}.port"), "")),
        }
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            out.push(Cause::required(format!("{pp}.name"), ""));
        } else if !name.is_empty() && !names.insert(name) {
            out.push(Cause::duplicate(format!("{pp}.name"), &json!(name)));
        }
    }
    if let (Some(old), Some(ip)) = (old, obj.pointer("/spec/clusterIP").and_then(Value::as_str))
        && let Some(was) = old.pointer("/spec/clusterIP").and_then(Value::as_str)
        && was != ip
        && !ip.is_empty()
    {
        out.push(Cause::invalid("spec.clusterIPs[0]", &json!(ip), "may not change once set"));
    }
}

fn ingress(obj: &Value, out: &mut Vec<Cause>) {
    let spec = obj.get("spec");
    let default = spec.and_then(|s| s.get("defaultBackend"));
    let rules = spec.and_then(|s| s.get("rules")).and_then(Value::as_array);
    if default.is_none() && rules.is_none_or(|r| r.is_empty()) {
        out.push(Cause::invalid(
            "spec",
            spec.unwrap_or(&Value::Null),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = default {
        backend("spec.defaultBackend", b, out);
    }
    for (i, r) in rules.into_iter().flatten().enumerate() {
        let Some(http) = r.get("http") else { continue };
        let paths = http.get("paths").and_then(Value::as_array);
        if paths.is_none_or(|p| p.is_empty()) {
            out.push(Cause::required(format!("spec.rules[{i}].http.paths"), ""));
        }
        for (j, p) in paths.into_iter().flatten().enumerate() {
            let pp = format!("spec.rules[{i}].http.paths[{j}]");
            match p.get("pathType").and_then(Value::as_str) {
                None => out.push(Cause::required(format!("{pp}.pathType"), "pathType must be specified")),
                Some(t) if !matches!(t, "Exact" | "Prefix" | "ImplementationSpecific") => {
                    out.push(Cause::not_supported(
                        format!("{pp}.pathType"),
                        &json!(t),
                        &[json!("Exact"), json!("ImplementationSpecific"), json!("Prefix")],
                    ))
                }
                _ => {}
            }
            match p.get("backend") {
                Some(b) => backend(&format!("{pp}.backend"), b, out),
                None => out.push(Cause::required(format!("{pp}.backend"), "")),
            }
        }
    }
}

fn backend(path: &str, b: &Value, out: &mut Vec<Cause>) {
    match (b.get("service"), b.get("resource")) {
        (Some(s), None) => {
            if s.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                out.push(Cause::required(format!("{path}.service.name"), ""));
            }
            let port = s.get("port");
            let has = port.is_some_and(|p| p.get("number").is_some() || p.get("name").is_some());
            if !has {
                out.push(Cause::required(format!("{path}.service.port"), "port name or number is required"));
            }
        }
        (None, Some(_)) => {}
        _ => out.push(Cause::invalid(path, b, "exactly one of `service` or `resource` must be specified")),
    }
}

fn pvc(obj: &Value, old: Option<&Value>, out: &mut Vec<Cause>) {
    let modes = obj.pointer("/spec/accessModes").and_then(Value::as_array);
    if modes.is_none_or(|m| m.is_empty()) {
        out.push(Cause::required("spec.accessModes", "at least 1 access mode is required"));
    }
    access_modes("spec.accessModes", modes, out);
    if obj.pointer("/spec/resources/requests/storage").is_none() {
        out.push(Cause::required("spec.resources[storage]", ""));
    }
    if let Some(old) = old {
        let strip = |v: &Value| {
            let mut s = v.get("spec").cloned().unwrap_or(Value::Null);
            if let Some(m) = s.as_object_mut() {
                m.remove("resources");
                if old.pointer("/spec/volumeName").is_none() {
                    m.remove("volumeName");
                }
            }
            s
        };
        if strip(old) != strip(obj) {
            out.push(Cause::forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"));
        }
    }
}

fn access_modes(path: &str, modes: Option<&Vec<Value>>, out: &mut Vec<Cause>) {
    for m in modes.into_iter().flatten() {
        let ok = m
            .as_str()
            .is_some_and(|s| matches!(s, "ReadWriteOnce" | "ReadOnlyMany" | "ReadWriteMany" | "ReadWriteOncePod"));
        if !ok {
            out.push(Cause::not_supported(
                path,
                m,
                &[json!("ReadOnlyMany"), json!("ReadWriteMany"), json!("ReadWriteOnce"), json!("ReadWriteOncePod")],
            ));
        }
    }
}

/// Volume sources a PersistentVolume may use (one of them).
const PV_SOURCES: &[&str] = &[
    "nfs",
    "csi",
    "gcePersistentDisk",
    "hostPath",
    "local",
    "iscsi",
    "fc",
    "cephfs",
    "rbd",
    "azureFile",
    "awsElasticBlockStore",
];

fn pv(obj: &Value, out: &mut Vec<Cause>) {
    if obj.pointer("/spec/capacity/storage").is_none() {
        out.push(Cause::required("spec.capacity", ""));
    }
    let modes = obj.pointer("/spec/accessModes").and_then(Value::as_array);
    if modes.is_none_or(|m| m.is_empty()) {
        out.push(Cause::required("spec.accessModes", ""));
    }
    access_modes("spec.accessModes", modes, out);
    let n = PV_SOURCES.iter().filter(|s| obj.pointer(&format!("/spec/{s}")).is_some()).count();
    if n != 1 {
        out.push(Cause::required("spec", "must specify a volume type"));
    }
    if let Some(nfs) = obj.pointer("/spec/nfs") {
        for k in ["server", "path"] {
            if nfs.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                out.push(Cause::required(format!("spec.nfs.{k}"), ""));
            }
        }
    }
    if let Some(csi) = obj.pointer("/spec/csi") {
        for k in ["driver", "volumeHandle"] {
            if csi.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                out.push(Cause::required(format!("spec.csi.{k}"), ""));
            }
        }
    }
}

fn config_keys(obj: &Value, out: &mut Vec<Cause>) {
    for field in ["data", "binaryData", "stringData"] {
        for k in obj.get(field).and_then(Value::as_object).into_iter().flat_map(|m| m.keys()) {
            if k.len() > 253 || !CONFIG_KEY.is_match(k) {
                out.push(Cause::invalid(
                    format!("{field}[{k}]"),
                    &json!(k),
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                ));
            }
        }
    }
}

fn binding(obj: &Value, old: Option<&Value>, out: &mut Vec<Cause>) {
    let rr = obj.get("roleRef");
    for k in ["kind", "name"] {
        if rr.and_then(|r| r.get(k)).and_then(Value::as_str).is_none_or(str::is_empty) {
            out.push(Cause::required(format!("roleRef.{k}"), ""));
        }
    }
    if let Some(old) = old
        && old.get("roleRef") != rr
    {
        out.push(Cause::invalid("roleRef", rr.unwrap_or(&Value::Null), "cannot change roleRef"));
    }
    for (i, s) in obj.get("subjects").and_then(Value::as_array).into_iter().flatten().enumerate() {
        match s.get("kind").and_then(Value::as_str) {
            Some("ServiceAccount" | "User" | "Group") => {}
            other => out.push(Cause::not_supported(
                format!("subjects[{i}].kind"),
                &json!(other.unwrap_or("")),
                &[json!("ServiceAccount"), json!("User"), json!("Group")],
            )),
        }
        if s.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            out.push(Cause::required(format!("subjects[{i}].name"), ""));
        }
    }
}

fn pdb(obj: &Value, out: &mut Vec<Cause>) {
    let spec = obj.get("spec");
    if spec.and_then(|s| s.get("minAvailable")).is_some() && spec.and_then(|s| s.get("maxUnavailable")).is_some() {
        out.push(Cause::invalid(
            "spec",
            spec.unwrap_or(&Value::Null),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
}

fn crd(obj: &Value, out: &mut Vec<Cause>) {
    let group = obj.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
    let plural = obj.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or("");
    if group.is_empty() {
        out.push(Cause::required("spec.group", ""));
    }
    if plural.is_empty() {
        out.push(Cause::required("spec.names.plural", ""));
    }
    if obj.pointer("/spec/names/kind").and_then(Value::as_str).is_none_or(str::is_empty) {
        out.push(Cause::required("spec.names.kind", ""));
    }
    if meta::name(obj) != format!("{plural}.{group}") {
        out.push(Cause::invalid(
            "metadata.name",
            &json!(meta::name(obj)),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    match obj.pointer("/spec/scope").and_then(Value::as_str) {
        Some("Namespaced" | "Cluster") => {}
        other => out.push(Cause::not_supported(
            "spec.scope",
            &json!(other.unwrap_or("")),
            &[json!("Cluster"), json!("Namespaced")],
        )),
    }
    let versions = obj.pointer("/spec/versions").and_then(Value::as_array).cloned().unwrap_or_default();
    if versions.is_empty() {
        out.push(Cause::invalid(
            "spec.versions",
            &json!([]),
            "must have exactly one version marked as storage version",
        ));
    }
    let storage = versions.iter().filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true)).count();
    if !versions.is_empty() && storage != 1 {
        out.push(Cause::invalid(
            "spec.versions",
            &json!(storage),
            "must have exactly one version marked as storage version",
        ));
    }
    for (i, v) in versions.iter().enumerate() {
        if v.pointer("/schema/openAPIV3Schema").is_none() {
            out.push(Cause::required(format!("spec.versions[{i}].schema.openAPIV3Schema"), "schemas are required"));
        }
    }
}

fn api_service(obj: &Value, out: &mut Vec<Cause>) {
    let group = obj.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
    let version = obj.pointer("/spec/version").and_then(Value::as_str).unwrap_or("");
    if meta::name(obj) != format!("{version}.{group}") {
        out.push(Cause::invalid("metadata.name", &json!(meta::name(obj)), &format!("must be {version}.{group}")));
    }
    for k in ["groupPriorityMinimum", "versionPriority"] {
        if meta::int_at(obj, &format!("/spec/{k}")).is_none_or(|n| n <= 0) && obj.pointer("/spec/service").is_some() {
            out.push(Cause::invalid(
                format!("spec.{k}"),
                obj.pointer(&format!("/spec/{k}")).unwrap_or(&Value::Null),
                "must be positive",
            ));
        }
    }
}

fn webhooks(obj: &Value, out: &mut Vec<Cause>) {
    for (i, w) in obj.get("webhooks").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let p = format!("webhooks[{i}]");
        if w.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            out.push(Cause::required(format!("{p}.name"), ""));
        }
        if w.get("sideEffects").is_none() {
            out.push(Cause::required(format!("{p}.sideEffects"), "must specify one of None, NoneOnDryRun"));
        }
        if w.get("admissionReviewVersions").and_then(Value::as_array).is_none_or(|a| a.is_empty()) {
            out.push(Cause::required(format!("{p}.admissionReviewVersions"), "must specify one of v1, v1beta1"));
        }
        let cc = w.get("clientConfig");
        if cc.is_none_or(|c| c.get("service").is_none() && c.get("url").is_none()) {
            out.push(Cause::required(format!("{p}.clientConfig"), "exactly one of url or service is required"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(k: &str, obj: Value) -> Vec<Cause> {
        let mut out = Vec::new();
        object_meta(k, &obj, &mut out);
        kind(k, &obj, None, &mut out);
        out
    }

    #[test]
    fn label_values_fit_63_characters() {
        let long = "a".repeat(64);
        let errs = check("ConfigMap", json!({"metadata": {"name": "x", "labels": {"sdctl.dev/user": long}}}));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("must be no more than 63 characters"));
    }

    #[test]
    fn deployment_selector_must_match_template() {
        let errs = check(
            "Deployment",
            json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "other"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.template.metadata.labels");
    }

    #[test]
    fn containers_need_name_and_image() {
        let errs = check("Pod", json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}));
        assert_eq!(errs[0].message, "spec.containers[0].image: Required value");
    }

    #[test]
    fn services_and_ingresses_need_ports_and_backends() {
        let errs = check("Service", json!({"metadata": {"name": "s"}, "spec": {"selector": {"a": "b"}}}));
        assert_eq!(errs[0].field, "spec.ports");
        let errs = check(
            "Ingress",
            json!({"metadata": {"name": "i"}, "spec": {"rules": [{"http": {"paths": [{"path": "/"}]}}]}}),
        );
        let fields: Vec<&str> = errs.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.rules[0].http.paths[0].pathType", "spec.rules[0].http.paths[0].backend"]);
        let rbac = check(
            "ClusterRoleBinding",
            json!({"metadata": {"name": "agones-controller:system:auth-delegator"},
            "roleRef": {"kind": "ClusterRole", "name": "x"}, "subjects": []}),
        );
        assert!(rbac.is_empty(), "{rbac:?}");
    }
}
