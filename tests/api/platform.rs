//! The platform conventions: health, problems, routing errors, request ids, OpenAPI, Swagger UI.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_and_ready_answer_ok() {
    let app = spawn_app().await;
    for path in ["/health", "/ready"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
}

#[tokio::test]
async fn unknown_route_is_a_404_problem_with_the_request_id() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/no-such-thing"))
        .header("X-Request-Id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "/problems/not-found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["request_id"], "trace-me-42");
    assert!(body["title"].is_string() && body["detail"].is_string());
}

#[tokio::test]
async fn a_request_id_is_made_when_none_or_a_bad_one_is_sent() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/health"))
        .header("X-Request-Id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "bad id with spaces");
    assert!(uuid::Uuid::parse_str(id).is_ok());
}

#[tokio::test]
async fn wrong_method_is_a_405_problem_with_allow() {
    let app = spawn_app().await;
    let res = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "/problems/method-not-allowed");
}

#[tokio::test]
async fn every_problem_type_is_dereferenceable() {
    let app = spawn_app().await;
    for code in loket_common::Code::ALL {
        let res = app.get(&format!("/problems/{}", code.slug())).await;
        assert_eq!(res.status(), 200, "{}", code.slug());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], code.status());
        assert!(!body["description"].as_str().unwrap().is_empty());
    }
    assert_eq!(app.get("/problems/made-up").await.status(), 404);
}

#[tokio::test]
async fn committed_openapi_matches_the_code_and_is_served() {
    let generated = loket_gateway::openapi::document_json();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/openapi.json"
    ))
    .unwrap_or_default();
    assert!(
        generated == committed,
        "openapi/openapi.json is out of date with the code: run `make openapi` and commit the result"
    );
    let app = spawn_app().await;
    let served: Value = app.get("/openapi.json").await.json().await.unwrap();
    let expected: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(served, expected);
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["servers"][0]["url"], "/");
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let res = app.get("/swagger-ui").await;
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/swagger-ui/");
    let res = app.get("/swagger-ui/").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("swagger-ui"));
    let init = app
        .get("/swagger-ui/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"));
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_clear_4xx_problems() {
    let app = crate::helpers::spawn_app_with(&[("LOKET_MAX_BODY_BYTES", "1024")]).await;
    let (_, token) = app.admin_token("T").await;
    let big = format!(
        r#"{{"name":"{}","email":"a@example.org"}}"#,
        "x".repeat(4096)
    );
    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.json::<Value>().await.unwrap()["type"],
        "/problems/payload-too-large"
    );

    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["type"],
        "/problems/malformed-request"
    );

    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);

    // Nothing was written by any of them.
    let users: Value = app
        .client
        .get(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["items"], serde_json::json!([]));
}

#[tokio::test]
async fn operations_without_a_token_answer_401_with_www_authenticate() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/users").await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        res.json::<Value>().await.unwrap()["type"],
        "/problems/unauthorized"
    );
    let res = app
        .client
        .get(app.url("/api/v1/users"))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
