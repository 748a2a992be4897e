//! A Kubernetes client for the environment's GKE cluster, built from what GKE reports (endpoint,
//! cluster CA) and the same Google credentials as every other call: no kubeconfig, gcloud or
//! auth plugin needed. Over an `http://` emulator endpoint the token is `anonymous`.

use base64::Engine;
use kube::Client;
use kube::config::{AuthInfo, Config};
use secrecy::SecretString;

use crate::gcp::{ANONYMOUS_TOKEN, Service};
use crate::steps::Env;

/// Connects to the cluster whose endpoint and CA the `cluster` step published.
pub async fn connect(env: &Env) -> anyhow::Result<Client> {
    let (Some(endpoint), Some(ca)) = (env.outputs.get("clusterEndpoint"), env.outputs.get("clusterCa")) else {
        anyhow::bail!(
            "the endpoint of GKE cluster {} is not known: it does not exist yet or is not RUNNING (run `sdctl up cluster`)",
            env.names.cluster()
        );
    };
    let token = env.gcp.auth.access_token(Service::Container).await?.unwrap_or_else(|| ANONYMOUS_TOKEN.to_string());
    client(&endpoint, &ca, token)
}

/// A client for `https://ENDPOINT` trusting only the cluster CA (base64 PEM, as GKE reports it).
pub fn client(endpoint: &str, ca_base64: &str, token: String) -> anyhow::Result<Client> {
    let pem = base64::engine::general_purpose::STANDARD
        .decode(ca_base64.trim())
        .map_err(|e| anyhow::anyhow!("the cluster CA GKE reported is not base64: {e}"))?;
    let ders = pem_to_der(&pem)?;
    let url: http::Uri = format!("https://{endpoint}")
        .parse()
        .map_err(|e| anyhow::anyhow!("the cluster endpoint {endpoint:?} is not a host: {e}"))?;
    let mut config = Config::new(url);
    config.root_cert = Some(ders);
    config.auth_info = AuthInfo { token: Some(SecretString::from(token)), ..AuthInfo::default() };
    config.connect_timeout = Some(std::time::Duration::from_secs(30));
    config.read_timeout = Some(std::time::Duration::from_secs(300));
    Client::try_from(config).map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client for {endpoint}: {e}"))
}

/// The DER certificates of a PEM bundle.
fn pem_to_der(pem: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let ders: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("the cluster CA is not a PEM certificate: {e:?}"))?;
    if ders.is_empty() {
        anyhow::bail!("the cluster CA holds no certificate");
    }
    Ok(ders)
}
