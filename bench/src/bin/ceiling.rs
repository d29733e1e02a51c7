//! The ceiling of `make bench`: a bare actix-web handler answering a constant, built with the
//! same profile and run with the same worker count as `loket` — the fastest this stack answers
//! on this machine. Listens on `LOKET_ADDR`; `LOKET_WORKERS` as for `loket` (default: CPUs).

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("LOKET_ADDR").unwrap_or_else(|_| "127.0.0.1:8089".into());
    let mut server = HttpServer::new(|| {
        App::new().route(
            "/",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(r#"{"status":"ok"}"#)
            }),
        )
    });
    if let Some(n) = std::env::var("LOKET_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
    {
        server = server.workers(n);
    }
    server.bind(addr)?.run().await
}
