//! Days of regulations: an effective date, or the day a lookup asks about, written `YYYY-MM-DD`.
//! Balikpapan's day is WITA (UTC+8); the database computes it (`city_today()`).

/// A day that is not a calendar day written `YYYY-MM-DD` (the text as given, cut to 40 characters).
#[derive(Debug, thiserror::Error)]
#[error("\"{0}\" is not a day written YYYY-MM-DD")]
pub struct BadDay(pub String);

/// At most 40 characters of `text`, for a message, with control and bidirectional-override
/// characters shown as `?` (they could reorder the message's text where it is displayed).
fn shortened(text: &str) -> String {
    let shown: String = text
        .chars()
        .take(40)
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi { '?' } else { c }
        })
        .collect();
    if text.chars().nth(40).is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// Parses a day given as `YYYY-MM-DD` (a real calendar day) into its canonical form.
pub fn parse_day(text: &str) -> Result<String, BadDay> {
    let trimmed = text.trim();
    chrono::NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
        .ok()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .filter(|canonical| canonical == trimmed)
        .ok_or_else(|| BadDay(shortened(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_calendar_days_in_one_form() {
        assert_eq!(parse_day("2026-02-28").unwrap(), "2026-02-28");
        for bad in [
            "2026-02-30",
            "2026-2-3",
            "26-02-03",
            "2026-02-03T00:00",
            "",
            "yesterday",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }
}
