//! How a report of a zoning or building violation is followed: its states, the transitions staff
//! may make, how each state reads in Open311 (which knows only `open` and `closed`), and the
//! deadlines of SP4N-LAPOR! (verified within 3 working days of receipt, answered within 5 working
//! days of verification).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Deadline, Holidays};

/// Working days to verify a report, from its receipt.
pub const VERIFY_WITHIN: u32 = 3;
/// Working days to answer a verified report, from its verification.
pub const ANSWER_WITHIN: u32 = 5;

/// A report's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received, not yet looked at.
    Submitted,
    /// Staff confirmed it is plausible and in the city's remit.
    Verified,
    /// The responsible unit is acting on it.
    InProgress,
    /// Acted on: the violation was dealt with.
    Resolved,
    /// Not a violation, or not the city's to act on (the note says why and who is).
    Rejected,
    /// The same as another report (the note names it).
    Duplicate,
    /// Taken off every public view by a moderator (abuse, personal data).
    Hidden,
}

/// Why a transition is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a report that is {from} cannot become {to}; from {from} it can become: {allowed}")]
pub struct Illegal {
    /// The current state.
    pub from: &'static str,
    /// The state asked for.
    pub to: &'static str,
    /// The states allowed from here.
    pub allowed: String,
}

impl Status {
    /// Every state, in the order of the workflow.
    pub const ALL: [Status; 7] = [
        Status::Submitted,
        Status::Verified,
        Status::InProgress,
        Status::Resolved,
        Status::Rejected,
        Status::Duplicate,
        Status::Hidden,
    ];

    /// The state as stored and sent (`in_progress`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Verified => "verified",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Rejected => "rejected",
            Status::Duplicate => "duplicate",
            Status::Hidden => "hidden",
        }
    }

    /// Parses a stored or sent state.
    pub fn parse(text: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The states staff may move a report to from this one. A closed report may be reopened
    /// (the reporter or staff found it was not dealt with after all); a hidden one comes back to
    /// triage.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Submitted => &[Verified, Rejected, Duplicate, Hidden],
            Verified => &[InProgress, Resolved, Rejected, Duplicate, Hidden],
            InProgress => &[Resolved, Rejected, Hidden],
            Resolved | Rejected | Duplicate => &[Verified, Hidden],
            // Back to where it stood (staff choose: the history says where that was).
            Hidden => &[
                Submitted, Verified, InProgress, Resolved, Rejected, Duplicate,
            ],
        }
    }

    /// `self` moved to `to`, if the workflow allows it.
    pub fn to(self, to: Status) -> Result<Status, Illegal> {
        if self.next().contains(&to) {
            return Ok(to);
        }
        Err(Illegal {
            from: self.as_str(),
            to: to.as_str(),
            allowed: self
                .next()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Its Open311 status: `open` while the city still owes an answer, `closed` once it gave one;
    /// `None` for a hidden report, which no public answer shows.
    pub fn open311(self) -> Option<&'static str> {
        match self {
            Status::Submitted | Status::Verified | Status::InProgress => Some("open"),
            Status::Resolved | Status::Rejected | Status::Duplicate => Some("closed"),
            Status::Hidden => None,
        }
    }

    /// Whether the public sees the report (its pin, its public notes).
    pub fn is_public(self) -> bool {
        self != Status::Hidden
    }
}

/// What the city owes on a report now, and by when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Verification, by the end of this working day.
    Verification(Deadline),
    /// An answer, by the end of this working day.
    Answer(Deadline),
}

impl Due {
    /// The deadline.
    pub fn deadline(self) -> Deadline {
        match self {
            Due::Verification(d) | Due::Answer(d) => d,
        }
    }

    /// Whether `today` is past the deadline's day.
    pub fn is_overdue(self, today: NaiveDate) -> bool {
        today > self.deadline().day
    }
}

/// What is due on a report in `status`, received on `received` and verified on `verified` (days in
/// Balikpapan); nothing once it is closed or hidden.
pub fn due(
    holidays: &Holidays,
    status: Status,
    received: NaiveDate,
    verified: Option<NaiveDate>,
) -> Option<Due> {
    match (status, verified) {
        (Status::Submitted, _) => Some(Due::Verification(
            holidays.add_working_days(received, VERIFY_WITHIN),
        )),
        (Status::Verified | Status::InProgress, Some(day)) => {
            Some(Due::Answer(holidays.add_working_days(day, ANSWER_WITHIN)))
        }
        // Verified without a recorded day (cannot happen through `to`): counted from receipt.
        (Status::Verified | Status::InProgress, None) => Some(Due::Answer(
            holidays.add_working_days(received, VERIFY_WITHIN + ANSWER_WITHIN),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_workflow_allows_its_transitions_and_names_the_others() {
        use Status::*;
        for from in Status::ALL {
            for to in Status::ALL {
                let allowed = from.next().contains(&to);
                assert_eq!(from.to(to).is_ok(), allowed, "{from:?} -> {to:?}");
            }
            assert!(!from.next().contains(&from), "{from:?} stays {from:?}");
        }
        assert_eq!(Submitted.to(Verified), Ok(Verified));
        let refused = Submitted.to(Resolved).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "a report that is submitted cannot become resolved; from submitted it can become: \
             verified, rejected, duplicate, hidden"
        );
        // Every state can be reached from a submitted report, and every state can be left.
        let mut reached = vec![Submitted];
        while let Some(s) = reached
            .iter()
            .flat_map(|s| s.next())
            .find(|s| !reached.contains(s))
        {
            reached.push(*s);
        }
        assert_eq!(reached.len(), Status::ALL.len());
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("open"), None);
    }

    #[test]
    fn open311_sees_open_and_closed_and_never_a_hidden_report() {
        use Status::*;
        let open: Vec<_> = Status::ALL
            .into_iter()
            .filter(|s| s.open311() == Some("open"))
            .collect();
        assert_eq!(open, [Submitted, Verified, InProgress]);
        assert_eq!(Hidden.open311(), None);
        assert!(!Hidden.is_public());
        assert!(Rejected.is_public());
    }

    #[test]
    fn deadlines_follow_the_state_and_skip_days_off() {
        let holidays = Holidays::shipped().unwrap();
        // Received on Friday 20 November: verified by Wednesday 25.
        let received = day("2026-11-20");
        let due = due(&holidays, Status::Submitted, received, None).unwrap();
        assert_eq!(
            due,
            Due::Verification(holidays.add_working_days(received, 3))
        );
        assert_eq!(due.deadline().day, day("2026-11-25"));
        assert!(!due.is_overdue(day("2026-11-25")));
        assert!(due.is_overdue(day("2026-11-26")));
        // Verified on Tuesday 12 May: answered by Thursday 21 (Ascension on Thursday 14 and the
        // joint leave on Friday 15 are off).
        let answer = super::due(
            &holidays,
            Status::InProgress,
            received,
            Some(day("2026-05-12")),
        )
        .unwrap();
        assert_eq!(answer.deadline().day, day("2026-05-21"));
        for closed in [
            Status::Resolved,
            Status::Rejected,
            Status::Duplicate,
            Status::Hidden,
        ] {
            assert_eq!(super::due(&holidays, closed, received, None), None);
        }
    }
}
