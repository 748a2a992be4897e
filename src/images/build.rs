//! Building an image with Cloud Build: render and pack the context, skip when the tag is
//! already in Artifact Registry, upload the context to the staging bucket, create the build
//! (explicit timeout, machine type and disk), follow it with its status and log tail as
//! progress, and fail with the log tail when it does not succeed.

use std::path::Path;
use std::time::{Duration, Instant};

use google_cloud_build_v1::model::build::Status;
use google_cloud_build_v1::model::build_options::{LoggingMode, MachineType};
use google_cloud_build_v1::model::{Build, BuildOperationMetadata, BuildOptions, BuildStep, Source, StorageSource};

use super::ImageKind;
use crate::gcp::storage::StorageClient;
use crate::gcp::wait::{self, Patience, Poll};
use crate::gcp::{ApiError, retry};
use crate::plan::StepCx;
use crate::steps::Env;
use crate::steps::iam::{Account, PolicyOf};
use crate::ui::duration;

/// Lines of the build log shown when a build fails.
const LOG_TAIL: usize = 15;
/// Builds wait in Cloud Build's queue before they run; allowed on top of the build timeout.
const QUEUE_ALLOWANCE: Duration = Duration::from_secs(30 * 60);

/// How an image is built: the guide's big machine for the WebUI (pip installs torch and
/// xformers), the default one for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildSpec {
    pub timeout: Duration,
    pub machine: Option<MachineType>,
    pub disk_gb: Option<i64>,
}

impl BuildSpec {
    pub fn of(kind: ImageKind, from_source: bool) -> Self {
        match kind {
            ImageKind::Webui | ImageKind::Comfyui => Self {
                timeout: Duration::from_secs(2 * 3600),
                machine: Some(MachineType::E2Highcpu32),
                disk_gb: Some(100),
            },
            ImageKind::Runtime if from_source => {
                Self { timeout: Duration::from_secs(45 * 60), machine: Some(MachineType::E2Highcpu8), disk_gb: None }
            }
            ImageKind::Runtime => Self { timeout: Duration::from_secs(20 * 60), machine: None, disk_gb: None },
        }
    }
}

/// An image reference and whether this run built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub image: String,
    pub tag: String,
    pub built: bool,
}

/// The image of `kind` for the current context: its tag (context digest), and whether the
/// registry already has it.
pub async fn lookup(
    cx: &StepCx<Env>,
    kind: ImageKind,
    runtime_binary: Option<&Path>,
) -> anyhow::Result<(String, bool)> {
    let context = kind.context(runtime_binary)?;
    let tag = context.tag()?;
    let exists = tag_exists(cx, kind.image_name(), &tag).await?;
    Ok((tag, exists))
}

/// Builds the image unless the registry has it already (`force`: build anyway).
pub async fn ensure(
    cx: &StepCx<Env>,
    kind: ImageKind,
    runtime_binary: Option<&Path>,
    force: bool,
) -> anyhow::Result<Built> {
    let env = &cx.env;
    let context = kind.context(runtime_binary)?;
    let tag = context.tag()?;
    let image = env.names.image(&format!("{}:{tag}", kind.image_name()));
    if !force && tag_exists(cx, kind.image_name(), &tag).await? {
        cx.progress(format!("{} {tag} already in the registry", kind.image_name()));
        env.outputs.set(kind.output_key(), &image);
        return Ok(Built { image, tag, built: false });
    }
    let bucket = env.names.build_bucket();
    env.builder_ready.get_or_try_init(|| ensure_builder(cx)).await?;
    let object = format!("contexts/{}-{tag}.tar.gz", kind.image_name());
    let packed = context.tar_gz()?;
    cx.progress(format!("uploading the {} context ({} KiB)", kind.word(), packed.len().div_ceil(1024)));
    let storage = StorageClient::new(&env.gcp);
    retry::call(cx, &format!("upload gs://{bucket}/{object}"), || storage.upload(&bucket, &object, packed.clone()))
        .await?;
    let from_source = context.file("sdctl").is_none() && kind == ImageKind::Runtime;
    let spec = BuildSpec::of(kind, from_source);
    let id = start(cx, kind, &image, &bucket, &object, spec.clone()).await?;
    follow(cx, kind, &id, &bucket, spec).await?;
    env.outputs.set(kind.output_key(), &image);
    Ok(Built { image, tag, built: true })
}

/// What the build service account may do, and nothing more: read contexts and write logs in the
/// staging bucket, push to the repository. (cloud.google.com/build/docs/securing-builds/
/// configure-user-specified-service-accounts; it writes logs to the bucket, not Cloud Logging.)
pub const BUILDER_BUCKET_ROLE: &str = "roles/storage.objectAdmin";
pub const BUILDER_REPOSITORY_ROLE: &str = "roles/artifactregistry.writer";

/// The staging bucket and the build service account with exactly what builds need. New projects
/// would run builds as Compute Engine's default account, which an organization policy
/// (`iam.automaticIamGrantsForDefaultServiceAccounts`) may leave without any role.
pub async fn ensure_builder(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let bucket = env.names.build_bucket();
    ensure_bucket(cx, &bucket).await?;
    Account::Builds.ensure(cx).await?;
    let member = Account::Builds.member(env);
    PolicyOf::Bucket(&bucket).edit(cx, &[(BUILDER_BUCKET_ROLE, &member)], true).await?;
    PolicyOf::Repository(&repository_path(env)).edit(cx, &[(BUILDER_REPOSITORY_ROLE, &member)], true).await?;
    Ok(())
}

/// The build request.
pub fn request(env: &Env, kind: ImageKind, image: &str, bucket: &str, object: &str, spec: BuildSpec) -> Build {
    let mut options = BuildOptions::new().set_logging(LoggingMode::GcsOnly);
    if let Some(machine) = spec.machine.clone() {
        options = options.set_machine_type(machine);
    }
    if let Some(disk) = spec.disk_gb {
        options = options.set_disk_size_gb(disk);
    }
    Build::new()
        .set_source(Source::new().set_storage_source(StorageSource::new().set_bucket(bucket).set_object(object)))
        .set_steps([BuildStep::new().set_name("gcr.io/cloud-builders/docker").set_args(["build", "--tag", image, "."])])
        .set_images([image])
        .set_timeout(google_cloud_wkt::Duration::clamp(spec.timeout.as_secs() as i64, 0))
        .set_logs_bucket(format!("gs://{bucket}"))
        .set_service_account(Account::Builds.resource(env))
        .set_options(options)
        .set_tags(["sdctl".to_string(), format!("sdctl-env-{}", env.names.env()), kind.image_name().to_string()])
}

async fn start(
    cx: &StepCx<Env>,
    kind: ImageKind,
    image: &str,
    bucket: &str,
    object: &str,
    spec: BuildSpec,
) -> anyhow::Result<String> {
    let env = &cx.env;
    let client = env.gcp.cloud_build().await?;
    let build = request(env, kind, image, bucket, object, spec.clone());
    let op = retry::call(cx, &format!("start the {} build", kind.word()), || {
        client.create_build().set_project_id(env.project()).set_build(build.clone()).send()
    })
    .await?;
    let id = op
        .metadata
        .as_ref()
        .and_then(|m| m.to_msg::<BuildOperationMetadata>().ok())
        .and_then(|m| m.build)
        .map(|b| b.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| anyhow::anyhow!("Cloud Build accepted the {} build but did not say its id", kind.word()))?;
    cx.progress(format!("{} build {} queued", kind.word(), short(&id)));
    Ok(id)
}

/// Polls the build until it finishes; progress shows its status and the log's last line.
async fn follow(cx: &StepCx<Env>, kind: ImageKind, id: &str, bucket: &str, spec: BuildSpec) -> anyhow::Result<()> {
    let env = &cx.env;
    let client = env.gcp.cloud_build().await?;
    let storage = StorageClient::new(&env.gcp);
    let started = Instant::now();
    let what = format!("the {} build {}", kind.word(), short(id));
    let patience = Patience { interval: Duration::from_secs(5), timeout: spec.timeout + QUEUE_ALLOWANCE };
    let log_object = format!("log-{id}.txt");
    let build = wait::until(cx, &what, patience, || async {
        let build = retry::call(cx, &format!("read {what}"), || {
            client.get_build().set_project_id(env.project()).set_id(id).send()
        })
        .await?;
        if is_finished(&build.status) {
            return Ok(Poll::Ready(build));
        }
        let last = read_log(&storage, bucket, &log_object).await.lines().last().map(str::to_string).unwrap_or_default();
        Ok(Poll::Pending(format!(
            "{} {}{}",
            build.status.name().unwrap_or("PENDING"),
            duration(started.elapsed()),
            if last.is_empty() { String::new() } else { format!(": {last}") }
        )))
    })
    .await?;
    if build.status == Status::Success {
        cx.progress(format!("{} built in {}", kind.word(), duration(started.elapsed())));
        return Ok(());
    }
    let log = read_log(&storage, bucket, &log_object).await;
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n    ");
    anyhow::bail!(
        "the {} image build {} ended {}: {}\n  log tail (gs://{bucket}/{log_object}):\n    {tail}\n  full log: {}",
        kind.word(),
        short(id),
        build.status.name().unwrap_or("UNKNOWN"),
        if build.status_detail.is_empty() { "no detail given" } else { &build.status_detail },
        build.log_url
    )
}

fn is_finished(status: &Status) -> bool {
    !matches!(status, Status::Queued | Status::Working | Status::Pending | Status::Unknown)
}

/// The build log so far (empty when not written yet).
async fn read_log(storage: &StorageClient<'_>, bucket: &str, object: &str) -> String {
    storage.download(bucket, object).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn repository_path(env: &Env) -> String {
    format!("projects/{}/locations/{}/repositories/{}", env.project(), env.config.region, env.names.repository())
}

/// Whether the repository holds `image:tag`.
pub async fn tag_exists(cx: &StepCx<Env>, image: &str, tag: &str) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.artifact_registry().await?;
    let parent = repository_path(env);
    let marker = format!("/{image}@");
    let mut token = String::new();
    loop {
        let page = retry::call(cx, "list the repository's images", || {
            client.list_docker_images().set_parent(&parent).set_page_token(&token).send()
        })
        .await;
        let page = match page {
            Ok(p) => p,
            Err(e) if e.downcast_ref::<ApiError>().is_some_and(ApiError::is_not_found) => {
                anyhow::bail!(
                    "Artifact Registry repository {} does not exist yet; run `sdctl up registry` first",
                    env.names.repository()
                )
            }
            Err(e) => return Err(e),
        };
        if page.docker_images.iter().any(|i| i.uri.contains(&marker) && i.tags.iter().any(|t| t == tag)) {
            return Ok(true);
        }
        if page.next_page_token.is_empty() {
            return Ok(false);
        }
        token = page.next_page_token;
    }
}

/// The staging bucket exists (created with the environment's label when missing).
pub async fn ensure_bucket(cx: &StepCx<Env>, bucket: &str) -> anyhow::Result<()> {
    let env = &cx.env;
    let storage = StorageClient::new(&env.gcp);
    match retry::call(cx, &format!("read bucket {bucket}"), || storage.get_bucket(bucket)).await {
        Ok(b) if env.owns(&b.labels) => return Ok(()),
        Ok(_) => anyhow::bail!(
            "bucket {bucket} exists but is not managed by sdctl environment {} (its sdctl-env label says otherwise); \
             rename the environment or delete that bucket yourself",
            env.names.env()
        ),
        Err(e) if !e.downcast_ref::<ApiError>().is_some_and(ApiError::is_not_found) => return Err(e),
        Err(_) => {}
    }
    cx.progress(format!("creating the staging bucket gs://{bucket}"));
    let labels = env.labels();
    let created = retry::call(cx, &format!("create bucket {bucket}"), || {
        storage.create_bucket(env.project(), bucket, &env.config.region, &labels)
    })
    .await;
    match created {
        Ok(_) => Ok(()),
        // The other image's build made it a moment ago.
        Err(e) if e.downcast_ref::<ApiError>().is_some_and(ApiError::is_already_exists) => {
            let b = retry::call(cx, &format!("read bucket {bucket}"), || storage.get_bucket(bucket)).await?;
            anyhow::ensure!(env.owns(&b.labels), "bucket {bucket} already exists and is not this environment's");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
