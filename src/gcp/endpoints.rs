//! Where each Google API lives: Google by default, `--api-endpoint BASE` sends every API to
//! `BASE/<service>`, and `SDCTL_ENDPOINT_<SERVICE>` overrides one service with a full URL.

use std::collections::BTreeMap;

/// The Google APIs sdctl calls, named by their host's first label (`container.googleapis.com`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Container,
    Compute,
    File,
    Redis,
    Storage,
    ArtifactRegistry,
    CloudBuild,
    ServiceUsage,
    ResourceManager,
    Iap,
    Iam,
    Billing,
    OrgPolicy,
    OAuth2,
}

impl Service {
    pub const ALL: [Service; 14] = [
        Self::Container,
        Self::Compute,
        Self::File,
        Self::Redis,
        Self::Storage,
        Self::ArtifactRegistry,
        Self::CloudBuild,
        Self::ServiceUsage,
        Self::ResourceManager,
        Self::Iap,
        Self::Iam,
        Self::Billing,
        Self::OrgPolicy,
        Self::OAuth2,
    ];

    /// The host name's first label, also the emulator's path prefix.
    pub fn host_label(self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::Compute => "compute",
            Self::File => "file",
            Self::Redis => "redis",
            Self::Storage => "storage",
            Self::ArtifactRegistry => "artifactregistry",
            Self::CloudBuild => "cloudbuild",
            Self::ServiceUsage => "serviceusage",
            Self::ResourceManager => "cloudresourcemanager",
            Self::Iap => "iap",
            Self::Iam => "iam",
            Self::Billing => "cloudbilling",
            Self::OrgPolicy => "orgpolicy",
            Self::OAuth2 => "oauth2",
        }
    }

    /// The Service Usage name of the API (`container.googleapis.com`).
    pub fn api_name(self) -> String {
        format!("{}.googleapis.com", self.host_label())
    }
}

/// Resolved endpoints for this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    base: Option<String>,
    overrides: BTreeMap<Service, String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}: {value:?} is not an http:// or https:// URL")]
pub struct EndpointError {
    pub source_name: String,
    pub value: String,
}

impl Endpoints {
    /// `base` from `--api-endpoint`/`SDCTL_API_ENDPOINT`; `env` looks up `SDCTL_ENDPOINT_<SERVICE>`.
    pub fn resolve(base: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Self, EndpointError> {
        let check = |source_name: String, value: &str| -> Result<String, EndpointError> {
            if value.starts_with("http://") || value.starts_with("https://") {
                Ok(value.trim_end_matches('/').to_string())
            } else {
                Err(EndpointError { source_name, value: value.to_string() })
            }
        };
        let base = base.filter(|b| !b.is_empty()).map(|b| check("--api-endpoint".into(), b)).transpose()?;
        let mut overrides = BTreeMap::new();
        for service in Service::ALL {
            let var = format!("SDCTL_ENDPOINT_{}", service.host_label().to_uppercase());
            if let Some(value) = env(&var).filter(|v| !v.is_empty()) {
                overrides.insert(service, check(var, &value)?);
            }
        }
        Ok(Self { base, overrides })
    }

    /// The URL the client for `service` is built with.
    pub fn url(&self, service: Service) -> String {
        if let Some(url) = self.overrides.get(&service) {
            return url.clone();
        }
        match &self.base {
            Some(base) => format!("{base}/{}", service.host_label()),
            None => format!("https://{}", service.api_name()),
        }
    }

    /// Plain HTTP never carries real credentials.
    pub fn is_plain_http(&self, service: Service) -> bool {
        self.url(service).starts_with("http://")
    }

    /// Whether anything points away from Google (emulator, proxy).
    pub fn is_custom(&self) -> bool {
        self.base.is_some() || !self.overrides.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_and_overrides() {
        let env = |k: &str| (k == "SDCTL_ENDPOINT_FILE").then(|| "http://127.0.0.1:9/files/".to_string());
        let e = Endpoints::resolve(Some("http://127.0.0.1:8480/"), env).unwrap();
        assert_eq!(e.url(Service::Container), "http://127.0.0.1:8480/container");
        assert_eq!(e.url(Service::File), "http://127.0.0.1:9/files");
        assert!(e.is_plain_http(Service::Compute));
        let google = Endpoints::resolve(None, |_| None).unwrap();
        assert_eq!(google.url(Service::ResourceManager), "https://cloudresourcemanager.googleapis.com");
        assert!(!google.is_plain_http(Service::ResourceManager));
        let err = Endpoints::resolve(Some("localhost:8480"), |_| None).unwrap_err();
        assert_eq!(err.source_name, "--api-endpoint");
    }
}
