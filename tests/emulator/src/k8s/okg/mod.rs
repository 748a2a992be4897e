//! OpenKruise 1.9.0's and OpenKruiseGame 1.0.0's managers, simulated as far as installing them
//! goes (sources in FIDELITY.md, "OpenKruise and OpenKruiseGame"):
//!
//! - kruise's manager exits at start unless both of its webhook configurations exist
//!   (`configuration.Ensure` only reads them; `webhook.Initialize` times out and `main` exits).
//!   Once running, it keeps a snapshot of their webhooks in the annotation `template` (taken
//!   when the annotation is empty), rebuilds `webhooks` from it with its CA and its Service,
//!   drops the webhooks whose path it does not serve, fills in the CA of CRDs converted through
//!   its webhook, and keeps its certificates in Secret `kruise-webhook-certs`.
//! - kruise-game's manager does not start without its provider config (a missing ConfigMap
//!   volume keeps the pod from starting) or without kruise's StatefulSet and PodProbeMarker
//!   CRDs; when it starts, it creates (or overwrites the webhooks of) its own two webhook
//!   configurations, `failurePolicy: Fail`, with a CA of its own, once.
//!
//! Their admission webhooks are answered "allowed" (their checks are not simulated), but only
//! when their Service has ready endpoints and the configuration carries a CA, as the API server
//! needs. What their controllers do with GameServerSets is in [`sets`].

pub mod sets;

use serde_json::{Value, json};

use super::controllers::{create, put};
use super::meta;
use super::store::Store;

pub const KRUISE_NAMESPACE: &str = "kruise-system";
pub const GAME_NAMESPACE: &str = "kruise-game-system";
const KRUISE_MANAGER: &str = "kruise-controller-manager";
const GAME_MANAGER: &str = "kruise-game-controller-manager";
const KRUISE_CONFIGS: [(&str, &str); 2] = [
    ("mutatingwebhookconfigurations.admissionregistration.k8s.io", "kruise-mutating-webhook-configuration"),
    ("validatingwebhookconfigurations.admissionregistration.k8s.io", "kruise-validating-webhook-configuration"),
];
const CRDS: &str = "customresourcedefinitions.apiextensions.k8s.io";
/// The managers' self-made CAs (any non-empty bundle passes the emulator's TLS check).
const KRUISE_CA: &str = "a3J1aXNlLXdlYmhvb2stY2E=";
const GAME_CA: &str = "d2ViaG9vay1jZXJ0LWNh";

/// What the managers decided at their start, per running Deployment generation (a stopped one
/// forgets).
#[derive(Default)]
pub struct Started {
    /// kruise's manager (Deployment uid): whether it found SidecarSet and PodUnavailableBudget
    /// served, which decides whether it serves its pod webhooks (`add_pod.go`).
    kruise: Option<(String, bool, bool)>,
    /// kruise-game's manager (Deployment uid): it writes its webhook configurations once, at
    /// start (`main.go` calls `webhook.Initialize` before `mgr.Start`; nothing watches them).
    game: Option<String>,
}

/// Paths kruise 1.9.0 serves with its default feature gates (`pkg/webhook/*/webhooks.go`,
/// `add_*.go`): not `/validate-service` nor `/validate-ingress` (ResourcesDeletionProtection
/// off); the pod paths only when SidecarSet / PodUnavailableBudget were served at its start.
fn kruise_serves(started: &Started, path: &str) -> bool {
    let (_, sidecar_sets, budgets) = started.kruise.clone().unwrap_or_default();
    match path {
        "/validate-service" | "/validate-ingress" => false,
        "/mutate-pod" => sidecar_sets,
        "/validate-pod" => budgets,
        _ => true,
    }
}

fn established(st: &Store, crd: &str) -> bool {
    st.get(CRDS, "", crd).is_some_and(|c| meta::condition_true(&c, "Established"))
}

/// Why a manager Deployment's pods crash at start (`None`: they run), for the workloads
/// controller.
pub fn crash(st: &Store, deployment: &Value) -> Option<String> {
    match (meta::namespace(deployment), meta::name(deployment)) {
        (KRUISE_NAMESPACE, KRUISE_MANAGER) => KRUISE_CONFIGS
            .iter()
            .find(|(gr, name)| st.get(gr, "", name).is_none())
            .map(|(_, name)| format!("failed to initialize webhook: not found {name}")),
        (GAME_NAMESPACE, GAME_MANAGER) => {
            let config = st.get("configmaps", GAME_NAMESPACE, "kruise-game-manager-config");
            if config.as_ref().and_then(|c| c.pointer("/data/config.toml")).is_none() {
                return Some("failed to read provider config /etc/kruise-game/config.toml".into());
            }
            ["statefulsets.apps.kruise.io", "podprobemarkers.apps.kruise.io"]
                .into_iter()
                .find(|crd| !established(st, crd))
                .map(|crd| format!("no matches for kind of {crd}: the CRD must be installed before the manager starts"))
        }
        _ => None,
    }
}

/// The manager Deployment's uid and generation (a new generation is a new process) when it has
/// an available replica.
fn running(st: &Store, ns: &str, name: &str) -> Option<String> {
    let d = st.get("deployments.apps", ns, name)?;
    (meta::int_at(&d, "/status/availableReplicas").unwrap_or(0) > 0)
        .then(|| format!("{}/{}", meta::uid(&d), meta::generation(&d)))
}

pub fn reconcile(st: &mut Store, started: &mut Started) {
    let kruise = running(st, KRUISE_NAMESPACE, KRUISE_MANAGER);
    match &kruise {
        Some(uid) => {
            if started.kruise.as_ref().is_none_or(|(u, _, _)| u != uid) {
                let sidecar_sets = established(st, "sidecarsets.apps.kruise.io");
                let budgets = established(st, "podunavailablebudgets.policy.kruise.io");
                started.kruise = Some((uid.clone(), sidecar_sets, budgets));
            }
            kruise_webhooks(st, started);
            kruise_conversion(st);
            kruise_certs(st);
        }
        None => started.kruise = None,
    }
    let game = running(st, GAME_NAMESPACE, GAME_MANAGER);
    match &game {
        Some(uid) if started.game.as_ref() != Some(uid) => {
            game_webhooks(st);
            started.game = Some(uid.clone());
        }
        Some(_) => {}
        None => started.game = None,
    }
    sets::reconcile(st, game.is_some(), kruise.is_some());
}

/// `pkg/webhook/util/configuration/configuration.go` `Ensure`.
fn kruise_webhooks(st: &mut Store, started: &Started) {
    for (gr, name) in KRUISE_CONFIGS {
        let Some(cfg) = st.get(gr, "", name) else { continue };
        let mut next = (*cfg).clone();
        let snapshot = meta::annotation(&cfg, "template").unwrap_or("").to_string();
        let template: Vec<Value> = if snapshot.is_empty() {
            let hooks = cfg.get("webhooks").cloned().unwrap_or(json!([]));
            meta::set_annotation(&mut next, "template", &hooks.to_string());
            hooks.as_array().cloned().unwrap_or_default()
        } else {
            serde_json::from_str(&snapshot).unwrap_or_default()
        };
        let mut hooks = Vec::new();
        for mut hook in template {
            let path = hook.pointer("/clientConfig/service/path").and_then(Value::as_str).unwrap_or("").to_string();
            if !kruise_serves(started, &path) {
                continue;
            }
            hook["clientConfig"]["caBundle"] = json!(KRUISE_CA);
            if hook.pointer("/clientConfig/service").is_some() {
                hook["clientConfig"]["service"]["namespace"] = json!(KRUISE_NAMESPACE);
                hook["clientConfig"]["service"]["name"] = json!("kruise-webhook-service");
            }
            hooks.push(hook);
        }
        next["webhooks"] = json!(hooks);
        if next != *cfg {
            let _ = put(st, next, "kruise-manager");
        }
    }
}

/// `pkg/webhook/util/crd/crd.go`: only CRDs already converted through a webhook.
fn kruise_conversion(st: &mut Store) {
    for crd in st.list(CRDS, None) {
        let group = meta::str_at(&crd, "/spec/group").unwrap_or("");
        let webhook = meta::str_at(&crd, "/spec/conversion/strategy") == Some("Webhook");
        if !webhook || !(group == "apps.kruise.io" || group == "policy.kruise.io") {
            continue;
        }
        let mut next = (*crd).clone();
        next["spec"]["conversion"]["webhook"] = json!({
            "clientConfig": {
                "caBundle": KRUISE_CA,
                "service": {"namespace": KRUISE_NAMESPACE, "name": "kruise-webhook-service", "path": "/convert", "port": 443},
            },
            "conversionReviewVersions": ["v1", "v1beta1"],
        });
        if next != *crd {
            let _ = put(st, next, "kruise-manager");
        }
    }
}

/// `pkg/webhook/util/writer/secret.go`: made when missing, filled when empty.
fn kruise_certs(st: &mut Store) {
    let data = json!({"ca-cert.pem": KRUISE_CA, "tls.crt": KRUISE_CA, "tls.key": KRUISE_CA});
    match st.get("secrets", KRUISE_NAMESPACE, "kruise-webhook-certs") {
        None => {
            let secret = json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "kruise-webhook-certs", "namespace": KRUISE_NAMESPACE},
                "data": data,
            });
            let _ = create(st, secret, "kruise-manager");
        }
        Some(s) if s.get("data").and_then(Value::as_object).is_none_or(|d| d.is_empty()) => {
            let mut next = (*s).clone();
            next["data"] = data;
            let _ = put(st, next, "kruise-manager");
        }
        Some(_) => {}
    }
}

/// kruise-game `pkg/webhook/webhook.go` `checkValidatingConfiguration` /
/// `checkMutatingConfiguration` with `getValidatingWebhookConf` / `getMutatingWebhookConf`.
fn game_webhooks(st: &mut Store) {
    let service = |path: &str| json!({"caBundle": GAME_CA, "service": {"namespace": GAME_NAMESPACE, "name": "kruise-game-webhook-service", "path": path}});
    let configs = [
        (
            "validatingwebhookconfigurations.admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            "kruise-game-validating-webhook",
            json!([{
                "name": "vgameserverset.kb.io",
                "admissionReviewVersions": ["v1", "v1beta1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "clientConfig": service("/validate-v1alpha1-gss"),
                "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["game.kruise.io"], "apiVersions": ["v1alpha1"], "resources": ["gameserversets"]}],
            }]),
        ),
        (
            "mutatingwebhookconfigurations.admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
            "kruise-game-mutating-webhook",
            json!([{
                "name": "mgameserverset.kb.io",
                "admissionReviewVersions": ["v1", "v1beta1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "clientConfig": service("/mutate-v1-pod"),
                "rules": [{"operations": ["CREATE", "UPDATE", "DELETE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                "objectSelector": {"matchExpressions": [{"key": "game.kruise.io/owner-gss", "operator": "Exists"}]},
            }]),
        ),
    ];
    for (gr, kind, name, webhooks) in configs {
        match st.get(gr, "", name) {
            None => {
                let obj = json!({
                    "apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                    "metadata": {"name": name}, "webhooks": webhooks,
                });
                let _ = create(st, obj, "kruise-game-manager");
            }
            Some(cfg) => {
                // An existing configuration gets its `webhooks` replaced wholesale.
                let mut next = (*cfg).clone();
                next["webhooks"] = webhooks;
                let _ = put(st, next, "kruise-game-manager");
            }
        }
    }
}
