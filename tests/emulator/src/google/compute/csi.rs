//! GKE's Persistent Disk CSI driver as Compute Engine sees it: a volume of a cluster is a zonal
//! disk named after its PersistentVolume, with the StorageClass's `labels` parameter
//! (`key1=value1,key2=value2`, kubernetes-sigs/gcp-compute-persistent-disk-csi-driver
//! pkg/common/parameters.go). It is deleted with its volume and outlives a cluster deleted
//! before its claims.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{BASE, kinds};
use crate::app::App;
use crate::clock::now_rfc3339;
use crate::k8s::DiskRequest;

pub fn create_disk(app: &Arc<App>, cluster: &str, disk: &DiskRequest) -> Result<String, String> {
    let mut world = app.world();
    let info = crate::google::container::cluster_info(&world, cluster)
        .ok_or_else(|| format!("cluster {cluster} not found"))?;
    let zone = if disk.zone.is_empty() { info.zone.clone() } else { disk.zone.clone() };
    let key = format!("projects/{}/zones/{zone}/disks/{}", info.project, disk.name);
    let mut labels = Map::new();
    for pair in disk.labels.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("parameters.labels: {pair:?} is not key=value"))?;
        labels.insert(k.trim().to_string(), json!(v.trim()));
    }
    if !world.compute.resources.contains_key(&key) {
        let value = json!({
            "kind": "compute#disk",
            "id": app.numeric_id(),
            "name": disk.name,
            "sizeGb": disk.size_gb.to_string(),
            "type": format!("{BASE}projects/{}/zones/{zone}/diskTypes/{}", info.project, disk.disk_type),
            "zone": format!("{BASE}projects/{}/zones/{zone}", info.project),
            "status": "READY",
            "labels": Value::Object(labels),
            "creationTimestamp": now_rfc3339(),
            "selfLink": format!("{BASE}{key}"),
        });
        world.compute.insert_ready("Disk", key.clone(), value, false);
    }
    Ok(key)
}

pub fn delete_disk(app: &Arc<App>, handle: &str) {
    let mut world = app.world();
    kinds::remove(&mut world, handle);
}
