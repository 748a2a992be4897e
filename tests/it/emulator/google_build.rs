//! Artifact Registry, Cloud Build and IAP through the official clients: a repository, a build
//! that pushes an image there (and one that fails), the build log read through storage, and IAP
//! policies on an Ingress's backend service.

use google_cloud_artifactregistry_v1::client::ArtifactRegistry;
use google_cloud_artifactregistry_v1::model::{Repository, repository::Format};
use google_cloud_build_v1::client::CloudBuild;
use google_cloud_build_v1::model::{
    Build, BuildOptions, BuildStep, Source, StorageSource, build::Status, build_options::MachineType,
};
use google_cloud_iap_v1::client::IdentityAwareProxyAdminService;
use google_cloud_lro::Poller;
use sdctl_emulator::k8s::LoadBalancerRequest;

use super::google_support::{calls, client, emulator, status};

const REPO: &str = "projects/p1/locations/us-central1/repositories/sd-images";
const IMAGE: &str = "us-central1-docker.pkg.dev/p1/sd-images/runtime:v1";
const WEBUI: &str = "us-central1-docker.pkg.dev/p1/sd-images/sd-webui:v1";

fn build(image: &str) -> Build {
    Build::new()
        .set_steps([BuildStep::new().set_name("gcr.io/cloud-builders/docker").set_args(["build", "-t", image, "."])])
        .set_images([image])
        .set_options(BuildOptions::new().set_machine_type(MachineType::E2Highcpu8))
}

#[tokio::test]
async fn a_build_pushes_its_image_to_the_repository_and_logs_to_storage() {
    let emu = emulator("").await;
    let registry = client!(emu, ArtifactRegistry, "artifactregistry");
    let builds = client!(emu, CloudBuild, "cloudbuild");

    // Before the repository exists, the push fails the build (as Docker would).
    let e = builds.create_build().set_project_id("p1").set_build(build(IMAGE)).poller().until_done().await.unwrap_err();
    assert!(format!("{e}").contains("Build failed"), "{e}");
    let failed = builds.list_builds().set_project_id("p1").send().await.unwrap().builds;
    assert_eq!(failed[0].status, Status::Failure);
    assert!(failed[0].status_detail.contains("Repository \"sd-images\" not found"), "{}", failed[0].status_detail);

    let repo = registry
        .create_repository()
        .set_parent("projects/p1/locations/us-central1")
        .set_repository_id("sd-images")
        .set_repository(Repository::new().set_format(Format::Docker).set_labels([("sdctl-env", "demo")]))
        .poller()
        .until_done()
        .await
        .unwrap();
    assert_eq!(repo.name, REPO);
    // The repository's IAM policy (a custom method on the repository, read-modify-written).
    let policy = registry.get_iam_policy().set_resource(REPO).send().await.unwrap();
    let reader = google_cloud_iam_v1::model::Binding::new()
        .set_role("roles/artifactregistry.reader")
        .set_members(["user:alice@example.com"]);
    let stored = registry
        .set_iam_policy()
        .set_resource(REPO)
        .set_policy(policy.clone().set_bindings([reader.clone()]))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.bindings[0].role, "roles/artifactregistry.reader");
    let e = registry
        .set_iam_policy()
        .set_resource(REPO)
        .set_policy(policy.set_bindings([reader]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(409), "stale etag");
    assert_eq!(repo.format, Format::Docker);
    let e = registry
        .create_repository()
        .set_parent("projects/p1/locations/us-central1")
        .set_repository_id("sd-images")
        .set_repository(Repository::new().set_format(Format::Docker))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(409));

    // The WebUI image takes 15 simulated minutes: more than the default 10-minute timeout.
    let op = builds.create_build().set_project_id("p1").set_build(build(WEBUI)).send().await.unwrap();
    let running = builds.list_builds().set_project_id("p1").send().await.unwrap().builds;
    assert_eq!(running[0].status, Status::Queued);
    assert!(op.name.starts_with("operations/build/p1/"));
    let e = builds.create_build().set_project_id("p1").set_build(build(WEBUI)).poller().until_done().await.unwrap_err();
    assert!(format!("{e}").contains("Build timeout"), "{e}");

    // A small image: QUEUED, WORKING, then SUCCESS after a simulated minute.
    let done = builds.create_build().set_project_id("p1").set_build(build(IMAGE)).poller().until_done().await.unwrap();
    assert_eq!(done.status, Status::Success);
    assert_eq!(done.results.as_ref().unwrap().images[0].name, IMAGE);
    let digest = done.results.as_ref().unwrap().images[0].digest.clone();
    assert!(digest.starts_with("sha256:"));
    assert!(done.log_url.contains(&done.id));

    let images = registry.list_docker_images().set_parent(REPO).send().await.unwrap().docker_images;
    let tagged: Vec<_> = images.iter().filter(|i| i.tags.contains(&"v1".to_string())).collect();
    assert_eq!(tagged.len(), 1, "the tag moved to the newest push");
    assert!(tagged[0].uri.ends_with(&digest));

    // The log is an object in the logs bucket, read with the storage JSON API.
    let bucket = done.logs_bucket.trim_start_matches("gs://").to_string();
    let url = format!("{}/storage/storage/v1/b/{bucket}/o/log-{}.txt?alt=media", emu.url(), done.id);
    let log = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert!(
        log.contains(&format!("starting build \"{}\"", done.id))
            && log.contains(&format!("Pushing {IMAGE}"))
            && log.trim_end().ends_with("DONE"),
        "{log}"
    );

    registry.delete_repository().set_name(REPO).poller().until_done().await.unwrap();
    let e = registry.get_repository().set_name(REPO).send().await.unwrap_err();
    assert_eq!(status(&e), (Some(404), "Requested entity was not found.".to_string()));
    emu.shutdown().await;
}

#[tokio::test]
async fn scenario_failures_missing_sources_and_cancel() {
    let emu = emulator("buildFailures: [ { image: runtime, message: \"pip install failed\", times: 1 } ]\nlatency: { cloudbuild.projects.builds.create: 500 }").await;
    let registry = client!(emu, ArtifactRegistry, "artifactregistry");
    registry
        .create_repository()
        .set_parent("projects/p1/locations/us-central1")
        .set_repository_id("sd-images")
        .set_repository(Repository::new().set_format(Format::Docker))
        .poller()
        .until_done()
        .await
        .unwrap();
    let builds = client!(emu, CloudBuild, "cloudbuild");
    builds.create_build().set_project_id("p1").set_build(build(IMAGE)).poller().until_done().await.unwrap_err();
    let failed = &builds.list_builds().set_project_id("p1").send().await.unwrap().builds[0];
    assert_eq!((&failed.status, failed.status_detail.as_str()), (&Status::Failure, "pip install failed"));
    let retried =
        builds.create_build().set_project_id("p1").set_build(build(IMAGE)).poller().until_done().await.unwrap();
    assert_eq!(retried.status, Status::Success, "the scenario fails only the first build");

    let from_gcs = build("us-central1-docker.pkg.dev/p1/sd-images/runtime:v1").set_source(
        Source::new().set_storage_source(StorageSource::new().set_bucket("p1-sdctl-builds").set_object("runtime.tgz")),
    );
    builds.create_build().set_project_id("p1").set_build(from_gcs).poller().until_done().await.unwrap_err();
    let missing = &builds.list_builds().set_project_id("p1").send().await.unwrap().builds[0];
    assert!(missing.status_detail.contains("gs://p1-sdctl-builds/runtime.tgz"), "{}", missing.status_detail);

    let op = builds.create_build().set_project_id("p1").set_build(build(IMAGE)).send().await.unwrap();
    let id = builds.list_builds().set_project_id("p1").send().await.unwrap().builds[0].id.clone();
    let cancelled = builds.cancel_build().set_project_id("p1").set_id(&id).send().await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    assert!(!op.name.is_empty());
    assert_eq!(calls(&emu, "cloudbuild.projects.builds.cancel")[0]["status"], 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn iap_policy_on_the_ingress_backend_service() {
    let emu = emulator("").await;
    let host = emu.host();
    // A backend service made by the Ingress controller for a cluster.
    let gke = client!(emu, google_cloud_container_v1::client::ClusterManager, "container");
    gke.create_cluster()
        .set_parent("projects/p1/locations/us-central1-a")
        .set_cluster(google_cloud_container_v1::model::Cluster::new().set_name("sd").set_node_pools([
            google_cloud_container_v1::model::NodePool::new().set_name("default-pool").set_initial_node_count(1),
        ]))
        .send()
        .await
        .unwrap();
    super::google_support::eventually("cluster running", || !host.node_pools("sd").is_empty()).await;
    let lb = host.create_load_balancer(
        "sd",
        &LoadBalancerRequest {
            namespace: "sd".into(),
            ingress: "webui".into(),
            static_ip_name: None,
            backends: vec!["sd/router:80".into()],
            iap: true,
            iap_client_id: String::new(),
        },
    );
    let iap = client!(emu, IdentityAwareProxyAdminService, "iap");
    let resource = format!("projects/p1/iap_web/compute/services/{}", lb.backend_services[0]);
    let policy = iap.get_iam_policy().set_resource(&resource).send().await.unwrap();
    let binding = google_cloud_iam_v1::model::Binding::new()
        .set_role("roles/iap.httpsResourceAccessor")
        .set_members(["user:alice@example.com"]);
    let stored = iap
        .set_iam_policy()
        .set_resource(&resource)
        .set_policy(policy.clone().set_bindings([binding.clone()]))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.bindings[0].members, ["user:alice@example.com"]);
    let e = iap
        .set_iam_policy()
        .set_resource(&resource)
        .set_policy(policy.set_bindings([binding]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.http_status_code(), Some(409), "stale etag");
    let e = iap.get_iam_policy().set_resource("projects/p1/iap_web/compute/services/nope").send().await.unwrap_err();
    assert_eq!(e.http_status_code(), Some(404));
    emu.shutdown().await;
}
