//! IAM v1: service accounts (`ID@PROJECT.iam.gserviceaccount.com`) and their IAM policies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use http::Method;
use serde_json::{Value, json};

use super::policy::{self, Policy};
use super::state_entry;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::route::{Call, Reply, Route, route};

#[derive(Default)]
pub struct State {
    /// By e-mail.
    accounts: BTreeMap<String, Value>,
    /// When each account was created (IAM learns of it `serviceAccountPropagationSeconds` later).
    created: BTreeMap<String, Instant>,
    policies: BTreeMap<String, Policy>,
}

impl State {
    /// Whether a service account exists (Google-managed accounts always do).
    pub fn exists(&self, email: &str) -> bool {
        self.accounts.contains_key(email) || !email.ends_with(".iam.gserviceaccount.com")
    }

    /// Whether IAM bindings and other services already know the account: IAM is eventually
    /// consistent, a new account is "not found" for a while
    /// (cloud.google.com/iam/docs/service-accounts-create: wait 60 seconds or more).
    pub fn known(&self, app: &App, email: &str) -> bool {
        let propagation = app.clock.secs(app.scenario().service_account_propagation_seconds());
        self.exists(email) && self.created.get(email).is_none_or(|at| at.elapsed() >= propagation)
    }

    pub fn state(&self, out: &mut Vec<Value>) {
        for account in self.accounts.values() {
            out.push(state_entry(
                "iam",
                "ServiceAccount",
                account["name"].as_str().unwrap_or_default(),
                "ACTIVE",
                &Value::Null,
            ));
        }
    }

    fn find(&self, project: &str, id: &str) -> Option<&Value> {
        self.accounts.get(id).or_else(|| {
            self.accounts
                .values()
                .find(|a| a["uniqueId"] == json!(id) && (project == "-" || a["projectId"] == json!(project)))
        })
    }
}

pub fn routes() -> Vec<Route> {
    const ONE: &str = "v1/projects/{project}/serviceAccounts/{account}";
    vec![
        route(Method::POST, "v1/projects/{project}/serviceAccounts", "iam.projects.serviceAccounts.create", create),
        route(Method::GET, "v1/projects/{project}/serviceAccounts", "iam.projects.serviceAccounts.list", list),
        route(Method::GET, ONE, "iam.projects.serviceAccounts.get", get),
        route(Method::DELETE, ONE, "iam.projects.serviceAccounts.delete", delete),
        route(
            Method::POST,
            "v1/projects/{project}/serviceAccounts/{account}:getIamPolicy",
            "iam.projects.serviceAccounts.getIamPolicy",
            get_policy,
        ),
        route(
            Method::POST,
            "v1/projects/{project}/serviceAccounts/{account}:setIamPolicy",
            "iam.projects.serviceAccounts.setIamPolicy",
            set_policy,
        ),
    ]
}

fn unknown() -> ApiError {
    ApiError::not_found("Unknown service account")
}

fn create(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let id = call.field("accountId").as_str().unwrap_or_default().to_string();
    let valid = (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(ApiError::invalid(format!(
            "Invalid value for field 'accountId': '{id}'. Account ID must be between 6 and 30 characters, start with a lowercase letter and contain only lowercase letters, digits and dashes."
        )));
    }
    let email = format!("{id}@{project}.iam.gserviceaccount.com");
    let mut world = app.world();
    if world.iam.accounts.contains_key(&email) {
        return Err(ApiError::already_exists(format!(
            "Service account {id} already exists within project projects/{project}."
        )));
    }
    let sa = call.field("serviceAccount");
    let unique = format!("1{:020}", app.next() * 7_919_123 % 100_000_000_000_000_000_000u128 as u64);
    let account = json!({
        "name": format!("projects/{project}/serviceAccounts/{email}"),
        "projectId": project,
        "uniqueId": unique,
        "email": email,
        "displayName": sa["displayName"].as_str().unwrap_or_default(),
        "description": sa["description"].as_str().unwrap_or_default(),
        "etag": "MDEwMjE5MjA=",
        "oauth2ClientId": unique,
    });
    world.iam.created.insert(email.clone(), Instant::now());
    world.iam.accounts.insert(email, account.clone());
    Ok(Reply::json(account))
}

fn list(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let project = app.project_id(call.param("project"));
    let world = app.world();
    let accounts: Vec<Value> =
        world.iam.accounts.values().filter(|a| a["projectId"] == json!(project)).cloned().collect();
    let mut body = json!({});
    if !accounts.is_empty() {
        body["accounts"] = Value::Array(accounts);
    }
    Ok(Reply::json(body))
}

fn get(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let world = app.world();
    world.iam.find(call.param("project"), call.param("account")).cloned().map(Reply::json).ok_or_else(unknown)
}

fn delete(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let mut world = app.world();
    let email = world
        .iam
        .find(call.param("project"), call.param("account"))
        .and_then(|a| a["email"].as_str().map(str::to_string))
        .ok_or_else(unknown)?;
    world.iam.accounts.remove(&email);
    world.iam.policies.remove(&email);
    Ok(Reply::empty_object())
}

fn get_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let mut world = app.world();
    let email = world
        .iam
        .find(call.param("project"), call.param("account"))
        .and_then(|a| a["email"].as_str().map(str::to_string))
        .ok_or_else(unknown)?;
    let policy = world.iam.policies.entry(email).or_insert_with(|| Policy::new(app, json!([])));
    Ok(Reply::json(policy.read(call)))
}

fn set_policy(app: &Arc<App>, call: &Call) -> ApiResult<Reply> {
    let mut world = app.world();
    let email = world
        .iam
        .find(call.param("project"), call.param("account"))
        .and_then(|a| a["email"].as_str().map(str::to_string))
        .ok_or_else(unknown)?;
    policy::check_members(app, &world, &app.project_id(call.param("project")), call.field("policy"))?;
    let policy = world.iam.policies.entry(email).or_insert_with(|| Policy::new(app, json!([])));
    Ok(Reply::json(policy.set(app, call.field("policy"), policy::concurrent_change)?))
}
