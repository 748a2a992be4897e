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

/// One pinned release of an upstream project sdctl installs from its repository's `config/`
/// directory (controller-gen output: CRDs, RBAC rules, webhook rules), file by file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigRelease {
    /// The directory `--okg-manifests DIR` holds it in, e.g. `kruise-1.9.0`.
    pub dir: &'static str,
    pub version: &'static str,
    /// Raw files at the release tag: `<base>/<path>`.
    pub base_url: &'static str,
    /// Paths as `--okg-manifests DIR` lays them out (`crd/<file>`, `rbac/<file>`,
    /// `webhook/<file>`) and their sha256.
    pub files: &'static [(&'static str, &'static str)],
    /// The manager image of the release.
    pub image: &'static str,
}

impl ConfigRelease {
    /// Where a file is published: CRDs sit under `config/crd/bases/` (controller-gen's output
    /// directory), the rest as laid out locally (`rbac/`, `webhook/`).
    pub fn url(&self, path: &str) -> String {
        match path.strip_prefix("crd/") {
            Some(file) => format!("{}/crd/bases/{file}", self.base_url),
            None => format!("{}/{path}", self.base_url),
        }
    }
}

/// OpenKruise (Advanced StatefulSet, pod probes, the daemon): what OpenKruiseGame builds on.
/// kruise-game 1.0 needs kruise 1.8 or later (openkruise/kruise#2086).
pub const KRUISE: ConfigRelease = ConfigRelease {
    dir: "kruise-1.9.0",
    version: "1.9.0",
    base_url: "https://raw.githubusercontent.com/openkruise/kruise/v1.9.0/config",
    image: "docker.io/openkruise/kruise-manager:v1.9.0",
    files: &[
        (
            "crd/apps.kruise.io_advancedcronjobs.yaml",
            "566aa1893987752211c7c4721e821ea871b70cac22020ac3df0926a5019d6e80",
        ),
        ("crd/apps.kruise.io_broadcastjobs.yaml", "c74d121f38408fc028f2316af398587981502f6f43019baca5334c8976a773ce"),
        ("crd/apps.kruise.io_clonesets.yaml", "f88f7603659946cc4182a8b44b1ab465832590130faf3333c65a7366aebd6892"),
        (
            "crd/apps.kruise.io_containerrecreaterequests.yaml",
            "0f600af71968b8c6de2dc1dee3252bc33bd0b0f0d5012512b15a7c81a6158bf7",
        ),
        ("crd/apps.kruise.io_daemonsets.yaml", "0e5ad6f5c74bd63ccd8388000bb03bc86f932629a1edbdb6e5917245a504eda4"),
        ("crd/apps.kruise.io_ephemeraljobs.yaml", "aacea17e74bb619956085dbcbf665208f4f2123cf47a13354972629fe5f91ad9"),
        (
            "crd/apps.kruise.io_imagelistpulljobs.yaml",
            "5834460f28c72ae6f8725267d8c263c013a0551965e80936d1b45988faf89f1e",
        ),
        ("crd/apps.kruise.io_imagepulljobs.yaml", "64c1f2e54a0c40d963555c328ddd3faabe53bc09f0e48ca7118418b0abbfb768"),
        ("crd/apps.kruise.io_nodeimages.yaml", "685e5a05e3b3d039580a7fcb5077037198ecc66eb6eb3a5f8481cc52507fa1c5"),
        ("crd/apps.kruise.io_nodepodprobes.yaml", "620777be44061c05455e405e40ef55896aa517415a35d6d70a53996e2ac091d4"),
        (
            "crd/apps.kruise.io_persistentpodstates.yaml",
            "c2250f6e10d5c9e0c319e314c783b85043c1cbab1a70766c5ec84d451f50cfed",
        ),
        ("crd/apps.kruise.io_podprobemarkers.yaml", "419cf53277a8ec6bdac4ae8e1c3c2c0292129ae17bb1e254375ec3d893532b3f"),
        (
            "crd/apps.kruise.io_resourcedistributions.yaml",
            "1cb11092f1ab864cbc309bc9e0b7dba34b4fa33a14355e8d55cfc86b426c7577",
        ),
        ("crd/apps.kruise.io_sidecarsets.yaml", "0242af1d4dbd4d0a9c1f8d088d3980f300545c150de714e8626f27e5a7645df4"),
        ("crd/apps.kruise.io_statefulsets.yaml", "6097241f60d8b6479ea5206d49a09ca4ec545775939b43356b42e126c818d330"),
        (
            "crd/apps.kruise.io_uniteddeployments.yaml",
            "9075bc9e5c00287cf4cc805b5c1050ccd79fc969f375633cfa6e03e508bb3b4b",
        ),
        ("crd/apps.kruise.io_workloadspreads.yaml", "bd337316b54c1cb673b0055cb45aa13ed0a581daeba9e110ffbe1d7ce8b0ea13"),
        (
            "crd/policy.kruise.io_podunavailablebudgets.yaml",
            "41495c244324bd56f335f10e0e6934dd5eac36c75a5d592e95826e908d3a4356",
        ),
        ("rbac/daemon_role.yaml", "88ab9826bce69babfae17532af4228f0939bb6577f970ed1dcfe4a35eee17cbd"),
        ("rbac/leader_election_role.yaml", "424a587cb43215cf393f51fe0e47c4969f7ff22d51eb0aace23a4877ebb92272"),
        ("rbac/role.yaml", "149d6d88c9ebfcdf19cfd52091445ee6f950927debc6169879dea23f4582ab71"),
        ("webhook/manifests.yaml", "9bac74e8d351220855fb1b282139fd2dfb1cc6b3976a0034b647beae9db54b37"),
    ],
};

/// OpenKruiseGame (GameServerSet, GameServer). Its webhook configurations are made by its
/// manager at start, so `config/webhook/` is not used; nor is its leader-election role (one
/// manager runs, without leader election, as in the chart).
pub const KRUISE_GAME: ConfigRelease = ConfigRelease {
    dir: "kruise-game-1.0.0",
    version: "1.0.0",
    base_url: "https://raw.githubusercontent.com/openkruise/kruise-game/v1.0.0/config",
    image: "docker.io/openkruise/kruise-game-manager:v1.0.0",
    files: &[
        ("crd/game.kruise.io_gameservers.yaml", "aac1b9dad85c99117939e3461ced762189cbc97c32047147312ce8d077870f9e"),
        ("crd/game.kruise.io_gameserversets.yaml", "bc8a7c02f55d7f9f26d05c13ceb6e72131a995069640559754b823bbb0f90128"),
        ("rbac/role.yaml", "388f098066b59659ff9b7feef2c4b7c4996e920ca2db68298c00644f484b1726"),
    ],
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
    fn okg_files_are_fetched_from_where_the_projects_publish_them() {
        // openkruise/kruise and openkruise/kruise-game keep CRDs in config/crd/bases/ (git ls-tree
        // at v1.9.0 and v1.0.0); roles and webhooks directly in config/rbac/, config/webhook/.
        assert_eq!(
            KRUISE.url("crd/apps.kruise.io_statefulsets.yaml"),
            "https://raw.githubusercontent.com/openkruise/kruise/v1.9.0/config/crd/bases/apps.kruise.io_statefulsets.yaml"
        );
        assert_eq!(
            KRUISE_GAME.url("rbac/role.yaml"),
            "https://raw.githubusercontent.com/openkruise/kruise-game/v1.0.0/config/rbac/role.yaml"
        );
        for release in [KRUISE, KRUISE_GAME] {
            assert!(release.files.iter().all(|(path, sha)| sha.len() == 64 && path.split('/').count() == 2));
        }
    }

    #[test]
    fn agones_for_kubernetes_picks_a_supporting_release() {
        assert_eq!(agones_for_kubernetes(35).map(|r| r.version), Some("1.60.0"));
        assert_eq!(agones_for_kubernetes(20), None);
    }
}
