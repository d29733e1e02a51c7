//! Reports for staff. R-PRIVACY (seed 003 §3): privacy incidents per organisation and period —
//! tickets labelled `security-incident-light` (one person's data) or `security-incident`
//! (several persons' data), counted by the day (UTC) they were created.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use loket_common::validate::Validator;
use loket_common::{Permission, Principal, Result, ids};
use loket_storage::schema::{organisations, tickets};

use crate::Tickets;
use crate::api::{PrivacyIncidentCount, PrivacyReport, PrivacyReportQuery};
use crate::model::string_list;
use crate::privacy::{LABEL_FULL, LABEL_LIGHT};

/// A `YYYY-MM-DD` date (four-digit year), or the reason it is not one.
fn parse_date(v: &mut Validator, name: &str, value: Option<&str>) -> Option<NaiveDate> {
    let Some(s) = value else {
        v.fail(name, "is required (YYYY-MM-DD)");
        return None;
    };
    let shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) if shape => Some(d),
        _ => {
            v.fail(name, "must be a date (YYYY-MM-DD)");
            None
        }
    }
}

impl Tickets {
    /// Privacy incidents per organisation created from `from` to `to` (UTC dates, inclusive);
    /// staff only.
    pub async fn privacy_report(
        &self,
        p: &Principal,
        q: &PrivacyReportQuery,
    ) -> Result<PrivacyReport> {
        p.require(Permission::TicketsRead)?;
        let mut v = Validator::new();
        let from = parse_date(&mut v, "from", q.from.as_deref());
        let to = parse_date(&mut v, "to", q.to.as_deref());
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            v.fail("to", "must not be before `from`");
        }
        v.finish()?;
        let (Some(from), Some(to)) = (from, to) else {
            return Ok(PrivacyReport { items: Vec::new() });
        };
        let start = from.and_time(NaiveTime::MIN);
        let end = to
            .and_time(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or(NaiveTime::MIN));
        let p = p.clone();
        self.db
            .read(move |c| {
                if crate::service::viewer(c, &p)?.is_customer() {
                    return Err(loket_common::Error::forbidden(
                        "The privacy-incident report is for staff.",
                    ));
                }
                let tenant = p.tenant_id.to_string();
                let rows: Vec<(Option<String>, String)> = tickets::table
                    .filter(tickets::tenant_id.eq(&tenant))
                    .filter(tickets::created_at.ge(start))
                    .filter(tickets::created_at.le(end))
                    .filter(tickets::labels.like("%security-incident%"))
                    .select((tickets::organisation_id, tickets::labels))
                    .load(c)?;
                // (light, full, total) per organisation id; `None` = no organisation.
                let mut counts: BTreeMap<Option<String>, (u64, u64, u64)> = BTreeMap::new();
                for (org, labels) in rows {
                    let labels = string_list(&labels)?;
                    let light = labels.iter().any(|l| l == LABEL_LIGHT);
                    let full = labels.iter().any(|l| l == LABEL_FULL);
                    if light || full {
                        let e = counts.entry(org).or_default();
                        e.0 += u64::from(light);
                        e.1 += u64::from(full);
                        e.2 += 1;
                    }
                }
                let org_ids: Vec<String> = counts.keys().flatten().cloned().collect();
                let names: BTreeMap<String, String> = organisations::table
                    .filter(organisations::tenant_id.eq(&tenant))
                    .filter(organisations::id.eq_any(org_ids))
                    .select((organisations::id, organisations::name))
                    .load::<(String, String)>(c)?
                    .into_iter()
                    .collect();
                let mut items = Vec::with_capacity(counts.len());
                for (org, (light, full, total)) in counts {
                    let (organisation_id, organisation_name) = match org {
                        Some(o) => (Some(ids::parse_stored(&o)?), names.get(&o).cloned()),
                        None => (None, None),
                    };
                    items.push(PrivacyIncidentCount {
                        organisation_id,
                        organisation_name,
                        light,
                        full,
                        total,
                    });
                }
                items.sort_by(|a, b| {
                    (
                        a.organisation_id.is_none(),
                        &a.organisation_name,
                        a.organisation_id,
                    )
                        .cmp(&(
                            b.organisation_id.is_none(),
                            &b.organisation_name,
                            b.organisation_id,
                        ))
                });
                Ok(PrivacyReport { items })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_four_digit_iso_days() {
        let mut v = Validator::new();
        assert_eq!(
            parse_date(&mut v, "from", Some("2026-02-28")),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        assert!(v.finish().is_ok());
        for bad in [
            "2026-02-30",
            "26-02-28",
            "2026-2-28",
            "+02026-02-28",
            "2026-02-28T00:00:00Z",
            "",
        ] {
            let mut v = Validator::new();
            assert_eq!(parse_date(&mut v, "from", Some(bad)), None, "{bad}");
            assert!(v.finish().is_err(), "{bad}");
        }
        let mut v = Validator::new();
        assert_eq!(parse_date(&mut v, "to", None), None);
        assert!(v.finish().is_err());
    }
}
