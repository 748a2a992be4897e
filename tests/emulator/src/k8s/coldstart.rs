//! How long a new GPU node takes to have the WebUI image, per way of getting it (scenario
//! `webuiImageGb` > 0; 0, the default, models no pull). A model, not a measurement: the figures
//! are scaled from seed 004's measurements on GKE of a 2 GB image on e2-standard-4 nodes, cited in
//! FIDELITY.md:
//! - from the registry: 55 s on the first node, 43 s on a later new node (per 2 GB);
//! - image streaming: 53 s on the first node of a region, then "immediately" on new nodes (the
//!   region's cache; we model 1 s, and no lazy-loading cost at start-up, which is unmeasured);
//! - a CONTAINER_IMAGE_CACHE secondary boot disk: under 1 s, even on the first node (1 s here).

/// How a node pool gets the WebUI image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagePull {
    /// A plain pull from Artifact Registry.
    Registry,
    /// GKE image streaming (`gcfsConfig.enabled`).
    Streaming,
    /// A secondary boot disk in CONTAINER_IMAGE_CACHE mode (with image streaming, as GKE needs).
    Cache,
}

/// Seconds per GB, scaled from the 2 GB measurements.
const REGISTRY_FIRST_PER_GB: f64 = 55.0 / 2.0;
const REGISTRY_LATER_PER_GB: f64 = 43.0 / 2.0;
const STREAMING_FIRST_PER_GB: f64 = 53.0 / 2.0;
const WARM_SECS: f64 = 1.0;

/// Seconds until the image is on the node: `first` when no node of the cluster pulled it before
/// (streaming's regional cache is cold; a registry pull is slower on the first node).
pub fn pull_secs(mode: ImagePull, image_gb: f64, first: bool) -> f64 {
    match (mode, first) {
        (ImagePull::Cache, _) => WARM_SECS,
        (ImagePull::Streaming, true) => STREAMING_FIRST_PER_GB * image_gb,
        (ImagePull::Streaming, false) => WARM_SECS,
        (ImagePull::Registry, true) => REGISTRY_FIRST_PER_GB * image_gb,
        (ImagePull::Registry, false) => REGISTRY_LATER_PER_GB * image_gb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_measurements_come_back_for_2_gb() {
        assert_eq!(pull_secs(ImagePull::Registry, 2.0, true), 55.0);
        assert_eq!(pull_secs(ImagePull::Registry, 2.0, false), 43.0);
        assert_eq!(pull_secs(ImagePull::Streaming, 2.0, true), 53.0);
        assert!(pull_secs(ImagePull::Streaming, 2.0, false) <= 1.0);
        assert!(pull_secs(ImagePull::Cache, 2.0, true) <= 1.0);
    }
}
