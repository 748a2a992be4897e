//! Upstream files (Agones' install manifest, NVIDIA's driver installer): downloaded from a pinned
//! URL, checked against the pinned sha256, cached under the user's cache directory — or read
//! from a file the user gives (air-gapped use, tests), which skips the pin.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A pinned upstream file.
#[derive(Debug, Clone, Copy)]
pub struct Pinned<'a> {
    pub what: &'a str,
    pub url: &'a str,
    pub sha256: &'a str,
    /// Flag and placeholder that supply the file instead (for the error message), e.g.
    /// `--agones-manifest FILE`.
    pub flag: &'a str,
}

/// The sha256 of `bytes` in lower-case hex (how pins and digest annotations are written).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn cache_path(pin: &Pinned) -> Option<PathBuf> {
    let file = pin.url.rsplit('/').next().unwrap_or("download");
    dirs::cache_dir().map(|d| d.join("sdctl").join(format!("{}-{file}", &pin.sha256[..16])))
}

/// The file's text: `local` when given, else the cache, else a verified download.
pub async fn fetch(pin: Pinned<'_>, local: Option<&Path>) -> anyhow::Result<String> {
    if let Some(path) = local {
        return std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {} from {}: {e}", pin.what, path.display()));
    }
    let cached = cache_path(&pin);
    if let Some(path) = &cached
        && let Ok(bytes) = std::fs::read(path)
        && sha256_hex(&bytes) == pin.sha256
    {
        return String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the cached {} is not text", pin.what));
    }
    let bytes = download(&pin).await?;
    if let Some(path) = cached {
        // A failed cache write only costs a download next time.
        let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
            .and_then(|_| std::fs::write(path.with_extension("partial"), &bytes))
            .and_then(|_| std::fs::rename(path.with_extension("partial"), &path));
    }
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the downloaded {} is not text", pin.what))
}

async fn download(pin: &Pinned<'_>) -> anyhow::Result<Vec<u8>> {
    let unreachable = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "cannot download {} from {}: {e}; without internet access, pass {}",
            pin.what,
            pin.url,
            pin.flag
        )
    };
    let resp = reqwest::get(pin.url).await.map_err(|e| unreachable(&e))?;
    if !resp.status().is_success() {
        return Err(unreachable(&resp.status()));
    }
    let bytes = resp.bytes().await.map_err(|e| unreachable(&e))?.to_vec();
    let got = sha256_hex(&bytes);
    if got != pin.sha256 {
        anyhow::bail!(
            "{} from {} has sha256 {got}, not the pinned {}: refusing to use it (pass {} to use a file you trust)",
            pin.what,
            pin.url,
            pin.sha256,
            pin.flag
        );
    }
    Ok(bytes)
}
