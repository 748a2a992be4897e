//! The Cloud Storage JSON API as sdctl calls it (reqwest, like `src/gcp` does): buckets with
//! labels, location, uniform access and IAM; objects through media, multipart and resumable
//! uploads; and Google's behaviour where fake-gcs-server differs (204 on DELETE, PATCH merges,
//! labels and location kept, bucket IAM exists).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::google_support::{calls, emulator, resource};

#[tokio::test]
async fn buckets_and_objects_behave_like_google() {
    let emu = emulator("").await;
    let http = reqwest::Client::new();
    let api = format!("{}/storage/storage/v1", emu.url());
    let upload = format!("{}/storage/upload/storage/v1", emu.url());

    let bucket = json!({
        "name": "p1-sd-models",
        "location": "us-central1",
        "labels": { "sdctl-env": "demo" },
        "iamConfiguration": { "uniformBucketLevelAccess": { "enabled": true } },
    });
    let created: Value =
        http.post(format!("{api}/b?project=p1")).json(&bucket).send().await.unwrap().json().await.unwrap();
    assert_eq!(created["location"], "US-CENTRAL1", "location kept (fake-gcs-server ignores it)");
    assert_eq!(created["locationType"], "region");
    assert_eq!(created["labels"]["sdctl-env"], "demo", "labels kept (fake-gcs-server drops them)");
    assert_eq!(created["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"], true);
    let again = http.post(format!("{api}/b?project=p1")).json(&bucket).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body: Value = again.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Your previous request to create the named bucket succeeded and you already own it."
    );
    let other_project = http.post(format!("{api}/b?project=p2")).json(&bucket).send().await.unwrap();
    assert_eq!(other_project.status(), StatusCode::CONFLICT);

    // PATCH merges: a new label is added, the others stay.
    let patched: Value = http
        .patch(format!("{api}/b/p1-sd-models"))
        .json(&json!({ "labels": { "team": "ml" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["labels"], json!({ "sdctl-env": "demo", "team": "ml" }));
    assert_eq!(patched["metageneration"], "2");

    // Bucket IAM with etags.
    let policy: Value = http.get(format!("{api}/b/p1-sd-models/iam")).send().await.unwrap().json().await.unwrap();
    assert_eq!(policy["kind"], "storage#policy");
    let mut wanted = policy.clone();
    wanted["bindings"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "role": "roles/storage.objectViewer", "members": ["user:alice@example.com"] }));
    let stored = http.put(format!("{api}/b/p1-sd-models/iam")).json(&wanted).send().await.unwrap();
    assert_eq!(stored.status(), StatusCode::OK);
    let stale = http.put(format!("{api}/b/p1-sd-models/iam")).json(&wanted).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);

    // Objects: media, multipart, resumable.
    let put = http
        .post(format!("{upload}/b/p1-sd-models/o?uploadType=media&name=models/a.safetensors"))
        .header("content-type", "application/octet-stream")
        .body(vec![7u8; 1000])
        .send()
        .await
        .unwrap();
    let meta: Value = put.json().await.unwrap();
    assert_eq!(meta["size"], "1000");
    assert!(meta["md5Hash"].as_str().is_some() && meta["crc32c"].as_str().is_some());
    let multipart = "--b\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"name\":\"models/b.txt\",\"metadata\":{\"k\":\"v\"}}\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
    let meta: Value = http
        .post(format!("{upload}/b/p1-sd-models/o?uploadType=multipart"))
        .header("content-type", "multipart/related; boundary=b")
        .body(multipart)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((meta["contentType"].as_str(), meta["metadata"]["k"].as_str()), (Some("text/plain"), Some("v")));
    let session = http
        .post(format!("{upload}/b/p1-sd-models/o?uploadType=resumable&name=ctx.tgz"))
        .json(&json!({ "contentType": "application/gzip" }))
        .send()
        .await
        .unwrap();
    let location = session.headers()["location"].to_str().unwrap().to_string();
    let chunk = http.put(&location).header("content-range", "bytes 0-2/*").body("abc").send().await.unwrap();
    assert_eq!(chunk.status().as_u16(), 308);
    let done: Value = http
        .put(&location)
        .header("content-range", "bytes 3-5/6")
        .body("def")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((done["name"].as_str(), done["size"].as_str()), (Some("ctx.tgz"), Some("6")));
    let only_if_absent = http
        .post(format!("{upload}/b/p1-sd-models/o?uploadType=media&name=ctx.tgz&ifGenerationMatch=0"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(only_if_absent.status(), StatusCode::PRECONDITION_FAILED);

    let data =
        http.get(format!("{api}/b/p1-sd-models/o/ctx.tgz?alt=media")).send().await.unwrap().text().await.unwrap();
    assert_eq!(data, "abcdef");
    let listed: Value = http
        .get(format!("{api}/b/p1-sd-models/o?prefix=models/&maxResults=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["name"], "models/a.safetensors");
    let token = listed["nextPageToken"].as_str().unwrap();
    let page2: Value = http
        .get(format!("{api}/b/p1-sd-models/o?prefix=models/&maxResults=1&pageToken={token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page2["items"][0]["name"], "models/b.txt");
    let dirs: Value =
        http.get(format!("{api}/b/p1-sd-models/o?delimiter=/")).send().await.unwrap().json().await.unwrap();
    assert_eq!(dirs["prefixes"], json!(["models/"]));

    // A non-empty bucket cannot be deleted; DELETE answers 204 (fake-gcs-server: 200 + null).
    let refused = http.delete(format!("{api}/b/p1-sd-models")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["message"], "The bucket you tried to delete is not empty.");
    assert!(body["error"].get("status").is_none() && body["error"]["errors"][0]["reason"] == "conflict");
    for name in ["models%2Fa.safetensors", "models%2Fb.txt", "ctx.tgz"] {
        let deleted = http.delete(format!("{api}/b/p1-sd-models/o/{name}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    }
    let missing = http.get(format!("{api}/b/p1-sd-models/o/ctx.tgz")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(http.delete(format!("{api}/b/p1-sd-models")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(resource(&emu, "p1-sd-models").is_none());
    assert_eq!(calls(&emu, "storage.objects.insert").len(), 6);
    emu.shutdown().await;
}

#[tokio::test]
async fn org_policy_requires_uniform_bucket_access() {
    let emu = emulator("orgPolicies: { storage.uniformBucketLevelAccess: deny }").await;
    let http = reqwest::Client::new();
    let api = format!("{}/storage/storage/v1", emu.url());
    let refused =
        http.post(format!("{api}/b?project=p1")).json(&json!({ "name": "p1-fine-grained" })).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::PRECONDITION_FAILED);
    let ok = http
        .post(format!("{api}/b?project=p1"))
        .json(&json!({ "name": "p1-uniform", "iamConfiguration": { "uniformBucketLevelAccess": { "enabled": true } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let listed: Value = http.get(format!("{api}/b?project=p1")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    emu.shutdown().await;
}
