//! NetworkPolicy evaluation: would a connection from a pod (or an address outside the cluster)
//! to a pod (or an address) on a port be allowed? The emulator moves no packets; tests ask this
//! question (`Clusters::connect`, `GET /_emulator/connect/CLUSTER`) of the policies sdctl applied.
//!
//! Semantics of networking.k8s.io/v1 (kubernetes.io/docs/concepts/services-networking/network-policies):
//! - a pod is isolated for ingress (egress) when a policy in its namespace selects it and lists
//!   `Ingress` (`Egress`) in `policyTypes` (default: `Ingress`, plus `Egress` when the policy has
//!   an `egress` section); an isolated pod admits only what some selecting policy's rule allows,
//!   and policies add up;
//! - a rule with no `from`/`to` matches every peer, with no `ports` every port; a peer is a
//!   `podSelector` (this namespace), a `namespaceSelector` (with an optional `podSelector`) or
//!   an `ipBlock` (`cidr` minus `except`); a port is a number or a named container port of the
//!   destination pod, with `protocol` (default TCP) and `endPort`;
//! - both ends must allow: the source's egress and the destination's ingress.
//!
//! Choices where Kubernetes leaves it to the implementation, made as Cilium (GKE Dataplane V2)
//! does them: `ipBlock` never matches a pod's own IP (pods are matched by their identity), and
//! nothing is enforced unless the cluster enforces policies at all.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use super::meta;
use super::selectors::LabelSelector;
use super::store::Store;

const POLICIES: &str = "networkpolicies.networking.k8s.io";

/// One end of a connection.
#[derive(Debug, Clone)]
pub enum Peer {
    /// A pod of the cluster (its namespace, labels, named ports).
    Pod(std::sync::Arc<Value>),
    /// An address that is not a pod's (outside the cluster, or the metadata server).
    Address(IpAddr),
}

impl Peer {
    /// `namespace/name` of a pod, or an IP address (a pod's IP names that pod).
    pub fn parse(st: &Store, text: &str) -> Result<Peer, String> {
        if let Some((ns, name)) = text.split_once('/') {
            return st.get("pods", ns, name).map(Peer::Pod).ok_or_else(|| format!("pod {ns}/{name} not found"));
        }
        let ip: IpAddr = text.parse().map_err(|_| format!("{text:?} is neither namespace/pod nor an IP address"))?;
        let owner = st.list("pods", None).into_iter().find(|p| {
            p.pointer("/status/podIPs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|i| i["ip"].as_str() == Some(text))
        });
        Ok(owner.map(Peer::Pod).unwrap_or(Peer::Address(ip)))
    }

    fn describe(&self) -> String {
        match self {
            Peer::Pod(p) => format!("pod {}/{}", meta::namespace(p), meta::name(p)),
            Peer::Address(ip) => ip.to_string(),
        }
    }
}

/// Allowed, or why not (which policy side refused).
pub fn connect(st: &Store, from: &Peer, to: &Peer, port: u16, protocol: &str) -> Result<(), String> {
    if let Peer::Pod(source) = from
        && !allowed(st, source, Direction::Egress, to, port, protocol, to)
    {
        return Err(format!(
            "egress from {} to {} {protocol}/{port} is not allowed by the NetworkPolicies selecting it",
            from.describe(),
            to.describe()
        ));
    }
    if let Peer::Pod(destination) = to
        && !allowed(st, destination, Direction::Ingress, from, port, protocol, to)
    {
        return Err(format!(
            "ingress to {} {protocol}/{port} from {} is not allowed by the NetworkPolicies selecting it",
            to.describe(),
            from.describe()
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn key(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    fn peers_key(self) -> &'static str {
        match self {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
}

/// Whether `pod` (isolated or not in `direction`) lets traffic with `other` through;
/// `destination` resolves named ports.
fn allowed(
    st: &Store,
    pod: &Value,
    direction: Direction,
    other: &Peer,
    port: u16,
    protocol: &str,
    destination: &Peer,
) -> bool {
    let selecting: Vec<_> = st
        .list(POLICIES, Some(meta::namespace(pod)))
        .into_iter()
        .filter(|p| !meta::is_deleting(p))
        .filter(|p| LabelSelector::from_object(p.pointer("/spec/podSelector")).matches(&meta::labels(pod)))
        .filter(|p| policy_types(p).contains(&direction.type_name()))
        .collect();
    if selecting.is_empty() {
        return true;
    }
    selecting.iter().any(|policy| {
        policy.pointer(&format!("/spec/{}", direction.key())).and_then(Value::as_array).into_iter().flatten().any(
            |rule| {
                peers_match(st, meta::namespace(policy), rule.get(direction.peers_key()), other)
                    && ports_match(rule.get("ports"), port, protocol, destination)
            },
        )
    })
}

/// `spec.policyTypes`, or its default.
fn policy_types(policy: &Value) -> Vec<&str> {
    match policy.pointer("/spec/policyTypes").and_then(Value::as_array) {
        Some(types) if !types.is_empty() => types.iter().filter_map(Value::as_str).collect(),
        _ => {
            let mut types = vec!["Ingress"];
            if policy.pointer("/spec/egress").is_some() {
                types.push("Egress");
            }
            types
        }
    }
}

fn peers_match(st: &Store, policy_ns: &str, peers: Option<&Value>, other: &Peer) -> bool {
    let Some(peers) = peers.and_then(Value::as_array).filter(|p| !p.is_empty()) else { return true };
    peers.iter().any(|peer| match other {
        Peer::Pod(pod) => pod_matches(st, policy_ns, peer, pod),
        Peer::Address(ip) => peer.get("ipBlock").is_some_and(|block| in_block(block, *ip)),
    })
}

fn pod_matches(st: &Store, policy_ns: &str, peer: &Value, pod: &Value) -> bool {
    let pods = peer.get("podSelector");
    let namespaces = peer.get("namespaceSelector");
    if peer.get("ipBlock").is_some() || (pods.is_none() && namespaces.is_none()) {
        return false;
    }
    let namespace_ok = match namespaces {
        None => meta::namespace(pod) == policy_ns,
        Some(selector) => st
            .get("namespaces", "", meta::namespace(pod))
            .is_some_and(|ns| LabelSelector::from_object(Some(selector)).matches(&meta::labels(&ns))),
    };
    namespace_ok && pods.is_none_or(|s| LabelSelector::from_object(Some(s)).matches(&meta::labels(pod)))
}

fn in_block(block: &Value, ip: IpAddr) -> bool {
    let inside = |cidr: &str| cidr_contains(cidr, ip);
    block.get("cidr").and_then(Value::as_str).is_some_and(inside)
        && !block.get("except").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).any(inside)
}

/// IPv4 CIDRs only (what sdctl writes); anything else contains nothing.
fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let (IpAddr::V4(ip), Some((base, bits))) = (ip, cidr.split_once('/')) else { return false };
    let (Ok(base), Ok(bits)) = (base.parse::<Ipv4Addr>(), bits.parse::<u32>()) else { return false };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from(ip) & mask == u32::from(base) & mask
}

fn ports_match(ports: Option<&Value>, port: u16, protocol: &str, destination: &Peer) -> bool {
    let Some(ports) = ports.and_then(Value::as_array).filter(|p| !p.is_empty()) else { return true };
    ports.iter().any(|p| {
        let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        if !proto.eq_ignore_ascii_case(protocol) {
            return false;
        }
        let wanted = match p.get("port") {
            None => return true,
            Some(Value::String(name)) => match named_port(destination, name) {
                Some(n) => n,
                None => return false,
            },
            Some(v) => v.as_i64().unwrap_or(-1),
        };
        let end = p.get("endPort").and_then(Value::as_i64).unwrap_or(wanted);
        (wanted..=end).contains(&(port as i64))
    })
}

fn named_port(destination: &Peer, name: &str) -> Option<i64> {
    let Peer::Pod(pod) = destination else { return None };
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| c.get("ports").and_then(Value::as_array).cloned().unwrap_or_default())
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| meta::int_at(&p, "/containerPort"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(st: &mut Store, ns: &str, name: &str, labels: Value, ip: &str) -> Peer {
        let p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
                       "spec": {"containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 7860}]}]},
                       "status": {"podIPs": [{"ip": ip}]}});
        Peer::Pod(st.insert("pods", p))
    }

    fn policy(st: &mut Store, ns: &str, spec: Value) {
        let n = st.list(POLICIES, None).len();
        st.insert(POLICIES, json!({"metadata": {"name": format!("p{n}"), "namespace": ns}, "spec": spec}));
    }

    #[test]
    fn kubernetes_semantics() {
        let mut st = Store::new();
        for ns in ["sd", "other"] {
            st.insert("namespaces", json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}}}));
        }
        let webui = pod(&mut st, "sd", "webui-1", json!({"app": "webui"}), "10.8.0.1");
        let neighbour = pod(&mut st, "sd", "webui-2", json!({"app": "webui"}), "10.8.0.2");
        let router = pod(&mut st, "sd", "router", json!({"app": "router"}), "10.8.0.3");
        let stranger = pod(&mut st, "other", "router", json!({"app": "router"}), "10.8.0.4");
        let outside = Peer::Address("203.0.113.7".parse().unwrap());
        // No policy: everything goes.
        assert!(connect(&st, &neighbour, &webui, 7860, "TCP").is_ok());
        policy(
            &mut st,
            "sd",
            json!({"podSelector": {"matchLabels": {"app": "webui"}}, "policyTypes": ["Ingress", "Egress"],
                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "router"}}}], "ports": [{"port": "web"}]}],
                   "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]},
                              {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "169.254.0.0/16"]}}]}]}),
        );
        assert!(connect(&st, &router, &webui, 7860, "TCP").is_ok());
        assert!(connect(&st, &router, &webui, 22, "TCP").is_err(), "only the named port");
        assert!(connect(&st, &router, &webui, 7860, "UDP").is_err(), "TCP by default");
        let err = connect(&st, &neighbour, &webui, 7860, "TCP").unwrap_err();
        assert!(err.contains("egress from pod sd/webui-2"), "the neighbour's own egress refuses first: {err}");
        assert!(connect(&st, &stranger, &webui, 7860, "TCP").unwrap_err().contains("ingress to pod sd/webui-1"));
        assert!(connect(&st, &outside, &webui, 7860, "TCP").is_err());
        assert!(connect(&st, &webui, &outside, 443, "TCP").is_ok());
        assert!(connect(&st, &webui, &Peer::Address("169.254.169.254".parse().unwrap()), 80, "TCP").is_err());
        assert!(connect(&st, &webui, &Peer::Address("10.128.0.9".parse().unwrap()), 6378, "TCP").is_err());
        assert!(connect(&st, &webui, &Peer::Address("10.128.0.9".parse().unwrap()), 53, "UDP").is_ok());
        // A pod's IP is never matched by an ipBlock (Cilium matches pods by identity): the
        // router is reached only because it selects nothing for ingress.
        assert!(connect(&st, &webui, &router, 8080, "TCP").is_err(), "10/8 excepted, and pods are not ipBlocks");
        // A namespace selector reaches across namespaces; policies add up.
        policy(
            &mut st,
            "sd",
            json!({"podSelector": {"matchLabels": {"app": "webui"}},
                   "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
                                          "podSelector": {"matchLabels": {"app": "router"}}}]}]}),
        );
        assert!(connect(&st, &stranger, &webui, 7860, "TCP").is_ok());
        assert!(connect(&st, &stranger, &webui, 22, "TCP").is_ok(), "no ports: every port");
        assert!(Peer::parse(&st, "10.8.0.2").is_ok_and(|p| matches!(p, Peer::Pod(_))), "a pod's IP names the pod");
        assert!(matches!(Peer::parse(&st, "198.51.100.1"), Ok(Peer::Address(_))));
        assert!(Peer::parse(&st, "sd/nope").is_err());
    }
}
