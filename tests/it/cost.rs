//! `sdctl cost` for both examples against a hand calculation from the published prices
//! (us-central1, as recorded in `src/cost/prices.rs`), and the cost line of `plan`.

use serde_json::Value;

use crate::support::world::World;
use crate::support::{example_with, run};

const MONTH: f64 = 730.0;

fn cost(example: &str) -> Value {
    let config = example_with(example, &[]);
    let r = run(&["cost", "--offline", "-c", config.arg(), "-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

fn close(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what} is not a number: {got}"));
    assert!((got - want).abs() < 0.006, "{what}: sdctl says {got}, the hand calculation {want}");
}

#[test]
fn t4_filestore_example_matches_the_hand_calculation() {
    let doc = cost("sd-agones-t4.yaml");
    // Per hour, USD.
    let fee = 0.10;
    let system = 4.0 * 0.021811 + 16.0 * 0.002923; // e2-standard-4
    let disk100 = 100.0 * 0.10 / MONTH; // pd-balanced
    // custom-4-32768-ext: 4 vCPUs, 26 GB standard (6.5 per vCPU) + 6 GB extended memory, + a T4.
    let gpu_node = 4.0 * 0.033174 + 26.0 * 0.004446 + 6.0 * 0.009550 + 0.35;
    let ip = 0.005; // every node of a public cluster
    let filestore = 1024.0 * 0.20 / MONTH; // BASIC_HDD
    let redis = 1.0 * 0.064; // STANDARD_HA, 1 GB
    let lb = 0.025;
    let registry = (15.0 - 0.5) * 0.10 / MONTH;
    let fixed = fee + system + disk100 + ip + filestore + redis + lb + registry;
    let per_gpu_node = gpu_node + disk100 + ip;
    // Idle: the one warm buffer pod's node. Full load: 3 users on 3 nodes.
    let idle = fixed + per_gpu_node;
    let full = fixed + 3.0 * per_gpu_node;
    close(&doc["idlePerHour"], idle, "idlePerHour");
    close(&doc["fullLoadPerHour"], full, "fullLoadPerHour");
    close(&doc["idlePerMonth"], idle * MONTH, "idlePerMonth");
    close(&doc["fullLoadPerMonth"], full * MONTH, "fullLoadPerMonth");
    assert_eq!(doc["currency"], "USD");
    assert_eq!((doc["idleGpuNodes"].as_u64(), doc["fullLoadGpuNodes"].as_u64()), (Some(1), Some(3)));
    // ~ $1.30/hour idle, $2.65/hour at full load.
    assert_eq!(format!("{idle:.2}/{full:.2}"), "1.30/2.65");
    let items = doc["items"].as_array().unwrap();
    let sum: f64 = items.iter().map(|i| i["fullLoadPerHour"].as_f64().unwrap()).sum();
    close(&doc["fullLoadPerHour"], sum, "sum of the items");
    for item in items {
        let source = item["source"].as_str().unwrap();
        assert!(source.starts_with("https://cloud.google.com/") && source.contains("(us-central1, 2026-11)"), "{item}");
    }
}

#[test]
fn l4_gcs_regional_private_spot_example_matches_the_hand_calculation() {
    let doc = cost("sd-agones-l4-gcs.yaml");
    let fee = 0.10;
    let system = 2.0 * (4.0 * 0.021811 + 16.0 * 0.002923); // 1 e2-standard-4 per zone x 2 zones
    let system_disks = 2.0 * 100.0 * 0.10 / MONTH;
    // g2-standard-8 on spot: its vCPUs and memory at 40% of on-demand, and the L4's spot price.
    let gpu_node = (8.0 * 0.024988 + 32.0 * 0.002928) * 0.40 + 0.2231;
    let gpu_disk = 200.0 * 0.10 / MONTH; // GCS-Fuse buffers on a 200 GB disk
    // Private: Cloud NAT per VM (system + GPU nodes) and its address; no node IPs.
    let nat = |gpu_nodes: f64| 0.0014 * (2.0 + gpu_nodes) + 0.005;
    let bucket = 50.0 * 0.020 / MONTH; // assumed 50 GB in a regional bucket
    let redis = 1.0 * 0.049; // BASIC, 1 GB
    let lb = 0.025;
    let registry = (15.0 - 0.5) * 0.10 / MONTH;
    let fixed = fee + system + system_disks + bucket + redis + lb + registry;
    let idle = fixed + 1.0 * (gpu_node + gpu_disk) + nat(1.0);
    let full = fixed + 4.0 * (gpu_node + gpu_disk) + nat(4.0);
    close(&doc["idlePerHour"], idle, "idlePerHour");
    close(&doc["fullLoadPerHour"], full, "fullLoadPerHour");
    close(&doc["idlePerMonth"], idle * MONTH, "idlePerMonth");
    close(&doc["fullLoadPerMonth"], full * MONTH, "fullLoadPerMonth");
    assert_eq!(format!("{idle:.2}/{full:.2}"), "0.85/1.96");
    let notes = doc["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("spot prices change")), "{notes:?}");
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("Cloud NAT also charges per GiB")), "{notes:?}");
}

#[test]
fn the_human_table_and_the_plan_say_it_too() {
    let r = run(&["cost", "--offline", "-c", "examples/sd-agones-t4.yaml"]);
    assert_eq!(r.code, 0, "{r:?}");
    for needle in [
        "GPU nodes: 1 idle / 3 at full load x custom-4-32768-ext + 1 x nvidia-tesla-t4",
        "total per month (730 hours)",
        "Full load: 3 users on 3 GPU node(s).",
    ] {
        assert!(r.stdout.contains(needle), "lacks {needle:?}:\n{}", r.stdout);
    }
    let plan = run(&["plan", "--offline", "-c", "examples/sd-agones-t4.yaml"]);
    assert!(plan.stdout.contains("Estimated cost: $1.30/hour idle, $2.65/hour at full load"), "{}", plan.stdout);
    let plan = run(&["plan", "--offline", "-o", "json", "-c", "examples/sd-agones-t4.yaml"]);
    let event = &plan.json_lines()[0];
    assert_eq!(event["cost"]["fullLoadPerHour"], 2.6471);
    // A config that does not validate is a usage error, not an estimate.
    let bad = example_with("sd-agones-t4.yaml", &[("type: t4", "type: a100")]);
    let r = run(&["cost", "--offline", "-c", bad.arg()]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn the_image_cache_adds_a_disk_per_gpu_node_and_the_image() {
    let plain = cost("sd-agones-t4.yaml");
    let config = example_with(
        "sd-agones-t4.yaml",
        &[("  imageStreaming: true\n", "  imageStreaming: true\n  imageCache: true\n")],
    );
    let r = run(&["cost", "--offline", "-c", config.arg(), "-o", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let cached: Value = serde_json::from_str(&r.stdout).unwrap();
    // 50 GB pd-balanced on each GPU node (1 idle, 3 at full load) and a 50 GB image.
    let disk = 50.0 * 0.10 / MONTH;
    let image = 50.0 * 0.05 / MONTH;
    let delta = |key: &str| cached[key].as_f64().unwrap() - plain[key].as_f64().unwrap();
    close(&serde_json::json!(delta("idlePerHour")), disk + image, "idle difference");
    close(&serde_json::json!(delta("fullLoadPerHour")), 3.0 * disk + image, "full-load difference");
    let items = cached["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["item"].as_str().unwrap().starts_with("image cache disks: 50 GB")), "{items:?}");
    assert!(items.iter().any(|i| i["source"].as_str().unwrap().contains("disks-image-pricing")), "{items:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_ladder_costs_each_rung_and_the_cap_judges_the_dearest() {
    let r = run(&["cost", "--offline", "-o", "json", "-c", "examples/sd-agones-ladder.yaml"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rungs = doc["rungs"].as_array().unwrap();
    let gpus: Vec<&str> = rungs.iter().map(|r| r["gpu"].as_str().unwrap()).collect();
    assert_eq!(gpus, ["t4 spot on custom-4-32768-ext", "t4 on custom-4-32768-ext", "l4 on g2-standard-8"]);
    let price = |i: usize| rungs[i]["perNodeHour"].as_f64().unwrap();
    assert!(price(0) < price(1) && price(1) < price(2), "spot T4 < T4 < L4: {doc}");
    // The L4 rung holds at most 2 nodes. At its dearest, the 3 users run on both L4 nodes and
    // one on-demand T4: the primary's 3 spot T4 node-hours replaced by those.
    assert_eq!(rungs[2]["fullLoadNodes"], 2);
    let worst = doc["worstFullLoadPerHour"].as_f64().unwrap();
    let full = doc["fullLoadPerHour"].as_f64().unwrap();
    let want = full - 3.0 * price(0) + 2.0 * price(2) + price(1);
    assert!((worst - want).abs() < 0.001, "{worst} != {want}: {doc}");
    assert!(rungs.iter().all(|r| worst > r["fullLoadPerHour"].as_f64().unwrap()), "{doc}");
    // --max-hourly-cost judges the dearest mix: a cap above every single rung's full load but
    // below the mix is refused.
    let single = rungs.iter().map(|r| r["fullLoadPerHour"].as_f64().unwrap()).fold(0.0, f64::max);
    let cap = format!("{:.2}", (single + worst) / 2.0);
    let world = crate::support::world::World::start().await;
    let config = crate::support::example_with("sd-agones-ladder.yaml", &[]);
    let up = world.sdctl(&["up", "-c", config.arg(), "--skip-preflight", "--max-hourly-cost", &cap]).await;
    assert_eq!(up.code, 3, "{up:?}");
    assert!(
        up.stderr.contains("2 x rung 2 (l4 on g2-standard-8) + 1 x rung 1 (t4 on custom-4-32768-ext)")
            && up.stderr.contains("above --max-hourly-cost"),
        "{}",
        up.stderr
    );
    assert!(world.mutating_since(0).is_empty());
}

fn item<'a>(doc: &'a Value, starts: &str) -> &'a Value {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["item"].as_str().unwrap().starts_with(starts))
        .unwrap_or_else(|| panic!("no item {starts:?}: {doc}"))
}

async fn world_cost(world: &World, config: &str) -> Value {
    let r = world.sdctl(&["cost", "-o", "json", "-c", config]).await;
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_reads_the_regions_prices_from_the_billing_catalog_once_a_day() {
    let world = World::start().await;
    // us-central1: the catalog holds the table's list prices, so the estimate is the table's:
    // none of its traps (a commitment, a reserved T4 at $0, the regional disk whose name holds
    // the zonal one's, an address's free first tier) was taken.
    let doc = world_cost(&world, "examples/sd-agones-t4.yaml").await;
    assert_eq!(doc["prices"]["source"], "cloudBillingCatalog", "{doc}");
    assert_eq!(doc["prices"]["region"], "us-central1");
    let table = cost("sd-agones-t4.yaml");
    assert_eq!(table["prices"]["source"], "builtIn");
    for total in ["idlePerHour", "fullLoadPerHour"] {
        close(&doc[total], table[total].as_f64().unwrap(), total);
    }
    let gpu = item(&doc, "GPU nodes")["source"].as_str().unwrap().to_string();
    for sku in [
        "Custom Instance Core running in Americas",
        "Custom Extended Instance Ram",
        "Nvidia Tesla T4 GPU running in Americas",
    ] {
        assert!(gpu.starts_with("Cloud Billing Catalog (us-central1, 20") && gpu.contains(sku), "{sku} not in {gpu}");
    }
    assert!(item(&doc, "system node disks")["source"].as_str().unwrap().contains("): Balanced PD Capacity (SKU"));
    // What the catalog is not read for says where its price comes from.
    assert!(item(&doc, "Artifact Registry")["source"].as_str().unwrap().contains("artifact-registry/pricing"));
    // The five services, in USD, every page; a second run within the day reads nothing.
    let lists = world.requests_of("cloudbilling.services.skus.list");
    let mut services: Vec<&str> = lists.iter().map(|r| r["path"].as_str().unwrap()).collect();
    services.sort();
    assert_eq!(services.len(), 5, "{services:?}");
    assert!(lists.iter().all(|r| r["query"]["currencyCode"] == "USD"), "{lists:?}");
    world_cost(&world, "examples/sd-agones-t4.yaml").await;
    assert_eq!(world.requests_of("cloudbilling.services.skus.list").len(), 5, "the prices were cached");
    // `plan` prices the same way, and says so in its event.
    let plan = world.sdctl(&["plan", "-o", "json", "-c", "examples/sd-agones-t4.yaml"]).await;
    let event = plan.json_lines().into_iter().find(|e| e["event"] == "plan").expect("a plan event");
    assert_eq!(event["cost"]["priceSource"], "cloudBillingCatalog", "{event}");
    assert_eq!(event["cost"]["pricedRegion"], "us-central1");
    assert_eq!(world.requests_of("cloudbilling.services.skus.list").len(), 5, "plan read the cached prices");

    // Another region: its own SKUs (the emulator prices europe-west4 at 1.1x us-central1).
    let eu = example_with(
        "sd-agones-t4.yaml",
        &[("region: us-central1", "region: europe-west4"), ("zones: [us-central1-a]", "zones: [europe-west4-b]")],
    );
    let doc = world_cost(&world, eu.arg()).await;
    assert_eq!(
        (doc["prices"]["region"].as_str(), doc["pricedRegion"].as_str()),
        (Some("europe-west4"), Some("europe-west4"))
    );
    let us_node = item(&table, "GPU nodes")["fullLoadPerHour"].as_f64().unwrap();
    close(&item(&doc, "GPU nodes")["fullLoadPerHour"], us_node * 1.1, "europe-west4's GPU nodes");
    assert!(
        item(&doc, "Filestore")["source"]
            .as_str()
            .unwrap()
            .contains("Filestore Capacity Basic HDD (Standard) Netherlands")
    );
    assert!(
        item(&doc, "Memorystore Redis")["source"].as_str().unwrap().contains("Redis Capacity Standard M1 Netherlands")
    );
    // --offline: sdctl's table, which says it is not europe-west4's.
    let r = world.sdctl(&["cost", "--offline", "-c", eu.arg()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("prices: sdctl's built-in us-central1 list prices of 2026-11, not europe-west4's: --offline"),
        "{}",
        r.stdout
    );
    assert_eq!(world.requests_of("cloudbilling.services.skus.list").len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_catalog_cost_uses_the_table_and_says_why() {
    let world = World::with_scenario("faults: [{method: cloudbilling.services.skus.list, status: 403}]").await;
    let doc = world_cost(&world, "examples/sd-agones-t4.yaml").await;
    assert_eq!(doc["prices"]["source"], "builtIn", "{doc}");
    assert_eq!(doc["pricedRegion"], "us-central1");
    let why = doc["prices"]["why"].as_str().unwrap();
    assert!(why.contains("the Cloud Billing Catalog could not be read"), "{why}");
    close(
        &doc["fullLoadPerHour"],
        cost("sd-agones-t4.yaml")["fullLoadPerHour"].as_f64().unwrap(),
        "the table's estimate",
    );
    // The plan's cost line says which prices it used.
    let plan = world.sdctl(&["plan", "-c", "examples/sd-agones-t4.yaml"]).await;
    assert!(plan.stdout.contains("us-central1 list prices from sdctl's table"), "{}", plan.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_whose_skus_cannot_be_read_leaves_only_its_prices_to_the_table() {
    // Memorystore's SKUs refused; Compute's, GKE's, Filestore's and Networking's read.
    let world = World::with_scenario(
        "faults: [{method: cloudbilling.services.skus.list, path: services/5AF5-2C11-D467/, status: 403}]",
    )
    .await;
    let doc = world_cost(&world, "examples/sd-agones-t4.yaml").await;
    assert_eq!(doc["prices"]["source"], "cloudBillingCatalog", "{doc}");
    let unread = doc["prices"]["unread"].as_array().unwrap();
    assert!(unread.len() == 1 && unread[0].as_str().unwrap().contains("5AF5-2C11-D467"), "{unread:?}");
    assert!(item(&doc, "Memorystore Redis")["source"].as_str().unwrap().contains("memorystore/docs/redis/pricing"));
    assert!(item(&doc, "Filestore")["source"].as_str().unwrap().contains("Cloud Billing Catalog (us-central1"));
    // Kept for this run only: the next one reads the catalog again.
    world_cost(&world, "examples/sd-agones-t4.yaml").await;
    assert_eq!(world.requests_of("cloudbilling.services.skus.list").len(), 10);
}
