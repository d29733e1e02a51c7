//! Whether a consultation type may be chosen: R-NOSHOW-SELECT and R-CONTACT.
//!
//! The pure checks ([`check_selectable`], [`check_contact`]) hold the rules; the connection-level
//! functions gather the facts inside the caller's transaction and apply them, so appointments
//! and call requests (created directly, by booking or by any other path) obey the same rules.

use loket_agenda_core::employees::{self, Contact};
use loket_common::{Code, Error, InvalidParam, Result};
use loket_storage::AnyConnection;
use uuid::Uuid;

use crate::parameters;
use crate::types::{self, TypeInfo};

/// What the type is being chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A new appointment (or changing an appointment's type).
    Appointment,
    /// A new call request (or changing its type); `default_type` is the tenant's
    /// `Consultation.DefaultConsultationType`.
    CallRequest { default_type: Option<Uuid> },
}

fn field_error(code: Code, field: &str, detail: String) -> Error {
    let mut e = Error::new(code, detail.clone());
    e.invalid_params.push(InvalidParam {
        name: field.to_owned(),
        reason: detail,
    });
    e
}

/// R-NOSHOW-SELECT: a no-show type cannot be chosen for a new appointment or call request,
/// except, for a call request, the no-show type the default-type parameter names. Inactive
/// types cannot be chosen either.
pub fn check_selectable(t: &TypeInfo, purpose: Purpose) -> Result<()> {
    if t.is_no_show {
        let default_exception = matches!(
            purpose,
            Purpose::CallRequest { default_type: Some(d) } if d == t.id
        );
        if !default_exception {
            return Err(field_error(
                Code::NoShowSelect,
                "consultation_type_id",
                format!(
                    "`{}` is a no-show consultation type; it cannot be chosen here (it is used by \
                     no-show processing).",
                    t.name
                ),
            ));
        }
    }
    if !t.active {
        return Err(Error::invalid(
            "consultation_type_id",
            "is an inactive consultation type",
        ));
    }
    Ok(())
}

/// R-CONTACT: a type that requires contact needs an employee with an e-mail address or mobile
/// number, private or work.
pub fn check_contact(t: &TypeInfo, contact: &Contact) -> Result<()> {
    if t.requires_contact && !contact.reachable() {
        return Err(field_error(
            Code::Contact,
            "employee_id",
            format!(
                "`{}` requires that the employee can be contacted, but the employee has no e-mail \
                 address or mobile number (private or work).",
                t.name
            ),
        ));
    }
    Ok(())
}

/// Loads the type and the employee and applies both rules for a new appointment; 404 for an
/// unknown type or employee.
pub fn for_appointment(
    conn: &mut AnyConnection,
    tenant: Uuid,
    type_id: Uuid,
    employee_id: Uuid,
) -> Result<TypeInfo> {
    let t = types::info(conn, tenant, type_id)?;
    let contact = employees::contact(conn, tenant, employee_id)?;
    check_selectable(&t, Purpose::Appointment)?;
    check_contact(&t, &contact)?;
    Ok(t)
}

/// Loads the type and the employee and applies both rules for a call request, with the
/// default-type exception; 404 for an unknown type or employee.
pub fn for_call_request(
    conn: &mut AnyConnection,
    tenant: Uuid,
    type_id: Uuid,
    employee_id: Uuid,
) -> Result<TypeInfo> {
    let t = types::info(conn, tenant, type_id)?;
    let contact = employees::contact(conn, tenant, employee_id)?;
    let default_type = parameters::default_consultation_type(conn, tenant)?;
    check_selectable(&t, Purpose::CallRequest { default_type })?;
    check_contact(&t, &contact)?;
    Ok(t)
}

/// R-CONTACT alone, for an appointment whose employee changes but whose type stays.
pub fn contact_for(
    conn: &mut AnyConnection,
    tenant: Uuid,
    t: &TypeInfo,
    employee_id: Uuid,
) -> Result<()> {
    let contact = employees::contact(conn, tenant, employee_id)?;
    check_contact(t, &contact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(no_show: bool, requires_contact: bool) -> TypeInfo {
        TypeInfo {
            id: Uuid::now_v7(),
            name: "Spreekuur".into(),
            duration_minutes: 30,
            is_no_show: no_show,
            requires_contact,
            default_reminders: Vec::new(),
            billing_code: None,
            amount_cents: 100,
            active: true,
        }
    }

    #[test]
    fn r_noshow_select_refuses_no_show_types_for_appointments_and_call_requests() {
        let ns = kind(true, false);
        let e = check_selectable(&ns, Purpose::Appointment).unwrap_err();
        assert_eq!(e.code, Code::NoShowSelect);
        assert_eq!(e.code.status(), 422);
        assert_eq!(e.invalid_params[0].name, "consultation_type_id");
        let e = check_selectable(&ns, Purpose::CallRequest { default_type: None }).unwrap_err();
        assert_eq!(e.code, Code::NoShowSelect);
        assert!(check_selectable(&kind(false, false), Purpose::Appointment).is_ok());
    }

    #[test]
    fn r_noshow_select_exception_only_for_the_default_type_of_call_requests() {
        let ns = kind(true, false);
        assert!(
            check_selectable(
                &ns,
                Purpose::CallRequest {
                    default_type: Some(ns.id)
                }
            )
            .is_ok()
        );
        let other = Uuid::now_v7();
        assert!(
            check_selectable(
                &ns,
                Purpose::CallRequest {
                    default_type: Some(other)
                }
            )
            .is_err()
        );
        // The parameter does not open no-show types for appointments.
        assert!(check_selectable(&ns, Purpose::Appointment).is_err());
    }

    #[test]
    fn inactive_types_are_not_selectable() {
        let mut t = kind(false, false);
        t.active = false;
        assert_eq!(
            check_selectable(&t, Purpose::Appointment).unwrap_err().code,
            Code::ValidationFailed
        );
    }

    #[test]
    fn r_contact_refuses_unreachable_employees_only_when_required() {
        let t = kind(false, true);
        let e = check_contact(&t, &Contact::default()).unwrap_err();
        assert_eq!(e.code, Code::Contact);
        assert_eq!(e.code.status(), 422);
        assert!(check_contact(&kind(false, false), &Contact::default()).is_ok());
        let work_only = Contact {
            work_email: Some("w@example.org".into()),
            ..Contact::default()
        };
        assert!(check_contact(&t, &work_only).is_ok());
    }
}
