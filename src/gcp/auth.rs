//! Credentials: Application Default Credentials for Google, anonymous for any `http://` endpoint
//! (real tokens never travel over plain HTTP). Tokens are never logged or printed.

use google_cloud_auth::credentials::{AccessTokenCredentials, Credentials, anonymous};
use std::sync::OnceLock;

use super::endpoints::{Endpoints, Service};

pub struct Auth {
    endpoints: Endpoints,
    adc: OnceLock<Result<AccessTokenCredentials, String>>,
}

/// The bearer token an `http://` endpoint (the emulator) gets for Kubernetes API calls.
pub const ANONYMOUS_TOKEN: &str = "anonymous";

impl Auth {
    pub fn new(endpoints: Endpoints) -> Self {
        Self { endpoints, adc: OnceLock::new() }
    }

    fn adc(&self) -> anyhow::Result<&AccessTokenCredentials> {
        self.adc
            .get_or_init(|| {
                google_cloud_auth::credentials::Builder::default()
                    .build_access_token_credentials()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| {
                anyhow::anyhow!(
                    "no Google credentials found ({e}); run `gcloud auth application-default login`, \
                     or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
                )
            })
    }

    /// Credentials for one service's client.
    pub fn credentials(&self, service: Service) -> anyhow::Result<Credentials> {
        if self.endpoints.is_plain_http(service) {
            return Ok(anonymous::Builder::new().build());
        }
        Ok(self.adc()?.clone().into())
    }

    /// Where the cluster's Kubernetes API gets its bearer token from, read on every request.
    pub fn kube_tokens(&self) -> anyhow::Result<TokenSource> {
        if self.endpoints.is_plain_http(Service::Container) {
            return Ok(TokenSource::Anonymous);
        }
        Ok(TokenSource::Google(self.adc()?.clone()))
    }

    /// An OAuth access token for calls sdctl makes itself (Cloud Storage JSON API, the cluster's
    /// Kubernetes API). `None` over plain HTTP.
    pub async fn access_token(&self, service: Service) -> anyhow::Result<Option<String>> {
        if self.endpoints.is_plain_http(service) {
            return Ok(None);
        }
        let token = self
            .adc()?
            .access_token()
            .await
            .map_err(|e| anyhow::anyhow!("cannot get an access token from the Google credentials: {e}"))?;
        Ok(Some(token.token))
    }
}

/// A bearer token for each request. Google access tokens live at most an hour and waits on a
/// cluster can be longer, so no token is captured once: the credentials' cache hands out a valid
/// one each time (google-cloud-auth refreshes it in the background before it expires).
#[derive(Clone)]
pub enum TokenSource {
    Google(AccessTokenCredentials),
    /// An `http://` endpoint (the emulator): `anonymous-<unix milliseconds>`, new on each
    /// request, so that the emulator can refuse tokens older than a real one would live.
    Anonymous,
}

impl TokenSource {
    pub async fn token(&self) -> anyhow::Result<String> {
        match self {
            TokenSource::Google(credentials) => credentials
                .access_token()
                .await
                .map(|t| t.token)
                .map_err(|e| anyhow::anyhow!("cannot get an access token from the Google credentials: {e}")),
            TokenSource::Anonymous => {
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                Ok(format!("{ANONYMOUS_TOKEN}-{}", now.as_millis()))
            }
        }
    }
}
