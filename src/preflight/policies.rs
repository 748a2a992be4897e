//! Organization policies the Stable Diffusion guide asks users to lift by hand, read through the
//! Org Policy API and judged against what this configuration does; and IAP members outside the
//! organization while the Google-managed OAuth client (organization users only) is configured.

use futures::future::join_all;
use google_cloud_orgpolicy_v2::model::policy_spec::policy_rule::Kind;

use super::{Context, Outcome};
use crate::config::OAuthClient;
use crate::gcp::retry;

/// What a constraint's effective policy says.
#[derive(Debug, Clone, PartialEq)]
enum Effect {
    NotSet,
    AllowAll,
    DenyAll,
    /// A list constraint with explicit values.
    Values {
        allowed: Vec<String>,
        denied: Vec<String>,
    },
    /// A boolean constraint.
    Enforced(bool),
}

fn effect(policy: &google_cloud_orgpolicy_v2::model::Policy) -> Effect {
    let Some(spec) = &policy.spec else { return Effect::NotSet };
    let mut result = Effect::NotSet;
    for rule in &spec.rules {
        match &rule.kind {
            Some(Kind::DenyAll(true)) => return Effect::DenyAll,
            Some(Kind::AllowAll(true)) => result = Effect::AllowAll,
            Some(Kind::Enforce(e)) => result = Effect::Enforced(*e || result == Effect::Enforced(true)),
            Some(Kind::Values(v)) => {
                result = Effect::Values { allowed: v.allowed_values.clone(), denied: v.denied_values.clone() }
            }
            _ => {}
        }
    }
    result
}

/// The four constraints of the guide, and those that break what sdctl does itself: making
/// service accounts, peering the VPC with Memorystore and Filestore, where resources may live.
const CONSTRAINTS: [&str; 9] = [
    "compute.vmExternalIpAccess",
    "compute.requireShieldedVm",
    "cloudfunctions.allowedIngressSettings",
    "iam.allowedPolicyMemberDomains",
    "iam.disableServiceAccountCreation",
    "iam.managed.disableServiceAccountCreation",
    "iam.automaticIamGrantsForDefaultServiceAccounts",
    "compute.restrictVpcPeering",
    "gcp.resourceLocations",
];

/// The constraints this configuration depends on: the image cache's builder boots an image of
/// `cos-cloud`, which `compute.trustedImageProjects` may forbid.
fn constraints(config: &crate::config::Config) -> Vec<&'static str> {
    let mut all = CONSTRAINTS.to_vec();
    if config.gpu.image_cache {
        all.push("compute.trustedImageProjects");
    }
    all
}

pub async fn org_policies(ctx: &Context<'_>) -> Vec<Outcome> {
    let id = |c: &str| format!("org-policy:{c}");
    let constraints = constraints(&ctx.env.config);
    if ctx.enabled.as_ref().is_some_and(|e| !e.contains("orgpolicy.googleapis.com")) {
        return constraints
            .iter()
            .map(|c| ctx.api_disabled(&id(c), "orgpolicy.googleapis.com", "organization policies"))
            .collect();
    }
    let client = match ctx.env.gcp.org_policy().await {
        Ok(c) => c,
        Err(e) => return constraints.iter().map(|c| ctx.read_failed(&id(c), "organization policies", &e)).collect(),
    };
    let reads = constraints.iter().map(|c| {
        let client = client.clone();
        async move {
            let name = format!("projects/{}/policies/{c}", ctx.project());
            let policy = retry::call(&ctx.cx, &format!("read organization policy {c}"), || {
                client.get_effective_policy().set_name(&name).send()
            })
            .await;
            match policy {
                Ok(p) => judge(ctx, c, &effect(&p)),
                Err(e) => ctx.read_failed(&id(c), &format!("organization policy {c}"), &e),
            }
        }
    });
    join_all(reads).await
}

/// Whether the policy blocks a step of this configuration.
fn judge(ctx: &Context<'_>, constraint: &str, effect: &Effect) -> Outcome {
    let config = &ctx.env.config;
    let id = format!("org-policy:{constraint}");
    let project = ctx.project();
    let restricted = matches!(effect, Effect::DenyAll | Effect::Values { .. });
    match constraint {
        "compute.vmExternalIpAccess" if restricted && !config.cluster.private => Outcome::fail(
            &id,
            "restricts external IPs on VMs: the nodes of a public cluster (cluster.private: false) need one, so steps \
             cluster and gpu-pool would fail",
            format!(
                "set cluster.private: true (nodes without external IPs; sdctl adds Cloud NAT), or ask an organization \
                 policy administrator to allow it for the project: gcloud org-policies reset {constraint} --project={project}"
            ),
        ),
        "compute.vmExternalIpAccess" if restricted => {
            Outcome::pass(&id, "restricts external IPs on VMs; the nodes have none (cluster.private: true)")
        }
        "compute.requireShieldedVm" => Outcome::pass(
            &id,
            match effect {
                Effect::Enforced(true) => {
                    "enforced; sdctl's nodes are Shielded VMs (secure boot, integrity monitoring)"
                }
                _ => "not enforced (sdctl's nodes are Shielded VMs either way)",
            },
        ),
        "cloudfunctions.allowedIngressSettings" => Outcome::pass(
            &id,
            if restricted {
                "restricted; sdctl deploys no Cloud Function (idle reclaim is a CronJob in the cluster)"
            } else {
                "not restricted (sdctl deploys no Cloud Function either way)"
            },
        ),
        "iam.allowedPolicyMemberDomains" if restricted => {
            let allowed = match effect {
                Effect::Values { allowed, .. } if !allowed.is_empty() => format!(" (allowed: {})", allowed.join(", ")),
                _ => String::new(),
            };
            let outside = outside_members(ctx, org_domain_hint(ctx).as_deref());
            if outside.is_empty() {
                Outcome::pass(&id, format!("restricts IAM members to the organization's domains{allowed}"))
            } else {
                Outcome::warn(
                    &id,
                    format!(
                        "restricts IAM members to the organization's domains{allowed}: the ingress step's IAP grant to {} \
                         will be refused unless their domain is allowed",
                        outside.join(", ")
                    ),
                    format!(
                        "remove them from access.iap.members, or ask an organization policy administrator to allow their \
                         domain: gcloud org-policies describe {constraint} --project={project}"
                    ),
                )
            }
        }
        "iam.disableServiceAccountCreation" | "iam.managed.disableServiceAccountCreation"
            if *effect == Effect::Enforced(true) =>
        {
            Outcome::fail(
                &id,
                format!(
                    "forbids creating service accounts: sdctl creates two with least privilege ({} for the nodes, {} \
                     for image builds), so steps cluster and images would fail",
                    ctx.env.names.node_service_account_email(),
                    ctx.env.names.build_service_account_email()
                ),
                format!(
                    "ask an organization policy administrator to exempt the project: gcloud org-policies reset \
                     {constraint} --project={project}"
                ),
            )
        }
        "iam.automaticIamGrantsForDefaultServiceAccounts" => Outcome::pass(
            &id,
            if *effect == Effect::Enforced(true) {
                "enforced: default service accounts get no role; sdctl's nodes and builds run as their own accounts, \
                 which it grants what they need"
            } else {
                "not enforced (sdctl does not use the default service accounts)"
            },
        ),
        "compute.restrictVpcPeering" if *effect == Effect::DenyAll => Outcome::fail(
            &id,
            format!(
                "forbids VPC peering: Memorystore (and Filestore) reach network {} through a peering with Google's \
                 network, so steps redis and storage would fail",
                config.cluster.network
            ),
            format!(
                "ask an organization policy administrator to allow peering for the project (gcloud org-policies \
                 describe {constraint} --project={project})"
            ),
        ),
        "compute.restrictVpcPeering" if restricted => Outcome::warn(
            &id,
            "allows VPC peering with listed networks only: Memorystore (and Filestore) peer the network with \
             Google-owned networks, which the list must allow",
            format!(
                "if redis or storage fails with this constraint, ask an organization policy administrator to allow \
                 them (gcloud org-policies describe {constraint} --project={project})"
            ),
        ),
        "gcp.resourceLocations" => resource_locations(ctx, &id, effect),
        "compute.trustedImageProjects" => {
            let trusted = match effect {
                Effect::DenyAll => false,
                Effect::Values { allowed, denied } => {
                    let cos = |v: &String| v == "projects/cos-cloud" || v == "cos-cloud";
                    !denied.iter().any(cos) && (allowed.is_empty() || allowed.iter().any(cos))
                }
                _ => true,
            };
            if trusted {
                Outcome::pass(&id, "allows boot images of projects/cos-cloud (the image-cache builder's)")
            } else {
                Outcome::fail(
                    &id,
                    "does not allow boot images of projects/cos-cloud: the image-cache builder boots \
                     Container-Optimized OS, so step image-cache would fail",
                    format!(
                        "ask an organization policy administrator to trust projects/cos-cloud for the project \
                         (gcloud org-policies describe {constraint} --project={project}), or set gpu.imageCache: false"
                    ),
                )
            }
        }
        _ => Outcome::pass(&id, "not restricted"),
    }
}

/// `gcp.resourceLocations`: the region and zones of the configuration against the allowed and
/// denied locations (values `in:<group>-locations`, regions, zones:
/// cloud.google.com/resource-manager/docs/organization-policy/defining-locations).
fn resource_locations(ctx: &Context<'_>, id: &str, effect: &Effect) -> Outcome {
    let config = &ctx.env.config;
    let mut places = vec![config.region.clone()];
    places.extend(config.zones.iter().cloned());
    let (allowed, denied) = match effect {
        Effect::Values { allowed, denied } => (allowed, denied),
        Effect::DenyAll => {
            return Outcome::fail(
                id,
                "allows resources in no location",
                "ask an organization policy administrator to allow this region",
            );
        }
        _ => return Outcome::pass(id, "not restricted"),
    };
    let unknown: Vec<&String> = allowed.iter().chain(denied).filter(|v| location_matches(v, "").is_none()).collect();
    if !unknown.is_empty() {
        return Outcome::warn(
            id,
            format!(
                "restricts locations with value groups sdctl cannot evaluate ({}); {} must be allowed",
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                places.join(", ")
            ),
            format!(
                "check: gcloud org-policies describe gcp.resourceLocations --effective --project={}",
                ctx.project()
            ),
        );
    }
    let matches = |v: &String, p: &String| location_matches(v, p) == Some(true);
    let refused: Vec<&String> = places
        .iter()
        .filter(|p| {
            denied.iter().any(|v| matches(v, p)) || (!allowed.is_empty() && !allowed.iter().any(|v| matches(v, p)))
        })
        .collect();
    if refused.is_empty() {
        return Outcome::pass(
            id,
            format!("{} {} allowed", places.join(", "), if places.len() == 1 { "is" } else { "are" }),
        );
    }
    Outcome::fail(
        id,
        format!(
            "allows resources only in {}{}: {} {} not, so sdctl could create nothing there",
            allowed.join(", "),
            if denied.is_empty() { String::new() } else { format!(" (denied: {})", denied.join(", ")) },
            refused.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            if refused.len() == 1 { "is" } else { "are" }
        ),
        "choose an allowed region and zones (region, zones in sdctl.yaml), or ask an organization policy administrator",
    )
}

/// Whether a `gcp.resourceLocations` value covers a region or zone; `None` for value groups
/// sdctl does not know (jurisdiction groups such as `in:eu-locations`). Region groups
/// (`in:us-central1-locations`) cover the region and its zones; continental groups
/// (`in:us-locations`) cover regions by prefix.
fn location_matches(value: &str, place: &str) -> Option<bool> {
    let region = match place.rsplit_once('-') {
        Some((r, z)) if z.len() == 1 => r,
        _ => place,
    };
    let Some(group) = value.strip_prefix("in:").and_then(|v| v.strip_suffix("-locations")) else {
        return Some(value == place || value == region);
    };
    let prefixes: &[&str] = match group {
        "us" => &["us-"],
        "northamerica" => &["us-", "northamerica-"],
        "europe" => &["europe-"],
        "asia" => &["asia-"],
        "australia" => &["australia-"],
        "southamerica" => &["southamerica-"],
        "me" => &["me-"],
        "africa" => &["africa-"],
        // A region's own group: `in:us-central1-locations`.
        g if g.matches('-').count() == 1 && g.ends_with(|c: char| c.is_ascii_digit()) => return Some(g == region),
        _ => return None,
    };
    Some(prefixes.iter().any(|p| region.starts_with(p)))
}

/// The domain of the caller, when nothing better is known.
fn org_domain_hint(ctx: &Context<'_>) -> Option<String> {
    let email = ctx.identity.as_ref()?.email.as_ref()?;
    (!email.ends_with(".gserviceaccount.com")).then(|| email.rsplit('@').next().unwrap_or_default().to_lowercase())
}

/// IAP members (not service accounts) whose domain is not `domain`.
fn outside_members(ctx: &Context<'_>, domain: Option<&str>) -> Vec<String> {
    let Some(domain) = domain else { return Vec::new() };
    ctx.env
        .config
        .access
        .iap_members
        .iter()
        .filter(|m| !m.starts_with("serviceAccount:"))
        .filter(|m| {
            let value = m.split_once(':').map(|(_, v)| v).unwrap_or(m);
            let member_domain = value.rsplit('@').next().unwrap_or(value).to_lowercase();
            member_domain != domain
        })
        .cloned()
        .collect()
}

/// IAP members outside the organization while the managed OAuth client serves only its users.
pub async fn iap_members(ctx: &Context<'_>) -> Outcome {
    const ID: &str = "iap-members";
    let access = &ctx.env.config.access;
    if access.iap_members.is_empty() {
        return Outcome::warn(
            ID,
            "access.iap.members is empty: nobody can sign in",
            "add who may use the WebUI: access.iap.members: [user:you@example.com, group:team@example.com]",
        );
    }
    if let OAuthClient::Custom { .. } = access.oauth_client {
        return Outcome::pass(ID, "your own OAuth client: members outside the organization can sign in");
    }
    let (domain, how) = match organization_domain(ctx).await {
        Ok(Some(d)) => (Some(d), "the organization"),
        Ok(None) => {
            return Outcome::warn(
                ID,
                "the project is in no organization, and the Google-managed OAuth client serves users of the project's \
                 organization only",
                "use your own OAuth client: access.iap.oauthClient: {clientIdEnv: SD_OAUTH_CLIENT_ID, clientSecretEnv: \
                 SD_OAUTH_CLIENT_SECRET}",
            );
        }
        Err(_) => (org_domain_hint(ctx), "your account's domain (the organization could not be read)"),
    };
    let Some(domain) = domain else {
        return Outcome::pass(ID, "the organization's domain could not be read: members not compared");
    };
    let outside = outside_members(ctx, Some(&domain));
    if outside.is_empty() {
        return Outcome::pass(ID, format!("every member is in {domain} ({how})"));
    }
    Outcome::warn(
        ID,
        format!(
            "oauthClient: managed serves users of the organization only, and {} {} outside {domain} ({how}); \
             a secondary domain of the organization is fine",
            outside.join(", "),
            if outside.len() == 1 { "is" } else { "are" }
        ),
        "use your own OAuth client (access.iap.oauthClient: {clientIdEnv: NAME, clientSecretEnv: NAME}), or remove \
         them from access.iap.members",
    )
}

/// The organization's primary domain: the project's parent organization's display name.
/// `Ok(None)`: the project has no organization.
async fn organization_domain(ctx: &Context<'_>) -> anyhow::Result<Option<String>> {
    let projects = ctx.env.gcp.projects().await?;
    let name = format!("projects/{}", ctx.project());
    let project = retry::call(&ctx.cx, "read the project", || projects.get_project().set_name(&name).send()).await?;
    if project.parent.is_empty() {
        return Ok(None);
    }
    let Some(org) = project.parent.strip_prefix("organizations/") else {
        anyhow::bail!("the project is in a folder ({}); its organization is not looked up", project.parent);
    };
    let organizations = ctx.env.gcp.organizations().await?;
    let org_name = format!("organizations/{org}");
    let found =
        retry::call(&ctx.cx, "read the organization", || organizations.get_organization().set_name(&org_name).send())
            .await?;
    Ok(Some(found.display_name.to_lowercase()))
}

/// `runtime.insecureExtensionAccess` opens code execution in the WebUI pods to every signed-in
/// user: said before `up`, never silently. Nothing to check when it is off.
pub fn webui_extensions(ctx: &Context<'_>) -> Option<Outcome> {
    ctx.env.config.runtime.insecure_extension_access.then(|| {
        Outcome::warn(
            "webui-extensions",
            "runtime.insecureExtensionAccess is on: every member of access.iap.members can install extensions from \
             the WebUI, that is run any code in their WebUI pod (where the shared models are readable, and, with \
             GCS storage, the pod's bucket access usable)",
            "keep it only if every member is trusted like an administrator; else set runtime.insecureExtensionAccess: \
             false and bake extensions into the image",
        )
    })
}
