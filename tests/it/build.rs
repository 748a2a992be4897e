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

/// Every URL in `text`.
fn urls(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(str::to_string)
        .collect()
}

fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Everything the WebUI build fetches is pinned: the base image by version, A1111 by commit
/// (checked), each repository A1111's launcher clones by commit (the deleted
/// Stability-AI/stablediffusion replaced by a fork holding the same commit), the CLIP and
/// OpenCLIP archives by commit, and every pip package by exact version.
#[test]
fn the_webui_image_pins_everything_it_fetches() {
    let context = templates::webui().unwrap();
    let dockerfile = String::from_utf8(context.file("Dockerfile").unwrap().data.clone()).unwrap();
    assert!(!dockerfile.contains("{{") && !dockerfile.contains("{%"), "fully rendered:\n{dockerfile}");
    let parsed = parse(&dockerfile);
    let froms = from_images(&parsed);
    assert_eq!(froms.len(), 1);
    let tag = froms[0].1.clone().expect("the base image has a tag");
    assert!(tag.starts_with("12.1.1-") && tag != "latest", "{tag}");
    assert!(!dockerfile.contains("# syntax="), "no floating BuildKit frontend");

    // Every URL fetched, and what pins it.
    let mut fetched = urls(&dockerfile);
    fetched.sort();
    fetched.dedup();
    let env = |name: &str| -> String {
        let line = dockerfile
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} is not set:\n{dockerfile}"));
        line.split_once('=').unwrap().1.trim().trim_end_matches('\\').trim().trim_matches('"').to_string()
    };
    let mut pinned = Vec::new();
    for prefix in ["ASSETS", "STABLE_DIFFUSION", "STABLE_DIFFUSION_XL", "K_DIFFUSION", "BLIP"] {
        let (repo, commit) = (env(&format!("{prefix}_REPO")), env(&format!("{prefix}_COMMIT_HASH")));
        assert!(is_commit(&commit), "{prefix}_COMMIT_HASH {commit:?} is not a commit");
        assert!(repo.starts_with("https://github.com/"), "{prefix}_REPO {repo}");
        pinned.push(repo);
    }
    assert_eq!(env("STABLE_DIFFUSION_REPO"), "https://github.com/w-e-w/stablediffusion.git");
    assert_eq!(env("STABLE_DIFFUSION_COMMIT_HASH"), "cf1d67a6fd5ea1aa600c4df58e5b47da45f6bdbf", "A1111's own pin");
    for package in ["CLIP_PACKAGE", "OPENCLIP_PACKAGE"] {
        let url = urls(&env(package)).pop().unwrap_or_else(|| panic!("{package} names no archive"));
        let commit = url.rsplit('/').next().unwrap().trim_end_matches(".zip");
        assert!(is_commit(commit), "{package} {url} is not an archive of a commit");
        pinned.push(url);
    }
    // A1111 itself: fetched by commit and checked.
    let webui = templates::pins::WEBUI_COMMIT;
    assert!(is_commit(webui));
    assert!(dockerfile.contains(&format!("fetch -q --depth 1 {} {webui}", templates::pins::WEBUI_REPOSITORY)));
    assert!(dockerfile.contains(&format!("test \"$(git -C /opt/sd-webui rev-parse HEAD)\" = \"{webui}\"")));
    assert!(!dockerfile.contains("--branch"), "no branch or tag names");
    pinned.push(templates::pins::WEBUI_REPOSITORY.to_string());
    // The torch index holds versions, pinned in the pip lines below.
    pinned.push(templates::pins::TORCH_INDEX.to_string());
    for url in &fetched {
        assert!(pinned.contains(url), "{url} is fetched but not pinned");
    }
    // pip: exact versions only (archives by commit, above).
    for line in dockerfile.lines().filter(|l| l.contains("pip install")) {
        let packages = line.split("pip install").nth(1).unwrap();
        for word in packages.split_whitespace().map(|w| w.trim_matches('"')) {
            if word.starts_with('-') || word.starts_with("http") || word == "\\" || word.is_empty() {
                continue;
            }
            assert!(word.contains("=="), "unpinned {word} in {line}");
        }
    }
    for pin in ["torch==2.1.2", "torchvision==0.16.2", "xformers==0.0.23.post1", "pip==24.2", "setuptools==69.5.1"] {
        assert!(dockerfile.contains(pin), "{pin} missing:\n{dockerfile}");
    }
    assert!(parsed.instructions.iter().any(|i| matches!(i, Instruction::Entrypoint(_))));
}

/// The start script: secure by default, the share's models read-only, outputs in the pod.
#[test]
fn the_webui_start_script_is_secure_by_default() {
    let context = templates::webui().unwrap();
    let start = context.file("start.sh").unwrap();
    let script = String::from_utf8(start.data.clone()).unwrap();
    assert!(start.executable);
    assert!(!script.contains("{{") && !script.contains("{%"), "fully rendered:\n{script}");
    let code: String = script.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    assert!(!code.contains("--disable-safe-unpickle"));
    let insecure = code.lines().filter(|l| l.contains("--enable-insecure-extension-access")).collect::<Vec<_>>();
    assert_eq!(insecure.len(), 1);
    assert!(script.contains(r#"if [ "${SDCTL_WEBUI_INSECURE_EXTENSION_ACCESS:-0}" = "1" ]; then"#));
    assert!(script.contains("--listen --port 7860 --api") && script.contains("--hide-ui-dir-config"));
    assert!(
        script.contains("SHARED=${SDCTL_SHARED_DIR:-/sd/shared}")
            && script.contains("OUTPUTS=${SDCTL_OUTPUTS_DIR:-/sd/outputs}")
    );
    assert!(script.contains(r#"if [ "${1:-}" = "prepare" ]"#), "first-start preparation of the share");
    let check = std::process::Command::new("sh").args(["-n", "-c", &script]).status().unwrap();
    assert!(check.success(), "valid sh");
}

/// ComfyUI's image: the release's commit, torch from the CUDA index, every other package at
/// the version in its constraints; no manager, no custom nodes.
#[test]
fn the_comfyui_image_pins_everything_it_fetches() {
    let context = templates::comfyui().unwrap();
    let text = |name: &str| String::from_utf8(context.file(name).unwrap().data.clone()).unwrap();
    let dockerfile = text("Dockerfile");
    assert!(!dockerfile.contains("{{") && !dockerfile.contains("{%"), "fully rendered:\n{dockerfile}");
    let parsed = parse(&dockerfile);
    let froms = from_images(&parsed);
    assert_eq!(froms.len(), 1);
    assert!(froms[0].1.as_deref().is_some_and(|t| t.starts_with("12.1.1-")), "{froms:?}");
    let commit = templates::pins::COMFYUI_COMMIT;
    assert!(is_commit(commit));
    assert!(dockerfile.contains(&format!("fetch -q --depth 1 {} {commit}", templates::pins::COMFYUI_REPOSITORY)));
    assert!(dockerfile.contains(&format!("test \"$(git -C /opt/comfyui rev-parse HEAD)\" = \"{commit}\"")));
    let mut fetched = urls(&dockerfile);
    fetched.sort();
    fetched.dedup();
    assert_eq!(
        fetched,
        [templates::pins::TORCH_INDEX.to_string(), templates::pins::COMFYUI_REPOSITORY.to_string()],
        "only the pinned repository and the torch index"
    );
    // pip: exact versions, or ComfyUI's requirements within the constraints.
    for line in dockerfile.lines() {
        let Some(packages) = line.split("pip install").nth(1) else { continue };
        let mut words = packages.split_whitespace();
        while let Some(word) = words.next() {
            match word {
                "-r" | "-c" => {
                    let file = words.next().unwrap();
                    assert!(["requirements.txt", "sdctl/constraints.txt"].contains(&file), "{line}");
                }
                w if w.starts_with('-') || w == "\\" || w == "&&" => {}
                w => assert!(w.contains("=="), "unpinned {w} in {line}"),
            }
        }
        if line.contains("-r requirements.txt") {
            assert!(line.contains("-c sdctl/constraints.txt"), "{line}");
        }
    }
    for pin in ["torch==2.5.1", "torchvision==0.20.1", "torchaudio==2.5.1", "pip==24.2"] {
        assert!(dockerfile.contains(pin), "{pin} missing:\n{dockerfile}");
    }
    // The constraints: one exact version per package, ComfyUI's own pins among them.
    let constraints = text("constraints.txt");
    let pins: Vec<&str> = constraints.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    assert!(pins.len() > 40, "{constraints}");
    for pin in &pins {
        let (name, version) = pin.split_once("==").unwrap_or_else(|| panic!("{pin} is not name==version"));
        assert!(!name.is_empty() && version.chars().next().is_some_and(|c| c.is_ascii_digit()), "{pin}");
        assert!(
            !["torch", "torchvision", "torchaudio", "triton"].contains(&name) && !name.starts_with("nvidia-"),
            "torch comes from its index: {pin}"
        );
    }
    for pin in ["comfyui-frontend-package==1.27.10", "comfyui-workflow-templates==0.1.94", "transformers==", "numpy=="]
    {
        assert!(pins.iter().any(|p| p.starts_with(pin)), "{pin} missing:\n{constraints}");
    }
    // The share's models in A1111's layout, for ComfyUI.
    let paths = text("extra_model_paths.yaml");
    let parsed: Value = serde_saphyr::from_str(&paths).unwrap();
    assert_eq!(parsed["sdctl_share"]["base_path"], "/sd/shared");
    assert_eq!(parsed["sdctl_share"]["checkpoints"], "models/Stable-diffusion");
}

#[test]
fn the_comfyui_start_script_is_secure_by_default() {
    let context = templates::comfyui().unwrap();
    let start = context.file("start.sh").unwrap();
    let script = String::from_utf8(start.data.clone()).unwrap();
    assert!(start.executable);
    assert!(!script.contains("{{") && !script.contains("{%"), "fully rendered:\n{script}");
    let code: String = script.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    assert!(code.contains("--disable-all-custom-nodes"), "no custom node loads");
    assert!(!code.to_lowercase().contains("manager"), "no ComfyUI-Manager");
    assert!(code.contains("--listen 0.0.0.0 --port 7860"), "the same port as every engine");
    assert!(code.contains("--extra-model-paths-config \"$COMFYUI/sdctl/extra_model_paths.yaml\""));
    for dir in [
        "--output-directory \"$OUTPUTS/output\"",
        "--input-directory \"$OUTPUTS/input\"",
        "--user-directory \"$OUTPUTS/user\"",
    ] {
        assert!(code.contains(dir), "{dir}: the user's files on their disk (okg) or copied by the sidecar");
    }
    assert!(script.contains(r#"if [ "${1:-}" = "prepare" ]"#), "the share prepared by the same image");
    let check = std::process::Command::new("sh").args(["-n", "-c", &script]).status().unwrap();
    assert!(check.success(), "valid sh");
    // `prepare` makes A1111's model folders on an empty share only: a bucket is never empty, and
    // its pods may not write under models/.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("start.sh");
    std::fs::write(&path, &script).unwrap();
    let prepare = |share: &std::path::Path| {
        let run = std::process::Command::new("sh").arg(&path).arg("prepare").arg(share).output().unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    };
    let (empty, bucket) = (dir.path().join("empty"), dir.path().join("bucket"));
    std::fs::create_dir_all(&empty).unwrap();
    for folder in ["models", "embeddings", "outputs"] {
        std::fs::create_dir_all(bucket.join(folder)).unwrap();
    }
    prepare(&empty);
    prepare(&bucket);
    for folder in ["models/Stable-diffusion", "models/Lora", "embeddings", "outputs"] {
        assert!(empty.join(folder).is_dir(), "{folder} on the empty share");
    }
    assert!(!bucket.join("models/Stable-diffusion").exists(), "nothing made under a bucket's models/");
}

/// A configuration with only ComfyUI templates builds ComfyUI's image, not AUTOMATIC1111's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_engines_the_templates_use_are_built() {
    let world = World::start().await;
    let config =
        example_with("sd-agones-t4.yaml", &[("access:", "templates:\n  - { name: comfy, engine: comfyui }\naccess:")]);
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_runtime_binary(dir.path());
    let up = sdctl(&world, &binary, &["up", "images", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let summary = up.json_lines().last().unwrap().clone();
    let comfyui = summary["outputs"]["comfyuiImage"].as_str().unwrap_or_default().to_string();
    assert!(comfyui.starts_with("us-central1-docker.pkg.dev/my-project/sd-demo-images/sd-comfyui:"), "{summary:#}");
    assert!(summary["outputs"]["webuiImage"].is_null(), "{summary:#}");
    let builds = build_bodies(&world, 0);
    let mut images: Vec<&str> = builds.iter().map(|b| b["images"][0].as_str().unwrap()).collect();
    images.sort();
    assert_eq!(images.len(), 2, "{images:?}");
    assert!(images[0].contains("/sd-comfyui:") && images[1].contains("/sdctl-runtime:"), "{images:?}");
    let c = builds.iter().find(|b| b["images"][0] == comfyui.as_str()).unwrap();
    assert_eq!(c["timeout"], "7200s", "a WebUI's build: {c}");
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

/// A new Filestore share is root's, mode 0755: the WebUI (uid 1000) could write nothing there.
/// `start.sh prepare`, run as root with only CHOWN, seeds it and gives outputs/ to uid 1000;
/// then uid 1000 can write a user's outputs but not the models. Real file permissions: needs
/// root and `setpriv` (util-linux).
#[test]
fn preparing_a_root_owned_share_makes_outputs_writable_and_models_read_only() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if !root || which("setpriv").is_none() {
        eprintln!("skipped: needs root and setpriv to make root-owned files and drop to uid 1000");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (webui, share) = (dir.path().join("webui"), dir.path().join("share"));
    std::fs::create_dir_all(webui.join("models.seed/Stable-diffusion")).unwrap();
    std::fs::write(webui.join("models.seed/Stable-diffusion/put-checkpoints-here"), b"").unwrap();
    std::fs::create_dir_all(webui.join("embeddings.seed")).unwrap();
    std::fs::create_dir(&share).unwrap();
    std::fs::set_permissions(&share, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.path().join("start.sh");
    std::fs::write(&script, &templates::webui().unwrap().file("start.sh").unwrap().data).unwrap();
    let as_user = |uid: &str, keep: &str, command: &str| {
        std::process::Command::new("setpriv")
            .args(["--reuid", uid, "--regid", uid, "--clear-groups", "--bounding-set", keep, "sh", "-c", command])
            .env("SDCTL_WEBUI_DIR", &webui)
            .output()
            .unwrap()
    };
    let outputs = share.join("outputs");
    // Before: uid 1000 cannot even create the outputs folder.
    let denied = as_user("1000", "-all", &format!("mkdir {}", outputs.display()));
    assert!(!denied.status.success(), "a root-owned share refuses uid 1000");

    let prepared = as_user("0", "-all,+chown", &format!("sh {} prepare {}", script.display(), share.display()));
    assert!(prepared.status.success(), "{}", String::from_utf8_lossy(&prepared.stderr));
    assert!(share.join("models/Stable-diffusion/put-checkpoints-here").exists(), "seeded");
    assert_eq!(std::fs::metadata(&outputs).unwrap().uid(), 1000);
    assert_eq!(std::fs::metadata(share.join("models")).unwrap().uid(), 0, "models stay root's");

    // The sidecar (uid 1000) writes a user's outputs; nobody at uid 1000 writes the models.
    let write =
        as_user("1000", "-all", &format!("mkdir -p {0}/alice && echo png > {0}/alice/1.png", outputs.display()));
    assert!(write.status.success(), "{}", String::from_utf8_lossy(&write.stderr));
    let tamper = as_user("1000", "-all", &format!("touch {}/models/Stable-diffusion/evil.ckpt", share.display()));
    assert!(!tamper.status.success(), "the models are not writable by the WebUI's user");
    // Idempotent: a second prepare changes nothing and seeds nothing over people's files.
    let again = as_user("0", "-all,+chown", &format!("sh {} prepare {}", script.display(), share.display()));
    assert!(again.status.success());
    assert!(outputs.join("alice/1.png").exists());
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| std::path::Path::new(d).join(program)).find(|p| p.exists())
}
