//! KRK (Keterangan Rencana Kota) certificates: signing keys, the PDF and its PAdES signature.

pub mod keys;
pub mod pades;
pub mod pdf;
