//! A report's photo as it is kept: checked (a JPEG or PNG by its first bytes, within size and
//! pixel limits, so that a small file cannot unpack to gigabytes), turned upright by its EXIF
//! orientation, scaled to at most [`LONG_SIDE`] pixels and re-encoded as JPEG, which leaves every
//! piece of metadata behind (GPS position, camera, owner), with a thumbnail.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Bytes a photo may have as sent.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Pixels a photo may have once decoded.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The kept photo's longer side, at most, in pixels.
pub const LONG_SIDE: u32 = 2048;
/// The thumbnail's longer side, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// JPEG quality of what is kept.
const QUALITY: u8 = 85;

/// Why a photo is refused.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// Nothing was sent.
    #[error("the photo is empty")]
    Empty,
    /// More than [`MAX_BYTES`].
    #[error("the photo has {bytes} bytes; at most {} MiB are taken", MAX_BYTES / 1024 / 1024)]
    TooLarge {
        /// Bytes sent.
        bytes: usize,
    },
    /// A HEIC or HEIF photo (no Rust crate decodes it without a C library this server lacks).
    #[error("HEIC/HEIF photos are not taken: send a JPEG or PNG (phones can save photos as JPEG)")]
    Heic,
    /// Not a JPEG or PNG by its first bytes.
    #[error("the file is not a JPEG or PNG image")]
    NotAnImage,
    /// More than [`MAX_PIXELS`] once decoded.
    #[error("the photo is {width} × {height} pixels; at most {} megapixels are taken", MAX_PIXELS / 1_000_000)]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// The image is damaged.
    #[error("the photo cannot be read: {0}")]
    Damaged(String),
}

/// A photo as kept: JPEG bytes without metadata, upright, and its thumbnail.
#[derive(Debug)]
pub struct Photo {
    /// The photo, JPEG.
    pub jpeg: Vec<u8>,
    /// Its width, pixels.
    pub width: u32,
    /// Its height, pixels.
    pub height: u32,
    /// The thumbnail, JPEG.
    pub thumbnail: Vec<u8>,
}

/// The image format by the file's first bytes (the name and the declared type may lie).
fn format_of(bytes: &[u8]) -> Result<ImageFormat, PhotoError> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Ok(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Ok(ImageFormat::Png),
        [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..]
            if [b"heic", b"heix", b"mif1", b"msf1", b"hevc"]
                .iter()
                .any(|b| brand.starts_with(*b)) =>
        {
            Err(PhotoError::Heic)
        }
        _ => Err(PhotoError::NotAnImage),
    }
}

/// The EXIF orientation (1 to 8; 1 when absent or unreadable).
fn orientation(bytes: &[u8]) -> u32 {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()
        .and_then(|data| {
            data.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
        })
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// `image` turned as EXIF orientation `o` says the camera held it.
fn upright(image: DynamicImage, o: u32) -> DynamicImage {
    match o {
        2 => image.fliph(),
        3 => image.rotate180(),
        4 => image.flipv(),
        5 => image.rotate90().fliph(),
        6 => image.rotate90(),
        7 => image.rotate270().fliph(),
        8 => image.rotate270(),
        _ => image,
    }
}

fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, PhotoError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| PhotoError::Damaged(e.to_string()))?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels { width, height });
    }
    reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| PhotoError::Damaged(e.to_string()))
}

fn jpeg(image: &DynamicImage) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    let rgb = image.to_rgb8();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(&rgb)
        .map_err(|e| PhotoError::Damaged(e.to_string()))?;
    Ok(out)
}

/// Checks and processes a photo (CPU work: run it off the async threads).
pub fn process(bytes: &[u8]) -> Result<Photo, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(PhotoError::TooLarge { bytes: bytes.len() });
    }
    let format = format_of(bytes)?;
    let mut image = upright(decode(bytes, format)?, orientation(bytes));
    if image.width().max(image.height()) > LONG_SIDE {
        // The integer area-averaging scaler: no floating-point copy of a large photo.
        image = image.thumbnail(LONG_SIDE, LONG_SIDE);
    }
    let thumbnail = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    Ok(Photo {
        jpeg: jpeg(&image)?,
        width: image.width(),
        height: image.height(),
        thumbnail: jpeg(&thumbnail)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `width` × `height` JPEG whose left half is red and right half blue.
    fn jpeg_of(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                image::Rgb([220, 20, 20])
            } else {
                image::Rgb([20, 20, 220])
            }
        });
        jpeg(&DynamicImage::ImageRgb8(image)).unwrap()
    }

    /// An EXIF segment (APP1) with an orientation, a camera make and a GPS latitude reference,
    /// written by hand as the TIFF layout of EXIF 2.3 says (big-endian).
    fn app1(orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
        // IFD0 at 8: three entries, then the next-IFD offset (0).
        let entries: u16 = 3;
        let ifd0_end = 8 + 2 + entries as u32 * 12 + 4;
        let make_at = ifd0_end;
        let make = b"TestCam Secret\x00";
        let gps_at = make_at + make.len() as u32;
        tiff.extend(entries.to_be_bytes());
        // Make (0x010F), ASCII, its text after the IFD.
        tiff.extend([0x01, 0x0F, 0x00, 0x02]);
        tiff.extend((make.len() as u32).to_be_bytes());
        tiff.extend(make_at.to_be_bytes());
        // Orientation (0x0112), SHORT, 1 value.
        tiff.extend([0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]);
        tiff.extend(orientation.to_be_bytes());
        tiff.extend([0, 0]);
        // GPS IFD pointer (0x8825), LONG.
        tiff.extend([0x88, 0x25, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01]);
        tiff.extend(gps_at.to_be_bytes());
        tiff.extend(0u32.to_be_bytes());
        tiff.extend(make);
        // GPS IFD: GPSLatitudeRef (0x0001) = "S".
        tiff.extend(1u16.to_be_bytes());
        tiff.extend([
            0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, b'S', 0, 0, 0,
        ]);
        tiff.extend(0u32.to_be_bytes());
        let mut segment = vec![0xFF, 0xE1];
        segment.extend(((tiff.len() + 8) as u16).to_be_bytes());
        segment.extend(b"Exif\x00\x00");
        segment.extend(tiff);
        segment
    }

    /// `jpeg` with an EXIF segment right after its start marker.
    fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        out.extend(app1(orientation));
        out.extend(&jpeg[2..]);
        out
    }

    #[test]
    fn a_photo_is_turned_upright_and_keeps_no_metadata() {
        let sent = with_exif(&jpeg_of(80, 40), 6);
        assert_eq!(orientation(&sent), 6, "the test photo carries its EXIF");
        assert!(sent.windows(14).any(|w| w == b"TestCam Secret"));
        let photo = process(&sent).unwrap();
        // Held on its side: 80 × 40 becomes 40 × 80, the red half on top.
        assert_eq!((photo.width, photo.height), (40, 80));
        let kept = image::load_from_memory(&photo.jpeg).unwrap().to_rgb8();
        let (top, bottom) = (kept.get_pixel(20, 10), kept.get_pixel(20, 70));
        assert!(top[0] > 150 && top[2] < 100, "top {top:?}");
        assert!(bottom[2] > 150 && bottom[0] < 100, "bottom {bottom:?}");
        for kept in [&photo.jpeg, &photo.thumbnail] {
            assert!(!kept.windows(4).any(|w| w == b"Exif"), "EXIF kept");
            assert!(!kept.windows(7).any(|w| w == b"TestCam"), "camera kept");
            assert_eq!(orientation(kept), 1);
        }
    }

    #[test]
    fn big_photos_are_scaled_and_thumbnailed() {
        let photo = process(&jpeg_of(3000, 1500)).unwrap();
        assert_eq!((photo.width, photo.height), (LONG_SIDE, LONG_SIDE / 2));
        let thumbnail = image::load_from_memory(&photo.thumbnail).unwrap();
        assert_eq!(thumbnail.width().max(thumbnail.height()), THUMBNAIL_SIDE);
        let png = {
            let mut out = Vec::new();
            DynamicImage::ImageRgb8(image::RgbImage::new(10, 10))
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .unwrap();
            out
        };
        assert_eq!(process(&png).unwrap().width, 10);
    }

    #[test]
    fn what_is_not_a_usable_photo_is_refused_with_its_reason() {
        assert!(matches!(process(b""), Err(PhotoError::Empty)));
        assert!(matches!(
            process(b"%PDF-1.7 not a photo"),
            Err(PhotoError::NotAnImage)
        ));
        assert!(matches!(
            process(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"),
            Err(PhotoError::Heic)
        ));
        let big = vec![0xFF; MAX_BYTES + 1];
        assert!(matches!(process(&big), Err(PhotoError::TooLarge { .. })));
        // A JPEG whose header claims 60,000 × 60,000 pixels: refused before decoding.
        let mut bomb = jpeg_of(16, 16);
        let sof = bomb
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline frame header");
        bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
        assert!(
            matches!(process(&bomb), Err(PhotoError::TooManyPixels { .. })),
            "{:?}",
            process(&bomb)
        );
        let truncated = jpeg_of(64, 64)[..200].to_vec();
        assert!(matches!(process(&truncated), Err(PhotoError::Damaged(_))));
    }
}
