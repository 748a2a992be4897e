//! Discovery: `/version`, `/api`, `/apis`, group and group-version documents, the aggregated
//! form (`apidiscovery.k8s.io/v2`), and which CRDs and APIServices are served.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::cluster::Cluster;
use super::meta;
use super::schema::Schema;
use super::store::Store;
use super::types::{ALL_VERBS, Origin, Registry, ResourceType, ScalePaths, version_priority};

pub fn version(c: &Cluster) -> Value {
    let minor = c.minor();
    let prev = minor.parse::<u32>().map(|m| m.saturating_sub(1).to_string()).unwrap_or_default();
    json!({
        "major": "1",
        "minor": minor,
        "emulationMajor": "1",
        "emulationMinor": minor,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": prev,
        "gitVersion": format!("v{}", c.version),
        "gitCommit": "0123456789abcdef0123456789abcdef01234567",
        "gitTreeState": "clean",
        "buildDate": "2026-10-01T00:00:00Z",
        "goVersion": "go1.25.3 X:boringcrypto",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn core_versions(c: &Cluster) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": c.endpoint }],
    })
}

fn group_doc(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> =
        versions.iter().map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v })).collect();
    json!({ "name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null) })
}

pub fn groups(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg.groups().iter().map(|(g, vs)| group_doc(g, vs)).collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

pub fn group(reg: &Registry, name: &str) -> Option<Value> {
    let (g, vs) = reg.groups().into_iter().find(|(g, _)| g == name)?;
    let mut doc = group_doc(&g, &vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `APIResourceList` of one group version.
pub fn resources(reg: &Registry, group: &str, version: &str) -> Value {
    let mut list = Vec::new();
    for t in reg.in_group_version(group, version) {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": t.verbs,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        list.push(r);
        if t.status {
            list.push(json!({
                "name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced,
                "kind": t.kind, "verbs": ["get", "patch", "update"],
            }));
        }
        if t.scale.is_some() {
            list.push(json!({
                "name": format!("{}/scale", t.plural), "singularName": "", "namespaced": t.namespaced,
                "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list })
}

fn resource_v2(t: &ResourceType) -> Value {
    let gvk = |g: &str, v: &str, k: &str| json!({ "group": g, "version": v, "kind": k });
    let mut subs = Vec::new();
    if t.status {
        subs.push(json!({ "subresource": "status", "responseKind": gvk(&t.group, &t.version, &t.kind), "verbs": ["get", "patch", "update"] }));
    }
    if t.scale.is_some() {
        subs.push(json!({ "subresource": "scale", "responseKind": gvk("autoscaling", "v1", "Scale"), "verbs": ["get", "patch", "update"] }));
    }
    let mut r = json!({
        "resource": t.plural,
        "responseKind": gvk(&t.group, &t.version, &t.kind),
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular,
        "verbs": t.verbs,
    });
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    if !subs.is_empty() {
        r["subresources"] = json!(subs);
    }
    r
}

/// `APIGroupDiscoveryList` for `/api` (`core`) or `/apis`.
pub fn aggregated(reg: &Registry, core: bool) -> Value {
    let mut items = Vec::new();
    let groups: Vec<(String, Vec<String>)> =
        if core { vec![(String::new(), vec!["v1".to_string()])] } else { reg.groups() };
    for (g, versions) in groups {
        let vs: Vec<Value> = versions
            .iter()
            .map(|v| {
                let res: Vec<Value> = reg.in_group_version(&g, v).iter().map(|t| resource_v2(t)).collect();
                json!({ "version": v, "resources": res, "freshness": "Current" })
            })
            .collect();
        let md =
            if core { json!({ "creationTimestamp": null }) } else { json!({ "name": g, "creationTimestamp": null }) };
        items.push(json!({ "metadata": md, "versions": vs }));
    }
    json!({ "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items })
}

/// Aggregated APIs the emulator implements: (group, version, kind, plural).
const AGGREGATED: &[(&str, &str, &str, &str)] =
    &[("allocation.agones.dev", "v1", "GameServerAllocation", "gameserverallocations")];

/// Recompute the served types from established CRDs and available APIServices.
pub fn refresh_types(st: &mut Store) {
    st.types_dirty = false;
    let mut dynamic: Vec<Arc<ResourceType>> = Vec::new();
    for crd in st.list("customresourcedefinitions.apiextensions.k8s.io", None) {
        if !meta::condition_true(&crd, "Established") {
            continue;
        }
        dynamic.extend(crd_types(&crd, &mut st.schemas));
    }
    for svc in st.list("apiservices.apiregistration.k8s.io", None) {
        if svc.pointer("/spec/service").is_none_or(Value::is_null) || !meta::condition_true(&svc, "Available") {
            continue;
        }
        let group = meta::str_at(&svc, "/spec/group").unwrap_or("");
        let version = meta::str_at(&svc, "/spec/version").unwrap_or("");
        for &(g, v, kind, plural) in AGGREGATED {
            if g == group && v == version {
                dynamic.push(Arc::new(ResourceType {
                    group: g.into(),
                    version: v.into(),
                    kind: kind.into(),
                    plural: plural.into(),
                    singular: kind.to_lowercase(),
                    namespaced: true,
                    short_names: vec![],
                    categories: vec![],
                    verbs: vec!["create"],
                    status: false,
                    scale: None,
                    origin: Origin::Aggregated,
                }));
            }
        }
    }
    st.registry.set_dynamic(dynamic);
}

/// The served versions of one CRD, with their compiled schemas (cached in the store).
fn crd_types(crd: &Value, cache: &mut SchemaCache) -> Vec<Arc<ResourceType>> {
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let group = spec.get("group").and_then(Value::as_str).unwrap_or("").to_string();
    let names = spec.get("names").cloned().unwrap_or(Value::Null);
    let s = |k: &str| names.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let list = |k: &str| -> Vec<String> {
        names
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let kind = s("kind");
    let singular = if s("singular").is_empty() { kind.to_lowercase() } else { s("singular") };
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let mut versions: Vec<&Value> = spec
        .get("versions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|v| v.get("served").and_then(Value::as_bool) != Some(false)).collect())
        .unwrap_or_default();
    versions.sort_by(|a, b| {
        let va = a.get("name").and_then(Value::as_str).unwrap_or("");
        let vb = b.get("name").and_then(Value::as_str).unwrap_or("");
        version_priority(vb).cmp(&version_priority(va))
    });
    versions
        .into_iter()
        .map(|v| {
            let version = v.get("name").and_then(Value::as_str).unwrap_or("");
            let schema = v.pointer("/schema/openAPIV3Schema").map(|s| cached_schema(cache, crd, version, s));
            let scale = v.pointer("/subresources/scale").map(|sc| ScalePaths {
                spec: json_path_to_pointer(
                    sc.get("specReplicasPath").and_then(Value::as_str).unwrap_or(".spec.replicas"),
                ),
                status: json_path_to_pointer(
                    sc.get("statusReplicasPath").and_then(Value::as_str).unwrap_or(".status.replicas"),
                ),
                selector: sc.get("labelSelectorPath").and_then(Value::as_str).map(json_path_to_pointer),
            });
            Arc::new(ResourceType {
                group: group.clone(),
                version: v.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                kind: kind.clone(),
                plural: s("plural"),
                singular: singular.clone(),
                namespaced,
                short_names: list("shortNames"),
                categories: list("categories"),
                verbs: ALL_VERBS.to_vec(),
                status: v.pointer("/subresources/status").is_some(),
                scale,
                origin: Origin::Crd { crd: meta::name(crd).to_string(), schema },
            })
        })
        .collect()
}

/// Compiled schemas by (CRD name, version), valid for one CRD generation.
pub type SchemaCache = HashMap<(String, String), (i64, Arc<Schema>)>;

/// Schemas compile once per CRD generation (the Agones CRDs are ~350 KB each).
fn cached_schema(cache: &mut SchemaCache, crd: &Value, version: &str, schema: &Value) -> Arc<Schema> {
    let key = (meta::name(crd).to_string(), version.to_string());
    let generation = meta::generation(crd);
    if let Some((g, s)) = cache.get(&key)
        && *g == generation
    {
        return s.clone();
    }
    let compiled = Arc::new(Schema::compile(schema));
    cache.insert(key, (generation, compiled.clone()));
    compiled
}

fn json_path_to_pointer(p: &str) -> String {
    format!("/{}", p.trim_start_matches('.').replace('.', "/"))
}
