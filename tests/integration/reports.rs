//! Reports of violations as citizens, Open311 clients and DPPR staff use them: a report from the
//! map reaches staff with the plan at its point and its kecamatan, is followed through the
//! workflow with the reporter told by mail (through a local SMTP sink; the outbox keeps mail while
//! the server is down), duplicates are offered nearby, Open311 clients file and read in JSON and
//! XML with a key, bad input is refused with nothing stored, no contact detail reaches any public
//! answer, and one address cannot flood the form.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use geozero::mvt::{Message, Tile};
use reqwest::Method;
use satupeta::web::{Options, ReportRate};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::harness::{TestDb, fresh_db};
use super::krk::{lon_lat, publish_first};
use super::node::{Client, people};

/// A point in the R-2 housing zone of the KRK test plan, and one in its K-1 zone.
fn in_housing() -> (f64, f64) {
    lon_lat(50.0, 60.0)
}

const EMAIL: &str = "pelapor.rahasia@example.id";
const PHONE: &str = "0812 9999 4321";

/// A JPEG of `width` × `height` carrying EXIF with a camera make and a GPS latitude (which must
/// not survive), written by hand as EXIF's TIFF layout says.
fn photo_with_exif(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, _| {
        image::Rgb([if x < width / 2 { 200 } else { 20 }, 40, 90])
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    let make = b"SecretCam 9000\x00";
    let entries: u16 = 2;
    let after_ifd = 8 + 2 + u32::from(entries) * 12 + 4;
    tiff.extend(entries.to_be_bytes());
    tiff.extend([0x01, 0x0F, 0x00, 0x02]);
    tiff.extend((make.len() as u32).to_be_bytes());
    tiff.extend(after_ifd.to_be_bytes());
    let gps_at = after_ifd + make.len() as u32;
    tiff.extend([0x88, 0x25, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01]);
    tiff.extend(gps_at.to_be_bytes());
    tiff.extend(0u32.to_be_bytes());
    tiff.extend(make);
    tiff.extend(1u16.to_be_bytes());
    tiff.extend([
        0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, b'S', 0, 0, 0,
    ]);
    tiff.extend(0u32.to_be_bytes());
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// What an SMTP sink received: each message's text.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<String>>>);

impl Sink {
    fn messages(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until a message containing `needle` came (at most `seconds`).
    async fn wait_for(&self, needle: &str, seconds: u64) -> String {
        for _ in 0..seconds * 10 {
            if let Some(m) = self.messages().into_iter().find(|m| m.contains(needle)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail with {needle:?} came; got {:?}", self.messages());
    }
}

/// A local SMTP sink on `listener`: speaks just enough SMTP (RFC 5321) to take messages and keep
/// them (test-only; the server's mail goes out through lettre).
fn smtp_sink(listener: TcpListener) -> Sink {
    let sink = Sink::default();
    let kept = sink.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.trim().to_ascii_uppercase();
                    let reply: &[u8] = if verb.starts_with("EHLO") || verb.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if verb == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        let mut message = String::new();
                        loop {
                            line.clear();
                            lines.read_line(&mut line).await.unwrap();
                            if line == ".\r\n" {
                                break;
                            }
                            message.push_str(&line);
                        }
                        kept.0.lock().unwrap().push(message);
                        b"250 kept\r\n"
                    } else if verb == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    sink
}

/// A plan, the people, a server mailing to `smtp_port`; its client and the staff's token.
async fn setup(db: &TestDb, smtp_port: u16, rate: Option<ReportRate>) -> (Client, String, String) {
    publish_first(db).await;
    let p = people(db).await;
    let options = Options {
        mail: Some(satupeta::reports::mail::MailSettings {
            smtp_url: format!("smtp://127.0.0.1:{smtp_port}"),
            from: "DPPR Balikpapan <noreply@balikpapan.go.id>".into(),
        }),
        report_rate: rate.unwrap_or(ReportRate {
            burst: 100,
            every: Duration::from_millis(10),
            ..ReportRate::default()
        }),
        ..Options::default()
    };
    let base = super::api::serve_with(db, options).await;
    (Client::new(&base), p.staff, p.dinkes)
}

/// A report form from the map.
fn form(service: &str, (lon, lat): (f64, f64), description: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("service_code", service.to_string())
        .text("lat", lat.to_string())
        .text("long", lon.to_string())
        .text("description", description.to_string())
}

fn jpeg_part(bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name("foto.jpg")
        .mime_str("image/jpeg")
        .unwrap()
}

async fn post_form(
    client: &Client,
    path: &str,
    form: reqwest::multipart::Form,
) -> super::node::Answer {
    client
        .send(
            reqwest::Client::new()
                .post(client.url(path))
                .multipart(form),
        )
        .await
}

async fn change(client: &Client, staff: &str, id: i64, body: Value) -> super::node::Answer {
    client
        .json(
            Method::POST,
            &format!("/api/v1/reports/{id}/status"),
            Some(staff),
            &body,
            &[],
        )
        .await
}

async fn bytes(client: &Client, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut r = reqwest::Client::new().get(client.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let response = r.send().await.unwrap();
    (
        response.status().as_u16(),
        response.bytes().await.unwrap().to_vec(),
    )
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[tokio::test]
async fn a_report_from_the_map_reaches_staff_with_the_plan_and_is_followed_to_resolution() {
    let db = fresh_db().await;
    let smtp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = smtp.local_addr().unwrap().port();
    let sink = smtp_sink(smtp);
    let (client, staff, publisher) = setup(&db, port, None).await;

    // A car workshop (KBLI 45201) in a housing zone, with a photo carrying EXIF, and a contact.
    let filed = post_form(
        &client,
        "/api/v1/reports",
        form(
            "kegiatan-tidak-sesuai",
            in_housing(),
            "Bengkel mobil di tengah perumahan, bising tiap malam.",
        )
        .text("attribute[kbli]", "45201")
        .text("email", EMAIL)
        .text("phone", PHONE)
        .part("media", jpeg_part(photo_with_exif(3000, 1000))),
    )
    .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let id = filed.body["id"].as_i64().unwrap();
    assert!(filed.body["notice"].as_str().unwrap().contains("Kecamatan"));

    // Staff see the plan at the point: the version, R-2, its intensity, the workshop's class.
    let seen = client
        .get(&format!("/api/v1/reports/{id}"), Some(&staff))
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let plan = &seen.body["plan"];
    assert_eq!(plan["subzone"]["code"], "R-2", "{plan}");
    assert!(plan["plan"]["version_id"].as_i64().is_some(), "{plan}");
    assert!(plan["intensity"].is_array(), "{plan}");
    assert_eq!(plan["activity"]["kbli"], "45201", "{plan}");
    assert!(
        plan["activity"]["class"].is_string(),
        "the workshop's class in R-2: {plan}"
    );
    assert_eq!(seen.body["contactable"], true);
    assert_eq!(seen.body["due_kind"], "verification");
    let kecamatan = seen.body["kecamatan"].as_str().unwrap().to_string();
    assert!(!kecamatan.is_empty());
    // Due in three working days of Balikpapan's calendar (weekends and holidays skipped).
    let holidays = satupeta::calendar::Holidays::shipped().unwrap();
    let due = holidays.add_working_days(satupeta::reports::today(), 3).day;
    assert_eq!(seen.body["due_on"], due.to_string());

    // The public sees the report, not the plan, not the contact, not the photo before verification.
    let public = client.get(&format!("/api/v1/reports/{id}"), None).await;
    assert_eq!(public.status, 200);
    assert!(public.body.get("plan").is_none() && public.body.get("contactable").is_none());
    assert_eq!(public.body["photos"], 0);
    let (status, _) = bytes(&client, &format!("/api/v1/reports/{id}/photos/1.jpg"), None).await;
    assert_eq!(status, 404);
    // Staff see the photo: upright and scaled (3000 × 1000 → 2048 × 683), without its EXIF.
    let (status, jpeg) = bytes(
        &client,
        &format!("/api/v1/reports/{id}/photos/1.jpg"),
        Some(&staff),
    )
    .await;
    assert_eq!(status, 200);
    let decoded = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (2048, 683));
    assert!(
        !contains(&jpeg, "SecretCam") && !contains(&jpeg, "Exif"),
        "metadata kept"
    );

    // A publisher is not staff: no status change, no staff view.
    let refused = change(&client, &publisher, id, json!({"status": "verified"})).await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // Verified: the transition is recorded, the reporter is told, the answer is due in 5 days.
    let verified = change(
        &client,
        &staff,
        id,
        json!({"status": "verified", "note": "Benar, bengkel di zona R-2."}),
    )
    .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.body["due_kind"], "answer");
    let answer_due = holidays.add_working_days(satupeta::reports::today(), 5).day;
    assert_eq!(verified.body["due_on"], answer_due.to_string());
    let events = verified.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["from_status"], "submitted");
    assert_eq!(events[1]["status"], "verified");
    assert_eq!(events[1]["actor"], "staf");
    let mail = sink.wait_for(&format!("Laporan #{id}"), 20).await;
    assert!(
        mail.contains(EMAIL)
            && mail.contains("Diverifikasi")
            && mail.contains("bengkel di zona R-2"),
        "{mail}"
    );

    // An illegal transition names the allowed ones; a rejection needs a note.
    let illegal = change(&client, &staff, id, json!({"status": "submitted"})).await;
    assert_eq!(illegal.status, 409, "{}", illegal.body);
    assert!(
        illegal.body["detail"]
            .as_str()
            .unwrap()
            .contains("in_progress")
    );
    let bare = change(&client, &staff, id, json!({"status": "rejected"})).await;
    assert_eq!(bare.status, 422, "{}", bare.body);

    // Verified photos are public; a staff-only note stays staff-only.
    let (status, _) = bytes(
        &client,
        &format!("/api/v1/reports/{id}/photos/1-thumb.jpg"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let internal = change(&client, &staff, id, json!({"status": "in_progress", "note": "Catatan internal: pemilik kerabat pejabat", "public": false})).await;
    assert_eq!(internal.status, 200, "{}", internal.body);
    let resolved = change(
        &client,
        &staff,
        id,
        json!({"status": "resolved", "note": "Bengkel ditutup oleh Satpol PP."}),
    )
    .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    assert!(resolved.body["due_on"].is_null());
    sink.wait_for("Bengkel ditutup", 20).await;

    // Open311 shows it closed with the public note; the public history has no internal note.
    let o311 = client
        .get(&format!("/open311/v2/requests/{id}.json"), None)
        .await;
    assert_eq!(o311.status, 200);
    assert_eq!(o311.body[0]["status"], "closed");
    assert_eq!(
        o311.body[0]["status_notes"],
        "Bengkel ditutup oleh Satpol PP."
    );
    assert!(
        o311.body[0]["media_url"]
            .as_str()
            .unwrap()
            .ends_with("/photos/1.jpg")
    );
    let history = client.get(&format!("/api/v1/reports/{id}"), None).await;
    let text = history.body.to_string();
    assert!(
        !text.contains("internal") && !text.contains("staf"),
        "{text}"
    );

    // No public answer, tile or export carries the contact.
    let mut public_bodies: Vec<Vec<u8>> = Vec::new();
    for path in [
        "/api/v1/reports".to_string(),
        format!("/api/v1/reports/{id}"),
        "/open311/v2/requests.json".into(),
        "/open311/v2/requests.xml".into(),
        format!("/open311/v2/requests/{id}.xml"),
        {
            let (lon, lat) = in_housing();
            let c = satupeta::tiles::TileCoord::containing(lon, lat, 15).unwrap();
            format!("/tiles/reports/15/{}/{}.mvt", c.x, c.y)
        },
    ] {
        let (status, body) = bytes(&client, &path, None).await;
        assert_eq!(status, 200, "{path}");
        public_bodies.push(body);
    }
    for path in [
        "/api/v1/reports/export.csv",
        "/api/v1/reports/export.geojson",
        "/ogc/collections/reports/items?limit=100",
    ] {
        let (status, body) = bytes(&client, path, Some(&staff)).await;
        assert_eq!(status, 200, "{path}");
        public_bodies.push(body);
    }
    for body in &public_bodies {
        assert!(
            !contains(body, EMAIL) && !contains(body, "9999 4321"),
            "contact leaked: {}",
            String::from_utf8_lossy(body)
        );
    }
    let csv = String::from_utf8(public_bodies[6].clone()).unwrap();
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{id},kegiatan-tidak-sesuai,resolved")),
        "{csv}"
    );
}

#[tokio::test]
async fn bad_reports_are_refused_by_name_and_nothing_is_stored() {
    let db = fresh_db().await;
    let (client, _, _) = setup(&db, 9, None).await;
    let housing = in_housing();
    let cases: Vec<(&str, reqwest::multipart::Form, u16, &str)> = vec![
        (
            "outside the city",
            form("tanpa-pbg", (0.0, 0.0), "Bangunan"),
            422,
            "outside Balikpapan",
        ),
        (
            "empty description",
            form("tanpa-pbg", housing, "   "),
            422,
            "description is empty",
        ),
        (
            "unknown service",
            form("parkir-liar", housing, "x"),
            400,
            "no service",
        ),
        (
            "a field twice",
            form("tanpa-pbg", housing, "x").text("lat", "abc"),
            400,
            "given twice",
        ),
        (
            "unknown field",
            form("tanpa-pbg", housing, "x").text("nik", "6471"),
            400,
            "nik",
        ),
        (
            "a remote photo",
            form("tanpa-pbg", housing, "x").text("media_url", "http://example.com/a.jpg"),
            400,
            "media_url",
        ),
        (
            "a required attribute",
            form("sempadan-rth", housing, "x"),
            422,
            "jenis_sempadan",
        ),
        (
            "a wrong choice",
            form("sempadan-rth", housing, "x").text("attribute[jenis_sempadan]", "laut"),
            422,
            "sungai",
        ),
        (
            "a text file as photo",
            form("tanpa-pbg", housing, "x").part(
                "media",
                reqwest::multipart::Part::bytes(b"hello, not a photo".to_vec()).file_name("a.jpg"),
            ),
            415,
            "photo 1",
        ),
        (
            "a HEIC photo",
            form("tanpa-pbg", housing, "x").part(
                "media",
                reqwest::multipart::Part::bytes(
                    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic".to_vec(),
                )
                .file_name("a.heic"),
            ),
            415,
            "HEIC",
        ),
        (
            "an oversized photo",
            form("tanpa-pbg", housing, "x").part(
                "media",
                jpeg_part({
                    let mut b = photo_with_exif(64, 64);
                    b.resize(11 * 1024 * 1024, 0);
                    b
                }),
            ),
            413,
            "photo 1",
        ),
        (
            "four photos",
            (0..4).fold(form("tanpa-pbg", housing, "x"), |f, _| {
                f.part("media", jpeg_part(photo_with_exif(64, 64)))
            }),
            422,
            "at most 3",
        ),
        (
            "a bad email",
            form("tanpa-pbg", housing, "x").text("email", "bukan email"),
            422,
            "email",
        ),
    ];
    for (what, form, status, needle) in cases {
        let answer = post_form(&client, "/api/v1/reports", form).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            "application/problem+json",
            "{what}"
        );
        let detail = answer.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{what}: {detail}");
    }
    // A second photo that fails after a good first one: nothing half-stored.
    let half = post_form(
        &client,
        "/api/v1/reports",
        form("tanpa-pbg", housing, "Dua foto, satu rusak")
            .part("media", jpeg_part(photo_with_exif(64, 64)))
            .part("media", jpeg_part(b"\xFF\xD8\xFF broken".to_vec())),
    )
    .await;
    assert_eq!(half.status, 415, "{}", half.body);
    assert!(half.body["detail"].as_str().unwrap().contains("photo 2"));
    // Not JSON, not a form.
    let json_body = client
        .json(
            Method::POST,
            "/api/v1/reports",
            None,
            &json!({"service_code": "tanpa-pbg"}),
            &[],
        )
        .await;
    assert_eq!(json_body.status, 415, "{}", json_body.body);
    let stored: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM report), (SELECT count(*) FROM report_photo), (SELECT count(*) FROM report_contact)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(stored, (0, 0, 0));
}

#[tokio::test]
async fn open311_clients_file_and_read_with_a_key_in_json_and_xml() {
    let db = fresh_db().await;
    let (client, _, _) = setup(&db, 9, None).await;
    let key = satupeta::reports::apikeys::create(&db.pool, "Aplikasi Warga")
        .await
        .unwrap();
    let (lon, lat) = in_housing();
    let fields = |key: Option<&str>| {
        let mut f = vec![
            ("service_code", "lebih-intensitas".to_string()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
            ("description", "Rumah tujuh lantai".to_string()),
            ("attribute[jumlah_lantai]", "7".to_string()),
            ("email", EMAIL.to_string()),
            ("jurisdiction_id", "balikpapan.go.id".to_string()),
        ];
        if let Some(k) = key {
            f.push(("api_key", k.to_string()));
        }
        f
    };
    let post = |body: Vec<(&'static str, String)>, ext: &'static str| {
        let url = client.url(&format!("/open311/v2/requests.{ext}"));
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .form(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response
                    .headers()
                    .get("content-type")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string(),
                response.text().await.unwrap(),
            )
        }
    };
    // Without a key, or with a made-up one: GeoReport's error list, 403.
    let (status, kind, body) = post(fields(None), "json").await;
    assert_eq!(
        (status, kind.as_str()),
        (403, "application/json; charset=utf-8"),
        "{body}"
    );
    let errors: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(errors[0]["code"], 403);
    assert!(
        errors[0]["description"]
            .as_str()
            .unwrap()
            .contains("api_key")
    );
    let (status, kind, body) = post(fields(Some("sp311_made_up")), "xml").await;
    assert_eq!(status, 403);
    assert!(
        kind.starts_with("text/xml") && body.contains("<errors><error><code>403</code>"),
        "{body}"
    );

    // With the key: the id and the token.
    let (status, _, body) = post(fields(Some(&key)), "json").await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = created[0]["token"].as_str().unwrap().to_string();
    assert!(
        created[0]["service_notice"]
            .as_str()
            .unwrap()
            .contains("Kecamatan")
    );
    let by_token = client
        .get(&format!("/open311/v2/tokens/{token}.json"), None)
        .await;
    assert_eq!(by_token.body[0]["service_request_id"], id.as_str());
    // The same through XML.
    let (status, _, xml) = post(fields(Some(&key)), "xml").await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains("<service_requests><request><service_request_id>"),
        "{xml}"
    );

    // Bytes that are not UTF-8 in a form are refused, not stored as replacement characters.
    let broken = reqwest::Client::new()
        .post(client.url("/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "api_key={key}&service_code=lainnya&lat={lat}&long={lon}&description=a%FFb"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 422);
    assert!(broken.text().await.unwrap().contains("U+FFFD"));

    // A number attribute out of range is named.
    let mut wrong = fields(Some(&key));
    wrong[4].1 = "700".into();
    let (status, _, body) = post(wrong, "json").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("jumlah_lantai"), "{body}");

    // Services and definitions, in both formats.
    let services = client.get("/open311/v2/services.json", None).await;
    assert_eq!(services.body.as_array().unwrap().len(), 5);
    let definition = client
        .get("/open311/v2/services/sempadan-rth.json", None)
        .await;
    assert_eq!(definition.body["attributes"][0]["code"], "jenis_sempadan");
    assert_eq!(definition.body["attributes"][0]["required"], true);
    let (_, xml) = bytes(&client, "/open311/v2/services.xml", None).await;
    let xml = String::from_utf8(xml).unwrap();
    assert!(
        xml.contains("<services><service><service_code>tanpa-pbg</service_code>"),
        "{xml}"
    );
    let discovery = client.get("/open311/v2/discovery.json", None).await;
    assert!(
        discovery.body["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/open311/v2")
    );

    // Reads: filters, the 90-day span, unknown parameters, formats.
    let open = client
        .get(
            "/open311/v2/requests.json?status=open&service_code=lebih-intensitas",
            None,
        )
        .await;
    assert_eq!(open.body.as_array().unwrap().len(), 2, "{}", open.body);
    assert!(
        open.body[0]["agency_responsible"]
            .as_str()
            .unwrap()
            .starts_with("DPPR")
    );
    assert!(open.body[0].get("email").is_none());
    let closed = client
        .get("/open311/v2/requests.json?status=closed", None)
        .await;
    assert_eq!(closed.body.as_array().unwrap().len(), 0);
    let by_id = client
        .get(
            &format!("/open311/v2/requests.json?service_request_id={id}&status=closed"),
            None,
        )
        .await;
    assert_eq!(
        by_id.body.as_array().unwrap().len(),
        1,
        "ids override the other filters"
    );
    let paged = client
        .get("/open311/v2/requests.json?page=2&page_size=1", None)
        .await;
    assert_eq!(paged.body.as_array().unwrap().len(), 1);
    for (path, status) in [
        (
            "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
            400,
        ),
        ("/open311/v2/requests.json?start_date=kemarin", 400),
        ("/open311/v2/requests.json?status=pending", 400),
        ("/open311/v2/requests.json?sort=desc", 400),
        ("/open311/v2/requests.csv", 404),
        ("/open311/v2/requests.json?page=1000&page_size=1000", 400),
        ("/api/v1/reports?offset=100001", 400),
        ("/api/v1/reports?offset=-1", 400),
        (
            "/open311/v2/services.json?jurisdiction_id=jakarta.go.id",
            400,
        ),
        (
            "/open311/v2/services/tanpa-pbg.json?jurisdiction_id=jakarta.go.id",
            400,
        ),
        (
            "/open311/v2/requests.json?api_key=x&jurisdiction_id=balikpapan.go.id&start_date=2026-11-01",
            200,
        ),
        ("/open311/v2/requests/999999.json", 404),
        ("/open311/v2/services/parkir.xml", 404),
    ] {
        let answer = client.get(path, None).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
    }
    let source: String = sqlx::query_scalar("SELECT source FROM report ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(source, "open311:Aplikasi Warga");
}

#[tokio::test]
async fn a_reporter_is_offered_open_reports_nearby_and_follows_one_instead() {
    let db = fresh_db().await;
    let smtp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = smtp.local_addr().unwrap().port();
    let sink = smtp_sink(smtp);
    let (client, staff, _) = setup(&db, port, None).await;
    let here = in_housing();
    let filed = post_form(
        &client,
        "/api/v1/reports",
        form("tanpa-pbg", here, "Ruko dibangun tanpa PBG"),
    )
    .await;
    assert_eq!(filed.status, 201, "{}", filed.body);
    let id = filed.body["id"].as_i64().unwrap();
    let other = post_form(&client, "/api/v1/reports", form("lainnya", here, "Lain")).await;
    assert_eq!(other.status, 201);

    // 100 m north: offered, about 100 m away; 400 m north, or another service: not.
    let (lon, lat) = lon_lat(50.0, 160.0);
    let near = client
        .get(
            &format!("/api/v1/reports/nearby?lon={lon}&lat={lat}&service_code=tanpa-pbg"),
            None,
        )
        .await;
    let reports = near.body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1, "{}", near.body);
    assert_eq!(reports[0]["id"], id);
    let distance = reports[0]["distance_m"].as_f64().unwrap();
    assert!((distance - 100.0).abs() < 2.0, "{distance}");
    let (lon_far, lat_far) = lon_lat(50.0, 460.0);
    let far = client
        .get(
            &format!("/api/v1/reports/nearby?lon={lon_far}&lat={lat_far}&service_code=tanpa-pbg"),
            None,
        )
        .await;
    assert_eq!(far.body["reports"].as_array().unwrap().len(), 0);
    let bad = client
        .get(
            "/api/v1/reports/nearby?lon=x&lat=1&service_code=tanpa-pbg",
            None,
        )
        .await;
    assert_eq!(bad.status, 400);

    // Following it: counted once per address, and the follower hears of its next change.
    for _ in 0..2 {
        let followed = client
            .json(
                Method::POST,
                &format!("/api/v1/reports/{id}/follow"),
                None,
                &json!({"email": "Tetangga@Example.id"}),
                &[],
            )
            .await;
        assert_eq!(followed.status, 200, "{}", followed.body);
        assert_eq!(followed.body["followers"], 1);
    }
    let duplicate = change(
        &client,
        &staff,
        other.body["id"].as_i64().unwrap(),
        json!({"status": "duplicate", "note": "Sama dengan laporan lain", "duplicate_of": id}),
    )
    .await;
    assert_eq!(duplicate.status, 200, "{}", duplicate.body);
    assert_eq!(duplicate.body["duplicate_of"], id);
    // Two reports do not close each other as duplicates.
    let back = change(
        &client,
        &staff,
        id,
        json!({"status": "duplicate", "note": "x", "duplicate_of": other.body["id"]}),
    )
    .await;
    assert_eq!(back.status, 422, "{}", back.body);
    let verified = change(
        &client,
        &staff,
        id,
        json!({"status": "verified", "note": "Dicek lapangan"}),
    )
    .await;
    assert_eq!(verified.status, 200);
    let mail = sink.wait_for("tetangga@example.id", 20).await;
    assert!(mail.contains(&format!("Laporan #{id}")), "{mail}");
    // Hidden: off every public view, no mail.
    let hidden = change(
        &client,
        &staff,
        id,
        json!({"status": "hidden", "note": "Data pribadi di deskripsi"}),
    )
    .await;
    assert_eq!(hidden.status, 200);
    assert_eq!(
        client
            .get(&format!("/api/v1/reports/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        client
            .get(&format!("/open311/v2/requests/{id}.json"), None)
            .await
            .status,
        404
    );
    let list = client.get("/api/v1/reports", None).await;
    assert!(
        list.body["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != id)
    );
    let staff_list = client
        .get("/api/v1/reports?status=hidden", Some(&staff))
        .await;
    assert_eq!(staff_list.body["reports"][0]["id"], id);
    assert_eq!(
        client
            .get("/api/v1/reports?status=hidden", None)
            .await
            .status,
        400
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sink.messages()
            .iter()
            .filter(|m| m.contains("Disembunyikan"))
            .count(),
        0
    );
}

#[tokio::test]
async fn mail_waits_in_the_outbox_while_the_smtp_server_is_down() {
    let db = fresh_db().await;
    // A port nothing listens on yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (client, staff, _) = setup(&db, port, None).await;
    let filed = post_form(
        &client,
        "/api/v1/reports",
        form("tanpa-pbg", in_housing(), "Bangunan").text("email", EMAIL),
    )
    .await;
    let id = filed.body["id"].as_i64().unwrap();
    let verified = change(&client, &staff, id, json!({"status": "verified"})).await;
    assert_eq!(verified.status, 200);
    let mut tried = false;
    for _ in 0..100 {
        let (attempts, error): (i32, Option<String>) =
            sqlx::query_as("SELECT attempts, last_error FROM mail_outbox WHERE report_id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if attempts >= 1 && error.is_some() {
            tried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(tried, "the first attempt failed and was recorded");
    // The mail server comes up: the message goes out at its next attempt.
    let sink = smtp_sink(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
    sink.wait_for(&format!("Laporan #{id}"), 30).await;
    let sent: bool =
        sqlx::query_scalar("SELECT sent_at IS NOT NULL FROM mail_outbox WHERE report_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(sent);
}

#[tokio::test]
async fn one_address_cannot_flood_the_form_and_others_are_still_answered() {
    let db = fresh_db().await;
    let rate = ReportRate {
        burst: 2,
        every: Duration::from_secs(60),
        ..ReportRate::default()
    };
    let (client, _, _) = setup(&db, 9, Some(rate)).await;
    for i in 0..2 {
        let ok = post_form(
            &client,
            "/api/v1/reports",
            form("lainnya", in_housing(), &format!("Laporan {i}")),
        )
        .await;
        assert_eq!(ok.status, 201, "{}", ok.body);
    }
    let limited = post_form(
        &client,
        "/api/v1/reports",
        form("lainnya", in_housing(), "Satu lagi"),
    )
    .await;
    // An Open311 client over the limit hears it in GeoReport's form and its format.
    let (lon, lat) = in_housing();
    let o311 = reqwest::Client::new()
        .post(client.url("/open311/v2/requests.xml"))
        .form(&[
            ("service_code", "lainnya".to_string()),
            ("lat", lat.to_string()),
            ("long", lon.to_string()),
            ("api_key", "x".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(o311.status(), 429);
    assert!(o311.headers().contains_key("retry-after"));
    let xml = o311.text().await.unwrap();
    assert!(xml.contains("<errors><error><code>429</code>"), "{xml}");
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.header("content-type"), "application/problem+json");
    let retry: u64 = limited.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Reads and other routes are not limited.
    assert_eq!(client.get("/api/v1/reports", None).await.status, 200);
    assert_eq!(client.get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn staff_read_reports_as_a_collection_and_tiles_and_the_public_sees_pins() {
    let db = fresh_db().await;
    let (client, staff, publisher) = setup(&db, 9, None).await;
    let mut ids = Vec::new();
    for (i, x) in [20.0, 60.0, 90.0].into_iter().enumerate() {
        let filed = post_form(
            &client,
            "/api/v1/reports",
            form("tanpa-pbg", lon_lat(x, 60.0), &format!("Bangunan {i}")),
        )
        .await;
        ids.push(filed.body["id"].as_i64().unwrap());
    }
    let hidden = change(
        &client,
        &staff,
        ids[2],
        json!({"status": "hidden", "note": "spam"}),
    )
    .await;
    assert_eq!(hidden.status, 200);
    // The OGC collection: staff only.
    assert_eq!(
        client
            .get("/ogc/collections/reports/items", None)
            .await
            .status,
        401
    );
    assert_eq!(
        client
            .get("/ogc/collections/reports/items", Some(&publisher))
            .await
            .status,
        403
    );
    let items = client
        .get("/ogc/collections/reports/items?limit=10", Some(&staff))
        .await;
    assert_eq!(items.status, 200, "{}", items.body);
    assert_eq!(items.body["features"].as_array().unwrap().len(), 3);
    assert!(items.header("cache-control").contains("private"));
    let filtered = client
        .get(
            "/ogc/collections/reports/items?filter=status%3D%27hidden%27",
            Some(&staff),
        )
        .await;
    assert_eq!(
        filtered.body["features"].as_array().unwrap().len(),
        1,
        "{}",
        filtered.body
    );
    let anonymous_list = client.get("/ogc/collections", None).await;
    assert!(!anonymous_list.body.to_string().contains("\"reports\""));

    // Tiles: public pins leave the hidden report out; staff see it; the public cannot ask for staff tiles.
    let (lon, lat) = lon_lat(50.0, 60.0);
    let coord = satupeta::tiles::TileCoord::containing(lon, lat, 16).unwrap();
    let pins = |body: &[u8]| -> Vec<u64> {
        let tile = Tile::decode(body).unwrap();
        tile.layers
            .iter()
            .flat_map(|l| l.features.iter().filter_map(|f| f.id))
            .collect()
    };
    let (status, public) = bytes(
        &client,
        &format!("/tiles/reports/16/{}/{}.mvt", coord.x, coord.y),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut seen = pins(&public);
    seen.sort();
    assert_eq!(seen, vec![ids[0] as u64, ids[1] as u64]);
    let (status, all) = bytes(
        &client,
        &format!("/tiles/reports-staff/16/{}/{}.mvt", coord.x, coord.y),
        Some(&staff),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(pins(&all).len(), 3);
    let (status, _) = bytes(
        &client,
        &format!("/tiles/reports-staff/16/{}/{}.mvt", coord.x, coord.y),
        None,
    )
    .await;
    assert_eq!(status, 401);
    // At city zoom the pins are counted in cells.
    let city = satupeta::tiles::TileCoord::containing(lon, lat, 10).unwrap();
    let (_, counted) = bytes(
        &client,
        &format!("/tiles/reports/10/{}/{}.mvt", city.x, city.y),
        None,
    )
    .await;
    let tile = Tile::decode(counted.as_slice()).unwrap();
    let layer = &tile.layers[0];
    let count_key = layer.keys.iter().position(|k| k == "count").unwrap() as u32;
    let total: u64 = layer
        .features
        .iter()
        .map(|f| {
            let at = f.tags.chunks(2).find(|kv| kv[0] == count_key).unwrap()[1];
            let v = &layer.values[at as usize];
            v.int_value
                .or(v.sint_value)
                .map(|n| n as u64)
                .or(v.uint_value)
                .unwrap()
        })
        .sum();
    assert_eq!(total, 2);

    // Overdue: nothing is due yet; a report whose day has passed is listed.
    let none = client.get("/api/v1/reports/overdue", Some(&staff)).await;
    assert_eq!(none.body["reports"].as_array().unwrap().len(), 0);
    sqlx::query("UPDATE report SET due_on = current_date - 2 WHERE id = $1")
        .bind(ids[0])
        .execute(&db.pool)
        .await
        .unwrap();
    let overdue = client.get("/api/v1/reports/overdue", Some(&staff)).await;
    assert_eq!(overdue.body["reports"][0]["id"], ids[0]);
    assert_eq!(overdue.body["reports"][0]["overdue"], true);
    assert_eq!(
        client.get("/api/v1/reports/overdue", None).await.status,
        401
    );
    assert_eq!(
        client
            .get("/api/v1/reports?overdue=true", None)
            .await
            .status,
        403
    );
    let by_kecamatan = client
        .get(
            &format!(
                "/api/v1/reports?kecamatan={}",
                overdue.body["reports"][0]["kecamatan"]
                    .as_str()
                    .unwrap()
                    .replace(' ', "%20")
            ),
            None,
        )
        .await;
    assert_eq!(by_kecamatan.body["reports"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn photos_are_public_only_while_a_verified_report_stands() {
    let db = fresh_db().await;
    let (client, staff, _) = setup(&db, 9, None).await;
    let mut ids = Vec::new();
    for i in 0..2 {
        let filed = post_form(
            &client,
            "/api/v1/reports",
            form("tanpa-pbg", in_housing(), &format!("Foto {i}"))
                .part("media", jpeg_part(photo_with_exif(80, 60))),
        )
        .await;
        assert_eq!(filed.status, 201, "{}", filed.body);
        ids.push(filed.body["id"].as_i64().unwrap());
    }
    let photo = |id: i64| format!("/api/v1/reports/{id}/photos/1.jpg");
    // Rejected or marked duplicate without being verified: the photos stay with staff.
    let rejected = change(
        &client,
        &staff,
        ids[0],
        json!({"status": "rejected", "note": "Bukan pelanggaran tata ruang.\nTerima kasih."}),
    )
    .await;
    assert_eq!(
        rejected.status, 200,
        "a note on two lines: {}",
        rejected.body
    );
    assert_eq!(bytes(&client, &photo(ids[0]), None).await.0, 404);
    assert_eq!(bytes(&client, &photo(ids[0]), Some(&staff)).await.0, 200);
    let public = client
        .get(&format!("/api/v1/reports/{}", ids[0]), None)
        .await;
    assert_eq!(public.body["photos"], 0);
    // The rejection is in the public history; a hiding is not, nor its note.
    let statuses: Vec<&str> = public.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["submitted", "rejected"]);
    // Verified, then hidden and shown again: public while it stands verified, not while hidden.
    assert_eq!(
        change(&client, &staff, ids[1], json!({"status": "verified"}))
            .await
            .status,
        200
    );
    assert_eq!(bytes(&client, &photo(ids[1]), None).await.0, 200);
    let hidden = change(
        &client,
        &staff,
        ids[1],
        json!({"status": "hidden", "note": "wajah orang terlihat"}),
    )
    .await;
    assert_eq!(hidden.status, 200);
    assert_eq!(bytes(&client, &photo(ids[1]), None).await.0, 404);
    let shown = change(&client, &staff, ids[1], json!({"status": "verified"})).await;
    assert_eq!(shown.status, 200);
    let history = client
        .get(&format!("/api/v1/reports/{}", ids[1]), None)
        .await;
    assert!(
        !history.body.to_string().contains("wajah"),
        "{}",
        history.body
    );
}

#[tokio::test]
async fn one_sender_cannot_hold_the_upload_slots_nor_the_memory() {
    let db = fresh_db().await;
    let (client, _, _) = setup(&db, 9, None).await;
    let address = client.base.trim_start_matches("http://").to_string();
    // Two slow uploads from this address hold their places a moment ...
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n\
                    Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\n\r\n--b\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ... so a third from the same address waits its turn, told so at once.
    let third = post_form(
        &client,
        "/api/v1/reports",
        form("lainnya", in_housing(), "Ketiga"),
    )
    .await;
    assert_eq!(third.status, 429, "{}", third.body);
    assert!(
        third.body["detail"]
            .as_str()
            .unwrap()
            .contains("being received")
    );
    drop(slow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = post_form(
        &client,
        "/api/v1/reports",
        form("lainnya", in_housing(), "Sesudahnya"),
    )
    .await;
    assert_eq!(after.status, 201, "{}", after.body);

    // A form of empty fields is refused by its size before it is parsed.
    let flood = reqwest::Client::new()
        .post(client.url("/api/v1/reports"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=&".repeat(1_000_000))
        .send()
        .await
        .unwrap();
    assert_eq!(flood.status(), 413);
    assert!(flood.text().await.unwrap().contains("64 KiB"));
    // A body declared over the limit is refused before it is read.
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 43000000\r\n\r\n",
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 2048];
    let n = tokio::time::timeout(
        Duration::from_millis(900),
        tokio::io::AsyncReadExt::read(&mut stream, &mut answer),
    )
    .await
    .expect("answered at once")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
}
