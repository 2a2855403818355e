//! Freshness after a publication: a new version of the plan is published from this process while
//! the server (another process) runs, and each kind of answer is asked until it names the new
//! version.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use super::Prepared;
use crate::ingest::{self, ImportOptions};

/// How long after the publication each kind of answer named the new version.
#[derive(Debug)]
pub struct Freshness {
    /// The plan version published.
    pub version: i32,
    /// Point lookups.
    pub point: Duration,
    /// Parcel lookups.
    pub parcel: Duration,
    /// The plan catalogue.
    pub plans: Duration,
    /// TileJSON (tiles of the new version).
    pub tiles: Duration,
}

/// Publishes the plan again (a new version) and waits for the server at `base` to answer from it.
pub async fn publish_and_wait(
    prepared: &Prepared,
    base: &str,
    (lon, lat): (f64, f64),
) -> anyhow::Result<Freshness> {
    let tiles_before = tile_version(base)?;
    let outcome = ingest::import(
        &prepared.pool,
        &ImportOptions {
            plan: Some("Bench".into()),
            ..ImportOptions::new(&prepared.plan)
        },
    )
    .await?;
    let published = Instant::now();
    let version = outcome.version.context("a version was published")?;
    let point_url = format!("{base}/api/v1/zoning?lon={lon:.6}&lat={lat:.6}");
    let d = 0.0002;
    let parcel = serde_json::json!({"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]]});
    let (mut point, mut parcel_at, mut plans, mut tiles) = (None, None, None, None);
    while published.elapsed() < Duration::from_secs(120) {
        let now = || Some(published.elapsed());
        if point.is_none() && get(&point_url)?["plan"]["version"] == version {
            point = now();
        }
        if parcel_at.is_none()
            && post(&format!("{base}/api/v1/zoning/parcel"), &parcel)?["parts"][0]["plan"]["version"]
                == version
        {
            parcel_at = now();
        }
        if plans.is_none() && published_version(base)? == Some(version) {
            plans = now();
        }
        if tiles.is_none() && tile_version(base)? != tiles_before {
            tiles = now();
        }
        if let (Some(point), Some(parcel), Some(plans), Some(tiles)) =
            (point, parcel_at, plans, tiles)
        {
            return Ok(Freshness {
                version,
                point,
                parcel,
                plans,
                tiles,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the server did not answer from version {version} within 120 s")
}

fn tile_version(base: &str) -> anyhow::Result<String> {
    Ok(get(&format!("{base}/tiles/zoning.json"))?["tiles"][0]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

fn published_version(base: &str) -> anyhow::Result<Option<i32>> {
    let plans = get(&format!("{base}/api/v1/plans"))?;
    Ok(plans["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["plan"] == "Bench" && v["published"] == true)
        .and_then(|v| v["version"].as_i64())
        .map(|v| v as i32))
}

fn get(url: &str) -> anyhow::Result<Value> {
    curl_json(Command::new("curl").args(["-s", "--compressed", url]))
}

fn post(url: &str, body: &Value) -> anyhow::Result<Value> {
    curl_json(Command::new("curl").args([
        "-s",
        "-H",
        "Content-Type: application/json",
        "-d",
        &body.to_string(),
        url,
    ]))
}

fn curl_json(command: &mut Command) -> anyhow::Result<Value> {
    let output = command.output().context("running curl")?;
    Ok(serde_json::from_slice(&output.stdout).unwrap_or(Value::Null))
}
