//! What answers when no route matched: `405` with `Allow` where the path exists with other
//! methods (known from the OpenAPI document, the one list of routes), else `404`.

use actix_web::http::header::ALLOW;
use actix_web::{HttpRequest, HttpResponse, web};
use loket_common::{Code, Problem};

use crate::problem::problem_response;

/// Path templates and their methods.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<(Vec<String>, Vec<String>)>);

impl RouteTable {
    /// Builds the table from the OpenAPI document; `extra` adds routes not in the spec.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi, extra: &[(&str, &str)]) -> Self {
        let mut routes: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        let mut add = |path: &str, method: String| {
            let segs = segments(path);
            match routes.iter_mut().find(|(s, _)| *s == segs) {
                Some((_, methods)) => methods.push(method),
                None => routes.push((segs, vec![method])),
            }
        };
        for (path, item) in doc.paths.paths.iter() {
            let ops = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (m, present) in ops {
                if present {
                    add(path, m.to_owned());
                }
            }
        }
        for (path, m) in extra {
            add(path, (*m).to_owned());
        }
        RouteTable(routes)
    }

    /// The methods allowed on a concrete path, if it exists.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let segs = segments(path);
        let mut found: Option<Vec<String>> = None;
        for (template, methods) in &self.0 {
            if template.len() == segs.len()
                && template
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
            {
                let f = found.get_or_insert_with(Vec::new);
                for m in methods {
                    if !f.contains(m) {
                        f.push(m.clone());
                    }
                }
            }
        }
        found
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// The default service.
pub async fn fallback(req: HttpRequest, table: web::Data<RouteTable>) -> HttpResponse {
    match table.allowed(req.path()) {
        Some(methods) => {
            let mut res = problem_response(&Problem::new(
                Code::MethodNotAllowed,
                format!(
                    "{} is not supported here; allowed: {}.",
                    req.method(),
                    methods.join(", ")
                ),
            ));
            if let Ok(v) = methods.join(", ").parse() {
                res.headers_mut().insert(ALLOW, v);
            }
            res
        }
        None => problem_response(&Problem::new(
            Code::NotFound,
            "No resource exists at this path.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_concrete_paths() {
        let mut t = RouteTable::default();
        t.0.push((
            segments("/api/v1/users/{id}"),
            vec!["GET".into(), "PATCH".into()],
        ));
        assert_eq!(
            t.allowed("/api/v1/users/42"),
            Some(vec!["GET".to_owned(), "PATCH".to_owned()])
        );
        assert_eq!(t.allowed("/api/v1/users/42/x"), None);
        assert_eq!(t.allowed("/api/v1/user/42"), None);
    }
}
