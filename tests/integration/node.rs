//! The network node as agencies and their clients use it: a dataset uploaded through the API is
//! internal until its metadata is complete and DPPR staff approve it; OGC API Features serves it
//! in pages, CRSs and CQL2 filters; its agency edits it with ETags; another agency cannot touch it;
//! re-publishing keeps the previous version.

use std::collections::HashSet;

use satupeta::accounts::{self, Actor, NewAccount, Role};
use serde_json::{Value, json};

use super::harness::{TestDb, fresh_db};

pub const PASSWORD: &str = "kata sandi yang panjang";

fn operator() -> Actor {
    Actor {
        account_id: None,
        name: "test".into(),
        origin: "cli:test".into(),
    }
}

/// Tokens of a publisher of dinkes, one of disdik, a staff member and an admin.
pub struct People {
    pub dinkes: String,
    pub disdik: String,
    pub staff: String,
    pub admin: String,
}

pub async fn people(db: &TestDb) -> People {
    let pool = &db.pool;
    for (code, name) in [
        ("dinkes", "Dinas Kesehatan"),
        ("disdik", "Dinas Pendidikan"),
    ] {
        accounts::add_agency(pool, code, name, &operator())
            .await
            .unwrap();
    }
    let accounts = [
        ("budi", Role::Publisher, Some("dinkes")),
        ("sari", Role::Publisher, Some("disdik")),
        ("staf", Role::Staff, None),
        ("admin", Role::Admin, None),
    ];
    let mut tokens = Vec::new();
    for (name, role, agency) in accounts {
        let account = NewAccount {
            name,
            role,
            agency,
            password: PASSWORD,
        };
        accounts::add_account(pool, &account, &operator())
            .await
            .unwrap();
        tokens.push(
            accounts::create_token(pool, name, "", &operator())
                .await
                .unwrap()
                .secret,
        );
    }
    let [dinkes, disdik, staff, admin] = <[String; 4]>::try_from(tokens).unwrap();
    People {
        dinkes,
        disdik,
        staff,
        admin,
    }
}

/// `n` health centres as GeoJSON points in Balikpapan, kapasitas 10, 20, ...
pub fn health_centres(n: usize) -> String {
    let features: Vec<Value> = (0..n)
        .map(|i| {
            let lon = 116.83 + 0.01 * (i % 10) as f64;
            let lat = -1.27 + 0.01 * (i / 10) as f64;
            json!({
                "type": "Feature",
                "properties": { "Nama Puskesmas": format!("Puskesmas {i}"), "kategori": if i % 2 == 0 { "rawat inap" } else { "non rawat inap" }, "kapasitas": 10 * (i + 1) },
                "geometry": { "type": "Point", "coordinates": [lon, lat] }
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        Client {
            base: base.into(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.into()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut r = self.http.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r).await
    }

    pub async fn upload(
        &self,
        path: &str,
        token: Option<&str>,
        id: &str,
        name: &str,
        content: String,
        put: bool,
    ) -> Answer {
        let form = reqwest::multipart::Form::new()
            .text("id", id.to_string())
            .part(
                "file",
                reqwest::multipart::Part::text(content).file_name(name.to_string()),
            );
        let url = self.url(path);
        let mut r = if put {
            self.http.put(url)
        } else {
            self.http.post(url)
        };
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        self.send(r.multipart(form)).await
    }

    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut r = self
            .http
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        for (k, v) in extra {
            r = r.header(*k, *v);
        }
        self.send(r).await
    }
}

pub fn complete_metadata() -> Value {
    json!({
        "title": "Puskesmas Kota Balikpapan",
        "abstract": "Lokasi pusat kesehatan masyarakat di Kota Balikpapan.",
        "topic_category": "health",
        "keywords": ["kesehatan", "puskesmas"],
        "contact": { "email": "dinkes@balikpapan.go.id" },
        "lineage": "Survei lapangan Dinas Kesehatan 2025.",
        "licence": "CC-BY-4.0",
        "update_frequency": "annually",
        "reference_date": "2025-06-01"
    })
}

/// Publishes `data` as dataset `id` of dinkes, describes it with `metadata` and has staff approve
/// it: a public dataset, as most tests need one.
pub async fn public_dataset(client: &Client, p: &People, id: &str, data: String, metadata: &Value) {
    let up = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            id,
            &format!("{id}.geojson"),
            data,
            false,
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let path = format!("/api/v1/datasets/{id}/metadata");
    let saved = client
        .json(reqwest::Method::PUT, &path, Some(&p.dinkes), metadata, &[])
        .await;
    assert_eq!(saved.body["complete"], true, "{}", saved.body);
    let path = format!("/api/v1/datasets/{id}/approve");
    let approved = client
        .json(
            reqwest::Method::POST,
            &path,
            Some(&p.staff),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
}

/// Every id of a collection's items, following the `next` links from `first`.
pub async fn walk(client: &Client, first: &str, token: Option<&str>) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut url = first.to_string();
    let mut pages = 0;
    loop {
        let page = client.get(&url, token).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        pages += 1;
        for f in page.body["features"].as_array().unwrap() {
            ids.push(f["id"].as_i64().unwrap());
        }
        let next = page.body["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_string());
        match next {
            Some(n) => url = n,
            None => break,
        }
        assert!(pages < 1000);
    }
    (ids, pages)
}

#[tokio::test]
async fn an_agency_publishes_a_dataset_that_becomes_public_once_described_and_approved() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let data = health_centres(25);

    // Only a publisher uploads.
    let anonymous = client
        .upload(
            "/api/v1/datasets",
            None,
            "puskesmas",
            "puskesmas.geojson",
            data.clone(),
            false,
        )
        .await;
    assert_eq!(anonymous.status, 401);
    let staff = client
        .upload(
            "/api/v1/datasets",
            Some(&p.staff),
            "puskesmas",
            "puskesmas.geojson",
            data.clone(),
            false,
        )
        .await;
    assert_eq!(staff.status, 403);
    let bad_name = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "Puskesmas; DROP",
            "p.geojson",
            data.clone(),
            false,
        )
        .await;
    assert_eq!(bad_name.status, 422, "{}", bad_name.body);
    let published = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "puskesmas",
            "puskesmas.geojson",
            data,
            false,
        )
        .await;
    assert_eq!(published.status, 201, "{}", published.body);
    assert_eq!(published.body["features"], 25);
    assert_eq!(published.body["version"], 1);
    assert_eq!(published.body["visibility"], "internal");
    let columns: Vec<&str> = published.body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["nama_puskesmas", "kategori", "kapasitas"]);

    // Internal: signed-in accounts read it, never cached publicly; anonymous callers do not.
    assert_eq!(
        client.get("/ogc/collections/puskesmas", None).await.status,
        401
    );
    assert_eq!(
        client
            .get("/ogc/collections/puskesmas/items", None)
            .await
            .status,
        401
    );
    let listed = client.get("/ogc/collections", None).await;
    assert!(
        !listed.body["collections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "puskesmas")
    );
    let internal = client
        .get("/ogc/collections/puskesmas/items", Some(&p.disdik))
        .await;
    assert_eq!(internal.status, 200);
    assert_eq!(internal.header("cache-control"), "private, no-store");
    // Its tiles too (read in the background after the upload), TileJSON included.
    let mut tilejson = client.get("/tiles/puskesmas.json", Some(&p.disdik)).await;
    for _ in 0..50 {
        if tilejson.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        tilejson = client.get("/tiles/puskesmas.json", Some(&p.disdik)).await;
    }
    assert_eq!(tilejson.status, 200, "{}", tilejson.body);
    assert_eq!(tilejson.header("cache-control"), "private, no-store");
    for path in [
        "/tiles/puskesmas.json",
        "/tiles/puskesmas/14/13509/8249.mvt",
        "/ogc/collections/puskesmas/tiles",
        "/ogc/collections/puskesmas/tiles/WebMercatorQuad",
    ] {
        assert_eq!(client.get(path, None).await.status, 401, "{path}");
    }
    let tile = client
        .get("/tiles/puskesmas/14/13509/8249.mvt", Some(&p.disdik))
        .await;
    assert_eq!(
        (tile.status, tile.header("cache-control")),
        (200, "private, no-store")
    );

    // Approval needs complete metadata; only the owning agency writes it; only staff approve.
    let early = client
        .json(
            reqwest::Method::POST,
            "/api/v1/datasets/puskesmas/approve",
            Some(&p.staff),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(early.status, 409);
    assert!(
        early.body["detail"].as_str().unwrap().contains("abstract"),
        "{}",
        early.body
    );
    let foreign = client
        .json(
            reqwest::Method::PUT,
            "/api/v1/datasets/puskesmas/metadata",
            Some(&p.disdik),
            &complete_metadata(),
            &[],
        )
        .await;
    assert_eq!(foreign.status, 403);
    let draft = client
        .json(
            reqwest::Method::PUT,
            "/api/v1/datasets/puskesmas/metadata",
            Some(&p.dinkes),
            &json!({"title": "Puskesmas"}),
            &[],
        )
        .await;
    assert_eq!(draft.status, 200, "{}", draft.body);
    assert_eq!(draft.body["complete"], false);
    let saved = client
        .json(
            reqwest::Method::PUT,
            "/api/v1/datasets/puskesmas/metadata",
            Some(&p.dinkes),
            &complete_metadata(),
            &[],
        )
        .await;
    assert_eq!(saved.body["complete"], true, "{}", saved.body);
    let by_publisher = client
        .json(
            reqwest::Method::POST,
            "/api/v1/datasets/puskesmas/approve",
            Some(&p.dinkes),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(by_publisher.status, 403);
    let approved = client
        .json(
            reqwest::Method::POST,
            "/api/v1/datasets/puskesmas/approve",
            Some(&p.staff),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);

    // Public now: its vector tiles are served, from the catalog (the page reloads them itself).
    let tilejson = client.get("/tiles/puskesmas.json", None).await;
    assert_eq!(tilejson.status, 200, "{}", tilejson.body);
    let fields = &tilejson.body["vector_layers"][0]["fields"];
    assert!(fields.get("kapasitas").is_some(), "{fields}");
    let tile = client.get("/tiles/puskesmas/14/13509/8249.mvt", None).await;
    assert_eq!(tile.status, 200, "a tile over the first centre");
    assert!(tile.header("cache-control").starts_with("public"));

    // Public now: anyone pages through every feature by the next links.
    let collection = client.get("/ogc/collections/puskesmas", None).await;
    assert_eq!(collection.status, 200);
    assert_eq!(collection.body["itemType"], "feature");
    assert_eq!(collection.body["title"], "Puskesmas Kota Balikpapan");
    let first = client
        .get("/ogc/collections/puskesmas/items?limit=10", None)
        .await;
    assert_eq!(first.body["numberMatched"], 25);
    assert_eq!(first.header("content-type"), "application/geo+json");
    let (ids, pages) = walk(&client, "/ogc/collections/puskesmas/items?limit=10", None).await;
    assert_eq!((ids.len(), pages), (25, 3));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 25);

    // Filters: CQL2 text and JSON, a bbox, property equality; each against what was uploaded.
    let count = |body: &Value| body["features"].as_array().unwrap().len();
    let big = client.get("/ogc/collections/puskesmas/items?limit=100&filter=kapasitas%20%3E%20150%20AND%20kategori%20%3D%20%27rawat%20inap%27", None).await;
    assert_eq!(big.status, 200, "{}", big.body);
    // kapasitas 160..250 at even i (i = 15..24): 16, 18, 20, 22, 24
    assert_eq!(count(&big.body), 5);
    let json_filter = r#"{"op":"<=","args":[{"property":"kapasitas"},30]}"#;
    let small = client
        .get(
            &format!(
                "/ogc/collections/puskesmas/items?filter-lang=cql2-json&filter={}",
                urlencode(json_filter)
            ),
            None,
        )
        .await;
    assert_eq!(count(&small.body), 3, "{}", small.body);
    let spatial = client
        .get(
            &format!(
                "/ogc/collections/puskesmas/items?limit=100&filter={}",
                urlencode("S_INTERSECTS(geometry, BBOX(116.825, -1.275, 116.855, -1.255))")
            ),
            None,
        )
        .await;
    assert_eq!(count(&spatial.body), 6, "{}", spatial.body);
    let boxed = client
        .get(
            "/ogc/collections/puskesmas/items?limit=100&bbox=116.825,-1.275,116.855,-1.255",
            None,
        )
        .await;
    assert_eq!(count(&boxed.body), 6);
    let equal = client
        .get(
            "/ogc/collections/puskesmas/items?limit=100&kategori=rawat%20inap",
            None,
        )
        .await;
    assert_eq!(count(&equal.body), 13);

    // CRSs: UTM 50S in metres, EPSG:4326 latitude first, announced in Content-Crs.
    let utm = client.get("/ogc/collections/puskesmas/items?limit=1&crs=http://www.opengis.net/def/crs/EPSG/0/32750", None).await;
    assert_eq!(
        utm.header("content-crs"),
        "<http://www.opengis.net/def/crs/EPSG/0/32750>"
    );
    let xy = &utm.body["features"][0]["geometry"]["coordinates"];
    assert!(
        (400_000.0..600_000.0).contains(&xy[0].as_f64().unwrap())
            && xy[1].as_f64().unwrap() > 9_800_000.0,
        "{xy}"
    );
    let latlon = client.get("/ogc/collections/puskesmas/items?limit=1&crs=http://www.opengis.net/def/crs/EPSG/0/4326", None).await;
    assert_eq!(
        latlon.body["features"][0]["geometry"]["coordinates"],
        json!([-1.27, 116.83])
    );
    let utm_box = client.get("/ogc/collections/puskesmas/items?limit=100&bbox=426000,9859000,429500,9861300&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/32750", None).await;
    assert_eq!(utm_box.status, 200);

    // Hostile or mistaken queries: 400 with a problem that names the parameter.
    for bad in [
        "limit=0",
        "limit=lots",
        "bbox=1,2,3",
        "crs=EPSG:2000",
        "filter=kapasitas%20%3E",
        "filter=pg_sleep(10)%20%3D%201",
        "filtr=kapasitas%3E1",
        "filter-lang=sql",
        "datetime=kemarin",
        "after=x",
    ] {
        let answer = client
            .get(&format!("/ogc/collections/puskesmas/items?{bad}"), None)
            .await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            "application/problem+json",
            "{bad}"
        );
    }
    // Filters that made the parser recurse or backtrack without bound, values of the wrong type,
    // values PostgreSQL refuses: 400, and the server answers on.
    let group = format!("{}1,1{}", "(".repeat(8), ",1)".repeat(8));
    for hostile in [
        format!("kapasitas%3D{}1", "-".repeat(4000)),
        format!("kapasitas%3D{}1", "-%20".repeat(1500)),
        format!("%22{}", "(".repeat(2000)),
        format!("kapasitas{}", "%3D1".repeat(1000)),
        format!("kapasitas%3D{}1", "1*".repeat(1000)),
        format!("kapasitas%3D{}1", "NOT%20".repeat(1000)),
        format!("kapasitas%20IN%20({})", vec![group; 8].join(",")),
        "kapasitas%20%3D%20DATE('9999999-99-99')".to_string(),
        "kapasitas%20%3E%20DATE('2020-01-01')".to_string(),
        "kapasitas%20%3D%20TRUE".to_string(),
        "S_INTERSECTS(nama_puskesmas,%20geometry)".to_string(),
        "S_INTERSECTS(geometry,%20POLYGON((1%201,%202%202,%201%201)))".to_string(),
    ] {
        let url = format!("/ogc/collections/puskesmas/items?filter={hostile}");
        let answer = client.get(&url, None).await;
        assert_eq!(
            answer.status,
            400,
            "{}: {}",
            &hostile[..40.min(hostile.len())],
            answer.body
        );
    }
    assert_eq!(client.get("/healthz", None).await.status, 200);
    let deep = format!("filter={}", "(".repeat(3000));
    assert_eq!(
        client
            .get(&format!("/ogc/collections/puskesmas/items?{deep}"), None)
            .await
            .status,
        400
    );
    assert_eq!(
        client
            .get("/ogc/collections/nothing/items", None)
            .await
            .status,
        404
    );
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn only_the_owning_agency_edits_features_with_etags_and_republishing_keeps_the_old_version() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let up = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "puskesmas",
            "p.geojson",
            health_centres(12),
            false,
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let items = "/ogc/collections/puskesmas/items";
    let feature = json!({"type": "Feature", "properties": {"nama_puskesmas": "Puskesmas Baru", "kapasitas": 40},
                         "geometry": {"type": "Point", "coordinates": [117.05, -1.2]}});

    // The authorisation matrix of the writes.
    assert_eq!(
        client
            .json(reqwest::Method::POST, items, None, &feature, &[])
            .await
            .status,
        401
    );
    for other in [&p.disdik, &p.staff, &p.admin] {
        assert_eq!(
            client
                .json(reqwest::Method::POST, items, Some(other), &feature, &[])
                .await
                .status,
            403
        );
        assert_eq!(
            client
                .json(
                    reqwest::Method::DELETE,
                    &format!("{items}/1"),
                    Some(other),
                    &json!({}),
                    &[]
                )
                .await
                .status,
            403
        );
        assert_eq!(
            client
                .json(
                    reqwest::Method::PUT,
                    "/api/v1/datasets/puskesmas/metadata",
                    Some(other),
                    &complete_metadata(),
                    &[]
                )
                .await
                .status,
            403
        );
    }
    let stolen = client
        .upload(
            "/api/v1/datasets/puskesmas/data",
            Some(&p.disdik),
            "puskesmas",
            "p.geojson",
            health_centres(3),
            true,
        )
        .await;
    assert_eq!(stolen.status, 403, "{}", stolen.body);
    assert_eq!(
        client
            .json(
                reqwest::Method::POST,
                "/ogc/collections/zoning/items",
                Some(&p.dinkes),
                &feature,
                &[]
            )
            .await
            .status,
        403
    );

    // Create, read with an ETag, replace and update only with the current ETag, delete.
    let created = client
        .json(reqwest::Method::POST, items, Some(&p.dinkes), &feature, &[])
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // The collection's extent and count follow the edit (117.05, -1.2 lies east of the others).
    let mut extent = Value::Null;
    for _ in 0..50 {
        let c = client
            .get("/ogc/collections/puskesmas", Some(&p.dinkes))
            .await;
        extent = c.body["extent"]["spatial"]["bbox"][0].clone();
        if extent[2] == json!(117.05) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(extent[2], json!(117.05), "{extent}");
    let matched = client
        .get(&format!("{items}?limit=1"), Some(&p.dinkes))
        .await;
    assert_eq!(matched.body["numberMatched"], 13);
    let location = created.header("location").to_string();
    // The GeoJSON file's features were 0 to 11: the new one is the next id.
    assert!(
        location.ends_with("/ogc/collections/puskesmas/items/12"),
        "{location}"
    );
    let read = client.get(&location, Some(&p.dinkes)).await;
    assert_eq!(
        read.body["properties"]["nama_puskesmas"], "Puskesmas Baru",
        "{}",
        read.body
    );
    let etag = read.header("etag").to_string();
    let replaced = json!({"type": "Feature", "properties": {"nama_puskesmas": "Puskesmas Ganti"},
                          "geometry": {"type": "Point", "coordinates": [116.91, -1.21]}});
    let stale = client
        .json(
            reqwest::Method::PUT,
            &location,
            Some(&p.dinkes),
            &replaced,
            &[("if-match", "\"0\"")],
        )
        .await;
    assert_eq!(stale.status, 412);
    let put = client
        .json(
            reqwest::Method::PUT,
            &location,
            Some(&p.dinkes),
            &replaced,
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(put.status, 204, "{}", put.body);
    let read = client.get(&location, Some(&p.dinkes)).await;
    assert_eq!(
        read.body["properties"]["kapasitas"],
        Value::Null,
        "replace clears what was not sent"
    );
    let patch = client
        .json(
            reqwest::Method::PATCH,
            &location,
            Some(&p.dinkes),
            &json!({"properties": {"kapasitas": 55}}),
            &[],
        )
        .await;
    assert_eq!(patch.status, 204, "{}", patch.body);
    let read = client.get(&location, Some(&p.dinkes)).await;
    assert_eq!(
        (
            read.body["properties"]["kapasitas"].clone(),
            read.body["properties"]["nama_puskesmas"].clone()
        ),
        (json!(55), json!("Puskesmas Ganti"))
    );
    let bad_value = client
        .json(
            reqwest::Method::PATCH,
            &location,
            Some(&p.dinkes),
            &json!({"properties": {"kapasitas": "banyak"}}),
            &[],
        )
        .await;
    assert_eq!(bad_value.status, 400, "{}", bad_value.body);
    let unknown = client
        .json(
            reqwest::Method::PATCH,
            &location,
            Some(&p.dinkes),
            &json!({"properties": {"fid": 1}}),
            &[],
        )
        .await;
    assert_eq!(unknown.status, 400);
    // A geometry as an upload's is checked: not empty, on the Earth, of the dataset's type.
    for geometry in [
        json!({"type": "Point", "coordinates": []}),
        json!({"type": "GeometryCollection", "geometries": []}),
        json!({"type": "Point", "coordinates": [1e300, 1e300]}),
        json!({"type": "Point", "coordinates": [500, -1.26]}),
        json!({"type": "Polygon", "coordinates": [[[116.9, -1.2], [116.91, -1.2], [116.91, -1.21], [116.9, -1.2]]]}),
    ] {
        let body = json!({ "geometry": geometry });
        let wrong = client
            .json(
                reqwest::Method::PATCH,
                &location,
                Some(&p.dinkes),
                &body,
                &[],
            )
            .await;
        assert_eq!(wrong.status, 400, "{geometry}: {}", wrong.body);
    }
    assert_eq!(
        client
            .json(
                reqwest::Method::DELETE,
                &location,
                Some(&p.dinkes),
                &json!({}),
                &[]
            )
            .await
            .status,
        204
    );
    assert_eq!(client.get(&location, Some(&p.dinkes)).await.status, 404);
    // The version's count follows the edits (12 published, one created, one deleted), and its
    // extent still holds the created feature's position.
    let detail = client
        .get("/api/v1/datasets/puskesmas", Some(&p.dinkes))
        .await;
    assert_eq!(
        detail.body["versions"][0]["features"], 12,
        "{}",
        detail.body
    );

    // Re-publishing replaces the data at once and keeps the previous version's table.
    let again = client
        .upload(
            "/api/v1/datasets/puskesmas/data",
            Some(&p.dinkes),
            "puskesmas",
            "p.geojson",
            health_centres(30),
            true,
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["version"], 2);
    let (ids, _) = walk(&client, &format!("{items}?limit=1000"), Some(&p.dinkes)).await;
    assert_eq!(ids.len(), 30);
    let detail = client
        .get("/api/v1/datasets/puskesmas", Some(&p.dinkes))
        .await;
    assert_eq!(detail.body["versions"].as_array().unwrap().len(), 2);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM dataset_data.puskesmas__v1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        kept, 12,
        "version 1 as it was left: 12 uploaded, one added and deleted"
    );

    // Every write is in the audit log.
    let log = client.get("/api/v1/audit?limit=50", Some(&p.admin)).await;
    let actions: HashSet<&str> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "dataset.publish",
        "feature.create",
        "feature.replace",
        "feature.update",
        "feature.delete",
    ] {
        assert!(actions.contains(action), "{action} is not in {actions:?}");
    }
}

#[tokio::test]
async fn a_defective_upload_publishes_nothing_unless_its_defects_are_accepted() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let bowtie = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"n": 1}, "geometry": {"type": "Polygon", "coordinates": [[[116.8,-1.2],[116.9,-1.1],[116.9,-1.2],[116.8,-1.1],[116.8,-1.2]]]}},
        {"type": "Feature", "properties": {"n": 2}, "geometry": null}
    ]}).to_string();
    let refused = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "lahan",
            "lahan.geojson",
            bowtie.clone(),
            false,
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // Both defects are named at once: the missing geometry and the invalid one.
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("has no geometry") && detail.contains("Self-intersection"),
        "{detail}"
    );
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM dataset")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing is published");
    let not_geo = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "lahan",
            "lahan.geojson",
            "not a file".into(),
            false,
        )
        .await;
    assert_eq!(not_geo.status, 422);
    // An upload announced over its limit is refused at once, naming the upload limit.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = client.base.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST /api/v1/datasets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 300000000\r\n\r\n",
            p.dinkes
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&answer).contains("limit") {
            let read = stream.read(&mut buffer);
            match tokio::time::timeout(std::time::Duration::from_secs(5), read).await {
                Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&buffer[..n]),
                _ => break,
            }
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("256 MiB"), "{answer}");
    }
    let vrt = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "lahan",
            "lahan.vrt",
            "<OGRVRTDataSource/>".into(),
            false,
        )
        .await;
    assert_eq!(vrt.status, 422);

    let form = reqwest::multipart::Form::new()
        .text("id", "lahan")
        .text("accept_defects", "true")
        .part(
            "file",
            reqwest::multipart::Part::text(bowtie).file_name("lahan.geojson"),
        );
    let accepted = client
        .send(
            reqwest::Client::new()
                .post(client.url("/api/v1/datasets"))
                .bearer_auth(&p.dinkes)
                .multipart(form),
        )
        .await;
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    assert_eq!(accepted.body["left_out"].as_array().unwrap().len(), 1);
    assert_eq!(accepted.body["repaired_count"], 1);
    let valid: bool =
        sqlx::query_scalar("SELECT bool_and(ST_IsValid(geom)) FROM dataset_data.lahan__v1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(valid);
}

#[tokio::test]
async fn a_harvester_finds_public_metadata_through_records_and_csw() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let up = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "puskesmas",
            "p.geojson",
            health_centres(5),
            false,
        )
        .await;
    assert_eq!(up.status, 201);
    let described = client
        .json(
            reqwest::Method::PUT,
            "/api/v1/datasets/puskesmas/metadata",
            Some(&p.dinkes),
            &complete_metadata(),
            &[],
        )
        .await;
    assert_eq!(described.status, 200, "{}", described.body);
    let search = "/ogc/collections/catalog/items?q=puskesmas";
    let csw = "/csw?service=CSW&version=2.0.2&request=GetRecords&typeNames=csw:Record&resultType=results&elementSetName=full&constraintLanguage=CQL_TEXT&constraint_language_version=1.1.0&constraint=AnyText%20LIKE%20%27%25puskesmas%25%27";
    // Internal: the signed-in agencies find it; a harvester does not.
    assert_eq!(client.get(search, None).await.body["numberMatched"], 0);
    assert_eq!(
        client.get(search, Some(&p.disdik)).await.body["numberMatched"],
        1
    );
    let hidden = client.get(csw, None).await;
    let text = hidden.body.as_str().unwrap();
    assert_eq!(hidden.status, 200, "{text}");
    assert!(text.contains("numberOfRecordsMatched=\"0\""), "{text}");
    assert!(!text.contains("Puskesmas Kota Balikpapan"));
    // Nor by its id, in any form, while a signed-in agency reads it privately.
    let by_id = client
        .get(
            "/csw?service=CSW&version=2.0.2&request=GetRecordById&id=puskesmas&elementSetName=full",
            None,
        )
        .await;
    let text = by_id.body.as_str().unwrap();
    assert_eq!(by_id.status, 200, "{text}");
    assert!(text.contains("GetRecordByIdResponse"), "{text}");
    assert!(!text.contains("puskesmas"), "{text}");
    for path in [
        "/ogc/collections/catalog/items/puskesmas",
        "/ogc/collections/catalog/items/puskesmas?f=iso19139",
    ] {
        assert_eq!(client.get(path, None).await.status, 404, "{path}");
        let private = client.get(path, Some(&p.disdik)).await;
        assert_eq!(private.status, 200, "{path}");
        assert_eq!(
            private.header("cache-control"),
            "private, no-store",
            "{path}"
        );
    }
    let approved = client
        .json(
            reqwest::Method::POST,
            "/api/v1/datasets/puskesmas/approve",
            Some(&p.staff),
            &json!({}),
            &[],
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);

    let found = client.get(search, None).await;
    assert_eq!(found.body["numberMatched"], 1, "{}", found.body);
    let record = &found.body["features"][0];
    assert_eq!(record["id"], "puskesmas");
    assert_eq!(record["properties"]["title"], "Puskesmas Kota Balikpapan");
    let bbox = client
        .get(
            "/ogc/collections/catalog/items?bbox=116.8,-1.3,116.9,-1.2",
            None,
        )
        .await;
    let ids: Vec<&str> = bbox.body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"puskesmas"), "{ids:?}");
    for html in [
        "/ogc/collections/catalog/items?f=html",
        "/ogc/collections/catalog/items/puskesmas?f=html",
    ] {
        let page = client.get(html, None).await;
        assert!(
            page.header("content-type").starts_with("text/html"),
            "{html}"
        );
    }
    // A browser gets HTML by its Accept header; the answer varies by it.
    let browser = reqwest::Client::new()
        .get(client.url("/ogc/collections/catalog/items/puskesmas"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    let header = |name: &str| browser.headers()[name].to_str().unwrap().to_string();
    assert!(header("content-type").starts_with("text/html"));
    assert!(header("vary").contains("accept"));
    let iso = client
        .get("/ogc/collections/catalog/items/puskesmas?f=iso19139", None)
        .await;
    assert_eq!(iso.status, 200);
    assert!(
        iso.header("content-type")
            .starts_with("application/vnd.iso.19139+xml")
    );
    let iso = iso.body.as_str().unwrap().to_string();
    assert!(
        iso.contains("gmd:MD_Metadata")
            && iso.contains("Puskesmas Kota Balikpapan")
            && iso.contains(">health<"),
        "{iso}"
    );

    let capabilities = client
        .get("/csw?service=CSW&request=GetCapabilities", None)
        .await;
    assert_eq!(capabilities.status, 200);
    assert!(
        capabilities
            .body
            .as_str()
            .unwrap()
            .contains("GetRecordById")
    );
    let results = client.get(csw, None).await;
    let text = results.body.as_str().unwrap();
    assert!(
        text.contains("numberOfRecordsMatched=\"1\"") && text.contains("Puskesmas Kota Balikpapan"),
        "{text}"
    );
    let by_id = client.get("/csw?service=CSW&version=2.0.2&request=GetRecordById&id=puskesmas&outputSchema=http://www.isotc211.org/2005/gmd", None).await;
    assert!(by_id.body.as_str().unwrap().contains("gmd:MD_Metadata"));
    let post = reqwest::Client::new()
        .post(client.url("/csw"))
        .header("content-type", "application/xml")
        .body(r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><csw:GetCapabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW">&e;</csw:GetCapabilities>"#);
    let refused = client.send(post).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.as_str().unwrap().contains("ExceptionReport"));

    // The built-in collections and the standard's documents.
    let collections = client.get("/ogc/collections", None).await;
    let ids: Vec<&str> = collections.body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in ["admin", "catalog", "puskesmas", "zoning"] {
        assert!(ids.contains(&id), "{id} is not in {ids:?}");
    }
    let admin = client
        .get("/ogc/collections/admin/items?limit=1000", None)
        .await;
    let admin_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_area")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        admin.body["features"].as_array().unwrap().len() as i64,
        admin_rows
    );
    let conformance = client.get("/ogc/conformance", None).await;
    let classes = conformance.body["conformsTo"].as_array().unwrap();
    assert!(
        classes
            .iter()
            .any(|c| c == "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs")
    );
    let api = client.get("/ogc/api", None).await;
    assert_eq!(
        api.header("content-type"),
        "application/vnd.oai.openapi+json;version=3.0"
    );
    assert_eq!(api.body["openapi"], "3.0.3");
    let landing = client.get("/ogc", None).await;
    assert!(
        landing.body["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "service-desc")
    );
    let page = reqwest::Client::new()
        .get(client.url("/ogc/collections/puskesmas/items"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("/static/js/ogc.js"));
}

/// Who asks: nobody, the owning agency's publisher, another agency's publisher, DPPR staff, an admin.
const CALLERS: [&str; 5] = ["anonymous", "owner", "other agency", "staff", "admin"];

#[tokio::test]
async fn the_authorisation_matrix_of_every_write_and_internal_read() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let up = client
        .upload(
            "/api/v1/datasets",
            Some(&p.dinkes),
            "puskesmas",
            "p.geojson",
            health_centres(4),
            false,
        )
        .await;
    assert_eq!(up.status, 201);
    let token = |who: &str| match who {
        "owner" => Some(p.dinkes.as_str()),
        "other agency" => Some(p.disdik.as_str()),
        "staff" => Some(p.staff.as_str()),
        "admin" => Some(p.admin.as_str()),
        _ => None,
    };
    let feature = json!({"type": "Feature", "properties": {"kapasitas": 1}, "geometry": {"type": "Point", "coordinates": [116.9, -1.2]}});
    // Internal reads: signed-in accounts only (the node's agencies share internal data).
    let reads = [
        "/ogc/collections/puskesmas",
        "/ogc/collections/puskesmas/items",
        "/ogc/collections/puskesmas/items/1",
        "/ogc/collections/puskesmas/queryables",
        "/api/v1/datasets/puskesmas",
    ];
    for path in reads {
        for who in CALLERS {
            let status = client.get(path, token(who)).await.status;
            let expected = match who {
                "anonymous" if path.starts_with("/api") => 404,
                "anonymous" => 401,
                _ => 200,
            };
            assert_eq!(status, expected, "{who} GET {path}");
        }
    }
    // Writes: the data and metadata by the owning agency only; approval by staff and admins only.
    for who in CALLERS {
        let t = token(who);
        let refused = |status: u16| if who == "anonymous" { 401 } else { status };
        let m = client
            .json(
                reqwest::Method::PUT,
                "/api/v1/datasets/puskesmas/metadata",
                t,
                &json!({"title": "x"}),
                &[],
            )
            .await
            .status;
        assert_eq!(
            m,
            if who == "owner" { 200 } else { refused(403) },
            "{who} PUT metadata"
        );
        let a = client
            .json(
                reqwest::Method::POST,
                "/api/v1/datasets/puskesmas/approve",
                t,
                &json!({}),
                &[],
            )
            .await
            .status;
        // Staff and admins may approve: the metadata is incomplete, so 409 (not 403).
        assert_eq!(
            a,
            if who == "staff" || who == "admin" {
                409
            } else {
                refused(403)
            },
            "{who} approve"
        );
        let post = client
            .json(
                reqwest::Method::POST,
                "/ogc/collections/puskesmas/items",
                t,
                &feature,
                &[],
            )
            .await
            .status;
        assert_eq!(
            post,
            if who == "owner" { 201 } else { refused(403) },
            "{who} POST item"
        );
        let put = client
            .json(
                reqwest::Method::PUT,
                "/ogc/collections/puskesmas/items/1",
                t,
                &feature,
                &[],
            )
            .await
            .status;
        assert_eq!(
            put,
            if who == "owner" { 204 } else { refused(403) },
            "{who} PUT item"
        );
        let patch = client
            .json(
                reqwest::Method::PATCH,
                "/ogc/collections/puskesmas/items/1",
                t,
                &json!({"properties": {"kapasitas": 2}}),
                &[],
            )
            .await
            .status;
        assert_eq!(
            patch,
            if who == "owner" { 204 } else { refused(403) },
            "{who} PATCH item"
        );
        let data = client
            .upload(
                "/api/v1/datasets/puskesmas/data",
                t,
                "puskesmas",
                "p.geojson",
                health_centres(3),
                true,
            )
            .await
            .status;
        assert_eq!(
            data,
            if who == "owner" { 201 } else { refused(403) },
            "{who} PUT data"
        );
        let new = client
            .upload(
                "/api/v1/datasets",
                t,
                &format!("baru_{}", who.len()),
                "p.geojson",
                health_centres(2),
                false,
            )
            .await
            .status;
        assert_eq!(
            new,
            if who == "owner" || who == "other agency" {
                201
            } else {
                refused(403)
            },
            "{who} POST dataset"
        );
        let zoning = client
            .json(
                reqwest::Method::POST,
                "/ogc/collections/zoning/items",
                t,
                &feature,
                &[],
            )
            .await
            .status;
        assert_eq!(zoning, refused(403), "{who} POST zoning");
    }
    for who in CALLERS {
        let status = client
            .json(
                reqwest::Method::DELETE,
                "/ogc/collections/puskesmas/items/2",
                token(who),
                &json!({}),
                &[],
            )
            .await
            .status;
        let expected = match who {
            "owner" => 204,
            "anonymous" => 401,
            _ => 403,
        };
        assert_eq!(status, expected, "{who} DELETE item");
    }
}

/// The `v=` of a layer's tile URLs (its content version), asked with `token`.
async fn tile_version(client: &Client, layer: &str, token: Option<&str>) -> String {
    let answer = client.get(&format!("/tiles/{layer}.json"), token).await;
    assert_eq!(answer.status, 200, "{layer}: {}", answer.body);
    let url = answer.body["tiles"][0].as_str().unwrap().to_string();
    url.rsplit_once("v=").unwrap().1.to_string()
}

#[tokio::test]
async fn a_change_to_one_dataset_reloads_that_dataset_only() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    for id in ["puskesmas", "posyandu"] {
        let up = client
            .upload(
                "/api/v1/datasets",
                Some(&p.dinkes),
                id,
                "p.geojson",
                health_centres(6),
                false,
            )
            .await;
        assert_eq!(up.status, 201);
    }
    let token = Some(p.dinkes.as_str());
    let wait_for = |layer: &'static str| {
        let client = &client;
        async move {
            for _ in 0..100 {
                if client
                    .get(&format!("/tiles/{layer}.json"), token)
                    .await
                    .status
                    == 200
                {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("the tiles of {layer} never came");
        }
    };
    wait_for("puskesmas").await;
    wait_for("posyandu").await;
    let before = [
        tile_version(&client, "puskesmas", token).await,
        tile_version(&client, "posyandu", token).await,
        tile_version(&client, "admin", None).await,
    ];
    let zoning_before = client.get("/readyz", None).await.body["change"].clone();
    let patch = client
        .json(
            reqwest::Method::PATCH,
            "/ogc/collections/puskesmas/items/1",
            token,
            &json!({"geometry": {"type": "Point", "coordinates": [116.95, -1.15]}}),
            &[],
        )
        .await;
    assert_eq!(patch.status, 204, "{}", patch.body);
    let mut after = before.clone();
    for _ in 0..100 {
        after[0] = tile_version(&client, "puskesmas", token).await;
        if after[0] != before[0] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_ne!(
        after[0], before[0],
        "the edited dataset's tiles were not reloaded"
    );
    after[1] = tile_version(&client, "posyandu", token).await;
    after[2] = tile_version(&client, "admin", None).await;
    assert_eq!(after[1..], before[1..], "another layer changed");
    // The zoning snapshot did not see the dataset's change (it reloads on its own topics only).
    assert_eq!(
        client.get("/readyz", None).await.body["change"],
        zoning_before
    );
    let topics: Vec<String> =
        sqlx::query_scalar("SELECT topic FROM change_log WHERE what LIKE 'feature.%'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(topics, ["dataset:puskesmas"]);
}

#[tokio::test]
async fn list_fields_are_kept_as_json_arrays() {
    let db = fresh_db().await;
    let p = people(&db).await;
    let client = Client::new(&super::api::serve(&db).await);
    let data = json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [116.85, -1.25]},
            "properties": {"nama": "Puskesmas Klandasan", "layanan": ["umum", "gigi"], "lantai": [1, 2]},
        }],
    });
    public_dataset(
        &client,
        &p,
        "layanan",
        data.to_string(),
        &complete_metadata(),
    )
    .await;
    let items = client.get("/ogc/collections/layanan/items", None).await;
    let properties = &items.body["features"][0]["properties"];
    assert_eq!(properties["layanan"], r#"["umum","gigi"]"#, "{properties}");
    assert_eq!(properties["lantai"], "[1,2]", "{properties}");
}
