//! `sdctl runtime router|sidecar|reclaim`: the in-cluster components. Flags and environment are
//! resolved here into plain options; secrets (the Redis AUTH string) come only from the
//! environment, never from argv, where `ps` and pod specs would show them.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::exit::{Exit, ExitCode};
use crate::names::{Names, ROUTER_PORT};
use crate::plan::TimeScale;
use crate::runtime::router::identity::GOOGLE_JWKS_URL;
use crate::runtime::router::{IdentityOptions, RouterOptions, WebUiSource};
use crate::runtime::sidecar::SidecarOptions;
use crate::runtime::store::RedisOptions;
use crate::runtime::{reclaim, router, sidecar};

/// The environment variable holding the Redis AUTH string (from the `sdctl-redis` Secret).
pub const REDIS_PASSWORD_ENV: &str = "SDCTL_REDIS_PASSWORD";

#[derive(Debug, Clone, Args)]
pub struct RedisArgs {
    /// Redis to keep the user -> WebUI map in: redis://HOST:6379, or rediss://HOST:6378 for TLS.
    /// The AUTH string goes in SDCTL_REDIS_PASSWORD, not in the URL.
    #[arg(long, env = "SDCTL_REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: String,
    /// PEM file with the Redis server's CA (Memorystore in-transit encryption).
    #[arg(long, env = "SDCTL_REDIS_CA_FILE", value_name = "FILE")]
    pub redis_ca: Option<PathBuf>,
}

impl RedisArgs {
    fn options(&self) -> anyhow::Result<RedisOptions> {
        let ca_pem = match &self.redis_ca {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("cannot read the Redis CA {}", path.display()))?)
            }
            None => None,
        };
        Ok(RedisOptions {
            url: self.redis_url.clone(),
            password: std::env::var(REDIS_PASSWORD_ENV).ok().filter(|p| !p.is_empty()),
            ca_pem,
        })
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Environment: SDCTL_REDIS_URL, SDCTL_REDIS_PASSWORD (the AUTH string; never a flag),
SDCTL_REDIS_CA_FILE, SDCTL_IAP_AUDIENCE; KUBECONFIG outside a cluster.

Users are identified by IAP's signed header x-goog-iap-jwt-assertion (ES256, checked against IAP's
public keys, audience, issuer and expiry). The first request of a user allocates a WebUI GameServer
of the Fleet and labels it sdctl.dev/user=<name>-<hash>; later requests, and router restarts, find
the same one through Redis (hash sdctl:user:<email>). A gone GameServer is replaced on the next
request. With no free GPU the user gets a page that refreshes itself.

With --templates (OpenKruiseGame), each user has their own instance of each template: the pod
<template>-<id> of that GameServerSet, with the disk data-<template>-<id> labelled with the user.
The first request starts it (a new user gets an id and a disk first) and a page waits until it is
Ready. The cookie sdctl-template picks the template; /_sdctl/ is the user's dashboard (open, stop).

Examples:
  sdctl runtime router --namespace sd --fleet webui \\
      --iap-audience /projects/123456789/global/backendServices/
  sdctl runtime router --namespace sd --templates sd15,sdxl --iap-audience ...
  sdctl runtime router --trust-iap-header --redis-url redis://127.0.0.1:6379   (tests only)")]
pub struct RouterArgs {
    /// Address to listen on (HTTP; the load balancer's health checks come here too).
    #[arg(long, value_name = "ADDR", default_value_t = SocketAddr::from(([0, 0, 0, 0], ROUTER_PORT)))]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Namespace of the WebUI GameServers.
    #[arg(long, value_name = "NS", env = "SDCTL_NAMESPACE", default_value = "sd")]
    pub namespace: String,
    /// Fleet to allocate WebUI GameServers from; several (comma-separated): a Fleet per template,
    /// chosen on the user's dashboard.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', default_value = Names::FLEET, conflicts_with = "templates")]
    pub fleet: Vec<String>,
    /// OpenKruiseGame: the GameServerSets (one per template) users get their own instances of.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', num_args = 1..)]
    pub templates: Vec<String>,
    /// IAP's audience for this backend: /projects/NUMBER/global/backendServices/ID. Ending in `/`
    /// accepts any backend service of that project.
    #[arg(long, value_name = "AUD", env = "SDCTL_IAP_AUDIENCE", required_unless_present = "trust_iap_header")]
    pub iap_audience: Option<String>,
    /// Where IAP's signing keys are published (JWKS).
    #[arg(long, value_name = "URL", default_value = GOOGLE_JWKS_URL)]
    pub iap_jwks_url: String,
    /// Take the user from x-goog-authenticated-user-email without verifying it. Tests only:
    /// anyone who can reach the router could claim to be anyone.
    #[arg(long, conflicts_with = "iap_audience")]
    pub trust_iap_header: bool,
    /// Threads serving requests, each with its own connections (as nginx's worker processes)
    /// [default: one per CPU the pod may use].
    #[arg(long, value_name = "N", env = "SDCTL_ROUTER_THREADS")]
    pub threads: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Runs beside the WebUI in each GameServer pod: waits until the WebUI answers 200, then calls the
Agones SDK's Ready (so users are only sent to a WebUI that works), pings /health only while the
WebUI answers, and writes the allocated user's label to --user-file (a shared emptyDir) for the
WebUI's start script. Stops cleanly on SIGTERM.")]
pub struct SidecarArgs {
    /// The WebUI inside the pod.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:7860/")]
    pub webui_url: String,
    /// Port of the Agones SDK server's REST API (Agones sets AGONES_SDK_HTTP_PORT).
    #[arg(long, value_name = "PORT", env = "AGONES_SDK_HTTP_PORT", default_value_t = 9358)]
    pub sdk_port: u16,
    /// File that receives the allocated user's label.
    #[arg(long, value_name = "FILE", default_value = "/run/sdctl/user")]
    pub user_file: PathBuf,
    /// Time between WebUI checks and health pings (keep it below the GameServer's
    /// health.periodSeconds).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = super::parse_duration)]
    pub interval: Duration,
    /// How long a starting WebUI (loading a checkpoint from the shared volume) is kept healthy
    /// before it first answers; past that it is left to Agones, which replaces it.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = super::parse_duration)]
    pub startup_timeout: Duration,
    /// The pod-local directory the WebUI writes its outputs to.
    #[arg(long, value_name = "DIR", default_value = "/sd/outputs")]
    pub outputs: PathBuf,
    /// The shared volume's folder of every user's outputs: the allocated user's outputs are
    /// copied into its subfolder named after the user (nothing is copied when it is missing).
    #[arg(long, value_name = "DIR", default_value = "/sd/user-outputs")]
    pub user_outputs: PathBuf,
}

#[derive(Debug, Args)]
#[command(after_help = "\
One pass, as a CronJob runs it: releases the GameServers of users idle longer than --idle-minutes
(Redis lastaccess), removes mappings whose GameServer is gone, and releases Allocated GameServers
that no mapping points to once older than --orphan-grace. Logs what it did; safe to run twice at
once.

With --templates (OpenKruiseGame) it stops idle users' instances instead (their disks and ids
stay theirs), instances nobody uses (Ready for --orphan-grace without a mapping, or not Ready
after an hour), and instances whose pod was never made (seen so by passes --orphan-grace apart),
which would keep every other instance of the template from starting.

Example:
  sdctl runtime reclaim --namespace sd --idle-minutes 15
  sdctl runtime reclaim --namespace sd --idle-minutes 15 --templates sd15,sdxl")]
pub struct ReclaimArgs {
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Namespace of the WebUI GameServers.
    #[arg(long, value_name = "NS", env = "SDCTL_NAMESPACE", default_value = "sd")]
    pub namespace: String,
    /// Release a user's GameServer after this many minutes without a request.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_minutes: u64,
    /// How long an Allocated GameServer without a mapping is left alone.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = super::parse_duration)]
    pub orphan_grace: Duration,
    /// OpenKruiseGame: the GameServerSets (one per template) whose instances are users' own.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', num_args = 1..)]
    pub templates: Vec<String>,
    /// Agones with a Fleet per template: the Fleets (as the router's --fleet).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',', conflicts_with = "templates")]
    pub fleet: Vec<String>,
}

pub async fn router(args: RouterArgs, time: TimeScale) -> anyhow::Result<ExitCode> {
    let identity = match (args.trust_iap_header, args.iap_audience) {
        (true, _) => IdentityOptions::TrustHeader,
        (false, Some(audience)) if !audience.is_empty() => {
            IdentityOptions::Iap { audience, jwks_url: args.iap_jwks_url }
        }
        _ => return Err(Exit::usage("--iap-audience (or SDCTL_IAP_AUDIENCE) is required").into()),
    };
    router::run(RouterOptions {
        listen: args.listen,
        redis: args.redis.options()?,
        namespace: args.namespace,
        source: match args.templates.is_empty() {
            true => WebUiSource::Fleets(args.fleet),
            false => WebUiSource::Templates(args.templates),
        },
        identity,
        time,
        threads: args.threads.unwrap_or_else(router::default_threads),
    })
    .await?;
    Ok(ExitCode::Ok)
}

pub async fn sidecar(args: SidecarArgs) -> anyhow::Result<ExitCode> {
    sidecar::run(SidecarOptions {
        webui_url: args.webui_url,
        sdk_url: format!("http://127.0.0.1:{}", args.sdk_port),
        user_file: args.user_file,
        interval: args.interval,
        startup: args.startup_timeout,
        outputs: match args.user_outputs.is_dir() {
            true => Some((args.outputs, args.user_outputs)),
            false => {
                tracing::warn!(dir = %args.user_outputs.display(), "no shared outputs folder: outputs stay in the pod");
                None
            }
        },
    })
    .await?;
    Ok(ExitCode::Ok)
}

pub async fn reclaim(args: ReclaimArgs) -> anyhow::Result<ExitCode> {
    reclaim::run(reclaim::ReclaimOptions {
        redis: args.redis.options()?,
        namespace: args.namespace,
        idle: Duration::from_secs(args.idle_minutes * 60),
        grace: args.orphan_grace,
        templates: args.templates,
        fleets: args.fleet,
    })
    .await?;
    Ok(ExitCode::Ok)
}
