//! Filestore and Memorystore for Redis through the official clients: AIP-151 create/delete with
//! typed responses, states, tier rules, networks, AUTH and TLS.

use google_cloud_filestore_v1::client::CloudFilestoreManager;
use google_cloud_filestore_v1::model as fs;
use google_cloud_lro::Poller;
use google_cloud_redis_v1::client::CloudRedis;
use google_cloud_redis_v1::model as redis;
use serde_json::{Value, json};

use super::google_support::{calls, client, emulator, resource, status};

fn nfs(capacity: i64) -> fs::Instance {
    nfs_on(capacity, "10.0.0.0/29")
}

fn nfs_on(capacity: i64, range: &str) -> fs::Instance {
    fs::Instance::new()
        .set_tier(fs::instance::Tier::BasicHdd)
        .set_file_shares([fs::FileShareConfig::new().set_name("vol1").set_capacity_gb(capacity)])
        .set_networks([fs::NetworkConfig::new()
            .set_network("default")
            .set_modes([fs::network_config::AddressMode::ModeIpv4])
            .set_reserved_ip_range(range)])
        .set_labels([("sdctl-env", "demo")])
}

#[tokio::test]
async fn filestore_instance_life_cycle() {
    let emu = emulator("").await;
    let file = client!(emu, CloudFilestoreManager, "file");
    let parent = "projects/p1/locations/us-central1-a";
    let name = format!("{parent}/instances/sd-models");

    let e = file
        .create_instance()
        .set_parent(parent)
        .set_instance_id("sd-models")
        .set_instance(nfs(100))
        .send()
        .await
        .unwrap_err();
    let (code, message) = status(&e);
    assert_eq!(code, Some(400));
    assert!(message.contains("minimum capacity for tier BASIC_HDD is 1024 GB"), "{message}");
    let e = file
        .create_instance()
        .set_parent("projects/p1/locations/us-central1")
        .set_instance_id("sd-models")
        .set_instance(nfs(1024))
        .send()
        .await
        .unwrap_err();
    assert!(status(&e).1.contains("use a zone"), "BASIC tiers live in a zone");

    let op = file
        .create_instance()
        .set_parent(parent)
        .set_instance_id("sd-models")
        .set_instance(nfs(1024))
        .send()
        .await
        .unwrap();
    assert!(!op.done);
    let creating = file.get_instance().set_name(&name).send().await.unwrap();
    assert_eq!(creating.state, fs::instance::State::Creating);
    let e = file
        .create_instance()
        .set_parent(parent)
        .set_instance_id("sd-models")
        .set_instance(nfs(1024))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(409));

    // Ranges in one network must not overlap (file.v1 NetworkConfig.reservedIpRange).
    let e = file
        .create_instance()
        .set_parent(parent)
        .set_instance_id("other")
        .set_instance(nfs(2048))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(400));
    assert!(format!("{e}").contains("conflicts with"), "{e}");
    let instance = file
        .create_instance()
        .set_parent(parent)
        .set_instance_id("other")
        .set_instance(nfs_on(2048, "10.0.0.8/29"))
        .poller()
        .until_done()
        .await
        .unwrap();
    assert_eq!(instance.state, fs::instance::State::Ready);
    assert_eq!(instance.networks[0].ip_addresses, ["10.0.0.10"]);
    assert_eq!(instance.tier, fs::instance::Tier::BasicHdd);
    assert_eq!(instance.file_shares[0].capacity_gb, 2048);
    let listed = file.list_instances().set_parent(parent).send().await.unwrap();
    assert_eq!(listed.instances.len(), 2);

    // The wire: tier as the proto number, the response's @type right (the poller decoded it).
    let create = &calls(&emu, "file.projects.locations.instances.create")[0];
    assert_eq!(create["body"]["tier"], json!(3));
    assert_eq!(create["query"]["instanceId"], "sd-models");

    // Capacity grows through PATCH with an update mask; BASIC tiers cannot shrink.
    let http = reqwest::Client::new();
    let url =
        format!("{}/file/v1/projects/p1/locations/us-central1-a/instances/other?updateMask=fileShares", emu.url());
    let refused: Value = http
        .patch(&url)
        .json(&json!({ "fileShares": [{ "name": "vol1", "capacityGb": "1024" }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], 400);
    let op: Value = http
        .patch(&url)
        .json(&json!({ "fileShares": [{ "name": "vol1", "capacityGb": "4096" }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(op["done"], false);
    let e = file.delete_instance().set_name(format!("{parent}/instances/other")).send().await.unwrap_err();
    assert_eq!(e.http_status_code(), Some(400), "no delete while an update runs");
    loop {
        let grown = file.get_instance().set_name(format!("{parent}/instances/other")).send().await.unwrap();
        if grown.state == fs::instance::State::Ready {
            assert_eq!(grown.file_shares[0].capacity_gb, 4096);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }

    file.delete_instance().set_name(format!("{parent}/instances/other")).poller().until_done().await.unwrap();
    let e = file.get_instance().set_name(format!("{parent}/instances/other")).send().await.unwrap_err();
    assert_eq!(e.http_status_code(), Some(404));
    assert_eq!(resource(&emu, &name).unwrap()["state"], "READY");
    emu.shutdown().await;
}

#[tokio::test]
async fn redis_instance_with_auth_and_tls() {
    let emu = emulator("").await;
    let client = client!(emu, CloudRedis, "redis");
    let parent = "projects/p1/locations/us-central1";
    let wanted = redis::Instance::new()
        .set_tier(redis::instance::Tier::StandardHa)
        .set_memory_size_gb(1)
        .set_redis_version("REDIS_7_2")
        .set_auth_enabled(true)
        .set_transit_encryption_mode(redis::instance::TransitEncryptionMode::ServerAuthentication)
        .set_authorized_network("projects/p1/global/networks/default")
        .set_labels([("sdctl-env", "demo")]);
    let e = client
        .create_instance()
        .set_parent(parent)
        .set_instance_id("sd-redis")
        .set_instance(wanted.clone().set_memory_size_gb(0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(400));
    let op = client
        .create_instance()
        .set_parent(parent)
        .set_instance_id("sd-redis")
        .set_instance(wanted.clone())
        .send()
        .await
        .unwrap();
    assert!(!op.done);
    let creating = client.get_instance().set_name(format!("{parent}/instances/sd-redis")).send().await.unwrap();
    assert_eq!(creating.state, redis::instance::State::Creating);
    let e = client.delete_instance().set_name(format!("{parent}/instances/sd-redis")).send().await.unwrap_err();
    assert_eq!(e.http_status_code(), Some(400), "no delete while creating");

    let ready = client
        .create_instance()
        .set_parent(parent)
        .set_instance_id("sd-redis-2")
        .set_instance(wanted)
        .poller()
        .until_done()
        .await
        .unwrap();
    assert_eq!(ready.state, redis::instance::State::Ready);
    assert_eq!(ready.tier, redis::instance::Tier::StandardHa);
    assert_eq!(ready.port, 6378, "TLS port");
    assert!(ready.host.starts_with("10."));
    assert!(ready.server_ca_certs[0].cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(ready.nodes.len(), 2);
    let auth =
        client.get_instance_auth_string().set_name(format!("{parent}/instances/sd-redis-2")).send().await.unwrap();
    assert_eq!(auth.auth_string.len(), 36);
    client.delete_instance().set_name(format!("{parent}/instances/sd-redis-2")).poller().until_done().await.unwrap();
    assert!(resource(&emu, &format!("{parent}/instances/sd-redis-2")).is_none());
    assert!(resource(&emu, &format!("{parent}/instances/sd-redis")).is_some());
    emu.shutdown().await;
}
