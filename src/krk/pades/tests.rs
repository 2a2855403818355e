//! Tests of the PAdES signature: the sample certificate rendered, signed and checked with
//! poppler (`pdftotext`, `pdftoppm`, `pdfsig`) and zbar (`zbarimg`), and the error cases.

use std::path::Path;
use std::process::{Command, Output};

use super::*;
use crate::krk::keys::{self, Keys, SignerIdentity};
use crate::krk::pdf::{self, sample};

/// Runs a tool; `None` (with a note) when it is not installed.
fn run(program: &str, args: &[&str]) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "skipped: {program} is not installed (apt-get install poppler-utils zbar-tools)"
            );
            None
        }
        Err(e) => panic!("running {program}: {e}"),
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn signer_in(dir: &Path) -> PadesSigner {
    let identity = SignerIdentity {
        name: "Ir. Budi Santoso, S.T., M.T.".into(),
        nip: "19750412 200003 1 004".into(),
        position: "Kepala Bidang Tata Ruang".into(),
        on_behalf: "a.n. Kepala Dinas Pertanahan dan Penataan Ruang".into(),
    };
    keys::init(dir, &identity).unwrap();
    Keys::load(dir).unwrap().pades_signer().unwrap()
}

fn info() -> SignatureInfo {
    SignatureInfo {
        name: "Ir. Budi Santoso, S.T., M.T.".into(),
        reason: "Keterangan Rencana Kota 0001/KRK/DPPR/XI/2026".into(),
        location: "Balikpapan".into(),
        signing_time: chrono::Utc::now(),
    }
}

/// Signs the sample and keeps it as `krk-sample.pdf` in the target directory.
fn signed_sample(keys_dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let cert = sample::certificate();
    let signed = sign(pdf::render(&cert).unwrap(), &signer_in(keys_dir), &info()).unwrap();
    let path = sample::target_dir().join("krk-sample.pdf");
    std::fs::write(&path, &signed).unwrap();
    (path, signed)
}

#[test]
fn krk_signed_sample_reads_back_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let (path, signed) = signed_sample(&dir.path().join("keys"));
    let file = path.to_str().unwrap();
    let cert = sample::certificate();

    if let Some(text) = run("pdftotext", &["-layout", file, "-"]) {
        let text = stdout(&text);
        for expected in [
            cert.number.as_str(),
            &cert.signatory.name,
            &cert.signatory.nip,
            "Catatan",
        ] {
            assert!(
                text.contains(expected),
                "pdftotext lacks {expected}:\n{text}"
            );
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for note in &cert.notes {
            let start: String = note
                .split_whitespace()
                .take(8)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(flat.contains(&start), "pdftotext lacks the note {start}");
        }
    }

    let image_root = dir.path().join("page");
    let image_root = image_root.to_str().unwrap();
    if run("pdftoppm", &["-r", "150", "-png", file, image_root]).is_some() {
        let last_page = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .max()
            .unwrap();
        if let Some(decoded) = run("zbarimg", &["--raw", "-q", last_page.to_str().unwrap()]) {
            assert_eq!(stdout(&decoded).trim_end_matches('\n'), cert.qr_text);
        }
    }

    if let Some(report) = run("pdfsig", &[file]) {
        let report = stdout(&report);
        assert!(report.contains("Signature is Valid."), "{report}");
        assert!(report.contains("ETSI.CAdES.detached"), "{report}");
        assert!(report.contains("Total document signed"), "{report}");

        let tampered_path = dir.path().join("tampered.pdf");
        let mut tampered = signed.clone();
        let at = only_occurrence(&tampered, b"(satupeta)").unwrap() + 1;
        tampered[at] ^= 0x20; // "satupeta" -> "Satupeta", inside the first signed range
        std::fs::write(&tampered_path, &tampered).unwrap();
        let report = stdout(&run("pdfsig", &[tampered_path.to_str().unwrap()]).unwrap());
        assert!(!report.contains("Signature is Valid."), "{report}");
        assert!(report.contains("Digest Mismatch"), "{report}");
    }
}

#[test]
fn krk_signature_ranges_cover_all_but_contents() {
    let dir = tempfile::tempdir().unwrap();
    let cert = sample::certificate();
    let signed = sign(pdf::render(&cert).unwrap(), &signer_in(dir.path()), &info()).unwrap();
    let start = only_occurrence(&signed, b"/ByteRange").unwrap();
    let open = start + signed[start..].iter().position(|&b| b == b'[').unwrap();
    let close = open + signed[open..].iter().position(|&b| b == b']').unwrap();
    let numbers: Vec<usize> = std::str::from_utf8(&signed[open + 1..close])
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 4);
    assert_eq!(numbers[0], 0);
    assert_eq!(signed[numbers[1]], b'<');
    assert_eq!(signed[numbers[2] - 1], b'>');
    assert_eq!(numbers[2] + numbers[3], signed.len());
}

#[test]
fn krk_pades_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let signer = signer_in(dir.path());
    let other = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let mismatch = PadesSigner::new(other, signer.certificate_der().to_vec())
        .err()
        .unwrap();
    assert!(matches!(mismatch, PadesError::KeyMismatch));
    assert!(matches!(
        PadesSigner::new(signer.key.clone(), vec![1, 2, 3]),
        Err(PadesError::Certificate(_))
    ));

    let placeholders = Placeholders {
        byte_range: 0,
        byte_range_len: 0,
        contents_start: 0,
        contents_end: 2 * RESERVED + 2,
    };
    let mut pdf = vec![b'0'; 2 * RESERVED + 2];
    let too_large = placeholders
        .fill_contents(&mut pdf, &vec![0; RESERVED + 1])
        .err()
        .unwrap();
    assert!(
        too_large
            .to_string()
            .contains("larger than the 8192 bytes reserved"),
        "{too_large}"
    );

    let empty = Document::with_version("1.7");
    assert!(matches!(
        sign(empty, &signer, &info()),
        Err(PadesError::NoPage)
    ));
}
