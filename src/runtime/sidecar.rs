//! `sdctl runtime sidecar`: runs beside the WebUI in each GameServer pod and speaks for it to
//! Agones through the local SDK server's REST API. It marks the GameServer Ready only once the
//! WebUI answers 200 (so no user is sent to a WebUI still loading), and, once the GameServer is
//! allocated, writes the user's label into a file on the pod's shared `emptyDir` and copies the
//! WebUI's outputs (a pod-local directory) to that user's own folder on the shared volume, which
//! the WebUI container does not mount (see `runtime::outputs`); a last copy runs on SIGTERM.
//!
//! Health: Agones' SDK starts counting missed pings when the pod starts and marks the GameServer
//! Unhealthy after `initialDelaySeconds + failureThreshold x periodSeconds` without one, Ready or
//! not (pkg/sdkserver/sdkserver.go, checkHealth). Loading a checkpoint over NFS or GCS-Fuse can
//! take longer, so a starting WebUI is kept healthy for a start-up budget; after its first
//! answer, pings flow only while it answers (a hung WebUI turns Unhealthy and is replaced).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use super::shutdown_signal;
use crate::names::K8S_LABEL_USER;

#[derive(Debug, Clone)]
pub struct SidecarOptions {
    /// The WebUI's URL inside the pod (`http://127.0.0.1:7860/`).
    pub webui_url: String,
    /// The SDK server's REST base (`http://localhost:${AGONES_SDK_HTTP_PORT}`).
    pub sdk_url: String,
    /// Where to write the allocated user's label.
    pub user_file: PathBuf,
    /// Seconds between health pings (below the GameServer's `health.periodSeconds`).
    pub interval: Duration,
    /// How long a WebUI that never answered yet is kept healthy.
    pub startup: Duration,
    /// Where the WebUI writes its outputs (pod-local), and the shared volume's folder of every
    /// user's outputs; `None`: outputs stay in the pod.
    pub outputs: Option<(PathBuf, PathBuf)>,
}

/// The allocated user's label, once known.
type User = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// Runs until SIGTERM.
pub async fn run(options: SidecarOptions) -> anyhow::Result<()> {
    let user = User::default();
    tokio::select! {
        result = work(&options, &user) => result,
        () = shutdown_signal() => {
            tracing::info!("SIGTERM: sidecar stopping");
            let last = user.lock().ok().and_then(|u| u.clone());
            if let Some(user) = last {
                copy_outputs(&options, &user);
            }
            Ok(())
        }
    }
}

/// Copies the WebUI's new outputs to the user's folder on the shared volume.
fn copy_outputs(o: &SidecarOptions, user: &str) {
    let Some((local, shared)) = &o.outputs else { return };
    match super::outputs::sync(local, &shared.join(user)) {
        Ok(c) if c.files > 0 || c.skipped > 0 => {
            tracing::info!(files = c.files, bytes = c.bytes, skipped = c.skipped, user, "outputs copied to the share")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, user, "cannot copy outputs to the share"),
    }
}

async fn work(o: &SidecarOptions, current: &User) -> anyhow::Result<()> {
    let http =
        reqwest::Client::builder().timeout(Duration::from_secs(5)).build().context("cannot create the HTTP client")?;
    tracing::info!(webui = %o.webui_url, sdk = %o.sdk_url, "waiting for the WebUI to answer");
    wait_for_webui(&http, o).await;
    sdk_call(&http, &o.sdk_url, "ready").await.context("the Agones SDK refused Ready")?;
    tracing::info!("WebUI answers: GameServer marked Ready");
    let mut written: Option<String> = None;
    let mut healthy = true;
    loop {
        let up = answers(&http, &o.webui_url).await;
        if up && let Err(e) = sdk_call(&http, &o.sdk_url, "health").await {
            tracing::warn!(error = %e, "health ping failed");
        }
        if up != healthy {
            if up {
                tracing::info!("WebUI answers again: health pings resumed");
            } else {
                tracing::warn!("WebUI stopped answering: health pings paused (Agones will mark it Unhealthy)");
            }
            healthy = up;
        }
        match allocated_user(&http, &o.sdk_url).await {
            Ok(Some(user)) if written.as_deref() != Some(user.as_str()) => {
                write_user(&o.user_file, &user).await?;
                tracing::info!(user = %user, file = %o.user_file.display(), "allocated: user written");
                if let Ok(mut slot) = current.lock() {
                    *slot = Some(user.clone());
                }
                written = Some(user);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the GameServer from the SDK"),
        }
        if let Some(user) = &written {
            let (o, user) = (o.clone(), user.clone());
            // File copies block: off the runtime's threads.
            let _ = tokio::task::spawn_blocking(move || copy_outputs(&o, &user)).await;
        }
        tokio::time::sleep(o.interval).await;
    }
}

/// Until the WebUI first answers: health pings within the start-up budget (it is loading), none
/// after it (Agones then marks it Unhealthy and its Fleet replaces it).
async fn wait_for_webui(http: &reqwest::Client, o: &SidecarOptions) {
    let started = std::time::Instant::now();
    let mut reported = std::time::Instant::now();
    let mut gave_up = false;
    while !answers(http, &o.webui_url).await {
        if started.elapsed() < o.startup {
            if let Err(e) = sdk_call(http, &o.sdk_url, "health").await {
                tracing::warn!(error = %e, "health ping failed");
            }
        } else if !gave_up {
            tracing::warn!(
                budget = ?o.startup,
                "the WebUI did not answer within its start-up budget: health pings stopped (Agones will replace it)"
            );
            gave_up = true;
        }
        if reported.elapsed() >= Duration::from_secs(60) {
            tracing::info!(seconds = started.elapsed().as_secs(), "still waiting for the WebUI");
            reported = std::time::Instant::now();
        }
        tokio::time::sleep(o.interval).await;
    }
}

async fn answers(http: &reqwest::Client, url: &str) -> bool {
    http.get(url).send().await.is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
}

/// `POST {sdk}/{verb}` with `{}`, as the SDK's REST API wants.
async fn sdk_call(http: &reqwest::Client, sdk: &str, verb: &str) -> anyhow::Result<()> {
    let url = format!("{}/{verb}", sdk.trim_end_matches('/'));
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "POST {url}: HTTP {status}");
    Ok(())
}

/// The `sdctl.dev/user` label of this GameServer (`GET {sdk}/gameserver`), once allocated.
async fn allocated_user(http: &reqwest::Client, sdk: &str) -> anyhow::Result<Option<String>> {
    let url = format!("{}/gameserver", sdk.trim_end_matches('/'));
    let gs: Value = http
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("GET {url}"))?
        .json()
        .await
        .with_context(|| format!("GET {url}: not JSON"))?;
    let label = gs["object_meta"]["labels"][K8S_LABEL_USER].as_str().map(str::to_string);
    Ok(label.filter(|l| is_safe_name(l)))
}

/// A label value is safe as a folder name; check anyway, the file drives `ln -s` in a script.
fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('.')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Writes the file atomically (the start script never reads half a name).
async fn write_user(path: &Path, user: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    tokio::fs::write(&tmp, format!("{user}\n")).await.with_context(|| format!("cannot write {}", tmp.display()))?;
    tokio::fs::rename(&tmp, path).await.with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_names_reach_the_start_script() {
        assert!(super::is_safe_name("alice.example.com-0123456789abcdef"));
        for bad in ["", "../etc", ".hidden", "a/b", "a b", "a;rm -rf"] {
            assert!(!super::is_safe_name(bad), "{bad}");
        }
    }
}
