//! The KRK certificate as an A4 PDF, drawn with lopdf: letterhead, title and number, legal
//! basis, applicant, parcel map, spatial rules, overlays, notes, and the signature block with
//! the verification QR code. Text uses the base-14 fonts Helvetica and Helvetica-Bold under
//! `/WinAnsiEncoding`, so nothing is embedded and `pdftotext` reads it back.
//!
//! The input is pure data: the caller formats every string. Sections flow down the page and
//! onto a second page when they do not fit; the signature block always ends the last page.

mod canvas;
mod map;
mod qr;
mod text;

use lopdf::{Document, Object, ObjectId, Stream, StringFormat, dictionary};
use serde::{Deserialize, Serialize};

use canvas::{Align, Canvas, Point, Rect, Style};
use qr::QrMatrix;
use text::Font;

/// Errors while drawing the certificate.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The map frame has no area (or is not finite).
    #[error("the map frame has no area: min must be below max in x and y")]
    EmptyFrame,
    /// The QR text does not fit a QR code.
    #[error("the verification text cannot be encoded as a QR code: {0}")]
    QrCode(String),
    /// lopdf could not encode a page.
    #[error("encoding the content of page {page}")]
    Content {
        page: usize,
        #[source]
        source: lopdf::Error,
    },
}

/// Result of this module.
pub type Result<T, E = PdfError> = std::result::Result<T, E>;

/// Everything printed on a KRK certificate, already formatted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificatePdf {
    /// Certificate number, e.g. "0001/KRK/DPPR/XI/2026".
    pub number: String,
    /// Title, e.g. "KETERANGAN RENCANA KOTA".
    pub title: String,
    /// Government, agency, and the agency's address line.
    pub letterhead: [String; 3],
    /// Legal basis, one regulation a line (numbered when printed).
    pub legal_basis: Vec<String>,
    /// Applicant and parcel data: name, address, land title, function, KBLI, area, location.
    pub applicant: Vec<Row>,
    /// The parcel map.
    pub map: MapView,
    /// One row per sub-zone the parcel crosses.
    pub parts: Vec<PartRow>,
    /// Spatial rules: KDB, KLB, KDH, KTB, height, floors, GSB, setbacks, activity class...
    pub rules: Vec<Row>,
    /// Overlay conditions (flood zone, airport safety area...), one a line.
    pub overlays: Vec<String>,
    /// Standard notes (numbered and wrapped when printed).
    pub notes: Vec<String>,
    /// Place and date of issue, e.g. "Balikpapan, 26 November 2026".
    pub place_and_date: String,
    /// Who signs.
    pub signatory: Signatory,
    /// The text of the verification QR code (a URL carrying the signature).
    pub qr_text: String,
    /// The line at the foot of every page, e.g. "Verifikasi: <url> · kunci <kid>".
    pub footer: String,
}

/// A label and its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub value: String,
}

/// The part of the parcel inside one sub-zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRow {
    /// Sub-zone code, e.g. "R-3".
    pub code: String,
    /// Sub-zone name.
    pub name: String,
    /// Area of the part, formatted ("812 m²").
    pub area: String,
    /// Share of the parcel, formatted ("65%").
    pub share: String,
    /// Class of the applied activity in this sub-zone (I, T, B, X with its meaning).
    pub class: String,
}

/// The official who signs, as printed in the signature block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatory {
    /// "a.n. Kepala Dinas ..." (on behalf of).
    pub on_behalf: String,
    /// The signatory's position.
    pub position: String,
    /// Full name with titles.
    pub name: String,
    /// Civil-servant number (NIP).
    pub nip: String,
}

/// A ring of points in metres (projected CRS), closed or not.
pub type Ring = Vec<(f64, f64)>;
/// A polygon: its outer ring, then its holes.
pub type Polygon = Vec<Ring>;

/// The parcel map: what is drawn inside a frame given in metres of a projected CRS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapView {
    /// The extent shown, in metres; north is up.
    pub frame: Frame,
    /// Sub-zones, drawn in order.
    pub zones: Vec<MapZone>,
    /// The parcel, outlined on top.
    pub parcel: Vec<Polygon>,
    /// The frame's corners as formatted longitude/latitude.
    pub corners: Corners,
    /// The CRS, e.g. "UTM zona 50S (EPSG:32750)".
    pub crs_note: String,
}

/// An extent in metres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
}

/// One sub-zone on the map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapZone {
    pub code: String,
    /// The sub-zone's name (empty when unknown).
    pub name: String,
    pub color: [u8; 3],
    pub polygons: Vec<Polygon>,
}

/// The formatted coordinates of the map frame's corners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corners {
    pub top_left: String,
    pub top_right: String,
    pub bottom_left: String,
    pub bottom_right: String,
}

/// A4 portrait, in points.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_LEFT: f32 = 50.0;
const MARGIN_RIGHT: f32 = 45.0;
const MARGIN_TOP: f32 = 40.0;
/// Content stops here; the footer sits below.
const CONTENT_BOTTOM: f32 = 56.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
const RIGHT_EDGE: f32 = PAGE_WIDTH - MARGIN_RIGHT;

const BODY: Style = Style {
    font: Font::Regular,
    size: 9.5,
};
const BODY_BOLD: Style = Style {
    font: Font::Bold,
    size: 9.5,
};
const BODY_LEADING: f32 = 12.0;
const SMALL: Style = Style {
    font: Font::Regular,
    size: 8.5,
};
const SMALL_LEADING: f32 = 10.6;
const TABLE_HEAD: Style = Style {
    font: Font::Bold,
    size: 8.5,
};
const HEADING: Style = Style {
    font: Font::Bold,
    size: 10.0,
};
const FOOTER: Style = Style {
    font: Font::Regular,
    size: 7.0,
};
/// Indent of a section's body under its heading.
const INDENT: f32 = 16.0;
/// Width of the label column of label/value rows.
const LABEL_WIDTH: f32 = 190.0;
/// Side of one QR module: exactly 4 pixels at 150 dpi (8 at 300), so modules fall on the
/// pixel grid of common rasterisations and zbarimg decodes them.
const QR_MODULE: f32 = 1.92;
/// The QR code's corner is snapped to this grid (2 pixels at 150 dpi), measured from the page's
/// top-left corner as rasterisers measure.
const QR_GRID: f32 = 0.96;
/// Width of the signature block, at the right margin.
const SIGNATURE_WIDTH: f32 = 240.0;

const INK: [u8; 3] = [0, 0, 0];
const RULE_GREY: [u8; 3] = [120, 120, 120];
const HEAD_FILL: [u8; 3] = [228, 228, 228];

/// The first character of `text` the certificate's fonts cannot print (they print Latin-1 and a
/// few typographic marks: what Indonesian names and addresses use), if any.
pub fn unprintable(text: &str) -> Option<char> {
    text.chars().find(|&c| c != '?' && text::winansi(c) == b'?')
}

/// Renders the certificate as an unsigned PDF document.
pub fn render(cert: &CertificatePdf) -> Result<Document> {
    let qr = QrMatrix::encode(&cert.qr_text)?;
    let mut flow = Flow::new();
    letterhead(&mut flow, &cert.letterhead);
    title(&mut flow, cert);
    heading(&mut flow, "A.", "Dasar Hukum");
    numbered(&mut flow, &cert.legal_basis, BODY, BODY_LEADING);
    heading(&mut flow, "B.", "Data Pemohon");
    rows(&mut flow, &cert.applicant);
    heading_with_room(&mut flow, "C.", "Peta Persil", 200.0);
    map_block(&mut flow, cert)?;
    let rules_height = table_height(&cert.parts) + rows_height(&cert.rules);
    heading_with_room(&mut flow, "D.", "Ketentuan Tata Ruang", rules_height);
    parts_table(&mut flow, &cert.parts);
    rows(&mut flow, &cert.rules);
    heading(&mut flow, "E.", "Ketentuan Tambahan (overlay)");
    overlays(&mut flow, &cert.overlays);
    heading(&mut flow, "F.", "Catatan");
    numbered(&mut flow, &cert.notes, SMALL, SMALL_LEADING);
    signature(&mut flow, cert, &qr);
    let pages = flow.finish(&cert.footer);
    assemble(pages, cert)
}

/// Pages being filled from the top: the last one is current, `y` is where the next item's
/// top goes.
struct Flow {
    pages: Vec<Canvas>,
    y: f32,
}

impl Flow {
    fn new() -> Self {
        Self {
            pages: vec![Canvas::default()],
            y: PAGE_HEIGHT - MARGIN_TOP,
        }
    }

    /// The current page.
    fn canvas(&mut self) -> &mut Canvas {
        self.pages.last_mut().expect("a flow always has a page")
    }

    /// Starts a new page unless `height` fits on this one (or this one is still empty).
    fn room(&mut self, height: f32) {
        let empty = self.y >= PAGE_HEIGHT - MARGIN_TOP;
        if self.y - height < CONTENT_BOTTOM && !empty {
            self.pages.push(Canvas::default());
            self.y = PAGE_HEIGHT - MARGIN_TOP;
        }
    }

    /// Draws `line` in `style` on a line `leading` tall at the current position, then moves
    /// down a line.
    fn line(&mut self, style: Style, x: f32, align: Align, leading: f32, line: &str) {
        let baseline = self.y - style.size;
        self.canvas().text(style, x, baseline, align, line);
        self.y -= leading;
    }

    /// Draws the footer and page number on every page; returns the pages.
    fn finish(mut self, footer: &str) -> Vec<Canvas> {
        let count = self.pages.len();
        for (index, canvas) in self.pages.iter_mut().enumerate() {
            page_footer(canvas, footer, index + 1, count);
        }
        self.pages
    }
}

/// The footer rule, the footer text and "Halaman i dari n".
fn page_footer(canvas: &mut Canvas, footer: &str, page: usize, count: usize) {
    let number = format!("Halaman {page} dari {count}");
    canvas.stroke_color(RULE_GREY);
    canvas.line_width(0.4);
    let rule_y = CONTENT_BOTTOM - 14.0;
    canvas.line(
        Point {
            x: MARGIN_LEFT,
            y: rule_y,
        },
        Point {
            x: RIGHT_EDGE,
            y: rule_y,
        },
    );
    canvas.fill_color(INK);
    let width = CONTENT_WIDTH - FOOTER.width(&number) - 12.0;
    let mut baseline = rule_y - 9.0;
    for line in FOOTER.wrap(footer, width) {
        canvas.text(FOOTER, MARGIN_LEFT, baseline, Align::Left, &line);
        baseline -= 8.5;
    }
    canvas.text(FOOTER, RIGHT_EDGE, rule_y - 9.0, Align::Right, &number);
}

/// The letterhead: government, agency and address centred, a thick and a thin rule below.
fn letterhead(flow: &mut Flow, lines: &[String; 3]) {
    let center = MARGIN_LEFT + CONTENT_WIDTH / 2.0;
    let [government, agency, address] = lines;
    flow.line(
        Style {
            font: Font::Bold,
            size: 13.0,
        },
        center,
        Align::Center,
        17.0,
        government,
    );
    flow.line(
        Style {
            font: Font::Bold,
            size: 15.0,
        },
        center,
        Align::Center,
        19.0,
        agency,
    );
    let address_style = Style {
        font: Font::Regular,
        size: 8.5,
    };
    for line in address_style.wrap(address, CONTENT_WIDTH) {
        flow.line(address_style, center, Align::Center, 10.5, &line);
    }
    flow.y -= 3.0;
    let y = flow.y;
    let canvas = flow.canvas();
    canvas.stroke_color(INK);
    canvas.line_width(2.2);
    canvas.line(Point { x: MARGIN_LEFT, y }, Point { x: RIGHT_EDGE, y });
    canvas.line_width(0.7);
    canvas.line(
        Point {
            x: MARGIN_LEFT,
            y: y - 3.2,
        },
        Point {
            x: RIGHT_EDGE,
            y: y - 3.2,
        },
    );
    flow.y -= 16.0;
}

/// The title, underlined, and the number below it, both centred.
fn title(flow: &mut Flow, cert: &CertificatePdf) {
    let center = MARGIN_LEFT + CONTENT_WIDTH / 2.0;
    let style = Style {
        font: Font::Bold,
        size: 13.0,
    };
    let baseline = flow.y - style.size;
    flow.line(style, center, Align::Center, 16.0, &cert.title);
    underline(
        flow.canvas(),
        style,
        center - style.width(&cert.title) / 2.0,
        baseline,
        &cert.title,
    );
    flow.line(
        BODY,
        center,
        Align::Center,
        14.0,
        &format!("Nomor: {}", cert.number),
    );
    flow.y -= 4.0;
}

/// A rule under `text` drawn at `x` on `baseline`.
fn underline(canvas: &mut Canvas, style: Style, x: f32, baseline: f32, text: &str) {
    let y = baseline - style.size * 0.15;
    canvas.stroke_color(INK);
    canvas.line_width(style.size * 0.07);
    canvas.line(
        Point { x, y },
        Point {
            x: x + style.width(text),
            y,
        },
    );
}

/// A section heading ("A. Dasar Hukum"), kept on a page with room for some of its body.
fn heading(flow: &mut Flow, letter: &str, name: &str) {
    heading_with_room(flow, letter, name, 3.0 * BODY_LEADING);
}

/// A section heading kept on a page with `body` points of room below it.
fn heading_with_room(flow: &mut Flow, letter: &str, name: &str, body: f32) {
    flow.y -= 6.0;
    flow.room(16.0 + body);
    flow.canvas().fill_color(INK);
    let baseline = flow.y - HEADING.size;
    flow.canvas()
        .text(HEADING, MARGIN_LEFT, baseline, Align::Left, letter);
    flow.line(HEADING, MARGIN_LEFT + INDENT, Align::Left, 15.0, name);
}

/// A numbered list ("1.", "2.", ...) with wrapped items and a hanging indent.
fn numbered(flow: &mut Flow, items: &[String], style: Style, leading: f32) {
    let number_x = MARGIN_LEFT + INDENT;
    let text_x = number_x + 16.0;
    for (index, item) in items.iter().enumerate() {
        let lines = style.wrap(item, RIGHT_EDGE - text_x);
        flow.room(lines.len() as f32 * leading);
        let baseline = flow.y - style.size;
        flow.canvas().text(
            style,
            number_x,
            baseline,
            Align::Left,
            &format!("{}.", index + 1),
        );
        for line in &lines {
            flow.line(style, text_x, Align::Left, leading, line);
        }
        flow.y -= 1.5;
    }
}

/// The X of a row's label, colon and value.
const LABEL_X: f32 = MARGIN_LEFT + INDENT;
const COLON_X: f32 = LABEL_X + LABEL_WIDTH;
const VALUE_X: f32 = COLON_X + 8.0;

/// A row's label and value, wrapped to their columns.
struct WrappedRow {
    labels: Vec<String>,
    values: Vec<String>,
}

impl WrappedRow {
    fn new(row: &Row) -> Self {
        Self {
            labels: BODY.wrap(&row.label, LABEL_WIDTH - 6.0),
            values: BODY.wrap(&row.value, RIGHT_EDGE - VALUE_X),
        }
    }

    /// Height of the row on the page.
    fn height(&self) -> f32 {
        self.labels.len().max(self.values.len()) as f32 * BODY_LEADING + 1.0
    }
}

/// Height of label/value rows on the page.
fn rows_height(rows: &[Row]) -> f32 {
    rows.iter().map(|row| WrappedRow::new(row).height()).sum()
}

/// Label/value rows: the label, a colon, the value wrapped beside it.
fn rows(flow: &mut Flow, rows: &[Row]) {
    for row in rows.iter().map(WrappedRow::new) {
        flow.room(row.height());
        let top = flow.y;
        let canvas = flow.canvas();
        canvas.text(BODY, COLON_X, top - BODY.size, Align::Left, ":");
        text_lines(canvas, BODY, LABEL_X, top, &row.labels);
        text_lines(canvas, BODY, VALUE_X, top, &row.values);
        flow.y = top - row.height();
    }
}

/// Lines of text stacked down from `top` at `BODY_LEADING`.
fn text_lines(canvas: &mut Canvas, style: Style, x: f32, top: f32, lines: &[String]) {
    for (index, line) in lines.iter().enumerate() {
        let baseline = top - style.size - index as f32 * BODY_LEADING;
        canvas.text(style, x, baseline, Align::Left, line);
    }
}

/// The map, laid out across the content width under its heading.
fn map_block(flow: &mut Flow, cert: &CertificatePdf) -> Result<()> {
    let x = MARGIN_LEFT + INDENT;
    let width = RIGHT_EDGE - x;
    let mut layout = map::layout(&cert.map, &cert.parts, x, flow.y, width)?;
    if flow.y - layout.height < CONTENT_BOTTOM {
        flow.room(layout.height);
        layout = map::layout(&cert.map, &cert.parts, x, flow.y, width)?;
    }
    map::draw(flow.canvas(), &cert.map, &cert.parts, &layout);
    flow.y -= layout.height + 4.0;
    Ok(())
}

/// One column of the parts table: its heading, its width, how its cells align.
struct Column {
    heading: &'static str,
    width: f32,
    align: Align,
}

/// The columns of the parts table; the last one takes the width that is left.
const PART_COLUMNS: [Column; 5] = [
    Column {
        heading: "Kode",
        width: 52.0,
        align: Align::Left,
    },
    Column {
        heading: "Sub-zona",
        width: 170.0,
        align: Align::Left,
    },
    Column {
        heading: "Luas",
        width: 70.0,
        align: Align::Right,
    },
    Column {
        heading: "Porsi",
        width: 45.0,
        align: Align::Right,
    },
    Column {
        heading: "Kelas kegiatan",
        width: 0.0,
        align: Align::Left,
    },
];

/// The cells of one part, in column order.
fn part_cells(part: &PartRow) -> [&str; 5] {
    [&part.code, &part.name, &part.area, &part.share, &part.class]
}

/// Widths of the parts table's columns.
fn part_widths() -> [f32; 5] {
    let table = RIGHT_EDGE - MARGIN_LEFT - INDENT;
    let fixed: f32 = PART_COLUMNS.iter().map(|c| c.width).sum();
    PART_COLUMNS.each_ref().map(|c| {
        if c.width > 0.0 {
            c.width
        } else {
            table - fixed
        }
    })
}

/// The table of the parcel's parts (one row per sub-zone crossed).
fn parts_table(flow: &mut Flow, parts: &[PartRow]) {
    let widths = part_widths();
    let headings = PART_COLUMNS.each_ref().map(|c| c.heading);
    flow.room(2.0 * 14.0);
    table_row(flow, &widths, headings, TABLE_HEAD, true);
    for part in parts {
        table_row(flow, &widths, part_cells(part), BODY, false);
    }
    flow.y -= 6.0;
}

/// Inner padding of a table cell.
const CELL_PADDING: f32 = 3.0;

/// The cells of a table row wrapped to their columns.
fn wrap_cells(widths: &[f32; 5], cells: [&str; 5], style: Style) -> Vec<Vec<String>> {
    cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| style.wrap(cell, width - 2.0 * CELL_PADDING))
        .collect()
}

/// Height of a table row whose cells wrapped to `wrapped`.
fn cells_height(wrapped: &[Vec<String>]) -> f32 {
    wrapped.iter().map(Vec::len).max().unwrap_or(1) as f32 * BODY_LEADING + 4.0
}

/// Height of the parts table (heading row included) on the page.
fn table_height(parts: &[PartRow]) -> f32 {
    let widths = part_widths();
    let head = cells_height(&wrap_cells(
        &widths,
        PART_COLUMNS.each_ref().map(|c| c.heading),
        TABLE_HEAD,
    ));
    let body: f32 = parts
        .iter()
        .map(|part| cells_height(&wrap_cells(&widths, part_cells(part), BODY)))
        .sum();
    head + body + 6.0
}

/// One row of the parts table: cells wrapped to their columns, bordered.
fn table_row(flow: &mut Flow, widths: &[f32; 5], cells: [&str; 5], style: Style, head: bool) {
    let wrapped = wrap_cells(widths, cells, style);
    let height = cells_height(&wrapped);
    flow.room(height);
    let top = flow.y;
    let canvas = flow.canvas();
    let mut x = MARGIN_LEFT + INDENT;
    for ((column, width), lines) in PART_COLUMNS.iter().zip(widths).zip(&wrapped) {
        let cell = Rect {
            x,
            y: top - height,
            width: *width,
            height,
        };
        table_cell(canvas, cell, head);
        let anchor = match column.align {
            Align::Right => cell.right() - CELL_PADDING,
            _ => cell.x + CELL_PADDING,
        };
        for (index, line) in lines.iter().enumerate() {
            let baseline = top - 2.0 - style.size - index as f32 * BODY_LEADING;
            canvas.text(style, anchor, baseline, column.align, line);
        }
        x += width;
    }
    flow.y = top - height;
}

/// A table cell's border (and grey fill for a heading cell); leaves the fill colour black.
fn table_cell(canvas: &mut Canvas, cell: Rect, head: bool) {
    canvas.line_width(0.5);
    canvas.stroke_color(RULE_GREY);
    if head {
        canvas.fill_color(HEAD_FILL);
        canvas.rect(cell);
        canvas.fill_stroke();
    } else {
        canvas.stroke_rect(cell);
    }
    canvas.fill_color(INK);
}

/// The overlay conditions, or a dash when there are none.
fn overlays(flow: &mut Flow, overlays: &[String]) {
    if overlays.is_empty() {
        flow.line(
            BODY,
            MARGIN_LEFT + INDENT,
            Align::Left,
            BODY_LEADING,
            "Tidak ada.",
        );
    } else {
        numbered(flow, overlays, BODY, BODY_LEADING);
    }
}

/// The signature block at the right: place and date, on whose behalf, position, the QR code
/// with "Ditandatangani secara elektronik", then the name (bold, underlined) and NIP.
fn signature(flow: &mut Flow, cert: &CertificatePdf, qr: &QrMatrix) {
    let x = RIGHT_EDGE - SIGNATURE_WIDTH;
    let signatory = &cert.signatory;
    let mut head = vec![cert.place_and_date.clone()];
    head.extend(BODY.wrap(&signatory.on_behalf, SIGNATURE_WIDTH));
    head.extend(BODY.wrap(&signatory.position, SIGNATURE_WIDTH));
    let qr_side = qr.side(QR_MODULE);
    let height = 10.0 + head.len() as f32 * BODY_LEADING + qr_side + 2.0 * BODY_LEADING;
    flow.y -= 10.0;
    flow.room(height);
    for line in &head {
        flow.line(BODY, x, Align::Left, BODY_LEADING, line);
    }
    signature_qr(flow, x, qr, qr_side);
    let baseline = flow.y - BODY_BOLD.size;
    flow.line(BODY_BOLD, x, Align::Left, BODY_LEADING, &signatory.name);
    underline(flow.canvas(), BODY_BOLD, x, baseline, &signatory.name);
    flow.line(
        BODY,
        x,
        Align::Left,
        BODY_LEADING,
        &format!("NIP. {}", signatory.nip),
    );
}

/// `value` points from the page's left or top edge, snapped to the QR grid.
fn snap(value: f32) -> f32 {
    (value / QR_GRID).round() * QR_GRID
}

/// The QR code (its quiet zone starting left of `x`) and the electronic-signature note beside
/// it.
fn signature_qr(flow: &mut Flow, x: f32, qr: &QrMatrix, side: f32) {
    let top = flow.y;
    let left = snap(x - 4.0 * QR_MODULE);
    let snapped_top = PAGE_HEIGHT - snap(PAGE_HEIGHT - top);
    let canvas = flow.canvas();
    canvas.fill_color(INK);
    qr.draw(canvas, left, snapped_top, QR_MODULE);
    let note_x = left + side - 4.0 * QR_MODULE + 6.0;
    let note_width = RIGHT_EDGE - note_x;
    let mut baseline = top - side / 2.0 + 6.0;
    for line in BODY_BOLD.wrap("Ditandatangani secara elektronik", note_width) {
        canvas.text(BODY_BOLD, note_x, baseline, Align::Left, &line);
        baseline -= BODY_LEADING;
    }
    let hint = "Pindai kode QR untuk memeriksa keaslian dokumen ini.";
    for line in FOOTER.wrap(hint, note_width) {
        canvas.text(FOOTER, note_x, baseline, Align::Left, &line);
        baseline -= 8.5;
    }
    flow.y = snapped_top - side;
}

/// Puts the pages into a document: shared font resources, compressed content streams, the
/// page tree, the catalog and the document information.
fn assemble(pages: Vec<Canvas>, cert: &CertificatePdf) -> Result<Document> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let fonts = font_resources(&mut doc);
    let mut kids = Vec::new();
    for (index, canvas) in pages.into_iter().enumerate() {
        let content = canvas.encode().map_err(|source| PdfError::Content {
            page: index + 1,
            source,
        })?;
        let mut stream = Stream::new(dictionary! {}, content);
        // Compression only fails on an I/O error of an in-memory buffer; an uncompressed
        // stream is still a correct one.
        let _ = stream.compress();
        let content_id = doc.add_object(stream);
        let page = dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(PAGE_WIDTH), Object::Real(PAGE_HEIGHT)],
            "Contents" => content_id,
            "Resources" => dictionary! { "Font" => fonts.clone() },
        };
        kids.push(Object::Reference(doc.add_object(page)));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into(),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let info_id = document_info(&mut doc, cert);
    doc.trailer.set("Info", info_id);
    Ok(doc)
}

/// The two base-14 fonts with WinAnsi encoding, as a font resource dictionary.
fn font_resources(doc: &mut Document) -> lopdf::Dictionary {
    let mut fonts = lopdf::Dictionary::new();
    for font in [Font::Regular, Font::Bold] {
        let id = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => font.base_font(),
            "Encoding" => "WinAnsiEncoding",
        });
        fonts.set(font.resource(), id);
    }
    fonts
}

/// The document information dictionary: title and number, producer.
fn document_info(doc: &mut Document, cert: &CertificatePdf) -> ObjectId {
    doc.add_object(dictionary! {
        "Title" => text_string(&format!("{} {}", cert.title, cert.number)),
        "Author" => text_string(&cert.letterhead[1]),
        "Producer" => Object::string_literal("satupeta"),
    })
}

/// A PDF text string: PDFDocEncoding is ASCII for ASCII text; anything else is UTF-16BE with
/// a byte-order mark.
pub fn text_string(text: &str) -> Object {
    if text.is_ascii() {
        return Object::String(text.as_bytes().to_vec(), StringFormat::Literal);
    }
    let mut bytes = vec![0xFE, 0xFF];
    bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    Object::String(bytes, StringFormat::Hexadecimal)
}

#[cfg(test)]
pub(crate) mod sample;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krk_pdf_renders_sample_and_rejects_empty_frame() {
        let cert = sample::certificate();
        let mut doc = render(&cert).unwrap();
        assert!(!doc.get_pages().is_empty());
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        assert!(bytes.starts_with(b"%PDF-1.7"));
        std::fs::write(sample::target_dir().join("krk-sample-unsigned.pdf"), &bytes).unwrap();
        let mut flat = cert.clone();
        flat.map.frame.max_y = flat.map.frame.min_y;
        assert!(matches!(render(&flat), Err(PdfError::EmptyFrame)));
    }

    #[test]
    fn krk_pdf_flows_long_certificates_onto_more_pages() {
        let mut cert = sample::certificate();
        let rule = cert.rules[0].clone();
        cert.rules = vec![rule; 60];
        let note = cert.notes[2].clone();
        cert.notes = vec![note; 20];
        let mut doc = render(&cert).unwrap();
        assert!(doc.get_pages().len() >= 3);
        doc.save(sample::target_dir().join("krk-sample-long.pdf"))
            .unwrap();
        let too_long = CertificatePdf {
            qr_text: "x".repeat(5000),
            ..sample::certificate()
        };
        assert!(matches!(render(&too_long), Err(PdfError::QrCode(_))));
    }
}
