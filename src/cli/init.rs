//! `sdctl init`: asks for what a new `sdctl.yaml` needs (defaults detected from gcloud and Cloud
//! Shell), shows the cost, and writes the commented file. Every question has a flag; without a
//! terminal and without --yes it lists the missing flags instead of waiting for input.

use std::io::IsTerminal;

use super::{InitArgs, Invocation};
use crate::config::{self, GpuKind, Overrides};
use crate::exit::{Exit, ExitCode};
use crate::gcp::Gcp;
use crate::init::{self, Answers, detect};
use crate::ui::{self, Prompter};

pub async fn run(inv: &Invocation, args: InitArgs) -> anyhow::Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let gcloud = detect::gcloud_dir(&env);
    let detected = detect::detect(&env, gcloud.as_deref());
    let g = &inv.global;
    let given: [bool; 9] = [
        g.project.is_some(),
        g.region.is_some(),
        args.name.is_some(),
        args.gpu.is_some(),
        g.zones.is_some(),
        args.storage.is_some(),
        args.max_users.is_some(),
        args.domain.is_some(),
        args.iap_members.is_some(),
    ];
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !terminal && !g.yes {
        let missing: Vec<&str> =
            init::QUESTIONS.iter().zip(given).filter(|(_, given)| !given).map(|((_, flag), _)| *flag).collect();
        if !missing.is_empty() {
            return Err(Exit::usage(format!(
                "`sdctl init` needs a terminal to ask its questions, or flags: missing {}; \
                 or pass --yes to take the defaults for them{}",
                missing.join(", "),
                detected_note(&detected)
            ))
            .into());
        }
    }
    let path = g.config.clone();
    let ask = terminal && !g.yes;
    let prompter = Prompter::default();
    if path.exists() && !args.force {
        let replace = ask
            && prompter
                .confirm(&format!("{} exists. Replace it?", path.display()), false)
                .map_err(|e| Exit::usage(format!("no answer ({e})")))?;
        if !replace {
            return Err(Exit::usage(format!(
                "{} exists and was left as it is: pass --force to replace it, or -c OTHER.yaml to write another file",
                path.display()
            ))
            .into());
        }
    }
    if ask && (detected.project.is_some() || detected.cloud_shell) {
        inv.ui.err(&format!("Defaults detected{}.", detected_note(&detected)));
    }
    let answers = answer(inv, &args, &detected, ask, &prompter).await?;
    if answers.iap_members.is_empty() {
        inv.ui.err(
            "warning: nobody will be able to sign in: the sign-in list is empty. Add members under access.iap.members \
             (user:EMAIL, group:EMAIL, domain:DOMAIN), or run `sdctl init --iap-member alice@example.com --force`",
        );
    }
    let text = init::render(&answers);
    let config = config::parse(&text, &Overrides::default())
        .map_err(|problems| config::ConfigError { file: path.clone(), problems })?;
    // Before the file exists, from sdctl's table: no credentials are needed yet.
    let book = crate::cost::PriceBook::builtin(&config.region, "estimated by init");
    let estimate = crate::cost::estimate(&config, &book);
    inv.ui.err(&ui::cost_line(&estimate.summary()));
    if ask
        && !prompter
            .confirm(&format!("Write {}?", path.display()), true)
            .map_err(|e| Exit::usage(format!("no answer ({e})")))?
    {
        return Err(Exit::usage("nothing written").into());
    }
    std::fs::write(&path, text)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}; choose another path with -c FILE", path.display()))?;
    inv.ui.err(&format!(
        "Wrote {}. Next: `sdctl preflight` (checks quotas, GPUs and permissions; creates nothing), then `sdctl up`.",
        path.display()
    ));
    Ok(ExitCode::Ok)
}

fn detected_note(d: &detect::Detected) -> String {
    let mut parts = Vec::new();
    for (what, found) in [("project", &d.project), ("region", &d.region), ("zone", &d.zone), ("account", &d.account)] {
        if let Some(f) = found {
            parts.push(format!("{what} {} (from {})", f.value, f.source));
        }
    }
    if d.cloud_shell {
        parts.push("Cloud Shell".to_string());
    }
    if parts.is_empty() { String::new() } else { format!(": {}", parts.join(", ")) }
}

/// Each answer: the flag, else the question (in a terminal), else the default.
async fn answer(
    inv: &Invocation,
    args: &InitArgs,
    detected: &detect::Detected,
    ask: bool,
    prompter: &Prompter,
) -> anyhow::Result<Answers> {
    let io = |e: std::io::Error| Exit::usage(format!("no answer from the terminal ({e})"));
    let g = &inv.global;
    let value = |f: &Option<detect::Found>| f.as_ref().map(|f| f.value.clone());

    let project = match (&g.project, value(&detected.project)) {
        (Some(p), _) => p.clone(),
        (None, d) if ask => {
            prompter.input("Google Cloud project id", d.as_deref().unwrap_or(""), non_empty).map_err(io)?
        }
        (None, Some(d)) => d,
        (None, None) => {
            return Err(Exit::usage("no project detected: pass --project (gcloud projects list shows yours)").into());
        }
    };
    let region = match &g.region {
        Some(r) => r.clone(),
        None => {
            let d = value(&detected.region).unwrap_or_else(|| init::DEFAULT_REGION.to_string());
            if ask { prompter.input("Region", &d, non_empty).map_err(io)? } else { d }
        }
    };
    let name = match &args.name {
        Some(n) => n.clone(),
        None if ask => prompter
            .input("Environment name (every resource name derives from it)", init::DEFAULT_NAME, |s| {
                if config::resolve::is_env_name(s) {
                    Ok(())
                } else {
                    Err("a lower-case letter, then up to 19 lower-case letters, digits or hyphens".into())
                }
            })
            .map_err(io)?,
        None => init::DEFAULT_NAME.to_string(),
    };
    // Which zones sell each GPU: Google's answer at a terminal, else (or when Google cannot be
    // asked) the built-in table. Decorates the GPU question and picks the default zone.
    let asked = if ask {
        match inv.endpoints() {
            Ok(endpoints) => init::zones_offering(&Gcp::new(endpoints), &project, &region).await,
            Err(_) => None,
        }
    } else {
        None
    };
    let from_google = asked.is_some();
    let offering = asked.unwrap_or_else(|| init::gpu_zones::offering(&region));
    let source = if from_google {
        "Google's list".to_string()
    } else {
        format!("sdctl's table of {}", init::gpu_zones::RECORDED)
    };
    if ask && !from_google {
        inv.ui.err(&format!("Zones offering each GPU: from {source} (Google could not be asked)."));
    }
    let gpu = match args.gpu.as_deref() {
        Some("l4") => GpuKind::L4,
        Some(_) => GpuKind::T4,
        None if ask => {
            let items: Vec<String> = GpuKind::ALL
                .iter()
                .map(|(name, kind)| {
                    let zones = match offering.get(kind) {
                        Some(z) if !z.is_empty() => format!(" - offered in {}", z.join(", ")),
                        _ => format!(" - not offered in {region}"),
                    };
                    format!("{name} ({} on {}){zones}", kind.accelerator(), kind.default_machine_type())
                })
                .collect();
            let i = prompter.select("GPU type", &items, 0).map_err(io)?;
            GpuKind::ALL[i].1
        }
        None => GpuKind::T4,
    };
    let zones = match &g.zones {
        Some(z) => z.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
        None => {
            let offered = offering.get(&gpu).map(Vec::as_slice).unwrap_or_default();
            if offered.is_empty() && !ask {
                return Err(Exit::usage(format!(
                    "no zone of {region} offers {} ({source}): choose another --region or --gpu, or name the zones \
                     with --zones",
                    gpu.accelerator()
                ))
                .into());
            }
            let d = if offered.is_empty() {
                String::new()
            } else {
                init::default_zone(&region, value(&detected.zone).as_deref(), Some(offered))
            };
            let text = if ask {
                let prefix = format!("{region}-");
                prompter
                    .input("Zones (comma-separated; the cluster lives in the first)", &d, |s| {
                        if s.split(',').map(str::trim).all(|z| z.starts_with(&prefix) && z.len() == prefix.len() + 1) {
                            Ok(())
                        } else {
                            Err(format!("zones of {region}, such as {region}-a"))
                        }
                    })
                    .map_err(io)?
            } else {
                d
            };
            text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
        }
    };
    let storage = match &args.storage {
        Some(s) => s.clone(),
        None if ask => {
            let items = [
                "filestore (an NFS share: simple, from 1 TiB)".to_string(),
                "gcs (a Cloud Storage bucket through GCS-Fuse: pay for what is stored)".to_string(),
            ];
            ["filestore", "gcs"][prompter.select("Storage for models and outputs", &items, 0).map_err(io)?].to_string()
        }
        None => "filestore".to_string(),
    };
    let max_users = match args.max_users {
        Some(n) => n,
        None if ask => prompter
            .input("Most users at once (one GPU each)", &init::DEFAULT_MAX_USERS.to_string(), |s| {
                match s.parse::<u32>() {
                    Ok(n) if (1..=64).contains(&n) => Ok(()),
                    _ => Err("a whole number from 1 to 64".into()),
                }
            })
            .map_err(io)?
            .parse()
            .unwrap_or(init::DEFAULT_MAX_USERS),
        None => init::DEFAULT_MAX_USERS,
    };
    let domain = match &args.domain {
        Some(d) => d.clone(),
        None if ask => prompter.input("Domain (empty: <static-ip>.sslip.io)", "", |_| Ok(())).map_err(io)?,
        None => String::new(),
    };
    let account = value(&detected.account).map(|a| format!("user:{a}")).unwrap_or_default();
    let iap_members = match &args.iap_members {
        Some(given) => members(&given.join(",")).map_err(|e| Exit::usage(format!("--iap-member: {e}")))?,
        None => {
            let text = if ask {
                prompter
                    .input(
                        "Who may sign in (EMAIL or user:EMAIL, group:EMAIL, domain:DOMAIN; comma-separated)",
                        &account,
                        |s| members(s).map(|_| ()),
                    )
                    .map_err(io)?
            } else {
                account
            };
            // Checked by the prompt; a detected account is `user:` and an address.
            members(&text).unwrap_or_default()
        }
    };
    Ok(Answers { project, region, zones, name, gpu, storage, max_users, domain, iap_members })
}

/// The sign-in list: comma-separated members, a bare address taken as `user:EMAIL`.
fn members(text: &str) -> Result<Vec<String>, String> {
    const KINDS: [&str; 4] = ["user:", "group:", "domain:", "serviceAccount:"];
    let mut out = Vec::new();
    for m in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        if KINDS.iter().any(|k| m.starts_with(k) && m.len() > k.len()) {
            out.push(m.to_string());
        } else if !m.contains(':') && m.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.')) {
            out.push(format!("user:{m}"));
        } else {
            return Err(format!(
                "{m:?} is not a member: write an address (alice@example.com) or user:EMAIL, group:EMAIL, domain:DOMAIN"
            ));
        }
    }
    Ok(out)
}

fn non_empty(s: &str) -> Result<(), String> {
    if s.is_empty() { Err("an answer is needed".into()) } else { Ok(()) }
}
