//! Upstream files sdctl downloads at run time, pinned by URL and sha256.
//!
//! Only versions whose bytes were checked are listed (see `shared/upstream/README.md` in the
//! project's research notes). To add one, download it, verify it, and add its sha256 here.

/// One pinned Agones release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgonesRelease {
    pub version: &'static str,
    pub install_url: &'static str,
    pub sha256: &'static str,
    /// Kubernetes minors the release supports (Agones supports three at a time).
    pub kubernetes_minors: [u32; 3],
}

pub const AGONES: &[AgonesRelease] = &[AgonesRelease {
    version: "1.60.0",
    install_url: "https://raw.githubusercontent.com/agones-dev/agones/release-1.60.0/install/yaml/install.yaml",
    sha256: "7c730d2d007a76a9ea23d5afba1c4bfc016e99a020aa279a45e9fd5a6233162a",
    kubernetes_minors: [34, 35, 36],
}];

pub fn agones(version: &str) -> Option<&'static AgonesRelease> {
    AGONES.iter().find(|r| r.version == version)
}

pub fn agones_versions() -> Vec<&'static str> {
    AGONES.iter().map(|r| r.version).collect()
}

/// The newest pinned release that supports Kubernetes `1.<minor>`.
pub fn agones_for_kubernetes(minor: u32) -> Option<&'static AgonesRelease> {
    AGONES.iter().filter(|r| r.kubernetes_minors.contains(&minor)).max_by_key(|r| version_key(r.version))
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}

/// NVIDIA's driver installer DaemonSet for Container-Optimized OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverInstaller {
    pub name: &'static str,
    pub url: &'static str,
    pub sha256: &'static str,
}

#[cfg(test)]
const DRIVER_BASE: &str = "https://raw.githubusercontent.com/GoogleCloudPlatform/container-engine-accelerators/f2cf4197a5c3f0f20133be15d5fad8b7453beed5/nvidia-driver-installer/cos";

/// The default driver (T4).
pub const DRIVER_DEFAULT: DriverInstaller = DriverInstaller {
    name: "daemonset-preloaded.yaml",
    url: "https://raw.githubusercontent.com/GoogleCloudPlatform/container-engine-accelerators/f2cf4197a5c3f0f20133be15d5fad8b7453beed5/nvidia-driver-installer/cos/daemonset-preloaded.yaml",
    sha256: "41c303c5f1c1279eae47f5e183591b12e2cc4176523ad5764ab1081c1b9d27ee",
};

/// The latest driver (L4 needs it).
pub const DRIVER_LATEST: DriverInstaller = DriverInstaller {
    name: "daemonset-preloaded-latest.yaml",
    url: "https://raw.githubusercontent.com/GoogleCloudPlatform/container-engine-accelerators/f2cf4197a5c3f0f20133be15d5fad8b7453beed5/nvidia-driver-installer/cos/daemonset-preloaded-latest.yaml",
    sha256: "b54f48b9d9f589cd4a2beb0e4571e4ff8844305a435916340a8504bd5fb0df61",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_urls_share_the_pinned_commit() {
        for d in [DRIVER_DEFAULT, DRIVER_LATEST] {
            assert_eq!(d.url, format!("{DRIVER_BASE}/{}", d.name));
        }
    }

    #[test]
    fn agones_for_kubernetes_picks_a_supporting_release() {
        assert_eq!(agones_for_kubernetes(35).map(|r| r.version), Some("1.60.0"));
        assert_eq!(agones_for_kubernetes(20), None);
    }
}
