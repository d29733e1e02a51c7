//! Keyword search over ticket subjects and messages: SQLite FTS5 or a PostgreSQL tsvector with a
//! GIN index, both over the `ticket_search` table that triggers keep in step (migration
//! `ticket_search`). Customers' searches skip internal notes (R-OWN).

use diesel::dsl::{AsExprOf, sql};
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::sql_types::{Bool, Text};
use loket_storage::AnyConnection;

/// The SQL filter [`matching`] builds.
pub type Matching = SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>;

/// Most words a search uses; further words are ignored.
pub const MAX_WORDS: usize = 10;

/// The words of a keyword query: runs of letters and digits, lower-cased, as both full-text
/// engines tokenise them. Punctuation and operators are dropped, so no input is a syntax error.
pub fn words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(str::to_lowercase)
        .collect()
}

/// A full-text index kept in step by triggers: a table with the columns `key_column` (the id
/// of what a row belongs to), `public` and `body` (FTS5 on SQLite, a `tsvector` on PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub struct Index {
    /// The index table.
    pub table: &'static str,
    /// Its column naming the object.
    pub key_column: &'static str,
    /// The outer query's column it is matched against.
    pub key: &'static str,
}

/// Ticket subjects and messages (migration `ticket_search`).
pub const TICKETS: Index = Index {
    table: "ticket_search",
    key_column: "ticket_id",
    key: "tickets.id",
};

/// A filter on `tickets.id`: tickets with every word (as a prefix) in the subject or one
/// message; `None` when the query has no words.
pub fn matching(conn: &AnyConnection, q: &str, include_internal: bool) -> Option<Matching> {
    let words = words(q);
    (!words.is_empty()).then(|| matching_in(conn, &TICKETS, &words, !include_internal))
}

/// `column = value` written `+column = ?`, so that SQLite cannot answer it from an index. A
/// search on SQLite filters the tenant (and status) so: otherwise SQLite reads every ticket of
/// the tenant through the tenant index and tests each against the search hits (linear in the
/// table; issue 8's growth figures), instead of starting from the hits by primary key, in id
/// order. PostgreSQL plans this from its statistics and keeps the plain filters.
pub fn eq_unindexed(column: &str, value: String) -> Matching {
    sql::<Bool>(&format!("+{column} = "))
        .bind::<Text, _>(value)
        .sql("")
}

/// A filter on `index.key`: objects with one index row holding every word (as a prefix);
/// `public_only` skips rows whose `public` is false.
pub fn matching_in(
    conn: &AnyConnection,
    index: &Index,
    words: &[String],
    public_only: bool,
) -> Matching {
    let Index {
        table,
        key_column,
        key,
    } = *index;
    let (query, from, close) = match conn {
        AnyConnection::Sqlite(_) => (
            words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" "),
            format!("{key} IN (SELECT {key_column} FROM {table} WHERE {table} MATCH "),
            if public_only { " AND public = 1)" } else { ")" },
        ),
        AnyConnection::Postgresql(_) => (
            words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
            // `= ANY(ARRAY(…))`: the hits are collected first and looked up by key, whatever
            // PostgreSQL estimates for a prefix query; `IN (…)` let it walk the whole key index
            // in order to merge with the hits (issue 8's growth figures).
            format!(
                "{key} = ANY(ARRAY(SELECT {key_column} FROM {table} WHERE body @@ to_tsquery('simple', "
            ),
            if public_only { ") AND public))" } else { ")))" },
        ),
    };
    sql::<Bool>(&from).bind::<Text, _>(query).sql(close)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_operators_and_punctuation() {
        assert_eq!(
            words("  Rooster\"* OR NEAR(x) -é "),
            ["rooster", "or", "near", "x", "é"]
        );
        assert_eq!(words("TXH-PSCHP-612"), ["txh", "pschp", "612"]);
        assert!(words("!!! ---").is_empty());
        assert_eq!(words(&"a ".repeat(50)).len(), MAX_WORDS);
    }
}
