//! Vector tiles as a map client sees them: decoded geometry and attributes, TileJSON and the OGC
//! paths, HTTP caching, and invalidation when a plan is published.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use geo::{HausdorffDistance, MultiPolygon};
use geozero::ToGeo;
use geozero::mvt::{Message, Tile, tile};
use satupeta::ingest::{self, ImportOptions};
use satupeta::tiles::{TileCoord, tile_bounds};
use serde_json::{Value, json};

use super::api::serve;
use super::fixtures::{self, cell_centre, standard_plan_as};
use super::harness::{fresh_db, scratch_dir};

async fn import(pool: &sqlx::PgPool, file: &std::path::Path, plan: &str) {
    ingest::import(
        pool,
        &ImportOptions {
            plan: Some(plan.into()),
            ..ImportOptions::new(file)
        },
    )
    .await
    .unwrap();
}

/// GET with optional request headers; returns status, headers and body bytes.
async fn fetch(url: &str, headers: &[(&str, &str)]) -> (u16, HashMap<String, String>, Vec<u8>) {
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let mut request = client.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let mut map = HashMap::new();
    for (k, v) in response.headers() {
        map.entry(k.as_str().to_string())
            .and_modify(|e: &mut String| e.push_str(&format!(", {}", v.to_str().unwrap())))
            .or_insert_with(|| v.to_str().unwrap().to_string());
    }
    (status, map, response.bytes().await.unwrap().to_vec())
}

/// A tile URL from a TileJSON template.
pub fn tile_url(template: &str, coord: TileCoord) -> String {
    template
        .replace("{z}", &coord.z.to_string())
        .replace("{x}", &coord.x.to_string())
        .replace("{y}", &coord.y.to_string())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A decoded feature's shape back in EPSG:3857.
fn shape_in_3857(feature: &tile::Feature, coord: TileCoord) -> MultiPolygon<f64> {
    let [west, _, east, north] = tile_bounds(coord);
    let unit = (east - west) / 4096.0;
    let geometry = feature.to_geo().unwrap();
    let shape = match geometry {
        geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        other => panic!("not a polygon: {other:?}"),
    };
    use geo::MapCoords;
    shape.map_coords(|c| geo::Coord {
        x: west + c.x * unit,
        y: north - c.y * unit,
    })
}

/// The text values of property `key` over the layer's features.
pub fn strings(layer: &tile::Layer, key: &str) -> Vec<String> {
    layer
        .features
        .iter()
        .filter_map(|f| property(layer, f, key).and_then(|v| v.string_value.clone()))
        .collect()
}

fn property<'a>(
    layer: &'a tile::Layer,
    feature: &tile::Feature,
    key: &str,
) -> Option<&'a tile::Value> {
    feature
        .tags
        .chunks(2)
        .find(|kv| layer.keys[kv[0] as usize] == key)
        .map(|kv| &layer.values[kv[1] as usize])
}

#[tokio::test]
async fn zoning_tiles_carry_the_plan_within_a_tile_unit_with_its_attributes() {
    let db = fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 32750);
    import(&db.pool, &file, "Ubin").await;
    let base = serve(&db).await;

    let (lon, lat) = cell_centre(1, 0);
    for z in [13u8, 15, 18] {
        let coord = TileCoord::containing(lon, lat, z).unwrap();
        let url = format!(
            "{base}/tiles/zoning/{}/{}/{}.mvt",
            coord.z, coord.x, coord.y
        );
        let (status, headers, body) = fetch(&url, &[("accept-encoding", "gzip")]).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(
            headers["content-type"],
            "application/vnd.mapbox-vector-tile"
        );
        assert_eq!(headers["content-encoding"], "gzip");
        let tile = Tile::decode(gunzip(&body).as_slice()).unwrap();
        let layer = &tile.layers[0];
        assert_eq!((layer.name.as_str(), layer.extent), ("zoning", Some(4096)));
        // Each cell of the fixture is found, with its attributes, where it is.
        let stored: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, subzone_code, ST_AsBinary(geom_3857) FROM zoning_feature ORDER BY id",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        let unit = coord.size() / 4096.0;
        let mut seen = 0;
        for feature in &layer.features {
            let (_, code, wkb) = stored
                .iter()
                .find(|(id, _, _)| Some(*id as u64) == feature.id)
                .expect("a stored id");
            let value = property(layer, feature, "code").unwrap();
            assert_eq!(value.string_value.as_deref(), Some(code.as_str()));
            assert_eq!(
                property(layer, feature, "color")
                    .unwrap()
                    .string_value
                    .as_ref()
                    .map(|c| c.len()),
                Some(7)
            );
            let source = match geozero::wkb::Wkb(wkb.clone()).to_geo().unwrap() {
                geo::Geometry::MultiPolygon(m) => m,
                other => panic!("{other:?}"),
            };
            // Compare inside the tile: at z18 a cell is larger than the tile and clipped.
            let decoded = shape_in_3857(feature, coord);
            let [w, s, e, n] = tile_bounds(coord);
            let window =
                geo::Rect::new(geo::Coord { x: w, y: s }, geo::Coord { x: e, y: n }).to_polygon();
            use geo::BooleanOps;
            let (a, b) = (decoded.intersection(&window), source.intersection(&window));
            if a.0.is_empty() && b.0.is_empty() {
                continue;
            }
            let distance = a.hausdorff_distance(&b);
            assert!(
                distance <= unit,
                "z{z}: feature {code} is {distance} m off, a tile unit is {unit} m"
            );
            seen += 1;
        }
        assert!(seen >= 1, "z{z}: no feature inside the tile");
    }
    // Out of range, and empty.
    for (path, status) in [
        ("zoning/19/0/0", 404),
        ("zoning/3/9/0", 404),
        ("zoning/5/0/0", 204),
        ("nothing/5/0/0", 404),
    ] {
        assert_eq!(
            fetch(&format!("{base}/tiles/{path}.mvt"), &[]).await.0,
            status,
            "{path}"
        );
    }
}

#[tokio::test]
async fn tilejson_and_the_ogc_tileset_describe_every_layer() {
    let db = fresh_db().await;
    let file = standard_plan_as(&scratch_dir(), "GPKG", "plan.gpkg", 4326);
    import(&db.pool, &file, "Ubin").await;
    let base = serve(&db).await;
    for layer in ["zoning", "admin"] {
        let (status, _, body) = fetch(&format!("{base}/tiles/{layer}.json"), &[]).await;
        assert_eq!(status, 200);
        let tilejson: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(tilejson["tilejson"], "3.0.0");
        assert_eq!(tilejson["vector_layers"][0]["id"], layer);
        let url = tilejson["tiles"][0].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?v=")),
            "{url}"
        );
        let bounds: Vec<f64> = serde_json::from_value(tilejson["bounds"].clone()).unwrap();
        assert!(
            bounds[0] > 116.7 && bounds[2] < 117.1 && bounds[1] > -1.3 && bounds[3] < -1.0,
            "{bounds:?}"
        );
    }
    let (_, _, body) = fetch(&format!("{base}/tiles/zoning.json"), &[]).await;
    let fields =
        serde_json::from_slice::<Value>(&body).unwrap()["vector_layers"][0]["fields"].clone();
    for field in ["code", "catalog_code", "name", "color", "block"] {
        assert!(fields.get(field).is_some(), "{field} missing from {fields}");
    }

    let (status, _, body) = fetch(
        &format!("{base}/ogc/collections/zoning/tiles/WebMercatorQuad"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let tileset: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        tileset["tileMatrixSetURI"],
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    );
    let template = tileset["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "item")
        .unwrap()["href"]
        .as_str()
        .unwrap();
    // The OGC path puts the row before the column.
    let (lon, lat) = cell_centre(0, 0);
    let coord = TileCoord::containing(lon, lat, 16).unwrap();
    let ogc = template
        .replace("{tileMatrix}", &coord.z.to_string())
        .replace("{tileRow}", &coord.y.to_string())
        .replace("{tileCol}", &coord.x.to_string());
    let xyz = format!(
        "{base}/tiles/zoning/{}/{}/{}.mvt",
        coord.z, coord.x, coord.y
    );
    let (a, b) = (fetch(&ogc, &[]).await, fetch(&xyz, &[]).await);
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!(a.2, b.2, "the OGC and XYZ paths serve the same tile");
    let (status, _, body) = fetch(&format!("{base}/ogc/collections/admin/tiles"), &[]).await;
    assert_eq!(status, 200);
    assert!(
        serde_json::from_slice::<Value>(&body).unwrap()["tilesets"]
            .as_array()
            .unwrap()
            .len()
            == 1
    );

    // The admin layer carries the kelurahan and kecamatan names.
    let coord = TileCoord::containing(116.8277, -1.2768, 12).unwrap();
    let (_, _, body) = fetch(
        &format!("{base}/tiles/admin/{}/{}/{}.mvt", coord.z, coord.x, coord.y),
        &[],
    )
    .await;
    let tile = Tile::decode(body.as_slice()).unwrap();
    let layer = &tile.layers[0];
    let names: Vec<String> = strings(layer, "nama");
    assert!(
        names.iter().any(|n| n == "Klandasan Ulu") && names.iter().any(|n| n == "Balikpapan Kota"),
        "{names:?}"
    );
}

#[tokio::test]
async fn tiles_are_cached_by_etag_and_encoding_and_invalidated_exactly_where_a_plan_changes() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    let file = standard_plan_as(&dir, "GPKG", "plan.gpkg", 4326);
    import(&db.pool, &file, "Ubin").await;
    // A second plan far to the east, whose tiles the change below must not touch.
    let far: Vec<(String, Value)> = vec![(
        "POLYGON((116.98 -1.20,116.99 -1.20,116.99 -1.19,116.98 -1.19,116.98 -1.20))".into(),
        json!({"KODSZN": "R-5"}),
    )];
    let far_file = dir.join("far.gpkg");
    fixtures::write_gpkg(&far_file, 4326, &far);
    import(&db.pool, &far_file, "Timur").await;
    let base = serve(&db).await;

    let (_, _, body) = fetch(&format!("{base}/tiles/zoning.json"), &[]).await;
    let template = serde_json::from_slice::<Value>(&body).unwrap()["tiles"][0]
        .as_str()
        .unwrap()
        .to_string();
    let (lon, lat) = cell_centre(0, 0);
    let here = TileCoord::containing(lon, lat, 15).unwrap();
    let there = TileCoord::containing(116.985, -1.195, 15).unwrap();

    let (status, headers, gz) = fetch(
        &tile_url(&template, here),
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "br", "brotli is preferred");
    assert!(headers["vary"].to_lowercase().contains("accept-encoding"));
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = headers["etag"].clone();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "a strong ETag: {etag}"
    );
    let (_, plain_headers, plain) = fetch(&tile_url(&template, here), &[]).await;
    assert!(!plain_headers.contains_key("content-encoding"));
    let decompressed = {
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut gz.as_slice(), &mut out).unwrap();
        out
    };
    assert_eq!(decompressed, plain, "one tile in every encoding");
    // Each content coding has its own strong ETag (RFC 9110), from the same tile.
    assert_ne!(plain_headers["etag"], etag);
    assert_eq!(
        plain_headers["etag"].trim_matches('"'),
        etag.trim_matches('"').trim_end_matches("-br")
    );
    let (status, _, body) = fetch(
        &tile_url(&template, here),
        &[("if-none-match", &etag), ("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!((status, body.len()), (304, 0));
    let unversioned = format!("{base}/tiles/zoning/{}/{}/{}.mvt", here.z, here.x, here.y);
    assert_eq!(
        fetch(&unversioned, &[]).await.1["cache-control"],
        "public, max-age=0, must-revalidate"
    );
    let (_, far_headers, _) = fetch(&tile_url(&template, there), &[]).await;

    // A new version of plan "Ubin" with another sub-zone in cell (0,0).
    let mut features = fixtures::standard_features();
    features[0].1["KODSZN"] = json!("KT");
    features[0].1["NAMOBJ"] = json!("Perkantoran");
    let changed = dir.join("changed.gpkg");
    fixtures::write_gpkg(&changed, 4326, &features);
    import(&db.pool, &changed, "Ubin").await;

    let started = Instant::now();
    let new_template = loop {
        let (_, _, body) = fetch(&format!("{base}/tiles/zoning.json"), &[]).await;
        let t = serde_json::from_slice::<Value>(&body).unwrap()["tiles"][0]
            .as_str()
            .unwrap()
            .to_string();
        if t != template {
            break t;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the tile layer did not change"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The changed tile has new content; the old ETag no longer matches.
    let (status, headers, body) = fetch(
        &tile_url(&new_template, here),
        &[("if-none-match", &etag), ("accept-encoding", "br")],
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(headers["etag"], etag);
    let body = {
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut body.as_slice(), &mut out).unwrap();
        out
    };
    let tile = Tile::decode(body.as_slice()).unwrap();
    let layer = &tile.layers[0];
    let codes: Vec<String> = strings(layer, "code");
    assert!(
        codes.contains(&"KT".to_string()) && !codes.contains(&"R-3".to_string()),
        "{codes:?}"
    );
    // The tile of the other plan is untouched: same ETag, still valid.
    let (status, _, _) = fetch(
        &tile_url(&new_template, there),
        &[("if-none-match", &far_headers["etag"])],
    )
    .await;
    assert_eq!(status, 304);
}

/// Every tile of zoom `z` that covers the plan, rendered by the service.
async fn tiles_over_plan(service: &satupeta::tiles::TileService, z: u8) -> Vec<(TileCoord, Tile)> {
    let [w, s, e, n] = service.layer("zoning").unwrap().bounds.unwrap();
    let (a, b) = (
        TileCoord::containing(w, n, z).unwrap(),
        TileCoord::containing(e, s, z).unwrap(),
    );
    let mut out = Vec::new();
    for x in a.x..=b.x {
        for y in a.y..=b.y {
            let coord = TileCoord::new(u32::from(z), x, y).unwrap();
            let (tile, _) = service.tile("zoning", coord).await.unwrap();
            assert!(
                tile.raw.len() <= satupeta::tiles::MAX_TILE_BYTES,
                "z{z} tile {x}/{y} has {} bytes",
                tile.raw.len()
            );
            if !tile.raw.is_empty() {
                out.push((coord, Tile::decode(&tile.raw[..]).unwrap()));
            }
        }
    }
    out
}

/// Checks the generalised tiles of zoom `z`: one feature per sub-zone, no overlap, no hole between
/// zones inside each tile; returns the sub-zone codes shown.
fn assert_coverage(z: u8, tiles: &[(TileCoord, Tile)]) -> Vec<String> {
    use geo::{Area, BooleanOps, unary_union};
    assert!(!tiles.is_empty(), "z{z} shows nothing");
    assert_neighbours_agree(z, tiles);
    let mut shown = Vec::new();
    for (coord, tile) in tiles {
        let layer = &tile.layers[0];
        let codes: Vec<String> = strings(layer, "code");
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            codes.len(),
            "z{z} {coord:?}: one feature per sub-zone"
        );
        shown.extend(unique);
        // Inside the tile proper, the zones neither overlap nor leave holes between them.
        let [w, s, e, n] = tile_bounds(*coord);
        let window =
            geo::Rect::new(geo::Coord { x: w, y: s }, geo::Coord { x: e, y: n }).to_polygon();
        let shapes: Vec<MultiPolygon<f64>> = layer
            .features
            .iter()
            .map(|f| shape_in_3857(f, *coord).intersection(&window))
            .collect();
        let sum: f64 = shapes.iter().map(|s| s.unsigned_area()).sum();
        let union: MultiPolygon<f64> = unary_union(shapes.iter());
        let pixel = (e - w) / 256.0;
        assert!(
            (sum - union.unsigned_area()).abs() < pixel * pixel,
            "z{z} {coord:?}: zones overlap"
        );
        let holes: f64 = union
            .iter()
            .flat_map(|p| p.interiors())
            .map(|ring| geo::Polygon::new(ring.clone(), vec![]).unsigned_area())
            .sum();
        assert!(
            holes < pixel * pixel,
            "z{z} {coord:?}: {holes} m² of holes between zones"
        );
    }
    shown.sort();
    shown.dedup();
    shown
}

/// Neighbouring generalised tiles draw the same classes where their buffers overlap (the strip
/// of four cells on each side of their shared edge): no seam, whichever tile a client draws.
fn assert_neighbours_agree(z: u8, tiles: &[(TileCoord, Tile)]) {
    use geo::{Area, BooleanOps};
    let by_coord: HashMap<(u32, u32), &Tile> = tiles.iter().map(|(c, t)| ((c.x, c.y), t)).collect();
    let mut compared = 0;
    for (coord, tile) in tiles {
        let [w, s, e, n] = tile_bounds(*coord);
        let reach = (e - w) / 256.0 * 4.0;
        // The east neighbour shares the edge x = e, the south neighbour the edge y = s.
        let neighbours = [
            (
                (coord.x + 1, coord.y),
                geo::Rect::new(
                    geo::Coord { x: e - reach, y: s },
                    geo::Coord { x: e + reach, y: n },
                ),
            ),
            (
                (coord.x, coord.y + 1),
                geo::Rect::new(
                    geo::Coord { x: w, y: s - reach },
                    geo::Coord { x: e, y: s + reach },
                ),
            ),
        ];
        for ((x, y), strip) in neighbours {
            let Some(other) = by_coord.get(&(x, y)) else {
                continue;
            };
            let other_coord = TileCoord::new(u32::from(z), x, y).unwrap();
            let strip = strip.to_polygon();
            let classes = |tile: &Tile, at: TileCoord| -> HashMap<String, MultiPolygon<f64>> {
                let layer = &tile.layers[0];
                layer
                    .features
                    .iter()
                    .map(|f| {
                        let code = property(layer, f, "code").and_then(|v| v.string_value.clone());
                        (
                            code.unwrap_or_default(),
                            shape_in_3857(f, at).intersection(&strip),
                        )
                    })
                    .collect()
            };
            let (here, there) = (classes(tile, *coord), classes(other, other_coord));
            let pixel = reach / 4.0;
            for code in here.keys().chain(there.keys()) {
                let empty = MultiPolygon::<f64>(Vec::new());
                let (a, b) = (
                    here.get(code).unwrap_or(&empty),
                    there.get(code).unwrap_or(&empty),
                );
                let differ = a.xor(b).unsigned_area();
                assert!(
                    differ < pixel * pixel / 4.0,
                    "z{z} {coord:?} and tile {x}/{y} disagree on {code}: {:.1} px²",
                    differ / (pixel * pixel)
                );
            }
            compared += 1;
        }
    }
    assert!(
        compared > 0 || tiles.len() < 2,
        "z{z}: no neighbouring tiles compared"
    );
}

/// Every zone at least a pixel wide at zoom `z` (the diameter of its largest inscribed circle, as
/// PostGIS measures it) is shown in the tile holding that circle's centre, by a feature of its
/// sub-zone that meets it; returns how many zones were that wide.
async fn assert_wide_zones_stay(
    db: &super::harness::TestDb,
    z: u8,
    tiles: &[(TileCoord, Tile)],
) -> usize {
    use geo::Intersects;
    let pixel = TileCoord::new(u32::from(z), 0, 0).unwrap().size() / 256.0;
    let wide: Vec<(String, f64, f64, Vec<u8>, f64)> = sqlx::query_as(
        "SELECT f.subzone_code, ST_X(c.center), ST_Y(c.center), ST_AsBinary(f.geom_3857), 2 * c.radius / $1
         FROM published_zoning f, ST_MaximumInscribedCircle(f.geom_3857) c
         WHERE 2 * c.radius >= $1 * 1.05",
    )
    .bind(pixel)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (code, x, y, wkb, pixels) in &wide {
        let zone = match geozero::wkb::Wkb(wkb.clone()).to_geo().unwrap() {
            geo::Geometry::MultiPolygon(m) => m,
            other => panic!("{other:?}"),
        };
        let (lon, lat) = satupeta::tiles::unproject(*x, *y);
        let coord = TileCoord::containing(lon, lat, z).unwrap();
        let (_, tile) = tiles
            .iter()
            .find(|(c, _)| *c == coord)
            .unwrap_or_else(|| panic!("z{z}: no tile at the {code} zone at {lon}, {lat}"));
        let layer = &tile.layers[0];
        let shown = layer.features.iter().any(|f| {
            property(layer, f, "code").and_then(|v| v.string_value.as_deref()) == Some(code)
                && shape_in_3857(f, coord).intersects(&zone)
        });
        assert!(shown, "z{z}: a {code} zone {pixels:.1} px wide is missing");
    }
    wide.len()
}

#[tokio::test]
async fn low_zoom_tiles_are_a_gapless_coverage_with_one_feature_per_sub_zone() {
    let db = fresh_db().await;
    import(&db.pool, super::harness::demo_plan(), "Demo").await;
    let service = satupeta::tiles::TileService::open(db.pool.clone(), 64 << 20, None)
        .await
        .unwrap();
    for z in [8u8, 10, 12] {
        let tiles = tiles_over_plan(&service, z).await;
        let shown = assert_coverage(z, &tiles);
        // The demo's road bodies (30 m) are narrower than a pixel up to zoom 12.
        assert!(
            !shown.contains(&"BJ".to_string()),
            "road bodies are given to their neighbours at z{z}"
        );
        assert!(
            assert_wide_zones_stay(&db, z, &tiles).await > 0,
            "z{z}: no wide zone checked"
        );
    }
    // Above the generalised zooms every zone is its own feature, road bodies included.
    let detailed = tiles_over_plan(&service, 14).await;
    assert!(
        detailed
            .iter()
            .any(|(_, t)| strings(&t.layers[0], "code").contains(&"BJ".to_string()))
    );
}

#[tokio::test]
async fn wide_road_bodies_stay_where_they_are_wider_than_a_pixel_and_leave_no_hole() {
    let db = fresh_db().await;
    let file = scratch_dir().join("roads.gpkg");
    fixtures::write_gpkg(&file, 4326, &fixtures::road_grid_features());
    import(&db.pool, &file, "Jalan").await;
    let service = satupeta::tiles::TileService::open(db.pool.clone(), 64 << 20, None)
        .await
        .unwrap();
    // The wide road (330 m) is wider than a pixel at z10 (153 m) and z12 (38 m), narrower at z8
    // (611 m); the thin one (22 m) is narrower at every generalised zoom.
    for (z, roads_shown) in [(8u8, false), (10, true), (12, true)] {
        let tiles = tiles_over_plan(&service, z).await;
        let shown = assert_coverage(z, &tiles);
        assert_eq!(
            shown.contains(&"BJ".to_string()),
            roads_shown,
            "z{z}: {shown:?}"
        );
        let wide = assert_wide_zones_stay(&db, z, &tiles).await;
        assert!(wide >= 9, "z{z}: only {wide} zones were wide");
    }
    // At z12 the thin road is gone: where it runs, the tile shows only blocks.
    let thin_x = 116.90 + 0.012 * 2.0 + 0.003 + 0.0001;
    let (tile, _) = service
        .tile("zoning", TileCoord::containing(thin_x, -1.19, 12).unwrap())
        .await
        .unwrap();
    let decoded = Tile::decode(&tile.raw[..]).unwrap();
    let layer = &decoded.layers[0];
    let road = layer
        .features
        .iter()
        .find(|f| property(layer, f, "code").and_then(|v| v.string_value.as_deref()) == Some("BJ"))
        .map(|f| shape_in_3857(f, TileCoord::containing(thin_x, -1.19, 12).unwrap()));
    let (x, y) = satupeta::tiles::project(thin_x, -1.19);
    use geo::Intersects;
    assert!(
        road.is_none_or(|r| !r.intersects(&geo::Point::new(x, y))),
        "the 22 m road is drawn at z12"
    );
}

#[tokio::test]
async fn a_seeded_archive_is_served_while_fresh_and_live_tiles_after_a_change() {
    use satupeta::tiles::{TileOrigin, TileService, archive_path, seed};
    let db = fresh_db().await;
    let dir = scratch_dir();
    let file = standard_plan_as(&dir, "GPKG", "plan.gpkg", 4326);
    import(&db.pool, &file, "Arsip").await;
    let tiles_dir = dir.join("tiles");
    let seeder = TileService::open(db.pool.clone(), 0, None).await.unwrap();
    let out = archive_path(&tiles_dir, "zoning");
    let summary = seed(&seeder, "zoning", (10, 16), None, &out, false)
        .await
        .unwrap();
    assert!(
        summary.written >= 7 && summary.written <= summary.tiles,
        "{summary:?}"
    );
    assert!(out.exists() && summary.bytes > 0);

    let service = TileService::open(db.pool.clone(), 64 << 20, Some(tiles_dir.clone()))
        .await
        .unwrap();
    let (lon, lat) = cell_centre(0, 0);
    let coord = TileCoord::containing(lon, lat, 15).unwrap();
    let (tile, _) = service.tile("zoning", coord).await.unwrap();
    assert_eq!(tile.origin, TileOrigin::Archive);
    assert_eq!(
        tile.raw,
        service.render("zoning", coord).await.unwrap(),
        "the archive holds what live rendering gives"
    );
    // Outside the seeded zooms, tiles are rendered live.
    let deeper = TileCoord::containing(lon, lat, 17).unwrap();
    assert_eq!(
        service.tile("zoning", deeper).await.unwrap().0.origin,
        TileOrigin::Live
    );

    // A new version makes the archive stale: live tiles, with the new content.
    let mut features = fixtures::standard_features();
    features[0].1["KODSZN"] = json!("KT");
    features[0].1["NAMOBJ"] = json!("Perkantoran");
    let changed = dir.join("changed.gpkg");
    fixtures::write_gpkg(&changed, 4326, &features);
    import(&db.pool, &changed, "Arsip").await;
    let live = satupeta::zoning::Live::load(db.pool.clone()).await.unwrap();
    assert!(service.refresh(live.snapshot()).await.unwrap());
    let (tile, _) = service.tile("zoning", coord).await.unwrap();
    assert_eq!(tile.origin, TileOrigin::Live);
    let decoded = Tile::decode(&tile.raw[..]).unwrap();
    assert!(strings(&decoded.layers[0], "code").contains(&"KT".to_string()));
    // Seeding again makes it fresh again.
    seed(&service, "zoning", (10, 16), None, &out, false)
        .await
        .unwrap();
    let reopened = TileService::open(db.pool.clone(), 64 << 20, Some(tiles_dir))
        .await
        .unwrap();
    assert_eq!(
        reopened.tile("zoning", coord).await.unwrap().0.origin,
        TileOrigin::Archive
    );
}

#[tokio::test]
async fn a_table_registered_as_a_tile_layer_is_served_without_new_code() {
    let db = fresh_db().await;
    let base = serve(&db).await;
    assert_eq!(
        fetch(&format!("{base}/tiles/sekolah.json"), &[]).await.0,
        404
    );
    // An agency's dataset of points and one of lines, registered in tile_layer.
    for sql in [
        "CREATE TABLE sekolah (gid serial PRIMARY KEY, nama text, jenjang text, geom_3857 geometry(Point, 3857))",
        "INSERT INTO sekolah (nama, jenjang, geom_3857) VALUES
            ('SDN 001 Balikpapan Kota', 'SD', ST_Transform(ST_SetSRID(ST_MakePoint(116.8277, -1.2768), 4326), 3857)),
            ('SMPN 1 Balikpapan', NULL, ST_Transform(ST_SetSRID(ST_MakePoint(116.8280, -1.2765), 4326), 3857))",
        "CREATE TABLE sungai (id bigserial PRIMARY KEY, nama text, geom geometry(LineString, 3857))",
        "INSERT INTO sungai (nama, geom) VALUES ('Sungai Klandasan',
            ST_Transform(ST_SetSRID(ST_MakeLine(ST_MakePoint(116.826, -1.280), ST_MakePoint(116.829, -1.270)), 4326), 3857))",
        // Registering announces itself: no change_log row, no NOTIFY by hand.
        "INSERT INTO tile_layer VALUES ('sekolah', 'Sekolah (Dinas Pendidikan)', 'sekolah', 'gid', 'geom_3857', ARRAY['nama', 'jenjang']),
                                       ('sungai', 'Sungai (Dinas PU)', 'public.sungai', 'id', 'geom', ARRAY['nama'])",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap();
    }
    let started = Instant::now();
    while fetch(&format!("{base}/tiles/sekolah.json"), &[]).await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new layer was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, body) = fetch(&format!("{base}/tiles/sekolah.json"), &[]).await;
    let tilejson: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(tilejson["description"], "Sekolah (Dinas Pendidikan)");
    assert!(
        tilejson["vector_layers"][0]["fields"]
            .get("jenjang")
            .is_some()
    );

    let coord = TileCoord::containing(116.8277, -1.2768, 15).unwrap();
    for (layer, expected) in [
        (
            "sekolah",
            vec!["SDN 001 Balikpapan Kota", "SMPN 1 Balikpapan"],
        ),
        ("sungai", vec!["Sungai Klandasan"]),
    ] {
        let (status, _, body) = fetch(
            &format!(
                "{base}/tiles/{layer}/{}/{}/{}.mvt",
                coord.z, coord.x, coord.y
            ),
            &[],
        )
        .await;
        assert_eq!(status, 200, "{layer}");
        let tile = Tile::decode(body.as_slice()).unwrap();
        let l = &tile.layers[0];
        assert_eq!(l.name, layer);
        let mut names: Vec<String> = strings(l, "nama");
        names.sort();
        assert_eq!(names, expected, "{layer}");
        let kind = if layer == "sekolah" {
            tile::GeomType::Point
        } else {
            tile::GeomType::Linestring
        };
        assert!(l.features.iter().all(|f| f.r#type() == kind), "{layer}");
    }

    // The layer's version (in its cacheable tile URLs) follows its content: an edit announced with
    // satupeta_announce gives a new version and the new content.
    let template = |body: &[u8]| {
        serde_json::from_slice::<Value>(body).unwrap()["tiles"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = template(&fetch(&format!("{base}/tiles/sekolah.json"), &[]).await.2);
    for sql in [
        "UPDATE sekolah SET nama = 'SDN 002 Balikpapan Kota' WHERE nama = 'SDN 001 Balikpapan Kota'",
        "SELECT satupeta_announce('sekolah edited')",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap();
    }
    let started = Instant::now();
    let after = loop {
        let t = template(&fetch(&format!("{base}/tiles/sekolah.json"), &[]).await.2);
        if t != before {
            break t;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the edit was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let tile = Tile::decode(fetch(&tile_url(&after, coord), &[]).await.2.as_slice()).unwrap();
    assert!(strings(&tile.layers[0], "nama").contains(&"SDN 002 Balikpapan Kota".to_string()));

    // A layer unregistered, its table edited, and registered again under the same id: its
    // tiles are those of the table as it is, not those cached under that id before.
    let until = |status: u16| {
        let url = format!("{base}/tiles/sungai.json");
        async move {
            let started = Instant::now();
            while fetch(&url, &[]).await.0 != status {
                assert!(started.elapsed() < Duration::from_secs(10), "not {status}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    sqlx::query("DELETE FROM tile_layer WHERE id = 'sungai'")
        .execute(&db.pool)
        .await
        .unwrap();
    until(404).await;
    for sql in [
        "UPDATE sungai SET nama = 'Sungai Klandasan Besar'",
        "SELECT satupeta_announce('sungai edited')",
        "INSERT INTO tile_layer VALUES ('sungai', 'Sungai (Dinas PU)', 'public.sungai', 'id', 'geom', ARRAY['nama'])",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap();
    }
    until(200).await;
    let plain = format!(
        "{base}/tiles/sungai/{}/{}/{}.mvt",
        coord.z, coord.x, coord.y
    );
    let tile = Tile::decode(fetch(&plain, &[]).await.2.as_slice()).unwrap();
    assert_eq!(strings(&tile.layers[0], "nama"), ["Sungai Klandasan Besar"]);
}

#[tokio::test]
async fn kecamatan_and_city_outlines_are_drawn_from_their_kelurahan() {
    let db = fresh_db().await;
    // Each kecamatan's outline is the union of its kelurahan (holes filled), so no kecamatan line
    // crosses a kelurahan; the city's is the union of all.
    let rows: Vec<(String, f64, f64, bool)> = sqlx::query_as(
        "SELECT k.nama, ST_Area(k.geom::geography), ST_Area(ST_SymDifference(k.geom, u.geom)::geography),
                ST_CoveredBy(u.geom, k.geom)
         FROM admin_area k
         JOIN (SELECT kecamatan, ST_Union(geom) AS geom FROM admin_area WHERE tingkat = 'kelurahan'
               GROUP BY kecamatan) u ON u.kecamatan = k.nama
         WHERE k.tingkat = 'kecamatan'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 6);
    for (name, area, difference, covered) in rows {
        // Only the holes where the source's kelurahan do not quite meet differ (filled).
        assert!(
            difference < area * 0.01,
            "{name}: {difference} m² of {area} m² differ"
        );
        assert!(covered, "{name}");
    }
    let holes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admin_area, ST_Dump(geom) d
         WHERE tingkat IN ('kecamatan', 'kota') AND ST_NumInteriorRings(d.geom) > 0",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(holes, 0);
    let (city, all): (f64, f64) = sqlx::query_as(
        "SELECT ST_Area(c.geom::geography),
                ST_Area((SELECT ST_Union(geom) FROM admin_area WHERE tingkat = 'kelurahan')::geography)
         FROM admin_area c WHERE c.tingkat = 'kota'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(city >= all && city < all * 1.01, "{city} vs {all}");
}

#[tokio::test]
async fn zoning_tiles_of_another_day_draw_the_versions_in_force_that_day() {
    let db = fresh_db().await;
    let dir = scratch_dir();
    // Version 1 from 2020; version 2 from 2024 redraws cell (1,0) from K-1 to offices (KT).
    let mut features = fixtures::standard_features();
    let first = dir.join("v1.gpkg");
    fixtures::write_gpkg(&first, 4326, &features);
    features[1].1["KODSZN"] = json!("32113000");
    features[1].1["NAMOBJ"] = json!("Perkantoran");
    let second = dir.join("v2.gpkg");
    fixtures::write_gpkg(&second, 4326, &features);
    for (file, effective) in [(&first, "2020-01-01"), (&second, "2024-01-01")] {
        ingest::import(
            &db.pool,
            &ImportOptions {
                plan: Some("Hari".into()),
                effective: Some(effective.into()),
                ..ImportOptions::new(file)
            },
        )
        .await
        .unwrap();
    }
    let base = serve(&db).await;
    let (lon, lat) = cell_centre(1, 0);
    let coord = TileCoord::containing(lon, lat, 16).unwrap();
    let url = format!(
        "{base}/tiles/zoning/{}/{}/{}.mvt",
        coord.z, coord.x, coord.y
    );
    // The cell's code as the tile draws it (its neighbours are neither K-1 nor KT).
    let codes = |body: &[u8]| -> Vec<String> {
        let tile = Tile::decode(body).unwrap();
        let mut codes: Vec<String> = strings(&tile.layers[0], "code")
            .into_iter()
            .filter(|c| c == "K-1" || c == "KT")
            .collect();
        codes.sort();
        codes.dedup();
        codes
    };

    let (status, _, today) = fetch(&url, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&today), ["KT"]);
    let (status, headers, then) = fetch(&format!("{url}?at=2022-01-01"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&then), ["K-1"], "in 2022 the cell was K-1");
    assert_eq!(headers["cache-control"], "public, max-age=60");
    // Compressed as asked, revalidated by its ETag, the same on the OGC path.
    let (_, gz_headers, gz) = fetch(
        &format!("{url}?at=2022-01-01"),
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(gz_headers["content-encoding"], "gzip");
    assert_eq!(codes(&gunzip(&gz)), ["K-1"]);
    let (status, _, _) = fetch(
        &format!("{url}?at=2022-01-01"),
        &[("if-none-match", &headers["etag"])],
    )
    .await;
    assert_eq!(status, 304);
    let ogc = format!(
        "{base}/ogc/collections/zoning/tiles/WebMercatorQuad/{}/{}/{}?at=2022-01-01",
        coord.z, coord.y, coord.x
    );
    let (status, _, body) = fetch(&ogc, &[]).await;
    assert_eq!((status, codes(&body)), (200, vec!["K-1".to_string()]));
    // A day with today's versions is today's tile; a day before any version has nothing.
    let (_, _, later) = fetch(&format!("{url}?at=2030-06-01"), &[]).await;
    assert_eq!(codes(&later), ["KT"]);
    let (status, _, _) = fetch(&format!("{url}?at=2000-01-01"), &[]).await;
    assert_eq!(status, 204);
    // Not a day: a problem naming it.
    for bad in ["2025-02-30", "yesterday", "2022-1-1"] {
        let (status, headers, body) = fetch(&format!("{url}?at={bad}"), &[]).await;
        assert_eq!(status, 400, "at={bad}");
        assert!(headers["content-type"].starts_with("application/problem+json"));
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(bad),
            "{problem}"
        );
    }
}
