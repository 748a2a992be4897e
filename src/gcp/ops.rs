//! Waiting for the three kinds of Google operations sdctl meets: GKE operations (polled with
//! `getOperation`), Compute operations (`RUNNING` -> `DONE`, errors inside), and AIP-151
//! long-running operations (`done`, then `error` or `response`).

use super::Gcp;
use super::error::{ApiError, ErrorKind, kind_of_http};
use super::retry;
use super::wait::{self, Patience, Poll};
use crate::plan::StepCx;

/// Polls a GKE operation until DONE; its error becomes an [`ApiError`] naming `what`.
pub async fn gke<E>(
    cx: &StepCx<E>,
    gcp: &Gcp,
    location_path: &str,
    operation: &str,
    what: &str,
    patience: Patience,
) -> anyhow::Result<()> {
    use google_cloud_container_v1::model::operation::Status;
    let client = gcp.container().await?;
    let name = &format!("{location_path}/operations/{operation}");
    let action = &format!("get GKE operation {operation}");
    let op = wait::until(cx, what, patience, move || async move {
        let op = retry::call(cx, action, || client.get_operation().set_name(name).send()).await?;
        Ok(match op.status {
            Status::Done => Poll::Ready(op),
            ref s => Poll::Pending(format!("operation {operation} {}", s.name().unwrap_or("PENDING"))),
        })
    })
    .await?;
    if let Some(error) = op.error.filter(|e| !e.message.is_empty() || e.code != 0) {
        let mut e = ApiError::new(what, ErrorKind::Other, error.message.clone());
        e.kind = match error.code {
            5 => ErrorKind::NotFound,
            7 => ErrorKind::PermissionDenied,
            8 => ErrorKind::QuotaExceeded,
            3 => ErrorKind::InvalidArgument,
            9 => ErrorKind::FailedPrecondition,
            _ => ErrorKind::Other,
        };
        e.refine_from_message();
        return Err(e.into());
    }
    Ok(())
}

/// Polls a Compute operation (global, regional or zonal) until DONE.
pub async fn compute<E>(
    cx: &StepCx<E>,
    gcp: &Gcp,
    project: &str,
    op: google_cloud_compute_v1::model::Operation,
    what: &str,
    patience: Patience,
) -> anyhow::Result<()> {
    use google_cloud_compute_v1::model::operation::Status;
    let name = op.name.clone().unwrap_or_default();
    let region = op.region.as_deref().map(|r| last_segment(r).to_string());
    let zone = op.zone.as_deref().map(|z| last_segment(z).to_string());
    let mut current = op;
    loop {
        if current.status == Some(Status::Done) {
            break;
        }
        cx.progress(format!(
            "waiting for {what} (operation {name} {})",
            current.status.as_ref().and_then(|s| s.name()).unwrap_or("PENDING")
        ));
        cx.sleep(patience.interval).await?;
        let action = format!("get Compute operation {name}");
        current = match (zone.as_deref(), region.as_deref()) {
            (Some(zone), _) => {
                let c = gcp.zone_operations().await?;
                retry::call(cx, &action, || c.get().set_project(project).set_zone(zone).set_operation(&name).send())
                    .await?
            }
            (None, Some(region)) => {
                let c = gcp.region_operations().await?;
                retry::call(cx, &action, || c.get().set_project(project).set_region(region).set_operation(&name).send())
                    .await?
            }
            (None, None) => {
                let c = gcp.global_operations().await?;
                retry::call(cx, &action, || c.get().set_project(project).set_operation(&name).send()).await?
            }
        };
    }
    let errors = current.error.map(|e| e.errors).unwrap_or_default();
    if let Some(first) = errors.first() {
        let message = errors.iter().filter_map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
        let kind = match first.code.as_deref() {
            Some("QUOTA_EXCEEDED") => ErrorKind::QuotaExceeded,
            Some("RESOURCE_ALREADY_EXISTS") => ErrorKind::AlreadyExists,
            Some("RESOURCE_NOT_FOUND") => ErrorKind::NotFound,
            Some("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE") => ErrorKind::FailedPrecondition,
            _ => current.http_error_status_code.map(|c| kind_of_http(c as u16)).unwrap_or(ErrorKind::Other),
        };
        let mut e = ApiError::new(what, kind, message);
        e.http_status = current.http_error_status_code.map(|c| c as u16);
        e.refine_from_message();
        return Err(e.into());
    }
    Ok(())
}

/// Polls an AIP-151 operation with `get` until done; a failed operation becomes an [`ApiError`].
pub async fn lro<E, F, Fut>(cx: &StepCx<E>, what: &str, patience: Patience, get: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<google_cloud_longrunning::model::Operation, google_cloud_gax::error::Error>>,
{
    use google_cloud_longrunning::model::operation::Result as OpResult;
    let get = &get;
    let action = &format!("poll the operation of {what}");
    let op = wait::until(cx, what, patience, move || async move {
        let op = retry::call(cx, action, get).await?;
        Ok(if op.done { Poll::Ready(op) } else { Poll::Pending(format!("operation {}", last_segment(&op.name))) })
    })
    .await?;
    if let Some(OpResult::Error(status)) = op.result {
        let kind = match status.code {
            5 => ErrorKind::NotFound,
            6 => ErrorKind::AlreadyExists,
            7 => ErrorKind::PermissionDenied,
            8 => ErrorKind::QuotaExceeded,
            3 => ErrorKind::InvalidArgument,
            9 => ErrorKind::FailedPrecondition,
            _ => ErrorKind::Other,
        };
        let mut e = ApiError::new(what, kind, status.message.clone());
        e.refine_from_message();
        return Err(e.into());
    }
    Ok(())
}

/// `projects/p/regions/us-central1` -> `us-central1`.
pub fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}
