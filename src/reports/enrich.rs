//! What the plan in force says at a reported point, kept with the report when it comes so that
//! staff see at once whether the complaint is plausible: the plan version, the sub-zone, its
//! intensity rules, the overlays, and the class of the reported activity (a KBLI code) there.

use serde_json::{Value, json};

use crate::zoning::{Snapshot, ZoningError, lookup_point};

/// The plan at `(lon, lat)` in `snapshot`, with the class of `kbli` there if one is given; a point
/// no zone covers, or a code the rules do not know, is said in `message`.
pub fn plan_at(snapshot: &Snapshot, lon: f64, lat: f64, kbli: Option<&str>) -> Value {
    match lookup_point(snapshot, lon, lat, kbli) {
        Ok(answer) => json!({
            "plan": answer.head.plan,
            "feature_id": answer.head.feature_id,
            "block": answer.head.block,
            "subzone": answer.book.subzone_json(answer.subzone_code),
            "intensity": answer.book.intensity_json(answer.subzone_code),
            "overlays": answer.head.overlays,
            "activity": answer.head.activity,
        }),
        // An unknown KBLI code is not the reporter's fault: the plan is still worth keeping.
        Err(ZoningError::UnknownKbli(_)) if kbli.is_some() => {
            let mut plan = plan_at(snapshot, lon, lat, None);
            if let Some(object) = plan.as_object_mut() {
                object.insert(
                    "message".into(),
                    json!(format!(
                        "KBLI {} is not a KBLI 2020 code",
                        kbli.unwrap_or_default()
                    )),
                );
            }
            plan
        }
        Err(e) => json!({ "plan": null, "message": e.to_string() }),
    }
}

/// A short line for staff and mail: "R-2 Perumahan kepadatan sedang (RDTR …, versi 3)", or why
/// there is no zone.
pub fn summary(plan: &Value) -> String {
    let subzone = &plan["subzone"];
    let code = subzone["code"].as_str().unwrap_or("");
    let name = subzone["name"].as_str().unwrap_or("");
    match plan["plan"]["plan"].as_str() {
        Some(rdtr) if !code.is_empty() => {
            let version = &plan["plan"]["version"];
            format!("{code} {name} ({rdtr}, versi {version})")
        }
        _ => plan["message"]
            .as_str()
            .unwrap_or("no zone of the plan in force")
            .to_string(),
    }
}
