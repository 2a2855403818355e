//! Tests of the key directory: init, signing, rotation, JWKS, refused permissions.

use super::*;

fn signatory() -> SignerIdentity {
    SignerIdentity {
        name: "Ir. Budi Santoso, S.T., M.T.".into(),
        nip: "19750412 200003 1 004".into(),
        position: "Kepala Bidang Tata Ruang".into(),
        on_behalf: "a.n. Kepala Dinas Pertanahan dan Penataan Ruang".into(),
    }
}

#[test]
fn krk_keys_init_signs_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let kid = init(&keys_dir, &signatory()).unwrap();
    assert!(KeyId::parse(kid.as_str()).is_some(), "{kid}");
    let keys = Keys::load(&keys_dir).unwrap();
    assert_eq!(keys.current().kid(), &kid);
    assert_eq!(keys.signer_identity(), &signatory());
    let (signed_by, signature) = keys.sign_payload(b"{\"no\":\"0001\"}");
    assert_eq!(signed_by, kid);
    assert!(keys.verify_payload(kid.as_str(), b"{\"no\":\"0001\"}", &signature));
    assert!(!keys.verify_payload(kid.as_str(), b"{\"no\":\"0002\"}", &signature));
    assert!(!keys.verify_payload("krk-20000101-00000000", b"{\"no\":\"0001\"}", &signature));
    let mode = |name: &str| {
        fs::metadata(keys_dir.join(kid.as_str()).join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(ED25519_FILE), 0o600);
    assert_eq!(mode(P256_FILE), 0o600);
    keys.pades_signer().unwrap();
}

#[test]
fn krk_keys_certificate_names_the_signatory() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), &signatory()).unwrap();
    let keys = Keys::load(dir.path()).unwrap();
    let certificate =
        <Certificate as der::Decode>::from_der(keys.current().certificate_der()).unwrap();
    let subject = certificate.tbs_certificate.subject.to_string();
    assert!(
        subject.contains("CN=Ir. Budi Santoso\\, S.T.\\, M.T."),
        "{subject}"
    );
    assert!(subject.contains("19750412 200003 1 004"), "{subject}");
    assert!(subject.contains("C=ID"), "{subject}");
    assert_eq!(
        certificate.tbs_certificate.issuer,
        certificate.tbs_certificate.subject
    );
}

#[test]
fn krk_keys_rotation_keeps_old_generations() {
    let dir = tempfile::tempdir().unwrap();
    let first = init(dir.path(), &signatory()).unwrap();
    let old = Keys::load(dir.path()).unwrap().sign_payload(b"payload").1;
    let mut successor = signatory();
    successor.name = "Dra. Ani Lestari, M.Si.".into();
    let second = init(dir.path(), &successor).unwrap();
    assert_ne!(first, second);
    let keys = Keys::load(dir.path()).unwrap();
    assert_eq!(keys.current().kid(), &second);
    assert_eq!(keys.signer_identity().name, "Dra. Ani Lestari, M.Si.");
    assert_eq!(keys.generations().len(), 2);
    assert!(keys.verify_payload(first.as_str(), b"payload", &old));
    let (kid, new) = keys.sign_payload(b"payload");
    assert_eq!(kid, second);
    assert!(keys.verify_payload(second.as_str(), b"payload", &new));
    assert!(!keys.verify_payload(first.as_str(), b"payload", &new));

    let jwks = keys.jwks();
    let entries = jwks["keys"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for kid in [&first, &second] {
        let okp = entries.iter().find(|k| k["kid"] == kid.as_str()).unwrap();
        assert_eq!(
            (
                okp["kty"].as_str(),
                okp["crv"].as_str(),
                okp["alg"].as_str()
            ),
            (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
        );
        assert_eq!(okp["x"].as_str().unwrap().len(), 43);
        let ec = entries
            .iter()
            .find(|k| k["kid"] == format!("{kid}-pades"))
            .unwrap();
        assert_eq!(
            (ec["kty"].as_str(), ec["crv"].as_str()),
            (Some("EC"), Some("P-256"))
        );
        assert_eq!(ec["y"].as_str().unwrap().len(), 43);
        assert!(!ec["x5c"][0].as_str().unwrap().is_empty());
    }
}

#[test]
fn krk_keys_refuses_wide_permissions_and_reports_missing_or_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Keys::load(&dir.path().join("nowhere")).err().unwrap();
    assert!(
        missing.to_string().contains("satupeta keys init"),
        "{missing}"
    );

    let kid = init(dir.path(), &signatory()).unwrap();
    let key_file = dir.path().join(kid.as_str()).join(P256_FILE);
    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).unwrap();
    let refused = Keys::load(dir.path()).err().unwrap();
    assert!(
        matches!(refused, KeyError::Permissions { mode: 0o644, .. }),
        "{refused}"
    );

    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(
        &key_file,
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let corrupt = Keys::load(dir.path()).err().unwrap();
    assert!(matches!(corrupt, KeyError::Corrupt { .. }), "{corrupt}");
}
