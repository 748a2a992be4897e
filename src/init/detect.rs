//! Defaults for `sdctl init` from where gcloud users already keep them: `CLOUDSDK_*` variables,
//! the active gcloud configuration's file, `GOOGLE_CLOUD_PROJECT` and Cloud Shell's variables.

use std::path::{Path, PathBuf};

/// A detected value and where it came from (shown next to the question).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: String,
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    pub project: Option<Found>,
    pub region: Option<Found>,
    pub zone: Option<Found>,
    pub account: Option<Found>,
    pub cloud_shell: bool,
}

/// gcloud's configuration directory: `CLOUDSDK_CONFIG`, else `~/.config/gcloud`.
pub fn gcloud_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("CLOUDSDK_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".config").join("gcloud")))
}

/// Detects defaults. `env` looks up environment variables; `gcloud` is gcloud's directory.
pub fn detect(env: &dyn Fn(&str) -> Option<String>, gcloud: Option<&Path>) -> Detected {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_string());
    let from_env = |name: &str| var(name).map(|value| Found { value, source: name.to_string() });
    let config = gcloud.and_then(|dir| active_configuration(dir, var("CLOUDSDK_ACTIVE_CONFIG_NAME")));
    let from_file = |section: &str, key: &str| {
        let (name, text) = config.as_ref()?;
        ini_value(text, section, key).map(|value| Found { value, source: format!("gcloud configuration {name}") })
    };
    let project = from_env("CLOUDSDK_CORE_PROJECT")
        .or_else(|| from_file("core", "project"))
        .or_else(|| from_env("GOOGLE_CLOUD_PROJECT"))
        .or_else(|| from_env("DEVSHELL_PROJECT_ID"));
    let zone = from_env("CLOUDSDK_COMPUTE_ZONE").or_else(|| from_file("compute", "zone"));
    let region = from_env("CLOUDSDK_COMPUTE_REGION").or_else(|| from_file("compute", "region")).or_else(|| {
        let z = zone.as_ref()?;
        let (region, _) = z.value.rsplit_once('-')?;
        Some(Found { value: region.to_string(), source: format!("the zone of {}", z.source) })
    });
    let account = from_env("CLOUDSDK_CORE_ACCOUNT").or_else(|| from_file("core", "account"));
    let cloud_shell = var("CLOUD_SHELL").is_some_and(|v| v == "true");
    Detected { project, region, zone, account, cloud_shell }
}

/// The active configuration's name and text (`active_config`, default `default`).
fn active_configuration(dir: &Path, named: Option<String>) -> Option<(String, String)> {
    let name = named
        .or_else(|| std::fs::read_to_string(dir.join("active_config")).ok().map(|s| s.trim().to_string()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let text = std::fs::read_to_string(dir.join("configurations").join(format!("config_{name}"))).ok()?;
    Some((name, text))
}

/// `key = value` in `[section]` of an INI text.
fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
            continue;
        }
        if current == section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            let v = v.trim();
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_beats_the_gcloud_file_which_beats_cloud_shell() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("configurations")).unwrap();
        std::fs::write(dir.path().join("active_config"), "work\n").unwrap();
        std::fs::write(
            dir.path().join("configurations/config_work"),
            "[core]\naccount = alice@example.com\nproject = file-project\n\n[compute]\nzone = europe-west4-b\n",
        )
        .unwrap();
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let d = detect(&vars(&[("GOOGLE_CLOUD_PROJECT", "shell-project"), ("CLOUD_SHELL", "true")]), Some(dir.path()));
        assert_eq!(d.project.as_ref().unwrap().value, "file-project");
        assert_eq!(d.project.unwrap().source, "gcloud configuration work");
        assert_eq!(d.region.unwrap().value, "europe-west4", "derived from the zone");
        assert_eq!(d.account.unwrap().value, "alice@example.com");
        assert!(d.cloud_shell);
        let d = detect(
            &vars(&[("CLOUDSDK_CORE_PROJECT", "env-project"), ("CLOUDSDK_COMPUTE_REGION", "us-east4")]),
            Some(dir.path()),
        );
        assert_eq!(d.project.unwrap().value, "env-project");
        assert_eq!(d.region.unwrap().value, "us-east4");
        let d = detect(&vars(&[("GOOGLE_CLOUD_PROJECT", "shell-project")]), None);
        assert_eq!(d.project.unwrap().source, "GOOGLE_CLOUD_PROJECT");
    }
}
