//! Upstream files (Agones' install manifest, NVIDIA's driver installer, OpenKruise's config
//! files): downloaded from a pinned URL, checked against the pinned sha256, cached under the
//! user's cache directory — or read from a file the user gives (air-gapped use, tests), which
//! skips the pin.
//!
//! `SDCTL_DOWNLOAD_MIRROR=URL` fetches every pinned file from `URL/<sha256>` instead of its
//! upstream URL: a content-addressed mirror (a directory of files named by their sha256, served
//! over HTTP) for networks that cannot reach GitHub. The pin is checked all the same.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The environment variable naming a content-addressed mirror of pinned files.
pub const MIRROR_ENV: &str = "SDCTL_DOWNLOAD_MIRROR";

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

/// The file's name in `<cache>/sdctl/`: the start of its sha256 and its URL's last segment.
pub fn cache_name(url: &str, sha256: &str) -> String {
    let file = url.rsplit('/').next().unwrap_or("download");
    format!("{}-{file}", &sha256[..16.min(sha256.len())])
}

fn cache_path(pin: &Pinned) -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("sdctl").join(cache_name(pin.url, pin.sha256)))
}

/// The file's text: `local` when given, else the cache, else a verified download.
pub async fn fetch(pin: Pinned<'_>, local: Option<&Path>) -> anyhow::Result<String> {
    if let Some(path) = local {
        return std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {} from {}: {e}", pin.what, path.display()));
    }
    let bytes = fetch_bytes(pin).await?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{} from {} is not text", pin.what, pin.url))
}

/// The file's bytes from the cache, else a verified download (cached for next time).
pub async fn fetch_bytes(pin: Pinned<'_>) -> anyhow::Result<Vec<u8>> {
    let cached = cache_path(&pin);
    if let Some(path) = &cached
        && let Ok(bytes) = std::fs::read(path)
        && sha256_hex(&bytes) == pin.sha256
    {
        return Ok(bytes);
    }
    let bytes = download(&pin).await?;
    if let Some(path) = cached {
        // A failed cache write only costs a download next time.
        let _ = write_cache_file(&path, &bytes);
    }
    Ok(bytes)
}

/// Writes a cache file aside and renames it into place, so that a concurrent reader (another
/// sdctl, another test process) never sees half a file.
pub fn write_cache_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

/// Where the pinned file is downloaded from: its URL, or the mirror's copy named by its sha256.
fn source_url(pin: &Pinned) -> String {
    match std::env::var(MIRROR_ENV) {
        Ok(mirror) if !mirror.trim().is_empty() => format!("{}/{}", mirror.trim().trim_end_matches('/'), pin.sha256),
        _ => pin.url.to_string(),
    }
}

async fn download(pin: &Pinned<'_>) -> anyhow::Result<Vec<u8>> {
    let url = source_url(pin);
    let shown = without_credentials(&url);
    let unreachable = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("cannot download {} from {shown}: {e}; without internet access, pass {}", pin.what, pin.flag)
    };
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| unreachable(&e.without_url()))?;
    let resp = client.get(&url).send().await.map_err(|e| unreachable(&e.without_url()))?;
    if !resp.status().is_success() {
        return Err(unreachable(&resp.status()));
    }
    let bytes = resp.bytes().await.map_err(|e| unreachable(&e.without_url()))?.to_vec();
    let got = sha256_hex(&bytes);
    if got != pin.sha256 {
        anyhow::bail!(
            "{} from {shown} has sha256 {got}, not the pinned {}: refusing to use it (pass {} to use a file you trust)",
            pin.what,
            pin.sha256,
            pin.flag
        );
    }
    Ok(bytes)
}

/// A URL as it may be shown: a mirror's user and password left out.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirrors_credentials_are_never_shown() {
        assert_eq!(without_credentials("https://bob:s3cret@mirror.example/abc"), "https://mirror.example/abc");
        assert_eq!(without_credentials("https://mirror.example/abc"), "https://mirror.example/abc");
    }
}
