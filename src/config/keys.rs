//! Unknown keys: walk the parsed YAML against the JSON Schema generated from the file types, so
//! every unknown key is reported at once, with the nearest valid key suggested.

use serde_json::{Map, Value};

use super::problems::Problems;

/// Reports every key the schema does not know and removes it from `value`, so that typed
/// deserialization can go on to find the remaining problems.
pub fn strip_unknown_keys(schema: &Value, value: &mut Value, problems: &mut Problems) {
    walk(schema, schema, value, "", problems);
}

fn walk(root: &Value, schema: &Value, value: &mut Value, path: &str, problems: &mut Problems) {
    let schema = resolve(root, schema);
    // Option<T> and untagged enums: follow the branch that describes this kind of value.
    if let Some(branches) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
        if let Some(branches) = branches.as_array() {
            let wanted = json_type(value);
            if let Some(branch) = branches.iter().map(|b| resolve(root, b)).find(|b| accepts_type(b, wanted)) {
                walk(root, branch, value, path, problems);
            }
        }
        return;
    }
    match value {
        Value::Object(map) => walk_object(root, schema, map, path, problems),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(root, item_schema, item, &format!("{path}[{i}]"), problems);
                }
            }
        }
        _ => {}
    }
}

fn walk_object(root: &Value, schema: &Value, map: &mut Map<String, Value>, path: &str, problems: &mut Problems) {
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let mut unknown = Vec::new();
    for (key, child) in map.iter_mut() {
        let child_path = join(path, key);
        match (properties.and_then(|p| p.get(key)), additional) {
            (Some(child_schema), _) => walk(root, child_schema, child, &child_path, problems),
            (None, Some(Value::Bool(false))) => unknown.push(key.clone()),
            (None, Some(map_schema @ Value::Object(_))) => walk(root, map_schema, child, &child_path, problems),
            (None, _) => {}
        }
    }
    for key in unknown {
        map.remove(&key);
        let known: Vec<&str> = properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
        let fix = match nearest(&key, &known) {
            Some(k) => format!("did you mean `{}`?", join(path, k)),
            None if known.is_empty() => "remove it".to_string(),
            None => format!("remove it; valid keys here: {}", known.join(", ")),
        };
        problems.push(join(path, &key), "unknown key", fix);
    }
}

/// The schema's description of the field at `path` (`runtime.portRange`, `zones[1]`), on one line.
pub fn describe(schema: &Value, path: &str) -> Option<String> {
    let mut node = schema;
    for segment in path.split('.') {
        let key = segment.split('[').next().unwrap_or(segment);
        node = object_branch(schema, node).get("properties")?.get(key)?;
    }
    let description = object_branch(schema, node).get("description").or_else(|| node.get("description"))?;
    Some(description.as_str()?.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `node` resolved, and of an `Option<Struct>` (`anyOf: [{$ref}, {type: null}]`) the struct.
fn object_branch<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let node = resolve(root, node);
    node.get("anyOf")
        .and_then(Value::as_array)
        .and_then(|branches| branches.iter().map(|b| resolve(root, b)).find(|b| b.get("properties").is_some()))
        .unwrap_or(node)
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .map(|target| resolve(root, target))
            .unwrap_or(schema),
        None => schema,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn accepts_type(schema: &Value, wanted: &str) -> bool {
    let matches = |t: &str| t == wanted || (t == "number" && wanted == "integer");
    match schema.get("type") {
        Some(Value::String(t)) => matches(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(matches),
        // Constant or enum schemas (no "type") only describe scalars.
        _ => wanted != "object" && wanted != "array",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// The known key closest to `key`: same letters ignoring case and separators
/// (`machine_type` -> `machineType`), else a small edit distance.
pub fn nearest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let normalize = |s: &str| s.replace(['_', '-'], "").to_lowercase();
    let wanted = normalize(key);
    if let Some(k) = known.iter().find(|k| normalize(k) == wanted) {
        return Some(k);
    }
    known
        .iter()
        .map(|k| (strsim::levenshtein(&wanted, &normalize(k)), *k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_handles_case_separators_and_typos() {
        let known = ["machineType", "count", "maxNodes", "minNodes"];
        assert_eq!(nearest("machine_type", &known), Some("machineType"));
        assert_eq!(nearest("maxNode", &known), Some("maxNodes"));
        assert_eq!(nearest("cuont", &known), Some("count"));
        assert_eq!(nearest("zebra", &known), None);
    }
}
