//! The image-cache builder: its startup script run against fakes of ctr, curl, mkfs.ext4, mount
//! and umount with a scratch directory standing in for the data disk, and shellcheck on it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::kube_layer::agones_manifest;
use super::support::repo_root;
use super::support::world::World;

const TOKEN: &str = "ya29.SECRET-BUILDER-TOKEN";

fn script() -> PathBuf {
    repo_root().join("templates/image-cache/startup.sh")
}

#[test]
fn startup_script_passes_shellcheck() {
    let out = Command::new("shellcheck").arg("--severity=style").arg(script()).output().unwrap_or_else(|e| {
        panic!("shellcheck is needed for this test ({e}): install it with `apt-get install shellcheck`")
    });
    assert!(
        out.status.success(),
        "shellcheck found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A scratch machine: fake tools first on PATH, containerd's snapshot directories, the "disk".
struct Builder {
    dir: tempfile::TempDir,
}

impl Builder {
    fn new(images: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["bin", "state", "disk-mount", "containerd/snapshots"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        fs::write(root.join("device"), "").unwrap();
        fs::write(root.join("console"), "").unwrap();
        fs::write(root.join("state/images"), images).unwrap();
        // Three unpacked layers (1 is the bottom one) and an active container snapshot (4).
        let layers: [(u32, &[(&str, &str)]); 4] = [
            (1, &[("bin/sh", "#!shell"), ("etc/os-release", "ID=debian")]),
            (2, &[("usr/lib/libcuda.so", "cuda bytes")]),
            (3, &[("app/webui.py", "print('webui')")]),
            (4, &[("tmp/scratch", "container writes")]),
        ];
        for (n, files) in layers {
            for (path, content) in files {
                let file = root.join(format!("containerd/snapshots/{n}/fs/{path}"));
                fs::create_dir_all(file.parent().unwrap()).unwrap();
                fs::write(file, content).unwrap();
            }
        }
        let fakes = [
            ("ctr", FAKE_CTR),
            ("curl", FAKE_CURL),
            ("mkfs.ext4", "#!/bin/bash\necho \"mkfs.ext4 $*\" >>\"$FAKE_ROOT/state/calls\"\n[ -e \"${@: -1}\" ]\n"),
            ("mount", "#!/bin/bash\necho \"mount $*\" >>\"$FAKE_ROOT/state/calls\"\n"),
            ("umount", "#!/bin/bash\necho \"umount $*\" >>\"$FAKE_ROOT/state/calls\"\n"),
        ];
        for (name, body) in fakes {
            let path = root.join("bin").join(name);
            fs::write(&path, body).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self) -> std::process::Output {
        let root = self.root();
        let path = format!("{}:{}", root.join("bin").display(), std::env::var("PATH").unwrap_or_default());
        Command::new("bash")
            .arg(script())
            .env("PATH", path)
            .env("FAKE_ROOT", root)
            .env("SDCTL_METADATA_URL", "http://metadata.test/computeMetadata/v1")
            .env("SDCTL_CACHE_DEVICE", root.join("device"))
            .env("SDCTL_CACHE_MOUNT", root.join("disk-mount"))
            .env("SDCTL_CONSOLE", root.join("console"))
            .output()
            .unwrap()
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.root().join(path)).unwrap_or_default()
    }
}

/// ctr: pulls record their arguments; `snapshot ls` lists layers 1-3 as committed (1 without a
/// parent, as tabwriter prints it), an active snapshot and a view an earlier run left; `snapshot mount` of a view prints a
/// bind mount for the bottom layer and an overlay (the layer's own directory first) otherwise.
const FAKE_CTR: &str = r#"#!/bin/bash
set -eu
state="$FAKE_ROOT/state"
snap="$FAKE_ROOT/containerd/snapshots"
[ "${1:-}" = "-n" ] && shift 2
case "$1 ${2:-}" in
  "version ") echo "Server:"; echo "  Version: 1.7.24" ;;
  "image pull")
    echo "pull ${*:3}" >>"$state/calls"
    case "${*: -1}" in *missing*) echo "not found" >&2; exit 1 ;; esac
    echo "${*: -1}" >>"$state/pulled" ;;
  "images ls")
    echo "REF TYPE DIGEST SIZE PLATFORMS LABELS"
    while read -r ref; do echo "$ref application/vnd.oci.image.manifest.v1+json sha256:feed 6.1 GiB linux/amd64 -"; done <"$state/pulled" ;;
  "snapshot ls")
    printf '%-20s %-20s %s\n' KEY PARENT KIND
    printf '%-20s %-20s %s\n' sha256:layer1 "" Committed
    printf '%-20s %-20s %s\n' sha256:layer2 sha256:layer1 Committed
    printf '%-20s %-20s %s\n' sha256:layer3 sha256:layer2 Committed
    printf '%-20s %-20s %s\n' container-rw sha256:layer3 Active
    printf '%-20s %-20s %s\n' sdctl-view-2 sha256:layer2 View ;;
  "snapshot view") echo "$3 $4" >>"$state/views" ;;
  "snapshot mount")
    key=$(grep "^$4 " "$state/views" | cut -d' ' -f2)
    n=${key#sha256:layer}
    if [ "$n" = 1 ]; then
      echo "mount -t bind $snap/1/fs $3 -o ro,rbind"
    else
      lower="$snap/$n/fs"; i=$n
      while [ "$i" -gt 1 ]; do i=$((i - 1)); lower="$lower:$snap/$i/fs"; done
      echo "mount -t overlay overlay $3 -o ro,lowerdir=$lower"
    fi ;;
  "snapshot rm") echo "rm $3" >>"$state/calls" ;;
  *) echo "fake ctr: unexpected $*" >&2; exit 2 ;;
esac
"#;

const FAKE_CURL: &str = r#"#!/bin/bash
url="${*: -1}"
case "$url" in
  */instance/attributes/sdctl-images) cat "$FAKE_ROOT/state/images" ;;
  */instance/service-accounts/default/token) echo '{"access_token":"ya29.SECRET-BUILDER-TOKEN","expires_in":3599,"token_type":"Bearer"}' ;;
  *) exit 22 ;;
esac
"#;

#[test]
fn startup_script_lays_out_the_cache_like_gke_reads_it() {
    let image = "us-central1-docker.pkg.dev/p/sd-images/sd-webui:abc123";
    let builder = Builder::new(image);
    let out = builder.run();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let console = builder.read("console");
    assert!(out.status.success(), "the script failed:\n{stdout}\nconsole:\n{console}");

    // Progress on the serial console, ending with done; the token nowhere.
    let lines: Vec<&str> = console.lines().collect();
    assert_eq!(lines.first(), Some(&"sdctl-image-cache: started"), "{console}");
    assert!(lines.contains(&format!("sdctl-image-cache: pulling {image}").as_str()), "{console}");
    assert!(lines.contains(&"sdctl-image-cache: copying layer 3/3"), "{console}");
    assert_eq!(lines.last(), Some(&"sdctl-image-cache: done: 3 layers"), "{console}");
    assert!(!console.contains(TOKEN) && !stdout.contains(TOKEN), "the token leaked:\n{console}\n{stdout}");

    // The pull used the VM's token; the disk was formatted ext4, mounted, and unmounted at the end.
    let calls = builder.read("state/calls");
    assert!(calls.contains(&format!("pull --user oauth2accesstoken:{TOKEN} {image}")), "{calls}");
    let device = builder.root().join("device");
    assert!(
        calls.contains(&format!(
            "mkfs.ext4 -q -F -m 0 -E lazy_itable_init=0,lazy_journal_init=0,discard {}",
            device.display()
        )),
        "{calls}"
    );
    let mount = builder.root().join("disk-mount");
    assert!(calls.contains(&format!("mount -o discard,defaults {} {}", device.display(), mount.display())), "{calls}");
    assert!(calls.trim_end().ends_with(&format!("umount {}", mount.display())), "unmounted last:\n{calls}");
    // The view an earlier run left went first; every view it opened was removed again.
    assert!(calls.starts_with("rm sdctl-view-2\n"), "{calls}");
    assert_eq!(calls.matches("rm sdctl-view-").count(), 4, "{calls}");

    // Each committed layer under snapshots/<n>/fs with its files; the active snapshot left out.
    assert_eq!(builder.read("disk-mount/snapshots/1/fs/etc/os-release"), "ID=debian");
    assert_eq!(builder.read("disk-mount/snapshots/2/fs/usr/lib/libcuda.so"), "cuda bytes");
    assert_eq!(builder.read("disk-mount/snapshots/3/fs/app/webui.py"), "print('webui')");
    assert!(!builder.root().join("disk-mount/snapshots/4").exists(), "the active snapshot was copied");
    // Layer 2's copy holds only its own files, not its parent's.
    assert!(!builder.root().join("disk-mount/snapshots/2/fs/bin/sh").exists());

    // snapshots.metadata: "<key> snapshots/<n>/fs <md5 of the sorted md5s of its files>".
    let metadata = builder.read("disk-mount/snapshots.metadata");
    let rows: Vec<Vec<&str>> = metadata.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(rows.len(), 3, "{metadata}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[..2], [format!("sha256:layer{}", i + 1).as_str(), &format!("snapshots/{}/fs", i + 1)]);
        assert_eq!(row[2].len(), 32, "an md5 checksum: {metadata}");
    }
    let expected = Command::new("bash")
        .args(["-c", "printf 'cuda bytes' | md5sum | cut -d' ' -f1 | md5sum | cut -d' ' -f1"])
        .output()
        .unwrap();
    let expected = String::from_utf8(expected.stdout).unwrap();
    assert_eq!(rows[1][2], expected.trim(), "layer 2's checksum");
    let images = builder.read("disk-mount/images.metadata");
    assert!(images.starts_with("REF ") && images.contains(image), "{images}");
}

#[test]
fn startup_script_reports_a_failed_pull_without_the_token() {
    let builder = Builder::new("us-central1-docker.pkg.dev/p/sd-images/missing:1");
    let out = builder.run();
    assert!(!out.status.success());
    let console = builder.read("console");
    let last = console.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("sdctl-image-cache: failed: cannot pull us-central1-docker.pkg.dev/p/sd-images/missing:1"),
        "{console}"
    );
    assert!(!console.contains("done"), "{console}");
    let all = format!("{console}{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains(TOKEN), "the token leaked: {all}");
}

#[test]
fn startup_script_refuses_a_missing_disk() {
    let builder = Builder::new("img:1");
    fs::remove_file(builder.root().join("device")).unwrap();
    let out = builder.run();
    assert!(!out.status.success());
    let console = builder.read("console");
    assert!(console.contains("sdctl-image-cache: failed: the data disk is not attached at"), "{console}");
    assert!(!builder.read("state/calls").contains("mkfs"), "formatted a missing disk");
}

// --- the `image-cache` step against the emulator ---

fn cache_config(example: &str) -> crate::support::TempConfig {
    crate::support::example_with(
        example,
        &[("  imageStreaming: true\n", "  imageStreaming: true\n  imageCache: true\n")],
    )
}

fn step_finished(run: &crate::support::Run, step: &str) -> serde_json::Value {
    run.json_lines()
        .into_iter()
        .find(|e| e["event"] == "step_finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("no step_finished of {step}: {run:?}"))
}

fn position(world: &World, method_id: &str) -> usize {
    world.requests().iter().position(|r| r["methodId"] == method_id).unwrap_or_else(|| panic!("no {method_id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_builds_the_image_cache_once_for_the_gpu_pool_and_down_deletes_it() {
    let world = World::start().await;
    let config = cache_config("sd-agones-l4-gcs.yaml");
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    assert_eq!(step_finished(&up, "image-cache")["outcome"], "created");
    let webui = up.json_lines().last().unwrap()["outputs"]["webuiImage"].as_str().unwrap().to_string();

    // The builder: Container-Optimized OS, no external IP, the node service account, our script
    // and the WebUI image in its metadata, the data disk as device sdctl-image-cache.
    let vm = world.request("compute.instances.insert")["body"].clone();
    assert_eq!(vm["name"], "sd-l4-cache-builder");
    assert!(vm["networkInterfaces"][0].get("accessConfigs").is_none(), "the builder got an external IP: {vm}");
    assert!(vm["disks"][0]["initializeParams"]["sourceImage"].as_str().unwrap().contains("cos-cloud"), "{vm}");
    assert_eq!(vm["disks"][1]["deviceName"], "sdctl-image-cache");
    // The data disk goes with the VM until the build is done (one request cleans up after Ctrl-C).
    assert_eq!(vm["disks"][1]["autoDelete"], true);
    assert_eq!(vm["serviceAccounts"][0]["email"], "sd-l4-nodes@my-project.iam.gserviceaccount.com");
    let item = |key: &str| {
        vm["metadata"]["items"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap()["value"].clone()
    };
    assert_eq!(item("startup-script"), fs::read_to_string(script()).unwrap());
    assert_eq!(item("sdctl-images"), webui.as_str());
    // Then the disk is kept, the VM goes, and the image is made from the disk, in the
    // environment's family.
    let keep = world.request("compute.instances.setDiskAutoDelete");
    assert_eq!(
        (keep["query"]["autoDelete"].as_str(), keep["query"]["deviceName"].as_str()),
        (Some("false"), Some("sdctl-image-cache"))
    );
    assert!(position(&world, "compute.instances.setDiskAutoDelete") < position(&world, "compute.instances.delete"));
    assert!(position(&world, "compute.instances.delete") < position(&world, "compute.images.insert"));
    let image = world.request("compute.images.insert")["body"].clone();
    let name = image["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("sd-l4-cache-") && name.len() == "sd-l4-cache-".len() + 16, "{name}");
    assert!(
        webui.ends_with(&format!(":{}", &name["sd-l4-cache-".len()..])),
        "named after the WebUI tag: {name} {webui}"
    );
    assert!(image["sourceDisk"].as_str().unwrap().ends_with("/zones/us-central1-a/disks/sd-l4-cache-data"));
    assert_eq!(
        (image["family"].as_str(), image["labels"]["sdctl-env"].as_str()),
        (Some("sd-l4-webui-cache"), Some("sd-l4"))
    );
    // The build was followed visibly.
    let progress: Vec<String> = up
        .json_lines()
        .into_iter()
        .filter(|e| e["event"] == "step_progress" && e["step"] == "image-cache")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(progress.iter().any(|m| m.contains("copying layer")), "{progress:#?}");
    // Nothing of the builder is left; the image is.
    assert!(world.named("Instance", "cache-builder").is_empty() && world.named("Disk", "cache-").is_empty());
    assert_eq!(world.named("Image", "sd-l4-cache-").len(), 1, "{:#?}", world.resources());

    // The GPU pool reads it as a CONTAINER_IMAGE_CACHE secondary boot disk, with image streaming.
    let pool = world
        .requests_of("container.projects.locations.clusters.nodePools.create")
        .into_iter()
        .find(|r| r["body"]["nodePool"]["name"].as_str().is_some_and(|n| n.starts_with("gpu-")))
        .expect("the GPU pool was created");
    // Named after the WebUI image it caches: a new image needs a new pool.
    assert_eq!(pool["body"]["nodePool"]["name"], format!("gpu-{}", &name["sd-l4-cache-".len()..][..8]));
    let node_config = &pool["body"]["nodePool"]["config"];
    // (The client sends enums as numbers: CONTAINER_IMAGE_CACHE is 1.)
    assert_eq!(
        node_config["secondaryBootDisks"],
        serde_json::json!([{ "diskImage": format!("projects/my-project/global/images/{name}"), "mode": 1 }])
    );
    assert_eq!(node_config["gcfsConfig"]["enabled"], true);
    assert!(
        position(&world, "compute.images.insert")
            < position(&world, "container.projects.locations.clusters.nodePools.create")
    );

    // A second `up` builds nothing.
    let before = world.requests().len();
    let again = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(world.mutating_since(before).is_empty(), "{:#?}", world.mutating_since(before));
    assert_eq!(step_finished(&again, "image-cache")["outcome"], "unchanged");

    // `down` deletes the image too, and its leak report checks for images and builders.
    let down = world.sdctl(&["down", "-y", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(step_finished(&down, "image-cache")["outcome"], "deleted");
    assert!(world.resources().is_empty(), "left behind: {:#?}", world.resources());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_leaves_no_builder_and_no_gpu_pool() {
    let world = World::with_scenario("imageCacheBuildFails: true\n").await;
    let config = cache_config("sd-agones-l4-gcs.yaml");
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &agones_manifest(), "-o", "json"]).await;
    assert_eq!(up.code, 4, "{up:?}");
    let finished = step_finished(&up, "image-cache");
    let error = finished["error"].as_str().unwrap();
    assert!(error.contains("image-cache build on VM sd-l4-cache-builder failed: cannot pull"), "{error}");
    assert!(error.contains("sdctl up"), "says what to do: {error}");
    // With the end of the VM's console: the script's own lines, up to its failure.
    let tail = error.split_once("The end of its serial console:").map(|(_, t)| t).unwrap_or_default();
    assert!(tail.contains("sdctl-image-cache: pulling us-central1-docker.pkg.dev/my-project/"), "{error}");
    assert!(tail.contains("sdctl-image-cache: failed: cannot pull"), "{error}");
    // The VM and its disk went anyway; no image, and no GPU pool waiting for one.
    assert!(
        world.requests_of("compute.instances.delete").len() == 1
            && world.requests_of("compute.disks.delete").len() == 1
    );
    assert!(world.named("Instance", "cache").is_empty() && world.named("Disk", "cache").is_empty());
    assert!(world.named("Image", "cache").is_empty() && world.requests_of("compute.images.insert").is_empty());
    let pools = world.requests_of("container.projects.locations.clusters.nodePools.create");
    assert!(
        !pools.iter().any(|r| r["body"]["nodePool"]["name"].as_str().is_some_and(|n| n.starts_with("gpu"))),
        "the GPU pool was created without its image"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_builder_that_cannot_reach_google_is_refused_with_the_fix() {
    // The T4 example is a public cluster on the default subnetwork, which has no Private Google
    // Access in a new project: the builder (no external IP) could not pull. Preflight says so
    // once Compute is enabled (before the WebUI image builds), with the fix.
    let world = World::start().await;
    let config = cache_config("sd-agones-t4.yaml");
    let manifest = agones_manifest();
    let up = world.sdctl(&["up", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(up.code, 3, "{up:?}");
    let check = up
        .json_lines()
        .into_iter()
        .filter(|e| e["event"] == "preflight")
        .flat_map(|e| e["checks"].as_array().cloned().unwrap_or_default())
        .rfind(|c| c["id"] == "image-cache-egress")
        .expect("the egress check ran");
    assert_eq!(check["status"], "fail", "{check}");
    assert!(check["message"].as_str().unwrap().contains("no Private Google Access"), "{check}");
    let fix = check["fix"].as_str().unwrap();
    assert!(fix.contains("--enable-private-ip-google-access") && fix.contains("gpu.imageCache: false"), "{fix}");
    assert!(
        world.requests_of("compute.images.insert").is_empty()
            && world.requests_of("cloudbuild.projects.builds.create").is_empty()
    );

    // Without preflight, the step refuses before it creates anything.
    let up = world
        .sdctl(&["up", "--skip-preflight", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"])
        .await;
    assert_eq!(up.code, 4, "{up:?}");
    let error = step_finished(&up, "image-cache")["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("no Private Google Access") && error.contains("--enable-private-ip-google-access"),
        "{error}"
    );
    assert!(world.requests_of("compute.disks.insert").is_empty(), "something was created before the check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_an_untrusted_builder_image() {
    let world =
        World::used_project("orgPolicies: { compute.trustedImageProjects: \"allow:projects/my-images\" }\n").await;
    let config = cache_config("sd-agones-l4-gcs.yaml");
    let run = world.sdctl(&["preflight", "-c", config.arg(), "-o", "json"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let checks = doc["checks"].as_array().unwrap();
    let check = |id: &str| checks.iter().find(|c| c["id"] == id).cloned().unwrap_or_else(|| panic!("no {id}: {doc}"));
    let policy = check("org-policy:compute.trustedImageProjects");
    assert_eq!(policy["status"], "fail", "{policy}");
    assert!(policy["message"].as_str().unwrap().contains("projects/cos-cloud"), "{policy}");
    assert!(policy["fix"].as_str().unwrap().contains("gpu.imageCache: false"), "{policy}");
    assert_eq!(check("image-cache-egress")["status"], "pass", "a private cluster has Cloud NAT");
    // Without the image cache, the constraint is none of sdctl's business.
    let plain = crate::support::example_with("sd-agones-l4-gcs.yaml", &[]);
    let run = world.sdctl(&["preflight", "-c", plain.arg(), "-o", "json"]).await;
    assert!(!run.stdout.contains("trustedImageProjects") && !run.stdout.contains("image-cache-egress"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_cache_needs_image_streaming_and_the_setting() {
    let config = crate::support::example_with(
        "sd-agones-t4.yaml",
        &[("  imageStreaming: true\n", "  imageStreaming: false\n  imageCache: true\n")],
    );
    let plan = crate::support::run(&["plan", "--offline", "-c", config.arg()]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(plan.stderr.contains("gpu.imageCache") && plan.stderr.contains("gpu.imageStreaming: true"), "{plan:?}");

    let config = crate::support::example_with("sd-agones-t4.yaml", &[]);
    let world = World::start().await;
    let run = world.sdctl(&["image-cache", "-c", config.arg()]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("gpu.imageCache: true"), "{run:?}");

    let plan = crate::support::run(&["plan", "--offline", "-c", cache_config("sd-agones-t4.yaml").arg(), "-o", "json"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let steps = plan.json_lines().into_iter().find(|e| e["event"] == "plan").unwrap()["steps"].clone();
    let step = |id: &str| steps.as_array().unwrap().iter().find(|s| s["id"] == id).cloned().unwrap();
    assert_eq!(step("image-cache")["depends_on"], serde_json::json!(["images", "cluster", "network"]));
    assert!(step("gpu-pool")["depends_on"].as_array().unwrap().contains(&serde_json::json!("image-cache")));
}

/// Turning the image cache on for a running environment needs a new GPU pool (secondary boot
/// disks are fixed per pool); the old one is cordoned, its WebUIs in use are given their time
/// (here a user never lets go: the bound passes), then it is deleted and the Fleet's warm WebUI
/// comes back on the new pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_image_cache_rotates_the_gpu_pool_after_its_users() {
    use kube::api::PostParams;
    let world = World::start().await;
    let manifest = agones_manifest();
    let plain = crate::support::example_with("sd-agones-l4-gcs.yaml", &[]);
    let up = world.sdctl(&["up", "-c", plain.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    // A user holds the warm WebUI on the old pool.
    let client = crate::kube_layer::cluster_client(&world, "sd-l4-gke").await;
    let allocations = crate::emulator::k8s_agones::gvk_api(
        &client,
        "allocation.agones.dev",
        "v1",
        "GameServerAllocation",
        "gameserverallocations",
    );
    let request = serde_json::json!({
        "apiVersion": "allocation.agones.dev/v1", "kind": "GameServerAllocation",
        "spec": {"selectors": [{"matchLabels": {"agones.dev/fleet": "webui"}, "gameServerState": "Ready"}]},
    });
    let alloc = allocations.create(&PostParams::default(), &serde_json::from_value(request).unwrap()).await.unwrap();
    assert_eq!(alloc.data["status"]["state"], "Allocated");
    let old_node = alloc.data["status"]["nodeName"].as_str().unwrap().to_string();
    let held = alloc.data["status"]["gameServerName"].as_str().unwrap().to_string();

    // A pool someone added by hand, named like one of sdctl's but without its label, stays.
    let pools = "/container/v1/projects/my-project/locations/us-central1/clusters/sd-l4-gke/nodePools";
    let theirs = serde_json::json!({ "nodePool": { "name": "gpu-0123abcd", "initialNodeCount": 0,
        "config": { "machineType": "e2-standard-4" } } });
    world.create(pools, &theirs).await;

    let cached = cache_config("sd-agones-l4-gcs.yaml");
    let before = world.requests().len();
    let up = world.sdctl(&["up", "-c", cached.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let pool_step = step_finished(&up, "gpu-pool");
    assert_eq!(pool_step["outcome"], "created", "{pool_step}");
    let plan = up.json_lines().into_iter().find(|e| e["event"] == "plan").unwrap();
    let changes = plan["steps"].as_array().unwrap().iter().find(|s| s["id"] == "gpu-pool").unwrap()["changes"].clone();
    assert!(changes.to_string().contains("retire GPU pool gpu"), "the plan says so: {changes}");
    // The new pool carries the WebUI tag and the cache; the old node was cordoned first, the
    // user's session waited for (with progress), then the old pool deleted.
    let requests: Vec<serde_json::Value> = world.requests().into_iter().skip(before).collect();
    let created = requests
        .iter()
        .find(|r| r["methodId"] == "container.projects.locations.clusters.nodePools.create")
        .expect("a new pool");
    let new_pool = created["body"]["nodePool"]["name"].as_str().unwrap().to_string();
    assert!(new_pool.starts_with("gpu-") && new_pool.len() == 12, "{new_pool}");
    assert!(created["body"]["nodePool"]["config"]["secondaryBootDisks"].is_array());
    let cordon = requests
        .iter()
        .position(|r| {
            r["service"] == "k8s"
                && r["method"] == "PATCH"
                && r["path"].as_str().is_some_and(|p| p.ends_with(&format!("/nodes/{old_node}")))
                && r["body"]["spec"]["unschedulable"] == true
        })
        .expect("the old node was cordoned");
    let deleted = requests
        .iter()
        .position(|r| {
            r["methodId"] == "container.projects.locations.clusters.nodePools.delete"
                && r["path"].as_str().is_some_and(|p| p.ends_with("/nodePools/gpu"))
        })
        .expect("the old pool was deleted");
    assert!(cordon < deleted);
    assert!(
        !requests.iter().any(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/nodePools/gpu-0123abcd"))
            && r["method"] != "GET"),
        "a pool sdctl did not make was touched"
    );
    // The old pool stopped growing before its nodes were cordoned.
    let stopped = requests
        .iter()
        .position(|r| {
            r["methodId"] == "container.projects.locations.clusters.nodePools.setAutoscaling"
                && r["path"].as_str().is_some_and(|p| p.contains("/nodePools/gpu:"))
        })
        .expect("the old pool's autoscaling was turned off");
    assert!(stopped < cordon);
    // Agones would hand a user a Ready WebUI on a cordoned node: the ones nobody held there were
    // deleted (the Fleet made them again on the new pool); the user's was left alone.
    let released: Vec<&str> = requests
        .iter()
        .filter(|r| r["service"] == "k8s" && r["method"] == "DELETE")
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.contains("/gameservers/"))
        .collect();
    assert!(!released.is_empty(), "no idle WebUI on the old pool was released");
    assert!(!released.iter().any(|p| p.ends_with(&format!("/{held}"))), "the user's WebUI was deleted: {released:?}");
    let progress: Vec<String> = up
        .json_lines()
        .into_iter()
        .filter(|e| e["event"] == "step_progress" && e["step"] == "gpu-pool")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(progress.iter().any(|m| m.contains("1 in use")), "{progress:#?}");
    assert!(progress.iter().any(|m| m.contains("deleting GPU pool gpu anyway")), "{progress:#?}");
    // The Fleet's warm WebUI is back, on the new pool.
    let game_servers = crate::emulator::k8s_agones::gvk_api(&client, "agones.dev", "v1", "GameServer", "gameservers");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = game_servers.list(&Default::default()).await.unwrap();
        let warm_on_new = list.items.iter().any(|g| {
            g.data["status"]["state"] == "Ready"
                && g.data["status"]["nodeName"].as_str().is_some_and(|n| n.contains(&format!("-{new_pool}-")))
        });
        if warm_on_new {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no warm WebUI on {new_pool}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A third `up` has nothing to retire.
    let before = world.requests().len();
    let again = world.sdctl(&["up", "-c", cached.arg(), "--agones-manifest", &manifest, "-o", "json"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(world.mutating_since(before).is_empty(), "{:#?}", world.mutating_since(before));
}

/// Ctrl-C while the builder runs: one delete of the VM takes its data disk with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_build_leaves_no_vm_or_disk() {
    let world = World::with(sdctl_emulator::Scenario::default(), 200.0).await;
    let config = cache_config("sd-agones-l4-gcs.yaml");
    let manifest = agones_manifest();
    let mut child =
        world.command(&["up", "-y", "-c", config.arg(), "--agones-manifest", &manifest, "-o", "json"]).spawn().unwrap();
    let running = || {
        world.resources().iter().any(|(kind, name, state)| {
            kind == "Instance" && name.ends_with("/sd-l4-cache-builder") && state == "RUNNING"
        })
    };
    let started = std::time::Instant::now();
    while !running() {
        assert!(child.try_wait().unwrap().is_none(), "up ended before the builder ran");
        assert!(started.elapsed().as_secs() < 90, "no builder: {:#?}", world.resources());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pid = child.id().unwrap().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(130), "interrupted");
    let deletes = world.requests_of("compute.instances.delete");
    assert_eq!(deletes.len(), 1, "one delete of the VM");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(world.named("Instance", "cache").is_empty() && world.named("Disk", "cache").is_empty()) {
        assert!(std::time::Instant::now() < deadline, "left behind: {:#?}", world.resources());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(world.requests_of("compute.disks.delete").is_empty(), "the disk went with the VM");
}
