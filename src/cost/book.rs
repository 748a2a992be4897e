//! The prices an estimate uses: the catalog's for the configured region where it has them, else
//! the built-in table (us-central1), each figure with where it came from.

use serde_json::{Value, json};

use super::catalog::{Catalog, Key, Series};
use super::prices::{self, Price};
use crate::config::{FilestoreTier, GpuKind, RedisTier};

/// A price and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub usd: f64,
    /// `Cloud Billing Catalog (us-central1, 2026-12-03)` when SKUs are cited.
    catalog: Option<String>,
    /// SKUs (`E2 Instance Core running in Americas (SKU ...)`) and pricing pages.
    sources: Vec<String>,
}

impl Quote {
    fn builtin(price: Price) -> Quote {
        Quote { usd: price.usd, catalog: None, sources: vec![price.source()] }
    }

    /// `n` units of this price.
    pub fn times(mut self, n: f64) -> Quote {
        self.usd *= n;
        self
    }

    /// This and `other` together (their sources both cited once).
    pub fn plus(mut self, other: Quote) -> Quote {
        self.usd += other.usd;
        self.catalog = self.catalog.or(other.catalog);
        for s in other.sources {
            if !self.sources.contains(&s) {
                self.sources.push(s);
            }
        }
        self
    }

    pub fn source(&self) -> String {
        let (skus, pages): (Vec<&String>, Vec<&String>) = self.sources.iter().partition(|s| s.contains("(SKU "));
        let skus = skus.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        let mut parts: Vec<String> = Vec::new();
        if let Some(catalog) = &self.catalog {
            parts.push(format!("{catalog}: {skus}"));
        }
        parts.extend(pages.into_iter().cloned());
        parts.join("; ")
    }
}

/// Where an estimate's prices come from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceBook {
    region: String,
    catalog: Option<Catalog>,
    /// Why the catalog was not used (`--offline`, or the error reading it).
    fallback: Option<String>,
}

impl PriceBook {
    /// The built-in table only; `why`: the reason the catalog was not read.
    pub fn builtin(region: &str, why: impl Into<String>) -> PriceBook {
        PriceBook { region: region.to_string(), catalog: None, fallback: Some(why.into()) }
    }

    pub fn from_catalog(catalog: Catalog) -> PriceBook {
        PriceBook { region: catalog.region.clone(), catalog: Some(catalog), fallback: None }
    }

    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_ref()
    }

    /// The price of `key`: the catalog's SKU, else the built-in figure.
    pub fn price(&self, key: Key) -> Quote {
        match self.catalog.as_ref().and_then(|c| c.get(key).map(|sku| (c, sku))) {
            Some((c, sku)) => Quote {
                usd: sku.usd,
                catalog: Some(format!("Cloud Billing Catalog ({}, {})", c.region, c.date())),
                sources: vec![format!("{} (SKU {})", sku.description, sku.sku_id)],
            },
            None => builtin(key),
        }
    }

    /// A built-in price sdctl does not read from the catalog.
    pub fn fixed(&self, price: Price) -> Quote {
        Quote::builtin(price)
    }

    /// The region the figures are for: the configured one when read from the catalog.
    pub fn priced_region(&self) -> &str {
        if self.catalog.is_some() { &self.region } else { prices::REGION }
    }

    /// `cloudBillingCatalog` or `builtIn`.
    pub fn source_name(&self) -> &'static str {
        if self.catalog.is_some() { "cloudBillingCatalog" } else { "builtIn" }
    }

    /// What `-o json` says of the prices' source (design.md).
    pub fn to_json(&self) -> Value {
        match &self.catalog {
            Some(c) => json!({
                "source": self.source_name(),
                "region": c.region,
                "asOf": c.read_at,
                "skus": c.prices.len(),
                "unread": c.unread,
            }),
            None => json!({
                "source": self.source_name(),
                "region": prices::REGION,
                "asOf": prices::AS_OF,
                "why": self.fallback,
            }),
        }
    }

    /// One line for people: which prices, of when.
    pub fn describe(&self) -> String {
        match &self.catalog {
            Some(c) => {
                let unread = if c.unread.is_empty() {
                    String::new()
                } else {
                    format!("; not read, so from the table: {}", c.unread.join("; "))
                };
                format!(
                    "prices: Google's Cloud Billing Catalog for {} (read {}; {} SKUs matched, the rest from sdctl's {} table{unread})",
                    c.region,
                    c.read_at,
                    c.prices.len(),
                    prices::REGION
                )
            }
            None => {
                let why = self.fallback.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
                if self.region == prices::REGION {
                    format!("prices: sdctl's built-in {} list prices of {}{why}", prices::REGION, prices::AS_OF)
                } else {
                    format!(
                        "prices: sdctl's built-in {} list prices of {}, not {}'s{why}",
                        prices::REGION,
                        prices::AS_OF,
                        self.region
                    )
                }
            }
        }
    }
}

/// The built-in figure of a key; spot vCPUs and memory at the recorded share of on-demand.
fn builtin(key: Key) -> Quote {
    let spot_share = |on_demand: Price| Quote::builtin(on_demand).at_spot_share();
    let machine = |series: Series, core: bool| match (series, core) {
        (Series::E2, true) => prices::E2_VCPU,
        (Series::E2, false) => prices::E2_GB,
        (Series::N1, true) => prices::N1_VCPU,
        (Series::N1, false) => prices::N1_GB,
        (Series::N1Custom, true) => prices::N1_CUSTOM_VCPU,
        (Series::N1Custom, false) => prices::N1_CUSTOM_GB,
        (Series::G2, true) => prices::G2_VCPU,
        (Series::G2, false) => prices::G2_GB,
    };
    match key {
        Key::Core(series, false) => Quote::builtin(machine(series, true)),
        Key::Core(series, true) => spot_share(machine(series, true)),
        Key::Ram(series, false) => Quote::builtin(machine(series, false)),
        Key::Ram(series, true) => spot_share(machine(series, false)),
        Key::ExtendedRam(false) => Quote::builtin(prices::N1_CUSTOM_EXTENDED_GB),
        Key::ExtendedRam(true) => spot_share(prices::N1_CUSTOM_EXTENDED_GB),
        Key::Gpu(GpuKind::T4, false) => Quote::builtin(prices::T4),
        Key::Gpu(GpuKind::T4, true) => Quote::builtin(prices::T4_SPOT),
        Key::Gpu(GpuKind::L4, false) => Quote::builtin(prices::L4),
        Key::Gpu(GpuKind::L4, true) => Quote::builtin(prices::L4_SPOT),
        Key::Cluster { .. } => Quote::builtin(prices::GKE_CLUSTER),
        Key::BalancedDisk => Quote::builtin(prices::PD_BALANCED),
        Key::ImageStorage => Quote::builtin(prices::IMAGE_STORAGE),
        Key::ExternalIp(false) => Quote::builtin(prices::VM_EXTERNAL_IP),
        Key::ExternalIp(true) => Quote::builtin(prices::SPOT_VM_EXTERNAL_IP),
        Key::ForwardingRule => Quote::builtin(prices::LB_FORWARDING_RULE),
        Key::Filestore(tier) => Quote::builtin(match tier {
            FilestoreTier::BasicHdd => prices::FILESTORE_BASIC_HDD,
            FilestoreTier::BasicSsd => prices::FILESTORE_BASIC_SSD,
            FilestoreTier::Zonal => prices::FILESTORE_ZONAL,
            FilestoreTier::Regional => prices::FILESTORE_REGIONAL,
            FilestoreTier::Enterprise => prices::FILESTORE_ENTERPRISE,
        }),
        Key::Redis(tier, band) => {
            let (_, basic, standard) = prices::REDIS_TIERS[usize::from(band.clamp(1, 5)) - 1];
            Quote::builtin(if tier == RedisTier::Basic { basic } else { standard })
        }
    }
}

impl Quote {
    /// This on-demand price at the recorded spot share (of E2 and G2 in us-central1), citing it.
    pub fn at_spot_share(self) -> Quote {
        self.times(prices::SPOT_SHARE.usd).citing(prices::SPOT_SHARE)
    }

    /// Cites `price` too (a share applied to this price).
    fn citing(mut self, price: Price) -> Quote {
        let s = price.source();
        if !self.sources.contains(&s) {
            self.sources.push(s);
        }
        self
    }
}

/// Memorystore's capacity band (M1..M5) of an instance of `size_gb`.
pub fn redis_band(size_gb: u32) -> u8 {
    let index = prices::REDIS_TIERS.iter().position(|(max, _, _)| size_gb <= *max).unwrap_or(4);
    // At most 5 bands (a table of five).
    u8::try_from(index + 1).unwrap_or(5)
}
