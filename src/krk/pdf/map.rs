//! The parcel map ("Peta Persil"): the sub-zones around the parcel filled with their colours,
//! the parcel outlined on top, clipped to the frame; corner coordinates outside the frame; a
//! side column with the legend, a scale bar, a north arrow and the coordinate reference note.
//!
//! Hand-written: the projection of metres to points and the cartographic furniture are small
//! drawing code that no crate we use provides for lopdf.

use super::canvas::{Align, Canvas, Point, Rect, Style};
use super::text::Font;
use super::{MapView, PartRow, PdfError, Ring};

/// Width of the side column (legend, scale bar, north arrow, CRS note).
const SIDE_WIDTH: f32 = 150.0;
/// Gap between the map and the side column.
const SIDE_GAP: f32 = 16.0;
/// Tallest the map itself may be drawn.
const MAX_MAP_HEIGHT: f32 = 235.0;
/// Height of the band above and below the frame holding the corner coordinates.
const CORNER_BAND: f32 = 11.0;
/// Height of the scale bar and north arrow group.
const FURNITURE_HEIGHT: f32 = 40.0;
/// Line height of a legend entry.
const LEGEND_LINE: f32 = 10.0;
/// Line height of the CRS note.
const NOTE_LINE: f32 = 8.5;

const CORNER_STYLE: Style = Style {
    font: Font::Regular,
    size: 6.5,
};
const LEGEND_TITLE: Style = Style {
    font: Font::Bold,
    size: 8.0,
};
const LEGEND_STYLE: Style = Style {
    font: Font::Regular,
    size: 7.5,
};
const NOTE_STYLE: Style = Style {
    font: Font::Regular,
    size: 6.5,
};
const PARCEL_RED: [u8; 3] = [150, 0, 0];
const INK: [u8; 3] = [0, 0, 0];
const WHITE: [u8; 3] = [255, 255, 255];

/// Where the map's parts go inside its block, and how metres become points.
pub struct MapLayout {
    /// The frame on the page.
    frame: Rect,
    /// Points per metre.
    scale: f32,
    /// The side column.
    side: Rect,
    /// Height of the whole block.
    pub height: f32,
}

/// Lays the map out in a block `width` points wide whose top is at `top`.
pub fn layout(
    map: &MapView,
    parts: &[PartRow],
    x: f32,
    top: f32,
    width: f32,
) -> Result<MapLayout, PdfError> {
    let dx = (map.frame.max_x - map.frame.min_x) as f32;
    let dy = (map.frame.max_y - map.frame.min_y) as f32;
    if !(dx > 0.0 && dy > 0.0 && dx.is_finite() && dy.is_finite()) {
        return Err(PdfError::EmptyFrame);
    }
    let max_width = width - SIDE_WIDTH - SIDE_GAP;
    let scale = (max_width / dx).min(MAX_MAP_HEIGHT / dy);
    let frame = Rect {
        x,
        y: top - CORNER_BAND - dy * scale,
        width: dx * scale,
        height: dy * scale,
    };
    let side_height =
        legend_height(map, parts) + FURNITURE_HEIGHT + note_lines(map).len() as f32 * NOTE_LINE;
    let height = (frame.height + 2.0 * CORNER_BAND).max(side_height + CORNER_BAND);
    let side = Rect {
        x: x + width - SIDE_WIDTH,
        y: top - height,
        width: SIDE_WIDTH,
        height: height - CORNER_BAND,
    };
    Ok(MapLayout {
        frame,
        scale,
        side,
        height,
    })
}

/// Draws the map laid out by [`layout`].
pub fn draw(canvas: &mut Canvas, map: &MapView, parts: &[PartRow], layout: &MapLayout) {
    canvas.save();
    canvas.clip_to(layout.frame);
    draw_zones(canvas, map, layout);
    draw_parcel(canvas, map, layout);
    canvas.restore();
    canvas.stroke_color(INK);
    canvas.line_width(0.8);
    canvas.stroke_rect(layout.frame);
    draw_corners(canvas, map, layout.frame);
    draw_legend(canvas, map, parts, layout.side);
    draw_scale_bar(canvas, map, layout);
    draw_north_arrow(
        canvas,
        Point {
            x: layout.side.right() - 14.0,
            y: furniture_bottom(map, layout),
        },
    );
    draw_note(canvas, map, layout.side);
}

/// A point in metres as a point on the page.
fn project(layout: &MapLayout, map: &MapView, (x, y): (f64, f64)) -> Point {
    Point {
        x: layout.frame.x + (x - map.frame.min_x) as f32 * layout.scale,
        y: layout.frame.y + (y - map.frame.min_y) as f32 * layout.scale,
    }
}

/// Adds the rings of one polygon to the current path.
fn add_polygon(canvas: &mut Canvas, map: &MapView, layout: &MapLayout, rings: &[Ring]) {
    for ring in rings.iter().filter(|ring| ring.len() >= 3) {
        let points: Vec<Point> = ring.iter().map(|&p| project(layout, map, p)).collect();
        canvas.ring(&points);
    }
}

/// The colour of a zone's outline: its fill, darkened.
fn darker(rgb: [u8; 3]) -> [u8; 3] {
    rgb.map(|c| (f32::from(c) * 0.55) as u8)
}

fn draw_zones(canvas: &mut Canvas, map: &MapView, layout: &MapLayout) {
    canvas.line_width(0.4);
    for zone in &map.zones {
        canvas.fill_color(zone.color);
        canvas.stroke_color(darker(zone.color));
        for polygon in &zone.polygons {
            add_polygon(canvas, map, layout, polygon);
            canvas.fill_stroke_even_odd();
        }
    }
}

fn draw_parcel(canvas: &mut Canvas, map: &MapView, layout: &MapLayout) {
    canvas.stroke_color(PARCEL_RED);
    canvas.line_width(1.8);
    canvas.round_joins();
    for polygon in &map.parcel {
        add_polygon(canvas, map, layout, polygon);
        canvas.stroke();
    }
}

/// The corner coordinates, outside the frame at each corner.
fn draw_corners(canvas: &mut Canvas, map: &MapView, frame: Rect) {
    canvas.fill_color(INK);
    let above = frame.top() + 3.5;
    let below = frame.y - 8.0;
    let corners = &map.corners;
    canvas.text(CORNER_STYLE, frame.x, above, Align::Left, &corners.top_left);
    canvas.text(
        CORNER_STYLE,
        frame.right(),
        above,
        Align::Right,
        &corners.top_right,
    );
    canvas.text(
        CORNER_STYLE,
        frame.x,
        below,
        Align::Left,
        &corners.bottom_left,
    );
    canvas.text(
        CORNER_STYLE,
        frame.right(),
        below,
        Align::Right,
        &corners.bottom_right,
    );
}

/// The legend's label for a zone: its code, and its name (its own, or a part of the parcel's).
fn legend_label(zone: &super::MapZone, parts: &[PartRow]) -> String {
    let code = &zone.code;
    let name = match parts.iter().find(|part| &part.code == code) {
        _ if !zone.name.is_empty() => zone.name.as_str(),
        Some(part) => part.name.as_str(),
        None => "",
    };
    if name.is_empty() {
        code.to_string()
    } else {
        format!("{code} – {name}")
    }
}

/// Width left for the text of a legend entry.
const LEGEND_TEXT_WIDTH: f32 = SIDE_WIDTH - 18.0;

fn legend_height(map: &MapView, parts: &[PartRow]) -> f32 {
    let lines: usize = map
        .zones
        .iter()
        .map(|zone| {
            LEGEND_STYLE
                .wrap(&legend_label(zone, parts), LEGEND_TEXT_WIDTH)
                .len()
        })
        .sum();
    14.0 + (lines + 1) as f32 * LEGEND_LINE + 4.0
}

fn draw_legend(canvas: &mut Canvas, map: &MapView, parts: &[PartRow], side: Rect) {
    canvas.fill_color(INK);
    canvas.text(
        LEGEND_TITLE,
        side.x,
        side.top() - 8.0,
        Align::Left,
        "Legenda",
    );
    let mut baseline = side.top() - 8.0 - 14.0;
    canvas.line_width(0.4);
    for zone in &map.zones {
        swatch(
            canvas,
            Point {
                x: side.x,
                y: baseline,
            },
            zone.color,
            darker(zone.color),
        );
        canvas.fill_color(INK);
        for line in LEGEND_STYLE.wrap(&legend_label(zone, parts), LEGEND_TEXT_WIDTH) {
            canvas.text(LEGEND_STYLE, side.x + 18.0, baseline, Align::Left, &line);
            baseline -= LEGEND_LINE;
        }
    }
    canvas.line_width(1.5);
    swatch(
        canvas,
        Point {
            x: side.x,
            y: baseline,
        },
        WHITE,
        PARCEL_RED,
    );
    canvas.fill_color(INK);
    canvas.text(
        LEGEND_STYLE,
        side.x + 18.0,
        baseline,
        Align::Left,
        "Persil yang dimohon",
    );
}

/// A legend swatch whose bottom sits a little under the text baseline `at`.
fn swatch(canvas: &mut Canvas, at: Point, fill: [u8; 3], stroke: [u8; 3]) {
    canvas.fill_color(fill);
    canvas.stroke_color(stroke);
    canvas.rect(Rect {
        x: at.x + 1.0,
        y: at.y - 1.0,
        width: 12.0,
        height: 7.5,
    });
    canvas.fill_stroke();
}

/// The CRS note, wrapped to the side column.
fn note_lines(map: &MapView) -> Vec<String> {
    NOTE_STYLE.wrap(&map.crs_note, SIDE_WIDTH)
}

/// Bottom of the scale bar and north arrow group (above the CRS note).
fn furniture_bottom(map: &MapView, layout: &MapLayout) -> f32 {
    layout.side.y + note_lines(map).len() as f32 * NOTE_LINE + 6.0
}

fn draw_note(canvas: &mut Canvas, map: &MapView, side: Rect) {
    canvas.fill_color(INK);
    let mut baseline = side.y + (note_lines(map).len() as f32 - 1.0) * NOTE_LINE + 1.0;
    for line in note_lines(map) {
        canvas.text(NOTE_STYLE, side.x, baseline, Align::Left, &line);
        baseline -= NOTE_LINE;
    }
}

/// A round length for a scale bar: 1, 2 or 5 × 10ⁿ metres, the one nearest (by ratio) to
/// `target` metres that is at most 1.3 × `target` (so the bar fits its column).
pub fn round_length(target: f64) -> f64 {
    let base = 10f64.powf(target.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .filter(|length| *length <= 1.3 * target)
        .min_by(|a, b| (a / target).ln().abs().total_cmp(&(b / target).ln().abs()))
        .unwrap_or(base)
}

/// A length in metres as the scale bar writes it ("500 m", "2 km", "0,5 m").
fn length_label(metres: f64) -> String {
    let (value, unit) = if metres >= 1000.0 {
        (metres / 1000.0, "km")
    } else {
        (metres, "m")
    };
    let text = format!("{value}").replace('.', ",");
    format!("{text} {unit}")
}

fn draw_scale_bar(canvas: &mut Canvas, map: &MapView, layout: &MapLayout) {
    let metres = round_length((map.frame.max_x - map.frame.min_x) / 4.0);
    let length = metres as f32 * layout.scale;
    let y = furniture_bottom(map, layout) + 4.0;
    let x = layout.side.x + 4.0;
    let half = length / 2.0;
    canvas.line_width(0.6);
    canvas.stroke_color(INK);
    canvas.fill_color(INK);
    canvas.rect(Rect {
        x,
        y,
        width: half,
        height: 4.0,
    });
    canvas.fill_stroke();
    canvas.fill_color(WHITE);
    canvas.rect(Rect {
        x: x + half,
        y,
        width: half,
        height: 4.0,
    });
    canvas.fill_stroke();
    canvas.fill_color(INK);
    canvas.text(CORNER_STYLE, x, y + 7.0, Align::Center, "0");
    canvas.text(
        CORNER_STYLE,
        x + length,
        y + 7.0,
        Align::Center,
        &length_label(metres),
    );
    canvas.text(CORNER_STYLE, x, y + 17.0, Align::Left, "Skala");
}

/// A north arrow (half filled) with "U" (utara, north) above, its base at `base`.
fn draw_north_arrow(canvas: &mut Canvas, base: Point) {
    let tip = Point {
        x: base.x,
        y: base.y + 22.0,
    };
    let notch = Point {
        x: base.x,
        y: base.y + 6.0,
    };
    canvas.line_width(0.6);
    canvas.stroke_color(INK);
    canvas.fill_color(INK);
    canvas.ring(&[
        tip,
        Point {
            x: base.x - 6.5,
            y: base.y,
        },
        notch,
    ]);
    canvas.fill_stroke();
    canvas.fill_color(WHITE);
    canvas.ring(&[
        tip,
        Point {
            x: base.x + 6.5,
            y: base.y,
        },
        notch,
    ]);
    canvas.fill_stroke();
    canvas.fill_color(INK);
    canvas.text(LEGEND_TITLE, base.x, tip.y + 3.0, Align::Center, "U");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krk_scale_bar_lengths_are_round() {
        assert_eq!(round_length(120.0), 100.0);
        assert_eq!(round_length(160.0), 200.0);
        assert_eq!(round_length(380.0), 200.0);
        assert_eq!(round_length(400.0), 500.0);
        assert_eq!(round_length(800.0), 1000.0);
        assert_eq!(round_length(3.1), 2.0);
        assert_eq!(length_label(2000.0), "2 km");
        assert_eq!(length_label(50.0), "50 m");
        assert_eq!(length_label(0.5), "0,5 m");
    }
}
