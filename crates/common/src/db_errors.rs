//! How database errors become client-facing errors, so `?` works on diesel results everywhere
//! in the domain layer. Unique and foreign-key violations that a domain can explain should be
//! mapped by the domain before they reach this generic fallback.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::{Code, Error};

impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::NotFound => {
                Error::new(Code::NotFound, "No such resource exists.").with_source(e)
            }
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Error::conflict("A resource with these unique values already exists.")
                    .with_source(e)
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::SerializationFailure | DatabaseErrorKind::ClosedConnection,
                _,
            ) => Error::unavailable(e),
            _ => Error::internal(e),
        }
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Error::unavailable(e)
    }
}
