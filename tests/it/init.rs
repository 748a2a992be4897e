//! `sdctl init`: the real prompts driven through a pseudo-terminal, the flag path, defaults
//! detected from gcloud's configuration, and never overwriting a file without asking. Every file
//! it writes passes validation and `plan`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::{Eof, Expect, Session};

use crate::support::world::World;
use crate::support::{Run, run_cmd, sdctl};

/// A scratch home: an empty gcloud configuration unless the test writes one.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("gcloud")).unwrap();
        Self { dir }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("sdctl.yaml")
    }

    fn gcloud(&self, active: &str, text: &str) {
        let g = self.dir.path().join("gcloud");
        std::fs::create_dir_all(g.join("configurations")).unwrap();
        std::fs::write(g.join("active_config"), active).unwrap();
        std::fs::write(g.join("configurations").join(format!("config_{active}")), text).unwrap();
    }

    /// sdctl with nothing detected from the developer's machine.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = sdctl();
        cmd.args(["init", "-c", self.file().to_str().unwrap()]).args(args);
        for var in ["GOOGLE_CLOUD_PROJECT", "DEVSHELL_PROJECT_ID", "CLOUD_SHELL"] {
            cmd.env_remove(var);
        }
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CLOUDSDK_")) {
            cmd.env_remove(k);
        }
        cmd.env("CLOUDSDK_CONFIG", self.dir.path().join("gcloud")).env("HOME", self.dir.path()).env("NO_COLOR", "1");
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(&mut self.command(args))
    }

    fn written(&self) -> String {
        std::fs::read_to_string(self.file()).unwrap_or_default()
    }
}

/// The file validates and plans offline.
fn assert_plans(path: &Path) {
    let config = sdctl::config::load(path, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.name.is_empty());
    let r = crate::support::run(&["plan", "--offline", "-c", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Plan: 15 to create"), "{}", r.stdout);
}

#[test]
fn flags_and_yes_write_a_valid_commented_file() {
    let home = Home::new();
    let r = home.run(&["--yes", "--project", "flag-project", "--region", "europe-west4", "--gpu", "l4"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("Estimated cost: $"), "{r:?}");
    assert!(r.stderr.contains("Next: `sdctl preflight`"), "{r:?}");
    let text = home.written();
    for line in [
        "project: flag-project",
        "region: europe-west4",
        "zones: [\"europe-west4-a\"]",
        "name: sd-demo",
        "type: l4",
        "machineType: g2-standard-8",
        "kind: filestore",
        "maxUsers: 3",
        "# environment name: every resource name derives from it",
        "# zonal | regional (regional: node counts are per zone, x the zones)",
    ] {
        assert!(text.contains(line), "lacks {line:?}:\n{text}");
    }
    assert_plans(&home.file());
}

#[test]
fn every_question_has_a_flag() {
    let home = Home::new();
    let r = home.run(&[
        "--project=my-project",
        "--region=us-central1",
        "--zones=us-central1-b,us-central1-c",
        "--name=sd-team",
        "--gpu=t4",
        "--storage=gcs",
        "--max-users=5",
        "--domain=sd.example.org",
        "--iap-member=alice@example.org",
        "--iap-member=group:artists@example.org",
    ]);
    assert_eq!(r.code, 0, "no terminal, no --yes, but nothing left to ask: {r:?}");
    assert!(!r.stderr.contains("nobody will be able to sign in"), "{r:?}");
    let config = sdctl::config::load(&home.file(), &Default::default()).unwrap();
    assert_eq!(config.name, "sd-team");
    assert_eq!(config.zones, ["us-central1-b", "us-central1-c"]);
    assert!(matches!(config.storage, sdctl::config::Storage::Gcs(_)));
    assert_eq!((config.runtime.max_users, config.gpu.max_nodes), (5, 5));
    assert_eq!(config.access.domain.as_deref(), Some("sd.example.org"));
    assert_eq!(
        config.access.iap_members,
        ["user:alice@example.org", "group:artists@example.org"],
        "a bare address is a user"
    );
    assert_plans(&home.file());
}

/// Without Google to ask, the zones come from sdctl's dated table: the default is never a zone
/// without the chosen GPU, and a region without it is refused with what to do.
#[test]
fn zones_offered_without_google_come_from_the_built_in_table() {
    let home = Home::new();
    home.gcloud("work", "[core]\naccount = bob@example.com\nproject = p-123456\n\n[compute]\nzone = us-central1-f\n");
    // us-central1-f sells T4 but not L4: the first zone that sells L4 instead.
    let r = home.run(&["--yes", "--gpu", "l4"]);
    assert_eq!(r.code, 0, "{r:?}");
    let config = sdctl::config::load(&home.file(), &Default::default()).unwrap();
    assert_eq!(config.zones, ["us-central1-a"]);
    let r = home.run(&["--yes", "--gpu", "t4", "--force"]);
    assert_eq!(r.code, 0, "{r:?}");
    let config = sdctl::config::load(&home.file(), &Default::default()).unwrap();
    assert_eq!(config.zones, ["us-central1-f"], "the detected zone sells T4");
    let r = home.run(&["--yes", "--gpu", "l4", "--region", "us-west2", "--force"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "no zone of us-west2 offers nvidia-l4 (sdctl's table of {}): choose another --region or --gpu",
            sdctl::init::gpu_zones::RECORDED
        )),
        "{r:?}"
    );
    let r = home.run(&["--yes", "--gpu", "l4", "--region", "us-west2", "--zones", "us-west2-a", "--force"]);
    assert_eq!(r.code, 0, "--zones is taken as given: {r:?}");
}

/// The sign-in list: a member that is neither an address nor `kind:VALUE` is refused with the
/// flag named; an empty list is written but warned about (nobody could sign in).
#[test]
fn sign_in_members_are_checked_and_an_empty_list_warned_about() {
    let base = ["--yes", "--project", "p-123456", "--force"];
    let home = Home::new();
    let r = home.run(&[&base[..], &["--iap-member", "alice"]].concat());
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(r#"--iap-member: "alice" is not a member: write an address"#), "{r:?}");
    assert!(!home.file().exists(), "nothing written");
    let r = home.run(&[&base[..], &["--iap-member", "user:"]].concat());
    assert_eq!(r.code, 2, "{r:?}");
    let r = home.run(&[&base[..], &["--iap-member", ""]].concat());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("warning: nobody will be able to sign in"), "{r:?}");
    let config = sdctl::config::load(&home.file(), &Default::default()).unwrap();
    assert!(config.access.iap_members.is_empty());
}

#[test]
fn without_a_terminal_or_yes_it_lists_the_missing_flags() {
    let home = Home::new();
    let r = home.run(&["--project", "p-123456", "--gpu", "t4"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "missing --region, --name, --zones, --storage, --max-users, --domain, --iap-member; or pass --yes to take the defaults"
        ),
        "{r:?}"
    );
    assert!(!home.file().exists(), "nothing written");
    // --yes without any project to detect names the flag.
    let r = home.run(&["--yes"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no project detected: pass --project"), "{r:?}");
    // Bad values are usage errors with the field named.
    let r = home.run(&["--yes", "--project", "p-123456", "--name", "Bad_Name"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("name") && r.stderr.contains("must match [a-z][a-z0-9-]{0,19}"), "{r:?}");
    let r = home.run(&["--yes", "--project", "p-123456", "--gpu", "a100"]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn defaults_come_from_the_active_gcloud_configuration() {
    let home = Home::new();
    home.gcloud(
        "work",
        "[core]\naccount = bob@example.com\nproject = gcloud-project\n\n[compute]\nzone = us-east1-c\n",
    );
    let r = home.run(&["--yes"]);
    assert_eq!(r.code, 0, "{r:?}");
    let config = sdctl::config::load(&home.file(), &Default::default()).unwrap();
    assert_eq!(config.project, "gcloud-project");
    assert_eq!((config.region.as_str(), config.zones.as_slice()), ("us-east1", ["us-east1-c".to_string()].as_slice()));
    assert_eq!(config.access.iap_members, ["user:bob@example.com"]);
    // Flags beat what was detected; CLOUDSDK_* beats the file.
    let r = run_cmd(
        home.command(&["--yes", "--force", "--region", "us-central1"]).env("CLOUDSDK_CORE_PROJECT", "env-project"),
    );
    assert_eq!(r.code, 0, "{r:?}");
    let config = sdctl::config::load(&home.file(), &Default::default()).unwrap();
    assert_eq!((config.project.as_str(), config.region.as_str()), ("env-project", "us-central1"));
    assert_eq!(config.zones, ["us-central1-a"], "the detected zone is not in the region");
}

#[test]
fn an_existing_file_is_never_replaced_without_asking() {
    let home = Home::new();
    std::fs::write(home.file(), "# mine\n").unwrap();
    let r = home.run(&["--yes", "--project", "p-123456"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("exists and was left as it is: pass --force to replace it"), "{r:?}");
    assert_eq!(home.written(), "# mine\n");
    let r = home.run(&["--yes", "--project", "p-123456", "--force"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(home.written().contains("project: p-123456"));
}

/// A user at a terminal: answers, defaults with Enter, arrow keys, a wrong answer asked again,
/// the GPU question showing which zones sell each GPU (from the API), the cost, then the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_in_a_terminal() {
    let world = World::used_project(
        "accelerators: { us-central1-a: [nvidia-tesla-t4], us-central1-b: [nvidia-tesla-t4], us-central1-c: [nvidia-tesla-t4, nvidia-l4], us-central1-f: [nvidia-tesla-t4, nvidia-l4] }",
    )
    .await;
    let home = Home::new();
    let mut cmd = home.command(&[]);
    // The pseudo-terminal is the child's stdin too (the helper's default is no stdin at all).
    cmd.stdin(Stdio::inherit());
    cmd.env("SDCTL_API_ENDPOINT", world.emu.url()).env("GOOGLE_CLOUD_PROJECT", "pty-project").env("TERM", "xterm");
    let file = home.file();
    let transcript = tokio::task::spawn_blocking(move || -> Result<(String, WaitStatus), expectrl::Error> {
        let mut s = Session::spawn(cmd)?;
        s.set_expect_timeout(Some(Duration::from_secs(30)));
        let mut seen = String::new();
        let mut step =
            |s: &mut expectrl::session::OsSession, want: &str, answer: &str| -> Result<(), expectrl::Error> {
                let found = s.expect(want)?;
                seen.push_str(&String::from_utf8_lossy(found.before()));
                seen.push_str(want);
                s.send(answer)?;
                Ok(())
            };
        step(&mut s, "Defaults detected: project pty-project (from GOOGLE_CLOUD_PROJECT)", "")?;
        step(&mut s, "Google Cloud project id", "\r")?;
        step(&mut s, "Region", "\r")?;
        step(&mut s, "Environment name", "sd-pty\r")?;
        step(&mut s, "l4 (nvidia-l4 on g2-standard-8) - offered in us-central1-c, us-central1-f", "\x1b[B\r")?;
        // The default zone is the first that sells the L4.
        step(&mut s, "lives in the first) [us-central1-c]", "\r")?;
        step(&mut s, "Storage for models and outputs", "\x1b[B\r")?;
        step(&mut s, "Most users at once", "0\r")?;
        step(&mut s, "a whole number from 1 to 64", "\x08\x082\r")?;
        step(&mut s, "Domain", "\r")?;
        step(&mut s, "Who may sign in", "carol\r")?;
        // Not an address: asked again; a bare address is taken as user:.
        step(&mut s, "is not a member", "\x08\x08\x08\x08\x08\x08carol@example.com\r")?;
        step(&mut s, "Estimated cost: $", "")?;
        step(&mut s, "Write", "y")?;
        step(&mut s, "Wrote", "")?;
        let rest = s.expect(Eof)?;
        seen.push_str(&String::from_utf8_lossy(rest.before()));
        let status = s.get_process().wait().map_err(|e| expectrl::Error::IO(std::io::Error::other(e.to_string())))?;
        Ok((seen, status))
    })
    .await
    .unwrap();
    let (seen, status) = transcript.unwrap_or_else(|e| panic!("the wizard did not go as a user expects: {e}"));
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}\n{seen}");
    assert!(seen.contains("t4 (nvidia-tesla-t4 on custom-4-32768-ext) - offered in us-central1-a"), "{seen}");
    let config = sdctl::config::load(&file, &Default::default()).unwrap_or_else(|e| panic!("{e}\n{seen}"));
    assert_eq!(config.project, "pty-project");
    assert_eq!(config.name, "sd-pty");
    assert_eq!(config.gpu.kind, sdctl::config::GpuKind::L4);
    assert_eq!(config.zones, ["us-central1-c"]);
    assert!(matches!(config.storage, sdctl::config::Storage::Gcs(_)));
    assert_eq!(config.runtime.max_users, 2);
    assert_eq!(config.access.domain, None);
    assert_eq!(config.access.iap_members, ["user:carol@example.com"]);
    assert_plans(&file);
    // Only reads were sent: the wizard asks the API, it changes nothing.
    assert!(world.mutating_since(0).is_empty(), "{:#?}", world.mutating_since(0));

    // Running it again asks before replacing the file; "no" keeps it.
    let before = std::fs::read_to_string(&file).unwrap();
    let mut cmd = home.command(&[]);
    cmd.stdin(Stdio::inherit()).env("GOOGLE_CLOUD_PROJECT", "pty-project").env("TERM", "xterm");
    let status = tokio::task::spawn_blocking(move || -> Result<WaitStatus, expectrl::Error> {
        let mut s = Session::spawn(cmd)?;
        s.set_expect_timeout(Some(Duration::from_secs(30)));
        s.expect("exists. Replace it?")?;
        s.send("n")?;
        s.expect(Eof)?;
        s.get_process().wait().map_err(|e| expectrl::Error::IO(std::io::Error::other(e.to_string())))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 2)), "{status:?}");
    assert_eq!(std::fs::read_to_string(home.file()).unwrap(), before);
}
