//! OAuth2 v2: who the caller is (`userinfo`, `tokeninfo`), from the scenario's `caller`.

use std::sync::Arc;

use http::Method;
use serde_json::json;

use crate::app::App;
use crate::error::ApiResult;
use crate::route::{Call, Reply, Route, route};

pub fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "oauth2/v2/userinfo", "oauth2.userinfo.get", userinfo),
        route(Method::POST, "oauth2/v2/tokeninfo", "oauth2.tokeninfo", tokeninfo),
    ]
}

fn userinfo(app: &Arc<App>, _call: &Call) -> ApiResult<Reply> {
    let email = app.scenario().caller();
    Ok(Reply::json(json!({ "id": "108000000000000000001", "email": email, "verified_email": true })))
}

fn tokeninfo(app: &Arc<App>, _call: &Call) -> ApiResult<Reply> {
    let email = app.scenario().caller();
    Ok(Reply::json(json!({
        "issued_to": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
        "audience": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
        "user_id": "108000000000000000001",
        "scope": "https://www.googleapis.com/auth/cloud-platform openid https://www.googleapis.com/auth/userinfo.email",
        "expires_in": 3599,
        "email": email,
        "verified_email": true,
        "access_type": "offline",
    })))
}
