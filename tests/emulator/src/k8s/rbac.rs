//! Role-based access control, evaluated for the identities the emulator's own controllers act
//! as (the Agones SDK sidecar of a GameServer pod) and for callers with a service account's
//! test token (`serviceaccount:NS:NAME`); any other bearer token is the cluster admin (GKE maps
//! the caller's Google identity to IAM, which sdctl's callers hold). Rules as Kubernetes evaluates them
//! (kubernetes.io/docs/reference/access-authn-authz/rbac): a ServiceAccount is reached by a
//! binding's subject `ServiceAccount` (name, namespace), `User system:serviceaccount:NS:NAME`,
//! or the groups `system:serviceaccounts` and `system:serviceaccounts:NS`; RoleBindings grant
//! in their namespace, ClusterRoleBindings everywhere; `*` matches any group, resource or verb.

use serde_json::Value;

use super::meta;
use super::store::Store;

/// Whether service account `namespace/name` may `verb` `resource` of API `group` in `namespace`
/// (any object of it: rules naming `resourceNames` do not count).
pub fn allows(st: &Store, namespace: &str, account: &str, group: &str, resource: &str, verb: &str) -> bool {
    allows_in(st, namespace, account, namespace, Request { group, resource, name: None, verb })
}

/// A request's attributes as the API server authorizes it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub group: &'a str,
    /// `pods`, or with a subresource `pods/status`.
    pub resource: &'a str,
    pub name: Option<&'a str>,
    pub verb: &'a str,
}

/// Whether service account `sa_namespace/account` may make `request` in `namespace` ("" for
/// cluster-scoped resources and requests across namespaces, which only ClusterRoleBindings grant).
pub fn allows_in(st: &Store, sa_namespace: &str, account: &str, namespace: &str, request: Request<'_>) -> bool {
    let Request { group, resource, name, verb } = request;
    let bound = |binding: &Value| {
        binding["subjects"].as_array().into_iter().flatten().any(|s| match s["kind"].as_str() {
            Some("ServiceAccount") => {
                s["name"] == account && s["namespace"].as_str().unwrap_or(meta::namespace(binding)) == sa_namespace
            }
            Some("User") => s["name"] == format!("system:serviceaccount:{sa_namespace}:{account}").as_str(),
            Some("Group") => {
                s["name"] == "system:serviceaccounts"
                    || s["name"] == format!("system:serviceaccounts:{sa_namespace}").as_str()
            }
            _ => false,
        })
    };
    let grants = |binding: &Value| {
        let role = &binding["roleRef"];
        let role_name = role["name"].as_str().unwrap_or_default();
        let found = match role["kind"].as_str() {
            Some("ClusterRole") => st.get("clusterroles.rbac.authorization.k8s.io", "", role_name),
            Some("Role") => st.get("roles.rbac.authorization.k8s.io", meta::namespace(binding), role_name),
            _ => None,
        };
        found.is_some_and(|r| rules_allow(&r, group, resource, name, verb))
    };
    let role_bindings = if namespace.is_empty() {
        Vec::new()
    } else {
        st.list("rolebindings.rbac.authorization.k8s.io", Some(namespace))
    };
    role_bindings
        .iter()
        .chain(st.list("clusterrolebindings.rbac.authorization.k8s.io", None).iter())
        .any(|b| bound(b) && grants(b))
}

/// A rule naming `resourceNames` matches only requests for one of those objects (never a
/// create, list, watch or deletecollection, which name none).
fn rules_allow(role: &Value, group: &str, resource: &str, name: Option<&str>, verb: &str) -> bool {
    let has = |list: &Value, want: &str| list.as_array().into_iter().flatten().any(|v| v == want || v == "*");
    role["rules"].as_array().into_iter().flatten().any(|rule| {
        let names = rule["resourceNames"].as_array().filter(|n| !n.is_empty());
        let named = names.is_none_or(|n| name.is_some_and(|name| n.iter().any(|v| v == name)));
        has(&rule["apiGroups"], group) && has(&rule["resources"], resource) && has(&rule["verbs"], verb) && named
    })
}
