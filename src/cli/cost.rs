//! `sdctl cost`: the hourly and monthly estimate, idle and at full load, item by item, priced
//! from Google's Cloud Billing Catalog for the configured region (cached a day), or from the
//! built-in table with `--offline` or when the catalog cannot be read.

use super::{CostArgs, Invocation};
use crate::cost::{self, PriceBook};
use crate::exit::ExitCode;
use crate::gcp::Gcp;
use crate::ui;

pub async fn run(inv: &Invocation, args: CostArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let book = if args.offline {
        PriceBook::builtin(&config.region, "--offline")
    } else {
        let gcp = Gcp::new(inv.endpoints()?);
        match cost::catalog::fresh(&gcp, &config.region) {
            Some(catalog) => PriceBook::from_catalog(catalog),
            None => {
                if !inv.ui.json() {
                    inv.ui.err(&format!(
                        "Reading {}'s prices from Google's Cloud Billing Catalog (kept for a day; --offline uses sdctl's table)...",
                        config.region
                    ));
                }
                cost::price_book(&gcp, &config.region).await
            }
        }
    };
    let estimate = cost::estimate(&config, &book);
    if inv.ui.json() {
        inv.ui.json_document(&estimate.to_json());
    } else {
        inv.ui.out(&ui::cost_table(&inv.ui, &estimate));
    }
    Ok(ExitCode::Ok)
}
