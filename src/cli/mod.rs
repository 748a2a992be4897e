//! The command line: one module per subcommand, each thin (parse arguments, call the library).

mod build;
mod completions;
mod cost;
mod down;
mod image_cache;
mod init;
mod invocation;
mod kubeconfig;
mod one_step;
mod plan;
mod preflight;
mod render;
mod runtime;
mod status;
mod templates;
mod up;
mod users;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

pub use invocation::Invocation;

use crate::exit::ExitCode;
use crate::ui::OutputFormat;

const ABOUT: &str = "Provision and tear down a multi-user Stable Diffusion WebUI service on GKE";

const LONG_ABOUT: &str = "\
sdctl stands up a multi-user Stable Diffusion WebUI service on Google Kubernetes Engine and tears it
down again: each signed-in user gets a dedicated GPU pod (an Agones GameServer), models live on shared
storage (Filestore or Cloud Storage), idle pods are reclaimed, and everything sits behind
Identity-Aware Proxy.

Typical session:
  sdctl init                 write sdctl.yaml (asks a few questions)
  sdctl plan                 show what would be created
  sdctl up                   create or update everything; run again to resume after a failure
  sdctl status               what exists, what drifted
  sdctl down                 delete everything, then report anything left behind

Exit codes: 0 ok, 1 unexpected error, 2 invalid usage or config, 3 preflight failed, 4 apply failed
part-way (run again to resume), 5 teardown left resources, 10 changes pending (--exit-code), 130
interrupted.";

#[derive(Debug, Parser)]
#[command(name = "sdctl", version, about = ABOUT, long_about = LONG_ABOUT, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// An in-cluster component (`sdctl runtime ...`): it logs at info level by default.
    pub fn is_runtime(&self) -> bool {
        matches!(self.command, Command::Runtime(_))
    }
}

/// Flags valid before or after any subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file.
    #[arg(short = 'c', long, global = true, value_name = "FILE", default_value = "sdctl.yaml", env = "SDCTL_CONFIG")]
    pub config: PathBuf,

    /// Output format: human (progress on stderr) or json (newline-delimited events on stdout).
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,

    /// Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop
    /// users' WebUIs of a template removed from the config).
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get
    /// anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL.
    #[arg(long, global = true, value_name = "BASE", env = "SDCTL_API_ENDPOINT")]
    pub api_endpoint: Option<String>,

    /// Google Cloud project (overrides `project` in the file).
    #[arg(long, global = true, value_name = "PROJECT", env = "SDCTL_PROJECT")]
    pub project: Option<String>,

    /// Region (overrides `region` in the file).
    #[arg(long, global = true, value_name = "REGION", env = "SDCTL_REGION")]
    pub region: Option<String>,

    /// Zones, comma-separated (overrides `zones` in the file).
    #[arg(long, global = true, value_name = "ZONES", env = "SDCTL_ZONES")]
    pub zones: Option<String>,

    /// More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too.
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 90s, 45m, 2h)"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write sdctl.yaml: interactively in a terminal, or from flags with --yes.
    Init(InitArgs),
    /// Show what `up` would create, update or leave alone, step by step.
    Plan(PlanArgs),
    /// Create or update everything (or the named steps and what they need). Safe to re-run.
    Up(UpArgs),
    /// Delete everything (or the named steps and what depends on them), then report leftovers.
    Down(DownArgs),
    /// Show each resource's live state, what is missing and what drifted from the config.
    Status(StatusArgs),
    /// Check credentials, billing, APIs, permissions, quotas, GPU availability and org policies.
    Preflight(PreflightArgs),
    /// Estimate the hourly and monthly cost, idle and at full load.
    Cost(CostArgs),
    /// Write every Kubernetes object sdctl would apply as YAML.
    Render(RenderArgs),
    /// Build the WebUI or runtime image with Cloud Build (skipped when the registry has it).
    Build(BuildArgs),
    /// Build the GPU nodes' image cache: a disk image holding the WebUI image (gpu.imageCache).
    ImageCache(ImageCacheArgs),
    /// What users can start (`templates:` in the config) and, with the cluster running, each
    /// template's instances and disks.
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// The users of the running environment: their instances, disks and last activity; stop or
    /// delete what a user holds.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Add a context for the cluster to your kubeconfig (other contexts untouched).
    Kubeconfig(KubeconfigArgs),
    /// Print shell completions: bash, zsh, fish, powershell or elvish.
    Completions(CompletionsArgs),
    /// Components that run inside the cluster (router, sidecar, reclaim).
    #[command(subcommand)]
    Runtime(RuntimeCommand),
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List the templates: engine, disk size and, with runtime.kind okg and the cluster running,
    /// instances running, ready, and users' disks (-o json: {"templates":[...]}).
    #[command(after_help = "\
Examples:
  sdctl templates ls
  sdctl templates ls -o json | jq '.templates[] | select(.running > 0) | .name'")]
    Ls,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users: template, instance, state, last activity and disk (with runtime.kind okg, each
    /// user's own disk per template and what it costs). -o json: {"users":[...]}.
    #[command(after_help = "\
The last activity is what reclaim last read from the router (every 5 minutes). Disks kept by
`down --keep-data` are listed as `kept`, with or without a cluster, until `up` gives them back.

Examples:
  sdctl users ls
  sdctl users ls -o json | jq -r '.users[] | select(.state == \"ready\") | .email'")]
    Ls,
    /// Stop a user's instances (one template with --template); their disks stay theirs, and their
    /// next request starts the instance again on the same disk.
    #[command(after_help = "\
Examples:
  sdctl users stop alice@example.com
  sdctl users stop alice@example.com --template sdxl")]
    Stop {
        /// The address the user signs in with.
        email: String,
        /// Only the instance of this template.
        #[arg(long, value_name = "NAME")]
        template: Option<String>,
    },
    /// Stop a user's instances and delete their disks (asks first; -y in scripts).
    #[command(after_help = "\
Disks kept by `down --keep-data` are deleted too, even with the cluster gone. With runtime.kind
agones a user's files are their folder of the shared volume: only --keep-data (release their
WebUI) applies.

Examples:
  sdctl users delete bob@example.com
  sdctl users delete bob@example.com --keep-data")]
    Delete {
        /// The address the user signs in with.
        email: String,
        /// Keep the user's disks (only stop their instances).
        #[arg(long)]
        keep_data: bool,
    },
}

/// Options of `up`, `plan`, `render`, `status` and `down` that supply upstream manifests.
#[derive(Debug, Clone, Args, Default)]
pub struct ManifestArgs {
    /// Use this Agones install.yaml instead of downloading the pinned release (air-gapped use).
    #[arg(long, value_name = "FILE")]
    pub agones_manifest: Option<PathBuf>,
    /// Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one.
    #[arg(long, value_name = "FILE")]
    pub driver_manifest: Option<PathBuf>,
    /// With `runtime.kind: okg`: read OpenKruise's and OpenKruiseGame's files from this directory
    /// instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each
    /// holding `crd/*.yaml` (the projects' config/crd/bases/), `rbac/*.yaml` and, for kruise,
    /// `webhook/manifests.yaml`, from the release tags.
    #[arg(long, value_name = "DIR")]
    pub okg_manifests: Option<PathBuf>,
}

impl ManifestArgs {
    /// Run options with these manifests and everything else default.
    pub fn into_options(self) -> crate::steps::RunOptions {
        crate::steps::RunOptions {
            agones_manifest: self.agones_manifest,
            driver_manifest: self.driver_manifest,
            okg_manifests: self.okg_manifests,
            ..Default::default()
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sdctl plan --offline -c examples/sd-agones-t4.yaml    every step, no credentials needed
  sdctl plan --exit-code                                 exit 10 when changes are pending (CI)
  sdctl plan -o json | jq '.steps[].id'")]
pub struct PlanArgs {
    /// Assume an empty project: no credentials, no network.
    #[arg(long)]
    pub offline: bool,
    /// Exit 10 when changes are pending, 0 when everything is in sync.
    #[arg(long)]
    pub exit_code: bool,
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Steps: apis network cluster gpu-pool drivers storage redis registry address images agones volumes
fleet router reclaim ingress (drivers only with gpu.driver: daemonset).

Examples:
  sdctl up                       everything; run again to resume after a failure
  sdctl up gpu-pool              the GPU node pool and what it needs (apis, network, cluster)
  sdctl up -o json | jq -c .     machine-readable events for CI")]
pub struct UpArgs {
    /// Steps to run (with everything they depend on). None: all.
    #[arg(value_name = "STEP")]
    pub steps: Vec<String>,
    /// Skip the closing smoke check (a warm WebUI GameServer Ready).
    #[arg(long)]
    pub no_wait: bool,
    /// Skip the checks that run before anything is created.
    #[arg(long)]
    pub skip_preflight: bool,
    /// Refuse (exit 3) when the full-load estimate exceeds this many USD per hour.
    #[arg(long, value_name = "USD")]
    pub max_hourly_cost: Option<f64>,
    /// Wait until the managed certificate is active (it needs the DNS record first).
    #[arg(long)]
    pub wait_for_certificate: bool,
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sdctl down                     everything (asks first; -y in scripts)
  sdctl down --keep-data         keep the models/outputs storage and Redis
  sdctl down fleet               the Fleet and what depends on it")]
pub struct DownArgs {
    /// Steps to delete (with everything that depends on them). None: all.
    #[arg(value_name = "STEP")]
    pub steps: Vec<String>,
    /// Keep storage (models, user outputs) and Redis; they are reported as kept.
    #[arg(long)]
    pub keep_data: bool,
    /// The manifests `up` used (to know which of their objects to delete).
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sdctl render --offline --out rendered/ -c examples/sd-agones-t4.yaml --agones-manifest install.yaml")]
pub struct RenderArgs {
    /// Render without a cluster: values only known live are stand-ins from 192.0.2.0/24.
    #[arg(long)]
    pub offline: bool,
    /// Directory for the YAML files (one per step).
    #[arg(long, value_name = "DIR")]
    pub out: std::path::PathBuf,
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Images are tagged with a digest of their build context (Dockerfile, scripts, the sdctl executable),
so an image the registry already has is not rebuilt. Contexts and logs go to the staging bucket
<name>-build-<hash> (deleted by `sdctl down`). The WebUI images (webui: AUTOMATIC1111, comfyui:
ComfyUI) build on an e2-highcpu-32 machine with a 100 GB disk (up to 2 hours); the runtime image
ships this sdctl executable when it is linux x86-64 (SDCTL_RUNTIME_BINARY names another), else
builds sdctl from source.

Examples:
  sdctl build                    the images the config's templates run, each only if missing
  sdctl build webui --force      rebuild the WebUI image even if the registry has it
  sdctl build runtime -o json")]
pub struct BuildArgs {
    /// Which image (default: those the configuration runs).
    #[arg(value_enum)]
    pub image: Option<crate::images::ImageKind>,
    /// Build even when the registry already has an image with this context's tag.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
A GPU node pulls the WebUI image (several GB) before a user's WebUI can start. With
gpu.imageCache: true, every GPU node instead gets a secondary boot disk that already holds it
(GKE's CONTAINER_IMAGE_CACHE, read through image streaming). The disk image is made by a
temporary Container-Optimized OS VM without an external IP (it needs Private Google Access on
the subnetwork, or a private cluster's Cloud NAT) running as the node service account; the VM
and its data disk are deleted afterwards, whether the build worked or not. The image is named
<name>-cache-<WebUI tag>, so it is built once per WebUI image; `sdctl down` deletes it.

Examples:
  sdctl image-cache              build it unless the current WebUI image has one
  sdctl image-cache --force      delete and rebuild it (GPU nodes added meanwhile fail to start)
  sdctl image-cache -o json")]
pub struct ImageCacheArgs {
    /// Rebuild even when the image exists and is READY.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sdctl status                   live state of every step's resources
  sdctl status --exit-code       exit 10 when something is missing or drifted (monitoring, CI)
  sdctl status -o json")]
pub struct StatusArgs {
    /// Exit 10 when something is missing or drifted from the config, 0 when in sync.
    #[arg(long)]
    pub exit_code: bool,
    #[command(flatten)]
    pub manifests: ManifestArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sdctl kubeconfig                      add the context to ~/.kube/config and switch to it
  sdctl kubeconfig --kubeconfig ./kc    write another file (kubectl --kubeconfig ./kc get gameservers -n sd)")]
pub struct KubeconfigArgs {
    /// The kubeconfig to write (default: the first file of KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Add the context without making it the current one.
    #[arg(long)]
    pub no_switch: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Each check prints pass, warn, FAIL or skip, and what to do when it is not a pass: credentials,
project, billing, APIs, permissions (testIamPermissions with what each planned step needs), quotas
at the plan's maximum (regional clusters multiply per-zone node counts), GPU and machine types per
zone, the organization policies the guide asks to lift, IAP members, Kubernetes versions vs the
pinned Agones releases. Nothing is created. `sdctl up` runs the same checks first.

Examples:
  sdctl preflight                       everything the configuration plans
  sdctl preflight gpu-pool              only what the GPU pool (and what it needs) plans
  sdctl preflight -o json | jq '.checks[] | select(.status == \"fail\")'")]
pub struct PreflightArgs {
    /// Check the permissions of these steps (and what they need) only. None: every step.
    #[arg(value_name = "STEP")]
    pub steps: Vec<String>,
    /// Also fail when the full-load cost estimate exceeds this many USD per hour.
    #[arg(long, value_name = "USD")]
    pub max_hourly_cost: Option<f64>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Idle: nobody signed in (system nodes, the warm buffer's GPU nodes, storage, Redis, load balancer,
NAT). Full load: runtime.maxUsers WebUI pods packed onto GPU nodes.
Prices: the config's region from Google's Cloud Billing Catalog (Application Default
Credentials; read once a day, kept in ~/.cache/sdctl/prices), else sdctl's us-central1 table
(docs/cost-model.md), saying why. `-o json` names the source in `prices`.

Examples:
  sdctl cost -c examples/sd-agones-t4.yaml
  sdctl cost --offline                    # sdctl's table: no credentials, no network
  sdctl cost -o json | jq .prices.source")]
pub struct CostArgs {
    /// Use sdctl's built-in us-central1 price table: no credentials, no network.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
In a terminal, init asks each question with a default detected from gcloud's configuration
(CLOUDSDK_* variables, the active configuration's project, region, zone and account),
GOOGLE_CLOUD_PROJECT and Cloud Shell. Every question has a flag; --yes takes the default for the
rest. Without a terminal and without --yes, init lists the flags it is missing (exit 2).
The file goes to -c FILE (default sdctl.yaml); an existing file is only replaced when you agree
(or with --force).

Examples:
  sdctl init
  sdctl init --yes --project my-project --region us-central1 --gpu l4
  sdctl init --project p --region us-central1 --zones us-central1-a --name sd-demo --gpu t4 \\
             --storage filestore --max-users 3 --domain sd.example.com --iap-member user:alice@example.com")]
pub struct InitArgs {
    /// Environment name ([a-z][a-z0-9-]{0,19}); every resource name derives from it.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// GPU type: t4 (nvidia-tesla-t4 on N1) or l4 (nvidia-l4 on G2).
    #[arg(long, value_name = "TYPE", value_parser = ["t4", "l4"])]
    pub gpu: Option<String>,
    /// Where models and outputs live: filestore (NFS) or gcs (Cloud Storage through GCS-Fuse).
    #[arg(long, value_name = "KIND", value_parser = ["filestore", "gcs"])]
    pub storage: Option<String>,
    /// Most users served at once (one GPU each); sets gpu.maxNodes to match.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_users: Option<u32>,
    /// Public host name; "" for <static-ip>.sslip.io.
    #[arg(long, value_name = "HOST")]
    pub domain: Option<String>,
    /// Who may sign in (repeat, or comma-separated): EMAIL (taken as user:EMAIL), user:EMAIL,
    /// group:EMAIL, domain:DOMAIN.
    #[arg(long = "iap-member", value_name = "MEMBER", value_delimiter = ',')]
    pub iap_members: Option<Vec<String>>,
    /// Replace an existing file without asking.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to print completions for.
    #[arg(value_enum)]
    pub shell: completions::Shell,
}

#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// The per-user reverse proxy behind IAP (runs in the cluster).
    Router(runtime::RouterArgs),
    /// Beside each WebUI: marks the GameServer Ready once the WebUI answers (runs in the cluster).
    Sidecar(runtime::SidecarArgs),
    /// Reclaims idle WebUI GameServers and stale mappings (a CronJob in the cluster).
    Reclaim(runtime::ReclaimArgs),
}

/// Runs the parsed command and returns its exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let inv = Invocation::new(cli.global);
    match cli.command {
        Command::Plan(args) => plan::run(&inv, args).await,
        Command::Up(args) => up::run(&inv, args).await,
        Command::Down(args) => down::run(&inv, args).await,
        Command::Completions(args) => completions::run(&inv, args),
        Command::Init(args) => init::run(&inv, args).await,
        Command::Status(args) => status::run(&inv, args).await,
        Command::Preflight(args) => preflight::run(&inv, args).await,
        Command::Cost(args) => cost::run(&inv, args).await,
        Command::Render(args) => render::run(&inv, args).await,
        Command::Build(args) => build::run(&inv, args).await,
        Command::ImageCache(args) => image_cache::run(&inv, args).await,
        Command::Templates(TemplatesCommand::Ls) => templates::ls(&inv).await,
        Command::Users(UsersCommand::Ls) => users::ls(&inv).await,
        Command::Users(UsersCommand::Stop { email, template }) => users::stop(&inv, &email, template.as_deref()).await,
        Command::Users(UsersCommand::Delete { email, keep_data }) => users::delete(&inv, &email, keep_data).await,
        Command::Kubeconfig(args) => kubeconfig::run(&inv, args).await,
        Command::Runtime(RuntimeCommand::Router(args)) => runtime::router(args, inv.time).await,
        Command::Runtime(RuntimeCommand::Sidecar(args)) => runtime::sidecar(args).await,
        Command::Runtime(RuntimeCommand::Reclaim(args)) => runtime::reclaim(args).await,
    }
}

/// The clap command, for completions and documentation.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
