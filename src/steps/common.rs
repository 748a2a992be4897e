//! Small helpers every step uses: "not found means absent", ownership checks, waits sized per
//! resource kind, and IAM policy edits.

use std::future::Future;

use crate::gcp::ApiError;
use crate::gcp::wait::{Patience, Poll, until};
use crate::plan::StepCx;

/// A read that 404s means "does not exist".
pub fn absent_if_not_found<T>(result: anyhow::Result<T>) -> anyhow::Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.downcast_ref::<ApiError>().is_some_and(ApiError::is_not_found) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A delete that 404s means "already gone".
pub fn gone_if_not_found(result: anyhow::Result<()>) -> anyhow::Result<bool> {
    absent_if_not_found(result).map(|r| r.is_some())
}

/// A list through an API the project has not enabled: that API holds nothing of ours.
pub fn empty_if_disabled<T: Default>(result: anyhow::Result<T>) -> anyhow::Result<T> {
    match result {
        Err(e) if ApiError::is_service_disabled(&e) => Ok(T::default()),
        other => other,
    }
}

pub fn is_already_exists(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>().is_some_and(ApiError::is_already_exists)
}

/// Whether a resource can be deleted now, as its state says.
pub enum Deletable {
    Now,
    Gone,
    /// An operation is still running on it (its state, for progress).
    Later(String),
}

/// Waits until the resource can be deleted or is gone (`false`). An interrupted run may have left
/// it creating, resizing or already deleting, and Google refuses a delete until that ends.
pub async fn wait_deletable<E, F, Fut>(
    cx: &StepCx<E>,
    what: &str,
    patience: Patience,
    mut read: F,
) -> anyhow::Result<bool>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Deletable>>,
{
    until(cx, &format!("{what} to finish its running operation"), patience, || {
        let state = read();
        async move {
            Ok(match state.await? {
                Deletable::Now => Poll::Ready(true),
                Deletable::Gone => Poll::Ready(false),
                Deletable::Later(state) => Poll::Pending(state),
            })
        }
    })
    .await
}

/// A resource with our name that another environment (or a person) owns: never touch it.
pub fn not_ours(kind: &str, name: &str, env: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{kind} {name} exists but is not managed by sdctl environment {env} (its sdctl-env label or description \
         says otherwise); rename the environment (`name` in sdctl.yaml) or delete that {kind} yourself"
    )
}

/// How long each kind of resource may take (Google's typical times with generous margins).
pub mod patience {
    use super::Patience;

    pub const SERVICES: Patience = Patience::new(5, 10 * 60);
    pub const COMPUTE: Patience = Patience::new(2, 10 * 60);
    pub const CLUSTER: Patience = Patience::new(10, 45 * 60);
    pub const NODE_POOL: Patience = Patience::new(10, 30 * 60);
    pub const FILESTORE: Patience = Patience::new(10, 30 * 60);
    pub const REDIS: Patience = Patience::new(10, 30 * 60);
    pub const REGISTRY: Patience = Patience::new(2, 5 * 60);
}

/// Sends a Compute delete (`send`) and waits for its operation; false when `what` was gone.
pub async fn delete_compute<F, Fut>(cx: &StepCx<super::Env>, what: &str, send: F) -> anyhow::Result<bool>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<google_cloud_compute_v1::model::Operation, google_cloud_gax::error::Error>>,
{
    let env = &cx.env;
    gone_if_not_found(
        async {
            let op = crate::gcp::retry::call(cx, &format!("delete {what}"), send).await?;
            crate::gcp::ops::compute(cx, &env.gcp, env.project(), op, &format!("deletion of {what}"), patience::COMPUTE)
                .await
        }
        .await,
    )
}
