//! Images: the templates render with every version pinned and parse as Dockerfiles; `up images`
//! and `sdctl build` against the emulator's Cloud Build, Storage and Artifact Registry: upload,
//! build, skip when unchanged, failures and timeouts shown with the log tail, and the staging
//! bucket removed by `down`.

use dockerfile_parser::{Dockerfile, Instruction};
use sdctl::images::{ImageKind, templates};
use serde_json::Value;

use crate::support::example_with;
use crate::support::world::World;

/// A tiny linux x86-64 ELF file standing in for the sdctl executable (the real debug binary is
/// 150 MB; what the image ships does not matter to these tests).
fn fake_runtime_binary(dir: &std::path::Path) -> String {
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    elf.resize(64, 0);
    elf[18] = 0x3e;
    let path = dir.join("sdctl");
    std::fs::write(&path, elf).unwrap();
    path.to_str().unwrap().to_string()
}

fn parse(text: &str) -> Dockerfile {
    Dockerfile::parse(text).unwrap_or_else(|e| panic!("not a Dockerfile ({e}):\n{text}"))
}

fn from_images(d: &Dockerfile) -> Vec<(String, Option<String>)> {
    d.instructions
        .iter()
        .filter_map(|i| match i {
            Instruction::From(f) => {
                let image = match &f.image_parsed.registry {
                    Some(registry) => format!("{registry}/{}", f.image_parsed.image),
                    None => f.image_parsed.image.clone(),
                };
                Some((image, f.image_parsed.tag.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_webui_image_pins_every_version_and_is_secure_by_default() {
    let context = templates::webui().unwrap();
    let dockerfile = String::from_utf8(context.file("Dockerfile").unwrap().data.clone()).unwrap();
    let start = context.file("start.sh").unwrap();
    let script = String::from_utf8(start.data.clone()).unwrap();
    assert!(start.executable);
    for text in [&dockerfile, &script] {
        assert!(!text.contains("{{") && !text.contains("{%"), "fully rendered:\n{text}");
    }
    let parsed = parse(&dockerfile);
    let froms = from_images(&parsed);
    assert_eq!(froms.len(), 1);
    let tag = froms[0].1.clone().expect("the base image has a tag");
    assert!(tag.starts_with("12.1.1-") && tag != "latest", "{tag}");
    // A1111 at a release tag, torch/torchvision/xformers/pip at exact versions.
    assert!(dockerfile.contains("--branch v1.10.1 https://github.com/AUTOMATIC1111/stable-diffusion-webui.git"));
    for pin in ["torch==2.1.2", "torchvision==0.16.2", "xformers==0.0.23.post1", "pip==24.2"] {
        assert!(dockerfile.contains(pin), "{pin} missing:\n{dockerfile}");
    }
    for line in dockerfile.lines().filter(|l| l.contains("pip install")) {
        let packages = line.split("pip install").nth(1).unwrap();
        for word in packages.split_whitespace().map(|w| w.trim_matches('"')) {
            if word.starts_with('-') || word.starts_with("http") || word == "\\" || word.is_empty() {
                continue;
            }
            assert!(word.contains("=="), "unpinned {word} in {line}");
        }
    }
    assert!(parsed.instructions.iter().any(|i| matches!(i, Instruction::Entrypoint(_))));
    // Secure by default; listens on 7860 with the API; links models read-only and the user's outputs.
    let code: String = script.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    assert!(!code.contains("--disable-safe-unpickle"));
    let insecure = code.lines().filter(|l| l.contains("--enable-insecure-extension-access")).collect::<Vec<_>>();
    assert_eq!(insecure.len(), 1);
    assert!(script.contains(r#"if [ "${SDCTL_WEBUI_INSECURE_EXTENSION_ACCESS:-0}" = "1" ]; then"#));
    assert!(script.contains("--listen --port 7860 --api"));
    assert!(
        script.contains("SHARED=/sd/shared")
            && script.contains("USER_FILE=/run/sdctl/user")
            && script.contains("OUTPUTS=/sd/outputs")
            && script.contains(r#"ln -sfn "$OUTPUTS/$user""#)
    );
    assert!(script.contains(r#"if [ "${1:-}" = "seed" ]"#), "first-start seeding of an empty share");
    // The script is valid sh.
    let check = std::process::Command::new("sh").args(["-n", "-c", &script]).status().unwrap();
    assert!(check.success());
}

#[test]
fn the_runtime_image_ships_a_linux_binary_or_builds_from_source() {
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_runtime_binary(dir.path());
    let context = ImageKind::Runtime.context(Some(std::path::Path::new(&binary))).unwrap();
    let dockerfile = String::from_utf8(context.file("Dockerfile").unwrap().data.clone()).unwrap();
    assert_eq!(
        from_images(&parse(&dockerfile)),
        [("gcr.io/distroless/cc-debian12".to_string(), Some("nonroot".into()))]
    );
    assert!(context.file("sdctl").unwrap().executable);

    let source = templates::runtime_from_source().unwrap();
    let dockerfile = String::from_utf8(source.file("Dockerfile").unwrap().data.clone()).unwrap();
    let froms = from_images(&parse(&dockerfile));
    assert_eq!(froms[0], ("rust".to_string(), Some("1.91-bookworm".into())));
    assert!(dockerfile.contains(&format!("--tag v{} sdctl", env!("CARGO_PKG_VERSION"))), "{dockerfile}");
    assert!(source.file("sdctl").is_none());

    std::fs::write(dir.path().join("script"), "#!/bin/sh\n").unwrap();
    let e = ImageKind::Runtime.context(Some(&dir.path().join("script"))).unwrap_err();
    assert!(format!("{e}").contains("is not a linux x86-64 executable"), "{e}");
    // The same inputs give the same tag.
    assert_eq!(
        context.tag().unwrap(),
        ImageKind::Runtime.context(Some(std::path::Path::new(&binary))).unwrap().tag().unwrap()
    );
}

async fn sdctl(world: &World, binary: &str, args: &[&str]) -> crate::support::Run {
    let mut cmd = world.command(args);
    cmd.env("SDCTL_RUNTIME_BINARY", binary);
    crate::support::Run::from(cmd.output().await.unwrap())
}

fn outcome(run: &crate::support::Run, step: &str) -> String {
    run.json_lines()
        .iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == step)
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{step} did not finish: {run:?}"))
}

fn build_bodies(world: &World, since: usize) -> Vec<Value> {
    world
        .requests()
        .into_iter()
        .skip(since)
        .filter(|r| r["methodId"] == "cloudbuild.projects.builds.create")
        .map(|r| r["body"].clone())
        .collect()
}

/// Builds run as sdctl's own build service account with exactly what they need: in an
/// organization that gives default service accounts no role (enforced by default in new ones),
/// a build run as Compute Engine's default account could not even fetch its source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_built_once_and_the_staging_bucket_goes_with_down() {
    let world = World::with_scenario("orgPolicies: { iam.automaticIamGrantsForDefaultServiceAccounts: deny }\n").await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_runtime_binary(dir.path());

    let up = sdctl(&world, &binary, &["up", "images", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(outcome(&up, "images"), "created");
    let summary = up.json_lines().last().unwrap().clone();
    let webui = summary["outputs"]["webuiImage"].as_str().unwrap().to_string();
    let runtime = summary["outputs"]["runtimeImage"].as_str().unwrap().to_string();
    assert!(webui.starts_with("us-central1-docker.pkg.dev/my-project/sd-demo-images/sd-webui:"), "{webui}");
    assert!(runtime.starts_with("us-central1-docker.pkg.dev/my-project/sd-demo-images/sdctl-runtime:"), "{runtime}");

    // Contexts went to the staging bucket; each build names its context, machine, disk, timeout.
    let bucket = world.named("Bucket", "sd-demo-build-");
    assert_eq!(bucket.len(), 1, "{:?}", world.resources());
    let bucket = bucket[0].rsplit('/').next().unwrap().to_string();
    let uploads = world.requests_of("storage.objects.insert");
    assert_eq!(uploads.len(), 2);
    let builds = build_bodies(&world, 0);
    assert_eq!(builds.len(), 2);
    let of = |image: &str| builds.iter().find(|b| b["images"][0] == image).unwrap().clone();
    let w = of(&webui);
    let account = "sd-demo-build@my-project.iam.gserviceaccount.com";
    for b in &builds {
        assert_eq!(b["serviceAccount"], format!("projects/my-project/serviceAccounts/{account}"), "{b}");
    }
    let member = format!("serviceAccount:{account}");
    let granted = |method: &str, role: &str| {
        world.requests_of(method).iter().any(|r| {
            let policy = if r["body"]["policy"].is_object() { &r["body"]["policy"] } else { &r["body"] };
            policy["bindings"].as_array().into_iter().flatten().any(|b| {
                b["role"] == role && b["members"].as_array().is_some_and(|m| m.contains(&Value::from(member.clone())))
            })
        })
    };
    assert!(granted("storage.buckets.setIamPolicy", "roles/storage.objectAdmin"), "staging bucket");
    assert!(granted("artifactregistry.projects.locations.repositories.setIamPolicy", "roles/artifactregistry.writer"));
    assert!(!granted("cloudresourcemanager.projects.setIamPolicy", "roles/editor"), "no project-wide role");
    assert_eq!(w["source"]["storageSource"]["bucket"], bucket);
    assert!(w["source"]["storageSource"]["object"].as_str().unwrap().starts_with("contexts/sd-webui-"));
    assert_eq!(w["timeout"], "7200s");
    assert!(w["options"]["machineType"] == "E2_HIGHCPU_32" || w["options"]["machineType"] == 6, "{w}");
    assert!(w["options"]["diskSizeGb"] == "100" || w["options"]["diskSizeGb"] == 100, "{w}");
    assert_eq!(w["steps"][0]["args"], serde_json::json!(["build", "--tag", webui, "."]));
    assert_eq!(w["logsBucket"], format!("gs://{bucket}"));
    let r = of(&runtime);
    assert_eq!(r["timeout"], "1200s");
    assert!(r["options"]["machineType"].is_null(), "the default machine suffices: {r}");

    // Nothing changed: a second `up` and `sdctl build` build nothing.
    let before = world.requests().len();
    let again = sdctl(&world, &binary, &["up", "images", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(outcome(&again, "images"), "unchanged");
    let build = sdctl(&world, &binary, &["build", "runtime", "-c", config.arg()]).await;
    assert_eq!(build.code, 0, "{build:?}");
    assert_eq!(build.stdout.trim(), runtime);
    assert!(build_bodies(&world, before).is_empty(), "unchanged images are not rebuilt");
    assert_eq!(world.mutating_since(before).iter().filter(|r| r["service"] == "cloudbuild").count(), 0);

    // --force rebuilds; a changed context gets a new tag.
    let forced = sdctl(&world, &binary, &["build", "runtime", "--force", "-c", config.arg()]).await;
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_eq!(build_bodies(&world, before).len(), 1);
    std::fs::write(&binary, [&std::fs::read(&binary).unwrap()[..], b"v2"].concat()).unwrap();
    let changed = sdctl(&world, &binary, &["build", "runtime", "-c", config.arg()]).await;
    assert_eq!(changed.code, 0, "{changed:?}");
    assert_ne!(changed.stdout.trim(), runtime);

    // `down images` deletes the staging bucket (the images go with the repository).
    let down = sdctl(&world, &binary, &["down", "images", "-y", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(outcome(&down, "images"), "deleted");
    assert!(world.named("Bucket", "sd-demo-build-").is_empty(), "{:?}", world.resources());
    assert!(world.named("ServiceAccount", "sd-demo-build@").is_empty(), "the build account goes too");
    assert_eq!(world.count("Repository"), 1, "down images leaves the registry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_timed_out_builds_show_their_log_tail() {
    let world = World::with_scenario(
        "buildFailures: [ { image: sdctl-runtime, message: \"step 0 failed: COPY failed: no source files\", times: 1 } ]",
    )
    .await;
    let config = example_with("sd-agones-t4.yaml", &[]);
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_runtime_binary(dir.path());
    let up = sdctl(&world, &binary, &["up", "registry", "-c", config.arg()]).await;
    assert_eq!(up.code, 0, "{up:?}");

    let failed = sdctl(&world, &binary, &["build", "runtime", "-c", config.arg()]).await;
    assert_eq!(failed.code, 4, "{failed:?}");
    assert!(failed.stderr.contains("ended FAILURE: step 0 failed: COPY failed: no source files"), "{}", failed.stderr);
    assert!(failed.stderr.contains("log tail"), "{}", failed.stderr);
    assert!(failed.stderr.contains("ERROR: step 0 failed"), "the log's own lines: {}", failed.stderr);
    assert!(failed.stderr.contains("run `sdctl build` again"));

    // The scenario fails once: the next run succeeds.
    let ok = sdctl(&world, &binary, &["build", "runtime", "-c", config.arg()]).await;
    assert_eq!(ok.code, 0, "{ok:?}");

    // A build longer than its timeout (1200 s for the runtime image) ends TIMEOUT.
    let slow = World::with_scenario("latency: { cloudbuild.projects.builds.create: 5000 }").await;
    assert_eq!(sdctl(&slow, &binary, &["up", "registry", "-c", config.arg()]).await.code, 0);
    let timed_out = sdctl(&slow, &binary, &["build", "runtime", "-c", config.arg()]).await;
    assert_eq!(timed_out.code, 4, "{timed_out:?}");
    assert!(timed_out.stderr.contains("ended TIMEOUT: Build timeout after 1200s"), "{}", timed_out.stderr);
    assert!(timed_out.stderr.contains("ERROR: Build timeout"), "{}", timed_out.stderr);
}
