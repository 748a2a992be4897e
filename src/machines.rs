//! Compute Engine machine types sdctl reasons about without asking the API: the shape (vCPUs,
//! memory, bundled GPUs) of predefined types of the families sdctl uses, and the rules custom
//! types must follow (Google checks custom shapes by these rules, not against a list).

/// The shape of a machine type.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// `e2`, `n1`, `n2`, `g2`, ...
    pub family: String,
    pub vcpus: u32,
    pub memory_gb: f64,
    /// Memory above the family's standard per-vCPU maximum (custom `-ext` types), in GB.
    pub extended_gb: f64,
    pub custom: bool,
    /// Shared-core types (e2-micro, e2-small, e2-medium).
    pub shared_core: bool,
    /// GPUs that come with the type (G2: NVIDIA L4).
    pub bundled_gpus: u32,
}

/// Memory per vCPU (GB) of predefined families: standard, highmem, highcpu.
const PREDEFINED: &[(&str, f64, f64, f64)] =
    &[("e2", 4.0, 8.0, 1.0), ("n1", 3.75, 6.5, 0.9), ("n2", 4.0, 8.0, 1.0), ("n2d", 4.0, 8.0, 1.0)];

/// G2: vCPUs -> (memory GB, L4 GPUs).
const G2: &[(u32, f64, u32)] = &[
    (4, 16.0, 1),
    (8, 32.0, 1),
    (12, 48.0, 1),
    (16, 64.0, 1),
    (24, 96.0, 2),
    (32, 128.0, 1),
    (48, 192.0, 4),
    (96, 384.0, 8),
];

/// Custom-type rules per family: max vCPUs, min and max GB per vCPU without `-ext`, max total
/// GB with `-ext` (Compute Engine "Create a VM with a custom machine type").
struct CustomRules {
    max_vcpus: u32,
    min_gb_per_vcpu: f64,
    max_gb_per_vcpu: f64,
    max_extended_total_gb: f64,
    /// N1 allows 1 vCPU; other families need an even count of at least 2.
    single_vcpu: bool,
}

fn custom_rules(family: &str) -> Option<CustomRules> {
    Some(match family {
        "n1" => CustomRules {
            max_vcpus: 96,
            min_gb_per_vcpu: 0.9,
            max_gb_per_vcpu: 6.5,
            max_extended_total_gb: 624.0,
            single_vcpu: true,
        },
        "n2" => CustomRules {
            max_vcpus: 128,
            min_gb_per_vcpu: 0.5,
            max_gb_per_vcpu: 8.0,
            max_extended_total_gb: 864.0,
            single_vcpu: false,
        },
        "e2" => CustomRules {
            max_vcpus: 32,
            min_gb_per_vcpu: 0.5,
            max_gb_per_vcpu: 8.0,
            max_extended_total_gb: 128.0,
            single_vcpu: false,
        },
        _ => return None,
    })
}

/// The family of a machine type name (`custom-4-32768-ext` is N1).
pub fn family(name: &str) -> &str {
    if name.starts_with("custom-") {
        return "n1";
    }
    name.split('-').next().unwrap_or(name)
}

/// Whether the name is a custom type (`custom-…`, `n2-custom-…`).
pub fn is_custom(name: &str) -> bool {
    name.starts_with("custom-") || name.contains("-custom-")
}

/// A predefined type of the same family, to ask whether a zone sells the family at all.
pub fn family_probe(name: &str) -> String {
    match family(name) {
        "n1" => "n1-standard-1".to_string(),
        f => format!("{f}-standard-2"),
    }
}

/// The shape of `name`, or why it is not a valid machine type (custom rules broken, unknown).
pub fn shape(name: &str) -> Result<Shape, String> {
    if is_custom(name) {
        return custom(name);
    }
    let shared = |vcpus: u32, gb: f64| Shape {
        family: "e2".into(),
        vcpus,
        memory_gb: gb,
        extended_gb: 0.0,
        custom: false,
        shared_core: true,
        bundled_gpus: 0,
    };
    match name {
        "e2-micro" => return Ok(shared(2, 1.0)),
        "e2-small" => return Ok(shared(2, 2.0)),
        "e2-medium" => return Ok(shared(2, 4.0)),
        _ => {}
    }
    let parts: Vec<&str> = name.split('-').collect();
    let [fam, kind, n] = parts.as_slice() else {
        return Err(format!("{name:?} is not a machine type sdctl knows the shape of"));
    };
    let vcpus: u32 = n.parse().map_err(|_| format!("{name:?} is not a machine type sdctl knows the shape of"))?;
    if *fam == "g2" && *kind == "standard" {
        let (_, gb, gpus) = G2.iter().find(|(c, _, _)| *c == vcpus).ok_or_else(|| {
            format!("{name:?} is not a G2 machine type (g2-standard-4, -8, -12, -16, -24, -32, -48, -96)")
        })?;
        return Ok(Shape {
            family: "g2".into(),
            vcpus,
            memory_gb: *gb,
            extended_gb: 0.0,
            custom: false,
            shared_core: false,
            bundled_gpus: *gpus,
        });
    }
    let (_, standard, highmem, highcpu) = PREDEFINED
        .iter()
        .find(|(f, ..)| f == fam)
        .ok_or_else(|| format!("{name:?} is not a machine type sdctl knows the shape of"))?;
    let per_vcpu = match *kind {
        "standard" => standard,
        "highmem" => highmem,
        "highcpu" => highcpu,
        _ => return Err(format!("{name:?} is not a machine type sdctl knows the shape of")),
    };
    Ok(Shape {
        family: fam.to_string(),
        vcpus,
        memory_gb: per_vcpu * f64::from(vcpus),
        extended_gb: 0.0,
        custom: false,
        shared_core: false,
        bundled_gpus: 0,
    })
}

/// `custom-CPUS-MEMORY_MB[-ext]` (N1) or `FAMILY-custom-CPUS-MEMORY_MB[-ext]`, checked by the
/// family's rules.
fn custom(name: &str) -> Result<Shape, String> {
    let (family, rest) = match name.strip_prefix("custom-") {
        Some(rest) => ("n1", rest),
        None => name.split_once("-custom-").ok_or_else(|| format!("{name:?} is not a custom machine type"))?,
    };
    let rules = custom_rules(family)
        .ok_or_else(|| format!("{name}: sdctl knows the custom-type rules of n1, n2 and e2, not {family}"))?;
    let (rest, ext) = match rest.strip_suffix("-ext") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (cpus, mb) = rest
        .split_once('-')
        .and_then(|(c, m)| Some((c.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .ok_or_else(|| format!("{name}: expected custom-VCPUS-MEMORY_MB, e.g. custom-4-32768-ext"))?;
    let valid_cpus = if cpus == 1 { rules.single_vcpu } else { cpus >= 2 && cpus % 2 == 0 };
    if !valid_cpus || cpus > rules.max_vcpus {
        let one = if rules.single_vcpu { "1 or " } else { "" };
        return Err(format!(
            "{name}: {family} custom types take {one}an even number of vCPUs up to {}",
            rules.max_vcpus
        ));
    }
    if mb % 256 != 0 {
        return Err(format!("{name}: memory must be a multiple of 256 MB ({mb} is not)"));
    }
    let gb = f64::from(mb) / 1024.0;
    let per_vcpu = gb / f64::from(cpus);
    if per_vcpu < rules.min_gb_per_vcpu {
        return Err(format!(
            "{name}: {family} custom types need at least {} GB per vCPU ({per_vcpu:.2} given)",
            rules.min_gb_per_vcpu
        ));
    }
    let standard_max = rules.max_gb_per_vcpu * f64::from(cpus);
    if gb > standard_max && !ext {
        return Err(format!(
            "{name}: more than {} GB per vCPU needs extended memory: {name}-ext",
            rules.max_gb_per_vcpu
        ));
    }
    if ext && gb > rules.max_extended_total_gb {
        return Err(format!("{name}: {family} extended memory goes up to {} GB in all", rules.max_extended_total_gb));
    }
    Ok(Shape {
        family: family.to_string(),
        vcpus: cpus,
        memory_gb: gb,
        extended_gb: (gb - standard_max).max(0.0),
        custom: true,
        shared_core: false,
        bundled_gpus: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_custom_t4_machine_follows_n1_rules() {
        let s = shape("custom-4-32768-ext").unwrap();
        assert_eq!((s.family.as_str(), s.vcpus, s.memory_gb, s.extended_gb), ("n1", 4, 32.0, 6.0));
        assert!(shape("custom-4-32768").unwrap_err().contains("needs extended memory"));
        assert!(shape("custom-3-6144").unwrap_err().contains("even number"));
        assert!(shape("custom-4-1000").unwrap_err().contains("multiple of 256"));
        assert!(shape("custom-2-1024").unwrap_err().contains("at least 0.9 GB"));
        assert!(shape("custom-96-700416-ext").unwrap_err().contains("up to 624 GB"));
        assert_eq!(shape("n2-custom-8-32768").unwrap().family, "n2");
        assert!(shape("e2-custom-1-4096").is_err(), "E2 custom needs 2+ vCPUs");
    }

    #[test]
    fn predefined_shapes() {
        assert_eq!(shape("e2-standard-4").unwrap().memory_gb, 16.0);
        assert_eq!(shape("n1-standard-8").unwrap().memory_gb, 30.0);
        let g2 = shape("g2-standard-24").unwrap();
        assert_eq!((g2.vcpus, g2.bundled_gpus), (24, 2));
        assert!(shape("e2-medium").unwrap().shared_core);
        assert!(shape("z9-mega-3").is_err());
        assert_eq!(family_probe("custom-4-32768-ext"), "n1-standard-1");
        assert_eq!(family_probe("n2-custom-8-32768"), "n2-standard-2");
    }
}
