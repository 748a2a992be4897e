//! What every project sees the same: regions and their zones, machine types, accelerator types,
//! public images. Figures are Google's published ones for the types sdctl uses.

use serde_json::{Value, json};

use super::BASE;

/// Regions with their zones and the range of their auto-mode subnetwork.
pub const REGIONS: &[(&str, &[&str], &str)] = &[
    ("us-central1", &["a", "b", "c", "f"], "10.128.0.0/20"),
    ("europe-west1", &["b", "c", "d"], "10.132.0.0/20"),
    ("us-west1", &["a", "b", "c"], "10.138.0.0/20"),
    ("asia-east1", &["a", "b", "c"], "10.140.0.0/20"),
    ("us-east1", &["b", "c", "d"], "10.142.0.0/20"),
    ("asia-northeast1", &["a", "b", "c"], "10.146.0.0/20"),
    ("asia-southeast1", &["a", "b", "c"], "10.148.0.0/20"),
    ("us-east4", &["a", "b", "c"], "10.150.0.0/20"),
    ("europe-west4", &["a", "b", "c"], "10.164.0.0/20"),
    ("us-west4", &["a", "b", "c"], "10.182.0.0/20"),
];

pub fn region_exists(region: &str) -> bool {
    REGIONS.iter().any(|(r, _, _)| *r == region)
}

pub fn zones_of(region: &str) -> Vec<String> {
    REGIONS
        .iter()
        .find(|(r, _, _)| *r == region)
        .map(|(r, zones, _)| zones.iter().map(|z| format!("{r}-{z}")).collect())
        .unwrap_or_default()
}

pub fn zone_exists(zone: &str) -> bool {
    zones_of(crate::google::util::region_of(zone)).iter().any(|z| z == zone)
}

pub fn all_zones() -> Vec<String> {
    REGIONS.iter().flat_map(|(r, _, _)| zones_of(r)).collect()
}

/// Accelerator types: name, description, max cards per instance, quota metric.
pub const ACCELERATORS: &[(&str, &str, u32, &str)] = &[
    ("nvidia-tesla-t4", "NVIDIA T4", 4, "NVIDIA_T4_GPUS"),
    ("nvidia-tesla-t4-vws", "NVIDIA T4 Virtual Workstation", 4, "NVIDIA_T4_VWS_GPUS"),
    ("nvidia-l4", "NVIDIA L4", 8, "NVIDIA_L4_GPUS"),
    ("nvidia-l4-vws", "NVIDIA L4 Virtual Workstation", 8, "NVIDIA_L4_VWS_GPUS"),
    ("nvidia-tesla-p4", "NVIDIA P4", 4, "NVIDIA_P4_GPUS"),
    ("nvidia-tesla-v100", "NVIDIA V100", 8, "NVIDIA_V100_GPUS"),
    ("nvidia-tesla-a100", "NVIDIA A100 40GB", 16, "NVIDIA_A100_GPUS"),
    ("nvidia-a100-80gb", "NVIDIA A100 80GB", 8, "NVIDIA_A100_80GB_GPUS"),
    ("nvidia-h100-80gb", "NVIDIA H100 80GB", 8, "NVIDIA_H100_GPUS"),
];

/// The regional quota metric of an accelerator type (`PREEMPTIBLE_` for spot/preemptible VMs).
pub fn gpu_metric(accelerator: &str, preemptible: bool) -> Option<String> {
    let (_, _, _, metric) = ACCELERATORS.iter().find(|(n, ..)| *n == accelerator)?;
    Some(if preemptible { format!("PREEMPTIBLE_{metric}") } else { metric.to_string() })
}

pub fn accelerator_exists(name: &str) -> bool {
    ACCELERATORS.iter().any(|(n, ..)| *n == name)
}

/// A machine type's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineType {
    pub name: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub shared_cpu: bool,
    /// GPUs that come with the type (A2, G2).
    pub accelerator: Option<(&'static str, u32)>,
    /// `n1`, `e2`, `n2`, `g2`, `a2`.
    pub family: &'static str,
    pub custom: bool,
}

impl MachineType {
    pub fn to_json(&self, project: &str, zone: &str) -> Value {
        let gb = self.memory_mb as f64 / 1024.0;
        let mut v = json!({
            "kind": "compute#machineType",
            "id": machine_id(&self.name),
            "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
            "name": self.name,
            "description": format!("{} vCPU{}, {} GB RAM", self.cpus, if self.cpus == 1 { "" } else { "s" }, trim_float(gb)),
            "guestCpus": self.cpus,
            "memoryMb": self.memory_mb,
            "imageSpaceGb": 0,
            "maximumPersistentDisks": 128,
            "maximumPersistentDisksSizeGb": "263168",
            "zone": zone,
            "selfLink": format!("{BASE}projects/{project}/zones/{zone}/machineTypes/{}", self.name),
            "isSharedCpu": self.shared_cpu,
            "architecture": "X86_64",
        });
        if let Some((accel, count)) = self.accelerator {
            v["accelerators"] = json!([{ "guestAcceleratorType": accel, "guestAcceleratorCount": count }]);
        }
        v
    }
}

fn trim_float(f: f64) -> String {
    if f.fract() == 0.0 { format!("{f:.0}") } else { format!("{f:.2}").trim_end_matches('0').to_string() }
}

fn machine_id(name: &str) -> String {
    let h = name.bytes().fold(1_000_000u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    (1_000_000_000 + h % 9_000_000_000).to_string()
}

/// Predefined types: family, kind, memory per vCPU (MB), vCPU counts.
const PREDEFINED: &[(&str, &str, u64, &[u32])] = &[
    ("e2", "standard", 4096, &[2, 4, 8, 16, 32]),
    ("e2", "highmem", 8192, &[2, 4, 8, 16]),
    ("e2", "highcpu", 1024, &[2, 4, 8, 16, 32]),
    ("n1", "standard", 3840, &[1, 2, 4, 8, 16, 32, 64, 96]),
    ("n1", "highmem", 6656, &[2, 4, 8, 16, 32, 64, 96]),
    ("n1", "highcpu", 922, &[2, 4, 8, 16, 32, 64, 96]),
    ("n2", "standard", 4096, &[2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
    ("n2", "highmem", 8192, &[2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
];

/// G2 (NVIDIA L4): vCPUs, memory GB, GPUs.
const G2: &[(u32, u64, u32)] =
    &[(4, 16, 1), (8, 32, 1), (12, 48, 1), (16, 64, 1), (24, 96, 2), (32, 128, 1), (48, 192, 4), (96, 384, 8)];

/// Every predefined machine type (what `machineTypes.list` returns).
pub fn machine_types() -> Vec<MachineType> {
    let mut out = vec![shared("e2-micro", 2, 1024), shared("e2-small", 2, 2048), shared("e2-medium", 2, 4096)];
    for (family, kind, per_cpu, counts) in PREDEFINED {
        for cpus in *counts {
            out.push(MachineType {
                name: format!("{family}-{kind}-{cpus}"),
                cpus: *cpus,
                memory_mb: per_cpu * *cpus as u64,
                shared_cpu: false,
                accelerator: None,
                family,
                custom: false,
            });
        }
    }
    for (cpus, gb, gpus) in G2 {
        out.push(MachineType {
            name: format!("g2-standard-{cpus}"),
            cpus: *cpus,
            memory_mb: gb * 1024,
            shared_cpu: false,
            accelerator: Some(("nvidia-l4", *gpus)),
            family: "g2",
            custom: false,
        });
    }
    for (gpus, cpus, gb) in [(1u32, 12u32, 85u64), (2, 24, 170), (4, 48, 340), (8, 96, 680)] {
        out.push(MachineType {
            name: format!("a2-highgpu-{gpus}g"),
            cpus,
            memory_mb: gb * 1024,
            shared_cpu: false,
            accelerator: Some(("nvidia-tesla-a100", gpus)),
            family: "a2",
            custom: false,
        });
    }
    out
}

fn shared(name: &str, cpus: u32, memory_mb: u64) -> MachineType {
    MachineType {
        name: name.to_string(),
        cpus,
        memory_mb,
        shared_cpu: true,
        accelerator: None,
        family: "e2",
        custom: false,
    }
}

/// A machine type by name, predefined or custom (`custom-4-32768-ext`, `n2-custom-8-16384`,
/// `e2-custom-4-8192`). `Err` carries Google's reason for an invalid custom shape.
pub fn machine_type(name: &str) -> Result<MachineType, String> {
    if let Some(m) = machine_types().into_iter().find(|m| m.name == name) {
        return Ok(m);
    }
    let (family, rest) = match name.split_once("-custom-") {
        Some((family, rest)) => (family, rest),
        None => match name.strip_prefix("custom-") {
            Some(rest) => ("n1", rest),
            None => return Err(format!("Machine type {name} does not exist.")),
        },
    };
    let family: &'static str = match family {
        "n1" => "n1",
        "n2" => "n2",
        "e2" => "e2",
        _ => return Err(format!("Machine type {name} does not exist.")),
    };
    let (rest, ext) = match rest.strip_suffix("-ext") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (cpus, memory) = rest
        .split_once('-')
        .and_then(|(c, m)| Some((c.parse::<u32>().ok()?, m.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("Machine type {name} does not exist."))?;
    let (max_cpus, min_per_cpu, max_per_cpu) = match family {
        "n1" => (96, 922, 6656),
        "n2" => (128, 512, 8192),
        _ => (32, 512, 8192),
    };
    if cpus == 0 || cpus > max_cpus || (cpus > 1 && cpus % 2 == 1) || (family != "n1" && cpus < 2) {
        return Err(format!(
            "Invalid value for field 'resource.machineType': '{name}'. Custom machine types must have 1 or an even number of vCPUs (at most {max_cpus})."
        ));
    }
    if memory % 256 != 0 {
        return Err(format!(
            "Invalid value for field 'resource.machineType': '{name}'. Memory should be a multiple of 256MiB."
        ));
    }
    let per_cpu = memory / cpus as u64;
    if per_cpu < min_per_cpu || (!ext && per_cpu > max_per_cpu) {
        return Err(format!(
            "Invalid value for field 'resource.machineType': '{name}'. Memory should be between {}MiB and {}MiB per vCPU{}.",
            min_per_cpu,
            max_per_cpu,
            if ext { "" } else { " (use -ext for extended memory)" }
        ));
    }
    Ok(MachineType {
        name: name.to_string(),
        cpus,
        memory_mb: memory,
        shared_cpu: false,
        accelerator: None,
        family,
        custom: true,
    })
}

/// Why `accelerator` cannot be attached to `machine`, if it cannot (GPUs need N1, L4 needs G2).
pub fn accelerator_fits(machine: &MachineType, accelerator: &str) -> Result<(), String> {
    let ok = match accelerator {
        "nvidia-l4" | "nvidia-l4-vws" => machine.family == "g2",
        "nvidia-tesla-a100" | "nvidia-a100-80gb" => machine.family == "a2",
        "nvidia-h100-80gb" => false,
        _ => machine.family == "n1",
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Accelerator type {accelerator} is not supported with machine type {}: [{accelerator}] features are not compatible for creating instance.",
            machine.name
        ))
    }
}

/// Public image projects and their families (`images.getFromFamily`).
pub const PUBLIC_IMAGES: &[(&str, &str, &str)] = &[
    ("debian-cloud", "debian-12", "debian-12-bookworm-v20261105"),
    ("debian-cloud", "debian-11", "debian-11-bullseye-v20261105"),
    ("cos-cloud", "cos-stable", "cos-stable-121-18867-90-38"),
    ("ubuntu-os-cloud", "ubuntu-2404-lts-amd64", "ubuntu-2404-noble-amd64-v20261101"),
    ("ubuntu-os-cloud", "ubuntu-2204-lts", "ubuntu-2204-jammy-v20261101"),
];

pub fn public_image_json(project: &str, family: &str, name: &str) -> Value {
    json!({
        "kind": "compute#image",
        "id": machine_id(name),
        "creationTimestamp": "2026-11-05T10:00:00.000-08:00",
        "name": name,
        "family": family,
        "status": "READY",
        "sourceType": "RAW",
        "diskSizeGb": "10",
        "archiveSizeBytes": "1234567890",
        "architecture": "X86_64",
        "selfLink": format!("{BASE}projects/{project}/global/images/{name}"),
        "licenses": [format!("{BASE}projects/{project}/global/licenses/{family}")],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_machine_types_like_google() {
        let m = machine_type("custom-4-32768-ext").unwrap();
        assert_eq!((m.cpus, m.memory_mb, m.family), (4, 32768, "n1"));
        assert!(machine_type("custom-4-32768").is_err(), "8 GB per vCPU needs -ext on N1");
        assert!(machine_type("custom-3-6144").is_err(), "odd vCPU count");
        assert!(machine_type("custom-4-1000").is_err(), "not a multiple of 256 MB");
        assert_eq!(machine_type("g2-standard-8").unwrap().accelerator, Some(("nvidia-l4", 1)));
        assert!(machine_type("e2-standard-3").is_err());
    }

    #[test]
    fn gpus_need_the_right_family() {
        let n1 = machine_type("custom-4-32768-ext").unwrap();
        assert!(accelerator_fits(&n1, "nvidia-tesla-t4").is_ok());
        assert!(accelerator_fits(&n1, "nvidia-l4").is_err());
        let e2 = machine_type("e2-standard-4").unwrap();
        assert!(accelerator_fits(&e2, "nvidia-tesla-t4").is_err());
        assert_eq!(gpu_metric("nvidia-l4", true).as_deref(), Some("PREEMPTIBLE_NVIDIA_L4_GPUS"));
    }
}
