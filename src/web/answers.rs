//! Point answers on the wire, fast for browsers.
//!
//! Every browser sends `Accept-Encoding: gzip, deflate, br, zstd`, and most of an answer (the
//! sub-zone's rules, about 90% of its bytes) is the same for every point of a sub-zone. So each
//! sub-zone's tail is compressed once per snapshot, at the best level, as a raw deflate stream cut
//! at a byte boundary (a sync flush); per request the small head is only copied into stored
//! (uncompressed) deflate blocks, and the two are joined into one gzip member: header, head
//! blocks, tail blocks, an empty final block, and the CRC-32 of both parts combined (RFC 1951 and
//! 1952 allow exactly this; the result is an ordinary gzip stream). No crate joins deflate
//! streams, so it is written here.
//!
//! A client that weighs brotli above gzip gets its answer compressed whole with brotli at the
//! fastest level. [`AnswerCompression::Dynamic`] compresses every answer that way (brotli, else
//! gzip, at the fastest level); `satupeta bench` measures both.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::DeflateEncoder;

use super::http::{Coding, header_value, negotiate, not_modified};
use crate::zoning::{PointAnswer, Snapshot};

/// How point answers are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AnswerCompression {
    /// The sub-zone's rules compressed once, joined per request with the small head (gzip).
    #[default]
    Composed,
    /// Each answer compressed whole, per request, at the fastest level.
    Dynamic,
}

/// A sub-zone's tail, deflated once.
struct Tail {
    deflated: Vec<u8>,
    crc: crc32fast::Hasher,
    len: usize,
}

/// The compressed tails of the current snapshot's sub-zones.
pub struct Answers {
    mode: AnswerCompression,
    tails: std::sync::RwLock<Tails>,
}

/// The tails compressed for one snapshot, by rule set and sub-zone.
#[derive(Default)]
struct Tails {
    change_id: i64,
    by_subzone: std::collections::HashMap<i64, std::collections::HashMap<String, Arc<Tail>>>,
}

/// The gzip member header: no name, no time, unknown OS (RFC 1952, section 2.3).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// A final, empty block with fixed Huffman codes: ends the deflate stream.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

impl Answers {
    /// Answers compressed as `mode` says.
    pub fn new(mode: AnswerCompression) -> Self {
        Answers {
            mode,
            tails: std::sync::RwLock::new(Tails::default()),
        }
    }

    /// The HTTP answer: 304 when `If-None-Match` matches, else JSON, gzip-composed when the client
    /// takes gzip (and weighs nothing above it).
    pub fn respond(
        &self,
        request: &HeaderMap,
        snapshot: &Snapshot,
        answer: &PointAnswer<'_>,
        activity: Option<&str>,
    ) -> Response {
        let etag = entity_tag(snapshot.change_id, &answer.feature_ids, activity);
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, header_value(&etag));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if not_modified(request, &etag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        // The cheapest first: gzip composed, or (dynamic) brotli then gzip at the fastest level.
        let available: &[Coding] = match self.mode {
            AnswerCompression::Composed => &[Coding::Gzip, Coding::Brotli],
            AnswerCompression::Dynamic => &[Coding::Brotli, Coding::Gzip],
        };
        let coding = negotiate(request, available);
        let head = answer.head_json();
        let body = match (coding, self.mode) {
            (Coding::Gzip, AnswerCompression::Composed) => {
                gzip_joined(&head, &self.tail(snapshot, answer))
            }
            (coding, _) => {
                let mut whole = head;
                whole.extend_from_slice(answer.tail());
                compress_fast(whole, coding)
            }
        };
        if coding != Coding::Identity {
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.token()),
            );
        }
        (headers, Body::from(body)).into_response()
    }

    /// The answer's tail (its rule set's rules of its sub-zone), compressed once per snapshot.
    fn tail(&self, snapshot: &Snapshot, answer: &PointAnswer<'_>) -> Arc<Tail> {
        let (set, subzone) = (answer.book.id(), answer.subzone_code);
        if let Ok(tails) = self.tails.read()
            && tails.change_id == snapshot.change_id
            && let Some(tail) = tails.by_subzone.get(&set).and_then(|t| t.get(subzone))
        {
            return tail.clone();
        }
        let bytes = answer.tail();
        let mut crc = crc32fast::Hasher::new();
        crc.update(bytes);
        let tail = Arc::new(Tail {
            deflated: deflate_flushed(bytes, Compression::best()),
            crc,
            len: bytes.len(),
        });
        if let Ok(mut tails) = self.tails.write() {
            if tails.change_id != snapshot.change_id {
                *tails = Tails {
                    change_id: snapshot.change_id,
                    ..Tails::default()
                };
            }
            tails
                .by_subzone
                .entry(set)
                .or_default()
                .insert(subzone.to_string(), tail.clone());
        }
        tail
    }
}

/// `body` compressed whole with `coding` at its fastest level (identity: as it is).
fn compress_fast(body: Vec<u8>, coding: Coding) -> Vec<u8> {
    match coding {
        Coding::Identity => body,
        Coding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                Compression::fast(),
            );
            // Writing to a Vec cannot fail.
            let _ = encoder.write_all(&body);
            encoder.finish().unwrap_or_default()
        }
        Coding::Brotli => {
            let mut out = Vec::with_capacity(body.len() / 4);
            {
                let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
                let _ = writer.write_all(&body);
            }
            out
        }
    }
}

/// A weak entity tag of an answer: the snapshot (rules and plans), the features found and the
/// activity asked about determine it.
fn entity_tag(change_id: i64, features: &[i64], activity: Option<&str>) -> String {
    let mut tag = format!("W/\"z{change_id}");
    for id in features {
        tag.push('-');
        tag.push_str(&id.to_string());
    }
    if let Some(kbli) = activity {
        tag.push_str("-a");
        tag.extend(kbli.chars().filter(char::is_ascii_alphanumeric));
    }
    tag.push('"');
    tag
}

/// `data` as raw deflate blocks ending at a byte boundary, without a final block, so that more
/// blocks may follow.
fn deflate_flushed(data: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(data.len() / 3 + 64), level);
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    let _ = encoder.flush();
    std::mem::take(encoder.get_mut())
}

/// `data` as stored (uncompressed) deflate blocks, none final: copying costs less than compressing
/// the small head of every answer, and the head is a small part of the body.
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 65_535 + 1));
    for chunk in data.chunks(65_535) {
        let len = chunk.len() as u16;
        // BFINAL 0, BTYPE 00 (stored), padded to the byte; LEN and its complement, little-endian.
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// One gzip member holding `head` followed by the tail.
fn gzip_joined(head: &[u8], tail: &Tail) -> Vec<u8> {
    let head_deflated = deflate_stored(head);
    let mut crc = crc32fast::Hasher::new();
    crc.update(head);
    crc.combine(&tail.crc);
    let size = (head.len() + tail.len) as u32;
    let mut out = Vec::with_capacity(
        GZIP_HEADER.len() + head_deflated.len() + tail.deflated.len() + FINAL_BLOCK.len() + 8,
    );
    out.extend_from_slice(&GZIP_HEADER);
    out.extend_from_slice(&head_deflated);
    out.extend_from_slice(&tail.deflated);
    out.extend_from_slice(&FINAL_BLOCK);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_joined_gzip_member_decodes_to_head_and_tail() {
        let head = br#"{"plan":{"version":3},"feature_id":17,"#;
        let tail_bytes = br#""subzone":{"code":"R-3"},"intensity":[],"activities":{}}"#.repeat(40);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&tail_bytes);
        let tail = Tail {
            deflated: deflate_flushed(&tail_bytes, Compression::best()),
            crc,
            len: tail_bytes.len(),
        };
        let joined = gzip_joined(head, &tail);
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(joined.as_slice())
            .read_to_end(&mut decoded)
            .unwrap();
        let mut expected = head.to_vec();
        expected.extend_from_slice(&tail_bytes);
        assert_eq!(decoded, expected);
        // A strict decoder checks the CRC and the size: one flipped byte of the tail is caught.
        let mut damaged = joined.clone();
        let at = GZIP_HEADER.len() + 12;
        damaged[at] ^= 0x55;
        let mut out = Vec::new();
        assert!(
            flate2::read::GzDecoder::new(damaged.as_slice())
                .read_to_end(&mut out)
                .is_err()
                || out != expected
        );
    }

    #[test]
    fn entity_tags_name_the_snapshot_features_and_activity() {
        assert_eq!(entity_tag(7, &[12, 40], None), "W/\"z7-12-40\"");
        assert_eq!(entity_tag(7, &[12], Some("56101")), "W/\"z7-12-a56101\"");
        assert_ne!(entity_tag(8, &[12], None), entity_tag(7, &[12], None));
    }
}
