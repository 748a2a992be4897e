//! `address`: the global static IP of the ingress, and the URL / DNS record derived from it.

use async_trait::async_trait;
use google_cloud_compute_v1::model::Address;
use google_cloud_compute_v1::model::address::{AddressType, IpVersion};

use super::common::{absent_if_not_found, gone_if_not_found, not_ours, patience};
use super::{ADDRESS, APIS, Env};
use crate::gcp::{ops, retry};
use crate::plan::{Diff, Outcome, Step, StepCx, StepId};

pub struct StaticAddress;

#[async_trait]
impl Step<Env> for StaticAddress {
    type Live = Option<Address>;

    fn id(&self) -> StepId {
        ADDRESS
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![APIS]
    }

    fn describe(&self, env: &Env) -> String {
        format!("global static IP {}", env.names.address())
    }

    fn permissions(&self, _env: &Env) -> Vec<&'static str> {
        vec![
            "compute.globalAddresses.get",
            "compute.globalAddresses.create",
            "compute.globalAddresses.setLabels",
            "compute.globalAddresses.delete",
            "compute.globalOperations.get",
        ]
    }

    async fn observe(&self, cx: &StepCx<Env>) -> anyhow::Result<Option<Address>> {
        let env = &cx.env;
        let name = env.names.address();
        let client = env.gcp.global_addresses().await?;
        let found = absent_if_not_found(
            retry::call(cx, &format!("read address {name}"), || {
                client.get().set_project(env.project()).set_address(&name).send()
            })
            .await,
        )?;
        if let Some(a) = &found {
            if !env.owns(&a.labels) {
                return Err(not_ours("global address", &name, env.names.env()));
            }
            publish(env, a);
        }
        Ok(found)
    }

    fn diff(&self, env: &Env, live: &Option<Address>) -> Diff {
        match live {
            None => Diff::create_all(),
            Some(a) if a.labels != env.labels() => Diff::update(vec!["labels".into()]),
            Some(_) => Diff::unchanged(),
        }
    }

    fn state(&self, live: &Option<Address>) -> Option<String> {
        let a = live.as_ref()?;
        Some(format!(
            "{} {}",
            a.address.clone().unwrap_or_default(),
            a.status.as_ref().and_then(|s| s.name()).unwrap_or_default()
        ))
    }

    async fn apply(&self, cx: &StepCx<Env>, live: Option<Address>, _diff: &Diff) -> anyhow::Result<Outcome> {
        let env = &cx.env;
        let name = env.names.address();
        let client = env.gcp.global_addresses().await?;
        if let Some(existing) = live {
            // Only labels can differ; addresses take them through setLabels with the fingerprint.
            let labels = google_cloud_compute_v1::model::GlobalSetLabelsRequest::new()
                .set_labels(env.labels())
                .set_or_clear_label_fingerprint(existing.label_fingerprint.clone());
            let op = retry::call(cx, &format!("label address {name}"), || {
                client.set_labels().set_project(env.project()).set_resource(&name).set_body(labels.clone()).send()
            })
            .await?;
            ops::compute(cx, &env.gcp, env.project(), op, &format!("labels of address {name}"), patience::COMPUTE)
                .await?;
            return Ok(Outcome::Updated);
        }
        let body = Address::new()
            .set_name(&name)
            .set_description(env.names.description())
            .set_address_type(AddressType::External)
            .set_ip_version(IpVersion::Ipv4)
            .set_labels(env.labels());
        let op = retry::call(cx, &format!("create address {name}"), || {
            client.insert().set_project(env.project()).set_body(body.clone()).send()
        })
        .await?;
        ops::compute(cx, &env.gcp, env.project(), op, &format!("address {name}"), patience::COMPUTE).await?;
        let created = retry::call(cx, &format!("read address {name}"), || {
            client.get().set_project(env.project()).set_address(&name).send()
        })
        .await?;
        publish(env, &created);
        Ok(Outcome::Created)
    }

    async fn destroy(&self, cx: &StepCx<Env>) -> anyhow::Result<Outcome> {
        // Reading first refuses to delete an address of the same name that is not ours.
        if self.observe(cx).await?.is_none() {
            return Ok(Outcome::Unchanged);
        }
        let env = &cx.env;
        let name = env.names.address();
        let client = env.gcp.global_addresses().await?;
        let deleted = gone_if_not_found(
            async {
                let op = retry::call(cx, &format!("delete address {name}"), || {
                    client.delete().set_project(env.project()).set_address(&name).send()
                })
                .await?;
                ops::compute(cx, &env.gcp, env.project(), op, &format!("deletion of address {name}"), patience::COMPUTE)
                    .await
            }
            .await,
        )?;
        Ok(if deleted { Outcome::Deleted } else { Outcome::Unchanged })
    }
}

/// The static IP, the URL users open, and the DNS record to create (none with sslip.io).
fn publish(env: &Env, address: &Address) {
    let Some(ip) = address.address.as_deref() else { return };
    env.outputs.set("staticIp", ip);
    let domain = match &env.config.access.domain {
        Some(domain) => {
            env.outputs.set("dnsRecord", format!("{domain}. A {ip}"));
            domain.clone()
        }
        None => format!("{}.sslip.io", ip.replace('.', "-")),
    };
    env.outputs.set("domain", domain.clone());
    env.outputs.set("url", format!("https://{domain}"));
}
