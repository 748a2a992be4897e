//! Artifact Registry v1: DOCKER repositories (AIP-151 create/delete), their IAM policies, and
//! the docker images Cloud Build pushes into them.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::policy::{self, Policy};
use super::{EnumField, lro, normalize_enums, state_entry, util};
use crate::app::App;
use crate::clock::now_rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};

const REPOSITORY: &str = "type.googleapis.com/google.devtools.artifactregistry.v1.Repository";
const META: &str = "type.googleapis.com/google.devtools.artifactregistry.v1.OperationMetadata";
const REPO_SECS: f64 = 5.0;
const FORMAT: &[(i64, &str)] = &[
    (1, "DOCKER"),
    (2, "MAVEN"),
    (3, "NPM"),
    (5, "APT"),
    (6, "YUM"),
    (8, "PYTHON"),
    (9, "KFP"),
    (10, "GO"),
    (11, "GENERIC"),
];
const MODE: &[(i64, &str)] = &[(1, "STANDARD_REPOSITORY"), (2, "VIRTUAL_REPOSITORY"), (3, "REMOTE_REPOSITORY")];

#[derive(Default)]
pub struct State {
    repos: BTreeMap<String, Value>,
    pub policies: BTreeMap<String, Policy>,
    /// Repository name -> its docker images.
    images: BTreeMap<String, Vec<Value>>,
}

impl State {
    pub fn state(&self, out: &mut Vec<Value>) {
        for (name, r) in &self.repos {
            out.push(state_entry("artifactregistry", "Repository", name, "READY", &r["labels"]));
        }
        for images in self.images.values() {
            for i in images {
                out.push(state_entry(
                    "artifactregistry",
                    "DockerImage",
                    i["name"].as_str().unwrap_or_default(),
                    "READY",
                    &Value::Null,
                ));
            }
        }
    }

    /// Records a pushed image `LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE[:TAG]`; the tag moves to
    /// the new digest. Returns the digest, or the registry's error when the repository is missing.
    /// The repository (`projects/P/locations/L/repositories/R`) an image reference points into.
    pub fn repository_of(uri: &str) -> Option<String> {
        let (host, rest) = uri.split_once('/')?;
        let location = host.strip_suffix("-docker.pkg.dev")?;
        let mut parts = rest.splitn(3, '/');
        let (project, repo) = (parts.next()?, parts.next()?);
        Some(format!("projects/{project}/locations/{location}/repositories/{repo}"))
    }

    /// Whether `LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE[:TAG|@DIGEST]` can be pulled.
    pub fn has_image(&self, uri: &str) -> bool {
        let Some(repo) = Self::repository_of(uri) else { return false };
        let Some(images) = self.images.get(&repo) else { return false };
        if uri.contains("@sha256:") {
            return images.iter().any(|i| i["uri"] == uri);
        }
        let (name, tag) = match uri.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t),
            _ => (uri, "latest"),
        };
        images.iter().any(|i| {
            i["uri"].as_str().is_some_and(|u| u.starts_with(&format!("{name}@")))
                && i["tags"].as_array().is_some_and(|tags| tags.iter().any(|t| t == tag))
        })
    }

    pub fn push(&mut self, uri: &str, seed: u64) -> Result<String, String> {
        let (host, rest) = uri.split_once('/').ok_or_else(|| format!("invalid image name {uri}"))?;
        let location = host
            .strip_suffix("-docker.pkg.dev")
            .ok_or_else(|| format!("{uri}: not an Artifact Registry docker image"))?;
        let mut parts = rest.splitn(3, '/');
        let (project, repo, image) = match (parts.next(), parts.next(), parts.next()) {
            (Some(p), Some(r), Some(i)) => (p, r, i),
            _ => return Err(format!("invalid image name {uri}")),
        };
        let (image, tag) = match image.rsplit_once(':') {
            Some((i, t)) if !t.contains('/') => (i, t),
            _ => (image, "latest"),
        };
        let repo_name = format!("projects/{project}/locations/{location}/repositories/{repo}");
        if !self.repos.contains_key(&repo_name) {
            return Err(format!("name unknown: Repository \"{repo}\" not found"));
        }
        let digest: String =
            Sha256::digest(format!("{uri}#{seed}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let images = self.images.entry(repo_name.clone()).or_default();
        for old in images.iter_mut() {
            if old["uri"].as_str().is_some_and(|u| u.starts_with(&format!("{host}/{project}/{repo}/{image}@")))
                && let Some(tags) = old["tags"].as_array_mut()
            {
                tags.retain(|t| t != tag);
            }
        }
        let now = now_rfc3339();
        images.push(json!({
            "name": format!("{repo_name}/dockerImages/{}@sha256:{digest}", image.replace('/', "%2F")),
            "uri": format!("{host}/{project}/{repo}/{image}@sha256:{digest}"),
            "tags": [tag],
            "imageSizeBytes": "734003200",
            "uploadTime": now,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "buildTime": now,
            "updateTime": now,
        }));
        Ok(format!("sha256:{digest}"))
    }
}

pub fn routes() -> Vec<Route> {
    const ALL: &str = "v1/projects/{project}/locations/{location}/repositories";
    const ONE: &str = "v1/projects/{project}/locations/{location}/repositories/{repository}";
    vec![
        route(Method::POST, ALL, "artifactregistry.projects.locations.repositories.create", create),
        route(Method::GET, ALL, "artifactregistry.projects.locations.repositories.list", list),
        route(Method::GET, ONE, "artifactregistry.projects.locations.repositories.get", get),
        route(Method::DELETE, ONE, "artifactregistry.projects.locations.repositories.delete", delete),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/repositories/{repository}:getIamPolicy",
            "artifactregistry.projects.locations.repositories.getIamPolicy",
            get_policy,
        ),
        route(
            Method::POST,
            "v1/projects/{project}/locations/{location}/repositories/{repository}:setIamPolicy",
            "artifactregistry.projects.locations.repositories.setIamPolicy",
            set_policy,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/repositories/{repository}/dockerImages",
            "artifactregistry.projects.locations.repositories.dockerImages.list",
            list_images,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/repositories/{repository}/dockerImages/{image}",
            "artifactregistry.projects.locations.repositories.dockerImages.get",
            get_image,
        ),
        route(
            Method::GET,
            "v1/projects/{project}/locations/{location}/operations/{operation}",
            "artifactregistry.projects.locations.operations.get",
            lro::get,
        ),
    ]
}

fn parent(app: &App, call: &Call) -> String {
    format!("projects/{}/locations/{}", app.project_id(call.param("project")), call.param("location"))
}

fn repo_name(app: &App, call: &Call) -> String {
    format!("{}/repositories/{}", parent(app, call), call.param("repository"))
}

fn not_found() -> ApiError {
    ApiError::not_found("Requested entity was not found.")
}

fn create(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let id = call.query("repositoryId").unwrap_or_default().to_string();
    let valid = !id.is_empty()
        && id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ApiError::invalid(format!(
            "Invalid repository id \"{id}\": must start with a lowercase letter and contain only lowercase letters, digits and dashes."
        )));
    }
    let mut repo = if call.body.is_object() { call.body.clone() } else { json!({}) };
    normalize_enums(
        &mut repo,
        &[EnumField { path: "format", values: FORMAT }, EnumField { path: "mode", values: MODE }],
    );
    let format = repo["format"].as_str().unwrap_or_default().to_string();
    if !FORMAT.iter().any(|(_, f)| *f == format) {
        return Err(ApiError::invalid("Repository format must be specified."));
    }
    util::check_labels(&repo["labels"])?;
    let parent = parent(app, call);
    let name = format!("{parent}/repositories/{id}");
    let mut world = app.world();
    if world.registry.repos.contains_key(&name) {
        return Err(ApiError::already_exists("the repository already exists"));
    }
    let now = now_rfc3339();
    let location = call.param("location");
    let project = app.project_id(call.param("project"));
    for (field, value) in [
        ("name", json!(name)),
        ("format", json!(format)),
        ("createTime", json!(now)),
        ("updateTime", json!(now)),
        ("sizeBytes", json!("0")),
        ("satisfiesPzs", json!(false)),
        ("registryUri", json!(format!("{location}-docker.pkg.dev/{project}/{id}"))),
    ] {
        repo[field] = value;
    }
    if repo.get("mode").is_none() {
        repo["mode"] = json!("STANDARD_REPOSITORY");
    }
    let op_name = format!("{parent}/operations/{}", app.uuid());
    let op = world.lro.start(op_name.clone(), json!({ "@type": META }));
    drop(world);
    app.after(app.latency(call.id, REPO_SECS), move |_, world| {
        let done = lro::typed(REPOSITORY, &repo);
        world.registry.repos.insert(name, repo);
        world.lro.finish(&op_name, Ok(done));
    });
    Ok(Reply::json(op))
}

fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let prefix = format!("{}/repositories/", parent(app, call));
    let world = app.world();
    let repos: Vec<Value> =
        world.registry.repos.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, v)| v.clone()).collect();
    Ok(Reply::json(json!({ "repositories": repos })))
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = repo_name(app, call);
    let world = app.world();
    world.registry.repos.get(&name).cloned().map(Reply::json).ok_or_else(not_found)
}

fn delete(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = repo_name(app, call);
    let mut world = app.world();
    if !world.registry.repos.contains_key(&name) {
        return Err(not_found());
    }
    let op_name = format!("{}/operations/{}", parent(app, call), app.uuid());
    let op = world.lro.start(op_name.clone(), json!({ "@type": META }));
    drop(world);
    app.after(app.latency(call.id, REPO_SECS), move |_, world| {
        world.registry.repos.remove(&name);
        world.registry.images.remove(&name);
        world.registry.policies.remove(&name);
        world.lro.finish(&op_name, Ok(json!({ "@type": lro::EMPTY })));
    });
    Ok(Reply::json(op))
}

fn get_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = repo_name(app, call);
    let mut world = app.world();
    if !world.registry.repos.contains_key(&name) {
        return Err(not_found());
    }
    let policy = world.registry.policies.entry(name).or_insert_with(|| Policy::new(app, json!([])));
    Ok(Reply::json(policy.read(call)))
}

fn set_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = repo_name(app, call);
    let mut world = app.world();
    if !world.registry.repos.contains_key(&name) {
        return Err(not_found());
    }
    if let Some(project) = super::project_of(app, call) {
        policy::check_members(app, &world, &project, call.field("policy"))?;
    }
    let policy = world.registry.policies.entry(name).or_insert_with(|| Policy::new(app, json!([])));
    Ok(Reply::json(policy.set(app, call.field("policy"), policy::concurrent_change)?))
}

fn list_images(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = repo_name(app, call);
    let world = app.world();
    if !world.registry.repos.contains_key(&name) {
        return Err(not_found());
    }
    let images = world.registry.images.get(&name).cloned().unwrap_or_default();
    let (page, next) = util::paginate(images, call.query("pageSize"), call.query("pageToken"))?;
    let mut body = json!({ "dockerImages": page });
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(Reply::json(body))
}

fn get_image(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let name = repo_name(app, call);
    let wanted = format!("{name}/dockerImages/{}", call.param("image").replace('/', "%2F"));
    let world = app.world();
    world
        .registry
        .images
        .get(&name)
        .and_then(|images| images.iter().find(|i| i["name"] == json!(wanted)))
        .cloned()
        .map(Reply::json)
        .ok_or_else(not_found)
}
