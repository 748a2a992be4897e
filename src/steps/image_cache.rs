//! `image-cache` (with `gpu.imageCache: true`): a Compute Engine disk image that holds the WebUI
//! image unpacked the way GKE reads a `CONTAINER_IMAGE_CACHE` secondary boot disk, so a new GPU
//! node starts the WebUI without pulling several GB first.
//!
//! A temporary Container-Optimized OS VM (no external IP) runs `templates/image-cache/startup.sh`
//! on a data disk; sdctl follows the script on the VM's serial port, deletes the VM, makes the
//! image from the disk, and deletes the disk — the VM and the disk go whether the build worked or
//! not. The image is named after the WebUI image's tag, so a second `up` builds nothing while the
//! WebUI image is unchanged; `down` deletes every cache image of the environment.
//!
//! Only the WebUI image is cached: it is the large one, and the runtime image changes with every
//! sdctl release, which would otherwise mean a new image (and a new GPU pool) per upgrade.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use google_cloud_compute_v1::model::image::Status as ImageStatus;
use google_cloud_compute_v1::model::{
    AttachedDisk, AttachedDiskInitializeParams, Disk, Image, Instance, Metadata, NetworkInterface, ServiceAccount,
    ShieldedInstanceConfig, metadata,
};
use sha2::{Digest, Sha256};

use super::cluster::CLOUD_PLATFORM_SCOPE;
use super::common::{absent_if_not_found, delete_compute, empty_if_disabled, not_ours, patience};
use super::iam::Account;
use super::{CLUSTER, Env, IMAGE_CACHE, IMAGES, NETWORK};
use crate::config::Engine;
use crate::gcp::wait::{self, Patience, Poll};
use crate::gcp::{ops, retry};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

/// The builder's startup script (tested on its own against fakes of ctr and friends).
pub const STARTUP_SCRIPT: &str = include_str!("../../templates/image-cache/startup.sh");
/// What the script prefixes its serial-port lines with.
const MARKER: &str = "sdctl-image-cache: ";
/// The device name the script formats (`/dev/disk/by-id/google-sdctl-image-cache`).
const DEVICE: &str = "sdctl-image-cache";
/// Container-Optimized OS ships containerd and ctr: nothing to install on the builder.
const BUILDER_IMAGE: &str = "projects/cos-cloud/global/images/family/cos-stable";
pub const BUILDER_MACHINE: &str = "e2-standard-4";
/// The builder's boot disk keeps containerd's copy of the pulled image (compressed and unpacked).
pub const BUILDER_BOOT_GB: i64 = 100;
/// The cache disk: the unpacked WebUI image (CUDA, torch, xformers: about 15 GB) with room to
/// spare. Every GPU node gets a disk of this size from the image, of the boot disk's type.
pub const CACHE_DISK_GB: i64 = 50;
const CACHE_DISK_TYPE: &str = "pd-balanced";
/// The build: boot, a pull of several GB, the copy of its layers.
const BUILD: Patience = Patience::new(10, 60 * 60);

pub struct ImageCache;

#[derive(Default)]
pub struct Live {
    /// The cache image of the current WebUI image, if made.
    image: Option<Image>,
    /// The builder VM and data disk an interrupted build left behind.
    leftovers: Vec<String>,
}

/// The engines whose WebUI images the cache holds: those the templates use.
fn cached_engines(env: &Env) -> Vec<Engine> {
    Engine::ALL.into_iter().map(|(_, e)| e).filter(|e| env.config.templates.iter().any(|t| t.engine == *e)).collect()
}

/// An engine's image tag (the digest of its build context), computed once.
fn engine_tag(engine: Engine) -> &'static str {
    static A1111: OnceLock<String> = OnceLock::new();
    static COMFYUI: OnceLock<String> = OnceLock::new();
    let cell = match engine {
        Engine::A1111 => &A1111,
        Engine::Comfyui => &COMFYUI,
    };
    cell.get_or_init(|| {
        // Invariant: the WebUI contexts are rendered from templates compiled into sdctl (no file
        // or network access), and `images::templates` tests render them.
        engine.image().context(None).and_then(|c| c.tag()).expect("an embedded WebUI build context renders")
    })
}

/// What names the cache image (and a GPU pool made with it): the WebUI image's tag with one
/// engine (AUTOMATIC1111's alone: the name it had before templates), else a digest of the
/// engines' tags.
pub fn cache_tag(env: &Env) -> String {
    let tags: Vec<&str> = cached_engines(env).into_iter().map(engine_tag).collect();
    match tags.as_slice() {
        [one] => one.to_string(),
        many => Sha256::digest(many.join(" ").as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect(),
    }
}

/// The cache image's name for the current WebUI images.
pub fn image_name(env: &Env) -> String {
    env.names.cache_image(&cache_tag(env))
}

/// The image as a node pool's `secondaryBootDisks[].diskImage` names it.
pub fn disk_image(env: &Env) -> String {
    format!("projects/{}/global/images/{}", env.project(), image_name(env))
}

fn zone(env: &Env) -> &str {
    // Config validation guarantees at least one zone.
    env.config.zones.first().map(String::as_str).unwrap_or_default()
}

#[async_trait]
impl Step<Env> for ImageCache {
    type Live = Live;

    fn id(&self) -> StepId {
        IMAGE_CACHE
    }

    fn depends_on(&self) -> Vec<StepId> {
        // The WebUI image to cache; the node service account (the builder runs as it and reads
        // the repository with it) and the network the builder VM lives in.
        vec![IMAGES, CLUSTER, NETWORK]
    }

    fn describe(&self, env: &Env) -> String {
        let name = image_name(env);
        format!("image cache {name}: the WebUI image on a secondary boot disk for GPU nodes")
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        vec![
            "compute.images.get",
            "compute.images.list",
            "compute.images.create",
            "compute.images.delete",
            "compute.disks.get",
            "compute.disks.create",
            "compute.disks.delete",
            "compute.disks.use",
            // An image made from a disk reads it.
            "compute.disks.useReadOnly",
            "compute.disks.setLabels",
            "compute.instances.get",
            "compute.instances.create",
            "compute.instances.delete",
            "compute.instances.setMetadata",
            "compute.instances.setDiskAutoDelete",
            "compute.instances.setLabels",
            "compute.instances.setServiceAccount",
            "compute.instances.getSerialPortOutput",
            "compute.subnetworks.use",
            "compute.subnetworks.get",
            "compute.zoneOperations.get",
            "compute.globalOperations.get",
            "iam.serviceAccounts.actAs",
        ]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Live> {
        let env = &cx.env;
        let name = image_name(env);
        let images = env.gcp.images().await?;
        let image = absent_if_not_found(
            retry::call(cx, &format!("read image {name}"), || {
                images.get().set_project(env.project()).set_image(&name).send()
            })
            .await,
        )?;
        if let Some(found) = &image
            && !env.owns(&found.labels)
        {
            return Err(not_ours("image", &name, env.names.env()));
        }
        Ok(Live { image, leftovers: leftovers(cx).await? })
    }

    fn diff(&self, _env: &Env, live: &Live) -> Diff {
        let mut changes: Vec<String> =
            live.leftovers.iter().map(|l| format!("delete {l} left by an interrupted build")).collect();
        match live.image.as_ref().map(|i| i.status.clone()) {
            None => return Diff::from_parts(vec!["build the image cache".into()], changes),
            Some(Some(ImageStatus::Ready)) => {}
            Some(Some(ImageStatus::Failed)) => changes.push("rebuild the image cache (its image FAILED)".into()),
            Some(status) => changes.push(format!("wait until the image cache is READY (now {status:?})")),
        }
        if changes.is_empty() { Diff::unchanged() } else { Diff::update(changes) }
    }

    fn state(&self, live: &Live) -> Option<String> {
        let image = live.image.as_ref()?;
        Some(format!(
            "{} {}, {} GB",
            image.name.clone().unwrap_or_default(),
            image.status.as_ref().and_then(|s| s.name()).unwrap_or_default(),
            image.disk_size_gb.unwrap_or_default()
        ))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Live, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let name = image_name(env);
        match live.image.as_ref().and_then(|i| i.status.clone()) {
            Some(ImageStatus::Ready) => {
                delete_builder(cx).await?;
                return Ok(Outcome::Updated);
            }
            Some(ImageStatus::Failed) => {
                delete_image(cx, &name).await?;
            }
            Some(_) => {
                wait_ready(cx, &name).await?;
                delete_builder(cx).await?;
                return Ok(Outcome::Updated);
            }
            None => {}
        }
        build(cx, &name).await?;
        Ok(Outcome::Created)
    }

    /// Deletes every cache image of the environment and whatever a build left.
    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        let mut deleted = delete_builder(cx).await?;
        for name in cache_images(cx).await? {
            deleted |= delete_image(cx, &name).await?;
        }
        Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

/// `sdctl image-cache [--force]`: makes the cache image of the current WebUI image unless it
/// exists and is READY (`force`: delete it and build again). The WebUI image must be in the
/// registry. Returns the image's name and whether it was built.
pub async fn ensure(cx: &StepCx<Env>, force: bool) -> anyhow::Result<(String, bool)> {
    let env = &cx.env;
    let name = image_name(env);
    let mut tags = Vec::new();
    for engine in cached_engines(env) {
        let kind = engine.image();
        let (tag, in_registry) = crate::images::build::lookup(cx, kind, None).await?;
        if !in_registry {
            anyhow::bail!(
                "the registry has no image {}:{tag} to cache yet; run `sdctl build {}` (or `sdctl up`) first",
                kind.image_name(),
                kind.word()
            );
        }
        tags.push(format!("{}:{tag}", kind.image_name()));
    }
    let tag = tags.join(", ");
    let live = ImageCache.observe(cx).await?;
    let ready = live.image.as_ref().is_some_and(|i| i.status == Some(ImageStatus::Ready));
    if ready && !force {
        cx.progress(format!("image {name} already holds WebUI image {tag}"));
        delete_builder(cx).await?;
        return Ok((name, false));
    }
    if live.image.is_some() {
        cx.progress(format!("deleting image {name} to build it again"));
        delete_image(cx, &name).await?;
    }
    build(cx, &name).await?;
    Ok((name, true))
}

/// Builds the cache image `name`: data disk, builder VM, its script, the image; the VM and disk
/// are deleted afterwards whatever happened.
async fn build(cx: &StepCx<Env>, name: &str) -> anyhow::Result<()> {
    check_builder_egress(cx).await?;
    delete_builder(cx).await?;
    let kept = AtomicBool::new(false);
    let built = async {
        create_disk(cx).await?;
        create_builder(cx).await?;
        follow_builder(cx).await?;
        // The data disk dies with the VM until now (so that one request cleans up after an
        // interruption); it is kept, then the VM goes first: an image of a disk a running VM
        // uses would need forceCreate.
        keep_data_disk(cx).await?;
        kept.store(true, Ordering::SeqCst);
        delete_vm(cx).await?;
        create_image(cx, name).await
    }
    .await;
    if cx.is_cancelled() {
        abandon_builder(cx, kept.load(Ordering::SeqCst)).await;
        return built.and(Err(crate::plan::Interrupted.into()));
    }
    let cleaned = delete_builder(cx).await;
    built?;
    cleaned?;
    Ok(())
}

/// After Ctrl-C (steps get a few seconds, no waits): one delete of the VM, which takes the data
/// disk with it while that is still marked auto-delete; once the disk was `kept`, a delete of the
/// disk too (refused while the VM still holds it). What is left, the next `up` or `down` finds,
/// and `down`'s leak report names it.
async fn abandon_builder(cx: &StepCx<Env>, kept: bool) {
    let env = &cx.env;
    let (vm, disk, zone) = (env.names.cache_builder(), env.names.cache_disk(), zone(env));
    if let Ok(client) = env.gcp.instances().await {
        // A few quick tries (no waits are left to a cancelled step): a request can fail in flight.
        let mut sent = Err(String::new());
        for _ in 0..3 {
            let answer = client.delete().set_project(env.project()).set_zone(zone).set_instance(&vm).send().await;
            sent = answer.map(|_| ()).map_err(|e| e.to_string());
            if sent.is_ok() || sent.as_ref().is_err_and(|e| e.contains("404")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        match sent {
            Ok(()) => tracing::info!("interrupted: builder VM {vm} is being deleted"),
            Err(e) => tracing::warn!(
                "interrupted: cannot delete builder VM {vm} ({e}); the next `sdctl up` or `sdctl down` does"
            ),
        }
    }
    if kept && let Ok(client) = env.gcp.disks().await {
        let sent = client.delete().set_project(env.project()).set_zone(zone).set_disk(&disk).send().await;
        if sent.is_err() {
            tracing::warn!("interrupted: data disk {disk} may be left; the next `sdctl up` or `sdctl down` deletes it");
        }
    }
}

/// Marks the data disk to outlive the builder VM.
async fn keep_data_disk(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let (vm, zone) = (env.names.cache_builder(), zone(env));
    let client = env.gcp.instances().await?;
    let op = retry::call(cx, &format!("keep the data disk of VM {vm}"), || {
        client
            .set_disk_auto_delete()
            .set_project(env.project())
            .set_zone(zone)
            .set_instance(&vm)
            .set_device_name(DEVICE)
            .set_auto_delete(false)
            .send()
    })
    .await?;
    ops::compute(cx, &env.gcp, env.project(), op, &format!("the data disk of VM {vm}"), patience::COMPUTE).await
}

/// Why the builder (no external IP) could not reach Artifact Registry, with the fix; `None` when
/// it can: a private cluster's Cloud NAT, or Private Google Access on the subnetwork.
pub fn egress_problem(env: &Env, private_google_access: bool) -> Option<(String, String)> {
    if env.config.cluster.private || private_google_access {
        return None;
    }
    let (subnet, region) = (&env.config.cluster.subnetwork, &env.config.region);
    Some((
        format!(
            "the image-cache builder VM has no external IP and subnetwork {subnet} has no Private Google Access, so it \
             cannot pull the WebUI image"
        ),
        format!(
            "turn it on with `gcloud compute networks subnets update {subnet} --region {region} \
             --enable-private-ip-google-access`, or set cluster.private: true (Cloud NAT), or gpu.imageCache: false"
        ),
    ))
}

/// Whether the configured subnetwork has Private Google Access.
pub async fn private_google_access(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    let env = &cx.env;
    let (subnet, region) = (&env.config.cluster.subnetwork, &env.config.region);
    let client = env.gcp.subnetworks().await?;
    let found = retry::call(cx, &format!("read subnetwork {subnet}"), || {
        client.get().set_project(env.project()).set_region(region).set_subnetwork(subnet).send()
    })
    .await?;
    Ok(found.private_ip_google_access == Some(true))
}

async fn check_builder_egress(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    if env.config.cluster.private {
        return Ok(());
    }
    if let Some((problem, fix)) = egress_problem(env, private_google_access(cx).await?) {
        anyhow::bail!("{problem}; {fix}");
    }
    Ok(())
}

async fn create_disk(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let (name, zone) = (env.names.cache_disk(), zone(env));
    let body = Disk::new()
        .set_name(&name)
        .set_description(env.names.description())
        .set_size_gb(CACHE_DISK_GB)
        .set_type(format!("projects/{}/zones/{zone}/diskTypes/{CACHE_DISK_TYPE}", env.project()))
        .set_labels(env.labels());
    let client = env.gcp.disks().await?;
    let op = retry::call(cx, &format!("create disk {name}"), || {
        client.insert().set_project(env.project()).set_zone(zone).set_body(body.clone()).send()
    })
    .await?;
    ops::compute(cx, &env.gcp, env.project(), op, &format!("disk {name}"), patience::COMPUTE).await
}

fn builder_body(env: &Env) -> Instance {
    let (project, zone, region) = (env.project(), zone(env), &env.config.region);
    // The WebUI images the templates run, space-separated (the startup script's list).
    let images: Vec<String> = cached_engines(env)
        .into_iter()
        .map(|e| env.names.image(&format!("{}:{}", e.image().image_name(), engine_tag(e))))
        .collect();
    let images = images.join(" ");
    let item = |key: &str, value: &str| metadata::Items::new().set_key(key).set_value(value);
    let boot = AttachedDisk::new().set_boot(true).set_auto_delete(true).set_initialize_params(
        AttachedDiskInitializeParams::new()
            .set_source_image(BUILDER_IMAGE)
            .set_disk_size_gb(BUILDER_BOOT_GB)
            .set_disk_type(format!("zones/{zone}/diskTypes/pd-balanced")),
    );
    // Deleted with the VM unless the build gets as far as `keep_data_disk`.
    let data = AttachedDisk::new()
        .set_source(format!("projects/{project}/zones/{zone}/disks/{}", env.names.cache_disk()))
        .set_device_name(DEVICE)
        .set_auto_delete(true);
    // No access config: no external IP.
    let nic = NetworkInterface::new()
        .set_network(format!("projects/{project}/global/networks/{}", env.config.cluster.network))
        .set_subnetwork(format!("projects/{project}/regions/{region}/subnetworks/{}", env.config.cluster.subnetwork));
    Instance::new()
        .set_name(env.names.cache_builder())
        .set_description(env.names.description())
        .set_machine_type(format!("zones/{zone}/machineTypes/{BUILDER_MACHINE}"))
        .set_labels(env.labels())
        .set_disks([boot, data])
        .set_network_interfaces([nic])
        // The node service account reads the repository already (the `registry` step's grant).
        .set_service_accounts([ServiceAccount::new()
            .set_email(Account::Nodes.email(env))
            .set_scopes([CLOUD_PLATFORM_SCOPE])])
        .set_metadata(Metadata::new().set_items([
            item("startup-script", STARTUP_SCRIPT),
            item("sdctl-images", &images),
            item("block-project-ssh-keys", "true"),
        ]))
        .set_shielded_instance_config(
            ShieldedInstanceConfig::new().set_enable_secure_boot(true).set_enable_integrity_monitoring(true),
        )
}

async fn create_builder(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let (name, zone) = (env.names.cache_builder(), zone(env));
    let body = builder_body(env);
    let client = env.gcp.instances().await?;
    let op = retry::call(cx, &format!("create builder VM {name}"), || {
        client.insert().set_project(env.project()).set_zone(zone).set_body(body.clone()).send()
    })
    .await?;
    ops::compute(cx, &env.gcp, env.project(), op, &format!("builder VM {name}"), patience::COMPUTE).await
}

/// What the builder's serial port said so far.
#[derive(Default)]
struct Console {
    /// Where the next read starts (Compute's `next`).
    next: i64,
    /// An incomplete last line.
    partial: String,
    /// The script's last progress line.
    last: Option<String>,
    /// The progress lines of the last chunk taken (one read can hold several steps of the
    /// build; a poll shows only the last).
    said_now: Vec<String>,
    /// The last lines of the console, for an error's log tail.
    tail: std::collections::VecDeque<String>,
}

/// How many console lines a failed build's error shows.
const TAIL_LINES: usize = 15;

enum Said {
    Progress,
    Done,
    Failed(String),
}

impl Console {
    /// Takes a chunk of serial output; what the script's lines in it mean.
    fn take(&mut self, chunk: &str) -> Said {
        self.said_now.clear();
        self.partial.push_str(chunk);
        let complete = match self.partial.rfind('\n') {
            Some(end) => {
                let lines = self.partial[..end].to_string();
                self.partial.drain(..=end);
                lines
            }
            None => return Said::Progress,
        };
        for line in complete.lines() {
            let line = line.trim_end_matches('\r');
            if self.tail.len() == TAIL_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line.to_string());
            if let Some((_, said)) = line.split_once(MARKER) {
                if said.starts_with("done") {
                    return Said::Done;
                }
                if let Some(why) = said.strip_prefix("failed: ") {
                    return Said::Failed(why.to_string());
                }
                self.said_now.push(said.to_string());
                self.last = Some(said.to_string());
            } else if let Some((_, why)) = line.split_once("Script \"startup-script\" failed with error: ") {
                // The guest agent's lines once the script ended without saying done (its
                // google_metadata_script_runner: a failure, or success and the end of the run).
                return Said::Failed(format!("its startup script stopped: {}", why.trim()));
            } else if line.contains("startup-script exit status ") || line.contains("Finished running startup scripts")
            {
                return Said::Failed("its startup script ended without saying done".into());
            }
        }
        Said::Progress
    }
}

/// Follows the builder's serial port until its script says done (or failed).
async fn follow_builder(cx: &StepCx<Env>) -> anyhow::Result<()> {
    let env = &cx.env;
    let (name, zone) = (env.names.cache_builder(), zone(env));
    let client = env.gcp.instances().await?;
    let console = Mutex::new(Console::default());
    let (console, name, client) = (&console, &name, &client);
    wait::until(cx, &format!("the image-cache build on {name}"), BUILD, || async move {
        // The lock is never held across an await; a poisoned one still holds a usable position.
        let start = console.lock().unwrap_or_else(|p| p.into_inner()).next;
        let out = retry::call(cx, &format!("read the serial port of {name}"), || {
            client
                .get_serial_port_output()
                .set_project(env.project())
                .set_zone(zone)
                .set_instance(name)
                .set_port(1)
                .set_start(start)
                .send()
        })
        .await?;
        let mut console = console.lock().unwrap_or_else(|p| p.into_inner());
        console.next = out.next.unwrap_or(start);
        let said = console.take(out.contents.as_deref().unwrap_or_default());
        // Every step the script said is shown: those of this read but its last, which the wait
        // shows (and that one too once the build has ended).
        let shown = match said {
            Said::Progress => console.said_now.len().saturating_sub(1),
            _ => console.said_now.len(),
        };
        for line in &console.said_now[..shown] {
            cx.progress(format!("waiting for the image-cache build on {name} ({line})"));
        }
        match said {
            Said::Done => Ok(Poll::Ready(())),
            Said::Failed(why) => Err(anyhow::anyhow!(
                "the image-cache build on VM {name} failed: {why}; the VM and its disk are deleted, `sdctl up` \
                 tries again. The end of its serial console:\n  {}",
                console.tail.iter().map(String::as_str).collect::<Vec<_>>().join("\n  ")
            )),
            Said::Progress => Ok(Poll::Pending(console.last.clone().unwrap_or_else(|| "booting".into()))),
        }
    })
    .await
}

async fn create_image(cx: &StepCx<Env>, name: &str) -> anyhow::Result<()> {
    let env = &cx.env;
    // The name carries the WebUI tag; the description is what `down`'s leak report matches.
    let body = Image::new()
        .set_name(name)
        .set_description(env.names.description())
        .set_family(env.names.cache_image_family())
        .set_source_disk(format!("projects/{}/zones/{}/disks/{}", env.project(), zone(env), env.names.cache_disk()))
        .set_storage_locations([env.config.region.clone()])
        .set_labels(env.labels());
    let client = env.gcp.images().await?;
    let op = retry::call(cx, &format!("create image {name}"), || {
        client.insert().set_project(env.project()).set_body(body.clone()).send()
    })
    .await?;
    ops::compute(cx, &env.gcp, env.project(), op, &format!("image {name}"), patience::COMPUTE).await
}

async fn wait_ready(cx: &StepCx<Env>, name: &str) -> anyhow::Result<()> {
    let env = &cx.env;
    let client = env.gcp.images().await?;
    wait::until(cx, &format!("image {name}"), patience::COMPUTE, || async {
        let image = retry::call(cx, &format!("read image {name}"), || {
            client.get().set_project(env.project()).set_image(name).send()
        })
        .await?;
        Ok(match image.status {
            Some(ImageStatus::Ready) => Poll::Ready(()),
            Some(ImageStatus::Failed) => anyhow::bail!("image {name} FAILED; `sdctl up` builds it again"),
            other => Poll::Pending(format!("{other:?}")),
        })
    })
    .await
}

/// The builder VM and data disk, if an earlier build left them.
pub async fn leftovers(cx: &StepCx<Env>) -> anyhow::Result<Vec<String>> {
    let env = &cx.env;
    let (vm, disk, zone) = (env.names.cache_builder(), env.names.cache_disk(), zone(env));
    let instances = env.gcp.instances().await?;
    let disks = env.gcp.disks().await?;
    let mut found = Vec::new();
    let instance = absent_if_not_found(
        retry::call(cx, &format!("read VM {vm}"), || {
            instances.get().set_project(env.project()).set_zone(zone).set_instance(&vm).send()
        })
        .await,
    )?;
    if let Some(instance) = instance {
        if !env.owns(&instance.labels) {
            return Err(not_ours("VM", &vm, env.names.env()));
        }
        found.push(format!("builder VM {vm}"));
    }
    let data = absent_if_not_found(
        retry::call(cx, &format!("read disk {disk}"), || {
            disks.get().set_project(env.project()).set_zone(zone).set_disk(&disk).send()
        })
        .await,
    )?;
    if let Some(data) = data {
        if !env.owns(&data.labels) {
            return Err(not_ours("disk", &disk, env.names.env()));
        }
        found.push(format!("data disk {disk}"));
    }
    Ok(found)
}

/// Deletes the builder VM and its data disk if present (checked as ours); whether any was there.
async fn delete_builder(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    let found = leftovers(cx).await?;
    if found.is_empty() {
        return Ok(false);
    }
    delete_vm(cx).await?;
    let env = &cx.env;
    let (disk, zone) = (env.names.cache_disk(), zone(env));
    let client = env.gcp.disks().await?;
    delete_compute(cx, &format!("disk {disk}"), || {
        client.delete().set_project(env.project()).set_zone(zone).set_disk(&disk).send()
    })
    .await?;
    Ok(true)
}

async fn delete_vm(cx: &StepCx<Env>) -> anyhow::Result<bool> {
    let env = &cx.env;
    let (vm, zone) = (env.names.cache_builder(), zone(env));
    let client = env.gcp.instances().await?;
    delete_compute(cx, &format!("VM {vm}"), || {
        client.delete().set_project(env.project()).set_zone(zone).set_instance(&vm).send()
    })
    .await
}

async fn delete_image(cx: &StepCx<Env>, name: &str) -> anyhow::Result<bool> {
    let env = &cx.env;
    let client = env.gcp.images().await?;
    delete_compute(cx, &format!("image {name}"), || client.delete().set_project(env.project()).set_image(name).send())
        .await
}

/// Deletes the environment's cache images but `keep`, and whatever a build left; whether
/// anything went. For a GPU pool that was retired, or a configuration without the cache.
pub async fn delete_unused(cx: &StepCx<Env>, keep: Option<&str>) -> anyhow::Result<bool> {
    let mut deleted = false;
    if keep.is_none() {
        deleted |= empty_if_disabled(delete_builder(cx).await)?;
    }
    for name in empty_if_disabled(cache_images(cx).await)?.into_iter().filter(|n| Some(n.as_str()) != keep) {
        cx.progress(format!("deleting image {name}, which no GPU pool uses"));
        deleted |= delete_image(cx, &name).await?;
    }
    Ok(deleted)
}

/// The names of this environment's cache images (its label and its family).
pub async fn cache_images(cx: &StepCx<Env>) -> anyhow::Result<Vec<String>> {
    let env = &cx.env;
    let client = env.gcp.images().await?;
    let filter = format!("labels.{} = \"{}\"", crate::names::LABEL_ENV, env.names.env());
    let family = env.names.cache_image_family();
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = retry::call(cx, "list the cache images", || {
            client.list().set_project(env.project()).set_filter(&filter).set_page_token(&token).send()
        })
        .await?;
        names.extend(
            page.items.into_iter().filter(|i| i.family.as_deref() == Some(family.as_str())).filter_map(|i| i.name),
        );
        match page.next_page_token {
            Some(next) if !next.is_empty() => token = next,
            _ => return Ok(names),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_follows_the_scripts_lines_across_reads() {
        let mut c = Console::default();
        assert!(matches!(c.take("SeaBIOS\r\nsdctl-image-cache: pul"), Said::Progress));
        assert_eq!(c.last, None, "half a line is not read yet");
        assert!(matches!(c.take("ling img:1\r\nsdctl-image-cache: copying layer 1/3\r\n"), Said::Progress));
        assert_eq!(c.last.as_deref(), Some("copying layer 1/3"));
        assert_eq!(c.said_now, ["pulling img:1", "copying layer 1/3"], "every step of one read is kept");
        assert!(matches!(c.take("sdctl-image-cache: done: 3 layers\r\n"), Said::Done));
        assert!(c.said_now.is_empty());
        assert_eq!(c.tail.back().map(String::as_str), Some("sdctl-image-cache: done: 3 layers"));
        assert_eq!(c.tail.front().map(String::as_str), Some("SeaBIOS"), "the tail keeps whole lines");
        for i in 0..40 {
            c.take(&format!("line {i}\n"));
        }
        assert_eq!(c.tail.len(), TAIL_LINES);
        assert_eq!(c.tail.back().map(String::as_str), Some("line 39"));
        let mut c = Console::default();
        match c.take("x\r\nsdctl-image-cache: failed: cannot pull img:1\r\n") {
            Said::Failed(why) => assert_eq!(why, "cannot pull img:1"),
            _ => panic!("a failure was missed"),
        }
        let mut c = Console::default();
        match c
            .take("google_metadata_script_runner[812]: Script \"startup-script\" failed with error: signal: killed\n")
        {
            Said::Failed(why) => assert!(why.ends_with("stopped: signal: killed"), "{why}"),
            _ => panic!("the guest agent's failure line was missed"),
        }
        let mut c = Console::default();
        match c.take("google_metadata_script_runner[812]: Finished running startup scripts.\n") {
            Said::Failed(why) => assert!(why.contains("without saying done"), "{why}"),
            _ => panic!("a script that ended without done was missed"),
        }
    }
}
