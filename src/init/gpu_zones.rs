//! Zones that offer each GPU type, for when Google cannot be asked (no credentials yet, the
//! Compute Engine API not enabled, no network). Recorded on `RECORDED` from SkyPilot's
//! machine-generated GCP catalogue (skypilot-org/skypilot-catalog, `catalogs/v8/gcp/vms.csv` at
//! commit 8427bbff988abdd050a9f51addd314ef31cb4e85: its `T4` accelerator rows and its L4 rows,
//! which match the zones of its g2-standard machines); Google's own list is the page "GPU
//! regions and zone availability" (cloud.google.com/compute/docs/gpus/gpu-regions-zones). Zones
//! are added over time: one missing here may offer the GPU today, which `--zones` allows. A
//! listed zone is no promise of capacity or quota.

use std::collections::BTreeMap;

use crate::config::GpuKind;

/// When the table was recorded.
pub const RECORDED: &str = "2026-12-03";

const T4: &[&str] = &[
    "asia-east1-a",
    "asia-east1-c",
    "asia-east2-a",
    "asia-east2-c",
    "asia-northeast1-a",
    "asia-northeast1-c",
    "asia-northeast3-b",
    "asia-northeast3-c",
    "asia-south1-a",
    "asia-south1-b",
    "asia-southeast1-a",
    "asia-southeast1-b",
    "asia-southeast1-c",
    "asia-southeast2-a",
    "asia-southeast2-b",
    "australia-southeast1-a",
    "australia-southeast1-c",
    "europe-central2-b",
    "europe-central2-c",
    "europe-west1-b",
    "europe-west1-c",
    "europe-west1-d",
    "europe-west2-a",
    "europe-west2-b",
    "europe-west3-b",
    "europe-west4-a",
    "europe-west4-b",
    "europe-west4-c",
    "me-west1-b",
    "me-west1-c",
    "northamerica-northeast1-c",
    "southamerica-east1-a",
    "southamerica-east1-b",
    "southamerica-east1-c",
    "us-central1-a",
    "us-central1-b",
    "us-central1-c",
    "us-central1-f",
    "us-east1-c",
    "us-east1-d",
    "us-east4-a",
    "us-east4-b",
    "us-east4-c",
    "us-west1-a",
    "us-west1-b",
    "us-west2-b",
    "us-west2-c",
    "us-west3-b",
    "us-west4-a",
    "us-west4-b",
];

const L4: &[&str] = &[
    "asia-east1-a",
    "asia-east1-b",
    "asia-east1-c",
    "asia-northeast1-a",
    "asia-northeast1-b",
    "asia-northeast1-c",
    "asia-northeast3-a",
    "asia-northeast3-b",
    "asia-south1-a",
    "asia-south1-b",
    "asia-south1-c",
    "asia-southeast1-a",
    "asia-southeast1-b",
    "asia-southeast1-c",
    "europe-west1-b",
    "europe-west1-c",
    "europe-west2-a",
    "europe-west2-b",
    "europe-west3-a",
    "europe-west3-b",
    "europe-west4-a",
    "europe-west4-b",
    "europe-west4-c",
    "europe-west6-b",
    "europe-west6-c",
    "me-central2-a",
    "me-central2-c",
    "northamerica-northeast1-b",
    "northamerica-northeast2-a",
    "northamerica-northeast2-b",
    "us-central1-a",
    "us-central1-b",
    "us-central1-c",
    "us-east1-b",
    "us-east1-c",
    "us-east1-d",
    "us-east4-a",
    "us-east4-c",
    "us-west1-a",
    "us-west1-b",
    "us-west1-c",
    "us-west4-a",
    "us-west4-c",
];

fn zones(kind: GpuKind) -> &'static [&'static str] {
    match kind {
        GpuKind::T4 => T4,
        GpuKind::L4 => L4,
    }
}

/// The zones of `region` that offer each GPU type, by the table.
pub fn offering(region: &str) -> BTreeMap<GpuKind, Vec<String>> {
    let prefix = format!("{region}-");
    GpuKind::ALL
        .into_iter()
        .map(|(_, kind)| {
            let here = zones(kind).iter().filter(|z| z.strip_prefix(&prefix).is_some_and(|s| s.len() == 1));
            (kind, here.map(|z| z.to_string()).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_zones_only() {
        for (_, kind) in GpuKind::ALL {
            let z = zones(kind);
            assert!(z.windows(2).all(|w| w[0] < w[1]), "{kind:?}: sorted, no duplicates");
            for zone in z {
                let (region, letter) = zone.rsplit_once('-').unwrap();
                assert!(letter.len() == 1 && region.contains('-'), "{zone}");
            }
        }
    }

    #[test]
    fn a_region_gets_its_own_zones() {
        let central = offering("us-central1");
        assert_eq!(central[&GpuKind::T4], ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]);
        assert_eq!(central[&GpuKind::L4], ["us-central1-a", "us-central1-b", "us-central1-c"]);
        // us-west2 sells T4 only; a prefix of another region's name is not that region.
        let west2 = offering("us-west2");
        assert_eq!(west2[&GpuKind::L4], Vec::<String>::new());
        assert_eq!(offering("us-west")[&GpuKind::T4], Vec::<String>::new());
        assert_eq!(offering("europe-west4")[&GpuKind::L4].len(), 3);
    }
}
