//! Small helpers shared by the API modules: names, ids, locations, pagination, update masks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use super::{World, lro};
use crate::app::App;
use crate::clock::now_millis;
use crate::error::{ApiError, ApiResult};
use crate::route::Call;

/// A GKE / Filestore / Redis style operation id: `operation-1732222222222-1a2b3c4d`.
pub fn operation_id(app: &App) -> String {
    format!("operation-{}-{}", now_millis(), app.hex(8))
}

/// A compute operation name: `operation-1732222222222-62b0a1b2c3d4e-5f6a7b8c-9d0e1f2a`.
pub fn compute_operation_id(app: &App) -> String {
    format!("operation-{}-{}-{}-{}", now_millis(), app.hex(13), app.hex(8), app.hex(8))
}

/// RFC 1035 label: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most `max` characters.
pub fn is_rfc1035(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name.len() <= max
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !name.ends_with('-')
}

/// An opaque etag like IAM's (`BwYxxxx=`), different for every `version`.
pub fn etag(version: u64) -> String {
    let mut bytes = vec![0x07, 0x06];
    bytes.extend_from_slice(&version.to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Whether a location is a zone (`us-central1-a`) rather than a region (`us-central1`).
pub fn is_zone(location: &str) -> bool {
    let parts: Vec<&str> = location.split('-').collect();
    parts.len() == 3 && parts[2].len() == 1
}

/// The region of a zone (a region is its own region).
pub fn region_of(location: &str) -> &str {
    if is_zone(location) { location.rsplit_once('-').map(|(r, _)| r).unwrap_or(location) } else { location }
}

/// Page through `items` with `pageSize`/`pageToken` (the token is the offset, opaque to clients).
pub fn paginate(
    items: Vec<Value>,
    page_size: Option<&str>,
    token: Option<&str>,
) -> ApiResult<(Vec<Value>, Option<String>)> {
    let start = match token {
        Some(t) => t.parse::<usize>().map_err(|_| ApiError::invalid(format!("Invalid page token: {t}")))?,
        None => 0,
    };
    let size = page_size.and_then(|s| s.parse::<usize>().ok()).filter(|s| *s > 0).unwrap_or(500);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let next = (start + size < total).then(|| (start + size).to_string());
    Ok((page, next))
}

/// Copies the fields named by an update mask (`labels,fileShares`, snake or camel case) from
/// `patch` into `target`; with no mask, every field present in `patch`.
pub fn apply_update_mask(target: &mut Value, patch: &Value, mask: Option<&str>) {
    let Some(patch_map) = patch.as_object() else {
        return;
    };
    let paths: Vec<String> = match mask {
        Some(mask) => mask.split(',').map(|p| camel(p.trim())).collect(),
        None => patch_map.keys().cloned().collect(),
    };
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        let new = segments.iter().try_fold(patch, |v, s| v.get(*s));
        set_path(target, &segments, new.cloned());
    }
}

fn set_path(target: &mut Value, segments: &[&str], value: Option<Value>) {
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut cursor = target;
    for s in parents {
        if !cursor.get(*s).is_some_and(Value::is_object) {
            cursor[*s] = json!({});
        }
        cursor = &mut cursor[*s];
    }
    if let Some(map) = cursor.as_object_mut() {
        match value {
            Some(v) => {
                map.insert(last.to_string(), v);
            }
            None => {
                map.remove(*last);
            }
        }
    }
}

/// `file_shares` -> `fileShares`.
pub fn camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `fileShares` -> `file_shares` (Google names proto fields in snake case in error messages).
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Labels as Google checks them: keys `[a-z][a-z0-9_-]{0,62}`, values `[a-z0-9_-]{0,63}`.
pub fn check_labels(labels: &Value) -> ApiResult<()> {
    let Some(map) = labels.as_object() else {
        return Ok(());
    };
    for (k, v) in map {
        let v = v.as_str().unwrap_or_default();
        let key_ok = k.len() <= 63
            && k.starts_with(|c: char| c.is_ascii_lowercase())
            && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        let value_ok =
            v.len() <= 63 && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !key_ok || !value_ok {
            return Err(ApiError::invalid(format!(
                "Invalid label {k}={v}: keys must start with a lowercase letter and contain only lowercase letters, digits, '_' and '-' (63 characters at most); values likewise, possibly empty."
            )));
        }
    }
    Ok(())
}

/// A number from a JSON value that may be a number or a string (int64 fields travel as strings).
pub fn as_u64(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// The instances of a Filestore/Memorystore-style API (keyed by full name) under `parent`, or in
/// every location of the project when the call's location is `-`.
pub fn located(instances: &BTreeMap<String, Value>, app: &App, call: &Call, parent: &str) -> Vec<Value> {
    let prefix = if call.param("location") == "-" {
        format!("projects/{}/locations/", app.project_id(call.param("project")))
    } else {
        format!("{parent}/")
    };
    instances.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, v)| v.clone()).collect()
}

/// After `delay` the instance `instance` finds (unless deleted meanwhile) becomes READY and is
/// the response of its create operation `op_name`.
pub fn ready_after<F>(app: &Arc<App>, delay: Duration, op_name: String, type_url: &'static str, instance: F)
where
    F: for<'w> FnOnce(&'w mut World) -> Option<&'w mut Value> + Send + 'static,
{
    app.after(delay, move |_, world| {
        let Some(i) = instance(world) else {
            return;
        };
        i["state"] = json!("READY");
        let done = lro::typed(type_url, i);
        world.lro.finish(&op_name, Ok(done));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_locations() {
        assert!(is_rfc1035("sd-demo-1", 40));
        assert!(!is_rfc1035("Sd", 40));
        assert!(!is_rfc1035("sd-", 40));
        assert!(is_zone("us-central1-a"));
        assert!(!is_zone("us-central1"));
        assert_eq!(region_of("europe-west4-b"), "europe-west4");
    }

    #[test]
    fn update_mask_copies_named_fields() {
        let mut target = json!({"labels":{"a":"1"},"description":"x","fileShares":[{"capacityGb":1024}]});
        let patch = json!({"labels":{"b":"2"},"description":"y","fileShares":[{"capacityGb":2048}]});
        apply_update_mask(&mut target, &patch, Some("labels,file_shares"));
        assert_eq!(target["labels"], json!({"b":"2"}));
        assert_eq!(target["description"], "x");
        assert_eq!(target["fileShares"][0]["capacityGb"], 2048);
    }

    #[test]
    fn pages() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (page, next) = paginate(items.clone(), Some("2"), None).unwrap();
        assert_eq!(page, vec![json!(0), json!(1)]);
        let (page, next) = paginate(items, Some("2"), next.as_deref()).unwrap();
        assert_eq!(page, vec![json!(2), json!(3)]);
        assert_eq!(next.as_deref(), Some("4"));
    }
}
