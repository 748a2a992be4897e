//! Cloud Storage through its JSON API (the Rust SDK administers buckets over gRPC only): buckets,
//! bucket IAM, and the object calls sdctl needs. Same endpoint and credential rules as the SDK
//! clients; errors become [`ApiError`]s so the same retry loop applies.

// The JSON API calls return `ApiError` directly (the retry loop classifies it); it is large but
// only built on the cold error path.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use google_cloud_iam_v1::model::Policy;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::{ApiError, ErrorKind, kind_of_http};
use super::{Gcp, Service};

/// A bucket as the JSON API returns it (only the fields sdctl reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub name: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub labels: HashMap<String, String>,
    #[serde(default)]
    pub iam_configuration: Option<IamConfiguration>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamConfiguration {
    #[serde(default)]
    pub uniform_bucket_level_access: Option<Enabled>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Enabled {
    #[serde(default)]
    pub enabled: bool,
}

impl Bucket {
    pub fn uniform_access(&self) -> bool {
        self.iam_configuration.as_ref().and_then(|c| c.uniform_bucket_level_access.as_ref()).is_some_and(|u| u.enabled)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    pub name: String,
    #[serde(default)]
    pub size: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectList {
    #[serde(default)]
    items: Vec<Object>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BucketList {
    #[serde(default)]
    items: Vec<Bucket>,
    next_page_token: Option<String>,
}

/// A thin JSON API client.
pub struct StorageClient<'a> {
    gcp: &'a Gcp,
    http: reqwest::Client,
    base: String,
}

type Result<T> = std::result::Result<T, ApiError>;

impl<'a> StorageClient<'a> {
    pub fn new(gcp: &'a Gcp) -> Self {
        Self { gcp, http: reqwest::Client::new(), base: gcp.endpoints.url(Service::Storage) }
    }

    async fn send(
        &self,
        action: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Body>,
    ) -> Result<Option<Value>> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).query(query);
        let token = self
            .gcp
            .auth
            .access_token(Service::Storage)
            .await
            .map_err(|e| ApiError::new(action, ErrorKind::Unauthenticated, e.to_string()))?;
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req = match body {
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Bytes(b)) => req.header("content-type", "application/octet-stream").body(b),
            None => req,
        };
        let resp = req.send().await.map_err(|e| ApiError::new(action, ErrorKind::Unavailable, e.to_string()))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let bytes = resp.bytes().await.map_err(|e| ApiError::new(action, ErrorKind::Unavailable, e.to_string()))?;
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ApiError::new(action, ErrorKind::Other, format!("unreadable response: {e}")));
        }
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(String::from))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        let mut err = ApiError::new(action, kind_of_http(status.as_u16()), message);
        err.http_status = Some(status.as_u16());
        err.retry_after = retry_after;
        if status == StatusCode::FORBIDDEN {
            err.refine_from_message();
        }
        Err(err)
    }

    fn parse<T: for<'de> Deserialize<'de>>(action: &str, value: Option<Value>) -> Result<T> {
        serde_json::from_value(value.unwrap_or(Value::Null))
            .map_err(|e| ApiError::new(action, ErrorKind::Other, format!("unexpected response: {e}")))
    }

    pub async fn get_bucket(&self, bucket: &str) -> Result<Bucket> {
        let action = format!("read bucket {bucket}");
        Self::parse(&action, self.send(&action, Method::GET, &format!("/storage/v1/b/{bucket}"), &[], None).await?)
    }

    pub async fn create_bucket(
        &self,
        project: &str,
        bucket: &str,
        location: &str,
        labels: &HashMap<String, String>,
    ) -> Result<Bucket> {
        let action = format!("create bucket {bucket}");
        let body = json!({
            "name": bucket,
            "location": location,
            "labels": labels,
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": true},
                "publicAccessPrevention": "enforced",
            },
        });
        let value =
            self.send(&action, Method::POST, "/storage/v1/b", &[("project", project)], Some(Body::Json(body))).await?;
        Self::parse(&action, value)
    }

    /// Sets labels and uniform access (PATCH merges, as on Google).
    pub async fn patch_bucket(&self, bucket: &str, labels: &HashMap<String, String>) -> Result<Bucket> {
        let action = format!("update bucket {bucket}");
        let body = json!({"labels": labels, "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}}});
        let value =
            self.send(&action, Method::PATCH, &format!("/storage/v1/b/{bucket}"), &[], Some(Body::Json(body))).await?;
        Self::parse(&action, value)
    }

    pub async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let action = format!("delete bucket {bucket}");
        self.send(&action, Method::DELETE, &format!("/storage/v1/b/{bucket}"), &[], None).await.map(|_| ())
    }

    /// Buckets of the project whose label `key` is `value`.
    pub async fn list_buckets_labeled(&self, project: &str, key: &str, value: &str) -> Result<Vec<Bucket>> {
        let action = format!("list buckets of project {project}");
        let mut found = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = vec![("project", project)];
            if !token.is_empty() {
                query.push(("pageToken", token.as_str()));
            }
            let page: BucketList =
                Self::parse(&action, self.send(&action, Method::GET, "/storage/v1/b", &query, None).await?)?;
            found.extend(page.items.into_iter().filter(|b| b.labels.get(key).map(String::as_str) == Some(value)));
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = t,
                _ => return Ok(found),
            }
        }
    }

    /// The bucket's IAM policy at `version` (3: conditional bindings included as they are).
    pub async fn get_iam_policy(&self, bucket: &str, version: i32) -> Result<Policy> {
        let action = format!("read the IAM policy of bucket {bucket}");
        let version = version.to_string();
        let query = [("optionsRequestedPolicyVersion", version.as_str())];
        Self::parse(
            &action,
            self.send(&action, Method::GET, &format!("/storage/v1/b/{bucket}/iam"), &query, None).await?,
        )
    }

    /// Writes the policy; its etag makes a concurrent change fail (412/409) instead of being lost.
    pub async fn set_iam_policy(&self, bucket: &str, policy: &Policy) -> Result<Policy> {
        let action = format!("write the IAM policy of bucket {bucket}");
        let body = serde_json::to_value(policy).unwrap_or(Value::Null);
        let value = self
            .send(&action, Method::PUT, &format!("/storage/v1/b/{bucket}/iam"), &[], Some(Body::Json(body)))
            .await?;
        Self::parse(&action, value)
    }

    /// Every object name under `prefix` (all pages).
    pub async fn list_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<Object>> {
        let action = format!("list objects of bucket {bucket}");
        let mut objects = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = vec![("prefix", prefix)];
            if !token.is_empty() {
                query.push(("pageToken", token.as_str()));
            }
            let path = format!("/storage/v1/b/{bucket}/o");
            let page: ObjectList = Self::parse(&action, self.send(&action, Method::GET, &path, &query, None).await?)?;
            objects.extend(page.items);
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = t,
                _ => return Ok(objects),
            }
        }
    }

    /// Whether any object's name starts with `prefix` (one object read, however many there are).
    pub async fn has_objects(&self, bucket: &str, prefix: &str) -> Result<bool> {
        let action = format!("list objects of bucket {bucket}");
        let path = format!("/storage/v1/b/{bucket}/o");
        let query = [("prefix", prefix), ("maxResults", "1")];
        let page: ObjectList = Self::parse(&action, self.send(&action, Method::GET, &path, &query, None).await?)?;
        Ok(!page.items.is_empty())
    }

    pub async fn delete_object(&self, bucket: &str, object: &str) -> Result<()> {
        let action = format!("delete gs://{bucket}/{object}");
        let path = format!("/storage/v1/b/{bucket}/o/{}", encode(object));
        self.send(&action, Method::DELETE, &path, &[], None).await.map(|_| ())
    }

    pub async fn upload(&self, bucket: &str, object: &str, data: Vec<u8>) -> Result<Object> {
        let action = format!("upload gs://{bucket}/{object}");
        let path = format!("/upload/storage/v1/b/{bucket}/o");
        let value = self
            .send(&action, Method::POST, &path, &[("uploadType", "media"), ("name", object)], Some(Body::Bytes(data)))
            .await?;
        Self::parse(&action, value)
    }

    pub async fn download(&self, bucket: &str, object: &str) -> Result<Vec<u8>> {
        let action = format!("download gs://{bucket}/{object}");
        let url = format!("{}/storage/v1/b/{bucket}/o/{}", self.base, encode(object));
        let mut req = self.http.get(&url).query(&[("alt", "media")]);
        if let Some(token) = self
            .gcp
            .auth
            .access_token(Service::Storage)
            .await
            .map_err(|e| ApiError::new(&action, ErrorKind::Unauthenticated, e.to_string()))?
        {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.map_err(|e| ApiError::new(&action, ErrorKind::Unavailable, e.to_string()))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ApiError::new(&action, ErrorKind::Unavailable, e.to_string()))?;
        if !status.is_success() {
            let mut err =
                ApiError::new(&action, kind_of_http(status.as_u16()), String::from_utf8_lossy(&bytes).into_owned());
            err.http_status = Some(status.as_u16());
            return Err(err);
        }
        Ok(bytes.to_vec())
    }
}

enum Body {
    Json(Value),
    Bytes(Vec<u8>),
}

/// Object names go in one path segment: `/` and other reserved characters are escaped.
fn encode(object: &str) -> String {
    object
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_are_one_segment() {
        assert_eq!(encode("builds/ctx 1.tar.gz"), "builds%2Fctx%201.tar.gz");
    }

    #[test]
    fn a_bucket_policy_round_trips_with_its_conditions_and_etag() {
        // The JSON API's shape (storage.v1 Discovery, Policy): extra fields and conditions kept.
        let sent = json!({
            "kind": "storage#policy",
            "resourceId": "projects/_/buckets/b",
            "version": 3,
            "etag": "CAE=",
            "bindings": [{"role": "roles/storage.objectViewer", "members": ["user:a@example.com"],
                          "condition": {"title": "t", "expression": "resource.name.startsWith('x')"}}],
        });
        let policy: Policy = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(policy.version, 3);
        assert!(policy.bindings[0].condition.is_some());
        assert_eq!(serde_json::to_value(&policy).unwrap(), sent);
    }
}
