//! A page's drawing operations: text in the two fonts, lines, rectangles and paths, kept as a
//! list of lopdf content operations.

use lopdf::content::{Content, Operation};
use lopdf::{Object, StringFormat};

use super::text::{self, Font};

/// A point on the page, in points from the lower-left corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned rectangle on the page: lower-left corner, width and height in points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    /// The right edge.
    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    /// The top edge.
    pub fn top(&self) -> f32 {
        self.y + self.height
    }
}

/// How a line of text sits on its `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// A text style: font and size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    pub font: Font,
    pub size: f32,
}

impl Style {
    /// Width of `text` in this style.
    pub fn width(&self, text: &str) -> f32 {
        self.font.width(text, self.size)
    }

    /// `text` wrapped to `width` in this style.
    pub fn wrap(&self, text: &str, width: f32) -> Vec<String> {
        text::wrap(text, self.font, self.size, width)
    }
}

/// The operations of one page, in drawing order.
#[derive(Default)]
pub struct Canvas {
    ops: Vec<Operation>,
}

fn real(value: f32) -> Object {
    Object::Real(value)
}

impl Canvas {
    fn op(&mut self, operator: &str, operands: Vec<Object>) {
        self.ops.push(Operation::new(operator, operands));
    }

    /// The encoded content stream.
    pub fn encode(self) -> lopdf::Result<Vec<u8>> {
        Content {
            operations: self.ops,
        }
        .encode()
    }

    /// Draws one line of text with its baseline at `y`, placed on `x` as `align` says.
    pub fn text(&mut self, style: Style, x: f32, y: f32, align: Align, line: &str) {
        let left = match align {
            Align::Left => x,
            Align::Center => x - style.width(line) / 2.0,
            Align::Right => x - style.width(line),
        };
        self.op("BT", vec![]);
        self.op("Tf", vec![style.font.resource().into(), real(style.size)]);
        self.op("Td", vec![real(left), real(y)]);
        self.op(
            "Tj",
            vec![Object::String(text::encode(line), StringFormat::Literal)],
        );
        self.op("ET", vec![]);
    }

    /// Sets the fill colour.
    pub fn fill_color(&mut self, rgb: [u8; 3]) {
        let [r, g, b] = rgb.map(|c| real(f32::from(c) / 255.0));
        self.op("rg", vec![r, g, b]);
    }

    /// Sets the stroke colour.
    pub fn stroke_color(&mut self, rgb: [u8; 3]) {
        let [r, g, b] = rgb.map(|c| real(f32::from(c) / 255.0));
        self.op("RG", vec![r, g, b]);
    }

    /// Sets the line width.
    pub fn line_width(&mut self, width: f32) {
        self.op("w", vec![real(width)]);
    }

    /// Sets round line joins (for outlines of polygons).
    pub fn round_joins(&mut self) {
        self.op("j", vec![1.into()]);
    }

    /// Saves the graphics state.
    pub fn save(&mut self) {
        self.op("q", vec![]);
    }

    /// Restores the graphics state (and with it the clip path).
    pub fn restore(&mut self) {
        self.op("Q", vec![]);
    }

    /// Strokes a straight line.
    pub fn line(&mut self, from: Point, to: Point) {
        self.move_to(from);
        self.line_to(to);
        self.op("S", vec![]);
    }

    /// Adds a rectangle to the current path.
    pub fn rect(&mut self, rect: Rect) {
        let operands = vec![
            real(rect.x),
            real(rect.y),
            real(rect.width),
            real(rect.height),
        ];
        self.op("re", operands);
    }

    /// Strokes a rectangle's outline.
    pub fn stroke_rect(&mut self, rect: Rect) {
        self.rect(rect);
        self.op("S", vec![]);
    }

    /// Restricts later drawing to `rect` (until [`Canvas::restore`]).
    pub fn clip_to(&mut self, rect: Rect) {
        self.rect(rect);
        self.op("W", vec![]);
        self.op("n", vec![]);
    }

    /// Begins a new subpath at `point`.
    pub fn move_to(&mut self, point: Point) {
        self.op("m", vec![real(point.x), real(point.y)]);
    }

    /// Adds a straight segment to `point`.
    pub fn line_to(&mut self, point: Point) {
        self.op("l", vec![real(point.x), real(point.y)]);
    }

    /// Closes the current subpath.
    pub fn close(&mut self) {
        self.op("h", vec![]);
    }

    /// Adds a closed ring (of at least three points) to the current path.
    pub fn ring(&mut self, points: &[Point]) {
        let Some((first, rest)) = points.split_first() else {
            return;
        };
        self.move_to(*first);
        for point in rest {
            self.line_to(*point);
        }
        self.close();
    }

    /// Fills (even-odd) and strokes the current path.
    pub fn fill_stroke_even_odd(&mut self) {
        self.op("B*", vec![]);
    }

    /// Fills the current path (nonzero rule) and strokes it.
    pub fn fill_stroke(&mut self) {
        self.op("B", vec![]);
    }

    /// Strokes the current path.
    pub fn stroke(&mut self) {
        self.op("S", vec![]);
    }

    /// Fills the current path (nonzero rule).
    pub fn fill(&mut self) {
        self.op("f", vec![]);
    }
}
