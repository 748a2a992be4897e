//! `sdctl kubeconfig`: adds (or refreshes) a context for the environment's cluster in the user's
//! kubeconfig, like `gcloud container clusters get-credentials`: same names, the
//! `gke-gcloud-auth-plugin` for credentials. Every other cluster, user and context is kept as is.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Invocation, KubeconfigArgs};
use crate::exit::ExitCode;
use crate::gcp::{ANONYMOUS_TOKEN, Service, retry};
use crate::plan::{StepCx, StepId};
use crate::steps::RunOptions;

pub async fn run(inv: &Invocation, args: KubeconfigArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let env = inv.env(config, RunOptions::default())?;
    let shared = inv.shared(inv.ui.reporter());
    let cx = StepCx::new(env.clone(), StepId("kubeconfig"), shared);
    let location = env.config.cluster_location().to_string();
    let name = format!("projects/{}/locations/{location}/clusters/{}", env.project(), env.names.cluster());
    let client = env.gcp.container().await?;
    let cluster = retry::call(&cx, "read the GKE cluster", || client.get_cluster().set_name(&name).send()).await?;
    let ca = cluster.master_auth.as_ref().map(|m| m.cluster_ca_certificate.clone()).unwrap_or_default();
    if cluster.endpoint.is_empty() || ca.is_empty() {
        anyhow::bail!("GKE cluster {} has no endpoint yet (is it RUNNING? `sdctl status`)", env.names.cluster());
    }
    let context = format!("gke_{}_{location}_{}", env.project(), env.names.cluster());
    // Over plain HTTP (the emulator) the cluster takes a static token, never Google credentials.
    let user = if env.gcp.endpoints.is_plain_http(Service::Container) {
        json!({"token": ANONYMOUS_TOKEN})
    } else {
        json!({"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "gke-gcloud-auth-plugin",
            "installHint": "Install gke-gcloud-auth-plugin for use with kubectl: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": true,
            "interactiveMode": "IfAvailable",
        }})
    };
    let path = args.kubeconfig.clone().unwrap_or_else(default_path);
    let mut doc = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => serde_saphyr::from_str::<Value>(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a valid kubeconfig: {e}", path.display()))?,
        _ => empty(),
    };
    upsert(
        &mut doc,
        "clusters",
        "cluster",
        &context,
        json!({"server": format!("https://{}", cluster.endpoint), "certificate-authority-data": ca}),
    );
    upsert(&mut doc, "users", "user", &context, user);
    upsert(&mut doc, "contexts", "context", &context, json!({"cluster": context, "user": context}));
    if !args.no_switch {
        doc["current-context"] = json!(context);
    }
    write(&path, &doc)?;
    inv.ui.err(&format!(
        "context {context} written to {}{}",
        path.display(),
        if args.no_switch { "" } else { " (now current)" }
    ));
    Ok(ExitCode::Ok)
}

fn empty() -> Value {
    json!({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [], "preferences": {}})
}

/// `KUBECONFIG`'s first file, else `~/.kube/config`.
fn default_path() -> PathBuf {
    if let Some(first) = std::env::var_os("KUBECONFIG").and_then(|v| std::env::split_paths(&v).next()) {
        return first;
    }
    dirs::home_dir().unwrap_or_default().join(".kube").join("config")
}

/// Replaces the entry named `name` in the list `list` (or appends it), leaving the others alone.
fn upsert(doc: &mut Value, list: &str, field: &str, name: &str, value: Value) {
    if !doc[list].is_array() {
        doc[list] = json!([]);
    }
    let entry = json!({"name": name, field: value});
    let Some(items) = doc[list].as_array_mut() else { return };
    match items.iter_mut().find(|i| i["name"] == name) {
        Some(existing) => *existing = entry,
        None => items.push(entry),
    }
}

fn write(path: &std::path::Path, doc: &Value) -> anyhow::Result<()> {
    let text = serde_saphyr::to_string(doc).map_err(|e| anyhow::anyhow!("cannot write the kubeconfig: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let partial = path.with_extension("sdctl-partial");
    std::fs::write(&partial, text)
        .and_then(|_| restrict(&partial))
        .and_then(|_| std::fs::rename(&partial, path))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// Kubeconfigs hold credentials: readable by their owner only.
fn restrict(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    let _ = path;
    Ok(())
}
