//! Who the credentials are: the service account named in a key or impersonation file, else the
//! e-mail Google's userinfo endpoint returns for an access token. Tokens travel in the
//! Authorization header only and are never printed.

use std::path::PathBuf;

use serde_json::Value;

use super::{Gcp, Service};

/// The caller as preflight reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `alice@example.com`, `sa@p.iam.gserviceaccount.com`; None when it could not be told.
    pub email: Option<String>,
    /// `user`, `serviceAccount`: the IAM member prefix.
    pub kind: &'static str,
    /// Where the credentials came from, in a few words.
    pub source: String,
}

impl Identity {
    /// `user:alice@example.com` (for `gcloud projects add-iam-policy-binding --member`).
    pub fn member(&self) -> Option<String> {
        self.email.as_ref().map(|e| format!("{}:{e}", self.kind))
    }
}

/// The ADC file Google's libraries read: `GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
/// well-known file.
fn adc_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let config = std::env::var_os("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".config").join("gcloud")))?;
    let file = config.join("application_default_credentials.json");
    file.exists().then_some(file)
}

/// What the ADC file says about the identity, without any network call.
fn from_file() -> Option<Identity> {
    let path = adc_file()?;
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
    let source = format!("credentials file {}", path.display());
    match json["type"].as_str()? {
        "service_account" => {
            Some(Identity { email: json["client_email"].as_str().map(String::from), kind: "serviceAccount", source })
        }
        // `.../serviceAccounts/NAME@P.iam.gserviceaccount.com:generateAccessToken`
        "impersonated_service_account" | "external_account" => {
            let url = json["service_account_impersonation_url"].as_str()?;
            let email = url.rsplit('/').next()?.split(':').next()?.to_string();
            Some(Identity { email: Some(email), kind: "serviceAccount", source })
        }
        _ => None,
    }
}

/// The userinfo endpoint: the emulator's Discovery path under `--api-endpoint`, Google's
/// documented host otherwise.
fn userinfo_url(gcp: &Gcp) -> String {
    let base = gcp.endpoints.url(Service::OAuth2);
    if base == format!("https://{}", Service::OAuth2.api_name()) {
        "https://www.googleapis.com/oauth2/v2/userinfo".to_string()
    } else {
        format!("{base}/oauth2/v2/userinfo")
    }
}

/// Gets a token (proving the credentials work) and tells who they are.
pub async fn identify(gcp: &Gcp) -> anyhow::Result<Identity> {
    // Without a credentials file, ADC asks the metadata server, which may not answer off Google Cloud.
    let token = tokio::time::timeout(std::time::Duration::from_secs(20), gcp.auth.access_token(Service::OAuth2))
        .await
        .map_err(|_| {
            anyhow::anyhow!("no access token within 20 s (no credentials file, and no metadata server answered)")
        })??;
    let anonymous = token.is_none();
    if !anonymous && let Some(identity) = from_file() {
        return Ok(identity);
    }
    let source = if anonymous {
        "anonymous credentials for a plain http:// endpoint".to_string()
    } else {
        "Application Default Credentials".to_string()
    };
    let mut request = reqwest::Client::new().get(userinfo_url(gcp));
    if let Some(token) = &token {
        request = request.bearer_auth(token);
    }
    // A token without the userinfo.email scope (some service accounts) still works for the APIs.
    let email = match request.send().await {
        Ok(r) if r.status().is_success() => {
            r.json::<Value>().await.ok().and_then(|v| v["email"].as_str().map(String::from))
        }
        _ => None,
    };
    let kind =
        if email.as_deref().is_some_and(|e| e.ends_with(".gserviceaccount.com")) { "serviceAccount" } else { "user" };
    Ok(Identity { email, kind, source })
}
