//! The upstream reference files the tests read, laid out as in the project's research copy
//! (`agones-1.60.0/install.yaml`, `nvidia-driver-installer/`, `kruise-1.9.0/`,
//! `kruise-game-1.0.0/`, `discovery/`):
//!
//! - `SDCTL_UPSTREAM_DIR` names a local copy (CI, offline runs): used as it is;
//! - else each file is fetched once from its pinned URL by sdctl's own downloader (sha256
//!   checked, cached in the user's cache directory; `SDCTL_DOWNLOAD_MIRROR` points it at a
//!   content-addressed mirror) and the tree is written to `<cache>/sdctl/test-upstream-<key>/`.
//!
//! Google's Discovery documents are not published at stable URLs (the live ones change every
//! week), so they come from a pinned release of the PyPI package google-api-python-client, which
//! ships them in `googleapiclient/discovery_cache/documents/`.
//!
//! Shared by the integration tests and the benches (`#[path]`-included there).

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sdctl::kube::upstream::{Pinned, fetch_bytes, sha256_hex};
use sdctl::pins;

/// google-api-python-client 2.202.0's wheel on PyPI.
const DISCOVERY_WHEEL: Pinned<'static> = Pinned {
    what: "google-api-python-client 2.202.0 (Google's Discovery documents)",
    url: "https://files.pythonhosted.org/packages/8e/a3/023b1fe763bd91cfd43aa2c2960a0f1620f0a4c184bbbfc3e3f6fdc31b06/google_api_python_client-2.202.0-py3-none-any.whl",
    sha256: "aaa90064c9bb642ff1d065b22ca8958a2cb6e345909cefe70d0e5452fc50e08b",
    flag: "SDCTL_UPSTREAM_DIR=DIR (a copy of the files, with DIR/discovery/*.json)",
};
const DISCOVERY_IN_WHEEL: &str = "googleapiclient/discovery_cache/documents";

/// The Discovery documents of the services the emulator validates requests against.
pub const DISCOVERY_DOCUMENTS: &[&str] = &[
    "artifactregistry.v1.json",
    "cloudbilling.v1.json",
    "cloudbuild.v1.json",
    "cloudfunctions.v2.json",
    "cloudresourcemanager.v3.json",
    "cloudscheduler.v1.json",
    "compute.v1.json",
    "container.v1.json",
    "file.v1.json",
    "iam.v1.json",
    "iap.v1.json",
    "oauth2.v2.json",
    "orgpolicy.v2.json",
    "redis.v1.json",
    "serviceusage.v1.json",
    "storage.v1.json",
    "vpcaccess.v1.json",
];

const FLAG: &str = "SDCTL_UPSTREAM_DIR=DIR (a local copy of the upstream files)";

/// The directory of upstream files (see the module's comment).
pub fn upstream_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("SDCTL_UPSTREAM_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("discovery").is_dir(),
                "SDCTL_UPSTREAM_DIR={} has no discovery/ directory: point it at a copy of the upstream files, or unset it to download them",
                dir.display()
            );
            dir
        }
        // Its own thread and runtime: callers are often inside a test's runtime already.
        None => match std::thread::spawn(materialize).join() {
            Ok(dir) => dir,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("{why}")
            }
        },
    })
    .clone()
}

/// Puts every pinned file where sdctl's downloader looks first (`<cache_home>/sdctl/`), so that
/// sdctl run by a test with `XDG_CACHE_HOME=<cache_home>` never downloads one.
pub fn seed_cache(cache_home: &Path) {
    let dir = cache_home.join("sdctl");
    std::fs::create_dir_all(&dir).expect("a cache directory");
    let root = upstream_dir();
    for e in entries() {
        let from = root.join(&e.path);
        let to = dir.join(sdctl::kube::upstream::cache_name(&e.url, e.sha256));
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to)
                .unwrap_or_else(|err| panic!("cannot copy {} to {}: {err}", from.display(), to.display()));
        }
    }
}

/// One file of the tree: where it goes and how to get it.
struct Entry {
    path: String,
    what: String,
    url: String,
    sha256: &'static str,
}

fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for r in pins::AGONES {
        out.push(Entry {
            path: format!("agones-{}/install.yaml", r.version),
            what: format!("Agones {}'s install.yaml", r.version),
            url: r.install_url.to_string(),
            sha256: r.sha256,
        });
    }
    for d in [pins::DRIVER_DEFAULT, pins::DRIVER_LATEST] {
        out.push(Entry {
            path: format!("nvidia-driver-installer/{}", d.name),
            what: format!("NVIDIA's {}", d.name),
            url: d.url.to_string(),
            sha256: d.sha256,
        });
    }
    for r in [&pins::KRUISE, &pins::KRUISE_GAME] {
        for (path, sha256) in r.files {
            out.push(Entry {
                path: format!("{}/{path}", r.dir),
                what: format!("{} {path}", r.dir),
                url: r.url(path),
                sha256,
            });
        }
    }
    out
}

/// The cache directory for this set of pins: a new pin is a new directory.
fn tree_dir() -> PathBuf {
    let mut key: String = entries().iter().map(|e| format!("{} {}\n", e.path, e.sha256)).collect();
    key.push_str(DISCOVERY_WHEEL.sha256);
    key.extend(DISCOVERY_DOCUMENTS.iter().copied());
    let cache = dirs::cache_dir().unwrap_or_else(std::env::temp_dir);
    cache.join("sdctl").join(format!("test-upstream-{}", &sha256_hex(key.as_bytes())[..16]))
}

fn materialize() -> PathBuf {
    let dir = tree_dir();
    if dir.join("discovery").is_dir() {
        return dir;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    // Built aside and renamed into place: test processes running at once each see a whole tree.
    let partial = dir.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    runtime.block_on(write_tree(&partial)).unwrap_or_else(|e| {
        let _ = std::fs::remove_dir_all(&partial);
        panic!(
            "cannot get the upstream files the tests read: {e:#}\n(without internet access, set {FLAG}; `SDCTL_DOWNLOAD_MIRROR=URL` fetches them from a content-addressed mirror)"
        )
    });
    if std::fs::rename(&partial, &dir).is_err() {
        // Another test process finished first: its tree is the same.
        let _ = std::fs::remove_dir_all(&partial);
        assert!(dir.join("discovery").is_dir(), "cannot move {} to {}", partial.display(), dir.display());
    }
    dir
}

async fn write_tree(root: &Path) -> anyhow::Result<()> {
    let files = futures::future::try_join_all(entries().into_iter().map(|e| async move {
        let pin = Pinned { what: &e.what, url: &e.url, sha256: e.sha256, flag: FLAG };
        fetch_bytes(pin).await.map(|bytes| (e.path, bytes))
    }));
    let (files, wheel) = futures::try_join!(files, fetch_bytes(DISCOVERY_WHEEL))?;
    for (path, bytes) in files {
        write(&root.join(path), &bytes)?;
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(wheel))?;
    for name in DISCOVERY_DOCUMENTS {
        let inner = format!("{DISCOVERY_IN_WHEEL}/{name}");
        let mut doc = Vec::new();
        zip.by_name(&inner)
            .map_err(|e| anyhow::anyhow!("{} has no {inner}: {e}", DISCOVERY_WHEEL.what))?
            .read_to_end(&mut doc)?;
        write(&root.join("discovery").join(name), &doc)?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
