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

/// A filter on `tickets.id`: tickets with every word (as a prefix) in the subject or one
/// message; `None` when the query has no words.
pub fn matching(conn: &AnyConnection, q: &str, include_internal: bool) -> Option<Matching> {
    let words = words(q);
    if words.is_empty() {
        return None;
    }
    let (query, from) = match conn {
        AnyConnection::Sqlite(_) => (
            words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" "),
            "tickets.id IN (SELECT ticket_id FROM ticket_search WHERE ticket_search MATCH ",
        ),
        AnyConnection::Postgresql(_) => (
            words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
            "tickets.id IN (SELECT ticket_id FROM ticket_search WHERE body @@ to_tsquery('simple', ",
        ),
    };
    let close = match (conn, include_internal) {
        (AnyConnection::Sqlite(_), true) => ")",
        (AnyConnection::Sqlite(_), false) => " AND public = 1)",
        (AnyConnection::Postgresql(_), true) => "))",
        (AnyConnection::Postgresql(_), false) => ") AND public)",
    };
    Some(sql::<Bool>(from).bind::<Text, _>(query).sql(close))
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
