//! `iamtrim catalog`: which IAM catalog is in use, where it came from, and what it holds.

use std::io::Write;

use anyhow::Context;

use crate::catalog::{Catalog, update};
use crate::cli::{CatalogAction, CatalogArgs};
use crate::exit::Outcome;

pub fn run(args: &CatalogArgs) -> anyhow::Result<Outcome> {
    if let Some(CatalogAction::Update { from, out }) = &args.action {
        let out = match out {
            Some(path) => path.clone(),
            None => update::default_cache_path()
                .context("no cache folder: set HOME or XDG_CACHE_HOME, or pass --out")?,
        };
        let (services, actions) =
            update::update(from, &out).context("cannot update the IAM catalog")?;
        eprintln!(
            "iamtrim: wrote {services} services, {actions} actions to {}",
            out.display()
        );
        return Ok(Outcome::Clean);
    }
    let catalog =
        Catalog::resolve(args.catalog.as_deref()).context("cannot load the IAM catalog")?;
    if let Some(CatalogAction::Coverage { unmapped }) = &args.action {
        let coverage = crate::map::coverage::coverage(&catalog);
        let text = if args.json {
            format!("{}\n", serde_json::to_string_pretty(&coverage)?)
        } else {
            crate::map::coverage::text(&coverage, *unmapped)
        };
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write to stdout")?;
        return Ok(Outcome::Clean);
    }
    let resource_types: usize = catalog
        .services
        .values()
        .map(|s| s.resource_types.len())
        .sum();
    let condition_keys: usize = catalog
        .services
        .values()
        .map(|s| s.condition_keys.len())
        .sum();
    let text = if args.json {
        let value = serde_json::json!({
            "origin": catalog.origin,
            "source": catalog.source,
            "version": catalog.version,
            "updated_at": catalog.updated_at,
            "services": catalog.services.len(),
            "actions": catalog.action_count(),
            "resource_types": resource_types,
            "condition_keys": condition_keys,
        });
        format!("{}\n", serde_json::to_string_pretty(&value)?)
    } else {
        format!(
            "IAM catalog ({})\n  source:         {}\n  version:        {} (data of {})\n  services:       {}\n  actions:        {}\n  resource types: {}\n  condition keys: {}\n",
            catalog.origin,
            catalog.source,
            catalog.version,
            catalog.updated_at,
            catalog.services.len(),
            catalog.action_count(),
            resource_types,
            condition_keys
        )
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("cannot write to stdout")?;
    Ok(Outcome::Clean)
}
