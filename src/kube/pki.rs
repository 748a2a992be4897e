//! Certificates for Agones' webhooks, API service and allocator, generated once per cluster
//! (never the well-known ones published in Agones' install.yaml) and kept in a Secret so that
//! every later `up` applies the very same bytes.

use std::collections::BTreeMap;

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

/// Where the generated material is kept in the cluster.
pub const SECRET: &str = "sdctl-agones-pki";

/// Keys of the Secret (and fields of [`AgonesPki`]).
const KEYS: [&str; 7] =
    ["ca.crt", "ca.key", "server.crt", "server.key", "allocator.crt", "allocator.key", "client-ca.crt"];

/// PEM texts, keyed like the Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgonesPki(BTreeMap<String, String>);

impl AgonesPki {
    /// A new CA, a serving certificate for Agones' controller service (webhooks and the
    /// allocation API service), one for the allocator, and an allocator client CA.
    pub fn generate(namespace: &str) -> anyhow::Result<Self> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "sdctl agones CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        ca_params.not_after = rcgen::date_time_ymd(2046, 1, 1);
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let serve = |service: &str| -> anyhow::Result<(String, String)> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(vec![
                format!("{service}.{namespace}.svc"),
                format!("{service}.{namespace}.svc.cluster.local"),
                service.to_string(),
            ])?;
            params.distinguished_name.push(DnType::CommonName, format!("{service}.{namespace}.svc"));
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.not_after = rcgen::date_time_ymd(2046, 1, 1);
            let cert = params.signed_by(&key, &issuer)?;
            Ok((cert.pem(), key.serialize_pem()))
        };
        let (server_crt, server_key) = serve("agones-controller-service")?;
        let (allocator_crt, allocator_key) = serve("agones-allocator")?;

        let client_key = KeyPair::generate()?;
        let mut client_params = CertificateParams::new(Vec::<String>::new())?;
        client_params.distinguished_name.push(DnType::CommonName, "sdctl agones allocator clients");
        client_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        client_params.not_after = rcgen::date_time_ymd(2046, 1, 1);
        let client_ca = client_params.self_signed(&client_key)?;

        let values = [
            ca_cert.pem(),
            issuer.key().serialize_pem(),
            server_crt,
            server_key,
            allocator_crt,
            allocator_key,
            client_ca.pem(),
        ];
        Ok(Self(KEYS.iter().map(|k| k.to_string()).zip(values).collect()))
    }

    /// Reads the material back from the Secret's `data` (base64 values).
    pub fn from_secret(secret: &serde_json::Value) -> Option<Self> {
        let data = secret["data"].as_object()?;
        let mut map = BTreeMap::new();
        for key in KEYS {
            let encoded = data.get(key)?.as_str()?;
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
            map.insert(key.to_string(), String::from_utf8(decoded).ok()?);
        }
        Some(Self(map))
    }

    /// The Secret that keeps the material in `namespace`.
    pub fn to_secret(&self, namespace: &str) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": namespace},
            "type": "Opaque",
            "data": self.0.iter().map(|(k, v)| (k.clone(), b64(v))).collect::<serde_json::Map<_, _>>(),
        })
    }

    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or_default()
    }
}

pub fn b64(text: &str) -> serde_json::Value {
    serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_round_trips_through_the_secret() {
        let pki = AgonesPki::generate("agones-system").unwrap();
        assert!(pki.get("ca.crt").starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.get("server.key").contains("PRIVATE KEY"));
        let back = AgonesPki::from_secret(&pki.to_secret("agones-system")).unwrap();
        assert_eq!(back, pki);
        assert_ne!(AgonesPki::generate("agones-system").unwrap().get("ca.crt"), pki.get("ca.crt"));
    }
}
