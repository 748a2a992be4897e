//! Cloud Storage JSON API (`/storage/storage/v1/b...`, uploads at `/storage/upload/storage/v1/...`,
//! downloads with `?alt=media`): buckets with labels, location, uniform bucket-level access and
//! IAM; objects with media, multipart and resumable uploads. Where fake-gcs-server differs from
//! Google, this follows Google: DELETE answers 204, PATCH merges, labels and location are kept,
//! bucket IAM exists.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http::Method;
use md5::Digest;
use serde_json::{Value, json};

use super::compute::merge_patch;
use super::policy::{self, Policy};
use super::{state_entry, util};
use crate::app::App;
use crate::clock::{now_millis, now_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};

const API: &str = "https://www.googleapis.com/storage/v1/";

pub struct Bucket {
    pub project: String,
    pub value: Value,
    policy: Option<Policy>,
    pub objects: BTreeMap<String, Object>,
    /// Google-owned buckets (Cloud Build logs): readable, not listed in the project.
    hidden: bool,
}

pub struct Object {
    pub meta: Value,
    pub data: Bytes,
}

struct Upload {
    bucket: String,
    meta: Value,
    data: Vec<u8>,
}

#[derive(Default)]
pub struct State {
    buckets: BTreeMap<String, Bucket>,
    uploads: BTreeMap<String, Upload>,
}

impl State {
    pub fn state(&self, out: &mut Vec<Value>) {
        for (name, b) in self.buckets.iter().filter(|(_, b)| !b.hidden) {
            out.push(state_entry("storage", "Bucket", name, "READY", &b.value["labels"]));
        }
    }

    /// The project owning a bucket.
    /// The bucket's IAM policy, once it has one.
    pub fn policy(&self, bucket: &str) -> Option<&Policy> {
        self.buckets.get(bucket).and_then(|b| b.policy.as_ref())
    }

    pub fn owner(&self, bucket: &str) -> Option<String> {
        self.buckets.get(bucket).map(|b| b.project.clone())
    }

    pub fn object_exists(&self, bucket: &str, name: &str) -> bool {
        self.buckets.get(bucket).is_some_and(|b| b.objects.contains_key(name))
    }

    pub fn bucket_exists(&self, bucket: &str) -> bool {
        self.buckets.contains_key(bucket)
    }

    /// Writes an object into a Google-owned bucket (created hidden when missing).
    pub fn put_system(&mut self, project: &str, bucket: &str, name: &str, data: Bytes, content_type: &str) {
        let entry = self.buckets.entry(bucket.to_string()).or_insert_with(|| Bucket {
            project: project.to_string(),
            value: json!({ "kind": "storage#bucket", "name": bucket, "id": bucket, "location": "US", "storageClass": "STANDARD" }),
            policy: None,
            objects: BTreeMap::new(),
            hidden: true,
        });
        let meta = object_meta(bucket, name, &data, content_type, None);
        entry.objects.insert(name.to_string(), Object { meta, data });
    }
}

pub fn routes() -> Vec<Route> {
    const BUCKETS: &str = "storage/v1/b";
    const BUCKET: &str = "storage/v1/b/{bucket}";
    const OBJECTS: &str = "storage/v1/b/{bucket}/o";
    const OBJECT: &str = "storage/v1/b/{bucket}/o/{object}";
    vec![
        route(Method::GET, BUCKETS, "storage.buckets.list", list_buckets),
        route(Method::POST, BUCKETS, "storage.buckets.insert", insert_bucket),
        route(Method::GET, BUCKET, "storage.buckets.get", get_bucket),
        route(Method::PATCH, BUCKET, "storage.buckets.patch", patch_bucket),
        route(Method::PUT, BUCKET, "storage.buckets.update", update_bucket),
        route(Method::DELETE, BUCKET, "storage.buckets.delete", delete_bucket),
        route(Method::GET, "storage/v1/b/{bucket}/iam", "storage.buckets.getIamPolicy", get_policy),
        route(Method::PUT, "storage/v1/b/{bucket}/iam", "storage.buckets.setIamPolicy", set_policy),
        route(
            Method::GET,
            "storage/v1/b/{bucket}/iam/testPermissions",
            "storage.buckets.testIamPermissions",
            test_permissions,
        ),
        route(Method::GET, OBJECTS, "storage.objects.list", list_objects),
        route(Method::GET, OBJECT, "storage.objects.get", get_object),
        route(Method::PATCH, OBJECT, "storage.objects.patch", patch_object),
        route(Method::DELETE, OBJECT, "storage.objects.delete", delete_object),
        route(Method::POST, OBJECTS, "storage.objects.insert", insert_metadata_only),
        route(Method::POST, "upload/storage/v1/b/{bucket}/o", "storage.objects.insert", upload),
        route(Method::PUT, "upload/storage/v1/b/{bucket}/o", "storage.objects.insert", upload_chunk),
        route(Method::GET, "download/storage/v1/b/{bucket}/o/{object}", "storage.objects.get", get_object),
    ]
}

fn bucket_not_found() -> ApiError {
    ApiError::not_found("The specified bucket does not exist.").with_reason("notFound")
}

fn object_not_found(bucket: &str, name: &str) -> ApiError {
    ApiError::not_found(format!("No such object: {bucket}/{name}")).with_reason("notFound")
}

fn precondition_failed() -> ApiError {
    ApiError::new(412, "At least one of the pre-conditions you specified did not hold.").with_reason("conditionNotMet")
}

/// Bucket names: 3-63 characters (222 with dots), lowercase letters, digits, `-`, `_`, `.`.
fn valid_bucket_name(name: &str) -> bool {
    let max = if name.contains('.') { 222 } else { 63 };
    (3..=max).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.starts_with("goog")
}

fn list_buckets(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(
        call.query("project")
            .ok_or_else(|| ApiError::invalid("Required parameter: project").with_reason("required"))?,
    );
    let prefix = call.query("prefix").unwrap_or_default();
    let world = app.world();
    let items: Vec<Value> = world
        .storage
        .buckets
        .iter()
        .filter(|(name, b)| !b.hidden && b.project == project && name.starts_with(prefix))
        .map(|(_, b)| b.value.clone())
        .collect();
    let (page, next) = util::paginate(items, call.query("maxResults"), call.query("pageToken"))?;
    let mut body = json!({ "kind": "storage#buckets" });
    if !page.is_empty() {
        body["items"] = Value::Array(page);
    }
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(body))
}

fn insert_bucket(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(
        call.query("project")
            .ok_or_else(|| ApiError::invalid("Required parameter: project").with_reason("required"))?,
    );
    let mut bucket = call.body.clone();
    let name = bucket["name"].as_str().unwrap_or_default().to_string();
    if !valid_bucket_name(&name) {
        return Err(ApiError::invalid(format!("Invalid bucket name: '{name}'")).with_reason("invalid"));
    }
    util::check_labels(&bucket["labels"])?;
    let ubla = bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] == json!(true)
        || bucket["iamConfiguration"]["bucketPolicyOnly"]["enabled"] == json!(true);
    if !ubla && app.scenario().org_policies.get("storage.uniformBucketLevelAccess").is_some_and(|v| v == "deny") {
        return Err(ApiError::new(412, "Request violates constraint 'constraints/storage.uniformBucketLevelAccess'")
            .with_reason("conditionNotMet"));
    }
    let mut world = app.world();
    if let Some(existing) = world.storage.buckets.get(&name) {
        return Err(if existing.project == project {
            ApiError::already_exists(
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with_reason("conflict")
        } else {
            ApiError::already_exists("The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.").with_reason("conflict")
        });
    }
    let location = bucket["location"].as_str().unwrap_or("US").to_uppercase();
    let location_type = if ["US", "EU", "ASIA"].contains(&location.as_str()) {
        "multi-region"
    } else if location.contains('-') {
        "region"
    } else {
        "dual-region"
    };
    let now = now_rfc3339();
    let number = app.project_number(&project);
    for (field, value) in [
        ("kind", json!("storage#bucket")),
        ("selfLink", json!(format!("{API}b/{name}"))),
        ("id", json!(name)),
        ("name", json!(name)),
        ("projectNumber", json!(number)),
        ("metageneration", json!("1")),
        ("location", json!(location)),
        ("locationType", json!(location_type)),
        ("timeCreated", json!(now)),
        ("updated", json!(now)),
        ("etag", json!("CAE=")),
        ("rpo", json!("DEFAULT")),
    ] {
        bucket[field] = value;
    }
    if bucket.get("storageClass").is_none() {
        bucket["storageClass"] = json!("STANDARD");
    }
    bucket["iamConfiguration"] = json!({
        "bucketPolicyOnly": { "enabled": ubla },
        "uniformBucketLevelAccess": { "enabled": ubla },
        "publicAccessPrevention": bucket["iamConfiguration"]["publicAccessPrevention"].as_str().unwrap_or("inherited"),
    });
    bucket["softDeletePolicy"] = json!({ "retentionDurationSeconds": "604800", "effectiveTime": now });
    let policy = Policy::new(
        app,
        json!([
            { "role": "roles/storage.legacyBucketOwner", "members": [format!("projectEditor:{project}"), format!("projectOwner:{project}")] },
            { "role": "roles/storage.legacyBucketReader", "members": [format!("projectViewer:{project}")] },
        ]),
    );
    world.storage.buckets.insert(
        name,
        Bucket { project, value: bucket.clone(), policy: Some(policy), objects: BTreeMap::new(), hidden: false },
    );
    Ok(Reply::json(bucket))
}

fn bucket<'a>(world: &'a super::World, name: &str) -> ApiResult<&'a Bucket> {
    world.storage.buckets.get(name).ok_or_else(bucket_not_found)
}

fn bucket_mut<'a>(world: &'a mut super::World, name: &str) -> ApiResult<&'a mut Bucket> {
    world.storage.buckets.get_mut(name).ok_or_else(bucket_not_found)
}

fn get_bucket(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let world = app.world();
    Ok(Reply::json(bucket(&world, call.param("bucket"))?.value.clone()))
}

fn bump(value: &mut Value) {
    let meta = util::as_u64(&value["metageneration"]).unwrap_or(1) + 1;
    value["metageneration"] = json!(meta.to_string());
    value["etag"] = json!(base64::engine::general_purpose::STANDARD.encode([0x08, meta as u8]));
    value["updated"] = json!(now_rfc3339());
}

fn check_metageneration(call: &Call, value: &Value) -> ApiResult<()> {
    if let Some(want) = call.query("ifMetagenerationMatch")
        && value["metageneration"] != json!(want)
    {
        return Err(precondition_failed());
    }
    Ok(())
}

/// PATCH merges (unlike fake-gcs-server, which replaces): labels with null values are removed.
fn patch_bucket(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    util::check_labels(&call.body["labels"])?;
    let mut world = app.world();
    let b = bucket_mut(&mut world, call.param("bucket"))?;
    check_metageneration(call, &b.value)?;
    let mut patch = call.body.clone();
    if let Some(map) = patch.as_object_mut() {
        for output in [
            "name",
            "id",
            "kind",
            "selfLink",
            "projectNumber",
            "timeCreated",
            "location",
            "locationType",
            "metageneration",
            "etag",
        ] {
            map.remove(output);
        }
    }
    merge_patch(&mut b.value, &patch);
    let ubla = b.value["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"].clone();
    b.value["iamConfiguration"]["bucketPolicyOnly"]["enabled"] = ubla;
    bump(&mut b.value);
    Ok(Reply::json(b.value.clone()))
}

fn update_bucket(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let mut world = app.world();
    let b = bucket_mut(&mut world, call.param("bucket"))?;
    check_metageneration(call, &b.value)?;
    let keep = b.value.clone();
    let mut new = call.body.clone();
    for field in [
        "kind",
        "selfLink",
        "id",
        "name",
        "projectNumber",
        "timeCreated",
        "location",
        "locationType",
        "metageneration",
        "etag",
        "iamConfiguration",
        "storageClass",
    ] {
        if new.get(field).is_none()
            || matches!(
                field,
                "name" | "id" | "projectNumber" | "timeCreated" | "location" | "locationType" | "metageneration"
            )
        {
            new[field] = keep[field].clone();
        }
    }
    b.value = new;
    bump(&mut b.value);
    Ok(Reply::json(b.value.clone()))
}

/// DELETE answers 204 like Google (fake-gcs-server answers 200 with `null`).
fn delete_bucket(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = call.param("bucket").to_string();
    let mut world = app.world();
    let b = bucket(&world, &name)?;
    check_metageneration(call, &b.value)?;
    if !b.objects.is_empty() {
        return Err(ApiError::already_exists("The bucket you tried to delete is not empty.").with_reason("conflict"));
    }
    world.storage.buckets.remove(&name);
    Ok(Reply::no_content())
}

fn policy_json(name: &str, policy: &Policy, call: &Call) -> Value {
    let mut v = policy.read(call);
    v["kind"] = json!("storage#policy");
    v["resourceId"] = json!(format!("projects/_/buckets/{name}"));
    v
}

fn get_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = call.param("bucket").to_string();
    let mut world = app.world();
    let b = bucket_mut(&mut world, &name)?;
    let policy = b.policy.get_or_insert_with(|| Policy::new(app, json!([])));
    Ok(Reply::json(policy_json(&name, policy, call)))
}

fn set_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = call.param("bucket").to_string();
    let mut world = app.world();
    if let Some(project) = world.storage.owner(&name) {
        policy::check_members(app, &world, &project, &call.body)?;
    }
    let b = bucket_mut(&mut world, &name)?;
    // IAM Conditions on a bucket need uniform bucket-level access (cloud.google.com/storage/docs/
    // access-control/iam#conditions); the error's wording is ours.
    let conditional = call.body["bindings"].as_array().into_iter().flatten().any(|b| b.get("condition").is_some());
    if conditional && b.value["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] != json!(true) {
        return Err(ApiError::new(
            400,
            "IAM conditions can only be used on buckets with uniform bucket-level access enabled",
        )
        .with_reason("invalid"));
    }
    let policy = b.policy.get_or_insert_with(|| Policy::new(app, json!([])));
    let mut v = policy.set(app, &call.body, |_, _| precondition_failed())?;
    v["kind"] = json!("storage#policy");
    v["resourceId"] = json!(format!("projects/_/buckets/{name}"));
    Ok(Reply::json(v))
}

fn test_permissions(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let world = app.world();
    bucket(&world, call.param("bucket"))?;
    let scenario = app.scenario();
    let granted: Vec<&str> = call
        .query
        .get("permissions")
        .map(|p| p.split(',').filter(|p| !scenario.permission_denied(p)).collect())
        .unwrap_or_default();
    Ok(Reply::json(json!({ "kind": "storage#testIamPermissionsResponse", "permissions": granted })))
}

fn object_meta(bucket: &str, name: &str, data: &[u8], content_type: &str, extra: Option<&Value>) -> Value {
    let generation = now_millis().to_string() + "000";
    let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data));
    let crc = base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(data).to_be_bytes());
    let encoded: String = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    let now = now_rfc3339();
    let mut meta = json!({
        "kind": "storage#object",
        "id": format!("{bucket}/{name}/{generation}"),
        "selfLink": format!("{API}b/{bucket}/o/{encoded}"),
        "mediaLink": format!("https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{encoded}?generation={generation}&alt=media"),
        "name": name,
        "bucket": bucket,
        "generation": generation,
        "metageneration": "1",
        "contentType": content_type,
        "storageClass": "STANDARD",
        "size": data.len().to_string(),
        "md5Hash": md5,
        "crc32c": crc,
        "etag": "CAE=",
        "timeCreated": now,
        "updated": now,
        "timeStorageClassUpdated": now,
    });
    if let Some(extra) = extra.and_then(Value::as_object) {
        for field in ["metadata", "contentEncoding", "contentDisposition", "cacheControl", "contentLanguage"] {
            if let Some(v) = extra.get(field) {
                meta[field] = v.clone();
            }
        }
    }
    meta
}

fn list_objects(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let world = app.world();
    let b = bucket(&world, call.param("bucket"))?;
    let prefix = call.query("prefix").unwrap_or_default();
    let delimiter = call.query("delimiter");
    let start = call.query("pageToken").unwrap_or_default();
    let max = call.query("maxResults").and_then(|m| m.parse::<usize>().ok()).filter(|m| *m > 0).unwrap_or(1000);
    let mut items = Vec::new();
    let mut prefixes = std::collections::BTreeSet::new();
    let mut next = None;
    for (name, obj) in b.objects.range(start.to_string()..) {
        if !name.starts_with(prefix) || name.as_str() == start {
            continue;
        }
        if let Some(d) = delimiter
            && let Some(i) = name[prefix.len()..].find(d)
        {
            prefixes.insert(name[..prefix.len() + i + d.len()].to_string());
            continue;
        }
        if items.len() == max {
            next = items.last().and_then(|v: &Value| v["name"].as_str().map(str::to_string));
            break;
        }
        items.push(obj.meta.clone());
    }
    let mut body = json!({ "kind": "storage#objects" });
    if !items.is_empty() {
        body["items"] = Value::Array(items);
    }
    if !prefixes.is_empty() {
        body["prefixes"] = json!(prefixes);
    }
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(body))
}

fn get_object(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let world = app.world();
    let bucket_name = call.param("bucket");
    let name = call.param("object");
    let b = bucket(&world, bucket_name)?;
    let obj = b.objects.get(name).ok_or_else(|| object_not_found(bucket_name, name))?;
    if let Some(want) = call.query("ifGenerationMatch")
        && obj.meta["generation"] != json!(want)
    {
        return Err(precondition_failed());
    }
    if call.query("alt") == Some("media") || call.path.starts_with("/download/") {
        let content_type = obj.meta["contentType"].as_str().unwrap_or("application/octet-stream");
        return Ok(Reply::bytes(content_type, obj.data.clone())
            .with_header("x-goog-generation", obj.meta["generation"].as_str().unwrap_or_default())
            .with_header(
                "x-goog-hash",
                format!(
                    "crc32c={},md5={}",
                    obj.meta["crc32c"].as_str().unwrap_or_default(),
                    obj.meta["md5Hash"].as_str().unwrap_or_default()
                ),
            ));
    }
    Ok(Reply::json(obj.meta.clone()))
}

fn patch_object(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let bucket_name = call.param("bucket").to_string();
    let name = call.param("object").to_string();
    let mut world = app.world();
    let b = bucket_mut(&mut world, &bucket_name)?;
    let obj = b.objects.get_mut(&name).ok_or_else(|| object_not_found(&bucket_name, &name))?;
    for field in ["metadata", "contentType", "contentEncoding", "contentDisposition", "cacheControl"] {
        if let Some(v) = call.body.get(field) {
            if field == "metadata" {
                merge_patch(&mut obj.meta["metadata"], v);
            } else {
                obj.meta[field] = v.clone();
            }
        }
    }
    bump(&mut obj.meta);
    Ok(Reply::json(obj.meta.clone()))
}

fn delete_object(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let bucket_name = call.param("bucket").to_string();
    let name = call.param("object").to_string();
    let mut world = app.world();
    let b = bucket_mut(&mut world, &bucket_name)?;
    let obj = b.objects.get(&name).ok_or_else(|| object_not_found(&bucket_name, &name))?;
    if let Some(want) = call.query("ifGenerationMatch")
        && obj.meta["generation"] != json!(want)
    {
        return Err(precondition_failed());
    }
    b.objects.remove(&name);
    Ok(Reply::no_content())
}

/// Stores an object, honouring `ifGenerationMatch` (`0`: only if absent).
fn store(
    world: &mut super::World,
    bucket_name: &str,
    name: &str,
    data: Bytes,
    content_type: &str,
    extra: Option<&Value>,
    call: &Call,
) -> ApiResult<Value> {
    if name.is_empty() {
        return Err(ApiError::invalid("Required parameter: name").with_reason("required"));
    }
    let b = bucket_mut(world, bucket_name)?;
    if let Some(want) = call.query("ifGenerationMatch") {
        let current = b.objects.get(name).map(|o| o.meta["generation"].as_str().unwrap_or_default().to_string());
        let ok = match current {
            None => want == "0",
            Some(g) => g == want,
        };
        if !ok {
            return Err(precondition_failed());
        }
    }
    let meta = object_meta(bucket_name, name, &data, content_type, extra);
    b.objects.insert(name.to_string(), Object { meta: meta.clone(), data });
    Ok(meta)
}

fn insert_metadata_only(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = call
        .query("name")
        .map(str::to_string)
        .or_else(|| call.body["name"].as_str().map(str::to_string))
        .unwrap_or_default();
    let content_type = call.body["contentType"].as_str().unwrap_or("application/octet-stream").to_string();
    let mut world = app.world();
    let meta = store(&mut world, call.param("bucket"), &name, Bytes::new(), &content_type, Some(&call.body), call)?;
    Ok(Reply::json(meta))
}

fn upload(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let bucket_name = call.param("bucket").to_string();
    match call.query("uploadType").unwrap_or("media") {
        "media" => {
            let name = call.query("name").unwrap_or_default().to_string();
            let content_type = if call.content_type.is_empty() {
                "application/octet-stream".to_string()
            } else {
                call.content_type.clone()
            };
            let mut world = app.world();
            let meta = store(&mut world, &bucket_name, &name, call.raw.clone(), &content_type, None, call)?;
            Ok(Reply::json(meta))
        }
        "multipart" => {
            let (meta_part, media, media_type) = multipart(&call.content_type, &call.raw)?;
            let name = call
                .query("name")
                .map(str::to_string)
                .or_else(|| meta_part["name"].as_str().map(str::to_string))
                .unwrap_or_default();
            let content_type = meta_part["contentType"]
                .as_str()
                .map(str::to_string)
                .or(media_type)
                .unwrap_or_else(|| "application/octet-stream".into());
            let mut world = app.world();
            let meta = store(&mut world, &bucket_name, &name, media, &content_type, Some(&meta_part), call)?;
            Ok(Reply::json(meta))
        }
        "resumable" => {
            let mut world = app.world();
            bucket(&world, &bucket_name)?;
            let id = app.hex(32);
            let mut meta = if call.body.is_object() { call.body.clone() } else { json!({}) };
            if let Some(name) = call.query("name") {
                meta["name"] = json!(name);
            }
            world.storage.uploads.insert(id.clone(), Upload { bucket: bucket_name.clone(), meta, data: Vec::new() });
            let base = app.base_url.get().cloned().unwrap_or_default();
            let location =
                format!("{base}/storage/upload/storage/v1/b/{bucket_name}/o?uploadType=resumable&upload_id={id}");
            Ok(Reply::empty_object().with_header("location", location).with_header("x-guploader-uploadid", id))
        }
        other => Err(ApiError::invalid(format!("Invalid upload type: {other}")).with_reason("invalid")),
    }
}

/// A resumable upload's data: the whole object at once, or chunks with `Content-Range`
/// (`bytes 0-N/TOTAL`; `*` total answers 308 until the last chunk).
fn upload_chunk(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let id = call
        .query("upload_id")
        .ok_or_else(|| ApiError::invalid("Missing upload_id").with_reason("invalid"))?
        .to_string();
    let mut world = app.world();
    let upload = world
        .storage
        .uploads
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("No such upload session.").with_reason("notFound"))?;
    upload.data.extend_from_slice(&call.raw);
    let range = call.headers.get("content-range").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let total = range.rsplit('/').next().and_then(|t| t.parse::<usize>().ok());
    let complete = range.is_empty() || total.is_some_and(|t| t == upload.data.len());
    if !complete {
        let received = upload.data.len();
        return Ok(Reply {
            status: http::StatusCode::PERMANENT_REDIRECT,
            body: crate::route::ReplyBody::Empty,
            headers: vec![("range".into(), format!("bytes=0-{}", received.saturating_sub(1)))],
        });
    }
    let Some(upload) = world.storage.uploads.remove(&id) else {
        return Err(ApiError::not_found("No such upload session.").with_reason("notFound"));
    };
    let name = upload.meta["name"].as_str().unwrap_or_default().to_string();
    let content_type = upload.meta["contentType"].as_str().unwrap_or("application/octet-stream").to_string();
    let meta =
        store(&mut world, &upload.bucket, &name, Bytes::from(upload.data), &content_type, Some(&upload.meta), call)?;
    Ok(Reply::json(meta))
}

/// `multipart/related`: a JSON metadata part, then the media part.
fn multipart(content_type: &str, body: &[u8]) -> ApiResult<(Value, Bytes, Option<String>)> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .ok_or_else(|| ApiError::invalid("Missing multipart boundary").with_reason("invalid"))?;
    let delimiter = format!("--{boundary}");
    let parts = split_bytes(body, delimiter.as_bytes());
    let mut parsed = Vec::new();
    for part in parts {
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        if part.starts_with(b"--") || part.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let split = find(part, b"\r\n\r\n")
            .ok_or_else(|| ApiError::invalid("Malformed multipart body").with_reason("invalid"))?;
        let headers = String::from_utf8_lossy(&part[..split]).to_string();
        let mut content = &part[split + 4..];
        content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let ctype = headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-type").then(|| v.trim().to_string())
        });
        parsed.push((ctype, Bytes::copy_from_slice(content)));
    }
    if parsed.len() != 2 {
        return Err(
            ApiError::invalid("A multipart upload needs a metadata part and a media part.").with_reason("invalid")
        );
    }
    let meta: Value = serde_json::from_slice(&parsed[0].1)
        .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?;
    let (media_type, media) = parsed.swap_remove(1);
    Ok((meta, media, media_type))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(body, delimiter) {
        out.push(&body[..i]);
        body = &body[i + delimiter.len()..];
    }
    out.push(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multipart_related() {
        let body = b"--xyz\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"name\":\"a/b.txt\"}\r\n--xyz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--xyz--\r\n";
        let (meta, media, ctype) = multipart("multipart/related; boundary=xyz", body).unwrap();
        assert_eq!(meta["name"], "a/b.txt");
        assert_eq!(&media[..], b"hello");
        assert_eq!(ctype.as_deref(), Some("text/plain"));
    }

    #[test]
    fn bucket_names() {
        assert!(valid_bucket_name("sd-demo-models-1a2b"));
        assert!(!valid_bucket_name("Sd"));
        assert!(!valid_bucket_name("goog-x"));
    }
}
