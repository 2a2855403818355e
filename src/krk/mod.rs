//! City-plan certificates (Keterangan Rencana Kota, KRK): applications with a draft computed from
//! the plan in force ([`draft`]), issuing by DPPR staff with a gap-free number, the content signed
//! as canonical JSON with Ed25519 and the PDF with an embedded PAdES signature ([`issue`], [`keys`],
//! [`pdf`], [`pades`]), and verification by anyone: valid, revoked, or superseded when a newer plan
//! version changes what applies to the parcel ([`verify`]).

pub mod applications;
pub mod draft;
pub mod issue;
pub mod keys;
pub mod layout;
pub mod map;
pub mod pades;
pub mod pdf;
pub mod verify;

pub use applications::{Applicant, Application, NewApplication, Submitted};
pub use draft::Draft;
pub use issue::{Issued, Issuer};
pub use verify::{Status, Verification};

/// Why a certificate operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KrkError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The parcel could not be measured.
    #[error(transparent)]
    Zoning(#[from] crate::zoning::ZoningError),
    /// The request is not a valid application (the message names the field).
    #[error("{0}")]
    Input(String),
    /// No such application, or the key does not open it.
    #[error("there is no application {0}")]
    UnknownApplication(String),
    /// No certificate has this number.
    #[error("there is no certificate numbered {0}")]
    UnknownCertificate(String),
    /// The application has no certificate.
    #[error("application {0} has no certificate: it is not issued")]
    NotIssued(String),
    /// The request conflicts with the application's or certificate's state.
    #[error("{0}")]
    Conflict(String),
    /// The audit log could not be written.
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountError),
    /// The signing keys are missing or unusable.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// The PDF could not be made.
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
    /// No CPU slot came free to draw and sign the PDF.
    #[error(transparent)]
    Cpu(#[from] crate::cpu::CpuError),
    /// The PDF could not be signed.
    #[error(transparent)]
    Pades(#[from] pades::PadesError),
}

impl From<crate::zoning::ParcelError> for KrkError {
    fn from(e: crate::zoning::ParcelError) -> Self {
        KrkError::Zoning(e.into())
    }
}

/// The certificates' result.
pub type Result<T> = std::result::Result<T, KrkError>;
