//! The verbs: create, get, list, update, patch (merge, JSON, strategic, apply), delete, and
//! the status and scale subresources. Every function works on the locked store.

use std::sync::Arc;

use serde_json::{Value, json};

use super::admission::{self, Op};
use super::fields::{Scope, Shape};
use super::managed::{self, Apply, Managers};
use super::meta;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, ApiResult, Cause, Target};
use super::store::Store;
use super::strategic;
use super::types::ResourceType;

/// Which part of the object a request addresses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sub {
    Main,
    Status,
    Scale,
    /// The emulator's own controllers: the whole object, no subresource rules.
    Internal,
}

/// `fieldValidation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validation {
    Strict,
    Warn,
    Ignore,
}

/// Per-request options of a write.
#[derive(Debug, Clone)]
pub struct Opts {
    pub manager: String,
    pub dry_run: bool,
    pub validation: Validation,
    pub force: bool,
    /// `Warning` headers to send back.
    pub warnings: Vec<String>,
    /// Written by the emulator itself (controllers): admission webhooks are skipped.
    pub internal: bool,
}

impl Opts {
    pub fn internal(manager: &str) -> Self {
        Self {
            manager: manager.to_string(),
            dry_run: false,
            validation: Validation::Ignore,
            force: true,
            warnings: Vec::new(),
            internal: true,
        }
    }
}

/// `propagationPolicy` and preconditions of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    pub propagation: Option<String>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

pub fn target<'a>(rt: &'a ResourceType, name: &'a str) -> Target<'a> {
    Target { qualified: rt.gr(), group: &rt.group, resource: &rt.plural, name }
}

/// The object as this version of the resource shows it.
pub fn present(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if v.get("apiVersion").and_then(Value::as_str) != Some(&rt.api_version()) {
        v["apiVersion"] = json!(rt.api_version());
    }
    v
}

pub fn get(st: &Store, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<Arc<Value>> {
    st.get(&rt.gr(), ns, name).ok_or_else(|| ApiError::not_found(&target(rt, name)))
}

/// Query of a list (and of a watch).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

pub fn matches(q: &ListQuery, obj: &Value) -> bool {
    q.labels.matches_object(obj) && q.fields.matches(obj)
}

/// A `<Kind>List` of the matching objects, paginated by `limit`/`continue`.
pub fn list(st: &Store, rt: &ResourceType, ns: Option<&str>, q: &ListQuery) -> ApiResult<Value> {
    let all: Vec<Arc<Value>> = st.list(&rt.gr(), ns).into_iter().filter(|o| matches(q, o)).collect();
    let start = match &q.continue_token {
        Some(tok) => {
            let after = decode_continue(tok)?;
            all.iter()
                .position(|o| (meta::namespace(o).to_string(), meta::name(o).to_string()) > after)
                .unwrap_or(all.len())
        }
        None => 0,
    };
    let end = q.limit.filter(|&l| l > 0).map(|l| (start + l).min(all.len())).unwrap_or(all.len());
    let items: Vec<Value> = all[start..end].iter().map(|o| present(rt, o)).collect();
    let mut md = json!({ "resourceVersion": st.rv().to_string() });
    if end < all.len()
        && let Some(last) = items.last()
    {
        md["continue"] = json!(encode_continue(meta::namespace(last), meta::name(last)));
        md["remainingItemCount"] = json!(all.len() - end);
    }
    Ok(json!({
        "apiVersion": rt.api_version(),
        "kind": format!("{}List", rt.kind),
        "metadata": md,
        "items": items,
    }))
}

fn encode_continue(ns: &str, name: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json!([ns, name])).unwrap_or_default())
}

fn decode_continue(tok: &str) -> ApiResult<(String, String)> {
    use base64::Engine;
    let bad = || ApiError::bad_request("continue key is not valid: the continue token is malformed");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tok).map_err(|_| bad())?;
    let (ns, name): (String, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok((ns, name))
}

/// Check `apiVersion`/`kind` of a body against the resource and fill them in.
fn check_type(rt: &ResourceType, obj: &mut Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body of the request is not a JSON object"));
    }
    if let Some(av) = obj.get("apiVersion").and_then(Value::as_str)
        && !av.is_empty()
        && av != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str)
        && !k.is_empty()
        && k != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    Ok(())
}

/// The namespace of a namespaced request must exist and not be terminating.
fn check_namespace(st: &Store, rt: &ResourceType, ns: &str, creating: bool) -> ApiResult<()> {
    if !rt.namespaced {
        return Ok(());
    }
    let Some(n) = st.get("namespaces", "", ns) else {
        return Err(ApiError::not_found(&Target {
            qualified: "namespaces".into(),
            group: "",
            resource: "namespaces",
            name: ns,
        }));
    };
    if creating && meta::is_deleting(&n) {
        return Err(ApiError::forbidden(format!(
            "{} {:?} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            rt.gr(),
            "",
        )));
    }
    Ok(())
}

/// The ServiceAccount admission plugin: a pod's service account must exist.
fn check_service_account(st: &Store, ns: &str, name: &str, pod: &Value) -> ApiResult<()> {
    let sa = pod.pointer("/spec/serviceAccountName").and_then(Value::as_str).unwrap_or("default");
    if st.get("serviceaccounts", ns, sa).is_some() {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "pods {name:?} is forbidden: error looking up service account {ns}/{sa}: serviceaccount {sa:?} not found"
    )))
}

pub fn create(st: &mut Store, rt: &ResourceType, ns: &str, body: Value, opts: &mut Opts) -> ApiResult<Value> {
    create_with(st, rt, ns, body, opts, None)
}

/// Create, with the managers precomputed by an apply (`None`: an Update by `opts.manager`).
fn create_with(
    st: &mut Store,
    rt: &ResourceType,
    ns: &str,
    mut obj: Value,
    opts: &mut Opts,
    managers: Option<Managers>,
) -> ApiResult<Value> {
    if !rt.supports("create") {
        return Err(ApiError::method_not_allowed(format!("create is not supported on {}", rt.gr())));
    }
    check_type(rt, &mut obj)?;
    let md = meta::metadata_mut(&mut obj);
    if rt.namespaced {
        match md.get("namespace").and_then(Value::as_str) {
            Some(n) if !n.is_empty() && n != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                md.insert("namespace".into(), json!(ns));
            }
        }
    } else {
        md.remove("namespace");
    }
    let name = md.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let name = if name.is_empty() {
        match md.get("generateName").and_then(Value::as_str).filter(|g| !g.is_empty()) {
            Some(g) => format!("{g}{}", meta::random_suffix(5)),
            None => {
                return Err(ApiError::invalid(
                    &rt.group,
                    &rt.kind,
                    "",
                    vec![Cause::required("metadata.name", "name or generateName is required")],
                ));
            }
        }
    } else {
        name
    };
    md.insert("name".into(), json!(name));
    for k in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "managedFields",
        "selfLink",
    ] {
        md.remove(k);
    }
    md.insert("uid".into(), json!(meta::new_uid()));
    md.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
    if rt.tracks_generation() {
        md.insert("generation".into(), json!(1));
    }
    if rt.status
        && !opts.internal
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    check_namespace(st, rt, ns, true)?;
    if rt.kind == "Pod" {
        check_service_account(st, ns, &name, &obj)?;
    }
    if st.get(&rt.gr(), ns, &name).is_some() {
        return Err(ApiError::already_exists(&target(rt, &name)));
    }
    admission::admit(st, rt, &mut obj, None, Op::Create, opts)?;

    let shape_schema = rt.schema().cloned();
    let shape = Shape::for_kind(&rt.kind, shape_schema.as_deref());
    let mut managers = match managers {
        Some(m) => m,
        None => {
            let mut m = Managers::default();
            let scope = if rt.status && !opts.internal { Scope::Main } else { Scope::Whole };
            m.record_update(&opts.manager, &rt.api_version(), None, &managed::update_set(None, &obj, &shape, scope));
            m
        }
    };
    managers.retain_existing(&managed::existing_set(&obj, &shape));
    managers.write(&mut obj);
    if opts.dry_run {
        return Ok(obj);
    }
    let stored = st.insert(&rt.gr(), obj);
    Ok((*stored).clone())
}

/// PUT: replace the object (or its status), optimistic on `resourceVersion`.
#[allow(clippy::too_many_arguments)]
pub fn update(
    st: &mut Store,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    mut body: Value,
    sub: Sub,
    opts: &mut Opts,
) -> ApiResult<Value> {
    if sub == Sub::Scale {
        return scale_update(st, rt, ns, name, &body, opts);
    }
    check_type(rt, &mut body)?;
    let body_name = meta::name(&body);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let old = get(st, rt, ns, name)?;
    let rv = meta::resource_version(&body);
    if !rv.is_empty() && rv != meta::resource_version(&old) {
        return Err(ApiError::conflict(&target(rt, name)));
    }
    let new = scoped(rt, &old, body, sub);
    finish_update(st, rt, &old, new, sub, opts, None)
}

/// Keep what a request may not change: status on the main resource, everything but status
/// on `/status`.
fn scoped(rt: &ResourceType, old: &Value, mut body: Value, sub: Sub) -> Value {
    match sub {
        Sub::Status => {
            let mut new = old.clone();
            new["status"] = body.get("status").cloned().unwrap_or(Value::Null);
            if new["status"].is_null()
                && let Some(m) = new.as_object_mut()
            {
                m.remove("status");
            }
            new
        }
        Sub::Main if rt.status => {
            match old.get("status") {
                Some(s) => body["status"] = s.clone(),
                None => {
                    if let Some(m) = body.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            body
        }
        _ => body,
    }
}

fn scope_of(rt: &ResourceType, sub: Sub) -> Scope {
    match sub {
        Sub::Status => Scope::Status,
        Sub::Main | Sub::Scale if rt.status => Scope::Main,
        _ => Scope::Whole,
    }
}

/// Common end of every update: immutable metadata, generation, admission, ownership,
/// finalizer-completed deletion, store.
#[allow(clippy::too_many_arguments)]
pub fn finish_update(
    st: &mut Store,
    rt: &ResourceType,
    old: &Value,
    mut new: Value,
    sub: Sub,
    opts: &mut Opts,
    applied: Option<Managers>,
) -> ApiResult<Value> {
    new["apiVersion"] = json!(rt.api_version());
    new["kind"] = json!(rt.kind);
    {
        let old_md = old.get("metadata").cloned().unwrap_or(json!({}));
        let md = meta::metadata_mut(&mut new);
        for k in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
        ] {
            match old_md.get(k) {
                Some(v) => {
                    md.insert(k.into(), v.clone());
                }
                None => {
                    md.remove(k);
                }
            }
        }
        if applied.is_none() {
            // An update never edits ownership itself unless it sends managedFields.
            match old_md.get("managedFields") {
                Some(v) if !md.contains_key("managedFields") || opts.internal => {
                    md.insert("managedFields".into(), v.clone());
                }
                _ => {}
            }
        }
    }
    if meta::is_deleting(old) {
        let before = meta::finalizers(old);
        if meta::finalizers(&new).iter().any(|f| !before.contains(f)) {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                meta::name(old),
                vec![Cause::forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted",
                )],
            ));
        }
    }
    if rt.tracks_generation() && spec_changed(rt, old, &new) {
        let g = meta::generation(old).max(1) + 1;
        meta::metadata_mut(&mut new).insert("generation".into(), json!(g));
    }
    admission::admit(st, rt, &mut new, Some(old), Op::Update, opts)?;

    let schema = rt.schema().cloned();
    let shape = Shape::for_kind(&rt.kind, schema.as_deref());
    let mut managers = match applied {
        Some(m) => m,
        None => {
            let mut m = Managers::read(&new);
            let scope = if opts.internal { Scope::Whole } else { scope_of(rt, sub) };
            let subres = (sub == Sub::Status).then_some("status");
            m.record_update(
                &opts.manager,
                &rt.api_version(),
                subres,
                &managed::update_set(Some(old), &new, &shape, scope),
            );
            m
        }
    };
    managers.retain_existing(&managed::existing_set(&new, &shape));
    // A write that changes neither the object nor who owns what is no write at all (only
    // the ownership timestamps would differ).
    if !meta::is_deleting(&new)
        && Managers::read(old).same_sets(&managers)
        && without_managed(old) == without_managed(&new)
    {
        return Ok(old.clone());
    }
    managers.write(&mut new);

    let ns_finalizers = rt.kind == "Namespace"
        && new.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if meta::is_deleting(&new) && meta::finalizers(&new).is_empty() && !ns_finalizers {
        if opts.dry_run {
            return Ok(new);
        }
        let gone = st.remove(&rt.gr(), meta::namespace(&new), meta::name(&new));
        return Ok(gone.map(|g| (*g).clone()).unwrap_or(new));
    }
    if opts.dry_run {
        return Ok(new);
    }
    Ok((*st.replace(&rt.gr(), new)).clone())
}

fn without_managed(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(md) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        md.remove("managedFields");
        md.remove("resourceVersion");
    }
    v
}

/// Whether anything outside metadata (and status, when it is a subresource) changed.
fn spec_changed(rt: &ResourceType, old: &Value, new: &Value) -> bool {
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else { return true };
    let skip =
        |k: &str| matches!(k, "metadata" | "apiVersion" | "kind") || (k == "status" && (rt.status || !rt.is_crd()));
    let ka = a.iter().filter(|(k, _)| !skip(k));
    let kb: Vec<_> = b.iter().filter(|(k, _)| !skip(k)).collect();
    let ka: Vec<_> = ka.collect();
    ka.len() != kb.len() || ka.iter().any(|(k, v)| b.get(*k) != Some(*v))
}

/// PATCH in any of its four content types.
#[allow(clippy::too_many_arguments)]
pub fn patch(
    st: &mut Store,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    content_type: &str,
    body: &[u8],
    sub: Sub,
    opts: &mut Opts,
) -> ApiResult<(Value, bool)> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    if ct == "application/apply-patch+yaml" {
        return apply(st, rt, ns, name, body, sub, opts);
    }
    let patch: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    if sub == Sub::Scale {
        let current = scale_of(rt, &*get(st, rt, ns, name)?);
        let patched = apply_patch(ct, rt, &current, &patch)?;
        return Ok((scale_update(st, rt, ns, name, &patched, opts)?, false));
    }
    let old = get(st, rt, ns, name)?;
    let patched = apply_patch(ct, rt, &old, &patch)?;
    let rv = meta::resource_version(&patched);
    if !rv.is_empty() && rv != meta::resource_version(&old) {
        return Err(ApiError::conflict(&target(rt, name)));
    }
    let new = scoped(rt, &old, patched, sub);
    Ok((finish_update(st, rt, &old, new, sub, opts, None)?, false))
}

fn apply_patch(ct: &str, rt: &ResourceType, old: &Value, patch: &Value) -> ApiResult<Value> {
    let mut doc = old.clone();
    match ct {
        "application/merge-patch+json" => json_patch::merge(&mut doc, patch),
        "application/json-patch+json" => {
            let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &ops).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
        }
        "application/strategic-merge-patch+json" if !rt.is_crd() => {
            strategic::merge(&mut doc, patch, &Shape::for_kind(&rt.kind, None));
        }
        _ => {
            return Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{}",
                if rt.is_crd() { "" } else { ", application/strategic-merge-patch+json" }
            )));
        }
    }
    Ok(doc)
}

/// Server-side apply: merge the applied configuration with field ownership; creates when absent.
#[allow(clippy::too_many_arguments)]
fn apply(
    st: &mut Store,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    body: &[u8],
    sub: Sub,
    opts: &mut Opts,
) -> ApiResult<(Value, bool)> {
    if opts.manager.is_empty() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    }
    if sub == Sub::Scale {
        return Err(ApiError::unsupported_media_type("apply is not supported on the scale subresource"));
    }
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("apply patch is not UTF-8"))?;
    let mut applied: Value =
        serde_saphyr::from_str(text).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if applied.get("apiVersion").and_then(Value::as_str).unwrap_or("").is_empty()
        || applied.get("kind").and_then(Value::as_str).unwrap_or("").is_empty()
    {
        return Err(ApiError::bad_request("invalid object type: apiVersion and kind must be set in an apply patch"));
    }
    check_type(rt, &mut applied)?;
    refuse_undeclared(rt, ns, name, &applied)?;
    let md = meta::metadata_mut(&mut applied);
    match md.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() && n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => {
            md.insert("name".into(), json!(name));
        }
    }
    if rt.namespaced {
        if let Some(n) = md.get("namespace").and_then(Value::as_str)
            && !n.is_empty()
            && n != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        md.insert("namespace".into(), json!(ns));
    }
    let live = st.get(&rt.gr(), ns, name);
    let schema = rt.schema().cloned();
    let api_version = rt.api_version();
    let req = Apply {
        manager: &opts.manager,
        api_version: &api_version,
        force: opts.force,
        scope: scope_of(rt, sub),
        shape: Shape::for_kind(&rt.kind, schema.as_deref()),
    };
    let (merged, managers) = managed::apply(live.as_deref(), &applied, &req).map_err(ApiError::apply_conflict)?;
    match live {
        None => {
            if sub == Sub::Status {
                return Err(ApiError::not_found(&target(rt, name)));
            }
            Ok((create_with(st, rt, ns, merged, opts, Some(managers))?, true))
        }
        Some(old) => Ok((finish_update(st, rt, &old, merged, sub, opts, Some(managers))?, false)),
    }
}

/// Server-side apply converts the patch to a typed value first, which fails on any field the
/// schema does not declare, null-valued ones included, whatever `fieldValidation` says
/// (KEP-2885: "for apply patch, server side schema validation already occurs and is not
/// optional"; structured-merge-diff typed/validate.go). The API server answers 500
/// (kubernetes/kubernetes#122480).
fn refuse_undeclared(rt: &ResourceType, ns: &str, name: &str, applied: &Value) -> ApiResult<()> {
    let unknown = match rt.schema() {
        Some(schema) => schema.check(&mut applied.clone(), super::schema::Unknown::Refuse).unknown,
        None if rt.is_crd() => Vec::new(),
        None => super::typed::undeclared(&rt.kind, applied),
    };
    let Some(first) = unknown.first() else { return Ok(()) };
    let object = if ns.is_empty() { name.to_string() } else { format!("{ns}/{name}") };
    let gvk = format!("{}/{}, Kind={}", rt.group, rt.version, rt.kind);
    Err(ApiError::new(
        500,
        "InternalError",
        format!("failed to create typed patch object ({object}; {gvk}): .{first}: field not declared in schema"),
    ))
}

/// DELETE: gone at once, or marked with `deletionTimestamp` while finalizers remain.
pub fn delete(st: &mut Store, rt: &ResourceType, ns: &str, name: &str, d: &DeleteOpts) -> ApiResult<Value> {
    let old = get(st, rt, ns, name)?;
    if let Some(uid) = &d.uid
        && uid != meta::uid(&old)
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                rt.gr(),
                meta::uid(&old)
            ),
        ));
    }
    if let Some(rv) = &d.resource_version
        && rv != meta::resource_version(&old)
    {
        return Err(ApiError::conflict(&target(rt, name)));
    }
    if meta::is_deleting(&old) {
        return Ok((*old).clone());
    }
    let mut new = (*old).clone();
    let mut finalizers = meta::finalizers(&old);
    match d.propagation.as_deref() {
        Some("Foreground") if !finalizers.iter().any(|f| f == "foregroundDeletion") => {
            finalizers.push("foregroundDeletion".into())
        }
        Some("Orphan") if !finalizers.iter().any(|f| f == "orphan") => finalizers.push("orphan".into()),
        _ => {}
    }
    if rt.kind == "Namespace" {
        new["status"] = json!({ "phase": "Terminating" });
    }
    let keep = !finalizers.is_empty()
        || (rt.kind == "Namespace"
            && new.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|a| !a.is_empty()));
    if !keep {
        if d.dry_run {
            return Ok(new);
        }
        let gone = st.remove(&rt.gr(), ns, name);
        return Ok(gone.map(|g| (*g).clone()).unwrap_or(new));
    }
    let md = meta::metadata_mut(&mut new);
    md.insert("deletionTimestamp".into(), json!(meta::now_rfc3339()));
    md.insert("deletionGracePeriodSeconds".into(), json!(0));
    if !finalizers.is_empty() {
        md.insert("finalizers".into(), json!(finalizers));
    }
    if d.dry_run {
        return Ok(new);
    }
    Ok((*st.replace(&rt.gr(), new)).clone())
}

/// The `autoscaling/v1` Scale view of an object.
pub fn scale_of(rt: &ResourceType, obj: &Value) -> Value {
    let Some(paths) = &rt.scale else { return Value::Null };
    let mut s = json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": meta::name(obj),
            "namespace": meta::namespace(obj),
            "uid": meta::uid(obj),
            "resourceVersion": meta::resource_version(obj),
            "creationTimestamp": obj.pointer("/metadata/creationTimestamp").cloned().unwrap_or(Value::Null),
        },
        "spec": { "replicas": meta::int_at(obj, &paths.spec).unwrap_or(0) },
        "status": { "replicas": meta::int_at(obj, &paths.status).unwrap_or(0) },
    });
    if let Some(sel) = paths.selector.as_ref().and_then(|p| obj.pointer(p)).and_then(Value::as_str) {
        s["status"]["selector"] = json!(sel);
    } else if let Some(sel) = obj.pointer("/spec/selector/matchLabels").and_then(Value::as_object) {
        let parts: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect();
        s["status"]["selector"] = json!(parts.join(","));
    }
    s
}

fn scale_update(
    st: &mut Store,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    scale: &Value,
    opts: &mut Opts,
) -> ApiResult<Value> {
    let Some(paths) = rt.scale.clone() else { return Err(ApiError::no_resource()) };
    let old = get(st, rt, ns, name)?;
    let rv = meta::resource_version(scale);
    if !rv.is_empty() && rv != meta::resource_version(&old) {
        return Err(ApiError::conflict(&target(rt, name)));
    }
    let Some(replicas) = meta::int_at(scale, "/spec/replicas") else {
        return Err(ApiError::invalid("autoscaling", "Scale", name, vec![Cause::required("spec.replicas", "")]));
    };
    if replicas < 0 {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            name,
            vec![Cause::invalid("spec.replicas", &json!(replicas), "must be greater than or equal to 0")],
        ));
    }
    let mut new = (*old).clone();
    set_pointer(&mut new, &paths.spec, json!(replicas));
    let out = finish_update(st, rt, &old, new, Sub::Main, opts, None)?;
    Ok(scale_of(rt, &out))
}

/// Set a value at a JSON pointer, creating objects on the way.
pub fn set_pointer(obj: &mut Value, pointer: &str, v: Value) {
    let mut cur = obj;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, p) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            if !cur.is_object() {
                *cur = json!({});
            }
            cur[*p] = v;
            return;
        }
        cur = meta::child_mut(cur, p);
    }
}
