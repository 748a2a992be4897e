//! The resource types a cluster serves: built-in kinds, established CRDs, aggregated APIs.

use std::sync::Arc;

use super::schema::Schema;

/// Every verb of a normal resource, in the order discovery lists them.
pub const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// One served resource (`group`/`version`/`plural`).
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub verbs: Vec<&'static str>,
    /// Has a `/status` subresource (status is then ignored on the main resource).
    pub status: bool,
    pub scale: Option<ScalePaths>,
    pub origin: Origin,
}

/// JSON pointers of a scale subresource (`.spec.replicas` -> `/spec/replicas`).
#[derive(Debug, Clone)]
pub struct ScalePaths {
    pub spec: String,
    pub status: String,
    pub selector: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Origin {
    Builtin,
    /// Served from a CustomResourceDefinition; the schema of this version, compiled.
    Crd {
        crd: String,
        schema: Option<Arc<Schema>>,
    },
    /// Served by an aggregated API server (an APIService), implemented by the emulator.
    Aggregated,
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Storage key and what messages call it: `deployments.apps`, `pods`.
    pub fn gr(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    pub fn is_crd(&self) -> bool {
        matches!(self.origin, Origin::Crd { .. })
    }

    pub fn schema(&self) -> Option<&Arc<Schema>> {
        match &self.origin {
            Origin::Crd { schema, .. } => schema.as_ref(),
            _ => None,
        }
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// Whether a change outside `metadata` (and `status`, when it is a subresource) bumps
    /// `metadata.generation`. Kinds without a spec (ConfigMap, Secret...) keep generation unset.
    pub fn tracks_generation(&self) -> bool {
        if self.is_crd() {
            return true;
        }
        !matches!(
            self.kind.as_str(),
            "ConfigMap"
                | "Secret"
                | "ServiceAccount"
                | "Event"
                | "Endpoints"
                | "Role"
                | "ClusterRole"
                | "RoleBinding"
                | "ClusterRoleBinding"
                | "Node"
                | "Namespace"
                | "Pod"
                | "Service"
                | "PersistentVolume"
                | "PersistentVolumeClaim"
        )
    }
}

/// Built-in kinds: (group, version, kind, plural, namespaced, short names, status, scale).
type Row = (&'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str], bool, bool);

const BUILTIN: &[Row] = &[
    ("", "v1", "Namespace", "namespaces", false, &["ns"], true, false),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"], false, false),
    ("", "v1", "Secret", "secrets", true, &[], false, false),
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"], false, false),
    ("", "v1", "Service", "services", true, &["svc"], true, false),
    ("", "v1", "Pod", "pods", true, &["po"], true, false),
    ("", "v1", "Node", "nodes", false, &["no"], true, false),
    ("", "v1", "Event", "events", true, &["ev"], false, false),
    ("", "v1", "PersistentVolume", "persistentvolumes", false, &["pv"], true, false),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, &["pvc"], true, false),
    ("", "v1", "Endpoints", "endpoints", true, &["ep"], false, false),
    ("", "v1", "ResourceQuota", "resourcequotas", true, &["quota"], true, false),
    ("", "v1", "LimitRange", "limitranges", true, &["limits"], false, false),
    ("apps", "v1", "Deployment", "deployments", true, &["deploy"], true, true),
    ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"], true, false),
    ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"], true, true),
    ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"], true, true),
    ("batch", "v1", "Job", "jobs", true, &[], true, false),
    ("batch", "v1", "CronJob", "cronjobs", true, &["cj"], true, false),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", true, &[], false, false),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, &[], false, false),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, &[], false, false),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, &[], false, false),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true, &["ing"], true, false),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, &[], false, false),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, &["netpol"], false, false),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, &["pdb"], true, false),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, &["pc"], false, false),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        true,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        &[],
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
        &[],
        false,
        false,
    ),
    ("apiregistration.k8s.io", "v1", "APIService", "apiservices", false, &[], true, false),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, &["sc"], false, false),
    ("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false, &[], false, false),
    ("coordination.k8s.io", "v1", "Lease", "leases", true, &[], false, false),
];

/// Kinds of built-in groups that only take `create` (reviews): answered, never stored.
const REVIEWS: &[(&str, &str, &str, &str, bool)] = &[
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false),
    ("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", false),
];

/// The set of types a cluster serves right now.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    types: Vec<Arc<ResourceType>>,
    builtin_len: usize,
}

impl Registry {
    /// Built-in kinds only (a fresh cluster before its GKE CRDs are established).
    pub fn builtin() -> Self {
        let mut types: Vec<Arc<ResourceType>> = BUILTIN
            .iter()
            .map(|&(group, version, kind, plural, namespaced, short, status, scale)| {
                Arc::new(ResourceType {
                    group: group.into(),
                    version: version.into(),
                    kind: kind.into(),
                    plural: plural.into(),
                    singular: kind.to_lowercase(),
                    namespaced,
                    short_names: short.iter().map(|s| s.to_string()).collect(),
                    categories: categories(kind),
                    verbs: ALL_VERBS.to_vec(),
                    status,
                    scale: scale.then(|| ScalePaths {
                        spec: "/spec/replicas".into(),
                        status: "/status/replicas".into(),
                        selector: Some("/status/selector".into()),
                    }),
                    origin: Origin::Builtin,
                })
            })
            .collect();
        types.extend(REVIEWS.iter().map(|&(group, version, kind, plural, namespaced)| {
            Arc::new(ResourceType {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
                plural: plural.into(),
                singular: kind.to_lowercase(),
                namespaced,
                short_names: vec![],
                categories: vec![],
                verbs: vec!["create"],
                status: false,
                scale: None,
                origin: Origin::Builtin,
            })
        }));
        let builtin_len = types.len();
        Self { types, builtin_len }
    }

    /// Replace the CRD-served and aggregated types.
    pub fn set_dynamic(&mut self, dynamic: Vec<Arc<ResourceType>>) {
        self.types.truncate(self.builtin_len);
        self.types.extend(dynamic);
    }

    pub fn all(&self) -> &[Arc<ResourceType>] {
        &self.types
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.types.iter().find(|t| t.group == group && t.version == version && t.plural == plural).cloned()
    }

    /// Any served version of `group`/`kind` (its storage key is the same for every version).
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.types.iter().find(|t| t.group == group && t.kind == kind).cloned()
    }

    /// Served groups in discovery order (core excluded), each with its versions.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in &self.types {
            if t.group.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) if !versions.contains(&t.version) => versions.push(t.version.clone()),
                Some(_) => {}
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        for (_, versions) in &mut out {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    /// Types of one group version.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.types.iter().filter(|t| t.group == group && t.version == version).cloned().collect()
    }
}

fn categories(kind: &str) -> Vec<String> {
    match kind {
        "Pod" | "Service" | "Deployment" | "DaemonSet" | "ReplicaSet" | "StatefulSet" | "Job" | "CronJob" => {
            vec!["all".into()]
        }
        _ => vec![],
    }
}

/// Kubernetes version ordering: GA > beta > alpha, then by number (`v2` > `v1` > `v1beta2`).
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let rest = v.strip_prefix('v').unwrap_or(v);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    let (stability, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stability, major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_builtin_kinds() {
        let r = Registry::builtin();
        let d = r.find("apps", "v1", "deployments").unwrap();
        assert_eq!(d.kind, "Deployment");
        assert_eq!(d.gr(), "deployments.apps");
        assert_eq!(r.find("", "v1", "pods").unwrap().api_version(), "v1");
        assert!(r.find("apps", "v1beta1", "deployments").is_none());
    }

    #[test]
    fn versions_sort_ga_first() {
        let mut v = vec!["v1beta1", "v2", "v1", "v1alpha1"];
        v.sort_by_key(|x| std::cmp::Reverse(version_priority(x)));
        assert_eq!(v, ["v2", "v1", "v1beta1", "v1alpha1"]);
    }
}
