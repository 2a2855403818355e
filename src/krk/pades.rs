//! The PAdES baseline B-B signature of a certificate PDF (ETSI EN 319 142-1): a signature field
//! on the last page whose `/Sig` dictionary holds a detached CMS SignedData (ETSI.CAdES.detached)
//! over the whole file but the signature itself, signed with ECDSA P-256 / SHA-256.
//!
//! The RustCrypto `cms` builder makes the SignedData. Hand-written, because no crate we use
//! does it: the ESS signing-certificate-v2 attribute (RFC 5035), and the two-pass PDF work of
//! saving with placeholders, filling `/ByteRange`, hashing the ranges and writing the CMS hex
//! into `/Contents`.

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat, dictionary};
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, ObjectIdentifier};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use super::pdf::text_string;

/// Bytes reserved for the DER CMS in `/Contents` (written as hex, so twice as many characters).
/// A P-256 SignedData with one certificate is about 1.2 KB.
pub const RESERVED: usize = 8192;

/// The `/ByteRange` values written before the real ones are known: ten digits each, so the real
/// offsets (of any file under 10 GB) fit in their place.
const BYTE_RANGE_PLACEHOLDER: i64 = 9_999_999_999;

/// Bytes at the start of the `/Contents` placeholder that make it unique in the file: random,
/// but with every nibble a decimal digit, so their hex form is the same in either letter case.
const MARKER_LEN: usize = 16;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// Errors while signing a PDF.
#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    /// The certificate is not DER X.509.
    #[error("the PAdES certificate is not a DER X.509 certificate")]
    Certificate(#[source] der::Error),
    /// The certificate certifies another key.
    #[error("the PAdES certificate's public key is not the signing key's")]
    KeyMismatch,
    /// The document has no page to put the signature field on.
    #[error("the document has no page to carry the signature field")]
    NoPage,
    /// The document's structure is not what a signature field needs.
    #[error("adding the signature field: {0}")]
    Structure(#[source] lopdf::Error),
    /// lopdf could not save the document.
    #[error("saving the document before signing")]
    Save(#[source] std::io::Error),
    /// A placeholder was not found exactly once where it belongs.
    #[error(
        "the {0} placeholder was not found exactly once in the signature dictionary of the saved document"
    )]
    Placeholder(&'static str),
    /// Encoding part of the CMS structure failed.
    #[error("encoding the CMS signature ({step})")]
    Der {
        step: &'static str,
        #[source]
        source: der::Error,
    },
    /// The CMS builder failed.
    #[error("building the CMS signature ({step}): {message}")]
    Cms { step: &'static str, message: String },
    /// The CMS does not fit the space reserved for it.
    #[error("the CMS signature ({size} bytes) is larger than the {reserved} bytes reserved for it")]
    TooLarge { size: usize, reserved: usize },
}

/// Result of this module.
pub type Result<T, E = PadesError> = std::result::Result<T, E>;

/// The key and certificate that sign certificate PDFs.
pub struct PadesSigner {
    key: SigningKey,
    certificate: Certificate,
    certificate_der: Vec<u8>,
}

impl PadesSigner {
    /// A signer from a P-256 key and the DER X.509 certificate of its public key.
    pub fn new(key: SigningKey, certificate_der: Vec<u8>) -> Result<Self> {
        let certificate =
            Certificate::from_der(&certificate_der).map_err(PadesError::Certificate)?;
        let certified = certificate.tbs_certificate.subject_public_key_info.to_der();
        let own = key
            .verifying_key()
            .to_public_key_der()
            .map(|doc| doc.as_bytes().to_vec());
        match (certified, own) {
            (Ok(certified), Ok(own)) if certified == own => Ok(Self {
                key,
                certificate,
                certificate_der,
            }),
            _ => Err(PadesError::KeyMismatch),
        }
    }

    /// The signer's certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }
}

/// What signs a certificate's PDF. The server's own key ([`PadesSigner`]) is one; a certified
/// signature through the national signing service (BSrE) would be another, behind this same
/// interface: issuing only hands over the document and what to say about the signing.
pub trait DocumentSigner: Send + Sync {
    /// The signed file.
    fn sign_document(&self, document: Document, info: &SignatureInfo) -> Result<Vec<u8>>;
}

impl DocumentSigner for PadesSigner {
    fn sign_document(&self, document: Document, info: &SignatureInfo) -> Result<Vec<u8>> {
        sign(document, self, info)
    }
}

/// What the signature dictionary says about the signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInfo {
    /// The signer's name (`/Name`).
    pub name: String,
    /// Why it is signed (`/Reason`).
    pub reason: String,
    /// Where (`/Location`).
    pub location: String,
    /// When (`/M`; PAdES puts the claimed signing time here, not in the CMS).
    pub signing_time: chrono::DateTime<chrono::Utc>,
}

/// Signs `document`: adds an invisible signature field on its last page, saves it, and embeds
/// a detached CMS signature over the saved bytes. Returns the signed file.
pub fn sign(mut document: Document, signer: &PadesSigner, info: &SignatureInfo) -> Result<Vec<u8>> {
    let marker = marker();
    add_signature_field(&mut document, info, &marker)?;
    let mut pdf = Vec::new();
    document.save_to(&mut pdf).map_err(PadesError::Save)?;
    let placeholders = Placeholders::find(&pdf, &marker)?;
    placeholders.fill_byte_range(&mut pdf);
    let digest = placeholders.digest(&pdf);
    let cms = signed_data(signer, &digest)?;
    placeholders.fill_contents(&mut pdf, &cms)?;
    Ok(pdf)
}

/// A fresh random marker whose hex digits are all decimal.
fn marker() -> [u8; MARKER_LEN] {
    rand::random::<[u8; MARKER_LEN]>().map(|b| (((b >> 4) % 10) << 4) | ((b & 0x0F) % 10))
}

/// `bytes` as uppercase hex.
fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// A PDF date (`D:YYYYMMDDHHmmSS+00'00'`) in UTC.
fn pdf_date(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("D:%Y%m%d%H%M%S+00'00'").to_string()
}

/// The `/Sig` dictionary with its placeholders.
fn signature_dictionary(info: &SignatureInfo, marker: &[u8; MARKER_LEN]) -> Dictionary {
    let mut contents = vec![0u8; RESERVED];
    contents[..MARKER_LEN].copy_from_slice(marker);
    let byte_range = [
        0,
        BYTE_RANGE_PLACEHOLDER,
        BYTE_RANGE_PLACEHOLDER,
        BYTE_RANGE_PLACEHOLDER,
    ];
    dictionary! {
        "Type" => "Sig",
        "Filter" => "Adobe.PPKLite",
        "SubFilter" => "ETSI.CAdES.detached",
        "ByteRange" => byte_range.map(Object::Integer).to_vec(),
        "Contents" => Object::String(contents, StringFormat::Hexadecimal),
        "M" => Object::string_literal(pdf_date(info.signing_time)),
        "Name" => text_string(&info.name),
        "Reason" => text_string(&info.reason),
        "Location" => text_string(&info.location),
    }
}

/// Adds the signature dictionary, an invisible widget on the last page, and the AcroForm
/// (SigFlags 3: signatures exist, append only).
fn add_signature_field(
    doc: &mut Document,
    info: &SignatureInfo,
    marker: &[u8; MARKER_LEN],
) -> Result<()> {
    let page_id = *doc.get_pages().values().last().ok_or(PadesError::NoPage)?;
    let sig_id = doc.add_object(signature_dictionary(info, marker));
    let widget_id = doc.add_object(dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => Object::string_literal("Tanda tangan KRK"),
        "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
        "F" => 132, // print + locked
        "P" => page_id,
        "V" => sig_id,
    });
    append_annotation(doc, page_id, widget_id)?;
    add_to_acro_form(doc, widget_id)
}

/// Appends `widget_id` to the page's `/Annots` (a direct array, made if missing).
fn append_annotation(doc: &mut Document, page_id: ObjectId, widget_id: ObjectId) -> Result<()> {
    let page = doc
        .get_dictionary_mut(page_id)
        .map_err(PadesError::Structure)?;
    match page.get_mut(b"Annots") {
        Ok(Object::Array(annotations)) => annotations.push(widget_id.into()),
        _ => page.set("Annots", vec![widget_id.into()]),
    }
    Ok(())
}

/// Puts the field in the catalog's `/AcroForm` (a direct dictionary, made if missing).
fn add_to_acro_form(doc: &mut Document, widget_id: ObjectId) -> Result<()> {
    let catalog = doc.catalog_mut().map_err(PadesError::Structure)?;
    let mut form = match catalog.get(b"AcroForm") {
        Ok(Object::Dictionary(form)) => form.clone(),
        _ => Dictionary::new(),
    };
    match form.get_mut(b"Fields") {
        Ok(Object::Array(fields)) => fields.push(widget_id.into()),
        _ => form.set("Fields", vec![widget_id.into()]),
    }
    form.set("SigFlags", 3);
    catalog.set("AcroForm", form);
    Ok(())
}

/// Where the placeholders are in the saved file.
struct Placeholders {
    /// Offset of the `[` of the `/ByteRange` array.
    byte_range: usize,
    /// Length of the array's text, brackets included.
    byte_range_len: usize,
    /// Offset of the `<` of the `/Contents` hex string.
    contents_start: usize,
    /// Offset just past its `>`.
    contents_end: usize,
}

/// Offsets of every occurrence of `needle` in `haystack`.
fn occurrences(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// The one offset of `needle` in `haystack`, if it occurs exactly once.
fn only_occurrence(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match occurrences(haystack, needle).as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

impl Placeholders {
    /// Finds the `/Contents` placeholder by its marker and the `/ByteRange` placeholder, each
    /// exactly once, both inside the same indirect object.
    fn find(pdf: &[u8], marker: &[u8; MARKER_LEN]) -> Result<Self> {
        let head = format!("<{}", hex_upper(marker));
        let contents_start =
            only_occurrence(pdf, head.as_bytes()).ok_or(PadesError::Placeholder("/Contents"))?;
        let contents_end = contents_start + 2 * RESERVED + 2;
        let zeros_end = contents_end - 1;
        let padding = pdf
            .get(contents_start + head.len()..zeros_end)
            .ok_or(PadesError::Placeholder("/Contents"))?;
        if padding.iter().any(|&b| b != b'0') || pdf[zeros_end] != b'>' {
            return Err(PadesError::Placeholder("/Contents"));
        }
        let range = format!("[0 {0} {0} {0}]", BYTE_RANGE_PLACEHOLDER);
        let byte_range =
            only_occurrence(pdf, range.as_bytes()).ok_or(PadesError::Placeholder("/ByteRange"))?;
        if !same_object(pdf, byte_range, contents_start) {
            return Err(PadesError::Placeholder("/ByteRange"));
        }
        Ok(Self {
            byte_range,
            byte_range_len: range.len(),
            contents_start,
            contents_end,
        })
    }

    /// The two signed ranges as `/ByteRange` numbers: start, length, start, length.
    fn ranges(&self, file_len: usize) -> [usize; 4] {
        [
            0,
            self.contents_start,
            self.contents_end,
            file_len - self.contents_end,
        ]
    }

    /// Writes the real ranges over the placeholder, padded with spaces to the same length.
    fn fill_byte_range(&self, pdf: &mut [u8]) {
        let [a, b, c, d] = self.ranges(pdf.len());
        let numbers = format!("{a} {b} {c} {d}");
        let text = format!("[{numbers:<width$}]", width = self.byte_range_len - 2);
        pdf[self.byte_range..self.byte_range + self.byte_range_len]
            .copy_from_slice(text.as_bytes());
    }

    /// SHA-256 of the two signed ranges.
    fn digest(&self, pdf: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(&pdf[..self.contents_start]);
        hasher.update(&pdf[self.contents_end..]);
        hasher.finalize().into()
    }

    /// Writes the CMS as hex into the `/Contents` string, zero padded.
    fn fill_contents(&self, pdf: &mut [u8], cms: &[u8]) -> Result<()> {
        if cms.len() > RESERVED {
            return Err(PadesError::TooLarge {
                size: cms.len(),
                reserved: RESERVED,
            });
        }
        let hex = format!("{:0<width$}", hex_upper(cms), width = 2 * RESERVED);
        pdf[self.contents_start + 1..self.contents_end - 1].copy_from_slice(hex.as_bytes());
        Ok(())
    }
}

/// Whether offsets `a` and `b` lie in the same indirect object (no `obj`/`endobj` between).
fn same_object(pdf: &[u8], a: usize, b: usize) -> bool {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    let between = &pdf[low..high];
    occurrences(between, b"endobj").is_empty() && occurrences(between, b" obj").is_empty()
}

// ---- ESS signing-certificate-v2 (RFC 5035): not in the cms crate; hand-written with der ----

/// `IssuerSerial`: the certificate's issuer and serial number.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `ESSCertIDv2` with the default hash algorithm (SHA-256, so omitted in DER).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificateV2` without policies.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn der_error(step: &'static str) -> impl FnOnce(der::Error) -> PadesError {
    move |source| PadesError::Der { step, source }
}

fn cms_error<E: std::fmt::Display>(step: &'static str) -> impl FnOnce(E) -> PadesError {
    move |e| PadesError::Cms {
        step,
        message: e.to_string(),
    }
}

/// The signing-certificate-v2 signed attribute, binding the signature to the certificate.
fn signing_certificate_attribute(signer: &PadesSigner) -> Result<Attribute> {
    let certificate = &signer.certificate.tbs_certificate;
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(&signer.certificate_der).to_vec())
                .map_err(der_error("certificate hash"))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(certificate.issuer.clone())],
                serial_number: certificate.serial_number.clone(),
            }),
        }],
    };
    let encoded = value
        .to_der()
        .map_err(der_error("signing-certificate-v2"))?;
    let mut values = SetOfVec::new();
    values
        .insert(Any::from_der(&encoded).map_err(der_error("signing-certificate-v2"))?)
        .map_err(der_error("attribute values"))?;
    Ok(Attribute {
        oid: ID_AA_SIGNING_CERTIFICATE_V2,
        values,
    })
}

/// The detached CMS SignedData over `digest`: content-type, message-digest and
/// signing-certificate-v2 signed attributes, the certificate included, ECDSA with SHA-256.
fn signed_data(signer: &PadesSigner, digest: &[u8; 32]) -> Result<Vec<u8>> {
    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    };
    let content = EncapsulatedContentInfo {
        econtent_type: ID_DATA,
        econtent: None,
    };
    let certificate = &signer.certificate.tbs_certificate;
    let identifier = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: certificate.issuer.clone(),
        serial_number: certificate.serial_number.clone(),
    });
    // Given an external digest, the builder adds content-type and message-digest itself.
    let mut signer_info = SignerInfoBuilder::new(
        &signer.key,
        identifier,
        sha256.clone(),
        &content,
        Some(digest),
    )
    .map_err(cms_error("signer info"))?;
    signer_info
        .add_signed_attribute(signing_certificate_attribute(signer)?)
        .map_err(cms_error("signed attribute"))?;
    let mut builder = SignedDataBuilder::new(&content);
    builder
        .add_digest_algorithm(sha256)
        .map_err(cms_error("digest algorithm"))?;
    builder
        .add_certificate(CertificateChoices::Certificate(signer.certificate.clone()))
        .map_err(cms_error("certificate"))?;
    builder
        .add_signer_info::<SigningKey, DerSignature>(signer_info)
        .map_err(cms_error("signature"))?;
    let info = builder.build().map_err(cms_error("signed data"))?;
    info.to_der().map_err(der_error("content info"))
}

#[cfg(test)]
mod tests;
