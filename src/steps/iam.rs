//! IAM: the service accounts sdctl makes (GKE nodes, image builds) and every IAM policy edit.
//!
//! Policies are read at version 3, so conditional bindings others made come back whole (a
//! version-1 read shows them as `roles/X_withcond_<hash>`, and writing that back is refused), and
//! written back at version 3 with their etag: sdctl only adds or removes members of its own
//! bindings (unconditional ones, or ones under a condition sdctl wrote, found again by title and
//! expression) and keeps everything else. A concurrent change makes sdctl read again. IAM is
//! eventually consistent: a service account created a moment ago, or the Workload Identity pool
//! of a cluster created a moment ago, can be "not found" in a binding for a while; that answer is
//! retried, visibly and within a bound (cloud.google.com/iam/docs/access-change-propagation).

use google_cloud_iam_v1::model::{Binding, GetPolicyOptions, Policy};
use google_cloud_type::model::Expr;

use super::Env;
use super::common::{absent_if_not_found, gone_if_not_found, is_already_exists};
use crate::gcp::retry::{self, RetryPolicy};
use crate::gcp::storage::StorageClient;
use crate::gcp::{ApiError, ErrorKind};
use crate::plan::StepCx;

/// The policy version that keeps conditional bindings (cloud.google.com/iam/docs/policies#versions).
const POLICY_VERSION: i32 = 3;

/// Project roles of the node service account: GKE's documented minimum
/// (docs.cloud.google.com/kubernetes-engine/security/configure-node-service-accounts). Artifact
/// Registry reader is granted on the repository only, by the `registry` step.
pub const NODE_ROLES: [&str; 1] = ["roles/container.defaultNodeServiceAccount"];

/// Roles earlier sdctl versions gave the node service account, removed when found.
pub const FORMER_NODE_ROLES: [&str; 3] =
    ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer"];

/// A service account sdctl makes and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// What GKE nodes run as (instead of Compute's default account, an Editor).
    Nodes,
    /// What Cloud Build runs image builds as (new projects would use Compute's default account,
    /// which an organization policy may leave without any role).
    Builds,
}

impl Account {
    pub fn email(self, env: &Env) -> String {
        match self {
            Account::Nodes => env.names.node_service_account_email(),
            Account::Builds => env.names.build_service_account_email(),
        }
    }

    fn id(self, env: &Env) -> String {
        match self {
            Account::Nodes => env.names.node_service_account_id(),
            Account::Builds => env.names.build_service_account_id(),
        }
    }

    fn purpose(self) -> &'static str {
        match self {
            Account::Nodes => "GKE nodes",
            Account::Builds => "image builds",
        }
    }

    /// `serviceAccount:EMAIL`, as IAM bindings name it.
    pub fn member(self, env: &Env) -> String {
        format!("serviceAccount:{}", self.email(env))
    }

    /// `projects/P/serviceAccounts/EMAIL`, as IAM and Cloud Build name it.
    pub fn resource(self, env: &Env) -> String {
        format!("projects/{}/serviceAccounts/{}", env.project(), self.email(env))
    }

    pub async fn exists(self, cx: &StepCx<Env>) -> anyhow::Result<bool> {
        let client = cx.env.gcp.iam().await?;
        let name = self.resource(&cx.env);
        let found = absent_if_not_found(
            retry::call(cx, &format!("read the {} service account", self.purpose()), || {
                client.get_service_account().set_name(&name).send()
            })
            .await,
        )?;
        Ok(found.is_some())
    }

    /// Creates the account unless it exists (two steps may ask at once: a 409 is fine).
    pub async fn ensure(self, cx: &StepCx<Env>) -> anyhow::Result<()> {
        if self.exists(cx).await? {
            return Ok(());
        }
        let env = &cx.env;
        let client = env.gcp.iam().await?;
        let account = google_cloud_iam_admin_v1::model::ServiceAccount::new()
            .set_display_name(format!("sdctl {} {}", env.names.env(), self.purpose()))
            .set_description(env.names.description());
        let created = retry::call(cx, &format!("create the {} service account", self.purpose()), || {
            client
                .create_service_account()
                .set_name(format!("projects/{}", env.project()))
                .set_account_id(self.id(env))
                .set_service_account(account.clone())
                .send()
        })
        .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if is_already_exists(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes the account; whether it existed.
    pub async fn delete(self, cx: &StepCx<Env>) -> anyhow::Result<bool> {
        let client = cx.env.gcp.iam().await?;
        let name = self.resource(&cx.env);
        gone_if_not_found(
            retry::call(cx, &format!("delete the {} service account", self.purpose()), || {
                client.delete_service_account().set_name(&name).send()
            })
            .await,
        )
    }
}

/// An IAM condition sdctl writes; its binding is the one with exactly this title and expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub title: String,
    pub expression: String,
}

impl Condition {
    fn matches(&self, expr: Option<&Expr>) -> bool {
        expr.is_some_and(|e| e.title == self.title && e.expression == self.expression)
    }

    fn expr(&self) -> Expr {
        Expr::new().set_title(&self.title).set_expression(&self.expression)
    }
}

/// A role for a member, unconditional or under a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: String,
    pub member: String,
    pub condition: Option<Condition>,
}

impl Grant {
    pub fn new(role: &str, member: &str) -> Self {
        Self { role: role.to_string(), member: member.to_string(), condition: None }
    }

    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    fn binding_of<'p>(&self, policy: &'p mut Policy) -> Option<&'p mut Binding> {
        policy.bindings.iter_mut().find(|b| b.role == self.role && self.condition_matches(b))
    }

    fn condition_matches(&self, b: &Binding) -> bool {
        match &self.condition {
            None => b.condition.is_none(),
            Some(c) => c.matches(b.condition.as_ref()),
        }
    }

    /// Whether the policy holds it.
    pub fn held_in(&self, policy: &Policy) -> bool {
        policy
            .bindings
            .iter()
            .any(|b| b.role == self.role && self.condition_matches(b) && b.members.contains(&self.member))
    }

    /// Adds (`present`) or removes it; whether the policy changed. Other bindings are untouched.
    pub fn edit(&self, policy: &mut Policy, present: bool) -> bool {
        let changed = match (self.binding_of(policy), present) {
            (Some(b), true) if b.members.contains(&self.member) => false,
            (Some(b), true) => {
                b.members.push(self.member.clone());
                true
            }
            (None, true) => {
                let mut binding = Binding::new().set_role(&self.role).set_members([self.member.clone()]);
                if let Some(c) = &self.condition {
                    binding = binding.set_condition(c.expr());
                }
                policy.bindings.push(binding);
                true
            }
            (Some(b), false) if b.members.contains(&self.member) => {
                b.members.retain(|m| *m != self.member);
                true
            }
            _ => false,
        };
        policy.bindings.retain(|b| !b.members.is_empty());
        changed
    }
}

/// Where an IAM policy sdctl edits lives.
#[derive(Debug, Clone, Copy)]
pub enum PolicyOf<'a> {
    Project,
    /// A Cloud Storage bucket, by name.
    Bucket(&'a str),
    /// An Artifact Registry repository, by resource name.
    Repository(&'a str),
    /// An IAP web resource (`projects/N/iap_web/compute/services/ID`).
    Iap(&'a str),
}

impl PolicyOf<'_> {
    fn describe(&self) -> String {
        match self {
            PolicyOf::Project => "the project's IAM policy".into(),
            PolicyOf::Bucket(b) => format!("the IAM policy of bucket {b}"),
            PolicyOf::Repository(r) => format!("the IAM policy of repository {}", r.rsplit('/').next().unwrap_or(r)),
            PolicyOf::Iap(_) => "the IAP policy".into(),
        }
    }

    /// The whole policy, conditional bindings included.
    pub async fn read(&self, cx: &StepCx<Env>) -> anyhow::Result<Policy> {
        let env = &cx.env;
        let action = format!("read {}", self.describe());
        let v3 = || GetPolicyOptions::new().set_requested_policy_version(POLICY_VERSION);
        match self {
            PolicyOf::Project => {
                let client = env.gcp.projects().await?;
                let resource = format!("projects/{}", env.project());
                retry::call(cx, &action, || client.get_iam_policy().set_resource(&resource).set_options(v3()).send())
                    .await
            }
            PolicyOf::Bucket(bucket) => {
                let storage = StorageClient::new(&env.gcp);
                retry::call(cx, &action, || storage.get_iam_policy(bucket, POLICY_VERSION)).await
            }
            PolicyOf::Repository(name) => {
                let client = env.gcp.artifact_registry().await?;
                retry::call(cx, &action, || client.get_iam_policy().set_resource(*name).set_options(v3()).send()).await
            }
            PolicyOf::Iap(resource) => {
                let client = env.gcp.iap().await?;
                retry::call(cx, &action, || client.get_iam_policy().set_resource(*resource).set_options(v3()).send())
                    .await
            }
        }
    }

    async fn write(&self, cx: &StepCx<Env>, policy: &Policy) -> anyhow::Result<()> {
        let env = &cx.env;
        let action = format!("write {}", self.describe());
        // A member made a moment ago may be unknown to IAM for a while: wait it out.
        let patient = RetryPolicy::IAM_PROPAGATION;
        match self {
            PolicyOf::Project => {
                let client = env.gcp.projects().await?;
                let resource = format!("projects/{}", env.project());
                retry::call_with(cx, &action, patient, || {
                    client.set_iam_policy().set_resource(&resource).set_policy(policy.clone()).send()
                })
                .await?;
            }
            PolicyOf::Bucket(bucket) => {
                let storage = StorageClient::new(&env.gcp);
                retry::call_with(cx, &action, patient, || storage.set_iam_policy(bucket, policy)).await?;
            }
            PolicyOf::Repository(name) => {
                let client = env.gcp.artifact_registry().await?;
                retry::call_with(cx, &action, patient, || {
                    client.set_iam_policy().set_resource(*name).set_policy(policy.clone()).send()
                })
                .await?;
            }
            PolicyOf::Iap(resource) => {
                let client = env.gcp.iap().await?;
                retry::call_with(cx, &action, patient, || {
                    client.set_iam_policy().set_resource(*resource).set_policy(policy.clone()).send()
                })
                .await?;
            }
        }
        Ok(())
    }

    /// The `(role, member)` pairs of `grants` that the policy does not hold yet (`present`), or
    /// still holds (`!present`).
    pub async fn to_change(
        &self,
        cx: &StepCx<Env>,
        grants: &[(&str, &str)],
        present: bool,
    ) -> anyhow::Result<Vec<(String, String)>> {
        let grants: Vec<Grant> = grants.iter().map(|(r, m)| Grant::new(r, m)).collect();
        Ok(self.grants_to_change(cx, &grants, present).await?.into_iter().map(|g| (g.role, g.member)).collect())
    }

    /// The `grants` the policy does not hold yet (`present`), or still holds (`!present`).
    pub async fn grants_to_change(
        &self,
        cx: &StepCx<Env>,
        grants: &[Grant],
        present: bool,
    ) -> anyhow::Result<Vec<Grant>> {
        let policy = self.read(cx).await?;
        Ok(grants.iter().filter(|g| g.held_in(&policy) != present).cloned().collect())
    }

    /// Adds (`present`) or removes each unconditional `(role, member)` of `grants`; whether it wrote.
    pub async fn edit(&self, cx: &StepCx<Env>, grants: &[(&str, &str)], present: bool) -> anyhow::Result<bool> {
        let grants: Vec<Grant> = grants.iter().map(|(r, m)| Grant::new(r, m)).collect();
        let changes: Vec<(&Grant, bool)> = grants.iter().map(|g| (g, present)).collect();
        self.apply(cx, &changes).await
    }

    /// Adds each grant paired with `true` and removes each paired with `false`, in one write;
    /// whether it wrote.
    pub async fn apply(&self, cx: &StepCx<Env>, changes: &[(&Grant, bool)]) -> anyhow::Result<bool> {
        for _ in 0..5 {
            let mut policy = self.read(cx).await?;
            let mut changed = false;
            for (grant, present) in changes {
                changed |= grant.edit(&mut policy, *present);
            }
            if !changed {
                return Ok(false);
            }
            policy.version = POLICY_VERSION;
            match self.write(cx, &policy).await {
                Ok(()) => return Ok(true),
                Err(e) if is_concurrent_change(&e) => {
                    cx.progress(format!("{} changed meanwhile; reading it again", self.describe()));
                }
                Err(e) => return Err(e),
            }
        }
        anyhow::bail!("{} kept changing while sdctl edited it; run the command again", self.describe())
    }
}

/// Adds (or removes) `member` in the unconditional binding of `role`; whether the policy changed.
/// Conditional bindings are never touched.
pub fn edit_binding(policy: &mut Policy, role: &str, member: &str, present: bool) -> bool {
    Grant::new(role, member).edit(policy, present)
}

/// Whether `member` holds `role` unconditionally.
pub fn has_binding(policy: &Policy, role: &str, member: &str) -> bool {
    Grant::new(role, member).held_in(policy)
}

/// A stale etag: Google answers 409 ABORTED (or 412) and the edit must start from a fresh read.
pub fn is_concurrent_change(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>()
        .is_some_and(|a| a.kind == ErrorKind::Aborted || matches!(a.http_status, Some(409) | Some(412)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditional(role: &str, member: &str) -> Binding {
        serde_json::from_value(serde_json::json!({
            "role": role,
            "members": [member],
            "condition": {"title": "until 2027", "expression": "request.time < timestamp('2027-01-01T00:00:00Z')"},
        }))
        .unwrap()
    }

    #[test]
    fn edits_leave_conditional_bindings_alone() {
        let mut policy = Policy::new().set_bindings([conditional("roles/viewer", "user:a@example.com")]);
        // Holding a role under a condition is not holding it.
        assert!(!has_binding(&policy, "roles/viewer", "user:a@example.com"));
        assert!(edit_binding(&mut policy, "roles/viewer", "user:a@example.com", true));
        assert_eq!(policy.bindings.len(), 2, "a separate unconditional binding: {policy:?}");
        assert!(has_binding(&policy, "roles/viewer", "user:a@example.com"));
        assert!(edit_binding(&mut policy, "roles/viewer", "user:a@example.com", false));
        assert_eq!(policy.bindings, [conditional("roles/viewer", "user:a@example.com")]);
        assert!(!edit_binding(&mut policy, "roles/viewer", "user:a@example.com", false));
    }

    #[test]
    fn a_conditional_grant_is_its_own_binding() {
        let theirs = conditional("roles/storage.objectUser", "user:a@example.com");
        let mut policy = Policy::new().set_bindings([theirs.clone()]);
        let ours = Grant::new("roles/storage.objectUser", "user:a@example.com").when(Condition {
            title: "outputs only".into(),
            expression: "resource.name.startsWith(\"projects/_/buckets/b/objects/outputs/\")".into(),
        });
        assert!(!ours.held_in(&policy), "another condition is not ours");
        assert!(ours.edit(&mut policy, true));
        assert!(ours.held_in(&policy) && !ours.edit(&mut policy, true));
        assert_eq!(policy.bindings.len(), 2);
        assert_eq!(policy.bindings[1].condition.as_ref().map(|c| c.title.as_str()), Some("outputs only"));
        assert!(!Grant::new("roles/storage.objectUser", "user:a@example.com").held_in(&policy));
        assert!(ours.edit(&mut policy, false));
        assert_eq!(policy.bindings, [theirs]);
    }
}
