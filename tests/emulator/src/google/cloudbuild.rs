//! Cloud Build v1: builds QUEUED -> WORKING -> SUCCESS / FAILURE / TIMEOUT / CANCELLED, as an
//! AIP-151 operation whose metadata carries the build. A successful build pushes its `images` to
//! Artifact Registry; its log is an object in the logs bucket, read through the storage API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use super::access::{self, Capability::*};
use super::{EnumField, World, lro, normalize_enums, state_entry, util};
use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};

const BUILD: &str = "type.googleapis.com/google.devtools.cloudbuild.v1.Build";
const META: &str = "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata";
const QUEUED_SECS: f64 = 5.0;
const SMALL_SECS: f64 = 60.0;
const BIG_SECS: f64 = 900.0;

const MACHINE: &[(i64, &str)] = &[
    (1, "N1_HIGHCPU_8"),
    (2, "N1_HIGHCPU_32"),
    (5, "E2_HIGHCPU_8"),
    (6, "E2_HIGHCPU_32"),
    (7, "E2_MEDIUM"),
    (11, "E2_STANDARD_2"),
];
const LOGGING: &[(i64, &str)] =
    &[(1, "LEGACY"), (2, "GCS_ONLY"), (3, "STACKDRIVER_ONLY"), (4, "NONE"), (5, "CLOUD_LOGGING_ONLY")];
const STREAMING: &[(i64, &str)] = &[(1, "STREAM_ON"), (2, "STREAM_OFF")];
const SUBSTITUTION: &[(i64, &str)] = &[(0, "MUST_MATCH"), (1, "ALLOW_LOOSE")];
const VERIFY: &[(i64, &str)] = &[(0, "NOT_VERIFIED"), (1, "VERIFIED")];
const LOGS_BUCKET: &[(i64, &str)] = &[(1, "REGIONAL_USER_OWNED_BUCKET"), (2, "LEGACY_BUCKET")];
const ENUMS: &[EnumField] = &[
    EnumField { path: "options.machineType", values: MACHINE },
    EnumField { path: "options.logging", values: LOGGING },
    EnumField { path: "options.logStreamingOption", values: STREAMING },
    EnumField { path: "options.substitutionOption", values: SUBSTITUTION },
    EnumField { path: "options.requestedVerifyOption", values: VERIFY },
    EnumField { path: "options.defaultLogsBucketBehavior", values: LOGS_BUCKET },
];

struct Build {
    value: Value,
    op: String,
}

#[derive(Default)]
pub struct State {
    builds: BTreeMap<String, Build>,
    /// Builds that matched each scenario `buildFailures` entry.
    failures_used: BTreeMap<usize, u32>,
}

impl State {
    /// Builds (finished ones too: kind `Build`).
    pub fn state(&self, out: &mut Vec<Value>) {
        for b in self.builds.values() {
            out.push(state_entry(
                "cloudbuild",
                "Build",
                b.value["name"].as_str().unwrap_or_default(),
                b.value["status"].as_str().unwrap_or_default(),
                &Value::Null,
            ));
        }
    }
}

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::POST, "v1/projects/{project}/builds", "cloudbuild.projects.builds.create", create),
        route(Method::GET, "v1/projects/{project}/builds", "cloudbuild.projects.builds.list", list),
        route(Method::GET, "v1/projects/{project}/builds/{id}", "cloudbuild.projects.builds.get", get),
        route(Method::POST, "v1/projects/{project}/builds/{id}:cancel", "cloudbuild.projects.builds.cancel", cancel),
        route(
            Method::POST,
            "v1/projects/{project}/locations/{location}/builds",
            "cloudbuild.projects.locations.builds.create",
            create,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/builds",
            "cloudbuild.projects.locations.builds.list",
            list,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/builds/{id}",
            "cloudbuild.projects.locations.builds.get",
            get,
        ),
        route(
            Method::POST,
            "v1/projects/{project}/locations/{location}/builds/{id}:cancel",
            "cloudbuild.projects.locations.builds.cancel",
            cancel,
        ),
        route(Method::GET, "v1/operations/{name=**}", "cloudbuild.operations.get", lro::get),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations/{operation}",
            "cloudbuild.projects.locations.operations.get",
            lro::get,
        ),
    ]
}

/// `"600s"` / `"1.5s"` as seconds.
fn parse_duration(text: &str) -> Option<f64> {
    text.strip_suffix('s')?.parse::<f64>().ok().filter(|s| *s > 0.0)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Build {id} not found."))
}

/// The simulated duration: long for the WebUI image or a big machine, short otherwise.
fn duration(app: &App, call: &Call, build: &Value) -> f64 {
    let scenario = app.scenario();
    if let Some(secs) =
        scenario.latency.get(call.id).or_else(|| scenario.latency.get("cloudbuild.projects.builds.create"))
    {
        return *secs;
    }
    let text = build.to_string().to_lowercase();
    let big_machine = build["options"]["machineType"].as_str().is_some_and(|m| m.contains("32"));
    if big_machine || text.contains("webui") || text.contains("sd-webui") { BIG_SECS } else { SMALL_SECS }
}

fn create(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let location = call.params.get("location").cloned();
    let mut build = if call.body.is_object() { call.body.clone() } else { json!({}) };
    normalize_enums(&mut build, ENUMS);
    let steps = build["steps"].as_array().cloned().unwrap_or_default();
    if steps.is_empty() {
        return Err(ApiError::invalid("invalid build: build must have at least one step"));
    }
    for (i, step) in steps.iter().enumerate() {
        if step["name"].as_str().is_none_or(str::is_empty) {
            return Err(ApiError::invalid(format!("invalid build: step {i}: name must be specified")));
        }
    }
    let timeout = match build["timeout"].as_str() {
        Some(t) => parse_duration(t)
            .filter(|s| *s <= 86_400.0)
            .ok_or_else(|| ApiError::invalid(format!("invalid build: invalid timeout \"{t}\"")))?,
        None => 600.0,
    };
    let number = app.project_number(&project);
    let id = app.uuid();
    let region = location.clone().unwrap_or_else(|| "global".into());
    let logs_bucket = match build["logsBucket"].as_str() {
        Some(b) => b.to_string(),
        None => format!("gs://{number}.cloudbuild-logs.googleusercontent.com"),
    };
    let mut world = app.world();
    let identity = identity(app, &world, &project, &build)?;
    if let Some(custom) = build["logsBucket"].as_str().map(|b| b.trim_start_matches("gs://").to_string()) {
        if !world.storage.bucket_exists(&custom) {
            return Err(ApiError::invalid(format!("invalid build: logs bucket gs://{custom} does not exist")));
        }
        // Checked when the build is submitted (google/trillian#2349).
        let writes = access::allowed(app, &world, &project, &identity, WriteObjects, world.storage.policy(&custom));
        if !writes {
            return Err(ApiError::invalid(format!(
                "invalid bucket \"{custom}\"; builder service account does not have access to the bucket"
            )));
        }
    }
    let log_url = match &location {
        Some(l) => format!("https://console.cloud.google.com/cloud-build/builds;region={l}/{id}?project={number}"),
        None => format!("https://console.cloud.google.com/cloud-build/builds/{id}?project={number}"),
    };
    let queued_steps: Vec<Value> = steps
        .into_iter()
        .map(|mut s| {
            s["status"] = json!("QUEUED");
            s
        })
        .collect();
    for (field, value) in [
        ("id", json!(id)),
        ("name", json!(format!("projects/{number}/locations/{region}/builds/{id}"))),
        ("projectId", json!(project)),
        ("status", json!("QUEUED")),
        ("createTime", json!(now_rfc3339())),
        ("steps", json!(queued_steps)),
        ("timeout", json!(format!("{}s", timeout))),
        ("queueTtl", json!("3600s")),
        ("logsBucket", json!(logs_bucket)),
        ("logUrl", json!(log_url)),
    ] {
        build[field] = value;
    }
    if build.get("serviceAccount").is_none() {
        build["serviceAccount"] =
            json!(format!("projects/{project}/serviceAccounts/{}", default_account(app, &project)));
    }
    let op_name = match &location {
        Some(l) => format!("projects/{number}/locations/{l}/operations/{}", app.uuid()),
        None => format!(
            "operations/build/{project}/{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(id.as_bytes())
        ),
    };
    let op = world.lro.start(op_name.clone(), json!({ "@type": META, "build": build }));
    world.builds.builds.insert(id.clone(), Build { value: build.clone(), op: op_name });
    write_log(&mut world, &id, &["starting build \"{id}\"".replace("{id}", &id), String::new(), "FETCHSOURCE".into()]);
    drop(world);

    let run = duration(app, call, &build);
    let queued = app.clock.secs(QUEUED_SECS);
    let id_working = id.clone();
    app.after(queued, move |_, world| {
        let Some(b) = world.builds.builds.get_mut(&id_working) else {
            return;
        };
        if b.value["status"] != "QUEUED" {
            return;
        }
        b.value["status"] = json!("WORKING");
        b.value["startTime"] = json!(now_rfc3339());
        let (op, meta) = (b.op.clone(), json!({ "@type": META, "build": b.value }));
        world.lro.set_metadata(&op, meta);
    });
    let (secs, timed_out) = if run > timeout { (timeout, true) } else { (run, false) };
    app.after(queued + app.clock.secs(secs), move |app, world| finish(app, world, &id, timed_out));
    Ok(Reply::json(op))
}

/// Appends lines to the build's log object (`log-ID.txt` in its logs bucket).
fn write_log(world: &mut World, id: &str, lines: &[String]) {
    let Some(b) = world.builds.builds.get_mut(id) else {
        return;
    };
    if b.value["options"]["logging"] == "NONE" || b.value["options"]["logging"] == "CLOUD_LOGGING_ONLY" {
        return;
    }
    let bucket = b.value["logsBucket"].as_str().unwrap_or_default().trim_start_matches("gs://").to_string();
    let project = b.value["projectId"].as_str().unwrap_or_default().to_string();
    let key = b.value["logKey"].as_str().map(str::to_string).unwrap_or_default();
    let mut text = key;
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    b.value["logKey"] = json!(text);
    let object = format!("log-{id}.txt");
    world.storage.put_system(&project, &bucket, &object, Bytes::from(text), "text/plain; charset=utf-8");
}

/// The account builds of a new project run as when they name none: Compute Engine's default
/// service account (cloud.google.com/build/docs/cloud-build-service-account-updates).
fn default_account(app: &App, project: &str) -> String {
    format!("{}-compute@developer.gserviceaccount.com", app.project_number(project))
}

/// The `serviceAccount:` member a build runs as, checked as Cloud Build checks it on submission:
/// an account of the form `projects/P/serviceAccounts/EMAIL` that exists, the caller allowed to
/// act as it, and (for an account of one's own) logs that do not go to Google's default bucket.
fn identity(app: &App, world: &World, project: &str, build: &Value) -> ApiResult<String> {
    let Some(named) = build["serviceAccount"].as_str() else {
        return Ok(format!("serviceAccount:{}", default_account(app, project)));
    };
    let email = named
        .strip_prefix("projects/")
        .and_then(|r| r.split_once("/serviceAccounts/"))
        .map(|(_, email)| email.to_string())
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "invalid build: service account must be of the form projects/{{PROJECT_ID}}/serviceAccounts/{{ACCOUNT}}, got \"{named}\""
            ))
        })?;
    if !world.iam.known(app, &email) {
        return Err(ApiError::invalid(format!("invalid build: service account {named} does not exist")));
    }
    if app.scenario().permission_denied("iam.serviceAccounts.actAs") {
        return Err(ApiError::permission_denied(format!(
            "caller does not have permission to act as service account {named}"
        )));
    }
    let logging = build["options"]["logging"].as_str().unwrap_or_default();
    let own_bucket = build["options"]["defaultLogsBucketBehavior"] == "REGIONAL_USER_OWNED_BUCKET";
    if build["logsBucket"].as_str().is_none() && !own_bucket && !matches!(logging, "CLOUD_LOGGING_ONLY" | "NONE") {
        return Err(ApiError::invalid(
            "invalid build: if 'build.service_account' is specified, the build must either (a) specify 'build.logs_bucket', (b) use the REGIONAL_USER_OWNED_BUCKET build.options.default_logs_bucket_behavior option, or (c) use either CLOUD_LOGGING_ONLY / NONE logging options",
        ));
    }
    Ok(format!("serviceAccount:{email}"))
}

fn scenario_failure(app: &App, world: &mut World, build: &Value) -> Option<(String, String)> {
    let scenario = app.scenario();
    let text = build.to_string();
    for (i, f) in scenario.build_failures.iter().enumerate() {
        if f.image.as_deref().is_some_and(|img| !text.contains(img)) {
            continue;
        }
        let used = world.builds.failures_used.entry(i).or_default();
        if f.times.is_some_and(|t| *used >= t) {
            continue;
        }
        *used += 1;
        let status = f.status.clone().unwrap_or_else(|| "FAILURE".into());
        let message = f.message.clone().unwrap_or_else(|| {
            "build step 0 \"gcr.io/cloud-builders/docker\" failed: step exited with non-zero status: 1".into()
        });
        return Some((status, message));
    }
    None
}

fn finish(app: &Arc<App>, world: &mut World, id: &str, timed_out: bool) {
    let Some(build) = world.builds.builds.get(id).map(|b| b.value.clone()) else {
        return;
    };
    if !matches!(build["status"].as_str(), Some("QUEUED") | Some("WORKING")) {
        return;
    }
    let mut log = Vec::new();
    let project = build["projectId"].as_str().unwrap_or_default().to_string();
    let account = build["serviceAccount"].as_str().and_then(|s| s.rsplit('/').next()).unwrap_or_default().to_string();
    let member = format!("serviceAccount:{account}");
    let source_missing = build["source"]["storageSource"]["bucket"].as_str().and_then(|bucket| {
        let object = build["source"]["storageSource"]["object"].as_str().unwrap_or_default();
        if !access::allowed(app, world, &project, &member, ReadObjects, world.storage.policy(bucket)) {
            return Some(format!(
                "failed to fetch source: AccessDeniedException: 403 {account} does not have storage.objects.get access to the Google Cloud Storage object gs://{bucket}/{object}."
            ));
        }
        (!world.storage.object_exists(bucket, object))
            .then(|| format!("failed to fetch source: storage: object gs://{bucket}/{object} doesn't exist"))
    });
    if let Some(source) = build["source"]["storageSource"]["bucket"].as_str() {
        log.push(format!(
            "Fetching storage object: gs://{source}/{}",
            build["source"]["storageSource"]["object"].as_str().unwrap_or_default()
        ));
    }
    log.push("BUILD".into());
    let steps = build["steps"].as_array().cloned().unwrap_or_default();
    let mut outcome: Result<Vec<Value>, (String, String)> = if timed_out {
        Err(("TIMEOUT".into(), format!("Build timeout after {}", build["timeout"].as_str().unwrap_or_default())))
    } else if let Some(message) = source_missing {
        Err(("FAILURE".into(), message))
    } else if let Some(failure) = scenario_failure(app, world, &build) {
        Err(failure)
    } else {
        Ok(Vec::new())
    };
    for (i, step) in steps.iter().enumerate() {
        log.push(format!("Starting Step #{i}"));
        log.push(format!("Step #{i}: Already have image (with digest): {}", step["name"].as_str().unwrap_or_default()));
        log.push(format!("Finished Step #{i}"));
    }
    if outcome.is_ok() {
        log.push("PUSH".into());
        let mut results = Vec::new();
        for image in build["images"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            log.push(format!("Pushing {image}"));
            let repository = super::artifactregistry::State::repository_of(image).unwrap_or_default();
            if !access::allowed(app, world, &project, &member, PushImages, world.registry.policies.get(&repository)) {
                outcome = Err((
                    "FAILURE".into(),
                    format!(
                        "denied: Permission \"artifactregistry.repositories.uploadArtifacts\" denied on resource \"{repository}\" (or it may not exist)"
                    ),
                ));
                break;
            }
            match world.registry.push(image, app.next()) {
                Ok(digest) => results.push(json!({ "name": image, "digest": digest, "pushTiming": { "startTime": now_rfc3339(), "endTime": now_rfc3339() } })),
                Err(e) => {
                    outcome = Err(("FAILURE".into(), format!("failed to push {image}: {e}")));
                    break;
                }
            }
        }
        if let Ok(r) = &mut outcome {
            *r = results;
        }
    }
    let Some(b) = world.builds.builds.get_mut(id) else {
        return;
    };
    b.value["finishTime"] = json!(now_rfc3339());
    if b.value.get("startTime").is_none() {
        b.value["startTime"] = json!(now_rfc3339());
    }
    let result = match outcome {
        Ok(images) => {
            b.value["status"] = json!("SUCCESS");
            b.value["results"] = json!({ "images": images, "buildStepImages": steps.iter().map(|_| json!("sha256:0")).collect::<Vec<_>>() });
            for s in b.value["steps"].as_array_mut().into_iter().flatten() {
                s["status"] = json!("SUCCESS");
            }
            log.push("DONE".into());
            Ok(lro::typed(BUILD, &clean(&b.value)))
        }
        Err((status, message)) => {
            b.value["status"] = json!(status);
            b.value["statusDetail"] = json!(message);
            b.value["failureInfo"] = json!({ "type": if status == "TIMEOUT" { "FAILURE_TYPE_UNSPECIFIED" } else { "USER_BUILD_STEP" }, "detail": message });
            log.push("ERROR".into());
            log.push(format!("ERROR: {message}"));
            let error = match status.as_str() {
                "TIMEOUT" => ApiError::new(504, "Build timeout").with_status("DEADLINE_EXCEEDED"),
                "INTERNAL_ERROR" => ApiError::new(500, "Build failed with an internal error").with_status("INTERNAL"),
                _ => ApiError::new(500, "Build failed; check build logs for details").with_status("UNKNOWN"),
            };
            Err(error)
        }
    };
    let (op, meta) = (b.op.clone(), json!({ "@type": META, "build": clean(&b.value) }));
    world.lro.set_metadata(&op, meta);
    world.lro.finish(&op, result);
    write_log(world, id, &log);
}

/// The build as the API returns it (without the emulator's log buffer).
fn clean(build: &Value) -> Value {
    let mut v = build.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("logKey");
    }
    v
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let id = call.param("id");
    let world = app.world();
    world.builds.builds.get(id).map(|b| Reply::json(clean(&b.value))).ok_or_else(|| not_found(id))
}

fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let filter = call.query("filter").unwrap_or_default().replace(' ', "");
    let world = app.world();
    let mut builds: Vec<Value> = world
        .builds
        .builds
        .values()
        .filter(|b| b.value["projectId"] == json!(project))
        .filter(|b| match filter.strip_prefix("status=") {
            Some(status) => b.value["status"] == json!(status.trim_matches('"')),
            None => filter.strip_prefix("tags=").is_none_or(|t| {
                b.value["tags"].as_array().is_some_and(|tags| tags.contains(&json!(t.trim_matches('"'))))
            }),
        })
        .map(|b| clean(&b.value))
        .collect();
    builds.sort_by(|a, b| b["createTime"].as_str().cmp(&a["createTime"].as_str()));
    let (page, next) = util::paginate(builds, call.query("pageSize"), call.query("pageToken"))?;
    let mut body = json!({ "builds": page });
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(body))
}

fn cancel(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let id = call.param("id").to_string();
    let mut world = app.world();
    let b = world.builds.builds.get_mut(&id).ok_or_else(|| not_found(&id))?;
    if !matches!(b.value["status"].as_str(), Some("QUEUED") | Some("WORKING") | Some("PENDING")) {
        return Err(ApiError::failed_precondition(format!("Build {id} is not running; it cannot be cancelled.")));
    }
    b.value["status"] = json!("CANCELLED");
    b.value["finishTime"] = json!(now_rfc3339());
    let build = clean(&b.value);
    let op = b.op.clone();
    world.lro.set_metadata(&op, json!({ "@type": META, "build": build }));
    world.lro.finish(&op, Err(ApiError::new(499, "Build was cancelled").with_status("CANCELLED")));
    write_log(&mut world, &id, &["CANCELLED".to_string()]);
    let _ = Duration::ZERO;
    Ok(Reply::json(build))
}
