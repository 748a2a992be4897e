//! Compute Engine through the official discovery-based clients: networks, subnetworks,
//! firewalls, addresses, routers with NAT, quotas, the machine/accelerator catalog, compute
//! operations, and the refusals sdctl must handle.

use google_cloud_compute_v1::client::{
    AcceleratorTypes, Firewalls, GlobalAddresses, GlobalOperations, MachineTypes, Networks, Projects, Regions, Routers,
    Subnetworks,
};
use google_cloud_compute_v1::model::{
    Address, Firewall, Network, Router, RouterNat, Subnetwork, SubnetworkSecondaryRange,
    firewall::Allowed,
    router_nat::{NatIpAllocateOption, SourceSubnetworkIpRangesToNat},
};
use google_cloud_lro::Poller;
use serde_json::{Value, json};

use super::google_support::{calls, client, emulator, resource, status};

const P: &str = "p1";

#[tokio::test]
async fn compute_network_stack_life_cycle_and_in_use_refusals() {
    let emu = emulator("").await;
    let networks = client!(emu, Networks, "compute");
    let subnets = client!(emu, Subnetworks, "compute");
    let firewalls = client!(emu, Firewalls, "compute");
    let routers = client!(emu, Routers, "compute");

    // Every project starts with the default network and its auto-mode subnetworks.
    let default = networks.get().set_project(P).set_network("default").send().await.unwrap();
    assert_eq!(default.auto_create_subnetworks, Some(true));
    let sub = subnets.get().set_project(P).set_region("us-central1").set_subnetwork("default").send().await.unwrap();
    assert_eq!(sub.ip_cidr_range.as_deref(), Some("10.128.0.0/20"));

    let op = networks
        .insert()
        .set_project(P)
        .set_body(Network::new().set_name("sd-net").set_auto_create_subnetworks(false))
        .poller()
        .until_done()
        .await
        .unwrap();
    assert_eq!(op.operation_type.as_deref(), Some("insert"));
    let e = networks
        .insert()
        .set_project(P)
        .set_body(Network::new().set_name("sd-net").set_auto_create_subnetworks(false))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), (Some(409), format!("The resource 'projects/{P}/global/networks/sd-net' already exists")));

    let subnet = Subnetwork::new()
        .set_name("sd-subnet")
        .set_network(format!("projects/{P}/global/networks/sd-net"))
        .set_ip_cidr_range("10.10.0.0/20")
        .set_secondary_ip_ranges([
            SubnetworkSecondaryRange::new().set_range_name("pods").set_ip_cidr_range("10.20.0.0/14"),
            SubnetworkSecondaryRange::new().set_range_name("services").set_ip_cidr_range("10.30.0.0/20"),
        ]);
    subnets.insert().set_project(P).set_region("us-central1").set_body(subnet).poller().until_done().await.unwrap();
    let got = subnets.get().set_project(P).set_region("us-central1").set_subnetwork("sd-subnet").send().await.unwrap();
    assert_eq!(got.gateway_address.as_deref(), Some("10.10.0.1"));
    assert_eq!(got.secondary_ip_ranges.len(), 2);
    let clash = Subnetwork::new()
        .set_name("clash")
        .set_network(format!("projects/{P}/global/networks/sd-net"))
        .set_ip_cidr_range("10.10.8.0/24");
    let e = subnets.insert().set_project(P).set_region("europe-west1").set_body(clash).send().await.unwrap_err();
    assert!(status(&e).1.contains("conflicts with existing subnetwork 'sd-subnet'"), "{:?}", status(&e));

    // A bare network name is not a URL, as on Google.
    let bad =
        Firewall::new().set_name("bad").set_network("sd-net").set_allowed([Allowed::new().set_ip_protocol("tcp")]);
    let e = firewalls.insert().set_project(P).set_body(bad).send().await.unwrap_err();
    assert_eq!(
        status(&e),
        (Some(400), "Invalid value for field 'resource.network': 'sd-net'. The URL is malformed.".to_string())
    );

    let fw = Firewall::new()
        .set_name("sd-allow-gameservers")
        .set_network(format!("projects/{P}/global/networks/sd-net"))
        .set_description("managed by sdctl, env demo")
        .set_source_ranges(["10.20.0.0/14"])
        .set_allowed([Allowed::new().set_ip_protocol("tcp").set_ports(["7000-8000"])]);
    firewalls.insert().set_project(P).set_body(fw).poller().until_done().await.unwrap();
    let got = firewalls.get().set_project(P).set_firewall("sd-allow-gameservers").send().await.unwrap();
    assert_eq!(got.priority, Some(1000));
    assert_eq!(
        got.network.as_deref(),
        Some(format!("https://www.googleapis.com/compute/v1/projects/{P}/global/networks/sd-net").as_str())
    );

    let router = Router::new()
        .set_name("sd-router")
        .set_network(format!("projects/{P}/global/networks/sd-net"))
        .set_nats([RouterNat::new()
            .set_name("sd-nat")
            .set_nat_ip_allocate_option(NatIpAllocateOption::AutoOnly)
            .set_source_subnetwork_ip_ranges_to_nat(SourceSubnetworkIpRangesToNat::AllSubnetworksAllIpRanges)]);
    routers.insert().set_project(P).set_region("us-central1").set_body(router).poller().until_done().await.unwrap();
    let got = routers.get().set_project(P).set_region("us-central1").set_router("sd-router").send().await.unwrap();
    assert_eq!(got.nats[0].name.as_deref(), Some("sd-nat"));

    // The network is in use by its subnetwork, firewall and router: Google refuses, naming one.
    let e = networks.delete().set_project(P).set_network("sd-net").send().await.unwrap_err();
    let (code, message) = status(&e);
    assert_eq!(code, Some(400));
    assert!(
        message.starts_with(&format!(
            "The network resource 'projects/{P}/global/networks/sd-net' is already being used by 'projects/{P}/"
        )),
        "{message}"
    );
    assert_eq!(e.status().unwrap().details.len(), 1, "the errors[].reason travels as an ErrorInfo");
    assert!(format!("{:?}", e.status().unwrap().details).contains("resourceInUseByAnotherResource"));

    routers
        .delete()
        .set_project(P)
        .set_region("us-central1")
        .set_router("sd-router")
        .poller()
        .until_done()
        .await
        .unwrap();
    firewalls.delete().set_project(P).set_firewall("sd-allow-gameservers").poller().until_done().await.unwrap();
    subnets
        .delete()
        .set_project(P)
        .set_region("us-central1")
        .set_subnetwork("sd-subnet")
        .poller()
        .until_done()
        .await
        .unwrap();
    networks.delete().set_project(P).set_network("sd-net").poller().until_done().await.unwrap();
    let e = networks.get().set_project(P).set_network("sd-net").send().await.unwrap_err();
    assert_eq!(status(&e), (Some(404), format!("The resource 'projects/{P}/global/networks/sd-net' was not found")));
    assert!(resource(&emu, &format!("projects/{P}/global/networks/sd-net")).is_none());

    // Compute requests go to /compute/compute/v1/... and send string enums with $apiVersion.
    let insert = &calls(&emu, "compute.routers.insert")[0];
    assert_eq!(insert["path"], format!("/compute/v1/projects/{P}/regions/us-central1/routers"));
    assert_eq!(insert["body"]["nats"][0]["natIpAllocateOption"], "AUTO_ONLY");
    assert!(insert["query"].get("$apiVersion").is_some());
    assert!(
        !calls(&emu, "compute.globalOperations.get").is_empty()
            || !calls(&emu, "compute.globalOperations.wait").is_empty()
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn compute_addresses_reserve_ips_and_respect_quota() {
    let emu = emulator("quotas: { global: { STATIC_ADDRESSES: 1 } }").await;
    let addresses = client!(emu, GlobalAddresses, "compute");
    let op = addresses.insert().set_project(P).set_body(Address::new().set_name("sd-ip")).send().await.unwrap();
    let reserving = addresses.get().set_project(P).set_address("sd-ip").send().await.unwrap();
    assert_eq!(format!("{:?}", reserving.status), "Some(Reserving)");
    let ops = client!(emu, GlobalOperations, "compute");
    let done = ops.wait().set_project(P).set_operation(op.name.unwrap()).send().await.unwrap();
    assert_eq!(format!("{:?}", done.status), "Some(Done)");
    let reserved = addresses.get().set_project(P).set_address("sd-ip").send().await.unwrap();
    assert_eq!(format!("{:?}", reserved.status), "Some(Reserved)");
    assert!(reserved.address.as_deref().unwrap().starts_with("127.34."), "a loopback address");

    let e = addresses.insert().set_project(P).set_body(Address::new().set_name("second")).send().await.unwrap_err();
    let (code, message) = status(&e);
    assert_eq!(code, Some(403));
    assert_eq!(message, "Quota 'STATIC_ADDRESSES' exceeded. Limit: 1.0 globally.");

    let projects = client!(emu, Projects, "compute");
    let project = projects.get().set_project(P).send().await.unwrap();
    let quota = project.quotas.iter().find(|q| format!("{:?}", q.metric).contains("StaticAddresses")).unwrap();
    assert_eq!((quota.limit, quota.usage), (Some(1.0), Some(1.0)));
    addresses.delete().set_project(P).set_address("sd-ip").poller().until_done().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn compute_catalog_regions_quotas_accelerators_machine_types() {
    let emu = emulator("quotas: { us-central1: { NVIDIA_T4_GPUS: 0, CPUS: 24 }, global: { GPUS_ALL_REGIONS: 1 } }\naccelerators: { us-central1-a: [nvidia-tesla-t4] }").await;
    let regions = client!(emu, Regions, "compute");
    let region = regions.get().set_project(P).set_region("us-central1").send().await.unwrap();
    assert_eq!(region.zones.len(), 4);
    let quota = |metric: &str| {
        region.quotas.iter().find(|q| format!("{:?}", q.metric).contains(metric)).map(|q| (q.limit, q.usage))
    };
    assert_eq!(quota("NvidiaT4Gpus"), Some((Some(0.0), Some(0.0))));
    assert_eq!(quota("Cpus"), Some((Some(24.0), Some(0.0))));
    let e = regions.get().set_project(P).set_region("mars-north1").send().await.unwrap_err();
    assert_eq!(e.http_status_code(), Some(404));
    let projects = client!(emu, Projects, "compute");
    let project = projects.get().set_project(P).send().await.unwrap();
    assert!(
        project.quotas.iter().any(|q| format!("{:?}", q.metric).contains("GpusAllRegions") && q.limit == Some(1.0))
    );

    let accelerators = client!(emu, AcceleratorTypes, "compute");
    let offered = accelerators.list().set_project(P).set_zone("us-central1-a").send().await.unwrap();
    assert_eq!(offered.items.iter().filter_map(|a| a.name.as_deref()).collect::<Vec<_>>(), ["nvidia-tesla-t4"]);
    let e = accelerators
        .get()
        .set_project(P)
        .set_zone("us-central1-a")
        .set_accelerator_type("nvidia-l4")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        status(&e),
        (
            Some(404),
            format!("The resource 'projects/{P}/zones/us-central1-a/acceleratorTypes/nvidia-l4' was not found")
        )
    );
    let elsewhere = accelerators
        .get()
        .set_project(P)
        .set_zone("us-central1-b")
        .set_accelerator_type("nvidia-l4")
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.maximum_cards_per_instance, Some(8));

    let machines = client!(emu, MachineTypes, "compute");
    let custom = machines
        .get()
        .set_project(P)
        .set_zone("us-central1-b")
        .set_machine_type("custom-4-32768-ext")
        .send()
        .await
        .unwrap();
    assert_eq!((custom.guest_cpus, custom.memory_mb), (Some(4), Some(32768)));
    let g2 =
        machines.get().set_project(P).set_zone("us-central1-b").set_machine_type("g2-standard-8").send().await.unwrap();
    assert_eq!(g2.accelerators[0].guest_accelerator_count, Some(1));
    let e = machines
        .get()
        .set_project(P)
        .set_zone("us-central1-a")
        .set_machine_type("g2-standard-8")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(404), "no L4 in that zone, so no G2");
    let e = machines
        .get()
        .set_project(P)
        .set_zone("us-central1-b")
        .set_machine_type("custom-4-32768")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(400), "8 GB per vCPU needs -ext");
    let listed = machines.list().set_project(P).set_zone("us-central1-b").send().await.unwrap();
    assert!(listed.items.iter().any(|m| m.name.as_deref() == Some("e2-standard-4")));
    emu.shutdown().await;
}

/// Instances, disks and serial output (no client feature in sdctl: plain JSON, as on the wire).
#[tokio::test]
async fn compute_instances_boot_and_show_serial_output() {
    let emu = emulator("").await;
    let http = reqwest::Client::new();
    let base = format!("{}/compute/compute/v1/projects/{P}/zones/us-central1-a", emu.url());
    let body = json!({
        "name": "cache-builder",
        "machineType": "zones/us-central1-a/machineTypes/e2-standard-4",
        "disks": [{ "boot": true, "initializeParams": { "sourceImage": "projects/debian-cloud/global/images/family/debian-12", "diskSizeGb": "50" } }],
        "networkInterfaces": [{ "network": "global/networks/default", "accessConfigs": [{ "name": "External NAT" }] }],
        "labels": { "sdctl-env": "demo" },
    });
    let op: Value = http.post(format!("{base}/instances")).json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(op["status"], "RUNNING");
    let got: Value = http.get(format!("{base}/instances/cache-builder")).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["status"], "PROVISIONING");
    let done: Value = http
        .post(format!("{base}/operations/{}/wait", op["name"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "DONE");
    let got: Value = http.get(format!("{base}/instances/cache-builder")).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["status"], "RUNNING");
    let disk: Value = http.get(format!("{base}/disks/cache-builder")).send().await.unwrap().json().await.unwrap();
    assert_eq!(disk["sizeGb"], "50");
    let serial: Value =
        http.get(format!("{base}/instances/cache-builder/serialPort")).send().await.unwrap().json().await.unwrap();
    assert!(serial["contents"].as_str().unwrap().contains("cache-builder login:"));
    // The boot disk is in use while the instance exists.
    let refused = http.delete(format!("{base}/disks/cache-builder")).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let op: Value = http.delete(format!("{base}/instances/cache-builder")).send().await.unwrap().json().await.unwrap();
    http.post(format!("{base}/operations/{}/wait", op["name"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(
        http.get(format!("{base}/disks/cache-builder")).send().await.unwrap().status(),
        404,
        "auto-delete boot disk"
    );

    let gpu = json!({
        "name": "gpu-vm", "machineType": "zones/us-central1-a/machineTypes/e2-standard-4",
        "guestAccelerators": [{ "acceleratorType": "zones/us-central1-a/acceleratorTypes/nvidia-tesla-t4", "acceleratorCount": 1 }],
        "scheduling": { "onHostMaintenance": "TERMINATE" },
        "networkInterfaces": [{ "network": "global/networks/default" }],
    });
    let refused: Value = http.post(format!("{base}/instances")).json(&gpu).send().await.unwrap().json().await.unwrap();
    assert!(
        refused["error"]["message"].as_str().unwrap().contains("not supported with machine type e2-standard-4"),
        "{refused}"
    );
    assert!(refused["error"].get("status").is_none(), "compute errors carry no status, like Google's");
    emu.shutdown().await;
}

/// An image of a disk a VM uses needs `forceCreate` (ansible/ansible#61634 shows the refusal);
/// the image is a copy: its source disk can go afterwards.
#[tokio::test]
async fn compute_images_of_attached_disks_need_force_and_do_not_hold_their_disk() {
    let emu = emulator("").await;
    let http = reqwest::Client::new();
    let zone = format!("{}/compute/compute/v1/projects/{P}/zones/us-central1-a", emu.url());
    let global = format!("{}/compute/compute/v1/projects/{P}/global", emu.url());
    let wait = |op: Value, base: String| {
        let http = http.clone();
        async move {
            let name = op["name"].as_str().unwrap().to_string();
            let done: Value =
                http.post(format!("{base}/operations/{name}/wait")).send().await.unwrap().json().await.unwrap();
            assert_eq!(done["status"], "DONE", "{done}");
            assert!(done.get("error").is_none(), "{done}");
        }
    };
    let op: Value = http
        .post(format!("{zone}/disks"))
        .json(&json!({ "name": "data", "sizeGb": "50", "type": "zones/us-central1-a/diskTypes/pd-balanced" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    wait(op, zone.clone()).await;
    let vm = json!({
        "name": "builder", "machineType": "zones/us-central1-a/machineTypes/e2-standard-4",
        "disks": [
            { "boot": true, "initializeParams": { "sourceImage": "projects/cos-cloud/global/images/family/cos-stable" } },
            { "source": format!("projects/{P}/zones/us-central1-a/disks/data"), "deviceName": "sdctl-image-cache", "autoDelete": false },
        ],
        "networkInterfaces": [{ "network": "global/networks/default" }],
    });
    let op: Value = http.post(format!("{zone}/instances")).json(&vm).send().await.unwrap().json().await.unwrap();
    wait(op, zone.clone()).await;
    let image = json!({ "name": "cache", "sourceDisk": format!("projects/{P}/zones/us-central1-a/disks/data") });
    let refused: Value = http.post(format!("{global}/images")).json(&image).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        refused["error"]["message"],
        format!(
            "The disk resource 'projects/{P}/zones/us-central1-a/disks/data' is already being used by 'projects/{P}/zones/us-central1-a/instances/builder'"
        ),
        "{refused}"
    );
    assert_eq!(refused["error"]["errors"][0]["reason"], "resourceInUseByAnotherResource");
    let forced = http.post(format!("{global}/images?forceCreate=true")).json(&image.clone()).send().await.unwrap();
    assert_eq!(forced.status(), 200);
    wait(forced.json().await.unwrap(), global.clone()).await;
    // setDiskAutoDelete needs both its parameters.
    let refused =
        http.post(format!("{zone}/instances/builder/setDiskAutoDelete?autoDelete=true")).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("Required parameter: deviceName"));
    // Once the VM is gone (the data disk is not auto-deleted), the disk goes although the image
    // was made from it, and the image stays.
    let op: Value = http.delete(format!("{zone}/instances/builder")).send().await.unwrap().json().await.unwrap();
    wait(op, zone.clone()).await;
    let op: Value = http.delete(format!("{zone}/disks/data")).send().await.unwrap().json().await.unwrap();
    wait(op, zone.clone()).await;
    let kept: Value = http.get(format!("{global}/images/cache")).send().await.unwrap().json().await.unwrap();
    assert_eq!(kept["status"], "READY", "{kept}");
    emu.shutdown().await;
}
