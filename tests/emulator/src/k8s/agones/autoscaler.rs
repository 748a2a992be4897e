//! FleetAutoscalers with the Buffer policy: every sync interval, the Fleet is scaled to
//! `allocated + bufferSize` (or the percentage form) within `[minReplicas, maxReplicas]`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{AUTOSCALERS, FLEETS, MANAGER};
use crate::k8s::cluster::Cluster;
use crate::k8s::controllers::{State, put};
use crate::k8s::meta;
use crate::k8s::store::Store;

pub fn reconcile(c: &Arc<Cluster>, st: &mut Store, s: &mut State) {
    for fa in st.list(AUTOSCALERS, None) {
        if meta::is_deleting(&fa) {
            continue;
        }
        let uid = meta::uid(&fa).to_string();
        let secs = meta::int_at(&fa, "/spec/sync/fixedInterval/seconds").unwrap_or(30).max(1) as u64;
        let interval = c.host.scaled(Duration::from_secs(secs));
        let now = Instant::now();
        if let Some(last) = s.fa_synced.get(&uid)
            && *last + interval > now
        {
            s.wake_at(*last + interval);
            continue;
        }
        s.fa_synced.insert(uid, now);
        s.wake_at(now + interval);
        sync(st, &fa);
    }
}

/// The replicas the Buffer policy asks for, and whether min/max capped it.
pub fn buffer_replicas(buffer: &Value, allocated: i64) -> (i64, bool) {
    let min = meta::int_at(buffer, "/minReplicas").unwrap_or(0);
    let max = meta::int_at(buffer, "/maxReplicas").unwrap_or(i64::MAX);
    let want = match buffer.get("bufferSize") {
        Some(Value::String(p)) => {
            let pct = p.trim_end_matches('%').parse::<i64>().unwrap_or(0).clamp(0, 99);
            ((allocated * 100) as f64 / (100 - pct) as f64).ceil() as i64
        }
        other => allocated + other.and_then(|v| meta::int_at(v, "")).unwrap_or(0),
    };
    if want < min {
        (min, true)
    } else if want > max {
        (max, true)
    } else {
        (want, false)
    }
}

fn sync(st: &mut Store, fa: &Value) {
    let ns = meta::namespace(fa);
    let fleet_name = meta::str_at(fa, "/spec/fleetName").unwrap_or("");
    let mut next = fa.clone();
    let Some(fleet) = st.get(FLEETS, ns, fleet_name) else {
        next["status"] = json!({"currentReplicas": 0, "desiredReplicas": 0, "ableToScale": false, "scalingLimited": false,
                                "lastScaleTime": fa.pointer("/status/lastScaleTime").cloned().unwrap_or(Value::Null)});
        if next != *fa {
            let _ = put(st, next, MANAGER);
        }
        return;
    };
    let allocated = meta::int_at(&fleet, "/status/allocatedReplicas").unwrap_or(0)
        + meta::int_at(&fleet, "/status/reservedReplicas").unwrap_or(0);
    let (desired, limited) = match (meta::str_at(fa, "/spec/policy/type"), fa.pointer("/spec/policy/buffer")) {
        (Some("Buffer"), Some(b)) => buffer_replicas(b, allocated),
        _ => (meta::int_at(&fleet, "/spec/replicas").unwrap_or(0), false),
    };
    let mut last_scale = fa.pointer("/status/lastScaleTime").cloned().unwrap_or(Value::Null);
    if meta::int_at(&fleet, "/spec/replicas") != Some(desired) {
        let mut f = (*fleet).clone();
        f["spec"]["replicas"] = json!(desired);
        if put(st, f, MANAGER).is_ok() {
            last_scale = json!(meta::now_rfc3339());
        }
    }
    next["status"] = json!({
        "currentReplicas": meta::int_at(&fleet, "/status/replicas").unwrap_or(0),
        "desiredReplicas": desired,
        "lastScaleTime": last_scale,
        "ableToScale": true,
        "scalingLimited": limited,
    });
    if next != *fa {
        let _ = put(st, next, MANAGER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_keeps_spare_game_servers_within_bounds() {
        let b = json!({"bufferSize": 1, "minReplicas": 1, "maxReplicas": 3});
        assert_eq!(buffer_replicas(&b, 0), (1, false));
        assert_eq!(buffer_replicas(&b, 2), (3, false));
        assert_eq!(buffer_replicas(&b, 3), (3, true));
        let p = json!({"bufferSize": "50%", "minReplicas": 1, "maxReplicas": 10});
        assert_eq!(buffer_replicas(&p, 2), (4, false));
    }
}
