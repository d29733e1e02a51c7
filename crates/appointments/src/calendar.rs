//! The iCalendar (RFC 5545) feed of a staff member's appointments, built with the `icalendar`
//! crate (which escapes TEXT values and folds lines at 75 octets). `DTSTAMP` is the
//! appointment's last change, never the wall clock, so the feed is deterministic.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};
use uuid::Uuid;

use crate::api::AppointmentStatus;

/// One appointment as a calendar entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub summary: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub status: AppointmentStatus,
    pub concept: bool,
    pub updated_at: DateTime<Utc>,
}

/// RFC 5545 TEXT may hold line feeds (escaped as `\n`) but no carriage returns.
fn text(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// The calendar document (`text/calendar`), named after the staff member.
pub fn document(name: &str, host: &str, entries: &[Entry]) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//Loket//Agenda//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name(&text(name));
    for e in entries {
        let mut ev = Event::new();
        ev.uid(&format!("{}@{host}", e.id))
            .timestamp(e.updated_at)
            .last_modified(e.updated_at)
            .starts(e.starts_at)
            .ends(e.ends_at)
            .summary(&text(&e.summary))
            .status(match (e.status, e.concept) {
                (AppointmentStatus::Lapsed, _) => EventStatus::Cancelled,
                (_, true) => EventStatus::Tentative,
                _ => EventStatus::Confirmed,
            });
        if let Some(l) = &e.location {
            ev.location(&text(l));
        }
        if let Some(n) = &e.notes {
            ev.description(&text(n));
        }
        cal.push(ev.done());
    }
    cal.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_folds_long_lines() {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        let doc = document(
            "Dr. A. Bakker",
            "loket.example.org",
            &[Entry {
                id: Uuid::nil(),
                summary: "Spreekuur; bedrijfsarts, Mevr. Jansen".into(),
                starts_at: at,
                ends_at: at + chrono::Duration::minutes(30),
                location: Some("Kamer 1".into()),
                notes: Some(format!("line one\r\nline two {}", "x".repeat(120))),
                status: AppointmentStatus::Planned,
                concept: true,
                updated_at: at,
            }],
        );
        assert!(doc.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(doc.ends_with("END:VCALENDAR\r\n"));
        assert!(doc.contains("SUMMARY:Spreekuur\\; bedrijfsarts\\, Mevr. Jansen\r\n"));
        assert!(doc.contains("STATUS:TENTATIVE\r\n"));
        assert!(doc.contains("DTSTART:20260921T"));
        assert!(doc.contains("UID:00000000-0000-0000-0000-000000000000@loket.example.org\r\n"));
        assert!(doc.contains("DESCRIPTION:line one\\nline two"));
        for line in doc.split("\r\n") {
            assert!(line.len() <= 75, "unfolded line: {line}");
            assert!(!line.contains('\r') && !line.contains('\n'));
        }
    }
}
