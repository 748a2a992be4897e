//! Agones' admission webhooks (`/mutate`, `/validate` of `agones-controller-service`):
//! defaults of GameServers, Fleets and FleetAutoscalers, and the rules Agones enforces
//! (pkg/apis/agones/v1/gameserver.go, fleet.go, autoscaling/v1/fleetautoscaler.go @ 1.60).

use serde_json::{Value, json};

use crate::k8s::admission::Op;
use crate::k8s::defaults::{add_finalizer, set_default};
use crate::k8s::meta;
use crate::k8s::status::{ApiError, ApiResult, Cause};
use crate::k8s::types::ResourceType;

pub const SDK_VERSION: &str = "1.60.0";

pub const ERR_CONTAINER_REQUIRED: &str = "Container is required when using multiple containers in the pod template";
pub const ERR_HOST_PORT: &str = "HostPort cannot be specified with a Dynamic or Passthrough PortPolicy";
pub const ERR_CONTAINER_PORT_REQUIRED: &str = "ContainerPort must be defined for Dynamic and Static PortPolicies";
pub const ERR_CONTAINER_PORT_PASSTHROUGH: &str = "ContainerPort cannot be specified with Passthrough PortPolicy";
pub const ERR_CONTAINER_NAME_INVALID: &str = "Container must be empty or the name of a container in the pod template";

/// One webhook call on an Agones object.
pub fn webhook(rt: &ResourceType, obj: &mut Value, op: Op, path: &str) -> ApiResult<()> {
    match (path, rt.kind.as_str()) {
        ("/mutate", "GameServer") if op == Op::Create => mutate_game_server(obj),
        ("/mutate", "Fleet") if op == Op::Create => mutate_fleet(obj),
        ("/mutate", "FleetAutoscaler") => {
            set_default(obj, "/spec/sync", json!({"type": "FixedInterval", "fixedInterval": {"seconds": 30}}))
        }
        ("/validate", "GameServer") => return check(rt, obj, validate_game_server(obj)),
        ("/validate", "Fleet" | "GameServerSet") => return check(rt, obj, validate_fleet(obj)),
        ("/validate", "FleetAutoscaler") => return check(rt, obj, validate_fleet_autoscaler(obj)),
        _ => {}
    }
    Ok(())
}

fn check(rt: &ResourceType, obj: &Value, causes: Vec<Cause>) -> ApiResult<()> {
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid(&rt.group, &rt.kind, meta::name(obj), causes)) }
}

/// GameServer.ApplyDefaults: spec defaults, initial state, finalizer, SDK version annotation.
pub fn mutate_game_server(obj: &mut Value) {
    meta::set_annotation(obj, "agones.dev/sdk-version", SDK_VERSION);
    add_finalizer(obj, "agones.dev");
    if let Some(spec) = obj.get_mut("spec") {
        game_server_spec_defaults(spec);
    }
    let dynamic = obj.pointer("/spec/ports").and_then(Value::as_array).is_some_and(|ps| {
        ps.iter().any(|p| matches!(p.get("portPolicy").and_then(Value::as_str), Some("Dynamic" | "Passthrough")))
    });
    if obj.pointer("/status/state").and_then(Value::as_str).is_none_or(str::is_empty) {
        set_default(obj, "/status", json!({}));
        obj["status"]["state"] = json!(if dynamic { "PortAllocation" } else { "Creating" });
    }
    let eviction = obj.pointer("/spec/eviction").cloned().unwrap_or(json!({"safe": "Never"}));
    obj["status"]["eviction"] = eviction;
}

/// GameServerSpec.ApplyDefaults.
pub fn game_server_spec_defaults(spec: &mut Value) {
    let containers = spec.pointer("/template/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    if containers.len() == 1
        && let Some(n) = containers[0].get("name")
    {
        spec["container"] = n.clone();
    }
    let container = spec.get("container").cloned().unwrap_or(json!(""));
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            set_default(p, "/portPolicy", json!("Dynamic"));
            set_default(p, "/range", json!("default"));
            set_default(p, "/protocol", json!("UDP"));
            if p.get("container").and_then(Value::as_str).is_none_or(str::is_empty) {
                p["container"] = container.clone();
            }
        }
    }
    let disabled = spec.pointer("/health/disabled").and_then(Value::as_bool).unwrap_or(false);
    if !disabled {
        for (k, d) in [("periodSeconds", 5), ("failureThreshold", 3), ("initialDelaySeconds", 5)] {
            if meta::int_at(spec, &format!("/health/{k}")).is_none_or(|v| v <= 0) {
                super::super::api::set_pointer(spec, &format!("/health/{k}"), json!(d));
            }
        }
    }
    set_default(spec, "/eviction/safe", json!("Never"));
    set_default(spec, "/scheduling", json!("Packed"));
    set_default(spec, "/sdkServer/logLevel", json!("Info"));
    set_default(spec, "/sdkServer/grpcPort", json!(9357));
    set_default(spec, "/sdkServer/httpPort", json!(9358));
}

fn mutate_fleet(obj: &mut Value) {
    meta::set_annotation(obj, "agones.dev/sdk-version", SDK_VERSION);
    set_default(obj, "/spec/scheduling", json!("Packed"));
    set_default(obj, "/spec/strategy/type", json!("RollingUpdate"));
    if obj.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("RollingUpdate") {
        set_default(obj, "/spec/strategy/rollingUpdate/maxSurge", json!("25%"));
        set_default(obj, "/spec/strategy/rollingUpdate/maxUnavailable", json!("25%"));
    }
}

/// GameServerSpec.Validate at `path` (`spec` of a GameServer, `spec.template.spec` of a Fleet).
pub fn validate_game_server_spec(spec: &Value, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    let mut spec = spec.clone();
    game_server_spec_defaults(&mut spec);
    let containers: Vec<String> = spec
        .pointer("/template/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from)).collect())
        .unwrap_or_default();
    let container = spec.get("container").and_then(Value::as_str).unwrap_or("");
    if container.is_empty() && containers.len() > 1 {
        out.push(Cause::required(format!("{path}.container"), ERR_CONTAINER_REQUIRED));
    }
    if !containers.iter().any(|c| c == container) {
        out.push(Cause::invalid(
            format!("{path}.container"),
            &json!(container),
            &format!("Could not find a container named {container}"),
        ));
    }
    let mut names = Vec::new();
    for (i, p) in spec.get("ports").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let pp = format!("{path}.ports[{i}]");
        let policy = p.get("portPolicy").and_then(Value::as_str).unwrap_or("Dynamic");
        let container_port = meta::int_at(p, "/containerPort").unwrap_or(0);
        let host_port = meta::int_at(p, "/hostPort").unwrap_or(0);
        if !matches!(policy, "Dynamic" | "Static" | "Passthrough" | "None") {
            out.push(Cause::not_supported(
                format!("{pp}.portPolicy"),
                &json!(policy),
                &[json!("Dynamic"), json!("Static"), json!("Passthrough"), json!("None")],
            ));
        }
        if matches!(policy, "Dynamic" | "Static") && container_port <= 0 {
            out.push(Cause::required(format!("{pp}.containerPort"), ERR_CONTAINER_PORT_REQUIRED));
        }
        if policy == "Passthrough" && container_port > 0 {
            out.push(Cause::required(format!("{pp}.containerPort"), ERR_CONTAINER_PORT_PASSTHROUGH));
        }
        if host_port > 0 && matches!(policy, "Dynamic" | "Passthrough") {
            out.push(Cause::forbidden(format!("{pp}.hostPort"), ERR_HOST_PORT));
        }
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("UDP");
        if !matches!(proto, "UDP" | "TCP" | "TCPUDP") {
            out.push(Cause::not_supported(
                format!("{pp}.protocol"),
                &json!(proto),
                &[json!("UDP"), json!("TCP"), json!("TCPUDP")],
            ));
        }
        if let Some(c) = p.get("container").and_then(Value::as_str)
            && !container.is_empty()
            && !containers.iter().any(|n| n == c)
        {
            out.push(Cause::invalid(format!("{pp}.container"), &json!(c), ERR_CONTAINER_NAME_INVALID));
        }
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        if names.contains(&name) {
            out.push(Cause::duplicate(format!("{pp}.name"), &json!(name)));
        }
        names.push(name);
    }
    crate::k8s::validate::labels(
        &format!("{path}.template.metadata.labels"),
        spec.pointer("/template/metadata/labels"),
        &mut out,
    );
    out
}

fn validate_game_server(obj: &Value) -> Vec<Cause> {
    let mut out = name_fits_label("metadata", obj);
    out.extend(validate_game_server_spec(obj.get("spec").unwrap_or(&Value::Null), "spec"));
    out
}

/// Fleet and GameServerSet names are label values of their GameServers.
fn name_fits_label(path: &str, obj: &Value) -> Vec<Cause> {
    let name = meta::name(obj);
    if name.len() > 63 {
        vec![Cause::invalid(format!("{path}.name"), &json!(name), "must be no more than 63 characters")]
    } else {
        Vec::new()
    }
}

fn validate_fleet(obj: &Value) -> Vec<Cause> {
    let mut out = name_fits_label("metadata", obj);
    if let Some(r) = meta::int_at(obj, "/spec/replicas")
        && r < 0
    {
        out.push(Cause::invalid("spec.replicas", &json!(r), "must be greater than or equal to 0"));
    }
    for k in ["maxSurge", "maxUnavailable"] {
        if let Some(v) = obj.pointer(&format!("/spec/strategy/rollingUpdate/{k}"))
            && !int_or_percent(v)
        {
            out.push(Cause::invalid(
                format!("spec.strategy.rollingUpdate.{k}"),
                v,
                "must be an integer or a percentage",
            ));
        }
    }
    out.extend(validate_game_server_spec(
        obj.pointer("/spec/template/spec").unwrap_or(&Value::Null),
        "spec.template.spec",
    ));
    out
}

fn int_or_percent(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_i64().is_some_and(|i| i >= 0),
        Value::String(s) => s.strip_suffix('%').is_some_and(|p| p.parse::<u32>().is_ok()),
        _ => false,
    }
}

/// FleetAutoscaler.Validate for the Buffer policy (the one sdctl uses).
pub fn validate_fleet_autoscaler(obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    if obj.pointer("/spec/fleetName").and_then(Value::as_str).is_none_or(str::is_empty) {
        out.push(Cause::required("spec.fleetName", ""));
    }
    if obj.pointer("/spec/policy/type").and_then(Value::as_str) == Some("Buffer") {
        out.extend(validate_buffer(obj.pointer("/spec/policy/buffer")));
    }
    if let Some(s) = meta::int_at(obj, "/spec/sync/fixedInterval/seconds")
        && s <= 0
    {
        out.push(Cause::invalid("spec.sync.fixedInterval.seconds", &json!(s), "must be greater than 0"));
    }
    out
}

fn validate_buffer(buffer: Option<&Value>) -> Vec<Cause> {
    let path = "spec.policy.buffer";
    let Some(b) = buffer else { return vec![Cause::required(path, "buffer policy config params are missing")] };
    let mut out = Vec::new();
    let min = meta::int_at(b, "/minReplicas").unwrap_or(0);
    let max = meta::int_at(b, "/maxReplicas").unwrap_or(0);
    if min > max {
        out.push(Cause::invalid(
            format!("{path}.minReplicas"),
            &json!(min),
            "minReplicas should be smaller than maxReplicas",
        ));
    }
    match b.get("bufferSize") {
        Some(Value::String(s)) => {
            let pct = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok());
            if pct.is_none_or(|p| !(1..=99).contains(&p)) {
                out.push(Cause::invalid(
                    format!("{path}.bufferSize"),
                    &json!(s),
                    "bufferSize should be between 1% and 99%",
                ));
            }
            if min < 1 {
                out.push(Cause::invalid(
                    format!("{path}.minReplicas"),
                    &json!(min),
                    "must be greater than or equal to 0",
                ));
            }
        }
        other => {
            let size = other.and_then(|v| meta::int_at(v, "")).unwrap_or(0);
            if size <= 0 {
                out.push(Cause::invalid(
                    format!("{path}.bufferSize"),
                    &json!(size),
                    "must be greater than or equal to 0",
                ));
            }
            if max < size {
                out.push(Cause::invalid(
                    format!("{path}.maxReplicas"),
                    &json!(max),
                    "maxReplicas should be bigger than or equal to bufferSize",
                ));
            }
            if min != 0 && min < size {
                out.push(Cause::invalid(
                    format!("{path}.minReplicas"),
                    &json!(min),
                    "minReplicas should be bigger than or equal to bufferSize",
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fas(buffer: Value) -> Value {
        json!({"spec": {"fleetName": "f", "policy": {"type": "Buffer", "buffer": buffer}}})
    }

    #[test]
    fn buffer_policy_rules() {
        assert!(
            validate_fleet_autoscaler(&fas(json!({"bufferSize": 1, "minReplicas": 1, "maxReplicas": 3}))).is_empty()
        );
        let e = validate_fleet_autoscaler(&fas(json!({"bufferSize": 0, "maxReplicas": 3})));
        assert_eq!(e[0].field, "spec.policy.buffer.bufferSize");
        let e = validate_fleet_autoscaler(&fas(json!({"bufferSize": 2, "minReplicas": 1, "maxReplicas": 3})));
        assert_eq!(
            e[0].message,
            "spec.policy.buffer.minReplicas: Invalid value: 1: minReplicas should be bigger than or equal to bufferSize"
        );
        let e = validate_fleet_autoscaler(&fas(json!({"bufferSize": 4, "maxReplicas": 3})));
        assert_eq!(e[0].field, "spec.policy.buffer.maxReplicas");
        let e = validate_fleet_autoscaler(&fas(json!({"bufferSize": "150%", "minReplicas": 1, "maxReplicas": 3})));
        assert_eq!(e[0].field, "spec.policy.buffer.bufferSize");
    }

    #[test]
    fn game_server_ports_and_containers() {
        let spec = json!({
            "ports": [{"name": "webui", "containerPort": 7860, "protocol": "TCP", "hostPort": 7000},
                      {"name": "webui", "containerPort": 1, "container": "nope"}],
            "template": {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
        });
        let fields: Vec<String> =
            validate_game_server_spec(&spec, "spec.template.spec").into_iter().map(|c| c.field).collect();
        assert!(fields.contains(&"spec.template.spec.container".to_string()), "{fields:?}");
        assert!(fields.contains(&"spec.template.spec.ports[0].hostPort".to_string()));
        assert!(fields.contains(&"spec.template.spec.ports[1].name".to_string()));
    }
}
