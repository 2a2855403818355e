//! A sample certificate for tests: two sub-zones (one with a hole) and a parcel crossing both.

use super::*;

fn row(label: &str, value: &str) -> Row {
    Row {
        label: label.to_string(),
        value: value.to_string(),
    }
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

/// A rectangle ring in metres.
fn rectangle(min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> Ring {
    vec![
        (min_x, min_y),
        (max_x, min_y),
        (max_x, max_y),
        (min_x, max_y),
        (min_x, min_y),
    ]
}

/// The map: R-3 on the west with a hole (a park), K-2 on the east, both running past the frame.
fn map() -> MapView {
    let west = vec![
        rectangle(482_950.0, 9_861_550.0, 483_210.0, 9_861_900.0),
        rectangle(483_040.0, 9_861_640.0, 483_110.0, 9_861_700.0),
    ];
    let east = vec![vec![
        (483_210.0, 9_861_550.0),
        (483_460.0, 9_861_550.0),
        (483_460.0, 9_861_900.0),
        (483_210.0, 9_861_900.0),
    ]];
    let parcel = vec![vec![
        (483_165.0, 9_861_705.0),
        (483_262.0, 9_861_698.0),
        (483_270.0, 9_861_772.0),
        (483_172.0, 9_861_778.0),
    ]];
    MapView {
        frame: Frame {
            min_x: 483_000.0,
            min_y: 9_861_600.0,
            max_x: 483_400.0,
            max_y: 9_861_850.0,
        },
        zones: vec![
            MapZone {
                code: "R-3".into(),
                name: String::new(),
                color: [255, 236, 139],
                polygons: vec![west],
            },
            MapZone {
                code: "K-2".into(),
                name: String::new(),
                color: [244, 164, 126],
                polygons: vec![east],
            },
        ],
        parcel: vec![parcel],
        corners: Corners {
            top_left: "116°50'51,4\" BT  1°15'01,2\" LS".into(),
            top_right: "116°51'04,4\" BT  1°15'01,2\" LS".into(),
            bottom_left: "116°50'51,4\" BT  1°15'09,3\" LS".into(),
            bottom_right: "116°51'04,4\" BT  1°15'09,3\" LS".into(),
        },
        crs_note: "Koordinat peta: UTM zona 50S (EPSG:32750); koordinat sudut: WGS 84 (EPSG:4326)"
            .into(),
    }
}

/// The sample certificate.
pub fn certificate() -> CertificatePdf {
    CertificatePdf {
        number: "0001/KRK/DPPR/XI/2026".into(),
        title: "KETERANGAN RENCANA KOTA".into(),
        letterhead: [
            "PEMERINTAH KOTA BALIKPAPAN".into(),
            "DINAS PERTANAHAN DAN PENATAAN RUANG".into(),
            "Jl. Jenderal Sudirman No. 1, Klandasan Ulu, Balikpapan Kota, Balikpapan 76111 · Telp. (0542) 421000".into(),
        ],
        legal_basis: strings(&[
            "Undang-Undang Nomor 26 Tahun 2007 tentang Penataan Ruang sebagaimana telah diubah dengan Undang-Undang Nomor 6 Tahun 2023;",
            "Peraturan Pemerintah Nomor 21 Tahun 2021 tentang Penyelenggaraan Penataan Ruang;",
            "Peraturan Pemerintah Nomor 16 Tahun 2021 tentang Peraturan Pelaksanaan Undang-Undang Nomor 28 Tahun 2002 tentang Bangunan Gedung;",
            "Peraturan Wali Kota Balikpapan tentang Rencana Detail Tata Ruang Wilayah Perencanaan Balikpapan Kota.",
        ]),
        applicant: vec![
            row("Nama pemohon", "Siti Rahmawati"),
            row("Alamat pemohon", "Jl. MT Haryono No. 45 RT 12, Damai Baru, Balikpapan Kota"),
            row("Bukti penguasaan tanah", "Sertifikat Hak Milik No. 03412/Damai, tanggal 4 Maret 2019"),
            row("Fungsi bangunan yang dimohon", "Rumah toko (hunian dan usaha)"),
            row("KBLI", "47111 – Perdagangan eceran berbagai macam barang yang utamanya makanan, minuman atau tembakau di minimarket"),
            row("Luas persil", "7.118 m²"),
            row("Lokasi", "Kel. Damai Baru, Kec. Balikpapan Kota; titik tengah 1°15'05\" LS 116°50'58\" BT"),
        ],
        map: map(),
        parts: vec![
            PartRow { code: "R-3".into(), name: "Perumahan kepadatan sedang".into(), area: "3.201 m²".into(), share: "45,0%".into(), class: "T – terbatas".into() },
            PartRow { code: "K-2".into(), name: "Perdagangan dan jasa skala WP".into(), area: "3.917 m²".into(), share: "55,0%".into(), class: "I – diizinkan".into() },
        ],
        rules: vec![
            row("Koefisien Dasar Bangunan (KDB) maks.", "60% (4.270 m²)"),
            row("Koefisien Lantai Bangunan (KLB) maks.", "2,4 (17.083 m²)"),
            row("Koefisien Dasar Hijau (KDH) min.", "20% (1.424 m²)"),
            row("Koefisien Tapak Basemen (KTB) maks.", "65%"),
            row("Ketinggian bangunan maks.", "20 m"),
            row("Jumlah lantai maks.", "4 lantai di atas tanah, 1 lantai basemen"),
            row("Garis Sempadan Bangunan (GSB)", "6 m dari as jalan Jl. MT Haryono"),
            row("Jarak bebas samping / belakang", "2 m / 3 m"),
            row("Klasifikasi kegiatan", "Terbatas pada bagian R-3 (luas lantai usaha maks. 50%); diizinkan pada bagian K-2"),
        ],
        overlays: strings(&["Kawasan Keselamatan Operasi Penerbangan (KKOP) Bandara Sultan Aji Muhammad Sulaiman: batas ketinggian 45 m."]),
        notes: strings(&[
            "Keterangan Rencana Kota ini bukan merupakan izin dan tidak dapat digunakan sebagai bukti kepemilikan tanah.",
            "Keterangan Rencana Kota ini diberikan satu kali untuk satu pemohon dan menjadi dasar permohonan Persetujuan Bangunan Gedung (PBG).",
            "Keterangan Rencana Kota ini tidak berlaku apabila terdapat perubahan rencana tata ruang, dan dapat ditinjau kembali apabila terdapat kekeliruan data.",
            "Keaslian dokumen dapat diperiksa dengan memindai kode QR atau melalui alamat verifikasi pada kaki halaman; cetakan dokumen ini adalah salinan.",
        ]),
        place_and_date: "Balikpapan, 26 November 2026".into(),
        signatory: Signatory {
            on_behalf: "a.n. Kepala Dinas Pertanahan dan Penataan Ruang".into(),
            position: "Kepala Bidang Tata Ruang,".into(),
            name: "Ir. Budi Santoso, S.T., M.T.".into(),
            nip: "19750412 200003 1 004".into(),
        },
        qr_text: "https://satupeta.balikpapan.go.id/v/0001-KRK-DPPR-XI-2026?k=krk-20261126-1a2b3c4d&s=Rz4dM0n1cF8w2QyH7bKkP9sL3vXa6tJeU5oN8gYq1WcZ0rT4mB7hD2fS9pA6xE3iV5uO8lK1jQ4wG7yR0nM3bC6zT9vF2sH5dL8kP1qX4aJ7eW0oU3gN6".into(),
        footer: "Verifikasi: https://satupeta.balikpapan.go.id/v/0001-KRK-DPPR-XI-2026 · kunci krk-20261126-1a2b3c4d".into(),
    }
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `./target`), where samples are kept.
pub fn target_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&dir).expect("creating the target directory");
    dir
}
