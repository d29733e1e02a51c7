//! Availability calculation (seed 000 §3.1.5.2): the free slots of a consultation's duration
//! within staff availabilities, inside the planning window, around existing appointments.

use chrono::{DateTime, Duration, DurationRound, Utc};
use uuid::Uuid;

/// One availability block that allows the consultation type.
#[derive(Debug, Clone)]
pub struct Block {
    pub availability_id: Uuid,
    pub staff_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
}

/// A candidate slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub availability_id: Uuid,
    pub staff_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location: Option<String>,
}

/// Slots start on a 5-minute grid when the window cuts into a block.
const GRID_MINUTES: i64 = 5;

fn round_up(t: DateTime<Utc>) -> DateTime<Utc> {
    let step = Duration::minutes(GRID_MINUTES);
    match t.duration_trunc(step) {
        Ok(down) if down == t => t,
        Ok(down) => down.checked_add_signed(step).unwrap_or(t),
        Err(_) => t,
    }
}

/// The free slots of `duration` in `blocks` within `[from, to)`, avoiding each staff member's
/// `busy` intervals (given by `busy(staff_id)`), earliest first, at most `max`. Within a block,
/// slots follow each other from the block's start; a busy interval pushes the next candidate to
/// its end.
pub fn free_slots(
    blocks: &[Block],
    busy: impl Fn(Uuid) -> Vec<(DateTime<Utc>, DateTime<Utc>)>,
    duration: Duration,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max: usize,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    if duration <= Duration::zero() {
        return out;
    }
    for b in blocks {
        let taken = busy(b.staff_id);
        let mut s = if b.starts_at < from {
            round_up(from)
        } else {
            b.starts_at
        };
        while let Some(e) = s.checked_add_signed(duration) {
            if e > b.ends_at || e > to {
                break;
            }
            match taken.iter().find(|(bs, be)| *bs < e && *be > s) {
                // `be > s`: the candidate moves forward.
                Some((_, be)) => s = *be,
                None => {
                    out.push(Candidate {
                        availability_id: b.availability_id,
                        staff_id: b.staff_id,
                        starts_at: s,
                        ends_at: e,
                        location: b.location.clone(),
                    });
                    s = e;
                }
            }
        }
    }
    out.sort_by_key(|c| (c.starts_at, c.staff_id));
    out.truncate(max);
    out
}

/// Whether a slot `[starts, starts + duration)` lies within the block.
pub fn fits(b: &Block, starts: DateTime<Utc>, duration: Duration) -> bool {
    starts
        .checked_add_signed(duration)
        .is_some_and(|e| starts >= b.starts_at && e <= b.ends_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-04-20T{h:02}:{m:02}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn block(staff: Uuid, s: DateTime<Utc>, e: DateTime<Utc>) -> Block {
        Block {
            availability_id: Uuid::now_v7(),
            staff_id: staff,
            starts_at: s,
            ends_at: e,
            location: Some("Kamer 1".into()),
        }
    }

    #[test]
    fn slots_fill_the_block_around_appointments() {
        let staff = Uuid::now_v7();
        let blocks = [block(staff, at(9, 0), at(11, 0))];
        let slots = free_slots(
            &blocks,
            |_| vec![(at(9, 30), at(10, 15))],
            Duration::minutes(30),
            at(8, 0),
            at(23, 0),
            50,
        );
        let starts: Vec<_> = slots.iter().map(|s| s.starts_at).collect();
        assert_eq!(starts, [at(9, 0), at(10, 15)]);
    }

    #[test]
    fn the_window_and_the_deadline_cut_the_blocks() {
        let staff = Uuid::now_v7();
        let blocks = [block(staff, at(9, 0), at(12, 0))];
        let slots = free_slots(
            &blocks,
            |_| Vec::new(),
            Duration::minutes(60),
            at(9, 2),
            at(11, 30),
            50,
        );
        let starts: Vec<_> = slots.iter().map(|s| s.starts_at).collect();
        assert_eq!(starts, [at(9, 5), at(10, 5)]);
        assert!(
            free_slots(
                &blocks,
                |_| Vec::new(),
                Duration::minutes(60),
                at(13, 0),
                at(14, 0),
                50
            )
            .is_empty()
        );
    }

    #[test]
    fn a_full_block_yields_nothing_and_max_limits() {
        let staff = Uuid::now_v7();
        let blocks = [block(staff, at(9, 0), at(10, 0))];
        assert!(
            free_slots(
                &blocks,
                |_| vec![(at(8, 0), at(12, 0))],
                Duration::minutes(15),
                at(0, 0),
                at(23, 0),
                50
            )
            .is_empty()
        );
        assert_eq!(
            free_slots(
                &blocks,
                |_| Vec::new(),
                Duration::minutes(15),
                at(0, 0),
                at(23, 0),
                3
            )
            .len(),
            3
        );
        assert!(fits(&blocks[0], at(9, 45), Duration::minutes(15)));
        assert!(!fits(&blocks[0], at(9, 50), Duration::minutes(15)));
    }
}
