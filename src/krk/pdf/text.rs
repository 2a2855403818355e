//! Text for the PDF base-14 fonts Helvetica and Helvetica-Bold under `/WinAnsiEncoding`:
//! encoding a string to Windows-1252 bytes, measuring it with the fonts' advance widths, and
//! wrapping it to a width.
//!
//! Hand-written: no crate we use encodes to WinAnsi or knows the base-14 metrics without
//! embedding a font. The widths are the public facts of Adobe's Helvetica AFM files.

/// One of the two fonts of the certificate (both base-14: nothing is embedded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

impl Font {
    /// The name of the font in the page resources.
    pub fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    /// The PostScript name of the base-14 font.
    pub fn base_font(self) -> &'static str {
        match self {
            Font::Regular => "Helvetica",
            Font::Bold => "Helvetica-Bold",
        }
    }

    /// Advance widths (1/1000 em) of WinAnsi codes 32..=126.
    fn ascii_widths(self) -> &'static [u16; 95] {
        match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        }
    }

    /// Width in points of `text` set at `size` points.
    pub fn width(self, text: &str, size: f32) -> f32 {
        let units: u32 = encode(text)
            .iter()
            .map(|&b| u32::from(self.code_width(b)))
            .sum();
        units as f32 * size / 1000.0
    }

    /// Advance width (1/1000 em) of one WinAnsi code.
    fn code_width(self, code: u8) -> u16 {
        match code {
            32..=126 => self.ascii_widths()[usize::from(code - 32)],
            0x95 => 350,               // bullet
            0x96 => 556,               // en dash
            0xB2 | 0xB3 | 0xB9 => 333, // superscripts
            0x97 => 1000,              // em dash
            0x91 | 0x92 => 222,        // single quotes
            0x93 | 0x94 => 333,        // double quotes
            0xB0 => 400,               // degree
            0xA0 => 278,               // no-break space
            _ => 667,                  // accented letters and the rest: at most a capital's width
        }
    }
}

/// Helvetica, codes 32..=126 (WinAnsi: 39 is quotesingle, 96 is grave).
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];

/// Helvetica-Bold, codes 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0..?
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // P.._
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // `..o
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // p..~
];

/// The WinAnsi (Windows-1252) byte of one character: ASCII and Latin-1 as themselves, a few
/// typographic marks at their cp1252 codes, anything else (and control characters) as `?`.
pub fn winansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{A0}'..='\u{FF}' => c as u8,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        _ => b'?',
    }
}

/// `text` as WinAnsi bytes (one byte per character).
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(winansi).collect()
}

/// Breaks `text` into lines no wider than `width` points in `font` at `size`: greedily by
/// words, cutting a word that alone is too wide. An empty text gives one empty line.
pub fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if font.width(&candidate, size) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        line = cut_long_word(word, font, size, width, &mut lines);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Pushes full-width pieces of a word wider than `width` to `lines`; returns the rest.
fn cut_long_word(word: &str, font: Font, size: f32, width: f32, lines: &mut Vec<String>) -> String {
    let mut piece = String::new();
    for c in word.chars() {
        piece.push(c);
        if font.width(&piece, size) > width && piece.chars().count() > 1 {
            piece.pop();
            lines.push(std::mem::take(&mut piece));
            piece.push(c);
        }
    }
    piece
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krk_text_encodes_to_winansi() {
        assert_eq!(
            encode("Luas 1.250 m² – 5°"),
            b"Luas 1.250 m\xB2 \x96 5\xB0".to_vec()
        );
        assert_eq!(encode("“é” • ’ 中"), b"\x93\xE9\x94 \x95 \x92 ?".to_vec());
    }

    #[test]
    fn krk_text_measures_with_afm_widths() {
        // "Hello": H 722 + e 556 + l 222 + l 222 + o 556 = 2278 units.
        assert!((Font::Regular.width("Hello", 10.0) - 22.78).abs() < 1e-4);
        // Bold: H 722 + e 556 + l 278 + l 278 + o 611 = 2445 units.
        assert!((Font::Bold.width("Hello", 10.0) - 24.45).abs() < 1e-4);
    }

    #[test]
    fn krk_text_wraps_within_width() {
        let text = "Keterangan Rencana Kota ini bukan merupakan izin dan tidak dapat digunakan sebagai izin";
        let lines = wrap(text, Font::Regular, 9.0, 120.0);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| Font::Regular.width(l, 9.0) <= 120.0));
        assert_eq!(lines.join(" "), text);
        let long = wrap(
            "https://example.org/v/0001?s=abcdefghijklmnopqrstuvwxyz",
            Font::Regular,
            9.0,
            60.0,
        );
        assert!(long.iter().all(|l| Font::Regular.width(l, 9.0) <= 60.0));
        assert_eq!(wrap("", Font::Regular, 9.0, 60.0), vec![String::new()]);
    }
}
