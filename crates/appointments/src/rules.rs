//! The appointment rules (DOMAIN.md "Agenda"): one function, [`decide`], says whether an
//! operation is allowed and, if not, which rule refuses it. The service calls it before every
//! change, and [`actions`] calls it for every operation to build the `actions` list — so the menu
//! a UI shows and what the API accepts cannot disagree (seed 000 §3.1.2).

use loket_common::{Code, Error, Result};

use crate::api::{Action, AppointmentStatus};

/// Everything the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: AppointmentStatus,
    pub concept: bool,
    /// The appointment's current type is a no-show type.
    pub type_is_no_show: bool,
    /// At least one of its procedures is submitted.
    pub any_submitted: bool,
    /// Set while the appointment is a processed no-show: whether the no-show consultation was
    /// completed since.
    pub no_show_completed: Option<bool>,
    /// A no-show type is available to convert to.
    pub no_show_type_available: bool,
}

fn refuse(code: Code, detail: &str) -> Result<()> {
    Err(Error::new(code, detail))
}

/// Whether `op` is allowed now; the error names the refusing rule.
pub fn decide(f: &Facts, op: Action) -> Result<()> {
    use AppointmentStatus::{Completed, Lapsed, Planned};
    if f.status == Lapsed {
        return refuse(
            Code::InvalidState,
            "The appointment has lapsed; a lapsed appointment cannot be changed.",
        );
    }
    let completed = f.status == Completed;
    match op {
        Action::Edit if completed => refuse(
            Code::CompletedReadonly,
            "R-COMPLETED-READONLY: a completed appointment cannot be edited or marked as concept.",
        ),
        Action::Edit => Ok(()),
        Action::Delete | Action::Reschedule if completed && f.any_submitted => refuse(
            Code::CompletedSubmitted,
            "R-COMPLETED-SUBMITTED: a procedure of this appointment has been submitted; it can only \
             be marked lapsed.",
        ),
        Action::Delete | Action::Reschedule => Ok(()),
        Action::Complete if completed => {
            refuse(Code::InvalidState, "The appointment is already completed.")
        }
        Action::Complete if f.concept => refuse(
            Code::InvalidState,
            "A concept appointment cannot be completed; confirm it first (`concept: false`).",
        ),
        Action::Complete => Ok(()),
        Action::Uncomplete if f.status == Planned => {
            refuse(Code::InvalidState, "The appointment is not completed.")
        }
        Action::Uncomplete if f.any_submitted => refuse(
            Code::CompletedSubmitted,
            "R-COMPLETED-SUBMITTED: a procedure of this appointment has been submitted; it cannot \
             be un-completed, only marked lapsed.",
        ),
        Action::Uncomplete => Ok(()),
        Action::Lapse if f.status == Planned => refuse(
            Code::InvalidState,
            "Only a completed appointment whose procedures were submitted can be marked lapsed; \
             delete or reschedule a planned one.",
        ),
        Action::Lapse if !f.any_submitted => refuse(
            Code::CompletedOpen,
            "R-COMPLETED-OPEN: none of this appointment's procedures has been submitted; delete, \
             reschedule or un-complete it instead of marking it lapsed.",
        ),
        Action::Lapse => Ok(()),
        Action::NoShow if f.no_show_completed.is_some() || f.type_is_no_show => refuse(
            Code::InvalidState,
            "The appointment is already a no-show consultation.",
        ),
        Action::NoShow if completed && f.any_submitted => refuse(
            Code::CompletedSubmitted,
            "R-COMPLETED-SUBMITTED: a procedure of this appointment has been submitted; it cannot \
             be processed as no-show.",
        ),
        Action::NoShow if !f.no_show_type_available => refuse(
            Code::InvalidState,
            "The tenant has no active no-show consultation type to convert to.",
        ),
        Action::NoShow => Ok(()),
        Action::UndoNoShow => match f.no_show_completed {
            None => refuse(
                Code::InvalidState,
                "The appointment has not been processed as no-show.",
            ),
            Some(true) => refuse(
                Code::NoShowUndo,
                "R-NOSHOW-UNDO: the no-show consultation has been completed; the no-show can no \
                 longer be undone.",
            ),
            Some(false) if f.any_submitted => refuse(
                Code::CompletedSubmitted,
                "R-COMPLETED-SUBMITTED: a procedure of this appointment has been submitted; the \
                 no-show cannot be undone.",
            ),
            Some(false) => Ok(()),
        },
    }
}

/// The operations allowed now, in menu order: exactly those [`decide`] accepts.
pub fn actions(f: &Facts) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|op| decide(f, *op).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    fn planned() -> Facts {
        Facts {
            status: AppointmentStatus::Planned,
            concept: false,
            type_is_no_show: false,
            any_submitted: false,
            no_show_completed: None,
            no_show_type_available: true,
        }
    }

    fn completed(any_submitted: bool) -> Facts {
        Facts {
            status: AppointmentStatus::Completed,
            any_submitted,
            ..planned()
        }
    }

    fn code(f: &Facts, op: Action) -> Option<Code> {
        decide(f, op).err().map(|e| e.code)
    }

    #[test]
    fn planned_appointments_allow_the_usual_menu() {
        assert_eq!(
            actions(&planned()),
            [Edit, Complete, Reschedule, NoShow, Delete]
        );
    }

    #[test]
    fn r_completed_readonly_refuses_edits_of_completed_appointments() {
        for submitted in [false, true] {
            assert_eq!(
                code(&completed(submitted), Edit),
                Some(Code::CompletedReadonly)
            );
            assert_eq!(
                Code::CompletedReadonly.slug(),
                "completed-readonly",
                "the problem type names the rule"
            );
        }
    }

    #[test]
    fn r_completed_open_allows_delete_reschedule_uncomplete_but_not_lapse() {
        let f = completed(false);
        assert_eq!(actions(&f), [Uncomplete, Reschedule, NoShow, Delete]);
        assert_eq!(code(&f, Lapse), Some(Code::CompletedOpen));
    }

    #[test]
    fn r_completed_submitted_leaves_only_lapse() {
        let f = completed(true);
        assert_eq!(actions(&f), [Lapse]);
        for op in [Delete, Reschedule, Uncomplete, NoShow] {
            assert_eq!(code(&f, op), Some(Code::CompletedSubmitted), "{op:?}");
        }
    }

    #[test]
    fn lapsed_appointments_are_final() {
        let f = Facts {
            status: AppointmentStatus::Lapsed,
            any_submitted: true,
            ..planned()
        };
        assert!(actions(&f).is_empty());
        assert_eq!(code(&f, Lapse), Some(Code::InvalidState));
    }

    #[test]
    fn concept_appointments_cannot_be_completed() {
        let f = Facts {
            concept: true,
            ..planned()
        };
        assert_eq!(code(&f, Complete), Some(Code::InvalidState));
        assert!(actions(&f).contains(&Edit));
    }

    #[test]
    fn r_noshow_undo_only_while_the_no_show_is_not_completed() {
        let processed = Facts {
            type_is_no_show: true,
            no_show_completed: Some(false),
            ..planned()
        };
        assert_eq!(
            actions(&processed),
            [Edit, Complete, Reschedule, UndoNoShow, Delete]
        );
        let done = Facts {
            status: AppointmentStatus::Completed,
            no_show_completed: Some(true),
            ..processed
        };
        assert_eq!(code(&done, UndoNoShow), Some(Code::NoShowUndo));
        assert!(!actions(&done).contains(&UndoNoShow));
        assert_eq!(code(&planned(), UndoNoShow), Some(Code::InvalidState));
    }

    #[test]
    fn no_show_appointments_stay_editable_completable_and_reschedulable() {
        // R-NOSHOW-SELECT: existing appointments of a no-show type keep these operations.
        let f = Facts {
            type_is_no_show: true,
            ..planned()
        };
        for op in [Edit, Complete, Reschedule] {
            assert!(decide(&f, op).is_ok(), "{op:?}");
        }
        assert_eq!(code(&f, NoShow), Some(Code::InvalidState));
    }

    #[test]
    fn no_show_needs_a_no_show_type() {
        let f = Facts {
            no_show_type_available: false,
            ..planned()
        };
        assert!(!actions(&f).contains(&NoShow));
    }
}
