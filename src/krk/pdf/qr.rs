//! The verification QR code, drawn as vector squares from the `qrcode` crate's module matrix
//! (error correction level M, a quiet zone of four modules). The drawing (runs of dark modules
//! as rectangles) is hand-written: the crate renders to images and SVG, not to PDF operators.

use qrcode::{Color, EcLevel, QrCode};

use super::PdfError;
use super::canvas::{Canvas, Rect};

/// Modules of white border on every side, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// The dark and light modules of a QR code, row by row from the top.
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` (as bytes) at error correction level M.
    pub fn encode(text: &str) -> Result<Self, PdfError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| PdfError::QrCode(e.to_string()))?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Self {
            width: code.width(),
            dark,
        })
    }

    /// Side of the whole symbol, quiet zone included, with modules `module` points wide.
    pub fn side(&self, module: f32) -> f32 {
        (self.width + 2 * QUIET_ZONE) as f32 * module
    }

    /// Draws the symbol (quiet zone included) with its top-left corner at `left`, `top`, in the
    /// current fill colour. Each row's runs of dark modules become one rectangle.
    pub fn draw(&self, canvas: &mut Canvas, left: f32, top: f32, module: f32) {
        for (row, modules) in self.dark.chunks(self.width).enumerate() {
            let y = top - (row + QUIET_ZONE + 1) as f32 * module;
            for run in dark_runs(modules) {
                canvas.rect(Rect {
                    x: left + (run.start + QUIET_ZONE) as f32 * module,
                    y,
                    width: run.len() as f32 * module,
                    height: module,
                });
            }
        }
        canvas.fill();
    }
}

/// The column ranges of consecutive dark modules in one row.
fn dark_runs(row: &[bool]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (column, &dark) in row.iter().chain(std::iter::once(&false)).enumerate() {
        match (dark, start) {
            (true, None) => start = Some(column),
            (false, Some(first)) => {
                runs.push(first..column);
                start = None;
            }
            _ => {}
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krk_qr_rows_become_runs() {
        assert_eq!(dark_runs(&[true, true, false, true]), vec![0..2, 3..4]);
        assert!(dark_runs(&[false, false]).is_empty());
        let qr = QrMatrix::encode("https://example.org/v/1").unwrap();
        assert_eq!(qr.side(2.0), (qr.width + 8) as f32 * 2.0);
    }
}
