//! `sdctl cost`: the hourly and monthly estimate, idle and at full load, item by item, from the
//! configuration and the price table in code (no credentials, no network).

use super::{CostArgs, Invocation};
use crate::cost;
use crate::exit::ExitCode;
use crate::ui;

pub fn run(inv: &Invocation, _args: CostArgs) -> anyhow::Result<ExitCode> {
    let config = inv.load_config()?;
    let estimate = cost::estimate(&config);
    if inv.ui.json() {
        inv.ui.json_document(&estimate.to_json());
    } else {
        inv.ui.out(&ui::cost_table(&inv.ui, &estimate));
    }
    Ok(ExitCode::Ok)
}
