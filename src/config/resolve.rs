//! From the file layer plus overrides to the plain [`Config`]: defaults filled in, every rule
//! checked, every problem collected (not just the first).

use std::collections::BTreeMap;

use super::file::*;
use super::model::*;
use super::problems::Problems;
use crate::names::{LABEL_ENV, is_dns_label};

/// Namespaces sdctl must never own: `down` deletes the runtime namespace, and Kubernetes refuses
/// to delete the first three (NamespaceLifecycle's immortal namespaces) while the others hold the
/// cluster's own machinery.
const RESERVED_NAMESPACES: [&str; 8] = [
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "agones-system",
    "kruise-system",
    "kruise-game-system",
    "kruise-daemon-config",
];

/// Values given on the command line or in the environment; they win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub name: Option<Sourced>,
    pub project: Option<Sourced>,
    pub region: Option<Sourced>,
    pub zones: Option<Sourced>,
}

/// A value and where it came from (`--project`, `SDCTL_PROJECT`), for error messages.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub value: String,
    pub source: String,
}

pub fn resolve(file: ConfigFile, overrides: &Overrides, problems: &mut Problems) -> Option<Config> {
    let r = &mut Resolver { problems };
    if let Some(v) = &file.api_version
        && v != "sdctl/v1"
    {
        r.err("apiVersion", format!("{v:?} is not supported"), "set apiVersion: sdctl/v1");
    }
    let name = r.name(file.name, overrides.name.as_ref());
    let project = r.project(file.project, overrides.project.as_ref());
    let region = r.region(file.region, overrides.region.as_ref());
    let zones = r.zones(file.zones, overrides.zones.as_ref(), region.as_deref());
    let cluster = r.cluster(file.cluster.unwrap_or_default());
    let gpu = r.gpu(file.gpu.unwrap_or_default());
    let storage = r.storage(file.storage.unwrap_or_default(), region.as_deref());
    let redis = r.redis(file.redis.unwrap_or_default());
    let runtime = r.runtime(file.runtime.unwrap_or_default(), gpu.as_ref());
    let access = r.access(file.access.unwrap_or_default());
    let templates = r.templates(file.templates);
    // Agones keeps `bufferSize` warm WebUIs per template's Fleet, each on a GPU.
    if let (Some(rt), Some(gpu), Some(templates)) = (&runtime, &gpu, &templates)
        && rt.kind == RuntimeKind::Agones
        && templates.len() > 1
    {
        let (warm, gpus) = (rt.buffer_size * templates.len() as u32, gpu.max_nodes * gpu.count);
        if warm > gpus {
            r.err(
                "runtime.bufferSize",
                format!(
                    "{} templates keep {} warm WebUI(s) each, {warm} GPUs, but gpu.maxNodes x gpu.count allows {gpus}",
                    templates.len(),
                    rt.buffer_size
                ),
                format!("raise gpu.maxNodes to {}, or use fewer templates", warm.div_ceil(gpu.count.max(1))),
            );
        }
    }
    let labels = r.labels(file.labels.unwrap_or_default(), name.as_deref());
    let images = r.images(file.images.unwrap_or_default(), name.as_deref());
    Some(Config {
        name: name?,
        project: project?,
        region: region?,
        zones: zones?,
        cluster: cluster?,
        gpu: gpu?,
        storage: storage?,
        redis: redis?,
        runtime: runtime?,
        images: images?,
        access: access?,
        templates: templates?,
        labels: labels?,
    })
}

struct Resolver<'a> {
    problems: &'a mut Problems,
}

impl Resolver<'_> {
    fn err(&mut self, path: &str, message: impl Into<String>, fix: impl Into<String>) {
        self.problems.push(path, message, fix);
    }

    /// Parses one of a fixed set of words; the error lists the accepted ones.
    fn choice<T: Copy>(&mut self, path: &str, value: &str, choices: &[(&str, T)]) -> Option<T> {
        if let Some((_, v)) = choices.iter().find(|(n, _)| *n == value) {
            return Some(*v);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let expected = match names.as_slice() {
            [a, b] => format!("{a} or {b}"),
            _ => names.join(", "),
        };
        let hint = choices
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(value))
            .map(|(n, _)| format!(" (did you mean {n}?)"))
            .unwrap_or_default();
        self.err(
            path,
            format!("{value:?} is not supported (expected {expected})"),
            format!("set {path} to {expected}{hint}"),
        );
        None
    }

    fn name(&mut self, file: Option<String>, flag: Option<&Sourced>) -> Option<String> {
        let (value, path) = pick(file, flag, "name");
        let Some(value) = value else {
            self.err(
                "name",
                "missing",
                "set name: sd-demo (the environment name; every resource name derives from it)",
            );
            return None;
        };
        if !is_env_name(&value) {
            self.err(
                &path,
                format!("{value:?} must match [a-z][a-z0-9-]{{0,19}}: a lower-case letter, then up to 19 lower-case letters, digits or hyphens"),
                "choose a short name such as sd-demo",
            );
            return None;
        }
        Some(value)
    }

    fn project(&mut self, file: Option<String>, flag: Option<&Sourced>) -> Option<String> {
        let (value, path) = pick(file, flag, "project");
        let Some(value) = value else {
            self.err("project", "missing", "set project: MY-PROJECT in the file, or pass --project / SDCTL_PROJECT");
            return None;
        };
        if !is_project_id(&value) {
            self.err(
                &path,
                format!("{value:?} is not a Google Cloud project id (6-30 characters: lower-case letters, digits, hyphens; starts with a letter)"),
                "use the project ID, not its display name or number (gcloud projects list)",
            );
            return None;
        }
        Some(value)
    }

    fn region(&mut self, file: Option<String>, flag: Option<&Sourced>) -> Option<String> {
        let (value, path) = pick(file, flag, "region");
        let Some(value) = value else {
            self.err("region", "missing", "set region: us-central1, or pass --region / SDCTL_REGION");
            return None;
        };
        if !is_region(&value) {
            self.err(
                &path,
                format!("{value:?} is not a region name"),
                "use a region such as us-central1 (gcloud compute regions list); zones go in zones",
            );
            return None;
        }
        Some(value)
    }

    fn zones(
        &mut self,
        file: Option<Vec<String>>,
        flag: Option<&Sourced>,
        region: Option<&str>,
    ) -> Option<Vec<String>> {
        let (zones, path) = match flag {
            Some(s) => (
                s.value.split(',').map(|z| z.trim().to_string()).filter(|z| !z.is_empty()).collect(),
                format!("zones (from {})", s.source),
            ),
            None => (file.unwrap_or_default(), "zones".to_string()),
        };
        if zones.is_empty() {
            let example = region.map(|r| format!("{r}-a")).unwrap_or_else(|| "us-central1-a".into());
            self.err(
                &path,
                "at least one zone is needed",
                format!("set zones: [{example}] (a zone of the region that offers the GPU: gcloud compute accelerator-types list)"),
            );
            return None;
        }
        let mut ok = true;
        for (i, zone) in zones.iter().enumerate() {
            let here = format!("{path}[{i}]");
            if let Some(region) = region
                && !zone.strip_prefix(region).is_some_and(|rest| rest.len() == 2 && rest.starts_with('-'))
            {
                self.err(
                    &here,
                    format!("{zone:?} is not a zone of region {region}"),
                    format!("use zones of {region}, e.g. {region}-a, or change region"),
                );
                ok = false;
            }
            if zones[..i].contains(zone) {
                self.err(&here, format!("{zone:?} is listed twice"), "list each zone once");
                ok = false;
            }
        }
        ok.then_some(zones)
    }

    fn cluster(&mut self, f: ClusterFile) -> Option<Cluster> {
        let location = match f.location.as_deref() {
            None => Some(ClusterLocation::Zonal),
            Some(v) => self.choice(
                "cluster.location",
                v,
                &[("zonal", ClusterLocation::Zonal), ("regional", ClusterLocation::Regional)],
            ),
        };
        let release_channel = match f.release_channel.as_deref() {
            None => Some(ReleaseChannel::Regular),
            Some(v) => self.choice("cluster.releaseChannel", v, &ReleaseChannel::ALL),
        };
        let network = f.network.unwrap_or_else(|| "default".into());
        let subnetwork = f.subnetwork.unwrap_or_else(|| "default".into());
        let mut ok = true;
        for (path, v) in [("cluster.network", &network), ("cluster.subnetwork", &subnetwork)] {
            if !is_gcp_name(v, 63) {
                self.err(
                    path,
                    format!("{v:?} is not a valid network name"),
                    "use the name shown by gcloud compute networks list / networks subnets list",
                );
                ok = false;
            }
        }
        let pool = f.system_pool.unwrap_or_default();
        let nodes = pool.nodes.unwrap_or(1);
        if nodes == 0 {
            self.err(
                "cluster.systemPool.nodes",
                "must be at least 1 (Agones' controllers and the router run there)",
                "set cluster.systemPool.nodes: 1",
            );
            ok = false;
        }
        let machine_type = pool.machine_type.unwrap_or_else(|| "e2-standard-4".into());
        if !is_machine_type(&machine_type) {
            self.err(
                "cluster.systemPool.machineType",
                format!("{machine_type:?} is not a machine type"),
                "use a machine type such as e2-standard-4 (gcloud compute machine-types list)",
            );
            ok = false;
        }
        let cluster = Cluster {
            location: location?,
            release_channel: release_channel?,
            private: f.private.unwrap_or(false),
            network,
            subnetwork,
            system_pool: SystemPool { machine_type, nodes },
        };
        ok.then_some(cluster)
    }

    fn gpu(&mut self, f: GpuFile) -> Option<Gpu> {
        let kind = match f.kind.as_deref() {
            None => Some(GpuKind::T4),
            Some(v) => self.choice("gpu.type", v, &GpuKind::ALL),
        }?;
        let machine_type = f.machine_type.unwrap_or_else(|| kind.default_machine_type().into());
        let count = f.count.unwrap_or(1);
        let min_nodes = f.min_nodes.unwrap_or(0);
        let max_nodes = f.max_nodes.unwrap_or(3);
        let mut ok = self.gpu_machine("gpu", kind, &machine_type, count);
        if max_nodes == 0 {
            self.err("gpu.maxNodes", "must be at least 1", "set gpu.maxNodes to the most GPU nodes you allow, e.g. 3");
            ok = false;
        } else if min_nodes > max_nodes {
            self.err(
                "gpu.minNodes",
                format!("{min_nodes} is more than gpu.maxNodes ({max_nodes})"),
                format!("lower gpu.minNodes to at most {max_nodes} or raise gpu.maxNodes"),
            );
            ok = false;
        }
        let driver = match f.driver.as_deref() {
            None => Some(GpuDriver::Latest),
            Some(v) => self.choice("gpu.driver", v, &GpuDriver::ALL),
        };
        let gpu = Gpu {
            kind,
            machine_type,
            count,
            min_nodes,
            max_nodes,
            spot: f.spot.unwrap_or(false),
            driver: driver?,
            image_streaming: f.image_streaming.unwrap_or(true),
            image_cache: f.image_cache.unwrap_or(false),
            fallbacks: Vec::new(),
        };
        let fallbacks = self.fallbacks(f.fallbacks.unwrap_or_default(), &gpu);
        // GKE reads a CONTAINER_IMAGE_CACHE disk through image streaming's containerd plugin.
        if gpu.image_cache && !gpu.image_streaming {
            self.err(
                "gpu.imageCache",
                "needs gpu.imageStreaming (GKE reads the image cache through image streaming)",
                "set gpu.imageStreaming: true, or gpu.imageCache: false",
            );
            ok = false;
        }
        let fallbacks = fallbacks?;
        // NVIDIA's installer DaemonSet is chosen for one GPU type (drivers step).
        if gpu.driver == GpuDriver::Daemonset && fallbacks.iter().any(|r| r.kind != gpu.kind) {
            self.err(
                "gpu.driver",
                "daemonset installs the driver of one GPU type, but gpu.fallbacks mixes types",
                "set gpu.driver: latest (GKE installs each pool's driver), or keep every rung on gpu.type",
            );
            ok = false;
        }
        ok.then_some(Gpu { fallbacks, ..gpu })
    }

    /// `gpu.fallbacks`: each rung a valid GPU node shape, none a repeat of an earlier rung.
    fn fallbacks(&mut self, files: Vec<RungFile>, primary: &Gpu) -> Option<Vec<Rung>> {
        // The valid rungs so far, with where they are written (`gpu.type` for the primary).
        let mut seen: Vec<(String, Rung)> = vec![("the primary (gpu.type)".into(), primary.rungs().remove(0))];
        let mut rungs = Vec::new();
        let mut ok = true;
        for (i, f) in files.into_iter().enumerate() {
            let at = format!("gpu.fallbacks[{i}]");
            let Some(kind) = (match f.kind.as_deref() {
                None => {
                    self.err(&format!("{at}.type"), "is missing", "set type: t4 or type: l4");
                    None
                }
                Some(v) => self.choice(&format!("{at}.type"), v, &GpuKind::ALL),
            }) else {
                ok = false;
                continue;
            };
            let machine_type = f.machine_type.unwrap_or_else(|| kind.default_machine_type().into());
            let count = f.count.unwrap_or_else(|| match kind {
                GpuKind::T4 => 1,
                GpuKind::L4 => g2_gpu_count(&machine_type).unwrap_or(1),
            });
            let rung = Rung {
                kind,
                machine_type,
                count,
                max_nodes: f.max_nodes.unwrap_or(primary.max_nodes),
                spot: f.spot.unwrap_or(false),
                flex_start: f.flex_start.unwrap_or(false),
            };
            let mut valid = self.gpu_machine(&at, kind, &rung.machine_type, count);
            if rung.max_nodes == 0 {
                let fix = "set maxNodes to the most nodes of this rung, or remove the rung";
                self.err(&format!("{at}.maxNodes"), "must be at least 1", fix);
                valid = false;
            }
            if rung.spot && rung.flex_start {
                self.err(
                    &format!("{at}.flexStart"),
                    "flex-start and spot are two provisioning models; a node pool uses one",
                    "make them two rungs: one with spot: true, one with flexStart: true",
                );
                valid = false;
            }
            let same = |r: &Rung| {
                (r.kind, &r.machine_type, r.provisioning()) == (rung.kind, &rung.machine_type, rung.provisioning())
            };
            if valid && let Some((which, _)) = seen.iter().find(|(_, r)| same(r)) {
                self.err(
                    &at,
                    format!("{} is already {which}: a rung that failed would be tried again", rung.label()),
                    "remove this rung, or change its type, machineType, spot or flexStart",
                );
                valid = false;
            }
            ok &= valid;
            if valid {
                seen.push((at, rung.clone()));
                rungs.push(rung);
            }
        }
        ok.then_some(rungs)
    }

    /// T4s attach to N1 machines (predefined or custom); L4s come with G2 machines, whose size fixes the count.
    fn gpu_machine(&mut self, at: &str, kind: GpuKind, machine_type: &str, count: u32) -> bool {
        let (machine_field, count_field) = (format!("{at}.machineType"), format!("{at}.count"));
        match kind {
            GpuKind::T4 => {
                let n1 = machine_type.starts_with("n1-")
                    || (machine_type.starts_with("custom-") && is_machine_type(machine_type));
                if !n1 {
                    self.err(
                        &machine_field,
                        format!("{machine_type:?} cannot take T4 GPUs (T4s attach to N1 machine types)"),
                        format!("use an N1 type such as custom-4-32768-ext or n1-standard-8, or set {at}.type: l4 for G2 machines"),
                    );
                    return false;
                }
                if ![1, 2, 4].contains(&count) {
                    self.err(
                        &count_field,
                        format!("{count} T4s per node is not offered"),
                        format!("set {count_field} to 1, 2 or 4"),
                    );
                    return false;
                }
                true
            }
            GpuKind::L4 => {
                let Some(gpus) = g2_gpu_count(machine_type) else {
                    self.err(
                        &machine_field,
                        format!("{machine_type:?} is not a G2 machine type (L4 GPUs come with G2 machines)"),
                        "use g2-standard-4, -8, -12, -16, -24, -32, -48 or -96 (g2-standard-8 is the default)",
                    );
                    return false;
                };
                if count != gpus {
                    self.err(
                        &count_field,
                        format!("{machine_type} has {gpus} L4 GPU{}, not {count}", if gpus == 1 { "" } else { "s" }),
                        format!("set {count_field}: {gpus}, or choose the G2 machine type with {count} GPUs"),
                    );
                    return false;
                }
                true
            }
        }
    }

    fn storage(&mut self, f: StorageFile, region: Option<&str>) -> Option<Storage> {
        let kind = match f.kind.as_deref() {
            None => Some("filestore"),
            Some(v) => self.choice("storage.kind", v, &[("filestore", "filestore"), ("gcs", "gcs")]),
        }?;
        if kind == "gcs" {
            let g = f.gcs.unwrap_or_default();
            let bucket = g.bucket.filter(|b| !b.is_empty());
            if let Some(b) = &bucket
                && !is_bucket_name(b)
            {
                self.err("storage.gcs.bucket", format!("{b:?} is not a valid bucket name (3-63 lower-case letters, digits, hyphens, underscores, dots; starts and ends with a letter or digit)"), "choose another name, or leave it empty for a derived one");
                return None;
            }
            let location = g.location.filter(|l| !l.is_empty()).or_else(|| region.map(str::to_uppercase))?;
            return Some(Storage::Gcs(Gcs { bucket, location }));
        }
        let fs = f.filestore.unwrap_or_default();
        let tier = match fs.tier.as_deref() {
            None => Some(FilestoreTier::BasicHdd),
            Some(v) => self.choice("storage.filestore.tier", v, &FilestoreTier::ALL),
        }?;
        let capacity_gb = fs.capacity_gb.unwrap_or(tier.min_capacity_gb());
        let mut ok = true;
        if capacity_gb < tier.min_capacity_gb() {
            self.err(
                "storage.filestore.capacityGb",
                format!(
                    "{capacity_gb} GiB is below the {} tier's minimum of {} GiB",
                    tier.name(),
                    tier.min_capacity_gb()
                ),
                format!("set storage.filestore.capacityGb to at least {}", tier.min_capacity_gb()),
            );
            ok = false;
        } else if capacity_gb > tier.max_capacity_gb() {
            self.err(
                "storage.filestore.capacityGb",
                format!(
                    "{capacity_gb} GiB is above the {} tier's maximum of {} GiB",
                    tier.name(),
                    tier.max_capacity_gb()
                ),
                format!("set storage.filestore.capacityGb to at most {}", tier.max_capacity_gb()),
            );
            ok = false;
        }
        let share = fs.share.unwrap_or_else(|| "vol1".into());
        if !is_share_name(&share) {
            self.err(
                "storage.filestore.share",
                format!("{share:?} is not a valid file share name"),
                "use up to 16 lower-case letters, digits and underscores, starting with a letter (e.g. vol1)",
            );
            ok = false;
        }
        ok.then_some(Storage::Filestore(Filestore { tier, capacity_gb, share }))
    }

    fn redis(&mut self, f: RedisFile) -> Option<Redis> {
        let tier = match f.tier.as_deref() {
            None => Some(RedisTier::StandardHa),
            Some(v) => self.choice("redis.tier", v, &RedisTier::ALL),
        };
        let size_gb = f.size_gb.unwrap_or(1);
        let mut ok = true;
        if !(1..=300).contains(&size_gb) {
            self.err(
                "redis.sizeGb",
                format!("{size_gb} GB is outside Memorystore's 1-300 GB"),
                "set redis.sizeGb: 1 (the user map is tiny)",
            );
            ok = false;
        }
        let version = f.version.unwrap_or_else(|| "REDIS_7_2".into());
        if !REDIS_VERSIONS.contains(&version.as_str()) {
            self.err(
                "redis.version",
                format!("{version:?} is not supported (expected {})", REDIS_VERSIONS.join(", ")),
                "set redis.version: REDIS_7_2",
            );
            ok = false;
        }
        let redis = Redis { tier: tier?, size_gb, version, auth: f.auth.unwrap_or(true), tls: f.tls.unwrap_or(false) };
        ok.then_some(redis)
    }

    fn runtime(&mut self, f: RuntimeFile, gpu: Option<&Gpu>) -> Option<Runtime> {
        let kind = match f.kind.as_deref() {
            None => Some(RuntimeKind::Agones),
            Some(v) => self.choice("runtime.kind", v, &[("agones", RuntimeKind::Agones), ("okg", RuntimeKind::Okg)]),
        };
        let agones_version = match f.agones_version.as_deref() {
            None | Some("auto") => Some(None),
            Some(v) if crate::pins::agones(v).is_some() => Some(Some(v.to_string())),
            Some(v) => {
                self.err(
                    "runtime.agonesVersion",
                    format!(
                        "{v:?} is not a pinned Agones release (sdctl pins {})",
                        crate::pins::agones_versions().join(", ")
                    ),
                    "set runtime.agonesVersion: auto, or pass --agones-manifest FILE for another release",
                );
                None
            }
        };
        let namespace = f.namespace.unwrap_or_else(|| "sd".into());
        let mut ok = true;
        if !is_dns_label(&namespace) {
            self.err(
                "runtime.namespace",
                format!("{namespace:?} is not a Kubernetes namespace name (a DNS label: lower case, digits, '-')"),
                "use a DNS label of your own, such as sd",
            );
            ok = false;
        } else if RESERVED_NAMESPACES.contains(&namespace.as_str()) {
            self.err(
                "runtime.namespace",
                format!(
                    "{namespace:?} belongs to Kubernetes, Agones or OpenKruise: sdctl owns its namespace and `sdctl down` deletes it"
                ),
                "use a namespace of your own, such as sd",
            );
            ok = false;
        }
        let max_users = f.max_users.unwrap_or(3);
        let buffer_size = f.buffer_size.unwrap_or(1);
        if max_users == 0 {
            self.err(
                "runtime.maxUsers",
                "must be at least 1",
                "set runtime.maxUsers to the number of users served at once",
            );
            ok = false;
        }
        if let Some(gpu) = gpu {
            let gpus = gpu.max_nodes * gpu.count;
            if max_users > gpus {
                let nodes = max_users.div_ceil(gpu.count);
                self.err(
                    "runtime.maxUsers",
                    format!(
                        "{max_users} users need {max_users} GPUs (one each), but gpu.maxNodes x gpu.count allows {} x {} = {gpus}",
                        gpu.max_nodes, gpu.count
                    ),
                    format!("raise gpu.maxNodes to {nodes} or lower runtime.maxUsers to {gpus}"),
                );
                ok = false;
            }
        }
        if buffer_size < 1 {
            self.err(
                "runtime.bufferSize",
                "must be at least 1 (Agones' buffer policy needs one warm GameServer)",
                "set runtime.bufferSize: 1",
            );
            ok = false;
        } else if max_users > 0 && buffer_size > max_users {
            self.err(
                "runtime.bufferSize",
                format!("{buffer_size} warm pods is more than runtime.maxUsers ({max_users})"),
                format!("set runtime.bufferSize to at most {max_users}"),
            );
            ok = false;
        }
        let idle_minutes = f.idle_minutes.unwrap_or(15);
        if idle_minutes < 5 {
            self.err(
                "runtime.idleMinutes",
                format!("{idle_minutes} minutes is shorter than the 5-minute reclaim interval"),
                "set runtime.idleMinutes to 5 or more",
            );
            ok = false;
        }
        let startup_minutes = f.startup_minutes.unwrap_or(15);
        if !(1..=120).contains(&startup_minutes) {
            self.err(
                "runtime.startupMinutes",
                format!("{startup_minutes} minutes is outside 1-120"),
                "set runtime.startupMinutes to how long the WebUI takes to load its checkpoint, such as 15",
            );
            ok = false;
        }
        let port_range = match f.port_range.as_deref() {
            None => Some((7000, 8000)),
            Some([lo, hi]) if 1024 < *lo && lo < hi => Some((*lo, *hi)),
            Some(other) => {
                self.err(
                    "runtime.portRange",
                    format!("{other:?} is not a [min, max] pair of ports above 1024"),
                    "set runtime.portRange: [7000, 8000]",
                );
                None
            }
        };
        let runtime = Runtime {
            kind: kind?,
            agones_version: agones_version?,
            namespace,
            max_users,
            buffer_size,
            idle_minutes,
            startup_minutes,
            port_range: port_range?,
            insecure_extension_access: f.insecure_extension_access.unwrap_or(false),
        };
        ok.then_some(runtime)
    }

    /// The templates users can start; `None` in the file means today's single WebUI.
    fn templates(&mut self, f: Option<Vec<TemplateFile>>) -> Option<Vec<Template>> {
        let Some(files) = f else {
            return Some(vec![Template {
                name: Template::DEFAULT_NAME.into(),
                engine: Engine::A1111,
                disk_gb: Template::DEFAULT_DISK_GB,
            }]);
        };
        if files.is_empty() {
            self.err(
                "templates",
                "is empty: users would have nothing to start",
                "remove `templates:` (one AUTOMATIC1111 WebUI), or list at least one, such as [{name: sd15}]",
            );
            return None;
        }
        let mut ok = true;
        let mut templates = Vec::new();
        for (i, t) in files.into_iter().enumerate() {
            let path = format!("templates[{i}]");
            let name = match t.name {
                Some(n) if is_template_name(&n) => n,
                Some(n) => {
                    self.err(
                        &format!("{path}.name"),
                        format!(
                            "{n:?} must be 1-16 lower-case letters, digits or '-', starting with a letter and not ending with '-' (it names Kubernetes objects and disks)"
                        ),
                        "choose a short name such as sd15",
                    );
                    ok = false;
                    continue;
                }
                None => {
                    self.err(&format!("{path}.name"), "missing", "give each template a name, such as sd15");
                    ok = false;
                    continue;
                }
            };
            if templates.iter().any(|t: &Template| t.name == name) {
                self.err(
                    &format!("{path}.name"),
                    format!("{name:?} is used by an earlier template"),
                    "give each template its own name",
                );
                ok = false;
            }
            let engine = match t.engine.as_deref() {
                None => Some(Engine::A1111),
                Some(v) => self.choice(&format!("{path}.engine"), v, &Engine::ALL),
            };
            let disk_gb = t.disk_gb.unwrap_or(Template::DEFAULT_DISK_GB);
            if !(10..=65536).contains(&disk_gb) {
                self.err(
                    &format!("{path}.diskGb"),
                    format!("{disk_gb} GB is outside a persistent disk's 10-65536 GB"),
                    format!("set diskGb to {} or another size in that range", Template::DEFAULT_DISK_GB),
                );
                ok = false;
            }
            if let Some(engine) = engine {
                templates.push(Template { name, engine, disk_gb });
            } else {
                ok = false;
            }
        }
        ok.then_some(templates)
    }

    fn images(&mut self, f: ImagesFile, name: Option<&str>) -> Option<Images> {
        let repository = match f.repository {
            Some(r) => r,
            None => format!("{}-images", name?),
        };
        if !is_gcp_name(&repository, 63) {
            self.err(
                "images.repository",
                format!("{repository:?} is not a valid Artifact Registry repository id"),
                "use lower-case letters, digits and hyphens, starting with a letter",
            );
            return None;
        }
        Some(Images { repository })
    }

    fn access(&mut self, f: AccessFile) -> Option<Access> {
        let domain = f.domain.filter(|d| !d.is_empty());
        let mut ok = true;
        if let Some(d) = &domain
            && !is_hostname(d)
        {
            self.err(
                "access.domain",
                format!("{d:?} is not a host name"),
                "use a name like sd.example.com (no scheme, no path), or leave it empty for <ip>.sslip.io",
            );
            ok = false;
        }
        let iap = f.iap.unwrap_or_default();
        let members = iap.members.unwrap_or_default();
        for (i, m) in members.iter().enumerate() {
            let valid = ["user:", "group:", "domain:", "serviceAccount:"]
                .iter()
                .any(|p| m.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
            if !valid {
                self.err(
                    &format!("access.iap.members[{i}]"),
                    format!("{m:?} is not an IAM member"),
                    format!("write it as user:{m}, group:..., domain:... or serviceAccount:..."),
                );
                ok = false;
            }
        }
        let oauth_client = match iap.oauth_client {
            None => Some(OAuthClient::Managed),
            Some(OAuthClientFile::Managed(s)) if s == "managed" => Some(OAuthClient::Managed),
            Some(OAuthClientFile::Managed(s)) => {
                self.err("access.iap.oauthClient", format!("{s:?} is not supported (expected managed or {{clientIdEnv, clientSecretEnv}})"), "set access.iap.oauthClient: managed, or name the environment variables that hold your client's id and secret");
                None
            }
            Some(OAuthClientFile::Custom(c)) => {
                for (path, v) in [
                    ("access.iap.oauthClient.clientIdEnv", &c.client_id_env),
                    ("access.iap.oauthClient.clientSecretEnv", &c.client_secret_env),
                ] {
                    if !is_env_var_name(v) {
                        self.err(
                            path,
                            format!("{v:?} is not an environment variable name"),
                            "name the variable (e.g. SD_OAUTH_CLIENT_SECRET), never the secret itself",
                        );
                        ok = false;
                    }
                }
                Some(OAuthClient::Custom { client_id_env: c.client_id_env, client_secret_env: c.client_secret_env })
            }
        };
        let access = Access { domain, iap_members: members, oauth_client: oauth_client? };
        ok.then_some(access)
    }

    fn labels(&mut self, user: BTreeMap<String, String>, name: Option<&str>) -> Option<BTreeMap<String, String>> {
        let mut ok = true;
        for (k, v) in &user {
            let path = format!("labels.{k}");
            if k == LABEL_ENV {
                self.err(
                    &path,
                    "is set by sdctl itself (it marks what sdctl manages)",
                    format!("remove labels.{LABEL_ENV}"),
                );
                ok = false;
            } else if !is_label_key(k) {
                self.err(&path, "is not a valid label key (lower-case letters, digits, _ and -, starting with a letter, at most 63)", "rename the key");
                ok = false;
            } else if !is_label_value(v) {
                self.err(
                    &path,
                    format!("{v:?} is not a valid label value (lower-case letters, digits, _ and -, at most 63)"),
                    "change the value",
                );
                ok = false;
            }
        }
        let mut labels = user;
        labels.insert(LABEL_ENV.to_string(), name?.to_string());
        ok.then_some(labels)
    }
}

/// The override wins over the file; the path says where a bad value came from.
fn pick(file: Option<String>, flag: Option<&Sourced>, field: &str) -> (Option<String>, String) {
    match flag {
        Some(s) => (Some(s.value.clone()), format!("{field} (from {})", s.source)),
        None => (file, field.to_string()),
    }
}

/// `[a-z]([a-z0-9-]{0,14}[a-z0-9])?`: a DNS label short enough for `<template>-<id>` pod names
/// and `data-<template>-<id>` claims.
pub fn is_template_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= 16
        && !s.ends_with('-')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub fn is_env_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 20
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn is_project_id(s: &str) -> bool {
    // Domain-scoped projects look like `example.com:my-project`.
    let id = s.rsplit_once(':').map_or(s, |(_, id)| id);
    let b = id.as_bytes();
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !id.ends_with('-')
}

fn is_region(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !a.is_empty()
        && a.bytes().all(|c| c.is_ascii_lowercase())
        && b.len() >= 2
        && b.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
        && b.bytes().last().is_some_and(|c| c.is_ascii_digit())
        && b.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// RFC 1035 name as most Google resources take: `[a-z]([-a-z0-9]*[a-z0-9])?`.
pub fn is_gcp_name(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_lowercase()
        && !s.ends_with('-')
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Predefined (`e2-standard-4`) or custom (`custom-4-32768-ext`, `n2-custom-8-32768`) machine types.
pub fn is_machine_type(s: &str) -> bool {
    if let Some(custom) = s.strip_prefix("custom-").or_else(|| s.split_once("-custom-").map(|(_, rest)| rest)) {
        let custom = custom.strip_suffix("-ext").unwrap_or(custom);
        let mut parts = custom.split('-');
        return matches!(
            (parts.next().map(str::parse::<u32>), parts.next().map(str::parse::<u32>), parts.next()),
            (Some(Ok(cpus)), Some(Ok(mem)), None) if cpus > 0 && mem > 0
        );
    }
    is_gcp_name(s, 63) && s.contains('-')
}

/// GPUs a G2 machine type comes with.
fn g2_gpu_count(machine_type: &str) -> Option<u32> {
    match machine_type.strip_prefix("g2-standard-")? {
        "4" | "8" | "12" | "16" | "32" => Some(1),
        "24" => Some(2),
        "48" => Some(4),
        "96" => Some(8),
        _ => None,
    }
}

fn is_bucket_name(s: &str) -> bool {
    let b = s.as_bytes();
    (3..=63).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(c))
        && !s.starts_with("goog")
}

fn is_share_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 16
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn is_hostname(s: &str) -> bool {
    s.len() <= 253 && s.contains('.') && s.split('.').all(|l| is_dns_label(&l.to_ascii_lowercase()))
}

fn is_env_var_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn is_label_key(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 63 && b[0].is_ascii_lowercase() && is_label_value(s)
}

fn is_label_value(s: &str) -> bool {
    s.len() <= 63 && s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_types() {
        assert!(is_machine_type("custom-4-32768-ext"));
        assert!(is_machine_type("n2-custom-8-32768"));
        assert!(is_machine_type("e2-standard-4"));
        assert!(!is_machine_type("custom-4"));
        assert!(!is_machine_type("Big"));
    }

    #[test]
    fn regions_and_projects() {
        assert!(is_region("us-central1"));
        assert!(is_region("northamerica-northeast2"));
        assert!(!is_region("us-central1-a"));
        assert!(is_project_id("my-project-123"));
        assert!(is_project_id("example.com:my-project"));
        assert!(!is_project_id("123456789012"));
    }
}
