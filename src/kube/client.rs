//! A Kubernetes client for the environment's GKE cluster, built from what GKE reports (endpoint,
//! cluster CA) and the same Google credentials as every other call: no kubeconfig, gcloud or
//! auth plugin needed. Every request takes a current token from the credentials (a layer sets
//! the `Authorization` header), so waits longer than a token's hour keep working. Over an
//! `http://` emulator endpoint the token is `anonymous-<unix ms>`.

use base64::Engine;
use kube::client::ClientBuilder;
use kube::{Client, Config};
use tower::{BoxError, Layer, Service};

use crate::gcp::TokenSource;
use crate::steps::Env;

/// Connects to the cluster whose endpoint and CA the `cluster` step published.
pub async fn connect(env: &Env) -> anyhow::Result<Client> {
    let (Some(endpoint), Some(ca)) = (env.outputs.get("clusterEndpoint"), env.outputs.get("clusterCa")) else {
        anyhow::bail!(
            "the endpoint of GKE cluster {} is not known: it does not exist yet or is not RUNNING (run `sdctl up cluster`)",
            env.names.cluster()
        );
    };
    client(&endpoint, &ca, env.gcp.auth.kube_tokens()?)
}

/// A client for `https://ENDPOINT` trusting only the cluster CA (base64 PEM, as GKE reports it).
pub fn client(endpoint: &str, ca_base64: &str, tokens: TokenSource) -> anyhow::Result<Client> {
    let pem = base64::engine::general_purpose::STANDARD
        .decode(ca_base64.trim())
        .map_err(|e| anyhow::anyhow!("the cluster CA GKE reported is not base64: {e}"))?;
    let ders = pem_to_der(&pem)?;
    let url: http::Uri = format!("https://{endpoint}")
        .parse()
        .map_err(|e| anyhow::anyhow!("the cluster endpoint {endpoint:?} is not a host: {e}"))?;
    let mut config = Config::new(url);
    config.root_cert = Some(ders);
    config.connect_timeout = Some(std::time::Duration::from_secs(30));
    config.read_timeout = Some(std::time::Duration::from_secs(300));
    let builder = ClientBuilder::try_from(config)
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client for {endpoint}: {e}"))?;
    Ok(builder.with_layer(&BearerLayer(tokens)).build())
}

/// Sets `Authorization: Bearer <current token>` on each request.
#[derive(Clone)]
struct BearerLayer(TokenSource);

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Bearer<S> {
        Bearer { inner: std::sync::Arc::new(tokio::sync::Mutex::new(inner)), tokens: self.0.clone() }
    }
}

/// kube-rs' stack below is not `Clone`: it is shared behind a lock held only while a request is
/// handed to it (the response is awaited without it).
struct Bearer<S> {
    inner: std::sync::Arc<tokio::sync::Mutex<S>>,
    tokens: TokenSource,
}

impl<S, B> Service<http::Request<B>> for Bearer<S>
where
    S: Service<http::Request<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let (inner, tokens) = (self.inner.clone(), self.tokens.clone());
        Box::pin(async move {
            let response = {
                let mut service = inner.lock().await;
                futures::future::poll_fn(|cx| service.poll_ready(cx)).await.map_err(Into::into)?;
                // The token is taken once the request can go, not before a wait for the stack.
                let token = tokens.token().await.map_err(|e| -> BoxError { e.into() })?;
                let mut value = http::HeaderValue::from_str(&format!("Bearer {token}"))?;
                value.set_sensitive(true);
                request.headers_mut().insert(http::header::AUTHORIZATION, value);
                service.call(request)
            };
            response.await.map_err(Into::into)
        })
    }
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
