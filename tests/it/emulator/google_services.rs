//! Service Usage, Resource Manager, IAM, Cloud Billing and Org Policy through the official
//! clients: disabled APIs, enabling them, IAM read-modify-write with etags, denied permissions,
//! and request validation against the Discovery documents.

use google_cloud_api_serviceusage_v1::client::ServiceUsage;
use google_cloud_billing_v1::client::CloudBilling;
use google_cloud_container_v1::client::ClusterManager;
use google_cloud_iam_admin_v1::client::Iam;
use google_cloud_lro::Poller;
use google_cloud_orgpolicy_v2::client::OrgPolicy;
use google_cloud_resourcemanager_v3::client::Projects;
use serde_json::Value;

use super::google_support::{calls, client, discovery_dir, emulator, status};

#[tokio::test]
async fn disabled_api_answers_service_disabled_until_enabled() {
    let emu = emulator("disabledApis: [container.googleapis.com, file.googleapis.com]").await;
    let gke = client!(emu, ClusterManager, "container");
    let e = gke.list_clusters().set_parent("projects/p1/locations/-").send().await.unwrap_err();
    let (code, message) = status(&e);
    assert_eq!(code, Some(403));
    assert!(
        message.starts_with("Kubernetes Engine API has not been used in project")
            && message.contains("container.googleapis.com"),
        "{message}"
    );
    let details = format!("{:?}", e.status().unwrap().details);
    assert!(details.contains("SERVICE_DISABLED"), "{details}");

    let usage = client!(emu, ServiceUsage, "serviceusage");
    let service = usage.get_service().set_name("projects/p1/services/container.googleapis.com").send().await.unwrap();
    assert_eq!(format!("{:?}", service.state), "Disabled");
    let enabled = usage.list_services().set_parent("projects/p1").set_filter("state:ENABLED").send().await.unwrap();
    assert!(enabled.services.iter().all(|s| !s.name.ends_with("/container.googleapis.com")));
    assert!(enabled.services.iter().any(|s| s.name.ends_with("/compute.googleapis.com")));

    let response = usage
        .batch_enable_services()
        .set_parent("projects/p1")
        .set_service_ids(["container.googleapis.com", "file.googleapis.com"])
        .poller()
        .until_done()
        .await
        .unwrap();
    assert_eq!(response.services.len(), 2);
    gke.list_clusters().set_parent("projects/p1/locations/-").send().await.unwrap();
    // Enabling what is enabled finishes at once.
    usage
        .enable_service()
        .set_name("projects/p1/services/container.googleapis.com")
        .poller()
        .until_done()
        .await
        .unwrap();
    let e = usage.enable_service().set_name("projects/p1/services/contianer.googleapis.com").send().await.unwrap_err();
    assert_eq!(
        status(&e),
        (Some(403), "Not found or permission denied for service(s): contianer.googleapis.com.".to_string())
    );
    assert_eq!(calls(&emu, "serviceusage.services.batchEnable").len(), 1);
    assert!(
        emu.state()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "ApiService" && r["name"] == "projects/p1/services/container.googleapis.com")
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn project_iam_policy_is_read_modify_written_with_etags() {
    let emu = emulator("").await;
    let projects = client!(emu, Projects, "cloudresourcemanager");
    let iam = client!(emu, Iam, "iam");
    let project = projects.get_project().set_name("projects/p1").send().await.unwrap();
    assert_eq!(project.project_id, "p1");
    let number = project.name.trim_start_matches("projects/").to_string();
    assert!(number.len() == 12 && number.chars().all(|c| c.is_ascii_digit()), "{number}");
    assert_eq!(
        projects.get_project().set_name(format!("projects/{number}")).send().await.unwrap().project_id,
        "p1",
        "stable number"
    );

    let policy = projects.get_iam_policy().set_resource("projects/p1").send().await.unwrap();
    assert!(!policy.etag.is_empty());
    let member = "serviceAccount:sdctl-nodes@p1.iam.gserviceaccount.com";
    let binding = google_cloud_iam_v1::model::Binding::new().set_role("roles/logging.logWriter").set_members([member]);
    let mut wanted = policy.clone();
    wanted.bindings.push(binding);

    // The service account must exist first (a classic race for tools that create then bind).
    let e = projects.set_iam_policy().set_resource("projects/p1").set_policy(wanted.clone()).send().await.unwrap_err();
    assert_eq!(
        status(&e),
        (Some(400), "Service account sdctl-nodes@p1.iam.gserviceaccount.com does not exist.".to_string())
    );
    let sa = iam
        .create_service_account()
        .set_name("projects/p1")
        .set_account_id("sdctl-nodes")
        .set_service_account(
            google_cloud_iam_admin_v1::model::ServiceAccount::new().set_display_name("sdctl GKE nodes"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sa.email, "sdctl-nodes@p1.iam.gserviceaccount.com");
    assert_eq!(sa.unique_id.len(), 21);
    let e =
        iam.create_service_account().set_name("projects/p1").set_account_id("sdctl-nodes").send().await.unwrap_err();
    assert_eq!(e.http_status_code(), Some(409));

    let stored = projects.set_iam_policy().set_resource("projects/p1").set_policy(wanted.clone()).send().await.unwrap();
    assert_ne!(stored.etag, policy.etag);
    // A writer holding the old etag loses, with Google's words.
    let e = projects.set_iam_policy().set_resource("projects/p1").set_policy(wanted).send().await.unwrap_err();
    let (code, message) = status(&e);
    assert_eq!(code, Some(409));
    assert!(message.starts_with("There were concurrent policy changes."), "{message}");
    assert_eq!(format!("{:?}", e.status().unwrap().code), "Aborted");

    let got =
        iam.get_service_account().set_name(format!("projects/p1/serviceAccounts/{}", sa.email)).send().await.unwrap();
    assert_eq!(got.display_name, "sdctl GKE nodes");
    let listed = iam.list_service_accounts().set_name("projects/p1").send().await.unwrap();
    assert_eq!(listed.accounts.len(), 1);
    iam.delete_service_account().set_name(format!("projects/p1/serviceAccounts/{}", sa.email)).send().await.unwrap();
    let e = iam
        .get_service_account()
        .set_name(format!("projects/p1/serviceAccounts/{}", sa.email))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&e), (Some(404), "Unknown service account".to_string()));
    emu.shutdown().await;
}

#[tokio::test]
async fn denied_permissions_billing_and_org_policies_come_from_the_scenario() {
    let emu = emulator(
        "permissionsDenied: [container.clusters.create]\nbillingEnabled: false\norgPolicies: { compute.vmExternalIpAccess: deny, iam.disableServiceAccountKeyCreation: deny }\nprojectNumber: \"123456789012\"",
    )
    .await;
    let projects = client!(emu, Projects, "cloudresourcemanager");
    let granted = projects
        .test_iam_permissions()
        .set_resource("projects/p1")
        .set_permissions(["container.clusters.create", "compute.networks.create"])
        .send()
        .await
        .unwrap();
    assert_eq!(granted.permissions, ["compute.networks.create"]);
    let gke = client!(emu, ClusterManager, "container");
    let e = gke
        .create_cluster()
        .set_parent("projects/p1/locations/us-central1-a")
        .set_cluster(google_cloud_container_v1::model::Cluster::new().set_name("c").set_node_pools([
            google_cloud_container_v1::model::NodePool::new().set_name("default-pool").set_initial_node_count(1),
        ]))
        .send()
        .await
        .unwrap_err();
    let (code, message) = status(&e);
    assert_eq!(code, Some(403));
    assert!(message.starts_with("Permission 'container.clusters.create' denied on resource"), "{message}");
    assert!(format!("{:?}", e.status().unwrap().details).contains("IAM_PERMISSION_DENIED"));

    let billing = client!(emu, CloudBilling, "cloudbilling");
    let info = billing.get_project_billing_info().set_name("projects/p1").send().await.unwrap();
    assert!(!info.billing_enabled);

    let org = client!(emu, OrgPolicy, "orgpolicy");
    let ip =
        org.get_effective_policy().set_name("projects/p1/policies/compute.vmExternalIpAccess").send().await.unwrap();
    assert_eq!(ip.name, "projects/123456789012/policies/compute.vmExternalIpAccess");
    let rule = &ip.spec.as_ref().unwrap().rules[0];
    assert!(format!("{:?}", rule.kind).contains("DenyAll"), "{:?}", rule.kind);
    let keys = org
        .get_effective_policy()
        .set_name("projects/p1/policies/iam.disableServiceAccountKeyCreation")
        .send()
        .await
        .unwrap();
    assert!(format!("{:?}", keys.spec.as_ref().unwrap().rules[0].kind).contains("Enforce(true)"));
    let other =
        org.get_effective_policy().set_name("projects/p1/policies/compute.requireOsLogin").send().await.unwrap();
    assert!(format!("{:?}", other.spec.as_ref().unwrap().rules[0].kind).contains("Enforce(false)"));
    emu.shutdown().await;
}

/// With the Discovery documents, an unknown field is refused with Google's message.
#[tokio::test]
async fn validation_rejects_unknown_fields_like_google() {
    if discovery_dir().is_none() {
        eprintln!("skipped: no Discovery documents");
        return;
    }
    let emu = emulator("").await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/container/v1/projects/p1/locations/us-central1-a/clusters", emu.url()))
        .json(&serde_json::json!({ "cluster": { "name": "c", "initialNodeCont": 1 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Invalid JSON payload received. Unknown name \"initialNodeCont\" at 'cluster': Cannot find field."
    );
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    let response =
        http.get(format!("{}/container/v1/projects/p1/zones/us-central1-a/nonsense", emu.url())).send().await.unwrap();
    assert_eq!(response.status(), 404, "unknown routes answer 404");
    let logged = emu.requests();
    assert_eq!(logged.last().unwrap()["status"], 404);
    assert!(logged.last().unwrap().get("methodId").is_none());
    emu.shutdown().await;
}

/// The project's organization names its primary domain; list constraints answer allow/deny.
#[tokio::test]
async fn the_organization_and_list_constraints_come_from_the_scenario() {
    use google_cloud_resourcemanager_v3::client::Organizations;
    let emu =
        emulator("caller: admin@corp.example\norgPolicies: { cloudfunctions.allowedIngressSettings: deny }").await;
    let projects = client!(emu, Projects, "cloudresourcemanager");
    let project = projects.get_project().set_name("projects/p1").send().await.unwrap();
    let orgs = client!(emu, Organizations, "cloudresourcemanager");
    let org = orgs.get_organization().set_name(&project.parent).send().await.unwrap();
    assert_eq!(org.display_name, "corp.example", "default: the caller's domain");
    let e = orgs.get_organization().set_name("organizations/999").send().await.unwrap_err();
    assert_eq!(status(&e).0, Some(403));
    let org_policy = client!(emu, OrgPolicy, "orgpolicy");
    let p = org_policy
        .get_effective_policy()
        .set_name("projects/p1/policies/cloudfunctions.allowedIngressSettings")
        .send()
        .await
        .unwrap();
    assert!(format!("{:?}", p.spec.unwrap().rules[0].kind).contains("DenyAll"), "a list constraint");
    let emu2 = emulator("organizationDomain: example.org").await;
    let orgs = client!(emu2, Organizations, "cloudresourcemanager");
    let org = orgs.get_organization().set_name("organizations/123456789012").send().await.unwrap();
    assert_eq!(org.display_name, "example.org");
    emu.shutdown().await;
    emu2.shutdown().await;
}

/// IAM policy versions as Google documents them: a conditional binding makes a version-3 policy;
/// a version-1 reader sees `_withcond_` roles and no conditions, and writing that view back (with
/// the etag) is refused instead of silently dropping the conditions.
#[tokio::test]
async fn conditional_bindings_need_version_3_to_read_and_write() {
    let emu = emulator("").await;
    let http = reqwest::Client::new();
    let url = |verb: &str| format!("{}/cloudresourcemanager/v3/projects/p1:{verb}", emu.url());
    let read = |version: Option<u64>| {
        let body = match version {
            Some(v) => serde_json::json!({"options": {"requestedPolicyVersion": v}}),
            None => serde_json::json!({}),
        };
        let request = http.post(url("getIamPolicy")).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut policy = read(Some(3)).await;
    policy["version"] = 3.into();
    policy["bindings"].as_array_mut().unwrap().push(serde_json::json!({
        "role": "roles/viewer", "members": ["user:temp@example.com"],
        "condition": {"title": "until 2027", "expression": "request.time < timestamp('2027-01-01T00:00:00Z')"},
    }));
    let stored = http.post(url("setIamPolicy")).json(&serde_json::json!({"policy": policy})).send().await.unwrap();
    assert_eq!(stored.status(), 200, "{:?}", stored.text().await);

    let v1 = read(None).await;
    assert_eq!(v1["version"], 1);
    let renamed: Vec<&str> = v1["bindings"].as_array().unwrap().iter().filter_map(|b| b["role"].as_str()).collect();
    let hidden = renamed.iter().find(|r| r.starts_with("roles/viewer_withcond_")).expect("renamed role");
    assert_eq!(hidden.len(), "roles/viewer_withcond_".len() + 20, "{hidden}");
    assert!(v1["bindings"].as_array().unwrap().iter().all(|b| b.get("condition").is_none()));

    let mut edited = v1.clone();
    edited["bindings"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"role": "roles/browser", "members": ["user:b@example.com"]}));
    let refused = http.post(url("setIamPolicy")).json(&serde_json::json!({"policy": edited})).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Specified policy version (1) cannot be less than the existing policy version (3)"),
        "{body}"
    );
    let v3 = read(Some(3)).await;
    assert_eq!(v3["version"], 3);
    assert!(
        v3["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["role"] == "roles/viewer" && b["condition"]["title"] == "until 2027")
    );
}

/// IAM is eventually consistent: a service account just made is "not found" in bindings for a
/// while, and a Workload Identity principal is refused until a cluster creates the project's pool.
#[tokio::test]
async fn new_identities_are_unknown_to_iam_for_a_while() {
    let scenario = sdctl_emulator::Scenario {
        enabled_apis: vec!["*".into()],
        service_account_propagation_seconds: Some(0.5),
        ..Default::default()
    };
    let emu = sdctl_emulator::Emulator::start(sdctl_emulator::Options { speed: 1.0, scenario, ..Default::default() })
        .await
        .unwrap();
    let iam = client!(emu, Iam, "iam");
    let projects = client!(emu, Projects, "cloudresourcemanager");
    iam.create_service_account().set_name("projects/p1").set_account_id("fresh-account").send().await.unwrap();
    let policy = projects.get_iam_policy().set_resource("projects/p1").send().await.unwrap();
    let binding = google_cloud_iam_v1::model::Binding::new()
        .set_role("roles/container.defaultNodeServiceAccount")
        .set_members(["serviceAccount:fresh-account@p1.iam.gserviceaccount.com"]);
    let wanted = policy.clone().set_bindings(policy.bindings.iter().cloned().chain([binding]));
    let e = projects.set_iam_policy().set_resource("projects/p1").set_policy(wanted.clone()).send().await.unwrap_err();
    assert_eq!(
        status(&e),
        (Some(400), "Service account fresh-account@p1.iam.gserviceaccount.com does not exist.".into())
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    projects.set_iam_policy().set_resource("projects/p1").set_policy(wanted).send().await.unwrap();

    // A bucket grant to the WebUI pods' Kubernetes service account, before and after a cluster.
    let http = reqwest::Client::new();
    let api = format!("{}/storage/storage/v1", emu.url());
    let made =
        http.post(format!("{api}/b?project=p1")).json(&serde_json::json!({"name": "p1-models"})).send().await.unwrap();
    assert!(made.status().is_success());
    let number = projects.get_project().set_name("projects/p1").send().await.unwrap().name.replace("projects/", "");
    let principal = format!(
        "principal://iam.googleapis.com/projects/{number}/locations/global/workloadIdentityPools/p1.svc.id.goog/subject/ns/sd/sa/agones-sdk"
    );
    let grant = serde_json::json!({"bindings": [{"role": "roles/storage.objectViewer", "members": [principal]}]});
    let refused = http.put(format!("{api}/b/p1-models/iam")).json(&grant).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.unwrap();
    assert!(text.contains("Identity Pool does not exist (p1.svc.id.goog)"), "{text}");
    let gke = client!(emu, ClusterManager, "container");
    gke.create_cluster()
        .set_parent("projects/p1/locations/us-central1-a")
        .set_cluster(
            google_cloud_container_v1::model::Cluster::new()
                .set_name("wi")
                .set_workload_identity_config(
                    google_cloud_container_v1::model::WorkloadIdentityConfig::new().set_workload_pool("p1.svc.id.goog"),
                )
                .set_node_pools([google_cloud_container_v1::model::NodePool::new()
                    .set_name("a")
                    .set_initial_node_count(1)]),
        )
        .send()
        .await
        .unwrap();
    let granted = http.put(format!("{api}/b/p1-models/iam")).json(&grant).send().await.unwrap();
    assert_eq!(granted.status(), 200, "{:?}", granted.text().await);
}

/// Every route of the emulator is a Discovery method with the same verb and a matching path
/// (the documents as the tests get them: downloaded on a fresh clone).
#[test]
fn every_route_is_a_discovery_method() {
    let dir = crate::support::upstream::upstream_dir().join("discovery");
    let checked = sdctl_emulator::check_routes_against_discovery(&dir);
    assert!(checked > 100, "only {checked} routes checked");
}
