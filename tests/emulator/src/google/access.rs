//! Whether an identity may do something, from the IAM policies the emulator keeps: the project's
//! and the resource's own (unconditional bindings only: conditions are not evaluated, so a
//! conditional grant never counts). Only the few capabilities services check on behalf of an
//! identity are modelled (Cloud Build fetching its source, writing its log, pushing its image),
//! each with the predefined roles that carry its permissions
//! (cloud.google.com/iam/docs/understanding-roles).

use super::World;
use super::policy::Policy;
use crate::app::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// `storage.objects.get` + `list`.
    ReadObjects,
    /// `storage.objects.create`.
    WriteObjects,
    /// `artifactregistry.repositories.uploadArtifacts`.
    PushImages,
}

impl Capability {
    fn roles(self) -> &'static [&'static str] {
        match self {
            Capability::ReadObjects => &[
                "roles/owner",
                "roles/editor",
                "roles/storage.admin",
                "roles/storage.objectAdmin",
                "roles/storage.objectUser",
                "roles/storage.objectViewer",
            ],
            Capability::WriteObjects => &[
                "roles/owner",
                "roles/editor",
                "roles/storage.admin",
                "roles/storage.objectAdmin",
                "roles/storage.objectUser",
                "roles/storage.objectCreator",
            ],
            Capability::PushImages => &[
                "roles/owner",
                "roles/editor",
                "roles/artifactregistry.admin",
                "roles/artifactregistry.repoAdmin",
                "roles/artifactregistry.writer",
                "roles/artifactregistry.createOnPushWriter",
                "roles/artifactregistry.createOnPushRepoAdmin",
            ],
        }
    }
}

/// Whether `member` (`serviceAccount:...`) may use `capability` on a resource of `project` whose
/// own policy is `resource` (None: the resource has none yet).
pub fn allowed(
    app: &App,
    world: &World,
    project: &str,
    member: &str,
    capability: Capability,
    resource: Option<&Policy>,
) -> bool {
    let roles = capability.roles();
    let on_project = match world.projects.policies.get(project) {
        Some(policy) => policy.grants(member, roles),
        None => super::resourcemanager::default_policy(app, project).grants(member, roles),
    };
    on_project || resource.is_some_and(|p| p.grants(member, roles))
}
