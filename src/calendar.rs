//! Days: of regulations (an effective date, or the day a lookup asks about, written `YYYY-MM-DD`;
//! Balikpapan's day is WITA, UTC+8, and the database computes it: `city_today()`), and working
//! days (weekends, national holidays and joint leave days off), for the deadlines of public
//! services such as the 3 and 5 working days of SP4N-LAPOR!.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};

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

/// Why a holiday table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HolidayError {
    /// A line is not `day,kind,name`.
    #[error("holiday table for {year}, line {line}: {problem}")]
    Line {
        /// The table's year.
        year: i32,
        /// The line (1 is the header).
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// What a day off is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayKind {
    /// Hari libur nasional.
    National,
    /// Cuti bersama: joint leave, a day off for the civil service.
    JointLeave,
}

/// A day off besides the weekend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// National holiday or joint leave.
    pub kind: HolidayKind,
    /// Its name, e.g. `Idul Fitri 1447 H`.
    pub name: String,
}

/// The holiday tables shipped, by year: the national holidays and joint leave days of the joint
/// decree of three ministers (SKB 3 Menteri) for that year.
const SHIPPED: [(i32, &str); 1] = [(2026, include_str!("../data/holidays/2026.csv"))];

/// Days off besides weekends, for the years whose table is known.
#[derive(Debug, Clone, Default)]
pub struct Holidays {
    days: BTreeMap<NaiveDate, Holiday>,
    years: BTreeSet<i32>,
}

/// A deadline in working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The last working day (the deadline is its end).
    pub day: NaiveDate,
    /// Whether every day counted lies in a year whose holidays are known; when not, the days of
    /// the unknown years were counted with weekends only, and the deadline may be early.
    pub holidays_known: bool,
}

impl Holidays {
    /// The tables shipped in `data/holidays/`.
    pub fn shipped() -> Result<Self, HolidayError> {
        let mut holidays = Holidays::default();
        for (year, table) in SHIPPED {
            holidays.add_year(year, table)?;
        }
        Ok(holidays)
    }

    /// Adds the table of `year` (CSV `day,kind,name`; kind `libur` or `cuti`); every day must lie
    /// in that year.
    pub fn add_year(&mut self, year: i32, table: &str) -> Result<(), HolidayError> {
        let problem = |line: usize, problem: String| HolidayError::Line {
            year,
            line,
            problem,
        };
        let mut reader = csv::Reader::from_reader(table.as_bytes());
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| problem(line, e.to_string()))?;
            let (Some(day), Some(kind), Some(name)) = (record.get(0), record.get(1), record.get(2))
            else {
                return Err(problem(line, "expected day,kind,name".into()));
            };
            let day = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
                .map_err(|_| problem(line, format!("\"{day}\" is not a day written YYYY-MM-DD")))?;
            if day.year() != year {
                return Err(problem(line, format!("{day} is not in {year}")));
            }
            let kind = match kind.trim() {
                "libur" => HolidayKind::National,
                "cuti" => HolidayKind::JointLeave,
                other => {
                    return Err(problem(
                        line,
                        format!("kind \"{other}\" is not libur or cuti"),
                    ));
                }
            };
            let name = name.trim().to_string();
            self.days.insert(day, Holiday { kind, name });
        }
        self.years.insert(year);
        Ok(())
    }

    /// The day off on `day`, if it is one (weekends aside).
    pub fn holiday(&self, day: NaiveDate) -> Option<&Holiday> {
        self.days.get(&day)
    }

    /// Whether `day` is a working day: not a Saturday or Sunday, not a holiday.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.days.contains_key(&day)
    }

    /// The deadline `n` working days after `received` (the day of receipt does not count: a
    /// report received on a Friday has Monday as its first working day).
    pub fn add_working_days(&self, received: NaiveDate, n: u32) -> Deadline {
        let mut day = received;
        let mut counted = 0;
        let mut holidays_known = true;
        while counted < n {
            day = day.succ_opt().unwrap_or(day);
            holidays_known &= self.years.contains(&day.year());
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        Deadline {
            day,
            holidays_known,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn deadlines_count_working_days_past_weekends_holidays_and_joint_leave() {
        let holidays = Holidays::shipped().unwrap();
        // Thursday: Friday, Monday, Tuesday.
        let due = holidays.add_working_days(day("2026-03-12"), 3);
        assert_eq!(due.day, day("2026-03-17"));
        assert!(due.holidays_known);
        // Tuesday before Idul Fitri: Wed 18 (joint leave), Thu 19 (Nyepi), Fri 20 (joint leave),
        // the weekend (Idul Fitri), Mon 23 and Tue 24 (joint leave) are off: Wed 25, Thu 26, Fri 27.
        assert_eq!(
            holidays.add_working_days(day("2026-03-17"), 3).day,
            day("2026-03-27")
        );
        // Five working days from a Friday: across the weekend to the next Friday.
        assert_eq!(
            holidays.add_working_days(day("2026-11-20"), 5).day,
            day("2026-11-27")
        );
        // Across the Christmas joint leave and holiday: Wed 23, Mon 28 to Thu 31.
        let due = holidays.add_working_days(day("2026-12-22"), 5);
        assert_eq!((due.day, due.holidays_known), (day("2026-12-31"), true));
        // One more reaches a year whose table is not known: counted with weekends only, and said.
        let due = holidays.add_working_days(day("2026-12-22"), 6);
        assert_eq!((due.day, due.holidays_known), (day("2027-01-01"), false));
        assert_eq!(
            holidays.holiday(day("2026-03-21")).map(|h| h.kind),
            Some(HolidayKind::National)
        );
        assert!(!holidays.is_working_day(day("2026-05-15")));
        assert!(holidays.is_working_day(day("2026-05-18")));
    }

    #[test]
    fn a_broken_holiday_table_is_refused_with_its_line() {
        let mut holidays = Holidays::default();
        for (table, says) in [
            ("day,kind,name\n2026-13-01,libur,x\n", "line 2"),
            (
                "day,kind,name\n2026-01-01,libur,x\n2025-12-31,libur,y\n",
                "not in 2026",
            ),
            ("day,kind,name\n2026-01-01,free,x\n", "libur or cuti"),
        ] {
            let error = holidays.add_year(2026, table).unwrap_err().to_string();
            assert!(error.contains(says), "{error}");
        }
        // The shipped table: 17 national holidays and 8 joint leave days (SKB 3 Menteri 2026).
        let shipped = Holidays::shipped().unwrap();
        let kinds: Vec<HolidayKind> = shipped.days.values().map(|h| h.kind).collect();
        let national = kinds
            .iter()
            .filter(|k| **k == HolidayKind::National)
            .count();
        assert_eq!((national, kinds.len() - national), (17, 8));
    }

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
