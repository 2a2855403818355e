//! What the certificate says, in the words and order of the printed letter: the draft and the
//! application turned into the rows [`super::pdf`] draws.

use super::Result;
use super::applications::Application;
use super::draft::Draft;
use super::issue::day_in_words;
use super::keys::SignerIdentity;
use super::pdf::{CertificatePdf, MapView, PartRow, Row, Signatory};

/// The standard notes of every certificate.
pub const NOTES: [&str; 5] = [
    "Keterangan Rencana Kota (KRK) ini bukan merupakan izin; pembangunan memerlukan Persetujuan Bangunan Gedung (PBG).",
    "KRK ini diberikan satu kali untuk satu permohonan PBG atas persil tersebut di atas.",
    "KRK ini tidak berlaku lagi apabila rencana tata ruang yang menjadi dasarnya berubah untuk persil ini; status terkini dapat diperiksa pada alamat verifikasi.",
    "KRK ini dapat ditinjau kembali apabila terdapat kekeliruan data atau perhitungan.",
    "Dokumen ini ditandatangani secara elektronik; keasliannya dapat diperiksa dengan memindai kode QR atau mengunggah berkas PDF pada alamat verifikasi.",
];

/// Everything a certificate's page shows.
pub struct Content<'a> {
    /// Its number.
    pub number: &'a str,
    /// The day of issue (`YYYY-MM-DD`).
    pub day: &'a str,
    /// The application.
    pub application: &'a Application,
    /// The draft it certifies.
    pub draft: &'a Draft,
    /// Who signs.
    pub signer: &'a SignerIdentity,
    /// The map.
    pub map: MapView,
    /// What the QR code holds.
    pub qr: &'a str,
    /// The verification URL.
    pub verification_url: &'a str,
    /// The key that signed the content.
    pub key_id: &'a str,
}

fn row(label: &str, value: impl Into<String>) -> Row {
    Row {
        label: label.into(),
        value: value.into(),
    }
}

/// Square metres with thousands separated the Indonesian way: `1.234,5 m²`.
pub fn m2(value: f64) -> String {
    format!("{} m²", decimal(value, 1))
}

/// `value` with `places` decimals, `.` between thousands and `,` before the decimals.
pub fn decimal(value: f64, places: usize) -> String {
    let text = format!("{:.*}", places, value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{fraction}")
    }
}

/// The page of a certificate.
pub fn certificate(c: Content) -> Result<CertificatePdf> {
    Ok(CertificatePdf {
        number: c.number.to_string(),
        title: "KETERANGAN RENCANA KOTA".into(),
        letterhead: [
            "PEMERINTAH KOTA BALIKPAPAN".into(),
            "DINAS PERTANAHAN DAN PENATAAN RUANG".into(),
            "Jl. Jenderal Sudirman No. 1, Balikpapan, Kalimantan Timur".into(),
        ],
        legal_basis: legal_basis(c.draft),
        applicant: applicant_rows(c.application, c.draft),
        map: c.map,
        parts: part_rows(c.draft),
        rules: rule_rows(c.draft),
        overlays: overlay_lines(c.draft),
        notes: NOTES.iter().map(|n| n.to_string()).collect(),
        place_and_date: format!("Balikpapan, {}", day_in_words(c.day)),
        signatory: Signatory {
            on_behalf: c.signer.on_behalf.clone(),
            position: c.signer.position.clone(),
            name: c.signer.name.clone(),
            nip: c.signer.nip.clone(),
        },
        qr_text: c.qr.to_string(),
        footer: format!("Verifikasi: {} · kunci {}", c.verification_url, c.key_id),
    })
}

fn legal_basis(draft: &Draft) -> Vec<String> {
    let mut lines = vec![
        "Undang-Undang Nomor 26 Tahun 2007 tentang Penataan Ruang".to_string(),
        "Peraturan Pemerintah Nomor 16 Tahun 2021 tentang Bangunan Gedung".to_string(),
        "Peraturan Pemerintah Nomor 21 Tahun 2021 tentang Penyelenggaraan Penataan Ruang"
            .to_string(),
    ];
    for v in &draft.versions {
        let regulation = v
            .regulation
            .clone()
            .unwrap_or_else(|| "regulasi tidak dicatat".to_string());
        lines.push(format!(
            "{regulation}: {} versi {}, berlaku sejak {}",
            v.plan,
            v.version,
            day_in_words(&v.effective_from)
        ));
    }
    lines
}

fn applicant_rows(a: &Application, d: &Draft) -> Vec<Row> {
    let place = match (&d.kelurahan, &d.kecamatan) {
        (Some(k), Some(c)) => format!("Kelurahan {k}, Kecamatan {c}"),
        (Some(k), None) => format!("Kelurahan {k}"),
        _ => "Kota Balikpapan".into(),
    };
    let activity = d
        .activity
        .as_ref()
        .map(|x| format!("KBLI {} {}", x.kbli, x.title))
        .unwrap_or_else(|| "-".into());
    vec![
        row("Nama pemohon", a.applicant.name.clone()),
        row("NIK/NIB", a.applicant.id_number.clone()),
        row("Alamat", a.applicant.address.clone()),
        row(
            "Bukti kepemilikan tanah",
            format!(
                "{} No. {}",
                a.applicant.title_kind, a.applicant.title_number
            ),
        ),
        row("Fungsi bangunan", function_name(&a.building_function)),
        row("Kegiatan", activity),
        row("Luas persil", m2(d.area_m2)),
        row("Lokasi", place),
    ]
}

/// A building function's name as printed.
pub fn function_name(code: &str) -> String {
    match code {
        "hunian" => "Hunian",
        "keagamaan" => "Keagamaan",
        "usaha" => "Usaha",
        "sosial-budaya" => "Sosial dan Budaya",
        "khusus" => "Khusus",
        "campuran" => "Campuran",
        other => other,
    }
    .to_string()
}

fn part_rows(d: &Draft) -> Vec<PartRow> {
    d.parts
        .iter()
        .map(|p| PartRow {
            code: p.subzone.clone(),
            name: p.name.clone(),
            area: m2(p.area_m2),
            share: format!("{} %", decimal(p.share * 100.0, 1)),
            class: p.activity_class.clone().unwrap_or_else(|| "-".into()),
        })
        .collect()
}

fn tier_text(d: &Draft) -> String {
    let tiers: Vec<String> = d
        .parts
        .iter()
        .filter_map(|p| {
            p.intensity.as_ref().map(|t| {
                let range = match t.max_parcel_m2 {
                    Some(max) => format!(
                        "{} s.d. di bawah {} m²",
                        decimal(t.min_parcel_m2, 0),
                        decimal(max, 0)
                    ),
                    None => format!("{} m² ke atas", decimal(t.min_parcel_m2, 0)),
                };
                format!("{}: persil {range}", p.subzone)
            })
        })
        .collect();
    if tiers.is_empty() {
        "-".into()
    } else {
        tiers.join("; ")
    }
}

fn rule_rows(d: &Draft) -> Vec<Row> {
    let mut rows = vec![row("Kelas luas persil (intensitas)", tier_text(d))];
    match &d.totals.limits {
        Some(l) => {
            rows.push(row(
                "Luas lantai dasar maksimum (KDB)",
                format!(
                    "{} ({})",
                    m2(l.max_footprint_m2),
                    ratios(d, |t| format!("{}%", decimal(t.kdb_max, 0)))
                ),
            ));
            rows.push(row(
                "Luas seluruh lantai maksimum (KLB)",
                format!(
                    "{} ({})",
                    m2(l.max_floor_area_m2),
                    ratios(d, |t| decimal(t.klb_max, 2))
                ),
            ));
            rows.push(row(
                "Luas daerah hijau minimum (KDH)",
                format!(
                    "{} ({})",
                    m2(l.min_green_m2),
                    ratios(d, |t| format!("{}%", decimal(t.kdh_min, 0)))
                ),
            ));
            rows.push(row(
                "Luas basemen maksimum (KTB)",
                format!(
                    "{} ({})",
                    m2(l.max_basement_m2),
                    ratios(d, |t| format!("{}%", decimal(t.ktb_max, 0)))
                ),
            ));
            rows.push(row(
                "Ketinggian bangunan maksimum",
                l.max_height_m
                    .map(|h| format!("{} m", decimal(h, 1)))
                    .unwrap_or_else(|| "tidak ditetapkan".into()),
            ));
            rows.push(row(
                "Jumlah lantai maksimum",
                l.max_floors
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| "tidak ditetapkan".into()),
            ));
        }
        None => rows.push(row("Intensitas bangunan", "persil tidak boleh dibangun")),
    }
    let side = if d.roads.is_empty() {
        "ketentuan sub-zona; persil tidak berbatasan dengan badan jalan pada peta rencana"
    } else {
        "dari batas persil sisi jalan"
    };
    rows.push(row(
        "Garis sempadan bangunan (GSB)",
        d.totals
            .front_setback_m
            .map(|g| format!("{} m ({side})", decimal(g, 1)))
            .unwrap_or_else(|| "tidak ditetapkan".into()),
    ));
    for r in &d.roads {
        rows.push(row(
            "Jalan di depan persil",
            format!(
                "badan jalan lebar {} m (kelas {}), muka persil {} m, sempadan {} m",
                decimal(r.width_m, 1),
                r.class,
                decimal(r.frontage_m, 1),
                decimal(r.setback_m, 1)
            ),
        ));
    }
    for p in &d.protection {
        rows.push(row(
            "Sempadan perlindungan",
            format!(
                "{} ({}) sepanjang {} m; {} di dalamnya tidak boleh dibangun",
                p.what,
                p.subzone,
                decimal(p.frontage_m, 1),
                m2(p.inside_m2)
            ),
        ));
    }
    if let Some(a) = &d.activity {
        let class = a.class.as_deref().unwrap_or("tidak diatur");
        rows.push(row(
            "Kelas kegiatan (ITBX)",
            format!("{class}: {}", class_name(class)),
        ));
        for p in &d.parts {
            for c in &p.conditions {
                rows.push(row(&format!("Ketentuan {}", p.subzone), c.clone()));
            }
        }
    }
    rows
}

/// An ITBX class in words.
pub fn class_name(class: &str) -> &'static str {
    match class {
        "I" => "diizinkan",
        "T" => "diizinkan terbatas",
        "B" => "diizinkan bersyarat",
        "TB" => "diizinkan terbatas dan bersyarat",
        "X" => "tidak diizinkan",
        _ => "tidak diatur",
    }
}

/// Each buildable part's coefficient, by sub-zone: `R-2: 60%; K-1: 70%`.
fn ratios(d: &Draft, value: impl Fn(&crate::rules::IntensityTier) -> String) -> String {
    d.parts
        .iter()
        .filter(|p| p.buildable)
        .filter_map(|p| {
            p.intensity
                .as_ref()
                .map(|t| format!("{} {}", p.subzone, value(t)))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn overlay_lines(d: &Draft) -> Vec<String> {
    if d.overlays.is_empty() {
        return vec!["Tidak ada ketentuan tambahan (overlay) pada persil ini.".into()];
    }
    d.overlays
        .iter()
        .map(|o| format!("{}: {}", o.field, o.value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_indonesian_way() {
        assert_eq!(m2(1234.56), "1.234,6 m²");
        assert_eq!(m2(12.0), "12,0 m²");
        assert_eq!(decimal(1234567.0, 0), "1.234.567");
        assert_eq!(decimal(2.4, 2), "2,40");
        assert_eq!(class_name("TB"), "diizinkan terbatas dan bersyarat");
    }
}
