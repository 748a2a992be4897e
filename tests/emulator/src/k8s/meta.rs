//! Small helpers over `serde_json::Value` objects: metadata access, timestamps, names, uids.

use std::collections::BTreeMap;

use rand::RngExt;
use serde_json::{Map, Value, json};

/// `metadata.name`, or "".
pub fn name(obj: &Value) -> &str {
    obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

/// `metadata.namespace`, or "".
pub fn namespace(obj: &Value) -> &str {
    obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("")
}

pub fn kind(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}

pub fn resource_version(obj: &Value) -> &str {
    obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("")
}

pub fn generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0)
}

pub fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// `metadata.labels` as a map (empty when absent).
pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    string_map(obj.pointer("/metadata/labels"))
}

pub fn annotations(obj: &Value) -> BTreeMap<String, String> {
    string_map(obj.pointer("/metadata/annotations"))
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
}

pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// The `metadata` object, created when missing.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    // Invariant: just ensured `metadata` is an object.
    obj["metadata"].as_object_mut().expect("metadata is an object")
}

/// A child object of `parent`, created (as `{}`) when missing or not an object.
pub fn child_mut<'a>(parent: &'a mut Value, key: &str) -> &'a mut Value {
    if !parent.is_object() {
        *parent = json!({});
    }
    if !parent.get(key).is_some_and(Value::is_object) {
        parent[key] = json!({});
    }
    &mut parent[key]
}

/// A child list of `parent`, created (empty) when missing or not a list; its items are kept.
pub fn list_mut<'a>(parent: &'a mut Value, key: &str) -> &'a mut Vec<Value> {
    if !parent.is_object() {
        *parent = json!({});
    }
    if !parent.get(key).is_some_and(Value::is_array) {
        parent[key] = json!([]);
    }
    match parent.get_mut(key) {
        Some(Value::Array(items)) => items,
        // Made a list just above.
        _ => unreachable!("{key} is a list"),
    }
}

/// Now as the API server writes `metav1.Time`: RFC 3339, seconds, UTC.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Now as `metav1.MicroTime`.
pub fn now_micro() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// A random version-4 UUID, as the API server assigns `metadata.uid`.
pub fn new_uid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The 5-character suffix `generateName` appends (Kubernetes' alphabet has no vowels).
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A short lowercase hex string (node name suffixes, hashes).
pub fn random_hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| format!("{:x}", rng.random_range(0..16u8))).collect()
}

/// Set `metadata.labels[key] = value`.
pub fn set_label(obj: &mut Value, key: &str, value: &str) {
    let md = metadata_mut(obj);
    let labels = md.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[key] = json!(value);
}

pub fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    let md = metadata_mut(obj);
    let ann = md.entry("annotations").or_insert_with(|| json!({}));
    if !ann.is_object() {
        *ann = json!({});
    }
    ann[key] = json!(value);
}

/// An `ownerReferences` entry pointing at `owner` (a controller reference).
pub fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": kind(owner),
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether `obj` has an owner reference to the object with `owner_uid`.
pub fn owned_by(obj: &Value, owner_uid: &str) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r.get("uid").and_then(Value::as_str) == Some(owner_uid)))
}

/// Read an integer at a JSON pointer, accepting integral floats.
pub fn int_at(obj: &Value, pointer: &str) -> Option<i64> {
    let v = obj.pointer(pointer)?;
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// Set or replace one condition (by `type`) in `status.conditions`, keeping
/// `lastTransitionTime` when the status did not change. Returns the new conditions array.
pub fn set_condition(status: &mut Value, ctype: &str, cstatus: &str, reason: &str, message: &str) {
    let now = now_rfc3339();
    if !status.is_object() {
        *status = json!({});
    }
    let conds =
        status.as_object_mut().map(|m| m.entry("conditions").or_insert_with(|| json!([]))).filter(|c| c.is_array());
    let Some(conds) = conds else {
        status["conditions"] = json!([]);
        return set_condition(status, ctype, cstatus, reason, message);
    };
    // Invariant: filtered to arrays above.
    let arr = conds.as_array_mut().expect("conditions is an array");
    if let Some(c) = arr.iter_mut().find(|c| c.get("type").and_then(Value::as_str) == Some(ctype)) {
        let changed = c.get("status").and_then(Value::as_str) != Some(cstatus);
        let ltt = if changed { json!(now) } else { c.get("lastTransitionTime").cloned().unwrap_or(json!(now)) };
        let lut = if changed { json!(now) } else { c.get("lastUpdateTime").cloned().unwrap_or(json!(now)) };
        let had_update = c.get("lastUpdateTime").is_some();
        *c = json!({ "type": ctype, "status": cstatus, "lastTransitionTime": ltt, "reason": reason, "message": message });
        if had_update {
            c["lastUpdateTime"] = lut;
        }
    } else {
        arr.push(json!({
            "type": ctype, "status": cstatus, "lastTransitionTime": now, "reason": reason, "message": message,
        }));
    }
}

/// Whether `status.conditions` holds `ctype` with status `True`.
pub fn condition_true(obj: &Value, ctype: &str) -> bool {
    obj.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| {
            c.get("type").and_then(Value::as_str) == Some(ctype)
                && c.get("status").and_then(Value::as_str) == Some("True")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_a_v4_uuid() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn conditions_keep_transition_time_when_unchanged() {
        let mut status = json!({});
        set_condition(&mut status, "Ready", "True", "R", "m");
        let t0 = status["conditions"][0]["lastTransitionTime"].clone();
        set_condition(&mut status, "Ready", "True", "R", "m2");
        assert_eq!(status["conditions"][0]["lastTransitionTime"], t0);
        assert_eq!(status["conditions"][0]["message"], "m2");
        assert!(condition_true(&json!({ "status": status }), "Ready"));
    }
}
