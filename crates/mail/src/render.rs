//! Template rendering with MiniJinja: the subject and text body as they are, the HTML body with
//! every inserted value HTML-escaped. A variable the data lacks is an error where it would be
//! printed (`{% if x %}` on a missing `x` is fine); rendering is bounded in work and size.

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// Work a render may do (MiniJinja fuel), against templates that loop without end in effect.
const FUEL: u64 = 200_000;
/// Largest rendered part.
const OUTPUT_MAX: usize = 2 * 1024 * 1024;
/// Longest rendered subject (characters).
const SUBJECT_MAX: usize = 998;

/// Which part of a template: decides the escaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The subject: one line, no escaping.
    Subject,
    /// The plain-text body: no escaping.
    Text,
    /// The HTML body: every inserted value is HTML-escaped.
    Html,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Text => "text_body",
            Part::Html => "html_body",
        }
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|name| {
        if name == "html_body" {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// Checks that `source` is a valid template; the error says what and where.
pub fn check(part: Part, source: &str) -> Result<(), String> {
    let env = environment();
    env.template_from_named_str(part.name(), source)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Renders `source` with `data` (a JSON object).
pub fn render(part: Part, source: &str, data: &serde_json::Value) -> Result<String, String> {
    let env = environment();
    let tmpl = env
        .template_from_named_str(part.name(), source)
        .map_err(|e| describe(&e))?;
    let out = tmpl
        .render(Value::from(Serde(data)))
        .map_err(|e| describe(&e))?;
    if out.len() > OUTPUT_MAX {
        return Err(format!("renders to more than {OUTPUT_MAX} bytes"));
    }
    Ok(match part {
        Part::Subject => one_line(&out),
        Part::Text | Part::Html => out,
    })
}

/// A subject on one line: control characters (line breaks included) become spaces.
fn one_line(s: &str) -> String {
    let joined: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    joined.chars().take(SUBJECT_MAX).collect()
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(line) = e.line() {
        s.push_str(&format!(" (line {line})"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let data = json!({"name": "<script>alert('x')</script> & co"});
        let html = render(Part::Html, "<p>Hallo {{ name }}</p>", &data).unwrap();
        assert_eq!(
            html,
            "<p>Hallo &lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; co</p>"
        );
        let text = render(Part::Text, "Hallo {{ name }}", &data).unwrap();
        assert_eq!(text, "Hallo <script>alert('x')</script> & co");
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let s = render(
            Part::Subject,
            "Re: {{ t }}",
            &json!({"t": "a\r\nBcc: x@y.z"}),
        )
        .unwrap();
        assert_eq!(s, "Re: a Bcc: x@y.z");
    }

    #[test]
    fn missing_values_and_syntax_errors_are_reported() {
        assert!(render(Part::Text, "{{ missing }}", &json!({})).is_err());
        assert_eq!(
            render(Part::Text, "{% if missing %}x{% endif %}ok", &json!({})).unwrap(),
            "ok"
        );
        assert!(check(Part::Text, "{{ unclosed").is_err());
        assert!(check(Part::Html, "<b>{{ fine }}</b>").is_ok());
    }

    #[test]
    fn runaway_templates_stop() {
        let r = render(
            Part::Text,
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
            &json!({}),
        );
        assert!(r.is_err());
    }
}
