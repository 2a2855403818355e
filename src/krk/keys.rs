//! The KRK signing keys, kept on disk outside the database, one directory per key generation:
//!
//! ```text
//! <dir>/current                      the key id of the current generation
//! <dir>/<kid>/ed25519.pem            Ed25519 private key, PKCS#8 PEM, mode 0600 (payload signature)
//! <dir>/<kid>/p256.pem               P-256 private key, PKCS#8 PEM, mode 0600 (PAdES signature)
//! <dir>/<kid>/certificate.pem        self-signed X.509 certificate of the P-256 key
//! <dir>/<kid>/signer.json            the signatory printed on the certificates of this generation
//! ```
//!
//! [`init`] makes a new generation current (the first, or a rotation); old generations stay so
//! their public keys stay published ([`Keys::jwks`]) and what they signed still verifies.
//!
//! Hand-written: the directory layout, rotation and permission checks, and the JWK encoding
//! (RFC 8037 for Ed25519, RFC 7518 for P-256); the crates give the keys, PKCS#8 PEM and X.509.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::asn1::SetOfVec;
use der::pem::LineEnding;
use der::{Any, DecodePem, Encode, EncodePem, Tag};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use super::pades::{PadesError, PadesSigner};

const CURRENT_FILE: &str = "current";
const ED25519_FILE: &str = "ed25519.pem";
const P256_FILE: &str = "p256.pem";
const CERTIFICATE_FILE: &str = "certificate.pem";
const SIGNER_FILE: &str = "signer.json";
/// How long a PAdES certificate is valid: five years.
const CERTIFICATE_LIFETIME: Duration = Duration::from_secs(5 * 365 * 24 * 3600 + 24 * 3600);
/// Balikpapan's offset from UTC (WITA), for the date in key ids.
const WITA_SECONDS: i32 = 8 * 3600;

const OID_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
const OID_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_ORGANIZATIONAL_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
const OID_TITLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.12");
const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ORGANIZATION: &str = "Pemerintah Kota Balikpapan";
const ORGANIZATIONAL_UNIT: &str = "Dinas Pertanahan dan Penataan Ruang";

/// Errors of the key directory.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// There is no key directory, or no current generation in it.
    #[error("no KRK signing keys in {0}: run `satupeta keys init`")]
    Missing(PathBuf),
    /// A file or directory could not be read or written.
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A private key file may be read by others.
    #[error("{path} has mode {mode:04o}; a private key file must be 0600 (chmod 600 it)")]
    Permissions { path: PathBuf, mode: u32 },
    /// A key, certificate or signer file does not parse, or does not match its generation.
    #[error("{path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// The signatory cannot be written into a certificate.
    #[error("the certificate subject cannot be made: {0}")]
    Subject(String),
    /// A new key could not be encoded as PKCS#8 PEM.
    #[error("encoding the new {algorithm} key as PKCS#8 PEM: {message}")]
    Encode {
        algorithm: &'static str,
        message: String,
    },
    /// The self-signed certificate could not be built.
    #[error("building the self-signed certificate: {0}")]
    Certificate(String),
    /// The P-256 key and certificate do not make a PAdES signer.
    #[error("the PAdES key of generation {kid}")]
    Pades {
        kid: String,
        #[source]
        source: PadesError,
    },
    /// `init` made a key id that already exists (the same key twice: should not happen).
    #[error("key generation {0} already exists")]
    Exists(String),
}

/// Result of this module.
pub type Result<T, E = KeyError> = std::result::Result<T, E>;

/// A key generation's id: `krk-YYYYMMDD-` and the first 8 hex digits of the SHA-256 of the
/// Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(String);

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of a key made on `day` (`YYYYMMDD`).
    fn new(day: &str, public_key: &ed25519_dalek::VerifyingKey) -> Self {
        let hash = Sha256::digest(public_key.as_bytes());
        Self(format!("krk-{day}-{}", &hex::encode(hash)[..8]))
    }

    /// The id of a directory name, when it looks like one.
    fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("krk-")?;
        let (day, hash) = rest.split_once('-')?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        (digits(day, 8) && day.bytes().all(|b| b.is_ascii_digit()) && digits(hash, 8))
            .then(|| Self(name.to_string()))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The official who signs the certificates of a key generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerIdentity {
    /// Full name with titles.
    pub name: String,
    /// Civil-servant number (NIP).
    pub nip: String,
    /// Position, e.g. "Kepala Bidang Tata Ruang".
    pub position: String,
    /// On whose behalf, e.g. "a.n. Kepala Dinas Pertanahan dan Penataan Ruang".
    pub on_behalf: String,
}

/// One key generation, loaded.
pub struct Generation {
    kid: KeyId,
    payload_key: ed25519_dalek::SigningKey,
    pades_key: p256::ecdsa::SigningKey,
    certificate_der: Vec<u8>,
    signer: SignerIdentity,
}

impl Generation {
    /// The generation's key id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The public key of the payload signatures.
    pub fn payload_public_key(&self) -> ed25519_dalek::VerifyingKey {
        self.payload_key.verifying_key()
    }

    /// The PAdES certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The signatory of this generation.
    pub fn signer_identity(&self) -> &SignerIdentity {
        &self.signer
    }

    /// The JWKs of this generation: the Ed25519 payload key (RFC 8037) and the P-256 PAdES
    /// key with its certificate (RFC 7517/7518).
    fn jwks(&self) -> [serde_json::Value; 2] {
        let public = self.payload_key.verifying_key();
        let ed25519 = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
            "kid": self.kid.as_str(),
            "use": "sig",
            "alg": "EdDSA",
        });
        let point = self.pades_key.verifying_key().to_encoded_point(false);
        let coordinate = |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c));
        let p256 = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": coordinate(point.x()),
            "y": coordinate(point.y()),
            "kid": format!("{}-pades", self.kid),
            "use": "sig",
            "alg": "ES256",
            "x5c": [STANDARD.encode(&self.certificate_der)],
            "x5t#S256": URL_SAFE_NO_PAD.encode(Sha256::digest(&self.certificate_der)),
        });
        [ed25519, p256]
    }
}

/// All key generations of a key directory, and which one is current.
pub struct Keys {
    /// Oldest first (key ids begin with their day).
    generations: Vec<Generation>,
    current: usize,
}

impl Keys {
    /// Loads every generation of `dir` and the current one's id.
    pub fn load(dir: &Path) -> Result<Self> {
        let current_path = dir.join(CURRENT_FILE);
        if !current_path.is_file() {
            return Err(KeyError::Missing(dir.to_path_buf()));
        }
        let current_text = read_text(&current_path)?;
        let current_kid = KeyId::parse(current_text.trim())
            .ok_or_else(|| corrupt(&current_path, "not a key id"))?;
        let mut generations = Vec::new();
        for kid in generation_ids(dir)? {
            generations.push(load_generation(&dir.join(kid.as_str()), kid)?);
        }
        generations.sort_by(|a, b| a.kid.cmp(&b.kid));
        let current = generations
            .iter()
            .position(|g| g.kid == current_kid)
            .ok_or_else(|| {
                corrupt(
                    &current_path,
                    &format!("generation {current_kid} is not in the directory"),
                )
            })?;
        Ok(Self {
            generations,
            current,
        })
    }

    /// The current generation.
    pub fn current(&self) -> &Generation {
        &self.generations[self.current]
    }

    /// Every generation, oldest first.
    pub fn generations(&self) -> &[Generation] {
        &self.generations
    }

    /// Signs a payload with the current Ed25519 key.
    pub fn sign_payload(&self, payload: &[u8]) -> (KeyId, [u8; 64]) {
        let current = self.current();
        (
            current.kid.clone(),
            current.payload_key.sign(payload).to_bytes(),
        )
    }

    /// Whether `signature` is generation `kid`'s Ed25519 signature of `payload`.
    pub fn verify_payload(&self, kid: &str, payload: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.generations
            .iter()
            .find(|g| g.kid.as_str() == kid)
            .is_some_and(|g| {
                g.payload_key
                    .verifying_key()
                    .verify(payload, &signature)
                    .is_ok()
            })
    }

    /// The PAdES signer of the current generation.
    pub fn pades_signer(&self) -> Result<PadesSigner> {
        let current = self.current();
        PadesSigner::new(current.pades_key.clone(), current.certificate_der.clone()).map_err(
            |source| KeyError::Pades {
                kid: current.kid.to_string(),
                source,
            },
        )
    }

    /// The signatory of the current generation.
    pub fn signer_identity(&self) -> &SignerIdentity {
        &self.current().signer
    }

    /// The public keys of every generation as a JWK Set (`{"keys": [...]}`).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> =
            self.generations.iter().flat_map(Generation::jwks).collect();
        json!({ "keys": keys })
    }
}

fn corrupt(path: &Path, reason: &str) -> KeyError {
    KeyError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeyError {
    let path = path.to_path_buf();
    move |source| KeyError::Io {
        action,
        path,
        source,
    }
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(io_error("reading", path))
}

/// The ids of the generation directories in `dir`.
fn generation_ids(dir: &Path) -> Result<Vec<KeyId>> {
    let entries = fs::read_dir(dir).map_err(io_error("listing", dir))?;
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("listing", dir))?;
        let is_dir = entry
            .file_type()
            .map_err(io_error("listing", dir))?
            .is_dir();
        if let Some(kid) = entry
            .file_name()
            .to_str()
            .and_then(KeyId::parse)
            .filter(|_| is_dir)
        {
            ids.push(kid);
        }
    }
    Ok(ids)
}

/// Reads a private key file, refusing one that group or others may access.
fn read_private(path: &Path) -> Result<String> {
    let mode = fs::metadata(path)
        .map_err(io_error("reading", path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    read_text(path)
}

/// Loads the generation in `dir`, checking that its id is its Ed25519 key's and that its
/// certificate certifies its P-256 key.
fn load_generation(dir: &Path, kid: KeyId) -> Result<Generation> {
    let ed25519_path = dir.join(ED25519_FILE);
    let payload_key = ed25519_dalek::SigningKey::from_pkcs8_pem(&read_private(&ed25519_path)?)
        .map_err(|e| corrupt(&ed25519_path, &e.to_string()))?;
    let hash = hex::encode(Sha256::digest(payload_key.verifying_key().as_bytes()));
    if !kid.as_str().ends_with(&hash[..8]) {
        return Err(corrupt(
            &ed25519_path,
            &format!("its public key does not belong to {kid}"),
        ));
    }
    let p256_path = dir.join(P256_FILE);
    let pades_key = p256::ecdsa::SigningKey::from_pkcs8_pem(&read_private(&p256_path)?)
        .map_err(|e| corrupt(&p256_path, &e.to_string()))?;
    let certificate_path = dir.join(CERTIFICATE_FILE);
    let certificate = Certificate::from_pem(read_text(&certificate_path)?.as_bytes())
        .map_err(|e| corrupt(&certificate_path, &e.to_string()))?;
    let certificate_der = certificate
        .to_der()
        .map_err(|e| corrupt(&certificate_path, &e.to_string()))?;
    PadesSigner::new(pades_key.clone(), certificate_der.clone())
        .map_err(|e| corrupt(&certificate_path, &e.to_string()))?;
    let signer_path = dir.join(SIGNER_FILE);
    let signer = serde_json::from_str(&read_text(&signer_path)?)
        .map_err(|e| corrupt(&signer_path, &e.to_string()))?;
    Ok(Generation {
        kid,
        payload_key,
        pades_key,
        certificate_der,
        signer,
    })
}

/// Creates a new key generation in `dir` (made if missing, mode 0700) for `signer`, and makes
/// it current. Earlier generations stay.
pub fn init(dir: &Path, signer: &SignerIdentity) -> Result<KeyId> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error("creating", dir))?;
    let mut rng = rand::rngs::OsRng;
    let payload_key = ed25519_dalek::SigningKey::generate(&mut rng);
    let pades_key = p256::ecdsa::SigningKey::random(&mut rng);
    let kid = KeyId::new(&wita_day(), &payload_key.verifying_key());
    let generation_dir = dir.join(kid.as_str());
    if generation_dir.exists() {
        return Err(KeyError::Exists(kid.to_string()));
    }
    let certificate = self_signed_certificate(&pades_key, signer)?;
    let staging = dir.join(format!(".{kid}.new"));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(io_error("creating", &staging))?;
    write_generation(&staging, &payload_key, &pades_key, &certificate, signer)?;
    fs::rename(&staging, &generation_dir).map_err(io_error("creating", &generation_dir))?;
    write_current(dir, &kid)?;
    Ok(kid)
}

/// Today in Balikpapan (WITA) as `YYYYMMDD`.
fn wita_day() -> String {
    let wita = chrono::FixedOffset::east_opt(WITA_SECONDS).expect("UTC+8 is a valid offset");
    chrono::Utc::now()
        .with_timezone(&wita)
        .format("%Y%m%d")
        .to_string()
}

/// Writes the files of a generation into `dir`.
fn write_generation(
    dir: &Path,
    payload_key: &ed25519_dalek::SigningKey,
    pades_key: &p256::ecdsa::SigningKey,
    certificate: &Certificate,
    signer: &SignerIdentity,
) -> Result<()> {
    let ed25519_pem = payload_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode {
            algorithm: "Ed25519",
            message: e.to_string(),
        })?;
    write_file(&dir.join(ED25519_FILE), ed25519_pem.as_bytes(), 0o600)?;
    let p256_pem = pades_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode {
            algorithm: "P-256",
            message: e.to_string(),
        })?;
    write_file(&dir.join(P256_FILE), p256_pem.as_bytes(), 0o600)?;
    let certificate_pem = certificate
        .to_pem(LineEnding::LF)
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    write_file(
        &dir.join(CERTIFICATE_FILE),
        certificate_pem.as_bytes(),
        0o644,
    )?;
    let signer_json =
        serde_json::to_vec_pretty(signer).map_err(|e| KeyError::Subject(e.to_string()))?;
    write_file(&dir.join(SIGNER_FILE), &signer_json, 0o644)
}

/// Writes a new file with `mode` (it must not exist yet).
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_error("creating", path))?;
    file.write_all(bytes).map_err(io_error("writing", path))?;
    file.sync_all().map_err(io_error("writing", path))
}

/// Points `current` at `kid` (written aside, then renamed over the old one).
fn write_current(dir: &Path, kid: &KeyId) -> Result<()> {
    let temporary = dir.join(format!(".{CURRENT_FILE}.{kid}"));
    write_file(&temporary, format!("{kid}\n").as_bytes(), 0o644)?;
    let current = dir.join(CURRENT_FILE);
    fs::rename(&temporary, &current).map_err(io_error("writing", &current))
}

/// One attribute of a name as a relative distinguished name.
fn name_part(oid: ObjectIdentifier, tag: Tag, value: &str) -> Result<RelativeDistinguishedName> {
    let value = Any::new(tag, value.as_bytes()).map_err(|e| KeyError::Subject(e.to_string()))?;
    let mut set = SetOfVec::new();
    set.insert(AttributeTypeAndValue { oid, value })
        .map_err(|e| KeyError::Subject(e.to_string()))?;
    Ok(RelativeDistinguishedName(set))
}

/// Whether `text` fits an X.520 PrintableString.
fn printable(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
}

/// The certificate subject: C=ID, O, OU, title, serialNumber=NIP, CN=name.
fn subject(signer: &SignerIdentity) -> Result<Name> {
    if signer.name.trim().is_empty() || signer.nip.trim().is_empty() {
        return Err(KeyError::Subject(
            "the signatory's name and NIP are required".into(),
        ));
    }
    let serial_tag = if printable(&signer.nip) {
        Tag::PrintableString
    } else {
        Tag::Utf8String
    };
    let mut parts = vec![
        name_part(OID_COUNTRY, Tag::PrintableString, "ID")?,
        name_part(OID_ORGANIZATION, Tag::Utf8String, ORGANIZATION)?,
        name_part(
            OID_ORGANIZATIONAL_UNIT,
            Tag::Utf8String,
            ORGANIZATIONAL_UNIT,
        )?,
    ];
    if !signer.position.trim().is_empty() {
        parts.push(name_part(
            OID_TITLE,
            Tag::Utf8String,
            signer.position.trim(),
        )?);
    }
    parts.push(name_part(OID_SERIAL_NUMBER, serial_tag, signer.nip.trim())?);
    parts.push(name_part(
        OID_COMMON_NAME,
        Tag::Utf8String,
        signer.name.trim(),
    )?);
    Ok(RdnSequence(parts))
}

/// A random positive 16-byte serial number.
fn random_serial() -> Result<SerialNumber> {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7F) | 0x40;
    SerialNumber::new(&bytes).map_err(|e| KeyError::Certificate(e.to_string()))
}

/// A self-signed certificate of `key` for `signer`, valid five years from now, key usage
/// digitalSignature and nonRepudiation.
fn self_signed_certificate(
    key: &p256::ecdsa::SigningKey,
    signer: &SignerIdentity,
) -> Result<Certificate> {
    let certificate_error = |e: &dyn std::fmt::Display| KeyError::Certificate(e.to_string());
    let subject = subject(signer)?;
    let public_key = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
        .map_err(|e| certificate_error(&e))?;
    let profile = Profile::Leaf {
        issuer: subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    let validity = Validity::from_now(CERTIFICATE_LIFETIME).map_err(|e| certificate_error(&e))?;
    let builder = CertificateBuilder::new(
        profile,
        random_serial()?,
        validity,
        subject,
        public_key,
        key,
    )
    .map_err(|e| certificate_error(&e))?;
    builder
        .build::<p256::ecdsa::DerSignature>()
        .map_err(|e| certificate_error(&e))
}

#[cfg(test)]
mod tests;
