//! Strategic merge patch for built-in kinds: lists with a merge key merge item by item,
//! `$patch: delete|replace` directives, null deletes a field. The common cases kubectl and
//! kube-rs send; `$setElementOrder` and `$retainKeys` are accepted and ignored.

use serde_json::Value;

use super::fields::Shape;
use super::schema::ListType;

pub fn merge(target: &mut Value, patch: &Value, shape: &Shape<'_>) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            if p.get("$patch").and_then(Value::as_str) == Some("replace") {
                let mut p = p.clone();
                p.remove("$patch");
                *t = p;
                return;
            }
            for (k, pv) in p {
                if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
                    continue;
                }
                if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
                    if let (Some(list), Some(del)) = (t.get_mut(field).and_then(Value::as_array_mut), pv.as_array()) {
                        list.retain(|x| !del.contains(x));
                    }
                    continue;
                }
                if pv.is_null() {
                    t.remove(k);
                    continue;
                }
                let child = shape.field(k);
                match t.get_mut(k) {
                    Some(tv) if tv.is_object() && pv.is_object() => merge(tv, pv, &child),
                    Some(tv) if tv.is_array() && pv.is_array() => merge_list(tv, pv, &child),
                    _ => {
                        t.insert(k.clone(), clean(pv));
                    }
                }
            }
        }
        (t, p) => *t = clean(p),
    }
}

fn merge_list(target: &mut Value, patch: &Value, shape: &Shape<'_>) {
    let (Some(t), Some(p)) = (target.as_array_mut(), patch.as_array()) else { return };
    match shape.list_type() {
        ListType::Map(keys) => {
            let key = keys.first().cloned().unwrap_or_default();
            let item_shape = shape.item();
            for pi in p {
                let k = pi.get(&key);
                let pos = t.iter().position(|ti| k.is_some() && ti.get(&key) == k);
                match pi.get("$patch").and_then(Value::as_str) {
                    Some("delete") => {
                        if let Some(i) = pos {
                            t.remove(i);
                        }
                    }
                    _ => match pos {
                        Some(i) => merge(&mut t[i], pi, &item_shape),
                        None => t.push(clean(pi)),
                    },
                }
            }
        }
        ListType::Set => {
            for pi in p {
                if !t.contains(pi) {
                    t.push(pi.clone());
                }
            }
        }
        ListType::Atomic => *t = p.iter().map(clean).collect(),
    }
}

/// Drop directives and nulls from a value inserted as a whole.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(k, v)| !k.starts_with('$') && !v.is_null()).map(|(k, v)| (k.clone(), clean(v))).collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(clean).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}}});
        let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}, {"name": "a", "$patch": "delete"}]}}}});
        merge(&mut d, &p, &Shape::for_kind("Deployment", None));
        assert_eq!(d["spec"]["template"]["spec"]["containers"], json!([{"name": "b", "image": "2"}]));
    }

    #[test]
    fn null_deletes_and_finalizers_union() {
        let mut d = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]}});
        merge(
            &mut d,
            &json!({"metadata": {"labels": {"a": null}, "finalizers": ["y"]}}),
            &Shape::for_kind("ConfigMap", None),
        );
        assert_eq!(d, json!({"metadata": {"labels": {"b": "2"}, "finalizers": ["x", "y"]}}));
    }
}
