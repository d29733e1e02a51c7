//! Product parameters: per-tenant typed settings by code, from a fixed catalogue. A parameter
//! never set has its default.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loket_common::time::{from_db, to_db};
use loket_common::{Error, Page, PageQuery, Permission, Principal, Result};
use loket_storage::AnyConnection;
use loket_storage::schema::product_parameters;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ConsultationTypes;
use crate::api::{ParameterType, ProductParameter};
use crate::types;

/// Turns availability calculation and "save and plan" of call requests on (1) or off (0).
pub const AUTOPLAN: &str = "CalculateAvailabilitiesForAppointmentRequest";
/// The consultation type preselected for new call requests; may be a no-show type
/// (R-NOSHOW-SELECT exception).
pub const DEFAULT_CONSULTATION_TYPE: &str = "Consultation.DefaultConsultationType";

/// One entry of the catalogue.
struct Spec {
    code: &'static str,
    value_type: ParameterType,
    description: &'static str,
    default: fn() -> Value,
}

const CATALOGUE: &[Spec] = &[
    Spec {
        code: DEFAULT_CONSULTATION_TYPE,
        value_type: ParameterType::ConsultationType,
        description: "The consultation type used for a new call request that names none. It may be a \
                      no-show type; a call request using it may then be saved with it (R-NOSHOW-SELECT).",
        default: || Value::Null,
    },
    Spec {
        code: AUTOPLAN,
        value_type: ParameterType::Flag,
        description: "Turns ON (1) / OFF (0) availability calculation and the direct planning option \
                      (\"save and plan\", `POST /call-requests?plan=true`) after creating a call request.",
        default: || json!(0),
    },
];

fn spec(code: &str) -> Result<&'static Spec> {
    CATALOGUE
        .iter()
        .find(|s| s.code == code)
        .ok_or_else(|| Error::not_found("product parameter"))
}

fn stored(
    conn: &mut AnyConnection,
    tenant: Uuid,
    code: &str,
) -> Result<Option<(Value, NaiveDateTime)>> {
    let row: Option<(String, NaiveDateTime)> = product_parameters::table
        .filter(product_parameters::tenant_id.eq(tenant.to_string()))
        .filter(product_parameters::code.eq(code))
        .select((product_parameters::value, product_parameters::updated_at))
        .first(conn)
        .optional()?;
    row.map(|(v, at)| Ok((serde_json::from_str(&v).map_err(Error::internal)?, at)))
        .transpose()
}

fn value_of(conn: &mut AnyConnection, tenant: Uuid, code: &str) -> Result<Value> {
    let s = spec(code)?;
    Ok(stored(conn, tenant, code)?
        .map(|(v, _)| v)
        .unwrap_or_else(s.default))
}

fn to_api(conn: &mut AnyConnection, tenant: Uuid, s: &Spec) -> Result<ProductParameter> {
    let current = stored(conn, tenant, s.code)?;
    Ok(ProductParameter {
        code: s.code.to_owned(),
        description: s.description.to_owned(),
        value_type: s.value_type,
        value: current
            .as_ref()
            .map(|(v, _)| v.clone())
            .unwrap_or_else(s.default),
        default: (s.default)(),
        updated_at: current.map(|(_, at)| from_db(at)),
    })
}

/// Whether "save and plan" and availability calculation are on for the tenant.
pub fn autoplan_enabled(conn: &mut AnyConnection, tenant: Uuid) -> Result<bool> {
    Ok(value_of(conn, tenant, AUTOPLAN)?.as_i64() == Some(1))
}

/// The tenant's default consultation type for call requests, if set.
pub fn default_consultation_type(conn: &mut AnyConnection, tenant: Uuid) -> Result<Option<Uuid>> {
    Ok(value_of(conn, tenant, DEFAULT_CONSULTATION_TYPE)?
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok()))
}

/// Checks a new value against the parameter's type; returns it in stored form.
fn checked(conn: &mut AnyConnection, tenant: Uuid, s: &Spec, value: Value) -> Result<Value> {
    match s.value_type {
        ParameterType::Flag => match value.as_f64() {
            None if value.is_null() => Ok((s.default)()),
            Some(0.0) => Ok(json!(0)),
            Some(1.0) => Ok(json!(1)),
            _ => Err(Error::invalid("value", "must be 0 or 1")),
        },
        ParameterType::ConsultationType => match &value {
            Value::Null => Ok(value),
            Value::String(id) => {
                let id = Uuid::parse_str(id).map_err(|_| {
                    Error::invalid("value", "must be a consultation type id or null")
                })?;
                types::info(conn, tenant, id)?;
                Ok(json!(id))
            }
            _ => Err(Error::invalid(
                "value",
                "must be a consultation type id or null",
            )),
        },
    }
}

impl ConsultationTypes {
    /// Every product parameter with the tenant's value, in catalogue order.
    pub async fn list_parameters(
        &self,
        p: &Principal,
        page: &PageQuery,
    ) -> Result<Page<ProductParameter>> {
        p.require(Permission::AgendaRead)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id;
        let rows = self
            .db
            .read(move |c| {
                let mut specs: Vec<&Spec> = CATALOGUE.iter().collect();
                specs.sort_by_key(|s| s.code);
                specs
                    .into_iter()
                    .filter(|s| after.as_deref().is_none_or(|a| s.code > a))
                    .take(limit as usize + 1)
                    .map(|s| to_api(c, tenant, s))
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        Ok(Page::from_rows(rows, limit, |r| r.code.clone()))
    }

    /// One product parameter.
    pub async fn parameter(&self, p: &Principal, code: &str) -> Result<ProductParameter> {
        p.require(Permission::AgendaRead)?;
        let s = spec(code)?;
        let tenant = p.tenant_id;
        self.db.read(move |c| to_api(c, tenant, s)).await
    }

    /// Sets a product parameter: `0`/`1` (or `null` for the default) for a flag, a
    /// consultation type id or `null` for a type.
    pub async fn set_parameter(
        &self,
        p: &Principal,
        code: &str,
        value: Value,
    ) -> Result<ProductParameter> {
        p.require(Permission::AgendaWrite)?;
        let s = spec(code)?;
        let (tenant, now) = (p.tenant_id, self.clock.now());
        self.db
            .write(move |c| {
                let value = checked(c, tenant, s, value)?.to_string();
                let at = to_db(now);
                let n = diesel::update(
                    product_parameters::table
                        .filter(product_parameters::tenant_id.eq(tenant.to_string()))
                        .filter(product_parameters::code.eq(s.code)),
                )
                .set((
                    product_parameters::value.eq(&value),
                    product_parameters::updated_at.eq(at),
                ))
                .execute(c)?;
                if n == 0 {
                    diesel::insert_into(product_parameters::table)
                        .values((
                            product_parameters::tenant_id.eq(tenant.to_string()),
                            product_parameters::code.eq(s.code),
                            product_parameters::value.eq(&value),
                            product_parameters::updated_at.eq(at),
                        ))
                        .execute(c)?;
                }
                to_api(c, tenant, s)
            })
            .await
    }
}
