//! Who is calling, and whether the project exists and can be billed.

use super::{Context, Outcome};
use crate::gcp::identity::{self, Identity};
use crate::gcp::retry;

/// Credentials present and usable (a token can be had), and whose they are.
pub async fn credentials(ctx: &Context<'_>) -> (Outcome, Option<Identity>) {
    match identity::identify(&ctx.env.gcp).await {
        Ok(id) => {
            let who = id.email.clone().unwrap_or_else(|| "an identity Google did not name".to_string());
            (Outcome::pass("credentials", format!("{who} ({})", id.source)), Some(id))
        }
        Err(e) => (
            Outcome::fail(
                "credentials",
                format!("no usable Google credentials: {e:#}"),
                "run `gcloud auth application-default login` (Cloud Shell: already done), or set \
                 GOOGLE_APPLICATION_CREDENTIALS to a service account key file",
            ),
            None,
        ),
    }
}

/// The project exists, is active, and the caller can see it.
pub async fn project(ctx: &Context<'_>) -> Outcome {
    const ID: &str = "project";
    if let Some(skip) = ctx.needs(ID, "cloudresourcemanager.googleapis.com", "the project") {
        return skip;
    }
    let client = match ctx.env.gcp.projects().await {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(ID, "the project", &e),
    };
    let name = format!("projects/{}", ctx.project());
    let found = retry::call(&ctx.cx, "read the project", || client.get_project().set_name(&name).send()).await;
    match found {
        Ok(p) => {
            let number = p.name.trim_start_matches("projects/");
            let state = format!("{:?}", p.state);
            if state.eq_ignore_ascii_case("active") {
                Outcome::pass(ID, format!("{} (number {number}, parent {})", ctx.project(), or_none(&p.parent)))
            } else {
                Outcome::fail(
                    ID,
                    format!("{} is {state}, not ACTIVE", ctx.project()),
                    format!("restore it (gcloud projects undelete {}) or set project to another one", ctx.project()),
                )
            }
        }
        Err(e) if is_denied_or_missing(&e) => Outcome::fail(
            ID,
            format!("project {} does not exist or the caller may not read it", ctx.project()),
            format!(
                "check the project id (gcloud projects list) and set `project` in sdctl.yaml or --project; \
                 or ask for roles/browser on {}",
                ctx.project()
            ),
        ),
        Err(e) => ctx.read_failed(ID, "the project", &e),
    }
}

/// A billing account is linked (nothing can be created otherwise).
pub async fn billing(ctx: &Context<'_>) -> Outcome {
    const ID: &str = "billing";
    if let Some(skip) = ctx.needs(ID, "cloudbilling.googleapis.com", "the project's billing") {
        return skip;
    }
    let client = match ctx.env.gcp.billing().await {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(ID, "the project's billing", &e),
    };
    let name = format!("projects/{}", ctx.project());
    let info =
        retry::call(&ctx.cx, "read the project's billing", || client.get_project_billing_info().set_name(&name).send())
            .await;
    match info {
        Ok(info) if info.billing_enabled => {
            Outcome::pass(ID, format!("billing enabled ({})", or_none(&info.billing_account_name)))
        }
        Ok(_) => Outcome::fail(
            ID,
            format!(
                "project {} has no billing account: Google creates no cluster, GPU or storage without one",
                ctx.project()
            ),
            format!(
                "link one: gcloud billing projects link {p} --billing-account=ACCOUNT_ID (see gcloud billing accounts list), \
                 or https://console.cloud.google.com/billing/linkedaccount?project={p}",
                p = ctx.project()
            ),
        ),
        Err(e) => ctx.read_failed(ID, "the project's billing", &e),
    }
}

fn is_denied_or_missing(e: &anyhow::Error) -> bool {
    e.downcast_ref::<crate::gcp::ApiError>().is_some_and(|a| {
        matches!(a.kind, crate::gcp::ErrorKind::NotFound | crate::gcp::ErrorKind::PermissionDenied)
            && a.permission.as_deref().is_none_or(|p| p.starts_with("resourcemanager.projects.get"))
    })
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "none" } else { s }
}
