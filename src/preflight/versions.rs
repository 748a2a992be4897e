//! The Kubernetes version the cluster gets (the release channel's default, or the running
//! cluster's) against the Agones releases sdctl pins, and where the channel will upgrade it.

use google_cloud_container_v1::model::release_channel::Channel;

use super::{Context, Outcome};
use crate::config::{ReleaseChannel, RuntimeKind};
use crate::gcp::retry;
use crate::pins;

/// `1.35` from `1.35.3-gke.200`.
pub fn minor(version: &str) -> Option<u32> {
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}

fn channel(c: ReleaseChannel) -> Channel {
    match c {
        ReleaseChannel::Rapid => Channel::Rapid,
        ReleaseChannel::Regular => Channel::Regular,
        ReleaseChannel::Stable => Channel::Stable,
        ReleaseChannel::Extended => Channel::Extended,
    }
}

/// The pinned releases the configuration allows, and the minors they support.
fn supported(agones_version: Option<&str>) -> (Vec<&'static pins::AgonesRelease>, Vec<u32>) {
    let releases: Vec<&pins::AgonesRelease> = match agones_version {
        Some(v) => pins::agones(v).into_iter().collect(),
        None => pins::AGONES.iter().collect(),
    };
    let mut minors: Vec<u32> = releases.iter().flat_map(|r| r.kubernetes_minors).collect();
    minors.sort_unstable();
    minors.dedup();
    (releases, minors)
}

fn range(minors: &[u32]) -> String {
    match (minors.first(), minors.last()) {
        (Some(a), Some(b)) if a != b => format!("1.{a}-1.{b}"),
        (Some(a), _) => format!("1.{a}"),
        _ => "none".into(),
    }
}

pub async fn check(ctx: &Context<'_>) -> Outcome {
    const ID: &str = "kubernetes-version";
    if let Some(skip) = ctx.needs(ID, "container.googleapis.com", "GKE's versions") {
        return skip;
    }
    let env = &ctx.env;
    let config = &env.config;
    let client = match env.gcp.container().await {
        Ok(c) => c,
        Err(e) => return ctx.read_failed(ID, "GKE's versions", &e),
    };
    let location = crate::steps::location_path(env);
    let server =
        retry::call(&ctx.cx, "read GKE's versions", || client.get_server_config().set_name(&location).send()).await;
    let server = match server {
        Ok(s) => s,
        Err(e) => return ctx.read_failed(ID, "GKE's versions", &e),
    };
    let wanted = channel(config.cluster.release_channel);
    let channel_name = config.cluster.release_channel.api_name().to_lowercase();
    let Some(ch) = server.channels.iter().find(|c| c.channel == wanted) else {
        return Outcome::warn(
            ID,
            format!("GKE offers no {channel_name} channel in {}", config.cluster_location()),
            "set cluster.releaseChannel to regular or stable",
        );
    };
    if config.runtime.kind == RuntimeKind::Okg {
        return okg(&env.outputs.get("kubernetesVersion").unwrap_or_else(|| ch.default_version.clone()), &channel_name);
    }
    let (releases, minors) = supported(config.runtime.agones_version.as_deref());
    let pinned: Vec<&str> = releases.iter().map(|r| r.version).collect();
    let pinned = format!("Agones {} supports Kubernetes {}", pinned.join(", "), range(&minors));
    // A running cluster's version counts; a new one gets the channel's default.
    let version = env.outputs.get("kubernetesVersion").unwrap_or_else(|| ch.default_version.clone());
    let Some(m) = minor(&version) else {
        return Outcome::warn(ID, format!("cannot read GKE's version {version:?}"), "run `sdctl preflight` again");
    };
    if !minors.contains(&m) {
        let alternatives: Vec<String> = server
            .channels
            .iter()
            .filter(|c| minor(&c.default_version).is_some_and(|x| minors.contains(&x)))
            .map(|c| format!("{} ({})", format!("{:?}", c.channel).to_lowercase(), c.default_version))
            .collect();
        let fix = if alternatives.is_empty() {
            "use an sdctl release that pins a newer Agones, or pass --agones-manifest FILE with a release that supports it"
                .to_string()
        } else {
            format!("set cluster.releaseChannel to one whose default is supported: {}", alternatives.join(", "))
        };
        return Outcome::fail(ID, format!("the {channel_name} channel gives Kubernetes {version}, but {pinned}"), fix);
    }
    let newest = ch.valid_versions.iter().filter_map(|v| minor(v)).max().unwrap_or(m);
    if newest > m && !minors.contains(&newest) {
        return Outcome::warn(
            ID,
            format!(
                "Kubernetes {version} is supported ({pinned}), but the {channel_name} channel already offers 1.{newest}, \
                 which auto-upgrade will reach"
            ),
            "upgrade sdctl before the cluster reaches it, or set cluster.releaseChannel: stable",
        );
    }
    Outcome::pass(ID, format!("the {channel_name} channel gives Kubernetes {version}; {pinned}"))
}

/// GKE versions the GPU ladder needs: custom compute classes (Standard clusters), and flex-start
/// for single-node GPU pools ("Run a small batch workload with GPUs and flex-start VMs").
const COMPUTE_CLASS_SINCE: &str = "1.30.3-gke.1451000";
const FLEX_START_SINCE: &str = "1.33.0-gke.1712000";

/// `(1, 33, 0, 1712000)` from `1.33.0-gke.1712000`.
fn gke_version(v: &str) -> Option<(u32, u32, u32, u32)> {
    let (kube, gke) = v.split_once("-gke.")?;
    let mut parts = kube.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??, gke.parse().ok()?))
}

/// With `gpu.fallbacks`: the cluster's GKE version (running, else the channel's default) against
/// what ComputeClasses and flex-start pools need. None without a ladder.
pub async fn ladder(ctx: &Context<'_>) -> Option<Outcome> {
    const ID: &str = "gpu-ladder-version";
    let config = &ctx.env.config;
    if !config.gpu.has_ladder() {
        return None;
    }
    if let Some(skip) = ctx.needs(ID, "container.googleapis.com", "GKE's versions") {
        return Some(skip);
    }
    let version = match ctx.env.outputs.get("kubernetesVersion") {
        Some(v) => v,
        None => {
            let client = match ctx.env.gcp.container().await {
                Ok(c) => c,
                Err(e) => return Some(ctx.read_failed(ID, "GKE's versions", &e)),
            };
            let location = crate::steps::location_path(&ctx.env);
            let server =
                retry::call(&ctx.cx, "read GKE's versions", || client.get_server_config().set_name(&location).send())
                    .await;
            let wanted = channel(config.cluster.release_channel);
            match server {
                Ok(s) => s.channels.iter().find(|c| c.channel == wanted).map(|c| c.default_version.clone())?,
                Err(e) => return Some(ctx.read_failed(ID, "GKE's versions", &e)),
            }
        }
    };
    let have = gke_version(&version)?;
    let flex = config.gpu.fallbacks.iter().position(|r| r.flex_start);
    let (since, what, field) = match flex {
        Some(i) => (FLEX_START_SINCE, "flex-start GPU node pools", format!("gpu.fallbacks[{i}].flexStart")),
        None => (COMPUTE_CLASS_SINCE, "custom compute classes", "gpu.fallbacks".to_string()),
    };
    Some(if gke_version(since).is_some_and(|need| have >= need) {
        Outcome::pass(ID, format!("GKE {version} runs the GPU ladder ({what} need {since} or later)"))
    } else {
        Outcome::fail(
            ID,
            format!("GKE {version} is older than {since}, which {what} need"),
            format!("set cluster.releaseChannel to one that gives {since} or later, or remove {field}"),
        )
    })
}

/// Newest Kubernetes minor OpenKruise 1.9 lists as tested (openkruise.io `docs/installation.md`,
/// compatibility table: 1.9.x exact on 1.32, nothing listed after it); kruise-game needs 1.18+.
const KRUISE_TESTED_UP_TO: u32 = 32;

fn okg(version: &str, channel_name: &str) -> Outcome {
    const ID: &str = "kubernetes-version";
    let pinned = format!("OpenKruise {} and OpenKruiseGame {}", pins::KRUISE.version, pins::KRUISE_GAME.version);
    match minor(version) {
        None => Outcome::warn(ID, format!("cannot read GKE's version {version:?}"), "run `sdctl preflight` again"),
        Some(m) if m > KRUISE_TESTED_UP_TO => Outcome::warn(
            ID,
            format!(
                "the {channel_name} channel gives Kubernetes {version}; {pinned} run there, but OpenKruise lists Kubernetes 1.{KRUISE_TESTED_UP_TO} as the newest it tested"
            ),
            "nothing to change: expected on GKE today (sdctl pins a newer OpenKruise once it lists this version)",
        ),
        Some(_) => {
            Outcome::pass(ID, format!("the {channel_name} channel gives Kubernetes {version}; {pinned} support it"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gke_versions_compare_by_patch_and_gke_build() {
        let v = |s| gke_version(s).unwrap();
        assert!(v("1.33.0-gke.1712000") <= v("1.33.0-gke.1712000"));
        assert!(v("1.33.0-gke.1711999") < v(FLEX_START_SINCE));
        assert!(v("1.32.9-gke.9999999") < v(FLEX_START_SINCE));
        assert!(v("1.35.3-gke.200") > v(FLEX_START_SINCE));
        assert_eq!(gke_version("1.35"), None);
    }

    #[test]
    fn minors() {
        assert_eq!(minor("1.35.3-gke.200"), Some(35));
        assert_eq!(minor("2.0.0"), None);
        assert_eq!(range(&[34, 35, 36]), "1.34-1.36");
    }
}
