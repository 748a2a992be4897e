//! Who is asking: IAP's signed header `x-goog-iap-jwt-assertion` verified (ES256 with a key from
//! IAP's JWKS, fetched and cached; audience, issuer, expiry), giving the user's e-mail. Tests may
//! instead trust the `x-goog-authenticated-user-email` header (`--trust-iap-header`), which is
//! only safe when nothing but IAP can reach the router.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http::HeaderMap;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::FastMap;
use crate::runtime::user;

pub const JWT_HEADER: &str = "x-goog-iap-jwt-assertion";
pub const EMAIL_HEADER: &str = "x-goog-authenticated-user-email";
/// IAP's issuer.
pub const ISSUER: &str = "https://cloud.google.com/iap";
/// Where Google publishes IAP's signing keys.
pub const GOOGLE_JWKS_URL: &str = "https://www.gstatic.com/iap/verify/public_key-jwk";

/// Keys are re-read in the background this often, or at most every `REFETCH_MIN_INTERVAL` when
/// an unknown key id shows up. A failed read keeps the keys already known.
pub const KEYS_REFRESH: Duration = Duration::from_secs(3600);
pub const REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(30);

pub enum Identity {
    Iap(std::sync::Arc<IapVerifier>),
    /// `--trust-iap-header`: tests only.
    TrustHeader,
}

/// Why a request has no usable identity (shown to the user in a few words; never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Invalid(String),
}

impl Identity {
    /// The caller's e-mail, or why there is none.
    pub async fn email(&self, headers: &HeaderMap) -> Result<Arc<str>, Refusal> {
        match self {
            Identity::TrustHeader => {
                let value = headers.get(EMAIL_HEADER).and_then(|v| v.to_str().ok()).ok_or(Refusal::Missing)?;
                user::email_from(value)
                    .map(Arc::from)
                    .ok_or_else(|| Refusal::Invalid(format!("{EMAIL_HEADER} is not an e-mail")))
            }
            Identity::Iap(v) => {
                let token = headers.get(JWT_HEADER).and_then(|v| v.to_str().ok()).ok_or(Refusal::Missing)?;
                v.verify(token).await
            }
        }
    }

    pub fn has_identity_header(headers: &HeaderMap) -> bool {
        headers.contains_key(JWT_HEADER) || headers.contains_key(EMAIL_HEADER)
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    email: String,
    #[serde(default)]
    aud: Audience,
    /// Required (`Validation::required_spec_claims`), so present once verified.
    #[serde(default)]
    exp: i64,
    #[serde(default)]
    iat: i64,
}

/// Tokens already verified, with the e-mail they carry, until they expire. IAP sends the same
/// token with every request of a browser session for about ten minutes, and checking an ES256
/// signature is the most expensive thing the router does per request: a token seen before (the
/// very same string) is not checked again before its `exp`. Forgotten when the key set changes,
/// so a key Google withdraws stops admitting anyone at the next refresh.
#[derive(Default)]
struct Verified {
    /// The e-mail shared with each request that carries the token (not copied).
    by_token: FastMap<Box<str>, (Arc<str>, i64)>,
    /// Counts key set changes: a token checked against an older key set is not remembered.
    keys_generation: u64,
}

/// Tokens remembered at most (a few per signed-in browser); beyond, expired ones are dropped
/// first, then all.
const VERIFIED_MAX: usize = 10_000;
/// A token is remembered at most this long, whatever its `exp` (IAP's live about 10 minutes).
const VERIFIED_TTL: i64 = 600;
/// Clock skew allowed on `exp` and `iat`.
const LEEWAY: i64 = 30;

impl Verified {
    fn get(&self, token: &str, now: i64) -> Option<Arc<str>> {
        let (email, exp) = self.by_token.get(token)?;
        (now < *exp).then(|| email.clone())
    }

    fn insert(&mut self, token: &str, email: &Arc<str>, exp: i64, now: i64) {
        if self.by_token.len() >= VERIFIED_MAX {
            self.by_token.retain(|_, (_, exp)| now < *exp);
            if self.by_token.len() >= VERIFIED_MAX {
                self.by_token.clear();
            }
        }
        self.by_token.insert(token.into(), (email.clone(), exp));
    }
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    None,
}

pub struct IapVerifier {
    /// The expected `aud`: exact, or a prefix when it ends with `/`
    /// (`/projects/NUMBER/global/backendServices/` accepts any backend service of the project).
    audience: String,
    jwks_url: String,
    http: reqwest::Client,
    /// An unknown key id triggers a read at most this often.
    refetch_min_interval: Duration,
    /// Read by every request without waiting; replaced only by a successful refresh.
    keys: RwLock<Keys>,
    verified: RwLock<Verified>,
    /// One refresh at a time; requests for an unknown key wait for it, the others do not.
    refreshing: Mutex<()>,
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

impl IapVerifier {
    /// `refetch_min_interval` is `REFETCH_MIN_INTERVAL` outside tests.
    pub fn new(audience: String, jwks_url: String, refetch_min_interval: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            audience,
            jwks_url,
            http,
            refetch_min_interval,
            keys: RwLock::new(Keys::default()),
            verified: RwLock::new(Verified::default()),
            refreshing: Mutex::new(()),
        }
    }

    /// Reads the JWKS now (the router does so at start-up, so a wrong URL shows at once).
    pub async fn prefetch(&self) -> anyhow::Result<usize> {
        let _one = self.refreshing.lock().await;
        self.refresh().await
    }

    /// Re-reads the keys every `every`, keeping the known ones when a read fails.
    pub async fn refresh_forever(&self, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            let _one = self.refreshing.lock().await;
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "IAP key refresh failed; the known keys stay in use");
            }
        }
    }

    /// Fetches the key set and replaces the known keys; the number of keys.
    async fn refresh(&self) -> anyhow::Result<usize> {
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| anyhow::anyhow!("cannot fetch IAP's keys from {}: {e}", self.jwks_url))?
            .json()
            .await
            .map_err(|e| anyhow::anyhow!("IAP's key set at {} is not a JWKS: {e}", self.jwks_url))?;
        let mut by_kid = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) else { continue };
            by_kid.insert(kid, key);
        }
        let n = by_kid.len();
        let changed = if let Ok(mut keys) = self.keys.write() {
            let changed = !same_keys(&keys.by_kid, &by_kid);
            *keys = Keys { by_kid, fetched: Some(Instant::now()) };
            changed
        } else {
            true
        };
        if changed && let Ok(mut verified) = self.verified.write() {
            verified.by_token.clear();
            verified.keys_generation += 1;
        }
        Ok(n)
    }

    fn known(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().ok()?.by_kid.get(kid).cloned()
    }

    /// The key `kid`: at once when known; else after one refresh (shared by every request that
    /// waits for it, and at most every `refetch_min_interval`), a rotated-in key being the reason.
    async fn key(&self, kid: &str) -> Result<DecodingKey, Refusal> {
        if let Some(key) = self.known(kid) {
            return Ok(key);
        }
        {
            let _one = self.refreshing.lock().await;
            let due = self
                .keys
                .read()
                .map(|k| k.fetched.is_none_or(|f| f.elapsed() > self.refetch_min_interval))
                .unwrap_or(true);
            if self.known(kid).is_none()
                && due
                && let Err(e) = self.refresh().await
            {
                tracing::warn!(error = %e, "IAP key refresh failed; the known keys stay in use");
            }
        }
        self.known(kid).ok_or_else(|| Refusal::Invalid("signed by an unknown key".into()))
    }

    /// The token's e-mail: from `verified` when this very token was verified before and has not
    /// expired, else after a full check.
    pub async fn verify(&self, token: &str) -> Result<Arc<str>, Refusal> {
        let now = crate::runtime::now_unix();
        let generation = match self.verified.read() {
            Ok(v) => match v.get(token, now) {
                Some(email) => return Ok(email),
                None => Some(v.keys_generation),
            },
            Err(_) => None,
        };
        let (email, exp) = self.check(token, now).await?;
        let email: Arc<str> = email.into();
        // Remembered only if the keys did not change while it was checked (a withdrawn key's
        // token would otherwise outlive the refresh that withdrew it).
        if let Some(generation) = generation
            && let Ok(mut verified) = self.verified.write()
            && verified.keys_generation == generation
        {
            verified.insert(token, &email, exp.min(now + VERIFIED_TTL), now);
        }
        Ok(email)
    }

    /// Signature (ES256, a key of IAP's), issuer, expiry and audience; the e-mail and `exp`.
    async fn check(&self, token: &str, now: i64) -> Result<(String, i64), Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Invalid("malformed token".into()))?;
        if header.alg != Algorithm::ES256 {
            return Err(Refusal::Invalid(format!("algorithm {:?} is not ES256", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| Refusal::Invalid("token has no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        // The audience is checked below (exact or project prefix).
        validation.validate_aud = false;
        validation.leeway = LEEWAY as u64;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            Refusal::Invalid(
                match e.kind() {
                    K::ExpiredSignature => "token expired",
                    K::InvalidSignature => "bad signature",
                    K::InvalidIssuer => "wrong issuer",
                    K::ImmatureSignature => "token not valid yet",
                    K::MissingRequiredClaim(_) => "token lacks a required claim",
                    _ => "invalid token",
                }
                .into(),
            )
        })?;
        // Google's rules: `iat` must be in the past (jsonwebtoken checks only that it is there).
        if data.claims.iat > now + LEEWAY {
            return Err(Refusal::Invalid("token issued in the future".into()));
        }
        let audiences = match data.claims.aud {
            Audience::One(a) => vec![a],
            Audience::Many(a) => a,
            Audience::None => Vec::new(),
        };
        if !audiences.iter().any(|a| self.audience_matches(a)) {
            return Err(Refusal::Invalid("wrong audience".into()));
        }
        let email =
            user::email_from(&data.claims.email).ok_or_else(|| Refusal::Invalid("token has no e-mail".into()))?;
        Ok((email, data.claims.exp))
    }

    fn audience_matches(&self, aud: &str) -> bool {
        if self.audience.ends_with('/') {
            aud.len() > self.audience.len() && aud.starts_with(&self.audience)
        } else {
            aud == self.audience
        }
    }
}

/// Whether two key sets hold the same key ids (a key id names one key: Google rotates by
/// adding and removing ids).
fn same_keys(a: &HashMap<String, DecodingKey>, b: &HashMap<String, DecodingKey>) -> bool {
    a.len() == b.len() && a.keys().all(|k| b.contains_key(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_token_is_remembered_until_it_expires_and_the_memory_is_bounded() {
        let mut v = Verified::default();
        v.insert("t1", &"dana@example.com".into(), 1_000, 900);
        assert_eq!(v.get("t1", 999).as_deref(), Some("dana@example.com"));
        assert_eq!(v.get("t1", 1_000), None, "expired");
        assert_eq!(v.get("t1x", 999), None, "only the very same token");
        // Full: expired tokens go first, the live ones stay.
        for i in 0..VERIFIED_MAX - 1 {
            v.insert(&format!("old{i}"), &"x@example.com".into(), 500, 400);
        }
        v.insert("t2", &"erin@example.com".into(), 2_000, 900);
        assert_eq!(v.by_token.len(), 2, "the expired ones were dropped");
        assert_eq!(v.get("t1", 950).as_deref(), Some("dana@example.com"));
    }
}
