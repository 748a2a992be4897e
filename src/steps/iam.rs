//! The dedicated node service account (instead of Compute's default one, which is an Editor) and
//! the IAM bindings sdctl adds. Policies are read-modify-written with their etag and not written
//! when unchanged; a concurrent change makes sdctl read again.

use google_cloud_iam_v1::model::Policy;

use super::Env;
use super::common::{absent_if_not_found, edit_binding, gone_if_not_found, is_already_exists};
use crate::gcp::{ApiError, ErrorKind, retry};
use crate::plan::StepCx;

/// Project roles of the node service account: logs, metrics, and reading monitoring data.
/// (Artifact Registry reader is granted on the repository only, by the `registry` step.)
pub const NODE_ROLES: [&str; 3] =
    ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer"];

pub fn node_member(env: &Env) -> String {
    format!("serviceAccount:{}", env.names.node_service_account_email())
}

fn account_name(env: &Env) -> String {
    format!("projects/{}/serviceAccounts/{}", env.project(), env.names.node_service_account_email())
}

/// Whether the node service account exists.
pub async fn node_account_exists(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.iam().await?;
    let name = account_name(env);
    let found = absent_if_not_found(
        retry::call(cx, "read the node service account", || client.get_service_account().set_name(&name).send()).await,
    )?;
    Ok(found.is_some())
}

/// Creates the node service account unless it exists (two steps may ask at once: a 409 is fine).
pub async fn ensure_node_account(cx: &StepCx<Env>) -> anyhow::Result<()> {
    if node_account_exists(cx).await? {
        return Ok(());
    }
    let env = &cx.env;
    let client = env.gcp.iam().await?;
    let account = google_cloud_iam_admin_v1::model::ServiceAccount::new()
        .set_display_name(format!("sdctl {} GKE nodes", env.names.env()))
        .set_description(env.names.description());
    let created = retry::call(cx, "create the node service account", || {
        client
            .create_service_account()
            .set_name(format!("projects/{}", env.project()))
            .set_account_id(env.names.node_service_account_id())
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

pub async fn delete_node_account(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.iam().await?;
    let name = account_name(env);
    gone_if_not_found(
        retry::call(cx, "delete the node service account", || client.delete_service_account().set_name(&name).send())
            .await,
    )
}

/// Roles of `member` on the project that are missing (present = true) or still held (false).
pub async fn project_roles_to_change(
    cx: &StepCx<Env>,
    member: &str,
    roles: &[&str],
    present: bool,
) -> anyhow::Result<Vec<String>> {
    let policy = read_project_policy(cx).await?;
    Ok(roles
        .iter()
        .filter(|role| super::common::has_binding(&policy, role, member) != present)
        .map(|r| r.to_string())
        .collect())
}

async fn read_project_policy(cx: &StepCx<Env>) -> anyhow::Result<Policy> {
    let env = &cx.env;
    let client = env.gcp.projects().await?;
    let resource = format!("projects/{}", env.project());
    retry::call(cx, "read the project's IAM policy", || client.get_iam_policy().set_resource(&resource).send()).await
}

/// Adds (present) or removes `member` in each role of the project policy; returns whether it wrote.
pub async fn set_project_roles(cx: &StepCx<Env>, member: &str, roles: &[&str], present: bool) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.projects().await?;
    let resource = format!("projects/{}", env.project());
    for _ in 0..5 {
        let mut policy = read_project_policy(cx).await?;
        let mut changed = false;
        for role in roles {
            changed |= edit_binding(&mut policy, role, member, present);
        }
        if !changed {
            return Ok(false);
        }
        let write = retry::call(cx, "write the project's IAM policy", || {
            client.set_iam_policy().set_resource(&resource).set_policy(policy.clone()).send()
        })
        .await;
        match write {
            Ok(_) => return Ok(true),
            Err(e) if is_concurrent_change(&e) => {
                cx.progress("the project's IAM policy changed meanwhile; reading it again");
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    anyhow::bail!("the project's IAM policy kept changing while sdctl edited it; run the command again")
}

/// A stale etag: Google answers 409 ABORTED (or 412) and the edit must start from a fresh read.
pub fn is_concurrent_change(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>()
        .is_some_and(|a| a.kind == ErrorKind::Aborted || matches!(a.http_status, Some(409) | Some(412)))
}
