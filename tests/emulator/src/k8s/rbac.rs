//! Role-based access control, evaluated for the identities the emulator's own controllers act
//! as (the Agones SDK sidecar of a GameServer pod). The API server itself authorizes every
//! caller (any bearer token is the cluster admin here). Rules as Kubernetes evaluates them
//! (kubernetes.io/docs/reference/access-authn-authz/rbac): a ServiceAccount is reached by a
//! binding's subject `ServiceAccount` (name, namespace), `User system:serviceaccount:NS:NAME`,
//! or the groups `system:serviceaccounts` and `system:serviceaccounts:NS`; RoleBindings grant
//! in their namespace, ClusterRoleBindings everywhere; `*` matches any group, resource or verb.

use serde_json::Value;

use super::meta;
use super::store::Store;

/// Whether service account `namespace/name` may `verb` `resource` of API `group` in `namespace`.
pub fn allows(st: &Store, namespace: &str, account: &str, group: &str, resource: &str, verb: &str) -> bool {
    let bound = |binding: &Value| {
        binding["subjects"].as_array().into_iter().flatten().any(|s| match s["kind"].as_str() {
            Some("ServiceAccount") => {
                s["name"] == account && s["namespace"].as_str().unwrap_or(meta::namespace(binding)) == namespace
            }
            Some("User") => s["name"] == format!("system:serviceaccount:{namespace}:{account}").as_str(),
            Some("Group") => {
                s["name"] == "system:serviceaccounts"
                    || s["name"] == format!("system:serviceaccounts:{namespace}").as_str()
            }
            _ => false,
        })
    };
    let grants = |binding: &Value| {
        let role = &binding["roleRef"];
        let name = role["name"].as_str().unwrap_or_default();
        let found = match role["kind"].as_str() {
            Some("ClusterRole") => st.get("clusterroles.rbac.authorization.k8s.io", "", name),
            Some("Role") => st.get("roles.rbac.authorization.k8s.io", meta::namespace(binding), name),
            _ => None,
        };
        found.is_some_and(|r| rules_allow(&r, group, resource, verb))
    };
    st.list("rolebindings.rbac.authorization.k8s.io", Some(namespace))
        .iter()
        .chain(st.list("clusterrolebindings.rbac.authorization.k8s.io", None).iter())
        .any(|b| bound(b) && grants(b))
}

fn rules_allow(role: &Value, group: &str, resource: &str, verb: &str) -> bool {
    let has = |list: &Value, want: &str| list.as_array().into_iter().flatten().any(|v| v == want || v == "*");
    role["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|rule| has(&rule["apiGroups"], group) && has(&rule["resources"], resource) && has(&rule["verbs"], verb))
}
